"""The RL baselines the paper compares against, on the same simulator and budget: tabular
ε-greedy Q-learning (with and without optimistic initialisation), R-MAX and a random walk.
Each counts interactions to the first time the goal is reached.

States are the simulator's proposition masks (a tabular agent sees the exact symbolic state);
the reward is 1 on reaching the goal and 0 otherwise, as in the paper's sparse-reward setting;
a failed action leaves the state unchanged. Episodes end at the goal or after
`episode_steps` steps, then the simulator is reset.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from neurips23.symbolic_rl.simulator import Simulator


@dataclass
class BaselineResult:
    """Interactions to the first goal reach (the budget when never reached) and that episode's
    actions (grounded action indices) from the reset."""

    found: bool
    interactions: int
    plan: list[int] = field(default_factory=list)
    states_seen: int = 0


def q_learning(sim: Simulator, budget: int, seed: int = 0, alpha: float = 0.1,
               gamma: float = 0.95, epsilon: float = 0.1, optimistic: bool = False,
               episode_steps: int = 200) -> BaselineResult:
    """Watkins' Q-learning with ε-greedy exploration (ties broken at random); `optimistic`
    starts every Q-value at 1, the largest return, instead of 0."""
    rng = random.Random(seed)
    n = len(sim.spec.actions)
    q0 = 1.0 if optimistic else 0.0
    table: dict[int, list[float]] = {}

    def row(s: int) -> list[float]:
        r = table.get(s)
        if r is None:
            r = table[s] = [q0] * n
        return r

    while sim.interactions < budget:
        s = sim.reset()
        episode: list[int] = []
        for _ in range(episode_steps):
            if sim.interactions >= budget:
                break
            qs = row(s)
            if rng.random() < epsilon:
                a = rng.randrange(n)
            else:
                top = max(qs)
                a = rng.choice([i for i, v in enumerate(qs) if v == top])
            ok, t = sim.step(a)
            if ok:
                episode.append(a)
            if sim.is_goal(t):
                qs[a] += alpha * (1.0 - qs[a])
                return BaselineResult(True, sim.interactions, episode, len(table))
            qs[a] += alpha * (gamma * max(row(t)) - qs[a])
            s = t
    return BaselineResult(False, sim.interactions, [], len(table))


def r_max(sim: Simulator, budget: int, seed: int = 0, episode_steps: int = 200) -> BaselineResult:
    """R-MAX (Brafman & Tennenholtz 2002) with m = 1, exact on a deterministic simulator: an
    untried state-action pair is worth the maximal reward, so the optimal policy of R-MAX's
    optimistic model walks the shortest known path to the nearest state with an untried action
    and tries it (computed here by breadth-first search instead of value iteration; ties at
    random)."""
    rng = random.Random(seed)
    n = len(sim.spec.actions)
    known: dict[int, dict[int, int]] = {}  # state -> {action: next state}
    while sim.interactions < budget:
        s = sim.reset()
        episode: list[int] = []
        path: list[int] = []
        for _ in range(episode_steps):
            if sim.interactions >= budget:
                break
            tried = known.setdefault(s, {})
            if len(tried) < n:
                a = rng.choice([i for i in range(n) if i not in tried])
            else:
                if not path:
                    path = _path_to_untried(known, s, n, rng)
                    if not path:
                        break  # everything reachable is known: reset
                a = path.pop(0)
            ok, t = sim.step(a)
            tried[a] = t
            if ok:
                episode.append(a)
            if sim.is_goal(t):
                return BaselineResult(True, sim.interactions, episode, len(known))
            s = t
    return BaselineResult(False, sim.interactions, [], len(known))


def _path_to_untried(known: dict[int, dict[int, int]], start: int, n: int,
                     rng: random.Random) -> list[int]:
    """Shortest known action path from `start` to a state with an untried action ([] if none)."""
    parent: dict[int, tuple[int, int]] = {start: (-1, -1)}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        if len(known.get(s, {})) < n:
            path = []
            while parent[s][0] != -1:
                s, a = parent[s]
                path.append(a)
            return path[::-1]
        edges = list(known[s].items())
        rng.shuffle(edges)
        for a, t in edges:
            if t not in parent:
                parent[t] = (s, a)
                queue.append(t)
    return []


def random_walk(sim: Simulator, budget: int, seed: int = 0, episode_steps: int = 200
                ) -> BaselineResult:
    """Uniformly random actions, reset every `episode_steps` steps."""
    rng = random.Random(seed)
    n = len(sim.spec.actions)
    seen: set[int] = set()
    while sim.interactions < budget:
        s = sim.reset()
        episode: list[int] = []
        for _ in range(episode_steps):
            if sim.interactions >= budget:
                break
            a = rng.randrange(n)
            ok, s = sim.step(a)
            seen.add(s)
            if ok:
                episode.append(a)
            if sim.is_goal(s):
                return BaselineResult(True, sim.interactions, episode, len(seen))
    return BaselineResult(False, sim.interactions, [], len(seen))


BASELINES = ("qlearning", "qlearning_optimistic", "rmax", "random")


def run_baseline(name: str, sim: Simulator, budget: int, seed: int = 0, alpha: float = 0.1,
                 gamma: float = 0.95, epsilon: float = 0.1, episode_steps: int = 200
                 ) -> BaselineResult:
    """Run the baseline called `name` (one of BASELINES) on `sim`."""
    if name in ("qlearning", "qlearning_optimistic"):
        return q_learning(sim, budget, seed, alpha, gamma, epsilon,
                          optimistic=name == "qlearning_optimistic", episode_steps=episode_steps)
    if name == "rmax":
        return r_max(sim, budget, seed, episode_steps)
    if name == "random":
        return random_walk(sim, budget, seed, episode_steps)
    from neurips23.errors import ConfigError
    raise ConfigError(f"baseline {name!r}: choose from {', '.join(BASELINES)}")
