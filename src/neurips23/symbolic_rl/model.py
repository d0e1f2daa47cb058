"""The optimistic symbolic model estimate (Sreedharan & Katz 2023, Section 4), grounded or
lifted.

Grounded: each grounded action has its own precondition hypotheses over every proposition of
the task (as the official grounded learner, `ModelLearnerMulti`, branches over the whole
proposition set; `grounded_vocabulary="arguments"` restricts them to propositions over the
action's own arguments and the domain's constants, a labelled variant that hands the learner
domain knowledge), an add estimate that starts as every proposition, and a delete estimate that
starts empty. After a success s -> s': add <- add ∩ s', delete <- delete ∪ (s - s'). After a
failure the hypotheses branch (`hypotheses.PreconditionHypotheses`).

Lifted (the paper's generalisation across similar actions): the groundings of one action schema
share one set of hypotheses and one effect estimate over lifted atoms (predicates applied to the
schema's parameters and constants). A grounding sees a state through its binding; a refutation
at one grounding is a refutation for all of them; shared effects are the minimum adds
(intersection) and maximum deletes (union) over the groundings seen. A grounding that binds two
parameters to the same object cannot tell which lifted delete it observed, so its deletes stay
its own.

Failure upper bound (the paper's FAILURE_UPPERBOUND, as the official code keeps it): an action's
failure count rises by one per counted failure, up to its bound; an action whose count reached
its bound is left out of the planning model. One success resets the count for good (the
official code sets it to -100000), for the grounded action and, lifted, for every grounding of
its schema. When the planner finds no plan, one capped action's bound is raised by one, taken
round-robin from a stack of the actions (the official `action_round_robin`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

from neurips23.symbolic_rl.hypotheses import PreconditionHypotheses
from neurips23.symbolic_rl.simulator import Atom, TaskSpec, bits


@dataclass
class PlanningView:
    """A snapshot of the model for a planner: per grounded action the grounded hypotheses (an
    empty list: never applicable, or left out by the failure bound), add and delete masks."""

    hyps: list[list[int]]
    add: list[int]
    dele: list[int]

    def applicable(self, i: int, state: int) -> bool:
        """Some hypothesis of action i holds in `state`."""
        return any(h & state == h for h in self.hyps[i])

    def successor(self, i: int, state: int) -> int:
        """Deletes first, then adds (an atom both added and deleted stays true, as in PDDL)."""
        return (state & ~self.dele[i]) | self.add[i]


def lifted_vocabulary(spec: TaskSpec, schema: str) -> list[Atom]:
    """Every predicate applied to the schema's parameters and the domain's constants whose
    types can match (either way along the type hierarchy)."""
    terms = list(spec.schemas[schema]) + list(spec.constants.items())
    out: list[Atom] = []
    for pred, arg_types in spec.predicates.items():
        per_pos = [[name for name, t in terms if spec.is_subtype(t, at) or spec.is_subtype(at, t)]
                   for at in arg_types]
        out += [(pred, *combo) for combo in itertools.product(*per_pos)]
    return out


def ground_atom(atom: Atom, binding: dict[str, str]) -> Atom:
    """Replace ?parameters by objects."""
    return tuple(binding.get(x, x) for x in atom)


class OptimisticModel:
    """The learned model: grounded (`lifted=False`) or sharing across a schema's groundings."""

    def __init__(self, spec: TaskSpec, lifted: bool = False, max_precondition_length: int = 10,
                 failure_bound: int = 10,
                 grounded_vocabulary: Literal["all", "arguments"] = "all"):
        self.spec = spec
        self.lifted = lifted
        self.max_precondition_length = max_precondition_length
        self.failure_bound = failure_bound
        self.grounded_vocabulary = grounded_vocabulary
        n = len(spec.actions)
        self.failures = [0] * n
        self.bound = [failure_bound] * n
        self.succeeded = [False] * n  # a success resets the failure count for good
        self.round_robin: list[int] = []
        self.tried = [False] * n
        self.owner: list = []
        self.gmap: list[list[int]] = []  # per grounded action: vocabulary bit -> proposition
        self.vocab: dict = {}
        self.pre: dict = {}
        consts = set(spec.constants)
        for i, (name, args) in enumerate(spec.actions):
            if lifted:
                if name not in self.vocab:
                    self.vocab[name] = lifted_vocabulary(spec, name)
                binding = {v: o for (v, _), o in zip(spec.schemas[name], args, strict=True)}
                self.gmap.append([spec.index.get(ground_atom(a, binding), -1)
                                  for a in self.vocab[name]])
                self.owner.append(name)
            else:
                allowed = set(args) | consts
                idx = [j for j, a in enumerate(spec.props)
                       if grounded_vocabulary == "all" or set(a[1:]) <= allowed]
                self.vocab[i] = [spec.props[j] for j in idx]
                self.gmap.append(idx)
                self.owner.append(i)
        self.members: dict = {}
        for i, o in enumerate(self.owner):
            self.members.setdefault(o, []).append(i)
        for o, voc in self.vocab.items():
            self.pre[o] = PreconditionHypotheses(len(voc), max_precondition_length)
        full = (1 << len(spec.props)) - 1
        if lifted:
            self.add_l = {o: (1 << len(v)) - 1 for o, v in self.vocab.items()}
            self.del_l = {o: 0 for o in self.vocab}
            self.own_del = [0] * n
            self.injective = [len({u for u in g if u >= 0}) == sum(u >= 0 for u in g)
                              for g in self.gmap]
        else:
            self.add_u = [full] * n
            self.del_u = [0] * n

    # -- views between the agent's state and an action's vocabulary
    def view(self, i: int, state: int) -> int:
        """Action i's vocabulary bits whose proposition holds in `state`."""
        v = 0
        for k, u in enumerate(self.gmap[i]):
            if u >= 0 and state >> u & 1:
                v |= 1 << k
        return v

    def ground_mask(self, i: int, local: int) -> int | None:
        """A vocabulary mask as propositions for action i; None if one has no grounding (the
        hypothesis can never hold for this action)."""
        m = 0
        for k in bits(local):
            u = self.gmap[i][k]
            if u < 0:
                return None
            m |= 1 << u
        return m

    # -- learning
    def observe(self, i: int, state: int, ok: bool, next_state: int | None = None,
                probe: bool = False) -> None:
        """Update after executing grounded action i in `state` (paper, Section 4). A failed plan
        step counts toward the failure bound only when it refuted a hypothesis (the planner's
        precondition held); a failed probe always counts, as in the official learners."""
        self.tried[i] = True
        o = self.owner[i]
        v = self.view(i, state)
        if not ok:
            refuted = self.pre[o].observe_failure(v)
            if (probe or refuted) and self.failures[i] < self.bound[i]:
                self.failures[i] += 1
            return
        assert next_state is not None
        self._reset_failures(i)
        self.pre[o].observe_success(v)
        gone = state & ~next_state
        if self.lifted:
            self.add_l[o] &= self.view(i, next_state)
            if self.injective[i]:
                self.del_l[o] |= self.view(i, gone)
            else:
                self.own_del[i] |= gone
        else:
            self.add_u[i] &= next_state
            self.del_u[i] |= gone

    def _reset_failures(self, i: int) -> None:
        """A success resets the failure count for good: of this grounded action, and lifted,
        of every grounding of its schema."""
        if self.succeeded[i]:
            return
        for j in self.members[self.owner[i]] if self.lifted else [i]:
            self.succeeded[j] = True
            self.failures[j] = 0

    def capped(self, i: int) -> bool:
        """Action i reached its failure bound without ever succeeding: left out of planning."""
        return not self.succeeded[i] and self.failures[i] >= self.bound[i]

    def hypotheses(self, i: int) -> list[int]:
        """Action i's live precondition hypotheses as proposition masks."""
        out = []
        for h in self.pre[self.owner[i]].live:
            g = self.ground_mask(i, h)
            if g is not None:
                out.append(g)
        return out

    def add(self, i: int) -> int:
        """Action i's add estimate as a proposition mask."""
        if not self.lifted:
            return self.add_u[i]
        return self._ground_effect(i, self.add_l[self.owner[i]])

    def delete(self, i: int) -> int:
        """Action i's delete estimate as a proposition mask."""
        if not self.lifted:
            return self.del_u[i]
        return self._ground_effect(i, self.del_l[self.owner[i]]) | self.own_del[i]

    def _ground_effect(self, i: int, local: int) -> int:
        m = 0
        for k in bits(local):
            u = self.gmap[i][k]
            if u >= 0:
                m |= 1 << u
        return m

    def planning_view(self, respect_bounds: bool = True) -> PlanningView:
        """The model the planner sees (actions over their failure bound left out)."""
        n = len(self.spec.actions)
        hyps = [[] if respect_bounds and self.capped(i) else self.hypotheses(i)
                for i in range(n)]
        return PlanningView(hyps, [self.add(i) for i in range(n)],
                            [self.delete(i) for i in range(n)])

    def raise_bounds(self) -> bool:
        """Raise one capped action's bound by one, popping a round-robin stack of the actions
        (refilled when empty); False if no action is capped."""
        n = len(self.spec.actions)
        if not any(self.capped(i) for i in range(n)):
            return False
        while True:
            if not self.round_robin:
                self.round_robin = list(range(n))
            i = self.round_robin.pop()
            if self.capped(i):
                self.bound[i] += 1
                return True

    # -- transfer
    def transfer_to(self, spec: TaskSpec) -> OptimisticModel:
        """A lifted model for another task of the same domain (new objects), starting from this
        model's shared hypotheses and effects (the paper's transfer of lifted models)."""
        if not self.lifted:
            raise ValueError("only a lifted model transfers to new objects")
        new = OptimisticModel(spec, lifted=True,
                              max_precondition_length=self.max_precondition_length,
                              failure_bound=self.failure_bound,
                              grounded_vocabulary=self.grounded_vocabulary)
        for o in new.vocab:
            if o in self.vocab and self.vocab[o] == new.vocab[o]:
                new.pre[o] = self.pre[o].copy()
                new.add_l[o] = self.add_l[o]
                new.del_l[o] = self.del_l[o]
        return new
