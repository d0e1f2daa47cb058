"""A small PDDL reader for typed STRIPS domains and problems, with file:line:column errors.

Why our own parser and not the `pddl` package: the validator and the CLI must name the
line and column of a malformed file (the `pddl` package's Lark errors do not map cleanly to
our `DataError`), and STRIPS with types is a ~200-line grammar. Everything is lower-cased:
PDDL is case-insensitive, as VAL treats it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neurips23.errors import DataError

Atom = tuple[str, ...]  # ("on", "a", "b"); lifted atoms hold "?x" variables


@dataclass(frozen=True)
class Token:
    text: str
    line: int
    col: int


@dataclass
class SExpr:
    """A parenthesised list with the position of its opening bracket."""

    items: list[SExpr | Token]
    line: int
    col: int


def _where(source: str, line: int, col: int) -> str:
    return f"{source}:{line}:{col}"


def tokenize(text: str, source: str = "<string>") -> list[Token]:
    """Split PDDL text into '(' ')' and words, dropping ';' comments; 1-based line/col."""
    tokens: list[Token] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0]
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if c.isspace():
                i += 1
            elif c in "()":
                tokens.append(Token(c, lineno, i + 1))
                i += 1
            else:
                j = i
                while j < n and not line[j].isspace() and line[j] not in "()":
                    j += 1
                tokens.append(Token(line[i:j].lower(), lineno, i + 1))
                i = j
    return tokens


def read_sexpr(text: str, source: str = "<string>") -> SExpr:
    """Parse exactly one top-level s-expression; unbalanced brackets name their position."""
    tokens = tokenize(text, source)
    if not tokens:
        raise DataError(f"{source}: empty PDDL file")
    stack: list[SExpr] = []
    top: SExpr | None = None
    for tok in tokens:
        if tok.text == "(":
            node = SExpr([], tok.line, tok.col)
            if stack:
                stack[-1].items.append(node)
            elif top is not None:
                raise DataError(f"{_where(source, tok.line, tok.col)}: text after the end of "
                                "the definition")
            stack.append(node)
        elif tok.text == ")":
            if not stack:
                raise DataError(f"{_where(source, tok.line, tok.col)}: unmatched ')'")
            node = stack.pop()
            if not stack:
                top = node
        else:
            if not stack:
                raise DataError(f"{_where(source, tok.line, tok.col)}: expected '(' but found "
                                f"'{tok.text}'")
            stack[-1].items.append(tok)
    if stack:
        open_ = stack[-1]
        raise DataError(f"{_where(source, open_.line, open_.col)}: '(' is never closed")
    assert top is not None
    return top


@dataclass(frozen=True)
class Action:
    """A lifted STRIPS action: typed parameters, positive preconditions, add and delete lists."""

    name: str
    parameters: tuple[tuple[str, str], ...]  # (("?x", "block"), ...)
    precondition: tuple[Atom, ...]
    add: tuple[Atom, ...]
    delete: tuple[Atom, ...]


@dataclass
class Domain:
    """A typed STRIPS domain (PDDL `:strips` + `:typing`)."""

    name: str
    types: dict[str, str] = field(default_factory=dict)  # type -> parent ("object" at the root)
    constants: dict[str, str] = field(default_factory=dict)  # object -> type
    predicates: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> arg types
    actions: dict[str, Action] = field(default_factory=dict)
    requirements: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)  # what the reader accepted but ignores

    def is_subtype(self, t: str, ancestor: str) -> bool:
        """True if type `t` equals `ancestor` or descends from it."""
        seen = set()
        while True:
            if t == ancestor or ancestor == "object":
                return True
            if t in seen or t not in self.types:
                return False
            seen.add(t)
            t = self.types[t]


@dataclass
class Problem:
    """A STRIPS problem: typed objects, an initial state (set of atoms) and a conjunctive goal."""

    name: str
    domain_name: str
    objects: dict[str, str]  # object -> type
    init: frozenset[Atom]
    goal: tuple[Atom, ...]


_SUPPORTED_REQS = {":strips", ":typing"}
# accepted when the domain does not use them ('=' and numeric fluents are rejected where used)
_IGNORED_REQS = {":equality"}


class _Reader:
    def __init__(self, source: str):
        self.source = source

    def err(self, node: SExpr | Token, msg: str) -> DataError:
        return DataError(f"{_where(self.source, node.line, node.col)}: {msg}")

    def word(self, node: SExpr | Token, what: str) -> str:
        if not isinstance(node, Token):
            raise self.err(node, f"expected {what}, found a '(' list")
        return node.text

    def lst(self, node: SExpr | Token, what: str) -> SExpr:
        if not isinstance(node, SExpr):
            raise self.err(node, f"expected {what} in '(' ')', found '{node.text}'")
        return node

    def typed_list(self, items: list[SExpr | Token], what: str) -> list[tuple[str, str, Token]]:
        """`a b - t c` -> [(a, t), (b, t), (c, object)], keeping each name's token."""
        out: list[tuple[str, str, Token]] = []
        pending: list[Token] = []
        i = 0
        while i < len(items):
            node = items[i]
            if not isinstance(node, Token):
                raise self.err(node, f"expected a {what} name, found a '(' list")
            if node.text == "-":
                if i + 1 >= len(items) or not pending:
                    raise self.err(node, f"'-' must sit between {what} names and a type")
                nxt = items[i + 1]
                if isinstance(nxt, SExpr) and nxt.items and isinstance(nxt.items[0], Token) \
                        and nxt.items[0].text == "either":
                    raise self.err(nxt, "'either' types are not supported")
                t = self.word(nxt, "a type name")
                out += [(p.text, t, p) for p in pending]
                pending = []
                i += 2
                continue
            pending.append(node)
            i += 1
        out += [(p.text, "object", p) for p in pending]
        return out

    def atom(self, node: SExpr | Token, what: str) -> tuple[Atom, SExpr]:
        node = self.lst(node, what)
        if not node.items:
            raise self.err(node, f"empty {what}")
        parts = [self.word(x, "a predicate or argument name") for x in node.items]
        return tuple(parts), node

    def conjunction(self, node: SExpr | Token, what: str, allow_not: bool) -> list[tuple[bool, Atom,
                                                                                       SExpr]]:
        """`(and l1 l2 ...)` or a single literal -> [(positive, atom, node)]."""
        node = self.lst(node, what)
        if not node.items:
            return []  # "()" is the empty conjunction
        head = node.items[0]
        if isinstance(head, Token) and head.text == "and":
            out = []
            for child in node.items[1:]:
                out += self.conjunction(child, what, allow_not)
            return out
        if isinstance(head, Token) and head.text == "not":
            if not allow_not:
                raise self.err(node, f"negative literals are not supported in {what} "
                               "(STRIPS: positive preconditions and goals only)")
            if len(node.items) != 2:
                raise self.err(node, "'not' takes exactly one atom")
            a, n = self.atom(node.items[1], "an atom")
            return [(False, a, n)]
        if isinstance(head, Token) and head.text in {"or", "imply", "exists", "forall", "when",
                                                     "="}:
            raise self.err(node, f"'{head.text}' is not STRIPS; only conjunctions of atoms are "
                           "supported")
        a, n = self.atom(node, "an atom")
        return [(True, a, n)]


def _sections(r: _Reader, root: SExpr, kind: str) -> tuple[str, list[SExpr]]:
    items = root.items
    if len(items) < 2 or not isinstance(items[0], Token) or items[0].text != "define":
        raise r.err(root, "expected '(define (" + kind + " NAME) ...)'")
    header = r.lst(items[1], f"'({kind} NAME)'")
    if (len(header.items) != 2 or not isinstance(header.items[0], Token)
            or header.items[0].text != kind):
        raise r.err(header, f"expected '({kind} NAME)'")
    name = r.word(header.items[1], f"a {kind} name")
    secs = []
    for node in items[2:]:
        sec = r.lst(node, "a section such as (:predicates ...)")
        if not sec.items or not isinstance(sec.items[0], Token):
            raise r.err(sec, "expected a section keyword such as ':predicates'")
        secs.append(sec)
    return name, secs


def parse_domain(text: str, source: str = "<domain>") -> Domain:
    """Parse a typed STRIPS domain; errors name source:line:column."""
    r = _Reader(source)
    name, secs = _sections(r, read_sexpr(text, source), "domain")
    dom = Domain(name=name)
    for sec in secs:
        key = sec.items[0].text  # type: ignore[union-attr]
        body = sec.items[1:]
        if key == ":requirements":
            reqs = tuple(r.word(x, "a requirement") for x in body)
            for x, req in zip(body, reqs, strict=True):
                if req in _IGNORED_REQS:
                    dom.notes.append(f"{_where(source, x.line, x.col)}: requirement '{req}' is "
                                     "declared but never used; accepted")
                elif req not in _SUPPORTED_REQS:
                    raise r.err(x, f"requirement '{req}' is not supported (only :strips, :typing)")
            dom.requirements = tuple(q for q in reqs if q not in _IGNORED_REQS)
        elif key == ":types":
            for t, parent, _ in r.typed_list(body, "type"):
                dom.types[t] = parent
        elif key == ":constants":
            for o, t, _tok in r.typed_list(body, "constant"):
                dom.constants[o] = t
        elif key == ":predicates":
            for p in body:
                p = r.lst(p, "a predicate declaration")
                if not p.items:
                    raise r.err(p, "empty predicate declaration")
                pname = r.word(p.items[0], "a predicate name")
                args = r.typed_list(p.items[1:], "variable")
                dom.predicates[pname] = tuple(t for _, t, _ in args)
        elif key == ":action":
            act = _parse_action(r, sec, dom)
            if act.name in dom.actions:
                raise r.err(sec, f"action '{act.name}' is defined twice")
            dom.actions[act.name] = act
        elif key == ":functions":
            if body:
                raise r.err(sec, "':functions' (numeric fluents) is not supported")
            dom.notes.append(f"{_where(source, sec.line, sec.col)}: empty ':functions' section; "
                             "accepted")
        else:
            raise r.err(sec, f"unknown domain section '{key}'")
    for parent in list(dom.types.values()):  # a parent used but not declared is a type too
        if parent != "object" and parent not in dom.types:
            dom.types.setdefault(parent, "object")
    for o, t in dom.constants.items():
        if t != "object" and t not in dom.types:
            raise DataError(f"{source}: constant '{o}' has undeclared type '{t}'")
    return dom


def _parse_action(r: _Reader, sec: SExpr, dom: Domain) -> Action:
    if len(sec.items) < 2:
        raise r.err(sec, "':action' needs a name")
    name = r.word(sec.items[1], "an action name")
    fields: dict[str, SExpr | Token] = {}
    rest = sec.items[2:]
    if len(rest) % 2:
        raise r.err(sec, f"action '{name}': keywords and values must come in pairs")
    for k, v in zip(rest[::2], rest[1::2], strict=True):
        kw = r.word(k, "':parameters', ':precondition' or ':effect'")
        if kw not in {":parameters", ":precondition", ":effect"}:
            raise r.err(k, f"action '{name}': unknown keyword '{kw}'")
        fields[kw] = v
    params_node = r.lst(fields.get(":parameters", SExpr([], sec.line, sec.col)), "parameters")
    params = []
    for var, t, tok in r.typed_list(params_node.items, "parameter"):
        if not var.startswith("?"):
            raise r.err(tok, f"action '{name}': parameter '{var}' must start with '?'")
        if t != "object" and t not in dom.types:
            raise r.err(tok, f"action '{name}': parameter '{var}' has undeclared type '{t}'")
        params.append((var, t))
    variables = {v for v, _ in params}

    def check(atom: Atom, node: SExpr) -> Atom:
        pred = atom[0]
        if pred not in dom.predicates:
            raise r.err(node, f"action '{name}': undeclared predicate '{pred}'")
        if len(atom) - 1 != len(dom.predicates[pred]):
            raise r.err(node, f"action '{name}': predicate '{pred}' takes "
                        f"{len(dom.predicates[pred])} arguments, got {len(atom) - 1}")
        for a in atom[1:]:
            if a.startswith("?") and a not in variables:
                raise r.err(node, f"action '{name}': unknown variable '{a}'")
            if not a.startswith("?") and a not in dom.constants:
                raise r.err(node, f"action '{name}': unknown constant '{a}'")
        return atom

    pre: list[Atom] = []
    if ":precondition" in fields:
        for _pos, a, n in r.conjunction(fields[":precondition"], "a precondition", False):
            pre.append(check(a, n))
    add: list[Atom] = []
    dele: list[Atom] = []
    if ":effect" in fields:
        for pos, a, n in r.conjunction(fields[":effect"], "an effect", True):
            (add if pos else dele).append(check(a, n))
    return Action(name, tuple(params), tuple(dict.fromkeys(pre)), tuple(dict.fromkeys(add)),
                  tuple(dict.fromkeys(dele)))


def parse_problem(text: str, domain: Domain, source: str = "<problem>") -> Problem:
    """Parse a STRIPS problem against its domain; errors name source:line:column."""
    r = _Reader(source)
    name, secs = _sections(r, read_sexpr(text, source), "problem")
    dom_name = ""
    objects: dict[str, str] = dict(domain.constants)
    init: list[Atom] = []
    goal: list[Atom] = []
    init_nodes: list[tuple[Atom, SExpr]] = []
    goal_nodes: list[tuple[Atom, SExpr]] = []
    for sec in secs:
        key = sec.items[0].text  # type: ignore[union-attr]
        body = sec.items[1:]
        if key == ":domain":
            if len(body) != 1:
                raise r.err(sec, "expected '(:domain NAME)'")
            dom_name = r.word(body[0], "a domain name")
            if dom_name != domain.name:
                raise r.err(body[0], f"problem is for domain '{dom_name}', but the domain file "
                            f"defines '{domain.name}'")
        elif key == ":objects":
            for o, t, tok in r.typed_list(body, "object"):
                if t != "object" and t not in domain.types:
                    raise r.err(tok, f"object '{o}' has undeclared type '{t}'")
                objects[o] = t
        elif key == ":init":
            for node in body:
                a, n = r.atom(node, "an initial atom")
                if a[0] == "not":
                    raise r.err(n, "':init' lists true atoms only (closed world)")
                init_nodes.append((a, n))
        elif key == ":goal":
            if len(body) != 1:
                raise r.err(sec, "expected '(:goal FORMULA)'")
            for _pos, a, n in r.conjunction(body[0], "the goal", False):
                goal_nodes.append((a, n))
        elif key == ":requirements":
            continue
        elif key == ":metric":
            continue  # plan length is the only metric we use
        else:
            raise r.err(sec, f"unknown problem section '{key}'")
    for lst, nodes in ((init, init_nodes), (goal, goal_nodes)):
        for a, n in nodes:
            if a[0] not in domain.predicates:
                raise r.err(n, f"undeclared predicate '{a[0]}'")
            if len(a) - 1 != len(domain.predicates[a[0]]):
                raise r.err(n, f"predicate '{a[0]}' takes {len(domain.predicates[a[0]])} "
                            f"arguments, got {len(a) - 1}")
            for o in a[1:]:
                if o not in objects:
                    raise r.err(n, f"unknown object '{o}'")
            lst.append(a)
    return Problem(name, dom_name or domain.name, objects, frozenset(init),
                   tuple(dict.fromkeys(goal)))


def load_domain(path: str | Path) -> Domain:
    """Read and parse a domain file."""
    from neurips23.utils import read_text_file

    p = Path(path)
    text = read_text_file(p, "domain file")
    return parse_domain(text, str(p))


def load_problem(path: str | Path, domain: Domain) -> Problem:
    """Read and parse a problem file."""
    from neurips23.utils import read_text_file

    p = Path(path)
    text = read_text_file(p, "problem file")
    return parse_problem(text, domain, str(p))


# ---------------------------------------------------------------- writing PDDL

def _typed(names: dict[str, str] | list[tuple[str, str]]) -> str:
    items = list(names.items()) if isinstance(names, dict) else names
    if all(t == "object" for _, t in items):
        return " ".join(n for n, _ in items)
    by_type: dict[str, list[str]] = {}
    for n, t in items:
        by_type.setdefault(t, []).append(n)
    return " ".join(" ".join(ns) + f" - {t}" for t, ns in by_type.items())


def _atom_str(a: Atom) -> str:
    return "(" + " ".join(a) + ")"


def domain_to_pddl(dom: Domain) -> str:
    """Write a Domain back as PDDL text (round-trips through parse_domain)."""
    reqs = " ".join(dom.requirements or ((":strips", ":typing") if dom.types else (":strips",)))
    lines = [f"(define (domain {dom.name})", f"  (:requirements {reqs})"]
    if dom.types:
        lines.append(f"  (:types {_typed(dom.types)})")
    if dom.constants:
        lines.append(f"  (:constants {_typed(dom.constants)})")
    preds = []
    for p, ts in dom.predicates.items():
        args = [(f"?x{i}", t) for i, t in enumerate(ts)]
        preds.append("(" + " ".join([p, _typed(args)]).strip() + ")")
    lines.append("  (:predicates " + " ".join(preds) + ")")
    for a in dom.actions.values():
        lines.append(f"  (:action {a.name}")
        lines.append(f"    :parameters ({_typed(list(a.parameters))})")
        lines.append("    :precondition (and " + " ".join(map(_atom_str, a.precondition)) + ")")
        eff = [_atom_str(x) for x in a.add] + [f"(not {_atom_str(x)})" for x in a.delete]
        lines.append("    :effect (and " + " ".join(eff) + "))")
    lines.append(")")
    return "\n".join(lines) + "\n"


def problem_to_pddl(prob: Problem, domain: Domain | None = None) -> str:
    """Write a Problem as PDDL text (domain constants are not repeated as objects)."""
    consts = domain.constants if domain else {}
    objs = {o: t for o, t in prob.objects.items() if o not in consts}
    lines = [f"(define (problem {prob.name})", f"  (:domain {prob.domain_name})",
             f"  (:objects {_typed(objs)})", "  (:init"]
    lines += ["    " + _atom_str(a) for a in sorted(prob.init)]
    lines.append("  )")
    lines.append("  (:goal (and " + " ".join(_atom_str(a) for a in prob.goal) + "))")
    lines.append(")")
    return "\n".join(lines) + "\n"
