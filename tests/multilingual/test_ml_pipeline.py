"""Records, normalisation, script and quality stages, and templates."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.errors import DataError
from neurips23.multilingual.fixtures import parallel_sentences
from neurips23.multilingual.pipeline import (
    Normalize,
    Quality,
    ScriptCheck,
    normalize_text,
    repetition_ratio,
    run_pipeline,
    url_ratio,
)
from neurips23.multilingual.records import Record, read_records, record_from_dict, write_records
from neurips23.multilingual.templates import apply_templates, load_templates

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(TEXT)
def test_normalize_is_nfc_idempotent_and_leaves_no_runs_of_spaces(text):
    out = normalize_text(text)
    assert normalize_text(out) == out
    assert unicodedata.is_normalized("NFC", out) and "  " not in out and out == out.strip()


def test_normalize_composes_yoruba_tone_marks():
    decomposed = unicodedata.normalize("NFD", "Ọjà máa ń ṣí ní àárọ̀")
    assert normalize_text("  " + decomposed + " \r\n\r\n\r\n x ") == unicodedata.normalize(
        "NFC", "Ọjà máa ń ṣí ní àárọ̀") + "\n\nx"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fixed_dictionaries({"inputs": TEXT, "targets": TEXT,
                                       "language_code": st.sampled_from(["eng", "yor", "tel"]),
                                       "source": TEXT}), min_size=1, max_size=5))
def test_records_round_trip_with_extra_fields(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("r") / "r.jsonl"
    write_records([record_from_dict(r) for r in rows], path)
    back = [r.to_dict() for r in read_records(path)]
    assert [{k: b[k] for k in r} for b, r in zip(back, rows, strict=True)] == rows


def test_bad_records_name_file_line_and_field(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"inputs": "a", "targets": "b", "language_code": "eng"}\n{"inputs": "a", '
                    '"targets": "b", "language_code": "eng", "script": 5}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"d.jsonl:2: field 'script' should be a string"):
        list(read_records(path))
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match="d.jsonl:1: not valid JSON"):
        list(read_records(path))


def _rec(inputs, targets, lang="eng", **kw):
    return Record(inputs=inputs, targets=targets, language_code=lang, **kw)


def test_quality_filters_name_their_reason():
    url = "see https://example.com/a/very/long/path/to/something/else"
    recs = [_rec("What is rain?", "Water falling from clouds."),
            _rec("Say it", "ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha"),
            _rec("Link?", url), _rec("Same text", "same TEXT"), _rec("x", "ok fine")]
    kept, report = run_pipeline(recs, [Quality()])
    assert [r.inputs for r in kept] == ["What is rain?"]
    reasons = report["stages"][0]["dropped"]
    assert set(reasons) == {"targets repetition > 0.5", "targets URL share > 0.3", "inputs == targets",
                            "inputs shorter than 2 characters"}
    assert repetition_ratio("abcdefghijk") == 0 and url_ratio(url) == pytest.approx(
        len(url.split()[1]) / len(url))


def test_script_check_against_the_declared_language():
    par = parallel_sentences()
    recs = [_rec(par["hin"][0], par["hin"][1], "hin"), _rec(par["eng"][0], par["eng"][1], "hin"),
            _rec(par["tel"][0], par["tel"][1], "tel"), _rec(par["jpn"][0], par["jpn"][1], "jpn")]
    kept, report = run_pipeline(recs, [Normalize(), ScriptCheck()])
    assert [(r.language_code, r.script) for r in kept] == [("hin", "Deva"), ("tel", "Telu"), ("jpn", "Jpan")]
    assert list(report["stages"][1]["dropped"]) == ["script Latn is not one of Deva (hin)"]


def test_templates_fill_every_language_and_reject_code_like_placeholders(tmp_path):
    sets = load_templates()
    par = parallel_sentences()
    for lang in ("fra", "yor", "tel"):
        [rec] = apply_templates([{"id": "s1", "source": par["eng"][0], "target": par[lang][0]}],
                                sets["translate-en-x"], lang, "fixture")
        assert rec.inputs.endswith(par["eng"][0]) and rec.targets == par[lang][0]
        assert (rec.annotation_type, rec.template_id, rec.id) == ("templated", f"translate-en-x/{lang}", f"s1-{lang}")
    with pytest.raises(DataError, match="needs field"):
        list(apply_templates([{"source": "x"}], sets["translate-en-x"], "fra"))
    bad = tmp_path / "t.yaml"
    bad.write_text(json.dumps({"evil": {"languages": {"fra": {"inputs": "{source.__class__}", "targets": "x"}}}}))
    with pytest.raises(DataError, match="not a bare field name"):
        load_templates(bad)


def test_langid_stage_keeps_declared_languages_the_default_candidates_lack():
    """Xhosa is one of lingua's languages but not among its 28 default candidates: the stage adds
    the declared language to the candidates (as the fidelity check does), so a Xhosa sentence is
    not dropped as Zulu. Hausa is not one of lingua's languages at all: it is kept unchecked and
    counted, not dropped as Swahili."""
    from neurips23.multilingual.pipeline import LanguageID
    from neurips23.multilingual.records import Record

    stage = LanguageID("lingua", check="targets")
    xho = Record(inputs="", targets="Imarike ivula kwangethuba kusasa, ngaphambi kokuba ilanga "
                 "lishushu.", language_code="xho")
    hau = Record(inputs="", targets="Kasuwa tana buɗewa da sassafe, kafin rana ta yi zafi.",
                 language_code="hau")
    assert "xho" in stage.candidates("xho")
    assert stage.process(xho) is xho
    assert stage.process(hau) is hau
    assert stage.stats.notes["not checked: lingua has no hau"] == 1
    # a record that really is in another language is still dropped
    eng = Record(inputs="", targets="The market opens early in the morning, before the sun is hot.",
                 language_code="xho")
    assert stage.process(eng) == "targets detected as eng, declared xho"


def test_langid_recall_on_the_shipped_parallel_text():
    """Per-language recall of the pipeline's language-ID stage on the 60 shipped parallel items of
    each language (text known to be in that language): lingua keeps at least 59 of 60 in every
    language (measured: one Hindi item read as Marathi, one Yoruba item as Swahili)."""
    from neurips23.multilingual.experiment import parallel_items
    from neurips23.multilingual.pipeline import langid_recall

    langs = ["eng", "fra", "deu", "spa", "rus", "zho", "jpn", "ara", "hin", "swa", "yor", "tel"]
    rec = langid_recall(parallel_items(langs), "lingua")
    assert all(r["n"] == 60 for r in rec.values())
    assert min(r["kept"] for r in rec.values()) >= 59
    assert sum(r["n"] - r["kept"] for r in rec.values()) <= 2
