"""Per-language cost: premiums against counts made directly, the BPE arm's cross-fitting, `aya stats`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from neurips23.errors import DataError
from neurips23.multilingual.cli import app
from neurips23.multilingual.cost import load_counter, parallel_cost, premium_interval, train_bpe
from neurips23.multilingual.experiment import cross_fitted_bpe, parallel_items
from neurips23.multilingual.fixtures import parallel_sentences, read_parallel


def test_byte_premium_and_fertility_match_direct_counts():
    par = {k: v[:10] for k, v in parallel_sentences().items() if k in ("eng", "yor", "tel", "zho")}
    table = parallel_cost(par, load_counter("bytes"))
    eng_bytes = sum(len(t.encode("utf-8")) for t in par["eng"])
    for lang, texts in par.items():
        nbytes = sum(len(t.encode("utf-8")) for t in texts)
        assert table[lang]["premium"] == pytest.approx(nbytes / eng_bytes)
        assert table[lang]["tokens"] == nbytes
    assert table["eng"]["fertility"] == pytest.approx(eng_bytes / sum(len(t.split()) for t in par["eng"]))
    assert table["zho"]["words"] is None and table["zho"]["fertility"] is None  # no spaces to count
    assert table["tel"]["premium"] > 2  # Telugu: 3 bytes per character in UTF-8


def test_trained_bpe_counts_equal_the_tokenizers_library_and_are_deterministic():
    par = parallel_sentences()
    corpus = [t for texts in par.values() for t in texts]
    a, b = train_bpe(corpus, 600), train_bpe(corpus, 600)
    assert a.count(par["yor"]) == b.count(par["yor"]) and a.vocab_size <= 600
    # reference: the same training done directly with `tokenizers`
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=600, min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    assert a.count(par["tel"]) == [len(tok.encode(t).ids) for t in par["tel"]]


def test_cross_fitting_counts_every_item_with_tokenizers_that_never_saw_it():
    items = {k: v[:12] for k, v in parallel_items(["eng", "fra", "yor"]).items()}
    heavy, balanced, sizes = cross_fitted_bpe(items, 400, 0.9, folds=3)
    assert sizes[0] == sizes[1]
    # item 0 is in fold 0: recount it with BPEs trained on folds 1 and 2 only
    train = [i for i in range(12) if i % 3 != 0]
    bal = train_bpe([items[lang][i] for lang in items for i in train], 400)
    assert balanced["yor"][0] == bal.count([items["yor"][0]])[0]
    # an English-heavy tokenizer is cheaper on English and dearer elsewhere than the balanced one
    assert sum(heavy["eng"]) < sum(balanced["eng"]) and sum(heavy["yor"]) > sum(balanced["yor"])


def test_premium_interval_contains_the_estimate_and_is_exact_for_constant_ratios():
    est, lo, hi = premium_interval([20, 40, 60], [10, 20, 30], n_boot=200)
    assert est == lo == hi == pytest.approx(2.0)
    est, lo, hi = premium_interval([20, 10, 90, 33], [10, 20, 30, 11], n_boot=200)
    assert lo <= est <= hi


def test_stats_command_writes_premiums_and_plot(tmp_path):
    par = parallel_sentences()
    path = tmp_path / "par.jsonl"
    path.write_text("".join(json.dumps({"id": i, "eng": par["eng"][i], "swa": par["swa"][i]},
                                       ensure_ascii=False) + "\n" for i in range(6)), encoding="utf-8")
    res = CliRunner().invoke(app, ["stats", "--parallel", str(path), "--tokenizers", "bytes,chars",
                                   "--out", str(tmp_path / "st")])
    assert res.exit_code == 0, res.output
    st = json.loads((tmp_path / "st" / "stats.json").read_text())["parallel"]
    want = sum(len(par["swa"][i]) for i in range(6)) / sum(len(par["eng"][i]) for i in range(6))
    assert st["chars"]["swa"]["premium"] == pytest.approx(want)
    assert (tmp_path / "st" / "token_premium.png").stat().st_size > 0


def test_bad_parallel_file_names_the_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "eng": "a b", "fra": "c d"}\n{"id": 2, "eng": "e f"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="p.jsonl:2: languages"):
        read_parallel(path)
    path.write_text('{"id": 1, "english": "a b"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="p.jsonl:1"):
        read_parallel(path)
