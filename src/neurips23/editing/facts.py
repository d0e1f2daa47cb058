"""Facts to trace and edit: (subject, relation prompt, true object) plus what the edit metrics
need — a counterfactual object, paraphrase prompts and neighbourhood prompts.

A fact file is JSONL, one fact a line, in our flat form

    {"subject": "France", "prompt": "The capital of {} is", "target_true": "Paris",
     "target_new": "Rome", "paraphrase": ["France's capital city is"],
     "neighbours": ["The capital of the French Republic is"]}

or in CounterFact's form (`requested_rewrite` with `prompt`, `subject`, `target_true.str`,
`target_new.str`, plus `paraphrase_prompts`, `neighborhood_prompts`). Objects are written
without a leading space; a space is put before them when they are tokenized (as ROME does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from neurips23.errors import DataError


@dataclass(frozen=True)
class Fact:
    """One fact: `prompt` holds `{}` where the subject goes; the model should answer target_true.

    `paraphrase` are other prompts for the same fact (subject written in); `neighbours` are
    prompts about other subjects whose true answer is also `target_true` (CounterFact's
    neighbourhood prompts), used to check that an edit left them alone."""

    subject: str
    prompt: str
    target_true: str
    target_new: str = ""
    paraphrase: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()
    relation: str = ""
    where: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        """The prompt with the subject filled in."""
        return self.prompt.format(self.subject)

    def check(self) -> Fact:
        """Raise a DataError naming the fact (file:line) if a field cannot work."""
        where = self.where or f"fact {self.subject!r}"
        if not self.subject.strip():
            raise DataError(f"{where}: empty subject")
        if self.prompt.count("{}") != 1 or "{" in self.prompt.replace("{}", ""):
            raise DataError(f"{where}: prompt {self.prompt!r} must contain '{{}}' exactly once "
                            "(where the subject goes) and no other braces")
        if not self.target_true.strip():
            raise DataError(f"{where}: empty target_true")
        if self.target_new and self.target_new.strip() == self.target_true.strip():
            raise DataError(f"{where}: target_new equals target_true ({self.target_new!r})")
        for p in self.paraphrase:
            if self.subject not in p:
                raise DataError(f"{where}: paraphrase {p!r} does not contain the subject "
                                f"{self.subject!r}")
        return self


def _strings(value, path: Path, line: int, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{path}:{line}: field {name!r} should be a list of strings")
    return tuple(value)


def _text(value, path: Path, line: int, name: str) -> str:
    if isinstance(value, dict):  # CounterFact's {"str": ..., "id": ...}
        value = value.get("str")
    if not isinstance(value, str):
        raise DataError(f"{path}:{line}: field {name!r} should be a string, got "
                        f"{type(value).__name__}")
    return value.strip()


def fact_from_row(row: dict, path: Path, line: int) -> Fact:
    """A Fact from one JSONL object (flat or CounterFact form); DataError names file:line."""
    rw = row.get("requested_rewrite")
    if rw is not None:
        if not isinstance(rw, dict):
            raise DataError(f"{path}:{line}: 'requested_rewrite' should be an object")
        src = {"subject": rw.get("subject"), "prompt": rw.get("prompt"),
               "target_true": rw.get("target_true"), "target_new": rw.get("target_new", ""),
               "relation": rw.get("relation_id", ""),
               "paraphrase": row.get("paraphrase_prompts"),
               "neighbours": row.get("neighborhood_prompts")}
    else:
        src = row
    for key in ("subject", "prompt", "target_true"):
        if src.get(key) is None:
            raise DataError(f"{path}:{line}: missing field {key!r}")
    fact = Fact(subject=_text(src["subject"], path, line, "subject"),
                prompt=_text(src["prompt"], path, line, "prompt"),
                target_true=_text(src["target_true"], path, line, "target_true"),
                target_new=_text(src.get("target_new") or "", path, line, "target_new"),
                paraphrase=_strings(src.get("paraphrase"), path, line, "paraphrase"),
                neighbours=_strings(src.get("neighbours"), path, line, "neighbours"),
                relation=str(src.get("relation") or ""), where=f"{path}:{line}")
    return fact.check()


def read_facts(path: str | Path) -> list[Fact]:
    """Facts from a JSONL file; each bad line raises a DataError naming file:line and field."""
    from neurips23.lm.data import read_jsonl

    path = Path(path)
    return [fact_from_row(row, path, row["_line"]) for row in read_jsonl(path)]


def write_facts(facts: Sequence[Fact], path: str | Path) -> Path:
    """Write facts as JSONL in the flat form (atomically)."""
    import json

    from neurips23.utils import atomic_write_text

    lines = [json.dumps({"subject": f.subject, "prompt": f.prompt, "target_true": f.target_true,
                         "target_new": f.target_new, "paraphrase": list(f.paraphrase),
                         "neighbours": list(f.neighbours), "relation": f.relation})
             for f in facts]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)
