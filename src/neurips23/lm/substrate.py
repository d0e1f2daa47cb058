"""Train a tiny model on a synthetic task through the cache, and the substrate check run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neurips23.lm.cache import get_or_train
from neurips23.lm.tasks import get_task
from neurips23.lm.train import TrainConfig


@dataclass
class SubstrateConfig:
    """A tiny model on one synthetic task: size, task, data and training settings."""

    size: str = "micro"
    task: str = "reverse"
    n_train: int = 4000
    n_test: int = 200
    arch: str = "llama"
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=400, batch_size=32,
                                                                   lr=3e-3, log_every=20))


PROFILES = {"quick": {"train": {"steps": 300}}, "full": {"train": {"steps": 1500}, "size": "mini"}}


def cached_task_model(cfg: SubstrateConfig, progress: bool = True) -> Path:
    """The cache dir of a model of `cfg.size` trained on `cfg.task` (trained once)."""
    import json

    from neurips23.config import config_to_dict
    from neurips23.lm.models import save_model
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.lm.train import train_tiny_lm

    task = get_task(cfg.task)
    spec = {"kind": "substrate", "version": 1, **config_to_dict(cfg)}

    def build(tmp: Path) -> None:
        tok = build_char_tokenizer(task.alphabet)
        examples = task.make(cfg.n_train, cfg.train.seed)
        model, result = train_tiny_lm(examples, tok, cfg.size, cfg.train, arch=cfg.arch,
                                      progress=progress)
        save_model(model, tok, tmp)
        (tmp / "train_log.json").write_text(json.dumps(
            {"losses": result.losses, "tokens_per_second": result.tokens_per_second,
             "wall_seconds": result.wall_seconds}))

    return get_or_train(spec, build)


def substrate_check(profile: str = "quick", runs_dir: Path = Path("runs"),
                    overrides: tuple[str, ...] = ()) -> Path:
    """Train (or reuse) a tiny model on a synthetic task; record its learning curve and samples."""
    import json

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurips23.config import load_config
    from neurips23.lm.generate import generate
    from neurips23.lm.models import count_parameters, load_model
    from neurips23.report.records import Claim, start_run

    cfg = load_config(SubstrateConfig, overrides=overrides, base=PROFILES[profile])
    run = start_run("substrate", cfg, runs_dir, profile)
    path = cached_task_model(cfg)
    log = json.loads((path / "train_log.json").read_text())
    model, tok = load_model(path)
    test = get_task(cfg.task).make(cfg.n_test, 10_000 + cfg.train.seed)
    outs = generate(model, tok, [e.prompt for e in test], max_new_tokens=16)
    correct = [o[0].text == e.response for o, e in zip(outs, test, strict=True)]
    run.log_samples({"prompt": e.prompt, "target": e.response, "output": o[0].text, "correct": c}
                    for e, o, c in zip(test, outs, correct, strict=True))
    fig, ax = plt.subplots(figsize=(5, 3))
    steps, losses = zip(*log["losses"], strict=True)
    ax.plot(steps, losses)
    ax.set(xlabel="step", ylabel="train loss", yscale="log",
           title=f"{cfg.size} on '{cfg.task}'")
    run.save_plot(fig, "learning_curve")
    acc = sum(correct) / len(correct)
    run.finish({"exact_match": acc, "parameters": count_parameters(model),
                "final_train_loss": losses[-1], "train_tokens_per_second": log["tokens_per_second"],
                "cache_entry": str(path)},
               [Claim("A tiny LM trained from scratch learns the synthetic task.",
                      f"exact match {acc:.1%} on {len(test)} held-out examples",
                      "reproduced" if acc > 0.5 else "inconclusive")], seeds=[cfg.train.seed])
    return run.dir
