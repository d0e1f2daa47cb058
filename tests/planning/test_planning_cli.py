"""`neurips23 plan ...`: validate's exit codes and messages, generate, solve, bad input."""

import sys
from pathlib import Path

import pytest

from neurips23.cli import main


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["neurips23", *map(str, args)])
    with pytest.raises(SystemExit) as e:
        main()
    out = capsys.readouterr()
    return e.value.code, out.out, " ".join(out.err.split())  # rich wraps long lines


@pytest.fixture
def instances(tmp_path, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "plan", "generate", "--domain", "blocksworld",
                       "--n", "3", "--seed", "1", "--blocks", "4", "--out", tmp_path)
    assert code in (0, None) and "wrote 3 blocksworld instances" in out
    return tmp_path


def test_validate_exit_codes(instances, monkeypatch, capsys):
    d, p, plan = instances / "domain.pddl", instances / "instance-1.pddl", instances / "instance-1.plan"
    code, out, _ = run(monkeypatch, capsys, "plan", "validate", d, p, plan)
    assert code == 0 and "Plan valid" in out
    lines = plan.read_text().splitlines()
    bad = instances / "bad.plan"
    bad.write_text("\n".join(lines[1:]) + "\n")
    code, out, _ = run(monkeypatch, capsys, "plan", "validate", "-v", d, p, bad)
    assert code == 1 and "Plan failed to execute" in out and "Plan Repair Advice" in out
    short = instances / "short.plan"
    short.write_text("\n".join(lines[:-1]) + "\n")
    code, out, _ = run(monkeypatch, capsys, "plan", "validate", d, p, short)
    assert code == 1 and "Goal not satisfied" in out
    unknown = instances / "unknown.plan"
    unknown.write_text("(teleport a b)\n")
    code, _, err = run(monkeypatch, capsys, "plan", "validate", d, p, unknown)
    assert code == 2 and "unknown.plan:1: no matching action defined for 'teleport'" in err
    broken = instances / "broken.pddl"
    broken.write_text("(define (problem x)\n  (:domain blocksworld-4ops\n")
    code, _, err = run(monkeypatch, capsys, "plan", "validate", d, broken, plan)
    assert code == 2 and "broken.pddl:2:3: '(' is never closed" in err
    code, _, err = run(monkeypatch, capsys, "plan", "validate", d, p, instances / "nope.plan")
    assert code == 2 and "nope.plan: plan file not found" in err


def test_validate_names_the_failing_step_without_verbose(monkeypatch, capsys, tmp_path):
    """PlanBench's blocksworld instance-1 (b on c; a, c, d on the table; goal (on c b))."""
    data = Path(__file__).parent / "data" / "planbench" / "instances" / "blocksworld"
    d, p = data / "generated_domain.pddl", data / "generated_basic" / "instance-1.pddl"
    plan = tmp_path / "model.plan"
    plan.write_text("(unstack b c)\n(put-down b)\n(pick-up e)\n(stack e b)\n")
    code, out, _ = run(monkeypatch, capsys, "plan", "validate", d, p, plan)
    assert code == 1
    assert out == "Plan failed to execute\nstep 3 (pick-up e): unknown object e\nPlan invalid\n"
    plan.write_text("(unstack b c)\n(stack b a)\n(pick-up c)\n(stack c a)\n")
    code, out, _ = run(monkeypatch, capsys, "plan", "validate", d, p, plan)
    assert code == 1 and "step 4 (stack c a): unsatisfied precondition (clear a)" in out
    plan.write_text("(unstack b c)\n(put-down b)\n")
    code, out, _ = run(monkeypatch, capsys, "plan", "validate", d, p, plan)
    assert code == 1 and "Goal not satisfied\nunsatisfied goal (on c b) after the last step" in out
    plan.write_text("(unstack b c)\n(stack b a)\n(pick-up c)\n(stack c b)\n")
    code, out, _ = run(monkeypatch, capsys, "plan", "validate", d, p, plan)
    assert code == 0 and "Plan valid" in out


def test_solve_and_bad_options(instances, monkeypatch, capsys):
    d, p = instances / "domain.pddl", instances / "instance-2.pddl"
    code, out, _ = run(monkeypatch, capsys, "plan", "solve", d, p)
    optimal = (instances / "instance-2.plan").read_text().splitlines()
    assert code == 0 and f"; solved: length {len(optimal)}" in out
    code, _, err = run(monkeypatch, capsys, "plan", "eval", "--mode", "dream", "--model", "x")
    assert code == 2 and "'mode': 'dream' is not one of autonomous" in err
    code, _, err = run(monkeypatch, capsys, "plan", "generate", "--domain", "sokoban")
    assert code == 2 and "unknown domain 'sokoban'" in err
