"""Language fidelity on planted wrong-language outputs; win-rate identities and judges."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.errors import ConfigError, DataError
from neurips23.multilingual.fidelity import echoes, fidelity_summary, flagged, language_fidelity
from neurips23.multilingual.fixtures import parallel_sentences
from neurips23.multilingual.winrate import (
    ChrFJudge,
    FirstPositionJudge,
    HumanJudge,
    ModelJudge,
    PairItem,
    combine_orders,
    judge_pairs,
    parse_verdict,
    position_bias,
    win_rates,
    win_rates_by_group,
)

LANGS = ["eng", "fra", "deu", "spa", "rus", "ara", "hin", "swa", "yor", "tel", "zho", "jpn"]


def test_planted_wrong_language_outputs_are_flagged_exactly():
    par = parallel_sentences()
    rng = random.Random(3)
    outputs, targets, planted = [], [], []
    for lang in ["fra", "swa", "yor", "tel", "hin", "zho", "eng"]:
        for i in range(6):
            text = par[lang][i]
            if rng.random() < 0.35:
                wrong = rng.choice([x for x in ["eng", "fra", "spa", "swa", "hin"] if x != lang])
                text = par[wrong][i]
                planted.append(len(outputs))
            outputs.append(text)
            targets.append(lang)
    items = language_fidelity(outputs, targets, languages=LANGS)
    assert planted and flagged(items) == planted
    summary = fidelity_summary(items)
    assert summary["tier:low"]["n"] == 18 and 0 <= summary["yor"]["ci"][0] <= summary["yor"]["fidelity"]


def test_empty_and_mixed_outputs():
    par = parallel_sentences()
    mixed = par["fra"][0] + "\n" + par["eng"][1] + "\n" + par["fra"][2]
    items = language_fidelity(["", mixed], ["fra", "fra"], languages=LANGS)
    assert not items[0].faithful and items[0].detected == "und"
    assert items[1].line_fidelity == pytest.approx(2 / 3)


def test_echo_of_the_question_is_detected():
    q = "Kí nìdí tí ó fi ṣe pàtàkì láti mu omi mímọ́?"
    assert echoes("Kí nìdí tí ó fi ṣe pàtàkì láti mu", q)
    assert not echoes("Omi mímọ́ ṣe pàtàkì fún ìlera ara wa.", q)


def test_a_target_the_backend_cannot_recognise_is_an_error():
    with pytest.raises(ConfigError, match="cannot recognise yor"):
        language_fidelity(["Mo fẹ́ lọ sí ọjà lónìí."], ["yor"], backend="langid", languages=["eng", "yor"])


# --- win rates -----------------------------------------------------------------------------

class RandomJudge:
    name = "random"

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def judge(self, items):
        return [self.rng.choice(["A", "B", "tie"]) for _ in items]


class KeyedJudge:
    """Deterministic in the content: prefers the response with the larger hash of (id, text)."""

    name = "keyed"

    def judge(self, items):
        import hashlib

        def h(it, t):
            return hashlib.md5(f"{it.id}|{t}".encode()).hexdigest()
        return ["A" if h(it, it.response_a) > h(it, it.response_b) else "B" for it in items]


def _pairs(n, seed=0):
    rng = random.Random(seed)
    ids = [f"i{k}" for k in range(n)]
    langs = [rng.choice(["fra", "yor", "tel"]) for _ in range(n)]
    return ids, ["p"] * n, [f"a{rng.random()}" for _ in range(n)], [f"b{rng.random()}" for _ in range(n)], langs


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(0, 10_000))
def test_win_tie_loss_sum_to_one(n, seed):
    ids, prompts, a, b, langs = _pairs(n, seed)
    res = win_rates(judge_pairs(ids, prompts, a, b, langs, RandomJudge(seed)), n_boot=50, seed=seed)
    assert res["win"] + res["tie"] + res["loss"] == pytest.approx(1.0)
    for k in ("win", "tie", "loss"):
        assert res[f"{k}_ci"][0] <= res[k] <= res[f"{k}_ci"][1]


def test_swapping_systems_mirrors_and_same_seed_same_ci():
    ids, prompts, a, b, langs = _pairs(50, 1)
    ab = win_rates(judge_pairs(ids, prompts, a, b, langs, KeyedJudge()), n_boot=500, seed=7)
    ba = win_rates(judge_pairs(ids, prompts, b, a, langs, KeyedJudge()), n_boot=500, seed=7)
    assert (ab["win"], ab["loss"], ab["tie"]) == (ba["loss"], ba["win"], ba["tie"])
    assert ab["win_ci"] == ba["loss_ci"]
    again = win_rates(judge_pairs(ids, prompts, a, b, langs, KeyedJudge()), n_boot=500, seed=7)
    assert again == ab


def test_always_first_position_judge_gives_all_ties():
    ids, prompts, a, b, langs = _pairs(30)
    outcomes = judge_pairs(ids, prompts, a, b, langs, FirstPositionJudge())
    assert win_rates(outcomes, n_boot=100)["tie"] == 1.0
    pb = position_bias(outcomes)
    assert pb["first_position_rate"] == 1.0 and pb["same_position_share"] == 1.0
    groups = win_rates_by_group(outcomes, n_boot=50)
    assert {"all", "fra", "tier:low"} <= set(groups) and groups["tier:low"]["tie"] == 1.0


def test_combine_orders_table():
    assert combine_orders("A", "B") == "win" and combine_orders("B", "A") == "loss"
    assert {combine_orders(x, y) for x, y in [("A", "A"), ("B", "B"), ("tie", "A"), ("A", "tie"),
                                               ("tie", "tie")]} == {"tie"}


def test_chrf_judge_prefers_the_reference_and_rejects_wrong_language():
    par = parallel_sentences()
    ids = [f"s{i}" for i in range(6)]
    right = par["fra"][:6]
    wrong_content = par["fra"][1:7]
    wrong_language = par["eng"][:6]
    judge = ChrFJudge(langid_backend="lingua")
    res = win_rates(judge_pairs(ids, ["p"] * 6, right, wrong_content, ["fra"] * 6, judge, right), n_boot=50)
    assert res["win"] == 1.0
    # English copies of the source share words (names, numbers) but are not French: chrF 0
    res = win_rates(judge_pairs(ids, ["p"] * 6, wrong_content, wrong_language, ["fra"] * 6, judge, right),
                    n_boot=50)
    assert res["win"] == 1.0
    with pytest.raises(DataError, match="needs a reference"):
        judge.judge([PairItem("x", "p", "a", "b", "fra")])


def test_parse_verdict():
    cases = {"A": "A", "**B**": "B", "A: The answer is B.": "B", "Response B is better.": "B",
             "B. B. B.": "B", "A is the better choice": "A", "Le marché": None, "": None,
             "Answer: A": "A", "Both are fine": None}
    assert {k: parse_verdict(k) for k in cases} == cases


class FakeChatModel:
    """A LanguageModel stand-in that answers from a function of the prompt."""

    name = "fake"

    def __init__(self, answer):
        from neurips23.lm.backends.base import Usage

        self.answer, self.usage, self.prompts = answer, Usage(), []

    def chat(self, conversations, n=1, temperature=0.0, max_tokens=64, stop=(), seed=None):
        self.prompts += [c[-1]["content"] for c in conversations]
        return [[self.answer(c[-1]["content"])] for c in conversations]

    def generate(self, prompts, **kw):
        return [[self.answer(p)] for p in prompts]


def test_model_judge_reads_the_prompt_and_counts_unparsed_answers():
    model = FakeChatModel(lambda p: "Response A" if "Response A:\nright" in p else "hmm")
    judge = ModelJudge(model)
    outcomes = judge_pairs(["1", "2"], ["q", "q"], ["right", "right"], ["wrong", "wrong"], ["eng", "eng"], judge)
    # order 12: A is "right" -> A; order 21: A is "wrong" -> unparsed -> tie: a tie overall
    assert [o.outcome for o in outcomes] == ["tie", "tie"] and judge.unparsed == 2
    assert "Which response is better?" in model.prompts[0] and "English" in model.prompts[0]


def test_human_judge_needs_both_orders(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("id,order,verdict\n1,12,A\n1,21,B\n2,12,B\n")
    judge = HumanJudge(f)
    with pytest.raises(DataError, match="no verdict for item '2' in order 21"):
        judge_pairs(["1", "2"], ["q", "q"], ["x", "y"], ["z", "w"], ["eng", "eng"], judge)
    assert judge_pairs(["1"], ["q"], ["x"], ["z"], ["eng"], judge)[0].outcome == "win"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,order,verdict\n1,12,C\n")
    with pytest.raises(DataError, match=r"bad.csv:2: verdict 'C'"):
        HumanJudge(bad)
    bad.write_text("id,verdict\n1,A\n")
    with pytest.raises(DataError, match="missing column"):
        HumanJudge(bad)
