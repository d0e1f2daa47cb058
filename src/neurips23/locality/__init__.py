"""Why think step by step? Reasoning emerges from the locality of experience (Prystawski, Li &
Goodman, NeurIPS 2023).

Read top-down: `bayesnet` (random nets, sampling, exact inference, pgmpy export), `heldout`
(pairs never observed together, chosen by mutual information), `scaffold` (d-separation and
minimal d-separating scaffolds), `formats` (fully observed / local / wrong-local samples, the
sample text and its tokenizer), `estimators` (direct, scaffolded, negative-scaffold and free
generation over any causal LM), `evaluation` (MSE against exact conditionals), `world` and
`training` (a world file; packing and training), `released` (the authors' released estimates
as item rows), then `config` (the reproduction's settings and profiles), `reproduce` and `cli`.
"""
