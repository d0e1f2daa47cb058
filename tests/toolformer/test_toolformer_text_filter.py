"""App. A.1's calculator heuristics: which texts the calculator's sampler sees.

The paper only processes texts that (i) hold three numbers within 100 tokens, one the result of
+ − × ÷ on the other two, (ii) hold "=", "equals", "equal to", "total of" or "average of"
followed by a number, or (iii) hold three numbers, of which only a random 1% are kept. Checked
on the paper's own App. A.2 calculator examples (each worked by hand), against a brute force over
all triples written separately, and on the reproduction's synthetic corpus.
"""

import itertools
import operator
import re
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.errors import ConfigError
from neurips23.toolformer import synthetic as S
from neurips23.toolformer.prompts import CALCULATOR_PROMPT
from neurips23.toolformer.tools import (
    CALCULATOR_CUES,
    TextNumber,
    calculator_text_filter,
    calculator_tool,
    one_is_result_of_two,
    text_numbers,
)


def _prompt_inputs() -> list[str]:
    """The five example inputs of the paper's calculator prompt (App. A.2), read from the prompt."""
    return [line[len("Input: "):] for line in CALCULATOR_PROMPT.splitlines()
            if line.startswith("Input: ") and "{input}" not in line]


# Each worked by hand: (cue (ii) present, criterion (i) holds, the triple that makes it hold).
BY_HAND = [
    (True, True, "'= 54'; and 18 × 3 = 54 by chance (the text means 18 + 12 × 3)"),
    (True, True, "'average of 5,763,868'; 658,893 / 5,763,868 = 0.1143 → 11.4%"),
    (True, True, "'total of 252'; 723 / 252 = 2.869 → 2.87"),
    (False, True, "2011 − 1994 = 17; no cue"),
    (True, True, "'= 120'; 4 × 30 = 120"),
]


def test_the_papers_calculator_examples_pass_by_the_criteria_worked_by_hand():
    inputs = _prompt_inputs()
    assert len(inputs) == len(BY_HAND) == 5
    for text, (cue, result, why) in zip(inputs, BY_HAND, strict=True):
        assert bool(CALCULATOR_CUES.search(text)) is cue, why
        assert one_is_result_of_two(text_numbers(text)) is result, why
        assert calculator_text_filter(text, other_rate=0.0), why


def test_a_percentage_is_read_as_a_fraction_written_to_its_decimals():
    # App. A.2's "Out of 1400 participants, 400 (or 29%) passed the test": 400 / 1400 = 0.2857
    [a, b, c] = text_numbers("Out of 1400 participants, 400 (or 29%) passed the test.")
    assert (a.value, b.value, c.value, c.decimals) == (1400, 400, Fraction(29, 100), 2)
    assert calculator_text_filter("Out of 1400 participants, 400 (or 29%) passed the test.",
                                  other_rate=0.0)
    assert text_numbers("1,250.5 and 3")[0] == TextNumber(0, Fraction("1250.5"), 1)


@pytest.mark.parametrize("text,cue", [
    ("so x = 54 here", True), ("so x =54 here", True), ("it equals 12", True),
    ("is equal to $3.50", True), ("a total of 252 matches", True), ("The Average of 7", True),
    ("it equals twelve", False), ("a total of many", False), ("unequal to 5", False),
    ("totals of 5", False),
])
def test_the_cues_need_a_number_right_after(text, cue):
    assert bool(CALCULATOR_CUES.search(text)) is cue
    assert calculator_text_filter(text, other_rate=0.0) is cue  # fewer than 3 numbers otherwise


def test_fewer_than_three_numbers_and_no_cue_never_pass():
    assert not calculator_text_filter("Tom has 405 pens and 17 cups.", other_rate=1.0)
    assert not calculator_text_filter("No numbers here at all.", other_rate=1.0)


def test_the_window_is_100_words():
    def text(gap: int) -> str:  # 40 + 2 = 42, with the result `gap` words after the first
        return " ".join(["40", "2"] + ["w"] * (gap - 2) + ["42"])
    assert one_is_result_of_two(text_numbers(text(99)))
    assert not one_is_result_of_two(text_numbers(text(100)))


def _rounds_to(r: Fraction, n: TextNumber) -> bool:
    """`r` written to n's decimals, rounding half up or half down, is n (Decimal, not Fractions)."""
    with localcontext() as ctx:
        ctx.prec = 60
        d = Decimal(r.numerator) / Decimal(r.denominator)
        q = Decimal(1).scaleb(-n.decimals)
        written = Decimal(n.value.numerator) / Decimal(n.value.denominator)
        return written in (d.quantize(q, ROUND_HALF_UP), d.quantize(q, ROUND_HALF_DOWN))


def brute_force(numbers: list[TextNumber], window: int = 100) -> bool:
    ops = (operator.add, operator.sub, operator.mul, operator.truediv)
    for triple in itertools.combinations(numbers, 3):
        if max(n.word for n in triple) - min(n.word for n in triple) >= window:
            continue
        for x, y, z in itertools.permutations(triple):
            for op in ops:
                if op is operator.truediv and y.value == 0:
                    continue
                if _rounds_to(op(x.value, y.value), z):
                    return True
    return False


number = st.builds(lambda v, d: (Fraction(v, 10 ** d), d), st.integers(0, 400), st.integers(0, 2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 250), number), min_size=0, max_size=7))
def test_result_of_two_agrees_with_brute_force_over_all_triples(placed):
    numbers = sorted((TextNumber(w, v, d) for w, (v, d) in placed), key=lambda n: n.word)
    assert one_is_result_of_two(numbers) == brute_force(numbers)


def _unrelated_texts(n: int) -> list[str]:
    """Texts with three numbers, none the result of the other two, and no cue."""
    out, a = [], 1000
    while len(out) < n:
        a += 1
        text = f"Room {a} holds {a * 7 + 3} chairs and {a * 13 + 5} books."
        if not one_is_result_of_two(text_numbers(text)):
            out.append(text)
    return out


def test_number_only_texts_keep_a_random_one_percent_the_same_for_the_same_seed():
    texts = _unrelated_texts(10_000)
    kept = [t for t in texts if calculator_text_filter(t, other_rate=0.01, seed=0)]
    # 10,000 draws at p = 0.01: 100 ± 4.5 sd (sd ≈ 9.95) holds with probability > 0.99999
    assert 55 <= len(kept) <= 145
    assert kept == [t for t in texts if calculator_text_filter(t, other_rate=0.01, seed=0)]
    other = {t for t in texts if calculator_text_filter(t, other_rate=0.01, seed=1)}
    assert len(other & set(kept)) < 10  # another seed draws another subset
    assert all(calculator_text_filter(t, other_rate=1.0) for t in texts[:50])
    assert not any(calculator_text_filter(t, other_rate=0.0) for t in texts)


def test_the_rate_must_be_a_share():
    with pytest.raises(ConfigError, match="calculator_other_rate must be between 0 and 1"):
        calculator_tool(other_rate=1.5)


def test_the_reproductions_corpus_reaches_the_sampler_as_under_three_numbers_alone():
    # Every synthetic arithmetic text states a, b and a ± b, so criterion (i) keeps it; weekday
    # and filler texts have no number. The full run's eligible texts are therefore unchanged.
    docs = S.corpus(400, 50_000)
    old = [len(re.findall(r"\d+(?:\.\d+)?", d.text)) >= 3 for d in docs]
    assert [calculator_text_filter(d.text) for d in docs] == old
    assert all(one_is_result_of_two(text_numbers(d.text))
               for d, o in zip(docs, old, strict=True) if o)
    assert sum(old) > 100
