"""Estimating P(target | condition) with a language model trained on sample strings
(Prystawski et al. §3.3; the paper's `code/evaluate/*`).

- direct: read P(target=1) straight after the condition: "target: T / C=v / T=".
- scaffolded: first generate values for the scaffold variables (a minimal d-separating set),
  each sampled from the model, then read the target; average over samples.
- negative scaffold: the same with as many irrelevant variables.
- free generation: the model picks which variable comes next (its softmax restricted to
  variable names) and samples its value, until it names the target (at most n_vars steps).

Every probability is the model's next-token distribution restricted to the two value tokens
(the paper reads the '0'/'1' logits). A `Reader` answers two batched questions about a list of
partial samples; `LMReader` asks a causal LM, `ExactReader` answers from the net itself (an
ideal reasoner the tests use). The estimators draw all their randomness from one seeded
generator per call, row by row, so batching never changes a result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from neurips23.errors import UserError
from neurips23.locality.bayesnet import BayesNet, exact_conditional
from neurips23.locality.formats import HEADER
from neurips23.locality.scaffold import d_separated

Lines = list[tuple[int, int]]


@dataclass(frozen=True)
class Query:
    """Estimate P(X_target = 1 | X_condition = value)."""

    target: int
    condition: int
    value: int


@dataclass
class Chain:
    """A partial sample: its target header and the (variable, value) lines so far."""

    target: int
    lines: Lines = field(default_factory=list)


class Reader(Protocol):
    """What the estimators need from a model, for many partial samples at once."""

    n_vars: int

    def p_one(self, chains: Sequence[Chain], variables: Sequence[int]) -> np.ndarray:
        """P(next line is `variable`=1 | chain, the line names `variable`) for each row."""

    def next_variable_probs(self, chains: Sequence[Chain]) -> np.ndarray:
        """[rows, n_vars]: the distribution of the next line's variable (restricted softmax)."""


def queries_for_pairs(pairs: Sequence[tuple[int, int]]) -> list[Query]:
    """Both directions and both condition values of each pair (the paper's 4 items a pair)."""
    return [Query(t, c, v) for a, b in pairs for t, c in ((a, b), (b, a)) for v in (0, 1)]


def direct(reader: Reader, queries: Sequence[Query]) -> np.ndarray:
    """Direct prediction: P(target = 1) read right after the condition line."""
    chains = [Chain(q.target, [(q.condition, q.value)]) for q in queries]
    return reader.p_one(chains, [q.target for q in queries])


def scaffolded(reader: Reader, queries: Sequence[Query], scaffolds: Sequence[Sequence[int]],
               n_samples: int, seed: int) -> np.ndarray:
    """[queries, samples]: P(target = 1) after sampling the scaffold variables' values in order."""
    if len(scaffolds) != len(queries):
        raise UserError(f"{len(queries)} queries but {len(scaffolds)} scaffolds")
    rng = np.random.default_rng(seed)
    rows = [(qi, s) for qi in range(len(queries)) for s in range(n_samples)]
    chains = [Chain(queries[qi].target, [(queries[qi].condition, queries[qi].value)])
              for qi, _ in rows]
    for step in range(max((len(s) for s in scaffolds), default=0)):
        u = rng.random(len(rows))  # one draw per row per step, used or not
        active = [r for r, (qi, _) in enumerate(rows) if step < len(scaffolds[qi])]
        variables = [scaffolds[rows[r][0]][step] for r in active]
        p = reader.p_one([chains[r] for r in active], variables)
        for r, v, pr in zip(active, variables, p, strict=True):
            chains[r].lines.append((v, int(u[r] < pr)))
    final = reader.p_one(chains, [queries[qi].target for qi, _ in rows])
    return final.reshape(len(queries), n_samples)


@dataclass
class FreeGeneration:
    """Free generation's results: P(target = 1) per query and sample (nan where the model
    never named the target), the intermediate variables generated, and the steps taken."""

    probs: np.ndarray
    intermediate: list[list[list[int]]]
    steps: np.ndarray

    def estimates(self) -> np.ndarray:
        """Per query, the mean over samples that reached the target (nan if none did)."""
        valid = ~np.isnan(self.probs)
        total = np.where(valid, self.probs, 0).sum(axis=1)
        return np.where(valid.any(axis=1), total / np.maximum(valid.sum(axis=1), 1), np.nan)

    def valid_fraction(self) -> np.ndarray:
        return (~np.isnan(self.probs)).mean(axis=1)


def free_generation(reader: Reader, queries: Sequence[Query], n_samples: int, seed: int,
                    max_steps: int | None = None,
                    on_step: Callable[[int, int], None] | None = None) -> FreeGeneration:
    """The model chooses each next variable and samples its value until it names the target
    (at most `max_steps` variables a sample; default the net's size). `on_step(k, finished)`
    is called after step k with the number of samples that stopped so far, for progress."""
    rng = np.random.default_rng(seed)
    max_steps = reader.n_vars if max_steps is None else max_steps
    rows = [(qi, s) for qi in range(len(queries)) for s in range(n_samples)]
    chains = [Chain(queries[qi].target, [(queries[qi].condition, queries[qi].value)])
              for qi, _ in rows]
    probs = np.full(len(rows), np.nan)
    steps = np.zeros(len(rows), dtype=int)
    active = list(range(len(rows)))
    for step in range(max_steps):
        if not active:
            break
        u_var, u_val = rng.random(len(rows)), rng.random(len(rows))
        dist = reader.next_variable_probs([chains[r] for r in active])
        cdf = np.cumsum(dist, axis=1)
        picks = [int(min(np.searchsorted(cdf[k], u_var[r] * cdf[k, -1], side="right"),
                         reader.n_vars - 1)) for k, r in enumerate(active)]
        p = reader.p_one([chains[r] for r in active], picks)
        still = []
        for r, v, pr in zip(active, picks, p, strict=True):
            steps[r] += 1
            if v == chains[r].target:
                probs[r] = pr
            else:
                chains[r].lines.append((v, int(u_val[r] < pr)))
                still.append(r)
        active = still
        if on_step is not None:
            on_step(step + 1, len(rows) - len(active))
    inter: list[list[list[int]]] = [[] for _ in queries]
    for r, (qi, _) in enumerate(rows):
        q = queries[qi]
        inter[qi].append(sorted({v for v, _ in chains[r].lines} - {q.condition, q.target}))
    shape = (len(queries), n_samples)
    return FreeGeneration(probs.reshape(shape), inter, steps.reshape(shape))


# ---- readers ------------------------------------------------------------------------------------

class LMReader:
    """A causal LM (any Hugging Face model + tokenizer trained on the sample strings) as a Reader.

    Each line 'X<i>=<v>\\n' is tokenized on its own and the pieces concatenated, so the
    tokenizer must split text at line starts (checked on construction). The value of X<i> is
    read at the first token where 'X<i>=0\\n' and 'X<i>=1\\n' differ; when every variable's
    name is one distinct token, choosing the next variable is one restricted softmax,
    otherwise each name's tokens are scored in full (slower, same distribution).
    """

    def __init__(self, model, tokenizer, n_vars: int, batch_size: int = 256):
        self.model, self.tokenizer, self.n_vars, self.batch_size = model, tokenizer, n_vars, batch_size
        self._headers: dict[int, list[int]] = {}
        self._lines: dict[tuple[int, int], list[int]] = {}
        self._ask: list[list[int]] = []
        self._values: list[tuple[int, int]] = []
        for v in range(n_vars):
            a, b = self._encode(f"X{v}=0\n"), self._encode(f"X{v}=1\n")
            i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
            if i is None:
                raise UserError(f"tokenizer: 'X{v}=0' and 'X{v}=1' tokenize the same")
            if i == 0:
                raise UserError(f"tokenizer: 'X{v}=0' fuses the variable name and its value into "
                                "one token; the estimators need the name before the value")
            self._lines[(v, 0)], self._lines[(v, 1)] = a, b
            self._ask.append(a[:i])
            self._values.append((a[i], b[i]))
        self._check_lines_compose()
        firsts = [ask[0] if len(ask) == 1 else None for ask in self._ask]
        self._single_token_names = None not in firsts and len(set(firsts)) == n_vars

    def _encode(self, text: str, special: bool = False) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=special))

    def _header(self, target: int) -> list[int]:
        if target not in self._headers:
            self._headers[target] = self._encode(f"{HEADER}target: X{target}\n", special=True)
        return self._headers[target]

    def _check_lines_compose(self) -> None:
        v, w = 0, self.n_vars - 1
        text = f"{HEADER}target: X{w}\nX{v}=1\nX{w}=0\n"
        whole = self._encode(text, special=True)
        parts = self._header(w) + self._lines[(v, 1)] + self._lines[(w, 0)]
        if whole != parts:
            raise UserError("tokenizer: a sample does not tokenize as its lines tokenized one by one "
                            f"({text!r}); the estimators need a tokenizer that splits at line starts")

    def chain_ids(self, chain: Chain) -> list[int]:
        ids = list(self._header(chain.target))
        for line in chain.lines:
            ids += self._lines[line]
        return ids

    def p_one(self, chains: Sequence[Chain], variables: Sequence[int]) -> np.ndarray:
        seqs = [self.chain_ids(c) + self._ask[v] for c, v in zip(chains, variables, strict=True)]
        two = self._last_logprobs(seqs, np.array([self._values[v] for v in variables]).reshape(-1, 2))
        two = two - two.max(axis=1, keepdims=True) if len(seqs) else two
        e = np.exp(two)
        return e[:, 1] / e.sum(axis=1)

    def next_variable_probs(self, chains: Sequence[Chain]) -> np.ndarray:
        if self._single_token_names:
            names = np.array([a[0] for a in self._ask])
            sub = self._last_logprobs([self.chain_ids(c) for c in chains],
                                      np.broadcast_to(names, (len(chains), len(names))))
        else:
            sub = self._name_logprobs([self.chain_ids(c) for c in chains])
        sub = sub - sub.max(axis=1, keepdims=True)
        e = np.exp(sub)
        return e / e.sum(axis=1, keepdims=True)

    def _name_logprobs(self, contexts: list[list[int]]) -> np.ndarray:
        """log p(name tokens | context) for every variable name, teacher-forced."""
        import torch

        out = np.zeros((len(contexts), self.n_vars))
        for i, ctx in enumerate(contexts):
            seqs = [ctx + ask for ask in self._ask]
            for start in range(0, len(seqs), self.batch_size):
                chunk = seqs[start:start + self.batch_size]
                logits = self._forward(chunk, keep_all=True)
                logp = torch.log_softmax(logits, dim=-1)
                for k in range(len(chunk)):
                    ask = self._ask[start + k]
                    width = logits.shape[1]
                    pos = torch.arange(width - len(ask) - 1, width - 1)
                    out[i, start + k] = float(logp[k, pos, torch.tensor(ask)].sum())
        return out

    def _last_logprobs(self, seqs: list[list[int]], columns: np.ndarray) -> np.ndarray:
        """log p(token | sequence) at each sequence's end, for row i's tokens columns[i]."""
        import torch

        out = np.zeros(columns.shape, dtype=np.float64)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            logp = torch.log_softmax(self._forward([seqs[i] for i in idx])[:, -1], dim=-1)
            out[idx] = torch.gather(logp, 1, torch.as_tensor(columns[idx], dtype=torch.long)).numpy()
        return out

    def _forward(self, seqs: list[list[int]], keep_all: bool = False):
        """Logits of left-padded sequences (float32, on the CPU)."""
        import torch

        from neurips23.utils import set_torch_threads

        set_torch_threads()
        device = next(self.model.parameters()).device
        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, width - len(s):] = torch.tensor(s)
            mask[i, width - len(s):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        kwargs = {} if keep_all else {"logits_to_keep": 1}
        with torch.no_grad():
            try:
                out = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                 position_ids=positions.to(device), **kwargs)
            except TypeError:  # models without logits_to_keep
                out = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                 position_ids=positions.to(device))
        return out.logits.float().cpu()


class ExactReader:
    """An ideal reasoner: each value from the net's exact conditional given every line so far;
    the next variable uniformly at random. Its scaffolded and free-generation estimates are
    unbiased for the true conditional (the law of total probability)."""

    def __init__(self, net: BayesNet):
        self.net = net
        self.n_vars = net.n_vars
        self._cache: dict[tuple, float] = {}

    def p_one(self, chains: Sequence[Chain], variables: Sequence[int]) -> np.ndarray:
        out = []
        for c, v in zip(chains, variables, strict=True):
            given = dict(c.lines)
            if v in given:
                out.append(float(given[v]))
                continue
            key = (v, tuple(sorted(given.items())))
            if key not in self._cache:
                self._cache[key] = exact_conditional(self.net, v, given)
            out.append(self._cache[key])
        return np.array(out)

    def next_variable_probs(self, chains: Sequence[Chain]) -> np.ndarray:
        return np.full((len(chains), self.n_vars), 1 / self.n_vars)


# ---- scoring ------------------------------------------------------------------------------------

def squared_errors(estimates: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(estimate - truth)^2 per item (nan where the estimate is missing)."""
    return (np.asarray(estimates, float) - np.asarray(truth, float)) ** 2


def d_separating_fraction(net: BayesNet, queries: Sequence[Query], free: FreeGeneration) -> np.ndarray:
    """Per query, the fraction of valid free-generation samples whose intermediate variables
    d-separate condition and target (the paper reports 68–71% under local training)."""
    out = np.full(len(queries), np.nan)
    for qi, q in enumerate(queries):
        ok = [d_separated(net, q.condition, q.target, inter)
              for inter, p in zip(free.intermediate[qi], free.probs[qi], strict=True) if not np.isnan(p)]
        if ok:
            out[qi] = float(np.mean(ok))
    return out
