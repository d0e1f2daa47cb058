"""Synthetic text where tools genuinely help, with the ground truth to judge every call.

- Arithmetic sentences with random 2–3 digit operands: the stated total cannot be memorised,
  and the right calculator call's result is exactly the number that follows.
- Texts set on a hidden date that name today's weekday: 1 in 7 without the calendar.
- Plain filler text (no numbers, no weekdays): what perplexity is measured on.
- Seed texts with calls already written in, ~50 per tool: a model trained from scratch cannot
  follow the few-shot prompt P(x), so these stand in for it (a declared deviation).
- Held-out questions in templates never seen in training, for accuracy.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurips23.toolformer.calls import APICall, format_call, insert_call
from neurips23.toolformer.filtering import PREFIX_SEPARATOR
from neurips23.toolformer.tools import MONTHS, WEEKDAYS, Document, calendar

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

ALPHABET = string.ascii_letters + string.digits + " .,?!:'()[]-+*/=>\n"
PIECES = r" ?[A-Za-z]+| ?\[|\d+|[^A-Za-z\d]"
"""Tokens of the tiny model: words (with their leading space), whole numbers, " [" and single
characters. A number is one token, so copying it in context is one step, and a call reads
" [", "Calculator", "(", "347", "+", "58", ")", "-", ">", "405", "]"."""
NAMES = ("Tom", "Ann", "Sam", "Mia", "Ben", "Eva", "Leo", "Zoe", "Max", "Ivy", "Dan", "Amy",
         "Joe", "Kim", "Ray", "Liz")
OBJECTS = ("pens", "apples", "books", "coins", "cards", "stamps", "shells", "eggs", "cups",
           "keys", "rocks", "beads")
ADD_VERBS = ("buys", "finds", "gets", "wins", "makes")
SUB_VERBS = ("sells", "loses", "gives away", "uses", "breaks")
PLACES = ("park", "market", "library", "pool", "school", "shop", "zoo", "beach")
ADJECTIVES = ("cold", "warm", "quiet", "busy", "sunny", "grey", "windy", "bright")
THINGS = ("kite", "hat", "bag", "lamp", "ball", "boat", "map", "bell")
ANIMALS = ("cat", "dog", "fox", "owl", "duck", "goat", "frog", "bear")

# {a} op {b} = {c}; "+" templates add, "-" templates subtract. Some restate the numbers (an
# equation, the total said twice), as real text does: that is where a model trained from
# scratch learns to copy numbers in context, which writing and reading calls needs.
TRAIN_ARITHMETIC = (
    ("+", "{n} has {a} {o}. {n} {add} {b} more, so now {n} has {c} {o}."),
    ("+", "There are {a} {o} in one box and {b} {o} in another box, {c} {o} in all."),
    ("+", "{n} counts {a} red {o} and {b} blue {o}: {a} + {b} = {c} {o}."),
    ("+", "{n} has {a} {o} and {add} {b} more. What is the total? The answer is {c}."),
    ("+", "{n} has {a} {o} and {add} {b} more, {c} {o} now. So {n} has {c} {o}."),
    ("+", "{n} adds {b} {o} to {a} {o}. {a} + {b} makes {c}, so {n} has {c} {o}."),
    ("-", "{n} had {a} {o} and {sub} {b} of them, so {n} has {c} {o} left."),
    ("-", "A shop has {a} {o} and {sub} {b}: {a} - {b} = {c} {o}."),
    ("-", "{n} has {a} {o} and {sub} {b}. What is left? The answer is {c}."),
    ("-", "{n} has {a} {o}, {sub} {b}, and keeps {c}. So {c} {o} are left."),
)
TEST_ARITHMETIC = (  # held out: never in training
    ("+", "{n} has {a} {o} and {add} {b} more. How many {o} does {n} have now? The answer is"),
    ("-", "{n} has {a} {o} and {sub} {b} of them. How many {o} are left? The answer is"),
)
TRAIN_CALENDAR = (
    "It is a {adj} morning. Today is {w}, so {n} goes to the {p}.",
    "{n} says that today is {w} and the {p} is open.",
    "The {p} is busy because today is {w}.",
    "Today is {w}, and every {w} {n} goes to the {p}.",
)
TEST_CALENDAR = "{n} wants to know what day it is. Today is"  # held out
FILLER = (
    "{n} walks to the {p} with a {adj} {t}.",
    "The {adj} {an} sleeps under the {t}.",
    "{n} and {n2} see a {an} near the {p}.",
    "A {adj} {t} hangs in the {p}, and the {an} looks at it.",
    "{n} gives {n2} a {adj} {t} at the {p}.",
)


@dataclass(frozen=True)
class ArithmeticItem:
    """One arithmetic text or question and its answer."""

    text: str
    op: str
    a: int
    b: int
    answer: int


def _operands(rng: random.Random, op: str) -> tuple[int, int, int]:
    a, b = rng.randint(10, 999), rng.randint(10, 999)
    if op == "-":
        a, b = max(a, b), min(a, b)
        if a == b:
            a += 1
        return a, b, a - b
    return a, b, a + b


def _fill(template: str, rng: random.Random, **kw) -> str:
    names = rng.sample(NAMES, 2)
    fields = dict(n=names[0], n2=names[1], o=rng.choice(OBJECTS), add=rng.choice(ADD_VERBS),
                  sub=rng.choice(SUB_VERBS), p=rng.choice(PLACES), adj=rng.choice(ADJECTIVES),
                  t=rng.choice(THINGS), an=rng.choice(ANIMALS))
    fields.update(kw)
    return template.format(**fields)


def arithmetic_item(rng: random.Random,
                    templates: Sequence[tuple[str, str]] = TRAIN_ARITHMETIC) -> ArithmeticItem:
    """A text from one of `templates` with fresh operands."""
    op, template = rng.choice(templates)
    a, b, c = _operands(rng, op)
    return ArithmeticItem(_fill(template, rng, a=a, b=b, c=c), op, a, b, c)


def random_date(rng: random.Random) -> dt.date:
    """A day between 2000-01-01 and 2030-12-31."""
    return dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(11323))


def calendar_doc(rng: random.Random, template: str | None = None) -> Document:
    """A text naming today's weekday, on a hidden date the calendar tool knows."""
    date = random_date(rng)
    text = _fill(template or rng.choice(TRAIN_CALENDAR), rng, w=WEEKDAYS[date.weekday()])
    return Document(text, date, {"kind": "calendar"})


def filler_doc(rng: random.Random) -> Document:
    """Plain text with no number and no weekday."""
    return Document(_fill(rng.choice(FILLER), rng), None, {"kind": "filler"})


def corpus(n: int, seed: int, mix: Sequence[float] = (0.45, 0.1, 0.45)) -> list[Document]:
    """n texts: arithmetic, calendar and filler in proportions `mix`, shuffled."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        u = rng.random()
        if u < mix[0]:
            item = arithmetic_item(rng)
            docs.append(Document(item.text, random_date(rng), {"kind": "arithmetic"}))
        elif u < mix[0] + mix[1]:
            docs.append(calendar_doc(rng))
        else:
            docs.append(filler_doc(rng))
    return docs


def _whole(word: str) -> str:
    return rf"(?<![\w.]){re.escape(word)}(?![\w])"


def answer_offset(text: str, answer: str, after: str | None = None) -> int:
    """Where `answer` is first stated as a whole number or word (after the first mention of
    `after`, the last operand, if given)."""
    start = re.search(_whole(after), text).end() if after else 0
    return start + re.search(_whole(answer), text[start:]).start()


def seed_docs(n_per_tool: int, seed: int, prefix_fraction: float = 0.0) -> list[str]:
    """Texts with a correct call written in: inline before the answer (as in C*), or, for a
    `prefix_fraction` of them, as a prefix of the text (as the filter presents calls)."""
    rng = random.Random(seed)
    out = []
    for k in range(2 * n_per_tool):
        if k % 2 == 0:
            item = arithmetic_item(rng)
            call = APICall("Calculator", f"{item.a}{item.op}{item.b}")
            text, answer, result = item.text, str(item.answer), str(item.answer)
            offset = answer_offset(text, answer, after=str(item.b))
        else:
            doc = calendar_doc(rng)
            call, text = APICall("Calendar", ""), doc.text
            result = calendar(doc.date)
            offset = answer_offset(text, WEEKDAYS[doc.date.weekday()])
        written = format_call(call, result)
        if rng.random() < prefix_fraction:
            out.append(f"{written}{PREFIX_SEPARATOR}{text}")
        else:
            out.append(insert_call(text, offset, written))
    return out


def build_tokenizer() -> PreTrainedTokenizerFast:
    """The tiny model's tokenizer: every piece of the synthetic language, all numbers below
    3,000 (totals, days, years), and each character of ALPHABET for anything else."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from neurips23.lm.tokenizers import SPECIAL_TOKENS

    split = pre_tokenizers.Split(Regex(PIECES), behavior="isolated")
    words = {w for group in (NAMES, OBJECTS, ADD_VERBS, SUB_VERBS, PLACES, ADJECTIVES, THINGS,
                             ANIMALS, WEEKDAYS, MONTHS) for w in group}
    texts = [t for _, t in TRAIN_ARITHMETIC + TEST_ARITHMETIC] + list(TRAIN_CALENDAR) + [
        TEST_CALENDAR] + list(FILLER) + [" ".join(words), "Today is Calculator Calendar"]
    pieces = {p for t in texts for p, _ in split.pre_tokenize_str(t.replace("{", " ").replace("}", " "))}
    pieces |= {" " + p for p in pieces if p.isalpha()} | {p.strip() for p in pieces if p.strip()}
    pieces |= set(ALPHABET) | {" ["} | {str(k) for k in range(3000)}
    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for p in sorted(pieces):
        vocab.setdefault(p, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = split
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>",
                                   eos_token="<eos>", unk_token="<unk>")
    fast.model_max_length = 1_000_000
    return fast


def arithmetic_questions(n: int, seed: int) -> list[ArithmeticItem]:
    """Held-out questions ("... How many pens are left? The answer is"), half + half −."""
    rng = random.Random(seed)
    return [arithmetic_item(rng, (TEST_ARITHMETIC[k % 2],)) for k in range(n)]


def weekday_questions(n: int, seed: int) -> list[Document]:
    """Held-out questions whose answer is the weekday of the document's hidden date."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        date = random_date(rng)
        out.append(Document(_fill(TEST_CALENDAR, rng), date, {"kind": "weekday"}))
    return out


def first_number(text: str) -> str | None:
    """The first number in `text` (the paper scores math by the first number predicted)."""
    m = re.search(r"-?\d+(?:\.\d+)?", text)
    return m.group(0) if m else None


def first_word(text: str) -> str | None:
    """The first word in `text`."""
    m = re.search(r"[A-Za-z]+", text)
    return m.group(0) if m else None


def call_helps(text: str, offset: int, tool: str, result: str | None) -> bool:
    """Ground truth: the call's result is what the text says next — the number that follows
    (calculator), the weekday that follows (calendar) — and the text has not said it before
    (a repeat is predictable without any tool)."""
    if result is None:
        return False
    rest = text[offset:].lstrip()
    if tool == "Calculator":
        m = re.match(r"-?\d+(?:\.\d+)?", rest)
        said = m.group(0) if m and m.group(0) == result else None
    elif tool == "Calendar":
        word = first_word(rest)
        ok = word in WEEKDAYS and rest.startswith(word) and word == result.split(",")[0].split()[-1]
        said = word if ok else None
    else:
        return False
    return said is not None and re.search(_whole(said), text[:offset]) is None
