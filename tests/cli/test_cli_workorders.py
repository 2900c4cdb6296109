"""``valueloop workorders propose``, ``rollback`` and ``complete`` as the users of their tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.act.test_desk import SITE, _reading
from typer.testing import CliRunner

from valueloop.act.workorders import OrderStatus
from valueloop.api.auth import issue_token
from valueloop.cli import workorders
from valueloop.site import open_site

runner = CliRunner(env={"COLUMNS": "200"})


def test_propose_decide_and_complete_from_the_command_line(tmp_path: Path) -> None:
    site_file, data = tmp_path / "site.yaml", tmp_path / "data"
    site_file.write_text(SITE)
    site = open_site(site_file, data)
    _reading(site, "pump-1", "speed_setpoint", 1480.0, datetime.now(UTC) - timedelta(seconds=1))
    tokens = {
        name: issue_token(site.store, name, role)
        for name, role in (("olga", "operator"), ("ann", "approver"), ("bob", "approver"))
    }
    site.close()

    def run(user: str, *args: str) -> tuple[int, str]:
        result = runner.invoke(
            workorders.app,
            [*args, "--data-dir", str(data)],
            env={"VALUELOOP_TOKEN": tokens[user], "COLUMNS": "200"},
        )
        return result.exit_code, result.output

    code, output = run("olga", "propose", "setpoint", "pump-1", "speed_setpoint", "--to", "1900")
    assert code == 1 and "above its max 1800" in output
    code, output = run("olga", "propose", "setpoint", "pump-1", "speed_setpoint", "--by", "-50")
    assert code == 0 and "proposed (setpoint: speed_setpoint 1480.0 -> 1430.0 rpm)" in output
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    code, output = run(
        "olga", "propose", "task", "pump-2", "replace seal", "--start", start, "--crew", "mech-a"
    )
    assert code == 0, output
    task = output.split()[0]
    assert run("ann", "approve", task)[1].startswith(f"{task} approved")
    code, output = run("olga", "complete", task, "--cost", "900", "--hours", "3")
    assert code == 1 and "cannot become completed" in output
    site = open_site(site_file, data)
    site.work_orders.transition(task, OrderStatus.DISPATCHED, actor="policy")
    site.close()
    code, output = run(
        "olga", "complete", task, "--cost", "900", "--hours", "3", "--findings", "ok"
    )
    assert code == 0 and f"{task} completed" in output
