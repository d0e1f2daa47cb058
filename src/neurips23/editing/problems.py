"""The editing problems of Hase et al. §5.1: what an edit must do to p(o | s, r).

- Error Injection: raise p(o_false | s, r), o_false a counterfactual object (CounterFact's).
- Tracing Reversal: raise p(o_noise | s, r), o_noise the model's answer with the subject's
  embeddings noised (what tracing's corrupted run says).
- Fact Erasure: lower p(o_true | s, r).
- Fact Amplification: raise p(o_true | s, r).
- Fact Forcing: raise p(o_true | s_noise, r), the subject's embeddings noised as in tracing,
  during the edit and when it is scored. The problem tied to localization by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurips23.editing.facts import Fact
from neurips23.errors import UserError


@dataclass(frozen=True)
class Problem:
    """An editing objective: which object, raised or lowered, with or without subject noise."""

    name: str
    use_new_object: bool
    minimise: bool
    noised: bool
    noised_target: bool = False  # the object is the noised-subject answer (Tracing Reversal)

    def target(self, fact: Fact) -> str:
        """The object whose probability the edit changes (Tracing Reversal: `target_new` holds
        o_noise, set by the experiment before the edit)."""
        if self.use_new_object:
            if not fact.target_new:
                raise UserError(f"{fact.where or fact.subject}: {self.name} needs target_new")
            return fact.target_new
        return fact.target_true


PROBLEMS: dict[str, Problem] = {
    "error_injection": Problem("error_injection", use_new_object=True, minimise=False,
                               noised=False),
    "tracing_reversal": Problem("tracing_reversal", use_new_object=True, minimise=False,
                                noised=False, noised_target=True),
    "fact_erasure": Problem("fact_erasure", use_new_object=False, minimise=True, noised=False),
    "fact_amplification": Problem("fact_amplification", use_new_object=False, minimise=False,
                                  noised=False),
    "fact_forcing": Problem("fact_forcing", use_new_object=False, minimise=False, noised=True),
}


def get_problem(name: str) -> Problem:
    """The problem called `name`; a UserError listing the valid names."""
    if name not in PROBLEMS:
        raise UserError(f"unknown editing problem {name!r}; choose from {', '.join(PROBLEMS)}")
    return PROBLEMS[name]


def edit_loss(logprob, n_tokens: int, problem: Problem):
    """The edit objective from log p(object) per row (summed over its tokens), as Hase et al.'s
    code computes it (belief-localization `rome/compute_v.py:137-148`): the mean over rows of
    the per-token NLL, −log p / n; for Fact Erasure its exponential, the (geometric mean)
    probability of the object, which the edit minimises."""
    import torch

    nll = (-logprob / n_tokens).mean()
    return torch.exp(-nll) if problem.minimise else nll


def rewrite_rows(fact: Fact, problem: Problem, contexts: list[str] | tuple[str, ...],
                 samples: int) -> tuple[list[str], list[int | None]]:
    """The prompts an edit optimises and the noise sample of each row (None: clean).

    Every context template holds `{}` for the fact's prompt; the first is "{}" itself. For a
    noised problem the plain prompt appears once per noise sample (Hase et al. finetune on 10
    noised copies) and the other contexts take the samples in turn."""
    if not contexts or contexts[0] != "{}":
        raise UserError("the first context template must be '{}' (the prompt alone)")
    texts = [c.format(fact.text) for c in contexts]
    if not problem.noised:
        return texts, [None] * len(texts)
    rows = [texts[0]] * samples + texts[1:]
    return rows, list(range(samples)) + [i % samples for i in range(len(texts) - 1)]
