"""Language fidelity: does a model answer in the language it was asked in?

An output is faithful when the language detector assigns it the target language (up to
macrolanguage); `und` (empty, too short, unsure) is not faithful. Line fidelity is the share of
an output's lines long enough to judge that are in the target language, which catches answers
that switch language half-way (Marchisio et al. 2024's line-level language confusion).
Per language and per resource tier, fidelity comes with a Wilson interval over outputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from neurips23.multilingual.languages import UND, macro, same_language, tier_of


@dataclass(frozen=True)
class FidelityItem:
    """One output: its target language, what the detector said, and the line-level share."""

    target: str
    detected: str
    faithful: bool
    line_fidelity: float | None
    reason: str = ""
    echo: bool | None = None


def detection_candidates(targets: Sequence[str], backend: str) -> list[str] | None:
    """The candidate set: the backend's default set plus every target language."""
    from neurips23.multilingual.langid import DEFAULT_LANGUAGES

    if backend != "lingua":
        return None
    return sorted({macro(t) for t in targets} | set(DEFAULT_LANGUAGES))


def echoes(output: str, prompt: str, threshold: float = 0.5) -> bool:
    """True when most of the output's character 5-grams come from the prompt (a copy, not an
    answer): a copied question is "in the right language" without answering it."""
    from neurips23.multilingual.dedup import shingles

    out = shingles(output)
    return bool(out) and len(out & shingles(prompt)) / len(out) >= threshold


def language_fidelity(outputs: Sequence[str], targets: Sequence[str], backend: str = "lingua",
                      languages: Sequence[str] | None = None, min_confidence: float | None = None,
                      min_letters: int | None = None,
                      prompts: Sequence[str] | None = None) -> list[FidelityItem]:
    """A FidelityItem per (output, target language); a target the backend cannot recognise is a
    ConfigError, not a silent miss. With `prompts`, each item also says whether it echoes its
    prompt."""
    from neurips23.errors import DataError
    from neurips23.multilingual.langid import DEFAULT_MIN_LETTERS, detect_many

    if len(outputs) != len(targets):
        raise DataError(f"{len(outputs)} outputs but {len(targets)} target languages")
    cands = list(languages) if languages else detection_candidates(targets, backend)
    kw = {"min_confidence": min_confidence,
          "min_letters": DEFAULT_MIN_LETTERS if min_letters is None else min_letters}
    whole = detect_many(list(outputs), backend, cands, **kw)
    lines = [[ln for ln in o.split("\n") if ln.strip()] for o in outputs]
    flat = [ln for ls in lines for ln in ls]
    line_det = iter(detect_many(flat, backend, cands, **kw)) if flat else iter(())
    items = []
    for k, (out_lines, d, tgt) in enumerate(zip(lines, whole, targets, strict=True)):
        judged = [x for x in (next(line_det) for _ in out_lines) if x.language != UND]
        share = (sum(same_language(x.language, tgt) for x in judged) / len(judged)) if judged else None
        echo = echoes(outputs[k], prompts[k]) if prompts is not None else None
        items.append(FidelityItem(macro(tgt), d.language, same_language(d.language, tgt), share,
                                  d.reason, echo))
    return items


def fidelity_summary(items: Sequence[FidelityItem], tiers: Mapping[str, str] | None = None,
                     confidence: float = 0.95) -> dict[str, dict]:
    """Per target language and per tier ("tier:<name>"): n, fidelity with a Wilson interval,
    share detected `und`, and the most common wrong languages."""
    from neurips23.core.stats import wilson_interval

    groups: dict[str, list[FidelityItem]] = {}
    for it in items:
        groups.setdefault(it.target, []).append(it)
        groups.setdefault(f"tier:{tier_of(it.target, tiers)}", []).append(it)
    out = {}
    for key in sorted(groups, key=lambda k: (k.startswith("tier:"), k)):
        g = groups[key]
        k = sum(it.faithful for it in g)
        lo, hi = wilson_interval(k, len(g), confidence)
        wrong = Counter(it.detected for it in g if not it.faithful and it.detected != UND)
        lines = [it.line_fidelity for it in g if it.line_fidelity is not None]
        echo = [it for it in g if it.echo is not None]
        out[key] = {"n": len(g), "faithful": k, "fidelity": k / len(g), "ci": [lo, hi],
                    "und": sum(it.detected == UND for it in g) / len(g),
                    "line_fidelity": sum(lines) / len(lines) if lines else None,
                    "wrong_languages": dict(wrong.most_common(3)),
                    "echo": sum(bool(it.echo) for it in echo) / len(echo) if echo else None,
                    "faithful_not_echo": (sum(it.faithful and not it.echo for it in echo) / len(echo)
                                          if echo else None)}
    return out


def flagged(items: Sequence[FidelityItem]) -> list[int]:
    """Indices of the outputs that are not in their target language."""
    return [i for i, it in enumerate(items) if not it.faithful]


def items_as_dicts(items: Sequence[FidelityItem]) -> list[dict]:
    return [asdict(it) for it in items]
