"""Fact files (flat and CounterFact forms), prompt encoding, and the built-in fact list."""

import json

import pytest

from neurips23.editing.facts import Fact, read_facts, write_facts
from neurips23.editing.known_facts import RELATIONS, candidate_facts, relation_pairs
from neurips23.editing.problems import rewrite_rows
from neurips23.editing.prompts import encode, noise_samples, subject_span
from neurips23.errors import DataError, UserError


def _write(tmp_path, rows):
    p = tmp_path / "facts.jsonl"
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return p


def test_read_flat_and_counterfact_forms(tmp_path):
    p = _write(tmp_path, [
        {"subject": "France", "prompt": "The capital of {} is", "target_true": "Paris",
         "target_new": "Rome", "paraphrase": ["France's capital is"], "neighbours": ["x"]},
        {"requested_rewrite": {"prompt": "{} plays", "subject": "Messi", "relation_id": "P1",
                               "target_true": {"str": "football", "id": "Q1"},
                               "target_new": {"str": "tennis", "id": "Q2"}},
         "paraphrase_prompts": ["Messi is a player of"], "neighborhood_prompts": ["Xavi plays"]}])
    a, b = read_facts(p)
    assert a.text == "The capital of France is" and a.paraphrase == ("France's capital is",)
    assert (b.subject, b.target_true, b.target_new, b.relation) == ("Messi", "football",
                                                                     "tennis", "P1")
    assert b.neighbours == ("Xavi plays",)
    out = write_facts([a, b], tmp_path / "out.jsonl")
    assert read_facts(out) == [a, b]


@pytest.mark.parametrize("row, message", [
    ('{"subject": "A"', "facts.jsonl:2: not valid JSON"),
    ({"subject": "A", "prompt": "{} is"}, "facts.jsonl:2: missing field 'target_true'"),
    ({"subject": "A", "prompt": "is", "target_true": "b"}, "facts.jsonl:2: prompt 'is' must "),
    ({"subject": "A", "prompt": "{} {} is", "target_true": "b"}, "exactly once"),
    ({"subject": "A", "prompt": "{} is", "target_true": "b", "target_new": "b"},
     "facts.jsonl:2: target_new equals target_true"),
    ({"subject": "A", "prompt": "{} is", "target_true": 3}, "facts.jsonl:2: field 'target_true'"),
    ({"subject": "A", "prompt": "{} is", "target_true": "b", "paraphrase": ["no subject"]},
     "does not contain the subject"),
    ({"subject": "A", "prompt": "{} is", "target_true": "b", "neighbours": [1]},
     "facts.jsonl:2: field 'neighbours' should be a list of strings"),
])
def test_bad_fact_lines_name_file_and_line(tmp_path, row, message):
    p = _write(tmp_path, [{"subject": "B", "prompt": "{} is", "target_true": "c"}, row])
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_facts(p)


def test_encode_locates_subject_and_object(word_tok):
    enc = encode(word_tok, ["the home of ba ko mi is", "zu ra speaks"], ["ba ko mi", "zu ra"],
                 ["avalon", "alvish"])
    assert enc.subject == [(3, 6), (0, 2)]
    assert enc.last == [6, 2] and enc.last_subject == [5, 1]
    assert enc.target_pos == [[6], [2]]
    assert enc.input_ids.shape == (2, 7) and int(enc.attention_mask[1].sum()) == 3
    ids, span = subject_span(word_tok, "zu ra . the home of zu ra is", "zu ra")
    assert span == (6, 8)  # the last occurrence (ROME's contexts put the prompt last)
    with pytest.raises(DataError, match="does not occur"):
        encode(word_tok, ["the home of"], ["zu"])


def test_subject_span_on_a_byte_level_bpe():
    """Offsets of a byte-level BPE include the leading space; the span must still be the
    subject's tokens only."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0}
    for w in ["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis", "ĠNew", "ĠZealand", "ĠParis"]:
        vocab[w] = len(vocab)
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>")
    assert subject_span(tok, "The capital of New Zealand is", "New Zealand")[1] == (3, 5)
    assert subject_span(tok, "The capital of France is", "France")[1] == (3, 4)


def test_noise_is_romes_fixed_draw():
    import numpy as np

    a = noise_samples(3, 2, 4, scale=0.5)
    np.testing.assert_allclose(a.numpy(), 0.5 * np.random.RandomState(1).randn(3, 2, 4),
                               rtol=1e-6)
    assert noise_samples(3, 2, 4, 0.5).equal(a)


def test_rewrite_rows(fact):
    from neurips23.editing.problems import PROBLEMS

    texts, samples = rewrite_rows(fact, PROBLEMS["fact_forcing"], ["{}", "x . {}", "y . {}"], 3)
    assert texts[:3] == [fact.text] * 3 and samples == [0, 1, 2, 0, 1]
    texts, samples = rewrite_rows(fact, PROBLEMS["error_injection"], ["{}", "x . {}"], 3)
    assert texts == [fact.text, "x . " + fact.text] and samples == [None, None]
    with pytest.raises(UserError, match="first context"):
        rewrite_rows(fact, PROBLEMS["error_injection"], ["x . {}"], 3)
    with pytest.raises(UserError, match="target_new"):
        PROBLEMS["error_injection"].target(Fact("a", "{} is", "b"))


def test_candidate_fact_list():
    facts = candidate_facts()
    assert len(facts) >= 250
    for f in facts:
        f.check()
        assert f.target_new and f.target_new != f.target_true
        assert all(f.prompt.format(f.subject) != n for n in f.neighbours)
    by_rel = {r: dict(relation_pairs(r)) for r in RELATIONS}
    for f in facts:  # neighbours share the relation and the true object
        for n in f.neighbours:
            subj = next(s for s in by_rel[f.relation] if f.prompt.format(s) == n)
            assert by_rel[f.relation][subj] == f.target_true
