"""Every claim of `reproduce aya`, fed results where the talk's statement is false, true and
underpowered, with the rules exactly as the config declares them; plus the config's checks."""

import random
from dataclasses import fields

import pytest

from neurips23.config import load_config
from neurips23.core.claims import Rule
from neurips23.errors import ConfigError
from neurips23.multilingual.config import PROFILES, MultilingualConfig
from neurips23.multilingual.languages import tier_split
from neurips23.multilingual.reproduce import (
    confusion_claim,
    fidelity_gap_claim,
    position_claim,
    premium_claim,
    training_mix_claim,
)

CFG = MultilingualConfig()
LOW = ["swa", "yor", "tel"]


def _counts(n, factor, seed=0):
    """English token counts per item, and the low tier's at `factor` times English (with noise)."""
    rng = random.Random(seed)
    eng = [rng.randint(10, 30) for _ in range(n)]
    out = {"eng": eng}
    for lang in LOW:
        out[lang] = [max(1, round(e * factor * rng.uniform(0.9, 1.1))) for e in eng]
    return out


def test_every_rule_is_a_config_field_with_a_reason():
    rules = [f for f in fields(MultilingualConfig) if isinstance(getattr(CFG, f.name), Rule)]
    assert len(rules) == 5
    for f in rules:
        assert len(getattr(CFG, f.name).reason) > 40, f.name


HIGH = ["fra", "deu", "spa", "rus"]


def _tier_counts(high, low, n=60, seed=0):
    """Token counts with each language at its own premium over English (noise per item)."""
    rng = random.Random(seed)
    eng = [rng.randint(10, 30) for _ in range(n)]
    out = {"eng": eng}
    for lang, f in {**high, **low}.items():
        out[lang] = [max(1, round(e * f * rng.uniform(0.9, 1.1))) for e in eng]
    return out


@pytest.mark.parametrize("high, low, verdict", [
    ({"fra": 1.8, "deu": 2.0, "spa": 1.9, "rus": 2.2}, {"swa": 4.0, "yor": 4.5, "tel": 5.0},
     "reproduced"),
    # the low tier is no dearer than the high tier: both pay double, no disparity
    ({"fra": 2.0, "deu": 2.1, "spa": 1.9, "rus": 2.0}, {"swa": 1.2, "yor": 1.3, "tel": 1.25},
     "not reproduced"),
    # one expensive low language (Telugu) does not make a tier disparity
    ({"fra": 2.0, "deu": 2.1, "spa": 1.9, "rus": 3.5}, {"swa": 2.1, "yor": 2.5, "tel": 12.7},
     "inconclusive"),
    ({"fra": 1.8, "deu": 2.0}, {"swa": 4.0, "yor": 4.5}, "inconclusive"),  # < 3 languages a tier
])
def test_premium_claim_tests_the_disparity_per_language(high, low, verdict):
    c = premium_claim(_tier_counts(high, low), list(high), list(low), CFG.premium_rule, "tok")
    assert c.verdict == verdict, c.ours
    assert c.interval[0] <= c.estimate <= c.interval[1]


def test_a_premium_over_english_alone_is_not_a_disparity():
    # every non-English language pays 2x English, the "low" tier included: the old rule
    # (low-tier premium > 1.5) read "reproduced" here
    langs = {x: 2.0 for x in ("fra", "deu", "spa", "rus", "swa", "yor", "tel")}
    counts = _tier_counts(langs, {}, seed=3)
    c = premium_claim(counts, ["fra", "deu", "spa", "rus"], LOW, CFG.premium_rule)
    assert c.verdict != "reproduced"


def _mix(n, ratio, seed=0):
    rng = random.Random(seed)
    balanced = _counts(n, 1.2, seed)
    heavy = {"eng": [round(e * 0.9) for e in balanced["eng"]]}
    for lang in LOW:
        heavy[lang] = [max(1, round(c * 0.9 * ratio * rng.uniform(0.95, 1.05))) for c in balanced[lang]]
    return heavy, balanced


@pytest.mark.parametrize("ratio, n, vocab, verdict", [
    (1.5, 60, (1000, 1000), "reproduced"),
    (1.0, 60, (1000, 1000), "not reproduced"),
    (1.5, 5, (1000, 1000), "inconclusive"),
    (1.5, 60, (1000, 900), "inconclusive"),  # precondition: same vocabulary
])
def test_training_mix_claim(ratio, n, vocab, verdict):
    heavy, balanced = _mix(n, ratio)
    c = training_mix_claim(heavy, balanced, CFG.training_mix_rule, vocab, n_boot=300)
    assert c.verdict == verdict
    assert c.estimate == pytest.approx(ratio, rel=0.05)


@pytest.mark.parametrize("same, n, parsed, control, right, verdict", [
    (30, 48, 1.0, 0, 70, "reproduced"),
    (0, 48, 1.0, 0, 90, "not reproduced"),
    (6, 10, 1.0, 0, 15, "inconclusive"),      # fewer than min_n pairs
    (30, 48, 0.2, 0, 70, "inconclusive"),     # the judge rarely answered A or B
    (30, 48, 1.0, 3, 70, "inconclusive"),     # the control judge is itself position-driven
    (48, 48, 1.0, 0, 48, "inconclusive"),     # always "A": right in one order, wrong in the other
])
def test_position_claim(same, n, parsed, control, right, verdict):
    c = position_claim(same, n, parsed, control, CFG.position_rule, CFG.judge_min_parsed,
                       right, 2 * n, CFG.judge_min_reads)
    assert c.verdict == verdict


def test_a_constant_judge_is_not_evidence_of_position_bias():
    c = position_claim(48, 48, 1.0, 0, CFG.position_rule, CFG.judge_min_parsed, 48, 96,
                       CFG.judge_min_reads)
    assert c.verdict == "inconclusive" and "reads content" in c.ours


@pytest.mark.parametrize("fid, acc, eng, verdict", [
    ({"swa": 0.1, "yor": 0.05, "tel": 0.15}, 1.0, 1.0, "reproduced"),
    ({"swa": 0.9, "yor": 0.95, "tel": 0.85}, 1.0, 1.0, "not reproduced"),
    ({"swa": 0.1, "yor": 0.05}, 1.0, 1.0, "inconclusive"),     # fewer than min_n languages
    ({"swa": 0.1, "yor": 0.8, "tel": 0.3}, 1.0, 1.0, "inconclusive"),  # languages disagree
    ({"swa": 0.1, "yor": 0.05, "tel": 0.15}, 0.5, 1.0, "inconclusive"),  # detector fails
    ({"swa": 0.1, "yor": 0.05, "tel": 0.15}, 1.0, 0.3, "inconclusive"),  # no English either
])
def test_confusion_claim(fid, acc, eng, verdict):
    c = confusion_claim(fid, CFG.confusion_rule, acc, eng, CFG.detector_min_accuracy,
                        CFG.english_min_fidelity)
    assert c.verdict == verdict


def test_echo_answers_are_not_fidelity():
    """A model that copies the question back is 'in the asked language' without answering in
    it: with copies counted, confusion would read not reproduced; excluded, it reproduces."""
    from neurips23.multilingual.fidelity import FidelityItem, fidelity_summary

    items = []
    for lang in LOW:
        for k in range(24):  # 17 of 24 in the language, 13 of those copies of the question
            faithful = k < 17
            items.append(FidelityItem(target=lang, detected=lang if faithful else "eng",
                                      faithful=faithful, line_fidelity=None, reason="",
                                      echo=faithful and k < 13))
    summary = fidelity_summary(items)
    counted = {lang: summary[lang]["fidelity"] for lang in LOW}
    excluded = {lang: summary[lang]["faithful_not_echo"] for lang in LOW}
    args = (CFG.confusion_rule, 1.0, 1.0, CFG.detector_min_accuracy, CFG.english_min_fidelity)
    assert confusion_claim(counted, *args).verdict == "not reproduced"
    assert confusion_claim(excluded, *args).verdict == "reproduced"
    assert CFG.exclude_echoes


@pytest.mark.parametrize("high, low, verdict", [
    ({"fra": 0.9, "deu": 0.85, "spa": 0.95}, {"swa": 0.2, "yor": 0.1, "tel": 0.25}, "reproduced"),
    ({"fra": 0.2, "deu": 0.1, "spa": 0.25}, {"swa": 0.9, "yor": 0.85, "tel": 0.95},
     "not reproduced"),
    ({"fra": 0.9}, {"swa": 0.2}, "inconclusive"),
])
def test_fidelity_gap_claim(high, low, verdict):
    assert fidelity_gap_claim(high, low, CFG.fidelity_gap_rule).verdict == verdict


def test_no_gap_is_not_a_finding():
    c = fidelity_gap_claim({"fra": 0.5, "deu": 0.5, "spa": 0.5},
                           {"swa": 0.5, "yor": 0.5, "tel": 0.5}, CFG.fidelity_gap_rule)
    assert c.verdict != "reproduced"


def test_profiles_name_real_fields_and_quick_is_smaller():
    names = {f.name for f in fields(MultilingualConfig)}
    for prof in PROFILES.values():
        assert set(prof) <= names
    quick = load_config(MultilingualConfig, base=PROFILES["quick"])
    quick.validate()
    assert quick.n_questions * len(quick.fidelity_languages) < CFG.n_questions * len(CFG.fidelity_languages)
    high, low = tier_split(quick.fidelity_languages)
    assert high and low  # the gap claim has both tiers even in the pipeline check


@pytest.mark.parametrize("override, field", [
    ({"languages": ["fra", "klingon"]}, "languages"),
    ({"languages": ["fra", "yor"]}, "languages must include 'eng'"),
    ({"n_questions": 99}, "n_questions"),
    ({"folds": 1}, "folds"),
    ({"langid": "fasttext"}, "langid"),
])
def test_bad_config_is_one_clear_error(override, field):
    cfg = load_config(MultilingualConfig, base=override)
    with pytest.raises(ConfigError, match=field):
        cfg.validate()


class EnglishOnlyModel:
    """Answers every question in English and, as a judge, always picks position A."""

    name = "english-only"

    def __init__(self):
        from neurips23.lm.backends.base import Usage

        self.usage = Usage()

    def chat(self, conversations, n=1, **kw):
        self.usage.add(calls=len(conversations))
        return [["A"] if "Response A" in c[-1]["content"] else
                ["Clean water keeps people healthy because it carries no germs or poison."]
                for c in conversations]


def test_the_whole_run_catches_a_planted_english_only_model(tmp_path, monkeypatch):
    """End to end without a real model: the arms, the tables and the claims' wiring."""
    import neurips23.multilingual.reproduce as rep
    from neurips23.core.run import start_run

    loose = {"min_n": 2}
    cfg = load_config(MultilingualConfig, base={
        **PROFILES["quick"], "tokenizer": "bytes", "languages": ["eng", "fra", "yor"], "n_boot": 200,
        "bpe_vocab": 300, "judge_languages": ["fra"], "n_pairs": 6,
        "fidelity_languages": ["eng", "fra", "yor", "swa"]})
    for name in ("premium_rule", "training_mix_rule", "position_rule", "confusion_rule", "fidelity_gap_rule"):
        setattr(cfg, name, Rule(**{**vars(getattr(CFG, name)), **loose}))
    monkeypatch.setattr(rep, "_load_model", lambda cfg, run: EnglishOnlyModel())
    out = rep.run_multilingual(cfg, start_run("multilingual", cfg, tmp_path, "quick", finding=False))
    verdicts = {c.statistic.split(",")[0]: c.verdict for c in out.claims}
    assert verdicts["language fidelity excluding copies of the question"] == "reproduced"  # yor, swa: 0/4
    # the judge always says "A": it never read the pairs, so its "bias" is not a finding
    position = "share of pairs where the model judge chose the same position in both orders"
    assert verdicts[position] == "inconclusive"
    assert "reads content" in next(c.ours for c in out.claims if c.statistic == position)
    fid = {row["language"]: row for row in out.tables["language fidelity"]}
    assert fid["eng"]["fidelity"] == 1.0 and fid["yor"]["fidelity"] == 0.0
    assert fid["yor"]["answered instead in"].startswith("eng")
    assert out.metrics["fidelity"]["planted"]["recall"] == 1.0
    planted = out.metrics["fidelity"]["planted"]
    assert planted["false_flags"] <= 0.05 * planted["n"]  # lingua: "How do you cook rice?" reads und
    judges = {row["judge"]: row for row in out.tables["judges"]}
    assert judges["chrf"]["win (right translation)"] == 1.0 and judges["chrf"]["same position both orders"] == 0
