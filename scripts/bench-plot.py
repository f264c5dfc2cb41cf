#!/usr/bin/env python3
"""Draw the scale benchmark's CSVs (scripts/bench-scale) as SVG plots for BENCHMARKS.md.

Usage: bench-plot.py CSV_DIR OUT_DIR
  reads CSV_DIR/scale.csv and CSV_DIR/lists.csv (either may be missing) and writes
  OUT_DIR/scale-deploy.svg, scale-idle.svg and lists.svg.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

src, dst = sys.argv[1:3]
os.makedirs(dst, exist_ok=True)
plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3,
                     "svg.hashsalt": "switchyard"})


def rows(name):
    path = os.path.join(src, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def num(r, k):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return None


def series(data, x, y):
    pts = [(num(r, x), num(r, y)) for r in data if num(r, y) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


scale = rows("scale.csv")
if scale:
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for key, label, style in [("docker_s", "Docker Engine API: services running (baseline)", "k-o"),
                              ("api_s", "Switchyard REST API: processes RUNNING", "C0-s"),
                              ("doc_s", "Switchyard network document: processes RUNNING", "C1-^"),
                              ("api_conn_s", "REST API: + connections CONNECTED", "C0:s"),
                              ("doc_conn_s", "network document: + connections CONNECTED", "C1:^")]:
        xs, ys = series(scale, "processes", key)
        if xs:
            ax.plot(xs, ys, style, label=label, markersize=4)
    ax.set_xlabel("processes (half as many connections), 4 worker nodes")
    ax.set_ylabel("seconds from the first request")
    ax.set_title("Deploy time against size")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(dst, "scale-deploy.svg"), metadata={"Date": None})

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(9.6, 3.2))
    xs, ys = series(scale, "processes", "idle_cpu_pct")
    a1.plot(xs, ys, "C0-o", markersize=4, label="Switchyard")
    xs, ys = series(scale, "processes", "dockerd_cpu_pct")
    a1.plot(xs, ys, "k--o", markersize=4, label="the manager's dockerd")
    a1.axhline(1.0, color="C3", linewidth=0.8, label="target 1 %")
    a1.set_title("Idle CPU, % of one core")
    a1.legend(fontsize=7)
    xs, ys = series(scale, "processes", "idle_rss_mib")
    a2.plot(xs, ys, "C0-o", markersize=4)
    a2.axhline(80, color="C3", linewidth=0.8, label="target 80 MiB")
    a2.set_title("Idle resident memory, MiB")
    a2.set_ylim(bottom=0)
    a2.legend(fontsize=7)
    for key, label, style in [("reconcile_ms", "whole round", "C0-o"), ("reconcile_proc_ms", "processes", "C1-s"),
                              ("reconcile_conn_ms", "connections", "C2-^"),
                              ("reconcile_look_ms", "processes' look at the swarm", "C4-v")]:
        xs, ys = series(scale, "processes", key)
        a3.plot(xs, ys, style, markersize=4, label=label)
    # The round's share that is dockerd's: its two listings timed directly (made at once).
    pts = [(num(r, "processes"), max(num(r, "dockerd_services_ms") or 0, num(r, "dockerd_tasks_ms") or 0))
           for r in scale if num(r, "dockerd_services_ms") is not None]
    if pts:
        a3.plot([p[0] for p in pts], [p[1] for p in pts], "k--o", markersize=4, label="dockerd's listings")
    a3.axhline(50, color="C3", linewidth=0.8, label="target 50 ms")
    a3.set_title("Reconcile round, mean ms")
    a3.set_ylim(bottom=0)
    a3.legend(fontsize=7)
    for a in (a1, a2, a3):
        a.set_xlabel("live processes")
    fig.tight_layout()
    fig.savefig(os.path.join(dst, "scale-idle.svg"), metadata={"Date": None})

lists = rows("lists.csv")
if lists:
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    cases = []
    for r in lists:
        key = (r["case"], r["connections"])
        if key not in cases:
            cases.append(key)
    for i, (case, conns) in enumerate(cases):
        pts = [(float(r["records"]), float(r["p99_ms"])) for r in lists if (r["case"], r["connections"]) == (case, conns)]
        style = "k--" if case == "healthz" else f"C{i % 10}-"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style + "o", markersize=4, label=f"{case}, {conns} conn.")
    ax.axhline(20, color="C3", linewidth=0.8)
    ax.axhline(100, color="C3", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("process records stored")
    ax.set_ylabel("p99 latency, ms")
    ax.set_title("GET /api/v1/processes… against records stored (targets 20 ms at 1, 100 ms at 16)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(dst, "lists.svg"), metadata={"Date": None})
print(f"plots: {dst}")
