"""Held-out pairs: the strongly dependent, non-adjacent pairs never observed together in
training (Prystawski et al. §3.2; the paper's `select_pairs_to_hold_out.py`).

Among pairs at undirected distance ≥ `min_distance` (the paper: > 1, i.e. not adjacent;
disconnected pairs excluded), take the 2·n pairs of highest mutual information, then n of those
at random. The paper's code computes MI in nats and sets it to 0 for pairs d-separated by the
empty set; our exact pairwise joint gives 0 for those anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurips23.errors import UserError
from neurips23.locality.bayesnet import BayesNet, mutual_information
from neurips23.locality.scaffold import d_separated


@dataclass(frozen=True)
class PairInfo:
    """One candidate pair (a < b), its undirected distance and mutual information (nats)."""

    a: int
    b: int
    distance: int
    mi: float


def pair_table(net: BayesNet, min_distance: int = 2) -> list[PairInfo]:
    """Every connected pair at distance ≥ min_distance with its mutual information."""
    dist = net.distances()
    rows = []
    for b in range(net.n_vars):
        for a in range(b):
            d = dist[a, b]
            if not np.isfinite(d) or d < min_distance:
                continue
            mi = 0.0 if d_separated(net, a, b) else mutual_information(net, a, b)
            rows.append(PairInfo(a, b, int(d), mi))
    return rows


def select_held_out_pairs(net: BayesNet, n_pairs: int, seed: int,
                          min_distance: int = 2) -> list[PairInfo]:
    """n_pairs drawn at random from the 2·n_pairs candidate pairs of highest mutual information."""
    if n_pairs < 1:
        raise UserError(f"n_pairs = {n_pairs}: hold out at least one pair")
    if min_distance < 2:
        raise UserError(f"min_distance = {min_distance}: held-out pairs must not be adjacent (≥ 2)")
    rows = sorted(pair_table(net, min_distance), key=lambda r: (-r.mi, r.a, r.b))
    rows = [r for r in rows if r.mi > 0][:2 * n_pairs]
    if len(rows) < n_pairs:
        raise UserError(f"only {len(rows)} dependent pairs at distance ≥ {min_distance} in this "
                        f"net; ask for fewer than {n_pairs} pairs or use a larger net")
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(rows), n_pairs, replace=False))
    return [rows[i] for i in picked]
