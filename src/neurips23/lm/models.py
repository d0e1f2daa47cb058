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


DTYPES = ("auto", "float32", "bfloat16", "float16")
"""dtype names a model may be loaded in ("auto": the checkpoint's own)."""


def resolve_device(device: str | None) -> str | None:
    """"auto" -> "cuda" when a GPU is visible, else "cpu"; other names unchanged."""
    if device != "auto":
        return device or None
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: Any) -> Any:
    """A torch dtype from a name in DTYPES (None and "auto": the checkpoint's own)."""
    if dtype is None or not isinstance(dtype, str):
        return dtype
    if dtype not in DTYPES:
        from neurips23.errors import ConfigError
        raise ConfigError(f"dtype {dtype!r}: choose from {', '.join(DTYPES)}")
    import torch

    return "auto" if dtype == "auto" else getattr(torch, dtype)


def model_source(name: str) -> tuple[str, bool]:
    """Where a model name points: (local directory, True) for a built-in name, a cached model
    key or a path; (hub name, False) otherwise. Unknown names raise a UserError listing the
    valid ones."""
    from neurips23.errors import UserError
    from neurips23.lm.builtin import builtin_model_dir, is_builtin
    from neurips23.lm.cache import cache_dir

    if is_builtin(name):
        return str(builtin_model_dir(name)), True
    local = Path(name).expanduser()
    if local.exists() or name.startswith((".", "/", "~")):
        if not (local / "config.json").exists():
            raise UserError(f"{local}: not a model directory (no config.json)")
        return str(local), True
    entry = cache_dir() / "models" / name
    if len(name) == 16 and (entry / "config.json").exists():
        return str(entry), True
    if "/" in name and len(name.split("/")) == 2:
        return name, False
    if _in_hub_cache(name):  # a legacy hub name without an organisation ("gpt2")
        return name, False
    raise UserError(unknown_model_message(name))


def _in_hub_cache(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # noqa: BLE001 - an odd name is simply not cached
        return False


def unknown_model_message(name: str) -> str:
    """The error for a name that is no built-in model, cached model, directory or hub name."""
    from neurips23.lm.builtin import BUILTIN_MODELS
    from neurips23.lm.cache import list_models

    cached = [m["key"] for m in list_models() if (Path(m["path"]) / "config.json").exists()]
    shown = ", ".join(cached[:8]) + (", ..." if len(cached) > 8 else "") if cached else "none"
    return (f"unknown model {name!r}: valid names are a built-in model "
            f"({', '.join(BUILTIN_MODELS)}), a cached model key ({shown}; see "
            "`neurips23 models list`), a local directory, or a Hugging Face hub name such as "
            "HuggingFaceTB/SmolLM2-135M-Instruct (hub names need the network unless already "
            "in the Hugging Face cache)")


def broken_file(directory: str | Path) -> Path | None:
    """The first file of a model directory that cannot be read (weights, JSON), else None."""
    import json

    from safetensors import safe_open

    for f in sorted(Path(directory).iterdir()):
        try:
            if f.suffix == ".safetensors":
                with safe_open(str(f), "pt") as handle:
                    handle.keys()
            elif f.suffix == ".json":
                json.loads(f.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - any failure means this file is the broken one
            return f
    return None


def _hub_offline_reason() -> str | None:
    """Why the hub cannot be reached right now (offline mode, no DNS), else None."""
    import os
    import socket
    from urllib.parse import urlsplit

    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        return "HF_HUB_OFFLINE is set"
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None  # a proxy resolves names for us
    host = urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or ""
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return f"{host} cannot be resolved (no network)"
    return None


def _from_pretrained(source: str, local: bool, dtype: Any, **kw: Any):
    """(model, tokenizer) from a directory or a hub name; the hub's cache is tried first."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not local:
        try:
            return _from_pretrained(source, True, dtype, local_files_only=True, **kw)
        except OSError:
            pass
    tok = AutoTokenizer.from_pretrained(source, **{k: v for k, v in kw.items()
                                                  if k == "local_files_only"})
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kw)
    return model, tok


def load_model(name_or_path: str | Path, device: str | None = None, dtype: Any = None, **kw: Any):
    """(model, tokenizer) from a built-in name (`smollm2-135m`), a cached model key, a local
    directory or a hub name; `device` may be "auto", `dtype` a name in DTYPES.

    Failures are one UserError line: an unknown name lists the valid ones; an unreadable
    directory (a corrupt cache entry) is named with how to rebuild it."""
    from transformers.utils import logging as hf_logging

    from neurips23.errors import UserError

    hf_logging.disable_progress_bar()
    name = str(name_or_path)
    source, local = model_source(name)
    if not local and (reason := _hub_offline_reason()):
        raise UserError(f"cannot load {name!r} from the Hugging Face hub: {reason}; offline, use "
                        "a built-in model (smollm2-135m), a cached model key or a local directory")
    try:
        model, tok = _from_pretrained(source, local, resolve_dtype(dtype), **kw)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure: one line naming the source
        detail = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no detail'}"
        if local:
            bad = broken_file(source)
            where = f"{bad}: unreadable" if bad else f"{source}: cannot load the model"
            raise UserError(f"{where} ({detail}); if it is a cache entry, delete it "
                            f"(rm -r {source}) and it is rebuilt on next use") from None
        raise UserError(f"cannot load model {name!r}: {detail}") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    device = resolve_device(device)
    if device:
        model.to(device)
    model.eval()
    return model, tok
