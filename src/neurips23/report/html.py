"""`neurips23 report`: every run under runs/ gathered into report/index.html (plots embedded)."""

from __future__ import annotations

import base64
import html
import json
from collections import defaultdict
from pathlib import Path

from neurips23.core.run import load_runs
from neurips23.registry import METHODS
from neurips23.report.provenance import provenance_line, verdict_label
from neurips23.utils import atomic_write_text

SELF_CHECK = "substrate"  # the core's own self-check: reported after the papers, not as one

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0} .sub{color:#666;margin-top:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;width:100%}
td,th{border:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f4f4f4} .v-reproduced{color:#176c2a;font-weight:600} .v-not{color:#a11;font-weight:600}
.v-mixed,.v-inconclusive{color:#9a6700;font-weight:600} .v-computed{color:#555;font-style:italic}
.v-check{color:#666;font-style:italic}
.check{background:#fff8e1;border-left:4px solid #e0a800;padding:.4em .7em}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}
details{margin:.5em 0} code{background:#f6f6f6;padding:0 .2em} .meta{color:#666;font-size:90%}
"""


def _verdict_class(v: str, finding: bool = True) -> str:
    if not finding:  # a pipeline check is never coloured as a finding
        return "v-check"
    return "v-not" if v.startswith("not") else f"v-{v.split()[0]}"


def _scalars(d: dict, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    rows = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and depth < 2:
            rows += _scalars(v, key + ".", depth + 1)
        elif isinstance(v, bool | int | str) or v is None:
            rows.append((key, str(v)))
        elif isinstance(v, float):
            rows.append((key, f"{v:.4g}"))
    return rows


def _table_html(name: str, rows: list[dict]) -> str:
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols]
    def cell(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(row.get(c, '')))}</td>" for c in cols)
                   + "</tr>" for row in rows)
    return f"<p><b>{html.escape(name)}</b></p><table><tr>{head}</tr>{body}</table>"


def on_authors_outputs(run: dict) -> bool:
    """Whether a run re-scored the authors' released outputs (a `released` profile) rather than
    running a model of ours."""
    return bool((run.get("metrics") or {}).get("on_authors_outputs"))


def _method_html(rs: list[dict]) -> list[str]:
    """A method's runs, newest first: those on the authors' outputs (the full-scale evidence) in
    their own section first, then our own runs."""
    theirs = [r for r in rs if on_authors_outputs(r)]
    ours = [r for r in rs if not on_authors_outputs(r)]
    if not theirs:
        return [_run_html(r, open_=(i == 0)) for i, r in enumerate(rs)]
    out = ["<h3>On the authors' outputs</h3>", "<p class=meta>The authors' released raw outputs "
           "re-scored with our own code: full-scale evidence, no model run here.</p>"]
    out += [_run_html(r, open_=(i == 0)) for i, r in enumerate(theirs)]
    if ours:
        out.append("<h3>Our runs</h3>")
        out += [_run_html(r, open_=(i == 0)) for i, r in enumerate(ours)]
    return out


def run_plot_files(r: dict) -> list[tuple[str, Path]]:
    """(name, file) of each plot a run names that is a file inside its own folder; any other
    name (`../../secret.txt`, an absolute path, a link out of the folder) gets a warning line
    on stderr and is skipped, so a results.json cannot pull other files into the report."""
    import sys

    run_dir = Path(r["dir"]).resolve()
    out = []
    for name in r.get("plots", []) or []:
        path = (run_dir / str(name)).resolve()
        if not path.is_relative_to(run_dir) or path == run_dir:
            print(f"warning: {r['dir']}/results.json: plot {str(name)!r} is outside the run's "
                  "folder; skipped", file=sys.stderr)
        elif path.is_file():
            out.append((str(name), path))
    return out


def _plots_html(r: dict) -> list[str]:
    """The run's plots, embedded as data URLs."""
    return [f"<img alt='{html.escape(name)}' src='data:image/png;base64,"
            f"{base64.b64encode(path.read_bytes()).decode()}'>" for name, path in run_plot_files(r)]


def _run_html(r: dict, open_: bool) -> str:
    parts = [f"<details{' open' if open_ else ''}><summary><b>{html.escape(r['run_id'])}</b> "
             f"<span class=meta>profile {html.escape(str(r.get('profile')))}, "
             f"{r.get('wall_seconds', 0):.0f} s, {html.escape(provenance_line(r))}"
             f"</span></summary>"]
    if r.get("kind") == "tool":
        parts.append("<p class=check>A run of the method's tool command, not a reproduction: "
                     "it has no verdicts.</p>")
    elif not r.get("finding", True):
        parts.append(f"<p class=check>Profile {html.escape(str(r.get('profile')))}: a pipeline check "
                     "at a size too small to test the claims. Its verdicts are not findings; the "
                     "full profile's are.</p>")
    if r.get("claims"):
        parts.append("<table><tr><th>The paper's claim</th><th>Our measurement</th><th>Verdict</th></tr>")
        for c in r["claims"]:
            label = verdict_label(c, r.get("finding", True))
            parts.append(f"<tr><td>{html.escape(c['paper'])}</td><td>{html.escape(c['ours'])}</td>"
                         f"<td class='{_verdict_class(c['verdict'], r.get('finding', True))}'>"
                         f"{html.escape(label)}</td></tr>")
        parts.append("</table>")
    if r.get("notes"):
        parts.append(f"<p>{html.escape(r['notes'])}</p>")
    for name, rows in (r.get("tables") or {}).items():
        parts.append(_table_html(name, rows))
    parts += _plots_html(r)
    rows = _scalars(r.get("metrics", {}))
    if rows:
        parts.append("<details><summary>metrics</summary><table>")
        parts += [f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(v)}</td></tr>"
                  for k, v in rows[:400]]
        parts.append("</table></details>")
    parts.append(f"<p class=meta>run dir <code>{html.escape(r['dir'])}</code>; seeds "
                 f"{html.escape(str(r.get('seeds')))}</p></details>")
    return "\n".join(parts)


def _summary_entry(r: dict) -> dict:
    """One run in summary.json: each claim with the label its verdict cell shows."""
    finding = r.get("finding", True)
    return {"run_id": r["run_id"], "profile": r.get("profile"), "kind": r.get("kind", "reproduction"),
            "finding": finding,
            "git_commit": r.get("git_commit"), "git_dirty": r.get("git_dirty"),
            "overrides": r.get("overrides", []), "rule_changes": r.get("rule_changes", []),
            "claims": [{**c, "verdict_label": verdict_label(c, finding)}
                       for c in r.get("claims", [])], "dir": r["dir"]}


def _unfinished_html(runs_dir: str | Path) -> list[str]:
    """A list of the runs that have no results (running, failed or interrupted)."""
    from neurips23.core.run import load_unfinished

    rows = load_unfinished(runs_dir)
    if not rows:
        return []
    items = "".join(f"<li><code>{html.escape(r['method'])}/{html.escape(r['run_id'])}</code>: "
                    f"{html.escape(r['status'])}"
                    f"{' (' + html.escape(r['error']) + ')' if r['error'] else ''}</li>"
                    for r in rows)
    return [f"<h2>Unfinished runs</h2><p class=sub>No results: these runs are still running, "
            f"failed or were interrupted (resume one with <code>neurips23 reproduce METHOD "
            f"--resume RUN_ID</code>).</p><ul>{items}</ul>"]


def method_order(methods: set[str]) -> list[str]:
    """The roundup's order (the registry's), the core's self-check last, unknown names after."""
    known = [m.name for m in METHODS if m.name != SELF_CHECK]
    return ([m for m in known if m in methods] + sorted(methods - set(known) - {SELF_CHECK})
            + ([SELF_CHECK] if SELF_CHECK in methods else []))


def _headline_run(rs: list[dict]) -> dict | None:
    """The run a method's summary row shows: its newest finding with claims, else its newest
    run with claims (a pipeline check, marked as such)."""
    with_claims = [r for r in rs if r.get("claims") and r.get("kind", "reproduction") != "tool"]
    return next((r for r in with_claims if r.get("finding", True)), with_claims[0] if with_claims else None)


def _summary_table(by_method: dict[str, list[dict]], order: list[str]) -> list[str]:
    """Method × claim × verdict, from each method's headline run, with links to its section."""
    rows = []
    for method in order:
        r = _headline_run(by_method[method])
        if r is None:
            continue
        finding = r.get("finding", True)
        for c in r["claims"]:
            label = verdict_label(c, finding)
            rows.append(f"<tr><td><a href='#{method}'>{html.escape(method)}</a></td>"
                        f"<td>{html.escape(c['paper'])}</td>"
                        f"<td class='{_verdict_class(c['verdict'], finding)}'>{html.escape(label)}</td>"
                        f"<td class=meta>{html.escape(r['run_id'])}</td></tr>")
    if not rows:
        return []
    return ["<h2 id=summary>Summary</h2><p class=sub>Each method's newest finding run (a pipeline "
            "check only where no finding run exists, marked in the cell).</p><table><tr>"
            "<th>method</th><th>the paper's claim</th><th>verdict</th><th>run</th></tr>",
            *rows, "</table>"]


def _contents(order: list[str], titles: dict[str, str]) -> str:
    items = "".join(f"<li><a href='#{m}'>{html.escape(m)}</a>"
                    f"{': ' + html.escape(titles[m]) if titles.get(m) else ''}"
                    f"{' (the core self-check)' if m == SELF_CHECK else ''}</li>" for m in order)
    return f"<nav><b>Contents</b><ol><li><a href='#summary'>Summary</a></li>{items}</ol></nav>"


def build_report(runs_dir: str | Path = "runs", out_dir: str | Path = "report") -> Path:
    """Write report/index.html and report/summary.json from every finished run: a contents list
    and a summary table, then each method in the roundup's order, newest run first."""
    runs = load_runs(runs_dir)
    by_method: dict[str, list[dict]] = defaultdict(list)
    for r in runs:
        by_method[r["method"]].append(r)
    for method in by_method:
        by_method[method].sort(key=lambda r: r.get("finished", ""), reverse=True)
    order = method_order(set(by_method))
    titles = {m: next((r.get("title") for r in by_method[m] if r.get("title")), "") for m in order}
    body = ["<h1>neurips23 report</h1>",
            f"<p class=sub>{len(runs)} runs from <code>{html.escape(str(runs_dir))}</code>. "
            "For each method: the paper's claim beside our measured figure, newest run first.</p>"]
    if not runs:
        body.append("<p>No finished runs yet: run <code>neurips23 reproduce</code>.</p>")
    else:
        body.append(_contents(order, titles))
        body += _summary_table(by_method, order)
    body += _unfinished_html(runs_dir)
    summary = {}
    for method in order:
        rs = by_method[method]
        heading = html.escape(method) + (": " + html.escape(titles[method]) if titles[method] else "")
        if method == SELF_CHECK:
            heading += " (the core's self-check, not a paper)"
        body.append(f"<h2 id={method}>{heading}</h2>")
        body += _method_html(rs)
        summary[method] = [_summary_entry(r) for r in rs]
    out = Path(out_dir)
    doc = (f"<!doctype html><html><head><meta charset=utf-8><title>neurips23 report</title>"
           f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>")
    atomic_write_text(out / "index.html", doc)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return out / "index.html"
