"""Toolformer (Schick et al., NeurIPS 2023): a language model teaches itself to use tools.

    from neurips23.toolformer import filter_weights, tools
    filter_weights(5)                  # [1/3, 4/15, 1/5, 2/15, 1/15]
    tools.calculator("400 / 1400")     # "0.29"

The pipeline (§2) is plain functions: `sample_api_calls` (p_i > τ_s, top k, m samples),
`execute_calls`, `weighted_losses` / `FilterScores` (L⁻ − L⁺ ≥ τ_f, z as a prefix),
`augmented_corpus` (C*), `finetune`, and `generate_with_tools` (top-k "[" trigger, "->" runs the
tool). Names are imported lazily so that `neurips23 --help` does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "APICall": "calls", "format_call": "calls", "parse_call": "calls", "insert_call": "calls",
    "strip_calls": "calls",
    "filter_weights": "filtering", "weighted_losses": "filtering", "LossRequest": "filtering",
    "FilterScores": "filtering", "tokenize_text": "filtering",
    "SamplingConfig": "sampling", "PAPER_THRESHOLDS": "sampling", "api_probabilities": "sampling",
    "select_positions": "sampling", "sample_api_calls": "sampling", "CandidateCall": "sampling",
    "FilterConfig": "annotate", "annotate": "annotate", "augmented_corpus": "annotate",
    "choose_calls": "annotate", "execute_candidates": "annotate", "score_candidates": "annotate",
    "finetune": "finetune",
    "InferenceConfig": "inference", "generate_with_tools": "inference", "perplexity": "inference",
    "Document": "tools", "Tool": "tools", "make_tools": "tools", "execute_calls": "tools",
}
__all__ = sorted(_EXPORTS) + ["tools"]


def __getattr__(name: str) -> Any:
    if name == "tools":
        return importlib.import_module("neurips23.toolformer.tools")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"neurips23.toolformer.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'neurips23.toolformer' has no attribute {name!r}")
