"""`neurips23 toolformer annotate | finetune | generate` on any causal LM and a JSONL corpus."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import typer

from neurips23.core.cli_config import config_command, param
from neurips23.lm.train import TrainConfig

app = typer.Typer(help="Toolformer (Schick et al., 2023): a language model annotates text with "
                       "API calls, keeps the ones that help, and learns to call tools.",
                  no_args_is_help=True)

TOOLS_HELP = "Tools: calculator, calendar, wikisearch (needs --passages), qa."
MODEL_HELP = "Causal LM: a tiny-model cache dir, a local path, a hub name, or smollm2-135m."


@dataclass
class AnnotateConfig:
    """Sample → execute → filter over a corpus; writes C* and every sampled call."""

    model: str = param("", MODEL_HELP)
    data: str = param("", "JSONL corpus: one {\"text\": ..., \"date\": \"YYYY-MM-DD\"?} per line.")
    out: str = param("annotated.jsonl", "Output JSONL: per text, x* (as 'text'), the original, "
                                        "and every sampled call with its losses.")
    tools: list[str] = param(["calculator", "calendar"], TOOLS_HELP)
    passages: str = param("", "Retrieval corpus for wikisearch: JSONL of {text} passages.")
    qa_model: str = param("", "Model that answers QA calls (default: --model itself).")
    tau_s: float | None = param(None, "Sampling threshold τ_s (default: App. A, per tool).")
    k: int | None = param(None, "Positions kept per text (default: App. A, per tool).")
    m: int | None = param(None, "Calls sampled per position (default: App. A, per tool).")
    tau_f: float | None = param(None, "Filtering threshold τ_f (default: App. A, per tool).")
    window: int = param(5, "Tokens the filter's weights reach.")
    placement: Literal["prefix", "inline"] = param("prefix", "Where z goes when filtering.")
    use_prompt: bool = param(True, "Condition on the tool's few-shot prompt P(x) (App. A.2).")
    force_tool_name: bool = param(False, "Continue '[Tool(' instead of '[' (for a model seeded "
                                         "with calls that cannot read a prompt).")
    max_call_tokens: int = param(32, "Longest call sampled, in tokens.")
    temperature: float = param(1.0, "Sampling temperature for calls.")
    today: str = param("", "The calendar's date for texts without one (default: none, so the "
                       "calendar fails on undated texts; never the system date).")
    calculator_other_rate: float = param(0.01, "Share of texts the calculator sees that have 3 "
                                         "numbers but no result of two of them and no '=', "
                                         "'total of'... cue (App. A.1: 1%; 1 keeps all).")
    seed: int = param(0, "Sampling seed (also picks App. A.1's 1% of number-only texts).")
    batch_size: int = param(16, "Sequences per forward pass.")
    device: str = param("", "cpu, cuda, cuda:1, ... (default: cpu).")

    def validate(self) -> None:
        """Refuse a bad calculator rate before the model loads."""
        from neurips23.toolformer.tools import check_other_rate

        check_other_rate(self.calculator_other_rate)


@dataclass
class FinetuneConfig:
    """Finetune a causal LM on C* (a JSONL of {text}, e.g. the output of annotate)."""

    model: str = param("", MODEL_HELP)
    data: str = param("", "JSONL of {\"text\": ...}: the augmented corpus C*.")
    out: str = param("toolformer-model", "Directory for the finetuned model and its checkpoint.")
    # the core trainer's settings: lr 1e-5 with 10% warmup as in the paper; max_length, the
    # longest text in tokens (paper: 1,024); a checkpoint every checkpoint_every steps, from
    # which a rerun resumes
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=200, batch_size=16, lr=1e-5, warmup_ratio=0.1, max_length=512, checkpoint_every=50))
    device: str = param("", "cpu, cuda, ... (default: cpu).")


@dataclass
class GenerateConfig:
    """Decode with tools: '[' in the top-k opens a call, '->' runs it."""

    model: str = param("", MODEL_HELP)
    prompt: str = param("", "One prompt (or use --data).")
    data: str = param("", "JSONL of {\"text\": prompt, \"date\"?: \"YYYY-MM-DD\"} per line.")
    out: str = param("", "Write JSONL results here (default: print).")
    tools: list[str] = param(["calculator", "calendar"], TOOLS_HELP)
    passages: str = param("", "Retrieval corpus for wikisearch: JSONL of {text} passages.")
    qa_model: str = param("", "Model that answers QA calls (default: --model itself).")
    mode: Literal["enabled", "disabled"] = param("enabled", "disabled: p('[') = 0 throughout.")
    top_k: int = param(10, "Open a call when '[' is among the top-k tokens (paper: 10).")
    max_calls: int = param(1, "Calls per input (paper: 1).")
    max_new_tokens: int = param(64, "Tokens generated per prompt, calls included.")
    stop: list[str] = param([], "Stop strings (comma-separated).")
    today: str = param("", "The calendar's date for prompts without one (default: none, so a "
                       "calendar call on an undated prompt fails; never the system date).")
    batch_size: int = param(16, "Prompts decoded together.")
    device: str = param("", "cpu, cuda, ... (default: cpu).")


def _require(value: str, flag: str) -> str:
    from neurips23.errors import ConfigError

    if not value:
        raise ConfigError(f"{flag} is required")
    return value


def _tools(names, passages: str, qa_model: str, model, tok, today: str, device: str,
           calculator_other_rate: float = 0.01, seed: int = 0):
    from neurips23.lm.backends.hf import HFBackend
    from neurips23.toolformer.corpus import parse_date, read_passages
    from neurips23.toolformer.tools import make_tools

    lowered = [n.strip().lower() for n in names]
    qa = None
    if "qa" in lowered:
        qa = HFBackend.from_pretrained(qa_model, device=device or None) if qa_model else \
            HFBackend(model, tok, name="annotating model")
    return make_tools(names, passages=read_passages(passages) if passages else (), qa_model=qa,
                      today=parse_date(today, "--today") if today else None,
                      calculator_other_rate=calculator_other_rate, seed=seed)


@config_command(app, AnnotateConfig)
def annotate(cfg: AnnotateConfig) -> None:
    """Annotate a corpus with API calls (§2): sample, execute, filter; write C*."""
    from rich.console import Console

    from neurips23.lm.models import load_model
    from neurips23.toolformer.annotate import annotate as run_annotate
    from neurips23.toolformer.annotate import paper_configs
    from neurips23.toolformer.corpus import read_corpus, write_annotations

    docs = read_corpus(_require(cfg.data, "--data"))
    model, tok = load_model(_require(cfg.model, "--model"), device=cfg.device or None)
    tools = _tools(cfg.tools, cfg.passages, cfg.qa_model, model, tok, cfg.today, cfg.device,
                   cfg.calculator_other_rate, cfg.seed)
    sampling, filtering = paper_configs(
        list(tools), tau_s=cfg.tau_s, k=cfg.k, m=cfg.m, tau_f=cfg.tau_f, window=cfg.window,
        placement=cfg.placement, max_call_tokens=cfg.max_call_tokens,
        temperature=cfg.temperature, use_prompt=cfg.use_prompt,
        force_tool_name=cfg.force_tool_name, batch_size=cfg.batch_size)
    console = Console(stderr=True)
    anns = run_annotate(model, tok, docs, tools, sampling, filtering, seed=cfg.seed,
                        log=console.print)
    n = write_annotations(cfg.out, docs, anns)
    console.print(f"wrote {len(docs)} texts ({n} with calls) to {cfg.out}")


@config_command(app, FinetuneConfig)
def finetune(cfg: FinetuneConfig) -> None:
    """Finetune on C* with the core trainer (checkpoints atomically, resumes exactly)."""
    from neurips23.lm.models import load_model, save_model
    from neurips23.toolformer.corpus import read_corpus
    from neurips23.toolformer.finetune import finetune as run_finetune

    texts = [d.text for d in read_corpus(_require(cfg.data, "--data"))]
    model, tok = load_model(_require(cfg.model, "--model"), device=cfg.device or None)
    result = run_finetune(model, tok, texts, cfg.train, out_dir=cfg.out, progress=True)
    save_model(model, tok, cfg.out)
    typer.echo(f"{result.steps} steps, final loss {result.final_loss:.4f} "
               f"({result.tokens_per_second:,.0f} tokens/s); saved to {cfg.out}")


@config_command(app, GenerateConfig)
def generate(cfg: GenerateConfig) -> None:
    """Generate with tool calls; prints (or writes) each text with its calls."""
    import json

    from neurips23.errors import ConfigError
    from neurips23.lm.models import load_model
    from neurips23.toolformer.corpus import read_corpus
    from neurips23.toolformer.inference import InferenceConfig, generate_with_tools
    from neurips23.toolformer.tools import Document
    from neurips23.utils import atomic_write_text

    if bool(cfg.prompt) == bool(cfg.data):
        raise ConfigError("give exactly one of --prompt or --data")
    docs = read_corpus(cfg.data) if cfg.data else [Document(cfg.prompt)]
    model, tok = load_model(_require(cfg.model, "--model"), device=cfg.device or None)
    tools = _tools(cfg.tools, cfg.passages, cfg.qa_model, model, tok, cfg.today, cfg.device)
    inf = InferenceConfig(mode=cfg.mode, top_k=cfg.top_k, max_calls=cfg.max_calls,
                          max_new_tokens=cfg.max_new_tokens, stop=tuple(cfg.stop),
                          batch_size=cfg.batch_size)
    outs = generate_with_tools(model, tok, [d.text for d in docs], tools, inf, docs)
    rows = [{"prompt": d.text, "output": o.text, "visible": o.visible,
             "calls": [{"call": None if c is None else f"{c.tool}({c.args})", "result": r}
                       for c, r in o.calls]} for d, o in zip(docs, outs, strict=True)]
    if cfg.out:
        atomic_write_text(cfg.out, "".join(json.dumps(r) + "\n" for r in rows))
        typer.echo(f"wrote {len(rows)} results to {cfg.out}")
    else:
        for r in rows:
            typer.echo(r["prompt"] + r["output"])
