"""The reproduction's tiny LMs read and write words: a newline travels as the word `<nl>`.
`WordLM` wraps any backend of such a model as a full `LanguageModel`, so every planning mode
(completions or chat) runs on it unchanged."""

from __future__ import annotations

from collections.abc import Sequence

from neurips23.lm.backends.base import Score

NL = "<nl>"


def to_words(text: str) -> str:
    """Newlines as a word, since the word-level tokenizer splits on whitespace."""
    return text.replace("\n", f" {NL} ")


def from_words(text: str) -> str:
    """The inverse of `to_words` (up to spaces around newlines)."""
    return text.replace(f" {NL} ", "\n").replace(NL, "\n")


def chat_transcript(conversation: list[dict]) -> str:
    """A conversation as the plain text a model without a chat template continues: the turns'
    contents in order, each starting on a new line."""
    text = ""
    for m in conversation:
        content = str(m.get("content", ""))
        text += content if not text or text.endswith("\n") else "\n" + content
    return text


class WordLM:
    """A `LanguageModel` over a backend of a word-level model (newlines as `<nl>`).

    Chat turns are joined into one transcript (`chat_transcript`) and completed as text: the
    tiny models have no chat template, and a back-prompting conversation then reads as the
    text-completion transcript they were trained on.
    """

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.usage = inner.usage

    def generate(self, prompts: Sequence[str], n: int = 1, temperature: float = 0.0,
                 max_tokens: int = 64, stop: Sequence[str] = (), top_p: float = 1.0,
                 seed: int | None = None) -> list[list[str]]:
        """Complete each prompt; text goes in and comes out with real newlines."""
        outs = self.inner.generate([to_words(p) for p in prompts], n=n, temperature=temperature,
                                   max_tokens=max_tokens, stop=stop, top_p=top_p, seed=seed)
        return [[from_words(o) for o in group] for group in outs]

    def chat(self, conversations: Sequence[list[dict]], n: int = 1, temperature: float = 0.0,
             max_tokens: int = 64, stop: Sequence[str] = (),
             seed: int | None = None) -> list[list[str]]:
        """Answer each conversation by completing its transcript."""
        return self.generate([chat_transcript(c) for c in conversations], n=n,
                             temperature=temperature, max_tokens=max_tokens, stop=stop, seed=seed)

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[Score]:
        """log p(continuation | prompt) with both written as words."""
        return self.inner.score([to_words(p) for p in prompts],
                                [to_words(c) for c in continuations])
