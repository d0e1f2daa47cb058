"""The controlled-sentiment task of DPO §6.1 at CPU scale: synthetic reviews with a known reward.

Reviews are fixed-length word sequences with a latent sentiment of ±1: each token is, with
probability `p_sentiment`, a sentiment word whose polarity agrees with the latent with
probability `agree`, else a neutral word from a sparse Markov chain. The ground-truth reward
(the stand-in for the paper's sentiment classifier) is r = σ((#pos − #neg) / 2) over the text.
Prompts are review prefixes; a policy completes them with a fixed number of tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

POSITIVE = "good great superb lovely charming brilliant moving fun".split()
NEGATIVE = "bad awful dull boring poor weak messy bland".split()
NEUTRAL = ("the a movie film plot actor scene story and was is it this with very").split()


@dataclass(frozen=True)
class SentimentWorld:
    """The review distribution: length, sentiment-word rate and agreement, Markov chain sparsity."""

    length: int = 24
    p_sentiment: float = 0.3
    agree: float = 0.7
    dirichlet: float = 0.3
    seed: int = 0

    def transition(self) -> np.ndarray:
        """Row-stochastic neutral-word Markov chain, rows ~ Dirichlet(dirichlet)."""
        rng = np.random.default_rng([self.seed, 7])
        return rng.dirichlet([self.dirichlet] * len(NEUTRAL), size=len(NEUTRAL))

    def sample_reviews(self, n: int, rng: np.random.Generator) -> list[list[str]]:
        """n reviews as word lists (vectorised over reviews, one position at a time)."""
        cum = np.cumsum(self.transition(), axis=1)
        latent_pos = rng.random(n) < 0.5
        state = rng.integers(len(NEUTRAL), size=n)
        vocab = np.array(NEUTRAL + POSITIVE + NEGATIVE)
        cols = []
        for _ in range(self.length):
            sentiment = rng.random(n) < self.p_sentiment
            positive = (rng.random(n) < self.agree) == latent_pos
            word = rng.integers(len(POSITIVE), size=n)
            sent_idx = len(NEUTRAL) + np.where(positive, word, len(POSITIVE) + word)
            nxt = np.minimum((cum[state] < rng.random(n)[:, None]).sum(1), len(NEUTRAL) - 1)
            state = np.where(sentiment, state, nxt)
            cols.append(np.where(sentiment, sent_idx, state))
        return vocab[np.stack(cols, axis=1)].tolist()


def true_reward(text: str) -> float:
    """Ground-truth sentiment reward r = σ((#positive − #negative) / 2) over the whole text."""
    words = text.split()
    pos = sum(w in _POS for w in words)
    neg = sum(w in _NEG for w in words)
    return 1.0 / (1.0 + math.exp(-(pos - neg) / 2.0))


_POS, _NEG = frozenset(POSITIVE), frozenset(NEGATIVE)


def best_of_n_kl_bound(n: int) -> float:
    """KL(best-of-n ‖ π_ref) ≤ log n − (n−1)/n (Beirami et al.; used for the Best-of-N points)."""
    return math.log(n) - (n - 1) / n


# --- sampling and exact KL --------------------------------------------------------------------


def sample_completions(model: Any, prompt_ids: Any, new_tokens: int, generator: Any,
                       batch_size: int = 512) -> Any:
    """Ancestral samples (temperature 1) of `new_tokens` tokens after equal-length prompts [B, P]."""
    import inspect

    import torch

    # the KV-cache argument is `cache` in recent transformers, `past_key_values` before
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    outs = []
    with torch.no_grad():
        for i in range(0, prompt_ids.shape[0], batch_size):
            ids = prompt_ids[i:i + batch_size]
            out = model(input_ids=ids, use_cache=True)
            past, logits = getattr(out, name), out.logits[:, -1].float()
            new = []
            for t in range(new_tokens):
                tok = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)
                new.append(tok)
                if t + 1 < new_tokens:
                    out = model(input_ids=tok, use_cache=True, **{name: past})
                    past, logits = getattr(out, name), out.logits[:, -1].float()
            outs.append(torch.cat(new, dim=1))
    return torch.cat(outs)


def token_kl(policy: Any, ref: Any, full_ids: Any, prompt_len: int, batch_size: int = 512) -> Any:
    """Σ_t KL(π(·|x, y_<t) ‖ π_ref(·|x, y_<t)) over the full vocabulary, per sequence [B].

    Averaged over samples y ~ π this is exactly E_y[KL] = KL(π‖π_ref) of the sequence
    distributions (chain rule), with less variance than the sampled log-ratio.
    """
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, full_ids.shape[0], batch_size):
            ids = full_ids[i:i + batch_size]
            lp = torch.log_softmax(policy(input_ids=ids).logits[:, prompt_len - 1:-1].float(), -1)
            lr = torch.log_softmax(ref(input_ids=ids).logits[:, prompt_len - 1:-1].float(), -1)
            outs.append((lp.exp() * (lp - lr)).sum(-1).sum(-1))
    return torch.cat(outs)


@dataclass
class FrontierPoint:
    """Mean true reward and KL(π‖π_ref) with standard errors over evaluation samples."""

    reward: float
    reward_se: float
    kl: float
    kl_se: float
    n: int


def _mean_se(x: Sequence[float]) -> tuple[float, float]:
    a = np.asarray(x, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else 0.0


def evaluate_policy(policy: Any, ref: Any, tokenizer: Any, prompts: Sequence[str],
                    new_tokens: int, seed: int) -> tuple[FrontierPoint, list[str]]:
    """Sample one completion per prompt from π; true reward and exact KL to π_ref."""
    import torch

    prompt_ids = torch.tensor([tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts])
    gen = torch.Generator().manual_seed(seed)
    was = policy.training
    policy.eval()
    comp = sample_completions(policy, prompt_ids, new_tokens, gen)
    full = torch.cat([prompt_ids, comp], dim=1)
    kl = token_kl(policy, ref, full, prompt_ids.shape[1])
    policy.train(was)
    texts = tokenizer.batch_decode(comp.tolist())
    rewards = [true_reward(p + " " + t) for p, t in zip(prompts, texts, strict=True)]
    r, rse = _mean_se(rewards)
    k, kse = _mean_se(kl.tolist())
    return FrontierPoint(r, rse, k, kse, len(prompts)), texts


def best_of_n(ref: Any, tokenizer: Any, prompts: Sequence[str], new_tokens: int, n: int,
              seed: int) -> FrontierPoint:
    """Best-of-n from π_ref by true reward; KL is the analytic bound log n − (n−1)/n."""
    import torch

    prompt_ids = torch.tensor([tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts])
    gen = torch.Generator().manual_seed(seed)
    comp = sample_completions(ref, prompt_ids.repeat_interleave(n, dim=0), new_tokens, gen)
    texts = tokenizer.batch_decode(comp.tolist())
    rewards = np.array([true_reward(prompts[i // n] + " " + t) for i, t in enumerate(texts)])
    best = rewards.reshape(len(prompts), n).max(axis=1)
    r, rse = _mean_se(best.tolist())
    return FrontierPoint(r, rse, best_of_n_kl_bound(n), 0.0, len(prompts))
