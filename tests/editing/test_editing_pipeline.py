"""The reproduction end to end on a very small world (a pipeline check), and the synthetic world."""

import json

from neurips23.editing.synthetic import (
    EDIT_TEMPLATE,
    PARAPHRASE_TEMPLATE,
    make_world,
    training_examples,
    world_facts,
    world_tokenizer,
)


def test_world_facts_and_neighbours():
    world = make_world(40, seed=3)
    assert len(set(world.subjects)) == 40
    assert all(2 <= len(s.split()) <= 3 for s in world.subjects)
    facts = world_facts(world, world.subjects[:5], seed=3, n_neighbours=4)
    assert len(facts) == 5 * 6
    for f in facts:
        templates, objects = world.relations[f.relation]
        assert f.prompt == templates[EDIT_TEMPLATE]
        assert f.paraphrase == (templates[PARAPHRASE_TEMPLATE].format(f.subject),)
        assert f.target_new in objects and f.target_new != f.target_true
        for n in f.neighbours:  # same relation, same object, another subject
            other = next(s for s in world.subjects if templates[EDIT_TEMPLATE].format(s) == n)
            assert other != f.subject and world.table[other, f.relation] == f.target_true
    tok = world_tokenizer(world)
    for ex in training_examples(world, 50, seed=3):
        assert tok.unk_token_id not in tok(ex.response)["input_ids"]
        assert 1 <= ex.response.count(" . ") + 1 <= 4


def test_reproduction_runs_end_to_end(tmp_path):
    from neurips23.core.reproduction import reproduce

    overrides = ["n_subjects=20", "n_examples=400", "tiny_layers=2", "tiny_hidden=32",
                 "train.steps=40", "seeds=[0,1]", "workers=1", "n_facts=4", "samples=3",
                 "methods=[rome,ft1,ft5]", "problems=[error_injection,fact_erasure,fact_forcing]",
                 "rome.v_steps=2", "rome.forcing_v_steps=2", "ft1.steps=2",
                 "ft1.forcing_steps=2", "ft5.steps=2", "ft5.forcing_steps=2", "corpus_texts=20",
                 "context_per_start=1", "context_length=4"]
    run_dir = reproduce("editing", "quick", overrides=overrides, runs_dir=tmp_path)
    res = json.loads((run_dir / "results.json").read_text())
    assert res["profile"] == "quick" and res["finding"] is False
    verdicts = {c["paper"][:30]: c["verdict"] for c in res["claims"]}
    assert len(verdicts) == 6
    # a 40-step model knows almost nothing: the tracing claims must not pretend otherwise
    assert all(v in ("inconclusive", "computed") for v in verdicts.values()), verdicts
    rows = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 4 * 2 * 3 * 3  # seeds × facts × layers × methods × problems
    assert {"layers.png", "score_vs_tracing.png", "trace_example.png"} <= set(res["plots"])
    assert res["tables"]["R² of the edit score on layer, tracing and both"][0]["r2_layer"] == 0.947


def test_reproduction_rejects_a_bad_setting_before_any_work(tmp_path):
    import pytest

    from neurips23.core.reproduction import reproduce
    from neurips23.errors import ConfigError

    with pytest.raises(ConfigError, match="memit"):
        reproduce("editing", "quick", overrides=["methods=[memit]"], runs_dir=tmp_path)
    with pytest.raises(ConfigError, match="samples"):
        reproduce("editing", "quick", overrides=["samples=0"], runs_dir=tmp_path)


class _Planted:
    """Unpickling this creates a file: what a crafted state file would run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_the_shard_state_file_round_trips_without_unpickling_code(tmp_path):
    import pickle

    import pytest
    import torch

    from neurips23.editing.experiment import Shared
    from neurips23.editing.facts import Fact
    from neurips23.editing.modules import LayerNames
    from neurips23.editing.reproduce import _read_shared_state, _write_shared_state

    names = LayerNames("l.{}", "l.{}.mlp", "l.{}.attn", "l.{}.mlp.down", "embed", 2)
    shared = Shared(names, 0.5, 1.5, 5.0, ["A.", "B."], {0: torch.eye(3), 1: 2 * torch.eye(3)},
                    [0, 1])
    facts = [Fact("France", "The capital of {} is", "Paris", "Rome", ("France's capital is",),
                  ("The capital of Gaul is",), "capital")]
    path = tmp_path / "state.pt"
    _write_shared_state(str(path), facts, shared)
    torch.load(path, weights_only=True)  # tensors and plain values only
    back = _read_shared_state(str(path))
    assert back["facts"] == facts and back["shared"].names == names
    assert torch.equal(back["shared"].C[1], shared.C[1]) and back["shared"].contexts == ["A.", "B."]
    marker = tmp_path / "pwned.txt"
    torch.save({"facts": [], "shared": _Planted(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        _read_shared_state(str(path))
    assert not marker.exists()
