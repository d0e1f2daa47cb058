"""Our variable elimination against pgmpy's on the same nets (pgmpy is imported once: slow)."""

import numpy as np
import pytest

from neurips23.locality.bayesnet import exact_conditional, random_net, to_pgmpy

pgmpy = pytest.importorskip("pgmpy")


@pytest.fixture(scope="module")
def variable_elimination():
    from pgmpy.inference import VariableElimination

    return VariableElimination


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conditionals_agree_with_pgmpy(variable_elimination, seed):
    net = random_net(25, 28, seed)
    model = to_pgmpy(net)
    assert sorted(model.nodes(), key=lambda s: int(s[1:])) == [f"X{i}" for i in range(25)]
    infer = variable_elimination(model)
    rng = np.random.default_rng(seed)
    for _ in range(12):
        t, c, d = (int(v) for v in rng.choice(25, 3, replace=False))
        evidence = {c: int(rng.integers(2)), d: int(rng.integers(2))}
        ours = exact_conditional(net, t, evidence)
        ref = infer.query([f"X{t}"], evidence={f"X{k}": v for k, v in evidence.items()},
                          show_progress=False)
        assert ours == pytest.approx(float(ref.values[1]), abs=1e-9)
