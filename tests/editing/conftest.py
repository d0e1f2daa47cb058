"""Small untrained models (GPT-2 and Llama layouts) and a word tokenizer for the editing tests."""

import pytest

WORDS = ("the home of ba ko mi is lives in avalon brindle corvo zu ra people say a farmer "
         "doctor . speaks alvish borean")


@pytest.fixture(scope="session")
def word_tok():
    from neurips23.lm.tokenizers import build_word_tokenizer

    return build_word_tokenizer([WORDS])


def _model(arch: str, tok, seed: int = 0):
    import torch

    from neurips23.lm.models import build_model

    model = build_model(dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                             intermediate_size=64), len(tok), arch=arch, seed=seed)
    with torch.no_grad():  # larger weights so that tracing effects are far from zero
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(3.0)
    model.requires_grad_(False)
    return model


@pytest.fixture(scope="session")
def gpt2(word_tok):
    return _model("gpt2", word_tok)


@pytest.fixture(scope="session")
def llama(word_tok):
    return _model("llama", word_tok)


@pytest.fixture
def fact():
    from neurips23.editing.facts import Fact

    return Fact(subject="ba ko mi", prompt="the home of {} is", target_true="avalon",
                target_new="brindle", paraphrase=("ba ko mi lives in",),
                neighbours=("the home of zu ra is",), relation="home")
