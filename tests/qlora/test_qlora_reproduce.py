"""The reproduction's tasks, statistics and claim rules, checked by hand."""

from __future__ import annotations

import math

import pytest

from neurips23.qlora.comparison import pretrain_examples, rotate_examples
from neurips23.qlora.reproduce import QLoRAConfig, claims_from, mean_ci, paired_diff, summarize


def test_tasks():
    rot = rotate_examples(50, 1)
    for ex in rot:
        s = ex.prompt[len("rot "):-len(" =")]
        assert ex.response == " " + s[1:] + s[0]
    held = rotate_examples(50, 2, exclude={e.prompt[4:-2] for e in rot})
    assert not {e.prompt for e in held} & {e.prompt for e in rot}
    pre = pretrain_examples(10, 0)
    assert pre[0].prompt.startswith("sort") and pre[1].prompt.startswith("rev")
    assert pre[1].response == " " + pre[1].prompt[4:-2][::-1]


def test_mean_ci_is_student_t():
    mean, half = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.302652729911275 * 1.0 / math.sqrt(3))
    assert math.isnan(mean_ci([1.0])[1])


def _rows(acc):
    return [{"arm": arm, "seed": s, "accuracy": a, "heldout_loss": 1 - a,
             "linear_bits_per_param": 4.128, "linear_bytes": 1.0, "trainable_params": 1,
             "trainable_and_adam_bytes": 1.0, "train_seconds": 1.0}
            for arm, accs in acc.items() for s, a in enumerate(accs)]


def test_paired_diff_and_claim_rules():
    rows = _rows({"lora16": [0.60, 0.70, 0.80], "qlora_nf4_dq": [0.61, 0.70, 0.81],
                  "qlora_nf4": [0.60, 0.71, 0.80], "qlora_fp4": [0.50, 0.60, 0.72],
                  "full": [0.7, 0.7, 0.7]})
    d, h = paired_diff(rows, "qlora_nf4_dq", "lora16", "accuracy")
    assert d == pytest.approx(0.02 / 3)
    cfg = QLoRAConfig()
    summary = summarize(rows, cfg)
    mse = {"nf4": 1.0, "nf4_dq": 1.0, "fp4": 2.0, "int4": 1.5}
    verdicts = [c.verdict for c in claims_from(summary, mse, cfg)]
    assert verdicts == ["reproduced", "reproduced", "reproduced", "reproduced"]
    # a 16-bit arm that never learned the task gives no verdict on "recovers 16-bit quality"
    low = _rows({"lora16": [0.01, 0.02, 0.0], "qlora_nf4_dq": [0.01, 0.02, 0.0],
                 "qlora_nf4": [0.0, 0.0, 0.0], "qlora_fp4": [0.0, 0.0, 0.0]})
    assert claims_from(summarize(low, cfg), mse, cfg)[0].verdict == "inconclusive"
    # NF4 clearly worse than 16-bit: not reproduced
    bad = _rows({"lora16": [0.80, 0.81, 0.82], "qlora_nf4_dq": [0.50, 0.52, 0.51]})
    assert claims_from(summarize(bad, cfg), mse, cfg)[0].verdict == "not reproduced"
