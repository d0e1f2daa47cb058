"""PlanBench's natural-language interface: each domain's wording (a `plan_text.Verbalizer`,
which also reads plans back from model text), the one-shot / zero-shot / PDDL prompts and the
back-prompting feedback messages."""

from __future__ import annotations

import re

from neurips23.pddl.parser import Domain, Problem, domain_to_pddl, problem_to_pddl
from neurips23.pddl.validate import PlanStep, ValidationResult
from neurips23.planning.plan_text import Verbalizer

COLOURS = ["red", "blue", "orange", "yellow", "white", "magenta", "black", "cyan", "green",
           "violet", "silver", "gold"]  # PlanBench shows blocks a..l as colours

STOP = "[STATEMENT]"
ZERO_SHOT_QUESTION = "What is the plan to achieve my goal? Just give the actions in the plan."


# ------------------------------------------------------------------ prompts

def example_block(v: Verbalizer, problem: Problem, plan) -> str:
    """An instance with its plan, in PlanBench's one-shot format."""
    return (f"[STATEMENT]\n{v.statement(problem)}\n\nMy plan is as follows:\n\n[PLAN]\n"
            f"{v.plan(plan)}\n[PLAN END]\n")


def query_block(v: Verbalizer, problem: Problem) -> str:
    """The query instance, ending with [PLAN] for the model to continue."""
    return f"[STATEMENT]\n{v.statement(problem)}\n\nMy plan is as follows:\n\n[PLAN]\n"


def one_shot_prompt(v: Verbalizer, example: Problem, example_plan, query: Problem,
                    intro: bool = True) -> str:
    """PlanBench t1: domain description, one solved example, the query ending with [PLAN]."""
    head = v.domain_intro + "\n\n" if intro and v.domain_intro else ""
    return head + example_block(v, example, example_plan) + "\n" + query_block(v, query)


def zero_shot_prompt(v: Verbalizer, query: Problem, intro: bool = True) -> str:
    """PlanBench t1_zero: description and query, then the plain question."""
    head = v.domain_intro + "\n\n" if intro and v.domain_intro else ""
    return (head + f"[STATEMENT]\n{v.statement(query)}\n\n{ZERO_SHOT_QUESTION}\n\n[PLAN]\n")


def pddl_prompt(domain: Domain, query: Problem, example: Problem | None = None,
                example_plan=None) -> str:
    """PlanBench t1_pddl / t1_zero_pddl: the domain and problems in PDDL, plans as PDDL steps."""
    out = ["Here is a pddl domain, an example problem and associated plan. Provide the plan "
           "for the query problem. Provide only the pddl syntax for the plan.\n"
           if example is not None else
           "Here is a pddl domain and a query problem. Provide only the pddl syntax for the "
           "plan.\n", "[DOMAIN]\n" + domain_to_pddl(domain)]
    if example is not None:
        steps = "\n".join(str(s) for s in example_plan)
        out.append(f"[QUERY PROBLEM]\n{problem_to_pddl(example, domain)}\n[PLAN]\n{steps}\n"
                   "[PLAN END]\n")
    out.append(f"[QUERY PROBLEM]\n{problem_to_pddl(query, domain)}\n[PLAN]\n")
    return "\n".join(out)


# ------------------------------------------------------------------ feedback

def feedback_message(v: Verbalizer, result: ValidationResult, step: PlanStep | None = None
                     ) -> str:
    """PlanBench's back-prompt (`get_validation_message`, verbatim wording): the first failing
    action with its unmet preconditions, or the unmet goals, in natural language."""
    if result.valid:
        return "The above plan is valid."
    head = "The above plan is invalid."
    if result.failed_step is not None:
        assert step is not None
        what = v.step(step.name, step.args)
        k = result.failed_step
        if result.bad_arguments:  # typed domains only; PlanBench's domains are untyped
            return (f"{head} The following action at step {k} has arguments of the wrong "
                    f"type:\n{what}")
        pre = v.atoms(result.unmet_preconditions, feedback=True)
        if len(result.unmet_preconditions) > 1:
            return (f"{head} The following action at step {k} has unmet preconditions:\n{what}"
                    f"\nThe unmet preconditions are:\n{pre}")
        # PlanBench writes this one without a space after the first sentence
        return (f"{head}The following action at step {k} has an unmet precondition:\n{what}"
                f"\nThe unmet precondition is:\n{pre}")
    goals = v.atoms(result.unmet_goals, feedback=True)
    if len(result.unmet_goals) > 1:
        return f"{head} These are the unmet goal conditions:\n{goals}"
    return f"{head} This is the unmet goal condition:\n{goals}"


# ------------------------------------------------------------------ verbalisers per domain

BW_INTRO = (
    "I am playing with a set of blocks where I need to arrange the blocks into stacks. "
    "Here are the actions I can do\n\nPick up a block\nUnstack a block from on top of another "
    "block\nPut down a block\nStack a block on top of another block\n\nI have the following "
    "restrictions on my actions:\nI can only pick up or unstack one block at a time.\nI can "
    "only pick up or unstack a block if my hand is empty.\nI can only pick up a block if the "
    "block is on the table and the block is clear. A block is clear if the block has no other "
    "blocks on top of it and if the block is not picked up.\nI can only unstack a block from "
    "on top of another block if the block I am unstacking was really on top of the other "
    "block.\nI can only unstack a block from on top of another block if the block I am "
    "unstacking is clear.\nOnce I pick up or unstack a block, I am holding the block.\nI can "
    "only put down a block that I am holding.\nI can only stack a block on top of another "
    "block if I am holding the block being stacked.\nI can only stack a block on top of "
    "another block if the block onto which I am stacking the block is clear.\nOnce I put down "
    "or stack a block, my hand becomes empty.\nOnce you stack a block on top of a second "
    "block, the second block is no longer clear.")


def blocksworld_verbalizer(intro: bool = True) -> Verbalizer:
    """PlanBench's Blocksworld wording, blocks a..l shown as colours."""
    return Verbalizer(
        predicates={"clear": "the {0} block is clear", "handempty": "the hand is empty",
                    "holding": "the hand is currently holding {0} block",
                    "on": "the {0} block is on top of the {1} block",
                    "ontable": "the {0} block is on the table"},
        actions={"pick-up": "pick up the {0} block", "put-down": "put down the {0} block",
                 "stack": "stack the {0} block on top of the {1} block",
                 "unstack": "unstack the {0} block from on top of the {1} block"},
        objects=dict(zip("abcdefghijkl", COLOURS, strict=True)),
        domain_intro=BW_INTRO if intro else "")


MYSTERY_INTRO = (
    "I am playing with a set of objects. Here are the actions I can do\n\nAttack object\nFeast "
    "object from another object\nSuccumb object\nOvercome object from another object\n\nI have "
    "the following restrictions on my actions:\nTo perform Attack action, the following facts "
    "need to be true: Province object, Planet object, Harmony.\nOnce Attack action is "
    "performed the following facts will be true: Pain object.\nOnce Attack action is performed "
    "the following facts will be false: Province object, Planet object, Harmony.\nTo perform "
    "Succumb action, the following facts need to be true: Pain object.\nOnce Succumb action is "
    "performed the following facts will be true: Province object, Planet object, Harmony.\n"
    "Once Succumb action is performed the following facts will be false: Pain object.\nTo "
    "perform Overcome action, the following needs to be true: Province other object, Pain "
    "object.\nOnce Overcome action is performed the following will be true: Harmony, Province "
    "object, Object Craves other object.\nOnce Overcome action is performed the following will "
    "be false: Province other object, Pain object.\nTo perform Feast action, the following "
    "needs to be true: Object Craves other object, Province object, Harmony.\nOnce Feast action "
    "is performed the following will be true: Pain object, Province other object.\nOnce Feast "
    "action is performed the following will be false: Object Craves other object, Province "
    "object, Harmony.")


def mystery_verbalizer(intro: bool = True) -> Verbalizer:
    """PlanBench's deceptive Mystery Blocksworld wording ('object a craves object b')."""
    return Verbalizer(
        predicates={"craves": "{0} craves {1}", "harmony": "harmony", "pain": "pain {0}",
                    "planet": "planet {0}", "province": "province {0}"},
        actions={"attack": "attack {0}", "succumb": "succumb {0}",
                 "overcome": "overcome {0} from {1}", "feast": "feast {0} from {1}"},
        objects={b: f"object {b}" for b in "abcdefghijkl"},
        domain_intro=MYSTERY_INTRO if intro else "")


def generic_verbalizer(domain: Domain, objects: dict[str, str] | None = None,
                       intro: bool = True) -> Verbalizer:
    """Names as words: 'pred x y', 'action x y' (PlanBench's randomised vocabulary style)."""
    def t(name: str, k: int) -> str:
        return " ".join([name] + [f"{{{i}}}" for i in range(k)])

    acts = ", ".join(domain.actions)
    return Verbalizer(
        predicates={p: t(p, len(ts)) for p, ts in domain.predicates.items()},
        actions={n: t(n, len(a.parameters)) for n, a in domain.actions.items()},
        objects=dict(objects or {}),
        domain_intro=(f"I am playing with a set of objects. The actions I can do are: {acts}."
                      if intro else ""))


LOGISTICS_KINDS = {"p": "package", "t": "truck", "a": "airplane", "l": "location", "c": "city"}
_LOGISTICS_WORD = re.compile(r"^(package|truck|airplane|location|city)_(\d+)(?:_(\d+))?$")


def logistics_name(o: str) -> str:
    """PlanBench's Logistics object words: p0 -> package_0, l1-0 -> location_1_0, c2 -> city_2."""
    kind = LOGISTICS_KINDS.get(o[:1])
    digits = re.findall(r"\d+", o)
    return f"{kind}_{'_'.join(digits)}" if kind and digits else o


def logistics_object(word: str) -> str | None:
    """The inverse of `logistics_name` (None if `word` is not such a name)."""
    m = _LOGISTICS_WORD.match(word)
    if not m:
        return None
    kind, a, b = m.groups()
    return f"{kind[0]}{a}" + (f"-{b}" if b is not None else "")


def logistics_verbalizer(intro: bool = True) -> Verbalizer:
    """PlanBench's Logistics wording: 'fly airplane_1 from location_0_0 to location_1_0';
    type predicates are not verbalised, as in PlanBench."""
    return Verbalizer(
        predicates={"airplane": "", "airport": "{0} is an airport", "at": "{0} is at {1}",
                    "city": "", "in": "{0} is in {1}", "in-city": "{0} is in the city {1}",
                    "location": "", "obj": "", "truck": ""},
        actions={"load-truck": "load {0} into {1} at {2}",
                 "load-airplane": "load {0} into {1} at {2}",
                 "unload-truck": "unload {0} from {1} at {2}",
                 "unload-airplane": "unload {0} from {1} at {2}",
                 "drive-truck": "drive {0} from {1} to {2} in {3}",
                 "fly-airplane": "fly {0} from {1} to {2}"},
        display=logistics_name, undisplay=logistics_object,
        domain_intro=LOGISTICS_INTRO if intro else "")


LOGISTICS_INTRO = (
    "I have to plan logistics to transport packages within cities via trucks and between "
    "cities via airplanes. Locations within a city are directly connected (trucks can move "
    "between any two such locations), and so are the cities. In each city there is exactly "
    "one truck and each city has one location that serves as an airport.\n"
    "Here are the actions that can be performed:\n"
    "\n"
    "Load a package into a truck. \n"
    "Load a package into an airplane.\n"
    "Unload a package from a truck. \n"
    "Unload a package from an airplane. \n"
    "Drive a truck from one location to another location. \n"
    "Fly an airplane from one city to another city.\n"
    "\n"
    "The following are the restrictions on the actions:\n"
    "A package can be loaded into a truck only if the package and the truck are in the "
    "same location.\n"
    "Once a package is loaded into a truck, the package is not at the location and is in "
    "the truck.   \n"
    "A package can be loaded into an airplane only if the package and the airplane are in "
    "the same location.\n"
    "Once a package is loaded into an airplane, the package is not at the location and is "
    "in the airplane.\n"
    "A package can be unloaded from a truck only if the package is in the truck.\n"
    "Once a package is unloaded from a truck, the package is not in the truck and is at "
    "the location of the truck.\n"
    "A package can be unloaded from an airplane only if the package in the airplane.\n"
    "Once a package is unloaded from an airplane, the package is not in the airplane and "
    "is at the location of the airplane.   \n"
    "A truck can be driven from one location to another if the truck is at the "
    "from-location and both from-location and to-location are locations in the same city.\n"
    "Once a truck is driven from one location to another, it is not at the from-location "
    "and is at the to-location.\n"
    "An airplane can be flown from one city to another if the from-location and the "
    "to-location are airports and the airplane is at the from-location.\n"
    "Once an airplane is flown from one city to another the airplane is not at the "
    "from-location and is at the to-location."
)
