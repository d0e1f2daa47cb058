"""The data pipeline: stages `Iterable[Record] -> Iterable[Record]`, each keeping statistics.

    from neurips23.multilingual.pipeline import default_stages, run_pipeline
    kept, report = run_pipeline(read_records("raw.jsonl"), default_stages(langid="lingua"))

Stages, in the default order:
  normalize    NFC, no control characters or BOMs, runs of spaces collapsed (zero-width joiners,
               meaningful in Indic and Arabic scripts, are kept); empty inputs/targets dropped
  langid       each text's detected language must be the declared one (`und` is kept, counted)
  script       the dominant script must be one the declared language is written in; fills `script`
  quality      length bounds, inputs == targets, repetition, URL share
  dedup        exact, then near duplicates (MinHash/LSH, verified by exact Jaccard)
Each dropped record is counted under its stage and reason, with the first few locations.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from neurips23.multilingual.languages import UND, macro, same_language, scripts_of
from neurips23.multilingual.records import Record
from neurips23.multilingual.scripts import dominant_script

Drop = Callable[[Record, str, str], None]


@dataclass
class StageStats:
    """What one stage saw: records in and out, drops by reason with example locations."""

    name: str
    seen: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"stage": self.name, "seen": self.seen, "kept": self.kept,
                "dropped": dict(self.dropped), "examples": self.examples, "notes": dict(self.notes)}


class Stage:
    """A pipeline stage: `process` returns the (possibly changed) record or a drop reason."""

    name = "stage"
    max_examples = 5

    def __init__(self) -> None:
        self.stats = StageStats(self.name)
        self.on_drop: Drop | None = None

    def process(self, record: Record) -> Record | str:
        raise NotImplementedError

    def __call__(self, records: Iterable[Record]) -> Iterator[Record]:
        for rec in records:
            self.stats.seen += 1
            out = self.process(rec)
            if isinstance(out, str):
                self.stats.dropped[out] += 1
                ex = self.stats.examples.setdefault(out, [])
                if len(ex) < self.max_examples:
                    ex.append(rec.where or rec.id or rec.inputs[:40])
                if self.on_drop:
                    self.on_drop(rec, self.name, out)
                continue
            self.stats.kept += 1
            yield out


# ---------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufeff]")
_HSPACE = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC; control characters and BOMs removed; spaces collapsed per line; ≤ 1 blank line."""
    t = _CONTROL.sub("", unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n"))
    t = "\n".join(_HSPACE.sub(" ", line).strip() for line in t.split("\n"))
    return _BLANKS.sub("\n\n", t).strip()


class Normalize(Stage):
    """NFC + whitespace; a record whose inputs or targets end up empty is dropped."""

    name = "normalize"

    def process(self, record: Record) -> Record | str:
        inputs, targets = normalize_text(record.inputs), normalize_text(record.targets)
        if not inputs:
            return "empty inputs"
        if not targets:
            return "empty targets"
        if (inputs, targets) != (record.inputs, record.targets):
            self.stats.notes["changed"] += 1
        return record.with_(inputs=inputs, targets=targets)


class LanguageID(Stage):
    """Drop a record when a text is detected as another language than `language_code`.

    Checks targets and inputs (inputs are skipped for task_type "translation", whose inputs
    hold the source language). The declared language is always among the detector's
    candidates; a declared language the backend cannot recognise is kept unchecked (counted
    under notes), never dropped as its nearest supported neighbour. A text detected `und` is
    kept and counted under notes.
    """

    name = "langid"

    def __init__(self, backend: str = "lingua", languages: Sequence[str] | None = None,
                 min_confidence: float | None = None, check: str = "both"):
        super().__init__()
        self.backend, self.languages, self.min_confidence, self.check = (
            backend, languages, min_confidence, check)

    def candidates(self, declared: str) -> list[str] | None:
        """The detector's candidates for a record declared `declared`: the stage's languages
        (or the backend's default set) plus the declared one; None for a backend that takes
        no candidate list."""
        from neurips23.multilingual.fidelity import detection_candidates

        if self.languages:
            return sorted({macro(c) for c in self.languages} | {macro(declared)})
        return detection_candidates([declared], self.backend)

    def process(self, record: Record) -> Record | str:
        from neurips23.multilingual.langid import backend_languages, detect_many

        declared = macro(record.language_code)
        if not hasattr(self, "_supported"):
            self._supported = {macro(c) for c in backend_languages(self.backend)}
        if declared not in self._supported:
            self.stats.notes[f"not checked: {self.backend} has no {declared}"] += 1
            return record
        fields = ["targets"] if self.check == "targets" or record.task_type == "translation" else (
            ["inputs"] if self.check == "inputs" else ["inputs", "targets"])
        found = detect_many([getattr(record, f) for f in fields], self.backend,
                            self.candidates(declared), self.min_confidence)
        for f, d in zip(fields, found, strict=True):
            if d.language == UND:
                self.stats.notes[f"{f} und"] += 1
            elif not same_language(d.language, record.language_code):
                return f"{f} detected as {d.language}, declared {declared}"
        return record


def langid_recall(texts: dict[str, Sequence[str]], backend: str = "lingua",
                  stage: LanguageID | None = None) -> dict[str, dict]:
    """Per declared language: how many of its texts the language-ID stage keeps (recall on
    text known to be in that language, e.g. the shipped parallel sentences) and why it drops
    the others."""
    stage = stage or LanguageID(backend, check="targets")
    out = {}
    for lang, items in texts.items():
        kept, why = 0, Counter()
        for i, text in enumerate(items):
            res = stage.process(Record(inputs="", targets=text, language_code=lang, id=f"{lang}-{i}"))
            if isinstance(res, str):
                why[res] += 1
            else:
                kept += 1
        out[lang] = {"n": len(items), "kept": kept, "recall": kept / len(items) if items else None,
                     "dropped_as": dict(why)}
    return out


class ScriptCheck(Stage):
    """The dominant script of inputs + targets must be one the declared language uses."""

    name = "script"

    def process(self, record: Record) -> Record | str:
        script = dominant_script(record.inputs + "\n" + record.targets)
        expected = scripts_of(record.language_code)
        if record.script and script not in ("Zyyy", record.script) and not (
                record.script in ("Jpan", "Hani") and script in ("Jpan", "Hani")):
            return f"script {script}, declared {record.script}"
        if not expected:
            self.stats.notes["language not in the script table"] += 1
        elif script != "Zyyy" and script not in expected:
            return f"script {script} is not one of {'/'.join(expected)} ({record.language_code})"
        return record if record.script else record.with_(script=script if script != "Zyyy" else "")


_URL = re.compile(r"(?:https?://|www\.)\S+")


def repetition_ratio(text: str, n: int = 10) -> float:
    """Share of character n-gram occurrences that repeat an earlier one (0 = no repetition)."""
    grams = [text[i:i + n] for i in range(len(text) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def url_ratio(text: str) -> float:
    """Share of characters inside URLs."""
    return sum(len(m) for m in _URL.findall(text)) / len(text) if text else 0.0


class Quality(Stage):
    """Heuristic filters; each threshold is a constructor argument and each drop names it."""

    name = "quality"

    def __init__(self, min_chars: int = 2, max_chars: int = 20_000, max_repetition: float = 0.5,
                 max_url_ratio: float = 0.3):
        super().__init__()
        self.min_chars, self.max_chars = min_chars, max_chars
        self.max_repetition, self.max_url_ratio = max_repetition, max_url_ratio

    def process(self, record: Record) -> Record | str:
        for name in ("inputs", "targets"):
            text = getattr(record, name)
            if len(text) < self.min_chars:
                return f"{name} shorter than {self.min_chars} characters"
            if len(text) > self.max_chars:
                return f"{name} longer than {self.max_chars} characters"
            if repetition_ratio(text) > self.max_repetition:
                return f"{name} repetition > {self.max_repetition}"
            if url_ratio(text) > self.max_url_ratio:
                return f"{name} URL share > {self.max_url_ratio}"
        if record.inputs.casefold() == record.targets.casefold():
            return "inputs == targets"
        return record


class Dedup(Stage):
    """Exact and near-duplicate removal (see `dedup`); buffers its input to compare across it."""

    name = "dedup"

    def __init__(self, threshold: float = 0.8, num_perm: int = 128, shingle: int = 5,
                 key: str = "inputs+targets", seed: int = 0):
        super().__init__()
        if key not in ("inputs+targets", "inputs", "targets"):
            from neurips23.errors import ConfigError
            raise ConfigError(f"dedup key {key!r}: choose inputs+targets, inputs or targets")
        self.threshold, self.num_perm, self.shingle, self.key, self.seed = (
            threshold, num_perm, shingle, key, seed)

    def _text(self, r: Record) -> str:
        return {"inputs": r.inputs, "targets": r.targets}.get(self.key, r.inputs + "\n" + r.targets)

    def __call__(self, records: Iterable[Record]) -> Iterator[Record]:
        from neurips23.multilingual.dedup import canonical_text, near_duplicate_groups

        recs = list(records)
        texts = [self._text(r) for r in recs]
        dup_of = near_duplicate_groups(texts, self.threshold, self.num_perm, self.shingle, self.seed)
        for r, t, j in zip(recs, texts, dup_of, strict=True):
            self.stats.seen += 1
            if j is None:
                self.stats.kept += 1
                yield r
                continue
            reason = "exact duplicate" if canonical_text(texts[j]) == canonical_text(t) else (
                f"near duplicate (Jaccard ≥ {self.threshold})")
            self.stats.dropped[reason] += 1
            ex = self.stats.examples.setdefault(reason, [])
            if len(ex) < self.max_examples:
                ex.append(f"{r.where or r.id or t[:40]} ~ {recs[j].where or recs[j].id or j}")
            if self.on_drop:
                self.on_drop(r, self.name, reason)

    def process(self, record: Record) -> Record | str:  # pragma: no cover - __call__ overrides
        raise NotImplementedError


STAGES = ("normalize", "langid", "script", "quality", "dedup")


def default_stages(names: Sequence[str] = STAGES, langid: str = "lingua",
                   languages: Sequence[str] | None = None, near_dup_threshold: float = 0.8,
                   min_confidence: float | None = None) -> list[Stage]:
    """The named stages in order, with the given language-ID backend and dedup threshold."""
    from neurips23.errors import ConfigError

    make = {"normalize": Normalize, "script": ScriptCheck, "quality": Quality,
            "langid": lambda: LanguageID(langid, languages, min_confidence),
            "dedup": lambda: Dedup(near_dup_threshold)}
    unknown = [n for n in names if n not in make]
    if unknown:
        raise ConfigError(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(STAGES)}")
    return [make[n]() for n in names]


def run_pipeline(records: Iterable[Record], stages: Sequence[Stage],
                 on_drop: Drop | None = None) -> tuple[list[Record], dict]:
    """Run records through the stages; (kept records, report with per-stage and per-language counts)."""
    before: Counter = Counter()

    def counted(rs: Iterable[Record]) -> Iterator[Record]:
        for r in rs:
            before[macro(r.language_code)] += 1
            yield r

    stream: Iterable[Record] = counted(records)
    for stage in stages:
        stage.on_drop = on_drop
        stream = stage(stream)
    kept = list(stream)
    after = Counter(macro(r.language_code) for r in kept)
    report = {"records_in": sum(before.values()), "records_out": len(kept),
              "stages": [s.stats.as_dict() for s in stages],
              "languages": {lang: {"in": before[lang], "out": after.get(lang, 0)}
                            for lang in sorted(before)}}
    return kept, report
