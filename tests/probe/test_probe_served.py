"""The issue's key test: on a tiny model, every probe that both can run gives the same numbers
with the model in process (hf backend) and through `neurips23 serve` (openai backend at
127.0.0.1); the editing probe runs in process and does not apply to the endpoint.

The tiny model is untrained (random weights, scaled up so its greedy text varies): its outputs
are arbitrary text, which is what makes equal numbers on both paths a test of the probes'
plumbing rather than of one lucky answer. Sampling probes run greedy here (temperature 0),
since a server batches requests differently and sampled tokens then differ by design."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import torch

from neurips23.probe.config import (
    Budget,
    EditingBudget,
    MirageBudget,
    MultilingualBudget,
    PlanningBudget,
    ToolformerBudget,
    TotBudget,
)
from neurips23.probe.run import run_probes

TINY_BUDGET = Budget(
    planning=PlanningBudget(problems=2, max_tokens=8),
    tot=TotBudget(puzzles="900-900", k=2, max_tokens=8, temperature=0.0),
    mirage=MirageBudget(problems=4),
    multilingual=MultilingualBudget(languages=["eng", "fra", "swa"], questions=2, cost_items=2,
                                    max_tokens=8, n_boot=200),
    toolformer=ToolformerBudget(problems=3, max_tokens=10),
    editing=EditingBudget(facts=1),
)
BOTH = ["planning", "tot", "mirage", "multilingual", "toolformer"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.tokenizers import build_char_tokenizer

    tok = build_char_tokenizer(string.ascii_letters + string.digits + string.punctuation + " \n")
    model = build_model("nano", len(tok), seed=3, max_position_embeddings=8192)
    with torch.no_grad():  # sharper logits: varied text rather than one repeated character
        for p in model.parameters():
            p.mul_(6.0) if p.ndim == 2 else None
    return save_model(model, tok, tmp_path_factory.mktemp("tiny") / "nano")


def rounded(x):
    """Floats to 4 decimals, recursively: log-probs computed in another batch may differ in
    the last bits (the serve tests allow 1e-4 likewise)."""
    if isinstance(x, float):
        return round(x, 4)
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [rounded(v) for v in x]
    return x


WEIGHTS_ONLY = {"paper_decoding"}  # toolformer's top-k "[" decoding: reported on open weights


def comparable(result) -> dict:
    """What must agree: verdict, every claim's estimate and interval, the metrics (except those
    that need the weights)."""
    metrics = {k: v for k, v in result.metrics.items() if k not in WEIGHTS_ONLY}
    return rounded({"verdict": result.verdict, "metrics": metrics,
                    "claims": [(c["statistic"], c["estimate"], c["interval"], c["verdict"])
                               for c in result.claims]})


def test_probes_agree_in_process_and_through_serve(tiny_dir, tmp_path):
    from neurips23.lm.backends import BackendOptions
    from neurips23.probe.subject import load_subject
    from neurips23.serve import background_server, create_app

    local = load_subject(BackendOptions(model=str(tiny_dir)))
    direct = run_probes(local, TINY_BUDGET, BOTH + ["editing"], tmp_path / "direct")
    with background_server(create_app(local.lm, "nano")) as url:
        remote = load_subject(BackendOptions(backend="openai", model="nano", base_url=url))
        assert remote.logprobs and not remote.has_weights
        served = run_probes(remote, TINY_BUDGET, BOTH + ["editing"], tmp_path / "served")
    for (d, _), (s, _) in zip(direct[:-1], served[:-1], strict=True):
        assert comparable(s) == comparable(d), d.probe
        assert rounded(s.rows) == rounded(d.rows), d.probe
    # the compared numbers have content: the model wrote text and the probes scored it
    assert any(r["output"].strip() for r in direct[0][0].rows)
    assert len(direct[2][0].rows) == 4 and direct[3][0].metrics["premium"]["fra"] > 0
    assert isinstance(direct[4][0].metrics["paper_decoding"], dict)
    assert served[4][0].metrics["paper_decoding"].startswith("not measured")
    assert direct[-1][0].applies and not served[-1][0].applies
    assert "needs weights" in served[-1][0].reason
    # the loglikelihood part ran on both: the served endpoint returns log-probs
    assert isinstance(direct[2][0].metrics["answer_cross_entropy"], float)
