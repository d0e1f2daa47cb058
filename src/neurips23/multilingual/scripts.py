"""Writing systems: the dominant script of a text (ISO 15924), from Unicode's Script property.

Only characters that belong to a script count: digits, punctuation, spaces and combining marks
(Unicode scripts Common and Inherited) are ignored. Japanese text mixes Han with kana; any kana
in a Han-dominant text makes it `Jpan`, so a Japanese sentence full of kanji is still Japanese.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

SCRIPTS: dict[str, str] = {
    # ISO 15924 code -> Unicode script name (as the `regex` module spells it)
    "Latn": "Latin", "Cyrl": "Cyrillic", "Arab": "Arabic", "Deva": "Devanagari", "Hani": "Han",
    "Hira": "Hiragana", "Kana": "Katakana", "Hang": "Hangul", "Grek": "Greek", "Hebr": "Hebrew",
    "Thai": "Thai", "Ethi": "Ethiopic", "Beng": "Bengali", "Taml": "Tamil", "Telu": "Telugu",
    "Gujr": "Gujarati", "Guru": "Gurmukhi", "Knda": "Kannada", "Mlym": "Malayalam",
    "Geor": "Georgian", "Armn": "Armenian", "Mymr": "Myanmar", "Khmr": "Khmer", "Laoo": "Lao",
    "Sinh": "Sinhala", "Orya": "Oriya", "Tibt": "Tibetan", "Tfng": "Tifinagh", "Cher": "Cherokee",
    "Thaa": "Thaana", "Syrc": "Syriac", "Mong": "Mongolian", "Vaii": "Vai", "Olck": "Ol_Chiki",
    "Nkoo": "Nko", "Cans": "Canadian_Aboriginal",
}

CJK_SCRIPTS = frozenset({"Hani", "Hira", "Kana", "Hang", "Jpan"})
"""Scripts in which one character carries about a syllable or a word, not a letter."""


@lru_cache(maxsize=1)
def _pattern():
    import regex

    return regex.compile("|".join(f"(?P<{code}>\\p{{Script={name}}})" for code, name in SCRIPTS.items()))


def script_counts(text: str) -> Counter:
    """Characters per ISO 15924 script in `text` (kana and Han counted separately)."""
    return Counter(m.lastgroup for m in _pattern().finditer(text))


def other_letters(text: str) -> int:
    """Letters of `text` in scripts outside SCRIPTS (so that rare scripts are not invisible)."""
    import unicodedata

    pat = _pattern()
    return sum(1 for ch in text if unicodedata.category(ch).startswith("L") and not pat.match(ch))


def dominant_script(text: str) -> str:
    """The ISO 15924 code of the script most characters of `text` are written in.

    `Jpan` for Han mixed with kana (Japanese); `Zyyy` (Common) when the text has no letters of any
    script we know (empty, digits, punctuation, or a script outside SCRIPTS).
    """
    counts = script_counts(text)
    if not counts:
        return "Zyyy"
    kana = counts.pop("Hira", 0) + counts.pop("Kana", 0)
    if kana:
        counts["Jpan"] = kana + counts.pop("Hani", 0)
    if other_letters(text) > max(counts.values(), default=0):
        return "Zzzz"
    return max(sorted(counts), key=lambda s: counts[s])


def letter_weight(text: str) -> int:
    """Letters in `text`, with each CJK character counted as 3 (about a word's worth of letters)."""
    counts = script_counts(text)
    return sum(3 * n if s in CJK_SCRIPTS else n for s, n in counts.items()) + other_letters(text)
