"""`neurips23 dpo ...`: train a policy on preference pairs, write toy data (the §6.1 frontier is
`neurips23 reproduce dpo`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from neurips23.core.cli_config import base_config, config_command, param
from neurips23.dpo.trainer import DPOTrainConfig
from neurips23.errors import ConfigError

app = typer.Typer(help="DPO (Rafailov et al., 2023): preference optimisation without a reward "
                       "model or RL.", no_args_is_help=True)


@dataclass
class TrainCommand(DPOTrainConfig):
    """`neurips23 dpo train`: DPOTrainConfig's settings (the trainer's as `train.KEY`) and the
    command's own."""

    model: str = param("", "Policy to start from (the SFT model): local dir or hub name.")
    data: str = param("", "JSONL of {prompt, chosen, rejected}.")
    out: Path = param(Path("dpo-out"), "Output dir: model/ (or adapter/), logs, checkpoint.")
    ref: str = param("", "Reference model (default: a frozen copy of --model, or the "
                         "adapter-disabled base with --lora-rank).")
    lora_rank: int = param(0, "Train LoRA adapters of this rank (0: full finetune).")
    load_4bit: bool = param(False, "NF4+DQ base (QLoRA); needs --lora-rank.")
    device: str = param("", "cpu, cuda, cuda:1, ... (default: where the model loads).")
    restart: bool = param(False, "Discard a checkpoint in --out left by another run (by default "
                                 "it is an error).")

    def validate(self) -> None:
        """ConfigError for a missing --model or --data, then DPOTrainConfig's checks."""
        for name in ("model", "data"):
            if not getattr(self, name):
                raise ConfigError(f"--{name} is required")
        super().validate()


@config_command(app, TrainCommand)
def train(cfg: TrainCommand) -> None:
    """Train a policy with the DPO loss; prints the last step's logs."""
    from neurips23.dpo.run import train_dpo

    _, result = train_dpo(cfg.model, cfg.data, base_config(cfg, DPOTrainConfig), cfg.out,
                          ref_model=cfg.ref or None, lora_rank=cfg.lora_rank,
                          load_in_4bit=cfg.load_4bit, device=cfg.device or None, restart=cfg.restart)
    last = result.final
    typer.echo(f"step {last.get('step')}: loss {last.get('loss', float('nan')):.4f}, reward accuracy "
               f"{last.get('reward_accuracy', float('nan')):.2f}, margin "
               f"{last.get('reward_margin', float('nan')):.3f} ({result.pairs_per_second:.1f} pairs/s)")
    typer.echo(f"saved to {cfg.out}")


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
