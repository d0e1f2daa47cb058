"""ROME's rank-one update against a brute-force constrained least-squares solve, ROME and
constrained finetuning on real (untrained) GPT-2 and Llama modules."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.editing.finetune import FinetuneHparams, constrained_finetune, finetune_layers
from neurips23.editing.modules import get_module, kv_weight, layer_names, weights_added
from neurips23.editing.problems import PROBLEMS
from neurips23.editing.rome import RomeHparams, key_second_moment, rank_one_update, rome_edit
from neurips23.errors import UserError


def _problem(d_v=5, d_k=7, n=40, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d_v, d_k))
    K = rng.normal(size=(d_k, n))
    C = K @ K.T / n
    return W, C, K, rng.normal(size=d_k), rng.normal(size=d_v)


def test_rank_one_update_solves_the_constrained_least_squares_problem():
    """ROME Eq. 2 is the minimiser of ‖Ŵ K − W K‖² subject to Ŵ k* = v*; solve that KKT
    system directly (vec(Ŵ) and Lagrange multipliers) and compare."""
    W, C, K, k, v = _problem()
    d_v, d_k = W.shape
    n = K.shape[1]
    # objective: sum_i ‖(Ŵ − W) k_i‖² = vec(D)ᵀ (I ⊗ K Kᵀ) vec(D) with D = Ŵ − W, row-major vec
    H = np.kron(np.eye(d_v), K @ K.T / n)
    A = np.kron(np.eye(d_v), k[None, :])  # rows: (D k)_a = v_a − (W k)_a
    b = v - W @ k
    kkt = np.block([[2 * H, A.T], [A, np.zeros((d_v, d_v))]])
    sol = np.linalg.solve(kkt, np.concatenate([np.zeros(d_v * d_k), b]))
    want = W + sol[:d_v * d_k].reshape(d_v, d_k)
    got = rank_one_update(torch.tensor(W), torch.tensor(C), torch.tensor(k), torch.tensor(v))
    np.testing.assert_allclose(got.numpy(), want, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 8), st.integers(2, 8))
def test_rank_one_update_properties(seed, d_v, d_k):
    W, C, K, k, v = _problem(d_v, d_k, n=3 * d_k, seed=seed)
    W, C, k, v = (torch.tensor(x, dtype=torch.float32) for x in (W, C, k, v))
    W2 = rank_one_update(W, C, k, v)
    assert torch.linalg.norm(W2 @ k - v) / torch.linalg.norm(v) < 1e-4
    sv = torch.linalg.svdvals((W2 - W).double())
    assert sv[1:].max() <= 1e-5 * sv[0] if len(sv) > 1 else True
    # a key orthogonal to C⁻¹k* is mapped as before
    u = torch.linalg.solve(C.double(), k.double())
    other = torch.randn(d_k, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    other = other - (other @ u) / (u @ u) * u
    np.testing.assert_allclose((W2.double() @ other).numpy(), (W.double() @ other).numpy(),
                               atol=1e-4)


def test_rank_one_update_direction_key_and_bad_input():
    W, C, _, k, v = _problem()
    kd = k + 0.3
    W2 = rank_one_update(torch.tensor(W), torch.tensor(C), torch.tensor(k), torch.tensor(v),
                         direction_key=torch.tensor(kd))
    np.testing.assert_allclose((W2 @ torch.tensor(k)).numpy(), v, atol=1e-9)
    # the update's row space is C⁻¹ k_dir (ROME's code: u from the context-averaged key)
    d = (W2.numpy() - W)[0]
    u = np.linalg.solve(C, kd)
    assert abs(abs(d @ u) / (np.linalg.norm(d) * np.linalg.norm(u)) - 1) < 1e-9
    with pytest.raises(UserError, match="shapes"):
        rank_one_update(torch.tensor(W), torch.tensor(C), torch.tensor(k[:3]), torch.tensor(v))
    with pytest.raises(UserError, match="finite"):
        rank_one_update(torch.tensor(W), torch.tensor(C), torch.tensor(k * np.nan),
                        torch.tensor(v))


def test_key_second_moment_by_hand(gpt2, word_tok):
    names = layer_names(gpt2)
    C = key_second_moment(gpt2, word_tok, ["the home of ba ko mi is", "zu ra speaks"], [1],
                          names, batch_size=1)[1]
    keys = []
    for text in ["the home of ba ko mi is", "zu ra speaks"]:
        ids = torch.tensor([word_tok(text)["input_ids"]])
        store = {}
        h = get_module(gpt2, names.of("down_proj", 1)).register_forward_pre_hook(
            lambda m, a, store=store: store.__setitem__("k", a[0]))
        gpt2(input_ids=ids)
        h.remove()
        keys.append(store["k"][0].double())
    K = torch.cat(keys)
    np.testing.assert_allclose(C.numpy(), (K.T @ K / len(K)).numpy(), atol=1e-10)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
@pytest.mark.parametrize("problem", ["error_injection", "fact_forcing", "fact_erasure"])
def test_rome_edit_inserts_v_star(arch, problem, request, word_tok, fact):
    model = request.getfixturevalue(arch)
    names = layer_names(model)
    layer = 2
    corpus = ["the home of ba ko mi is avalon", "zu ra speaks alvish", "people say zu ra is a "
              "farmer", "the home of zu ra is corvo . ba ko mi speaks borean"] * 3
    C = key_second_moment(model, word_tok, corpus, [layer], names)[layer]
    hp = RomeHparams(v_steps=4, forcing_v_steps=4, v_lr=0.5)
    edit = rome_edit(model, word_tok, fact, PROBLEMS[problem], layer, C,
                     ["{}", "zu ra speaks alvish . {}"], hp, names, noise=0.5, samples=3)
    assert edit.residual < 1e-6
    (pname, delta), = edit.deltas.items()
    module = get_module(model, names.of("down_proj", layer))
    assert pname == names.of("down_proj", layer) + ".weight"
    assert delta.shape == module.weight.shape
    sv = torch.linalg.svdvals(delta.double())
    assert sv[1] <= 1e-5 * sv[0]
    before = module.weight.detach().clone()
    with weights_added(model, edit.deltas):
        out = module(edit.k_star[None])[0]  # the module itself, in its own layout
        assert float((out - edit.v_star).norm() / edit.v_star.norm()) < 1e-4
    assert torch.equal(module.weight, before)


def test_rome_edit_realises_the_optimised_value(gpt2, word_tok, fact):
    """After the weight edit the model gives p(new object) what the δ-optimisation reached:
    the same probability as with v* patched into the MLP output (an untrained model, so the
    rise is small; the trained-model pipeline test checks the size of the effect)."""
    from neurips23.editing.experiment import fact_probs
    from neurips23.editing.modules import main_tensor, output_hooks, with_main
    from neurips23.editing.prompts import encode

    names = layer_names(gpt2)
    C = key_second_moment(gpt2, word_tok, ["the home of ba ko mi is avalon"] * 4, [1], names)[1]
    problem = PROBLEMS["error_injection"]
    hp = RomeHparams(clamp_norm_factor=100.0, v_weight_decay=0.0)
    pre = fact_probs(gpt2, word_tok, fact, problem, 0.0, 3, names)["rewrite"]
    edit = rome_edit(gpt2, word_tok, fact, problem, 1, C, ["{}"], hp, names)
    with weights_added(gpt2, edit.deltas):
        post = fact_probs(gpt2, word_tok, fact, problem, 0.0, 3, names)["rewrite"]
    last = encode(word_tok, [fact.text], [fact.subject]).last_subject[0]

    def patch(out):
        h = main_tensor(out).clone()
        h[0, last] = edit.v_star
        return with_main(out, h)

    with output_hooks(gpt2, {names.of("mlp", 1): patch}):
        patched = fact_probs(gpt2, word_tok, fact, problem, 0.0, 3, names)["rewrite"]
    assert post == pytest.approx(patched, rel=1e-4)
    assert post > pre + 1e-3


@pytest.mark.parametrize("relative", [False, True])
def test_constrained_finetune_respects_eps(gpt2, word_tok, fact, relative):
    names = layer_names(gpt2)
    layers = finetune_layers(2, 3, names.n_layers)
    assert layers == [1, 2, 3]
    hp = FinetuneHparams(lr=1e-2, steps=5, eps=0.05 if relative else 1e-3, eps_relative=relative)
    before = {n: p.detach().clone() for n, p in gpt2.named_parameters()}
    deltas = constrained_finetune(gpt2, word_tok, fact, PROBLEMS["error_injection"], layers, hp,
                                  names)
    assert sorted(deltas) == [names.of("down_proj", x) + ".weight" for x in layers]
    for n, d in deltas.items():
        eps = hp.eps * float(before[n].std()) if relative else hp.eps
        assert float(d.abs().max()) <= eps * (1 + 1e-5)
        assert float(d.abs().max()) >= 0.5 * eps  # Adam's first steps reach the bound
    for n, p in gpt2.named_parameters():
        assert torch.equal(p, before[n]), n  # the model is left as it was


def test_finetune_bad_input(gpt2, word_tok, fact):
    with pytest.raises(UserError, match="layers"):
        constrained_finetune(gpt2, word_tok, fact, PROBLEMS["fact_erasure"], [7])
    with pytest.raises(UserError, match="eps"):
        constrained_finetune(gpt2, word_tok, fact, PROBLEMS["fact_erasure"], [1],
                             FinetuneHparams(eps=0.0))


def test_kv_weight_orientation(gpt2, llama):
    for model in (gpt2, llama):
        names = layer_names(model)
        module = get_module(model, names.of("down_proj", 0))
        W, transposed = kv_weight(module)
        k = torch.randn(W.shape[1])
        b = module.bias if getattr(module, "bias", None) is not None else 0
        torch.testing.assert_close(module(k[None])[0], W @ k + b)
        assert transposed == (model.config.model_type == "gpt2")


def test_layer_names_need_templates_for_unknown_models():
    class Fake(torch.nn.Module):
        config = type("C", (), {"model_type": "mystery", "num_hidden_layers": 2})()

    with pytest.raises(UserError, match="--layer-template"):
        layer_names(Fake())
