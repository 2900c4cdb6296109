"""Reading CVRPLIB and Solomon files, and the distance conventions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from tests.optimize.routing.instances import cvrp_file, solomon_file

from valueloop.errors import ConfigError
from valueloop.optimize.routing import (
    RoutingProblem,
    read_cvrplib,
    read_instance,
    read_solomon,
    read_solution,
)
from valueloop.optimize.routing.problem import EARTH_RADIUS_KM


def test_cvrplib_file_is_read_with_its_depot_demands_and_rounding() -> None:
    problem = read_cvrplib(cvrp_file("A-n32-k5"))
    assert problem.name == "A-n32-k5"
    assert (problem.depot.x, problem.depot.y) == (82, 76)
    assert len(problem.customers) == 31
    assert problem.capacity == 100
    assert problem.customers[0].name == "2" and problem.customers[0].demand == 19
    assert problem.demands().sum() == 410  # 5 trucks of 100 in the instance's name
    assert problem.distance == "nint" and not problem.has_time_windows
    # Node 1 (82, 76) to node 2 (96, 44): sqrt(14**2 + 32**2) = 34.93, rounded to 35.
    assert problem.distance_matrix()[0, 1] == 35


def test_solomon_file_is_read_with_windows_and_fleet() -> None:
    problem = read_solomon(solomon_file("C101"))
    assert problem.name == "C101"
    assert (problem.vehicles, problem.capacity) == (25, 200)
    assert len(problem.customers) == 100
    assert problem.depot.due == 1236
    first = problem.customers[0]
    assert (first.name, first.demand, first.ready, first.due, first.service) == (
        "1",
        10,
        912,
        967,
        90,
    )
    assert problem.objective == "vehicles_then_distance"
    assert problem.distance_matrix()[0, 1] == pytest.approx(math.hypot(5, 18))


def test_read_instance_picks_the_format_by_suffix() -> None:
    assert read_instance(cvrp_file("P-n16-k8")).distance == "nint"
    assert read_instance(solomon_file("R101")).distance == "exact"


def test_solution_files_number_customers_from_one() -> None:
    routes = read_solution(cvrp_file("A-n32-k5", ".sol"))
    assert len(routes) == 5
    assert sorted(c for route in routes for c in route) == list(range(1, 32))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_malformed_cvrplib_file_names_the_line(tmp_path: Path) -> None:
    lines = cvrp_file("A-n32-k5").read_text().splitlines()
    lines[9] = " 3 50 five"
    path = _write(tmp_path, "bad.vrp", "\n".join(lines))
    with pytest.raises(ConfigError, match=r"bad\.vrp:10: not a number"):
        read_cvrplib(path)


def test_cvrplib_file_with_unsupported_distances_is_refused(tmp_path: Path) -> None:
    text = cvrp_file("A-n32-k5").read_text().replace("EUC_2D", "GEO")
    with pytest.raises(ConfigError, match=r"bad\.vrp:5: EDGE_WEIGHT_TYPE GEO is not supported"):
        read_cvrplib(_write(tmp_path, "bad.vrp", text))


def test_cvrplib_file_with_a_missing_demand_is_refused(tmp_path: Path) -> None:
    text = cvrp_file("A-n32-k5").read_text().replace("\n32 9 \n", "\n")
    with pytest.raises(ConfigError, match=r"node 32 lacks a coordinate or a demand"):
        read_cvrplib(_write(tmp_path, "bad.vrp", text))


def test_malformed_solomon_file_names_the_line(tmp_path: Path) -> None:
    lines = solomon_file("C101").read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.split()[:1] == ["5"])
    lines[row] = "    5      42         65         10         15 "
    path = _write(tmp_path, "bad.txt", "\n".join(lines))
    with pytest.raises(ConfigError, match=rf"bad\.txt:{row + 1}: expected 7 numbers, found 5"):
        read_solomon(path)


def test_solomon_window_closing_before_it_opens_is_refused(tmp_path: Path) -> None:
    text = solomon_file("C101").read_text().replace(" 912        967 ", " 967        912 ")
    with pytest.raises(ConfigError, match=r"bad\.txt:11: .*due time 912"):
        read_solomon(_write(tmp_path, "bad.txt", text))


def test_haversine_distance_is_the_great_circle() -> None:
    table = pa.table(
        {
            "site": ["depot", "north", "east"],
            "x": [0.0, 0.0, 90.0],
            "y": [0.0, 1.0, 0.0],
            "demand": [0, 1, 1],
        }
    )
    problem = RoutingProblem.from_sites(table, depot="depot", capacity=2)
    distance = problem.distance_matrix()
    # One degree along a meridian, and a quarter of the equator.
    assert distance[0, 1] == pytest.approx(EARTH_RADIUS_KM * math.pi / 180)
    assert distance[0, 2] == pytest.approx(EARTH_RADIUS_KM * math.pi / 2)
    np.testing.assert_allclose(distance, distance.T)


def test_sites_table_without_a_demand_column_is_refused() -> None:
    table = pa.table({"site": ["depot", "a"], "x": [0.0, 1.0], "y": [0.0, 1.0]})
    with pytest.raises(ConfigError, match="lacks column"):
        RoutingProblem.from_sites(table, depot="depot", capacity=2)
