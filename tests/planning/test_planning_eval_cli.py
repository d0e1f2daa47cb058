"""`neurips23 plan eval` end to end with a stand-in backend, and LPG-td's seeded repair."""

import json
import sys

import pytest

from neurips23.cli import main
from neurips23.pddl.validate import validate_plan
from neurips23.planning.domains.registry import generate_instances, get_domain
from neurips23.planning.heuristic import run_lpg
from neurips23.planning.refs import lpg_binary


class CopyExample:
    """Answers every planning prompt with the one-shot example's plan (and 'valid' when asked
    to verify): a deterministic stand-in for a model endpoint."""

    name = "copy-example"

    class usage:  # noqa: N801 - mimics the Usage attribute
        @staticmethod
        def snapshot():
            return {"calls": 0}

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0,
                 seed=None):
        out = []
        for p in prompts:
            if p.rstrip().endswith("[VERIFICATION]"):
                out.append(["The above plan is valid."] * n)
                continue
            body = p.split("[PLAN]\n", 1)[1].split("[PLAN END]", 1)[0]
            out.append([body] * n)
        return out

    def chat(self, conversations, **kw):
        return self.generate([c[0]["content"] for c in conversations], **kw)

    def score(self, prompts, continuations):
        raise NotImplementedError


@pytest.mark.parametrize("mode", ["autonomous", "backprompt", "self-critique", "resample",
                                  "heuristic"])
def test_eval_modes_write_samples(mode, tmp_path, monkeypatch, capsys):
    import neurips23.lm.backends as backends

    monkeypatch.setattr(backends, "load_backend", lambda *a, **k: CopyExample())
    monkeypatch.setattr(sys, "argv", ["neurips23", "plan", "eval", "--mode", mode, "--model",
                                      "x", "--n", "4", "--rounds", "3", "--planner", "local",
                                      "--runs-dir", str(tmp_path)])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code in (0, None)
    out = capsys.readouterr().out
    run = next((tmp_path / "planning").iterdir())
    assert out.startswith(f"{mode}: results → {run / 'results.json'}\n")  # then name: value lines
    assert "{" not in out and all(": " in line for line in out.splitlines()[1:])
    rows = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    first = [r for r in rows if r["mode"] != "heuristic"]
    assert len(first) == 4 and all("prompt" in r for r in first)
    res = json.loads((run / "results.json").read_text())
    if mode == "resample":  # the example's plan is never valid for another problem here
        assert all(r["samples"] == 15 for r in rows) and "resample" in res["metrics"]
    if mode == "backprompt":
        assert all(len(r["rounds"]) == 3 or r["valid"] for r in first)
    if mode == "self-critique":  # the model accepts its first plan, right or wrong
        assert all(r["rounds_used"] == 1 and r["stopped"] == "model says valid" for r in first)
    if mode == "heuristic":
        assert {"mean_effort_model", "mean_effort_empty", "mean_effort_random"} <= set(
            res["metrics"]["heuristic"])
        heur = [r for r in rows if r["mode"] == "heuristic"]
        assert len(heur) == 4 and res["metrics"]["heuristic"]["planner"] == "seeded-gbfs"


@pytest.mark.skipif(lpg_binary() is None, reason="LPG-td (up-lpg) not installed")
def test_lpg_seeded_with_near_plan_needs_few_flips():
    dom = get_domain("blocksworld").domain
    insts = generate_instances("blocksworld", 3, seed=13, blocks=(5,))
    for inst in insts:
        near = run_lpg(lpg_binary(), dom, inst.problem, inst.plan[:-1], lpg_seed=1)
        empty = run_lpg(lpg_binary(), dom, inst.problem, None, lpg_seed=1)
        assert near.solved and empty.solved and near.flips >= 0 and empty.flips > 0
        assert validate_plan(dom, inst.problem, near.plan).valid
        assert near.flips <= 2  # one missing action: one insertion (LPG may count a second)


def test_word_level_model_runs_every_mode_with_chat(tmp_path, monkeypatch, capsys):
    """A word-level tiny LM is a full LanguageModel: back-prompting over chat used to crash
    with an internal error (the wrapper had no `chat`)."""
    from neurips23.lm.backends import LanguageModel
    from neurips23.lm.backends.hf import HFBackend
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.tokenizers import build_word_tokenizer
    from neurips23.planning.modes import make_prompt
    from neurips23.planning.wordlm import NL, WordLM, to_words

    spec = get_domain("blocksworld")
    insts = generate_instances("blocksworld", 3, seed=0, blocks=(3,))
    from neurips23.planning.modes import Query

    text = make_prompt(spec, spec.verbalizer(True), Query(insts[1].problem, insts[0]))
    tok = build_word_tokenizer([to_words(text)], extra_tokens=[NL])
    save_model(build_model("nano", vocab_size=len(tok), max_position_embeddings=1024), tok,
               tmp_path / "m")
    lm = WordLM(HFBackend.from_pretrained(str(tmp_path / "m")))
    assert isinstance(lm, LanguageModel)
    [s] = lm.score(["the red block"], [" is clear"])
    assert s.logprob < 0 and len(s.token_logprobs) == 2
    for mode in ("backprompt", "self-critique", "autonomous", "resample"):
        monkeypatch.setattr(sys, "argv", [
            "neurips23", "plan", "eval", "--mode", mode, "--model", str(tmp_path / "m"),
            "--word-level", "--chat", "--n", "2", "--rounds", "2", "--samples", "2",
            "--blocks", "3", "--max-tokens", "3", "--runs-dir", str(tmp_path / "runs")])
        with pytest.raises(SystemExit) as e:
            main()
        assert e.value.code in (0, None), capsys.readouterr().err
    assert len(list((tmp_path / "runs" / "planning").iterdir())) == 4
