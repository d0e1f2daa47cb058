"""ToT BFS/DFS and the IO/CoT baselines against brute force and hand-worked cases."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from tot_fake_lm import FakeGame24LM, ScriptedLM

from neurips23.errors import ConfigError
from neurips23.lm.backends import GPT4_PRICES, Prices, Usage
from neurips23.tot import BFSConfig, DFSConfig, bfs, dfs, sample_baseline
from neurips23.tot.game24 import Game24Task, all_multisets, int_solvable, reachable_states
from neurips23.tot.search import select_states

RNG = random.Random(1)
SOLVABLE = [p for p in all_multisets() if int_solvable(p)]
UNSOLVABLE = [p for p in all_multisets() if not int_solvable(p)]
CASES = RNG.sample(SOLVABLE, 12) + RNG.sample(UNSOLVABLE, 4)


def _x(p):
    return " ".join(map(str, p))


@pytest.mark.parametrize("few_shot", [False, True])
def test_bfs_with_exact_values_solves_exactly_the_solvable(few_shot):
    task = Game24Task(few_shot=few_shot)
    lm = FakeGame24LM()
    results = bfs(task, lm, [_x(p) for p in CASES], BFSConfig(n_select=5))
    for p, r in zip(CASES, results, strict=True):
        assert task.is_correct(r.x, r.top) == int_solvable(p), (p, r.finals)
        assert r.top.strip().split("\n")[-1].startswith("Answer:") or not int_solvable(p)


def test_bfs_b1_greedy_follows_sure_states():
    # With exact values, b=1 greedy must still solve every solvable puzzle (brute force).
    task = Game24Task(few_shot=False)
    results = bfs(task, FakeGame24LM(), [_x(p) for p in CASES], BFSConfig(n_select=1))
    assert [task.is_correct(r.x, r.top) for r in results] == [int_solvable(p) for p in CASES]


def test_each_step_sends_one_generation_and_one_value_batch():
    task = Game24Task(few_shot=False)
    lm = FakeGame24LM()
    xs = [_x(p) for p in CASES[:6]]
    bfs(task, lm, xs, BFSConfig(n_select=5))
    kinds = [k for k, _, _ in lm.calls]
    # 4 steps x (one generation call + at most one value call)
    assert kinds[0] == "propose"
    assert len(lm.calls) <= 8
    value_calls = [c for c in lm.calls if c[0] in ("value", "judge", "judge+value")]
    assert all(n == 3 for _, _, n in value_calls)
    # no state was ever valued twice: value prompts are unique across the whole search
    value_prompts = [p for p in lm.prompts_seen if not p.endswith("steps:\n")
                     and "Steps:" not in p]
    assert len(value_prompts) == len(set(value_prompts))


def test_on_step_reports_each_step_after_its_calls():
    task = Game24Task(few_shot=False)
    lm = FakeGame24LM()
    seen = []
    bfs(task, lm, [_x(p) for p in CASES[:3]], BFSConfig(n_select=2),
        on_step=lambda k: seen.append((k, len(lm.calls))))
    assert [k for k, _ in seen] == [1, 2, 3, 4]
    assert all(calls >= 1 for _, calls in seen) and seen[-1][1] == len(lm.calls)


def test_value_cache_is_keyed_by_the_multiset_left():
    # Proposals write "left" numbers in reversed order; the canonical key still matches,
    # so the number of value prompts equals the number of distinct multisets (brute force).
    task = Game24Task(few_shot=False)
    lm = FakeGame24LM(reverse_left=True)
    p = (4, 5, 6, 10)
    bfs(task, lm, [_x(p)], BFSConfig(n_select=100))
    first_value = next(c for c in lm.calls if c[0] == "value")
    children = {s for s in reachable_states(p) if len(s) == 3}
    assert first_value[1] == len(children)


def test_duplicates_are_removed():
    task = Game24Task(few_shot=False)
    results = bfs(task, FakeGame24LM(duplicate_lines=True), ["4 5 6 10"],
                  BFSConfig(n_select=100))
    cands = results[0].trace[0].candidates
    assert len(cands) == len(set(cands))


def test_value_mapping_is_the_papers():
    task = Game24Task(few_shot=False)
    assert task.parse_value("", "", ["3 + 4 = 7\nsure", "likely", " impossible "]) == \
        pytest.approx(21.001)
    assert task.parse_value("", "", ["maybe", ""]) == 0
    # the repo's rule: a 4-line state that is not an answer has value 0
    assert task.fixed_value("1 2 3 4", "a\nb\nc\nd\n") == 0.0


def test_greedy_selection_is_stable_top_b():
    cands = list("abcdef")
    values = [1.0, 20.0, 1.0, 60.0, 0.003, 20.0]
    cfg = BFSConfig(n_select=3)
    assert select_states(cands, values, cfg, random.Random(0)) == ["d", "b", "f"]


def test_sample_selection_is_proportional_to_value():
    cfg = BFSConfig(select="sample", n_select=1)
    rng = random.Random(0)
    counts = Counter(select_states(["a", "b"], [1.0, 3.0], cfg, rng)[0] for _ in range(4000))
    assert counts["b"] / 4000 == pytest.approx(0.75, abs=0.03)


def test_random_and_oracle_evaluators():
    task = Game24Task(few_shot=False)
    lm = FakeGame24LM()
    results = bfs(task, lm, [_x(p) for p in CASES], BFSConfig(evaluate="oracle", n_select=1))
    assert [task.is_correct(r.x, r.top) for r in results] == [int_solvable(p) for p in CASES]
    assert all(k == "propose" or k == "answer" or k == "answer+propose" for k, _, _ in lm.calls)
    lm2 = FakeGame24LM()
    bfs(task, lm2, ["4 5 6 10"], BFSConfig(evaluate="random"))
    assert not any("value" in k or "judge" in k for k, _, _ in lm2.calls)


def test_bad_config_is_a_config_error():
    with pytest.raises(ConfigError, match="evaluate='guess'"):
        bfs(Game24Task(), FakeGame24LM(), ["4 5 6 10"], BFSConfig(evaluate="guess"))
    with pytest.raises(ConfigError, match="n_select=0"):
        bfs(Game24Task(), FakeGame24LM(), ["4 5 6 10"], BFSConfig(n_select=0))


def test_dfs_finds_a_solution_iff_solvable():
    task = Game24Task(few_shot=False)
    for p in CASES[:10]:
        r = dfs(task, FakeGame24LM(), _x(p), DFSConfig(threshold=1.0, max_nodes=50))
        assert task.is_correct(r.x, r.top) == int_solvable(p), p


def test_dfs_prunes_and_respects_the_node_limit():
    task = Game24Task(few_shot=False)
    lm = FakeGame24LM(always_impossible=True)
    r = dfs(task, lm, "4 5 6 10", DFSConfig(threshold=1.0))
    assert [k for k, _, _ in lm.calls] == ["propose", "value"]  # all children pruned
    assert r.top == ""  # the best state reached is the root
    lm = FakeGame24LM(value_noise=0.5, seed=3)
    dfs(task, lm, "1 1 1 1", DFSConfig(threshold=0.0, max_nodes=3, stop_on_final=False))
    assert sum(k in ("propose", "answer") for k, _, _ in lm.calls) <= 3


def test_cost_is_split_exactly_and_priced():
    task = Game24Task(few_shot=False)
    lm = FakeGame24LM()
    results = bfs(task, lm, [_x(p) for p in CASES[:5]], BFSConfig())
    total = Usage()
    for r in results:
        total.add_usage(r.cost)
    assert total.calls == pytest.approx(lm.usage.calls)
    assert total.prompt_tokens == pytest.approx(lm.usage.prompt_tokens)
    assert total.completion_tokens == pytest.approx(lm.usage.completion_tokens)
    c = Usage(calls=2, prompt_tokens=1000, completion_tokens=500)
    assert c.cost(GPT4_PRICES) == pytest.approx(0.03 + 0.03)  # GPT-4: $0.03/1k in, $0.06/1k out
    assert c.as_dict(Prices(0.5, 1.5))["cost_usd"] == pytest.approx(0.5 + 0.75)


def test_cot_sc_majority_vote_hand_case():
    task = Game24Task(few_shot=False)
    outs = [[["Answer: (5 * 6) - (10 - 4) = 24", "Answer: 4 * 6 = 24",
              "Answer: 4*6 = 24", "Answer: (5*6)-(10-4) = 24", "Answer:4 * 6=24"]]]
    [r] = sample_baseline(task, ScriptedLM(outs), ["4 5 6 10"], k=5, cot=True)
    assert r.correct == [True, False, False, True, False]
    assert r.mean == pytest.approx(0.4) and r.any
    assert r.majority == "Answer: 4 * 6 = 24" and not r.majority_correct
    assert r.cost.calls == 1 and r.cost.completion_tokens == 25


def test_vote_evaluation_parses_best_choice():
    task = Game24Task(few_shot=False)
    ys = ["a\n", "b\n", "c\n"]
    votes = task.parse_votes("", ys, ["... The best choice is 2", "the best choice is 2.",
                                      "best choice is 9", "no idea"])
    assert votes == [0, 2, 0]
    prompt = task.vote_prompt("4 5 6 10", ys)
    assert "Choice 3:\nc" in prompt


def test_same_seed_same_numbers():
    task = Game24Task(few_shot=False)
    xs = [_x(p) for p in CASES[:6]]

    def run(seed):
        lm = FakeGame24LM(value_noise=0.3, max_lines=5)
        res = bfs(task, lm, xs, BFSConfig(n_select=2, seed=seed))
        return [(r.finals, r.values) for r in res]

    assert run(0) == run(0)
    assert run(0) != run(1)
