"""What a reader must see beside a verdict: whether it is a finding or a pipeline check, why an
"inconclusive" is one, the rule it was judged by, and whether the run may be published (a clean
tree at one commit, the declared rules, no --set overrides)."""

from __future__ import annotations

from collections.abc import Collection

from neurips23.core.claims import rule_text

PIPELINE_CHECK = "pipeline check, not a finding"


def verdict_label(claim: dict, finding: bool = True) -> str:
    """The verdict cell: "inconclusive (n 2 < min_n 3)"; a quick run's verdicts carry the
    pipeline-check mark in the cell itself."""
    label = str(claim.get("verdict", ""))
    if label == "inconclusive" and claim.get("why"):
        label += f" ({claim['why']})"
    if not finding:
        label += f" [{PIPELINE_CHECK}]"
    return label


def claim_rule(claim: dict) -> str:
    """The rule a claim was judged by, in one line (empty for computed identities)."""
    return rule_text(claim.get("rule"))


def publish_problems(run: dict) -> list[str]:
    """Why a run's results may not be published as they stand (empty: it may)."""
    out = []
    if run.get("git_dirty"):
        out.append("the tree had uncommitted changes when the run started")
    end = run.get("git_commit_end")
    if end and run.get("git_commit") and end != run.get("git_commit"):
        out.append(f"HEAD moved during the run ({str(run['git_commit'])[:10]} → {end[:10]})")
    if run.get("overrides"):
        out.append("--set " + " ".join(run["overrides"]))
    if run.get("config_file"):
        out.append(f"--config {run['config_file']} (not the profile as declared)")
    changed = [c["rule"] for c in run.get("rule_changes") or []]
    if changed:
        out.append("rules differ from the declared ones: " + ", ".join(changed))
    return out


def provenance_line(run: dict) -> str:
    """Commit and tree state, and any departure from the declared config, in one sentence."""
    commit = str(run.get("git_commit") or "unknown")[:10]
    dirty = run.get("git_dirty")
    state = ("uncommitted changes" if dirty else "clean tree" if dirty is False
             else "tree state not recorded")
    extra = "; ".join(p for p in publish_problems(run) if not p.startswith("the tree"))
    return f"commit {commit}, {state}" + (f"; {extra}" if extra else "")


def check_publishable(runs: list[dict], accept: Collection[str] = ()) -> None:
    """UserError naming every run that may not feed the docs, unless accepted by its run id."""
    from neurips23.errors import UserError

    bad = [(r, publish_problems(r)) for r in runs if r["run_id"] not in accept]
    bad = [(r, p) for r, p in bad if p]
    if bad:
        raise UserError("refusing to generate docs blocks from "
                        + "; ".join(f"run {r['run_id']} ({r['method']}): {', '.join(p)}"
                                    for r, p in bad)
                        + ". Re-run from a clean commit with the declared rules, or pass "
                        "--accept RUN_ID to publish it with these facts printed in its block")
