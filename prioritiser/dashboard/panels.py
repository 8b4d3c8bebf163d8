"""The page's text panels as HTML (pure functions of a Result / state): headline figures, status,
input problems, the initiatives table, the comparison with plan A and the stress table."""
from __future__ import annotations

import pandas as pd

from prioritiser.formatting import money, percent, score
from prioritiser.replan import changes_table
# spend_by_year is the table of summary.json and report.xlsx, so the page and the report agree
from prioritiser.report import conflict_lines, spend_by_year, stop_words

from .formatting import esc, status_sentence

# ------------------------------------------------------------------------------------- headline
def headline_figures(result) -> dict[str, float]:
    """The numbers of the headline cards (also what the comparison with A reports)."""
    if result is None or not result.has_plan:
        return {}
    c = result.components
    spend = spend_by_year(result)
    out = {"npv": c.get("npv"), "objective": result.objective, "in_year_revenue": c.get("in_year_revenue"),
           "selected": int(result.plan["selected"].sum()), "initiatives": len(result.plan)}
    for resource in ("capital", "revenue"):
        part = spend[spend["resource"] == resource]
        out[f"{resource}_spend"] = float(part["spend"].sum())
        out[f"{resource}_budget"] = float(part["available"].sum()) if part["available"].notna().all() else float("nan")
        out[f"{resource}_gated"] = float(part["gated"].fillna(0).sum())
    return out


def headline_html(result, pinned=None) -> str:
    if result is None or not result.has_plan:
        return ('<div class="pd-cards"><div class="pd-card"><div class="pd-card-label">Net present value</div>'
                '<div class="pd-card-value headline-npv">-</div><div class="pd-card-note">no plan</div></div></div>')
    f = headline_figures(result)
    a = headline_figures(pinned) if pinned is not None else {}
    H = result.portfolio.horizon

    def delta(key, fmt=money):
        if not a or a.get(key) is None or f.get(key) is None:
            return ""
        d = f[key] - a[key]
        if abs(d) < 0.5:
            return '<div class="pd-card-delta">same as A</div>'
        cls = "up" if d > 0 else "down"
        return f'<div class="pd-card-delta {cls}">{esc(fmt(d) if fmt is not money else money(d, signed=True))} vs A</div>'

    def used(resource):
        s, b = f[f"{resource}_spend"], f[f"{resource}_budget"]
        share = f"{s / b:.0%} of " if b == b and b > 0 else "no limit; "
        g = f[f"{resource}_gated"]
        gated = f" (incl. {money(g)} milestone-gated)" if g > 0.5 else ""
        return f"{share}{money(b)} budget{gated} over {len(H.fy_labels)} years" if b == b else "no budget limit"

    mandatory = int(result.plan.loc[result.plan["selected"], "mandatory"].sum())
    cards = [
        ("Net present value", money(f["npv"]), "headline-npv",
         f"objective {score(f['objective'])} (a score: NPV plus weighted alignment)", delta("npv")),
        (f"In-year revenue {H.fy_labels[0]}", money(f["in_year_revenue"]), "headline-revenue",
         "new income in the first financial year", delta("in_year_revenue")),
        ("Initiatives in", f"{f['selected']} of {f['initiatives']}", "headline-count",
         f"{mandatory} mandatory", delta("selected", lambda d: f"{d:+d}")),
        ("Capital spend", money(f["capital_spend"]), "headline-capital", used("capital"), delta("capital_spend")),
        ("Revenue spend", money(f["revenue_spend"]), "headline-revenue-spend", used("revenue"),
         delta("revenue_spend")),
    ]
    parts = ['<div class="pd-cards" role="group" aria-label="Headline figures">']
    for label, value, cls, note, d in cards:
        parts.append(f'<div class="pd-card"><div class="pd-card-label">{esc(label)}</div>'
                     f'<div class="pd-card-value {cls}">{esc(value)}</div>'
                     f'<div class="pd-card-note">{esc(note)}</div>{d}</div>')
    parts.append("</div>")
    return "".join(parts)


# --------------------------------------------------------------------------------------- status
def status_html(result, busy: bool = False, stale: bool = False, time_limit: float = 0, gap: float = 0,
                notice: str = "", proving: bool = False) -> str:
    if proving and result is not None and result.has_plan:
        room = f"is at most {percent(result.gap, 1)} better" if result.gap is not None else "may be better"
        return (f'<div class="pd-status status-busy" role="status" aria-live="polite">'
                f'<span class="pd-spinner" aria-hidden="true"></span><span class="pd-status-word">FIRST PLAN</span> '
                f'Checked, not yet optimised: the best possible plan {esc(room)}. Proving it, or finding a better '
                f'one (time limit {time_limit:g} s, gap tolerance {gap:.1%})...</div>')
    if busy:
        return (f'<div class="pd-status status-busy" role="status" aria-live="polite">'
                f'<span class="pd-spinner" aria-hidden="true"></span> Optimising... (time limit {time_limit:g} s, '
                f'gap tolerance {gap:.1%})</div>')
    cls, text = status_sentence(result)
    extra = ""
    if stale and result is not None:
        extra = ('<div class="pd-stale">Settings changed since this plan: press <b>Optimise</b> to update it.'
                 '</div>')
    note = f'<div class="pd-notice">{esc(notice)}</div>' if notice else ""
    return (f'<div class="pd-status {cls}" role="status" aria-live="polite">'
            f'<span class="pd-status-word">{esc(result.status.value.upper() if result else "NO PLAN")}</span> '
            f'{esc(text)}{extra}{note}</div>')


# --------------------------------------------------------------------------------------- issues
def issues_html(issues, limit: int = 60) -> str:
    """Every input problem as a readable list (never a traceback): errors first, then warnings."""
    if not issues:
        return ""
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity != "error"]

    def item(i):
        place = i.where
        if i.row is not None:
            place += f", row {i.row}"
        if i.column:
            place += f", column {i.column}"
        return f'<li><span class="pd-where">{esc(place)}</span>: {esc(i.message)}</li>'

    parts = ['<div class="pd-issues issues-box" role="alert">'] if errors else ['<div class="pd-issues issues-box">']
    if errors:
        parts.append(f'<div class="pd-issues-title">{len(errors)} problem{"s" if len(errors) != 1 else ""} '
                     f'to fix before this portfolio can be used:</div><ul class="pd-errors">')
        parts += [item(i) for i in errors[:limit]]
        if len(errors) > limit:
            parts.append(f"<li>... and {len(errors) - limit} more</li>")
        parts.append("</ul>")
    if warnings:
        parts.append(f'<details class="pd-warnings"><summary>{len(warnings)} warning'
                     f'{"s" if len(warnings) != 1 else ""} (the plan can still be made)</summary><ul>')
        parts += [item(i) for i in warnings[:limit]]
        if len(warnings) > limit:
            parts.append(f"<li>... and {len(warnings) - limit} more</li>")
        parts.append("</ul></details>")
    parts.append("</div>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------- table
TABLE_COLUMNS = [("id", "ID"), ("name", "Initiative"), ("category", "Category"), ("in_plan", "In plan"),
                 ("start", "Start"), ("go_live", "Go-live"), ("value", "Net value"), ("reason", "Why it is out")]
SORT_KEYS = {"Start": "start_index", "Go-live": "go_live_index", "Net value": "value", "ID": "id",
             "Initiative": "name", "Category": "category", "In plan": "in_plan"}
SHOW = ("All initiatives", "In the plan", "Left out", "Mandatory")


def initiative_rows(result, query: str = "", show: str = "All initiatives", sort: str = "Start",
                    ascending: bool = True) -> pd.DataFrame:
    """Every initiative (in or out, start, go-live, value, reason), filtered and sorted."""
    if result is None:
        return pd.DataFrame(columns=[c for c, _ in TABLE_COLUMNS])
    plan = result.plan
    rows = pd.DataFrame({
        "id": plan.index.astype(str), "name": plan["name"].fillna("").astype(str),
        "category": plan["category"].fillna("").astype(str),
        "in_plan": ["in" if s else "out" for s in plan["selected"]],
        "mandatory": plan["mandatory"].astype(bool).to_numpy(),
        "start": plan["start"].fillna("").astype(str), "go_live": plan["go_live"].fillna("").astype(str),
        "start_index": plan["start_index"].to_numpy(), "go_live_index": plan["go_live_index"].to_numpy(),
        "value": plan["value"].astype(float).to_numpy(), "reason": plan["reason"].fillna("").astype(str),
        "status": plan["status"].astype(str).to_numpy() if "status" in plan else "proposed",
    })
    if show == "In the plan":
        rows = rows[rows["in_plan"] == "in"]
    elif show == "Left out":
        rows = rows[rows["in_plan"] == "out"]
    elif show == "Mandatory":
        rows = rows[rows["mandatory"]]
    q = (query or "").strip().lower()
    if q:
        hay = (rows["id"] + " " + rows["name"] + " " + rows["category"] + " " + rows["reason"] + " " + rows["start"]
               + " " + rows["go_live"]).str.lower()
        rows = rows[hay.str.contains(q, regex=False)]
    key = SORT_KEYS.get(sort, "start_index")
    if key in ("start_index", "go_live_index"):
        # initiatives left out have no start: they always come last
        rows = rows.assign(_missing=rows[key] < 0).sort_values(["_missing", key, "id"],
                                                               ascending=[True, ascending, True])
        rows = rows.drop(columns="_missing")
    else:
        rows = rows.sort_values([key, "id"], ascending=[ascending, True], kind="stable")
    return rows.reset_index(drop=True)


def table_html(rows: pd.DataFrame, total: int, caption: str = "") -> str:
    head = "".join(f'<th scope="col" class="col-{c}">{esc(label)}</th>' for c, label in TABLE_COLUMNS)
    body = []
    for r in rows.itertuples(index=False):
        cls = "row-in" if r.in_plan == "in" else "row-out"
        marks = [m for m, on in (("mandatory", r.mandatory), ("in flight", r.status == "in_progress"),
                                 ("approved", r.status == "approved")) if on]
        status = ("In" if r.in_plan == "in" else "Out") + (f" ({', '.join(marks)})" if marks else "")
        body.append(
            f'<tr class="{cls}" data-id="{esc(r.id)}"><td class="col-id">{esc(r.id)}</td>'
            f'<td class="col-name">{esc(r.name)}</td><td class="col-category">{esc(r.category)}</td>'
            f'<td class="col-in_plan">{esc(status)}</td><td class="col-start">{esc(r.start)}</td>'
            f'<td class="col-go_live">{esc(r.go_live)}</td>'
            f'<td class="col-value num">{esc(money(r.value) if r.in_plan == "in" else "-")}</td>'
            f'<td class="col-reason">{esc(r.reason)}</td></tr>')
    if not body:
        body.append(f'<tr><td colspan="{len(TABLE_COLUMNS)}">No initiative matches the filter.</td></tr>')
    cap = esc(caption or f"Showing {len(rows)} of {total} initiatives")
    return (f'<div class="pd-table-wrap" tabindex="0"><table class="pd-table initiatives-table">'
            f'<caption>{cap}</caption><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


# -------------------------------------------------------------------------------------- changes
CHANGE_WORDS = {"stopped": "Stopped (was in flight)", "dropped": "Dropped", "moved": "Moved", "added": "Added"}


def changes_html(result) -> str:
    """The plan's changes against the approved plan (replan.changes_table, as changes.csv), their price,
    or why the approved plan cannot be kept."""
    if result is None:
        return ""
    p = result.portfolio
    if result.diagnosis:
        who = "".join(f"<li>{esc(line.strip())}</li>" for line in conflict_lines(result)[1:])
        who = f"<p>Approved initiatives in the way (what each uses at its approved start):</p><ul>{who}</ul>" \
            if who else ""
        return (f'<div class="pd-changes-box changes-box" role="alert"><p><b>The approved plan cannot be kept</b> '
                f"under these settings: no plan meets every rule. In the way:</p>{diagnosis_list(result)}{who}<p>Find the "
                "money or staff, or switch off <b>Keep approved starts</b> to see what the best re-plan changes.</p>"
                "</div>")
    if not result.has_plan:
        return ""
    if not len(p.approved):
        stopped = [f"{i} ({stop_words(result.plan.at[i, 'reason'])})" for i, s in zip(p.ids, p.in_progress)
                   if s and result.starts.get(i) is None]
        note = f" Stopped: {'; '.join(stopped)}." if stopped else ""
        return ('<div class="pd-changes-box changes-box"><p>This scenario has no approved plan to compare with.'
                f"{esc(note)}</p></div>")
    table = changes_table(p, result.starts, result.plan)
    if table.empty:
        return ('<div class="pd-changes-box changes-box"><p>No change: every approved initiative keeps its start, '
                "and nothing is added.</p></div>")
    names = result.plan["name"]
    body = "".join(
        f'<tr class="change-{esc(r.change)}" data-id="{esc(r.id)}"><td class="col-id">{esc(r.id)}</td>'
        f'<td>{esc(names.get(r.id, ""))}</td><td>{esc(r.approved_start)}</td><td>{esc(r.new_start)}</td>'
        f'<td>{esc(CHANGE_WORDS[r.change])}</td><td class="col-reason">{esc(r.reason)}</td></tr>'
        for r in table.itertuples(index=False))
    counts = ", ".join(f"{(table['change'] == k).sum()} {k}" for k in CHANGE_WORDS if (table["change"] == k).any())
    c = result.components
    price = "; ".join(part for part in (
        f"change penalties {money(c['change_penalty'])}" if c.get("change_penalty") else "",
        f"stop costs paid {money(c['stop_cost'])}" if c.get("stop_cost") else "") if part)
    caption = f"{len(table)} change(s) against the approved plan: {counts}" + (f" ({price})" if price else "")
    return (f'<div class="pd-table-wrap"><table class="pd-table changes-table"><caption>{esc(caption)}</caption>'
            '<thead><tr><th scope="col">ID</th><th scope="col">Initiative</th><th scope="col">Approved start</th>'
            '<th scope="col">New start</th><th scope="col">Change</th><th scope="col">Why</th></tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


# -------------------------------------------------------------------------------------- compare
def compare_html(comparison, label_a: str, label_b: str) -> str:
    """prioritiser.whatif.Comparison as a readable panel: headline changes, spend changes, initiatives."""
    if comparison is None:
        return ('<div class="pd-compare compare-box"><p>Pin the current plan as <b>A</b>, change something and '
                'optimise: this panel then lists what was added, dropped and moved, and how value and spend '
                'changed.</p></div>')
    m = comparison.metrics
    rows = []
    for metric, r in m.iterrows():
        a, b, d = r["a"], r["b"], r["change"]
        if " spend " in str(metric) and (d is None or d != d or abs(d) < 0.5):
            continue
        cls = "" if d is None or d != d or abs(d) < 0.5 else ("up" if d > 0 else "down")
        fmt = _score if metric == "objective" else money  # the objective is a score, not money
        rows.append(f'<tr><th scope="row">{esc(_metric_label(metric))}</th><td class="num">{esc(fmt(a))}</td>'
                    f'<td class="num">{esc(fmt(b))}</td><td class="num {cls}">'
                    f'{esc(fmt(d, signed=True) if d == d and d is not None else "-")}</td></tr>')
    ch = comparison.changes
    lists = []
    for kind, verb in (("added", "Added"), ("dropped", "Dropped"), ("moved", "Moved")):
        part = ch[ch["change"] == kind]
        if part.empty:
            continue
        items = []
        for i, r in part.iterrows():
            if kind == "added":
                items.append(f"{i} (starts {r['start_b']})")
            elif kind == "dropped":
                items.append(f"{i} (was {r['start_a']})")
            else:
                n = int(r["periods_moved"])
                items.append(f"{i} ({r['start_a']} → {r['start_b']}, {'later' if n > 0 else 'earlier'} by "
                             f"{abs(n)} period{'s' if abs(n) != 1 else ''})")
        lists.append(f'<li class="change-{kind}"><b>{verb} ({len(part)}):</b> {esc(", ".join(items))}</li>')
    if not lists:
        lists.append("<li>The same initiatives start in the same periods.</li>")
    return (f'<div class="pd-compare compare-box"><p><b>A</b>: {esc(label_a)}<br><b>Now</b>: {esc(label_b)}</p>'
            f'<table class="pd-table compare-table"><caption>Change from plan A to the current plan</caption>'
            f'<thead><tr><th scope="col">Figure</th><th scope="col">A</th><th scope="col">Now</th>'
            f'<th scope="col">Change</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<ul class="pd-changes">{"".join(lists)}</ul></div>')


def _score(x, signed: bool = False) -> str:
    text = score(x)
    return ("+" + text) if signed and x is not None and x == x and x >= 0.5 else text


def _metric_label(metric: str) -> str:
    text = str(metric)
    return {"objective": "Objective (score)", "NPV": "Net present value", "in-year revenue": "In-year revenue"}.get(
        text, text[:1].upper() + text[1:])


# --------------------------------------------------------------------------------------- stress
def stress_html(table: pd.DataFrame | None, label: str = "") -> str:
    if table is None or table.empty:
        return ""
    rows = []
    for r in table.sort_values("cut_percent").itertuples(index=False):
        cut = f"{-r.cut_percent:g}%" if r.cut_percent else "no cut"
        lost = score(r.value_lost) if r.cut_percent and r.value_lost == r.value_lost else "-"
        rows.append(f'<tr><th scope="row">{esc(cut)}</th><td>{esc(r.status)}</td>'
                    f'<td class="num">{esc(score(r.objective))}</td><td class="num">{esc(lost)}</td>'
                    f'<td>{esc(str(r.dropped).replace(";", ", "))}</td>'
                    f'<td>{esc(str(r.slipped).replace(";", ", "))}</td></tr>')
    caption = "Each cut re-optimised; dropped and slipped are against the uncut plan" + (f". For: {label}" if label
                                                                                          else "")
    return (f'<div class="pd-table-wrap"><table class="pd-table stress-table"><caption>{esc(caption)}</caption>'
            '<thead><tr><th scope="col">Cut</th>'
            '<th scope="col">Status</th><th scope="col">Best value</th><th scope="col">Value lost</th>'
            '<th scope="col">Dropped</th><th scope="col">Starts later</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


# --------------------------------------------------------------------------------- explanations
def diagnosis_html(result) -> str:
    """An infeasible result's diagnosis: what makes it so and the least that would fix it."""
    if result is None or result.status.value != "infeasible":
        return ""
    if not result.diagnosis:
        return '<div class="pd-diagnosis diagnosis-box"><p>No diagnosis was made for this result.</p></div>'
    note = f'<p class="pd-help">({esc(result.diagnosis_note)})</p>' if result.diagnosis_note else ""
    return (f'<div class="pd-diagnosis diagnosis-box"><p>No plan meets every limit and rule. The least that would give '
            f'one:</p>{diagnosis_list(result)}{note}</div>')


def diagnosis_list(result) -> str:
    """The diagnosis's items (a limit led by its name, in bold), then, for a re-plan whose fix is more
    money or staff, the approved initiatives that cannot keep their starts with the limits as they are."""
    from prioritiser.diagnose import WITHIN_LIMITS

    def items(found) -> str:
        return "".join(f'<li class="diagnosis-{esc(i["kind"])}">'
                       + (f'<b>{esc(i["resource"])} {esc(i["period"])}</b>: ' if i["kind"] == "limit" else "")
                       + f'{esc(i["text"])}</li>' for i in found)
    within = result.diagnosis_within_limits
    rest = f'<p>{esc(WITHIN_LIMITS)}</p><ul class="diagnosis-within">{items(within)}</ul>' if within else ""
    return f"<ul>{items(result.diagnosis)}</ul>{rest}"


def opportunity_html(row: dict, result) -> str:
    """One row of explain.csv in words."""
    if not row:
        return ""
    iid = row["id"]
    if row["reversed_objective"] != row["reversed_objective"]:
        return f'<div class="pd-explain opportunity-box"><p><b>{esc(iid)}</b> cannot be reversed: {esc(row["changes"])}</p></div>'
    must = row.get("mandate_cost") == row.get("mandate_cost") and row.get("mandate_cost") is not None
    if must:
        what = (f"must be in; without that requirement the objective would be "
                f"<b>{esc(score(max(row['mandate_cost'], 0.0)))}</b> higher: what the requirement costs")
    else:
        verb = "Taking it out" if row["selected"] else "Putting it in"
        what = f"{verb} and re-optimising the rest lowers the objective by <b>{esc(score(row['opportunity_cost']))}</b>"
    return (f'<div class="pd-explain opportunity-box"><p><b>{esc(iid)}</b> '
            f'({"in the plan" if row["selected"] else "left out"}): {what}.</p>'
            f'<p>What else changes: {esc(row["changes"])}.</p>'
            f'<p class="pd-help">Objective with the decision reversed: {esc(score(row["reversed_objective"]))} '
            f'({esc(row["reversed_status"])}).</p></div>')


def marginal_html(table: pd.DataFrame | None, result) -> str:
    """marginal.csv as a ranked table, with the LP dual as a guide."""
    if table is None:
        return ""
    if table.empty:
        return '<p class="pd-help">No limit binds: every limit has headroom.</p>'
    kinds = result.portfolio.resources["kind"] if result is not None else pd.Series(dtype=str)
    rows = []
    for r in table.itertuples(index=False):
        unit = "£" if kinds.get(r.resource) == "money" else "FTE"
        step = money(r.step) if unit == "£" else f"{r.step:g} FTE"
        dual = f"{r.lp_dual:,.2f}" if r.lp_dual == r.lp_dual else "-"
        rows.append(f'<tr><th scope="row">{esc(r.resource)} {esc(r.period)}</th><td class="num">+{esc(step)}</td>'
                    f'<td class="num">{esc(_score(r.objective_gain, signed=True))}</td>'
                    f'<td class="num">{esc(f"{r.gain_per_unit:,.2f}")} per {unit}</td><td class="num">{esc(dual)}</td>'
                    f'<td>{esc(r.status)}</td></tr>')
    return ('<div class="pd-table-wrap"><table class="pd-table marginal-table"><caption>Each binding limit raised '
            'by one step and the plan re-optimised, best first. The LP dual is only a guide: it prices a limit as '
            'if initiatives could be taken in part.</caption><thead><tr><th scope="col">Limit</th>'
            '<th scope="col">Step</th><th scope="col">Objective gained</th><th scope="col">Per unit</th>'
            '<th scope="col">LP dual per unit</th><th scope="col">Status</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def alternative_options(alternatives) -> list[tuple[str, int]]:
    """(label, index) for each alternative plan, for the compare view's picker."""
    return [(f"{r.scenario.rsplit(' ', 1)[-1]}: objective {score(r.objective)}, "
             f"{int(r.plan['selected'].sum())} initiatives", k) for k, r in enumerate(alternatives)]


__all__ = ["headline_html", "status_html", "issues_html", "initiative_rows", "table_html", "compare_html",
           "stress_html", "headline_figures", "changes_html", "diagnosis_html", "opportunity_html",
           "marginal_html", "alternative_options"]


def appraisal_html(result) -> str:
    """The Green Book appraisal of the plan (with and without optimism bias) and the targets it meets."""
    if result is None or not result.has_plan or not result.green_book:
        return ""
    g = result.green_book
    off = g.get("without_optimism_bias")

    def bcr(value):
        return "-" if value is None else f"{value:.2f}"

    rows = [("PV costs", money(g["pv_costs"]), money(off["pv_costs"]) if off else None),
            ("PV benefits", money(g["pv_benefits"]), money(off["pv_benefits"]) if off else None),
            ("NPSV", money(g["npsv"]), money(off["npsv"]) if off else None),
            ("BCR", bcr(g["bcr"]), bcr(off["bcr"]) if off else None)]
    head = "<tr><th></th><th>with optimism bias</th><th>without</th></tr>" if off else "<tr><th></th><th>plan</th></tr>"
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(a)}</td>" + (f"<td>{esc(b)}</td>" if off else "") + "</tr>"
                   for k, a, b in rows)
    lines = []
    targets = result.targets
    for t in (targets.itertuples() if targets is not None else ()):
        met = t.headroom >= -1e-6 * max(1.0, t.at_least)
        lines.append(f'<li class="target-{"met" if met else "missed"}">{esc(t.measure.replace("_", " "))} '
                     f'{esc(t.financial_year)}: {esc(money(t.achieved))} against at least {esc(money(t.at_least))}'
                     f' ({"met" if met else "missed"})</li>')
    return (f'<div class="appraisal"><table class="appraisal-table">{head}{body}</table>'
            + (f'<ul class="targets-list">{"".join(lines)}</ul>' if lines else "") + "</div>")


def risk_html(sim, result) -> str:
    """The risk view: the plan's NPV spread and each year's chance of overspend (risk.csv's rows)."""
    if sim is None or result is None:
        return ""
    npv = sim.table[sim.table["measure"] == "npv"].iloc[0]
    head = (f"<p>{sim.samples:,} draws (seed {sim.seed}), the plan held fixed. NPV as planned "
            f"{esc(money(sim.plan_npv))}; 5% {esc(money(npv.p5))}, median {esc(money(npv.p50))}, "
            f"95% {esc(money(npv.p95))}.</p>")
    spend = sim.table[sim.table["measure"] == "spend"]
    rows = "".join(f"<tr><td>{esc(r.resource)}</td><td>{esc(r.financial_year)}</td>"
                   f"<td>{esc(percent(r.chance_of_overspend)) if r.budget == r.budget else 'no limit'}</td></tr>"
                   for r in spend.itertuples())
    return (f'<div class="risk">{head}<table class="risk-table"><tr><th>budget</th><th>year</th>'
            f"<th>chance of overspend</th></tr>{rows}</table></div>")
