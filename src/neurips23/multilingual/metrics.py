"""Reference-based scores through sacrebleu, each with its signature (the settings that make a
number comparable): chrF (Popović 2015, β = 2, character 6-grams), chrF++ (plus word bigrams)
and BLEU (13a tokenization; `zh` / `ja-mecab` / `char` tokenizers for scripts without spaces).

spBLEU (`tokenize="flores200"`) needs sentencepiece and a SentencePiece model that sacrebleu
downloads on first use into `$SACREBLEU/models` (default ~/.sacrebleu): it is optional, and
offline it fails with one line saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from neurips23.errors import DataError, UserError

SPM_TOKENIZERS = ("flores101", "flores200", "spm")


@dataclass(frozen=True)
class CorpusScore:
    """A corpus-level score with sacrebleu's signature string."""

    metric: str
    score: float
    signature: str

    def as_dict(self) -> dict:
        return {"metric": self.metric, "score": self.score, "signature": self.signature}


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise DataError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        raise DataError("nothing to score: no hypotheses")
    for i, (h, r) in enumerate(zip(hypotheses, references, strict=True)):
        if not isinstance(h, str) or not isinstance(r, str):
            raise DataError(f"item {i}: hypothesis and reference must be strings")


def chrf(hypotheses: Sequence[str], references: Sequence[str], word_order: int = 0) -> CorpusScore:
    """Corpus chrF (word_order=0) or chrF++ (word_order=2) with its signature."""
    from sacrebleu.metrics import CHRF

    _check(hypotheses, references)
    metric = CHRF(word_order=word_order)
    score = metric.corpus_score(list(hypotheses), [list(references)])
    return CorpusScore("chrF++" if word_order else "chrF", float(score.score), str(metric.get_signature()))


def bleu(hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "13a") -> CorpusScore:
    """Corpus BLEU with its signature; `tokenize` is any sacrebleu tokenizer name."""
    from sacrebleu.metrics import BLEU

    _check(hypotheses, references)
    if tokenize in SPM_TOKENIZERS:
        return spbleu(hypotheses, references, tokenize)
    try:
        metric = BLEU(tokenize=tokenize)
    except (ValueError, RuntimeError, ImportError) as e:
        raise UserError(f"BLEU tokenizer {tokenize!r}: {str(e).splitlines()[0]}") from None
    score = metric.corpus_score(list(hypotheses), [list(references)])
    return CorpusScore("BLEU", float(score.score), str(metric.get_signature()))


def spbleu(hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "flores200") -> CorpusScore:
    """spBLEU (BLEU over FLORES SentencePiece pieces): optional, needs a downloaded SPM model."""
    try:
        import sentencepiece  # noqa: F401
    except ImportError:
        raise UserError("spBLEU needs sentencepiece (pip install sentencepiece) and sacrebleu's "
                        "FLORES SentencePiece model, downloaded on first use") from None
    from sacrebleu.metrics import BLEU

    try:
        metric = BLEU(tokenize=tokenize)
        score = metric.corpus_score(list(hypotheses), [list(references)])
    except Exception as e:  # noqa: BLE001 - the download fails in many ways offline
        raise UserError(f"spBLEU ({tokenize}) could not get its SentencePiece model "
                        f"({type(e).__name__}); sacrebleu downloads it on first use into "
                        "$SACREBLEU/models (default ~/.sacrebleu/models): run once online or "
                        "copy the model there") from None
    return CorpusScore("spBLEU", float(score.score), str(metric.get_signature()))


def sentence_chrf(hypothesis: str, reference: str, word_order: int = 0) -> float:
    """Sentence-level chrF (for judges and per-item tables)."""
    from sacrebleu.metrics import CHRF

    return float(CHRF(word_order=word_order).sentence_score(hypothesis, [reference]).score)


def default_bleu_tokenizer(language: str) -> str:
    """sacrebleu's advice: `zh` for Chinese, `char` for Japanese without MeCab, else 13a."""
    from neurips23.multilingual.languages import macro

    return {"zho": "zh", "jpn": "char", "tha": "char", "lao": "char", "khm": "char",
            "mya": "char"}.get(macro(language), "13a")


def score_all(hypotheses: Sequence[str], references: Sequence[str], language: str = "",
              bleu_tokenize: str | None = None) -> dict[str, dict]:
    """chrF, chrF++ and BLEU (tokenizer chosen for `language` unless given) with signatures."""
    tok = bleu_tokenize or default_bleu_tokenizer(language)
    return {s.metric: s.as_dict() for s in (chrf(hypotheses, references),
                                            chrf(hypotheses, references, word_order=2),
                                            bleu(hypotheses, references, tok))}
