"""The result cache (a rerun reuses finished probes; a killed run recomputes only what is
missing; a changed budget recomputes), the card, `probe compare`, and the CLI end to end."""

from __future__ import annotations

import json
import string
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from neurips23.lm.backends.base import Score, Usage
from neurips23.probe.base import cache_key
from neurips23.probe.card import comparison_rows, read_card, write_card
from neurips23.probe.config import Budget, MirageBudget, ToolformerBudget
from neurips23.probe.run import run_probes
from neurips23.probe.subject import Subject

BUDGET = Budget(mirage=MirageBudget(problems=10), toolformer=ToolformerBudget(problems=5))


class CountingLM:
    """A constant model that answers " 1234" to everything and counts its calls."""

    name = "const"

    def __init__(self) -> None:
        self.usage = Usage()
        self.calls = 0

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0,
                 seed=None):
        self.calls += 1
        self.usage.add(calls=len(prompts), prompt_tokens=sum(len(p) for p in prompts))
        return [[" 1234"] * n for _ in prompts]

    def chat(self, conversations, n=1, temperature=0.0, max_tokens=64, stop=(), seed=None):
        return self.generate([c[-1]["content"] for c in conversations], n)

    def score(self, prompts, continuations):
        return [Score(-1.0 * len(c), [-1.0] * len(c)) for c in continuations]


def subject(lm) -> Subject:
    return Subject(lm, "const", "openai", "endpoint:test#const", logprobs=False)


def test_rerun_reuses_and_a_killed_run_resumes(tmp_path):
    lm = CountingLM()
    first = run_probes(subject(lm), BUDGET, ["mirage", "toolformer"], tmp_path)
    assert [hit for _, hit in first] == [False, False] and lm.calls > 0
    calls = lm.calls
    again = run_probes(subject(lm), BUDGET, ["mirage", "toolformer"], tmp_path)
    assert [hit for _, hit in again] == [True, True] and lm.calls == calls
    assert [r.as_dict() for r, _ in again] == [r.as_dict() for r, _ in first]
    # a run killed before toolformer finished: its result file is missing
    (file,) = (tmp_path / "probes").glob("toolformer-*.json")
    file.unlink()
    resumed = run_probes(subject(lm), BUDGET, ["mirage", "toolformer"], tmp_path)
    assert [hit for _, hit in resumed] == [True, False] and lm.calls > calls
    # a torn file (not JSON) is recomputed, not trusted
    (file,) = (tmp_path / "probes").glob("mirage-*.json")
    file.write_text("{")
    assert run_probes(subject(lm), BUDGET, ["mirage"], tmp_path)[0][1] is False


def test_cache_key_changes_with_model_budget_and_version():
    b = MirageBudget()
    k = cache_key("m", "mirage", b, "1")
    assert k == cache_key("m", "mirage", MirageBudget(), "1")
    assert len({k, cache_key("m2", "mirage", b, "1"), cache_key("m", "mirage", b, "2"),
                cache_key("m", "mirage", replace(b, problems=21), "1"),
                cache_key("m", "mirage", replace(b, above_chance=replace(b.above_chance,
                                                                         threshold=0.1)), "1")
                }) == 5


def test_constant_model_card_never_reads_shows_it(tmp_path):
    results = [r for r, _ in run_probes(subject(CountingLM()), BUDGET, ["mirage", "toolformer"],
                                        tmp_path)]
    assert all(r.verdict != "reproduced" for r in results)
    # the endpoint returns no log-probs: the loglikelihood part says so
    assert results[0].metrics["answer_cross_entropy"].startswith("not measured")
    path = write_card(tmp_path / "card", subject(CountingLM()), "quick", {}, results)
    card = read_card(tmp_path / "card")
    assert [p["probe"] for p in card["probes"]] == ["mirage", "toolformer"]
    assert "class='v-reproduced'" not in path.read_text()  # no verdict cell says "shows it"


def _card(model: str, verdicts: dict[str, str]) -> dict:
    probes = []
    for name, v in verdicts.items():
        if v == "does not apply":
            probes.append({"probe": name, "verdict": v, "reason": "does not apply: needs weights",
                           "claims": [], "finding": ""})
        else:
            probes.append({"probe": name, "verdict": v, "finding": "",
                           "claims": [{"ours": f"{name} stat", "verdict": v}]})
    return {"model": model, "budget": "quick", "budget_values": {}, "probes": probes}


def test_compare_rows_side_by_side():
    a = _card("A", {"planning": "reproduced", "editing": "reproduced"})
    b = _card("B", {"planning": "not reproduced", "editing": "does not apply", "tot": "inconclusive"})
    rows = {r["probe"]: r for r in comparison_rows(a, b)}
    assert rows["planning"]["A"] == "this model shows it"
    assert rows["planning"]["B"] == "this model does not show it"
    assert rows["editing"]["B"] == "does not apply"
    assert rows["tot"]["A"] == "not run" and list(rows) == ["planning", "editing", "tot"]


def test_compare_command_and_bad_card(tmp_path):
    from neurips23.cli import app

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "card.json").write_text(json.dumps(_card("A", {"mirage": "reproduced"})))
    (tmp_path / "b.json").write_text(json.dumps(_card("B", {"mirage": "inconclusive"})))
    out = tmp_path / "cmp.html"
    r = CliRunner().invoke(app, ["probe", "compare", str(tmp_path / "a"), str(tmp_path / "b.json"),
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "this model shows it" in out.read_text() and "inconclusive" in out.read_text()
    (tmp_path / "bad.json").write_text(json.dumps({"x": 1}))
    from neurips23.errors import DataError
    with pytest.raises(DataError, match="not a probe card"):
        read_card(tmp_path / "bad.json")


def test_probe_command_on_a_saved_tiny_model(tmp_path):
    from neurips23.cli import app
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.tokenizers import build_char_tokenizer

    tok = build_char_tokenizer(string.digits + "*=+ \n")
    save_model(build_model("nano", len(tok), seed=1), tok, tmp_path / "m")
    args = ["probe", "--model", str(tmp_path / "m"), "--only", "mirage,editing", "--out",
            str(tmp_path / "out"), "--set", "quick.mirage.problems=5"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    (card_dir,) = (tmp_path / "out").iterdir()
    card = read_card(card_dir)
    assert [p["probe"] for p in card["probes"]] == ["mirage", "editing"]
    assert card["budget_values"]["mirage"]["problems"] == 5
    assert card["fingerprint"].startswith("local:") and card["open_weights"]
    assert (card_dir / "card.html").exists()
    bad = CliRunner().invoke(app, ["probe", "--only", "nope", "--out", str(tmp_path / "o2")])
    assert bad.exit_code != 0 and "not a probe" in str(bad.exception)


def test_fingerprints_follow_config_and_weight_files(tmp_path):
    from neurips23.probe.subject import endpoint_fingerprint, local_fingerprint

    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    (tmp_path / "notes.txt").write_text("not a weight file")
    first = local_fingerprint(tmp_path)
    (tmp_path / "notes.txt").write_text("edited notes do not matter")
    assert local_fingerprint(tmp_path) == first
    (tmp_path / "model.safetensors").write_bytes(b"x" * 11)
    second = local_fingerprint(tmp_path)
    (tmp_path / "config.json").write_text('{"hidden_size": 16}')
    assert len({first, second, local_fingerprint(tmp_path)}) == 3
    assert endpoint_fingerprint("http://h:1/v1/", "m") == endpoint_fingerprint("http://h:1/v1", "m")
    assert endpoint_fingerprint("http://h:1/v1", "m") != endpoint_fingerprint("http://h:1/v1", "n")


def test_logprob_support_is_probed_not_assumed():
    from neurips23.errors import BackendError
    from neurips23.probe.subject import endpoint_has_logprobs

    class ChatOnly(CountingLM):
        def score(self, prompts, continuations):
            raise BackendError("this endpoint cannot score text")

    assert endpoint_has_logprobs(CountingLM()) is True
    assert endpoint_has_logprobs(ChatOnly()) is False


def test_chat_only_endpoint_says_what_does_not_apply(tmp_path):
    from neurips23.errors import BackendError
    from neurips23.probe.subject import endpoint_has_completions

    class ChatOnly(CountingLM):
        def generate(self, *args, **kwargs):
            raise BackendError("404 on /v1/completions")

        def chat(self, conversations, n=1, **kwargs):
            return CountingLM.generate(self, [c[-1]["content"] for c in conversations], n)

    assert endpoint_has_completions(CountingLM()) and not endpoint_has_completions(ChatOnly())
    sub = Subject(ChatOnly(), "chat", "openai", "endpoint:chat", completions=False)
    budget = replace(BUDGET, multilingual=replace(BUDGET.multilingual, questions=3))
    results = {r.probe: r for r, _ in run_probes(sub, budget, ["planning", "tot", "mirage",
                                                               "toolformer", "multilingual"],
                                                 tmp_path)}
    for name in ("planning", "tot", "mirage", "toolformer"):
        assert not results[name].applies and "chat only" in results[name].reason
    ml = results["multilingual"]  # fidelity runs over chat; the token cost is not measured
    assert ml.applies and len(ml.claims) == 1
    assert ml.metrics["premium"].startswith("not measured")
