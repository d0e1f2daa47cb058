"""The shipped tasks: Blocksworld (IPC 2000 probBLOCKS-4-1, 4-2, 5-0, 5-1), Gripper (two
balls, and IPC gripper-x-1 to x-10 with 2k+2 balls, the official code's Gripper prob_1..10),
Elevator (IPC 2000 Miconic, the official code's prob_21..26) and DoorKey grids after MiniGrid's
DoorKey-NxN, all as PDDL files in `symbolic_rl/pddl/`; and held-out goals over a task's objects
for the zero-shot test.
"""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path

from neurips23.errors import ConfigError
from neurips23.symbolic_rl.simulator import Atom, TaskSpec

TASKS: dict[str, tuple[str, str]] = {
    "blocksworld-4-1": ("blocksworld", "probBLOCKS-4-1.pddl"),
    "blocksworld-4-2": ("blocksworld", "probBLOCKS-4-2.pddl"),
    "blocksworld-5-0": ("blocksworld", "probBLOCKS-5-0.pddl"),
    "blocksworld-5-1": ("blocksworld", "probBLOCKS-5-1.pddl"),
    "gripper-2": ("gripper", "prob-2-balls.pddl"),
    "gripper-4": ("gripper", "prob01.pddl"),
    **{f"gripper-x-{k}": ("gripper", f"gripper-x-{k}.pddl") for k in range(3, 11)},
    **{f"elevator-{n}": ("elevator", f"prob_{n}.pddl") for n in range(21, 27)},
    "doorkey-5x5": ("doorkey", "doorkey-5x5.pddl"),
    "doorkey-6x6": ("doorkey", "doorkey-6x6.pddl"),
    "doorkey-8x8": ("doorkey", "doorkey-8x8.pddl"),
}


def pddl_dir() -> Path:
    """The folder of the shipped PDDL files."""
    return Path(str(resources.files("neurips23.symbolic_rl") / "pddl"))


def task_files(name: str) -> tuple[Path, Path]:
    """(domain file, problem file) of the shipped task `name`."""
    if name not in TASKS:
        raise ConfigError(f"task {name!r}: choose from {', '.join(TASKS)}")
    family, problem = TASKS[name]
    return pddl_dir() / family / "domain.pddl", pddl_dir() / family / problem


def load_task(name: str):
    """A simulator of the shipped task `name`."""
    from neurips23.symbolic_rl.simulator import load_simulator

    return load_simulator(*task_files(name))


def family(name: str) -> str:
    """The domain family of a task: blocksworld, gripper, elevator or doorkey."""
    return name.split("-", 1)[0]


def gripper_problem(k: int) -> str:
    """IPC 1998 Gripper gripper-x-`k`: 2k+2 balls in room a, the goal all in room b (the
    official code's Domains/grounded_gripper/prob_k, grounded there, lifted here)."""
    balls = [f"ball{i}" for i in range(1, 2 * k + 3)]
    return "\n".join([
        f"; IPC 1998 Gripper gripper-x-{k}: {len(balls)} balls from room a to room b, written by "
        "neurips23.symbolic_rl.domains.gripper_problem",
        f"(define (problem gripper-x-{k})", "  (:domain gripper-typed)",
        "  (:objects rooma roomb - room " + " ".join(balls) + " - ball left right - gripper)",
        "  (:init (at-robby rooma) (free left) (free right)",
        "         " + " ".join(f"(at {b} rooma)" for b in balls) + ")",
        "  (:goal (and " + " ".join(f"(at {b} roomb)" for b in balls) + ")))"]) + "\n"


def miconic_problem(name: str, floors: int, origin: dict[int, int], destin: dict[int, int],
                    lift_at: int, source: str = "") -> str:
    """A Miconic problem: passenger p boards at floor origin[p] and departs at destin[p]; the
    lift starts at `lift_at`; the goal serves everyone. `above fi fj` holds for i < j."""
    fl = [f"f{i}" for i in range(floors)]
    ps = sorted(origin)
    init = [f"(lift-at f{lift_at})"]
    init += [f"(above f{i} f{j})" for i in range(floors) for j in range(i + 1, floors)]
    init += [f"(origin p{p} f{origin[p]})" for p in ps] + [f"(destin p{p} f{destin[p]})" for p in ps]
    lines = [f"; Miconic {name}: {floors} floors, {len(ps)} passengers"
             + (f"; from the official code's Domains/grounded_elevator/{source}" if source else ""),
             f"(define (problem {name})", "  (:domain miconic)",
             "  (:objects " + " ".join(fl) + " - floor " + " ".join(f"p{p}" for p in ps)
             + " - passenger)", "  (:init"]
    lines += [f"    {a}" for a in init]
    lines += ["  )", "  (:goal (and " + " ".join(f"(served p{p})" for p in ps) + ")))"]
    return "\n".join(lines) + "\n"


def doorkey_problem(size: int) -> str:
    """The DoorKey-`size`x`size` problem as PDDL. As in MiniGrid, the outer ring is wall; a wall
    column at x = (size-1)//2 splits the interior, with a locked door in row (size-1)//2. The
    agent starts top-left, the key lies bottom-left, the goal cell is bottom-right."""
    if size < 5:
        raise ConfigError(f"doorkey size {size}: at least 5")
    inner = range(1, size - 1)
    wall = (size - 1) // 2
    door = (wall, (size - 1) // 2)
    cells = [(x, y) for y in inner for x in inner if x != wall or (x, y) == door]
    name = {c: f"x{c[0]}y{c[1]}" for c in cells}
    adj = [(a, b) for a in cells for b in cells if abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1]
    init = [f"(at-agent {name[(1, 1)]})", "(handempty)",
            f"(key-at key1 {name[(1, size - 2)]})", f"(locked {name[door]})"]
    init += [f"(passable {name[c]})" for c in cells if c != door]
    init += [f"(adj {name[a]} {name[b]})" for a, b in adj]
    lines = [f"; DoorKey-{size}x{size}, written by neurips23.symbolic_rl.domains.doorkey_problem",
             f"(define (problem doorkey-{size}x{size})", "  (:domain doorkey)",
             "  (:objects " + " ".join(name[c] for c in cells) + " - cell key1 - key)",
             "  (:init"]
    lines += [f"    {a}" for a in init]
    lines += ["  )", f"  (:goal (at-agent {name[(size - 2, size - 2)]})))"]
    return "\n".join(lines) + "\n"


def sample_goals(spec: TaskSpec, n: int, rng: random.Random, family_name: str,
                 max_tries: int = 2000) -> list[tuple[Atom, ...]]:
    """Up to n distinct held-out goals over the task's objects, none already true initially and
    none equal to the task's own goal (Blocksworld: the `on` atoms of a random arrangement;
    Gripper: a random room per ball; DoorKey: a random cell for the agent)."""
    init, own = set(spec.atoms(spec.init)), tuple(spec.atoms(spec.goal))
    out: list[tuple[Atom, ...]] = []
    for _ in range(max_tries):
        if len(out) >= n:
            break
        goal = _random_goal(spec, rng, family_name)
        if not goal or set(goal) <= init or goal == own or goal in out:
            continue
        out.append(goal)
    return out


def _random_goal(spec: TaskSpec, rng: random.Random, family_name: str) -> tuple[Atom, ...]:
    objs = sorted(spec.objects)
    if family_name == "blocksworld":
        order = objs[:]
        rng.shuffle(order)
        atoms = [("on", above, below) for below, above in zip(order, order[1:], strict=False)
                 if rng.random() < 0.6]  # cut the order into towers at random
        return tuple(sorted(atoms))
    if family_name == "elevator":
        ps = sorted(o for o, t in spec.objects.items() if t == "passenger")
        return tuple(sorted(("served", p) for p in rng.sample(ps, rng.randint(1, len(ps)))))
    if family_name == "gripper":
        rooms = sorted(o for o, t in spec.objects.items() if t == "room")
        balls = sorted(o for o, t in spec.objects.items() if t == "ball")
        return tuple(sorted(("at", b, rng.choice(rooms)) for b in balls))
    if family_name == "doorkey":
        cells = sorted(o for o, t in spec.objects.items() if t == "cell")
        return (("at-agent", rng.choice(cells)),)
    raise ConfigError(f"no goal sampler for domain family {family_name!r}")
