"""`neurips23 symbolic-rl`: learn end to end (its plan checked by the validator), budget
exhaustion, bad input, the baseline command."""

import sys

import pytest

from neurips23.cli import main
from neurips23.symbolic_rl.domains import task_files


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["neurips23", *map(str, args)])
    with pytest.raises(SystemExit) as e:
        main()
    out = capsys.readouterr()
    return e.value.code, out.out, " ".join(out.err.split())


def test_learn_writes_a_valid_plan_and_a_readable_model(tmp_path, monkeypatch, capsys):
    from neurips23.pddl.parser import load_domain, load_problem
    from neurips23.pddl.validate import parse_plan, validate_plan

    d, p = task_files("blocksworld-4-2")
    code, out, _ = run(monkeypatch, capsys, "symbolic-rl", "learn", d, p, "--out", tmp_path,
                       "--lifted", "--seed", "1", "--budget", "5000")
    assert code == 0 and "interactions: " in out
    dom = load_domain(d)
    steps = parse_plan((tmp_path / "plan.txt").read_text(), "plan.txt")
    assert steps and validate_plan(dom, load_problem(p, dom), steps).valid
    learned = load_domain(tmp_path / "learned-domain.pddl")
    load_problem(tmp_path / "learned-problem.pddl", learned)
    code, out, _ = run(monkeypatch, capsys, "plan", "validate", d, p, tmp_path / "plan.txt")
    assert code == 0 and "Plan valid" in out


def test_budget_exhausted_exits_one_and_leaves_no_plan(tmp_path, monkeypatch, capsys):
    d, p = task_files("blocksworld-4-2")
    (tmp_path / "plan.txt").write_text("(stale)\n")
    code, out, _ = run(monkeypatch, capsys, "symbolic-rl", "learn", d, p, "--out", tmp_path,
                       "--budget", "5")
    assert code == 1 and "interactions: 5" in out and "within 5 interactions" in out
    assert not (tmp_path / "plan.txt").exists() and (tmp_path / "learned-domain.pddl").exists()


def test_bad_input_is_one_line_and_exit_two(tmp_path, monkeypatch, capsys):
    d, p = task_files("blocksworld-4-2")
    broken = tmp_path / "broken.pddl"
    broken.write_text("(define (domain x)\n  (:predicates (p)\n")
    code, _, err = run(monkeypatch, capsys, "symbolic-rl", "learn", broken, p, "--out", tmp_path)
    assert code == 2 and "broken.pddl:2:3: '(' is never closed" in err
    wrong = tmp_path / "wrong.pddl"
    wrong.write_text(p.read_text().replace("(on c d)", "(on c zz)"))
    code, _, err = run(monkeypatch, capsys, "symbolic-rl", "learn", d, wrong, "--out", tmp_path)
    assert code == 2 and "wrong.pddl:" in err and "unknown object 'zz'" in err
    code, _, err = run(monkeypatch, capsys, "symbolic-rl", "learn", d, p, "--out", tmp_path,
                       "--budget", "0")
    assert code == 2 and "--budget 0" in err
    code, _, err = run(monkeypatch, capsys, "symbolic-rl", "learn", d, p, "--out", tmp_path,
                       "--planner", "magic")
    assert code == 2 and "--planner 'magic'" in err
    code, _, err = run(monkeypatch, capsys, "symbolic-rl", "baseline", d, p, "--method", "ppo")
    assert code == 2 and "--method 'ppo'" in err


def test_baseline_and_tasks_commands(monkeypatch, capsys):
    d, p = task_files("gripper-2")
    code, out, _ = run(monkeypatch, capsys, "symbolic-rl", "baseline", d, p, "--method", "rmax")
    assert code == 0 and "reached the goal" in out
    code, out, _ = run(monkeypatch, capsys, "symbolic-rl", "tasks")
    assert code in (0, None) and "doorkey-6x6" in out


@pytest.fixture(scope="module")
def sixty_blocks(tmp_path_factory):
    """A 60-block Blocksworld problem: minutes of exploration, far past a 2 s limit."""
    import random

    from neurips23.pddl.parser import domain_to_pddl, problem_to_pddl
    from neurips23.planning.domains import blocksworld
    from neurips23.planning.domains.registry import get_domain

    root = tmp_path_factory.mktemp("bw60")
    (root / "d.pddl").write_text(domain_to_pddl(get_domain("blocksworld").domain))
    prob = blocksworld.generate_problems(60, 1, random.Random(0))[0]
    (root / "p.pddl").write_text(problem_to_pddl(prob))
    return root / "d.pddl", root / "p.pddl"


def test_learn_stops_at_its_time_limit_with_progress_lines(sixty_blocks, tmp_path, monkeypatch,
                                                            capsys):
    import neurips23.symbolic_rl.cli as cli

    monkeypatch.setattr(cli, "PROGRESS_SECONDS", 0.0)  # every progress line, however short
    code, out, err = run(monkeypatch, capsys, "symbolic-rl", "learn", *sixty_blocks, "--out",
                         tmp_path / "o", "--time-limit", "4")
    assert code == 1 and "timeout: time limit reached during" in out
    assert "reading and grounding" in err  # progress is shown on the way


def test_learn_memory_limit_is_one_clear_line(sixty_blocks, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["neurips23", "symbolic-rl", "learn", *map(str, sixty_blocks),
                                      "--out", str(tmp_path / "o"), "--memory-limit", "1"])
    with pytest.raises(SystemExit) as e:
        main()
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert e.value.code == 2 and len(lines) == 1 and "memory limit of 1 MB reached" in lines[0]


def test_a_command_run_inside_a_longer_process_counts_from_its_own_start():
    """A time limit counts the command's own start-up when the process was started for it, and
    counts from the entry point's call inside a longer-lived host (pytest, a notebook): a
    full test session once ate a 600 s limit before `learn` had read its files."""
    import time

    from neurips23.pddl import limits
    from neurips23.utils import mark_command_start

    with open("/proc/self/stat") as f:
        started = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        host_age = float(f.read().split()[0]) - started / __import__("os").sysconf("SC_CLK_TCK")
    mark_command_start(own_process=False)
    t0 = time.monotonic()
    assert limits.process_age() <= time.monotonic() - t0 + 0.5 < host_age + 0.5
    mark_command_start(own_process=True)
    assert limits.process_age() >= host_age - 0.5


def test_learn_reads_its_options_from_a_config_file(tmp_path, monkeypatch, capsys):
    d, p = task_files("blocksworld-4-2")
    (tmp_path / "learn.yaml").write_text(f"out: {tmp_path / 'o'}\nbudget: 5\nlifted: true\n")
    code, out, _ = run(monkeypatch, capsys, "symbolic-rl", "learn", d, p, "--config",
                       tmp_path / "learn.yaml")
    assert code == 1 and "interactions: 5" in out and (tmp_path / "o" / "learned-domain.pddl").exists()
    code, _, err = run(monkeypatch, capsys, "symbolic-rl", "learn", d, p)
    assert code == 2 and "--out is required" in err
    code, _, err = run(monkeypatch, capsys, "symbolic-rl", "learn", d, p, "--out", tmp_path,
                       "--time-limit", "nan")
    assert code == 2 and "time_limit" in err and "finite" in err
