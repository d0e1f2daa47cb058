"""Multilingual probe (Aya; language confusion): does this model answer in the language it is
asked in, less so in low-resource languages, and what does the same content cost in its tokens
per language?

Measurement: the multilingual package's parallel questions, language identification and
fidelity (`multilingual.fidelity.language_fidelity`), and its cost code (`parallel_cost`,
`premium_interval`) over the tokens the model bills for each parallel sentence (the prompt
tokens the backend reports, so an endpoint is costed by its own tokenizer). Fidelity needs chat
only, so any backend applies; the token cost needs text completions and reads "not measured" on
a chat-only endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from neurips23.core.claims import measured_claim
from neurips23.core.stats import bootstrap_ci
from neurips23.probe.base import ProbeResult, measured
from neurips23.probe.config import MultilingualBudget

NAME = "multilingual"
VERSION = "2"
FINDING = ("Models drift out of low-resource languages and charge them more tokens for the same "
           "content (Aya §7; Marchisio et al. 2024; Petrov et al. 2023)")


def applies(subject) -> str | None:
    """Chat and completions only: every backend applies."""
    return None


def billed_counter(lm):
    """A `multilingual.cost.TokenCounter` counting the prompt tokens the backend bills per text
    (one call per text, one generated token)."""
    from neurips23.multilingual.cost import TokenCounter

    def count(texts):
        out = []
        for t in texts:
            before = lm.usage.prompt_tokens
            lm.generate([t], max_tokens=1, temperature=0.0)
            out.append(int(lm.usage.prompt_tokens - before))
        return out

    return TokenCounter(f"billed:{getattr(lm, 'name', 'model')}", count)


def measure(subject, b: MultilingualBudget, log: Callable[[str], None]) -> dict:
    """Fidelity per (question, language) and billed tokens per (sentence, language)."""
    from neurips23.multilingual.cost import parallel_cost
    from neurips23.multilingual.evaluate import generate_outputs
    from neurips23.multilingual.fidelity import language_fidelity
    from neurips23.multilingual.fixtures import parallel_questions, parallel_sentences
    from neurips23.multilingual.records import Record

    q = parallel_questions()
    recs = [Record(inputs=q[lang][i], targets="", language_code=lang, id=f"q{i + 1:02d}")
            for lang in b.languages for i in range(b.questions)]
    log(f"multilingual: {len(recs)} questions in {len(b.languages)} languages")
    outs = generate_outputs(subject.lm, recs, b.max_tokens, chat=True)
    items = language_fidelity(outs, [r.language_code for r in recs], b.langid,
                              prompts=[r.inputs for r in recs])
    tokens = None
    if subject.completions:  # billed prompt tokens; a chat reply's count includes its template
        log(f"multilingual: billed tokens of {b.cost_items} parallel sentences per language")
        s = parallel_sentences()
        cost = parallel_cost({lang: s[lang][:b.cost_items] for lang in b.languages},
                             billed_counter(subject.lm))
        tokens = {lang: row["per_sentence"] for lang, row in cost.items()}
    return {"fidelity": [{"id": r.id, "language": r.language_code, "faithful": it.faithful,
                          "detected": it.detected, "answer": o[:120]}
                         for r, it, o in zip(recs, items, outs, strict=True)],
            "tokens": tokens}


def decide(data: dict, b: MultilingualBudget) -> ProbeResult:
    """The fidelity gap (high minus low tier, per question, bootstrap) and the low tier's token
    premium over English (bootstrap over sentences)."""
    from neurips23.multilingual.cost import premium_interval
    from neurips23.multilingual.languages import tier_split

    high, low = tier_split(b.languages)
    by = {(r["language"], r["id"]): bool(r["faithful"]) for r in data["fidelity"]}
    ids = sorted({r["id"] for r in data["fidelity"]})
    eng = [by[("eng", i)] for i in ids if ("eng", i) in by]
    eng_rate = sum(eng) / len(eng) if eng else math.nan
    english = (f"it answers English in English ({eng_rate:.0%}, need "
               f"{b.english_min_fidelity:.0%}): the detector and the outputs work",
               bool(eng) and eng_rate >= b.english_min_fidelity)
    tiers = (f"the languages include a non-English high-resource one ({', '.join(high) or 'none'}) "
             f"and a low-resource one ({', '.join(low) or 'none'})", bool(high and low))
    per_q = [sum(by[(h, i)] for h in high) / len(high) - sum(by[(lw, i)] for lw in low) / len(low)
             for i in ids] if high and low else []
    est, lo, hi = bootstrap_ci(per_q, lambda xs: sum(xs) / len(xs), b.n_boot, b.seed,
                               b.fidelity_gap.confidence)
    claims = [measured_claim(FINDING, "fidelity(high-resource) - fidelity(low-resource), per "
                             "question", est, (lo, hi), b.fidelity_gap, n=len(per_q),
                             preconditions=[english, tiers])]
    tokens = data["tokens"] or {}
    premiums = {lang: premium_interval(tokens[lang], tokens["eng"], b.n_boot, b.seed)
                for lang in tokens if lang != "eng"}
    if low and "eng" in tokens:
        pooled = [sum(tokens[lw][k] for lw in low) / len(low) for k in range(len(tokens["eng"]))]
        pe, plo, phi = premium_interval(pooled, tokens["eng"], b.n_boot, b.seed,
                                        b.premium.confidence)
        claims.append(measured_claim(FINDING, f"token premium of {'/'.join(low)} over English",
                                     pe, (plo, phi), b.premium, n=len(pooled)))
    fid = {lang: sum(by[(lang, i)] for i in ids if (lang, i) in by) / max(1, len(ids))
           for lang in b.languages}
    unmeasured = "not measured: needs text completions (this endpoint answers chat only)"

    def premium_text(lang: str) -> str:
        if lang not in premiums:
            return "1 (pivot)" if lang == "eng" and tokens else unmeasured
        est_, lo_, hi_ = premiums[lang]
        return f"{est_:.2f} [{lo_:.2f}, {hi_:.2f}]"

    rows = [{"language": lang, "fidelity": round(fid[lang], 3), "token premium": premium_text(lang)}
            for lang in b.languages]
    metrics = {"fidelity": fid,
               "premium": {k: v[0] for k, v in premiums.items()} if tokens else unmeasured}
    return measured(NAME, FINDING, claims, metrics, rows)


def run(subject, b: MultilingualBudget, log: Callable[[str], None]) -> ProbeResult:
    """Measure, then decide."""
    return decide(measure(subject, b, log), b)
