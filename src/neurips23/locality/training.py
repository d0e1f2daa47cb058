"""Training a causal LM on a world's sample strings, packed into blocks as the paper's
`run_clm.py` packs its text (Prystawski et al. §3.2: 1M samples, GPT-2 from scratch)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from neurips23.errors import UserError
from neurips23.locality.formats import Locality, build_sample_tokenizer, check_format, pack_samples, training_strings
from neurips23.locality.world import World

CONFIG_FILE = "locality_train.json"


def packed_examples(world: World, fmt: str, n: int, seed: int, block_tokens: int,
                    locality: Locality = Locality()):
    """(tokenizer, examples): n samples of `fmt`, packed into blocks of ≤ block_tokens tokens."""
    from neurips23.lm.data import Example

    tok = build_sample_tokenizer(world.net.n_vars)
    texts = training_strings(world.net, check_format(fmt), n, seed, world.pair_tuples, world.other,
                             locality)
    lengths = [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
    return tok, [Example("", block) for block in pack_samples(texts, lengths, block_tokens)]


def max_length(n_vars: int, block_tokens: int) -> int:
    """Tokens of the longest training sequence: a block, or one fully observed sample, + eos."""
    return max(block_tokens, 2 * n_vars + 6) + 1


def train_on_world(cfg: Any) -> Path:
    """Train a tiny Llama on `cfg.format` samples of `cfg.world` into `cfg.out` (a
    TrainModelConfig); resumes from the checkpoint there only if it was written by the same
    settings."""
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.train import TrainConfig, train_causal_lm
    from neurips23.locality.world import load_world
    from neurips23.utils import atomic_write_text

    world = load_world(cfg.world)
    out = Path(cfg.out)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}
    marker = out / CONFIG_FILE
    if marker.exists() and json.loads(marker.read_text()) != settings:
        raise UserError(f"{out} holds a checkpoint of different settings ({marker}); choose another --out")
    atomic_write_text(marker, json.dumps(settings, indent=1))
    tok, examples = packed_examples(world, cfg.format, cfg.n_train, cfg.seed, cfg.block_tokens)
    dims = dict(hidden_size=cfg.hidden_size, num_hidden_layers=cfg.layers,
                num_attention_heads=cfg.heads, intermediate_size=3 * cfg.hidden_size)
    if cfg.hidden_size % cfg.heads:
        raise UserError(f"hidden_size {cfg.hidden_size} is not a multiple of heads {cfg.heads}")
    model = build_model(dims, vocab_size=len(tok), seed=cfg.seed,
                        max_position_embeddings=max_length(world.net.n_vars, cfg.block_tokens))
    tcfg = TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup_steps=100,
                       seed=cfg.seed, checkpoint_every=cfg.checkpoint_every,
                       max_length=max_length(world.net.n_vars, cfg.block_tokens))
    train_causal_lm(model, tok, examples, tcfg, out_dir=out)
    save_model(model, tok, out)
    return out
