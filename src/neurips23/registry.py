"""Every method of the toolkit, in report order. Adding a method is one line here.

A method `name` is the package `neurips23.<name>`; its CLI group is `name` with `_` written
as `-` (plus any aliases); `neurips23.<name>.cli` defines `app` (a typer group) when `cli` is
true, and `neurips23.<name>.reproduce` defines `REPRODUCTION` (a `core.reproduction.Reproduction`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """One method's package name, CLI aliases, and whether it has a command group."""

    name: str
    aliases: tuple[str, ...] = ()
    cli: bool = True

    @property
    def group(self) -> str:
        """The CLI group name: the package name with '-' for '_'."""
        return self.name.replace("_", "-")


METHODS: tuple[Method, ...] = (  # in the roundup's order
    Method("substrate", cli=False),
    Method("qlora"),
    Method("dpo"),
    Method("tot"),
    Method("toolformer"),
    Method("planning", aliases=("plan",)),
    Method("editing"),
    Method("emergence"),
    Method("locality"),
    Method("symbolic_rl"),
    Method("multilingual", aliases=("aya",)),
)


def find_method(name: str) -> Method:
    """The method called `name` (package, group or alias); UserError listing the valid names."""
    from neurips23.errors import UserError

    for m in METHODS:
        if name in (m.name, m.group, *m.aliases):
            return m
    raise UserError(f"unknown method {name!r}; methods: {', '.join(m.group for m in METHODS)}")
