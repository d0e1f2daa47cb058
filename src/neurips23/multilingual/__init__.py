"""Aya-style multilingual instruction data and evaluation (Hooker, NeurIPS 2023 workshop talk;
Singh et al. 2024, *Aya Dataset*; Üstün et al. 2024, *Aya Model*).

Data: one record schema (`records`), normalisation, language ID with `und` guards (`langid`),
script checks (`scripts`), exact + MinHash near-duplicate removal (`dedup`), quality filters
and the pipeline (`pipeline`), per-language templates (`templates`), per-language cost and
token premium (`cost`). Evaluation: sacrebleu scores with signatures (`metrics`), language
fidelity (`fidelity`), both-order pairwise win rates with pluggable judges (`winrate`), and
the generation harness (`evaluate`). `config` holds the settings of `neurips23 reproduce aya`,
`experiment` its arms and `reproduce` its claims.
"""
