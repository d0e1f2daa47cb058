"""sacrebleu scores: golden values, equality with direct sacrebleu calls, signatures, errors."""

import pytest
import sacrebleu

from neurips23.errors import DataError, UserError
from neurips23.multilingual.fixtures import parallel_sentences
from neurips23.multilingual.metrics import bleu, chrf, score_all, sentence_chrf, spbleu

HYP = ["Le temps est beau aujourd'hui et nous allons au parc."]
REF = ["Le temps est magnifique aujourd'hui et nous allons au parc."]


def test_golden_values_and_signatures():
    s = score_all(HYP, REF, "fra")
    assert round(s["BLEU"]["score"], 2) == 70.17
    assert round(s["chrF"]["score"], 2) == 77.15
    assert round(s["chrF++"]["score"], 2) == 79.27
    assert s["BLEU"]["signature"] == f"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{sacrebleu.__version__}"
    assert "nc:6|nw:0" in s["chrF"]["signature"] and "nc:6|nw:2" in s["chrF++"]["signature"]


def test_equal_to_direct_sacrebleu_calls_on_the_fixture():
    par = parallel_sentences()
    for lang, tok in (("fra", "13a"), ("zho", "zh"), ("tel", "13a")):
        hyps, refs = par[lang][1:] + par[lang][:1], par[lang]  # shifted: imperfect hypotheses
        assert abs(chrf(hyps, refs).score - sacrebleu.corpus_chrf(hyps, [refs]).score) < 1e-9
        assert abs(chrf(hyps, refs, 2).score - sacrebleu.corpus_chrf(hyps, [refs], word_order=2).score) < 1e-9
        assert abs(bleu(hyps, refs, tok).score - sacrebleu.corpus_bleu(hyps, [refs], tokenize=tok).score) < 1e-9
    assert score_all(par["zho"], par["zho"], "zho")["BLEU"]["signature"].count("tok:zh") == 1


def test_edge_cases_and_errors():
    assert chrf([""], ["something"]).score == 0.0
    assert sentence_chrf("abc def", "abc def") == 100.0
    with pytest.raises(DataError, match="2 hypotheses but 1 references"):
        chrf(["a", "b"], ["a"])
    with pytest.raises(DataError, match="nothing to score"):
        bleu([], [])


def test_spbleu_offline_is_one_clear_error(monkeypatch, tmp_path):
    # without sentencepiece, or offline without a cached SPM model: one UserError, no traceback
    import socket

    def no_network(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("SACREBLEU", str(tmp_path))
    with pytest.raises(UserError, match="spBLEU"):
        spbleu(HYP, REF)
    with pytest.raises(UserError, match="spBLEU"):
        bleu(HYP, REF, tokenize="flores200")
