"""Write the lm-evaluation-harness logs that `neurips23 emergence analyze` is tested on, with
the harness itself: tiny models of three sizes (plus SmolLM2-135M with --smollm) evaluated
offline on five local tasks, one per output type, with --log_samples.

    PYTHONPATH=src python tests/emergence/make_harness_logs.py [--smollm] \
        [--out tests/emergence/data/harness]

Tasks (task YAMLs over local JSONL files, written by this script):
  mirage_gsm     generate_until, doc_to_target the worked answer ("23+45=68 #### 68"), two
                 filters as gsm8k (strict-match, flexible-extract), exact_match with gsm8k's
                 regexes_to_ignore
  mirage_gsm8k   the harness's own gsm8k.yaml (read from the installed lm_eval package: its
                 metric settings, filters, stop strings, doc_to_text and doc_to_target), only
                 the dataset swapped for the local one and num_fewshot 0
  mirage_add     generate_until arithmetic with a regex-free target: doc_to_target names an
                 integer field (the harness casts it to the response's type), exact_match with
                 the harness's defaults, target_delimiter " "
  mirage_trivia  generate_until with a list of aliases as the target (as triviaqa)
  mirage_mc      multiple_choice (acc, acc_norm)
  mirage_arith   loglikelihood of one continuation (as arithmetic_* and LAMBADA: perplexity, acc)
  mirage_text    loglikelihood_rolling (as wikitext: word_perplexity, byte_perplexity,
                 bits_per_byte)
Layouts written under --out:
  by_model/    `--output_path by_model`: one folder per model
  one_folder/  `--output_path one_folder/results.json`: every model in one folder, and the
               smallest model run twice (a repeated run)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
from pathlib import Path

SIZES = {"nano": 150, "micro": 400, "mini": 500}  # model size -> training steps
N_DOCS = 6
FACTS = [("Which planet is called the red planet", ["Mars", "mars", "The Red Planet"]),
         ("What is the capital of France", ["Paris", "paris", "Paris, France"]),
         ("Which animal says moo", ["cow", "a cow", "Cow", "cattle"]),
         ("What colour is the sky on a clear day", ["blue", "Blue", "light blue"]),
         ("How many legs does a spider have", ["eight", "8", "Eight"]),
         ("What do bees make", ["honey", "Honey", "wax"])]
TEXTS = ["the cat sat on the mat and looked at the door.",
         "a small dog ran across the green field after the ball.",
         "rain fell on the quiet town all night long.",
         "the old man read the paper by the window every morning."]
GSM_FILTERS = [
    {"name": "strict-match", "filter": [
        {"function": "regex", "regex_pattern": "#### (\\-?[0-9\\.\\,]+)"},
        {"function": "take_first"}]},
    {"name": "flexible-extract", "filter": [
        {"function": "regex", "group_select": -1,
         "regex_pattern": "(-?[$0-9.,]{2,})|(-?[0-9]+)"},
        {"function": "take_first"}]},
]


def _data_kwargs(name: str) -> dict:
    return {"dataset_path": "json", "dataset_kwargs": {"data_files": {"test": f"data/{name}.jsonl"}},
            "test_split": "test"}


def harness_gsm8k() -> dict:
    """The harness's own gsm8k task config, on the local data, zero-shot."""
    import lm_eval
    import yaml

    path = Path(lm_eval.__file__).parent / "tasks" / "gsm8k" / "gsm8k.yaml"
    cfg = yaml.safe_load(path.read_text())
    for key in ("tag", "task", "dataset_name", "training_split", "fewshot_split"):
        cfg.pop(key, None)
    cfg["generation_kwargs"]["max_gen_toks"] = 32
    return {**cfg, **_data_kwargs("gsm"), "num_fewshot": 0}


def task_configs() -> dict[str, dict]:
    """The task YAMLs (as dicts): one per output type, plus gsm8k's own config and a
    generate_until arithmetic task with a plain numeric target."""
    gen = {"do_sample": False, "temperature": 0.0, "max_gen_toks": 24}
    return {
        "mirage_gsm8k": harness_gsm8k(),
        "mirage_add": {**_data_kwargs("add"), "output_type": "generate_until",
                       "doc_to_text": "Question: What is {{a}} plus {{b}}?\nAnswer: {{a}}+{{b}}=",
                       "doc_to_target": "sum", "target_delimiter": " ",
                       "generation_kwargs": {"until": ["\n", " "], **gen},
                       "metric_list": [{"metric": "exact_match", "aggregation": "mean",
                                        "higher_is_better": True}]},
        "mirage_gsm": {**_data_kwargs("gsm"), "output_type": "generate_until",
                       "doc_to_text": "Question: {{question}}\nAnswer:",
                       "doc_to_target": "{{answer}}",
                       "metric_list": [{"metric": "exact_match", "aggregation": "mean",
                                        "higher_is_better": True, "ignore_case": True,
                                        "ignore_punctuation": False,
                                        "regexes_to_ignore": [",", "\\$", "(?s).*#### ", "\\.$"]}],
                       "generation_kwargs": {"until": ["\n", "Question:"], **gen},
                       "filter_list": GSM_FILTERS, "num_fewshot": 0},
        "mirage_trivia": {**_data_kwargs("trivia"), "output_type": "generate_until",
                          "doc_to_text": "Question: {{question}}?\nAnswer:",
                          "doc_to_target": "{{aliases}}", "target_delimiter": " ",
                          "generation_kwargs": {"until": ["\n", ".", ","], **gen},
                          "filter_list": [{"name": "remove_whitespace", "filter": [
                              {"function": "remove_whitespace"}, {"function": "take_first"}]}],
                          "metric_list": [{"metric": "exact_match", "aggregation": "mean",
                                           "higher_is_better": True, "ignore_case": True,
                                           "ignore_punctuation": True}]},
        "mirage_mc": {**_data_kwargs("mc"), "output_type": "multiple_choice",
                      "doc_to_text": "Question: {{question}}\nAnswer: {{prefix}}",
                      "target_delimiter": "",
                      "doc_to_choice": "{{choices}}", "doc_to_target": "{{label}}",
                      "metric_list": [{"metric": "acc", "aggregation": "mean",
                                       "higher_is_better": True},
                                      {"metric": "acc_norm", "aggregation": "mean",
                                       "higher_is_better": True}]},
        "mirage_arith": {**_data_kwargs("arith"), "output_type": "loglikelihood",
                         "doc_to_text": "{{context}}", "doc_to_target": "{{completion}}",
                         "target_delimiter": "",
                         "metric_list": [{"metric": "perplexity", "aggregation": "perplexity",
                                          "higher_is_better": False},
                                         {"metric": "acc", "aggregation": "mean",
                                          "higher_is_better": True}]},
        "mirage_text": {**_data_kwargs("text"), "output_type": "loglikelihood_rolling",
                        "doc_to_text": "", "doc_to_target": "{{text}}",
                        "metric_list": [{"metric": "word_perplexity"},
                                        {"metric": "byte_perplexity"},
                                        {"metric": "bits_per_byte"}]},
    }


def task_docs() -> dict[str, list[dict]]:
    """A few documents per task (2-digit additions, facts, short texts)."""
    rng = random.Random(0)
    pairs = [(rng.randint(10, 49), rng.randint(10, 49)) for _ in range(N_DOCS)]
    docs = {
        "gsm": [{"question": f"What is {a} plus {b}?", "answer": f"{a}+{b}={a + b} #### {a + b}"}
                for a, b in pairs],
        "trivia": [{"question": q, "aliases": al} for q, al in FACTS],
        # the answer's number where the models write it ("Answer: 34+36=" then "70")
        "arith": [{"context": f"Question: What is {a} plus {b}?\nAnswer: {a}+{b}=",
                   "completion": f"{a + b}"} for a, b in pairs],
        "text": [{"text": t} for t in TEXTS],
        "add": [{"a": a, "b": b, "sum": a + b} for a, b in pairs],
    }
    mc = []
    for k, (a, b) in enumerate(pairs):
        choices = [str(a + b + d) for d in (0, 1, -10, 10)]
        label = k % 4
        choices[0], choices[label] = choices[label], choices[0]
        mc.append({"question": f"What is {a} plus {b}?", "prefix": f"{a}+{b}=",
                   "choices": choices, "label": label})
    docs["mc"] = mc
    return docs


def training_examples(n: int = 3000) -> list:
    """What the tiny models learn: additions in the tasks' formats (half of them without the
    '#### answer' tail, so the strict and flexible filters disagree), the facts and texts."""
    from neurips23.lm.data import Example

    rng = random.Random(1)
    out = []
    for i in range(n):
        a, b = rng.randint(10, 49), rng.randint(10, 49)
        tail = f" #### {a + b}" if i % 2 == 0 else ""
        out.append(Example(f"Question: What is {a} plus {b}?\nAnswer:", f" {a}+{b}={a + b}{tail}"))
    for _ in range(40):
        out += [Example(f"Question: {q}?\nAnswer:", f" {al[0]}") for q, al in FACTS]
        out += [Example("", t) for t in TEXTS]
    return out


def train_family(models_dir: Path) -> list[str]:
    """Train (or reuse from the model cache) the tiny models; link them under models/."""
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.lm.train import TrainConfig

    alphabet = [c for c in string.printable if c not in "\t\r\x0b\x0c"]
    names = []
    for size, steps in SIZES.items():
        path = cached_tiny_lm({"kind": "emergence-harness-fixture", "version": 1},
                              lambda: (build_char_tokenizer(alphabet), training_examples()),
                              size, TrainConfig(steps=steps, batch_size=32, lr=3e-3,
                                                warmup_steps=20, max_length=96, seed=0))
        (models_dir / size).symlink_to(path)
        names.append(size)
    return names


def lm_eval(work: Path, model: str, output_path: str) -> None:
    """One offline `lm_eval run` of every task on models/<model> with --log_samples."""
    cmd = [sys.executable, "-m", "lm_eval", "run", "--model", "hf", "--model_args",
           f"pretrained=models/{model},dtype=float32", "--tasks",
           ",".join(task_configs()), "--include_path", "tasks", "--device", "cpu",
           "--batch_size", "4", "--seed", "0", "--output_path", output_path, "--log_samples"]
    print("$ " + " ".join(cmd[1:]), flush=True)
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    subprocess.run(cmd, cwd=work, env=env, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "harness")
    ap.add_argument("--smollm", action="store_true", help="also evaluate SmolLM2-135M")
    args = ap.parse_args()
    import yaml

    work = Path(tempfile.mkdtemp(prefix="harness-logs-"))
    for sub in ("data", "tasks", "models"):
        (work / sub).mkdir()
    for name, docs in task_docs().items():
        (work / "data" / f"{name}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    for name, cfg in task_configs().items():
        (work / "tasks" / f"{name}.yaml").write_text(yaml.safe_dump({"task": name, **cfg},
                                                                    sort_keys=False))
    models = train_family(work / "models")
    if args.smollm:
        from neurips23.lm.builtin import builtin_model_dir

        (work / "models" / "smollm2-135m").symlink_to(builtin_model_dir("smollm2-135m"))
        models.append("smollm2-135m")
    for m in models:
        lm_eval(work, m, "by_model")
    for m in [*models, models[0]]:  # the smallest model twice: a repeated run
        lm_eval(work, m, "one_folder/results.json")
    args.out.mkdir(parents=True, exist_ok=True)
    for layout in ("by_model", "one_folder"):
        shutil.rmtree(args.out / layout, ignore_errors=True)
        shutil.copytree(work / layout, args.out / layout)
    shutil.rmtree(args.out / "tasks", ignore_errors=True)
    shutil.copytree(work / "tasks", args.out / "tasks")
    shutil.rmtree(args.out / "data", ignore_errors=True)
    shutil.copytree(work / "data", args.out / "data")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
