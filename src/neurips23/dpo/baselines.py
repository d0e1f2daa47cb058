"""The §6 baselines trained on the same preference pairs: Preferred-FT and Unlikelihood.

Both reuse the DPO trainer's loop (batches, optimizer, checkpoints) and replace its loss; neither
needs a reference model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from neurips23.dpo.loss import token_logps
from neurips23.dpo.trainer import DPOTrainConfig, DPOTrainer


def preferred_ft_loss(chosen_logps: Any, chosen_mask: Any) -> Any:
    """Preferred-FT (§6): supervised fine-tuning on the chosen responses, mean token NLL of y_w."""
    return -(chosen_logps.sum()) / chosen_mask.sum().clamp_min(1)


def unlikelihood_loss(chosen_logps: Any, chosen_mask: Any, rejected_logps: Any,
                      rejected_mask: Any, alpha: float) -> Any:
    """Unlikelihood (Welleck et al. 2019; DPO §6): NLL(y_w) − α·Σ_t log(1 − π(y_l,t | x, y_l,<t)).

    Token means over each response; log(1 − p) is computed stably as log(−expm1(log p)).
    """
    import torch

    nll = preferred_ft_loss(chosen_logps, chosen_mask)
    one_minus = torch.log(-torch.expm1(rejected_logps.clamp(max=-1e-6)))
    ul = -(one_minus * rejected_mask).sum() / rejected_mask.sum().clamp_min(1)
    return nll + alpha * ul


class PreferredFTTrainer(DPOTrainer):
    """Fine-tune on y_w only (the chosen half of the batch)."""

    def __init__(self, model: Any, tokenizer: Any, pairs: Sequence[Any], cfg: DPOTrainConfig, **kw: Any):
        cfg = replace(cfg, reference_free=True, precompute_ref=False)
        super().__init__(model, tokenizer, pairs, cfg, **kw)

    def compute_loss(self, model: Any, batch: dict) -> tuple[Any, dict]:
        n = batch["input_ids"].shape[0] // 2
        out = model(input_ids=batch["input_ids"][:n], attention_mask=batch["attention_mask"][:n])
        logps, mask = token_logps(out.logits, batch["labels"][:n])
        loss = preferred_ft_loss(logps, mask)
        return loss, {"loss": loss.item(), "chosen_logps": logps.sum(-1).mean().item()}


class UnlikelihoodTrainer(DPOTrainer):
    """Raise the likelihood of y_w and push down each token of y_l."""

    def __init__(self, model: Any, tokenizer: Any, pairs: Sequence[Any], cfg: DPOTrainConfig,
                 alpha: float = 1.0, **kw: Any):
        cfg = replace(cfg, reference_free=True, precompute_ref=False)
        super().__init__(model, tokenizer, pairs, cfg, **kw)
        self.alpha = alpha

    def compute_loss(self, model: Any, batch: dict) -> tuple[Any, dict]:
        n = batch["input_ids"].shape[0] // 2
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        logps, mask = token_logps(out.logits, batch["labels"])
        loss = unlikelihood_loss(logps[:n], mask[:n], logps[n:], mask[n:], self.alpha)
        return loss, {"loss": loss.item(), "chosen_logps": logps[:n].sum(-1).mean().item(),
                      "rejected_logps": logps[n:].sum(-1).mean().item()}
