"""LLM planning (Valmeekam et al., NeurIPS 2023 / PlanBench): domains, natural-language prompts
and plan reading, the modes, and the reproduction; PDDL itself is `neurips23.pddl`."""
