"""The learner's updates: worked by hand on two tiny domains, the hypothesis set against brute
force, and the optimism invariants after random interaction on the shipped tasks."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.symbolic_rl.diagnostics import model_scores, soundness
from neurips23.symbolic_rl.domains import load_task
from neurips23.symbolic_rl.hypotheses import PreconditionHypotheses
from neurips23.symbolic_rl.model import OptimisticModel


def test_grounded_updates_by_hand(two_actions):
    sim = two_actions
    spec = sim.spec
    p, q = spec.mask([("p",)]), spec.mask([("q",)])
    a, b = (spec.actions.index((n, ())) for n in ("a", "b"))
    m = OptimisticModel(spec)
    # optimistic start: no precondition, every fact a possible add, no deletes
    assert m.hypotheses(a) == [0] and m.add(a) == p | q and m.delete(a) == 0
    s = sim.reset()
    ok, t = sim.step(a)  # a needs p: fails, state unchanged
    assert (ok, t) == (False, s) == (False, 0)
    m.observe(a, s, ok)
    # the empty hypothesis held in {} and is refuted; it branches into {p} and {q}
    assert sorted(m.hypotheses(a)) == sorted([p, q])
    ok, t = sim.step(b)
    m.observe(b, s, ok, t)
    # add <- add ∩ s' = {p}; delete <- s - s' = {}; the empty hypothesis held, so it stays
    assert ok and t == p and m.hypotheses(b) == [0] and m.add(b) == p and m.delete(b) == 0
    s = t
    ok, t = sim.step(a)
    m.observe(a, s, ok, t)
    # a ran in {p}: {q} did not hold there and goes; add = {p,q} ∩ {q}; delete = {p} - {q}
    assert ok and t == q and m.hypotheses(a) == [p] and m.add(a) == q and m.delete(a) == p
    assert sim.interactions == 3 and sim.is_goal(t)


def test_lifted_sharing_by_hand(pick_put):
    sim = pick_put
    spec = sim.spec
    idx = {f"{n} {' '.join(args)}": i for i, (n, args) in enumerate(spec.actions)}
    lifted, grounded = OptimisticModel(spec, lifted=True), OptimisticModel(spec)
    s = sim.reset()
    ok, t = sim.step(idx["pick a"])
    for m in (lifted, grounded):
        m.observe(idx["pick a"], s, ok, t)
    # pick's shared effects, seen through ?x = a: add {held ?x}, delete {free ?x} ...
    assert lifted.add(idx["pick b"]) == spec.mask([("held", "b")])
    assert lifted.delete(idx["pick b"]) == spec.mask([("free", "b")])
    # ... while the grounded model knows nothing yet about pick b
    assert grounded.add(idx["pick b"]) == (1 << len(spec.props)) - 1
    assert grounded.delete(idx["pick b"]) == 0
    # put b fails where (free b) holds and (held b) does not: {held ?x} is the only branch
    # (free ?x held there), and the refutation is shared with put a
    ok2, t2 = sim.step(idx["put b"])
    assert not ok2 and t2 == t
    lifted.observe(idx["put b"], t, ok2)
    assert lifted.hypotheses(idx["put a"]) == [spec.mask([("held", "a")])]
    assert lifted.hypotheses(idx["put b"]) == [spec.mask([("held", "b")])]


def _minimal_consistent(n: int, successes: list[int], failures: list[int]) -> list[int]:
    ok = [h for h in range(1 << n) if all(h & s == h for s in successes)
          and all(h & f != h for f in failures)]
    return sorted(h for h in ok if not any(g != h and g & h == g for g in ok))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 5), data=st.data())
def test_live_hypotheses_are_the_minimal_consistent_ones(n, data):
    """Brute force over all 2^n hypotheses after each observation; the true precondition always
    keeps a live hypothesis inside it (soundness)."""
    true_pre = data.draw(st.integers(0, (1 << n) - 1))
    states = data.draw(st.lists(st.integers(0, (1 << n) - 1), max_size=12))
    hyps = PreconditionHypotheses(n, max_length=n)
    successes, failures = [], []
    for s in states:
        if s & true_pre == true_pre:
            hyps.observe_success(s)
            successes.append(s)
        else:
            hyps.observe_failure(s)
            failures.append(s)
        assert sorted(hyps.live) == _minimal_consistent(n, successes, failures)
        assert any(h & true_pre == h for h in hyps.live)


@pytest.mark.parametrize("task", ["blocksworld-4-1", "gripper-2", "doorkey-5x5"])
@pytest.mark.parametrize("lifted", [True, False])
def test_random_interaction_keeps_the_model_optimistic(task, lifted):
    """Soundness once refutations are in: after random steps (resets included), some live
    hypothesis lies within each true precondition, adds contain the true adds, deletes lie
    within the true deletes; precision/recall read 1 where soundness says they must."""
    sim = load_task(task)
    m = OptimisticModel(sim.spec, lifted=lifted)
    rng = random.Random(0)
    s = sim.reset()
    n = len(sim.spec.actions)
    for step in range(600):
        if step % 40 == 0:
            s = sim.reset()
        a = rng.randrange(n)
        ok, t = sim.step(a)
        m.observe(a, s, ok, t if ok else None)
        s = t
    assert soundness(m, sim.true_model()) == {"precondition": True, "add": True, "delete": True}
    scores = model_scores(m, sim.true_model())
    assert scores["pre_precision"] == 1.0 and scores["add_recall"] == 1.0
    assert scores["del_precision"] == 1.0
    assert sim.interactions == 600


def test_transfer_copies_the_lifted_model():
    src = load_task("blocksworld-4-1")
    m = OptimisticModel(src.spec, lifted=True)
    s = src.reset()
    ok, t = src.step(src.spec.actions.index(("unstack", ("b", "c"))))
    m.observe(src.spec.actions.index(("unstack", ("b", "c"))), s, ok, t)
    tgt = load_task("blocksworld-5-1")
    moved = m.transfer_to(tgt.spec)
    i = tgt.spec.actions.index(("unstack", ("e", "a")))
    assert moved.add(i) == tgt.spec.mask([("holding", "e"), ("clear", "a")])
    assert moved.delete(i) == tgt.spec.mask([("on", "e", "a"), ("clear", "e"), ("handempty",)])
    with pytest.raises(ValueError):
        OptimisticModel(src.spec).transfer_to(tgt.spec)
