"""``valueloop demo`` names the installed packs when asked for one that is not."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_an_unknown_pack_lists_the_installed_ones_and_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "valueloop", "demo", "--pack", "shipping", "--no-serve"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert re.search(r"unknown pack 'shipping'; installed packs: .*\baviation\b", done.stderr)
    assert not (tmp_path / "valueloop-data").exists()
