"""A causal LM's modules addressed by name templates, and the hooks tracing and editing need.

ROME names modules by template (`transformer.h.{}.mlp.c_proj` for GPT-2, `model.layers.{}.mlp.
down_proj` for Llama); so do we, so any Hugging Face causal LM works once its five templates are
known. Known model types get them automatically; others pass them explicitly.

The hooks are context managers: capture a module's output or input, rewrite outputs (restore a
clean state, add a delta), add noise to the subject tokens' embeddings, and skip the first
layers of a forward pass by replaying cached outputs (what makes batched tracing cheap).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from neurips23.errors import UserError


@dataclass(frozen=True)
class LayerNames:
    """Name templates of one model's blocks and their parts (`{}` is the layer index)."""

    layer: str
    mlp: str
    attn: str
    down_proj: str
    embed: str
    n_layers: int

    def of(self, kind: str, layer: int) -> str:
        """The module name of `kind` (layer | mlp | attn | down_proj) at `layer`."""
        return getattr(self, kind).format(layer)


_GPT2 = ("transformer.h.{}", "transformer.h.{}.mlp", "transformer.h.{}.attn",
         "transformer.h.{}.mlp.c_proj", "transformer.wte")
_LLAMA = ("model.layers.{}", "model.layers.{}.mlp", "model.layers.{}.self_attn",
          "model.layers.{}.mlp.down_proj", "model.embed_tokens")
KNOWN_TEMPLATES: dict[str, tuple[str, str, str, str, str]] = {
    "gpt2": _GPT2,
    "gptj": ("transformer.h.{}", "transformer.h.{}.mlp", "transformer.h.{}.attn",
             "transformer.h.{}.mlp.fc_out", "transformer.wte"),
    "gpt_neox": ("gpt_neox.layers.{}", "gpt_neox.layers.{}.mlp", "gpt_neox.layers.{}.attention",
                 "gpt_neox.layers.{}.mlp.dense_4h_to_h", "gpt_neox.embed_in"),
    **{t: _LLAMA for t in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3",
                           "olmo", "olmo2", "granite")},
}


def layer_names(model, layer: str = "", mlp: str = "", attn: str = "", down_proj: str = "",
                embed: str = "") -> LayerNames:
    """The model's module templates: given ones win, the rest come from its model type."""
    given = dict(layer=layer, mlp=mlp, attn=attn, down_proj=down_proj, embed=embed)
    mtype = getattr(getattr(model, "config", None), "model_type", "")
    known = KNOWN_TEMPLATES.get(mtype)
    if known is None:
        for cand in (_LLAMA, _GPT2):  # an unknown type laid out like a known one
            if _has(model, cand[3].format(0)):
                known = cand
                break
    fields = dict(zip(("layer", "mlp", "attn", "down_proj", "embed"), known or ("",) * 5,
                      strict=True))
    fields.update({k: v for k, v in given.items() if v})
    missing = [k for k, v in fields.items() if not v]
    if missing:
        raise UserError(f"model type {mtype!r} has no known module templates; give "
                        + ", ".join(f"--{k.replace('_', '-')}-template" for k in missing)
                        + " (e.g. --layer-template 'model.layers.{}')")
    n = getattr(model.config, "num_hidden_layers", None) or getattr(model.config, "n_layer", 0)
    names = LayerNames(**fields, n_layers=int(n))
    for kind in ("layer", "mlp", "attn", "down_proj"):
        get_module(model, names.of(kind, 0))
    get_module(model, names.embed)
    return names


def _has(model, name: str) -> bool:
    return name in dict(model.named_modules())


def get_module(model, name: str):
    """The submodule called `name`; a UserError naming it if the model has none."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        raise UserError(f"the model has no module {name!r}; check the module templates") from None


def kv_weight(module):
    """The down-projection's weight as W of shape (d_v, d_k) with v = W @ k, and whether the
    module stores it transposed (GPT-2's Conv1D keeps (d_k, d_v))."""
    transposed = type(module).__name__ == "Conv1D"
    return (module.weight.T if transposed else module.weight), transposed


# ----------------------------------------------------------------------------- output plumbing

def main_tensor(out: Any):
    """The hidden-state tensor of a module output (a tensor, or the first item of a tuple)."""
    return out[0] if isinstance(out, tuple) else out


def with_main(out: Any, new) -> Any:
    """`out` with its hidden-state tensor replaced by `new`."""
    return (new, *out[1:]) if isinstance(out, tuple) else new


def repeat_rows(out: Any, times: int) -> Any:
    """A module output with every batch-shaped tensor repeated `times` along dim 0."""
    import torch

    if isinstance(out, tuple):
        return tuple(repeat_rows(o, times) for o in out)
    if isinstance(out, torch.Tensor) and out.dim() >= 1:
        return out.repeat(times, *([1] * (out.dim() - 1)))
    return out


@contextlib.contextmanager
def output_hooks(model, edits: dict[str, Callable[[Any], Any]]) -> Iterator[None]:
    """Run `edits[name](output) -> output` on each named module's output during forwards."""
    handles = [get_module(model, name).register_forward_hook(
        lambda _m, _inp, out, fn=fn: fn(out)) for name, fn in edits.items()]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def capture_outputs(model, names: Sequence[str], detach: bool = True) -> Iterator[dict]:
    """Record the output of each named module (the latest forward) into the yielded dict."""
    store: dict[str, Any] = {}

    def keep(name):
        def fn(out):
            store[name] = _detach(out) if detach else out
            return out
        return fn

    with output_hooks(model, {n: keep(n) for n in names}):
        yield store


@contextlib.contextmanager
def capture_inputs(model, names: Sequence[str]) -> Iterator[dict]:
    """Record the first positional input of each named module (e.g. the keys of a down-proj)."""
    store: dict[str, Any] = {}
    handles = [get_module(model, n).register_forward_pre_hook(
        lambda _m, args, n=n: store.__setitem__(n, args[0].detach())) for n in names]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


def _detach(out: Any) -> Any:
    if isinstance(out, tuple):
        return tuple(_detach(o) for o in out)
    return out.detach() if hasattr(out, "detach") else out


@contextlib.contextmanager
def embedding_noise(model, names: LayerNames, spans: Sequence[tuple[int, int, int, Any]]
                    ) -> Iterator[None]:
    """Add noise to token embeddings: each span (row, start, end, noise[end-start, d])."""
    def add(out):
        out = out.clone()
        for row, start, end, noise in spans:
            out[row, start:end] += noise.to(out.dtype)
        return out

    with output_hooks(model, {names.embed: add} if spans else {}):
        yield


@contextlib.contextmanager
def skip_layers(model, names: LayerNames, outputs: dict[int, Any]) -> Iterator[None]:
    """Replace the forward of each layer in `outputs` by returning its cached output.

    Used with the corrupted run's outputs of layers < l, so a forward that restores states
    from layer l on computes only layers ≥ l (their results are identical by construction)."""
    mods = {j: get_module(model, names.of("layer", j)) for j in outputs}
    for j, mod in mods.items():
        mod.forward = lambda *a, _out=outputs[j], **k: _out
    try:
        yield
    finally:
        for mod in mods.values():
            del mod.forward


@contextlib.contextmanager
def requires_grad_only(model, params: Sequence[Any] = ()) -> Iterator[None]:
    """Freeze every parameter of `model` except `params` for the block, then restore flags."""
    saved = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in saved:
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


def forward_kwargs(model, keep: int = 1) -> dict[str, Any]:
    """Keyword arguments that make a forward return only the last `keep` positions' logits, no
    cache."""
    import inspect

    params = inspect.signature(model.forward).parameters
    kw: dict[str, Any] = {"use_cache": False} if "use_cache" in params else {}
    if "logits_to_keep" in params:
        kw["logits_to_keep"] = keep
    return kw


@contextlib.contextmanager
def weights_added(model, deltas: dict[str, Any]) -> Iterator[None]:
    """Add `deltas[param_name]` to the model's parameters for the block, then put the exact
    original values back (copied, not subtracted, so no rounding is left behind)."""
    import torch

    params = dict(model.named_parameters())
    missing = [n for n in deltas if n not in params]
    if missing:
        raise UserError(f"the model has no parameter {missing[0]!r}")
    saved = {n: params[n].detach().clone() for n in deltas}
    with torch.no_grad():
        for n, d in deltas.items():
            params[n].add_(d.to(params[n].dtype))
    try:
        yield
    finally:
        with torch.no_grad():
            for n, v in saved.items():
                params[n].copy_(v)
