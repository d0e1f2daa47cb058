"""The estimators: unbiased with an ideal reasoner (the net's exact conditionals), batching
never changes a result, and the LM reader agrees with plain unpadded forwards and with the
core's teacher-forced scorer, for one-token and many-token variable names."""

import numpy as np
import pytest

from neurips23.errors import UserError
from neurips23.locality.bayesnet import exact_conditional, random_net
from neurips23.locality.estimators import (
    Chain,
    ExactReader,
    LMReader,
    direct,
    free_generation,
    queries_for_pairs,
    scaffolded,
)
from neurips23.locality.formats import build_sample_tokenizer
from neurips23.locality.heldout import select_held_out_pairs
from neurips23.locality.scaffold import scaffold


@pytest.fixture(scope="module")
def world():
    net = random_net(12, 14, 2)
    pairs = [(p.a, p.b) for p in select_held_out_pairs(net, 3, 0)]
    queries = queries_for_pairs(pairs)
    truth = np.array([exact_conditional(net, q.target, {q.condition: q.value}) for q in queries])
    return net, queries, truth


@pytest.fixture(scope="module")
def tiny_model():
    from neurips23.lm.models import build_model

    tok = build_sample_tokenizer(12)
    model = build_model(dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                             intermediate_size=64), len(tok), seed=3)
    return model, tok


def test_queries_cover_both_directions_and_values():
    qs = queries_for_pairs([(1, 5)])
    assert [(q.target, q.condition, q.value) for q in qs] == [(1, 5, 0), (1, 5, 1), (5, 1, 0), (5, 1, 1)]


def _scaffold_law(net, q, sc):
    """E over scaffold values (drawn in order from exact conditionals) of P(target | all), and
    its variance, by enumerating every value combination."""
    from itertools import product

    mean = second = 0.0
    for vals in product([0, 1], repeat=len(sc)):
        given, p = {q.condition: q.value}, 1.0
        for v, x in zip(sc, vals, strict=True):
            pv = exact_conditional(net, v, given)
            p *= pv if x else 1 - pv
            given[v] = x
        f = exact_conditional(net, q.target, given)
        mean, second = mean + p * f, second + p * f * f
    return mean, second - mean ** 2


def test_ideal_reasoner_is_unbiased(world):
    net, queries, truth = world
    reader = ExactReader(net)
    np.testing.assert_allclose(direct(reader, queries), truth, atol=1e-12)
    scafs = [scaffold(net, q.target, q.condition) for q in queries]
    n = 300
    s = scaffolded(reader, queries, scafs, n, seed=1)
    for q, sc, t, row in zip(queries, scafs, truth, s, strict=True):
        mean, var = _scaffold_law(net, q, sc)
        assert mean == pytest.approx(t, abs=1e-12)  # the law of total probability
        assert abs(row.mean() - t) <= 5 * np.sqrt(var / n) + 1e-9
    free = free_generation(reader, queries[::3], 150, seed=2)
    truth = truth[::3]
    est, valid = free.estimates(), (~np.isnan(free.probs)).sum(axis=1)
    se = np.maximum(np.nanstd(free.probs, axis=1), 0.1) / np.sqrt(valid)
    assert np.all(np.abs(est - truth) < 4.5 * se)
    assert free.valid_fraction().min() > 0.3  # a uniform walk of ≤ 12 steps often names the target


def test_scaffold_values_follow_the_readers_probabilities(world):
    """With P(X=1) forced to 1 (or 0) every sampled scaffold value is 1 (or 0)."""
    net, queries, _ = world

    class Fixed(ExactReader):
        def __init__(self, net, p):
            super().__init__(net)
            self.p = p

        def p_one(self, chains, variables):
            self.seen = [list(c.lines) for c in chains]
            return np.full(len(chains), self.p)

    for p in (0.0, 1.0):
        r = Fixed(net, p)
        scaffolded(r, queries[:1], [[3, 4]], 2, seed=0)
        assert all(line[1] == int(p) for lines in r.seen for line in lines[1:])


def test_free_generation_reports_progress_and_caps_its_steps(world, tiny_model):
    """`on_step` sees every step with the samples stopped so far; a step cap stops every
    sample there (the rest never named the target: nan), and a progress hook changes nothing."""
    net, queries, _ = world
    model, tok = tiny_model
    r = LMReader(model, tok, 12, batch_size=64)
    seen = []
    f = free_generation(r, queries, 3, seed=5, on_step=lambda k, done: seen.append((k, done)))
    plain = free_generation(r, queries, 3, seed=5)
    np.testing.assert_array_equal(f.probs, plain.probs)
    assert [k for k, _ in seen] == list(range(1, len(seen) + 1)) and len(seen) == f.steps.max()
    assert [d for _, d in seen] == sorted(d for _, d in seen)
    assert seen[-1][1] == (~np.isnan(f.probs)).sum()  # stopped = named the target
    capped = free_generation(r, queries, 3, seed=5, max_steps=2)
    assert capped.steps.max() <= 2
    early = plain.steps <= 2
    assert early.any() and not early.all()
    np.testing.assert_array_equal(capped.probs[early], plain.probs[early])
    assert np.isnan(capped.probs[~early]).all()


def test_batching_does_not_change_results(world, tiny_model):
    net, queries, _ = world
    model, tok = tiny_model
    scafs = [scaffold(net, q.target, q.condition) for q in queries]
    out = {}
    for bs in (1, 64):
        r = LMReader(model, tok, 12, batch_size=bs)
        f = free_generation(r, queries, 3, seed=5, max_steps=6)
        out[bs] = (direct(r, queries), scaffolded(r, queries, scafs, 3, seed=4), f.probs, f.steps)
    for a, b in zip(out[1], out[64], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_lm_reader_matches_an_unpadded_forward(tiny_model):
    import torch

    model, tok = tiny_model
    r = LMReader(model, tok, 12, batch_size=8)
    chains = [Chain(5, [(1, 0)]), Chain(2, [(7, 1), (3, 0), (9, 1)]), Chain(11, [])]
    variables = [5, 4, 11]
    got = r.p_one(chains, variables)
    probs = r.next_variable_probs(chains)
    for c, v, p, dist in zip(chains, variables, got, probs, strict=True):
        text = f"###\ntarget: X{c.target}\n" + "".join(f"X{a}={b}\n" for a, b in c.lines)
        ids = tok.encode(text + f"X{v}", add_special_tokens=False)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
        two = logits[[tok.convert_tokens_to_ids("=0\n"), tok.convert_tokens_to_ids("=1\n")]]
        assert p == pytest.approx(float(torch.softmax(two, -1)[1]), abs=1e-5)
        ids = tok.encode(text, add_special_tokens=False)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
        names = logits[[tok.convert_tokens_to_ids(f"X{i}") for i in range(12)]]
        np.testing.assert_allclose(dist, torch.softmax(names, -1).numpy(), atol=1e-5)
    # the slow path (each name scored in full) gives the same distribution
    r._single_token_names = False
    np.testing.assert_allclose(r.next_variable_probs(chains), probs, atol=1e-5)


def test_many_token_names_with_a_character_tokenizer():
    """X10 is three tokens here: values still read right, names scored token by token, and
    both agree with the core's teacher-forced scorer."""
    from neurips23.lm.generate import score
    from neurips23.lm.models import build_model
    from neurips23.lm.tokenizers import build_char_tokenizer

    tok = build_char_tokenizer("#\ntarget: X0123456789=")
    model = build_model(dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                             intermediate_size=64), len(tok), seed=1)
    r = LMReader(model, tok, 12)
    assert not r._single_token_names
    prompt = "###\ntarget: X10\nX3=1\nX10="
    s0, s1 = (score(model, tok, [prompt], [v])[0].logprob for v in "01")
    p = r.p_one([Chain(10, [(3, 1)])], [10])[0]
    assert p == pytest.approx(np.exp(s1) / (np.exp(s0) + np.exp(s1)), abs=1e-5)
    ctx = "###\ntarget: X10\nX3=1\n"
    names = np.array([score(model, tok, [ctx], [f"X{i}="])[0].logprob for i in range(12)])
    expected = np.exp(names - names.max())
    np.testing.assert_allclose(r.next_variable_probs([Chain(10, [(3, 1)])])[0],
                               expected / expected.sum(), atol=1e-5)


def test_tokenizer_that_fuses_name_and_value_is_refused():
    from neurips23.lm.models import build_model
    from neurips23.lm.tokenizers import build_word_tokenizer

    tok = build_word_tokenizer([f"X{i}={v}" for i in range(4) for v in (0, 1)] + ["### target:"])
    model = build_model("nano", len(tok))
    with pytest.raises(UserError, match="fuses the variable name"):
        LMReader(model, tok, 4)
