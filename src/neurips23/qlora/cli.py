"""`neurips23 qlora ...`: memory, finetune, merge, quant-error (the reproduction is `neurips23 reproduce qlora`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from neurips23.core.cli_config import base_config, config_command, finite, param
from neurips23.errors import ConfigError
from neurips23.qlora.config import FinetuneConfig

app = typer.Typer(help="QLoRA (Dettmers et al., 2023): NF4 + double quantization + LoRA "
                       "finetuning of a 4-bit model.", no_args_is_help=True)


@app.command()
def memory(
    model: str = typer.Option(..., help="Local model dir / config.json, tiny size name, or hub name."),
    rank: int = typer.Option(64, help="LoRA rank."),
    gpu_gb: float = typer.Option(None, "--gpu-gb", help="Say whether the finetune fits in X GB.", callback=finite),
    seq_len: int = typer.Option(512, help="Sequence length (for the rough activation estimate)."),
    batch_size: int = typer.Option(1, help="Batch size (for the rough activation estimate)."),
) -> None:
    """Bits/param and bytes of 16-bit, NF4, NF4+DQ and LoRA finetuning, from the config alone."""
    from rich.console import Console
    from rich.table import Table

    from neurips23.qlora.memory import format_report, memory_report

    rep = memory_report(model, rank=rank, batch_size=batch_size, seq_len=seq_len)
    table = Table("", "", title=f"QLoRA memory: {model}", show_header=False)
    for label, value in format_report(rep, gpu_gb):
        table.add_row(label, value)
    Console().print(table)


@dataclass
class FinetuneCommand(FinetuneConfig):
    """`neurips23 qlora finetune`: the recipe (the trainer's settings as `train.KEY`) and the
    command's own settings."""

    model: str = param("", "Base causal LM: local dir, cached tiny model, hub name.")
    data: str = param("", "JSONL of {prompt, response} or {text}.")
    out: Path = param(Path("qlora-out"), "Output dir (adapter/ and checkpoint.pt, written every "
                                         "train.checkpoint_every steps; a rerun with the same "
                                         "settings resumes from it).")
    device: str = param("", "cpu, cuda, cuda:1, ... (default: where the model loads).")
    restart: bool = param(False, "Discard a checkpoint in --out left by another run (by default "
                                 "it is an error).")

    def validate(self) -> FinetuneCommand:
        """ConfigError for a missing --model or --data or a storage the loader cannot build,
        then the recipe's checks (all before anything is loaded)."""
        from neurips23.lm.adapters import quantization_config

        for name in ("model", "data"):
            if not getattr(self, name):
                raise ConfigError(f"--{name} is required")
        quantization_config(self.weights, self.double_quant, self.compute_dtype)
        super().validate()
        return self


@config_command(app, FinetuneCommand)
def finetune(cfg: FinetuneCommand) -> None:
    """Finetune LoRA adapters on a 4-bit NF4+DQ base (only the adapters train)."""
    from neurips23.qlora.finetune import finetune as run_finetune
    from neurips23.qlora.finetune import read_training_data

    tok = _tokenizer(cfg.model)
    examples = read_training_data(cfg.data, tok, cfg.train.max_length)
    _, _, result = run_finetune(cfg.model, examples, base_config(cfg, FinetuneConfig), out_dir=cfg.out,
                                device=cfg.device or None, restart=cfg.restart)
    typer.echo(f"final train loss {result.final_loss:.4f} after {result.steps} steps "
               f"({result.tokens_per_second:,.0f} tokens/s); adapter: {cfg.out / 'adapter'}")


def _tokenizer(model: str):
    from transformers import AutoTokenizer

    from neurips23.errors import UserError

    path = Path(model).expanduser()
    if (path.exists() or model.startswith((".", "/", "~"))) and not (path / "config.json").exists():
        raise UserError(f"{path}: not a model directory (no config.json)")
    try:
        return AutoTokenizer.from_pretrained(str(path) if path.exists() else model)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot load the tokenizer of {model!r}: {str(e).splitlines()[0]}") from None


@app.command()
def merge(
    adapter: Path = typer.Option(..., help="The output dir of `qlora finetune` (or its adapter/)."),
    out: Path = typer.Option(..., help="Where to write the merged model."),
    dtype: str = typer.Option("bfloat16", help="bfloat16 | float16 | float32."),
    base: str = typer.Option(None, help="Override the base model recorded with the adapter."),
) -> None:
    """Merge the adapters into the *dequantized* base and save a 16-bit model."""
    from neurips23.qlora.finetune import merge as run_merge

    typer.echo(f"merged model: {run_merge(adapter, out, dtype=dtype, base=base)}")


@app.command("quant-error")
def quant_error(
    model: str = typer.Option(..., help="Local model dir or cached tiny model."),
    blocksize: int = typer.Option(64),
) -> None:
    """Quantization MSE of NF4, NF4+DQ, FP4 and Int4 on a model's linear weights."""
    from neurips23.qlora.comparison import weight_quantization_mse

    mse = weight_quantization_mse(Path(model), blocksize)
    for k, v in mse.items():
        typer.echo(f"{k:16s} {v:.4e}")
