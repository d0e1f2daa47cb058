"""How this folder was cut from PlanBench's repository (see README.md):

    python tests/planning/data/planbench/select.py /path/to/LLMs-Planning

copies the instance files the selected records need and trims the GPT-4 result records to the
fields the tests read."""

import json
import shutil
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
# the first answers of each domain, then answers with paraphrased lines (found with
# benchmarks/planbench_agreement.py) and the two Blocksworld answers we read differently
ONE_SHOT = {"blocksworld": [*range(2, 16), 31, 32, 41, 42, 46, 47, 51, 57, 60, 71, 80, 84, 99,
                            115, 122, 407],
            "mystery_blocksworld": list(range(2, 12)),
            "logistics": [*range(2, 8), 23, 29, 46, 59, 64, 115, 145]}
QUERIES = 5  # one-shot records that keep their full prompt
BACKPROMPT = {"blocksworld": 6, "mystery_blocksworld": 6, "logistics": 6}
KEEP = ("instance_id", "example_instance_id", "example_instance_ids", "query", "llm_raw_response",
        "extracted_llm_plan", "ground_truth_plan", "correct", "llm_correct")


def main(root: Path) -> None:
    la = root / "llm_planning_analysis"
    need: dict[str, set[int]] = {}
    out: dict = {"one_shot": {}, "backprompt": {}}
    for dom, ids in ONE_SHOT.items():
        rows = json.loads((la / "results" / dom / "gpt-4_chat" / "task_1_plan_generation.json")
                          .read_text())["instances"]
        keep = [{k: r[k] for k in KEEP if k in r} for r in rows if r["instance_id"] in ids]
        for r in keep[QUERIES:]:
            del r["query"]
        out["one_shot"][dom] = keep
        for r in keep:
            ex = r.get("example_instance_id") or (r.get("example_instance_ids") or [None])[0]
            need.setdefault(dom, set()).update({r["instance_id"], *([ex] if ex else [])})
    for dom, n in BACKPROMPT.items():
        rows = json.loads((la / "results" / dom / "gpt-4_chat" /
                           "task_1_plan_generation_backprompting.json").read_text())["instances"]
        keep = [{"instance_id": r["instance_id"], "correct": r["correct"],
                 "messages": [m for m in r["messages"] if m["role"] != "system"]}
                for r in rows[:n]]
        out["backprompt"][dom] = keep
        need.setdefault(dom, set()).update(r["instance_id"] for r in keep)
    for dom, ids in need.items():
        cfg = yaml.safe_load((la / "configs" / f"{dom}.yaml").read_text())
        src = la / "instances"
        (HERE / "instances" / cfg["instance_dir"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(src / cfg["domain_file"], HERE / "instances" / cfg["domain_file"])
        for k in sorted(ids):
            name = cfg["instances_template"].format(k)
            shutil.copy(src / cfg["instance_dir"] / name, HERE / "instances" / cfg["instance_dir"] / name)
    odl = src / "obfuscated_deceptive_logistics"  # :equality and an empty (:functions)
    (HERE / "instances" / "obfuscated_deceptive_logistics" / "generated_basic").mkdir(
        parents=True, exist_ok=True)
    shutil.copy(odl / "generated_domain.pddl",
                HERE / "instances" / "obfuscated_deceptive_logistics" / "generated_domain.pddl")
    for k in (1, 2):
        shutil.copy(odl / "generated_basic" / f"instance-{k}.pddl",
                    HERE / "instances" / "obfuscated_deceptive_logistics" / "generated_basic")
    (HERE / "gpt4_results.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
