"""The tools (§3): each takes the call's input text and returns one text result.

- `calculator`: + − × ÷ on numbers and parentheses, by our own parser (never `eval`), exact
  rational arithmetic, the result rounded to 2 decimals with trailing zeros dropped.
- `calendar`: "Today is Thursday, March 9, 2017." for the document's date.
- `WikiSearch`: BM25 (`rank_bm25`) over a local corpus of passages.
- `QA`: a question answered by any `LanguageModel`.

A tool signals failure by raising; `execute_calls` turns any failure or timeout into "no result"
(None), so a bad call never stops the pipeline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from itertools import takewhile
from typing import Any

from neurips23.toolformer.calls import APICall


class ToolFailure(Exception):
    """A tool could not produce a result for its input."""


@dataclass(frozen=True)
class Document:
    """One text of the corpus C, with the date the calendar reports for it (None: `today`)."""

    text: str
    date: dt.date | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- calculator

CALCULATOR_ERROR = "Calculator error:"
MAX_EXPRESSION_CHARS = 200
MAX_DEPTH = 50
_OPS = {"+": "+", "-": "-", "\u2212": "-", "*": "*", "\u00d7": "*", "/": "/", "\u00f7": "/"}
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|(\S))")


def _tokenize(expression: str) -> list[tuple[str, str, int]]:
    """(kind, value, position) tokens; kind is 'num', 'op', '(' or ')'."""
    tokens = []
    for m in _TOKEN.finditer(expression):
        number, other = m.group(1), m.group(2)
        if number is not None:
            tokens.append(("num", number, m.start(1)))
        elif other is not None:
            if other in _OPS:
                tokens.append(("op", _OPS[other], m.start(2)))
            elif other in "()":
                tokens.append((other, other, m.start(2)))
            else:
                raise ToolFailure(f"unexpected character {other!r} at position {m.start(2)}")
    return tokens


class _Parser:
    """Recursive descent: expr := term (± term)*; term := factor (×÷ factor)*;
    factor := ± factor | number | ( expr )."""

    def __init__(self, tokens: list[tuple[str, str, int]]):
        self.tokens, self.i = tokens, 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def expr(self, depth: int) -> Fraction:
        value = self.term(depth)
        while (t := self.peek()) is not None and t[0] == "op" and t[1] in "+-":
            self.i += 1
            rhs = self.term(depth)
            value = value + rhs if t[1] == "+" else value - rhs
        return value

    def term(self, depth: int) -> Fraction:
        value = self.factor(depth)
        while (t := self.peek()) is not None and t[0] == "op" and t[1] in "*/":
            self.i += 1
            rhs = self.factor(depth)
            if t[1] == "*":
                value *= rhs
            elif rhs == 0:
                raise ToolFailure("division by zero")
            else:
                value /= rhs
        return value

    def factor(self, depth: int) -> Fraction:
        if depth > MAX_DEPTH:
            raise ToolFailure(f"nested more than {MAX_DEPTH} levels deep")
        t = self.peek()
        if t is None:
            raise ToolFailure("the expression ends where a number was expected")
        self.i += 1
        if t[0] == "num":
            return Fraction(t[1])
        if t[0] == "op" and t[1] in "+-":
            inner = self.factor(depth + 1)
            return inner if t[1] == "+" else -inner
        if t[0] == "(":
            value = self.expr(depth + 1)
            close = self.peek()
            if close is None or close[0] != ")":
                raise ToolFailure(f"'(' at position {t[2]} is never closed")
            self.i += 1
            return value
        raise ToolFailure(f"unexpected {t[1]!r} at position {t[2]}")


def evaluate_expression(expression: str) -> Fraction:
    """The exact value of an arithmetic expression; ToolFailure (with the reason) otherwise."""
    if not isinstance(expression, str):
        raise ToolFailure(f"expected a string, got {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolFailure(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    tokens = _tokenize(expression)
    if not tokens:
        raise ToolFailure("empty expression")
    parser = _Parser(tokens)
    value = parser.expr(0)
    if (t := parser.peek()) is not None:
        raise ToolFailure(f"unexpected {t[1]!r} at position {t[2]}")
    return value


def format_number(value: Fraction) -> str:
    """A number rounded to 2 decimals (halves away from zero), trailing zeros dropped."""
    cents = abs(value) * 100
    whole = int(cents)  # floor for a non-negative rational
    if cents - whole >= Fraction(1, 2):
        whole += 1
    sign = "-" if value < 0 and whole else ""
    text = f"{whole // 100}.{whole % 100:02d}".rstrip("0").rstrip(".")
    return sign + text


def calculator(expression: str) -> str:
    """The paper's calculator (§3): the result of + − × ÷ arithmetic on numbers and parentheses,
    rounded to 2 decimals ("54", "0.29", "2.5"); for anything else a string starting with
    "Calculator error:" saying why. Never raises."""
    try:
        return format_number(evaluate_expression(expression))
    except ToolFailure as e:
        return f"{CALCULATOR_ERROR} {e}"
    except Exception as e:  # noqa: BLE001 - the calculator must never stop the pipeline
        return f"{CALCULATOR_ERROR} {type(e).__name__}"


# ---------------------------------------------------------------------------- calendar

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def calendar(date: dt.date) -> str:
    """The paper's calendar (§3): "Today is Thursday, March 9, 2017." (English, any locale)."""
    return f"Today is {WEEKDAYS[date.weekday()]}, {MONTHS[date.month - 1]} {date.day}, {date.year}."


# ---------------------------------------------------------------------------- tools

@dataclass(frozen=True)
class Tool:
    """A tool: `run(args, document) -> result` (raising on failure), optionally `run_batch`
    for many calls at once, and the few-shot prompt P(x) with an "{input}" slot (App. A.2)."""

    name: str
    run: Callable[[str, Document], str]
    prompt: str = ""
    run_batch: Callable[[Sequence[str], Sequence[Document]], list[str | None]] | None = None
    text_filter: Callable[[str], bool] | None = None


def _calculator_run(args: str, doc: Document) -> str:
    return format_number(evaluate_expression(args))


# App. A.1: "only process documents that either (i) contain at least three numbers within a
# window of 100 tokens, where one of these numbers is the result of applying a mathematical
# operation to the other two, (ii) contain one of the sequences "=", "equals", "equal to", "total
# of", "average of" followed by a number, or (iii) contain at least three numbers; for texts that
# only match the last criterion, we only keep a random subset of 1%."
CALCULATOR_WINDOW = 100
CALCULATOR_CUES = re.compile(r"(?:=|\bequals\b|\bequal to\b|\btotal of\b|\baverage of\b)"
                             r"\s*[-+]?[$€£]?\s*\d", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?%?")


@dataclass(frozen=True)
class TextNumber:
    """A number written in a text: its word index, value and the decimals it is written with."""

    word: int
    value: Fraction
    decimals: int


def text_numbers(text: str) -> list[TextNumber]:
    """The numbers of `text` in order, each with its word index ("1,250.5" is one number, and
    "29%" is 0.29 written to 2 decimals, as App. A.2's "400 (or 29%)" of 1400 needs)."""
    out = []
    for w, word in enumerate(text.split()):
        for m in _NUMBER.finditer(word):
            digits = m.group().replace(",", "")
            percent = digits.endswith("%")
            digits = digits.rstrip("%")
            decimals = len(digits.split(".")[1]) if "." in digits else 0
            value = Fraction(digits) / (100 if percent else 1)
            out.append(TextNumber(w, value, decimals + (2 if percent else 0)))
    return out


def _written_as(result: Fraction, number: TextNumber) -> bool:
    """`result` rounded to the decimals `number` is written with equals it (85 / 23 → "3.70")."""
    return abs(result - number.value) * 2 * 10 ** number.decimals <= 1


def _results(a: Fraction, b: Fraction) -> list[Fraction]:
    """a + b, a − b, b − a, a × b, a / b and b / a (where defined)."""
    out = [a + b, a - b, b - a, a * b]
    out += [a / b] if b else []
    out += [b / a] if a else []
    return out


def _one_is_result(a: TextNumber, b: TextNumber, c: TextNumber) -> bool:
    """One of the three, as written, is the result of an operation on the other two."""
    return any(_written_as(r, z) for x, y, z in ((a, b, c), (a, c, b), (b, c, a))
               for r in _results(x.value, y.value))


def one_is_result_of_two(numbers: Sequence[TextNumber], window: int = CALCULATOR_WINDOW) -> bool:
    """App. A.1 (i): three numbers within `window` words, one the result of + − × ÷ on the other two."""
    for i, a in enumerate(numbers):
        near = list(takewhile(lambda n, a=a: n.word - a.word < window, numbers[i + 1:]))
        for j, b in enumerate(near):
            if any(_one_is_result(a, b, c) for c in near[j + 1:]):
                return True
    return False


def _kept_at_random(text: str, rate: float, seed: int) -> bool:
    """A subset of `rate` of texts, the same for the same text and seed whatever the order."""
    digest = hashlib.blake2b(f"{seed}\0{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < rate * 2 ** 64


def calculator_text_filter(text: str, other_rate: float = 0.01, seed: int = 0) -> bool:
    """App. A.1's calculator heuristics: (i) or (ii) keep a text, (iii) only `other_rate` of them."""
    if CALCULATOR_CUES.search(text):
        return True
    numbers = text_numbers(text)
    if len(numbers) < 3:
        return False
    return one_is_result_of_two(numbers) or _kept_at_random(text, other_rate, seed)


def check_other_rate(other_rate: float) -> None:
    """Refuse a share of number-only texts outside [0, 1] (one line, before any work)."""
    from neurips23.errors import ConfigError

    if not 0 <= other_rate <= 1:
        raise ConfigError(f"calculator_other_rate must be between 0 and 1, got {other_rate}")


def calculator_tool(other_rate: float = 0.01, seed: int = 0) -> Tool:
    """The Calculator tool with its App. A.2 prompt and App. A.1's text heuristics; `other_rate`
    is the share kept of texts with ≥ 3 numbers and neither cue (the paper's 1%)."""
    from neurips23.toolformer.prompts import CALCULATOR_PROMPT

    check_other_rate(other_rate)
    return Tool("Calculator", _calculator_run, CALCULATOR_PROMPT,
                text_filter=partial(calculator_text_filter, other_rate=other_rate, seed=seed))


def calendar_tool(today: dt.date | None = None) -> Tool:
    """The Calendar tool: the document's own date (the paper dates each text from its URL),
    else `today` when the user gives one; never the system date, so an annotation does not
    depend on the day it runs. A text with neither has no calendar result (the call fails and
    is never kept). The argument is ignored, as the paper's calendar takes none."""
    from neurips23.toolformer.prompts import CALENDAR_PROMPT

    def run(args: str, doc: Document) -> str:
        date = doc.date or today
        if date is None:
            raise ToolFailure("the text has no date (give one with --today)")
        return calendar(date)

    return Tool("Calendar", run, CALENDAR_PROMPT)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _unquote(args: str) -> str:
    """The call's input without the quotes the prompts put around it ('QA("Who ...?")')."""
    args = args.strip()
    if len(args) >= 2 and args[0] == args[-1] and args[0] in "\"'":
        return args[1:-1].strip()
    return args


def wikisearch_tool(passages: Sequence[str], n_results: int = 1, max_chars: int = 300) -> Tool:
    """The WikiSearch tool: the top BM25 (Okapi) passages of a local corpus for the query."""
    from rank_bm25 import BM25Okapi

    from neurips23.errors import DataError
    from neurips23.toolformer.prompts import WIKISEARCH_PROMPT

    passages = [p for p in passages if p.strip()]
    if not passages:
        raise DataError("WikiSearch: the retrieval corpus has no passages")
    index = BM25Okapi([_words(p) for p in passages])

    def run(args: str, doc: Document) -> str:
        query = _words(_unquote(args))
        if not query:
            raise ToolFailure("empty query")
        scores = index.get_scores(query)
        order = sorted(range(len(passages)), key=lambda j: -scores[j])[:n_results]
        hits = [passages[j][:max_chars] for j in order if scores[j] > 0]
        if not hits:
            raise ToolFailure("no passage matches the query")
        return " | ".join(hits)

    return Tool("WikiSearch", run, WIKISEARCH_PROMPT)


def qa_tool(model: Any, max_tokens: int = 32) -> Tool:
    """The QA tool: `model` (any LanguageModel) answers the question, greedily, in one line."""
    from neurips23.toolformer.prompts import QA_PROMPT

    def ask(questions: Sequence[str]) -> list[str | None]:
        prompts = [f"Question: {_unquote(q)}\nAnswer:" for q in questions]
        outs = model.generate(prompts, max_tokens=max_tokens, stop=["\n"])
        return [(o[0].strip() or None) if o else None for o in outs]

    def run(args: str, doc: Document) -> str:
        answer = ask([args])[0]
        if answer is None:
            raise ToolFailure("empty answer")
        return answer

    return Tool("QA", run, QA_PROMPT, run_batch=lambda args, docs: ask(args))


TOOL_NAMES = ("calculator", "calendar", "wikisearch", "qa")


def make_tools(names: Sequence[str], *, passages: Sequence[str] = (), qa_model: Any = None,
               today: dt.date | None = None, calculator_other_rate: float = 0.01,
               seed: int = 0) -> dict[str, Tool]:
    """Tools by (case-insensitive) name, keyed by the name the model writes ("Calculator");
    `calculator_other_rate` and `seed` pick App. A.1's 1% of texts that only have numbers."""
    from neurips23.errors import ConfigError

    out: dict[str, Tool] = {}
    for raw in names:
        name = raw.strip().lower()
        if name == "calculator":
            tool = calculator_tool(calculator_other_rate, seed)
        elif name == "calendar":
            tool = calendar_tool(today)
        elif name == "wikisearch":
            if not passages:
                raise ConfigError("tool 'wikisearch' needs a retrieval corpus (--passages FILE)")
            tool = wikisearch_tool(passages)
        elif name == "qa":
            if qa_model is None:
                raise ConfigError("tool 'qa' needs a model to answer questions (--qa-model)")
            tool = qa_tool(qa_model)
        else:
            raise ConfigError(f"unknown tool {raw!r}; choose from {', '.join(TOOL_NAMES)}")
        out[tool.name] = tool
    if not out:
        raise ConfigError(f"no tools selected; choose from {', '.join(TOOL_NAMES)}")
    return out


# ---------------------------------------------------------------------------- execution

def execute_calls(calls: Sequence[APICall], docs: Sequence[Document], tools: Mapping[str, Tool],
                  timeout: float = 10.0, max_workers: int = 8) -> list[str | None]:
    """Each call's result, or None ("no result") for an unknown tool, a failure, an empty result
    or a call still running `timeout` seconds after the batch started.

    Calls run concurrently (at most `max_workers` at once); a tool with `run_batch` gets all of
    its calls in one request."""
    from concurrent.futures import ThreadPoolExecutor, wait

    results: list[str | None] = [None] * len(calls)
    if not calls:
        return results
    pool = ThreadPoolExecutor(max_workers=max_workers)
    try:
        futures: dict[Any, tuple[list[int], bool]] = {}
        batched: dict[str, list[int]] = {}
        for j, (call, doc) in enumerate(zip(calls, docs, strict=True)):
            tool = tools.get(call.tool)
            if tool is None:
                continue
            if tool.run_batch is not None:
                batched.setdefault(call.tool, []).append(j)
            else:
                futures[pool.submit(tool.run, call.args, doc)] = ([j], False)
        for name, idx in batched.items():
            fut = pool.submit(tools[name].run_batch, [calls[j].args for j in idx],
                              [docs[j] for j in idx])
            futures[fut] = (idx, True)
        done, _ = wait(futures, timeout=timeout)
        for fut in done:
            idx, is_batch = futures[fut]
            if fut.exception() is not None:
                continue  # a failing tool gives "no result"
            out = fut.result()
            outs = list(out) if is_batch and isinstance(out, list | tuple) else [out]
            for j, r in zip(idx, outs, strict=False):
                results[j] = r if isinstance(r, str) and r.strip() else None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results
