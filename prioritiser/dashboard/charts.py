"""Figures of a Result as plotly traces and layouts (pure functions), and one helper that moves
them into a live `go.FigureWidget` with as few messages to the browser as possible."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from prioritiser.formatting import money
# spend_by_year is the table of summary.json and report.xlsx, so the page and the report agree
from prioritiser.report import spend_by_year

from .formatting import GREY, HEAT_SCALE, OKABE_ITO, category_colours

FONT = dict(family="DejaVu Sans, Arial, sans-serif", size=13, color="#222222")
MONEY_AXIS = dict(tickprefix="£", tickformat=",.0f", separatethousands=True)
BASE_LAYOUT = dict(font=FONT, paper_bgcolor="white", plot_bgcolor="white", margin=dict(l=10, r=20, t=50, b=40),
                   hoverlabel=dict(font=dict(family=FONT["family"], size=13)),
                   legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
                   annotations=[], shapes=[])  # a layout that has none clears those of the last drawing


def pretty(name: str) -> str:
    """'project_manager' -> 'Project manager'."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def sync_figure(fig: go.FigureWidget, traces: list, layout: dict) -> None:
    """Make `fig` show `traces` and `layout`: same-shaped traces are updated in place in one batch."""
    same = len(fig.data) == len(traces) and all(a.type == b.type for a, b in zip(fig.data, traces))
    if not same:
        fig.data = ()
        if traces:
            fig.add_traces(traces)
    with fig.batch_update():
        if same:
            for old, new in zip(fig.data, traces):
                props = new.to_plotly_json()
                props.pop("type", None)
                props.pop("uid", None)
                old.update(props, overwrite=True)
        fig.update_layout({**BASE_LAYOUT, **layout}, overwrite=True)


def empty_layout(title: str, note: str) -> dict:
    return dict(title=dict(text=""), height=220, xaxis=dict(visible=False), yaxis=dict(visible=False),
                annotations=[dict(text=note, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                                  font=dict(size=15, color="#555555"))])


# ------------------------------------------------------------------------------------- roadmap
MARKS = {"in_progress": "▶", "approved": "✓"}  # after an id on the roadmap: in flight, approved


def roadmap(result, colours: dict[str, str] | None = None) -> tuple[list, dict]:
    """Gantt of the selected initiatives: one bar per build, coloured by category (hatched = mandatory);
    ▶ after an id marks work in flight and ✓ an approved initiative, and a black tick (its own trace)
    each approved initiative's approved start, so a move shows as a bar away from its tick."""
    title = "Roadmap: when each selected initiative is built (bar) and goes live (bar end)"
    if result is None or not result.has_plan:
        return [], empty_layout(title, "No plan to show.")
    H = result.portfolio.horizon
    plan = result.plan
    sel = plan[plan["selected"]].copy()
    colours = colours or category_colours(plan["category"])
    sel["cat"] = [c if isinstance(c, str) and c.strip() else "" for c in sel["category"]]
    status = sel["status"] if "status" in sel else pd.Series("proposed", index=sel.index)
    sel = sel.assign(mark=[MARKS.get(s, "") for s in status]).sort_values(["start_index", "go_live_index"]).assign(
        label=lambda d: [f"{i} {m}  {_short(n)}" if m else f"{i}  {_short(n)}"
                         for i, m, n in zip(d.index, d["mark"], d["name"])])
    dur = (sel["go_live_index"] - sel["start_index"]).to_numpy()
    sel["duration"] = dur
    traces = []
    for cat in sorted(sel["cat"].unique(), key=lambda c: (c == "", c)):
        part = sel[sel["cat"] == cat]
        custom = np.column_stack([part.index, part["name"], part["start"], part["go_live"],
                                  [money(v) for v in part["value"]],
                                  ["yes" if m else "no" for m in part["mandatory"]],
                                  [_status_words(s) for s in part.get("status", ["proposed"] * len(part))]])
        traces.append(go.Bar(
            name=pretty(cat) if cat else "No category", orientation="h", y=list(part["label"]),
            x=list(part["duration"]), base=list(part["start_index"]), width=0.72,
            marker=dict(color=colours.get(cat, GREY), line=dict(color="#333333", width=0.6),
                        pattern=dict(shape=["/" if m else "" for m in part["mandatory"]], fgcolor="#ffffff",
                                     size=6, solidity=0.25)),
            customdata=custom, text=list(part.index), textposition="inside", insidetextanchor="start",
            textfont=dict(color="white", size=11),
            hovertemplate="<b>%{customdata[0]}</b> %{customdata[1]}<br>build from %{customdata[2]}, live "
                          "%{customdata[3]}<br>net value %{customdata[4]} · mandatory %{customdata[5]}"
                          "%{customdata[6]}<extra>%{fullData.name}</extra>"))
    traces += _approved_ticks(result, sel)
    fy_starts = [p for p in range(H.T) if p == 0 or H.fy[p] != H.fy[p - 1]]
    order = list(sel["label"])
    layout = dict(
        title=dict(text=""), barmode="overlay", height=max(260, 24 * len(sel) + 120), showlegend=True,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, title=dict(text="Category:")),
        xaxis=dict(range=[-0.5, H.T + 0.5], tickvals=fy_starts, ticktext=[H.label(p) for p in fy_starts],
                   showgrid=True, gridcolor="#dddddd", minor=dict(dtick=1, showgrid=True, gridcolor="#f0f0f0"),
                   title=dict(text="period (UK financial years, April to March)"), zeroline=False),
        yaxis=dict(categoryorder="array", categoryarray=order, autorange="reversed", automargin=True,
                   tickfont=dict(size=12)),
        shapes=[dict(type="line", x0=H.T - 0.5, x1=H.T - 0.5, y0=0, y1=1, yref="paper",
                     line=dict(color="#555555", dash="dot", width=1))],
        annotations=[],
        margin=dict(l=10, r=20, t=60, b=50))
    return traces, layout


def _status_words(status) -> str:
    return {"in_progress": " · in flight", "approved": " · approved"}.get(str(status), "")


def _approved_ticks(result, sel: pd.DataFrame) -> list:
    """A thin black bar at each selected approved initiative's approved start (none without an approved plan)."""
    p = result.portfolio
    starts = pd.Series(p.approved_starts, index=p.ids).reindex(sel.index)
    ticks = sel[starts.to_numpy() >= 0]
    if ticks.empty:
        return []
    a = starts[ticks.index].to_numpy()
    labels = [p.horizon.label(int(x)) if not p.in_progress[p.ids.get_loc(i)] else "in flight"
              for i, x in zip(ticks.index, a)]
    return [go.Bar(name="Approved start", orientation="h", y=list(ticks["label"]), x=[0.14] * len(ticks),
                   base=list(a - 0.07), width=0.95, marker=dict(color="#111111"), customdata=np.column_stack(
                       [ticks.index, labels]), hovertemplate="<b>%{customdata[0]}</b> approved to start "
                   "%{customdata[1]}<extra></extra>")]


def _short(text, n: int = 42) -> str:
    text = "" if not isinstance(text, str) else text
    return text if len(text) <= n else text[:n - 1] + "…"


# ---------------------------------------------------------------------------------------- spend
def spend(result, pinned=None) -> tuple[list, dict]:
    """Capital and revenue spend against budget per financial year (prioritiser.report.spend_by_year)."""
    title = "Spend against budget per financial year"
    if result is None or not result.has_plan:
        return [], empty_layout(title, "No plan to show.")
    table = spend_by_year(result)
    a_table = spend_by_year(pinned) if pinned is not None and pinned.has_plan else None
    traces = []
    for k, (resource, colour) in enumerate((("capital", OKABE_ITO[0]), ("revenue", OKABE_ITO[1]))):
        part = table[table["resource"] == resource]
        axis = "" if k == 0 else "2"
        fys = list(part["financial_year"])
        # the bar is the money available: committed budget plus milestone-gated funding this plan unlocks
        used = [(s / b if b and b == b else float("nan")) for s, b in zip(part["spend"], part["available"])]
        gated = [f" incl. {money(g)} milestone-gated" if g > 0.5 else "" for g in part["gated"].fillna(0)]
        custom = np.column_stack([[money(v) for v in part["spend"]],
                                  [money(v) + g for v, g in zip(part["available"], gated)],
                                  [f"{u:.0%}" if u == u else "no limit" for u in used]])
        traces.append(go.Bar(name="Budget" if k == 0 else "Budget ", x=fys, y=list(part["available"].fillna(0)),
                             width=0.78, marker=dict(color="#e8e8e8", line=dict(color="#666666", width=1)),
                             xaxis=f"x{axis}", yaxis=f"y{axis}", legendgroup="budget", showlegend=k == 0,
                             customdata=custom,
                             hovertemplate=f"{resource} %{{x}}: budget %{{customdata[1]}}<extra></extra>"))
        traces.append(go.Bar(name=f"{pretty(resource)} spend", x=fys, y=list(part["spend"]), width=0.5,
                             marker=dict(color=colour), xaxis=f"x{axis}", yaxis=f"y{axis}", customdata=custom,
                             hovertemplate=f"{resource} %{{x}}: spent %{{customdata[0]}} of %{{customdata[1]}} "
                                           f"(%{{customdata[2]}})<extra></extra>"))
        if a_table is not None:
            a_part = a_table[a_table["resource"] == resource]
            traces.append(go.Scatter(name="Plan A spend", x=list(a_part["financial_year"]), y=list(a_part["spend"]),
                                     mode="markers", marker=dict(symbol="line-ew-open", size=34, color="#000000",
                                                                 line=dict(width=3)),
                                     xaxis=f"x{axis}", yaxis=f"y{axis}", legendgroup="a", showlegend=k == 0,
                                     hovertemplate=f"plan A {resource} %{{x}}: %{{y:£,.0f}}<extra></extra>"))
    layout = dict(
        title=dict(text=""), barmode="overlay", height=380, showlegend=True,
        xaxis=dict(domain=[0, 0.46], title=dict(text="Capital"), type="category"),
        xaxis2=dict(domain=[0.54, 1], title=dict(text="Revenue"), type="category"),
        yaxis=dict(**MONEY_AXIS, rangemode="tozero", gridcolor="#e5e5e5", automargin=True),
        yaxis2=dict(**MONEY_AXIS, rangemode="tozero", gridcolor="#e5e5e5", anchor="x2", automargin=True),
        margin=dict(l=10, r=20, t=50, b=50))
    return traces, layout


# --------------------------------------------------------------------------------------- benefits
def benefits(result) -> tuple[list, dict]:
    """The benefits the plan counts on per financial year (benefits.csv summed), cash-releasing and not,
    with the cash-releasing targets marked."""
    from prioritiser.appraisal import benefits_table

    title = "Benefits by financial year"
    if result is None or not result.has_plan:
        return [], empty_layout(title, "No plan to show.")
    by_year = benefits_table(result.portfolio, result.starts).groupby("financial_year", sort=False)[
        ["cash_releasing", "non_cash_releasing"]].sum()
    years = list(by_year.index) or list(result.portfolio.horizon.fy_labels)
    traces = [go.Bar(name=label, x=years, y=list(by_year[col]) if len(by_year) else [0] * len(years),
                     marker=dict(color=colour), hovertemplate=f"{label} %{{x}}: %{{y:£,.0f}}<extra></extra>")
              for col, label, colour in (("cash_releasing", "Cash-releasing", OKABE_ITO[2]),
                                         ("non_cash_releasing", "Non-cash-releasing", OKABE_ITO[4]))]
    targets = result.portfolio.targets
    cash = targets[targets["measure"] == "cash_releasing_savings"]
    if len(cash):
        traces.append(go.Scatter(name="Cash-releasing target", x=list(cash["financial_year"]), y=list(cash["at_least"]),
                                 mode="markers", marker=dict(symbol="line-ew-open", size=40, color="#000000",
                                                             line=dict(width=3)),
                                 hovertemplate="target %{x}: at least %{y:£,.0f}<extra></extra>"))
    layout = dict(title=dict(text=""), barmode="stack", height=340, showlegend=True,
                  xaxis=dict(type="category", title=dict(text="Financial year")),
                  yaxis=dict(**MONEY_AXIS, rangemode="tozero", gridcolor="#e5e5e5", automargin=True),
                  margin=dict(l=10, r=20, t=40, b=50))
    return traces, layout


# --------------------------------------------------------------------------------------- staff
def staff_heatmap(result) -> tuple[list, dict]:
    """Own-staff utilisation, role by period (used less external over capacity); x marks external purchases."""
    title = "Staff utilisation: share of each role's own capacity used (× = external staff bought)"
    if result is None or not result.has_plan:
        return [], empty_layout(title, "No plan to show.")
    p = result.portfolio
    H = p.horizon
    roles = list(p.resources.index[p.resources["kind"] == "staff"])
    if not roles:
        return [], empty_layout(title, "This portfolio has no staff roles.")
    u = result.usage
    u = u[u["resource"].isin(roles) & u["period"].isin(H.labels)]
    used = u.pivot(index="resource", columns="period", values="used").reindex(index=roles, columns=H.labels)
    cap = u.pivot(index="resource", columns="period", values="capacity").reindex(index=roles, columns=H.labels)
    ext = u.pivot(index="resource", columns="period", values="external").reindex(index=roles, columns=H.labels) \
        .fillna(0.0)
    own = used - ext
    with np.errstate(divide="ignore", invalid="ignore"):
        util = (own / cap).where(cap > 0)
    names = [pretty(r) for r in roles]
    text = [[("" if v != v else f"{v:.0%}") for v in row] for row in util.to_numpy()]
    custom = np.dstack([own.round(2).to_numpy().astype(object), cap.to_numpy().astype(object),
                        ext.round(2).to_numpy().astype(object)])
    heat = go.Heatmap(z=util.to_numpy(), x=H.labels, y=names, zmin=0, zmax=1, colorscale=HEAT_SCALE,
                      text=text, texttemplate="%{text}", textfont=dict(size=10), xgap=1, ygap=1,
                      colorbar=dict(title=dict(text="used"), tickformat=".0%", len=0.9),
                      customdata=custom, name="utilisation",
                      hovertemplate="%{y}, %{x}: %{customdata[0]} of %{customdata[1]} FTE own staff "
                                    "(%{text}); external bought %{customdata[2]} FTE<extra></extra>")
    rows, cols = np.nonzero(ext.to_numpy() > 1e-6)
    marks = go.Scatter(x=[H.labels[c] for c in cols], y=[names[r] for r in rows], mode="markers",
                       name="External staff bought",
                       marker=dict(symbol="x-thin-open", size=18, color=OKABE_ITO[5], line=dict(width=3,
                                                                                              color=OKABE_ITO[5])),
                       customdata=[round(float(ext.iat[r, c]), 2) for r, c in zip(rows, cols)],
                       hovertemplate="%{y}, %{x}: %{customdata} FTE bought from outside<extra></extra>")
    layout = dict(title=dict(text=""), height=max(260, 38 * len(roles) + 130), showlegend=True,
                  xaxis=dict(type="category", tickangle=-45, categoryorder="array", categoryarray=H.labels),
                  yaxis=dict(type="category", autorange="reversed", automargin=True),
                  margin=dict(l=10, r=20, t=50, b=90))
    return [heat, marks], layout


# -------------------------------------------------------------------------------------- stress
def stress_chart(table: pd.DataFrame | None, resource: str = "capital", start: str = "") -> tuple[list, dict]:
    """Best plan value against the funding cut (each cut re-optimised): prioritiser.stress's table."""
    title = f"Funding-cut stress test: best plan value as {resource} is cut" + (f" from {start}" if start else "")
    if table is None or table.empty:
        return [], empty_layout(title, "Press 'Run stress test' to re-optimise at each cut.")
    t = table.sort_values("cut_percent")
    x = [f"{-c:g}%" if c else "no cut" for c in t["cut_percent"]]
    custom = np.column_stack([[money(v) for v in t["objective"]], [money(v) for v in t["value_lost"]],
                              t["status"].astype(str),
                              [_count(v) for v in t["dropped"]], [_count(v) for v in t["slipped"]]])
    colour = [OKABE_ITO[0] if s in ("optimal", "feasible") else GREY for s in t["status"]]
    bars = go.Bar(x=x, y=list(t["objective"].fillna(0)), marker=dict(color=colour), name="best plan value",
                  text=[("" if not lost or lost != lost else f"−{money(lost)}") for lost in t["value_lost"]],
                  textposition="outside", customdata=custom,
                  hovertemplate="%{x}: value %{customdata[0]} (%{customdata[2]})<br>lost %{customdata[1]}; "
                                "%{customdata[3]} dropped, %{customdata[4]} slipped<extra></extra>")
    layout = dict(title=dict(text=""), height=360, showlegend=False,
                  xaxis=dict(type="category", title=dict(text=f"cut to the {resource} budget")),
                  yaxis=dict(**MONEY_AXIS, rangemode="tozero", gridcolor="#e5e5e5", automargin=True,
                             title=dict(text="best plan value (objective)")),
                  margin=dict(l=10, r=20, t=30, b=50))
    return [bars], layout


def _count(v) -> int:
    if isinstance(v, (list, tuple)):
        return len(v)
    if not isinstance(v, str) or not v:
        return 0
    return len([x for x in v.split(";") if x])
