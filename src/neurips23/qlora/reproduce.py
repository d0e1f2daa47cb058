"""`neurips23 reproduce qlora`: QLoRA's findings at CPU scale, each with a rule fixed in the config.

1. Finetuning (Tables 3-4): a tiny Llama pretrained on digit tasks is finetuned on a new task
   under five arms (`qlora.comparison`) over seeds. Does NF4+DQ QLoRA match bf16 LoRA (Table 4's
   BF16 53.0 vs NF4+DQ 53.1), and full finetuning (Table 3)? Does NF4 beat FP4?
2. Data types on a real model (§3, Table 2), SmolLM2-135M-Instruct: does NF4 quantize its weight
   matrices with less error than FP4 and Int4, and does NF4+DQ keep its perplexity on held-out
   prose below FP4's and Int4's?
3. Memory: the peak of one LoRA step on SmolLM2, NF4+DQ vs bf16 base, each in its own process.
4. Storage: 4.127 bits/param with DQ is arithmetic; it is checked and labelled computed.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from neurips23.core.claims import Claim, Rule, combine, computed_claim, measured_claim
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.qlora.config import ARMS, PROFILES, QLoRAConfig

# --- the finetuning arms ------------------------------------------------------------------


def summarize(rows: list[dict], cfg: QLoRAConfig) -> dict[str, Any]:
    """Per-arm mean and 95% t-interval over seeds of accuracy and held-out loss."""
    from neurips23.core.stats import t_interval

    arms: dict[str, Any] = {}
    for arm in cfg.arms:
        mine = [r for r in rows if r["arm"] == arm]
        if not mine:
            continue
        arms[arm] = {"label": ARMS[arm], "n_seeds": len(mine),
                     "linear_bits_per_param": mine[0]["linear_bits_per_param"],
                     "linear_bytes": mine[0]["linear_bytes"],
                     "trainable_params": mine[0]["trainable_params"],
                     "train_seconds": sum(r["train_seconds"] for r in mine) / len(mine)}
        for key in ("accuracy", "heldout_loss"):
            mean, low, high = t_interval([r[key] for r in mine])
            arms[arm].update({key: mean, f"{key}_low": low, f"{key}_high": high})
    return arms


def paired(rows: list[dict], a: str, b: str, key: str) -> list[float]:
    """Per-seed differences arm a − arm b of `key` (seeds where both ran)."""
    by = {(r["arm"], r["seed"]): r[key] for r in rows}
    return [by[(a, s)] - by[(b, s)] for s in sorted({r["seed"] for r in rows})
            if (a, s) in by and (b, s) in by]


def finetune_claims(rows: list[dict], arms: dict, cfg: QLoRAConfig) -> list[Claim]:
    """NF4+DQ matches bf16 LoRA (Table 4) and full finetuning (Table 3); NF4 beats FP4."""
    from neurips23.core.stats import t_interval

    claims = []
    for ref, paper in (
            ("lora16", "QLoRA with NF4+DQ matches 16-bit LoRA (Table 4, 5-shot MMLU: BF16 53.0, "
                       "NF4+DQ 53.1); ours: NF4+DQ QLoRA vs LoRA on a bf16 base"),
            ("full", "4-bit QLoRA replicates full 16-bit finetuning (Table 3); ours: NF4+DQ QLoRA "
                     "vs full finetuning of every weight (in fp32)")):
        if "qlora_nf4_dq" not in arms or ref not in arms:
            continue
        d = paired(rows, "qlora_nf4_dq", ref, "accuracy")
        mean, low, high = t_interval(d, cfg.matches_16bit.confidence)
        claims.append(measured_claim(
            paper, f"accuracy NF4+DQ − {ARMS[ref]}", mean, (low, high), cfg.matches_16bit,
            n=len(d), preconditions=[(f"{ARMS[ref]} learned the task (mean held-out exact match "
                                      f"≥ {cfg.min_accuracy:.0%})",
                                      arms[ref]["accuracy"] >= cfg.min_accuracy)]))
    if "qlora_nf4" in arms and "qlora_fp4" in arms:
        d = paired(rows, "qlora_nf4", "qlora_fp4", "heldout_loss")
        mean, low, high = t_interval(d, cfg.nf4_beats_fp4.confidence)
        claims.append(measured_claim(
            "NF4 beats FP4 as the storage type of a finetuned base (Table 4: FP4 52.2 vs NF4+DQ "
            "53.1 MMLU)", "held-out loss NF4 − FP4 (nats/token)", mean, (low, high),
            cfg.nf4_beats_fp4, n=len(d),
            preconditions=[("the 4-bit arms learned something (QLoRA NF4 mean exact match "
                            f"≥ {cfg.min_accuracy:.0%})",
                            arms["qlora_nf4"]["accuracy"] >= cfg.min_accuracy)]))
    return claims


def storage_claim(arms: dict) -> Claim | None:
    """4.127 bits/param with DQ (§3): our measured bytes against the paper's arithmetic."""
    from neurips23.qlora.memory import bits_per_parameter

    if "qlora_nf4_dq" not in arms:
        return None
    bits = arms["qlora_nf4_dq"]["linear_bits_per_param"]
    nodq = arms.get("qlora_nf4", {}).get("linear_bits_per_param", float("nan"))
    formula = bits_per_parameter(64, True)
    return computed_claim(
        "Double quantization stores a parameter in 4.127 bits (4.5 without DQ)",
        f"the NF4+DQ base's linear weights occupy {bits:.3f} bits/param ({nodq:.3f} without DQ); "
        f"4 + 8/64 + 32/(64·256) = {formula:.3f}", abs(bits - formula) < 0.01)


# --- the real model: data types, perplexity, memory ----------------------------------------


def mse_claim(mse: dict[str, list[float]], rule: Rule) -> Claim:
    """NF4's round-trip error below FP4's and Int4's on every weight matrix (t over matrices)."""
    from neurips23.core.stats import t_interval

    parts, texts = [], []
    for other in ("fp4", "int4"):
        logs = [math.log(a / b) for a, b in zip(mse["nf4"], mse[other], strict=True)]
        mean, low, high = t_interval(logs, rule.confidence)
        part = measured_claim(other, f"log MSE NF4/{other}", mean, (low, high), rule, n=len(logs))
        parts.append(part)
        texts.append(f"vs {other.upper()}: MSE ratio {math.exp(mean):.3f} [{math.exp(low):.3f}, "
                     f"{math.exp(high):.3f}] ({part.verdict})")
    return Claim(paper="NF4 is information-theoretically optimal for normally distributed weights "
                       "(§3): it quantizes pretrained weights with less error than FP4 and Int4",
                 ours=f"SmolLM2-135M's {len(mse['nf4'])} linear weight matrices (bf16, blocksize "
                      "64; the checkpoint had been Q4_1-quantized before): geometric-mean " +
                      "; ".join(texts), verdict=combine(p.verdict for p in parts),
                 statistic="log MSE ratio per matrix", n=len(mse["nf4"]), rule=vars(rule))


def perplexity_claims(table: Any, rule: Rule) -> list[Claim]:
    """NF4+DQ perplexity below FP4's and Int4's (Table 2), bootstrap over chunks."""
    from neurips23.qlora.datatypes import PAPER_TABLE2

    claims = []
    n = len(table.nll["nf4_dq"])
    learned = table.perplexity("bf16") < 100
    for other in ("fp4", "int4"):
        est, low, high = table.log_ppl_difference("nf4_dq", other)
        claims.append(measured_claim(
            f"NF4+DQ keeps perplexity below {other.upper()} (Table 2: NF4+DQ "
            f"{PAPER_TABLE2['nf4_dq']} vs {other.upper()} {PAPER_TABLE2[other]})",
            f"log ppl NF4+DQ − {other.upper()}", est, (low, high), rule, n=n,
            ours=f"SmolLM2-135M on held-out prose: perplexity NF4+DQ "
                 f"{table.perplexity('nf4_dq'):.2f} vs {other.upper()} "
                 f"{table.perplexity(other):.2f} (bf16 {table.perplexity('bf16'):.2f}); log-ppl "
                 f"difference {est:+.4f} [{low:+.4f}, {high:+.4f}], bootstrap over {n} chunks",
            preconditions=[("the 16-bit model reads the text (perplexity < 100)", learned)]))
    return claims


def memory_claim(nf4: list, bf16: list, rule: Rule) -> Claim:
    """Peak step memory NF4+DQ / bf16 LoRA, from paired fresh-process measurements."""
    from neurips23.core.stats import t_interval

    ratios = [q.step_bytes / b.step_bytes for q, b in zip(nf4, bf16, strict=True)]
    mean, low, high = t_interval(ratios, rule.confidence)
    if len(ratios) == 1:
        low = high = float("nan")
    mib = 2 ** 20
    b0 = bf16[0]
    dominated = b0.linear_weight_bytes + b0.other_frozen_bytes >= 0.5 * b0.step_bytes
    return measured_claim(
        "QLoRA finetunes in a fraction of 16-bit memory (65B: under 48 GB; weights in 4.127 "
        "instead of 16 bits/param)", "peak step memory NF4+DQ / bf16 LoRA", mean, (low, high),
        rule, n=len(ratios),
        ours=f"one LoRA step on SmolLM2-135M ({nf4[0].trainable_params:,} trainable params), "
             f"memory the model and step add to a fresh process: NF4+DQ "
             f"{_mean(q.step_bytes for q in nf4) / mib:.0f} MiB vs bf16 "
             f"{_mean(b.step_bytes for b in bf16) / mib:.0f} MiB, ratio {mean:.3f}"
             + ("" if math.isnan(low) else f" [{low:.3f}, {high:.3f}]") + f", n = {len(ratios)}",
        preconditions=[("the bf16 step's memory is mostly frozen weights (≥ half), so storage "
                        "can decide it", dominated)])


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


def real_model_findings(cfg: QLoRAConfig, run) -> tuple[dict, list[Claim], dict[str, list]]:
    """MSE per weight matrix, perplexity per storage type, and step memory on SmolLM2."""
    import torch

    from neurips23.lm.models import load_model
    from neurips23.qlora.datatypes import HELD_OUT_SOURCE, PAPER_TABLE2, table2_perplexities
    from neurips23.qlora.step_memory import measure_step_memory

    model, tok = load_model(cfg.real_model, dtype=torch.float32)
    run.log(f"{cfg.real_model}: every linear weight in each 4-bit type; perplexity on "
            f"{cfg.ppl_chunks} x {cfg.ppl_chunk_tokens} tokens")
    table = table2_perplexities(model, tok, cfg.ppl_chunks, cfg.ppl_chunk_tokens, log=run.log)
    mse = table.mse
    del model
    mem: dict[str, list] = {"nf4": [], "bf16": []}
    for i in range(cfg.memory_repeats):
        for weights in ("nf4", "bf16"):
            run.log(f"{cfg.real_model}: one LoRA step, {weights} base (fresh process {i + 1})")
            mem[weights].append(measure_step_memory(cfg.real_model, weights, cfg.memory_rank,
                                                    cfg.memory_batch, cfg.memory_seq, seed=i))
    claims = [mse_claim(mse, cfg.mse_order), *perplexity_claims(table, cfg.ppl_order),
              memory_claim(mem["nf4"], mem["bf16"], cfg.memory_ratio)]
    tokens = table.tokens_per_chunk * len(table.nll["bf16"])
    names = {"bf16": "16-bit (bf16)", "int4": "Int4", "fp4": "FP4 (E2M1)", "nf4": "NF4",
             "nf4_dq": "NF4 + DQ"}
    ppl_rows = [{"storage of linear weights": names[k], "SmolLM2-135M perplexity":
                 f"{table.perplexity(k):.2f}", "paper (LLaMA, Pile-CC)": PAPER_TABLE2.get(k, "–"),
                 "MSE per weight (mean over matrices)": f"{_mean(mse[k]):.3g}" if k in mse else "–"}
                for k in ("bf16", "int4", "fp4", "nf4", "nf4_dq")]
    mib = 2 ** 20
    mem_rows = [{"base": w, "model adds (MiB)": f"{_mean(m.model_bytes for m in ms) / mib:.0f}",
                 "step peak adds (MiB)": f"{_mean(m.step_bytes for m in ms) / mib:.0f}",
                 "linear weights (MiB)": f"{ms[0].linear_weight_bytes / mib:.0f}",
                 "other frozen (MiB)": f"{ms[0].other_frozen_bytes / mib:.0f}",
                 "step (s)": f"{_mean(m.step_seconds for m in ms):.1f}"} for w, ms in mem.items()]
    metrics = {"held_out_text": f"{HELD_OUT_SOURCE} (Python {sys.version.split()[0]})",
               "held_out_tokens": tokens, "perplexity": {k: table.perplexity(k) for k in table.nll},
               "weight_mse_mean": {k: _mean(v) for k, v in mse.items()},
               "n_weight_matrices": len(mse["nf4"]),
               "step_memory": {w: [vars(m) for m in ms] for w, ms in mem.items()}}
    return metrics, claims, {"Table 2 on SmolLM2-135M (held-out prose, "
                             f"{tokens:,} tokens)": ppl_rows,
                             "one LoRA step on SmolLM2-135M, fresh process each": mem_rows}


# --- the run ---------------------------------------------------------------------------------


def arms_table(arms: dict) -> list[dict]:
    """Accuracy and held-out loss per arm (mean [95% t-interval] over seeds), storage."""
    def cell(a: dict, key: str, fmt: str) -> str:
        low, high = a[f"{key}_low"], a[f"{key}_high"]
        return format(a[key], fmt) + ("" if math.isnan(low) else
                                      f" [{format(low, fmt)}, {format(high, fmt)}]")

    return [{"arm": a["label"], "exact match": cell(a, "accuracy", ".3f"),
             "held-out loss": cell(a, "heldout_loss", ".3f"),
             "bits/param (linear)": f"{a['linear_bits_per_param']:.3f}", "seeds": a["n_seeds"]}
            for a in arms.values()]


def plot(arms: dict):
    """Accuracy and held-out loss per arm with 95% t-intervals over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(arms)
    labels = [arms[a]["label"].replace(") ", ")\n").replace(", ", "\n") for a in names]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in [(axes[0], "accuracy", "held-out exact match"),
                           (axes[1], "heldout_loss", "held-out loss (nats/token)")]:
        err = [0.0 if math.isnan(arms[a][f"{key}_high"]) else arms[a][f"{key}_high"] - arms[a][key]
               for a in names]
        ax.bar(range(len(names)), [arms[a][key] for a in names], yerr=err, capsize=4,
               color=["#888", "#4a7", "#c84", "#48c", "#26a"][: len(names)])
        ax.set_xticks(range(len(names)), labels, fontsize=7)
        ax.set_title(title)
    fig.tight_layout()
    return fig


def run_qlora(cfg: QLoRAConfig, run) -> Outcome:
    """The finetuning arms (tiny model, over seeds), then the real-model measurements."""
    from neurips23.qlora.comparison import pretrained_model, rotate_examples, run_arm

    base = pretrained_model(cfg)
    train = rotate_examples(cfg.n_train, 1)
    test = rotate_examples(cfg.n_test, 2, exclude={e.prompt[4:-2] for e in train})
    rows = []
    for seed in cfg.seeds:
        for arm in cfg.arms:
            run.log(f"{ARMS[arm]}, seed {seed}")
            row = run_arm(arm, base, cfg, seed, train, test)
            run.log_samples([{"arm": arm, "seed": seed, **s} for s in row.pop("samples")])
            rows.append(row)
    arms = summarize(rows, cfg)
    claims = finetune_claims(rows, arms, cfg)
    storage = storage_claim(arms)
    run.save_plot(plot(arms), "qlora_arms")
    real, real_claims, tables = real_model_findings(cfg, run)
    claims += real_claims + ([storage] if storage else [])
    metrics = {"arms": arms, "per_seed": rows, "base_model": str(base), "real_model": real}
    return Outcome(metrics, claims, tables={"finetuning arms (tiny Llama, rotate task)":
                                            arms_table(arms), **tables},
                   notes="Timings on a shared 2-core CPU. Arms b-e compute in "
                         f"{cfg.compute_dtype}; (a) trains all weights in fp32. SmolLM2's "
                         "weights went through Q4_1 quantization before we see them: its "
                         "'16-bit' figures are for the Q4_1-dequantized weights rounded to bf16. "
                         "The held-out prose (Python's documentation) may overlap SmolLM2's "
                         "pretraining data; every storage type is compared on the same text.")


REPRODUCTION = Reproduction(name="qlora", title="QLoRA (Dettmers et al., 2023): 4-bit NF4 + DQ "
                            "LoRA finetuning", config=QLoRAConfig, profiles=PROFILES, run=run_qlora)
