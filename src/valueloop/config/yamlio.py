"""YAML configuration files read into pydantic models; errors name file, line and field.

Also the one parser of durations (``"12h"``, ``"30min"``) every configuration file uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from valueloop.errors import ConfigError

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)\s*$")
"""A duration as configuration files write it: a number and one of ms, s, min (or m), h, d."""
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``"12h"``, ``"30min"``, ``"1d"``, ``"90s"`` or ``"250ms"``."""
    match = DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 12h, 30min, 1d, 90s or 250ms")
    try:
        return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    except OverflowError:
        raise ValueError(f"{text!r} is longer than a duration can be (999,999,999 days)") from None


def _line_of(root: yaml.Node | None, location: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``location``, or of its nearest existing parent."""
    node = root
    line = None if node is None else node.start_mark.line + 1
    for key in location:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


ModelT = TypeVar("ModelT", bound=BaseModel)

Location = tuple[int | str, ...]
Problem = tuple[Location, str]
"""A problem found in a configuration: where (the field path) and what."""

CrossCheck = Callable[[Any], Sequence[Problem]]
"""Checks a validated model for problems that span fields (a reference to an unknown asset, a
unit that does not convert); returns them with the field path of each."""


def duration_field(value: Any) -> Any:
    """A pydantic ``before`` validator body: a duration text becomes a timedelta."""
    return parse_duration(value) if isinstance(value, str) else value


def _report(source: str, root: yaml.Node | None, problems: Sequence[Problem], what: str) -> str:
    lines = []
    for location, message in problems:
        field = ".".join(str(part) for part in location) or "(top level)"
        line = _line_of(root, location)
        where = f"line {line}" if line is not None else "unknown line"
        lines.append(f"{source}, {where}: {field}: {message}")
    return f"invalid {what}:\n  " + "\n  ".join(lines)


MAX_REPEATED_VALUES = 100_000
"""Values YAML aliases (``*name``, ``<<: *name``) may repeat in one file: ten aliases nested nine
deep would otherwise make a few hundred bytes a billion values."""
MAX_FLOW_DEPTH = 100
"""Flow collections (``[...]``, ``{...}``) one inside another: PyYAML's scanner takes time in
proportion to the depth for every token, so that 5,000 nested ``[`` take seconds."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing flow collections nested deeper than
    :data:`MAX_FLOW_DEPTH`."""

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_FLOW_DEPTH:
            raise yaml.scanner.ScannerError(
                None, None, f"flow collections nested deeper than {MAX_FLOW_DEPTH}", self.get_mark()
            )
        super().fetch_flow_collection_start(TokenClass)


def _repeated_values(root: yaml.Node) -> int:
    """How many more values ``root`` holds with its aliases expanded than it has nodes."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            sizes[id(node)] = 1  # a node inside itself (``&a [*a]``) counts once
            if isinstance(node, yaml.SequenceNode):
                sizes[id(node)] += sum(size(child) for child in node.value)
            elif isinstance(node, yaml.MappingNode):
                sizes[id(node)] += sum(size(k) + size(v) for k, v in node.value)
        return sizes[id(node)]

    return size(root) - len(sizes)


def _load(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The node tree and the data of YAML text; ConfigError if it is not YAML or too large."""
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is not None and _repeated_values(root) > MAX_REPEATED_VALUES:
                raise ConfigError(
                    f"{source}: YAML aliases repeat more than {MAX_REPEATED_VALUES:,} values; "
                    "write the repeated parts out"
                )
            return root, None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from err
    except RecursionError as err:
        raise ConfigError(f"{source}: not valid YAML: nested too deeply") from err
    except (ValueError, OverflowError) as err:  # a value not even PyYAML reads: 2026-02-30
        raise ConfigError(f"{source}: not valid YAML: {err}") from err


def parse_yaml(
    text: str,
    model: type[ModelT],
    *,
    source: str,
    what: str,
    check: CrossCheck | None = None,
) -> ModelT:
    """Validate YAML text against ``model``, then ``check``; errors name file, line and field."""
    root, data = _load(text, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        validated = model.model_validate(data)
    except ValidationError as err:
        found = [(tuple(error["loc"]), error["msg"]) for error in err.errors()]
        raise ConfigError(_report(source, root, found, what)) from err
    problems = check(validated) if check is not None else ()
    if problems:
        raise ConfigError(_report(source, root, problems, what))
    return validated


def read_yaml(
    path: str | Path, model: type[ModelT], *, what: str, check: CrossCheck | None = None
) -> ModelT:
    """Read and validate a YAML file against ``model`` (and ``check``)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{file}, the {what}, is not UTF-8 text: {err}") from err
    except OSError as err:
        raise ConfigError(f"cannot read {file}, the {what}: {err.strerror}") from err
    return parse_yaml(text, model, source=str(file), what=what, check=check)
