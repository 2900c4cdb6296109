"""Reading shop problems from the standard instance formats.

- Job-shop, OR-Library / JSPLIB "standard" format (``.txt``, ``.jsp``): a line ``n_jobs
  n_machines``, then one line per job of ``n_machines`` pairs ``machine duration`` in processing
  order, machines numbered from 0.
- Flexible job-shop, Brandimarte format (``.fjs``): a line ``n_jobs n_machines [flexibility]``, then
  one line per job: the number of operations, then per operation the number ``k`` of eligible
  machines followed by ``k`` pairs ``machine duration``, machines numbered from 1 (read here as
  0-based).
- A :class:`~valueloop.optimize.scheduling.problem.ShopProblem` written as JSON (``.json``), which
  carries the extensions (release and due dates, downtime, set-ups) the two formats lack.

A malformed file raises :class:`~valueloop.errors.ConfigError` naming the file and the line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from valueloop.errors import ConfigError
from valueloop.optimize.scheduling.problem import Job, Operation, Option, ShopProblem


def _numbered_lines(path: Path) -> list[tuple[int, list[int]]]:
    """The file's non-blank lines as (line number, integers), converting read errors."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the instance file ({err})") from err
    rows: list[tuple[int, list[int]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            rows.append((number, [int(token) for token in tokens]))
        except ValueError as err:
            if number == 1 and len(tokens) == 3:  # Brandimarte's third header token may be a float
                rows.append((number, [int(tokens[0]), int(tokens[1])]))
                continue
            raise ConfigError(
                f"{path}, line {number}: expected whole numbers, got {line!r}"
            ) from err
    if not rows:
        raise ConfigError(f"{path}: the instance file is empty")
    return rows


def _header(path: Path, rows: list[tuple[int, list[int]]]) -> tuple[int, int]:
    number, values = rows[0]
    if len(values) < 2 or values[0] < 1 or values[1] < 1:
        raise ConfigError(
            f"{path}, line {number}: expected 'n_jobs n_machines' (positive), got {values}"
        )
    n_jobs, n_machines = values[0], values[1]
    if len(rows) - 1 != n_jobs:
        last = rows[-1][0]
        raise ConfigError(
            f"{path}, line {last}: the header announces {n_jobs} jobs but the file "
            f"has {len(rows) - 1} job lines"
        )
    return n_jobs, n_machines


def _option(path: Path, number: int, machine: int, duration: int, n_machines: int) -> Option:
    if not 0 <= machine < n_machines:
        raise ConfigError(
            f"{path}, line {number}: machine {machine} is outside the "
            f"{n_machines} machines of the header"
        )
    if duration < 0:
        raise ConfigError(f"{path}, line {number}: negative processing time {duration}")
    return Option(machine=machine, duration=duration)


def read_jobshop(path: Path) -> ShopProblem:
    """Read a job-shop instance in the OR-Library / JSPLIB standard format."""
    rows = _numbered_lines(path)
    _, n_machines = _header(path, rows)
    jobs: list[Job] = []
    for number, values in rows[1:]:
        if len(values) != 2 * n_machines:
            raise ConfigError(
                f"{path}, line {number}: expected {n_machines} pairs 'machine "
                f"duration' ({2 * n_machines} numbers), got {len(values)} numbers"
            )
        operations = [
            Operation(options=[_option(path, number, m, d, n_machines)])
            for m, d in zip(values[0::2], values[1::2], strict=True)
        ]
        jobs.append(Job(operations=operations))
    return ShopProblem(name=path.stem, machines=n_machines, jobs=jobs)


def _fjs_job(path: Path, number: int, values: list[int], n_machines: int) -> Job:
    if values[0] < 1:
        raise ConfigError(f"{path}, line {number}: a job needs at least one operation")
    operations: list[Operation] = []
    cursor = 1
    for _ in range(values[0]):
        if cursor >= len(values):
            raise ConfigError(
                f"{path}, line {number}: the line ends before its {values[0]} "
                "operations are complete"
            )
        k = values[cursor]
        pairs = values[cursor + 1 : cursor + 1 + 2 * k]
        if k < 0 or len(pairs) != 2 * k:
            raise ConfigError(
                f"{path}, line {number}: operation {len(operations)} announces {k} "
                "machines but the line has fewer pairs 'machine duration'"
            )
        if len(set(pairs[0::2])) < k:
            raise ConfigError(
                f"{path}, line {number}: operation {len(operations)} lists a machine twice"
            )
        operations.append(
            Operation(
                options=[
                    _option(path, number, m - 1, d, n_machines)
                    for m, d in zip(pairs[0::2], pairs[1::2], strict=True)
                ]
            )
        )
        cursor += 1 + 2 * k
    if cursor != len(values):
        raise ConfigError(
            f"{path}, line {number}: {len(values) - cursor} numbers left over after "
            f"the {values[0]} operations"
        )
    return Job(operations=operations)


def read_flexible_jobshop(path: Path) -> ShopProblem:
    """Read a flexible job-shop instance in Brandimarte's ``.fjs`` format."""
    rows = _numbered_lines(path)
    _, n_machines = _header(path, rows)
    jobs = [_fjs_job(path, number, values, n_machines) for number, values in rows[1:]]
    return ShopProblem(name=path.stem, machines=n_machines, jobs=jobs)


def read_shop_json(path: Path) -> ShopProblem:
    """Read a :class:`ShopProblem` written as JSON (with its extensions)."""
    try:
        return ShopProblem.model_validate_json(path.read_bytes())
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the problem file ({err})") from err
    except ValidationError as err:
        raise ConfigError(f"{path}: invalid shop problem: {err}") from err


def load_shop_problem(path: Path) -> ShopProblem:
    """Read a shop problem, choosing the format by the file's suffix (see the module docs)."""
    suffix = path.suffix.lower()
    if suffix == ".fjs":
        return read_flexible_jobshop(path)
    if suffix == ".json":
        return read_shop_json(path)
    return read_jobshop(path)
