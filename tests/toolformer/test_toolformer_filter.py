"""The filter (§2) worked by hand: weights, L_i, L⁺/L⁻ and τ_f, z as prefix vs inline."""

import math
import re
from fractions import Fraction

import pytest

from neurips23.errors import ConfigError
from neurips23.toolformer import filter_weights
from neurips23.toolformer.calls import APICall, format_call, inline_call_text
from neurips23.toolformer.filtering import (
    PREFIX_SEPARATOR,
    FilterScores,
    LossRequest,
    filter_weights_exact,
    tokenize_text,
    weighted_losses,
)

from .fake_lm import RuleLM, char_tokenizer

DIGITS = "0123456789"


def test_weights_are_the_papers():
    assert filter_weights_exact(5) == [Fraction(1, 3), Fraction(4, 15), Fraction(1, 5),
                                       Fraction(2, 15), Fraction(1, 15)]
    assert filter_weights(5) == pytest.approx([1 / 3, 4 / 15, 1 / 5, 2 / 15, 1 / 15], abs=1e-15)
    # w̃_t = 0 from t = 5 on: a longer window changes nothing but adds zeros
    assert filter_weights_exact(8) == filter_weights_exact(5) + [0, 0, 0]
    # shorter windows renormalise the first n: [1, 0.8] / 1.8
    assert filter_weights_exact(2) == [Fraction(5, 9), Fraction(4, 9)]
    assert filter_weights(1) == [1.0]
    with pytest.raises(ConfigError):
        filter_weights(0)


def uniform(text):
    return {c: 1.0 for c in DIGITS + " .abcdefghijklmnopqrstuvwxyzT[]()->+"}


def test_uniform_model_loss_is_log_v_times_the_weights_that_fit():
    tok = char_tokenizer()
    lm = RuleLM(tok, uniform, floor=1e-12)
    x = tokenize_text(tok, "Tom has 405 pens.")
    v = len(uniform(""))
    n = len(x.ids)
    losses = weighted_losses(lm, tok, [LossRequest(x, 3), LossRequest(x, n - 2), LossRequest(x, n - 1)])
    assert losses[0] == pytest.approx(math.log(v), rel=1e-6)               # the whole window
    assert losses[1] == pytest.approx((1 / 3 + 4 / 15) * math.log(v), rel=1e-6)  # 2 tokens left
    assert losses[2] == pytest.approx(1 / 3 * math.log(v), rel=1e-6)        # 1 token left


def copy_rule(text):
    """After "has ", the digits of a result seen anywhere as "->R]" get 0.9; else digits 0.1 each."""
    m = re.search(r"->(\d+)\]", text)
    tail = text.rsplit("has ", 1)[-1] if "has " in text else None
    if tail is not None and tail.isdigit() or tail == "":
        if m and m.group(1).startswith(tail) and len(tail) < len(m.group(1)):
            right = m.group(1)[len(tail)]
            return {d: (0.9 if d == right else 0.1 / 9) for d in DIGITS}
        if len(tail) < 3:
            return {d: 0.1 for d in DIGITS}
        return {" ": 1.0}
    return {c: 1.0 for c in "abcdefghijklmnopqrstuvwxyz .T"}


def test_filter_keeps_the_call_whose_result_helps_worked_by_hand():
    tok = char_tokenizer()
    lm = RuleLM(tok, copy_rule, floor=1e-12)
    x = tokenize_text(tok, "Tom has 405 pens.")
    i = x.token_index(8)  # before "405"
    good, bad = APICall("Calculator", "400+5"), APICall("Calculator", "400+6")
    reqs = [LossRequest(x, i), LossRequest(x, i, format_call(good, "")),
            LossRequest(x, i, format_call(good, "405")), LossRequest(x, i, format_call(bad, "406"))]
    empty, call_only, with_result, wrong = weighted_losses(lm, tok, reqs)
    w = filter_weights(5)
    # L(ε): three digits at 0.1 each, then " " (certain) and "p" (1 of 29)
    rest = -w[4] * math.log(1 / 29)
    assert empty == pytest.approx(-(w[0] + w[1] + w[2]) * math.log(0.1) + rest, rel=1e-6)
    assert call_only == pytest.approx(empty, rel=1e-9)  # e(c, ε) carries no result
    assert with_result == pytest.approx(-(w[0] + w[1] + w[2]) * math.log(0.9) + rest, rel=1e-6)
    s = FilterScores(empty, call_only, with_result)
    assert s.loss_minus == pytest.approx(empty)
    assert s.usefulness == pytest.approx(0.8 * math.log(9), rel=1e-6)  # 1.758
    assert s.keep(1.0) and s.keep(1.75) and not s.keep(1.76) and not s.keep(2.0)
    # the wrong result 406: "4" and "0" still match (0.9 instead of 0.1), the "6" makes the
    # true "5" less likely (0.1/9 instead of 0.1): (w0 + w1 - w2) ln 9 = 0.4 ln 9 = 0.879
    s_bad = FilterScores(empty, call_only, wrong)
    assert s_bad.usefulness == pytest.approx((w[0] + w[1] - w[2]) * math.log(9), rel=1e-6)
    assert not s_bad.keep(1.0)
    assert not FilterScores(2.0, 1.8, 0.5).keep(1.31) and FilterScores(2.0, 1.8, 0.5).keep(1.3)
    assert FilterScores(1.0, 3.0, 0.5).loss_minus == 1.0  # L⁻ is the smaller of the two


def recency_rule(text):
    """Probability grows with how recently a character was seen (placement matters)."""
    out = {}
    for c in DIGITS + " .abcdefghijklmnopqrstuvwxyzT[]()->+":
        last = text.rfind(c)
        out[c] = 1.0 + (8.0 / (len(text) - last) if last >= 0 else 0.0)
    return out


def expected_loss(lm, x_text, i_off, z, placement, window=5):
    """L_i(z) straight from the equation: −Σ_t w_t log p(x_{i+t} | context)."""
    w = filter_weights(window)
    total = 0.0
    for t in range(window):
        j = i_off + t
        if j >= len(x_text):
            break
        if not z:
            ctx = x_text[:j]
        elif placement == "prefix":
            ctx = z + PREFIX_SEPARATOR + x_text[:j]
        else:
            ctx = x_text[:i_off] + inline_call_text(x_text, i_off, z) + x_text[i_off:j]
        total -= w[t] * lm.logprob(ctx, x_text[j])
    return total


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_prefix_and_inline_placement_follow_the_equation(batch_size):
    tok = char_tokenizer()
    lm = RuleLM(tok, recency_rule, floor=1e-12)
    text = "Tom has 405 pens and 12 cups."
    x = tokenize_text(tok, text)
    z = format_call(APICall("Calculator", "400+5"), "405")
    reqs, want = [], []
    for off in (1, 8, 9, 21, len(text) - 2):
        for zz in ("", z):
            for placement in ("prefix", "inline"):
                reqs.append(LossRequest(x, x.token_index(off), zz, placement))
                want.append(expected_loss(lm, text, off, zz, placement))
    got = weighted_losses(lm, tok, reqs, batch_size=batch_size)
    assert got == pytest.approx(want, rel=1e-5)
    # the two placements really differ here (recency), and the prefix is the paper's default
    assert LossRequest(x, 8).placement == "prefix"
    prefix = weighted_losses(lm, tok, [LossRequest(x, 8, z, "prefix")])[0]
    inline = weighted_losses(lm, tok, [LossRequest(x, 8, z, "inline")])[0]
    assert abs(prefix - inline) > 0.05


def test_inline_text_keeps_the_papers_spacing():
    text = "Tom has 405 pens."
    assert inline_call_text(text, 8, "[C(1)->1]") == "[C(1)->1] "   # "has " + "[..] " + "405"
    assert inline_call_text(text, 7, "[C(1)->1]") == " [C(1)->1]"   # "has" + " [..]" + " 405"


def test_position_without_context_is_a_clear_error():
    from neurips23.errors import UserError

    tok = char_tokenizer()
    lm = RuleLM(tok, uniform)
    x = tokenize_text(tok, "Tom")
    with pytest.raises(UserError, match="no context"):
        weighted_losses(lm, tok, [LossRequest(x, 0)])


def test_planted_gold_calls_are_kept_by_a_model_that_reads_results_and_not_by_one_that_cannot():
    """The SmolLM2 stage's positive control on a hand-worked model: the right call planted at
    the answer survives execute + filter when results help the model, and nothing survives
    when the model ignores them (the broken-stage case that must not count as "few calls")."""
    import datetime as dt

    from neurips23.toolformer.pretrained import planted_gold_calls
    from neurips23.toolformer.tools import Document, make_tools

    tok = char_tokenizer()
    docs = [Document("Tom has 405 pens.", dt.date(2020, 1, 1),
                     {"answer": "405", "expression": "400+5"})]
    tools = make_tools(["calculator"])
    reads = planted_gold_calls(RuleLM(tok, copy_rule, floor=1e-12), tok, docs, "Calculator",
                               tools, tau_f=1.0)
    assert reads == {"planted": 1, "planted_kept": 1}
    blind = planted_gold_calls(RuleLM(tok, uniform, floor=1e-12), tok, docs, "Calculator",
                               tools, tau_f=1.0)
    assert blind == {"planted": 1, "planted_kept": 0}
