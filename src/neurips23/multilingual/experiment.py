"""The reproduction's three arms: tokenization cost, language fidelity, judges in both orders."""

from __future__ import annotations

import math

from neurips23.multilingual.config import MultilingualConfig
from neurips23.multilingual.fixtures import parallel_questions, parallel_sentences
from neurips23.multilingual.languages import language_name, tier_of, tier_split


def parallel_items(languages) -> dict[str, list[str]]:
    """The 36 sentences then the 24 questions, per language: 60 parallel items."""
    s, q = parallel_sentences(), parallel_questions()
    return {lang: s[lang] + q[lang] for lang in languages}


# ---------------------------------------------------------------------------------------------
# Arm 1: tokenization cost
# ---------------------------------------------------------------------------------------------

def cross_fitted_bpe(items: dict[str, list[str]], vocab: int, english_share: float,
                     folds: int) -> tuple[dict, dict, tuple[int, int]]:
    """Per-item token counts of an English-heavy and a balanced BPE, each item counted by the
    tokenizers trained on the other folds. English-heavy: every English training sentence
    repeated so that English makes up `english_share` of the corpus's sentences."""
    from neurips23.multilingual.cost import train_bpe

    langs = list(items)
    n = len(items["eng"])
    others = len(langs) - 1
    copies = max(1, round(english_share / (1 - english_share) * others))
    heavy = {lang: [0] * n for lang in langs}
    balanced = {lang: [0] * n for lang in langs}
    sizes = set()
    for f in range(folds):
        train = [i for i in range(n) if i % folds != f]
        test = [i for i in range(n) if i % folds == f]
        corpus_b = [items[lang][i] for lang in langs for i in train]
        corpus_h = [items["eng"][i] for i in train] * copies + [
            items[lang][i] for lang in langs if lang != "eng" for i in train]
        for corpus, out in ((corpus_h, heavy), (corpus_b, balanced)):
            tok = train_bpe(corpus, vocab)
            sizes.add(("heavy" if out is heavy else "balanced", tok.vocab_size))
            for lang in langs:
                for i, c in zip(test, tok.count([items[lang][i] for i in test]), strict=True):
                    out[lang][i] = c
    v = dict(sizes)
    return heavy, balanced, (v["heavy"], v["balanced"])


def cost_arm(cfg: MultilingualConfig, run) -> dict:
    """Token counts per item for the real tokenizer, UTF-8 bytes and the two BPEs; table + plot."""
    from neurips23.multilingual.cost import load_counter, parallel_cost, plot_premiums, premium_interval

    items = parallel_items(cfg.languages)
    run.log(f"tokenization cost: {len(items)} languages x {len(items['eng'])} parallel items")
    counts = {}
    tables = {}
    for spec in (cfg.tokenizer, "bytes"):
        table = parallel_cost(items, load_counter(spec))
        tables[spec] = table
        counts[spec] = {lang: row["per_sentence"] for lang, row in table.items()}
    run.log(f"training BPE tokenizers (vocab {cfg.bpe_vocab}, {cfg.folds} folds)")
    heavy, balanced, sizes = cross_fitted_bpe(items, cfg.bpe_vocab, cfg.english_share, cfg.folds)
    counts["bpe-english-heavy"], counts["bpe-balanced"] = heavy, balanced
    for name in ("bpe-english-heavy", "bpe-balanced"):
        base = sum(counts[name]["eng"])
        tables[name] = {lang: {"premium": sum(c) / base} for lang, c in counts[name].items()}
    rows = []
    for lang in items:
        est, lo, hi = premium_interval(counts[cfg.tokenizer][lang], counts[cfg.tokenizer]["eng"],
                                       cfg.n_boot, cfg.seed)
        fert = tables[cfg.tokenizer][lang]["fertility"]
        rows.append({"language": lang, "tier": tier_of(lang), "byte premium":
                     round(tables["bytes"][lang]["premium"], 2),
                     f"{cfg.tokenizer} premium": round(est, 2), "95% CI": f"[{lo:.2f}, {hi:.2f}]",
                     "fertility": round(fert, 2) if fert else "n/a (no spaces)",
                     "BPE English-heavy": round(tables["bpe-english-heavy"][lang]["premium"], 2),
                     "BPE balanced": round(tables["bpe-balanced"][lang]["premium"], 2)})
    run.save_plot(plot_premiums({k: tables[k] for k in (cfg.tokenizer, "bpe-english-heavy",
                                                          "bpe-balanced", "bytes")},
                                "Tokens per item relative to English (same content)"), "token_premium")
    summary = {name: {lang: round(t[lang]["premium"], 4) for lang in t} for name, t in tables.items()}
    return {"counts": counts, "vocab_sizes": sizes, "table": rows, "summary": summary}


# ---------------------------------------------------------------------------------------------
# Arm 2: language fidelity
# ---------------------------------------------------------------------------------------------

def detector_accuracy(languages, backend: str) -> dict[str, float]:
    """Share of the fixture's own 60 items per language that the detector labels correctly."""
    from neurips23.multilingual.fidelity import language_fidelity

    items = parallel_items(languages)
    out = {}
    for lang, texts in items.items():
        res = language_fidelity(texts, [lang] * len(texts), backend)
        out[lang] = sum(r.faithful for r in res) / len(res)
    return out


def planted_check(languages, backend: str) -> dict:
    """Outputs = the fixture's questions, every 4th swapped for another language's version: the
    fidelity check must flag those (recall) and only those (false flags)."""
    from neurips23.multilingual.fidelity import flagged, language_fidelity

    q = parallel_questions()
    outs, targets, planted = [], [], set()
    for lang in languages:
        for i, text in enumerate(q[lang]):
            if i % 4 == 0:
                planted.add(len(outs))
                text = q["fra" if lang == "eng" else "eng"][i]
            outs.append(text)
            targets.append(lang)
    got = set(flagged(language_fidelity(outs, targets, backend)))
    return {"planted": len(planted), "recall": len(got & planted) / len(planted),
            "false_flags": len(got - planted), "n": len(outs)}


def fidelity_arm(cfg: MultilingualConfig, run, model) -> dict:
    """Ask the model the same questions in every language; measure the language of each answer."""
    from neurips23.multilingual.evaluate import generate_outputs, plot_fidelity
    from neurips23.multilingual.fidelity import fidelity_summary, language_fidelity
    from neurips23.multilingual.records import Record

    q = parallel_questions()
    langs = list(cfg.fidelity_languages)
    recs = [Record(inputs=q[lang][i], targets="", language_code=lang, id=f"q{i + 1:02d}-{lang}")
            for lang in langs for i in range(cfg.n_questions)]
    run.log(f"fidelity: asking {cfg.model} {len(recs)} questions in {len(langs)} languages")
    outs = generate_outputs(model, recs, cfg.max_tokens, chat=True, batch_size=cfg.batch_size,
                            progress=lambda k, n: run.log(f"  {k}/{n} answers"))
    items = language_fidelity(outs, [r.language_code for r in recs], cfg.langid,
                              prompts=[r.inputs for r in recs])
    run.log_samples({"arm": "fidelity", "id": r.id, "language": r.language_code, "question": r.inputs,
                     "answer": o, "detected": it.detected, "faithful": it.faithful, "echo": it.echo}
                    for r, o, it in zip(recs, outs, items, strict=True))
    summary = fidelity_summary(items)
    acc = detector_accuracy(langs, cfg.langid)
    planted = planted_check(langs, cfg.langid)
    high, low = tier_split(langs)
    key = "faithful_not_echo" if cfg.exclude_echoes else "fidelity"
    table = [{"language": lang, "tier": tier_of(lang), "n": s["n"], "fidelity": round(s["fidelity"], 3),
              "95% CI": f"[{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]", "und": round(s["und"], 2),
              "copies the question": round(s["echo"], 2),
              "in language, not a copy": round(s["faithful_not_echo"], 2),
              "answered instead in": ", ".join(f"{k} {v}" for k, v in s["wrong_languages"].items()),
              "detector accuracy on fixture": round(acc[lang], 2)}
             for lang, s in summary.items() if not lang.startswith("tier:")]
    run.save_plot(plot_fidelity(summary, f"{cfg.model}: share of answers in the asked language"),
                  "language_fidelity")
    return {"summary": {"per_language": summary, "detector_accuracy": acc, "planted": planted},
            "table": table,
            "high_fidelity": {lang: summary[lang][key] for lang in high},
            "low_fidelity": {lang: summary[lang][key] for lang in low},
            "detector_accuracy": min((acc[lang] for lang in low), default=math.nan),
            "english_fidelity": summary["eng"]["fidelity"] if "eng" in summary else math.nan}


# ---------------------------------------------------------------------------------------------
# Arm 3: judges in both orders
# ---------------------------------------------------------------------------------------------

def judge_pairs_fixture(languages, n_pairs: int) -> dict[str, list[str]]:
    """Translation pairs from the parallel text: system 1 gives the right translation of item i,
    system 2 a fluent but wrong one (item i + 1); the reference is item i."""
    items = parallel_items(["eng", *languages])
    n = len(items["eng"])
    out: dict[str, list[str]] = {k: [] for k in ("ids", "prompts", "sys1", "sys2", "langs", "refs")}
    for lang in languages:
        for i in range(n_pairs):
            out["ids"].append(f"{lang}-{i + 1:02d}")
            out["prompts"].append(f"Translate into {language_name(lang)}: {items['eng'][i]}")
            out["sys1"].append(items[lang][i])
            out["sys2"].append(items[lang][(i + 1) % n])
            out["langs"].append(lang)
            out["refs"].append(items[lang][i])
    return out


def judge_arm(cfg: MultilingualConfig, run, model) -> dict:
    """The model judge and the chrF judge on the same pairs, both orders each."""
    from neurips23.multilingual.winrate import ChrFJudge, ModelJudge, judge_pairs, position_bias, win_rates

    p = judge_pairs_fixture(cfg.judge_languages, cfg.n_pairs)
    n = len(p["ids"])
    run.log(f"judges: {n} pairs x 2 orders")
    judges = {"model": ModelJudge(model, max_tokens=8, name=f"model ({cfg.model})"),
              "chrf": ChrFJudge(langid_backend=cfg.langid)}
    res, table = {}, []
    for key, judge in judges.items():
        outcomes = judge_pairs(p["ids"], p["prompts"], p["sys1"], p["sys2"], p["langs"], judge, p["refs"])
        wr, pb = win_rates(outcomes, cfg.n_boot, cfg.seed), position_bias(outcomes)
        res[key] = {"same_position": sum(o.verdict_12 == o.verdict_21 != "tie" for o in outcomes),
                    "picks_right": sum((o.verdict_12 == "A") + (o.verdict_21 == "B")
                                       for o in outcomes),
                    "win_rates": wr, "position": pb}
        table.append({"judge": judge.name, "pairs": n, "win (right translation)": round(wr["win"], 3),
                      "tie": round(wr["tie"], 3), "loss": round(wr["loss"], 3),
                      "picks position A": _r(pb["first_position_rate"]),
                      "same position both orders": _r(pb["same_position_share"]),
                      "consistent": _r(pb["consistent_share"])})
        if key == "model":
            run.log_samples({"arm": "judge", "id": o.id, "verdict_12": o.verdict_12,
                             "verdict_21": o.verdict_21, "outcome": o.outcome} for o in outcomes)
    parsed = 1 - judges["model"].unparsed / (2 * n)
    table[0]["answers naming A or B"] = round(parsed, 3)
    return {"n": n, "parsed_share": parsed, "model": res["model"], "chrf": res["chrf"],
            "table": table, "summary": {**res, "parsed_share": parsed,
                                        "raw_answers": judges["model"].raw[:20]}}


def _r(x):
    return round(x, 3) if x is not None else "n/a"

