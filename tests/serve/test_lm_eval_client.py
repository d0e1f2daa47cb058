"""lm-evaluation-harness's `local-completions` model against the server, on SmolLM2 and a
small local task, compared with the harness's own in-process `hf` model on the same weights:
log-likelihoods (echo + token log-probs), greedy flags (top_logprobs) and generations agree.
An arithmetic task checks the items where the model would end right after the continuation:
the harness drops the last token the server returns, so that token must be the sampled one
even when it is the end-of-sequence token.
(`tokenized_requests=False`, text prompts, works too: `lm_eval ... --model_args
...,tokenized_requests=False`; the text path is tested with the openai SDK.)"""

from __future__ import annotations

import json

import pytest

lm_eval = pytest.importorskip("lm_eval")
pytest.importorskip("tenacity")  # the harness's API models need it (lm-eval[api])

FACTS = [("The capital of France is", ["Paris", "London", "Berlin"], 0),
         ("The opposite of hot is", ["warm", "cold", "red"], 1),
         ("Two plus two equals", ["three", "five", "four"], 2),
         ("The sun rises in the", ["east", "west"], 0)]


def arithmetic_items(count: int = 20, seed: int = 0) -> list[tuple[str, list[str], int]]:
    """Subtraction questions with four numeric answers (the right one first, then shuffled)."""
    import random

    rng = random.Random(seed)
    items = []
    for _ in range(count):
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        right = a - b
        choices = [str(x) for x in dict.fromkeys([right, right + 1, right - 1, -right, right + 2])][:4]
        order = rng.sample(range(4), 4)
        items.append((f"Question: What is {a} - {b}?\nAnswer:", [" " + choices[i] for i in order],
                      order.index(0)))
    return items


def write_tasks(folder) -> None:
    """A multiple-choice and a generation task over local JSONL files (works offline)."""
    data = folder / "facts.jsonl"
    data.write_text("".join(json.dumps({"question": q, "choices": c, "answer": a}) + "\n"
                            for q, c, a in FACTS))
    common = (f"dataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\n"
              "test_split: test\ndoc_to_text: \"{{question}}\"\n")
    (folder / "mc.yaml").write_text(
        "task: facts_mc\n" + common + "output_type: multiple_choice\n"
        "doc_to_choice: \"{{choices}}\"\ndoc_to_target: answer\nmetric_list:\n"
        "  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n")
    (folder / "gen.yaml").write_text(
        "task: facts_gen\n" + common + "output_type: generate_until\n"
        "doc_to_target: \"{{choices[answer]}}\"\ngeneration_kwargs:\n  until: [\"\\n\", \".\"]\n"
        "  max_gen_toks: 6\n  do_sample: false\nmetric_list:\n  - metric: exact_match\n"
        "    aggregation: mean\n    higher_is_better: true\n")
    arith = folder / "arith.jsonl"
    arith.write_text("".join(json.dumps({"question": q, "choices": c, "answer": a}) + "\n"
                             for q, c, a in arithmetic_items()))
    (folder / "arith.yaml").write_text(
        f"task: arith_mc\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {arith}\n"
        "test_split: test\ndoc_to_text: \"{{question}}\"\noutput_type: multiple_choice\n"
        "doc_to_choice: \"{{choices}}\"\ndoc_to_target: answer\ntarget_delimiter: \"\"\n"
        "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n")


def evaluate(model: str, model_args: dict, folder,
             tasks: tuple[str, ...] = ("facts_mc", "facts_gen")) -> dict:
    from lm_eval.tasks import TaskManager

    out = lm_eval.simple_evaluate(model=model, model_args=model_args,
                                  tasks=list(tasks), log_samples=True,
                                  task_manager=TaskManager(include_path=str(folder),
                                                           include_defaults=False),
                                  bootstrap_iters=0)
    return {task: [s["resps"] for s in sorted(rows, key=lambda s: s["doc_id"])]
            for task, rows in out["samples"].items()}


def test_local_completions_matches_the_harness_hf_model(smollm2_server, tmp_path):
    import torch

    from neurips23.lm.models import model_source

    torch.set_num_threads(1)
    path, _ = model_source("smollm2-135m")
    write_tasks(tmp_path)
    api = dict(model="smollm2-135m", base_url=smollm2_server + "/completions",
               tokenizer_backend="huggingface", tokenizer=path, max_retries=1)
    # the harness's default: prompts as token-id lists (text prompts: tests/serve/test_openai_sdk.py)
    served = evaluate("local-completions", {**api, "batch_size": 4}, tmp_path)
    reference = evaluate("hf", dict(pretrained=path, device="cpu", dtype="float32"), tmp_path)
    for got, want in zip(served["facts_mc"], reference["facts_mc"], strict=True):
        assert [g[0][1] for g in got] == [w[0][1] for w in want]  # is_greedy
        assert [g[0][0] for g in got] == pytest.approx([w[0][0] for w in want], abs=1e-3)
    assert served["facts_gen"] == reference["facts_gen"]
    assert any(g[0][1] for doc in served["facts_mc"] for g in doc)  # some greedy continuation


def items_the_model_would_end_after(path: str) -> int:
    """How many (question, answer) pairs of the arithmetic task the model would follow with its
    end-of-sequence token (greedy), by a plain forward pass of the model in this process."""
    import torch

    from neurips23.lm.generate import eos_token_ids
    from neurips23.lm.models import load_model

    model, tok = load_model(path)
    eos = set(eos_token_ids(model, tok))
    ends = 0
    with torch.no_grad():
        for question, choices, _ in arithmetic_items():
            for c in choices:
                ids = tok.encode(question + c)
                ends += int(model(torch.tensor([ids])).logits[0, -1].argmax()) in eos
    return ends


def test_loglikelihoods_equal_the_hf_model_where_the_model_would_end(smollm2_server, tmp_path):
    import torch

    from neurips23.lm.models import model_source

    torch.set_num_threads(1)
    path, _ = model_source("smollm2-135m")
    write_tasks(tmp_path)
    assert items_the_model_would_end_after(path) >= 10  # the case the harness gets wrong otherwise
    api = dict(model="smollm2-135m", base_url=smollm2_server + "/completions",
               tokenizer_backend="huggingface", tokenizer=path, max_retries=1, batch_size=8)
    served = evaluate("local-completions", api, tmp_path, ("arith_mc",))["arith_mc"]
    reference = evaluate("hf", dict(pretrained=path, device="cpu", dtype="float32"), tmp_path,
                         ("arith_mc",))["arith_mc"]
    assert len(served) == len(reference) == 20
    for got, want in zip(served, reference, strict=True):
        assert [g[0][0] for g in got] == pytest.approx([w[0][0] for w in want], abs=1e-3)
        assert [g[0][1] for g in got] == [w[0][1] for w in want]  # is_greedy
