"""Tiny causal LMs as real Hugging Face models, so a hub name or local path drops in anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TINY_CONFIGS: dict[str, dict[str, int]] = {
    # Parameter counts at a vocabulary of ~100: nano ~0.1M, micro ~0.45M, mini ~1.9M, small ~7.5M.
    "nano": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=192),
    "micro": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=384),
    "mini": dict(hidden_size=192, num_hidden_layers=4, num_attention_heads=6, intermediate_size=576),
    "small": dict(hidden_size=320, num_hidden_layers=6, num_attention_heads=8, intermediate_size=864),
}


def build_model(size: str | dict, vocab_size: int, arch: str = "llama",
                max_position_embeddings: int = 512, seed: int = 0, **overrides: Any):
    """A freshly initialised LlamaForCausalLM (or GPT2LMHeadModel) of a named tiny size."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    if isinstance(size, str):
        if size not in TINY_CONFIGS:
            from neurips23.errors import ConfigError
            raise ConfigError(f"unknown model size {size!r}; choose from {', '.join(TINY_CONFIGS)}")
        dims = dict(TINY_CONFIGS[size])
    else:
        dims = dict(size)
    dims.update(overrides)
    torch.manual_seed(seed)
    special = dict(pad_token_id=0, bos_token_id=1, eos_token_id=2)
    if arch == "llama":
        cfg = LlamaConfig(vocab_size=vocab_size, max_position_embeddings=max_position_embeddings,
                          tie_word_embeddings=dims.pop("tie_word_embeddings", True),
                          num_key_value_heads=dims.pop("num_key_value_heads",
                                                       dims["num_attention_heads"]),
                          rms_norm_eps=1e-5, attention_dropout=0.0, **special, **dims)
        model = LlamaForCausalLM(cfg)
    elif arch == "gpt2":
        cfg = GPT2Config(vocab_size=vocab_size, n_positions=max_position_embeddings,
                         n_embd=dims["hidden_size"], n_layer=dims["num_hidden_layers"],
                         n_head=dims["num_attention_heads"], n_inner=dims["intermediate_size"],
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **special)
        model = GPT2LMHeadModel(cfg)
    else:
        from neurips23.errors import ConfigError
        raise ConfigError(f"unknown architecture {arch!r}; choose 'llama' or 'gpt2'")
    model.eval()
    return model


def count_parameters(model, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters, counting tied weights once."""
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def save_model(model, tokenizer, path: str | Path) -> Path:
    """save_pretrained of model and tokenizer into one directory."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def load_model(name_or_path: str | Path, device: str | None = None, dtype: Any = None, **kw: Any):
    """(model, tokenizer) from a built-in name (`smollm2-135m`), a cached tiny model, a local
    directory or a hub name."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from neurips23.errors import UserError

    hf_logging.disable_progress_bar()
    name = str(name_or_path)
    from neurips23.lm.builtin import builtin_model_dir, is_builtin

    if is_builtin(name):
        name = str(builtin_model_dir(name))
    local = Path(name).expanduser()
    looks_local = local.exists() or name.startswith((".", "/", "~"))
    if looks_local and not (local / "config.json").exists():
        raise UserError(f"{local}: not a model directory (no config.json)")
    try:
        tok = AutoTokenizer.from_pretrained(str(local) if looks_local else name)
        model = AutoModelForCausalLM.from_pretrained(str(local) if looks_local else name,
                                                     dtype=dtype, **kw)
    except OSError as e:
        raise UserError(f"cannot load model {name!r}: {str(e).splitlines()[0]}") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if device:
        model.to(device)
    model.eval()
    return model, tok
