"""A domain's wording and reading plans back from model text.

`Verbalizer` holds the sentences that show a domain's atoms and actions (PlanBench's wording
for each domain is built in `nl`); `read_plan` reads a plan out of model text, at least as
leniently as PlanBench's extractor (`text_to_plan_*`: an action keyword plus the object words
of the line, in order), while keeping every non-empty line it could not read.

A line is read, in order of preference, as
1. a PDDL step, `(unstack a b)`;
2. an exact sentence of the domain's wording, `unstack the red block from on top of the blue
   block`;
3. an action keyword (the words of the action's sentence before its first argument, or the
   action's PDDL name) plus the objects the line names, in the order they appear:
   `unstack the yellow block from the red block`, `**Step 1:** pick up the red block`,
   `pick up red block` (if the objects do not fit, each counts once, at its first mention,
   as PlanBench's Blocksworld reader counts them). When
   two actions share a keyword (Logistics' `load` into a truck or an airplane) the one whose
   argument types and static preconditions hold best in the problem is taken; one missing
   argument that the problem determines best (the city of `drive truck_0 from location_0_0 to
   location_0_1`) is filled in, as PlanBench does.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from neurips23.pddl.parser import Atom, Domain, Problem
from neurips23.pddl.validate import PlanStep

_TOKEN = re.compile(r"[a-z0-9][a-z0-9_\-]*")
_FILLERS = {"the", "a", "an", "block", "object"}


@dataclass
class Verbalizer:
    """Templates that turn atoms and actions into sentences, `{0}` `{1}` marking arguments.

    Objects show as `objects[o]` (a fixed table, e.g. Blocksworld's colours), else as
    `display(o)` (a naming rule, e.g. Logistics' `p0` -> `package_0`), else as themselves;
    `undisplay` inverts the rule when reading text without the problem at hand."""

    predicates: dict[str, str]
    actions: dict[str, str]
    objects: dict[str, str] = field(default_factory=dict)  # object -> display word(s)
    domain_intro: str = ""
    display: Callable[[str], str] | None = None
    undisplay: Callable[[str], str | None] | None = None

    def obj(self, o: str) -> str:
        """The words that show object `o`."""
        if o in self.objects:
            return self.objects[o]
        return self.display(o) if self.display else o

    def atom(self, a: Atom) -> str:
        """One atom as a phrase ('' for predicates PlanBench does not verbalise)."""
        t = self.predicates.get(a[0])
        if t is None:
            return "(" + " ".join(a) + ")"
        return t.format(*(self.obj(x) for x in a[1:]))

    def atoms(self, atoms, feedback: bool = False) -> str:
        """PlanBench's list style, 'x, y and z', atoms sorted by their PDDL names as PlanBench
        sorts them ('pred a b' in statements, 'pred_a_b' in feedback)."""
        sep = "_" if feedback else " "
        phrases = [p for p in (self.atom(a) for a in sorted(atoms, key=sep.join)) if p]
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

    def parse(self, text: str, problem: Problem | None = None, domain: Domain | None = None
              ) -> ParsedPlan:
        """Model text -> plan (see `read_plan`); every line that is not an action is kept as
        unparsed."""
        return read_plan(self, text, problem, domain)


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


# ------------------------------------------------------------------ reading plans

def normalise(line: str) -> str:
    """Lower-case, without markdown emphasis, numbering ('1.', 'step 3:'), bullets or final
    punctuation."""
    line = line.strip().lower().replace("**", "").replace("__", "").replace("`", "")
    line = re.sub(r"^#+\s*", "", line)
    line = re.sub(r"^(?:step\s*)?\d+\s*[.):]\s*", "", line)
    line = re.sub(r"^[-*\u2022]\s*", "", line)
    line = re.sub(r"^(?:step\s*)?\d+\s*[.):]\s*", "", line)  # "- 1." and "1. step 2:"
    return re.sub(r"\s+", " ", line).strip().rstrip(".,;").strip()


def _template_regex(template: str) -> tuple[re.Pattern, list[int]]:
    parts = re.split(r"(\{\d+\})", template)
    rx = "".join(r"(.+?)" if re.fullmatch(r"\{\d+\}", p) else re.escape(p) for p in parts)
    return re.compile("^" + rx + "$"), [int(p[1:-1]) for p in parts if re.fullmatch(r"\{\d+\}", p)]


def keywords(v: Verbalizer) -> list[tuple[tuple[str, ...], str]]:
    """(keyword tokens, action) pairs: the sentence's words before its first argument (articles
    and nouns like 'block' dropped) and the action's PDDL name."""
    out = []
    for name, t in v.actions.items():
        head = _TOKEN.findall(t.split("{", 1)[0].lower())
        while head and head[-1] in _FILLERS:
            head.pop()
        if head:
            out.append((tuple(head), name))
        out.append(((name.lower(),), name))
    return out


def _object_words(v: Verbalizer, objects: Iterable[str]) -> dict[tuple[str, ...], str]:
    """Display words (as tokens) -> object, for the objects the text may name."""
    table = {}
    for o in objects:
        words = tuple(_TOKEN.findall(v.obj(o).lower()))
        if words and words[-1] == "block" and len(words) > 1:
            words = words[:-1]  # 'red block' is read as 'red' (plus a filler)
        if words:
            table[words] = o
    return table


def _find_objects(tokens: list[str], table: dict[tuple[str, ...], str], v: Verbalizer
                  ) -> list[str]:
    """Objects named in the line, in order (longest display match at each position)."""
    longest = max((len(k) for k in table), default=1)
    out, i = [], 0
    while i < len(tokens):
        for n in range(min(longest, len(tokens) - i), 0, -1):
            o = table.get(tuple(tokens[i:i + n]))
            if o is not None:
                out.append(o)
                i += n
                break
        else:
            o = v.undisplay(tokens[i]) if v.undisplay and not table else None
            if o is not None:
                out.append(o)
            i += 1
    return out


def _score(domain: Domain | None, problem: Problem | None, name: str, args: tuple[str, ...]
           ) -> int:
    """How many of `name(args)`'s argument types and static preconditions hold in the problem
    (0 without a problem to check against)."""
    if domain is None or problem is None:
        return 0
    from neurips23.pddl.task import instantiate, static_predicates

    act = domain.actions.get(name)
    if act is None or len(act.parameters) != len(args):
        return -1
    typed = sum(o in problem.objects and domain.is_subtype(problem.objects[o], t)
                for (_, t), o in zip(act.parameters, args, strict=True))
    static = static_predicates(domain)
    return typed + sum(a in problem.init for a in instantiate(act, args).pre if a[0] in static)


def _score_max(domain: Domain | None, name: str) -> int:
    """The score of a binding whose every type and static precondition holds."""
    if domain is None or name not in domain.actions:
        return 0
    from neurips23.pddl.task import static_predicates

    act = domain.actions[name]
    static = static_predicates(domain)
    return len(act.parameters) + sum(a[0] in static for a in act.precondition)


def _choose(names: list[str], objs: list[str], v: Verbalizer, domain: Domain | None,
            problem: Problem | None, complete: bool = True
            ) -> tuple[str, tuple[str, ...]] | None:
    """The action among `names` that takes `objs`, the one whose argument types and static
    preconditions hold best when several do (Logistics' `load` into a truck or an airplane);
    else `objs` plus the one argument the problem determines best (a city)."""
    arity = {n: v.actions[n].count("{") if n in v.actions else -1 for n in names}
    if domain is not None:
        arity.update({n: len(domain.actions[n].parameters) for n in names if n in domain.actions})
    exact = [n for n in names if arity[n] == len(objs)]
    if exact:
        return max(exact, key=lambda n: _score(domain, problem, n, tuple(objs))), tuple(objs)
    if problem is None or not complete:
        return None
    for n in names:  # more objects than arguments: the ones whose types and statics fit
        if 0 < arity[n] < len(objs) <= 8:
            subs = [(_score(domain, problem, n, c), c)
                    for c in itertools.combinations(objs, arity[n])]
            best = max(sc for sc, _ in subs)
            top = {c for sc, c in subs if sc == best}
            if len(top) == 1 and best == _score_max(domain, n):
                return n, top.pop()
    for n in names:
        if arity[n] == len(objs) + 1:
            fills = [(_score(domain, problem, n, (*objs, o)), (*objs, o)) for o in problem.objects]
            best = max(sc for sc, _ in fills)
            top = [f for sc, f in fills if sc == best]
            if len(top) == 1:
                return n, top[0]
    return None


def _object(v: Verbalizer, table: dict, words: str) -> str | None:
    """The object `words` name: by the display table, the naming rule, or (when the verbaliser
    knows no objects at all) the words themselves."""
    toks = tuple(_TOKEN.findall(words))
    if toks in table:
        return table[toks]
    if v.undisplay is not None:
        return v.undisplay(words.strip())
    return None if table else words.strip().replace(" ", "_")


def exact_reading(v: Verbalizer, line: str, table: dict, domain: Domain | None = None,
                  problem: Problem | None = None) -> tuple[str, tuple[str, ...]] | None:
    """A normalised line read as a PDDL step or as one of the domain's own sentences whose
    arguments are objects the text may name; None otherwise."""
    m = _PDDL_LINE.match(line)
    if m:  # display words in a PDDL step ('(unstack red blue)') read as their objects
        return m.group(1), tuple(table.get((x,), x) for x in m.group(2).split())
    for name, t in v.actions.items():
        rx, order = _template_regex(t)
        mm = rx.match(line)
        if mm:
            args = [_object(v, table, val) for val in mm.groups()]
            if None in args:  # 'pick up the blue block with the red block on top'
                return None
            args = [args[order.index(k)] for k in range(len(order))]
            same = [n for n, tt in v.actions.items() if tt == t]
            return _choose(same, args, v, domain, problem) if len(same) > 1 else (name, tuple(args))
    return None


def read_line(v: Verbalizer, line: str, table: dict, keys: list, domain: Domain | None,
              problem: Problem | None) -> tuple[str, tuple[str, ...]] | None:
    """One normalised line as (action, args), or None if it names no action it can read."""
    exact = exact_reading(v, line, table, domain, problem)
    if exact is not None:
        return exact
    tokens = _TOKEN.findall(line)
    best: tuple[int, int, list[str]] | None = None
    for words, name in keys:
        n = len(words)
        for i in range(len(tokens) - n + 1):
            if tuple(tokens[i:i + n]) == words:
                if best is None or (i, -n) < (best[0], -best[1]):
                    best = (i, n, [name])
                elif (i, n) == best[:2] and name not in best[2]:
                    best[2].append(name)
                break
    if best is None:
        return None
    objs = _find_objects(tokens, table, v)
    once = list(dict.fromkeys(objs))  # each object at its first mention, as PlanBench's
    return (_choose(best[2], objs, v, domain, problem, complete=False)  # Blocksworld reader
            or (once != objs and _choose(best[2], once, v, domain, problem, complete=False))
            or _choose(best[2], objs, v, domain, problem))


def read_plan(v: Verbalizer, text: str, problem: Problem | None = None,
              domain: Domain | None = None) -> ParsedPlan:
    """Model text -> plan: the section between [PLAN] and [PLAN END] read line by line; every
    non-empty line that names no readable action is kept in `unparsed`."""
    objects = problem.objects if problem is not None else v.objects
    table = _object_words(v, objects)
    keys = keywords(v)
    steps: list[PlanStep] = []
    unparsed: list[str] = []
    for lineno, raw in enumerate(plan_section(text).splitlines(), start=1):
        line = normalise(raw)
        if not line:
            continue
        got = read_line(v, line, table, keys, domain, problem)
        if got is None:
            unparsed.append(raw.strip())
        else:
            steps.append(PlanStep(got[0], got[1], lineno))
    return ParsedPlan(steps, unparsed, no_plan=not steps)
