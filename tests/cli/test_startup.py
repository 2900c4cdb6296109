"""The command line answers at once: help imports no subcommand and no platform package.

Each probe runs ``valueloop`` in a fresh interpreter and lists the modules it imported, so the
tests check what start-up loads, not how long it takes on a given machine (bench/startup.py
measures that). The real lean install is built and run by bench/edge_install.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from valueloop.cli.app import app
from valueloop.cli.extras import PLATFORM_EXTRA, PLATFORM_MODULES
from valueloop.cli.lazy import LazyGroup

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
from valueloop.cli.app import main
status = 0
try:
    main()
except SystemExit as end:
    status = end.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(status)
"""
START_UP = {"valueloop", "valueloop.cli", "valueloop.cli.app", "valueloop.cli.lazy"}
START_UP |= {"valueloop.cli.extras", "valueloop.errors"}


def probe(*arguments: str, blocked: frozenset[str] = frozenset()) -> tuple[int, str, set[str]]:
    """Run ``valueloop ARGUMENTS`` in a fresh interpreter: exit status, stdout, modules imported.

    ``blocked`` modules fail to import there, as on an install without them.
    """
    block = f"import sys\nsys.modules.update(dict.fromkeys({sorted(blocked)!r}))\n"
    done = subprocess.run(
        [sys.executable, "-c", block + PROBE, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    *messages, modules = done.stderr.strip().splitlines()
    return done.returncode, done.stdout + "\n".join(messages), set(json.loads(modules))


def group_names() -> list[str]:
    return [subcommand.name for subcommand in app_group().subcommands]


def app_group() -> type[LazyGroup]:
    group = app.info.cls
    assert isinstance(group, type) and issubclass(group, LazyGroup)
    return group


def test_help_lists_every_subcommand_importing_none() -> None:
    status, output, modules = probe("--help")
    assert status == 0
    for name in group_names():
        assert f" {name} " in output
    assert {m for m in modules if m.startswith("valueloop")} <= START_UP
    assert not modules & PLATFORM_MODULES


def test_edge_help_imports_neither_the_agent_nor_the_platform() -> None:
    status, output, modules = probe("edge", "--help")
    assert status == 0
    assert " run " in output and " status " in output
    assert {m for m in modules if m.startswith("valueloop")} <= START_UP | {"valueloop.cli.edge"}
    assert not modules & PLATFORM_MODULES


def test_a_platform_command_without_the_platform_names_the_extra() -> None:
    status, output, _ = probe("demo", blocked=PLATFORM_MODULES)
    assert status == 2
    assert "Traceback" not in output
    assert output.strip().splitlines() == [
        f"error: this command needs duckdb, which the lean install leaves out; install the "
        f"platform with: pip install 'valueloop[{PLATFORM_EXTRA}]'"
    ]


@pytest.mark.parametrize("name", group_names())
def test_each_subcommand_loads_under_its_name(name: str) -> None:
    subcommand = next(s for s in app_group().subcommands if s.name == name)
    command = subcommand.load()
    assert command.name == name
    assert command.help


def _requirement_name(requirement: str) -> str:
    for stop in "[<>=!~; ":
        requirement = requirement.split(stop)[0]
    return requirement.lower()


def test_the_lean_install_leaves_the_platform_out() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lean = {_requirement_name(r) for r in project["dependencies"]}
    platform = {_requirement_name(r) for r in project["optional-dependencies"][PLATFORM_EXTRA]}
    heavy = {"lightgbm", "scikit-learn", "ortools", "pyvrp", "torch", "pandapower", "duckdb"}
    assert heavy <= platform
    assert not lean & platform
    provided = packages_distributions()
    modules_of = {
        name: {module for module, dists in provided.items() if name in map(str.lower, dists)}
        for name in platform
    }
    unknown = sorted(name for name, modules in modules_of.items() if not modules & PLATFORM_MODULES)
    assert not unknown, f"platform packages the missing-extra message does not know: {unknown}"
