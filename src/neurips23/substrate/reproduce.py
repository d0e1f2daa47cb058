"""`neurips23 reproduce substrate`: a tiny model trained from scratch on a synthetic task, its
learning curve and held-out exact match. A check of the core, not a paper's finding."""

from __future__ import annotations

from pathlib import Path

from neurips23.core.claims import measured_claim
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.lm.tasks import get_task
from neurips23.substrate.config import PROFILES, SubstrateConfig


def cached_task_model(cfg: SubstrateConfig, progress: bool = True) -> Path:
    """The cache dir of a model of `cfg.size` trained on `cfg.task` (trained once)."""
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.lm.tokenizers import build_char_tokenizer

    task = get_task(cfg.task)

    def data():
        return build_char_tokenizer(task.alphabet), task.make(cfg.n_train, cfg.train.seed)

    return cached_tiny_lm({"kind": "substrate", "version": 2, "task": cfg.task,
                           "n_train": cfg.n_train}, data, cfg.size, cfg.train, arch=cfg.arch,
                          progress=progress)


def run_substrate(cfg: SubstrateConfig, run) -> Outcome:
    """Train (or reuse) the model, score held-out examples, plot the learning curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurips23.core.stats import wilson_interval
    from neurips23.lm.generate import generate
    from neurips23.lm.models import count_parameters, load_model
    from neurips23.lm.tiny import train_log

    path = cached_task_model(cfg)
    log = train_log(path)
    model, tok = load_model(path)
    test = get_task(cfg.task).make(cfg.n_test, 10_000 + cfg.train.seed)
    outs = generate(model, tok, [e.prompt for e in test], max_new_tokens=16)
    correct = [o[0].text == e.response for o, e in zip(outs, test, strict=True)]
    run.log_samples({"prompt": e.prompt, "target": e.response, "output": o[0].text, "correct": c}
                    for e, o, c in zip(test, outs, correct, strict=True))
    fig, ax = plt.subplots(figsize=(5, 3))
    steps, losses = zip(*log["losses"], strict=True)
    ax.plot(steps, losses)
    ax.set(xlabel="step", ylabel="train loss", yscale="log", title=f"{cfg.size} on '{cfg.task}'")
    run.save_plot(fig, "learning_curve")
    acc = sum(correct) / len(correct)
    claim = measured_claim("A tiny LM trained from scratch learns the synthetic task.",
                           "held-out exact match", acc, wilson_interval(sum(correct), len(correct)),
                           cfg.learned, n=len(test))
    return Outcome({"exact_match": acc, "parameters": count_parameters(model),
                    "final_train_loss": losses[-1], "train_tokens_per_second":
                    log["tokens_per_second"], "cache_entry": str(path)}, [claim])


REPRODUCTION = Reproduction(name="substrate", title="Substrate check: tiny LMs learn synthetic tasks",
                            config=SubstrateConfig, profiles=PROFILES, run=run_substrate)
