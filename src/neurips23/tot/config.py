"""Settings of `neurips23 reproduce tot`: the tiny model, the arms, the claims' rules, and the
profiles. The arms (`tot.arms`), the re-scoring of the authors' logs (`tot.released_logs`) and
the claims import it from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from neurips23.core.claims import Rule, rule
from neurips23.core.cli_config import param
from neurips23.lm.train import TrainConfig


@dataclass
class ToTConfig:
    """Settings of `neurips23 reproduce tot`: the tiny model, the arms, and the claims' rules."""

    source: Literal["tiny", "released"] = param(
        "tiny", "tiny: train and search with our tiny model; released: re-score the authors' "
        "GPT-4 logs (no model).")
    released_dir: str = param("", "Folder of the authors' gzip-compressed logs (default: the "
                                  "copy shipped in neurips23/tot/released).")
    seeds: list[int] = param([0, 1, 2], "Seeds: one model and one test split each.")
    n_test: int = param(300, "Test puzzles per seed (integer-solvable, never trained on).")
    holdout: Literal["strict", "puzzles"] = param(
        "strict", "strict: every test sub-state of >=2 numbers is held out of propose/value "
        "training; puzzles: only the test puzzles (the leaky regime).")
    model_size: str = param("mini", "Tiny model size (nano, micro, mini, small).")
    # the tiny model's training (`train.seed` is added to each seed)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=3000, batch_size=128, lr=2e-3, warmup_ratio=0.05, schedule="cosine",
        max_length=300, log_every=50))
    n_examples: int = param(60000, "Training examples (mixture of propose/value/cot/io/judge).")
    propose_lines: int = param(8, "Random legal moves per propose target.")
    k_samples: int = param(50, "CoT samples per puzzle (CoT-SC, best-of-k); must cover ToT's "
                               "token budget for the matched comparison.")
    k_io: int = param(20, "IO samples per puzzle.")
    n_evaluate: int = param(3, "Value samples per state (the paper's 3).")
    temperature: float = param(0.7, "Sampling temperature (the paper's 0.7).")
    max_tokens: int = param(240, "Most tokens per proposal.")
    sample_max_tokens: int = param(160, "Most tokens per IO/CoT sample.")
    value_max_tokens: int = param(12, "Most tokens per value sample.")
    gen_batch_size: int = param(1024, "Sequences per forward pass.")
    auroc_states: int = param(600, "Held-out states scored for the evaluator's AUROC.")
    n_boot: int = param(2000, "Bootstrap resamples for intervals.")
    device: str = param("", "cpu | cuda (default: cuda when available).")
    workers: int = param(1, "Seeds run in parallel processes; 0 or 1 runs them in this process.")
    learned_min: float = param(0.05, "Precondition of every comparison: CoT pass@1 at least "
                                     "this (a model that solves nothing alone shows nothing).")
    beats_cot_sc: Rule = rule(
        "above", 0.0, min_n=100, reason="Table 2: ToT b=5 74% vs CoT-SC 9%. The paired success difference "
        "over puzzle-runs must be above 0 with its whole interval; 100 puzzle-runs resolve "
        "about 10 points")
    wider_helps: Rule = rule(
        "above", 0.0, min_n=100, reason="Table 2: b=5 (74%) above b=1 (45%): paired difference above 0")
    values_help: Rule = rule(
        "above", 0.0, min_n=100, reason="the paper's ablations credit the LM's state evaluation: model "
        "values above random values, paired difference above 0")
    evaluator_auroc: Rule = rule(
        "above", 0.75, min_n=3, reason="a useful evaluator (the plan's pass mark): AUROC of sure-vs-"
        "impossible on held-out 3-number states above 0.75; seeds are the units (t interval)")
    beats_best_of_k: Rule = rule(
        "above", 0.0, min_n=100, reason="Fig. 3a / repo log (ToT any-of-5 69% vs CoT best-of-100 49%): with "
        "a verifier on both sides, at matched tokens, paired difference above 0")
    released_checker_agrees: Rule = rule(
        "above", 0.99, min_n=100, reason="on the authors' outputs: our checker implements the paper's "
        "success test, so it must agree with the logs' own r (Wilson lower bound above 0.99); "
        "also the precondition of every comparison there")
    released_beats_cot_sc: Rule = rule(
        "above", 0.0, min_n=100, reason="on the authors' outputs, Table 2: ToT b=5 74% vs CoT-SC 9%; the "
        "success difference over the 100 puzzles must be above 0 with its whole 95% interval "
        "(Newcombe's, from the two Wilson intervals)")
    released_beats_best_of_k: Rule = rule(
        "above", 0.0, min_n=100, reason="on the authors' outputs, Fig. 3a / repo log: ToT any-of-5 (69%) vs "
        "CoT best-of-100 (49%), a checker on both sides; difference above 0 (Newcombe)")


PROFILES: dict[str, dict[str, Any]] = {
    # Pipeline check (docs/tot.md: "the code path on 2 CPU cores"): too small for the model to
    # learn the task, as the run's note says.
    "quick": dict(
        seeds=[0],  # one model and one test split (full: 3)
        n_test=12,  # test puzzles per seed (full: 300)
        model_size="nano",  # the tiny model (full: mini, about 2M parameters)
        # 40 training steps of batch 32, peak learning rate 5e-3 (full: 3000 of 128, 2e-3)
        train={"steps": 40, "batch_size": 32, "lr": 5e-3},
        n_examples=2000,  # training examples of the propose/value/cot/io/judge mixture (full: 60000)
        # CoT samples per puzzle: must cover ToT's token budget for the matched comparison; when
        # quick drew 8, ToT b=5 needed ~34 samples' worth of tokens (docs/tot.md; full: 50)
        k_samples=48,
        k_io=4,  # IO samples per puzzle (full: 20)
        gen_batch_size=128,  # sequences per forward pass (full: 1024)
        auroc_states=200,  # held-out states scored for the evaluator's AUROC (full: 600)
        n_boot=500,  # bootstrap resamples for intervals (full: 2000)
    ),
    # The claims' test on our tiny model: the defaults above (3 seeds x 300 puzzles), one
    # process per seed.
    "full": {"workers": 3},
    # On the authors' outputs: their released GPT-4 logs re-scored by our checker, no model; a
    # finding profile, the full-scale evidence for Table 2 (docs/tot.md).
    "released": {"source": "released"},
}
