"""Reading a directory of instances as PlanBench's users have them
(`instances/<domain>/generated_domain.pddl` + `generated_basic/instance-N.pddl`) or as
`neurips23 plan generate` writes them (`domain.pddl` + `instance-N.pddl` + `instance-N.plan`).

The domain's wording is chosen by its PDDL name (PlanBench's Blocksworld `blocksworld-4ops`,
Mystery `mystery-4ops`, Logistics `logistics-strips`); any other domain is verbalised with its
own names ('pred x y', 'action x y'). Plans come from `instance-N.plan` when present, else
from our planners (A* with h_max, the optimal plans PlanBench shows as examples; greedy h_FF
if A* runs out of time).
"""

from __future__ import annotations

import re
from pathlib import Path

from neurips23.errors import DataError
from neurips23.pddl.parser import Domain, Problem, load_domain, load_problem
from neurips23.pddl.validate import parse_plan
from neurips23.planning import nl
from neurips23.planning.domains.registry import DomainSpec, Instance

DOMAIN_FILES = ("generated_domain.pddl", "domain.pddl")
INSTANCE_DIRS = ("generated_basic", "generated")
_INSTANCE = re.compile(r"^instance-(\d+)\.pddl$")

# PDDL domain name -> (our domain name, its PlanBench wording)
WORDINGS = {
    "blocksworld-4ops": ("blocksworld", nl.blocksworld_verbalizer),
    "mystery-4ops": ("mystery_blocksworld", nl.mystery_verbalizer),
    "logistics-strips": ("logistics", nl.logistics_verbalizer),
}


def locate(path: str | Path) -> tuple[Path, Path]:
    """(domain file, directory of instance-N.pddl files) for a PlanBench domain directory, its
    `generated_basic/` folder, or a folder `plan generate` wrote."""
    p = Path(path)
    if not p.is_dir():
        raise DataError(f"{p}: not a directory of instances")
    inst_dir = next((p / d for d in INSTANCE_DIRS if not _numbered(p) and _numbered(p / d)), p)
    for folder in (p, inst_dir, p.parent):
        for name in DOMAIN_FILES:
            if (folder / name).is_file():
                if not _numbered(inst_dir):
                    raise DataError(f"{inst_dir}: no instance-N.pddl files")
                return folder / name, inst_dir
    raise DataError(f"{p}: no domain file ({' or '.join(DOMAIN_FILES)}) here or one level up")


def _numbered(d: Path) -> list[tuple[int, Path]]:
    if not d.is_dir():
        return []
    out = [(int(m.group(1)), f) for f in d.iterdir() if (m := _INSTANCE.match(f.name))]
    return sorted(out)


def domain_spec(domain: Domain, intro: bool = True) -> DomainSpec:
    """Our wording for a PDDL domain read from a file (by its name; else its own names)."""
    name, verbalizer = WORDINGS.get(domain.name, (domain.name, None))
    if verbalizer is None:
        return DomainSpec(name, domain, lambda intro=True: nl.generic_verbalizer(domain,
                                                                                 intro=intro))
    return DomainSpec(name, domain, verbalizer)


def read_instances(path: str | Path, n: int | None = None, plan_time_limit: float = 30.0
                   ) -> tuple[DomainSpec, list[Instance]]:
    """The domain and the first `n` instances (all if None) of a directory, in the order of
    their numbers, each with a plan (see the module docstring)."""
    dom_file, inst_dir = locate(path)
    domain = load_domain(dom_file)
    files = _numbered(inst_dir)[: n if n is not None else None]
    out = []
    for k, f in files:
        problem = load_problem(f, domain)
        plan, how = _plan(domain, problem, f.with_suffix(".plan"), plan_time_limit)
        out.append(Instance(problem, plan, {"instance": k, "file": str(f), "plan_from": how,
                                            **_sizes(domain, problem)}))
    return domain_spec(domain), out


def _plan(domain: Domain, problem: Problem, plan_file: Path, time_limit: float
          ) -> tuple[list[str], str]:
    from neurips23.pddl.search import search
    from neurips23.pddl.task import ground
    from neurips23.pddl.validate import validate_plan
    from neurips23.utils import read_text_file

    if plan_file.is_file():
        steps = parse_plan(read_text_file(plan_file, "plan file"), str(plan_file))
        if not validate_plan(domain, problem, steps, str(plan_file)).valid:
            raise DataError(f"{plan_file}: the plan does not solve {problem.name}")
        return [str(s) for s in steps], "file"
    task = ground(domain, problem)
    for algorithm, how in (("astar", "optimal (A* h_max)"), ("gbfs", "greedy (GBFS h_FF)")):
        res = search(task, algorithm, time_limit=time_limit)
        if res.solved:
            return res.plan, how
    raise DataError(f"{problem.name}: no plan found in {time_limit:g} s (needed as an example)")


def _sizes(domain: Domain, problem: Problem) -> dict:
    if domain.name in ("blocksworld-4ops", "mystery-4ops"):
        return {"blocks": len(problem.objects)}
    return {"objects": len(problem.objects)}
