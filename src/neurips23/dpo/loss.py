"""The DPO family of losses and the sequence log-probs they are computed from (Rafailov et al., 2023)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neurips23.errors import ConfigError

if TYPE_CHECKING:
    import torch

LOSS_TYPES = ("sigmoid", "ipo")


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float,
    label_smoothing: float = 0.0,
    loss_type: str = "sigmoid",
    reference_free: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair DPO loss (eq. 7), conservative DPO (label smoothing ε), IPO (Azar et al. eq. 17).

    h = [log πθ(y_w|x) − log π_ref(y_w|x)] − [log πθ(y_l|x) − log π_ref(y_l|x)];
    sigmoid: −(1−ε)·log σ(βh) − ε·log σ(−βh)  (ε = 0 is DPO); ipo: (h − 1/(2β))².
    ``reference_free`` sets the reference log-probs to 0 (an implicitly uniform reference).
    Returns (losses, chosen_rewards, rejected_rewards) with the implicit rewards
    β·(log πθ − log π_ref) (§5), detached, one entry per pair.
    """
    import torch
    import torch.nn.functional as F

    if beta <= 0:
        raise ConfigError(f"beta must be > 0, got {beta}")
    if not 0.0 <= label_smoothing < 0.5:
        raise ConfigError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
    if loss_type not in LOSS_TYPES:
        raise ConfigError(f"loss_type must be one of {', '.join(LOSS_TYPES)}; got {loss_type!r}")
    if loss_type == "ipo" and label_smoothing:
        raise ConfigError("label_smoothing applies to loss_type='sigmoid' only, not 'ipo'")
    if reference_free:
        ref_chosen_logps = torch.zeros_like(ref_chosen_logps)
        ref_rejected_logps = torch.zeros_like(ref_rejected_logps)
    chosen_logratios = policy_chosen_logps - ref_chosen_logps
    rejected_logratios = policy_rejected_logps - ref_rejected_logps
    h = chosen_logratios - rejected_logratios
    if loss_type == "ipo":
        losses = (h - 1.0 / (2.0 * beta)) ** 2
    else:
        losses = -(1.0 - label_smoothing) * F.logsigmoid(beta * h)
        if label_smoothing:
            losses = losses - label_smoothing * F.logsigmoid(-beta * h)
    return losses, beta * chosen_logratios.detach(), beta * rejected_logratios.detach()


def token_logps(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log π(y_t | x, y_<t) [B, T-1] and the response mask (labels[:, 1:] != -100)."""
    import torch.nn.functional as F

    labels = labels[:, 1:]
    logits = logits[:, :-1].float()
    mask = labels != -100
    logps = -F.cross_entropy(
        logits.transpose(1, 2), labels.masked_fill(~mask, 0), reduction="none"
    )
    return logps * mask, mask


def sequence_logps(
    logits: torch.Tensor, labels: torch.Tensor, average: bool = False
) -> torch.Tensor:
    """log π(y|x) summed over response tokens (labels != -100), as in the official `_get_batch_logps`.

    ``labels[:, 1:]`` are scored by ``logits[:, :-1]``; ``average=True`` divides by the number of
    response tokens (the length-normalised form TRL's `ipo` uses).
    """
    logps, mask = token_logps(logits, labels)
    total = logps.sum(-1)
    if average:
        return total / mask.sum(-1).clamp_min(1)
    return total


def concatenated_forward(
    model: Any, batch: dict[str, torch.Tensor], average: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass over the [chosen; rejected] batch -> (chosen_logps, rejected_logps) (official code)."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False)
    logps = sequence_logps(out.logits, batch["labels"], average=average)
    n = logps.shape[0] // 2
    return logps[:n], logps[n:]
