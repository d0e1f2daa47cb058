"""What a language pays per sentence: bytes, tokens, fertility and the premium over English.

On parallel text (the same content in every language) the *tokenization premium* of language L
is tokens(L) / tokens(English) summed over the sentences (Petrov et al., NeurIPS 2023: up to
15x on FLORES-200 for real tokenizers; Ahia et al., EMNLP 2023: speakers are charged more per
unit of content). *Fertility* is tokens per whitespace-separated word (Rust et al. 2021),
undefined for languages written without spaces (zho, jpn, tha, ...).

Tokenizers are named by a spec: `bytes` (UTF-8 bytes: a byte-level tokenizer with no merges),
`chars`, `smollm2-135m` (the built-in model's tokenizer), `tiktoken:<encoding>` (optional:
downloads its vocabulary on first use), or any Hugging Face tokenizer name or local path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from neurips23.errors import UserError
from neurips23.multilingual.scripts import CJK_SCRIPTS, dominant_script

NO_SPACE_SCRIPTS = CJK_SCRIPTS | {"Thai", "Laoo", "Khmr", "Mymr"}


@dataclass
class TokenCounter:
    """A named function from texts to token counts (no special tokens added)."""

    name: str
    count: Callable[[Sequence[str]], list[int]]


def utf8_bytes(texts: Sequence[str]) -> list[int]:
    """UTF-8 byte length of each text."""
    return [len(t.encode("utf-8")) for t in texts]


def hf_counter(tokenizer, name: str) -> TokenCounter:
    """A TokenCounter over a transformers (or `tokenizers`) tokenizer, without special tokens."""
    if hasattr(tokenizer, "encode_batch"):  # a raw tokenizers.Tokenizer
        def count(texts):
            return [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]
    else:
        def count(texts):
            return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
    return TokenCounter(name, count)


def load_counter(spec: str) -> TokenCounter:
    """A TokenCounter from a spec (see the module docstring); UserError if it cannot be loaded."""
    if spec == "bytes":
        return TokenCounter("bytes", utf8_bytes)
    if spec == "chars":
        return TokenCounter("chars", lambda texts: [len(t) for t in texts])
    if spec.startswith("tiktoken:"):
        return _tiktoken_counter(spec)
    from neurips23.lm.builtin import builtin_model_dir, is_builtin

    path = str(builtin_model_dir(spec)) if is_builtin(spec) else spec
    try:
        from transformers import AutoTokenizer

        from neurips23.utils import quiet_third_party

        quiet_third_party()
        tok = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot load tokenizer {spec!r}: {str(e).splitlines()[0]}") from None
    return hf_counter(tok, spec)


def _tiktoken_counter(spec: str) -> TokenCounter:
    name = spec.split(":", 1)[1]
    try:
        import tiktoken
    except ImportError:
        raise UserError(f"{spec}: tiktoken is not installed (pip install tiktoken)") from None
    try:
        enc = tiktoken.get_encoding(name)
    except ValueError as e:
        raise UserError(f"{spec}: {e}") from None
    except Exception as e:  # noqa: BLE001 - tiktoken downloads its vocabulary on first use
        raise UserError(f"{spec}: tiktoken could not fetch the {name!r} vocabulary ({type(e).__name__}); "
                        "it downloads on first use, so run once with network access or set "
                        "TIKTOKEN_CACHE_DIR to a folder holding it") from None
    return TokenCounter(spec, lambda texts: [len(enc.encode(t, disallowed_special=())) for t in texts])


def train_bpe(corpus: Iterable[str], vocab_size: int, name: str = "bpe") -> TokenCounter:
    """A byte-level BPE tokenizer trained in process on `corpus` (deterministic for a corpus)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[])
    tok.train_from_iterator(list(corpus), trainer=trainer)
    counter = hf_counter(tok, name)
    counter.vocab_size = tok.get_vocab_size()  # type: ignore[attr-defined]
    return counter


def words(text: str) -> int | None:
    """Whitespace-separated words, or None for text in a script written without spaces."""
    return None if dominant_script(text) in NO_SPACE_SCRIPTS else len(text.split())


def parallel_cost(parallel: Mapping[str, Sequence[str]], counter: TokenCounter,
                  pivot: str = "eng") -> dict[str, dict]:
    """Per language: sentences, chars, bytes, words, tokens, fertility, token and byte premium
    over `pivot`, and the per-sentence token counts (for intervals)."""
    from neurips23.errors import DataError

    if pivot not in parallel:
        raise DataError(f"the parallel text has no {pivot!r} side to compare against")
    n = {len(v) for v in parallel.values()}
    if len(n) != 1:
        raise DataError(f"parallel text: languages have different sentence counts {sorted(n)}")
    per = {lang: counter.count(list(texts)) for lang, texts in parallel.items()}
    base_tokens = sum(per[pivot])
    base_bytes = sum(utf8_bytes(parallel[pivot]))
    out = {}
    for lang, texts in parallel.items():
        toks = sum(per[lang])
        nbytes = sum(utf8_bytes(texts))
        w = [words(t) for t in texts]
        nwords = None if any(x is None for x in w) else sum(w)  # type: ignore[misc]
        out[lang] = {
            "sentences": len(texts), "chars": sum(len(t) for t in texts), "bytes": nbytes,
            "words": nwords, "tokens": toks,
            "fertility": toks / nwords if nwords else None,
            "premium": toks / base_tokens if base_tokens else math.nan,
            "byte_premium": nbytes / base_bytes if base_bytes else math.nan,
            "per_sentence": per[lang],
        }
    return out


def premium_interval(lang_counts: Sequence[int], pivot_counts: Sequence[int], n_boot: int = 2000,
                     seed: int = 0, confidence: float = 0.95) -> tuple[float, float, float]:
    """The premium sum(lang)/sum(pivot) and a bootstrap interval resampling sentences (paired)."""
    from neurips23.core.stats import bootstrap_ci

    pairs = list(zip(lang_counts, pivot_counts, strict=True))
    return bootstrap_ci(pairs, lambda ps: sum(a for a, _ in ps) / max(1, sum(b for _, b in ps)),
                        n_boot=n_boot, seed=seed, confidence=confidence)


def language_stats(records: Iterable, counters: Sequence[TokenCounter] = ()) -> dict[str, dict]:
    """Per language of a record stream: records, chars, UTF-8 bytes, words and tokens per counter
    (inputs and targets together)."""
    from neurips23.multilingual.languages import macro

    texts: dict[str, list[str]] = {}
    for r in records:
        texts.setdefault(macro(r.language_code), []).append(r.inputs + "\n" + r.targets)
    out = {}
    for lang in sorted(texts):
        ts = texts[lang]
        w = [words(t) for t in ts]
        row = {"records": len(ts), "chars": sum(len(t) for t in ts), "bytes": sum(utf8_bytes(ts)),
               "words": None if any(x is None for x in w) else sum(w)}  # type: ignore[misc]
        for c in counters:
            row[f"tokens[{c.name}]"] = sum(c.count(ts))
        out[lang] = row
    return out


def plot_premiums(tables: Mapping[str, Mapping[str, dict]], title: str = ""):
    """A grouped bar plot of the token premium per language, one bar per tokenizer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(tables)
    langs = list(next(iter(tables.values())))
    x = np.arange(len(langs))
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(langs) * max(1, len(names)) / 1.5), 3.6))
    for i, name in enumerate(names):
        ax.bar(x + i * width - 0.4 + width / 2, [tables[name][lang]["premium"] for lang in langs],
               width, label=name)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_xticks(x, langs)
    ax.set(ylabel="tokens / English tokens", title=title or "Token premium on parallel text")
    ax.legend(fontsize=8)
    return fig
