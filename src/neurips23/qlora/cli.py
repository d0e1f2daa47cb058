"""`neurips23 qlora ...`: memory, finetune, merge, quant-error (the reproduction is `neurips23 reproduce qlora`)."""

from __future__ import annotations

from pathlib import Path

import typer

from neurips23.core.cli_config import finite

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


@app.command()
def finetune(
    model: str = typer.Option(..., help="Base causal LM: local dir, cached tiny model, hub name."),
    data: Path = typer.Option(..., help="JSONL of {prompt, response} or {text}."),
    out: Path = typer.Option(Path("qlora-out"), help="Output dir (adapter/ and checkpoint)."),
    weights: str = typer.Option("nf4", help="Frozen base storage: nf4 | fp4 | bf16 | fp32."),
    double_quant: bool = typer.Option(True, help="Double quantization of the constants."),
    compute_dtype: str = typer.Option("bfloat16", help="bfloat16 | float16 | float32."),
    rank: int = typer.Option(64), alpha: float = typer.Option(16.0, callback=finite),
    dropout: float = typer.Option(0.0, help="0.1 for <=13B models in the paper.", callback=finite),
    steps: int = typer.Option(200), batch_size: int = typer.Option(16),
    lr: float = typer.Option(2e-4, callback=finite), max_length: int = typer.Option(256),
    max_grad_norm: float = typer.Option(0.3, callback=finite),
    warmup_ratio: float = typer.Option(0.03, callback=finite),
    gradient_checkpointing: bool = typer.Option(False),
    checkpoint_every: int = typer.Option(50, help="Write out/checkpoint.pt every N steps; a rerun "
                                         "with the same settings resumes from it (0: never)."),
    seed: int = typer.Option(0), device: str = typer.Option(None, help="cpu, cuda, cuda:1, ..."),
    restart: bool = typer.Option(False, "--restart", help="Discard a checkpoint in --out left by "
                                 "another run (by default it is an error)."),
) -> None:
    """Finetune LoRA adapters on a 4-bit NF4+DQ base (only the adapters train)."""
    from neurips23.lm.adapters import quantization_config
    from neurips23.qlora.finetune import FinetuneConfig, read_training_data
    from neurips23.qlora.finetune import finetune as run_finetune

    quantization_config(weights, double_quant, compute_dtype)  # validate before loading anything
    cfg = FinetuneConfig(weights=weights, double_quant=double_quant, compute_dtype=compute_dtype,
                      rank=rank, alpha=alpha, dropout=dropout, steps=steps, batch_size=batch_size,
                      lr=lr, max_length=max_length, max_grad_norm=max_grad_norm,
                      warmup_ratio=warmup_ratio, gradient_checkpointing=gradient_checkpointing,
                      seed=seed, checkpoint_every=checkpoint_every)
    tok = _tokenizer(model)
    examples = read_training_data(data, tok, max_length)
    _, _, result = run_finetune(model, examples, cfg, out_dir=out, device=device, restart=restart)
    typer.echo(f"final train loss {result.final_loss:.4f} after {result.steps} steps "
               f"({result.tokens_per_second:,.0f} tokens/s); adapter: {out / 'adapter'}")


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
