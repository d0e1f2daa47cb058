"""Call text, the tools and their execution, the synthetic data's ground truth, C*."""

import datetime as dt
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurips23.errors import ConfigError, DataError
from neurips23.toolformer import synthetic as S
from neurips23.toolformer.annotate import Annotation, annotated_texts, augmented_corpus, choose_calls
from neurips23.toolformer.calls import APICall, format_call, insert_call, parse_call, strip_calls
from neurips23.toolformer.filtering import FilterScores
from neurips23.toolformer.sampling import CandidateCall
from neurips23.toolformer.tools import (
    Document,
    Tool,
    ToolFailure,
    calendar,
    execute_calls,
    make_tools,
    wikisearch_tool,
)


def test_call_text_round_trips():
    c = APICall("Calculator", "400 / 1400")
    assert format_call(c) == "[Calculator(400 / 1400)]"
    assert format_call(c, "0.29") == "[Calculator(400 / 1400)->0.29]"
    assert format_call(c, "") == "[Calculator(400 / 1400)->]"  # e(c, ε)
    for text in (format_call(c), format_call(c, "0.29"), "Calculator(400 / 1400)"):
        assert parse_call(text) == c
    assert parse_call("Calendar()") == APICall("Calendar", "")
    assert parse_call('QA("Who is (really) there?")') == APICall("QA", '"Who is (really) there?"')
    assert parse_call("not a call") is None and parse_call("3(4)") is None


@given(st.text(alphabet="abc 4519.,", min_size=1, max_size=30), st.data())
def test_inserted_calls_strip_back_to_the_text_up_to_spacing(text, data):
    offset = data.draw(st.integers(0, len(text)))
    out = insert_call(text, offset, format_call(APICall("Calculator", "1+2"), "3"))
    assert " ".join(strip_calls(out).split()) == " ".join(text.split())


def test_calendar_matches_the_papers_sentence():
    assert calendar(dt.date(2017, 3, 9)) == "Today is Thursday, March 9, 2017."
    assert calendar(dt.date(2023, 1, 30)) == "Today is Monday, January 30, 2023."


def test_bm25_returns_the_matching_passage_and_fails_cleanly():
    tool = wikisearch_tool(["Ghana's flag is red, gold and green.", "Metformin treats diabetes.",
                            "Paris is the capital of France."])
    assert tool.run('"metformin diabetes"', Document("")) == "Metformin treats diabetes."
    with pytest.raises(ToolFailure):
        tool.run("zebra", Document(""))
    with pytest.raises(DataError):
        wikisearch_tool(["  "])


def test_execution_turns_failures_and_timeouts_into_no_result():
    release = threading.Event()

    finished: list[str] = []

    def slow(args, doc):
        release.wait(60)  # held until the test releases it (60 s only bounds a broken run)
        finished.append("slow")
        return "late"

    def broken(args, doc):
        raise RuntimeError("boom")

    tools = {**make_tools(["calculator", "calendar"]), "Slow": Tool("Slow", slow),
             "Broken": Tool("Broken", broken)}
    calls = [APICall("Calculator", "2*3"), APICall("Calculator", "2**3"), APICall("Slow", ""),
             APICall("Broken", ""), APICall("Nope", "1"), APICall("Calendar", "")]
    docs = [Document("x", dt.date(2017, 3, 9))] * len(calls)
    out = execute_calls(calls, docs, tools, timeout=0.3)
    assert finished == []  # it gave up on the slow tool instead of waiting for it
    release.set()
    assert out == ["6", None, None, None, None, "Today is Thursday, March 9, 2017."]


def test_batched_tool_gets_all_its_calls_at_once():
    seen = []

    def batch(args, docs):
        seen.append(list(args))
        return [a.upper() for a in args]

    tools = {"QA": Tool("QA", lambda a, d: a, run_batch=batch)}
    out = execute_calls([APICall("QA", "a"), APICall("QA", "b")], [Document("")] * 2, tools)
    assert out == ["A", "B"] and seen == [["a", "b"]]


def test_unknown_or_unusable_tools_are_config_errors():
    with pytest.raises(ConfigError, match="unknown tool 'nope'"):
        make_tools(["nope"])
    with pytest.raises(ConfigError, match="retrieval corpus"):
        make_tools(["wikisearch"])
    with pytest.raises(ConfigError, match="qa"):
        make_tools(["qa"])


def test_seed_texts_hold_correct_calls_and_ground_truth_agrees():
    for text in S.seed_docs(20, 0, prefix_fraction=0.5):
        call = parse_call(text[text.index("["):text.index("]") + 1])
        result = text[text.index("->") + 2:text.index("]")]
        if call.tool == "Calculator":
            from neurips23.toolformer.tools import calculator
            assert calculator(call.args) == result
        plain = strip_calls(text).strip()
        answer = result if call.tool == "Calculator" else result.split(",")[0].split()[-1]
        assert answer in plain.split(" ") or answer + "." in plain.split(" ") or \
            answer + "," in plain.split(" ")
    text = "Tom has 347 pens. Tom buys 58 more, so now Tom has 405 pens."
    off = text.rindex("405")
    assert S.call_helps(text, off, "Calculator", "405")
    assert S.call_helps(text, off - 1, "Calculator", "405")      # before the space
    assert not S.call_helps(text, off, "Calculator", "406")
    assert not S.call_helps(text, off + 1, "Calculator", "405")  # mid-number
    day = "It is a cold morning. Today is Thursday, so Tom goes to the park."
    assert S.call_helps(day, day.index("Thursday"), "Calendar", calendar(dt.date(2017, 3, 9)))
    assert not S.call_helps(day, day.index("Thursday"), "Calendar", calendar(dt.date(2017, 3, 10)))
    assert not S.call_helps(day, day.index("is Thursday"), "Calendar", calendar(dt.date(2017, 3, 9)))


def test_held_out_questions_use_unseen_templates():
    train = {t for _, t in S.TRAIN_ARITHMETIC}
    assert not train & {t for _, t in S.TEST_ARITHMETIC}
    for q in S.arithmetic_questions(10, 0):
        assert q.answer == (q.a + q.b if q.op == "+" else q.a - q.b)
        assert str(q.answer) not in q.text.split()
    assert S.TEST_CALENDAR not in S.TRAIN_CALENDAR


def _cand(doc, offset, use, result="3"):
    c = CandidateCall(doc, offset, offset, 0.5, APICall("Calculator", f"1+{offset}"), result)
    c.scores = FilterScores(2.0, 2.0, 2.0 - use)
    return c


def test_c_star_holds_the_texts_with_kept_calls_and_every_kept_call():
    """§2: x* interleaves every kept call of a text ("we proceed analogously for texts with
    multiple API calls"); C* holds the texts with at least one kept call, and +C the same texts
    without the calls ("apart from the inserted API calls, C* contains the exact same texts")."""
    docs = [Document("a b 3 c"), Document("x y z"), Document("p q")]
    ann = {"Calculator": Annotation("Calculator", [_cand(0, 4, 0.7), _cand(0, 2, 1.5),
                                                   _cand(1, 2, 0.2), _cand(2, 2, 0.9, None)], 0.5)}
    ann["Calculator"].candidates[3].scores = None  # a call with no result is never scored
    chosen = choose_calls(ann, "filtered")
    assert sorted((c.doc, c.offset) for c in chosen) == [(0, 2), (0, 4)]
    assert augmented_corpus(docs, chosen) == [
        "a [Calculator(1+2)->3] b [Calculator(1+4)->3] 3 c"]
    assert annotated_texts(docs, chosen) == ["a b 3 c"]
    best = choose_calls(ann, "filtered", per_tool=1)  # the cap keeps the most useful call
    assert [(c.doc, c.offset) for c in best] == [(0, 2)]
    assert augmented_corpus(docs, best, texts="all") == ["a [Calculator(1+2)->3] b 3 c", "x y z",
                                                         "p q"]
    nothing_kept = {"Calculator": Annotation("Calculator", ann["Calculator"].candidates, 9.0)}
    assert augmented_corpus(docs, choose_calls(nothing_kept)) == []
    unfiltered = choose_calls(ann, "unfiltered", seed=0)
    assert sorted(c.doc for c in unfiltered) == [0, 0, 1]  # every executed call, one a position


def test_the_calendar_reads_only_the_texts_own_date():
    """The calendar answers with the document's date (or a date the user gives); an undated text
    gets no result rather than the day the annotation happens to run."""
    import datetime as dt

    from neurips23.toolformer.tools import ToolFailure, calendar_tool

    tool = calendar_tool()
    dated = Document("x", date=dt.date(2017, 3, 9))
    assert tool.run("", dated) == "Today is Thursday, March 9, 2017."
    with pytest.raises(ToolFailure, match="no date"):
        tool.run("", Document("x"))
    assert calendar_tool(dt.date(2023, 1, 30)).run("", Document("x")) == \
        "Today is Monday, January 30, 2023."
