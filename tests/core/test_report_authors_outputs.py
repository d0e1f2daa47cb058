"""The report and the docs put claims on the authors' released outputs first, in their own
section, even when one of our own runs is newer."""

from neurips23.core.run import Claim, start_run
from neurips23.report.docs import update_docs
from neurips23.report.html import build_report


def _runs(tmp_path):
    theirs = start_run("demo", {"source": "released"}, tmp_path / "runs", profile="released")
    theirs.finish({"on_authors_outputs": True}, [Claim("Paper: A beats B.", "THEIRS-FIGURE",
                                                       "reproduced")], seeds=[0])
    ours = start_run("demo", {"source": "tiny"}, tmp_path / "runs", profile="full")
    ours.finish({"acc": 0.5}, [Claim("Paper: A beats B.", "OUR-FIGURE", "inconclusive")],
                seeds=[0])


def test_report_shows_the_authors_outputs_first(tmp_path):
    _runs(tmp_path)
    page = build_report(tmp_path / "runs", tmp_path / "report").read_text()
    assert (page.index("On the authors' outputs") < page.index("THEIRS-FIGURE")
            < page.index("Our runs") < page.index("OUR-FIGURE"))


def test_report_without_released_runs_has_no_such_section(tmp_path):
    run = start_run("demo", {}, tmp_path / "runs", profile="full")
    run.finish({"acc": 0.5}, [Claim("p", "OUR-FIGURE", "inconclusive")], seeds=[0])
    page = build_report(tmp_path / "runs", tmp_path / "report").read_text()
    assert "On the authors' outputs" not in page and "Our runs" not in page


def test_docs_block_of_a_released_run_says_so(tmp_path, monkeypatch):
    from neurips23.core import run as records

    monkeypatch.setattr(records, "git_dirty", lambda: False)  # runs from a clean tree
    _runs(tmp_path)
    page = tmp_path / "docs" / "demo.md"
    page.parent.mkdir()
    page.write_text("<!-- results: demo released -->\n<!-- end results -->\n"
                    "<!-- results: demo full -->\n<!-- end results -->\n")
    update_docs(tmp_path / "runs", page.parent)
    text = page.read_text()
    theirs, ours = text.split("<!-- results: demo full -->")
    assert "**On the authors' outputs**" in theirs and "THEIRS-FIGURE" in theirs
    assert "On the authors' outputs" not in ours and "OUR-FIGURE" in ours
