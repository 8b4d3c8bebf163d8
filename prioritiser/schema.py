"""Every input column of format v1 (and v1.1's planning cycle) and every scenario key, declared once.

Validation reads these declarations to coerce and check cells and scenario values,
`docs/format.md` is checked against them by a test, and the dashboard uses the `meaning`
strings as help text.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

REQUIRED = object()  # sentinel default: the column must be present and every cell filled


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # id, ref, resource, text, integer, number, money, bool, period, offset, choice
    default: object = None  # None = blank allowed and means "none"
    unit: str = ""
    meaning: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # the value must be greater than this (hours_per_fte > 0)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    index: str | None
    columns: tuple[Column, ...]
    meaning: str
    pattern_columns: tuple[Column, ...] = ()  # e.g. score_<objective>: name is a prefix

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        for col in self.pattern_columns:
            if name.startswith(col.name):
                return col
        return None


ID_PATTERN = r"^[A-Za-z0-9_.\-]+$"
DEPENDENCY_TYPES = ("finish_to_start", "start_to_start", "requires", "excludes")
STATUSES = ("proposed", "approved", "in_progress")
HOURS_PER_FTE = 1650.0  # working hours of one FTE in a year, when the resources table does not say
TRAINING_RESOURCES = ("trainer", "clinical_time")  # what training draws on besides revenue


# ------------------------------------------------------------------ money rules (issue 13, format v1.1)
# Cash-releasing benefits, targets and optimism bias: declared here, apart from the other v1.1 columns.

MONEY_INITIATIVE_COLUMNS = (
    Column("cash_releasing", "number", 0.0, "0-1", "share of benefit that is cash-releasing (a real saving that "
           "counts towards the cost-improvement target); the rest is non-cash-releasing", minimum=0, maximum=1),
    Column("optimism_bias_capital", "number", None, "share", "uplift on capital_cost when the scenario turns "
           "optimism bias on (0.5 = +50%); blank = the scenario's default for its category", minimum=0),
    Column("optimism_bias_duration", "number", None, "share", "uplift on duration (rounded up to whole periods) "
           "when optimism bias is on; blank = the scenario's default for its category", minimum=0),
)
TARGET_MEASURES = ("cash_releasing_savings", "in_year_revenue")
# The uplifts used when neither the initiative, nor by_category[its category], nor by_category.default
# says: HM Treasury, "Supplementary Green Book Guidance: Optimism Bias" (2003, with the Green Book 2022),
# Table 1, Equipment/Development projects, upper bounds (the values an appraisal starts from before
# mitigation is evidenced): capital expenditure +200%, works duration +54% (lower bounds 10% each).
GREEN_BOOK_UPLIFT = {"capital": 2.00, "duration": 0.54}

INITIATIVES = Table(
    "initiatives", True, "initiative",
    (
        Column("id", "id", REQUIRED, meaning="unique id: letters, digits, -, _, ."),
        Column("name", "text", "", meaning="display name (defaults to the id)"),
        Column("directorate", "text", "", meaning="owning directorate"),
        Column("category", "text", "", meaning="e.g. clinical, infrastructure, cyber, compliance"),
        Column("duration", "integer", REQUIRED, "periods", "build periods before go-live", minimum=1),
        Column("earliest_start", "period", None, "period label", "first period it may start (default: first period)"),
        Column("latest_finish", "period", None, "period label", "if selected, its last build period is at or before this"),
        Column("mandatory", "bool", False, meaning="must be selected (regulatory, keep-the-lights-on, cyber)"),
        Column("capital_cost", "money", 0.0, "£", "total capital, spread evenly over the build periods", minimum=0),
        Column("revenue_cost", "money", 0.0, "£", "total revenue spend during build, spread evenly", minimum=0),
        Column("running_cost", "money", 0.0, "£ per period", "revenue cost per period from go-live to the horizon's end", minimum=0),
        Column("benefit", "money", 0.0, "£ per period", "monetised benefit per period after go-live", minimum=0),
        Column("revenue", "money", 0.0, "£ per period", "new income per period after go-live", minimum=0),
        Column("ramp", "integer", 0, "periods", "the k-th period after go-live earns min(1, (k+1)/(ramp+1)) of full benefit and revenue", minimum=0),
        Column("status", "choice", "proposed", meaning="proposed, approved or in_progress (already being built: starts in the first period, duration and costs are what remains)", choices=STATUSES),
        Column("stop_cost", "money", 0.0, "£", "revenue charged in the first period if an in_progress initiative is stopped (contract exit, write-off)", minimum=0),
        *MONEY_INITIATIVE_COLUMNS,
    ),
    "one row per candidate initiative",
    pattern_columns=(Column("score_", "number", 0.0, "0-5", "strategic alignment with an objective, e.g. score_trust", minimum=0, maximum=5),),
)

# ------------------------------------------------------------------- risk ranges (format v1.1, issue 13.4)
# `<base>_low` and `<base>_high` of an initiative: the range of a triangular distribution whose most
# likely value is the base column (blank = the base value). Only `prioritiser risk` reads them.
RISK_RANGE_BASES = ("capital_cost", "benefit", "duration")


def _range_column(base: Column, end: str) -> Column:
    side = "lowest" if end == "low" else "highest"
    return Column(f"{base.name}_{end}", base.type, None, base.unit,
                  f"{side} plausible {base.name} for risk analysis (triangular, {base.name} most likely; "
                  f"blank = {base.name})", minimum=base.minimum)


RISK_RANGE_COLUMNS = tuple(_range_column(INITIATIVES.column(b), end) for b in RISK_RANGE_BASES
                           for end in ("low", "high"))
INITIATIVES = replace(INITIATIVES, columns=INITIATIVES.columns + RISK_RANGE_COLUMNS)
# ------------------------------------------------------------------- end of risk ranges

RESOURCES = Table(
    "resources", False, "resource",
    (
        Column("resource", "id", REQUIRED, meaning="e.g. developer, clinical_time, trainer"),
        Column("kind", "choice", "staff", meaning="money or staff", choices=("money", "staff")),
        Column("external_cost", "money", 0.0, "£ per unit per period", "cost of buying one extra unit from outside for one period; charged to revenue", minimum=0),
        Column("external_max", "number", 0.0, "units per period", "most units per period that may be bought (0 = none); applies to staff limits given per period", minimum=0),
        Column("hours_per_fte", "number", HOURS_PER_FTE, "hours a year", "working hours of one FTE in a year; turns training hours into FTE", above=0),
    ),
    "resources other than capital and revenue, which always exist as money",
)

DEMANDS = Table(
    "demands", False, None,
    (
        Column("initiative", "ref", REQUIRED, meaning="initiative id"),
        Column("resource", "resource", REQUIRED, meaning="resource name"),
        Column("offset", "offset", REQUIRED, meaning="k >= 0 (the period start+k), build (every build period) or run (every period from go-live)"),
        Column("amount", "number", REQUIRED, "units per period", "demand per period", minimum=0),
    ),
    "per-period demand of any resource",
)

CAPACITY = Table(
    "capacity", True, None,
    (
        Column("resource", "resource", REQUIRED, meaning="resource name"),
        Column("period", "period", REQUIRED, "period or financial-year label", "the period, or the financial year for a total over it"),
        Column("amount", "number", REQUIRED, "units", "the limit for that period, or for that year's total", minimum=0),
    ),
    "limits per period or per financial year; each row is a limit of its own",
)

DEPENDENCIES = Table(
    "dependencies", False, None,
    (
        Column("predecessor", "ref", REQUIRED, meaning="initiative id"),
        Column("successor", "ref", REQUIRED, meaning="initiative id"),
        Column("type", "choice", "finish_to_start", meaning="finish_to_start, start_to_start, requires or excludes", choices=DEPENDENCY_TYPES),
        Column("lag", "integer", 0, "periods", "minimum gap in periods", minimum=0),
    ),
    "links between initiatives",
)

FUNDING = Table(
    "funding", False, None,
    (
        Column("source", "text", REQUIRED, meaning="e.g. central-digital-fund"),
        Column("resource", "resource", REQUIRED, meaning="the money resource the funding lands in"),
        Column("period", "period", REQUIRED, "period or financial-year label", "when it lands; must match a capacity row"),
        Column("amount", "money", REQUIRED, "£", "amount released", minimum=0),
        Column("milestone", "ref", None, meaning="if given, lands only if this initiative has gone live by the first period of `period`"),
    ),
    "central money released on milestones",
)

TRAINING = Table(
    "training", False, None,
    (
        Column("initiative", "ref", REQUIRED, meaning="initiative id"),
        Column("staff_group", "text", REQUIRED, meaning="e.g. nurses, doctors, admin"),
        Column("headcount", "number", REQUIRED, "people", "people to train", minimum=0),
        Column("bank_locum_share", "number", 0.0, "0-1", "share of them who are bank or locum staff, whose training hours are paid from revenue", minimum=0, maximum=1),
        Column("hours_each", "number", REQUIRED, "hours", "training hours per person", minimum=0),
        Column("bank_rate", "money", 0.0, "£ per hour", "paid to bank and locum staff for training time", minimum=0),
        Column("trainees_per_trainer", "number", 10.0, "people", "class size", minimum=1),
        Column("periods_before_go_live", "integer", 1, "periods", "training is spread evenly over this many periods ending with the last build period", minimum=1),
    ),
    "staff to train before go-live: demand on trainer, clinical_time and revenue",
)

TABLES: dict[str, Table] = {t.name: t for t in (INITIATIVES, RESOURCES, DEMANDS, CAPACITY, DEPENDENCIES, FUNDING,
                                                 TRAINING)}
MONEY_RESOURCES = ("capital", "revenue")
# Which table defines the values of a reference column: every `ref` names an initiative (an id of
# initiatives), every `resource` a resource (capital, revenue, or a row of resources).
REFERENCES = {"ref": "initiatives", "resource": "resources"}


# ---------------------------------------------------------------------------------- scenario files


@dataclass(frozen=True)
class Key:
    """One leaf of a scenario file: its type, default and limits; the reader checks values against it."""

    type: str  # text, path, integer, number, bool, choice, solver, period, ids, weights, adjustments
    default: object = None  # REQUIRED: must be set in the file or one it extends
    meaning: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    limit: str | None = None  # the entry of limits.LIMITS that is its maximum (changeable by the user)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def is_list(self) -> bool:
        return self.type in ("ids", "adjustments", "targets")

    @property
    def is_single(self) -> bool:
        return self.type not in ("ids", "adjustments", "weights", "targets", "uplifts")


WEIGHT_KEYS = ("benefit", "revenue", "in_year_revenue", "alignment", "cost")
DEFAULT_WEIGHTS = {"benefit": 1.0, "revenue": 1.0, "in_year_revenue": 0.0, "alignment": 0.0, "cost": 1.0}
KEEP_MODES = ("start", "selection", "none")

# The money rules' scenario keys (issue 13): hard floors per financial year, and Green Book optimism bias.
MONEY_SCENARIO_KEYS: dict[str, Key | dict] = {
    "targets": Key("targets", None, "hard floors per financial year: a list of {measure, financial_year, at_least}"),
    "optimism_bias": {
        "apply": Key("bool", False, "true: uplift capital_cost and duration before the plan is chosen"),
        "by_category": Key("uplifts", None, "category (or default) -> {capital: share, duration: share}; "
                           "an initiative's own optimism_bias_capital/_duration beat these"),
    },
}
# One entry of `targets`.
TARGET: dict[str, Key] = {
    "measure": Key("choice", REQUIRED, "cash_releasing_savings or in_year_revenue", choices=TARGET_MEASURES),
    "financial_year": Key("label", REQUIRED, "a financial-year label inside the horizon, e.g. 2027/28"),
    "at_least": Key("number", REQUIRED, "£ that year's measure must reach, summed over the selected initiatives",
                    minimum=0),
}
# One entry of `optimism_bias.by_category`.
UPLIFT: dict[str, Key] = {
    # blank = the same key of by_category.default, then GREEN_BOOK_UPLIFT
    "capital": Key("number", None, "uplift on capital_cost (0.5 = +50%)", minimum=0),
    "duration": Key("number", None, "uplift on duration, rounded up to whole periods", minimum=0),
}

# The shape of a scenario file: a dict is a mapping with these keys, a Key is a leaf.
SCENARIO: dict[str, Key | dict] = {
    "name": Key("text", None, "the scenario's name (default: the file's stem)"),
    "description": Key("text", "", "one line shown in reports and the dashboard"),
    "extends": Key("path", None, "another scenario file whose settings this one starts from"),
    "portfolio": Key("path", REQUIRED, "the folder of CSV files or .xlsx workbook, relative to this file"),
    "horizon": {
        "start": Key("period", REQUIRED, "the first period's label"),
        # the limit keeps a typo (periods: 2000000) from tying the computer up for hours
        "periods": Key("integer", REQUIRED, "number of periods", minimum=1, limit="PERIODS"),
        "granularity": Key("choice", "quarter", "quarter, month or year", choices=("quarter", "month", "year")),
    },
    "objective": {
        "discount_rate": Key("number", 0.035, "annual; HM Treasury Green Book rate", minimum=0),
        "weights": {k: Key("number", v, f"weight of {k} in the objective") for k, v in DEFAULT_WEIGHTS.items()},
        "alignment_weights": Key("weights", None, "objective name -> weight of its score_<name> column"),
    },
    "adjustments": Key("adjustments", None, "capacity changes, applied in order"),
    "force_in": Key("ids", None, "initiatives that must be selected"),
    "force_out": Key("ids", None, "initiatives that must not be selected"),
    "external": Key("bool", True, "allow buying external staff"),
    "allow_stopping": Key("bool", False, "in_progress initiatives may be stopped, paying their stop_cost"),
    "approved_plan": Key("path", None, "the plan the board approved (a plan.csv, or a CSV of id, start), relative to this file"),
    "changes": {
        "keep": Key("choice", "none", "start: approved initiatives keep their start; selection: they stay in, "
                    "the start may move; none: free, changes only reported", choices=KEEP_MODES),
        "max_moved": Key("integer", None, "at most this many approved initiatives move or drop", minimum=0),
        "move_penalty": Key("number", 0.0, "£ of objective per approved initiative moved", minimum=0),
        "drop_penalty": Key("number", 0.0, "£ of objective per approved initiative dropped", minimum=0),
    },
    **MONEY_SCENARIO_KEYS,
    "solver": {
        "name": Key("solver", "highs", "highs or cbc"),
        "time_limit": Key("number", 60.0, "seconds", minimum=0),
        "gap": Key("number", 0.001, "relative gap at which a plan counts as optimal", minimum=0),
    },
}

# The columns of an approved plan (`approved_plan`): our own plan.csv has these and more (the rest
# is ignored); a hand-made one may have just `id, start`.
APPROVED_PLAN = Table(
    "approved_plan", False, "initiative",
    (
        Column("id", "id", REQUIRED, meaning="initiative id"),
        Column("start", "period", None, "period label", "the approved start; blank = not approved"),
        Column("selected", "bool", True, meaning="false = not approved (as plan.csv writes it)"),
    ),
    "the plan the board approved",
)

# One entry of `adjustments`.
ADJUSTMENT: dict[str, Key] = {
    "resource": Key("text", REQUIRED, "the resource to adjust"),
    "scale": Key("number", None, "multiplies each matching capacity row (and funding landing on it)", minimum=0),
    "add": Key("number", None, "added to each matching capacity row"),
    "from": Key("label", None, "first period or financial year (default: open)"),
    "to": Key("label", None, "last period or financial year (default: open)"),
}
