"""Tree of Thoughts (Yao et al., NeurIPS 2023): deliberate search over LM "thoughts".

    from neurips23.tot import BFSConfig, bfs
    from neurips23.tot.game24 import Game24Task
    results = bfs(Game24Task(), model, ["4 5 6 10"], BFSConfig(n_select=5))
"""

from neurips23.tot.meter import Meter
from neurips23.tot.search import (
    BFSConfig,
    DFSConfig,
    SampleResult,
    SearchResult,
    bfs,
    dfs,
    sample_baseline,
)
from neurips23.tot.task import VALUE_MAP, ThoughtTask

__all__ = [
    "VALUE_MAP",
    "BFSConfig",
    "DFSConfig",
    "Meter",
    "SampleResult",
    "SearchResult",
    "ThoughtTask",
    "bfs",
    "dfs",
    "sample_baseline",
]
