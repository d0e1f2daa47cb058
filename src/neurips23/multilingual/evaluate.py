"""The evaluation harness: generate with any LanguageModel, then score per language and tier.

    model = load_backend("hf", "smollm2-135m")            # or ("openai", name, base_url=...)
    outputs = generate_outputs(model, records, max_tokens=64)
    report = evaluate(records, outputs)                    # fidelity, chrF/chrF++/BLEU + signatures

`ReplayBackend` answers from a JSONL file of recorded outputs: tests and re-scoring use it to
run the same code path without a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from neurips23.errors import DataError
from neurips23.lm.backends.base import Usage
from neurips23.multilingual.languages import macro, tier_of
from neurips23.multilingual.records import Record


class ReplayBackend:
    """A LanguageModel that returns recorded outputs, looked up by prompt (or by the last user
    message of a chat). Rows: {"prompt": ..., "output": ...} (or "inputs" for "prompt")."""

    def __init__(self, path: str | Path, name: str = "replay"):
        self.name, self.usage, self.path = name, Usage(), Path(path)
        from neurips23.lm.data import iter_jsonl

        self.table: dict[str, str] = {}
        for lineno, row in iter_jsonl(self.path, "replay file"):
            prompt = row.get("prompt", row.get("inputs")) if isinstance(row, dict) else None
            if not isinstance(prompt, str) or not isinstance(row.get("output"), str):
                raise DataError(f"{self.path}:{lineno}: needs string fields 'prompt' (or 'inputs') "
                                "and 'output'")
            self.table[prompt] = row["output"]

    def _lookup(self, prompt: str) -> str:
        if prompt not in self.table:
            raise DataError(f"{self.path}: no recorded output for prompt {prompt[:60]!r}")
        self.usage.add(calls=1)
        return self.table[prompt]

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0, seed=None):
        return [[self._lookup(p)] * n for p in prompts]

    def chat(self, conversations, n=1, temperature=0.0, max_tokens=64, stop=(), seed=None):
        return [[self._lookup(conv[-1]["content"])] * n for conv in conversations]

    def score(self, prompts, continuations):
        raise DataError("the replay backend has recorded outputs only; it cannot score")


def generate_outputs(model, records: Sequence[Record], max_tokens: int = 64, chat: bool = True,
                     temperature: float = 0.0, seed: int | None = 0, system: str = "",
                     batch_size: int = 32, progress=None) -> list[str]:
    """One output per record's `inputs` (a single user turn when `chat`), in batches."""
    outs: list[str] = []
    for start in range(0, len(records), batch_size):
        batch = records[start:start + batch_size]
        if chat:
            convs = [([{"role": "system", "content": system}] if system else [])
                     + [{"role": "user", "content": r.inputs}] for r in batch]
            got = model.chat(convs, max_tokens=max_tokens, temperature=temperature, seed=seed)
        else:
            got = model.generate([r.inputs for r in batch], max_tokens=max_tokens,
                                 temperature=temperature, seed=seed)
        outs += [g[0] if g else "" for g in got]
        if progress:
            progress(len(outs), len(records))
    return outs


def evaluate(records: Sequence[Record], outputs: Sequence[str], langid: str = "lingua",
             tiers: Mapping[str, str] | None = None, bleu_tokenize: str | None = None) -> dict:
    """Fidelity per language and tier; chrF/chrF++/BLEU with signatures per language where the
    records have targets. Returns {"fidelity": ..., "scores": ..., "items": [...]}."""
    from neurips23.multilingual.fidelity import fidelity_summary, items_as_dicts, language_fidelity
    from neurips23.multilingual.metrics import score_all

    if len(records) != len(outputs):
        raise DataError(f"{len(records)} records but {len(outputs)} outputs")
    items = language_fidelity(list(outputs), [r.language_code for r in records], langid)
    by_lang: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_lang.setdefault(macro(r.language_code), []).append(i)
    scores = {}
    for lang, idx in sorted(by_lang.items()):
        with_ref = [i for i in idx if records[i].targets.strip()]
        if with_ref:
            scores[lang] = {"n": len(with_ref), "tier": tier_of(lang, tiers),
                            **score_all([outputs[i] for i in with_ref],
                                        [records[i].targets for i in with_ref], lang, bleu_tokenize)}
    return {"fidelity": fidelity_summary(items, tiers), "scores": scores,
            "items": items_as_dicts(items)}


def plot_fidelity(summary: Mapping[str, dict], title: str = "Language fidelity"):
    """Bars of fidelity per language with their Wilson intervals (tiers excluded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = [k for k in summary if not k.startswith("tier:")]
    vals = [summary[k]["fidelity"] for k in langs]
    lo = [v - summary[k]["ci"][0] for k, v in zip(langs, vals, strict=True)]
    hi = [summary[k]["ci"][1] - v for k, v in zip(langs, vals, strict=True)]
    colors = {"high": "tab:blue", "mid": "tab:orange", "low": "tab:red"}
    fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(langs)), 3.4))
    ax.bar(langs, vals, yerr=[lo, hi], capsize=3,
           color=[colors.get(tier_of(k), "tab:gray") for k in langs])
    ax.set(ylim=(0, 1.05), ylabel="share answered in the asked language", title=title)
    return fig
