"""`emergence analyze` on logs written by lm-evaluation-harness itself (tests/emergence/data/
harness, made by make_harness_logs.py): every output type scored as the harness scores it,
checked sample by sample against the metrics the harness logged and task by task against the
aggregates in its results files."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from neurips23.emergence.analysis import analyze, sample_metrics
from neurips23.emergence.harness import find_runs, parse_targets, read_harness_logs
from neurips23.emergence.metrics import token_edit_distance
from neurips23.errors import DataError

DATA = Path(__file__).parent / "data" / "harness"
BY_MODEL, ONE_FOLDER = DATA / "by_model", DATA / "one_folder"
MODELS = ["models/nano", "models/micro", "models/mini"]


@pytest.fixture(scope="module")
def by_model():
    return read_harness_logs(BY_MODEL)


@pytest.fixture(scope="module")
def analysis(by_model):
    return analyze(by_model.records)


def _results(layout: Path) -> dict[tuple[str, str], dict]:
    """(model, task) -> the harness's aggregated results of the newest run."""
    out = {}
    for path in sorted(layout.rglob("*.json")):
        res = json.loads(path.read_text())
        for task, values in res["results"].items():
            out[(res["model_name"], task)] = values  # files sort by date: newest wins
    return out


def test_every_output_type_is_read_as_what_it_is(by_model):
    kinds = {r.task.split("/")[0]: r.output_type for r in by_model.records}
    assert kinds == {"mirage_gsm": "generate_until", "mirage_trivia": "generate_until",
                     "mirage_gsm8k": "generate_until", "mirage_add": "generate_until",
                     "mirage_mc": "multiple_choice", "mirage_arith": "loglikelihood",
                     "mirage_text": "loglikelihood_rolling"}
    arith = [r for r in by_model.records if r.output_type == "loglikelihood"]
    assert all(r.option_logprobs is None and r.targets[0].isdigit() for r in arith)
    text = [r for r in by_model.records if r.output_type == "loglikelihood_rolling"]
    assert all(r.prediction is None and r.loglikelihood < 0 for r in text)
    # gsm8k-style: one row set per filter
    assert {r.task for r in by_model.records if r.task.startswith("mirage_gsm/")} == {
        "mirage_gsm/strict-match", "mirage_gsm/flexible-extract"}


def test_exact_match_is_the_harness_exact_match_on_every_sample(by_model):
    """gsm8k's regexes_to_ignore turn the worked target into its number; triviaqa-style list
    targets match any alias; both filters of the same generations are scored separately."""
    seen = {}
    for rec in by_model.records:
        if rec.output_type == "generate_until":
            m = sample_metrics(rec)
            assert m["exact_match"] == rec.given["exact_match"], (rec.task, rec.prediction)
            assert (m["token_edit_distance"] == 0) == (m["exact_match"] == 1)
            seen.setdefault(rec.task, []).append(m["exact_match"])
    assert set(seen) == {"mirage_gsm/strict-match", "mirage_gsm/flexible-extract",
                         "mirage_trivia/remove_whitespace", *GENERATION_TASKS}
    assert any(v == 1.0 for vs in seen.values() for v in vs)  # not all trivially 0


def test_edit_distance_is_against_the_normalised_target():
    rec = next(r for r in read_harness_logs(BY_MODEL).records
               if r.task == "mirage_gsm/flexible-extract")
    target = rec.targets[0].split("#### ")[-1]  # gsm8k's "(?s).*#### " regex, by hand
    pred = "" if rec.prediction == "[invalid]" else rec.prediction
    assert sample_metrics(rec)["token_edit_distance"] == token_edit_distance(list(pred),
                                                                             list(target))


def test_list_targets_are_read_back_as_lists_never_evaluated():
    assert parse_targets("['Mars', 'mars']", "x") == ["Mars", "mars"]
    assert parse_targets("42", "x") == ["42"]
    assert parse_targets("[not a literal", "x") == ["[not a literal"]
    assert parse_targets("[__import__('os')]", "x") == ["[__import__('os')]"]  # not a literal
    with pytest.raises(DataError, match="empty list"):
        parse_targets("[]", "f.jsonl:3")


def test_multiple_choice_and_loglikelihood_match_the_logged_metrics(by_model):
    for rec in by_model.records:
        m = sample_metrics(rec)
        if rec.output_type == "multiple_choice":
            assert m["multiple_choice_grade"] == rec.given["acc"]
        if rec.output_type == "loglikelihood":  # one continuation, not one-option multiple choice
            assert "multiple_choice_grade" not in m and "token_edit_distance" not in m
            assert m["exact_match"] == rec.given["acc"]  # greedy decoding gives the target
            # the per-sample "perplexity" the harness logs is the log-likelihood
            assert m["target_loglikelihood"] == rec.given["perplexity"]
            assert m["target_probability"] == pytest.approx(math.exp(rec.given["perplexity"]))


def test_logged_metrics_aggregate_to_the_harness_results_and_are_oriented(analysis):
    results = _results(BY_MODEL)
    checked = 0
    for task, ta in analysis.items():
        name, _, filt = task.partition("/")
        for metric, c in ta.curves.items():
            if not metric.endswith(" (logged)"):
                continue
            key = f"{metric.removesuffix(' (logged)')},{filt or 'none'}"
            for model, value in zip(c.models, c.value, strict=True):
                assert value == pytest.approx(results[(model, name)][key], rel=1e-9)
                checked += 1
    assert checked >= 3 * 10
    curves = {(t, m): c for t, ta in analysis.items() for m, c in ta.curves.items()}
    lower = {("mirage_arith", "perplexity (logged)"), ("mirage_text", "word_perplexity (logged)"),
             ("mirage_text", "byte_perplexity (logged)"), ("mirage_text", "bits_per_byte (logged)"),
             ("mirage_mc", "multiple_choice_brier"),
             ("mirage_gsm/strict-match", "token_edit_distance")}
    higher = {("mirage_arith", "target_loglikelihood"), ("mirage_arith", "target_probability"),
              ("mirage_arith", "exact_match"), ("mirage_text", "document_loglikelihood"),
              ("mirage_mc", "multiple_choice_grade"), ("mirage_gsm/strict-match", "exact_match")}
    assert all(not curves[k].higher_is_better for k in lower)
    assert all(curves[k].higher_is_better for k in higher)
    ppl = curves[("mirage_arith", "perplexity (logged)")]
    ll = curves[("mirage_arith", "target_loglikelihood")]
    for p, mean_ll in zip(ppl.value, ll.value, strict=True):  # perplexity = exp(−mean ll)
        assert p == pytest.approx(math.exp(-mean_ll))


def test_curves_order_models_by_size(analysis, by_model):
    c = analysis["mirage_gsm/flexible-extract"].curves["exact_match"]
    assert c.models == MODELS and c.params == sorted(c.params)
    assert {r.model: r.params for r in by_model.records}["models/nano"] == 113216.0


def test_one_folder_pairs_each_samples_file_with_its_own_results_file():
    """`--output_path one_folder/results.json`: every model writes into one folder."""
    runs = find_runs(ONE_FOLDER)
    assert len({r.results.parent for r in runs}) == 1 and len(runs) == 4
    for run in runs:
        assert all(f.name.endswith(f"_{run.date}.jsonl") for f in run.samples.values())
    assert sorted(r.model for r in runs) == sorted([*MODELS, "models/nano"])


def test_one_folder_attributes_samples_to_their_model_and_does_not_pool_repeats(by_model):
    logs = read_harness_logs(ONE_FOLDER)
    nano = sorted((r for r in logs.runs if r.model == "models/nano"), key=lambda r: r.date)
    assert nano[0].used == [] and nano[1].used and nano[0].summary()["tasks_skipped"]
    counts = {}
    for rec in logs.records:
        counts[(rec.model, rec.task)] = counts.get((rec.model, rec.task), 0) + 1
    assert counts[("models/nano", "mirage_mc")] == 6  # the newest run only, not 12
    # the same models give the same scores in either layout (greedy, deterministic)
    a, b = analyze(logs.records), analyze(by_model.records)
    for task in b:
        for metric, curve in b[task].curves.items():
            assert a[task].curves[metric].models == curve.models
            assert a[task].curves[metric].value == pytest.approx(curve.value)


def test_a_samples_file_without_its_results_file_is_an_error(tmp_path):
    shutil.copytree(ONE_FOLDER, tmp_path / "logs")
    victim = sorted((tmp_path / "logs").glob("results_*.json"))[1]
    date = victim.stem.removeprefix("results_")
    victim.unlink()
    with pytest.raises(DataError, match=rf"no results file with its timestamp {date}"):
        find_runs(tmp_path / "logs")


def test_missing_size_and_bad_lines_name_the_file(tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(BY_MODEL, logs)
    results = next((logs / "models__nano").glob("results_*.json"))
    data = json.loads(results.read_text())
    del data["config"]["model_num_parameters"]
    results.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"models/nano.*--size 'models/nano=PARAMS'"):
        read_harness_logs(logs)
    assert read_harness_logs(logs, {"models/nano": 1e5}).records
    f = next((logs / "models__nano").glob("samples_mirage_mc_*.jsonl"))
    lines = f.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["filtered_resps"] = [["-1.0", "maybe"]]
    f.write_text("\n".join([lines[0], json.dumps(bad), *lines[2:]]) + "\n")
    with pytest.raises(DataError, match=rf"{f.name}:2: field 'filtered_resps'"):
        read_harness_logs(logs, {"models/nano": 1e5})


def test_analyze_cli_on_harness_logs(tmp_path):
    from typer.testing import CliRunner

    from neurips23.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["emergence", "analyze", str(ONE_FOLDER), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "not pooled" in res.output
    data = json.loads((out / "analysis.json").read_text())
    assert len(data["harness_runs"]) == 4
    em = data["tasks"]["mirage_gsm/strict-match"]["curves"]["exact_match"]
    assert em["models"] == MODELS and len(em["ci95"]) == 3
    ppl = data["tasks"]["mirage_arith"]["curves"]["perplexity (logged)"]
    assert ppl["higher_is_better"] is False and ppl["aggregation"] == "perplexity"
    assert (out / "mirage_gsm_strict-match.png").stat().st_size > 1000
    res = CliRunner().invoke(app, ["emergence", "analyze", str(ONE_FOLDER), "--tokens", "bytes",
                                   "--out", str(tmp_path)])
    assert isinstance(res.exception, DataError) and "'char' or 'word'" in str(res.exception)


GENERATION_TASKS = ("mirage_gsm8k/strict-match", "mirage_gsm8k/flexible-extract",
                    "mirage_add")


def _harness_exact_match(sample: dict, config: dict) -> float:
    """The harness's own exact_match (lm_eval.api.metrics) on the logged strings, as
    ConfigurableTask.process_results calls it: gold cast to the response's type, a list
    target matching if any alias matches."""
    from lm_eval.api.metrics import exact_match_hf_evaluate

    [settings] = [{k: v for k, v in m.items() if k not in ("metric", "aggregation",
                                                           "higher_is_better")}
                  for m in config["metric_list"] if m["metric"] == "exact_match"]
    result = sample["filtered_resps"]
    while isinstance(result, list):
        result = result[0]
    gold = parse_targets(sample["target"], "x")
    scores = [exact_match_hf_evaluate(predictions=[result], references=[str(g)],
                                      **settings)["exact_match"] for g in gold]
    return float(max(scores) > 0)


def test_recomputed_exact_match_is_the_harness_on_its_own_gsm8k_config_and_a_plain_target(
        by_model):
    """gsm8k's own task config (both filters) and a generate_until arithmetic task whose target
    is a bare integer: the recomputed exact match equals the value logged per sample, the
    harness's exact_match on the same strings, and the aggregate in the results file."""
    results = _results(BY_MODEL)
    per_model: dict[tuple[str, str], list[float]] = {}
    for run in find_runs(BY_MODEL):
        for task in ("mirage_gsm8k", "mirage_add", "mirage_gsm", "mirage_trivia"):
            config = run.configs[task]
            samples = [json.loads(line) for line in run.samples[task].read_text().splitlines()]
            recs: dict[str, list] = {}
            for r in by_model.records:  # in the order of the samples file
                recs.setdefault((r.model, r.task), []).append(r)
            seen: dict[str, int] = {}
            for sample in samples:
                filt = sample["filter"]
                key = task if filt == "none" else f"{task}/{filt}"
                rec = recs[(run.model, key)][seen.setdefault(key, 0)]
                seen[key] += 1
                ours = sample_metrics(rec)["exact_match"]
                assert ours == sample["exact_match"] == _harness_exact_match(sample, config), (
                    key, sample["filtered_resps"], sample["target"])
                per_model.setdefault((run.model, key), []).append(ours)
    assert {k[1] for k in per_model} >= set(GENERATION_TASKS)
    for (model, key), values in per_model.items():
        name, _, filt = key.partition("/")
        logged = results[(model, name)][f"exact_match,{filt or 'none'}"]
        assert sum(values) / len(values) == pytest.approx(logged)
    # the comparison is not vacuous: some model gets some answers right under each task
    assert all(any(v for (m, k), vs in per_model.items() if k == t for v in vs)
               for t in GENERATION_TASKS)
