"""`neurips23 reproduce aya`'s settings: the config (every claim's rule is a field, fixed
before the run) and its profiles."""

from __future__ import annotations

from dataclasses import dataclass

from neurips23.core.claims import Rule, rule
from neurips23.core.cli_config import param
from neurips23.multilingual.fixtures import FIXTURE_LANGUAGES


@dataclass
class MultilingualConfig:
    """Tokenization cost on parallel text, a judge's position bias, and language fidelity."""

    languages: list[str] = param(list(FIXTURE_LANGUAGES), "Languages of the parallel text to cost.")
    tokenizer: str = param("smollm2-135m", "The real LLM tokenizer to cost (any HF name or path).")
    bpe_vocab: int = param(1000, "Vocabulary of the two BPE tokenizers trained in process.")
    english_share: float = param(0.9, "Share of English sentences in the English-heavy BPE corpus.")
    folds: int = param(4, "Cross-fitting folds: each item is costed by tokenizers trained without it.")
    backend: str = param("hf", "Backend of the model asked and used as judge: hf or openai.")
    model: str = param("smollm2-135m", "Model asked in every language and used as judge.")
    base_url: str = param("", "Endpoint of the openai backend.")
    fidelity_languages: list[str] = param(list(FIXTURE_LANGUAGES), "Languages the model is asked in.")
    n_questions: int = param(24, "Questions asked per language (at most 24).")
    max_tokens: int = param(48, "Tokens generated per answer.")
    judge_languages: list[str] = param(["fra", "spa", "rus", "hin", "swa", "yor"],
                                       "Languages of the judged translation pairs.")
    n_pairs: int = param(24, "Judged pairs per language (at most 60).")
    langid: str = param("lingua", "Language-ID backend for fidelity: lingua, langid or script.")
    batch_size: int = param(16, "Generation batch size.")
    n_boot: int = param(2000, "Bootstrap resamples for intervals.")
    seed: int = param(0, "Seed of the bootstrap (generation is greedy).")
    detector_min_accuracy: float = param(0.9, "Precondition: the language detector's accuracy on "
                                              "the fixture's own text in each asked language.")
    english_min_fidelity: float = param(0.8, "Precondition: the model answers English in English.")
    judge_min_parsed: float = param(0.5, "Precondition: share of judge answers that name A or B.")
    judge_min_reads: float = param(0.5, "Precondition of the position claim: the judge picks the "
                                   "right translation in more than this share of its judgments "
                                   "over both orders (Wilson lower bound); a constant judge "
                                   "scores exactly 0.5.")
    exclude_echoes: bool = param(True, "Fidelity counts an answer in the asked language only "
                                 "when it is not a copy of the question (a copy is in the asked "
                                 "language without answering in it).")
    premium_rule: Rule = rule(
        "above", 1.0, min_n=3, reason="a disparity between tiers, languages as the unit: the "
        "low tier's premium over English is larger than the non-English high tier's (ratio of "
        "geometric means > 1, Welch interval over languages), so a tokenizer that charges every "
        "non-English language alike shows none")
    training_mix_rule: Rule = rule(
        "above", 1.1, min_n=10, reason="the English-heavy BPE charges non-English languages at "
        "least 10% more (geometric mean over languages of its premium / the balanced BPE's premium, "
        "same vocabulary, held-out text); 10% is a material cost, smaller gaps could be noise of "
        "how merges fall")
    position_rule: Rule = rule(
        "above", 0.2, min_n=20, reason="a judge that reads content picks the same response in both "
        "orders; picking the same position in both orders in more than 20% of pairs is position "
        "bias (Zheng et al. 2023 report GPT-4 inconsistent on about a third of MT-Bench pairs)")
    confusion_rule: Rule = rule(
        "below", 0.5, min_n=3, reason="language confusion: asked in a low-resource language, the "
        "English-centric model answers in that language (not by copying the question) less than "
        "half of the time; the mean over low-tier languages, each language one unit")
    fidelity_gap_rule: Rule = rule(
        "above", 0.0, min_n=3, reason="fidelity falls with resources: non-English high-resource "
        "languages are answered in kind (copies excluded) more often than low-resource ones; "
        "Welch interval with languages as the units")

    def validate(self) -> None:
        """ConfigError for settings the arms cannot run with (before any model is loaded)."""
        from neurips23.errors import ConfigError
        from neurips23.multilingual.langid import BACKENDS

        for name in ("languages", "fidelity_languages", "judge_languages"):
            bad = [x for x in getattr(self, name) if x not in FIXTURE_LANGUAGES]
            if bad:
                raise ConfigError(f"{name}: {', '.join(bad)} not in the parallel text "
                                  f"({', '.join(FIXTURE_LANGUAGES)})")
        if "eng" not in self.languages:
            raise ConfigError("languages must include 'eng' (premiums are relative to English)")
        checks = [("n_questions", 1 <= self.n_questions <= 24, "between 1 and 24"),
                  ("n_pairs", 1 <= self.n_pairs <= 60, "between 1 and 60"),
                  ("folds", self.folds >= 2, "at least 2"),
                  ("english_share", 0 < self.english_share < 1, "strictly between 0 and 1"),
                  ("bpe_vocab", self.bpe_vocab > 256, "above 256 (the byte alphabet)"),
                  ("max_tokens", self.max_tokens >= 1, "at least 1"),
                  ("backend", self.backend in ("hf", "openai"), "hf or openai"),
                  ("langid", self.langid in BACKENDS, f"one of {', '.join(BACKENDS)}")]
        for key, ok, want in checks:
            if not ok:
                raise ConfigError(f"{key} = {getattr(self, key)!r}: must be {want}")


PROFILES = {
    # A pipeline check, not a finding (docs/multilingual.md): most claims have too few units and
    # read inconclusive; the tokenizer claims need no model and can read "reproduced".
    "quick": {
        "folds": 2,  # the fewest cross-fitting folds `validate` accepts
        # English for the English-in-English precondition, then one high- and one low-tier
        # language, so the fidelity gap claim has both tiers even here
        "fidelity_languages": ["eng", "fra", "yor"],
        "n_questions": 4,  # questions asked per language: 3 x 4 answers
        "max_tokens": 24,  # tokens generated per answer, half the full run's
        "judge_languages": ["fra", "yor"],  # one high- and one low-tier language
        "n_pairs": 4,  # judged pairs per language: 2 x 4 pairs, each in both orders
        "n_boot": 300,  # bootstrap resamples for the intervals of a pipeline check
    },
    # The defaults: 12 languages x 60 parallel items costed, 24 questions asked in each language,
    # 24 pairs judged in each of 6 languages (docs/multilingual.md, "The reproduction").
    "full": {},
}
