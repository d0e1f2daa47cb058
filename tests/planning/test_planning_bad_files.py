"""Bad bytes and bad options through the real CLI: exit 2 with one line, never 'internal error'."""

import subprocess
import sys

from neurips23.pddl.parser import domain_to_pddl, problem_to_pddl
from neurips23.planning.domains.registry import generate_instances, get_domain


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "neurips23.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_non_utf8_plan_and_bad_eval_options_are_clear_errors(tmp_path):
    spec = get_domain("blocksworld")
    [inst] = generate_instances("blocksworld", 1, seed=0, blocks=(3,))
    (tmp_path / "d.pddl").write_text(domain_to_pddl(spec.domain))
    (tmp_path / "p.pddl").write_text(problem_to_pddl(inst.problem))
    (tmp_path / "plan.txt").write_bytes(b"(pick-up a)\n\xff\xfe\n")
    r = _cli("plan", "validate", str(tmp_path / "d.pddl"), str(tmp_path / "p.pddl"),
             str(tmp_path / "plan.txt"))
    assert r.returncode == 2 and "plan.txt:2: not UTF-8 text" in r.stderr and "internal" not in r.stderr
    (tmp_path / "d2.pddl").write_bytes(b"(define (domain x) \xff)")
    r = _cli("plan", "validate", str(tmp_path / "d2.pddl"), str(tmp_path / "p.pddl"),
             str(tmp_path / "plan.txt"))
    assert r.returncode == 2 and "d2.pddl:1: not UTF-8 text" in r.stderr
    r = _cli("plan", "eval", "--model", "unused", "--blocks", "3,x")
    assert r.returncode == 2 and "'blocks': expected an integer, got 'x'" in r.stderr
    r = _cli("plan", "solve", str(tmp_path / "d.pddl"), str(tmp_path / "p.pddl"), "--heuristic", "hff")
    assert r.returncode == 2 and "not admissible" in r.stderr
    r = _cli("plan", "solve", str(tmp_path / "d.pddl"), str(tmp_path / "p.pddl"))
    assert r.returncode == 0 and "solved" in r.stdout
