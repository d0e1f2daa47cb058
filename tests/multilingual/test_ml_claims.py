"""Every claim of `reproduce aya`, fed results where the talk's statement is false, true and
underpowered, with the rules exactly as the config declares them; plus the config's checks."""

import random
from dataclasses import fields

import pytest

from neurips23.config import load_config
from neurips23.core.claims import Rule
from neurips23.errors import ConfigError
from neurips23.multilingual.experiment import validate
from neurips23.multilingual.reproduce import (
    PROFILES,
    MultilingualConfig,
    confusion_claim,
    fidelity_gap_claim,
    position_claim,
    premium_claim,
    tier_split,
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


@pytest.mark.parametrize("factor, n, verdict", [(3.0, 60, "reproduced"), (1.0, 60, "not reproduced"),
                                                 (3.0, 6, "inconclusive")])
def test_premium_claim(factor, n, verdict):
    c = premium_claim(_counts(n, factor), LOW, CFG.premium_rule, "tok", n_boot=300)
    assert c.verdict == verdict and c.n == n
    assert c.interval[0] <= c.estimate <= c.interval[1]


def test_premium_claim_near_the_threshold_is_inconclusive():
    assert premium_claim(_counts(12, 1.5, 1), LOW, CFG.premium_rule, n_boot=300).verdict == "inconclusive"


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


@pytest.mark.parametrize("same, n, parsed, control, verdict", [
    (30, 48, 1.0, 0, "reproduced"),
    (0, 48, 1.0, 0, "not reproduced"),
    (6, 10, 1.0, 0, "inconclusive"),      # fewer than min_n pairs
    (30, 48, 0.2, 0, "inconclusive"),     # the judge rarely answered A or B
    (30, 48, 1.0, 3, "inconclusive"),     # the control judge is itself position-driven
])
def test_position_claim(same, n, parsed, control, verdict):
    c = position_claim(same, n, parsed, control, CFG.position_rule, CFG.judge_min_parsed)
    assert c.verdict == verdict


@pytest.mark.parametrize("faithful, n, acc, eng, verdict", [
    (6, 72, 1.0, 1.0, "reproduced"),
    (66, 72, 1.0, 1.0, "not reproduced"),
    (1, 8, 1.0, 1.0, "inconclusive"),     # fewer than min_n answers
    (6, 72, 0.5, 1.0, "inconclusive"),    # the detector cannot read the language
    (6, 72, 1.0, 0.3, "inconclusive"),    # the model does not even answer English in English
])
def test_confusion_claim(faithful, n, acc, eng, verdict):
    c = confusion_claim(faithful, n, CFG.confusion_rule, acc, eng, CFG.detector_min_accuracy,
                        CFG.english_min_fidelity, LOW)
    assert c.verdict == verdict


@pytest.mark.parametrize("high, low, n, verdict", [
    (0.9, 0.2, 24, "reproduced"),
    (0.2, 0.9, 24, "not reproduced"),
    (0.9, 0.2, 4, "inconclusive"),
])
def test_fidelity_gap_claim(high, low, n, verdict):
    rng = random.Random(5)
    per_q = [(min(1, max(0, high + rng.uniform(-0.1, 0.1))), min(1, max(0, low + rng.uniform(-0.1, 0.1))))
             for _ in range(n)]
    assert fidelity_gap_claim(per_q, CFG.fidelity_gap_rule, n_boot=300).verdict == verdict


def test_no_gap_is_not_a_finding():
    c = fidelity_gap_claim([(0.5, 0.5)] * 24, CFG.fidelity_gap_rule, n_boot=300)
    assert c.verdict != "reproduced"


def test_profiles_name_real_fields_and_quick_is_smaller():
    names = {f.name for f in fields(MultilingualConfig)}
    for prof in PROFILES.values():
        assert set(prof) <= names
    quick = load_config(MultilingualConfig, base=PROFILES["quick"])
    validate(quick)
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
        validate(cfg)


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
    from neurips23.report.records import start_run

    loose = {"min_n": 2}
    cfg = load_config(MultilingualConfig, base={
        **PROFILES["quick"], "tokenizer": "bytes", "languages": ["eng", "fra", "yor"], "n_boot": 200,
        "bpe_vocab": 300, "judge_languages": ["fra"], "n_pairs": 6})
    for name in ("premium_rule", "training_mix_rule", "position_rule", "confusion_rule", "fidelity_gap_rule"):
        setattr(cfg, name, Rule(**{**vars(getattr(CFG, name)), **loose}))
    monkeypatch.setattr(rep, "_load_model", lambda cfg, run: EnglishOnlyModel())
    out = rep.run_multilingual(cfg, start_run("multilingual", cfg, tmp_path, "quick", finding=False))
    verdicts = {c.statistic.split(",")[0]: c.verdict for c in out.claims}
    assert verdicts["language fidelity"] == "reproduced"          # yor answered in English: 0/4
    assert verdicts["share of pairs where the model judge chose the same position in both orders"] == "reproduced"
    fid = {row["language"]: row for row in out.tables["language fidelity"]}
    assert fid["eng"]["fidelity"] == 1.0 and fid["yor"]["fidelity"] == 0.0
    assert fid["yor"]["answered instead in"].startswith("eng")
    assert out.metrics["fidelity"]["planted"]["recall"] == 1.0
    planted = out.metrics["fidelity"]["planted"]
    assert planted["false_flags"] <= 0.05 * planted["n"]  # lingua: "How do you cook rice?" reads und
    judges = {row["judge"]: row for row in out.tables["judges"]}
    assert judges["chrf"]["win (right translation)"] == 1.0 and judges["chrf"]["same position both orders"] == 0
