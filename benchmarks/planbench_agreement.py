"""How closely `neurips23.planning` reads and writes PlanBench, measured on PlanBench's own files.

    python benchmarks/planbench_agreement.py --planbench /path/to/LLMs-Planning

needs a checkout of PlanBench's repository (karthikv792/LLMs-Planning; only its data files are
read: instances, configs, GPT-4 result JSONs) and writes benchmarks/results/planbench_agreement.json:

- reader: every instance-N.pddl under instances/ parses with its domain;
- wording: our [STATEMENT] text equals PlanBench's in the GPT-4 one-shot queries, and the
  example plans in those queries parse back to the example's ground-truth plan;
- parser: our reading of each GPT-4 answer equals PlanBench's `extracted_llm_plan`, lines of
  answers that only the lenient reading reads (paraphrases), and our validator's verdict on our
  reading against PlanBench's VAL-made `correct` flag;
- back-prompts: our feedback text for each GPT-4 back-prompting round equals the message
  PlanBench sent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ONE_SHOT = {  # results folder -> config
    "blocksworld": "blocksworld", "blocksworld_3": "blocksworld_3",
    "mystery_blocksworld": "mystery_blocksworld", "mystery_blocksworld_3": "mystery_blocksworld_3",
    "logistics": "logistics"}
BACKPROMPT = ("blocksworld", "logistics", "mystery_blocksworld")


def _steps(plan) -> list[str]:
    if isinstance(plan, str):
        plan = plan.splitlines()
    return [re.sub(r"\s+", " ", s.strip().lower()) for s in plan if s.strip()]


class PlanBench:
    """PlanBench's instances and GPT-4 results, read with our reader."""

    def __init__(self, root: Path):
        self.root = root / "llm_planning_analysis"
        self.cache: dict = {}

    def config(self, name: str) -> dict:
        return yaml.safe_load((self.root / "configs" / f"{name}.yaml").read_text())

    def domain(self, cfg: dict):
        from neurips23.pddl.parser import load_domain
        from neurips23.planning.domains.instance_dir import domain_spec

        key = cfg["domain_file"]
        if key not in self.cache:
            self.cache[key] = domain_spec(load_domain(self.root / "instances" / key))
        return self.cache[key]

    def problem(self, cfg: dict, k: int):
        from neurips23.pddl.parser import load_problem

        spec = self.domain(cfg)
        path = self.root / "instances" / cfg["instance_dir"] / cfg["instances_template"].format(k)
        return spec, load_problem(path, spec.domain)

    def results(self, folder: str, name: str) -> list[dict]:
        path = self.root / "results" / folder / "gpt-4_chat" / name
        return json.loads(path.read_text())["instances"] if path.exists() else []


def reader(root: Path) -> dict:
    """Every PlanBench instance file parses with the domain file of its folder."""
    from neurips23.errors import DataError
    from neurips23.pddl.parser import load_domain, load_problem

    ok, errors, notes = 0, Counter(), 0
    for dom_file in sorted(root.glob("*/instances/**/generated_domain.pddl")):
        try:
            dom = load_domain(dom_file)
        except DataError as e:
            errors[str(e).split(": ", 2)[-1]] += 1
            continue
        notes += len(dom.notes)
        for sub in ("generated_basic", "generated_basic_3", "generated"):
            for f in sorted((dom_file.parent / sub).glob("instance-*.pddl")):
                try:
                    load_problem(f, dom)
                    ok += 1
                except DataError as e:
                    errors[str(e).split(": ", 1)[-1]] += 1
    return {"instance_files_read": ok, "errors": dict(errors), "domain_notes": notes}


def _statements(query: str) -> list[str]:
    return [m.strip() for m in re.findall(r"\[STATEMENT\]\n(.*?)\n\n", query, re.S)]


def _example_plans(query: str) -> list[str]:
    return re.findall(r"\[PLAN\](.*?)\[PLAN END\]", query, re.S)


def one_shot(pb: PlanBench) -> dict:
    """Wording, example plans, parser and verdicts on the GPT-4 one-shot answers."""
    from neurips23.pddl.validate import validate_plan

    out = {}
    for folder, cfg_name in ONE_SHOT.items():
        cfg = pb.config(cfg_name)
        rows = pb.results(folder, "task_1_plan_generation.json")
        truth = {r["instance_id"]: _steps(r["ground_truth_plan"]) for r in rows}
        c = Counter()
        for r in rows:
            spec, prob = pb.problem(cfg, r["instance_id"])
            v = spec.verbalizer(True)
            c["answers"] += 1
            ours_stmt = v.statement(prob)
            c["statement_equal"] += ours_stmt in _statements(r["query"])
            ex_id = r.get("example_instance_id") or (r.get("example_instance_ids") or [None])[0]
            if ex_id in truth:
                _, ex_prob = pb.problem(cfg, ex_id)
                ex = v.parse(_example_plans(r["query"])[0], ex_prob, spec.domain)
                c["example_plans"] += 1
                c["example_plan_read_back"] += (
                    [str(s) for s in ex.steps] == truth[ex_id] and not ex.unparsed)
            parsed = v.parse(r["llm_raw_response"], prob, spec.domain)
            strict = _strict_reading(v, r["llm_raw_response"], prob)
            c["lines_only_lenient_reads"] += max(0, len(parsed.steps) - strict)
            c["answers_with_paraphrases"] += len(parsed.steps) > strict
            c["plan_equal_to_planbench"] += [str(s) for s in parsed.steps] == _steps(
                r["extracted_llm_plan"])
            flag = r.get("correct", r.get("llm_correct"))
            try:
                valid = validate_plan(spec.domain, prob, parsed.steps).valid
            except Exception:  # noqa: BLE001 - wrong arity etc.: our reader reports an error
                c["verdict_error"] += 1
                continue
            c["verdict_agrees_with_val"] += valid == bool(flag)
        out[folder] = dict(c)
    return out


def _strict_reading(v, text: str, problem) -> int:
    """Lines an exact-wording reader (PDDL steps and the domain's own sentences) reads."""
    from neurips23.planning.plan_text import _object_words, exact_reading, normalise, plan_section

    table = _object_words(v, problem.objects)
    lines = [normalise(raw) for raw in plan_section(text).splitlines()]
    return sum(bool(x) and exact_reading(v, x, table) is not None for x in lines)


def backprompts(pb: PlanBench) -> dict:
    """Our feedback for each GPT-4 back-prompting round against the message PlanBench sent."""
    from neurips23.planning.modes import judge

    out = {}
    for folder in BACKPROMPT:
        cfg = pb.config(folder)
        c, kinds = Counter(), Counter()
        for r in pb.results(folder, "task_1_plan_generation_backprompting.json"):
            spec, prob = pb.problem(cfg, r["instance_id"])
            v = spec.verbalizer(True)
            msgs = r["messages"]
            for k in range(2, len(msgs) - 1, 2):
                if msgs[k]["role"] != "assistant" or not msgs[k + 1].get("content"):
                    continue
                theirs = msgs[k + 1]["content"]
                ours = judge(spec, v, prob, msgs[k]["content"])["feedback"]
                c["rounds"] += 1
                same = ours.strip() == theirs.strip()
                c["feedback_equal"] += same
                if not same:
                    kinds[theirs.split("\n", 1)[0][:70]] += 1
        out[folder] = {**c, "differing_first_lines": dict(kinds.most_common(5))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--planbench", type=Path, required=True, help="LLMs-Planning checkout")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" /
                    "planbench_agreement.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    pb = PlanBench(args.planbench)
    res = {"reader": reader(args.planbench), "one_shot": one_shot(pb),
           "backprompt": backprompts(pb)}
    res["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    json.dump(res, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
