"""Settings of `neurips23 reproduce emergence`: the model-family sweep, the target length and
the rules its claims are decided by, and the profiles. The sweep and the claims import it from
here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from neurips23.core.claims import Rule, rule
from neurips23.core.cli_config import param
from neurips23.lm.train import TrainConfig


@dataclass
class EmergenceConfig:
    """The model-family sweep and the rules its claims are decided by (the `full` profile is
    the claims' test; `quick` is a pipeline check)."""

    tasks: list[str] = param(["mult_2x2", "add_4x4"], "Arithmetic tasks (mult_2x2, add_4x4).")
    family: list[str] = param(["d16l1", "d24l2", "d32l2", "d48l2", "d64l3", "d96l3"],
                              "Family members d<hidden>l<layers> (heads = hidden/16, MLP 4x).")
    seeds: list[int] = param([0, 1, 2], "Training seeds (each trains the whole family).")
    # every member's training, the same for all (`train.seed` is added to each seed)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=2500, batch_size=64, lr=3e-3, warmup_steps=100, schedule="cosine", max_length=32,
        log_every=50))
    n_train: int = param(20000, "Training problems per task (capped by what the test set leaves).")
    test_size: int = param(100, "The standard test set (resolution limit 1/test_size).")
    large_test_factor: int = param(20, "Prediction 2's larger test set, in standard test sets.")
    reverse: bool = param(True, "Write numbers least-significant digit first.")
    data_seed: int = param(0, "Seed of the train/test split.")
    eval_batch_size: int = param(256, "Evaluation batch size.")
    progress: bool = param(True, "Progress bars while training (on a terminal only).")
    workers: int = param(1, "Seeds in parallel processes (1 torch thread each); 0 or 1 runs them in this process.")
    eval_device: str = param("cpu", "Where trained members are evaluated (cuda on a GPU box).")
    # ---- the claims: target length, rules and their settings, fixed before the run
    target_length: int = param(0, "Target length L the claims are tested at; 0 = each task's "
                               "full answer width (the paper's longest targets).")
    metric_swap: Rule = rule("above", 0.0, min_n=3, reason="the paper: exact match looks emergent where edit distance "
        "on the same outputs is smooth, so EM's emergence index (1 - 1/score) exceeds TED's; "
        "t interval over seeds, each seed a whole family")
    min_top_em: float = param(0.1, "Precondition of prediction 1: the largest member's exact "
                              "match at L (large test set, mean over seeds); below it the EM "
                              "curve has not risen enough for its shape to be judged.")
    small_members: int = param(3, "Prediction 2 tests the smallest this many family members.")
    chance: Literal["best_constant", "uniform"] = param(
        "best_constant", "Prediction 2's chance level: the best constant answer's exact match "
        "(a model that ignores its input reaches it) or uniform digits 10^-L (the paper's).")
    correction: Literal["bonferroni", "none"] = param(
        "bonferroni", "Multiple-comparison correction of prediction 2's intervals over its "
        "(task, member) cells and per-task predictions.")
    above_chance: Rule = rule("above", 0.0, min_n=100, reason="the paper (Fig. 4): with more test data every small "
        "model's exact match is above chance; Wilson interval of exact match minus chance, "
        "hits pooled over seeds, every (task, member) cell must hold")
    predicted: Rule = rule("within", 0.0, margin=math.log(3), min_n=100, reason="the paper (§2, Fig. 4): the "
        "resolved accuracy follows the smooth curve exp(-L CE_token); log(measured / predicted) "
        "within log 3, pooled over the small members and seeds, since greedy decoding and "
        "Jensen's gap move exact match by small factors while L moves it by powers of ten")
    min_hits_per_length: int = param(5, "Prediction 3 fits a model only where it has at least "
                                     "this many exact matches at every L (log EM measured).")
    geometric: Rule = rule("above", 0.0, min_n=3, reason="the paper (§3, App. A): exact match falls geometrically "
        "in L, so log EM ~ L fits better than EM ~ L (median R^2 difference over fits, "
        "bootstrap over fits); an absolute R^2 >= 0.9 also holds for a linear or flat decline")
    linear: Rule = rule("above", 0.0, min_n=3, reason="the paper (App. A): edit distance grows quasi-linearly, "
        "E[TED] ~ L eps, so TED ~ L fits better than log TED ~ L (median R^2 difference)")
    em_from_ce: Rule = rule("above", 0.9, min_n=6, reason="the paper's model (§2, Eq. 3): exact match = "
        "exp(-L CE_token); Pearson r over every (seed, member, L) point of a task, bootstrap "
        "over models; 0.9 is the reproduction brief's criterion")
    ce_monotone: Rule = rule("below", -0.9, min_n=3, reason="the paper (§2, Eq. 1): per-token CE falls with size "
        "(power law); Spearman rho of CE with parameters, t interval over seeds; -0.9 is the "
        "brief's criterion")
    ce_smooth: Rule = rule("below", 0.5, min_n=3, reason="no single step between adjacent sizes takes half of "
        "CE's drop (else CE itself jumps and the mirage account does not explain the jump); "
        "t interval over seeds")
    min_ce_drop: float = param(0.05, "Precondition of the CE-smoothness claim: CE falls by at "
                               "least this many nats across the family in every seed.")


PROFILES: dict[str, dict] = {
    # Pipeline check (docs/emergence.md: "quick: 400 steps, 1 seed"): one seed is below the
    # min_n of the rules decided over seeds, so those verdicts cannot be reached.
    "quick": {
        "seeds": [0],  # one seed trains the whole family once (full: 3)
        "train": {"steps": 400},  # training steps of every member (full: 2500)
        "n_train": 6000,  # training problems per task (full: 20000)
        "large_test_factor": 10,  # prediction 2's larger test set: 10 standard test sets (full: 20)
    },
    # The claims' test: the defaults above (every member 2500 steps of batch 64, 3 seeds).
    "full": {},
}
