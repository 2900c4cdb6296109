"""Subcommands imported when they run, so that the command line answers at once.

The top-level group knows each subcommand by its name, a one-line summary and where it lives
(``module:attribute``, a Typer app or a command function). ``valueloop --help`` lists the
summaries without importing anything; the module is imported only when its subcommand runs or
shows its own help. A lean install (the edge agent without the platform's analytics, solvers
and API) thus still lists every command and runs those it has the packages for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

# Click types appear as ``Any``: recent Typer vendors its own click and older Typer uses click's.


@dataclass(frozen=True)
class Subcommand:
    """A subcommand: its ``name``, the ``summary`` shown in ``valueloop --help``, and ``target``,
    the ``module:attribute`` of its Typer app or command function."""

    name: str
    target: str
    summary: str

    def load(self) -> Any:
        """Import the target and build its click command, named and summarised as here."""
        module, _, attribute = self.target.partition(":")
        loaded = getattr(importlib.import_module(module), attribute)
        holder = typer.Typer()
        if isinstance(loaded, typer.Typer):
            holder.add_typer(loaded, name=self.name, help=self.summary)
        else:
            holder.command(name=self.name)(loaded)
        return typer.main.get_group(holder).commands[self.name]


class LazyGroup(TyperGroup):
    """A Typer group that also holds the ``subcommands`` of its subclass, imported on use.

    Until then each is listed by a placeholder carrying its summary.
    """

    subcommands: ClassVar[tuple[Subcommand, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._unloaded = {subcommand.name: subcommand for subcommand in self.subcommands}
        for subcommand in self.subcommands:
            self.commands[subcommand.name] = TyperCommand(
                subcommand.name, help=subcommand.summary, short_help=subcommand.summary
            )

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        """The subcommand that ``args`` names, imported now if it was not yet."""
        name, command, rest = super().resolve_command(ctx, args)
        unloaded = self._unloaded.pop(name, None) if name is not None else None
        if name is not None and unloaded is not None:
            command = self.commands[name] = unloaded.load()
        return name, command, rest
