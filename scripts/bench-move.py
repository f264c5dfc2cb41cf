#!/usr/bin/env python3
"""Time of a move: from the move request until the process is RUNNING on its new node with its
connection CONNECTED again, against a suspend + resume of the same process on the same node
(the same steps without the relocation) in the same run.

Usage: bench-move.py URL TOKEN NODE_A NODE_B [ROUNDS]
  URL            a running Switchyard
  TOKEN          an API token of a user whose private nodes NODE_A and NODE_B are
  NODE_A NODE_B  node ids (Switchyard's) of two private nodes on different hosts
A counter (the process moved; its count is its state) is connected to a sensor; the counter
moves A -> B -> A ... Prints the median and the spread of both, and their ratio.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import api, connect_sensor_to_counter, setup, wait  # noqa: E402

URL, TOKEN, NODE_A, NODE_B = sys.argv[1:5]
ROUNDS = int(sys.argv[5]) if len(sys.argv) > 5 else 3
setup(URL, TOKEN)


def process(pid):
    return api("GET", f"/api/v1/processes/{pid}")[1]


def up_again(pid, node, cid):
    """RUNNING on `node`, no move under way, and the connection CONNECTED."""
    p = process(pid)
    if p["state"] == "FAILED":
        sys.exit(f"process {pid} failed: {p['state_reason']}")
    return (p["state"] == "RUNNING" and p["running_node_id"] == node and p.get("moving_to_node_id") is None
            and api("GET", f"/api/v1/connections/{cid}")[1]["state"] == "CONNECTED")


def create(body):
    status, p = api("POST", "/api/v1/processes", body)
    if status != 201:
        sys.exit(f"create failed: {status} {p}")
    return p["id"]


def main():
    counter = create({"service_id": "counter", "service_version": "1.0.0", "name": "bench mover",
                      "parameters": {"step": "1"}, "placement": {"kind": "private_node", "node_id": NODE_A}})
    sensor = create({"service_id": "sensor", "service_version": "1.0.0", "name": "bench mover's sensor",
                     "parameters": {"interval_ms": "100"},
                     "placement": {"kind": "private_node", "node_id": NODE_B}})
    try:
        cid = connect_sensor_to_counter(sensor, counter)
        here = NODE_A
        wait(lambda: up_again(counter, here, cid), "the counter RUNNING and CONNECTED")
        moves, baseline = [], []
        for _ in range(ROUNDS):
            start = time.monotonic()
            status, body = api("POST", f"/api/v1/processes/{counter}/suspend")
            if status != 202:
                sys.exit(f"suspend failed: {status} {body}")
            wait(lambda: process(counter)["state"] == "SUSPENDED", "SUSPENDED")
            status, body = api("POST", f"/api/v1/processes/{counter}/resume")
            if status != 202:
                sys.exit(f"resume failed: {status} {body}")
            wait(lambda: up_again(counter, here, cid), "resumed, RUNNING and CONNECTED")
            baseline.append(time.monotonic() - start)

            there = NODE_B if here == NODE_A else NODE_A
            start = time.monotonic()
            status, body = api("POST", f"/api/v1/processes/{counter}/move",
                               {"placement": {"kind": "private_node", "node_id": there}})
            if status != 202:
                sys.exit(f"move failed: {status} {body}")
            wait(lambda: up_again(counter, there, cid), "moved, RUNNING and CONNECTED")
            moves.append(time.monotonic() - start)
            here = there
    finally:
        for pid in (counter, sensor):
            api("DELETE", f"/api/v1/processes/{pid}")
        wait(lambda: all(api("GET", f"/api/v1/processes/{pid}")[0] == 404 for pid in (counter, sensor)), "deletes")

    def fmt(xs):
        return f"median {statistics.median(xs):6.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, {len(xs)} rounds)"
    print(f"  move to another node -> RUNNING + CONNECTED:      {fmt(moves)}")
    print(f"  suspend + resume on its node (baseline):          {fmt(baseline)}")
    print(f"  ratio move / baseline: {statistics.median(moves) / statistics.median(baseline):.2f}")


main()
