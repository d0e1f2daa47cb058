"""How src/neurips23/planning/released/ was cut from PlanBench's repository (see its README):

    python benchmarks/planbench_released_select.py /path/to/LLMs-Planning

keeps, of every GPT-4 plan-generation result file under llm_planning_analysis/results/ (and the
plan-verification files under plan-bench/results/), the fields the released profile reads, and
the PDDL files those records need, each set as one gzip-compressed JSON file."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).parents[1] / "src" / "neurips23" / "planning" / "released"
GENERATION_KEEP = ("instance_id", "llm_raw_response", "extracted_llm_plan", "correct")
VERIFICATION_KEEP = ("instance_id", "llm_raw_response", "parsed_ground_truth_plan",
                     "ground_truth_plan", "llm_correct_binary")


def _flag(x) -> bool:
    return x if isinstance(x, bool) else str(x) == "True"


def _last_query_plan(query: str) -> dict:
    """The plan a verification query asks about: its last [STATEMENT] and [PLAN] blocks."""
    statement = query.rsplit("[STATEMENT]", 1)[1]
    plan = statement.split("[PLAN]", 1)[1].split("[PLAN END]", 1)[0]
    return {"statement": statement.split("My plan is as follows", 1)[0].strip(),
            "plan": plan.strip()}


def generation(la: Path, need: dict[str, set[str]]) -> dict:
    out = {}
    for f in sorted((la / "results").glob("*/gpt-4_chat/task_1_*.json")):
        folder = f.parent.parent.name
        try:
            d = json.loads(f.read_text())
        except json.JSONDecodeError:  # a file the snapshot holds only as a pointer
            continue
        rows = []
        for r in d["instances"]:
            row = {k: r[k] for k in GENERATION_KEEP if k in r}
            if "messages" in r:  # back-prompting: the last answer and the rounds taken
                answers = [m["content"] for m in r["messages"] if m["role"] == "assistant"]
                row["llm_raw_response"] = answers[-1] if answers else ""
                row["rounds"] = len(answers)
            row["correct"] = _flag(r.get("correct", r.get("llm_correct")))
            row["instance_id"] = int(row["instance_id"])
            rows.append(row)
        cfg = yaml.safe_load((la / "configs" / f"{folder}.yaml").read_text())
        need.setdefault(cfg["domain_file"], set())
        need[cfg["domain_file"]] |= {f"{cfg['instance_dir']}/" + cfg["instances_template"]
                                     .format(r["instance_id"]) for r in rows}
        out[f"{folder}/{f.name}"] = {"domain_file": cfg["domain_file"],
                                     "instance_dir": cfg["instance_dir"],
                                     "prompt_type": d.get("prompt_type", ""), "records": rows}
    return out


def verification(root: Path) -> dict:
    out = {}
    for f in sorted((root / "plan-bench" / "results").glob("*/gpt-4_chat/task_3_*.json")):
        d = json.loads(f.read_text())
        rows = []
        for r in d["instances"]:
            row = {k: r[k] for k in VERIFICATION_KEEP if k in r}
            row.update(_last_query_plan(r["query"]))
            row["instance_id"] = int(row["instance_id"])
            row["llm_correct_binary"] = _flag(row["llm_correct_binary"])
            rows.append(row)
        out[f"{f.parent.parent.name}/{f.name}"] = {"records": rows}
    return out


def main(root: Path) -> None:
    la = root / "llm_planning_analysis"
    need: dict[str, set[str]] = {}
    responses = {"generation": generation(la, need), "verification": verification(root)}
    pddl = {}
    for dom_file, files in sorted(need.items()):
        pddl[dom_file] = (la / "instances" / dom_file).read_text()
        for name in sorted(files):
            pddl[name] = (la / "instances" / name).read_text()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, obj in (("gpt4_responses.json.gz", responses), ("instances.json.gz", pddl)):
        with gzip.GzipFile(OUT / name, "wb", mtime=0) as fh:
            fh.write(json.dumps(obj, sort_keys=True).encode())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
