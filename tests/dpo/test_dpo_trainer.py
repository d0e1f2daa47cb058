"""The DPO trainer: learning, reference handling, exact resume, LoRA / 4-bit reference, bad input."""

import copy
import json
import math

import pytest
import torch

from neurips23.dpo.data import PreferencePair, encode_pair, read_preference_jsonl
from neurips23.dpo.toy import toy_model_and_tokenizer, toy_pairs
from neurips23.dpo.trainer import DPOTrainConfig, DPOTrainer, dpo_train_settings
from neurips23.errors import ConfigError, DataError


def _cfg(beta=0.5, precompute_ref=True, **train):
    """DPO settings for the tests; trainer settings (steps, lr, ...) go to the core TrainConfig."""
    settings = dict(steps=8, batch_size=8, lr=3e-3, max_length=32, seed=0) | train
    return DPOTrainConfig(beta=beta, precompute_ref=precompute_ref, train=dpo_train_settings(**settings))


def test_training_raises_reward_accuracy_and_lowers_loss():
    model, tok = toy_model_and_tokenizer(seed=0)
    pairs = toy_pairs(16, seed=1)
    result = DPOTrainer(model, tok, pairs, _cfg(steps=30, batch_size=16), progress=False).train()
    first, last = result.logs[0], result.logs[-1]
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-5)  # policy == reference at step 1
    assert last["loss"] < 0.3 and last["reward_accuracy"] == 1.0
    assert last["reward_margin"] > 0
    for key in ("chosen_logps", "rejected_logps", "kl_estimate", "chosen_reward", "lr"):
        assert math.isfinite(last[key])


def test_precomputed_reference_equals_live_reference():
    model, tok = toy_model_and_tokenizer(seed=0)
    pairs = toy_pairs(12, seed=2)
    a = DPOTrainer(copy.deepcopy(model), tok, pairs, _cfg(precompute_ref=True), progress=False)
    b = DPOTrainer(copy.deepcopy(model), tok, pairs, _cfg(precompute_ref=False), progress=False)
    la, lb = a.train().logs, b.train().logs
    assert [r["loss"] for r in la] == pytest.approx([r["loss"] for r in lb], abs=1e-5)


def test_resume_after_a_kill_is_exact(tmp_path):
    model, tok = toy_model_and_tokenizer(seed=0)
    pairs = toy_pairs(20, seed=3)
    cfg = _cfg(steps=6, checkpoint_every=2, schedule="cosine")
    full = copy.deepcopy(model)
    ref_logs = DPOTrainer(full, tok, pairs, cfg, progress=False).train().logs

    class Killed(Exception):
        pass

    def kill_at_5(step, _model):
        if step == 5:
            raise Killed

    with pytest.raises(Killed):
        DPOTrainer(copy.deepcopy(model), tok, pairs, cfg, out_dir=tmp_path,
                   progress=False).train(kill_at_5)
    resumed = copy.deepcopy(model)
    result = DPOTrainer(resumed, tok, pairs, cfg, out_dir=tmp_path, progress=False).train()
    assert result.resumed_from == 4
    assert [r["step"] for r in result.logs] == list(range(1, 7))
    assert [r["loss"] for r in result.logs] == pytest.approx([r["loss"] for r in ref_logs], abs=1e-6)
    for p, q in zip(full.parameters(), resumed.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)
    assert json.loads((tmp_path / "dpo_logs.json").read_text())[-1]["step"] == 6


def _lora(model):
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.1)
    return get_peft_model(model, cfg)


def test_lora_reference_is_adapter_disabled_base():
    model, tok = toy_model_and_tokenizer(seed=0)
    base = copy.deepcopy(model)
    pairs = toy_pairs(12, seed=4)
    policy = _lora(model)
    trainer = DPOTrainer(policy, tok, pairs, _cfg(steps=10), progress=False)
    assert trainer.ref_model is None and trainer.use_adapter_ref
    result = trainer.train()
    assert result.logs[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert result.logs[-1]["loss"] < result.logs[0]["loss"]
    # the adapter-disabled model still equals the untouched base on every pair
    from neurips23.dpo.data import collate_pairs
    from neurips23.dpo.loss import concatenated_forward

    batch = collate_pairs(trainer.encoded, tok.pad_token_id)
    with torch.no_grad(), policy.disable_adapter():
        got = concatenated_forward(policy, batch)
    want = concatenated_forward(base, batch)
    assert torch.allclose(got[0], want[0], atol=1e-5) and torch.allclose(got[1], want[1], atol=1e-5)
    with torch.no_grad():
        moved = concatenated_forward(policy, batch)
    assert not torch.allclose(moved[0], want[0], atol=1e-4)


def test_lora_on_4bit_base(tmp_path):
    pytest.importorskip("bitsandbytes")
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from neurips23.lm.models import save_model

    model, tok = toy_model_and_tokenizer(seed=0)
    save_model(model, tok, tmp_path)
    q = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                           bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.float32)
    base4 = AutoModelForCausalLM.from_pretrained(tmp_path, quantization_config=q, dtype=torch.float32)
    policy = _lora(base4)
    with torch.no_grad():  # an inference call first: bitsandbytes may repack weights for CPU
        policy.eval()(input_ids=torch.tensor([[1, 5, 6]]))
    result = DPOTrainer(policy, tok, toy_pairs(12, seed=4), _cfg(steps=6), progress=False).train()
    assert result.logs[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert result.logs[-1]["loss"] < result.logs[0]["loss"]


def test_no_trainable_parameters_is_an_error():
    model, tok = toy_model_and_tokenizer(seed=0)
    model.requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        DPOTrainer(model, tok, toy_pairs(4), _cfg(), progress=False)


def test_bad_config_values():
    with pytest.raises(ConfigError, match="loss_type"):
        DPOTrainConfig(loss_type="kto").validate()
    with pytest.raises(ConfigError, match="beta"):
        DPOTrainConfig(beta=-1).validate()
    with pytest.raises(ConfigError, match="train.lr"):
        DPOTrainConfig(train=dpo_train_settings(lr=0)).validate()


# --- bad input -----------------------------------------------------------------------------


def _write(tmp_path, lines):
    path = tmp_path / "prefs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = json.dumps({"prompt": "the movie", "chosen": "was good", "rejected": "was bad"})


def test_jsonl_reads_good_lines(tmp_path):
    pairs = read_preference_jsonl(_write(tmp_path, [GOOD, "", GOOD]))
    assert pairs == [PreferencePair("the movie", "was good", "was bad")] * 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"prefs.jsonl:2: not valid JSON"),
        (json.dumps({"prompt": "a", "chosen": "b"}), r"prefs.jsonl:2: missing field 'rejected'"),
        (json.dumps({"prompt": "a", "chosen": 3, "rejected": "c"}),
         r"prefs.jsonl:2: field 'chosen' should be str, got int"),
        (json.dumps({"prompt": "a", "chosen": "  ", "rejected": "c"}),
         r"prefs.jsonl:2: field 'chosen' is empty"),
        (json.dumps(["a", "b", "c"]), r"prefs.jsonl:2: expected a JSON object"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path, line, message):
    with pytest.raises(DataError, match=message):
        read_preference_jsonl(_write(tmp_path, [GOOD, line]))


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_preference_jsonl(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="no records"):
        read_preference_jsonl(_write(tmp_path, [""]))


def test_truncation_that_empties_a_response_is_rejected():
    _, tok = toy_model_and_tokenizer()
    pair = PreferencePair("the movie was very good the plot", "great", "bad")
    with pytest.raises(DataError, match="chosen response has no token left after truncation"):
        encode_pair(tok, pair, max_length=7, max_prompt_length=None, where="prefs.jsonl:3")
    enc = encode_pair(tok, pair, max_length=7, max_prompt_length=4)  # the prompt keeps its end
    assert enc["chosen_input_ids"][:4] == tok("very good the plot", add_special_tokens=False)[
        "input_ids"][-4:]
    assert enc["chosen_labels"][-1] == tok.eos_token_id
    assert sum(x != -100 for x in enc["chosen_labels"]) == 2  # "great" + EOS


def test_a_pair_with_nothing_to_score_is_rejected():
    """With no prompt and no EOS, a one-token response has no scored token: loss stuck at log 2."""
    _, tok = toy_model_and_tokenizer()
    pair = PreferencePair("", "great", "bad")
    with pytest.raises(DataError, match="no token left"):
        encode_pair(tok, pair, max_length=16, add_eos=False)
    assert encode_pair(tok, pair, max_length=16, add_eos=True)["chosen_labels"][-1] == tok.eos_token_id
