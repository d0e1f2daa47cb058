"""Training data: JSONL with line-numbered errors, and prompt/response encoding with loss masks."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurips23.errors import DataError

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Example:
    """One training example; the loss is taken on `response` only (`prompt=""` for plain text)."""

    prompt: str
    response: str


def iter_jsonl(path: str | Path, what: str = "JSONL file") -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line of a JSONL file, streamed; a missing file,
    a directory, a non-UTF-8 or invalid line, or JSON nested too deeply is a DataError naming
    file:line. The one JSONL reader: every JSONL input goes through it."""
    path = Path(path)
    try:
        f = path.open("rb")
    except OSError as e:
        from neurips23.utils import open_error

        raise open_error(path, what, e) from None
    with f:
        lineno = 0
        try:
            for lineno, raw in enumerate(f, 1):  # noqa: B007 - lineno names a failed read too
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise DataError(f"{path}:{lineno}: not UTF-8 text (byte {e.start} of the "
                                    f"line); is it a {what}?") from None
                if line.strip():
                    yield lineno, parse_json(line, f"{path}:{lineno}")
        except IsADirectoryError:
            raise DataError(f"{path}: a directory, not a {what}") from None
        except OSError as e:
            raise DataError(f"{path}:{lineno + 1}: cannot read {what} ({e.strerror or e})") from None


def parse_json(text: str, where: str, add_line: bool = False) -> Any:
    """json.loads with a DataError naming `where` (file:line; with `add_line`, the error's
    own line is appended to it) for invalid or too deeply nested JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}{f':{e.lineno}' if add_line else ''}: not valid JSON "
                        f"({e.msg})") from None
    except RecursionError:
        raise DataError(f"{where}: JSON nested too deeply") from None


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """A whole JSON file, read by the same rules as JSONL (errors name file:line)."""
    from neurips23.utils import read_text_file

    return parse_json(read_text_file(path, what), str(path), add_line=True)


def read_jsonl(path: str | Path, required: Sequence[str] = (),
               types: dict[str, type] | None = None) -> list[dict]:
    """Rows of a JSONL file; a bad line raises DataError naming file, line and field.

    Each row keeps its 1-based line number under the key "_line" for later error messages."""
    path = Path(path)
    rows = []
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        for field in required:
            if field not in row:
                raise DataError(f"{path}:{lineno}: missing field {field!r}")
        for field, tp in (types or {}).items():
            if field in row and not isinstance(row[field], tp):
                raise DataError(f"{path}:{lineno}: field {field!r} should be {tp.__name__}, "
                                f"got {type(row[field]).__name__}")
        row["_line"] = lineno
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: no records")
    return rows


def read_examples(path: str | Path) -> list[Example]:
    """Examples from JSONL of {prompt, response} or {text} objects."""
    rows = read_jsonl(path, types={"prompt": str, "response": str, "text": str})
    out = []
    for row in rows:
        if "text" in row and "response" not in row:
            out.append(Example("", row["text"]))
        elif "prompt" in row and "response" in row:
            out.append(Example(row["prompt"], row["response"]))
        else:
            missing = "response" if "prompt" in row else "prompt"
            raise DataError(f"{path}:{row['_line']}: missing field {missing!r} "
                            "(expected {prompt, response} or {text})")
    return out


def encode_examples(tokenizer, examples: Sequence[Example], max_length: int,
                    add_eos: bool = True) -> list[dict]:
    """input_ids and labels (-100 on the prompt) for each example, tokenized in one batch.

    The prompt gets the tokenizer's own special tokens (BOS for real models, none for ours), as
    at generation time. Truncation cuts the prompt's left first, then the response's right.
    """
    for ex in examples:
        if not ex.response.strip():
            raise DataError(f"example with prompt {ex.prompt[:40]!r}: empty response")
    if not examples:
        return []
    prompts = tokenizer([ex.prompt for ex in examples], add_special_tokens=True)["input_ids"]
    responses = tokenizer([ex.response for ex in examples], add_special_tokens=False)["input_ids"]
    out = []
    for ex, p_ids, r_ids in zip(examples, prompts, responses, strict=True):
        p_ids, r_ids = list(p_ids), list(r_ids)
        if add_eos:
            r_ids.append(tokenizer.eos_token_id)
        overflow = len(p_ids) + len(r_ids) - max_length
        if overflow > 0:
            cut = min(overflow, len(p_ids))
            p_ids = p_ids[cut:]
            overflow -= cut
            if overflow > 0:
                r_ids = r_ids[: len(r_ids) - overflow]
        if not r_ids:
            raise DataError(f"example with prompt {ex.prompt[:40]!r}: the response is empty after "
                            f"truncation to max_length={max_length}")
        out.append({"input_ids": p_ids + r_ids, "labels": [IGNORE_INDEX] * len(p_ids) + r_ids})
    return out


def encode_example(tokenizer, ex: Example, max_length: int, add_eos: bool = True) -> dict:
    """input_ids and labels of one example (see encode_examples)."""
    return encode_examples(tokenizer, [ex], max_length, add_eos)[0]


def collate(batch: Sequence[dict], pad_id: int):
    """Right-padded tensors: input_ids, attention_mask, labels (-100 on pads)."""
    import torch

    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = torch.tensor(b["input_ids"])
        labels[i, :n] = torch.tensor(b["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
