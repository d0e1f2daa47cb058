"""Training formats: neighbourhoods against networkx, held-out pairs never together, wrong-local
neighbourhoods from the other net with this net's values, the sample text and its tokenizer."""

import networkx as nx
import numpy as np
import pytest

from neurips23.errors import DataError, UserError
from neurips23.locality.bayesnet import marginals, random_net
from neurips23.locality.formats import (
    FORMATS,
    Locality,
    Neighbourhoods,
    build_sample_tokenizer,
    neighbourhood,
    observed_variables,
    pack_samples,
    parse_sample,
    sample_string,
    training_strings,
)


def _graph(net):
    g = nx.Graph()
    g.add_nodes_from(range(net.n_vars))
    g.add_edges_from(net.edges)
    return g


def _is_ball(g, variables):
    """Whether `variables` is exactly the set within some radius of some centre (networkx)."""
    s = set(variables)
    for c in s:
        lengths = nx.single_source_shortest_path_length(g, c)
        r = max(lengths[v] if v in lengths else np.inf for v in s)
        if np.isfinite(r) and {v for v, d in lengths.items() if d <= max(r, 1)} == s:
            return True
    return False


def test_neighbourhood_is_networkx_ego_graph():
    net = random_net(30, 32, 4)
    g, dist = _graph(net), net.distances()
    for centre in range(0, 30, 3):
        for radius in (1, 2, 4):
            assert set(neighbourhood(dist, centre, radius)) == set(nx.ego_graph(g, centre, radius).nodes)


@pytest.mark.parametrize("fmt", ["local_geom", "local_zipf"])
def test_local_samples_are_balls_when_all_kept(fmt):
    net = random_net(25, 25, 1)
    rng = np.random.default_rng(0)
    g, hoods = _graph(net), Neighbourhoods(net.distances())
    for _ in range(60):
        assert _is_ball(g, observed_variables(fmt, hoods, (), rng, Locality(keep_p=1.0)))


def test_wrong_local_uses_the_other_nets_neighbourhoods_and_this_nets_values():
    net, other = random_net(25, 25, 1), random_net(25, 25, 99)
    texts = training_strings(net, "wrong_local_geom", 6000, 3, other=other,
                             locality=Locality(keep_p=1.0))
    g_other, g_net = _graph(other), _graph(net)
    parsed = [parse_sample(t) for t in texts[:80]]
    sets = [{v for v, _ in obs} for _, obs in parsed]
    assert all(_is_ball(g_other, s) for s in sets)
    assert not all(_is_ball(g_net, s) for s in sets if len(s) > 2)
    counts, ones = np.zeros(25), np.zeros(25)
    for t in texts:
        for v, x in dict(parse_sample(t)[1]).items():
            counts[v] += 1
            ones[v] += x
    seen = counts > 400
    np.testing.assert_allclose((ones / np.maximum(counts, 1))[seen], marginals(net)[seen], atol=0.06)


@pytest.mark.parametrize("fmt", FORMATS)
def test_held_out_pairs_never_observed_together(fmt):
    net, other = random_net(20, 22, 5), random_net(20, 22, 6)
    pairs = [(0, 7), (3, 11), (12, 19)]
    texts = training_strings(net, fmt, 3000, 1, pairs, other)
    for t in texts:
        seen = {v for v, _ in parse_sample(t)[1]}
        assert not any(a in seen and b in seen for a, b in pairs)
    if fmt == "fully_observed":  # everything else is there: one member of each pair dropped
        assert all(len({v for v, _ in parse_sample(t)[1]}) == 17 for t in texts)


def test_values_match_the_joint_sample_and_format_round_trips():
    order, values = [4, 1, 9], [0, 1, 0, 0, 1, 0, 0, 0, 0, 1]
    text = sample_string(order, values)
    assert text == "###\ntarget: X9\nX4=1\nX1=1\nX9=1\n"
    assert parse_sample(text) == (9, [(4, 1), (1, 1), (9, 1)])
    # a one-variable sample repeats its line (the paper's create_target_sample_str)
    assert sample_string([2], [0, 0, 1]) == "###\ntarget: X2\nX2=1\nX2=1\n"


def test_parse_errors_name_the_line():
    with pytest.raises(DataError, match="line 4"):
        parse_sample("###\ntarget: X1\nX0=1\nX1=2\n")
    with pytest.raises(DataError, match="not the target"):
        parse_sample("###\ntarget: X1\nX0=1\n")
    with pytest.raises(DataError, match="expected '###'"):
        parse_sample("target: X1\nX1=0\n")


def test_tokenizer_round_trips_with_two_tokens_a_line():
    net = random_net(30, 30, 0)
    tok = build_sample_tokenizer(30)
    for t in training_strings(net, "local_zipf", 200, 0):
        ids = tok.encode(t, add_special_tokens=False)
        assert tok.decode(ids) == t
        assert tok.unk_token_id not in ids
        assert len(ids) == 4 + 2 * len(parse_sample(t)[1])


def test_pack_samples():
    texts = [f"###\ntarget: X{i}\nX{i}=1\n" for i in range(10)]
    lengths = [6] * 10
    blocks = pack_samples(texts, lengths, 20)
    assert "".join(blocks) == "".join(texts)
    assert [b.count("###") for b in blocks] == [3, 3, 3, 1]
    assert all(b.startswith("###\n") for b in blocks)
    assert pack_samples(texts[:2], [30, 6], 20) == texts[:2]  # a long sample is its own block
    with pytest.raises(UserError):
        pack_samples(texts, lengths, 0)


def test_bad_format_and_locality():
    net = random_net(5, 4, 0)
    with pytest.raises(UserError, match="training format"):
        training_strings(net, "global", 10, 0)
    with pytest.raises(UserError, match="another net"):
        training_strings(net, "wrong_local_geom", 10, 0)
    with pytest.raises(UserError, match="keep_p"):
        Locality(keep_p=0)
