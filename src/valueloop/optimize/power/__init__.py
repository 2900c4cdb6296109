"""Power dispatch: unit commitment and economic dispatch of a fleet, and DC optimal power flow.

- :class:`UnitCommitment` / :class:`EconomicDispatch` plan a :class:`DispatchProblem` (a fleet
  file, :func:`load_dispatch_problem`) hour by hour with HiGHS; :func:`validate_dispatch_plan`
  checks a plan independently.
- :class:`DcOpf` solves the DC OPF of a :class:`DcOpfProblem` (a pandapower case,
  :func:`load_case`); :func:`validate_dcopf_plan` recomputes its flows from the angles.
- :func:`ccpp_derating`: available capacity against ambient temperature, fitted on the CCPP plant.
- :func:`solve_dispatch_file` / :func:`solve_dcopf_file`: the command line's entry points.
"""

from valueloop.optimize.power.ambient import AmbientDerating, ccpp_derating, fit_ambient_derating
from valueloop.optimize.power.check_dcopf import validate_dcopf_plan
from valueloop.optimize.power.check_dispatch import validate_dispatch_plan
from valueloop.optimize.power.commitment import DISPATCH_SCHEMA, EconomicDispatch, UnitCommitment
from valueloop.optimize.power.dcopf import OPF_SCHEMA, DcOpf
from valueloop.optimize.power.files import solve_dcopf_file, solve_dispatch_file
from valueloop.optimize.power.fleet import (
    DispatchProblem,
    Unit,
    load_dispatch_problem,
    parse_dispatch_problem,
)
from valueloop.optimize.power.network import CASES, DcOpfProblem, from_pandapower, load_case

__all__ = [
    "CASES",
    "DISPATCH_SCHEMA",
    "OPF_SCHEMA",
    "AmbientDerating",
    "DcOpf",
    "DcOpfProblem",
    "DispatchProblem",
    "EconomicDispatch",
    "Unit",
    "UnitCommitment",
    "ccpp_derating",
    "fit_ambient_derating",
    "from_pandapower",
    "load_case",
    "load_dispatch_problem",
    "parse_dispatch_problem",
    "solve_dcopf_file",
    "solve_dispatch_file",
    "validate_dcopf_plan",
    "validate_dispatch_plan",
]
