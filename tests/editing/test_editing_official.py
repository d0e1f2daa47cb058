"""Behaviours of the official code that the editing package follows, each test citing the file
and lines: kmeng01/rome (commit 0874014) and google/belief-localization (commit 0886d8d, Hase et
al.'s fork under third_party/)."""

import math

import pytest
import torch

from neurips23.editing.metrics import edit_scores, rewrite_score
from neurips23.editing.modules import layer_names
from neurips23.editing.problems import PROBLEMS, edit_loss, get_problem
from neurips23.editing.prompts import encode
from neurips23.editing.rome import RomeHparams, compute_v


def test_rome_kl_term_is_read_at_the_subject_last_token(gpt2, word_tok, fact, monkeypatch):
    """rome/compute_v.py:57-62 looks up every prompt, the KL prompt "{} is a" included, at the
    subject's last token (`fact_token` subject_last), and :113-119 takes the KL logits there."""
    seen = []
    real = torch.nn.functional.kl_div

    def spy(inp, target, **kw):
        seen.append(target.detach().clone())
        return real(inp, target, **kw)

    monkeypatch.setattr(torch.nn.functional, "kl_div", spy)
    names = layer_names(gpt2)
    compute_v(gpt2, word_tok, fact, PROBLEMS["error_injection"], 1, ["{}"],
              RomeHparams(v_steps=1), names)
    kl_text = f"{fact.subject} is a"
    enc = encode(word_tok, [kl_text], [fact.subject])
    with torch.no_grad():
        logits = gpt2(input_ids=enc.input_ids).logits.float()
    at_subject = torch.log_softmax(logits[0, enc.last_subject[0]], -1)
    at_end = torch.log_softmax(logits[0, enc.last[0]], -1)
    assert enc.last_subject[0] != enc.last[0]
    assert torch.allclose(seen[0], at_subject, atol=1e-5)
    assert not torch.allclose(seen[0], at_end, atol=1e-3)


def test_erasure_minimises_the_probability():
    """belief-localization rome/compute_v.py:137-148: nll_loss is the mean over prompts of the
    per-token NLL; Fact Erasure's loss is exp(-nll_loss) (the probability), the others nll_loss.
    baselines/ft/ft_main.py:159-162 likewise minimises the probability for erasure."""
    logp = torch.tensor([-0.2, -1.0, -3.0])  # three prompts, a 2-token object
    raise_ = edit_loss(logp, 2, PROBLEMS["error_injection"])
    erase = edit_loss(logp, 2, PROBLEMS["fact_erasure"])
    nll = (0.1 + 0.5 + 1.5) / 3
    assert float(raise_) == pytest.approx(nll)
    assert float(erase) == pytest.approx(math.exp(-nll))


def test_rome_erasure_runs_every_step(gpt2, word_tok, fact):
    """belief-localization rome/compute_v.py:156-157: the loss < 5e-2 early stop applies to every
    problem but erasure, which runs all of its steps."""
    names = layer_names(gpt2)
    hp = RomeHparams(v_steps=6, early_stop_loss=1e9)  # would stop at once if allowed
    *_, steps_ei = compute_v(gpt2, word_tok, fact, PROBLEMS["error_injection"], 1, ["{}"], hp,
                             names)
    *_, steps_er = compute_v(gpt2, word_tok, fact, PROBLEMS["fact_erasure"], 1, ["{}"], hp,
                             names)
    assert steps_ei == 1 and steps_er == 6


def test_rewrite_score_floor_and_neighbourhood_on_the_edits_object():
    """belief-localization experiments/evaluate.py:232-248: probabilities of `target_new` on every
    prompt type (neighbourhood prompts too); recovered = max(2e-8, 1 - (1-post)/(1-pre));
    erased = max(0, (pre-post)/pre); neighbourhood = 1 - |post-pre| / (|pre-.5| + .5)."""
    s = edit_scores(PROBLEMS["error_injection"], (0.3, 0.2), [(0.3, 0.1)], [(0.2, 0.5)])
    assert s["rewrite"] == 2e-8 and s["paraphrase"] == 2e-8
    assert s["neighbourhood"] == pytest.approx(1 - 0.3 / (0.3 + 0.5))
    assert rewrite_score(0.5, 0.75) == pytest.approx(0.5)
    er = edit_scores(PROBLEMS["fact_erasure"], (0.4, 0.5), [], [])
    assert er["rewrite"] == 0.0


def test_all_five_problems_of_hase_et_al():
    """belief-localization experiments/evaluate.py:499-531 sets each problem's object: Tracing
    Reversal the noised-input output, Erasure and Amplification the true object (target_new :=
    target_true), Forcing the true object under subject noise, Error Injection CounterFact's
    new object."""
    from neurips23.editing.facts import Fact

    f = Fact(subject="s", prompt="{} is", target_true="t", target_new="n")
    assert set(PROBLEMS) == {"error_injection", "tracing_reversal", "fact_erasure",
                             "fact_amplification", "fact_forcing"}
    amp, er = get_problem("fact_amplification"), get_problem("fact_erasure")
    assert amp.target(f) == er.target(f) == "t" and not amp.minimise and er.minimise
    rev = get_problem("tracing_reversal")
    assert rev.noised_target and not rev.noised and rev.target(f) == "n"


def test_tracing_reversal_targets_the_noised_answer(gpt2, word_tok, fact):
    """o_noise is the argmax of p averaged over the noised runs (the corrupted run of
    causal_trace.py, as Fact Forcing's request_baseline is picked in evaluate.py:525-529)."""
    from neurips23.editing.prompts import noise_samples
    from neurips23.editing.tracing import noised_answer

    names = layer_names(gpt2)
    got = noised_answer(gpt2, word_tok, fact.text, fact.subject, noise=3.0, samples=4,
                        names=names)
    enc = encode(word_tok, [fact.text], [fact.subject])
    b, e = enc.subject[0]
    noise = noise_samples(4, e - b, gpt2.config.n_embd, 3.0, 1)
    with torch.no_grad():
        emb = gpt2.transformer.wte(enc.input_ids.repeat(4, 1)).clone()
        emb[:, b:e] += noise.to(emb.dtype)
        p = torch.softmax(gpt2(inputs_embeds=emb).logits[:, -1].float(), -1).mean(0)
    assert got == word_tok.decode([int(p.argmax())]).strip()


def test_context_prefixes_are_romes_unconditional_samples(gpt2, word_tok):
    """rome/rome_main.py:154-177 with hparams/ROME/*.json `context_template_length_params`
    [[5, 10], [10, 10]]: "{}" plus 20 samples of `generate_fast` from the start-of-text token
    (util/generate.py:82, top_k=5), 5 and 10 tokens long counting that token, each + ". {}"."""
    from neurips23.editing.rome import ROME_CONTEXT_LENGTHS, context_templates

    assert ROME_CONTEXT_LENGTHS == ((5, 10), (10, 10))
    ctx = context_templates(gpt2, word_tok, seed=3)
    assert len(ctx) == 21 and ctx[0] == "{}"
    assert all(c.endswith(" . {}") for c in ctx[1:])
    words = [len(c[:-len(" . {}")].split()) for c in ctx[1:]]
    assert max(words[:10]) <= 4 and max(words[10:]) <= 9  # the start token is not text
    assert context_templates(gpt2, word_tok, seed=3) == ctx  # same seed, same prefixes
    assert context_templates(gpt2, word_tok, seed=4) != ctx
    assert context_templates(gpt2, word_tok, lengths=[(3, 2)], seed=3)[0] == "{}"
    assert len(context_templates(gpt2, word_tok, lengths=[(3, 2)], seed=3)) == 3


@pytest.mark.parametrize("kind", ["layer", "mlp"])
def test_tracing_scores_the_whole_target(gpt2, word_tok, kind):
    """belief-localization util/fewshot_utils.py:65-86 (`score_from_batch`): the traced
    probability of a target is the product of its tokens' probabilities, teacher-forced after
    the prompt. The batched trace equals the per-state loop on a two-token object, and its clean
    probability is that product."""
    from neurips23.editing.tracing import trace_fact, trace_fact_loop

    prompt, subject, target = "the home of ba ko mi is", "ba ko mi", "farmer doctor"
    kw = dict(noise=2.0, kind=kind, window=3, samples=3, names=layer_names(gpt2))
    fast = trace_fact(gpt2, word_tok, prompt, subject, target, max_rows=6, **kw)
    slow = trace_fact_loop(gpt2, word_tok, prompt, subject, target, **kw)
    assert fast.scores.shape == (len(word_tok(prompt)["input_ids"]), gpt2.config.n_layer)
    assert abs(fast.p_clean - slow.p_clean) < 1e-6 and abs(fast.p_low - slow.p_low) < 1e-6
    assert float(abs(fast.scores - slow.scores).max()) < 1e-6
    ids = word_tok(prompt + " farmer")["input_ids"]
    farmer, doctor = word_tok(" farmer doctor", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(gpt2(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    want = float((logp[len(ids) - 2, farmer] + logp[len(ids) - 1, doctor]).exp())
    assert fast.p_clean == pytest.approx(want, rel=1e-5)
    assert fast.answer == "farmer doctor"
