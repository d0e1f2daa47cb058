"""A Gymnasium view of the simulator, for RL code that expects `gymnasium.Env`: observations
are the proposition vector (MultiBinary), actions the grounded action indices (Discrete), the
reward is 1 on reaching the goal (the episode then terminates), 0 otherwise. A failed action
leaves the state unchanged and is reported as `info["applied"] = False`. Steps go through the
simulator, so its interaction counter (`env.unwrapped.interactions`) counts them; it is not in
`info`, which Gymnasium's checker requires to be the same for the same seed and actions.

gymnasium is an optional dependency (`pip install 'gymnasium>=1.0,<2'`).
"""

from __future__ import annotations

from typing import Any

from neurips23.errors import UserError
from neurips23.symbolic_rl.simulator import Simulator


def make_env(sim: Simulator, max_episode_steps: int = 200):
    """A `gymnasium.Env` over `sim` (episodes truncated after `max_episode_steps` steps)."""
    try:
        import gymnasium as gym
        import numpy as np
        from gymnasium import spaces
    except ImportError:
        raise UserError("the Gymnasium wrapper needs gymnasium: pip install 'gymnasium>=1.0,<2'"
                        ) from None

    class SymbolicEnv(gym.Env):
        """The black-box symbolic simulator as a Gymnasium environment."""

        metadata: dict[str, Any] = {"render_modes": []}

        def __init__(self) -> None:
            self.sim = sim
            n_props = len(sim.spec.props)
            self.observation_space = spaces.MultiBinary(n_props)
            self.action_space = spaces.Discrete(len(sim.spec.actions))
            self._steps = 0

        def _obs(self, state: int):
            out = np.zeros(len(self.sim.spec.props), dtype=np.int8)
            for i in range(len(out)):
                out[i] = state >> i & 1
            return out

        def reset(self, *, seed: int | None = None, options: dict | None = None):
            """Back to the initial state (not an interaction)."""
            super().reset(seed=seed)
            self._steps = 0
            return self._obs(self.sim.reset()), {}

        @property
        def interactions(self) -> int:
            """Simulator steps so far, across episodes."""
            return self.sim.interactions

        def step(self, action):
            """One simulator step: (observation, reward, terminated, truncated, info)."""
            if not self.action_space.contains(action):
                raise UserError(f"action {action!r} is not in {self.action_space}")
            ok, state = self.sim.step(int(action))
            self._steps += 1
            goal = self.sim.is_goal(state)
            info = {"applied": ok}
            return (self._obs(state), 1.0 if goal else 0.0, goal,
                    self._steps >= max_episode_steps and not goal, info)

    return SymbolicEnv()
