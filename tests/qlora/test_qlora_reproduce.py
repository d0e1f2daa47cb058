"""The reproduction's tasks by hand, and every claim fed synthetic results where the paper's
statement is false, true and underpowered."""

from __future__ import annotations

import math
import random

from neurips23.qlora.comparison import pretrain_examples, rotate_examples
from neurips23.qlora.config import QLoRAConfig
from neurips23.qlora.datatypes import PerplexityTable
from neurips23.qlora.reproduce import (
    finetune_claims,
    memory_claim,
    mse_claim,
    perplexity_claims,
    storage_claim,
    summarize,
)
from neurips23.qlora.step_memory import StepMemory

CFG = QLoRAConfig()


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


def _rows(acc: dict[str, list[float]], bits: float = 4.128, loss=None):
    return [{"arm": arm, "seed": s, "accuracy": a,
             "heldout_loss": (loss or {}).get(arm, [1 - x for x in accs])[s],
             "linear_bits_per_param": {"qlora_nf4": 4.5, "lora16": 16.0}.get(arm, bits),
             "linear_bytes": 1.0, "trainable_params": 1, "train_seconds": 1.0}
            for arm, accs in acc.items() for s, a in enumerate(accs)]


def _verdicts(rows):
    return [c.verdict for c in finetune_claims(rows, summarize(rows, CFG), CFG)]


def test_finetune_claims_true_false_underpowered():
    good = {"lora16": [0.60, 0.70, 0.80], "full": [0.61, 0.70, 0.80],
            "qlora_nf4_dq": [0.61, 0.70, 0.81], "qlora_nf4": [0.60, 0.71, 0.80],
            "qlora_fp4": [0.50, 0.60, 0.72]}
    assert _verdicts(_rows(good)) == ["reproduced"] * 3
    bad = {"lora16": [0.80, 0.81, 0.82], "full": [0.9, 0.91, 0.92],
           "qlora_nf4_dq": [0.50, 0.52, 0.51], "qlora_nf4": [0.5, 0.5, 0.5],
           "qlora_fp4": [0.7, 0.72, 0.71]}
    assert _verdicts(_rows(bad)) == ["not reproduced"] * 3
    two_seeds = {k: v[:2] for k, v in good.items()}
    assert _verdicts(_rows(two_seeds)) == ["inconclusive"] * 3
    # nothing learned: no verdict can read reproduced, however close the arms are
    flat = {k: [0.01, 0.0, 0.02] for k in good}
    assert "reproduced" not in _verdicts(_rows(flat))


def test_storage_claim_is_computed_not_a_finding():
    claim = storage_claim(summarize(_rows({"qlora_nf4_dq": [0.5], "qlora_nf4": [0.5]}), CFG))
    assert claim.verdict == "computed" and "4.127" in claim.ours
    wrong = storage_claim(summarize(_rows({"qlora_nf4_dq": [0.5]}, bits=4.5), CFG))
    assert wrong.verdict == "not reproduced"  # a broken identity cannot hide


def _mse(n, ratio_fp4, ratio_int4, noise=0.01, seed=0):
    rng = random.Random(seed)
    nf4 = [rng.uniform(1e-6, 1e-4) for _ in range(n)]
    return {"nf4": nf4, "nf4_dq": nf4,
            "fp4": [x / ratio_fp4 * math.exp(rng.gauss(0, noise)) for x in nf4],
            "int4": [x / ratio_int4 * math.exp(rng.gauss(0, noise)) for x in nf4]}


def test_mse_claim_true_false_underpowered():
    assert mse_claim(_mse(210, 0.7, 0.8), CFG.mse_order).verdict == "reproduced"
    assert mse_claim(_mse(210, 1.3, 1.2), CFG.mse_order).verdict == "not reproduced"
    assert mse_claim(_mse(210, 0.7, 1.3), CFG.mse_order).verdict == "mixed"
    assert mse_claim(_mse(10, 0.7, 0.8), CFG.mse_order).verdict == "inconclusive"  # < min_n


def _table(n_chunks, gap_fp4, gap_int4, noise=2.0, base=3.0, seed=0):
    rng = random.Random(seed)
    tokens = 255
    bf16 = [base * tokens + rng.gauss(0, 20) for _ in range(n_chunks)]
    nll = {"bf16": bf16, "nf4_dq": [x + 0.05 * tokens + rng.gauss(0, noise) for x in bf16]}
    nll["fp4"] = [x - gap_fp4 * tokens + rng.gauss(0, noise) for x in nll["nf4_dq"]]
    nll["int4"] = [x - gap_int4 * tokens + rng.gauss(0, noise) for x in nll["nf4_dq"]]
    return PerplexityTable(nll, tokens, 1)


def test_perplexity_claims_true_false_underpowered():
    rule = CFG.ppl_order
    assert [c.verdict for c in perplexity_claims(_table(64, -0.05, -0.1), rule)] == \
        ["reproduced", "reproduced"]
    assert [c.verdict for c in perplexity_claims(_table(64, 0.05, 0.1), rule)] == \
        ["not reproduced", "not reproduced"]
    assert {c.verdict for c in perplexity_claims(_table(4, -0.05, -0.1), rule)} == {"inconclusive"}
    noisy = _table(64, -0.0001, -0.0001, noise=40)
    assert {c.verdict for c in perplexity_claims(noisy, rule)} == {"inconclusive"}
    unread = _table(64, -0.05, -0.1, base=6.0)  # perplexity e^6 ≈ 400: the model cannot read it
    assert {c.verdict for c in perplexity_claims(unread, rule)} == {"inconclusive"}


def _mem(weights, step_mib, weights_mib, n):
    mib = 2 ** 20
    return [StepMemory(weights, 100 * mib, (100 + weights_mib) * mib,
                       int((100 + step_mib + 3 * i) * mib), True, 1.0, weights_mib * mib * 0.8,
                       weights_mib * mib * 0.2, 1000) for i in range(n)]


def test_memory_claim_true_false_underpowered():
    rule = CFG.memory_ratio
    assert memory_claim(_mem("nf4", 120, 70, 3), _mem("bf16", 400, 270, 3), rule).verdict \
        == "reproduced"
    assert memory_claim(_mem("nf4", 350, 170, 3), _mem("bf16", 400, 270, 3), rule).verdict \
        == "not reproduced"
    assert memory_claim(_mem("nf4", 120, 70, 1), _mem("bf16", 400, 270, 1), rule).verdict \
        == "inconclusive"  # one process each: no interval
    # a step dominated by activations cannot decide what 4-bit storage saves
    assert memory_claim(_mem("nf4", 1100, 70, 3), _mem("bf16", 1300, 270, 3), rule).verdict \
        == "inconclusive"
