"""Production scheduling: job-shop and flexible job-shop with CP-SAT.

Build a :class:`ShopProblem` (or read one with :func:`load_shop_problem`), solve it with
:class:`ShopScheduler` and check the plan with :func:`validate_shop_plan`; or do all of it from a
file with :func:`solve_shop_file`.
"""

from valueloop.optimize.scheduling.files import solve_shop_file
from valueloop.optimize.scheduling.formats import (
    load_shop_problem,
    read_flexible_jobshop,
    read_jobshop,
    read_shop_json,
)
from valueloop.optimize.scheduling.problem import (
    Downtime,
    Job,
    Operation,
    Option,
    SetupTimes,
    ShopProblem,
)
from valueloop.optimize.scheduling.scheduler import ASSIGNMENTS_SCHEMA, ShopScheduler
from valueloop.optimize.scheduling.search import PROOF_SHARE, SEARCH_PARAMETERS, Progress
from valueloop.optimize.scheduling.validate import validate_shop_plan

__all__ = [
    "ASSIGNMENTS_SCHEMA",
    "PROOF_SHARE",
    "SEARCH_PARAMETERS",
    "Downtime",
    "Job",
    "Operation",
    "Option",
    "Progress",
    "SetupTimes",
    "ShopProblem",
    "ShopScheduler",
    "load_shop_problem",
    "read_flexible_jobshop",
    "read_jobshop",
    "read_shop_json",
    "solve_shop_file",
    "validate_shop_plan",
]
