"""The ToT authors' released Game-of-24 logs (GPT-4, puzzles 900-999) re-scored with our checker
(paper §4.1, Table 2): IO and CoT with 100 samples each, ToT propose1/value3/greedy5.

Every success figure carries its scoring, as in `tot.reproduce`:
- pass@1: the mean over a puzzle's samples (how Table 2 scores IO 7.3% and CoT 4.0%);
- top-1: the first sample, or ToT's highest-valued final (no checker of any kind);
- the authors' pick: the first sample/final whose answer uses the input numbers;
- majority (CoT-SC): the most frequent answer expression among the samples;
- any-of-k: some sample/final is correct (needs a correctness checker: best-of-100, any-of-5).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from neurips23.core.claims import Claim, Rule, computed_claim, measured_claim
from neurips23.core.stats import mover_difference, t_interval, wilson_interval
from neurips23.errors import DataError
from neurips23.tot.config import ToTConfig
from neurips23.tot.game24.answer import authors_pick, check_answer, uses_input_numbers

RELEASED_DIR = Path(__file__).parent / "released"
LOG_FILES = {  # arm -> the authors' file name (gzip-compressed here)
    "io": "gpt-4_0.7_naive_standard_sample_100_start900_end1000.json.gz",
    "cot": "gpt-4_0.7_naive_cot_sample_100_start900_end1000.json.gz",
    "tot_b5": "gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json.gz",
}
Checker = Callable[[Sequence[int], str], bool]


# ------------------------------------------------------------------------------ reading
def read_log(path: Path) -> list[dict[str, Any]]:
    """One of the authors' run logs: a JSON list of per-puzzle records (idx, ys, their r, usage)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            records = json.load(fh)
    except FileNotFoundError:
        raise DataError(f"{path}: released log not found") from None
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: not a gzip-compressed JSON log ({e})") from None
    if not isinstance(records, list) or not records:
        raise DataError(f"{path}: expected a non-empty JSON list of puzzle records")
    for i, r in enumerate(records):
        for key in ("idx", "ys", "usage_so_far"):
            if key not in r:
                raise DataError(f"{path}: record {i}: missing field {key!r}")
        if "infos" not in r and "accs" not in r:
            raise DataError(f"{path}: record {i}: neither 'infos' nor 'accs' (their judgements)")
    return records


def their_judgements(record: dict[str, Any]) -> list[bool]:
    """The authors' own r of each y (`infos[i]['r']`; the IO log stores them as `accs`)."""
    if "infos" in record:
        return [bool(info["r"]) for info in record["infos"]]
    return [bool(a) for a in record["accs"]]


def load_logs(folder: str | Path = "") -> dict[str, list[dict[str, Any]]]:
    """The three released logs by arm, checked to cover the same puzzles in the same order."""
    folder = Path(folder) if folder else RELEASED_DIR
    logs = {arm: read_log(folder / name) for arm, name in LOG_FILES.items()}
    order = [int(r["idx"]) for r in logs["tot_b5"]]
    for arm, records in logs.items():
        if [int(r["idx"]) for r in records] != order:
            raise DataError(f"{folder / LOG_FILES[arm]}: puzzles differ from the ToT log's")
    return logs


def puzzle_inputs(tot_records: Sequence[dict[str, Any]]) -> dict[int, str]:
    """Puzzle text by index, from the ToT log's first step (`steps[0]['x']`)."""
    return {int(r["idx"]): r["steps"][0]["x"] for r in tot_records}


# ------------------------------------------------------------------------------ scoring
def per_puzzle_usage(records: Sequence[dict[str, Any]]) -> list[dict[str, int]]:
    """Tokens of each puzzle: differences of the cumulative `usage_so_far` (the run's first
    puzzle counts from zero)."""
    out, prev = [], {"prompt_tokens": 0, "completion_tokens": 0}
    for r in records:
        u = r["usage_so_far"]
        out.append({k: int(u[k]) - prev[k] for k in prev})
        prev = {k: int(u[k]) for k in prev}
    return out


def score_arm(records: Sequence[dict[str, Any]], inputs: dict[int, str],
              check: Checker = check_answer) -> list[dict[str, Any]]:
    """Per puzzle: our verdict and theirs on every y, the authors' pick, and the tokens."""
    rows = []
    for r, usage in zip(records, per_puzzle_usage(records), strict=True):
        x = inputs[int(r["idx"])]
        numbers = [int(n) for n in x.split()]
        ys = list(r["ys"])
        rows.append({"idx": int(r["idx"]), "x": x, "ys": ys,
                     "ours": [bool(check(numbers, y)) for y in ys],
                     "theirs": their_judgements(r), "pick": authors_pick(x, ys),
                     "uses_numbers": [uses_input_numbers(x, y) for y in ys], **usage})
    return rows


def answer_key(y: str) -> str:
    """The answer a sample commits to, for the majority vote: its last line's left side with
    "Answer:" and spaces removed (an unanswered sample votes for its own text)."""
    lines = [line for line in y.strip().splitlines() if line.strip()] or [""]
    return "".join(lines[-1].lower().replace("answer:", "").split("=")[0].split())


def majority_correct(row: dict[str, Any]) -> bool:
    """CoT-SC: is the most frequent answer among the samples correct (ties: the first seen)?"""
    keys = [answer_key(y) for y in row["ys"]]
    top = Counter(keys).most_common(1)[0][0]
    return row["ours"][keys.index(top)]


METRICS: dict[str, tuple[str, Callable[[dict[str, Any]], float]]] = {
    # name -> (how it is scored, per-puzzle value)
    "pass@1": ("mean over each puzzle's samples, or ToT's 5 finals",
               lambda r: sum(r["ours"]) / len(r["ours"])),
    "top-1": ("first sample / highest-valued final alone (no checker)", lambda r: r["ours"][0]),
    "authors' pick": ("first y whose answer uses the input numbers",
                      lambda r: r["pick"] is not None and r["ours"][r["pick"]]),
    "majority (CoT-SC)": ("most frequent answer expression among the samples",
                          majority_correct),
    "any-of-k": ("some y correct (needs a checker): best-of-100, any-of-5", lambda r: any(r["ours"])),
}
ARM_METRICS = {"io": ("pass@1", "top-1", "authors' pick", "majority (CoT-SC)", "any-of-k"),
               "cot": ("pass@1", "top-1", "authors' pick", "majority (CoT-SC)", "any-of-k"),
               "tot_b5": ("pass@1", "top-1", "authors' pick", "any-of-k")}
TABLE_2 = {("io", "pass@1"): 0.073, ("cot", "pass@1"): 0.040,
           ("cot", "majority (CoT-SC)"): 0.090, ("tot_b5", "authors' pick"): 0.74}


def success_table(scored: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every arm x metric: the figure, its 95% interval over puzzles, the paper's figure."""
    out = []
    for arm, names in ARM_METRICS.items():
        rows = scored[arm]
        for name in names:
            label, f = METRICS[name]
            xs = [float(f(r)) for r in rows]
            k, n = sum(xs), len(xs)
            if name == "pass@1":
                _, lo, hi = t_interval(xs)
                how = "t over puzzles"
            else:
                lo, hi = wilson_interval(int(k), n)
                how = "Wilson over puzzles"
            paper = TABLE_2.get((arm, name))
            out.append({"arm": arm, "metric": name, "scored as": label,
                        "success": round(k / n, 4), "95% interval": [round(lo, 4), round(hi, 4)],
                        "interval": how, "n puzzles": n,
                        "paper (Table 2)": "" if paper is None else f"{paper:.1%}"})
    return out


def agreement(scored: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Our checker against the logs' own r on every y: counts and each disagreement."""
    n, agree, listed = 0, 0, []
    for arm, rows in scored.items():
        for r in rows:
            for i, (ours, theirs) in enumerate(zip(r["ours"], r["theirs"], strict=True)):
                n += 1
                agree += ours == theirs
                if ours != theirs:
                    listed.append({"arm": arm, "idx": r["idx"], "x": r["x"], "y": i,
                                   "answer": r["ys"][i].strip().splitlines()[-1][:120],
                                   "ours": ours, "theirs": theirs})
    return {"judgements": n, "agree": agree, "disagreements": listed}


def _value_key(x: str, y: str) -> tuple[str, str]:
    """What the authors' value prompt depends on (`value_prompt_wrap`): the numbers left, or at
    the last step the puzzle and the answer."""
    last = y.strip().split("\n")[-1]
    if "left: " not in last:
        return (x, last.lower().replace("answer: ", ""))
    return ("", last.split("left: ")[-1].split(")")[0])


def reconstructed_calls(tot_records: Sequence[dict[str, Any]]) -> list[int]:
    """API requests per ToT puzzle, replayed from the logged steps with their code's rules
    (`bfs.solve`): one propose request per kept state; one value request (n=3) per new state
    that is neither a duplicate within the step nor in the run-wide value cache."""
    cache: set[tuple[str, str]] = set()
    out = []
    for r in tot_records:
        calls = 0
        for step in r["steps"]:
            calls += len(step["ys"])
            seen: set[str] = set()
            for y in step["new_ys"]:
                if y in seen:
                    continue
                seen.add(y)
                key = _value_key(step["x"], y)
                calls += key not in cache
                cache.add(key)
        out.append(calls)
    return out


NAIVE_CALLS = 5  # their `chatgpt()` sends n=100 samples as requests of at most 20


def usage_table(scored: dict[str, list[dict[str, Any]]],
                tot_calls: Sequence[int] = ()) -> list[dict[str, Any]]:
    """Mean tokens per puzzle from the logged usage, and requests per puzzle (not logged:
    IO/CoT from their code, ToT replayed from the logged steps)."""
    out = []
    for arm, rows in scored.items():
        n = len(rows)
        p = sum(r["prompt_tokens"] for r in rows) / n
        c = sum(r["completion_tokens"] for r in rows) / n
        calls: Any = NAIVE_CALLS if arm != "tot_b5" else (
            round(sum(tot_calls) / len(tot_calls), 1) if tot_calls else "not logged")
        out.append({"arm": arm, "prompt tokens": round(p, 1), "completion tokens": round(c, 1),
                    "cost ($, gpt-4 prices)": round((0.03 * p + 0.06 * c) / 1000, 4),
                    "requests (not logged: IO/CoT by their code, ToT replayed)": calls})
    return out


# ------------------------------------------------------------------------------ the claims
COMPARISONS = {  # claim -> (arm, metric, baseline arm, baseline metric, rule field, paper)
    "authors_pick_vs_cot_sc": (
        "tot_b5", "authors' pick", "cot", "majority (CoT-SC)", "released_beats_cot_sc",
        "Table 2: ToT b=5 (74%) beats CoT-SC (9%), ToT scored as the authors did"),
    "top1_vs_cot_sc": (
        "tot_b5", "top-1", "cot", "majority (CoT-SC)", "released_beats_cot_sc",
        "ToT b=5 beats CoT-SC with ToT's highest-valued final alone (no checker)"),
    "authors_pick_vs_cot_same_pick": (
        "tot_b5", "authors' pick", "cot", "authors' pick", "released_beats_cot_sc",
        "Control: ToT's pick beats the same pick over CoT's 100 samples (first answer using "
        "the numbers)"),
    "any_of_5_vs_best_of_100": (
        "tot_b5", "any-of-k", "cot", "any-of-k", "released_beats_best_of_k",
        "With a checker on both sides: ToT any-of-5 beats CoT best-of-100 (Fig. 3a; repo "
        "log 69% vs 49%)"),
}


def released_claims(rules: dict[str, Rule], scored: dict[str, list[dict[str, Any]]]
                    ) -> tuple[list[Claim], dict[str, Any]]:
    """The claims on the authors' outputs, each decided by its rule from the config."""
    agr = agreement(scored)
    n_j, n_a = agr["judgements"], agr["agree"]
    lo, hi = wilson_interval(n_a, n_j)
    rule = rules["released_checker_agrees"]
    agrees = (f"our checker agrees with the logs' r (Wilson lower bound {lo:.4f} > "
              f"{rule.threshold})", lo > rule.threshold)
    claims = [measured_claim(
        "Our Game-of-24 checker judges the authors' answers as their own test does",
        "agreement with the logs' r over all judged ys", n_a / n_j, (lo, hi), rule, n=n_j,
        ours=f"{n_a}/{n_j} judgements agree ({len(agr['disagreements'])} differ), Wilson "
             f"[{lo:.4f}, {hi:.4f}]")]
    diffs = {}
    for key, (arm, metric, base, base_metric, rule_name, paper) in COMPARISONS.items():
        rule = rules[rule_name]
        f, g = METRICS[metric][1], METRICS[base_metric][1]
        k1, n1 = int(sum(f(r) for r in scored[arm])), len(scored[arm])
        k2, n2 = int(sum(g(r) for r in scored[base])), len(scored[base])
        d, dlo, dhi = mover_difference(k1, n1, k2, n2, confidence=rule.confidence)
        diffs[key] = {"diff": round(d, 4), "ci": [round(dlo, 4), round(dhi, 4)]}
        ours = (f"{arm} {metric} {k1}/{n1} vs {base} {base_metric} {k2}/{n2}: difference "
                f"{d:+.2f} [{dlo:+.3f}, {dhi:+.3f}] (Newcombe from Wilson), n={n1} puzzles")
        claims.append(measured_claim(paper + " — on the authors' outputs", f"{metric}({arm}) - "
                                     f"{base_metric}({base})", d, (dlo, dhi), rule, n=n1,
                                     ours=ours, preconditions=[agrees]))
    claims += table_2_identities(scored)
    return claims, {"differences": diffs, "agreement": agr}


def table_2_identities(scored: dict[str, list[dict[str, Any]]]) -> list[Claim]:
    """Table 2's IO and CoT figures are means over these very logs: recomputed, to 0.1 point."""
    out = []
    for arm, name, paper in (("io", "IO", 0.073), ("cot", "CoT", 0.040)):
        rows = scored[arm]
        ours = sum(sum(r["ours"]) for r in rows) / sum(len(r["ours"]) for r in rows)
        out.append(computed_claim(
            f"Table 2: {name} {paper:.1%} (mean over 100 samples) — on the authors' outputs",
            f"our checker on their {name} log: {ours:.2%}",
            abs(ours - paper) < 0.0005))
    return out


def score_released(folder: str | Path = "", check: Checker = check_answer
                   ) -> dict[str, list[dict[str, Any]]]:
    """Every arm's per-puzzle rows, scored by `check` (ours unless a test swaps it)."""
    logs = load_logs(folder)
    inputs = puzzle_inputs(logs["tot_b5"])
    return {arm: score_arm(records, inputs, check) for arm, records in logs.items()}


ARM_NAMES = {"io": "IO (100 samples)", "cot": "CoT (100 samples)", "tot_b5": "ToT b=5"}


def table_2_lines(table: list[dict[str, Any]]) -> list[str]:
    """Table 2's four rows as we score the logs (each metric labelled), then the other metrics."""
    lines = []
    for r in table:
        if r["paper (Table 2)"]:
            lo, hi = r["95% interval"]
            lines.append(f"Table 2 {ARM_NAMES[r['arm']]}, {r['metric']} ({r['scored as']}): "
                         f"{r['success']:.1%} [{lo:.1%}, {hi:.1%}], paper {r['paper (Table 2)']}")
    for arm, name in ARM_NAMES.items():
        rest = [f"{r['metric']} {r['success']:.1%}" for r in table
                if r["arm"] == arm and not r["paper (Table 2)"]]
        lines.append(f"{name}, also: " + "; ".join(rest))
    return lines


def run_released(cfg: ToTConfig, run: Any) -> Any:
    """`neurips23 reproduce tot --profile released`: the authors' logs, our checker, the
    released_* rules of `cfg`; no model."""
    from neurips23.core.reproduction import Outcome

    scored = score_released(cfg.released_dir)
    tot_calls = reconstructed_calls(load_logs(cfg.released_dir)["tot_b5"])
    run.log(f"scored {sum(len(r) for r in scored.values())} puzzle records of "
            f"{len(scored)} arms from {cfg.released_dir or RELEASED_DIR}")
    for arm, rows in scored.items():
        run.log_samples({"arm": arm, **{k: v for k, v in r.items() if k != "ys"}} for r in rows)
    rules = {name: getattr(cfg, name) for name in
             ("released_checker_agrees", "released_beats_cot_sc", "released_beats_best_of_k")}
    claims, extra = released_claims(rules, scored)
    table = success_table(scored)
    for line in table_2_lines(table):
        run.log(line)
    agr = extra["agreement"]
    metrics = {"on_authors_outputs": True, "n_puzzles": len(scored["tot_b5"]),
               "success": {f"{r['arm']} {r['metric']}": {k: r[k] for k in (
                   "success", "95% interval", "scored as", "paper (Table 2)")} for r in table},
               "differences": extra["differences"], "usage_per_puzzle": usage_table(scored, tot_calls),
               "checker_agreement": {"judgements": agr["judgements"], "agree": agr["agree"],
                                     "disagreements": agr["disagreements"]}}
    tables = {"success per arm on the authors' outputs (our checker)": [
                  {**r, "95% interval": f"[{r['95% interval'][0]:.3f}, "
                                        f"{r['95% interval'][1]:.3f}]"} for r in table],
              "tokens per puzzle (logged usage)": metrics["usage_per_puzzle"],
              "our checker vs the logs' r: disagreements": agr["disagreements"]}
    notes = ("On the authors' outputs: GPT-4 logs released with the ToT repository (commit "
             "ab40034), re-scored with our Game-of-24 checker; no model was run. The ToT log is "
             "the authors' post-paper rerun (69% in their README, 74% in the paper).")
    return Outcome(metrics, claims, notes=notes, tables=tables)
