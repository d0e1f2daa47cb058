"""The learned model as PDDL (the paper hands its optimistic model to an off-the-shelf planner
as PDDL). Each precondition hypothesis becomes its own action (the paper's "action copies"):

- grounded: one parameterless action per (grounded action, hypothesis), the objects written as
  constants; exactly the model the planner searches (actions over their failure bound left out).
- lifted: one action per (schema, hypothesis) with the schema's parameters; this is the
  reusable model, which a planner can ground on any problem of the domain.

Names are lower-case letters, digits, '-' and '_', so the PDDL layer's reader,
unified-planning and Fast Downward read them back (tests check the first two).
"""

from __future__ import annotations

import re

from neurips23.symbolic_rl.model import OptimisticModel, PlanningView
from neurips23.symbolic_rl.simulator import Atom, TaskSpec, bits


def _atom(a: Atom) -> str:
    return "(" + " ".join(a) + ")"


def _typed(items: list[tuple[str, str]], typed: bool) -> str:
    if not typed:
        return " ".join(n for n, _ in items)
    runs: list[tuple[str, list[str]]] = []  # consecutive runs: the order of names is kept
    for n, t in items:
        if runs and runs[-1][0] == t:
            runs[-1][1].append(n)
        else:
            runs.append((t, [n]))
    return " ".join(" ".join(ns) + f" - {t}" for t, ns in runs)


def _header(spec: TaskSpec, name: str, constants: dict[str, str]) -> list[str]:
    typed = bool(spec.types)
    reqs = ":strips :typing" if typed else ":strips"
    lines = [f"(define (domain {name})", f"  (:requirements {reqs})"]
    if typed:
        lines.append("  (:types " + _typed(sorted(spec.types.items()), True) + ")")
    if constants:
        lines.append("  (:constants " + _typed(list(constants.items()), typed) + ")")
    preds = []
    for p, ts in spec.predicates.items():
        args = [(f"?x{i}", t) for i, t in enumerate(ts)]
        preds.append("(" + " ".join([p, _typed(args, typed)]).strip() + ")")
    lines.append("  (:predicates " + " ".join(preds) + ")")
    return lines


def _action(name: str, params: str, pre: list[Atom], add: list[Atom], dele: list[Atom]) -> list[str]:
    eff = [_atom(a) for a in add] + [f"(not {_atom(a)})" for a in dele]
    return [f"  (:action {name}", f"    :parameters ({params})",
            "    :precondition (and " + " ".join(map(_atom, pre)) + ")",
            "    :effect (and " + " ".join(eff) + "))"]


def _safe(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "_", text.lower())


def grounded_model_pddl(view: PlanningView, spec: TaskSpec, init: int, goal: int,
                        domain_name: str | None = None) -> tuple[str, str, dict[str, int]]:
    """(domain text, problem text, {written action name: grounded action index}) of the
    planning view, one parameterless action per hypothesis."""
    dname = domain_name or f"learned-{spec.domain_name}"
    lines = _header(spec, dname, {**spec.constants, **spec.objects})
    names: dict[str, int] = {}
    for i, (aname, args) in enumerate(spec.actions):
        add, dele = spec.atoms(view.add[i]), spec.atoms(view.dele[i])
        for j, h in enumerate(view.hyps[i]):
            base = _safe("_".join((aname, *args, f"h{j}")))
            name, n = base, 1
            while name in names:
                n += 1
                name = f"{base}-{n}"
            names[name] = i
            lines += _action(name, "", spec.atoms(h), add, dele)
    lines.append(")")
    return "\n".join(lines) + "\n", problem_pddl(spec, dname, init, goal, objects=False), names


def lifted_model_pddl(model: OptimisticModel, domain_name: str | None = None) -> str:
    """The lifted model as a PDDL domain: one action per (schema, live hypothesis), the shared
    add and delete estimates as its effects."""
    if not model.lifted:
        raise ValueError("lifted_model_pddl needs a lifted model")
    spec = model.spec
    lines = _header(spec, domain_name or spec.domain_name, dict(spec.constants))
    typed = bool(spec.types)
    for schema, voc in model.vocab.items():
        params = _typed(list(spec.schemas[schema]), typed)
        add = [voc[k] for k in bits(model.add_l[schema])]
        dele = [voc[k] for k in bits(model.del_l[schema])]
        for j, h in enumerate(model.pre[schema].live):
            lines += _action(_safe(f"{schema}_h{j}"), params, [voc[k] for k in bits(h)], add, dele)
    lines.append(")")
    return "\n".join(lines) + "\n"


def learned_domain_pddl(model: OptimisticModel) -> tuple[str, str]:
    """(domain, problem) PDDL of a learned model: lifted schemas for a lifted model, grounded
    copies otherwise; the problem is the task's own initial state and goal."""
    spec = model.spec
    if model.lifted:
        name = f"learned-{spec.domain_name}"
        return lifted_model_pddl(model, name), problem_pddl(spec, name, spec.init, spec.goal)
    view = model.planning_view(respect_bounds=False)
    dom, prob, _ = grounded_model_pddl(view, spec, spec.init, spec.goal)
    return dom, prob


def problem_pddl(spec: TaskSpec, domain_name: str | None = None, init: int | None = None,
                 goal: int | None = None, objects: bool = True, name: str | None = None) -> str:
    """A PDDL problem over the task's objects with the given (default: the task's) init and goal."""
    init = spec.init if init is None else init
    goal = spec.goal if goal is None else goal
    lines = [f"(define (problem {_safe(name or spec.problem_name)})",
             f"  (:domain {domain_name or spec.domain_name})"]
    objs = {o: t for o, t in spec.objects.items() if o not in spec.constants}
    if objects and objs:
        lines.append("  (:objects " + _typed(list(objs.items()), bool(spec.types)) + ")")
    lines.append("  (:init " + " ".join(_atom(a) for a in spec.atoms(init)) + ")")
    lines.append("  (:goal (and " + " ".join(_atom(a) for a in spec.atoms(goal)) + "))")
    lines.append(")")
    return "\n".join(lines) + "\n"
