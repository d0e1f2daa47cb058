"""A synthetic world of facts and a GPT-2-architecture model trained on it from scratch.

Subjects are 2–3 made-up word pieces ("ka lo mir"), so a subject has a last token and no
single token identifies it; 6 relations × 3 templates; 10 objects per relation shared by many
subjects, so every fact has neighbours (other subjects with the same true object). The
model is trained on all three templates; edits use the first, the third is the paraphrase
the edit never sees. Training texts string 1–4 facts together (". "-separated), so the model
reads facts at any position, as ROME's context prefixes need.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurips23.editing.facts import Fact
from neurips23.lm.data import Example

RELATIONS: dict[str, tuple[tuple[str, str, str], tuple[str, ...]]] = {
    "role": (("{} is a", "people say {} is a", "{} is known as a"),
             ("farmer", "doctor", "pilot", "singer", "baker", "sailor", "painter", "teacher",
              "miner", "writer")),
    "home": (("{} lives in", "the home of {} is", "{} resides in"),
             ("avalon", "brindle", "corvo", "dunmere", "elstow", "farrow", "glenby", "harlow",
              "ironvale", "jessop")),
    "language": (("{} speaks", "the language of {} is", "{} talks in"),
                 ("alvish", "borean", "cyrric", "dravic", "estral", "fennic", "gothar", "hylish",
                  "istric", "jorvan")),
    "colour": (("{} likes the colour", "the favourite colour of {} is", "{} prefers the colour"),
               ("red", "blue", "green", "amber", "violet", "teal", "ochre", "silver", "black",
                "white")),
    "pet": (("{} owns a", "the pet of {} is a", "{} keeps a"),
            ("cat", "dog", "owl", "fox", "newt", "crow", "hare", "goat", "pony", "frog")),
    "sport": (("{} plays", "the sport of {} is", "{} competes in"),
              ("chess", "polo", "golf", "rugby", "tennis", "squash", "hockey", "curling",
               "fencing", "rowing")),
}
EDIT_TEMPLATE, PARAPHRASE_TEMPLATE = 0, 2
_ONSETS = "b d f g k l m n p r s t v z".split()
_NUCLEI = "a e i o u".split()
_CODAS = ["", "n", "r", "l"]


@dataclass
class World:
    """Subjects, each (subject, relation) → object, and the templates."""

    subjects: list[str]
    table: dict[tuple[str, str], str]
    relations: dict[str, tuple[tuple[str, str, str], tuple[str, ...]]] = field(
        default_factory=lambda: dict(RELATIONS))

    def sentence(self, subject: str, relation: str, template: int) -> tuple[str, str]:
        """(prompt, object) of one fact in one template."""
        return self.relations[relation][0][template].format(subject), self.table[subject, relation]


def make_world(n_subjects: int, seed: int) -> World:
    """`n_subjects` distinct subjects of 2–3 pieces, each with a random object per relation."""
    rng = random.Random(seed)
    pieces = sorted({o + n + c for o in _ONSETS for n in _NUCLEI for c in _CODAS})
    rng.shuffle(pieces)
    pieces = pieces[:60]
    subjects: list[str] = []
    seen: set[str] = set()
    while len(subjects) < n_subjects:
        s = " ".join(rng.choice(pieces) for _ in range(rng.choice((2, 3))))
        if s not in seen:
            seen.add(s)
            subjects.append(s)
    table = {(s, r): rng.choice(objs) for s in subjects for r, (_, objs) in RELATIONS.items()}
    return World(subjects, table)


def training_examples(world: World, n: int, seed: int, max_facts: int = 4) -> list[Example]:
    """n texts of 1..max_facts random fact sentences ("s r o . s r o"), all templates; the LM
    loss covers the whole text, so every object in it is a training target."""
    rng = random.Random(seed + 1)
    rels = list(world.relations)

    def pick():
        return " ".join(world.sentence(rng.choice(world.subjects), rng.choice(rels),
                                       rng.randrange(3)))

    return [Example("", " . ".join(pick() for _ in range(rng.randint(1, max_facts))))
            for _ in range(n)]


def world_tokenizer(world: World):
    """A word-level tokenizer over every word the world can write."""
    from neurips23.lm.tokenizers import build_word_tokenizer

    words = set(" ".join(world.subjects).split()) | {"."}
    for templates, objs in world.relations.values():
        words |= set(" ".join(templates).replace("{}", " ").split()) | set(objs)
    return build_word_tokenizer(sorted(words))


def world_facts(world: World, subjects: list[str], seed: int, n_neighbours: int,
                known: set[tuple[str, str]] | None = None) -> list[Fact]:
    """One Fact per (subject, relation) in `subjects` × relations: edit template, the held-out
    paraphrase, a random other object as target_new, and neighbours with the same object."""
    rng = random.Random(seed + 2)
    out = []
    for s in subjects:
        for r, (templates, objs) in world.relations.items():
            o = world.table[s, r]
            others = [x for x in world.subjects if x != s and world.table[x, r] == o
                      and (known is None or (x, r) in known)]
            neigh = rng.sample(others, min(n_neighbours, len(others)))
            out.append(Fact(subject=s, prompt=templates[EDIT_TEMPLATE], target_true=o,
                            target_new=rng.choice([x for x in objs if x != o]),
                            paraphrase=(templates[PARAPHRASE_TEMPLATE].format(s),),
                            neighbours=tuple(templates[EDIT_TEMPLATE].format(x) for x in neigh),
                            relation=r))
    return out


def known_pairs(model, tok, world: World, templates: tuple[int, ...] = (0, 1, 2),
                batch_size: int = 256) -> tuple[set[tuple[str, str]], float]:
    """The (subject, relation) pairs the model answers right (greedy) in every template, and
    the accuracy over all (subject, relation, template) prompts."""
    import torch

    from neurips23.editing.prompts import encode, last_logprobs

    items = [(s, r, t) for s in world.subjects for r in world.relations for t in templates]
    right: dict[tuple[str, str], bool] = {}
    correct = 0
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        prompts = [world.sentence(s, r, t)[0] for s, r, t in chunk]
        with torch.no_grad():
            top = last_logprobs(model, encode(tok, prompts, [None] * len(chunk),
                                              device=model.device)).argmax(-1).tolist()
        for (s, r, _t), pred in zip(chunk, top, strict=True):
            ok = tok.convert_ids_to_tokens(pred) == world.table[s, r]
            correct += ok
            right[s, r] = right.get((s, r), True) and ok
    return {k for k, v in right.items() if v}, correct / len(items)


def trained_world_model(world_seed: int, n_subjects: int, model_size: dict, train,
                        n_examples: int, progress: bool = False,
                        log: Callable[[str], Any] | None = None) -> Path:
    """The cache dir of a GPT-2-architecture model trained from scratch on the world."""
    from neurips23.lm.tiny import cached_tiny_lm

    def data():
        world = make_world(n_subjects, world_seed)
        return world_tokenizer(world), training_examples(world, n_examples, world_seed)

    key = {"kind": "editing-world", "version": 2, "world_seed": world_seed,
           "n_subjects": n_subjects, "n_examples": n_examples}
    return cached_tiny_lm(key, data, model_size, train, arch="gpt2", max_position_embeddings=64,
                          progress=progress, log=log)
