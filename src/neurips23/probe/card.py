"""The probe card of one model (card.json, card.html in the report's style) and the comparison
of two cards side by side (HTML and a console table)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from neurips23.errors import DataError
from neurips23.probe.base import ProbeResult, card_verdict
from neurips23.report.html import _CSS, _table_html, _verdict_class
from neurips23.utils import atomic_write_json, atomic_write_text, package_versions

_EXTRA_CSS = ".v-does{color:#555;font-style:italic} .cols{display:flex;gap:1em} .cols>div{flex:1}"


def card_dict(subject, budget_name: str, budget: dict, results: list[ProbeResult]) -> dict:
    """The card as JSON: the model, its capabilities, the budget, every probe's result."""
    from neurips23.utils import git_commit

    return {"model": subject.label, "backend": subject.backend,
            "fingerprint": subject.fingerprint, "open_weights": subject.has_weights,
            "logprobs": subject.logprobs, "completions": subject.completions,
            "budget": budget_name, "budget_values": budget,
            "probes": [r.as_dict() for r in results], "versions": package_versions(),
            "git_commit": git_commit()}


def _verdict_cell(verdict: str) -> str:
    cls = "v-does" if verdict == "does not apply" else _verdict_class(verdict)
    return f"<td class='{cls}'>{html.escape(card_verdict(verdict))}</td>"


def _probe_html(p: dict) -> str:
    parts = [f"<h2>{html.escape(p['probe'])}</h2>", f"<p class=meta>The finding: "
             f"{html.escape(p['finding'])}</p>"]
    if p["verdict"] == "does not apply":
        parts.append(f"<p class=check>{html.escape(p.get('reason', ''))}</p>")
        return "\n".join(parts)
    parts.append("<table><tr><th>Our measurement on this model</th><th>Rule (declared before "
                 "the run)</th><th>This model</th></tr>")
    for c in p["claims"]:
        rule = c.get("rule") or {}
        rule_text = (f"{rule.get('direction')} {rule.get('threshold')} (n ≥ {rule.get('min_n')}): "
                     f"{rule.get('reason', '')}")
        parts.append(f"<tr><td>{html.escape(c['ours'])}</td><td>{html.escape(rule_text)}</td>"
                     f"{_verdict_cell(c['verdict'])}</tr>")
    parts.append("</table>")
    if p.get("rows"):
        parts.append("<details><summary>per item</summary>"
                     + _table_html("items", p["rows"][:200]) + "</details>")
    return "\n".join(parts)


def card_html(card: dict) -> str:
    """One model's card: a summary table of every probe, then each probe's claims."""
    summary = ["<table><tr><th>Probe</th><th>This model</th><th>Claim</th><th>Claim verdict</th>"
               "</tr>"]
    for p in card["probes"]:
        parts = p["claims"] or [{"statistic": p.get("reason", ""), "verdict": p["verdict"]}]
        span = f" rowspan={len(parts)}" if len(parts) > 1 else ""
        first = (f"<td{span}>{html.escape(p['probe'])}</td>"
                 + _verdict_cell(p["verdict"]).replace("<td", f"<td{span}", 1))
        for i, c in enumerate(parts):
            summary.append(f"<tr>{first if i == 0 else ''}<td>{html.escape(c['statistic'])}</td>"
                           f"{_verdict_cell(c['verdict'])}</tr>")
    summary.append("</table>")
    head = (f"<h1>{html.escape(card['model'])}</h1><p class=sub>backend {html.escape(card['backend'])}"
            f"; open weights: {'yes' if card['open_weights'] else 'no'}; log-probs: "
            f"{'yes' if card['logprobs'] else 'no'}; text completions: "
            f"{'yes' if card.get('completions', True) else 'no (chat only)'}; budget {html.escape(card['budget'])}; "
            f"fingerprint <code>{html.escape(card['fingerprint'])}</code></p>")
    note = ("<p class=check>Each probe states a paper's finding, measures it on this model with an "
            "interval, and reads the interval with a rule fixed in the budget: \"this model shows "
            "it\" when the whole interval is on the finding's side, \"does not show it\" when it is "
            "wholly on the other, otherwise (or when a precondition fails) inconclusive. The quick "
            "budget is sized for minutes, not for tight intervals.</p>")
    body = head + note + "".join(summary) + "".join(_probe_html(p) for p in card["probes"])
    return _page(f"probe card: {card['model']}", body)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_CSS}{_EXTRA_CSS}</style></head><body>{body}</body></html>")


def write_card(out: Path, subject, budget_name: str, budget: dict,
               results: list[ProbeResult]) -> Path:
    """Write card.json and card.html under `out`; returns card.html."""
    card = card_dict(subject, budget_name, budget, results)
    atomic_write_json(Path(out) / "card.json", card)
    atomic_write_text(Path(out) / "card.html", card_html(card))
    return Path(out) / "card.html"


def read_card(path: str | Path) -> dict:
    """A card.json (or the folder holding one); DataError naming the file if it is not a card."""
    p = Path(path)
    if p.is_dir():
        p = p / "card.json"
    try:
        card = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise DataError(f"{p}: cannot read the card ({e.strerror})") from None
    except ValueError as e:
        raise DataError(f"{p}: not JSON ({e})") from None
    if not isinstance(card, dict) or "probes" not in card or "model" not in card:
        raise DataError(f"{p}: not a probe card (no 'model' and 'probes' fields)")
    return card


def comparison_rows(a: dict, b: dict) -> list[dict]:
    """One row per probe (in A's order, then B's extras): each model's verdict and headline."""
    def by(card):
        return {p["probe"]: p for p in card["probes"]}

    pa, pb = by(a), by(b)
    names = list(pa) + [n for n in pb if n not in pa]

    def cell(p: dict | None) -> tuple[str, str]:
        if p is None:
            return "not run", ""
        if p["verdict"] == "does not apply":
            return "does not apply", p.get("reason", "")
        return card_verdict(p["verdict"]), "; ".join(c["ours"] for c in p["claims"])

    rows = []
    for n in names:
        va, oa = cell(pa.get(n))
        vb, ob = cell(pb.get(n))
        rows.append({"probe": n, "A": va, "A measured": oa, "B": vb, "B measured": ob})
    return rows


def compare_html(a: dict, b: dict) -> str:
    """Two cards side by side: the probes as rows, each model's verdict and measurement."""
    rows = comparison_rows(a, b)
    out = [f"<h1>{html.escape(a['model'])} vs {html.escape(b['model'])}</h1>",
           f"<p class=sub>A: {html.escape(a['model'])} ({html.escape(a['budget'])} budget); "
           f"B: {html.escape(b['model'])} ({html.escape(b['budget'])} budget)</p>"]
    if a.get("budget_values") != b.get("budget_values"):
        out.append("<p class=check>The two cards were measured with different budgets: their "
                   "sample counts or rules differ.</p>")
    out.append("<table><tr><th>Probe</th><th>A</th><th>A measured</th><th>B</th>"
               "<th>B measured</th></tr>")
    for r in rows:
        out.append(f"<tr><td>{html.escape(r['probe'])}</td>{_cmp_cell(r['A'])}"
                   f"<td>{html.escape(r['A measured'])}</td>{_cmp_cell(r['B'])}"
                   f"<td>{html.escape(r['B measured'])}</td></tr>")
    out.append("</table>")
    return _page(f"{a['model']} vs {b['model']}", "".join(out))


def _cmp_cell(says: str) -> str:
    verdict = {"this model shows it": "reproduced", "this model does not show it":
               "not reproduced"}.get(says, says)
    cls = "v-does" if says in ("does not apply", "not run") else _verdict_class(verdict)
    return f"<td class='{cls}'>{html.escape(says)}</td>"
