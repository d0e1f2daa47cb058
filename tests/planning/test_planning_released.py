"""PlanBench's released GPT-4 answers validated with our reader and validator: verdicts checked
against VAL's flags in their files (written by the real tool), their table's counts, every rule
of the released profile where the paper's statement is false, true and underpowered, and broken
validators that must not read "reproduced"."""

import json

import pytest

from neurips23.core.claims import Rule
from neurips23.core.reproduction import get_reproduction, resolve_config
from neurips23.errors import DataError
from neurips23.planning.released import (
    disagreements,
    released_claims,
    score_generation,
    score_verification,
    success_table,
    verification_table,
)

RULES = {"released_validator_agrees": Rule("above", 0.99, min_n=100),
         "released_autonomous": Rule("below", 0.5, min_n=30),
         "released_obfuscation": Rule("below", 0.0, min_n=30),
         "released_backprompt": Rule("above", 0.0, min_n=30)}
# GPT-4 successes / answers, as counted from VAL's flags in their files (Blocksworld and Mystery:
# 500 + 100 instances)
COUNTS = {("Blocksworld", "NL one-shot"): (206, 600), ("Blocksworld", "NL zero-shot"): (210, 600),
          ("Blocksworld", "PDDL one-shot"): (75, 600), ("Blocksworld", "PDDL zero-shot"): (106, 600),
          ("Blocksworld", "back-prompting"): (41, 50),
          ("Blocksworld", "NL one-shot, state tracking"): (55, 100),
          ("Mystery Blocksworld", "NL one-shot"): (26, 600),
          ("Mystery Blocksworld", "NL zero-shot"): (0, 600),
          ("Mystery Blocksworld", "PDDL one-shot"): (17, 600),
          ("Mystery Blocksworld", "PDDL zero-shot"): (3, 600),
          ("Mystery Blocksworld", "back-prompting"): (5, 50),
          ("Mystery Blocksworld", "NL one-shot, state tracking"): (21, 100),
          ("Logistics", "NL one-shot"): (28, 200), ("Logistics", "NL zero-shot"): (15, 200),
          ("Logistics", "PDDL one-shot"): (28, 200), ("Logistics", "PDDL zero-shot"): (11, 200),
          ("Logistics", "back-prompting"): (35, 50)}


@pytest.fixture(scope="module")
def rows():
    return score_generation()


@pytest.fixture(scope="module")
def ver():
    return score_verification()


def test_success_counts_equal_val_and_their_table(rows):
    table = success_table(rows)
    assert {(r["domain"], r["setting"]): (r["ours"], r["n"]) for r in table} == COUNTS
    assert all(r["VAL"] == r["ours"] for r in table)
    for r in table:  # their table's percentages, to the tenth
        if r["their table (%)"] != "":
            assert round(100 * r["success"], 1) == r["their table (%)"]
    assert disagreements(rows) == []


def test_verification_plans_judged_as_val_does(ver):
    """PlanBench task 3: the plan in each query is the instance's (same statement), our verdict
    on it equals VAL's, and GPT-4's right/wrong by our verdict equals their flag."""
    t = {r["domain"]: r for r in verification_table(ver)}
    for dom, right in (("Blocksworld", 570), ("Mystery Blocksworld", 449)):
        assert t[dom]["plans"] == 600 and t[dom]["valid (VAL)"] == 187
        assert t[dom]["statement equals the instance's"] == 600
        assert t[dom]["our validator agrees with VAL"] == 600
        assert t[dom]["GPT-4 right (by our validator)"] == t[dom]["GPT-4 right (their flag)"]
        assert t[dom]["GPT-4 right (their flag)"] == right
    assert disagreements(ver) == []


def test_claims_on_the_authors_outputs(rows, ver):
    claims = released_claims(RULES, 0.5, rows, ver)
    assert [c.verdict for c in claims] == ["reproduced"] * 4
    assert all("authors' outputs" in c.paper for c in claims[1:])


def synthetic(bw: int, mystery: int, logistics: int, backprompt: int, n: int = 600) -> list:
    """Rows where the last k (of n) one- and zero-shot answers of each domain are valid and the
    first `backprompt` (of n) back-prompted ones (VAL agreeing)."""
    out = []
    specs = [("Blocksworld", "blocksworld", bw, n), ("Mystery Blocksworld", "mystery", mystery, n),
             ("Logistics", "logistics", logistics, n // 3)]
    for dom, folder, k, m in specs:
        for setting in ("NL one-shot", "NL zero-shot"):
            out += [{"file": f"{folder}/{setting}", "domain": dom, "setting": setting,
                     "instance": i, "ours": i >= m - k * m // n, "val": i >= m - k * m // n}
                    for i in range(m)]
        out += [{"file": f"{folder}/bp", "domain": dom, "setting": "back-prompting",
                 "instance": i, "ours": i < backprompt * 50 // n,
                 "val": i < backprompt * 50 // n} for i in range(min(50, m))]
    for r in out:  # back-prompting's problems are the first one-shot ones
        r["file"] = r["file"].split("/")[0] + "/x"
    return out


def verdicts(rows):
    return [c.verdict for c in released_claims(RULES, 0.5, rows, [])[1:]]


def test_rules_where_the_paper_is_true_false_and_underpowered():
    # true: mostly invalid, mystery collapses, feedback helps
    assert verdicts(synthetic(200, 20, 80, 480)) == ["reproduced"] * 3
    # false: mostly valid, mystery as good as blocksworld, feedback no better than one-shot
    assert verdicts(synthetic(600, 600, 600, 0)) == ["not reproduced"] * 3
    # underpowered: 20 answers per domain, fewer than min_n
    assert verdicts(synthetic(6, 1, 3, 15, n=20)) == ["inconclusive"] * 3


@pytest.mark.parametrize("check", [lambda spec, problem, text: False,
                                   lambda spec, problem, text: True],
                         ids=["accepts nothing", "accepts everything"])
def test_a_broken_validator_never_reads_reproduced(check):
    claims = released_claims(RULES, 0.5, score_generation(check=check),
                             score_verification(check=check))
    assert "reproduced" not in {c.verdict for c in claims}
    assert claims[0].verdict == "not reproduced"


def test_a_missing_or_bad_file_names_the_problem(tmp_path):
    with pytest.raises(DataError, match="gpt4_responses.json.gz: released file not found"):
        score_generation(tmp_path)
    (tmp_path / "gpt4_responses.json.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="not a gzip-compressed JSON file"):
        score_generation(tmp_path)


def test_released_profile_runs_without_a_model(tmp_path):
    from neurips23.core.reproduction import reproduce

    repro = get_reproduction("planning")
    assert "released" in repro.finding_profiles
    assert resolve_config(repro, "released").source == "released"
    run_dir = reproduce("planning", "released", runs_dir=tmp_path / "runs")
    res = json.loads((run_dir / "results.json").read_text())
    assert res["finding"] and res["metrics"]["on_authors_outputs"]
    assert res["metrics"]["validator_vs_val"] == {"verdicts": 7150, "disagreements": []}
