"""Language identification with pluggable backends, answering an ISO 639-3 code or `"und"`.

    from neurips23.multilingual.langid import detect
    detect("Mo fẹ́ lọ sí ọjà lónìí.")                 # 'yor' (lingua, the default)
    detect("Habari za asubuhi? Leo tutaenda sokoni pamoja na watoto.", backend="langid")   # 'swa'
    detect("12345")                                   # 'und'

Backends: `lingua` (lingua-language-detector, 75 languages; by default built for DEFAULT_LANGUAGES
only, since loading all 75 takes ~17 s and ~1 GB), `langid` (langid.py, 97 languages, its numpy
pinned to one thread: it runs ~10x faster than with two threads on a busy machine) and `script`
(the writing system alone, for scripts one language owns: Telugu, Thai, Hangul, kana, ...).

Every backend answers `und` rather than guess when
- the text is empty, digits or punctuation only, or shorter than `min_letters` letters (each CJK
  character counts 3) — langid by itself answers "en" for "" and "12345";
- the backend's confidence is under `min_confidence`;
- the detected language is not written in the text's dominant script (a Ge'ez-script sentence
  that lingua, which has no Amharic, calls Arabic), or the script is one no candidate uses.
A candidate list the backend cannot recognise raises ConfigError (e.g. langid with `yor`).

A closed-set detector cannot know what it was never taught: langid labels Hausa as Swahili and
Yoruba as Vietnamese with probability ≈ 1.0, which no threshold catches (measured; see
docs/multilingual.md). Prefer lingua, or restrict the candidates to languages you expect.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from neurips23.errors import ConfigError
from neurips23.multilingual.languages import (
    BY_ISO1,
    LANGUAGES,
    UND,
    check_code,
    from_iso1,
    macro,
    scripts_of,
)
from neurips23.multilingual.scripts import dominant_script, letter_weight

DEFAULT_LANGUAGES: tuple[str, ...] = (
    "eng", "fra", "deu", "spa", "por", "ita", "nld", "rus", "ukr", "zho", "jpn", "kor", "ara",
    "fas", "urd", "hin", "ben", "mar", "tel", "tam", "swa", "yor", "zul", "som", "tur", "ind",
    "vie", "tgl",
)
"""lingua's default candidates: the project's fixture languages and their usual confusions."""

SCRIPT_LANGUAGES: dict[str, str] = {
    "Telu": "tel", "Taml": "tam", "Knda": "kan", "Mlym": "mal", "Gujr": "guj", "Guru": "pan",
    "Orya": "ori", "Sinh": "sin", "Thai": "tha", "Laoo": "lao", "Khmr": "khm", "Mymr": "mya",
    "Geor": "kat", "Armn": "hye", "Grek": "ell", "Hang": "kor", "Jpan": "jpn", "Hani": "zho",
    "Beng": "ben",
}
"""Scripts one major language owns, for the script backend (Latin, Cyrillic, Arabic, Devanagari,
Ethiopic and Hebrew serve several languages: the script backend answers `und` for them)."""

DEFAULT_MIN_CONFIDENCE = {"lingua": 0.5, "langid": 0.9, "script": 0.0}
"""Per backend: lingua's relative confidences spread over its candidates (a clear English
sentence among 28 candidates can read 0.65), langid's naive-Bayes probabilities sit near 1."""

DEFAULT_MIN_LETTERS = 10


@dataclass(frozen=True)
class Detection:
    """One answer: the ISO 639-3 code (or `und`), the backend's confidence, and why `und`."""

    language: str
    confidence: float
    reason: str = ""


class Backend(Protocol):
    """What a language-ID backend provides: a name, its languages, raw guesses."""

    name: str

    def supported(self) -> frozenset[str]: ...

    def guess(self, texts: Sequence[str]) -> list[tuple[str, float]]: ...


# ---------------------------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------------------------

class LinguaBackend:
    """lingua-language-detector in high-accuracy mode, built for the candidate languages only."""

    name = "lingua"

    def __init__(self, languages: Sequence[str] | None = None):
        from lingua import Language, LanguageDetectorBuilder

        self._by_code = {lang.iso_code_639_3.name.lower(): lang for lang in Language.all()}
        codes = list(languages or DEFAULT_LANGUAGES)
        _check_supported(self.name, codes, self._by_code)
        self.languages = sorted({_resolve(c, self._by_code) for c in codes})
        chosen = [self._by_code[c] for c in self.languages]
        builder = (LanguageDetectorBuilder.from_languages(*chosen) if len(chosen) > 1
                   else LanguageDetectorBuilder.from_languages(*chosen, self._by_code["eng"]))
        self._detector = builder.build()

    def supported(self) -> frozenset[str]:
        return frozenset(self._by_code)

    def guess(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        out = []
        for text in texts:
            values = self._detector.compute_language_confidence_values(text)
            if not values or values[0].value <= 0:
                out.append((UND, 0.0))
            else:
                out.append((values[0].language.iso_code_639_3.name.lower(), float(values[0].value)))
        return out


class LangidBackend:
    """langid.py with normalised probabilities; numpy's BLAS pinned to one thread while it runs."""

    name = "langid"
    _lock = threading.Lock()

    def __init__(self, languages: Sequence[str] | None = None):
        import copy

        self._ident = copy.deepcopy(langid_identifier())  # set_languages below mutates it
        known = {from_iso1(c): c for c in self._ident.nb_classes}
        self._known = frozenset(known)
        if languages:
            _check_supported(self.name, languages, known)
            self._ident.set_languages(sorted({known[_resolve(c, known)] for c in languages}))

    def supported(self) -> frozenset[str]:
        return self._known

    def guess(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        from threadpoolctl import threadpool_limits

        with self._lock, threadpool_limits(limits=1):
            results = [self._ident.classify(t) for t in texts]
        return [(from_iso1(code), float(p)) for code, p in results]


@lru_cache(maxsize=1)
def langid_identifier():
    """langid's model, decoded once per process (decoding costs seconds of CPU)."""
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


class ScriptBackend:
    """The language a script belongs to, where one language owns it; `und` otherwise."""

    name = "script"

    def __init__(self, languages: Sequence[str] | None = None):
        self._allowed = {macro(c) for c in languages} if languages else None
        if languages:
            _check_supported(self.name, languages, set(SCRIPT_LANGUAGES.values()))

    def supported(self) -> frozenset[str]:
        return frozenset(SCRIPT_LANGUAGES.values())

    def guess(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        out = []
        for text in texts:
            code = SCRIPT_LANGUAGES.get(dominant_script(text), UND)
            if self._allowed is not None and code not in self._allowed:
                code = UND
            out.append((code, 1.0 if code != UND else 0.0))
        return out


def _resolve(code: str, known) -> str | None:
    """`code` as the backend knows it: itself, else its macrolanguage; None if neither."""
    return code if code in known else macro(code) if macro(code) in known else None


def _check_supported(backend: str, codes: Iterable[str], known) -> None:
    for c in codes:
        check_code(c, f"{backend} candidate language", ConfigError)
    missing = sorted({c for c in codes if _resolve(c, known) is None})
    if missing:
        raise ConfigError(f"the {backend} backend cannot recognise {', '.join(missing)}; "
                          f"use another backend or drop {'it' if len(missing) == 1 else 'them'}")


BACKENDS: dict[str, Callable[[Sequence[str] | None], Backend]] = {
    "lingua": LinguaBackend, "langid": LangidBackend, "script": ScriptBackend,
}


def register_backend(name: str, factory: Callable[[Sequence[str] | None], Backend],
                     min_confidence: float = 0.5) -> None:
    """Add a backend: `factory(languages)` returns an object with `name`, `supported`, `guess`."""
    BACKENDS[name] = factory
    DEFAULT_MIN_CONFIDENCE[name] = min_confidence


@lru_cache(maxsize=16)
def _backend(name: str, languages: tuple[str, ...] | None) -> Backend:
    if name not in BACKENDS:
        raise ConfigError(f"unknown language-ID backend {name!r}; choose from {', '.join(BACKENDS)}")
    return BACKENDS[name](list(languages) if languages else None)


def get_backend(name: str = "lingua", languages: Sequence[str] | None = None) -> Backend:
    """A (cached) backend instance for `name` and candidate `languages`."""
    return _backend(name, tuple(sorted(set(languages))) if languages else None)


# ---------------------------------------------------------------------------------------------
# The guarded detector
# ---------------------------------------------------------------------------------------------

def detect_many(texts: Sequence[str], backend: str = "lingua", languages: Sequence[str] | None = None,
                min_confidence: float | None = None,
                min_letters: int = DEFAULT_MIN_LETTERS) -> list[Detection]:
    """A Detection per text: the backend's guess after the `und` guards of the module docstring."""
    impl = get_backend(backend, languages)
    threshold = DEFAULT_MIN_CONFIDENCE.get(backend, 0.5) if min_confidence is None else min_confidence
    texts = [unicodedata.normalize("NFC", t or "").strip() for t in texts]
    out: list[Detection | None] = [None] * len(texts)
    todo = []
    for i, text in enumerate(texts):
        script = dominant_script(text)
        if script == "Zyyy":
            out[i] = Detection(UND, 0.0, "no letters")
        elif letter_weight(text) < min_letters:
            out[i] = Detection(UND, 0.0, f"shorter than {min_letters} letters")
        else:
            todo.append(i)
    for i, (code, conf) in zip(todo, impl.guess([texts[i] for i in todo]), strict=True):
        out[i] = _guard(texts[i], code, conf, threshold, languages)
    return out  # type: ignore[return-value]


def _guard(text: str, code: str, conf: float, threshold: float,
           languages: Sequence[str] | None) -> Detection:
    if code == UND:
        return Detection(UND, conf, "backend undecided")
    if conf < threshold:
        return Detection(UND, conf, f"confidence {conf:.2f} < {threshold}")
    if languages and macro(code) not in {macro(c) for c in languages}:
        return Detection(UND, conf, f"{code} is not a candidate")
    script = dominant_script(text)
    expected = scripts_of(code)
    if expected and script not in expected:
        return Detection(UND, conf, f"{code} is not written in {script}")
    return Detection(macro(code), conf)


def detect(text: str, backend: str = "lingua", languages: Sequence[str] | None = None,
           min_confidence: float | None = None, min_letters: int = DEFAULT_MIN_LETTERS) -> str:
    """The ISO 639-3 code of `text`'s language, or `"und"` when unsure or unsupported."""
    return detect_many([text], backend, languages, min_confidence, min_letters)[0].language


def backend_languages(backend: str) -> frozenset[str]:
    """Every ISO 639-3 code a backend can recognise (built without loading lingua's models)."""
    if backend == "lingua":
        from lingua import Language

        return frozenset(lang.iso_code_639_3.name.lower() for lang in Language.all())
    if backend == "langid":
        return frozenset(c for c in BY_ISO1.values() if LANGUAGES[c].iso1 in _LANGID_ISO1)
    return get_backend(backend).supported()


_LANGID_ISO1 = frozenset(
    "af am an ar as az be bg bn br bs ca cs cy da de dz el en eo es et eu fa fi fo fr ga gl gu he "
    "hi hr ht hu hy id is it ja jv ka kk km kn ko ku ky la lb lo lt lv mg mk ml mn mr ms mt nb ne "
    "nl nn no oc or pa pl ps pt qu ro ru rw se si sk sl sq sr sv sw ta te th tl tr ug uk ur vi vo "
    "wa xh zh zu".split())
"""langid 1.1.6's 97 labels (tested equal to `LanguageIdentifier.nb_classes`)."""
