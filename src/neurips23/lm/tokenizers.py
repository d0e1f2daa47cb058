"""Tokenizers for synthetic task text, built in-process and wrapped as PreTrainedTokenizerFast."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")
"""Ids 0..3 in every tokenizer we build: <pad> is 0."""


def _wrap(tok) -> PreTrainedTokenizerFast:
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>",
                                   eos_token="<eos>", unk_token="<unk>")
    fast.model_max_length = 1_000_000
    return fast


def build_word_tokenizer(texts: Iterable[str], extra_tokens: Sequence[str] = ()) -> PreTrainedTokenizerFast:
    """A word-level tokenizer: every whitespace-separated token of `texts` is one word."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab: dict[str, int] = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for word in list(extra_tokens) + [w for text in texts for w in text.split()]:
        if word not in vocab:
            vocab[word] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return _wrap(tok)


def build_char_tokenizer(alphabet: Iterable[str]) -> PreTrainedTokenizerFast:
    """A character-level tokenizer over `alphabet` (unknown characters map to <unk>)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    vocab: dict[str, int] = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for ch in sorted(set("".join(alphabet))):
        if ch not in vocab:
            vocab[ch] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return _wrap(tok)
