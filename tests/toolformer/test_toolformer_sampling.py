"""Sampling positions and calls (§2) on a model whose probabilities are known exactly."""

import pytest

from neurips23.toolformer.calls import APICall
from neurips23.toolformer.filtering import tokenize_text
from neurips23.toolformer.prompts import CALCULATOR_PROMPT
from neurips23.toolformer.sampling import (
    SamplingConfig,
    api_probabilities,
    api_start_ids,
    sample_api_calls,
    select_positions,
)
from neurips23.toolformer.tools import Document, calculator_tool, calendar_tool

from .fake_lm import RuleLM, char_tokenizer

TEXT = "Tom has 405 pens, 17 cups and 422 hats."  # 405 + 17 = 422: App. A.1 (i)
LETTERS = "abcdefghijklmnopqrstuvwxyz .T"


def p_open(prefix: str) -> float:
    if prefix.endswith("has "):
        return 0.3
    if prefix.endswith("Tom"):
        return 0.06
    return 0.01


def make_rule(script: str = "Calculator(400+5)]"):
    """p("[") = p_open(text); inside an open call, spell `script` with certainty."""
    def rule(text):
        head, sep, call = text.rpartition("[")
        if sep and "]" not in call and script.startswith(call) and len(call) < len(script):
            return {script[len(call)]: 1.0}
        p = p_open(text)
        rest = {c: (1 - p) / len(LETTERS) for c in LETTERS}
        return {"[": p, **rest}
    return rule


def test_start_token_is_the_bracket():
    tok = char_tokenizer()
    assert api_start_ids(tok) == [tok.convert_tokens_to_ids("[")]


@pytest.mark.parametrize("template", ["", CALCULATOR_PROMPT])
def test_p_i_is_read_at_every_position(template):
    tok = char_tokenizer()
    lm = RuleLM(tok, make_rule(), floor=1e-12)
    x = tokenize_text(tok, TEXT)
    [pos] = api_probabilities(lm, tok, [x], template)
    first = 0 if template else 1  # with no prompt and no BOS, x_1 has nothing before it
    assert sorted(pos.p) == list(range(first, len(TEXT)))
    for i, p in pos.p.items():
        assert p == pytest.approx(p_open(TEXT[:x.starts[i]]), abs=1e-6)


def test_threshold_and_top_k():
    p = {3: 0.06, 8: 0.3, 12: 0.01, 20: 0.06}
    assert select_positions(p, 0.05, 5) == [3, 8, 20]
    assert select_positions(p, 0.05, 1) == [8]
    assert select_positions(p, 0.05, 2) == [3, 8]        # a tie goes to the earlier position
    assert select_positions(p, 0.3, 5) == []             # strictly above τ_s
    assert select_positions(p, 0.0, 20) == [3, 8, 12, 20]


def test_sampled_calls_at_the_selected_positions_deduplicated():
    tok = char_tokenizer()
    lm = RuleLM(tok, make_rule(), floor=1e-12)
    docs = [Document(TEXT)]
    cfg = SamplingConfig(tau_s=0.05, k=5, m=3, use_prompt=False)
    calls = sample_api_calls(lm, tok, docs, calculator_tool(), cfg, seed=0)
    assert [(c.offset, c.call) for c in calls] == [(3, APICall("Calculator", "400+5")),
                                                    (8, APICall("Calculator", "400+5"))]
    assert calls[1].p_api == pytest.approx(0.3)
    cfg1 = SamplingConfig(tau_s=0.05, k=1, m=3, use_prompt=False)
    assert [c.offset for c in sample_api_calls(lm, tok, docs, calculator_tool(), cfg1)] == [8]


def test_calls_that_never_close_or_name_another_tool_are_dropped():
    tok = char_tokenizer()
    cfg = SamplingConfig(tau_s=0.05, k=5, m=2, use_prompt=False, max_call_tokens=12)
    never_closes = RuleLM(tok, make_rule("Calculator(400+5+5+5+5+5+5+5"), floor=1e-12)
    assert sample_api_calls(never_closes, tok, [Document(TEXT)], calculator_tool(), cfg) == []
    other = RuleLM(tok, make_rule("Calendar()]"), floor=1e-12)
    assert sample_api_calls(other, tok, [Document(TEXT)], calculator_tool(), cfg) == []
    assert len(sample_api_calls(other, tok, [Document(TEXT)], calendar_tool(), cfg)) == 2


def test_forcing_the_tool_name_continues_after_it():
    tok = char_tokenizer()
    lm = RuleLM(tok, make_rule("Calculator(400+5)]"), floor=1e-12)
    cfg = SamplingConfig(tau_s=0.05, k=1, m=1, use_prompt=False, force_tool_name=True)
    [c] = sample_api_calls(lm, tok, [Document(TEXT)], calculator_tool(), cfg)
    assert c.call == APICall("Calculator", "400+5")


def test_calculator_only_sees_texts_with_three_numbers():
    tok = char_tokenizer()
    lm = RuleLM(tok, make_rule(), floor=1e-12)
    cfg = SamplingConfig(tau_s=0.05, k=5, m=1, use_prompt=False)
    docs = [Document("Tom has 405 pens."), Document(TEXT)]
    assert {c.doc for c in sample_api_calls(lm, tok, docs, calculator_tool(), cfg)} == {1}


def test_a_call_closes_at_the_result_arrow_too():
    # a model that learned calls with results writes "->r]": its call is complete at "->"
    tok = char_tokenizer()
    lm = RuleLM(tok, make_rule("Calendar()->Today is Monday]"), floor=1e-12)
    cfg = SamplingConfig(tau_s=0.05, k=1, m=1, use_prompt=False, force_tool_name=True,
                         max_call_tokens=4)
    [c] = sample_api_calls(lm, tok, [Document(TEXT)], calendar_tool(), cfg)
    assert c.call == APICall("Calendar", "")
