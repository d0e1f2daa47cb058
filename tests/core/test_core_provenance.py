"""What a reader sees beside each verdict: --set overrides and changed rules recorded and
named, a dirty or moving tree flagged, `report --docs` refusing such runs unless accepted, the
pipeline-check mark in the verdict cell itself, and why an "inconclusive" is one."""

import dataclasses
import json

import pytest

import neurips23.core.run as records
from neurips23.core.claims import Rule, measured_claim
from neurips23.core.reproduction import Reproduction, resolve_config, run_provenance
from neurips23.core.run import load_runs, start_run
from neurips23.errors import UserError
from neurips23.report.docs import update_docs
from neurips23.report.html import build_report


@dataclasses.dataclass
class DemoConfig:
    steps: int = 10
    gain: Rule = dataclasses.field(default_factory=lambda: Rule(
        "above", 0.1, min_n=3, reason="the paper's gain is 0.3; 0.1 is far from chance"))


REPRO = Reproduction(name="demo", title="Demo", config=DemoConfig,
                     profiles={"quick": {"steps": 2}, "full": {}}, run=lambda cfg, run: None)


def _claim(n=3, low=0.2, high=0.4, rule=None):
    return measured_claim("A beats B", "A - B", (low + high) / 2, (low, high),
                          rule or DemoConfig().gain, n=n)


def _page(tmp_path, profile="full"):
    page = tmp_path / "docs" / "demo.md"
    page.parent.mkdir(exist_ok=True)
    page.write_text(f"<!-- results: demo {profile} -->\nold\n<!-- end results -->\n")
    return page


def _run(tmp_path, monkeypatch, dirty=False, start="aaaa", end="aaaa", overrides=(),
         profile="full", claims=None):
    monkeypatch.setattr(records, "git_dirty", lambda: dirty)
    monkeypatch.setattr(records, "git_commit", lambda: start)
    cfg = resolve_config(REPRO, profile, overrides=list(overrides))
    run = start_run("demo", cfg, tmp_path / "runs", profile, finding=profile == "full",
                    provenance=run_provenance(REPRO, profile, cfg, None, list(overrides)))
    monkeypatch.setattr(records, "git_commit", lambda: end)
    run.finish({}, claims if claims is not None else [_claim(rule=cfg.gain)])
    return run


def test_an_overridden_rule_says_so_and_the_record_keeps_the_override(tmp_path, monkeypatch):
    cfg = resolve_config(REPRO, "full", overrides=["gain.threshold=0.0"])
    assert cfg.gain.reason.startswith("OVERRIDDEN (threshold 0.1 → 0.0; declared: above 0.1")
    assert "far from chance" in cfg.gain.reason  # the declared reason is still quoted
    assert resolve_config(REPRO, "full").gain.reason == DemoConfig().gain.reason
    run = _run(tmp_path, monkeypatch, overrides=["gain.threshold=0.0"])
    res = json.loads((run.dir / "results.json").read_text())
    assert res["overrides"] == ["gain.threshold=0.0"]
    assert res["rule_changes"][0]["rule"] == "gain" and "0.1 → 0.0" in res["rule_changes"][0]["changed"]
    head = (run.dir / "config.resolved.yaml").read_text().splitlines()
    assert head[0] == "# --set gain.threshold=0.0" and head[1].startswith("# rule gain differs")
    assert res["claims"][0]["rule"]["reason"].startswith("OVERRIDDEN")


def test_records_carry_the_dirty_flag_and_the_commit_at_both_ends(tmp_path, monkeypatch):
    run = _run(tmp_path, monkeypatch, dirty=True, start="aaaa", end="bbbb")
    res = json.loads((run.dir / "results.json").read_text())
    assert res["git_dirty"] is True and res["git_commit"] == "aaaa"
    assert res["git_commit_end"] == "bbbb"


@pytest.mark.parametrize("kw, why", [
    ({"dirty": True}, "uncommitted changes"),
    ({"end": "bbbb"}, "HEAD moved during the run"),
    ({"overrides": ["gain.threshold=0.0"]}, "--set gain.threshold=0.0"),
    ({"overrides": ["steps=3"]}, "--set steps=3"),
])
def test_report_docs_refuses_an_unclean_run_unless_accepted(tmp_path, monkeypatch, kw, why):
    page = _page(tmp_path)
    run = _run(tmp_path, monkeypatch, **kw)
    with pytest.raises(UserError, match=why):
        update_docs(tmp_path / "runs", page.parent)
    assert "old" in page.read_text()  # nothing written
    update_docs(tmp_path / "runs", page.parent, accept=(run.id,))
    text = page.read_text()
    assert "Published by explicit acceptance despite" in text and why in text


def test_a_clean_block_prints_the_rule_each_claim_was_judged_by(tmp_path, monkeypatch):
    page = _page(tmp_path)
    _run(tmp_path, monkeypatch)
    update_docs(tmp_path / "runs", page.parent)
    text = page.read_text()
    assert "| rule |" in text and "above 0.1 (min_n 3)" in text
    assert "commit aaaa, clean tree" in text and "acceptance" not in text


def test_inconclusive_shows_its_reason():
    assert _claim(n=2).why == "n 2 < min_n 3"
    assert _claim(low=-0.1, high=0.4).why == "interval [-0.1, 0.4] contains 0.1"
    pre = measured_claim("x", "s", 0.3, (0.2, 0.4), DemoConfig().gain, n=3,
                         preconditions=[("the baseline learned", False)])
    assert pre.why == "precondition not met: the baseline learned"
    assert _claim().why == ""


def test_a_quick_run_carries_the_pipeline_check_mark_in_every_verdict_cell(tmp_path, monkeypatch):
    page = _page(tmp_path, "quick")
    _run(tmp_path, monkeypatch, profile="quick", claims=[_claim(), _claim(n=2)])
    update_docs(tmp_path / "runs", page.parent)
    text = page.read_text()
    assert "| reproduced [pipeline check, not a finding] |" in text
    assert "| inconclusive (n 2 < min_n 3) [pipeline check, not a finding] |" in text
    index = build_report(tmp_path / "runs", tmp_path / "report")
    html = index.read_text()
    assert "reproduced [pipeline check, not a finding]" in html
    assert "class='v-reproduced'" not in html  # never coloured as a finding
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    [entry] = summary["demo"]
    assert entry["finding"] is False
    assert [c["verdict_label"] for c in entry["claims"]] == [
        "reproduced [pipeline check, not a finding]",
        "inconclusive (n 2 < min_n 3) [pipeline check, not a finding]"]
    assert load_runs(tmp_path / "runs")[0]["claims"][1]["why"] == "n 2 < min_n 3"


def test_a_config_file_that_changes_a_rule_is_named_and_refused(tmp_path, monkeypatch):
    f = tmp_path / "loose.yaml"
    f.write_text("gain:\n  min_n: 1\n")
    cfg = resolve_config(REPRO, "full", f)
    assert cfg.gain.reason.startswith("OVERRIDDEN (min_n 3 → 1")
    prov = run_provenance(REPRO, "full", cfg, f, [])
    assert prov["config_file"] == str(f) and prov["rule_changes"][0]["rule"] == "gain"
    from neurips23.report.provenance import publish_problems

    problems = publish_problems({"config_file": str(f), **prov})
    assert any("--config" in p for p in problems) and any("rules differ" in p for p in problems)
