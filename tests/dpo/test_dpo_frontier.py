"""The §6.1 reproduction's parts against brute force: exact KL, Best-of-N bound, baselines, data."""

import itertools
import json
import math

import numpy as np
import pytest
import torch

from neurips23.dpo.baselines import unlikelihood_loss
from neurips23.dpo.sentiment import (
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    SentimentWorld,
    best_of_n_kl_bound,
    sample_completions,
    token_kl,
    true_reward,
)


def test_true_reward_by_hand():
    assert true_reward("good bad great the movie") == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert true_reward("the movie") == 0.5
    assert true_reward("awful dull bland") == pytest.approx(1 / (1 + math.exp(1.5)))


def test_world_statistics():
    reviews = SentimentWorld(length=24).sample_reviews(4000, np.random.default_rng(0))
    words = [w for r in reviews for w in r]
    assert all(len(r) == 24 for r in reviews)
    pos = sum(w in POSITIVE for w in words) / len(words)
    neg = sum(w in NEGATIVE for w in words) / len(words)
    assert pos + neg == pytest.approx(0.3, abs=0.01)
    assert pos == pytest.approx(neg, abs=0.01)
    # agreement 0.7: within a review, two sentiment words share polarity with prob .7^2 + .3^2
    same, total = 0, 0
    for r in reviews:
        s = [w in POSITIVE for w in r if w in POSITIVE or w in NEGATIVE]
        for a, b in itertools.combinations(s, 2):
            same += a == b
            total += 1
    assert same / total == pytest.approx(0.49 + 0.09, abs=0.01)
    assert set(words) <= set(NEUTRAL + POSITIVE + NEGATIVE)


def _tiny_pair(vocab=9):
    from neurips23.lm.models import build_model

    return build_model("nano", vocab_size=vocab, seed=1), build_model("nano", vocab_size=vocab, seed=2)


def test_token_kl_equals_enumerated_sequence_kl():
    pol, ref = _tiny_pair()
    prompt = [4, 5, 6]
    seqs = torch.tensor([prompt + [a, b] for a in range(9) for b in range(9)])
    with torch.no_grad():
        def seq_logp(m):
            lp = torch.log_softmax(m(input_ids=seqs).logits[:, 2:-1], -1)
            return lp.gather(-1, seqs[:, 3:].unsqueeze(-1)).squeeze(-1).sum(-1)

        lp, lr = seq_logp(pol), seq_logp(ref)
    exact = (lp.exp() * (lp - lr)).sum().item()  # KL of the 81-sequence distributions
    expected_token_kl = (lp.exp() * token_kl(pol, ref, seqs, prompt_len=3)).sum().item()
    assert exact > 0.01
    assert expected_token_kl == pytest.approx(exact, rel=1e-4)


def test_cached_sampling_matches_recomputation():
    pol, _ = _tiny_pair()
    prompts = torch.tensor([[4, 5, 6]] * 64)
    got = sample_completions(pol, prompts, 5, torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    ids = prompts
    with torch.no_grad():
        for _ in range(5):
            probs = torch.softmax(pol(input_ids=ids).logits[:, -1].float(), -1)
            ids = torch.cat([ids, torch.multinomial(probs, 1, generator=gen)], dim=1)
    assert (got == ids[:, 3:]).float().mean() > 0.99


def test_best_of_n_kl_bound_against_exact_categorical():
    assert best_of_n_kl_bound(1) == 0.0
    assert best_of_n_kl_bound(2) == pytest.approx(math.log(2) - 0.5)
    rng = np.random.default_rng(0)
    for n in (2, 4, 16):
        p = rng.dirichlet(np.ones(50))  # outcomes ordered by (distinct) reward
        cdf = np.cumsum(p)
        best = cdf ** n - np.concatenate([[0.0], cdf[:-1]]) ** n  # law of the max of n draws
        kl = float((best * np.log(best / p)).sum())
        assert 0 < kl <= best_of_n_kl_bound(n) + 1e-9


def test_unlikelihood_by_hand():
    chosen = torch.log(torch.tensor([[0.5, 0.25]]))
    rejected = torch.log(torch.tensor([[0.5, 0.9]]))
    mask = torch.ones(1, 2, dtype=torch.bool)
    nll = -(math.log(0.5) + math.log(0.25)) / 2
    ul = -(math.log(0.5) + math.log(0.1)) / 2
    got = unlikelihood_loss(chosen, mask, rejected, mask, alpha=0.3).item()
    assert got == pytest.approx(nll + 0.3 * ul, rel=1e-5)


def test_preference_pairs_are_labelled_by_true_reward():
    from neurips23.dpo.frontier import preference_pairs
    from neurips23.lm.models import build_model
    from neurips23.lm.tokenizers import build_word_tokenizer

    tok = build_word_tokenizer([" ".join(NEUTRAL + POSITIVE + NEGATIVE)])
    model = build_model("nano", vocab_size=len(tok), seed=0)
    prompts = ["the movie was good and", "a film is bad it"]
    pairs = preference_pairs(model, tok, prompts, k=4, new_tokens=6, seed=0)
    assert 0 < len(pairs) <= 12
    for p in pairs:
        assert p.prompt in prompts
        assert true_reward(p.prompt + " " + p.chosen) > true_reward(p.prompt + " " + p.rejected)


def test_reproduction_end_to_end_tiny(tmp_path, monkeypatch):
    from neurips23.core.reproduction import reproduce

    monkeypatch.setenv("NEURIPS23_CACHE", str(tmp_path / "cache"))
    run_dir = reproduce("dpo", "quick", runs_dir=tmp_path / "runs", overrides=[
        "seeds=[0]", "n_reviews=300", "sft.steps=10", "n_prompts=12", "betas=[0.5, 5.0]",
        "pft_lrs=[1e-3]", "ul_alphas=[1.0]", "train.steps=4", "train.batch_size=8", "eval_every=2",
        "n_val=12", "n_test=16", "bon_ns=[1, 2]", "workers=1"])
    results = json.loads((run_dir / "results.json").read_text())
    assert (run_dir / "frontier.png").exists() and (run_dir / "config.resolved.yaml").exists()
    assert len(results["claims"]) == 4 and not results["finding"]
    assert {c["verdict"] for c in results["claims"]} == {"inconclusive"}  # one seed: no verdict
    assert any("PPO" in c["paper"] and "not run" in c["ours"] for c in results["claims"])
    methods = {p["method"] for p in results["metrics"]["points"]}
    assert methods == {"SFT", "Best-of-N", "DPO", "Preferred-FT", "Unlikelihood"}
    sft = [p for p in results["metrics"]["points"] if p["method"] == "SFT"][0]
    assert sft["kl"] == pytest.approx(0.0, abs=1e-6)
    assert (run_dir / "samples.jsonl").read_text().count("\n") > 10
