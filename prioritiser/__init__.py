"""prioritiser: choose and schedule a trust's digital and IT initiatives with an exact MILP.

Three lines from a script or notebook::

    import prioritiser
    result = prioritiser.run("scenarios/baseline.yaml")
    result.plan[result.plan.selected]

The names below are imported on first use (module `__getattr__`), so that `import prioritiser.cli`
or `import prioritiser.result` does not load the solvers. Modules inside the package never import
this file: they import what they need from its modules.
"""
import sys
import types

from .version import __version__

_PUBLIC = {
    "InputError": "errors", "Issue": "errors", "Scenario": "scenario", "load_scenario": "scenario",
    "load": "validate", "validate": "validate", "Status": "result", "Result": "result", "run": "engine",
    "check_plan": "check", "run_batch": "batch", "BatchResult": "batch", "compare": "whatif",
    "stress": "whatif", "frontier": "whatif", "SOLVER_NAMES": "solvers", "diagnose": "diagnose",
    "explain": "reversals", "alternatives": "alternatives", "risk": "risk", "simulate": "risk",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'prioritiser' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(__all__)


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # importing the submodule `validate` (or `explain`, `diagnose`, ...) sets it as an attribute
        # here: the function `prioritiser.validate` it would hide is what users call
        if isinstance(value, types.ModuleType) and name in _PUBLIC:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
