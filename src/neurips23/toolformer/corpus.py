"""Reading a JSONL corpus (errors name file:line) and writing the annotated corpus C*."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from neurips23.errors import ConfigError, DataError
from neurips23.toolformer.annotate import Annotation, augmented_text, choose_calls
from neurips23.toolformer.tools import Document


def parse_date(value: str, where: str) -> dt.date:
    """A YYYY-MM-DD date; a ConfigError naming `where` otherwise."""
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def read_corpus(path: str | Path) -> list[Document]:
    """Documents from JSONL of {"text": ..., "date"?: "YYYY-MM-DD"}; DataError with file:line."""
    from neurips23.lm.data import read_jsonl

    rows = read_jsonl(path, required=("text",), types={"text": str, "date": str})
    docs = []
    for row in rows:
        where = f"{path}:{row['_line']}"
        if not row["text"].strip():
            raise DataError(f"{where}: field 'text' is empty")
        date = None
        if "date" in row:
            try:
                date = parse_date(row["date"], f"{where}: field 'date'")
            except ConfigError as e:
                raise DataError(str(e)) from None
        meta = {k: v for k, v in row.items() if k not in ("text", "date", "_line")}
        docs.append(Document(row["text"], date, meta))
    return docs


def read_passages(path: str | Path) -> list[str]:
    """Retrieval passages from JSONL of {"text": ...}."""
    return [d.text for d in read_corpus(path)]


def write_annotations(path: str | Path, docs: Sequence[Document],
                      annotations: Mapping[str, Annotation]) -> int:
    """One JSON line per text: x* as "text" (ready for finetuning), the original, every sampled
    call with its result, losses and the filter's decision. Returns how many texts got calls."""
    from neurips23.utils import atomic_write_text

    chosen: dict[int, list] = {}
    for c in choose_calls(annotations, "filtered"):
        chosen.setdefault(c.doc, []).append(c)
    calls: dict[int, list[dict]] = {}
    for name, ann in annotations.items():
        for c in ann.candidates:
            s = c.scores
            calls.setdefault(c.doc, []).append({
                "tool": name, "args": c.call.args, "offset": c.offset, "p_api": c.p_api,
                "result": c.result,
                "loss_empty": None if s is None else s.loss_empty,
                "loss_call": None if s is None else s.loss_call,
                "loss_result": None if s is None else s.loss_result,
                "usefulness": None if s is None else s.usefulness,
                "kept": bool(s is not None and s.keep(ann.tau_f))})
    lines = []
    for j, d in enumerate(docs):
        row = {"text": augmented_text(d.text, chosen.get(j, [])), "original": d.text,
               "calls": calls.get(j, [])}
        if d.date is not None:
            row["date"] = d.date.isoformat()
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    atomic_write_text(path, "".join(lines))
    return len(chosen)
