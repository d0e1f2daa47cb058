"""PlanBench's text interface and the modes, driven by a scripted backend so that every
branch (valid, invalid, no plan, feedback rounds, self-critique) is checked exactly."""

import random

from neurips23.pddl.task import ground
from neurips23.pddl.validate import validate_plan
from neurips23.planning import nl
from neurips23.planning.domains.registry import generate_instances, get_domain
from neurips23.planning.heuristic import levenshtein, random_seed_plan, seeded_search_repair
from neurips23.planning.modes import Query, autonomous, backprompt, make_prompt, resample
from neurips23.planning.plan_text import plan_section


class Scripted:
    """A LanguageModel that answers from a list (per prompt, in call order)."""

    name = "scripted"

    def __init__(self, answers):
        self.answers = list(answers)
        self.prompts = []

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0,
                 seed=None):
        self.prompts += list(prompts)
        return [[self.answers.pop(0) for _ in range(n)] for _ in prompts]

    def chat(self, conversations, **kw):
        return self.generate([c[-1]["content"] for c in conversations], **kw)


def setup():
    spec = get_domain("blocksworld")
    insts = generate_instances("blocksworld", 2, seed=7, blocks=(4,))
    return spec, spec.verbalizer(True), Query(insts[1].problem, insts[0]), insts


def test_one_shot_prompt_has_planbench_structure():
    spec, v, q, insts = setup()
    p = make_prompt(spec, v, q, "one_shot")
    assert p.startswith("I am playing with a set of blocks")
    assert p.count("[STATEMENT]") == 2 and p.count("[PLAN END]") == 1 and p.endswith("[PLAN]\n")
    assert "As initial conditions I have that, " in p and "the hand is empty" in p
    assert plan_section(p.split("[STATEMENT]")[1]).strip() == v.plan(insts[0].plan)
    z = make_prompt(spec, v, q, "zero_shot")
    assert z.count("[STATEMENT]") == 1 and nl.ZERO_SHOT_QUESTION in z
    d = make_prompt(spec, v, q, "pddl")
    assert "(:action unstack" in d and insts[0].plan[0] in d


def test_parser_round_trips_and_reports_every_unparsed_line():
    spec, v, q, insts = setup()
    text = v.plan(insts[0].plan)
    assert [str(s) for s in v.parse(text).steps] == insts[0].plan
    noisy = ("Sure! Here is my plan:\n1. " + text.replace("\n", "\n", 1) +
             "\nthen celebrate\n(unstack a b)\n[PLAN END]\nignored after the end")
    parsed = v.parse(noisy)
    assert parsed.unparsed == ["Sure! Here is my plan:", "then celebrate"]
    assert [str(s) for s in parsed.steps] == insts[0].plan + ["(unstack a b)"]
    empty = v.parse("I cannot solve this.")
    assert empty.no_plan and empty.unparsed == ["I cannot solve this."]
    # Mystery and randomised vocabularies parse their own words
    for name in ("mystery_blocksworld", "random_blocksworld"):
        s2 = get_domain(name)
        inst = generate_instances(name, 1, seed=1)[0]
        v2 = s2.verbalizer(False)
        assert [str(x) for x in v2.parse(v2.plan(inst.plan)).steps] == inst.plan


def test_autonomous_verdicts_without_partial_credit():
    spec, v, q, insts = setup()
    good = v.plan(generate_instances("blocksworld", 2, seed=7, blocks=(4,))[1].plan)
    lm = Scripted([good, "\n".join(good.splitlines()[1:]), "no idea"])
    rows = autonomous(lm, spec, [q, q, q])
    assert [r["valid"] for r in rows] == [True, False, False]
    assert rows[1]["reason"] in {"precondition", "goal"} and rows[1]["feedback"].startswith(
        "The above plan is invalid.")
    assert rows[2]["reason"] == "no plan" and rows[2]["unparsed"] == ["no idea"]
    assert rows[0]["prompt"] == lm.prompts[0] and rows[0]["raw_output"] == good


def test_backprompt_feedback_history_and_rounds():
    spec, v, q, insts = setup()
    good = v.plan(insts[1].plan)
    bad = "\n".join(good.splitlines()[1:])  # first action missing -> precondition failure
    lm = Scripted([bad, bad, good])
    rows = backprompt(lm, spec, [q], rounds=15)
    r = rows[0]
    assert r["valid"] and r["rounds_used"] == 3 and r["stopped"] == "validator: valid"
    assert r["success_at"] == {1: False, 3: True, 5: True, 10: True, 15: True}
    fb = r["rounds"][0]["feedback"]
    assert fb.startswith("The above plan is invalid.The following action at step 1 has an "
                         "unmet precondition:\n")  # PlanBench's text, missing space included
    # round 3's prompt holds both earlier plans and feedbacks (history kept)
    assert lm.prompts[2].count("[FEEDBACK]") == 2 and lm.prompts[2].startswith(lm.prompts[0])
    lm = Scripted([bad] * 4)
    r = backprompt(lm, spec, [q], rounds=4, history=1)[0]
    assert not r["valid"] and r["rounds_used"] == 4 and lm.prompts[3].count("[FEEDBACK]") == 1
    r = backprompt(Scripted(["nothing here"]), spec, [q], rounds=15)[0]
    assert r["stopped"] == "no plan extracted" and r["rounds_used"] == 1


def test_self_critique_uses_the_models_own_verdict():
    spec, v, q, insts = setup()
    good = v.plan(insts[1].plan)
    bad = "\n".join(good.splitlines()[1:])
    # plan, critique, plan, critique: the model wrongly accepts its bad second plan
    lm = Scripted([bad, "The above plan is invalid. Try again.", bad,
                   "The above plan is valid."])
    r = backprompt(lm, spec, [q], rounds=15, verifier="self")[0]
    assert r["rounds_used"] == 2 and r["stopped"] == "model says valid" and not r["valid"]
    assert r["rounds"][0]["self_says_valid"] is False and r["rounds"][1]["self_says_valid"]
    assert "Try again." in lm.prompts[2]


def test_resampling_control_first_valid():
    spec, v, q, insts = setup()
    good = v.plan(insts[1].plan)
    rows = resample(Scripted(["x", "y", good, "z"]), spec, [q], samples=4)
    assert rows[0]["first_valid"] == 3 and rows[0]["success_at"] == {1: False, 3: True}


def test_seeded_search_repairs_any_seed_and_levenshtein():
    assert levenshtein(list("kitten"), list("sitting")) == 3
    dom = get_domain("blocksworld").domain
    rng = random.Random(0)
    effort = {"opt-1": [], "empty": [], "random": []}
    for inst in generate_instances("blocksworld", 10, seed=9, blocks=(4, 5)):
        task = ground(dom, inst.problem)
        seeds = {"opt-1": inst.plan[:-1], "empty": [],
                 "random": random_seed_plan(task, len(inst.plan), rng)}
        for k, seed_plan in seeds.items():
            res = seeded_search_repair(task, seed_plan)
            assert res.solved and validate_plan(dom, inst.problem, res.plan).valid
            effort[k].append(res.flips)
    assert all(f == 1 for f in effort["opt-1"])  # one missing final step: one expansion
    assert sum(effort["opt-1"]) < sum(effort["empty"])
    # junk steps are skipped and counted, never kept when inapplicable
    task = ground(dom, inst.problem)
    res = seeded_search_repair(task, ["(fly x y)", *inst.plan])
    assert res.solved and res.flips == 1 and res.plan == inst.plan
