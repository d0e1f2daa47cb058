"""Console lines of a metrics dict: `name: value`, nested names dotted, numbers rounded."""

import math

import numpy as np

from neurips23.utils import readable_items, readable_value


def test_readable_items_flatten_and_round():
    metrics = {"autonomous": {"3": {"model": 0.123456789, "n": 4}, "all": {"model": 2 / 3}},
               "success_at": {1: 0.25, 15: np.float64(0.5)}, "planner": "lpg", "p": math.nan,
               "history": None, "usage": {}, "ci95": [0.1234567, 0.9], "rows": list(range(20)),
               "ok": True}
    assert readable_items(metrics) == [
        ("autonomous.3.model", "0.1235"), ("autonomous.3.n", "4"), ("autonomous.all.model", "0.6667"),
        ("success_at.1", "0.25"), ("success_at.15", "0.5"), ("planner", "lpg"), ("p", "nan"),
        ("history", "None"), ("usage", "(none)"), ("ci95", "0.1235, 0.9"), ("rows", "(20 values)"),
        ("ok", "True")]


def test_readable_value_of_scalars():
    assert readable_value(1e-7) == "1e-07" and readable_value(12345.678) == "12346"
    assert readable_value(3) == "3" and readable_value([]) == "(none)"
