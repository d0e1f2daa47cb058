"""Request bodies of the OpenAI API as this server reads them.

Fields that change what the model would write but that this server does not implement
(penalties, logit bias, tools, response formats, suffix) are refused with a 400 naming them,
not silently ignored; purely informational fields (`user`, `metadata`, ...) are ignored.
Sampling fields a request leaves out (temperature, top_p, top_k) take the model's defaults
(`engine.sampling_defaults`). `top_k` is an extension (as in vLLM): 0 or -1 means off.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from neurips23.serve.errors import APIError


class StreamOptions(BaseModel):
    """`stream_options`: whether the last chunk of a stream carries the usage."""

    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


def _describe(value: Any) -> str:
    """A value for an error message, whole: its repr if short, else its kind and size."""
    text = repr(value)
    if len(text) <= 60:
        return text
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"an object with keys {', '.join(map(str, list(value)[:5]))}"
    return f"a {type(value).__name__} of {len(text)} characters"


def _not_unicode(value: Any, path: str = "") -> str | None:
    """The path of the first string in `value` that cannot be encoded as UTF-8, else None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list) else ()
    for k, v in items:
        found = _not_unicode(v, f"{path}.{k}" if path else str(k))
        if found:
            return found
    return None


class SamplingBody(BaseModel):
    """Fields shared by /v1/completions and /v1/chat/completions."""

    model_config = ConfigDict(extra="ignore")

    model: str
    n: int = Field(1, ge=1, le=128)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=-1)
    max_tokens: int | None = Field(None, ge=0)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-2**63, lt=2**63)
    stream: bool = False
    stream_options: StreamOptions | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[str, float] | None = None

    def stop_list(self) -> list[str]:
        """`stop` as a list of strings."""
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    def sampling(self, defaults: dict[str, float | int]) -> dict[str, float | int]:
        """temperature, top_p and top_k: as asked, else the model's defaults."""
        asked = {"temperature": self.temperature, "top_p": self.top_p,
                 "top_k": None if self.top_k is None else max(self.top_k, 0)}
        return {k: defaults[k] if v is None else v for k, v in asked.items()}

    def include_usage(self) -> bool:
        """Whether a stream ends with a usage chunk (`stream_options.include_usage`)."""
        return bool(self.stream_options and self.stream_options.include_usage)

    def refuse_unsupported(self) -> None:
        """400 for a field whose effect this server does not implement."""
        unsupported = {"presence_penalty": self.presence_penalty,
                       "frequency_penalty": self.frequency_penalty, "logit_bias": self.logit_bias,
                       **self._unsupported_extra()}
        for name, value in unsupported.items():
            if value:
                raise APIError(400, f"{name} is not supported by this server (got "
                                    f"{_describe(value)}); leave it out", param=name)
        if self.stream_options is not None and not self.stream:
            raise APIError(400, "stream_options needs stream=true", param="stream_options")
        bad = _not_unicode(self.model_dump(exclude_none=True))
        if bad is not None:
            raise APIError(400, f"{bad}: holds a lone surrogate (text that is not valid "
                                "Unicode; encode it as UTF-8)", param=bad)

    def _unsupported_extra(self) -> dict[str, Any]:
        return {}


class CompletionRequest(SamplingBody):
    """POST /v1/completions: `prompt` is a text, a list of texts, token ids or lists of ids."""

    prompt: str | list[str] | list[int] | list[list[int]]
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=20)
    best_of: int | None = None
    suffix: str | None = None

    def prompts(self) -> list[str | list[int]]:
        """The prompts as a list, each a text or a list of token ids."""
        p = self.prompt
        if isinstance(p, str):
            return [p]
        if p and all(isinstance(t, int) for t in p):
            return [list(p)]  # type: ignore[arg-type]
        return list(p)  # type: ignore[arg-type]

    def _unsupported_extra(self) -> dict[str, Any]:
        return {"suffix": self.suffix,
                "best_of": self.best_of if self.best_of not in (None, self.n) else None}


class TextPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of a conversation; content is a string or a list of text parts."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[TextPart] | None = None

    def as_dict(self, index: int) -> dict[str, str]:
        """{"role", "content"} with text parts joined (developer read as system)."""
        content = self.content
        if isinstance(content, list):
            other = [p.type for p in content if p.type != "text" or p.text is None]
            if other:
                raise APIError(400, f"messages.{index}.content: only text parts are supported, "
                                    f"got {other[0]!r}", param=f"messages.{index}.content")
            content = "".join(p.text or "" for p in content)
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": content or ""}


class ChatRequest(SamplingBody):
    """POST /v1/chat/completions."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=0)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    tools: list[dict] | None = None
    response_format: dict | None = None

    def _unsupported_extra(self) -> dict[str, Any]:
        fmt = self.response_format
        return {"tools": self.tools,
                "response_format": fmt if fmt and fmt.get("type") != "text" else None}
