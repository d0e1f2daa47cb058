"""`neurips23 dpo ...`: train a policy on preference pairs, write toy data (the §6.1 frontier is
`neurips23 reproduce dpo`)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="DPO (Rafailov et al., 2023): preference optimisation without a reward "
                       "model or RL.", no_args_is_help=True)


@app.command()
def train(
    model: str = typer.Option(..., help="Policy to start from (the SFT model): local dir or hub name."),
    data: Path = typer.Option(..., help="JSONL of {prompt, chosen, rejected}."),
    out: Path = typer.Option(Path("dpo-out"), help="Output dir: model/ (or adapter/), logs, checkpoint."),
    ref: str = typer.Option(None, help="Reference model (default: a frozen copy of --model, or the "
                                       "adapter-disabled base with --lora-rank)."),
    beta: float = typer.Option(None, help="KL weight β (paper: 0.1; 0.5 for TL;DR) [default: 0.1]"),
    loss_type: str = typer.Option(None, help="sigmoid (DPO) | ipo [default: sigmoid]"),
    label_smoothing: float = typer.Option(None, help="Conservative DPO flip rate ε [default: 0]"),
    reference_free: bool = typer.Option(None, "--reference-free/--with-reference",
                                        help="Ignore the reference (log π_ref = 0)."),
    steps: int = typer.Option(None, help="[default: 100]"),
    batch_size: int = typer.Option(None, help="[default: 16]"),
    lr: float = typer.Option(None, help="Paper: 1e-6 for billion-parameter models [default: 1e-4]"),
    max_length: int = typer.Option(None, help="Prompt + response tokens [default: 256]"),
    max_prompt_length: int = typer.Option(None, help="[default: 128]"),
    lora_rank: int = typer.Option(0, help="Train LoRA adapters of this rank (0: full finetune)."),
    load_4bit: bool = typer.Option(False, "--load-4bit", help="NF4+DQ base (QLoRA); needs --lora-rank."),
    checkpoint_every: int = typer.Option(None, help="Checkpoint every N steps (resumes from out/)."),
    seed: int = typer.Option(None, help="[default: 0]"),
    device: str = typer.Option(None, help="cpu, cuda, cuda:1, ..."),
    restart: bool = typer.Option(False, "--restart", help="Discard a checkpoint in --out left by "
                                 "another run (by default it is an error)."),
    config: Path = typer.Option(None, "--config", help="YAML file of DPOTrainConfig keys "
                                "(options and --set win over it)."),
    set_: list[str] = typer.Option([], "--set", help="Any other DPOTrainConfig field, key=value "
                                   "(trainer settings as train.KEY, e.g. train.warmup_steps=150)."),
) -> None:
    """Train a policy with the DPO loss; prints the last step's logs."""
    from neurips23.config import load_config
    from neurips23.dpo.run import train_dpo
    from neurips23.dpo.trainer import DPO_TRAIN_DEFAULTS, DPOTrainConfig

    train_options = dict(steps=steps, batch_size=batch_size, lr=lr, max_length=max_length,
                         checkpoint_every=checkpoint_every, seed=seed)
    options = dict(beta=beta, loss_type=loss_type, label_smoothing=label_smoothing,
                   reference_free=reference_free, max_prompt_length=max_prompt_length,
                   train={k: v for k, v in train_options.items() if v is not None})
    # the trainer section starts from DPO's defaults, so `--set train.lr=...` keeps the rest
    cfg = load_config(DPOTrainConfig, config, set_, base={"train": dict(DPO_TRAIN_DEFAULTS)},
                      options=options)
    cfg.validate()
    _, result = train_dpo(model, data, cfg, out, ref_model=ref, lora_rank=lora_rank,
                          load_in_4bit=load_4bit, device=device, restart=restart)
    last = result.final
    typer.echo(f"step {last.get('step')}: loss {last.get('loss', float('nan')):.4f}, reward accuracy "
               f"{last.get('reward_accuracy', float('nan')):.2f}, margin "
               f"{last.get('reward_margin', float('nan')):.3f} ({result.pairs_per_second:.1f} pairs/s)")
    typer.echo(f"saved to {out}")


@app.command("toy-data")
def toy_data(
    out: Path = typer.Option(Path("prefs.jsonl"), help="Where to write the JSONL."),
    model_out: Path = typer.Option(None, help="Also save a fresh tiny model + tokenizer here."),
    n: int = typer.Option(64), seed: int = typer.Option(0),
) -> None:
    """Write a small random preference JSONL (and a tiny model) to try `dpo train` offline."""
    import json

    from neurips23.dpo.toy import toy_model_and_tokenizer, toy_pairs

    with out.open("w", encoding="utf-8") as f:
        for p in toy_pairs(n, seed):
            f.write(json.dumps({"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}) + "\n")
    typer.echo(f"wrote {n} pairs to {out}")
    if model_out is not None:
        from neurips23.lm.models import save_model

        save_model(*toy_model_and_tokenizer(seed=seed), model_out)
        typer.echo(f"wrote a tiny model to {model_out}")
