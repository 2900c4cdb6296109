"""Readers of the standard instance and solution files of vehicle routing.

- CVRPLIB ``.vrp`` (TSPLIB format, ``EDGE_WEIGHT_TYPE : EUC_2D``): distances rounded to the nearest
  integer, fleet unlimited unless a ``VEHICLES`` entry says otherwise.
- Solomon ``.txt`` (VRPTW): distances in full precision, travel time equal to distance, the
  ``NUMBER`` of vehicles as the largest fleet, and the classic objective (vehicles, then distance).
- CVRPLIB/Solomon ``.sol``: ``Route #k: c1 c2 ...`` lines, customers numbered from 1 in the order
  of the instance file (the depot omitted).

A malformed file raises :class:`~valueloop.errors.ConfigError` naming the file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from valueloop.errors import ConfigError
from valueloop.optimize.routing.problem import Customer, Depot, RoutingProblem

_CVRPLIB_SECTIONS = ("NODE_COORD_SECTION", "DEMAND_SECTION", "DEPOT_SECTION")
PlaceT = TypeVar("PlaceT", Depot, Customer)
_ROUTE_LINE = re.compile(r"^Route\s*#\s*\d+\s*:(.*)$", re.IGNORECASE)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered (from 1), stripped, non-blank lines of ``path``."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the file: {err}") from err
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line.strip()


def _numbers(path: Path, number: int, line: str, count: int) -> list[float]:
    fields = line.split()
    if len(fields) != count:
        raise ConfigError(f"{path}:{number}: expected {count} numbers, found {len(fields)}: {line}")
    try:
        return [float(field) for field in fields]
    except ValueError as err:
        raise ConfigError(f"{path}:{number}: not a number in {line!r}") from err


def _integer(path: Path, number: int, value: float, what: str) -> int:
    if value != int(value):
        raise ConfigError(f"{path}:{number}: {what} must be a whole number, not {value}")
    return int(value)


def _place(path: Path, number: int, kind: type[PlaceT], **fields: object) -> PlaceT:
    """A depot or customer from line ``number`` of ``path``, or a ConfigError naming it."""
    try:
        return kind.model_validate(fields)
    except ValidationError as err:
        problems = "; ".join(str(error["msg"]) for error in err.errors())
        raise ConfigError(f"{path}:{number}: {problems}") from err


def _build(path: Path, **fields: object) -> RoutingProblem:
    try:
        return RoutingProblem.model_validate(fields)
    except ValidationError as err:
        raise ConfigError(f"{path}: invalid instance: {err}") from err


def read_cvrplib(path: Path) -> RoutingProblem:
    """Read a CVRPLIB ``.vrp`` file (TSPLIB format, EUC_2D) into a :class:`RoutingProblem`.

    Customers are named by their node id in the file; the depot is the one node of
    ``DEPOT_SECTION``.
    """
    header: dict[str, tuple[int, str]] = {}
    coords: dict[int, tuple[int, float, float]] = {}
    demands: dict[int, tuple[int, int]] = {}
    depots: list[int] = []
    section: str | None = None
    for number, line in _lines(path):
        keyword = line.split(":")[0].strip().upper()
        if keyword == "EOF":
            break
        if keyword in _CVRPLIB_SECTIONS:
            section = keyword
        elif ":" in line and not line[0].isdigit() and not line.startswith("-"):
            header[keyword] = (number, line.split(":", 1)[1].strip().strip('"'))
            section = None
        elif section == "NODE_COORD_SECTION":
            node, x, y = _numbers(path, number, line, 3)
            coords[_integer(path, number, node, "node id")] = (number, x, y)
        elif section == "DEMAND_SECTION":
            node, demand = _numbers(path, number, line, 2)
            demands[_integer(path, number, node, "node id")] = (
                number,
                _integer(path, number, demand, "demand"),
            )
        elif section == "DEPOT_SECTION":
            (node,) = _numbers(path, number, line, 1)
            if node >= 0:
                depots.append(_integer(path, number, node, "depot id"))
        else:
            raise ConfigError(f"{path}:{number}: unexpected line outside any section: {line}")

    for key in ("DIMENSION", "CAPACITY", "EDGE_WEIGHT_TYPE"):
        if key not in header:
            raise ConfigError(f"{path}: no {key} entry in the header")
    weight_line, weight_type = header["EDGE_WEIGHT_TYPE"]
    if weight_type.upper() != "EUC_2D":
        raise ConfigError(
            f"{path}:{weight_line}: EDGE_WEIGHT_TYPE {weight_type} is not supported; "
            "only EUC_2D (Euclidean, rounded) instances can be read"
        )
    dimension_line, dimension = header["DIMENSION"]
    if not dimension.isdigit() or int(dimension) != len(coords):
        raise ConfigError(
            f"{path}:{dimension_line}: DIMENSION {dimension} but {len(coords)} nodes in "
            "NODE_COORD_SECTION"
        )
    if len(depots) != 1:
        raise ConfigError(f"{path}: DEPOT_SECTION must name one depot, found {len(depots)}")
    unknown = sorted(set(demands) ^ set(coords))
    if unknown:
        node = unknown[0]
        line_no = (demands.get(node) or coords[node])[0]
        raise ConfigError(f"{path}:{line_no}: node {node} lacks a coordinate or a demand")
    (depot,) = depots
    if depot not in coords:
        raise ConfigError(f"{path}: depot {depot} is not a node of NODE_COORD_SECTION")
    vehicles = header.get("VEHICLES")
    return _build(
        path,
        name=header.get("NAME", (0, path.stem))[1],
        depot=_place(
            path, coords[depot][0], Depot, name=str(depot), x=coords[depot][1], y=coords[depot][2]
        ),
        customers=[
            _place(
                path, demands[node][0], Customer, name=str(node), x=x, y=y, demand=demands[node][1]
            )
            for node, (_, x, y) in sorted(coords.items())
            if node != depot
        ],
        capacity=_header_int(path, header, "CAPACITY"),
        vehicles=None if vehicles is None else _header_int(path, header, "VEHICLES"),
        distance="nint",
    )


def _header_int(path: Path, header: dict[str, tuple[int, str]], key: str) -> int:
    number, value = header[key]
    if not value.isdigit():
        raise ConfigError(f"{path}:{number}: {key} must be a whole number, not {value!r}")
    return int(value)


def read_solomon(path: Path) -> RoutingProblem:
    """Read a Solomon VRPTW ``.txt`` file into a :class:`RoutingProblem`.

    Customer 0 of the file is the depot (its due date closes the depot); the others are named
    by their ``CUST NO.``. The fleet is at most ``NUMBER`` vehicles; the objective is the
    classic hierarchical one (fewest vehicles, then least distance).
    """
    lines = list(_lines(path))
    if not lines:
        raise ConfigError(f"{path}: the file is empty")
    name = lines[0][1]
    blocks = {line.upper(): index for index, (_, line) in enumerate(lines)}
    if "VEHICLE" not in blocks or "CUSTOMER" not in blocks:
        raise ConfigError(f"{path}: expected a VEHICLE block and a CUSTOMER block")
    fleet_index = blocks["VEHICLE"] + 2
    if fleet_index >= len(lines):
        raise ConfigError(f"{path}: the VEHICLE block has no NUMBER CAPACITY line")
    fleet_line, fleet_text = lines[fleet_index]
    vehicles, capacity = (
        _integer(path, fleet_line, value, "fleet")
        for value in _numbers(path, fleet_line, fleet_text, 2)
    )
    rows = lines[blocks["CUSTOMER"] + 2 :]
    if len(rows) < 2:
        raise ConfigError(f"{path}: the CUSTOMER block needs the depot and one customer")
    places: list[tuple[int, dict[str, object]]] = []
    for number, line in rows:
        cust, x, y, demand, ready, due, service = _numbers(path, number, line, 7)
        if cust != len(places):
            raise ConfigError(
                f"{path}:{number}: customer number {cust:g} out of order, expected {len(places)}"
            )
        places.append(
            (
                number,
                {
                    "name": str(int(cust)),
                    "x": x,
                    "y": y,
                    "demand": _integer(path, number, demand, "demand"),
                    "ready": ready,
                    "due": due,
                    "service": service,
                },
            )
        )
    depot_line, depot = places[0]
    return _build(
        path,
        name=name,
        depot=_place(
            path, depot_line, Depot, **{k: depot[k] for k in ("name", "x", "y", "ready", "due")}
        ),
        customers=[_place(path, number, Customer, **fields) for number, fields in places[1:]],
        capacity=capacity,
        vehicles=vehicles,
        distance="exact",
        objective="vehicles_then_distance",
    )


def read_instance(path: Path) -> RoutingProblem:
    """Read a routing instance, CVRPLIB if it ends in ``.vrp``, Solomon otherwise."""
    return read_cvrplib(path) if path.suffix.lower() == ".vrp" else read_solomon(path)


def read_solution(path: Path) -> list[list[int]]:
    """Routes of a CVRPLIB/Solomon ``.sol`` file: customer numbers from 1, depot omitted."""
    routes: list[list[int]] = []
    for number, line in _lines(path):
        match = _ROUTE_LINE.match(line)
        if match is None:
            continue
        try:
            routes.append([int(token) for token in match.group(1).split()])
        except ValueError as err:
            raise ConfigError(f"{path}:{number}: not a customer number in {line!r}") from err
    if not routes:
        raise ConfigError(f"{path}: no 'Route #k:' line found")
    return routes
