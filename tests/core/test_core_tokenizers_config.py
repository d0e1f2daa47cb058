from dataclasses import dataclass, field

import pytest

from neurips23.config import dump_yaml, load_config
from neurips23.errors import ConfigError
from neurips23.lm.tokenizers import build_char_tokenizer, build_word_tokenizer


def test_char_tokenizer_round_trip_and_special_ids(tmp_path):
    tok = build_char_tokenizer("ab 12\n")
    text = "ab 1\n21"
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert tok.decode(ids) == text
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.encode("z") == [tok.unk_token_id]
    tok.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again.encode(text) == ids
    assert again.decode(ids + [again.eos_token_id], skip_special_tokens=True) == text


def test_word_tokenizer_splits_on_whitespace():
    tok = build_word_tokenizer(["pick up the red block", "stack a b"], extra_tokens=["[PLAN]"])
    ids = tok.encode("pick up [PLAN] the blue block")
    assert len(ids) == 6
    assert tok.convert_ids_to_tokens(ids)[3] == "the"
    assert ids[4] == tok.unk_token_id
    assert tok.decode(tok.encode("stack a b")) == "stack a b"


@dataclass
class Inner:
    lr: float = 0.1
    steps: int = 10


@dataclass
class Outer:
    name: str = "x"
    sizes: list[int] = field(default_factory=lambda: [1, 2])
    flag: bool = False
    inner: Inner = field(default_factory=Inner)
    maybe: int | None = None


def test_config_layers_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: fromfile\ninner:\n  steps: 20\n")
    cfg = load_config(Outer, path, ["inner.lr=3e-4", "sizes=[4,5]", "flag=true", "maybe=3"],
                      base={"inner": {"steps": 5, "lr": 1.0}})
    assert cfg.name == "fromfile" and cfg.inner.steps == 20 and cfg.inner.lr == pytest.approx(3e-4)
    assert cfg.sizes == [4, 5] and cfg.flag is True and cfg.maybe == 3
    assert "steps: 20" in dump_yaml(cfg)


def test_config_rejects_unknown_key_listing_valid_names():
    with pytest.raises(ConfigError, match=r"unknown config key 'inner.lrr'.*valid keys: lr, steps"):
        load_config(Outer, overrides=["inner.lrr=1"])


@pytest.mark.parametrize("override,needle", [("inner.steps=abc", "expected an integer"),
                                             ("flag=maybe", "expected true/false"),
                                             ("sizes=3", "expected a list"),
                                             ("noequals", "expected key=value")])
def test_config_type_errors_name_the_key(override, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(Outer, overrides=[override])


def test_config_bad_yaml_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml:2: not valid YAML"):
        load_config(Outer, bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(Outer, tmp_path / "missing.yaml")


def test_a_nested_section_overrides_the_fields_own_default_not_the_class_defaults(tmp_path):
    """`train: {steps: 5}` keeps what the method's default_factory set (batch size, lr) and
    `--set rule.threshold=…` keeps the rule's direction and reason."""
    from neurips23.core.claims import Rule
    from neurips23.lm.train import TrainConfig

    @dataclass
    class Cfg:
        train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=400, batch_size=7,
                                                                       lr=1e-4))
        rule: Rule = field(default_factory=lambda: Rule("below", 0.1, reason="the paper's gap"))

    f = tmp_path / "c.yaml"
    f.write_text("train:\n  lr: 0.01\n")
    cfg = load_config(Cfg, f, overrides=["rule.threshold=0.2"], base={"train": {"steps": 5}})
    assert (cfg.train.steps, cfg.train.batch_size, cfg.train.lr) == (5, 7, 0.01)
    assert cfg.train.schedule == TrainConfig().schedule
    assert (cfg.rule.direction, cfg.rule.threshold, cfg.rule.reason) == ("below", 0.2,
                                                                        "the paper's gap")
