"""A transmission network for DC optimal power flow: the :class:`DcOpfProblem`.

The network comes from pandapower (the MATPOWER cases it ships, e.g. ``case9`` ... ``case300``,
or a network saved with ``pandapower.to_json``). pandapower's own converter turns its element
tables into per-unit bus, branch and generator data (MATPOWER's case format); from there on the
optimisation model and solver are ours. Units: MW, per unit on ``base_mva``, degrees, money per
hour.

DC model (MATPOWER's ``makeBdc``): a branch from ``f`` to ``t`` with series reactance ``x_pu``,
off-nominal tap ``ratio`` and phase shift ``shift_deg`` carries
``base_mva * (theta_f - theta_t - shift) / (x_pu * ratio)`` MW; each bus balances generation
against its load (shunt conductance included) and the flows leaving it; flows are limited by
``rate_mw`` (0 for no limit); the reference bus keeps its angle.

Costs per generator (pandapower's ``poly_cost`` / ``pwl_cost``, in money per hour): a polynomial
``c2 * p**2 + c1 * p + c0`` or the convex piecewise-linear curve through ``pwl_points`` (MW, cost).
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from pydantic import BaseModel, ConfigDict, Field, model_validator

from valueloop.datasets import data_dir
from valueloop.errors import ConfigError, DataError

CASES = ("case9", "case14", "case30", "case57", "case118", "case300")
"""pandapower's MATPOWER cases known to convert and solve as DC OPF."""

# Columns of MATPOWER's bus, branch, gen and gencost matrices used here.
_BUS_I, _BUS_TYPE, _PD, _GS, _VA = 0, 1, 2, 4, 8
_F_BUS, _T_BUS, _BR_X, _RATE_A, _TAP, _SHIFT, _BR_STATUS = 0, 1, 3, 5, 8, 9, 10
_GEN_BUS, _GEN_STATUS, _PMAX, _PMIN = 0, 7, 8, 9
_MODEL, _NCOST, _COST = 0, 3, 4
_REFERENCE, _ISOLATED = 3, 4
_PIECEWISE, _POLYNOMIAL = 1, 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Bus(_Strict):
    """A bus with its fixed load (MW, shunt conductance included)."""

    index: int = Field(ge=0)
    load_mw: float
    reference: bool = False
    angle_deg: float = Field(default=0.0, description="angle kept by the reference bus")


class Branch(_Strict):
    """A line or transformer between two buses."""

    name: str
    from_bus: int = Field(ge=0)
    to_bus: int = Field(ge=0)
    x_pu: float = Field(description="series reactance, per unit")
    ratio: float = Field(default=1.0, gt=0, description="off-nominal tap ratio")
    shift_deg: float = Field(default=0.0, description="phase shift, degrees")
    rate_mw: float = Field(default=0.0, ge=0, description="flow limit, MW (0: none)")

    @model_validator(mode="after")
    def _reactive(self) -> Self:
        if self.x_pu == 0:
            raise ValueError(f"branch {self.name} has zero reactance")
        return self


class Generator(_Strict):
    """A dispatchable generator and its cost curve (money per hour)."""

    name: str
    bus: int = Field(ge=0)
    min_mw: float
    max_mw: float
    poly_cost: tuple[float, float, float] | None = Field(
        default=None, description="(c2, c1, c0): c2 * p**2 + c1 * p + c0"
    )
    pwl_points: list[tuple[float, float]] | None = Field(default=None, min_length=2)

    @model_validator(mode="after")
    def _one_cost(self) -> Self:
        if self.min_mw > self.max_mw:
            raise ValueError(f"generator {self.name}: min_mw {self.min_mw} > max_mw {self.max_mw}")
        if (self.poly_cost is None) == (self.pwl_points is None):
            raise ValueError(f"generator {self.name}: give exactly one of poly_cost, pwl_points")
        if self.poly_cost is not None and self.poly_cost[0] < 0:
            raise ValueError(f"generator {self.name}: c2 < 0 makes the cost non-convex")
        return self

    def cost(self, mw: np.ndarray) -> np.ndarray:
        """Hourly cost of producing ``mw``, money per hour."""
        if self.poly_cost is not None:
            c2, c1, c0 = self.poly_cost
            return np.asarray(c2 * mw**2 + c1 * mw + c0, np.float64)
        assert self.pwl_points is not None  # guaranteed by _one_cost
        x, y = np.array(self.pwl_points).T
        slopes = np.diff(y) / np.diff(x)
        return np.asarray(
            np.max(y[:-1, None] + slopes[:, None] * (np.atleast_1d(mw) - x[:-1, None]), axis=0),
            np.float64,
        ).reshape(np.shape(mw))


class DcOpfProblem(_Strict):
    """Dispatch generators at least cost under DC power flow and branch limits."""

    name: str
    base_mva: float = Field(gt=0)
    buses: list[Bus] = Field(min_length=1)
    branches: list[Branch]
    generators: list[Generator] = Field(min_length=1)

    @model_validator(mode="after")
    def _connected_indices(self) -> Self:
        known = {bus.index for bus in self.buses}
        if len(known) != len(self.buses):
            raise ValueError("bus indices must be unique")
        if sum(bus.reference for bus in self.buses) < 1:
            raise ValueError("the network needs a reference bus")
        for branch in self.branches:
            if not {branch.from_bus, branch.to_bus} <= known:
                raise ValueError(f"branch {branch.name} joins an unknown bus")
        for generator in self.generators:
            if generator.bus not in known:
                raise ValueError(f"generator {generator.name} is on an unknown bus")
        return self


def _names(net: Any, kind: str, count: int) -> list[str]:
    """pandapower element names (``"gen 3"``) of the converter's rows of one kind."""
    names = [f"{kind} row {row}" for row in range(count)]
    lookups = net._pd2ppc_lookups
    if kind == "branch":
        for element, (first, last) in lookups.get("branch", {}).items():
            table = net[element]
            for position, index in enumerate(table.index[: last - first]):
                names[first + position] = f"{element} {index}"
        return names
    for element in ("ext_grid", "gen", "sgen", "load", "storage"):
        rows = lookups.get(element)
        if rows is None or element not in net or net[element].empty:
            continue
        for index in net[element].index:
            row = int(rows[index]) if index < len(rows) else -1
            if 0 <= row < count:
                names[row] = f"{element} {index}"
    return names


def from_pandapower(net: Any, name: str) -> DcOpfProblem:
    """Convert a pandapower network with OPF cost data into a :class:`DcOpfProblem`."""
    from pandapower.converter.pypower.to_ppc import to_ppc

    try:
        with warnings.catch_warnings():  # pandapower's own deprecations about its bundled cases
            warnings.simplefilter("ignore", DeprecationWarning)
            ppc = to_ppc(net, init="flat", mode="opf")
    except Exception as err:  # pandapower raises many kinds; all mean the net cannot convert
        raise ConfigError(f"network {name} cannot be converted for OPF: {err}") from err
    bus, branch, gen, gencost = ppc["bus"], ppc["branch"], ppc["gen"], ppc["gencost"]
    live = bus[:, _BUS_TYPE] != _ISOLATED
    buses = [
        Bus(
            index=int(row[_BUS_I]),
            load_mw=float(row[_PD] + row[_GS]),
            reference=bool(row[_BUS_TYPE] == _REFERENCE),
            angle_deg=float(row[_VA]),
        )
        for row in bus[live]
    ]
    branch_names = _names(net, "branch", branch.shape[0])
    branches = [
        Branch(
            name=branch_names[i],
            from_bus=int(row[_F_BUS]),
            to_bus=int(row[_T_BUS]),
            x_pu=float(row[_BR_X]),
            ratio=float(row[_TAP]) or 1.0,
            shift_deg=float(row[_SHIFT]),
            rate_mw=float(row[_RATE_A]),
        )
        for i, row in enumerate(branch)
        if row[_BR_STATUS] > 0 and live[int(row[_F_BUS])] and live[int(row[_T_BUS])]
    ]
    gen_names = _names(net, "gen", gen.shape[0])
    generators = []
    for i, row in enumerate(gen):
        if row[_GEN_STATUS] <= 0 or not live[int(row[_GEN_BUS])]:
            continue
        cost = gencost[i]
        count = int(cost[_NCOST])
        values = cost[_COST : _COST + (2 * count if cost[_MODEL] == _PIECEWISE else count)]
        poly = None
        points = None
        if cost[_MODEL] == _POLYNOMIAL:
            if count > 3:
                raise ConfigError(f"network {name}: generator {gen_names[i]} has a cubic cost")
            c2, c1, c0 = np.concatenate([np.zeros(3 - count), values])
            poly = (float(c2), float(c1), float(c0))
        else:
            points = [(float(x), float(y)) for x, y in values.reshape(-1, 2)]
        generators.append(
            Generator(
                name=gen_names[i],
                bus=int(row[_GEN_BUS]),
                min_mw=float(row[_PMIN]),
                max_mw=float(row[_PMAX]),
                poly_cost=poly,
                pwl_points=points,
            )
        )
    return DcOpfProblem(
        name=name,
        base_mva=float(ppc["baseMVA"]),
        buses=buses,
        branches=branches,
        generators=generators,
    )


_T = TypeVar("_T")


def pandapower_case(name: str) -> Any:
    """A fresh pandapower network of one of :data:`CASES` (imports pandapower in this process)."""
    if name not in CASES:
        raise ConfigError(f"unknown network case {name!r}: choose one of {', '.join(CASES)}")
    import pandapower.networks as pn

    return getattr(pn, name)()


def _in_child(function: Callable[..., _T], *arguments: Any) -> _T:
    """Run ``function`` in a fresh interpreter and return its result.

    Importing pandapower changes how pyarrow converts time-zone-aware ``datetime`` objects for the
    rest of the process (its dependency pandera does this at import), so the platform keeps
    pandapower out of its own processes: conversions and pandapower's own solves run in a child.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *arguments).result()


def _case_problem(name: str) -> DcOpfProblem:
    return from_pandapower(pandapower_case(name), name)


def load_case(name: str) -> DcOpfProblem:
    """The DC OPF of a pandapower MATPOWER case, e.g. ``load_case("case9")``."""
    if name not in CASES:
        raise ConfigError(f"unknown network case {name!r}: choose one of {', '.join(CASES)}")
    return _in_child(_case_problem, name)


def _pandapower_dcopf(name: str) -> dict[str, Any]:
    import pandapower as pp

    net = pandapower_case(name)
    pp.rundcopp(net)
    return {
        "objective": float(net.res_cost),
        "gen_mw": [float(value) for value in net.res_gen.p_mw],
        "ext_grid_mw": [float(value) for value in net.res_ext_grid.p_mw],
    }


def pandapower_dcopf(name: str) -> dict[str, Any]:
    """pandapower's own DC OPF of a case (``rundcopp``), for comparison: its ``objective`` (money
    per hour) and the MW of its generators (``gen_mw``) and external grids (``ext_grid_mw``)."""
    if name not in CASES:
        raise ConfigError(f"unknown network case {name!r}: choose one of {', '.join(CASES)}")
    return _in_child(_pandapower_dcopf, name)


def _save_case(name: str, path: str) -> None:
    import pandapower as pp

    pp.to_json(pandapower_case(name), path)


def save_case(name: str, path: str | Path) -> None:
    """Write a case as a pandapower JSON network file, a starting point to edit."""
    if name not in CASES:
        raise ConfigError(f"unknown network case {name!r}: choose one of {', '.join(CASES)}")
    _in_child(_save_case, name, str(path))


@dataclass(frozen=True)
class PublishedOptimum:
    """A case's published DC OPF optimum and pandapower's, in money per hour."""

    published: float
    pandapower: float


def published_dcopf_optima() -> dict[str, PublishedOptimum]:
    """The published DC OPF optima of the cases, from ``data/opt/dcopf/bounds.csv``."""
    path = data_dir() / "opt" / "dcopf" / "bounds.csv"
    try:
        table = pacsv.read_csv(path)
        cases = table["case"].to_pylist()
        published = table["dc_opf_objective"].to_pylist()
        pandapower = table["pandapower_dc_opf_objective"].to_pylist()
    except (OSError, KeyError, pa.ArrowInvalid) as err:
        raise DataError(f"cannot read the published DC OPF optima {path}: {err}") from err
    return {
        case: PublishedOptimum(float(value), float(theirs))
        for case, value, theirs in zip(cases, published, pandapower, strict=True)
    }


def _file_problem(path: str) -> DcOpfProblem:
    import pandapower as pp

    file = Path(path)
    try:
        net = pp.from_json(str(file))
    except Exception as err:  # pandapower/json raise many kinds; all mean an unreadable file
        raise ConfigError(
            f"cannot read network file {file}: {err}; expected a pandapower JSON network "
            f"or one of the case names {', '.join(CASES)}"
        ) from err
    return from_pandapower(net, file.stem)


def load_network_file(path: str | Path) -> DcOpfProblem:
    """The DC OPF of a network saved with ``pandapower.to_json``, or of a case name (``case9``)."""
    file = Path(path)
    if not file.exists() and str(path) in CASES:
        return load_case(str(path))
    return _in_child(_file_problem, str(file))
