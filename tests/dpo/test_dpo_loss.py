"""dpo_loss and sequence log-probs against hand-worked numbers, brute force and TRL 1.16."""

import copy
import math

import pytest
import torch

from neurips23.dpo.data import collate_pairs, encode_pairs
from neurips23.dpo.loss import concatenated_forward, dpo_loss, sequence_logps
from neurips23.dpo.toy import toy_model_and_tokenizer, toy_pairs
from neurips23.errors import ConfigError

T = torch.tensor


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_losses_worked_by_hand():
    # pc=-1, pr=-3, rc=-2, rr=-2.5 -> h = (-1+2) - (-3+2.5) = 1.5 ; beta = 0.5 -> beta*h = 0.75
    args = (T([-1.0]), T([-3.0]), T([-2.0]), T([-2.5]))
    loss, rc, rr = dpo_loss(*args, beta=0.5)
    assert loss.item() == pytest.approx(_softplus(-0.75), abs=1e-6)  # -log sigmoid(0.75)
    assert rc.item() == pytest.approx(0.5) and rr.item() == pytest.approx(-0.25)
    loss, _, _ = dpo_loss(*args, beta=0.5, label_smoothing=0.2)
    assert loss.item() == pytest.approx(0.8 * _softplus(-0.75) + 0.2 * _softplus(0.75), abs=1e-6)
    loss, _, _ = dpo_loss(*args, beta=0.5, loss_type="ipo")  # (1.5 - 1/(2*0.5))^2
    assert loss.item() == pytest.approx(0.25, abs=1e-6)
    loss, rc, _ = dpo_loss(*args, beta=0.5, reference_free=True)  # h = -1 - (-3) = 2
    assert loss.item() == pytest.approx(_softplus(-1.0), abs=1e-6)
    assert rc.item() == pytest.approx(-0.5)


def test_gradient_matches_paper_eq_section_4():
    # d/d log pi(y_w) of -log sigmoid(beta h) = -beta * sigmoid(-beta h) (the paper's weighting term)
    pc = T([-1.0], requires_grad=True)
    loss, _, _ = dpo_loss(pc, T([-3.0]), T([-2.0]), T([-2.5]), beta=0.5)
    loss.sum().backward()
    expected = -0.5 / (1 + math.exp(0.75))
    assert pc.grad.item() == pytest.approx(expected, abs=1e-6)


def test_equal_policy_and_reference_gives_log2():
    x = torch.randn(5)
    loss, rc, rr = dpo_loss(x, x + 1, x, x + 1, beta=0.3)
    assert torch.allclose(loss, torch.full((5,), math.log(2)))
    assert torch.all(rc == 0) and torch.all(rr == 0)


def test_bad_arguments_are_config_errors():
    x = T([0.0])
    with pytest.raises(ConfigError, match="beta"):
        dpo_loss(x, x, x, x, beta=0)
    with pytest.raises(ConfigError, match="loss_type"):
        dpo_loss(x, x, x, x, beta=0.1, loss_type="hinge")
    with pytest.raises(ConfigError, match="label_smoothing"):
        dpo_loss(x, x, x, x, beta=0.1, label_smoothing=0.5)


def test_sequence_logps_brute_force():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 6, 11, generator=g)
    labels = T([[-100, -100, 3, 4, 5, -100], [-100, 7, 8, -100, -100, -100]])
    expected = []
    for b in range(2):
        total, n = 0.0, 0
        for t in range(1, 6):
            if labels[b, t] != -100:
                total += torch.log_softmax(logits[b, t - 1], -1)[labels[b, t]].item()
                n += 1
        expected.append((total, total / n))
    assert torch.allclose(sequence_logps(logits, labels), T([e[0] for e in expected]), atol=1e-5)
    avg = sequence_logps(logits, labels, average=True)
    assert torch.allclose(avg, T([e[1] for e in expected]), atol=1e-5)


def test_padding_does_not_change_sequence_logps():
    model, tok = toy_model_and_tokenizer(seed=1)
    enc = encode_pairs(tok, toy_pairs(4, seed=3), max_length=32)
    batch = collate_pairs(enc, tok.pad_token_id)
    with torch.no_grad():
        chosen, rejected = concatenated_forward(model, batch)
        for i, e in enumerate(enc):
            for key, got in (("chosen", chosen[i]), ("rejected", rejected[i])):
                ids = T([e[f"{key}_input_ids"]])
                alone = sequence_logps(model(input_ids=ids).logits, T([e[f"{key}_labels"]]))
                assert got.item() == pytest.approx(alone.item(), abs=1e-4)


# --- against TRL's DPOTrainer.compute_loss on the same tiny model and batch -----------------


@pytest.fixture(scope="module")
def trl_setup(tmp_path_factory):
    pytest.importorskip("trl")  # the `ref` extra
    from neurips23.lm.models import save_model

    model, tok = toy_model_and_tokenizer(seed=2)
    # move the policy away from the reference so the loss is not exactly log 2
    ref = copy.deepcopy(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path_factory.mktemp("toy")
    save_model(model, tok, path)
    pairs = toy_pairs(6, seed=5)
    return model, ref, tok, pairs, path


def _trl_loss(setup, loss_type, beta, label_smoothing=0.0):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    model, ref, tok, pairs, path = setup
    rows = [{"prompt": p.prompt, "chosen": " " + p.chosen, "rejected": " " + p.rejected}
            for p in pairs]
    args = DPOConfig(output_dir=str(path / "trl"), beta=beta, loss_type=[loss_type],
                     label_smoothing=label_smoothing, use_cpu=True, bf16=False,
                     gradient_checkpointing=False, report_to="none", max_length=64)
    trainer = DPOTrainer(copy.deepcopy(model), copy.deepcopy(ref).eval(), args=args,
                         train_dataset=Dataset.from_list(rows), processing_class=tok)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(rows))])
    trainer.model.eval()
    with torch.no_grad():
        trl = trainer.compute_loss(trainer.model, batch).item()
    # our loss on exactly TRL's token ids: completion_mask marks the response tokens
    labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
    ours_batch = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
                  "labels": labels}
    return trl, ours_batch


def _ours(setup, batch, average=False, **kw):
    model, ref, *_ = setup
    with torch.no_grad():
        pc, pr = concatenated_forward(model, batch, average=average)
        rc, rr = concatenated_forward(ref, batch, average=average)
        return dpo_loss(pc, pr, rc, rr, **kw)


def test_sigmoid_matches_trl(trl_setup):
    trl, batch = _trl_loss(trl_setup, "sigmoid", beta=0.5)
    ours, _, _ = _ours(trl_setup, batch, beta=0.5)
    assert ours.mean().item() == pytest.approx(trl, abs=1e-5)
    assert abs(trl - math.log(2)) > 1e-3  # a real, non-degenerate comparison
    # our own tokenisation (prompt masked, EOS appended) gives TRL's exact rows
    model, ref, tok, pairs, _ = trl_setup
    mine = collate_pairs(encode_pairs(tok, pairs, max_length=64), tok.pad_token_id)
    width = mine["input_ids"].shape[1]
    assert torch.equal(mine["input_ids"], batch["input_ids"][:, :width])
    assert torch.equal(mine["labels"], batch["labels"][:, :width])


def test_ipo_matches_trl_length_normalised(trl_setup):
    trl, batch = _trl_loss(trl_setup, "ipo", beta=0.1)
    ours, _, _ = _ours(trl_setup, batch, average=True, beta=0.1, loss_type="ipo")
    assert ours.mean().item() == pytest.approx(trl, rel=1e-5)
    summed, _, _ = _ours(trl_setup, batch, beta=0.1, loss_type="ipo")  # the official (summed) form
    assert abs(summed.mean().item() - trl) > 1e-3


def test_conservative_dpo_against_trl_robust(trl_setup):
    # TRL's robust = [-(1-e) log s(bh) + e log s(-bh)] / (1-2e); cDPO = -(1-e) log s(bh) - e log s(-bh)
    eps, beta = 0.2, 0.5
    trl, batch = _trl_loss(trl_setup, "robust", beta=beta, label_smoothing=eps)
    ours, rc, rr = _ours(trl_setup, batch, beta=beta, label_smoothing=eps)
    bh = rc - rr
    robust_from_ours = (ours + 2 * eps * torch.nn.functional.logsigmoid(-bh)) / (1 - 2 * eps)
    assert robust_from_ours.mean().item() == pytest.approx(trl, abs=1e-5)
    # and TRL's sigmoid ignores label smoothing: it equals plain DPO
    trl_sig, _ = _trl_loss(trl_setup, "sigmoid", beta=beta, label_smoothing=eps)
    plain, _, _ = _ours(trl_setup, batch, beta=beta)
    assert plain.mean().item() == pytest.approx(trl_sig, abs=1e-5)
