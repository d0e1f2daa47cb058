"""The paper's experiments as plain functions: interactions to the first goal-reaching plan for
the optimistic learner (lifted or grounded) and the RL baselines, zero-shot solving of held-out
goals with a frozen learned model, and transfer of a lifted model to more objects."""

from __future__ import annotations

import random
import time

from neurips23.symbolic_rl.baselines import run_baseline
from neurips23.symbolic_rl.config import BaselineSettings, LearnerSettings
from neurips23.symbolic_rl.diagnostics import model_scores, soundness
from neurips23.symbolic_rl.domains import family, sample_goals, task_files
from neurips23.symbolic_rl.explore import make_planner, optimistic_exploration
from neurips23.symbolic_rl.model import OptimisticModel
from neurips23.symbolic_rl.pddl_writer import problem_pddl
from neurips23.symbolic_rl.simulator import Simulator

LEARNERS = ("lifted", "grounded")


def load_pair(task: str):
    """(domain, problem) objects of a shipped task, read by the PDDL layer's reader."""
    from neurips23.pddl.parser import load_domain, load_problem

    dpath, ppath = task_files(task)
    domain = load_domain(dpath)
    return domain, load_problem(ppath, domain)


def plan_is_valid(domain, problem_text: str, spec, plan: list[int]) -> bool:
    """The plan checked by the PDDL layer's validator (VAL semantics) on the true model."""
    from neurips23.pddl.parser import parse_problem
    from neurips23.pddl.validate import validate_plan

    problem = parse_problem(problem_text, domain, "<held-out>")
    return validate_plan(domain, problem, [spec.action_str(a) for a in plan]).valid


def learn(task: str, arm: str, seed: int, budget: int, settings: LearnerSettings,
          model: OptimisticModel | None = None) -> tuple[dict, OptimisticModel, Simulator]:
    """Optimistic exploration on `task` (arm 'lifted' or 'grounded'), optionally starting from a
    given model (transfer). Returns the result row, the learned model and the simulator."""
    domain, problem = load_pair(task)
    sim = Simulator(domain, problem)
    if model is None:
        model = OptimisticModel(sim.spec, lifted=arm == "lifted",
                                max_precondition_length=settings.max_precondition_length,
                                failure_bound=settings.failure_bound,
                                grounded_vocabulary=settings.grounded_vocabulary)
    planner = make_planner(settings.planner, sim.spec, seed, settings.max_expansions,
                           settings.heuristic)
    res = optimistic_exploration(sim, model, planner, settings.k_plans, budget,
                                 probe=settings.probe)
    valid = res.found and plan_is_valid(domain, problem_pddl(sim.spec), sim.spec, res.plan)
    sound = soundness(model, sim.true_model())
    row = {"task": task, "arm": arm, "seed": seed, "found": res.found,
           "interactions": res.interactions if res.found else budget, "status": res.status,
           "plan_length": len(res.plan) if res.found else None, "plan_valid": valid,
           "rounds": res.iterations, "planner_calls": res.planner_calls,
           "seconds": round(res.seconds, 3), "sound": all(sound.values()),
           **{f"model_{k}": round(v, 4) for k, v in model_scores(model, sim.true_model()).items()}}
    return row, model, sim


def baseline(task: str, arm: str, seed: int, budget: int, settings: BaselineSettings) -> dict:
    """One RL baseline's interactions to the first goal reach on `task`."""
    domain, problem = load_pair(task)
    sim = Simulator(domain, problem)
    t0 = time.perf_counter()
    res = run_baseline(arm, sim, budget, seed, settings.alpha, settings.gamma, settings.epsilon,
                       settings.episode_steps)
    valid = res.found and plan_is_valid(domain, problem_pddl(sim.spec), sim.spec, res.plan)
    return {"task": task, "arm": arm, "seed": seed, "found": res.found,
            "interactions": res.interactions if res.found else budget,
            "status": "found" if res.found else "budget", "plan_valid": valid,
            "seconds": round(time.perf_counter() - t0, 3), "states_seen": res.states_seen}


def zero_shot(model: OptimisticModel, sim: Simulator, task: str, n_goals: int, seed: int,
              settings: LearnerSettings) -> list[dict]:
    """Held-out goals over the task's objects, each solved by planning once on the frozen model
    (no interaction at all); a goal counts as solved when the plan is valid in the true model."""
    domain, _ = load_pair(task)
    spec = sim.spec
    goals = sample_goals(spec, n_goals, random.Random(10_007 * seed + 1), family(task))
    planner = make_planner(settings.planner, spec, seed, settings.max_expansions,
                           settings.heuristic)
    view = model.planning_view(respect_bounds=False)
    before = sim.interactions
    rows = []
    for j, goal in enumerate(goals):
        gmask = spec.mask(goal)
        out = planner(view, spec.init, gmask, 1)
        plan = out.plans[0] if out.plans else None
        text = problem_pddl(spec.with_goal(goal, f"{spec.problem_name}-heldout-{j}"))
        solved = plan is not None and plan_is_valid(domain, text, spec, plan)
        rows.append({"goal": " ".join("(" + " ".join(a) + ")" for a in goal), "solved": solved,
                     "plan_length": len(plan) if plan is not None else None})
    assert sim.interactions == before  # zero further interactions, by construction
    return rows


def transfer(source: str, target: str, seed: int, budget: int, settings: LearnerSettings
             ) -> dict:
    """Learn a lifted model on `source`, then explore `target` (more objects) starting from it;
    interactions are those spent on the target."""
    src_row, src_model, _ = learn(source, "lifted", seed, budget, settings)
    domain, problem = load_pair(target)
    tgt_spec = Simulator(domain, problem).spec
    row, _, _ = learn(target, "lifted", seed, budget, settings, src_model.transfer_to(tgt_spec))
    row.update(arm="transfer", source=source, source_interactions=src_row["interactions"],
               source_found=src_row["found"])
    return row
