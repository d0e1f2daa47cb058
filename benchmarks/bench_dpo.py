"""Training throughput (pairs/s) of our DPO trainer vs TRL's DPOTrainer, same model, data, batch.

Full-batch training (batch = dataset), so the two loops see identical batches and their final
losses must agree; the same AdamW (betas 0.9/0.95, no decay), constant lr, clipping at 10.

    python benchmarks/bench_dpo.py [--size micro] [--pairs 64] [--steps 30]
                                   [--out benchmarks/results/bench_dpo.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="micro")
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--out", default="benchmarks/results/bench_dpo.json")
    args = ap.parse_args()

    import datasets
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import DPOConfig as TRLConfig
    from trl import DPOTrainer as TRLTrainer

    from neurips23.dpo.toy import toy_model_and_tokenizer, toy_pairs
    from neurips23.dpo.trainer import DPOTrainConfig, DPOTrainer, dpo_train_settings
    from neurips23.utils import set_torch_threads

    set_torch_threads(1)
    datasets.disable_progress_bars()
    model, tok = toy_model_and_tokenizer(args.size, seed=0)
    pairs = toy_pairs(args.pairs, seed=1, min_len=4, max_len=16)
    n, steps = args.pairs, args.steps

    ours_cfg = DPOTrainConfig(beta=args.beta, train=dpo_train_settings(
        steps=steps, batch_size=n, lr=args.lr, schedule="constant", max_grad_norm=10.0,
        max_length=64, log_every=1))
    trainer = DPOTrainer(copy.deepcopy(model), tok, pairs, ours_cfg, progress=False)
    t0 = time.perf_counter()
    ours = trainer.train()
    ours_s = time.perf_counter() - t0

    rows = [{"prompt": p.prompt, "chosen": " " + p.chosen, "rejected": " " + p.rejected}
            for p in pairs]
    results = {"ours": {"seconds": ours_s, "pairs_per_s": steps * n / ours_s,
                        "final_loss": ours.logs[-1]["loss"]}}
    for name, precompute in (("trl", False), ("trl_precomputed_ref", True)):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TRLConfig(output_dir=tmp, beta=args.beta, loss_type=["sigmoid"], use_cpu=True,
                            bf16=False, gradient_checkpointing=False, report_to="none",
                            max_length=64, per_device_train_batch_size=n, max_steps=steps,
                            learning_rate=args.lr, lr_scheduler_type="constant", warmup_steps=0,
                            adam_beta2=0.95, weight_decay=0.0, max_grad_norm=10.0,
                            logging_steps=1, save_strategy="no", disable_tqdm=True,
                            precompute_ref_log_probs=precompute, seed=0,
                            dataloader_drop_last=False)
            trl = TRLTrainer(copy.deepcopy(model), copy.deepcopy(model).eval(), args=cfg,
                             train_dataset=Dataset.from_list(rows), processing_class=tok)
            trl.remove_callback(PrinterCallback)
            t0 = time.perf_counter()
            trl.train()
            secs = time.perf_counter() - t0
            losses = [h["loss"] for h in trl.state.log_history if "loss" in h]
            results[name] = {"seconds": secs, "pairs_per_s": steps * n / secs,
                             "final_loss": losses[-1]}
    for name in ("trl", "trl_precomputed_ref"):
        results[f"ratio_vs_{name}"] = results["ours"]["pairs_per_s"] / results[name]["pairs_per_s"]
        results[f"final_loss_diff_vs_{name}"] = abs(results["ours"]["final_loss"]
                                                    - results[name]["final_loss"])
    results["settings"] = vars(args) | {"threads": torch.get_num_threads()}
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        from neurips23.utils import atomic_write_text

        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        atomic_write_text(args.out, text + "\n")


if __name__ == "__main__":
    main()
