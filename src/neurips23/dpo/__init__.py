"""DPO (Rafailov et al., NeurIPS 2023): Direct Preference Optimization, its trainer and the §6.1 frontier."""

from neurips23.dpo.data import PreferencePair, collate_pairs, encode_pair, read_preference_jsonl
from neurips23.dpo.loss import concatenated_forward, dpo_loss, sequence_logps
from neurips23.dpo.trainer import DPOResult, DPOTrainConfig, DPOTrainer

__all__ = [
    "DPOResult",
    "DPOTrainConfig",
    "DPOTrainer",
    "PreferencePair",
    "collate_pairs",
    "concatenated_forward",
    "dpo_loss",
    "encode_pair",
    "read_preference_jsonl",
    "sequence_logps",
]
