"""The `neurips23 probe` options and the declared budgets: per probe, its sample counts, a
wall-time target, and the rule of each claim, each with the reason for its value.

A budget is fixed before the run and is part of each cached result's key. Wall-time targets are
what a budget was sized for (SmolLM2-135M on 2 CPU cores), not measurements; `quick` aims at
15 minutes for every probe together, `standard` at numbers worth quoting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from neurips23.core.claims import Rule, rule
from neurips23.core.cli_config import param
from neurips23.lm.backends import BackendOptions

PROBES: tuple[str, ...] = ("planning", "tot", "mirage", "multilingual", "toolformer", "editing")


@dataclass
class PlanningBudget:
    """PlanBench's autonomous mode on generated Blocksworld problems, then the same problems
    with obfuscated names."""

    problems: int = 6           # 6 one-shot prompts of ~700 tokens: about a minute on SmolLM2
    blocks: list[int] = field(default_factory=lambda: [3])  # the easiest size: a finding of
    #                             "plans poorly" must not come from problems too big to plan
    vocabularies: list[str] = field(default_factory=lambda: ["mystery_blocksworld"])  # §3's
    #                             Mystery Blocksworld: the names that collapsed GPT-4
    max_tokens: int = 160       # a 3-block optimal plan is <= 6 actions of ~10 tokens each
    seed: int = 0               # which generated problems
    min_format: float = 0.5     # precondition: at least half the outputs contain an action we
    #                             read; below that the parser, not planning, is measured
    retained: float = 0.5       # "collapse": obfuscated success under half of Blocksworld's
    target_minutes: float = 3.0
    plans_poorly: Rule = rule("below", 0.5, min_n=5, reason="PlanBench Table 1: GPT-4 one-shot plans are 34% valid on "
        "Blocksworld; 'plans poorly' = the Wilson interval of valid plans lies below one half")
    collapse: Rule = rule(
        "below", 0.0, min_n=5, reason="PlanBench §3: 34% -> 3% valid on Mystery Blocksworld; per problem "
        "obfuscated - 0.5 x Blocksworld success, bootstrap interval below 0")


@dataclass
class TotBudget:
    """Game of 24: chain-of-thought sampling against Tree-of-Thoughts BFS on the same puzzles."""

    puzzles: str = "900-902"    # 3 of the paper's test range (900-999): a smoke-sized sample
    k: int = 3                  # CoT samples per puzzle (the paper: 100)
    b: int = 1                  # ToT breadth (the paper: 5); 1 keeps BFS to ~4 steps of calls
    n_evaluate: int = 1         # value samples per state (the paper: 3)
    max_tokens: int = 96        # one step's proposals or a 3-step CoT fit in ~80 tokens
    temperature: float = 0.7    # the paper's sampling temperature
    seed: int = 0
    target_minutes: float = 4.0
    search_helps: Rule = rule(
        "above", 0.0, min_n=3, reason="ToT §4.1: GPT-4 solves 74% with ToT (b=5) vs 4% with CoT; per puzzle "
        "ToT success - CoT success rate, bootstrap interval above 0")


@dataclass
class MirageBudget:
    """Integer arithmetic scored by exact match and by per-digit accuracy (§3 of the paper)."""

    task: Literal["mult_2x2", "add_4x4"] = "mult_2x2"  # the paper's GPT-3 multiplication task
    problems: int = 20          # greedy answers of <= 6 tokens: seconds on SmolLM2
    shots: int = 3              # worked examples fix the answer format (zero-padded width)
    seed: int = 0
    em_ceiling: float = 0.1     # precondition: exact match at most 10%, the regime where the
    #                             paper says the discontinuous metric hides progress
    target_minutes: float = 1.0
    above_chance: Rule = rule(
        "above", 0.0, min_n=10, reason="Schaeffer et al. §3: per-token metrics rise smoothly where exact "
        "match sits at 0; per problem, per-digit accuracy minus the same answer scored against "
        "the other problems' answers (chance for this model's outputs), bootstrap above 0")


@dataclass
class MultilingualBudget:
    """Language fidelity of answers, and the token cost of the same content per language."""

    languages: list[str] = field(default_factory=lambda: [
        "eng", "fra", "deu", "spa", "zho", "hin", "swa", "yor"])  # English, five high-resource
    #                             and two low-resource languages with reliable detection
    questions: int = 4          # per language: 32 chat answers of 48 tokens on SmolLM2
    max_tokens: int = 48        # enough words for the detector (10 letters) on one line
    cost_items: int = 8         # parallel sentences per language for the token premium
    langid: str = "lingua"      # the multilingual package's default detector
    english_min_fidelity: float = 0.5  # precondition: it answers English in English (else the
    #                             detector or the model's output is broken)
    n_boot: int = 2000
    seed: int = 0
    target_minutes: float = 2.0
    fidelity_gap: Rule = rule(
        "above", 0.0, min_n=3, reason="Aya / Marchisio et al.: models drift out of low-resource languages; "
        "per question, fidelity(high-resource, non-English) - fidelity(low-resource) above 0")
    premium: Rule = rule("above", 1.0, min_n=5, reason="Aya §7 / Petrov et al.: the same content costs more tokens in "
        "low-resource languages; mean low-resource token premium over English above 1")


@dataclass
class ToolformerBudget:
    """Arithmetic word problems answered with and without a calculator call shown in the
    prompt (the calculator of the toolformer package)."""

    problems: int = 10          # 2 greedy passes of <= 40 tokens each
    max_tokens: int = 40        # "[Calculator(123 * 45)->5535] 5535" and a little more
    seed: int = 0
    target_minutes: float = 1.5
    tool_helps: Rule = rule(
        "above", 0.0, min_n=5, reason="Toolformer Table 4: with the calculator GPT-J's math accuracy rises "
        "(ASDiv 7.5 -> 40.4); per problem, accuracy with the tool - without, bootstrap above 0")


@dataclass
class EditingBudget:
    """Causal tracing of facts the model knows and one ROME edit per fact (open weights only)."""

    facts: int = 2              # built-in facts the model gets right greedily
    layer_stride: int = 6       # trace and edit every 6th layer (SmolLM2: 5 of 30)
    samples: int = 3            # noised runs per trace (ROME: 10)
    window: int = 5             # MLP restoration window (Hase et al.: 5)
    contexts: list[list[int]] = field(default_factory=lambda: [[5, 2]])  # ROME: [[5,10],[10,10]]
    corpus_texts: int = 16      # the model's own samples for the keys' second moment
    corpus_length: int = 32
    v_steps: int = 10           # ROME's v* optimisation steps (ROME: 20)
    seed: int = 0
    target_minutes: float = 3.0
    edit_lands: Rule = rule(
        "above", 0.5, min_n=2, reason="ROME Table 1: efficacy ~100% on GPT-2 XL; after the edit p(new) > "
        "p(true) on more than half the facts (Wilson interval above 0.5)")


@dataclass
class Budget:
    """One budget: every probe's declared sample counts, time target and rules."""

    planning: PlanningBudget = field(default_factory=PlanningBudget)
    tot: TotBudget = field(default_factory=TotBudget)
    mirage: MirageBudget = field(default_factory=MirageBudget)
    multilingual: MultilingualBudget = field(default_factory=MultilingualBudget)
    toolformer: ToolformerBudget = field(default_factory=ToolformerBudget)
    editing: EditingBudget = field(default_factory=EditingBudget)


def standard_budget() -> Budget:
    """Numbers worth quoting: about an hour on SmolLM2 on 2 cores (a target, not measured)."""
    return Budget(
        planning=PlanningBudget(problems=30, blocks=[3, 4], max_tokens=256, target_minutes=15,
                                vocabularies=["mystery_blocksworld", "random_blocksworld"]),
        tot=TotBudget(puzzles="900-919", k=10, b=3, n_evaluate=2, max_tokens=160,
                      target_minutes=25),
        mirage=MirageBudget(problems=100, target_minutes=3),
        multilingual=MultilingualBudget(questions=10, cost_items=24, target_minutes=6),
        toolformer=ToolformerBudget(problems=40, target_minutes=5),
        editing=EditingBudget(facts=10, layer_stride=2, samples=10, contexts=[[5, 10], [10, 10]],
                              corpus_texts=100, v_steps=20, target_minutes=20),
    )


@dataclass
class ProbeConfig(BackendOptions):
    """`neurips23 probe`: which model, which probes, which budget, where the card goes."""

    budget: Literal["quick", "standard"] = param("quick", "Sample counts and rules: quick "
                                                 "(minutes) or standard.")
    only: list[str] = param([], f"Run only these probes ({', '.join(PROBES)}).")
    skip: list[str] = param([], "Skip these probes.")
    out: Path = param(Path("probe"), "Output folder: <out>/<model>/card.html, card.json, "
                      "probes/*.json (the cache).")
    quick: Budget = field(default_factory=Budget)
    standard: Budget = field(default_factory=standard_budget)

    @property
    def chosen(self) -> Budget:
        """The budget named by `budget`."""
        return self.quick if self.budget == "quick" else self.standard
