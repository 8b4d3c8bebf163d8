"""The dashboard's colour-blind-safe palette, HTML escaping and status sentences (numbers are written
by prioritiser.formatting, as everywhere in the package)."""
from __future__ import annotations

import html

from prioritiser.formatting import money, percent

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
GREY = "#999999"
# A sequential scale that is safe for colour-blind readers and prints in greyscale (plotly's Cividis).
HEAT_SCALE = "Cividis"


def esc(text) -> str:
    return html.escape("" if text is None else str(text))


def category_colours(categories) -> dict[str, str]:
    """A stable colour per category (sorted), cycling through Okabe-Ito; blank categories are grey."""
    cats = sorted({str(c) for c in categories if isinstance(c, str) and c.strip()})
    out = {c: OKABE_ITO[n % len(OKABE_ITO)] for n, c in enumerate(cats)}
    out[""] = GREY
    return out


def status_sentence(result) -> tuple[str, str]:
    """(css class, plain sentence) saying honestly what the solver proved."""
    if result is None:
        return "status-none", "No plan yet: press Optimise."
    status = result.status.value
    gap = result.gap
    secs = f"{result.seconds:.1f} s"
    how = f"solved in {secs} by {result.solver_version or result.solver}"
    if status == "optimal":
        if gap is not None and gap > 1e-9 and result.bound is not None:
            room = money(result.bound - result.objective)
            text = (f"Optimal within the gap tolerance: no plan can beat this one by more than "
                    f"{percent(gap, 2)} ({room}); {how}.")
        else:
            text = f"Optimal: proven best plan; {how}."
    elif status == "feasible":
        room = f"{percent(gap, 1)}" if gap is not None else "an unknown amount"
        why = result.message or "stopped before proving the plan best"
        text = (f"Feasible, not proven best ({why}): a better plan may exist, by at most {room} "
                f"(gap to the best bound); {how}. Raise the time limit to prove it.")
    elif status == "infeasible":
        text = ("Infeasible: no plan meets every rule (for example, mandatory or forced-in work that "
                "does not fit the budgets or staff). Loosen a budget or release a forced choice.")
    else:
        text = f"No plan: {result.message or 'the solver failed'}."
    return f"status-{status}", text
