"""Request bodies of the OpenAI API as this server reads them.

Fields that change what the model would write but that this server does not implement
(penalties, logit bias, tools, response formats, suffix, streaming) are refused with a 400
naming them, not silently ignored; purely informational fields (`user`, `metadata`, ...) are
ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from neurips23.serve.errors import APIError


class SamplingBody(BaseModel):
    """Fields shared by /v1/completions and /v1/chat/completions."""

    model_config = ConfigDict(extra="ignore")

    model: str
    n: int = Field(1, ge=1, le=128)
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=0)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[str, float] | None = None

    def stop_list(self) -> list[str]:
        """`stop` as a list of strings."""
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    def refuse_unsupported(self) -> None:
        """400 for a field whose effect this server does not implement."""
        unsupported = {"stream": self.stream, "presence_penalty": self.presence_penalty,
                       "frequency_penalty": self.frequency_penalty, "logit_bias": self.logit_bias,
                       **self._unsupported_extra()}
        for name, value in unsupported.items():
            if value:
                raise APIError(400, f"{name}={value!r:.40} is not supported by this server",
                               param=name)

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
