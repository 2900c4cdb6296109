"""Lower bounds on the distance of any plan, against published optima."""

from __future__ import annotations

import pytest
from tests.optimize.routing.instances import CVRP, VRPTW, cvrp_file, published, solomon_file

from valueloop.optimize.routing import distance_lower_bound, read_instance
from valueloop.optimize.routing.lp_bound import lp_lower_bound


def test_degree_bound_never_exceeds_a_published_value() -> None:
    cvrp = published(CVRP)
    for name, row in cvrp.items():
        bound = distance_lower_bound(read_instance(cvrp_file(name)))
        assert 0 < bound <= float(row["bks_cost"]), name
    solomon = published(VRPTW)
    for name, row in solomon.items():
        bound = distance_lower_bound(read_instance(solomon_file(name)))
        assert 0 < bound <= float(row["distonly_opt"]), name


@pytest.mark.parametrize("name", ["A-n32-k5", "A-n80-k10", "P-n16-k8", "P-n101-k4", "C101", "R101"])
def test_lp_bound_lies_between_the_degree_bound_and_the_published_value(name: str) -> None:
    is_solomon = name[0] in "CR" and "-" not in name
    problem = read_instance(solomon_file(name) if is_solomon else cvrp_file(name))
    best_known = float(
        published(VRPTW)[name]["distonly_opt"] if is_solomon else published(CVRP)[name]["bks_cost"]
    )
    bound = lp_lower_bound(problem, seconds=30.0)
    assert bound is not None
    assert distance_lower_bound(problem) <= bound <= best_known


def test_lp_bound_gives_up_without_time() -> None:
    assert lp_lower_bound(read_instance(cvrp_file("A-n32-k5")), seconds=0.0) is None
