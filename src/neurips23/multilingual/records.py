"""One record schema for multilingual instruction data, after the Aya Dataset and Collection.

    {"inputs": "...", "targets": "...", "language_code": "yor", "script": "Latn",
     "annotation_type": "original", "template_id": "", "dataset_name": "", "task_type": ""}

`inputs`, `targets` and `language_code` (ISO 639-3) are required; the rest default to "".
`annotation_type` is one of Aya's provenance kinds: original (written by a speaker),
re-annotation (a speaker edited an existing pair), translated (machine translation) or
templated (a template filled from a structured dataset). Fields beyond the schema are kept
under `extra` and written back, so a pipeline never silently drops a column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from neurips23.errors import DataError
from neurips23.multilingual.languages import check_code

ANNOTATION_TYPES = ("original", "re-annotation", "translated", "templated")


@dataclass
class Record:
    """One prompt/completion pair with its language, script and provenance (Aya's fields)."""

    inputs: str
    targets: str
    language_code: str
    script: str = ""
    annotation_type: str = "original"
    template_id: str = ""
    dataset_name: str = ""
    task_type: str = ""
    user_id: str = ""
    id: str = ""
    extra: dict = field(default_factory=dict)
    where: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        loc = self.where or "record"
        for name in ("inputs", "targets"):
            if not isinstance(getattr(self, name), str):
                raise DataError(f"{loc}: field {name!r} should be a string, got "
                                f"{type(getattr(self, name)).__name__}")
        check_code(self.language_code, f"{loc}: field 'language_code'", DataError)
        if self.annotation_type not in ANNOTATION_TYPES:
            raise DataError(f"{loc}: field 'annotation_type' is {self.annotation_type!r}; "
                            f"expected one of {', '.join(ANNOTATION_TYPES)}")

    def with_(self, **changes) -> Record:
        """A copy with some fields changed (records are treated as values by the stages)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """The JSON object of this record: schema fields, then the extra ones."""
        d = {k: v for k, v in asdict(self).items() if k not in ("extra", "where")}
        d.update(self.extra)
        return d


_FIELDS = tuple(f.name for f in fields(Record) if f.name not in ("extra", "where"))


def record_from_dict(row: dict, where: str = "record") -> Record:
    """A Record from a JSON object; DataError naming `where` and the field if it does not fit."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    for name in ("inputs", "targets", "language_code"):
        if name not in row:
            raise DataError(f"{where}: missing field {name!r}")
    known = {k: row[k] for k in _FIELDS if k in row}
    for k, v in known.items():
        if k not in ("inputs", "targets") and not isinstance(v, str):
            raise DataError(f"{where}: field {k!r} should be a string, got {type(v).__name__}")
    extra = {k: v for k, v in row.items() if k not in _FIELDS and k != "_line"}
    return Record(**known, extra=extra, where=where)


def read_records(path: str | Path) -> Iterator[Record]:
    """Records from a JSONL file, streamed; a bad line raises DataError with file:line."""
    from neurips23.lm.data import iter_jsonl

    path = Path(path)
    n = 0
    for lineno, row in iter_jsonl(path, "records file"):
        n += 1
        yield record_from_dict(row, f"{path}:{lineno}")
    if n == 0:
        raise DataError(f"{path}: no records")


def write_records(records: Iterable[Record], path: str | Path) -> int:
    """Write records as JSONL (UTF-8, not ASCII-escaped) atomically; returns how many."""
    from neurips23.utils import atomic_write_text

    lines = [json.dumps(r.to_dict(), ensure_ascii=False) for r in records]
    atomic_write_text(Path(path), "".join(line + "\n" for line in lines))
    return len(lines)
