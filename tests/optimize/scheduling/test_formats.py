"""Reading the standard instance formats, and the errors a malformed file gets."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.optimize.scheduling.shops import instance, published

from valueloop.errors import ConfigError
from valueloop.optimize.scheduling import (
    Downtime,
    Job,
    Operation,
    Option,
    SetupTimes,
    ShopProblem,
    load_shop_problem,
)


def test_ft06_reads_as_six_jobs_on_six_machines() -> None:
    problem = load_shop_problem(instance("ft06"))
    assert problem.machines == 6
    assert [len(job.operations) for job in problem.jobs] == [6] * 6
    assert not problem.is_flexible
    # Fisher & Thompson's 6x6: every job visits every machine once.
    for job in problem.jobs:
        assert sorted(op.options[0].machine for op in job.operations) == list(range(6))
    assert problem.jobs[0].operations[0].options == [Option(machine=2, duration=1)]


@pytest.mark.parametrize("name", ["mk01", "mk06", "mk10"])
def test_brandimarte_sizes_match_the_published_table(name: str) -> None:
    problem = load_shop_problem(instance(name))
    assert len(problem.jobs) == published(name, "jobs")
    assert sum(len(job.operations) for job in problem.jobs) == published(name, "operations")
    assert problem.is_flexible
    machines = {o.machine for job in problem.jobs for op in job.operations for o in op.options}
    assert min(machines) == 0  # 1-based in the file, 0-based here
    assert max(machines) < problem.machines


def test_a_problem_with_its_extensions_round_trips_through_json(tmp_path: Path) -> None:
    problem = ShopProblem(
        name="press-line",
        machines=2,
        jobs=[
            Job(operations=[Operation(options=[Option(machine=0, duration=3)])], due=5, family=1),
            Job(operations=[Operation(options=[Option(machine=0, duration=2)])], release=1),
        ],
        objective="weighted_tardiness",
        downtime=[Downtime(machine=0, start=4, end=6)],
        setups=[SetupTimes(between="families", times=[[0, 2], [1, 0]])],
    )
    path = tmp_path / "press-line.json"
    path.write_text(problem.model_dump_json())
    assert load_shop_problem(path) == problem


@pytest.mark.parametrize(
    ("suffix", "text", "message"),
    [
        (".txt", "2 2\n0 3 1 4\n0 2 x 1\n", r"bad\.txt, line 3: expected whole numbers"),
        (".txt", "2 2\n0 3 1 4\n0 2 1\n", r"bad\.txt, line 3: expected 2 pairs"),
        (".txt", "2 2\n0 3 1 4\n", r"bad\.txt, line 2: the header announces 2 jobs"),
        (".txt", "2 2\n0 3 5 4\n0 2 1 1\n", r"bad\.txt, line 2: machine 5 is outside"),
        (".txt", "two 2\n", r"bad\.txt, line 1: expected whole numbers"),
        (".fjs", "1 2 1\n2 1 1 3 2 1 4\n", r"bad\.fjs, line 2: operation 1 announces 2 machines"),
        (".fjs", "1 2 1\n1 1 1 3 7\n", r"bad\.fjs, line 2: 1 numbers left over"),
        (".fjs", "1 2 1\n\n1 1 3 3\n", r"bad\.fjs, line 3: machine 2 is outside"),
        (".fjs", "1 2 1\n1 2 1 3 1 4\n", r"bad\.fjs, line 2: operation 0 lists a machine twice"),
    ],
)
def test_a_malformed_file_names_its_line(
    tmp_path: Path, suffix: str, text: str, message: str
) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_shop_problem(path)


def test_an_invalid_json_problem_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shop.json"
    path.write_text(
        '{"machines": 1, "jobs": [{"operations": [{"options": [{"machine": 3, "duration": 1}]}]}]}'
    )
    with pytest.raises(ConfigError, match=r"(?s)shop\.json: invalid shop problem.*machine 3"):
        load_shop_problem(path)
