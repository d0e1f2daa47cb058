"""Localization vs editing (Hase et al., NeurIPS 2023): causal tracing as ROME does it, ROME and
constrained finetuning at every layer, and the regression of edit success on layer and tracing.

    from neurips23.editing.rome import rank_one_update
    from neurips23.editing.analysis import compare_r2

Modules read in order: modules (hooks by name template), facts, prompts, tracing, problems,
rome, finetune, config, metrics, analysis, experiment, synthetic, known_facts, reproduce, cli.
"""
