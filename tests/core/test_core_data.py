import pytest

from neurips23.errors import DataError
from neurips23.lm.data import IGNORE_INDEX, Example, collate, encode_example, read_examples, read_jsonl
from neurips23.lm.tokenizers import build_char_tokenizer


def test_read_jsonl_reports_line_and_field(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"prompt": "a", "response": "b"}\n\n{"prompt": "c"}\n')
    with pytest.raises(DataError, match=r"d.jsonl:3: missing field 'response'"):
        read_jsonl(p, required=["prompt", "response"])
    p.write_text('{"prompt": "a", "response": "b"}\n{oops\n')
    with pytest.raises(DataError, match=r"d.jsonl:2: not valid JSON"):
        read_jsonl(p)
    p.write_text('[1, 2]\n')
    with pytest.raises(DataError, match=r"d.jsonl:1: expected a JSON object"):
        read_jsonl(p)
    p.write_text('{"prompt": 3, "response": "b"}\n')
    with pytest.raises(DataError, match=r"d.jsonl:1: field 'prompt' should be str"):
        read_examples(p)
    p.write_text("")
    with pytest.raises(DataError, match="no records"):
        read_jsonl(p)
    with pytest.raises(DataError, match="file not found"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_read_examples_accepts_text_records(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"text": "hello"}\n{"prompt": "q", "response": "a"}\n')
    assert read_examples(p) == [Example("", "hello"), Example("q", "a")]


def test_encode_masks_prompt_and_truncates_prompt_first():
    tok = build_char_tokenizer("abcdef")
    enc = encode_example(tok, Example("abc", "de"), max_length=16)
    assert enc["input_ids"] == tok.encode("abcde") + [tok.eos_token_id]
    assert enc["labels"] == [IGNORE_INDEX] * 3 + tok.encode("de") + [tok.eos_token_id]
    short = encode_example(tok, Example("abcdef", "ab"), max_length=4)
    assert short["input_ids"] == tok.encode("fab") + [tok.eos_token_id]  # prompt cut from the left
    cut = encode_example(tok, Example("abc", "abcdef"), max_length=3)
    assert cut["labels"] == tok.encode("abc")  # response cut from the right, no prompt left
    with pytest.raises(DataError, match="empty response"):
        encode_example(tok, Example("abc", "  "), max_length=8)
    with pytest.raises(DataError, match="empty after truncation"):
        encode_example(tok, Example("abc", "d"), max_length=0)


def test_collate_pads_right_and_masks_labels():
    batch = collate([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
                     {"input_ids": [8], "labels": [8]}], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
