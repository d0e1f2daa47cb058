"""Behaviours of the official learners (sarathsreedharan/ModelLearner, commit a0d0f5f), each test
citing the file and lines it follows: probing every action in every visited state, grounded
hypotheses over every proposition, and the failure bound's reset, cap and round-robin raise."""

from neurips23.symbolic_rl.explore import execute, optimistic_exploration, probe_all_actions
from neurips23.symbolic_rl.model import OptimisticModel


def _idx(spec) -> dict[str, int]:
    return {" ".join([n, *args]): i for i, (n, args) in enumerate(spec.actions)}


def test_probing_tries_every_action_in_every_visited_state(pick_put):
    """ModelLearnerLiftedV2.py:139-144 (for each state of [init] + observations, reset, replay
    plan[:i], step the action) and :611 (called after every plan); ModelSimulator.py:108-129
    counts each replayed step and the probe itself (step_with_name, :31)."""
    sim, spec = pick_put, pick_put.spec
    idx = _idx(spec)
    model = OptimisticModel(spec)
    plan = [idx["pick a"], idx["put b"]]  # pick a runs, put b fails
    run = execute(sim, model, plan, budget=10_000)
    assert not run.reached and run.states == [spec.init, sim.state]
    before = sim.interactions
    assert before == 2
    n = len(spec.actions)
    tried: list[tuple[int, int]] = []
    observe = model.observe
    model.observe = lambda i, s, ok, t=None, probe=False: (tried.append((i, s)), observe(i, s, ok, t, probe))
    assert probe_all_actions(sim, model, plan, run.states, budget=10_000) is False
    # depth 0: n probes of one step; depth 1: n probes of (replay 1 + probe 1)
    assert sim.interactions - before == n * 1 + n * 2
    assert tried == [(a, s) for s in run.states for a in range(n)]


def test_probing_is_counted_and_can_be_switched_off():
    """Probing is on by default, as in the paper's runs (main.py:23 calls
    learning_step_all_actions_updated); switching it off only executes plans."""
    from neurips23.symbolic_rl.domains import load_task

    sim, sim2 = load_task("gripper-2"), load_task("gripper-2")
    on = optimistic_exploration(sim, OptimisticModel(sim.spec), _first_plans(sim), k=1,
                                budget=100_000)
    off = optimistic_exploration(sim2, OptimisticModel(sim2.spec), _first_plans(sim2), k=1,
                                 budget=100_000, probe=False)
    assert on.found and off.found
    assert on.interactions > off.interactions


def _first_plans(sim):
    from neurips23.symbolic_rl.explore import make_planner

    return make_planner("kshortest", sim.spec, seed=0)


def test_grounded_hypotheses_range_over_every_proposition(pick_put):
    """ModelLearnerMulti.py:125 branches a refuted grounded copy on every proposition not in the
    state (`set(PROP_SET) - obs`), with no check of the action's signature; the lifted learner
    alone restricts branches to the signature (ModelLearnerLiftedV2.py:225)."""
    sim, spec = pick_put, pick_put.spec
    idx = _idx(spec)
    s = sim.reset()  # (free a) (free b)
    ok, _ = sim.step(idx["put b"])  # needs (held b)
    assert not ok
    full, narrow = OptimisticModel(spec), OptimisticModel(spec, grounded_vocabulary="arguments")
    for m in (full, narrow):
        m.observe(idx["put b"], s, ok)
    held_a, held_b = spec.mask([("held", "a")]), spec.mask([("held", "b")])
    assert sorted(full.hypotheses(idx["put b"])) == sorted([held_a, held_b])
    assert narrow.hypotheses(idx["put b"]) == [held_b]


def test_failure_count_is_capped_and_reset_by_a_success(two_actions):
    """ModelLearnerLiftedV2.py:246-249: a failed probe raises the count only while it is below
    the bound; :172-176: one success sets it to -100000 (never capped again); Utils.py:272: an
    action is planned with only while count < bound."""
    sim, spec = two_actions, two_actions.spec
    a = spec.actions.index(("a", ()))
    m = OptimisticModel(spec, failure_bound=2)
    s = sim.reset()
    for _ in range(5):
        ok, _ = sim.step(a)
        m.observe(a, s, ok, probe=True)
    assert m.failures[a] == 2 and m.capped(a)
    assert m.planning_view().hyps[a] == [] and m.planning_view(respect_bounds=False).hyps[a]
    b = spec.actions.index(("b", ()))
    ok, t = sim.step(b)
    ok, t2 = sim.step(a)
    assert ok
    m.observe(a, t, ok, t2)
    assert not m.capped(a)
    m.observe(a, s, False, probe=True)
    assert not m.capped(a)


def test_a_plan_failure_counts_only_when_it_refutes(two_actions):
    """ModelLearnerLiftedV2.py:595-606: a failed plan step raises the count only if some copy's
    precondition held in the state (a refutation); a failure already explained does not."""
    sim, spec = two_actions, two_actions.spec
    a = spec.actions.index(("a", ()))
    m = OptimisticModel(spec)
    s = sim.reset()
    m.observe(a, s, False)  # the empty hypothesis held: refuted, counted
    assert m.failures[a] == 1
    m.observe(a, s, False)  # same state, nothing left to refute: not counted
    assert m.failures[a] == 1


def test_lifted_success_resets_every_grounding_of_the_schema(pick_put):
    """ModelLearnerLiftedV2.py:285-290: after a lifted effect update, every grounding of the
    successfully executed schema has its failure count reset."""
    sim, spec = pick_put, pick_put.spec
    idx = _idx(spec)
    m = OptimisticModel(spec, lifted=True, failure_bound=1)
    s = sim.reset()
    m.observe(idx["put b"], s, False, probe=True)
    assert m.capped(idx["put b"])
    ok, t = sim.step(idx["pick a"])
    ok2, t2 = sim.step(idx["put a"])
    assert ok and ok2
    m.observe(idx["put a"], t, ok2, t2)
    assert not m.capped(idx["put b"])


def test_no_plan_raises_one_capped_bound_round_robin(pick_put):
    """ModelLearnerLiftedV2.py:615-630: when the planner returns no plan, actions are popped from
    the round-robin stack until one whose count equals its bound; only its bound rises by
    UPPERBOUND_INCREMENT (1); the stack is refilled with every action when empty."""
    sim, spec = pick_put, pick_put.spec
    m = OptimisticModel(spec, failure_bound=1)
    s = sim.reset()
    for i in range(len(spec.actions)):
        m.observe(i, s, False, probe=True)
    capped = [i for i in range(len(spec.actions)) if m.capped(i)]
    assert len(capped) == len(spec.actions)
    raised = []
    for _ in range(len(spec.actions)):
        before = list(m.bound)
        assert m.raise_bounds()
        changed = [i for i in range(len(spec.actions)) if m.bound[i] != before[i]]
        assert len(changed) == 1 and m.bound[changed[0]] == before[changed[0]] + 1
        raised += changed
    # popped from the end of the stack: the last action first, each once per pass
    assert raised == list(reversed(range(len(spec.actions))))
    assert not m.raise_bounds()  # none capped any more
