"""prioritiser: choose and schedule a trust's digital and IT initiatives with an exact MILP.

Three lines from a script or notebook::

    import prioritiser
    result = prioritiser.run("scenarios/baseline.yaml")
    result.plan[result.plan.selected]
"""
__version__ = "0.1.0"

from .errors import InputError, Issue  # noqa: E402
from .scenario import Scenario, load_scenario  # noqa: E402
from .validate import load, validate  # noqa: E402
from .solvers import Status  # noqa: E402
from .engine import Result, run  # noqa: E402
from .check import check_plan  # noqa: E402
from .batch import BatchResult, run_batch  # noqa: E402
from .whatif import compare, frontier, stress  # noqa: E402

__all__ = ["InputError", "Issue", "Scenario", "load_scenario", "load", "validate", "Status", "Result", "run",
           "check_plan", "run_batch", "BatchResult", "compare", "stress", "frontier", "__version__"]
