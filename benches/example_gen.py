#!/usr/bin/env python3
"""Write the bundled planning example, data/example/: a mesh, a week of its fleet, its traffic.

  topology.toml  the mesh as `meshcap import kubectl` writes it (Istio 1.18.2, Knative 1.11.0,
                 8 ports per revision), revision creation times included
  fleet.csv      a week of hourly readings of every istio-proxy, the long form
                 `meshcap import prometheus --by namespace,pod` writes (time,proxy,ports,memory,limit)
  traffic.csv    the dependency table `meshcap import traffic` writes (14-day window)

The story: ci/preview deploys a tagged preview revision for every pull-request push (60 a day;
tags keep each one routed, so Knative's GC never collects them) and every sidecar in the mesh
holds 8 more Envoy clusters per push. pay/checkout runs at 512Mi. analytics/batch called
shop/web once in the window (a weekly job); legacy/app has no traffic data. knative-serving's
activator and the ingress gateway are mesh infrastructure.

Memory is 55Mi + 96Ki per cluster + a per-proxy offset + scatter: the campaign's slope.
Deterministic: the same bytes every run. Usage: example_gen.py [OUTDIR]
"""
import os
import random
import sys

END = 1767826800  # 2026-01-07T23:00:00Z, the last reading
HOUR = 3600
DAY = 86400
MIB = 1048576


def iso(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "data/example"
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(20)
    # Knative services: (namespace, name, created times, routed, tags).
    daily = lambda n, every: [END - every * k for k in range(n)][::-1]
    preview = [END - int(k * DAY / 60) for k in range(420)][::-1]  # 7 days of 60 a day
    ksvcs = [
        ("shop", "cart", daily(21, DAY), 1, 0),
        ("shop", "web", daily(21, DAY // 2), 1, 0),
        ("pay", "checkout", daily(12, 2 * DAY), 2, 0),
        ("ci", "preview", preview, 400, 400),
        ("analytics", "batch", daily(3, 7 * DAY), 1, 0),
    ]
    plain = [("shop", "redis", 1), ("legacy", "app", 2)]
    t = []
    t.append("# The bundled planning example (benches/example_gen.py): the mesh behind data/example/fleet.csv")
    t.append("# and data/example/traffic.csv, as `meshcap import kubectl` writes a topology.")
    t.append('istio_version = "1.18.2"')
    t.append('knative_version = "1.11.0"')
    t.append("")
    t.append("[[gateways]]")
    t.append('name = "istio-ingressgateway"')
    t.append('namespace = "istio-system"')
    t.append("")
    t.append("[[namespaces]]")
    t.append('name = "istio-system"')
    t.append("sidecars = false")
    t.append('services = [{ name = "istiod", ports = 4 }, { name = "istio-ingressgateway", ports = 3 }, { name = "knative-local-gateway", ports = 1 }]')
    t.append("")
    t.append("[[namespaces]]")
    t.append('name = "knative-serving"')
    t.append("sidecars = true")
    t.append('services = [{ name = "activator-service", ports = 4 }, { name = "autoscaler", ports = 2 }, { name = "controller", ports = 1 }, { name = "webhook", ports = 2 }]')
    for ns in ["shop", "pay", "ci", "analytics", "legacy"]:
        t.append("")
        t.append("[[namespaces]]")
        t.append('name = "%s"' % ns)
        t.append("sidecars = true")
        ks = [k for k in ksvcs if k[0] == ns]
        if ks:
            t.append("knative = [")
            for _, name, created, routed, tags in ks:
                extra = (", routed = %d" % routed if routed != 1 else "") + (", tags = %d" % tags if tags else "")
                times = ", ".join('"%s"' % iso(c) for c in created)
                t.append('  { name = "%s", revisions = %d%s, created = [%s] },' % (name, len(created), extra, times))
            t.append("]")
        ps = [p for p in plain if p[0] == ns]
        if ps:
            t.append("services = [%s]" % ", ".join('{ name = "%s", ports = %d }' % (n, p) for _, n, p in ps))
    with open(os.path.join(out, "topology.toml"), "w") as f:
        f.write("\n".join(t) + "\n")

    # Clusters every unscoped proxy holds at time x, as `meshcap scope` counts them at mesh scope:
    # 8 per retained revision, the Services' ports, one per ExternalName placeholder (each
    # route and each traffic tag; STRICT_DNS clusters before Istio 1.21).
    fixed = 4 + 3 + 1 + 4 + 2 + 1 + 2 + sum(p for _, _, p in plain)

    def clusters(x):
        revs = sum(sum(1 for c in created if c <= x) for _, _, created, _, _ in ksvcs)
        tags = sum(min(tg, sum(1 for c in created if c <= x)) for _, _, created, _, tg in ksvcs)
        return fixed + 8 * revs + len(ksvcs) + tags

    proxies = [
        ("shop", "cart-00021-deployment-5d8f7", 1024),
        ("shop", "cart-00021-deployment-9kq2w", 1024),
        ("shop", "web-00021-deployment-7c4xz", 1024),
        ("pay", "checkout-00012-deployment-6b9tm", 512),
        ("ci", "preview-00420-deployment-8h2lp", 1024),
        ("analytics", "batch-00003-deployment-4r7np", 1024),
        ("legacy", "app-7f9c6d5b8-x2x7k", 2048),
        ("knative-serving", "activator-6f7d9c8b5-lq4zt", 1024),
        ("istio-system", "istio-ingressgateway-5bf6c9887-vvvmj", 2048),
    ]
    rows = ["# memory-metric: container_memory_working_set_bytes",
            "# imported by meshcap import prometheus --by namespace,pod (the bundled example: benches/example_gen.py)",
            "time,proxy,ports,memory,limit"]
    for ns, pod, limit in proxies:
        offset = rnd.gauss(0.0, 8.0) * MIB
        for k in range(168):
            x = END - (167 - k) * HOUR
            c = clusters(x)
            mem = int(55 * MIB + 98304 * c + offset + rnd.gauss(0.0, 0.5) * MIB)
            rows.append("%s,%s/%s,%d,%d,%dMi" % (iso(x), ns, pod, c, mem, limit))
    with open(os.path.join(out, "fleet.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")

    # Traffic over 14 days (reporter=source; revision Services written as their Knative service).
    h = lambda name, ns: "%s.%s.svc.cluster.local" % (name, ns)
    deps = [
        ("analytics", "batch-00003-deployment", h("web", "shop"), 0, END - 5 * DAY, END - 5 * DAY + HOUR),
        ("ci", "preview-00420-deployment", h("checkout", "pay"), 5120, END - 7 * DAY, END),
        ("pay", "checkout-00012-deployment", h("redis", "shop"), 88211, END - 14 * DAY + HOUR, END),
        ("shop", "cart-00021-deployment", h("checkout", "pay"), 40977, END - 14 * DAY + HOUR, END),
        ("shop", "cart-00021-deployment", h("redis", "shop"), 612488, END - 14 * DAY + HOUR, END),
        ("shop", "web-00021-deployment", h("cart", "shop"), 1203334, END - 14 * DAY + HOUR, END),
    ]
    lines = ["# imported by meshcap import traffic (the bundled example: benches/example_gen.py)",
             "# window-seconds: %d" % (14 * DAY),
             "source_namespace,source_workload,destination_host,requests,first_seen,last_seen"]
    for ns, wl, host, n, first, last in deps:
        lines.append("%s,%s,%s,%d,%s,%s" % (ns, wl, host, n, iso(first), iso(last)))
    with open(os.path.join(out, "traffic.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
