"""Pairwise win rates with pluggable judges, always judged in both orders.

Aya reports simulated (GPT-4-judged) and human win rates. LLM judges prefer a position (Zheng
et al. 2023), so every pair is judged twice, system 1 shown first and then system 2 shown
first; a system wins an item only when the judge prefers it in both orders, and any
disagreement (or a tie) is a tie. Under this rule a judge that always picks the first position
gives 100% ties, and swapping the two systems mirrors wins and losses exactly.

Judges: `ChrFJudge` (reference-based and deterministic: sentence chrF to the reference, an
output not in the target language scoring 0), `ModelJudge` (any LanguageModel: hf, openai, ...),
`HumanJudge` (a CSV of human verdicts for both orders), `FirstPositionJudge` (a calibration
baseline that reads nothing). Win/tie/loss come with seeded bootstrap intervals over items, per
language and per resource tier.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from neurips23.errors import DataError
from neurips23.multilingual.languages import language_name, tier_of

VERDICTS = ("A", "B", "tie")


@dataclass(frozen=True)
class PairItem:
    """One judgement to make: the prompt, the two responses as shown, and which order this is
    ("12": system 1 is response A; "21": system 2 is response A)."""

    id: str
    prompt: str
    response_a: str
    response_b: str
    language: str
    reference: str = ""
    order: str = "12"


class Judge(Protocol):
    """Returns "A", "B" or "tie" for each PairItem as presented."""

    name: str

    def judge(self, items: Sequence[PairItem]) -> list[str]: ...


class FirstPositionJudge:
    """Always prefers response A: the extreme of position bias (a calibration baseline)."""

    name = "first-position"

    def judge(self, items: Sequence[PairItem]) -> list[str]:
        return ["A"] * len(items)


class ChrFJudge:
    """Prefers the response with the higher sentence chrF to the reference; a response that is not
    in the item's language (when `require_language`) scores 0. Equal scores within `margin` tie."""

    name = "chrf"

    def __init__(self, margin: float = 0.0, require_language: bool = True, langid_backend: str = "lingua"):
        self.margin, self.require_language, self.backend = margin, require_language, langid_backend

    def judge(self, items: Sequence[PairItem]) -> list[str]:
        from neurips23.multilingual.fidelity import language_fidelity
        from neurips23.multilingual.metrics import sentence_chrf

        missing = [it.id for it in items if not it.reference]
        if missing:
            raise DataError(f"the chrF judge needs a reference; item(s) without one: {missing[:5]}")
        ok_a = ok_b = [True] * len(items)
        if self.require_language:
            langs = [it.language for it in items]
            ok_a = [f.faithful for f in language_fidelity([it.response_a for it in items], langs, self.backend)]
            ok_b = [f.faithful for f in language_fidelity([it.response_b for it in items], langs, self.backend)]
        out = []
        for it, fa, fb in zip(items, ok_a, ok_b, strict=True):
            sa = sentence_chrf(it.response_a, it.reference) if fa else 0.0
            sb = sentence_chrf(it.response_b, it.reference) if fb else 0.0
            out.append("tie" if abs(sa - sb) <= self.margin else "A" if sa > sb else "B")
        return out


JUDGE_PROMPT = (
    "You are comparing two responses to the same request, written in {language}.\n\n"
    "Request:\n{prompt}\n\n{reference_block}Response A:\n{response_a}\n\nResponse B:\n{response_b}\n\n"
    "Which response is better? Answer with one letter: A or B."
)
_STATED = re.compile(r"(?:answer|choice|better|winner|response|option)\W{0,3}(?:is|:)?\W{0,3}([AB])(?![A-Za-z])",
                     re.IGNORECASE)
_LEADING = re.compile(r"^\W*([AB])(?![A-Za-z])")


def parse_verdict(text: str) -> str | None:
    """A judge's choice: a stated one ("the answer is B", "Response A") wins, else a letter
    opening the answer ("A.", "**B**"); None if neither (the pair then counts as a tie)."""
    text = text or ""
    m = _STATED.search(text) or _LEADING.search(text)
    return m.group(1).upper() if m else None


@dataclass
class ModelJudge:
    """A model as judge, through any LanguageModel; an answer with no A/B counts as a tie."""

    model: object
    template: str = JUDGE_PROMPT
    chat: bool = True
    max_tokens: int = 8
    name: str = "model"
    unparsed: int = field(default=0, init=False)
    raw: list[str] = field(default_factory=list, init=False, repr=False)

    def judge(self, items: Sequence[PairItem]) -> list[str]:
        prompts = [self.template.format(
            language=language_name(it.language), prompt=it.prompt, response_a=it.response_a,
            response_b=it.response_b,
            reference_block=f"Reference answer:\n{it.reference}\n\n" if it.reference else "")
            for it in items]
        if self.chat:
            outs = self.model.chat([[{"role": "user", "content": p}] for p in prompts],
                                   max_tokens=self.max_tokens)
        else:
            outs = self.model.generate(prompts, max_tokens=self.max_tokens)
        verdicts = []
        for o in outs:
            text = o[0] if o else ""
            self.raw.append(text)
            v = parse_verdict(text)
            self.unparsed += v is None
            verdicts.append(v or "tie")
        return verdicts


class HumanJudge:
    """Human verdicts from a CSV with columns id, order ("12" or "21"), verdict ("A", "B", "tie").

    Both orders of every item must be present: an item judged in one order only is an error."""

    name = "human"

    def __init__(self, path: str | Path):
        import io

        from neurips23.utils import read_text_file

        path = Path(path)
        text = read_text_file(path, "verdicts CSV file")
        self.verdicts: dict[tuple[str, str], str] = {}
        with io.StringIO(text, newline="") as f:
            reader = csv.DictReader(f)
            missing = {"id", "order", "verdict"} - set(reader.fieldnames or ())
            if missing:
                raise DataError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
            for row in reader:
                line = reader.line_num
                order, verdict = row["order"].strip(), row["verdict"].strip()
                if order not in ("12", "21"):
                    raise DataError(f"{path}:{line}: order {order!r} should be 12 or 21")
                if verdict not in VERDICTS:
                    raise DataError(f"{path}:{line}: verdict {verdict!r} should be A, B or tie")
                self.verdicts[(row["id"].strip(), order)] = verdict
        self.path = path

    def judge(self, items: Sequence[PairItem]) -> list[str]:
        out = []
        for it in items:
            if (it.id, it.order) not in self.verdicts:
                raise DataError(f"{self.path}: no verdict for item {it.id!r} in order {it.order}")
            out.append(self.verdicts[(it.id, it.order)])
        return out


# ---------------------------------------------------------------------------------------------

@dataclass
class PairOutcome:
    """One item judged in both orders: the raw verdicts and the outcome for system 1."""

    id: str
    language: str
    verdict_12: str
    verdict_21: str
    outcome: str  # "win" | "tie" | "loss" for system 1


def combine_orders(v12: str, v21: str) -> str:
    """System 1's outcome from the two orders: win/loss only when both orders agree."""
    prefers_1 = (v12 == "A", v21 == "B")
    prefers_2 = (v12 == "B", v21 == "A")
    if all(prefers_1):
        return "win"
    if all(prefers_2):
        return "loss"
    return "tie"


def judge_pairs(ids: Sequence[str], prompts: Sequence[str], outputs_1: Sequence[str],
                outputs_2: Sequence[str], languages: Sequence[str], judge: Judge,
                references: Sequence[str] | None = None) -> list[PairOutcome]:
    """Judge every item in both orders (one batch per order) and combine."""
    n = len(ids)
    if not all(len(x) == n for x in (prompts, outputs_1, outputs_2, languages)):
        raise DataError("ids, prompts, both systems' outputs and languages must have equal length")
    refs = list(references) if references is not None else [""] * n
    first = [PairItem(i, p, a, b, lang, r, "12")
             for i, p, a, b, lang, r in zip(ids, prompts, outputs_1, outputs_2, languages, refs, strict=True)]
    second = [PairItem(i, p, b, a, lang, r, "21")
              for i, p, a, b, lang, r in zip(ids, prompts, outputs_1, outputs_2, languages, refs, strict=True)]
    v12, v21 = judge.judge(first), judge.judge(second)
    for v in (*v12, *v21):
        if v not in VERDICTS:
            raise DataError(f"judge {getattr(judge, 'name', judge)!r} answered {v!r}; expected A, B or tie")
    return [PairOutcome(i, lang, a, b, combine_orders(a, b))
            for i, lang, a, b in zip(ids, languages, v12, v21, strict=True)]


def win_rates(outcomes: Sequence[PairOutcome], n_boot: int = 2000, seed: int = 0,
              confidence: float = 0.95) -> dict:
    """Win/tie/loss shares of system 1 with bootstrap intervals (items resampled, seeded)."""
    from neurips23.core.stats import bootstrap_ci

    if not outcomes:
        raise DataError("no judged pairs")
    res: dict = {"n": len(outcomes)}
    for kind in ("win", "tie", "loss"):
        flags = [o.outcome == kind for o in outcomes]
        est, lo, hi = bootstrap_ci(flags, lambda xs: sum(xs) / len(xs), n_boot, seed, confidence)
        res[kind] = est
        res[f"{kind}_ci"] = [lo, hi]
    return res


def position_bias(outcomes: Sequence[PairOutcome]) -> dict:
    """How the judge's answers depend on position: the share of its 2n answers that pick A, and
    the share of items where it picked the same position in both orders (so the content cannot
    have decided) versus the same system (consistent)."""
    n = len(outcomes)
    answers = [v for o in outcomes for v in (o.verdict_12, o.verdict_21)]
    decided = [v for v in answers if v != "tie"]
    same_pos = sum(o.verdict_12 == o.verdict_21 != "tie" for o in outcomes)
    consistent = sum(o.outcome in ("win", "loss") for o in outcomes)
    return {"n": n, "first_position_rate": (decided.count("A") / len(decided)) if decided else None,
            "same_position_share": same_pos / n if n else None,
            "consistent_share": consistent / n if n else None,
            "undecided_share": answers.count("tie") / len(answers) if answers else None}


def win_rates_by_group(outcomes: Sequence[PairOutcome], tiers: Mapping[str, str] | None = None,
                       n_boot: int = 2000, seed: int = 0) -> dict[str, dict]:
    """win_rates overall, per language and per resource tier ("tier:<name>")."""
    groups: dict[str, list[PairOutcome]] = {"all": list(outcomes)}
    for o in outcomes:
        groups.setdefault(o.language, []).append(o)
        groups.setdefault(f"tier:{tier_of(o.language, tiers)}", []).append(o)
    return {k: win_rates(v, n_boot, seed) for k, v in groups.items()}
