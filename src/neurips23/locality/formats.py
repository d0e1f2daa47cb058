"""Training formats: which variables of a joint sample the learner observes together
(Prystawski et al. §3.2; the paper's `generate_training_set.py` and `create_sample_strs.py`).

- fully_observed: every variable, in random order.
- local_geom / local_zipf: the variables within undirected distance k of a random centre,
  k ~ Geometric(0.5) or Zipf(2), each kept with probability 0.8.
- wrong_local_geom / wrong_local_zipf: neighbourhoods of *another* net, values of this one.

In every format, when both members of a held-out pair are selected one of them (at random) is
dropped. The selected variables are shuffled; the first is the condition, the last the target,
and the sample reads (one line each)

    ###
    target: X5
    X3=1
    ...
    X5=0

A one-variable sample repeats its line, as the paper's `create_target_sample_str` does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neurips23.errors import DataError, UserError
from neurips23.locality.bayesnet import BayesNet, sample

FORMATS = ("fully_observed", "local_geom", "local_zipf", "wrong_local_geom", "wrong_local_zipf")
HEADER = "###\n"


@dataclass(frozen=True)
class Locality:
    """How local samples are drawn: radius distribution parameters and the keep probability."""

    geom_p: float = 0.5
    zipf_k: float = 2.0
    keep_p: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.geom_p <= 1:
            raise UserError(f"geom_p = {self.geom_p}: a Geometric parameter lies in (0, 1]")
        if not self.zipf_k > 1:
            raise UserError(f"zipf_k = {self.zipf_k}: a Zipf exponent must exceed 1")
        if not 0 < self.keep_p <= 1:
            raise UserError(f"keep_p = {self.keep_p}: a keep probability lies in (0, 1]")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UserError(f"training format {fmt!r}: choose from {', '.join(FORMATS)}")
    return fmt


def _drop_held_out(selected: list[int], pairs: Sequence[tuple[int, int]],
                   rng: np.random.Generator) -> list[int]:
    chosen = set(selected)
    for a, b in pairs:
        if a in chosen and b in chosen:
            chosen.discard(a if rng.random() < 0.5 else b)
    return [v for v in selected if v in chosen]


def neighbourhood(dist: np.ndarray, centre: int, radius: int) -> np.ndarray:
    """The variables within undirected distance `radius` of `centre` (the centre included)."""
    return np.flatnonzero(dist[centre] <= radius)


class Neighbourhoods:
    """The balls of one graph, by (centre, radius), each computed once."""

    def __init__(self, dist: np.ndarray):
        self.dist = dist
        self.n = dist.shape[0]
        finite = dist[np.isfinite(dist)]
        self._widest = int(finite.max()) if finite.size else 0
        self._cache: dict[tuple[int, int], list[int]] = {}

    def __call__(self, centre: int, radius: int) -> list[int]:
        key = (centre, min(radius, self._widest))
        if key not in self._cache:
            self._cache[key] = [int(v) for v in neighbourhood(self.dist, *key)]
        return self._cache[key]


def observed_variables(fmt: str, hoods: Neighbourhoods, pairs: Sequence[tuple[int, int]],
                       rng: np.random.Generator, locality: Locality = Locality()) -> list[int]:
    """The variables of one training sample, in their order (condition first, target last).

    `hoods` are the balls of the graph the neighbourhoods come from (the other net's for the
    wrong-local formats)."""
    n = hoods.n
    if fmt == "fully_observed":
        order = [int(v) for v in rng.permutation(n)]
        return _drop_held_out(order, pairs, rng)
    if fmt.endswith("geom"):
        radius = int(rng.geometric(locality.geom_p))
    else:
        radius = int(min(rng.zipf(locality.zipf_k), n))
    selected: list[int] = []
    while not selected:  # the paper redraws the centre until something survives
        hood = hoods(int(rng.integers(n)), radius)
        u = rng.random(2 * len(hood))  # keep draws, then shuffle keys
        kept = [(key, v) for v, keep, key in zip(hood, u[:len(hood)], u[len(hood):], strict=True)
                if keep < locality.keep_p]
        survivors = set(_drop_held_out([v for _, v in kept], pairs, rng))
        selected = [v for _, v in sorted(kept) if v in survivors]
    return selected


def sample_string(order: Sequence[int], values: Sequence[int]) -> str:
    """The paper's sample text for variables `order` (condition first, target last)."""
    if not order:
        raise UserError("a sample needs at least one variable")
    target = order[-1]
    lines = [order[0], *order[1:-1], target]
    return f"{HEADER}target: X{target}\n" + "".join(f"X{v}={int(values[v])}\n" for v in lines)


_LINE = re.compile(r"X(\d+)=([01])")


def parse_sample(text: str, where: str = "sample") -> tuple[int, list[tuple[int, int]]]:
    """(target, [(variable, value), ...]) of a sample string; DataError naming the bad line."""
    lines = text.rstrip("\n").split("\n")
    if len(lines) < 3 or lines[0] != HEADER.strip() or not lines[1].startswith("target: X"):
        raise DataError(f"{where}: expected '###', 'target: X<i>' and at least one 'X<i>=<0|1>' line")
    head = lines[1][len("target: "):]
    if not (head.startswith("X") and head[1:].isdigit()):
        raise DataError(f"{where}: line 2: bad target {head!r}")
    obs = []
    for k, line in enumerate(lines[2:], start=3):
        m = _LINE.fullmatch(line)
        if not m:
            raise DataError(f"{where}: line {k}: expected 'X<i>=<0|1>', got {line!r}")
        obs.append((int(m[1]), int(m[2])))
    if obs[-1][0] != int(head[1:]):
        raise DataError(f"{where}: the last line is X{obs[-1][0]}, not the target {head}")
    return int(head[1:]), obs


def training_strings(net: BayesNet, fmt: str, n: int, seed: int,
                     pairs: Sequence[tuple[int, int]] = (), other: BayesNet | None = None,
                     locality: Locality = Locality()) -> list[str]:
    """n training samples of `net` in format `fmt`, held-out pairs never observed together."""
    check_format(fmt)
    if fmt.startswith("wrong_local"):
        if other is None or other.n_vars != net.n_vars:
            raise UserError(f"format {fmt} needs another net with the same {net.n_vars} variables")
        hoods = Neighbourhoods(other.distances())
    else:
        hoods = Neighbourhoods(net.distances())
    values = sample(net, n, seed)
    rng = np.random.default_rng([seed, 1])
    pairs = [(int(a), int(b)) for a, b in pairs]
    return [sample_string(observed_variables(fmt, hoods, pairs, rng, locality), row) for row in values]


def pack_samples(texts: Sequence[str], lengths: Sequence[int], block_tokens: int) -> list[str]:
    """Concatenate consecutive samples into blocks of at most `block_tokens` tokens, as the
    paper's training script (`run_clm.py`) concatenates its text into fixed-size blocks; every
    block starts at a sample's '###' line and a longer sample is a block of its own."""
    if block_tokens < 1:
        raise UserError(f"block_tokens = {block_tokens}: must be positive")
    blocks, current, used = [], [], 0
    for text, n in zip(texts, lengths, strict=True):
        if current and used + n > block_tokens:
            blocks.append("".join(current))
            current, used = [], 0
        current.append(text)
        used += n
    if current:
        blocks.append("".join(current))
    return blocks


def build_sample_tokenizer(n_vars: int):
    """A tokenizer for sample strings: one token per variable name, per value line ending
    ('=0\\n', '=1\\n') and per header piece; decoding gives the text back exactly."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from neurips23.lm.tokenizers import SPECIAL_TOKENS

    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for t in [HEADER, "target: ", "\n", "=0\n", "=1\n", *(f"X{i}" for i in range(n_vars))]:
        vocab[t] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"###\n|target: |X\d+|=[01]\n|\n"),
                                             behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>",
                                   eos_token="<eos>", unk_token="<unk>")
    fast.model_max_length = 1_000_000
    return fast
