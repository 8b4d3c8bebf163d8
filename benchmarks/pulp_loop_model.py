"""The comparison model for the build-time benchmark: the same MILP written the plain PuLP way,
with Python loops over (initiative, start, period). Used only by benchmarks/run.py."""
from __future__ import annotations

import pandas as pd
import pulp


def build_pulp_loop_model(p) -> pulp.LpProblem:
    ini = p.initiatives
    T = p.horizon.T
    discount = p.discount()
    fy0 = p.horizon.fy == 0
    w = p.settings.weights
    align = p.alignment()
    kinds = p.resources["kind"].to_dict()
    prob = pulp.LpProblem("portfolio", pulp.LpMaximize)
    x = {}
    use = {}  # (resource, period) -> list of (coef, var)
    objective = []
    demands = {}
    for dem in p.demands.itertuples():
        demands.setdefault(dem.initiative, []).append((dem.resource, dem.offset_kind, dem.k, dem.amount))
    forced_out = set(p.settings.force_out)
    for i, row in ini.iterrows():
        if i in forced_out:
            continue
        d = int(row.duration)
        last = T - 1
        if pd.notna(row.latest_finish):
            last = min(last, int(row.latest_finish) - d + 1)
        for s in range(int(row.earliest_start), last + 1):
            var = pulp.LpVariable(f"x_{i}_{s}", cat=pulp.LpBinary)
            x[i, s] = var
            g = s + d
            value = w["alignment"] * align[i]
            for t in range(T):
                money = 0.0
                if s <= t < g:
                    use.setdefault(("capital", t), []).append((row.capital_cost / d, var))
                    use.setdefault(("revenue", t), []).append((row.revenue_cost / d, var))
                    money += (row.capital_cost + row.revenue_cost) / d
                if t >= g:
                    f = min(1.0, (t - g + 1) / (row.ramp + 1))
                    value += discount[t] * f * (w["benefit"] * row.benefit + w["revenue"] * row.revenue)
                    if fy0[t]:
                        value += w["in_year_revenue"] * f * row.revenue
                    use.setdefault(("revenue", t), []).append((row.running_cost, var))
                    money += row.running_cost
                for resource, kind, k, amount in demands.get(i, ()):
                    hit = (kind == "k" and t == s + k) or (kind == "build" and s <= t < g) or \
                          (kind == "run" and t >= g)
                    if hit:
                        use.setdefault((resource, t), []).append((amount, var))
                        if kinds[resource] == "money":
                            money += amount
                value -= w["cost"] * discount[t] * money
            objective.append((var, value))
    # external purchases
    ext = {}
    if p.settings.external:
        for j, row in p.capacity.iterrows():
            r = row.resource
            if len(row.periods) == 1 and kinds[r] == "staff" and p.resources.at[r, "external_max"] > 0:
                t = row.periods[0]
                if (r, t) not in ext:
                    ext[r, t] = pulp.LpVariable(f"e_{r}_{t}", 0, p.resources.at[r, "external_max"])
                    cost = p.resources.at[r, "external_cost"]
                    use.setdefault(("revenue", t), []).append((cost, ext[r, t]))
                    objective.append((ext[r, t], -w["cost"] * discount[t] * cost))
    prob += pulp.LpAffineExpression(objective)
    by_init = {}
    for (k, s), v in x.items():
        by_init.setdefault(k, {})[s] = v
    must = set(ini.index[p.must_select])
    for i in ini.index:
        vars_i = list(by_init.get(i, {}).values())
        if i in must:
            prob += pulp.lpSum(vars_i) == 1
        else:
            prob += pulp.lpSum(vars_i) <= 1
    for j, row in p.capacity.iterrows():
        terms = []
        for t in row.periods:
            terms += use.get((row.resource, t), [])
        if len(row.periods) == 1 and (row.resource, row.periods[0]) in ext:
            terms.append((-1.0, ext[row.resource, row.periods[0]]))
        rhs = row.amount
        for _, f in p.funding[p.funding.capacity_row == j].iterrows():
            if isinstance(f.milestone, str):
                dm = int(ini.at[f.milestone, "duration"])
                terms += [(-f.amount, v) for s, v in by_init.get(f.milestone, {}).items() if s + dm <= f.milestone_period]
            else:
                rhs += f.amount
        prob += pulp.LpAffineExpression([(v, c) for c, v in terms]) <= rhs
    for _, dep in p.dependencies.iterrows():
        a, b = dep.predecessor, dep.successor
        xa = by_init.get(a, {})
        xb = by_init.get(b, {})
        if dep.type in ("finish_to_start", "start_to_start"):
            shift = dep.lag + (int(ini.at[a, "duration"]) if dep.type == "finish_to_start" else 0)
            for t in xb:
                prob += pulp.lpSum(v for s, v in xb.items() if s <= t) <= pulp.lpSum(
                    v for s, v in xa.items() if s <= t - shift)
        elif dep.type == "requires":
            prob += pulp.lpSum(xb.values()) <= pulp.lpSum(xa.values())
        else:
            prob += pulp.lpSum(xb.values()) + pulp.lpSum(xa.values()) <= 1
    return prob
