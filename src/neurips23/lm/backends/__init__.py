"""Model backends behind one `LanguageModel` interface: `hf` (in-process) and `openai` (HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from neurips23.config import param
from neurips23.lm.backends.base import GPT4_PRICES, LanguageModel, Prices, Score, Usage

__all__ = ["BACKENDS", "GPT4_PRICES", "BackendOptions", "LanguageModel", "Prices", "Score", "Usage",
           "load_backend"]

BACKENDS = ("hf", "openai")


@dataclass
class BackendOptions:
    """Which model to talk to and how: the backend settings every command and config that takes
    `--backend/--model/--base-url/--api-key-env/--timeout` inherits (a subclass overrides a field
    whose default differs)."""

    backend: Literal["hf", "openai"] = param("hf", "hf: a model in this process; openai: an "
                                                    "OpenAI-compatible endpoint (--base-url).")
    model: str = param("smollm2-135m", "Model name or path (hf), or the endpoint's model id.")
    base_url: str = param("", "The endpoint's base URL, e.g. http://127.0.0.1:8000/v1 (openai "
                               "backend).")
    api_key_env: str = param("OPENAI_API_KEY", "Environment variable holding the API key "
                                                "(openai backend).")
    timeout: float = param(600.0, "Seconds to wait for an endpoint's answer (openai backend).")

    def load(self, **extra: Any) -> LanguageModel:
        """The backend these options name (`extra`: more `load_backend` keywords, e.g. batch_size)."""
        return load_backend(self.backend, self.model, base_url=self.base_url or None,
                            api_key_env=self.api_key_env, timeout=self.timeout, **extra)


def load_backend(kind: str, model: str, *, base_url: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", max_concurrency: int = 8,
                 timeout: float = 600.0, max_retries: int = 4, device: str | None = None,
                 batch_size: int = 64, dtype: str | None = None,
                 connect_timeout: float = 10.0) -> LanguageModel:
    """A backend by kind: `hf` loads `model` in process; `openai` talks to `base_url`.

    `timeout` bounds waiting for an answer (not retried), `connect_timeout` reaching the
    server (retried). Every backend counts its calls and tokens in `.usage`; `backend.usage.cost(Prices(...))`
    prices them."""
    from neurips23.errors import ConfigError

    if kind == "hf":
        from neurips23.lm.backends.hf import HFBackend

        return HFBackend.from_pretrained(model, device=device, batch_size=batch_size, dtype=dtype)
    if kind == "openai":
        from neurips23.lm.backends.openai import OpenAIBackend

        if not base_url:
            raise ConfigError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIBackend(model, base_url=base_url, api_key_env=api_key_env,
                             max_concurrency=max_concurrency, timeout=timeout,
                             max_retries=max_retries, connect_timeout=connect_timeout)
    raise ConfigError(f"unknown backend {kind!r}; choose from {', '.join(BACKENDS)}")
