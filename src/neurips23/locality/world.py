"""A world: a net, the net its wrong-local samples borrow neighbourhoods from, and the held-out
pairs; saved as one JSON file so data, training and estimation agree on the same pairs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from neurips23.errors import DataError
from neurips23.locality.bayesnet import BayesNet, net_from_dict, net_to_dict, random_net, read_json
from neurips23.locality.heldout import PairInfo, select_held_out_pairs

OTHER_NET_OFFSET = 1_000_003
"""The wrong-local formats take neighbourhoods from the net of seed + this (the paper: net id + 1)."""


@dataclass
class World:
    """A seed's net, the other net (wrong-local neighbourhoods) and the held-out pairs."""

    seed: int
    net: BayesNet
    other: BayesNet
    pairs: list[PairInfo]

    @property
    def pair_tuples(self) -> list[tuple[int, int]]:
        return [(p.a, p.b) for p in self.pairs]


def build_world(n_vars: int, n_edges: int, seed: int, n_pairs: int, min_distance: int = 2) -> World:
    """The net of `seed`, the net its wrong-local formats borrow from, and its held-out pairs."""
    net = random_net(n_vars, n_edges, seed)
    other = random_net(n_vars, n_edges, seed + OTHER_NET_OFFSET)
    return World(seed, net, other, select_held_out_pairs(net, n_pairs, seed, min_distance))


def save_world(world: World, path: str | Path) -> Path:
    """The net's JSON plus "seed", "other" (the wrong-local net) and "held_out" pairs."""
    from neurips23.utils import atomic_write_text

    data = net_to_dict(world.net) | {"seed": world.seed, "other": net_to_dict(world.other),
                                     "held_out": [asdict(p) for p in world.pairs]}
    atomic_write_text(path, json.dumps(data, indent=1))
    return Path(path)


def load_world(path: str | Path) -> World:
    """Read a world file (a plain net file gets no held-out pairs and a random other net)."""
    data = read_json(path, "world")
    net = net_from_dict(data, str(path))
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise DataError(f"{path}: \"seed\" must be an integer")
    other = (net_from_dict(data["other"], f"{path}: other") if "other" in data
             else random_net(net.n_vars, len(net.edges), seed + OTHER_NET_OFFSET))
    if other.n_vars != net.n_vars:
        raise DataError(f"{path}: the other net has {other.n_vars} variables, not {net.n_vars}")
    pairs = []
    for i, p in enumerate(data.get("held_out", [])):
        try:
            pair = PairInfo(int(p["a"]), int(p["b"]), int(p.get("distance", -1)), float(p.get("mi", 0.0)))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}: held_out[{i}]: expected an object with integer \"a\" and \"b\"") from None
        if not (0 <= pair.a < net.n_vars and 0 <= pair.b < net.n_vars) or pair.a == pair.b:
            raise DataError(f"{path}: held_out[{i}]: ({pair.a}, {pair.b}) is not a pair of "
                            f"distinct variables of this {net.n_vars}-variable net")
        pairs.append(pair)
    return World(seed, net, other, pairs)
