"""Tool-calling inference (§2, §4) with a scripted model: the top-k "[" trigger, execution at
"->", one call per input, the disabled mode, and perplexity with calls disabled."""

import math
import re

import pytest

from neurips23.toolformer.calls import APICall
from neurips23.toolformer.inference import InferenceConfig, generate_with_tools, perplexity
from neurips23.toolformer.tools import Document, make_tools

from .fake_lm import RuleLM, char_tokenizer

PROMPT = "Q: 400 plus 5? The answer is "


def scripted(call: str = "Calculator(400+5)->", p_open: float = 0.05):
    """Greedy answer "9." unless a call is open; "[" is the 4th most likely token at the answer."""
    def rule(text):
        tail = text[len(PROMPT):] if text.startswith(PROMPT) else text
        head, sep, inside = tail.rpartition("[")
        if sep and "]" not in inside:
            if call.startswith(inside) and len(inside) < len(call):
                return {call[len(inside)]: 1.0}
            return {"]": 1.0}
        m = re.search(r"->([^\]]*)\]", tail)
        if m and tail.endswith("]"):
            return {" ": 1.0}
        if m and not tail.rstrip().endswith("."):
            done = tail[tail.index("]") + 2:]
            target = m.group(1) + "."
            if target.startswith(done) and len(done) < len(target):
                return {target[len(done)]: 1.0}
        if tail.endswith("."):
            return {"\n": 0.0, ".": 0.0, "x": 1.0}
        return {"9": 0.5, "8": 0.3, "[": p_open, "7": 0.1, ".": 0.05}
    return rule


def run(rule, **cfg):
    tok = char_tokenizer()
    lm = RuleLM(tok, rule, floor=1e-9)
    tools = make_tools(["calculator", "calendar"])
    return generate_with_tools(lm, tok, [PROMPT], tools, InferenceConfig(
        max_new_tokens=40, stop=("\n",), **cfg))[0]


def test_a_call_opens_in_the_top_k_and_its_result_is_inserted():
    out = run(scripted())
    assert out.text.startswith("[Calculator(400+5)->405] 405.")
    assert out.calls == [(APICall("Calculator", "400+5"), "405")]
    assert out.visible.startswith(" 405.")


def test_no_call_when_bracket_is_outside_the_top_k():
    out = run(scripted(), top_k=2)
    assert out.calls == [] and out.text.startswith("9")


def test_disabled_mode_never_calls():
    out = run(scripted(p_open=0.9), mode="disabled")
    assert out.calls == [] and "[" not in out.text and out.text.startswith("9")


def test_at_most_one_call_per_input():
    # after the answer the model would open "[" again (0.9); with max_calls=1 it cannot
    def rule(text):
        base = scripted()(text)
        return {"[": 0.9, **{k: v for k, v in base.items() if k != "["}} if text.endswith("x") else base
    out = run(rule)
    assert len(out.calls) == 1 and out.text.count("[") == 1


def test_a_failing_tool_gives_no_result_and_decoding_goes_on():
    out = run(scripted("Calculator(400+)->"))
    assert out.calls == [(APICall("Calculator", "400+"), None)]
    assert out.text.startswith("[Calculator(400+)->]")


def test_calendar_sees_the_documents_date():
    import datetime as dt

    tok = char_tokenizer()
    lm = RuleLM(tok, scripted("Calendar()->", p_open=0.9), floor=1e-9)
    docs = [Document(PROMPT, dt.date(2017, 3, 9))]
    out = generate_with_tools(lm, tok, [PROMPT], make_tools(["calendar"]),
                              InferenceConfig(max_new_tokens=50), docs)[0]
    assert out.calls == [(APICall("Calendar", ""), "Today is Thursday, March 9, 2017.")]


def test_perplexity_with_calls_disabled_renormalises_without_the_bracket():
    tok = char_tokenizer()

    def rule(text):
        return {"a": 0.5, "[": 0.25, "b": 0.25}
    lm = RuleLM(tok, rule, floor=1e-12)
    ppl_on, nll_on, n_on = perplexity(lm, tok, ["ab"], calls_disabled=False)
    ppl_off, nll_off, n_off = perplexity(lm, tok, ["ab"], calls_disabled=True)
    assert n_on == n_off == [1]
    assert nll_on[0] == pytest.approx(-math.log(0.25), rel=1e-5)
    assert nll_off[0] == pytest.approx(-math.log(0.25 / 0.75), rel=1e-5)
    assert ppl_off < ppl_on


def test_bad_mode_and_empty_prompt_are_clear_errors():
    from neurips23.errors import ConfigError, UserError

    tok = char_tokenizer()
    lm = RuleLM(tok, scripted())
    with pytest.raises(ConfigError, match="mode"):
        generate_with_tools(lm, tok, [PROMPT], {}, InferenceConfig(mode="sometimes"))
    with pytest.raises(UserError, match="empty prompt"):
        generate_with_tools(lm, tok, [""], {}, InferenceConfig())
