#!/usr/bin/env python3
"""Plan and apply time of a whole network document, against creating the same network request by
request, on the same server in the same run.

Usage: bench-networks.py URL TOKEN [PROCESSES]
  URL        a running Switchyard (its swarm node already usable by the token's user, whose
             network must be empty)
  TOKEN      an API token
  PROCESSES  how many processes (default 50): a tenth sensors, the rest counters, each counter
             connected to a sensor (a counter's interface takes one connection, so a network of
             N processes has N - N/10 connections)
Prints: plan time (median of 5) of the document against the empty network and against the
network it describes (nothing to do); apply time until every process is RUNNING and every
connection CONNECTED; the same network made request by request (the processes created 8 at a
time, then each connection once both ends run, until all are CONNECTED) and the ratio; and the
time to remove it with one document (an empty network).
"""
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import api, connect_sensor_to_counter, setup, wait  # noqa: E402

URL, TOKEN = sys.argv[1:3]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 50
setup(URL, TOKEN)
SENSORS = max(1, N // 10)
COUNTERS = N - SENSORS


def document():
    processes = [{"name": f"s{i}", "service": "sensor", "version": "1.0.0", "parameters": {"interval_ms": 1000}}
                 for i in range(SENSORS)]
    processes += [{"name": f"c{i}", "service": "counter", "version": "1.0.0", "parameters": {"step": 1}}
                  for i in range(COUNTERS)]
    connections = [{"endpoints": [{"process": f"s{i % SENSORS}", "interface": "sensor/temperature"},
                                  {"process": f"c{i}", "interface": "counter/temperature"}]} for i in range(COUNTERS)]
    return {"processes": processes, "connections": connections}


def plan(doc):
    start = time.monotonic()
    status, p = api("POST", "/api/v1/plans", doc)
    took = time.monotonic() - start
    if status != 201:
        sys.exit(f"plan failed: {status} {p}")
    return took, p


def apply(p):
    start = time.monotonic()
    status, d = api("POST", "/api/v1/deployments", {"plan_id": p["id"]})
    if status != 201:
        sys.exit(f"apply failed: {status} {d}")
    last = {}

    def finished():
        _, last["d"] = api("GET", f"/api/v1/deployments/{d['id']}")
        return last["d"]["state"] != "RUNNING"

    wait(finished, "the deployment to finish")
    if last["d"]["state"] != "SUCCEEDED":
        bad = [s for s in last["d"]["steps"] if s["state"] != "DONE"]
        sys.exit(f"deployment {last['d']['state']}: {bad[:3]}")
    return time.monotonic() - start


def processes():
    _, items = api("GET", "/api/v1/processes?per_page=1000")
    return items


def connections():
    _, items = api("GET", "/api/v1/connections?per_page=1000")
    return items


def request_by_request():
    start = time.monotonic()
    specs = [("sensor", f"s{i}", {"interval_ms": "1000"}) for i in range(SENSORS)]
    specs += [("counter", f"c{i}", {"step": "1"}) for i in range(COUNTERS)]
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda s: api("POST", "/api/v1/processes", {
            "service_id": s[0], "service_version": "1.0.0", "name": s[1], "parameters": s[2]}), specs))
    ids = {}
    for (_, name, _), (status, body) in zip(specs, made):
        if status != 201:
            sys.exit(f"create failed: {status} {body}")
        ids[name] = body["id"]
    wait(lambda: all(p["state"] == "RUNNING" for p in processes()), "every process to run")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: connect_sensor_to_counter(ids[f"s{i % SENSORS}"], ids[f"c{i}"]), range(COUNTERS)))
    wait(lambda: sum(c["state"] == "CONNECTED" for c in connections()) == COUNTERS, "every connection")
    took = time.monotonic() - start
    for pid in ids.values():
        api("DELETE", f"/api/v1/processes/{pid}")
    wait(lambda: not processes(), "the request-by-request network to go")
    return took


if processes():
    sys.exit("the token's user has processes already; the benchmark needs an empty network")
doc = document()
plan_empty = statistics.median(plan(doc)[0] for _ in range(5))
_, p = plan(doc)
apply_s = apply(p)
plan_same = statistics.median(plan(doc)[0] for _ in range(5))
_, gone = plan({"processes": []})
remove_s = apply(gone)
wait(lambda: not processes(), "the network to go")
baseline = request_by_request()
print(f"network of {N} processes, {COUNTERS} connections:")
print(f"  plan against the empty network:      {plan_empty * 1000:8.1f} ms (median of 5)")
print(f"  plan against itself (nothing to do): {plan_same * 1000:8.1f} ms (median of 5)")
print(f"  apply until all RUNNING + CONNECTED: {apply_s:8.1f} s")
print(f"  request by request, the same:        {baseline:8.1f} s   (apply / request by request: {apply_s / baseline:.2f}x)")
print(f"  remove with an empty document:       {remove_s:8.1f} s")
