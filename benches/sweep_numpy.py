#!/usr/bin/env python3
"""Reference for `meshcap sweep --summary`: the same analytic evaluation, chunked and vectorized
with numpy, to time meshcap against (see BENCHMARKS.md, `benches/sweep_bench.sh`).

It reads the same spec TOML and model JSON, decodes scenario ids into axis indexes with integer
division, gathers precomputed tables (GC steady states, proxy curves, t quantiles) as
`src/scenario/grid.rs` does, and computes upper bounds, margins, days to the limit (the
quadratic of `Curve::crossing`, bisection where it fails) and required limits over chunks of
2^20 ids. The summary keeps counts, the fewest days, per-axis-value frontier (scenarios,
unsafe, max required limit) and the 10 worst scenarios (smallest margin, ties by id).

Generated meshes only (no topology files). Every operation mirrors the Rust one in order, so
the numbers match meshcap's to the last bit when the t quantile does (statrs and scipy may
differ in the last place; the check allows 1e-12 relative).

    python3 benches/sweep_numpy.py benches/specs/sweep-1e8.toml
    python3 benches/sweep_numpy.py data/scenarios/gc-policies.toml --check summary.json
    python3 benches/sweep_numpy.py benches/specs/sweep-1e8.toml --ids 0:1000000 --check s.json

`--lazy-days` applies meshcap's shortcut: days are never negative, so once a chunk's fewest
days is 0 only the worst-list candidates need a crossing.
"""

import argparse
import json
import math
import sys
import time
import tomllib

import numpy as np

AXES = [
    "namespaces", "knative_services", "plain_services", "updates_per_day",
    "retain_since_create_time", "retain_since_last_active_time", "min_non_active_revisions",
    "max_non_active_revisions", "scope", "transient", "headroom", "level", "limit",
]
DEFAULTS = [10, 20, 5, 1.0, "48h", "15h", 20, 1000, "mesh", 1.0, 0.0, 0.95, "1Gi"]
SUFFIXES = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
            "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
EXTERNAL_NAME_PORTS = 1.0
WORST = 10


def duration_h(v):
    if v == "disabled":
        return None
    total, num = 0.0, ""
    for c in v:
        if c.isdigit() or c == ".":
            num += c
        else:
            total += float(num) * {"h": 1.0, "m": 1.0 / 60.0, "s": 1.0 / 3600.0}[c]
            num = ""
    return total


def quantity(v):
    s = str(v).strip()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * SUFFIXES[suffix]
    return float(s)


def fraction(v):
    if isinstance(v, str):
        return float(v[:-1]) / 100.0 if v.endswith("%") else float(v)
    return float(v)


def t_one_sided(level, dof):
    try:
        from scipy.stats import t as student_t
        return float(student_t.ppf(level, dof))
    except ImportError:  # bisection on the regularized incomplete beta, plain Python
        def cdf(x):
            z = dof / (dof + x * x)
            return 1.0 - 0.5 * betainc(dof / 2.0, 0.5, z) if x > 0 else 0.5 * betainc(dof / 2.0, 0.5, z)
        lo, hi = 0.0, 1000.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if cdf(mid) < level else (lo, mid)
        return hi


def betainc(a, b, x):
    """Regularized incomplete beta by Lentz's continued fraction (Numerical Recipes 6.4)."""
    if x <= 0.0 or x >= 1.0:
        return max(0.0, min(1.0, x))
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1.0 - x)
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - betainc(b, a, 1.0 - x)
    f, c, d = 1.0, 1.0, 0.0
    for i in range(1, 400):
        m = i // 2
        if i == 1:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1.0 + num / c
        c = c if abs(c) > 1e-300 else 1e-300
        f *= c * d
        if abs(c * d - 1.0) < 1e-16:
            break
    return math.exp(lbt) / a * (f - 1.0)


def steady_revisions(create, active, min_na, max_na, updates):
    if updates <= 0.0:
        non_active = 0.0
    else:
        d = 24.0 / updates
        if create is None and active is None:
            protected = math.inf
        else:
            by_create = 0.0 if create is None else max(math.ceil(create / d) - 1.0, 0.0)
            by_active = 0.0 if active is None else float(math.ceil(active / d))
            protected = max(by_create, by_active)
        kept = max(protected, float(min_na or 0))
        non_active = kept if max_na is None else min(kept, float(max_na))
    return 1.0 + non_active


class Grid:
    def __init__(self, spec_path):
        with open(spec_path, "rb") as f:
            spec = tomllib.load(f)
        if "topology" in spec:
            sys.exit("sweep_numpy.py handles generated meshes only")
        with open(spec["model"]) as f:
            model = json.load(f)
        raw = spec.get("axes", {})
        vals = []
        for name, default in zip(AXES, DEFAULTS):
            v = raw.get(name, [default])
            vals.append(v if isinstance(v, list) else [v])
        self.vals = vals
        self.ns, self.ks, self.pls = ([float(x) for x in vals[i]] for i in range(3))
        self.updates = [float(x) for x in vals[3]]
        self.create = [duration_h(x) for x in vals[4]]
        self.active = [duration_h(x) for x in vals[5]]
        self.min_na = [None if x == "disabled" else int(x) for x in vals[6]]
        self.max_na = [None if x == "disabled" else int(x) for x in vals[7]]
        self.scopes = [str(x) for x in vals[8]]
        self.transient = np.array([float(x) for x in vals[9]])
        self.headroom = np.array([fraction(x) for x in vals[10]])
        self.levels = [float(x) for x in vals[11]]
        self.limits = np.array([quantity(x) for x in vals[12]])
        self.lengths = [len(v) for v in vals]
        self.size = math.prod(self.lengths)
        mesh = spec.get("mesh", {})
        gateways = mesh.get("gateways", 2)
        plain_ports = float(mesh.get("plain_ports", 1))
        infra = float(mesh.get("infra_ports", 20))
        filter_gw = mesh.get("filter_gateway_cluster_config", False)
        start = mesh.get("start", "empty")
        self.start_revisions = 1.0 if start == "empty" else max(float(start), 1.0)
        self.weekend_factor = float(spec.get("simulate", {}).get("weekend_factor", 1.0))

        policies = [(c, a, mi, ma) for c in self.create for a in self.active for mi in self.min_na
                    for ma in self.max_na]
        self.n_policies = len(policies)
        self.retained = np.array([steady_revisions(*p, u) for u in self.updates for p in policies])
        self.rate = np.array([u * (5.0 + 2.0 * self.weekend_factor) / 7.0 for u in self.updates])
        self.t_one = np.array([t_one_sided(level, max(model["dof"], 1)) for level in self.levels])

        # Curve::new: mean mu0 + mu1 R, leverage h0 + h1 R + h2 R^2.
        terms = model["terms"]
        has_ports = any(t["column"] == "ports" for t in terms)
        ppr = model["ports_per_revision"]
        beta = [c["estimate"] for c in model["coefficients"]]
        cov = model["cov_unscaled"]
        self.sigma = model["residual_std_error"]
        ranges = {r["column"]: r["mean"] for r in model.get("ranges", [])}

        def curve(shape):
            rev0, rev1, p0, p1, s0, s1 = shape
            a, b = ([1.0], [0.0]) if model["intercept"] else ([], [])
            for t in terms:
                assert t["power"] == 1, "scenario sweeps need a linear model"
                col = t["column"]
                x = {"revisions": (p0 / ppr, p1 / ppr) if not has_ports else (rev0, rev1),
                     "ports": (p0, p1), "services": (s0, s1)}.get(col, (ranges.get(col, 0.0), 0.0))
                a.append(x[0])
                b.append(x[1])

            def dot(x):
                s = 0.0
                for xi, bi in zip(x, beta):
                    s += xi * bi
                return s

            def quad(x, y):
                s = 0.0
                for i, xi in enumerate(x):
                    for j, yj in enumerate(y):
                        s += xi * cov[i][j] * yj
                return s
            return (dot(a), dot(b), quad(a, a), 2.0 * quad(a, b), quad(b, b))

        side, gate = [], []
        for n in self.ns:
            for k in self.ks:
                for pl in self.pls:
                    for scope in self.scopes:
                        per_ns_fixed = pl * plain_ports + k * EXTERNAL_NAME_PORTS

                        def all_(v):
                            return [0.0, v * k, v * per_ns_fixed + infra, v * k * ppr, v * (pl + k) + infra,
                                    2.0 * v * k]
                        side.append(curve(all_(n if scope == "mesh" else min(1.0, n))))
                        g = all_(n)
                        if filter_gw:
                            g = [g[1], 0.0, g[2] + g[3], 0.0, g[4] + g[5], 0.0]
                        gate.append(curve(g))
        self.side = np.array(side).T  # rows: mu0, mu1, h0, h1, h2
        self.gate = np.array(gate).T if gateways > 0 else None


def upper(c, r, t, tr, sigma):
    mu0, mu1, h0, h1, h2 = c
    se = sigma * np.sqrt(np.maximum((1.0 + h0) + r * (h1 + r * h2), 0.0))
    return tr * ((mu0 + mu1 * r) + t * se)


def crossing(c, target, t, tr, sigma, lo, hi, stats):
    """Curve::crossing, vectorized: the quadratic, bisection where its root fails the check."""
    mu0, mu1, h0, h1, h2 = c
    goal = target / tr
    g = goal - mu0
    ts2 = (t * sigma) * (t * sigma)
    qa = mu1 * mu1 - ts2 * h2
    qb = -2.0 * g * mu1 - ts2 * h1
    qc = g * g - ts2 * (1.0 + h0)
    best = np.full(target.shape, np.inf)

    def consider(r, ok):
        with np.errstate(invalid="ignore"):
            good = ok & np.isfinite(r) & (r >= lo) & (r <= hi) & (r < best)
            good &= goal - (mu0 + mu1 * r) >= -1e-9 * np.abs(goal)
        best[good] = r[good]

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        quadratic = np.abs(qa) > 1e-300
        disc = qb * qb - 4.0 * qa * qc
        real = quadratic & (disc >= 0.0)
        q = -0.5 * (qb + np.copysign(1.0, qb) * np.sqrt(np.where(real, disc, 0.0)))
        consider(q / qa, real)
        consider(qc / q, real & (q != 0.0))
        consider(-qc / qb, ~quadratic & (qb != 0.0))
        ub = upper(c, np.where(np.isfinite(best), best, 0.0), t, tr, sigma)
        done = np.isfinite(best) & (np.abs(ub - target) <= 1e-6 * np.maximum(np.abs(target), 1.0))
    bad = ~done
    if bad.any():
        stats["bisections"] += int(bad.sum())
        sel = lambda x: x[bad] if np.ndim(x) else x  # noqa: E731
        cb = tuple(sel(x) for x in c)
        a, b = lo[bad].copy(), np.minimum(hi[bad], 1e12)
        tb, trb, targ = sel(t), sel(tr), target[bad]
        for _ in range(200):
            m = 0.5 * (a + b)
            above = upper(cb, m, tb, trb, sigma) >= targ
            b = np.where(above, m, b)
            a = np.where(above, a, m)
        best[bad] = b
    return best


def summarize(grid, start, end, chunk=1 << 20, lazy_days=False):
    L = grid.lengths
    cells = [dict(n=np.zeros(L[a], np.int64), unsafe=np.zeros(L[a], np.int64), req=np.zeros(L[a]))
             for a in range(12)]
    total, safe_total, min_days = 0, 0, math.inf
    worst = (np.empty(0), np.empty(0, np.int64), np.empty(0), np.empty(0))  # margin, id, days, req
    stats = {"bisections": 0, "crossings": 0}
    for s in range(start, end, chunk):
        ids = np.arange(s, min(s + chunk, end), dtype=np.int64)
        d = [None] * 13
        rest = ids
        for a in range(12, -1, -1):
            rest, d[a] = np.divmod(rest, L[a])
        pi = ((d[0] * L[1] + d[1]) * L[2] + d[2]) * L[8] + d[8]
        gi = ((d[4] * L[5] + d[5]) * L[6] + d[6]) * L[7] + d[7]
        r = grid.retained[d[3] * grid.n_policies + gi]
        tr = grid.transient[d[9]]
        hr = grid.headroom[d[10]]
        t = grid.t_one[d[11]]
        target = grid.limits[d[12]] * (1.0 - hr)
        sc = tuple(x[pi] for x in grid.side)
        su = upper(sc, r, t, tr, grid.sigma)
        if grid.gate is not None:
            gc = tuple(x[pi] for x in grid.gate)
            gu = upper(gc, r, t, tr, grid.sigma)
        else:
            gc, gu = None, np.full(ids.shape, np.nan)
        safe = (su <= target) & ~(gu > target)
        unsafe = ~safe
        required = np.where(gu > su, gu, su) / (1.0 - hr)
        sm, gm = target - su, target - gu
        margin = np.where(gm < sm, gm, sm)

        # Worst-list candidates of this chunk: the 10 smallest (margin, id).
        k = min(WORST, len(ids))
        kth = np.partition(margin, k - 1)[k - 1]
        cand = np.flatnonzero(margin <= kth)
        cand = cand[np.lexsort((ids[cand], margin[cand]))][:k]

        # Days to the limit of unsafe scenarios: min over the unsafe proxies.
        days = np.full(ids.shape, np.inf)
        rate = grid.rate[d[3]]
        st = np.minimum(grid.start_revisions, r)
        need = unsafe
        if lazy_days:
            zero = unsafe & (((su > target) & (upper(sc, st, t, tr, grid.sigma) >= target))
                             | ((gu > target) & (upper(gc, st, t, tr, grid.sigma) >= target)
                                if gc is not None else False))
            if min_days == 0.0 or zero.any():
                days[zero] = 0.0
                need = np.zeros(ids.shape, bool)
                need[cand] = unsafe[cand]
        for c, u in ((sc, su), (gc, gu)):
            if c is None:
                continue
            live = need & (u > target)
            idx = np.flatnonzero(live)
            if idx.size == 0:
                continue
            sub = lambda x: x[idx]  # noqa: E731
            cs = tuple(sub(x) for x in c)
            ts, trs, targ, rs, sts, rts = sub(t), sub(tr), sub(target), sub(r), sub(st), sub(rate)
            at_start = upper(cs, sts, ts, trs, grid.sigma) >= targ
            dc = np.full(idx.shape, np.inf)
            dc[at_start] = 0.0
            go = ~at_start & (rts > 0.0)
            if go.any():
                stats["crossings"] += int(go.sum())
                g = lambda x: x[go]  # noqa: E731
                x = crossing(tuple(g(v) for v in cs), g(targ), g(ts), g(trs), grid.sigma, g(sts), g(rs), stats)
                dc[go] = (x - g(sts)) / g(rts)
            days[idx] = np.minimum(days[idx], dc)

        total += len(ids)
        safe_total += int(safe.sum())
        min_days = min(min_days, float(days.min()))
        for a in range(12):
            cells[a]["n"] += np.bincount(d[a], minlength=L[a])
            cells[a]["unsafe"] += np.bincount(d[a][unsafe], minlength=L[a])
            np.maximum.at(cells[a]["req"], d[a], required)
        m = np.concatenate((worst[0], margin[cand]))
        i = np.concatenate((worst[1], ids[cand]))
        dd = np.concatenate((worst[2], days[cand]))
        rq = np.concatenate((worst[3], required[cand]))
        o = np.lexsort((i, m))[:WORST]
        worst = (m[o], i[o], dd[o], rq[o])
    return {
        "scenarios": total, "safe": safe_total, "unsafe_scenarios": total - safe_total,
        "min_days_to_limit": None if math.isinf(min_days) else min_days,
        "worst": [{"id": int(i), "margin_bytes": float(m), "days_to_limit": None if math.isinf(dd) else float(dd),
                   "required_limit_bytes": float(rq)} for m, i, dd, rq in zip(*worst)],
        "frontier": [{"axis": AXES[a], "values": [
            {"scenarios": int(cells[a]["n"][v]), "unsafe_scenarios": int(cells[a]["unsafe"][v]),
             "required_limit_bytes": float(cells[a]["req"][v])} for v in range(L[a])]} for a in range(12)],
        "stats": stats,
    }


def check(ours, path):
    with open(path) as f:
        ref = json.load(f)
    worst_rel, problems, exact, compared = 0.0, [], 0, 0

    def same(a, b, what):
        nonlocal worst_rel, exact, compared
        compared += 1
        if a is None or b is None:
            if a is not b:
                problems.append(f"{what}: {a} vs {b}")
            else:
                exact += 1
            return
        if isinstance(a, int) or isinstance(b, int) and not isinstance(b, float):
            if a != b:
                problems.append(f"{what}: {a} vs {b}")
            else:
                exact += 1
            return
        exact += a == b
        rel = abs(a - b) / max(abs(b), 1e-300) if a != b else 0.0
        worst_rel = max(worst_rel, rel)
        if rel > 1e-12:
            problems.append(f"{what}: {a!r} vs {b!r}")

    for key in ("scenarios", "safe", "unsafe_scenarios", "min_days_to_limit"):
        same(ours[key], ref[key], key)
    if len(ours["worst"]) != len(ref["worst"]):
        problems.append("worst list lengths differ")
    for k, (w, v) in enumerate(zip(ours["worst"], ref["worst"])):
        for key in ("id", "margin_bytes", "days_to_limit", "required_limit_bytes"):
            same(w[key], v[key], f"worst[{k}].{key}")
    for f, g in zip(ours["frontier"], ref["frontier"]):
        for i, (v, w) in enumerate(zip(f["values"], g["values"])):
            for key in ("scenarios", "unsafe_scenarios", "required_limit_bytes"):
                same(v[key], w[key], f"frontier.{f['axis']}[{i}].{key}")
    status = "MATCH" if not problems else "MISMATCH"
    print(f"check against {path}: {status}: {compared} numbers, {exact} bit-identical, "
          f"largest relative difference {worst_rel:.3g}")
    for p in problems[:20]:
        print("  ", p)
    return not problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec")
    ap.add_argument("--ids", help="A:B, ids A to B-1 (default: the whole grid)")
    ap.add_argument("--chunk", type=int, default=1 << 20)
    ap.add_argument("--lazy-days", action="store_true", help="skip crossings once the fewest days is 0")
    ap.add_argument("--check", help="a `meshcap sweep --summary` JSON of the same ids to compare with")
    ap.add_argument("-o", "--output", help="write the summary JSON here")
    args = ap.parse_args()
    grid = Grid(args.spec)
    start, end = (0, grid.size) if not args.ids else map(int, args.ids.split(":"))
    t0 = time.perf_counter()
    s = summarize(grid, start, end, args.chunk, args.lazy_days)
    secs = time.perf_counter() - t0
    n = end - start
    print(f"numpy: {n} scenarios in {secs:.3f} s = {n / secs:.4g} scenarios/s "
          f"(grid {grid.size}, chunk {args.chunk}, lazy days {args.lazy_days}; "
          f"{s['stats']['crossings']} crossings, {s['stats']['bisections']} bisection fallbacks)")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(s, f, indent=1)
    if args.check and not check(s, args.check):
        sys.exit(1)


if __name__ == "__main__":
    main()
