"""The model under test: a `LanguageModel` backend, its weights when they are open, whether it
returns log-probs, and the fingerprint its cached results are keyed by."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neurips23.lm.backends import BackendOptions

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


@dataclass
class Subject:
    """A model to probe. `model`/`tokenizer` are set for open weights (hf backend) only."""

    lm: Any
    label: str
    backend: str
    fingerprint: str
    model: Any = None
    tokenizer: Any = None
    logprobs: bool = False
    completions: bool = True

    @property
    def has_weights(self) -> bool:
        """Whether the probe can reach the weights (open weights in this process)."""
        return self.model is not None


def local_fingerprint(directory: str | Path) -> str:
    """A local model's fingerprint: the hash of its config.json and its weight files' names and
    sizes (cheap on a multi-GB model, and a changed checkpoint changes a size or a name)."""
    d = Path(directory)
    config = (d / "config.json").read_text(encoding="utf-8") if (d / "config.json").exists() else ""
    weights = sorted((p.name, p.stat().st_size) for p in d.iterdir()
                     if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    text = json.dumps({"config": config, "weights": weights})
    return "local:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def endpoint_fingerprint(base_url: str, model: str) -> str:
    """An endpoint's fingerprint: its base URL and model id (what the caller can see)."""
    from neurips23.lm.backends.openai import normalize_base_url

    return f"endpoint:{normalize_base_url(base_url)}#{model}"


def endpoint_has_completions(lm: Any) -> bool:
    """Whether an endpoint serves text completions (/v1/completions), not chat only: one
    one-token request; a refusal gives False, never an error."""
    from neurips23.errors import UserError

    try:
        lm.generate(["Hello"], max_tokens=1)
        return True
    except UserError:
        return False


def hub_fingerprint(name: str) -> str:
    """A hub model's fingerprint: its downloaded snapshot's files (as `local_fingerprint`) when
    it is in the Hugging Face cache, else the name alone."""
    try:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(name, "config.json")
        if isinstance(config, str):
            return local_fingerprint(Path(config).parent).replace("local:", "hub:", 1)
    except Exception:  # noqa: BLE001 - no cache entry: the name is all we know
        pass
    return f"hub:{name}"


def endpoint_has_logprobs(lm: Any) -> bool:
    """Whether an endpoint scores text (returns prompt log-probs for echo=true): one tiny
    request; an endpoint that refuses gives False, never an error."""
    from neurips23.errors import UserError

    try:
        lm.score(["The sky is"], [" blue"])
        return True
    except UserError:
        return False


def load_subject(options: BackendOptions) -> Subject:
    """The model under test by name (hf: a built-in name, cached key, directory or hub name)
    or as an endpoint's model id (openai)."""
    model = options.model
    if options.backend == "openai":
        lm = options.load()
        completions = endpoint_has_completions(lm)
        return Subject(lm, model, "openai", endpoint_fingerprint(options.base_url, model),
                       logprobs=completions and endpoint_has_logprobs(lm), completions=completions)
    from neurips23.lm.models import model_source

    source, local = model_source(model)
    lm = options.load()
    fingerprint = local_fingerprint(source) if local else hub_fingerprint(model)
    lm.model.requires_grad_(False)
    return Subject(lm, model, "hf", fingerprint, lm.model, lm.tokenizer, logprobs=True)


def in_memory_subject(lm: Any, label: str, fingerprint: str) -> Subject:
    """A Subject over an in-memory `HFBackend` (tests, library use)."""
    return Subject(lm, label, "hf", fingerprint, getattr(lm, "model", None),
                   getattr(lm, "tokenizer", None), logprobs=True)
