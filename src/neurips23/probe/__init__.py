"""`neurips23 probe`: one command that tests a model or an endpoint against the papers'
model-facing findings.

Each probe (planning, tot, mirage, multilingual, toolformer, editing) states one paper's finding,
measures it on the model under test with an interval through that method's own library code, and
decides with the project's claim rules (`core.claims`) whether *this model* shows it; a probe that
cannot run on the model (no weights, no log-probs) says why. Results are cached per (model
fingerprint, probe, budget, code version), so a killed run resumes; the card gathers them
(`card.json`, `card.html`), and `neurips23 probe compare A B` sets two cards side by side.

Modules: `config` (the command's options and the declared budgets), `subject` (the model under
test and its fingerprint), `base` (a probe's result, verdict wording, the cache), one module per
probe, `run` (running the chosen probes), `card` (card and comparison), `cli` (the commands).
"""
