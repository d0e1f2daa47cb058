"""Each probe's rule on synthetic measurements: the finding holds, fails, is underpowered, and a
broken pipeline (a constant model) that must not read "this model shows it".

The expected verdicts follow from the rules in the budget config worked by hand: a Wilson or
bootstrap interval wholly on the finding's side, wholly on the other side, or straddling it."""

from __future__ import annotations

import random

import pytest

from neurips23.probe import editing, mirage, multilingual, planning, toolformer, tot
from neurips23.probe.base import card_verdict
from neurips23.probe.config import (
    EditingBudget,
    MirageBudget,
    MultilingualBudget,
    PlanningBudget,
    ToolformerBudget,
    TotBudget,
)

SHOWS, NOT, UNSURE = "reproduced", "not reproduced", "inconclusive"


def verdicts(result) -> list[str]:
    return [c["verdict"] for c in result.claims]


def test_card_words():
    assert card_verdict(SHOWS) == "this model shows it"
    assert card_verdict(NOT) == "this model does not show it"
    assert card_verdict(UNSURE) == "inconclusive"


# ------------------------------------------------------------------ planning


def plan_data(bw, obf, formatted=None):
    return {"blocksworld": bw, "formatted": formatted if formatted is not None else [True] * len(bw),
            "obfuscated": {"mystery_blocksworld": obf}}


def test_planning_poor_planner_with_collapse_shows_it():
    bw = [True] * 5 + [False] * 15           # 25% valid: Wilson [0.11, 0.47] < 0.5
    obf = [False] * 20                       # d = -0.5 on solved problems, 0 elsewhere
    r = planning.decide(plan_data(bw, obf), PlanningBudget())
    assert verdicts(r) == [SHOWS, SHOWS] and r.verdict == SHOWS


def test_planning_good_planner_without_collapse_does_not():
    bw = [True] * 19 + [False]               # 95%: Wilson lower bound 0.76 > 0.5
    r = planning.decide(plan_data(bw, list(bw)), PlanningBudget())
    assert verdicts(r) == [NOT, NOT] and r.verdict == NOT


def test_planning_underpowered_is_inconclusive():
    r = planning.decide(plan_data([False, False], [False, False]), PlanningBudget())
    assert r.verdict == UNSURE               # n = 2 < min_n = 5


def test_planning_constant_model_does_not_read_shows_it():
    # a model that writes nothing: 0% valid, but no output has a plan in it
    r = planning.decide(plan_data([False] * 20, [False] * 20, [False] * 20), PlanningBudget())
    assert verdicts(r) == [UNSURE, UNSURE]
    assert "precondition not met" in r.claims[0]["ours"]


# ------------------------------------------------------------------ tot


def test_tot_search_beats_sampling():
    r = tot.decide({"tot": [True] * 6, "cot": [0.0] * 6}, TotBudget())
    assert r.verdict == SHOWS


def test_tot_sampling_beats_search():
    r = tot.decide({"tot": [False] * 6, "cot": [1.0] * 6}, TotBudget())
    assert r.verdict == NOT


def test_tot_underpowered():
    r = tot.decide({"tot": [True, True], "cot": [0.0, 0.0]}, TotBudget())
    assert r.verdict == UNSURE               # n = 2 < min_n = 3


def test_tot_constant_model_solves_nothing():
    r = tot.decide({"tot": [False] * 6, "cot": [0.0] * 6}, TotBudget())
    assert r.verdict == UNSURE and "precondition not met" in r.claims[0]["ours"]


# ------------------------------------------------------------------ mirage

ANSWERS = [str(d) * 4 for d in range(1, 10)] + ["0000"]   # "1111", ..., "9999", "0000"


def test_mirage_near_misses_are_above_chance():
    preds = [a[:3] + str((int(a[3]) + 1) % 10) for a in ANSWERS]   # 3 of 4 digits right
    r = mirage.decide({"predictions": preds, "answers": ANSWERS}, MirageBudget())
    # own: 0.75; against another answer only the changed digit can match: mean 0.25/9
    assert r.metrics["gain_over_chance"] == pytest.approx(0.75 - 0.25 / 9)
    assert r.verdict == SHOWS and r.metrics["exact_match"] == 0


def test_mirage_answers_of_other_problems_are_below_chance():
    preds = [ANSWERS[(i + 1) % 10] for i in range(10)]   # each the next problem's answer
    r = mirage.decide({"predictions": preds, "answers": ANSWERS}, MirageBudget())
    assert r.metrics["gain_over_chance"] == pytest.approx(0 - 1 / 9)
    assert r.verdict == NOT


def test_mirage_underpowered():
    preds = [a[:3] + "x" for a in ANSWERS[:4]]
    r = mirage.decide({"predictions": preds, "answers": ANSWERS[:4]}, MirageBudget())
    assert r.verdict == UNSURE               # n = 4 < min_n = 10


def test_mirage_exact_match_high_is_outside_the_papers_regime():
    r = mirage.decide({"predictions": list(ANSWERS), "answers": ANSWERS}, MirageBudget())
    assert r.verdict == UNSURE and "exact match is near 0" in r.claims[0]["ours"]


def test_mirage_constant_output_sits_exactly_at_chance():
    # sum_i [own_i - (S - own_i)/(n-1)] / n = S/n - S/n = 0 for any constant output
    rng = random.Random(0)
    answers = ["".join(rng.choice("0123456789") for _ in range(4)) for _ in range(30)]
    r = mirage.decide({"predictions": ["1234"] * 30, "answers": answers}, MirageBudget())
    assert r.metrics["gain_over_chance"] == pytest.approx(0.0, abs=1e-12)
    assert r.verdict != SHOWS


# ------------------------------------------------------------------ multilingual

LANGS = ["eng", "fra", "swa"]


def fid_data(faithful: dict[str, list[bool]], tokens: dict[str, list[int]] | None = None):
    rows = [{"id": f"q{i:02d}", "language": lang, "faithful": ok, "detected": lang}
            for lang, oks in faithful.items() for i, ok in enumerate(oks)]
    return {"fidelity": rows, "tokens": tokens or {lang: [10] * 6 for lang in LANGS}}


def mb(**kw) -> MultilingualBudget:
    return MultilingualBudget(languages=LANGS, n_boot=500, **kw)


def test_multilingual_drift_and_premium_show_it():
    d = fid_data({"eng": [True] * 6, "fra": [True] * 6, "swa": [False] * 6},
                 {"eng": [10] * 6, "fra": [12] * 6, "swa": [20, 22, 19, 21, 20, 20]})
    r = multilingual.decide(d, mb())
    assert verdicts(r) == [SHOWS, SHOWS]


def test_multilingual_low_resource_kept_and_cheaper_does_not():
    d = fid_data({"eng": [True] * 6, "fra": [False] * 6, "swa": [True] * 6},
                 {"eng": [10] * 6, "fra": [10] * 6, "swa": [5] * 6})
    r = multilingual.decide(d, mb())
    assert verdicts(r) == [NOT, NOT]


def test_multilingual_underpowered():
    d = fid_data({"eng": [True] * 2, "fra": [True] * 2, "swa": [False] * 2},
                 {"eng": [10] * 2, "fra": [10] * 2, "swa": [20] * 2})
    assert verdicts(multilingual.decide(d, mb())) == [UNSURE, UNSURE]   # 2 < min_n 3 and 5


def test_multilingual_empty_answers_do_not_read_shows_it():
    d = fid_data({"eng": [False] * 6, "fra": [False] * 6, "swa": [False] * 6})
    r = multilingual.decide(d, mb())
    assert r.claims[0]["verdict"] == UNSURE and "English in English" in r.claims[0]["ours"]


# ------------------------------------------------------------------ toolformer


def tf_data(with_tool, without, called):
    return {"with_tool": with_tool, "without": without, "called": called}


def test_toolformer_calls_help():
    assert toolformer.decide(tf_data([True] * 8, [False] * 8, [True] * 8),
                             ToolformerBudget()).verdict == SHOWS


def test_toolformer_calls_hurt():
    assert toolformer.decide(tf_data([False] * 8, [True] * 8, [True] * 8),
                             ToolformerBudget()).verdict == NOT


def test_toolformer_underpowered():
    assert toolformer.decide(tf_data([True] * 3, [False] * 3, [True] * 3),
                             ToolformerBudget()).verdict == UNSURE


def test_toolformer_model_that_never_calls_is_inconclusive():
    r = toolformer.decide(tf_data([False] * 8, [False] * 8, [False] * 8), ToolformerBudget())
    assert r.verdict == UNSURE and "calculator call (0/8)" in r.claims[0]["ours"]


# ------------------------------------------------------------------ editing


def fact_rows(n, lands, moved=True):
    return {"facts": [{"p_new before": 0.01, "p_true before": 0.8,
                       "p_new after": (0.9 if lands else 0.05) if moved else 0.01,
                       "p_true after": 0.1 if lands else 0.7, "peak layer": 3}
                      for _ in range(n)]}


def test_editing_edits_land():
    assert editing.decide(fact_rows(10, True), EditingBudget()).verdict == SHOWS   # [0.72, 1]


def test_editing_edits_do_not_land():
    assert editing.decide(fact_rows(10, False), EditingBudget()).verdict == NOT    # [0, 0.28]


def test_editing_underpowered():
    assert editing.decide(fact_rows(2, True), EditingBudget()).verdict == UNSURE   # [0.34, 1]


def test_editing_no_edit_effect_or_no_known_fact_is_inconclusive():
    assert editing.decide(fact_rows(10, False, moved=False), EditingBudget()).verdict == UNSURE
    assert editing.decide({"facts": []}, EditingBudget()).verdict == UNSURE


def test_editing_does_not_apply_to_an_endpoint():
    from neurips23.probe.subject import Subject

    reason = editing.applies(Subject(lm=None, label="x", backend="openai", fingerprint="e"))
    assert reason and "needs weights" in reason


def test_editing_peak_layer_skips_undefined_effects():
    nan = float("nan")
    assert editing.peak_layer({0: 0.1, 6: 0.7, 12: nan}, [0, 6, 12]) == 6
    assert editing.peak_layer({0: nan, 6: nan, 12: nan}, [0, 6, 12]) == 6   # the middle one
