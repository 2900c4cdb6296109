"""Line problems as files, their validation, and solving one with progress reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.optimize.joint.lines import machine, small_line

from valueloop.errors import ConfigError
from valueloop.optimize.joint import (
    LineProblem,
    load_line_problem,
    solve_joint_file,
    validate_line_plan,
)


def test_a_written_problem_reads_back_and_solves_with_progress(tmp_path: Path) -> None:
    problem = small_line(seed=1)
    path = tmp_path / "line.json"
    path.write_text(problem.model_dump_json(indent=2))
    assert load_line_problem(path) == problem
    reports: list[tuple[float, float, float]] = []
    loaded, plan = solve_joint_file(
        path, time_limit=5, workers=1, seed=0, on_progress=lambda *r: reports.append(r)
    )
    assert validate_line_plan(loaded, plan) == []
    assert reports, "no progress was reported"
    elapsed, incumbents, bounds = zip(*reports, strict=True)
    assert list(elapsed) == sorted(elapsed)
    assert list(incumbents) == sorted(incumbents, reverse=True)
    assert all(b <= i * (1 + 1e-9) for i, b in zip(incumbents, bounds, strict=True))
    assert incumbents[-1] == pytest.approx(plan.objective, rel=1e-5)


def test_a_malformed_file_names_the_file_line_and_field(tmp_path: Path) -> None:
    text = small_line(seed=1).model_dump_json(indent=2)
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines) if '"duration"' in line)
    lines[number] = lines[number].replace('"duration": ', '"duration": -')
    path = tmp_path / "bad.json"
    path.write_text("\n".join(lines))
    with pytest.raises(ConfigError, match=rf"bad.json, line {number + 1}: orders\.0\.operations"):
        load_line_problem(path)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ConfigError, match=r"bad\.json: not valid YAML"):
        load_line_problem(path)
    with pytest.raises(ConfigError, match=r"cannot read .*missing\.json, the line problem"):
        load_line_problem(tmp_path / "missing.json")


def test_inconsistent_problems_are_refused() -> None:
    problem = small_line(seed=1).model_dump()
    with pytest.raises(ValidationError, match="unknown machine"):
        LineProblem.model_validate({**problem, "machines": problem["machines"][1:]})
    with pytest.raises(ValidationError, match="repeated: O001"):
        LineProblem.model_validate({**problem, "orders": [problem["orders"][0]] * 2})
    with pytest.raises(ValidationError, match="expected lower <= rul <= upper"):
        machine("M", 5, 8, 9)
    with pytest.raises(ValidationError, match="extra"):
        LineProblem.model_validate({**problem, "shifts": 3})
