"""What the lean install leaves out, and the one line that says how to add it.

``pip install valueloop`` is the edge agent and the command line; ``pip install
'valueloop[platform]'`` adds the store, the API, the analytics and the solvers. A platform command
run on a lean install fails on its first import of a platform package: the command line turns
that into one line naming the extra to install, rather than a traceback.
"""

from __future__ import annotations

PLATFORM_EXTRA = "platform"

PLATFORM_MODULES = frozenset(
    {
        # the packages of the ``platform`` extra, by the name they are imported under
        "duckdb",
        "fastapi",
        "uvicorn",
        "psycopg",
        "psycopg_pool",
        "lightgbm",
        "sklearn",
        "torch",
        "ortools",
        "highspy",
        "pyvrp",
        "pandapower",
        "scipy",
        "pint",
        "weasyprint",
        "pvlib",
        "tsdownsample",
        # what FastAPI brings with it, imported by the API too
        "starlette",
    }
)


def platform_hint(err: ModuleNotFoundError) -> str | None:
    """The line to print if ``err`` is a platform package missing from a lean install, else None."""
    missing = (err.name or "").partition(".")[0]
    if missing not in PLATFORM_MODULES:
        return None
    return (
        f"this command needs {missing}, which the lean install leaves out; "
        f"install the platform with: pip install 'valueloop[{PLATFORM_EXTRA}]'"
    )
