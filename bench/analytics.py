"""All the analytics scores in one file, ``bench/results/analytics.json``, in the issue's shape.

``{"rul": {"FD001": {"rmse", "phm_score", "coverage", ...}, ..., "FD004"},
"skab": {"f1", "far", "mar", ...}, "nab": {"standard", "reward_low_FP_rate",
"reward_low_FN_rate", ...}, "ccpp": {"rmse", "mae", ...}}``.

By default both parts run (RUL and CCPP about 10 minutes on 2 cores, SKAB and NAB under a
minute; ``analytics_rul.py`` and ``analytics_anomaly.py`` run them). With ``--from-results`` the
file is assembled from the latest ``analytics_rul.json`` and ``analytics_anomaly.json`` instead.

    python bench/analytics.py [--from-results]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

import analytics_anomaly
import analytics_rul
from common import RESULTS, write_result


def assemble(rul: dict[str, Any], anomaly: dict[str, Any]) -> dict[str, Any]:
    """The analytics.json sections from the two parts' results."""
    return {
        "rul": rul["rul"],
        "rul_model": rul.get("kind", "ensemble"),
        "rul_seconds": rul.get("rul_seconds"),
        "ccpp": rul["ccpp"],
        "skab": anomaly["skab"],
        "nab": anomaly["nab"],
        "measured": {"rul_and_ccpp": rul.get("date"), "skab_and_nab": anomaly.get("date")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from-results", action="store_true")
    arguments = parser.parse_args()
    if arguments.from_results:
        rul = json.loads((RESULTS / "analytics_rul.json").read_text())
        anomaly = json.loads((RESULTS / "analytics_anomaly.json").read_text())
    else:
        rul = analytics_rul.run()
        anomaly = analytics_anomaly.run()
    path = write_result("analytics", assemble(rul, anomaly))
    Console().print(f"written to {path}")


if __name__ == "__main__":
    main()
