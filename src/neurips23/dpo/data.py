"""Preference pairs: JSONL {prompt, chosen, rejected}, tokenised as in the official DPO code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurips23.errors import DataError

if TYPE_CHECKING:
    import torch

FIELDS = ("prompt", "chosen", "rejected")


@dataclass(frozen=True)
class PreferencePair:
    """One human (or oracle) judgement: ``chosen`` (y_w) is preferred to ``rejected`` (y_l) given ``prompt``."""

    prompt: str
    chosen: str
    rejected: str


def read_preference_jsonl(path: str | Path) -> list[PreferencePair]:
    """Read {prompt, chosen, rejected} lines; a bad line raises DataError naming file:line and field."""
    from neurips23.lm.data import read_jsonl

    pairs: list[PreferencePair] = []
    for row in read_jsonl(path, required=FIELDS, types={field: str for field in FIELDS}):
        for field in ("chosen", "rejected"):
            if not row[field].strip():
                raise DataError(f"{path}:{row['_line']}: field {field!r} is empty")
        pairs.append(PreferencePair(row["prompt"], row["chosen"], row["rejected"]))
    return pairs


def encode_pair(
    tokenizer: Any,
    pair: PreferencePair,
    max_length: int,
    max_prompt_length: int | None = None,
    where: str = "",
    add_eos: bool = True,
) -> dict[str, list[int]]:
    """Token ids and labels (-100 on the prompt) for chosen and rejected, EOS appended to each response.

    Truncation follows the official `tokenize_batch_element`: if prompt + longest response exceeds
    ``max_length``, the prompt keeps its last ``max_prompt_length`` tokens, then responses are cut
    on the right. A response left with no token raises DataError (the cause of a loss stuck at log 2).
    """
    # The prompt carries the tokenizer's own special tokens (BOS for real models, none for ours),
    # as in the shared trainer and at generation time.
    prompt = list(tokenizer(pair.prompt, add_special_tokens=True)["input_ids"])
    eos = tokenizer.eos_token_id
    responses = {}
    for name in ("chosen", "rejected"):
        ids = list(tokenizer(getattr(pair, name), add_special_tokens=False)["input_ids"])
        responses[name] = ids + ([eos] if add_eos and eos is not None else [])
    longest = max(len(r) for r in responses.values())
    if len(prompt) + longest > max_length and max_prompt_length is not None:
        prompt = prompt[-max_prompt_length:] if max_prompt_length > 0 else []
    budget = max_length - len(prompt)
    out: dict[str, list[int]] = {}
    for name, ids in responses.items():
        ids = ids[: max(budget, 0)]
        # A token is scored only if a token precedes it: with no prompt the first one is not.
        if len(ids) - (0 if prompt else 1) <= 0:
            raise DataError(
                f"{where or 'pair'}: the {name} response has no token left after truncation "
                f"(prompt {len(prompt)} tokens, max_length {max_length}); raise max_length or "
                "set a smaller max_prompt_length"
            )
        out[f"{name}_input_ids"] = list(prompt) + ids
        out[f"{name}_labels"] = [-100] * len(prompt) + ids
    return out


def encode_pairs(
    tokenizer: Any,
    pairs: Sequence[PreferencePair],
    max_length: int,
    max_prompt_length: int | None = None,
    source: str = "pairs",
    add_eos: bool = True,
) -> list[dict[str, list[int]]]:
    """`encode_pair` over a dataset; errors name the pair's index (its line for a gap-free JSONL)."""
    return [
        encode_pair(tokenizer, p, max_length, max_prompt_length, f"{source}: pair {i + 1}", add_eos)
        for i, p in enumerate(pairs)
    ]


def collate_pairs(encoded: Sequence[dict[str, list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded [chosen; rejected] batch: input_ids, attention_mask, labels (-100 on pads), no wasted width."""
    import torch

    rows = [e["chosen_input_ids"] for e in encoded] + [e["rejected_input_ids"] for e in encoded]
    labels = [e["chosen_labels"] for e in encoded] + [e["rejected_labels"] for e in encoded]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    label_t = torch.full((len(rows), width), -100, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (r, lab) in enumerate(zip(rows, labels, strict=True)):
        input_ids[i, : len(r)] = torch.tensor(r)
        label_t[i, : len(lab)] = torch.tensor(lab)
        attention[i, : len(r)] = 1
    return {"input_ids": input_ids, "attention_mask": attention, "labels": label_t}
