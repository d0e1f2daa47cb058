"""PlanBench's natural-language interface: verbalising states, goals and plans, the one-shot /
zero-shot / PDDL prompts, the text -> plan parser (which keeps every line it could not read)
and the back-prompting feedback messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from neurips23.planning.pddl import Atom, Domain, Problem, domain_to_pddl, problem_to_pddl
from neurips23.planning.validate import PlanStep, ValidationResult

COLOURS = ["red", "blue", "orange", "yellow", "white", "magenta", "black", "cyan", "green",
           "violet", "silver", "gold"]  # PlanBench shows blocks a..l as colours

STOP = "[STATEMENT]"
ZERO_SHOT_QUESTION = "What is the plan to achieve my goal? Just give the actions in the plan."


@dataclass
class Verbalizer:
    """Templates that turn atoms and actions into sentences, `{0}` `{1}` marking arguments."""

    predicates: dict[str, str]
    actions: dict[str, str]
    objects: dict[str, str] = field(default_factory=dict)  # object -> display word
    domain_intro: str = ""

    def obj(self, o: str) -> str:
        return self.objects.get(o, o)

    def atom(self, a: Atom) -> str:
        """One atom as a phrase."""
        t = self.predicates.get(a[0])
        if t is None:
            return "(" + " ".join(a) + ")"
        return t.format(*(self.obj(x) for x in a[1:]))

    def atoms(self, atoms) -> str:
        """PlanBench's list style: 'x, y and z' in the templates' predicate order."""
        order = {p: i for i, p in enumerate(self.predicates)}
        phrases = [self.atom(a) for a in sorted(atoms, key=lambda a: (order.get(a[0], 99), a))]
        if len(phrases) <= 1:
            return "".join(phrases)
        return ", ".join(phrases[:-1]) + " and " + phrases[-1]

    def step(self, name: str, args) -> str:
        """One action as an imperative sentence."""
        t = self.actions.get(name)
        if t is None:
            return "(" + " ".join((name, *args)) + ")"
        return t.format(*(self.obj(x) for x in args))

    def plan(self, steps) -> str:
        """Plan lines, one action per line."""
        out = []
        for s in steps:
            s = s if isinstance(s, PlanStep) else _pddl_step(str(s))
            out.append(self.step(s.name, s.args))
        return "\n".join(out)

    def statement(self, problem: Problem) -> str:
        """PlanBench's [STATEMENT] body for one problem."""
        return (f"As initial conditions I have that, {self.atoms(problem.init)}.\n"
                f"My goal is to have that {self.atoms(problem.goal)}.")

    # ------------------------------------------------------------------ parsing
    def _patterns(self) -> list[tuple[str, re.Pattern]]:
        pats = []
        for name, t in self.actions.items():
            parts = re.split(r"(\{\d+\})", t)
            rx = "".join(r"(\S+)" if re.fullmatch(r"\{\d+\}", p) else re.escape(p)
                         for p in parts)
            order = [int(p[1:-1]) for p in parts if re.fullmatch(r"\{\d+\}", p)]
            pats.append((name, re.compile("^" + rx + "$"), order))
        return pats

    def parse(self, text: str) -> ParsedPlan:
        """Model text -> plan; every non-empty line that is not an action is kept as unparsed."""
        back = {v: k for k, v in self.objects.items()}
        pats = self._patterns()
        body = plan_section(text)
        steps: list[PlanStep] = []
        unparsed: list[str] = []
        for lineno, raw in enumerate(body.splitlines(), start=1):
            line = _normalise(raw)
            if not line:
                continue
            m = _PDDL_LINE.match(line)
            if m:
                steps.append(PlanStep(m.group(1), tuple(m.group(2).split()), lineno))
                continue
            for name, rx, order in pats:
                mm = rx.match(line)
                if mm:
                    args = [""] * len(order)
                    for slot, val in zip(order, mm.groups(), strict=True):
                        args[slot] = back.get(val, val)
                    steps.append(PlanStep(name, tuple(args), lineno))
                    break
            else:
                unparsed.append(raw.strip())
        return ParsedPlan(steps, unparsed, no_plan=not steps)


@dataclass
class ParsedPlan:
    """The plan read from model text and the lines that could not be read."""

    steps: list[PlanStep]
    unparsed: list[str]
    no_plan: bool


_PDDL_LINE = re.compile(r"^\(\s*([^()\s]+)((?:\s+[^()\s]+)*)\s*\)$")


def _pddl_step(s: str) -> PlanStep:
    m = _PDDL_LINE.match(s.strip().lower())
    if not m:
        raise ValueError(f"not a plan step: {s!r}")
    return PlanStep(m.group(1), tuple(m.group(2).split()))


def _normalise(line: str) -> str:
    line = line.strip().lower()
    line = re.sub(r"^(?:step\s*)?\d+\s*[.):]\s*", "", line)  # "1." "2)" "step 3:"
    line = re.sub(r"^[-*\u2022]\s*", "", line)  # bullets
    line = re.sub(r"\s+", " ", line).strip().rstrip(".,;")
    return line.strip()


def plan_section(text: str) -> str:
    """The text between [PLAN] (if present) and [PLAN END] / the next [STATEMENT]."""
    low = text.lower()
    i = low.find("[plan]")
    if i >= 0:
        text, low = text[i + 6:], low[i + 6:]
    for marker in ("[plan end]", "[statement]"):
        j = low.find(marker)
        if j >= 0:
            text, low = text[:j], low[:j]
    return text


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
    """PlanBench's back-prompt: the first failing action's unmet preconditions, or the unmet
    goals, in natural language."""
    if result.valid:
        return "The above plan is valid."
    if result.failed_step is not None:
        assert step is not None
        what = v.step(step.name, step.args)
        if result.bad_arguments:
            return (f"The above plan is invalid. The following action at step "
                    f"{result.failed_step} has arguments of the wrong type:\n{what}")
        pre = v.atoms(result.unmet_preconditions)
        noun = ("The unmet precondition is" if len(result.unmet_preconditions) == 1
                else "The unmet preconditions are")
        return (f"The above plan is invalid. The following action at step {result.failed_step} "
                f"has an unmet precondition:\n{what}\n{noun}:\n{pre}")
    return ("The above plan is invalid. These are the unmet goal conditions:\n"
            f"{v.atoms(result.unmet_goals)}")


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
                    "holding": "I am holding the {0} block",
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
        predicates={"province": "province object {0}", "harmony": "harmony",
                    "pain": "pain object {0}", "craves": "object {0} craves object {1}",
                    "planet": "planet object {0}"},
        actions={"attack": "attack object {0}", "succumb": "succumb object {0}",
                 "overcome": "overcome object {0} from object {1}",
                 "feast": "feast object {0} from object {1}"},
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


def logistics_verbalizer(intro: bool = True) -> Verbalizer:
    """Logistics wording in the style of PlanBench's logistics prompts."""
    return Verbalizer(
        predicates={"at": "{0} is at {1}", "in": "{0} is in {1}",
                    "in-city": "{0} is in the city {1}"},
        actions={"load-truck": "load {0} into truck {1} at {2}",
                 "load-airplane": "load {0} into airplane {1} at {2}",
                 "unload-truck": "unload {0} from truck {1} at {2}",
                 "unload-airplane": "unload {0} from airplane {1} at {2}",
                 "drive-truck": "drive truck {0} from {1} to {2} in city {3}",
                 "fly-airplane": "fly airplane {0} from {1} to {2}"},
        domain_intro=(
            "I have to plan logistics to transport packages within cities via trucks and "
            "between cities via airplanes. Locations within a city are directly connected "
            "(trucks can move between any two such locations), and so are the cities. In each "
            "city there is exactly one truck and each city has one location that serves as an "
            "airport.\nHere are the actions that can be performed:\nLoad a package into a "
            "truck.\nLoad a package into an airplane.\nUnload a package from a truck.\nUnload "
            "a package from an airplane.\nDrive a truck from one location to another location "
            "in the same city.\nFly an airplane from one airport to another airport.\nThe "
            "following are the restrictions on the actions:\nA package can be loaded into a "
            "truck or an airplane only if the package and the vehicle are at the same "
            "location.\nA package can be unloaded only where the vehicle is.\nA truck can only "
            "be driven between locations of the same city.\nAn airplane can only fly between "
            "airports." if intro else ""))
