"""MinHash/LSH dedup: exact arithmetic, estimates against exact Jaccard, brute-force agreement,
recall and precision on planted duplicates."""

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.multilingual.dedup import (
    MERSENNE_61,
    MinHasher,
    estimate_jaccard,
    jaccard,
    lsh_bands,
    lsh_recall,
    mulmod61,
    near_duplicate_groups,
    near_duplicates_brute_force,
    shingles,
)
from neurips23.multilingual.fixtures import parallel_questions, parallel_sentences


@given(st.lists(st.tuples(st.integers(1, MERSENNE_61 - 1), st.integers(0, 2**32 - 1)), min_size=1, max_size=50))
def test_mulmod61_is_exact(pairs):
    a = np.array([p[0] for p in pairs], dtype=np.uint64)
    x = np.array([p[1] for p in pairs], dtype=np.uint64)
    assert [int(v) for v in mulmod61(a, x)] == [(int(p) * int(q)) % MERSENNE_61 for p, q in pairs]


def test_minhash_estimates_jaccard_within_its_standard_error():
    rng = random.Random(0)
    universe = list(range(2000))
    for _ in range(20):
        a = frozenset(rng.sample(universe, 300))
        b = frozenset(rng.sample(sorted(a), rng.randint(0, 300)) + rng.sample(universe, rng.randint(0, 300)))
        j = jaccard(a, b)
        h = MinHasher(512, seed=rng.randrange(1000))
        est = estimate_jaccard(h.signature(a), h.signature(b))
        assert abs(est - j) <= 4 * max(0.02, (j * (1 - j) / 512) ** 0.5), (est, j)


def test_lsh_band_choice_meets_its_recall():
    for t in (0.5, 0.7, 0.8, 0.9):
        b, r = lsh_bands(128, t)
        assert b * r <= 128 and lsh_recall(t, b, r) >= 0.999


def _corpus():
    s, q = parallel_sentences(), parallel_questions()
    return [t for lang in s for t in s[lang] + q[lang]]  # 720 distinct texts, 12 languages


def _near_copy(text: str, rng: random.Random) -> str:
    """One small edit of a long text: a character changed, inserted or dropped near the end."""
    i = rng.randrange(len(text) // 2, len(text))
    op = rng.choice(["sub", "ins", "del"])
    if op == "sub":
        return text[:i] + "x" + text[i + 1:]
    return text[:i] + "!" + text[i:] if op == "ins" else text[:i] + text[i + 1:]


def test_planted_duplicates_recall_and_precision():
    rng = random.Random(1)
    base = [t for t in _corpus() if len(t) >= 50]
    texts, planted_exact, planted_near = list(base), set(), set()
    for i in rng.sample(range(len(base)), 60):
        planted_exact.add(len(texts))
        texts.append(base[i].upper() + "   ")  # equal after case folding and whitespace
    for i in rng.sample(range(len(base)), 60):
        copy = _near_copy(base[i], rng)
        if jaccard(shingles(copy), shingles(base[i])) >= 0.8:
            planted_near.add(len(texts))
            texts.append(copy)
    dup_of = near_duplicate_groups(texts, threshold=0.8)
    removed = {i for i, j in enumerate(dup_of) if j is not None}
    assert planted_exact <= removed  # every exact duplicate
    recall = len(removed & planted_near) / len(planted_near)
    assert recall >= 0.95 and len(planted_near) >= 50
    assert removed <= planted_exact | planted_near  # no false removals
    assert all(dup_of[i] < i for i in removed)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 29), min_size=2, max_size=40), st.sampled_from([0.5, 0.7, 0.9]))
def test_lsh_dedup_equals_brute_force_greedy(picks, threshold):
    pool = [t for t in _corpus()[:30]]
    rng = random.Random(sum(picks))
    texts = [pool[p] if rng.random() < 0.5 else _near_copy(pool[p], rng) for p in picks]
    assert near_duplicate_groups(texts, threshold) == near_duplicates_brute_force(texts, threshold)


def test_dedup_works_without_spaces_and_keeps_distinct_texts():
    zh = parallel_sentences()["zho"]
    texts = zh + [zh[0] + "。", zh[3]]
    dup = near_duplicate_groups(texts, 0.8)
    assert dup[:len(zh)] == [None] * len(zh)
    assert dup[len(zh)] == 0 and dup[len(zh) + 1] == 3
