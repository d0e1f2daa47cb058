"""API calls as text (§2, footnote 1): `[Tool(args)]` without a result, `[Tool(args)->result]`
with one, written with the ordinary strings "[", "]" and "->" so the vocabulary is unchanged."""

from __future__ import annotations

import re
from dataclasses import dataclass

API_START = "["
API_END = "]"
RESULT_SEP = "->"

_CALL = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\((.*)\)\s*$", re.S)
_CALL_SPAN = re.compile(r"\s?\[[A-Za-z][A-Za-z0-9_]*\(.*?\)(?:->[^\]]*)?\]", re.S)


@dataclass(frozen=True)
class APICall:
    """c = (a_c, i_c): the tool's name and its input text."""

    tool: str
    args: str


def format_call(call: APICall, result: str | None = None) -> str:
    """e(c) = "[Tool(args)]" when `result` is None, else e(c, r) = "[Tool(args)->r]" (§2).

    e(c, ε) — the call with an empty result, used in L⁻ — is `format_call(c, "")`."""
    body = f"{call.tool}({call.args})"
    if result is None:
        return f"{API_START}{body}{API_END}"
    return f"{API_START}{body}{RESULT_SEP}{result}{API_END}"


def parse_call(text: str) -> APICall | None:
    """The call in `Tool(args)` or `[Tool(args)]` (a result after "->" is ignored); None if the
    text is not a call."""
    body = text.strip()
    if body.startswith(API_START):
        body = body[len(API_START):]
    if body.endswith(API_END):
        body = body[: -len(API_END)]
    if RESULT_SEP in body:
        body = body.split(RESULT_SEP, 1)[0]
    m = _CALL.match(body)
    if m is None:
        return None
    return APICall(m.group(1), m.group(2).strip())


def insert_call(text: str, offset: int, call_text: str) -> str:
    """x* = x_{<i}, e(c, r), x_{≥i}: the call inserted at character `offset`, separated from the
    words around it by one space as in the paper's examples ("= [Calculator(18 + 12 * 3)] 54")."""
    left, right = text[:offset], text[offset:]
    if left and not left[-1].isspace() and right[:1].isspace():
        return f"{left} {call_text}{right}"  # "has" + " [..]" + " 405"
    if left[-1:].isspace() and right and not right[0].isspace():
        return f"{left}{call_text} {right}"  # "has " + "[..] " + "405"
    return f"{left}{call_text}{right}"


def inline_call_text(text: str, offset: int, call_text: str) -> str:
    """The string `insert_call` puts between x_{<i} and x_{≥i} (the call and its spacing)."""
    out = insert_call(text, offset, call_text)
    return out[offset: len(out) - (len(text) - offset)]


def strip_calls(text: str) -> str:
    """The text with every `[Tool(...)]` / `[Tool(...)->r]` span (and one space before it) removed."""
    return _CALL_SPAN.sub("", text)
