#!/usr/bin/env python3
"""Time from create request to RUNNING for Switchyard processes, against `docker service create`
of the same image plus waiting for its task to run, on the same machine in the same run.

Usage: bench-processes.py URL TOKEN IMAGE_REF SERVICE_ID [ROUNDS]
  URL        a running Switchyard (its swarm node already usable by the token's user)
  TOKEN      an API token
  IMAGE_REF  the image the baseline runs (the same one Switchyard pins, by digest)
  SERVICE_ID the service Switchyard deploys (e.g. counter)
Prints one line per batch size: median seconds for each and their ratio. Then the time from
a connection request (a sensor and a counter, both RUNNING) to CONNECTED, and to the first
reading the counter logs having received over the new connection.
"""
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import api, connect_sensor_to_counter, setup, wait  # noqa: E402

URL, TOKEN, IMAGE, SERVICE = sys.argv[1:5]
ROUNDS = int(sys.argv[5]) if len(sys.argv) > 5 else 3
setup(URL, TOKEN)


def docker(*args):
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def switchyard_round(n, tag):
    start = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        made = list(pool.map(lambda i: api("POST", "/api/v1/processes", {
            "service_id": SERVICE, "name": f"bench {tag} {i}", "parameters": {"step": "1"}}), range(n)))
    ids = []
    for status, body in made:
        if status != 201:
            sys.exit(f"create failed: {status} {body}")
        ids.append(body["id"])
    pending = set(ids)

    def all_running():
        for pid in list(pending):
            status, body = api("GET", f"/api/v1/processes/{pid}")
            if status == 200 and body["state"] == "RUNNING":
                pending.discard(pid)
            elif status == 200 and body["state"] == "FAILED":
                sys.exit(f"process {pid} failed: {body['state_reason']}")
        return not pending
    wait(all_running, f"{n} processes RUNNING")
    elapsed = time.monotonic() - start
    for pid in ids:
        api("DELETE", f"/api/v1/processes/{pid}")
    wait(lambda: all(api("GET", f"/api/v1/processes/{pid}")[0] == 404 for pid in ids), "deletes")
    return elapsed


def docker_round(n, tag, network, node):
    names = [f"bench-{tag}-{i}" for i in range(n)]
    start = time.monotonic()

    def create(name):
        docker("service", "create", "--detach", "--quiet", "--name", name, "--network",
               f"name={network},alias={name}", "--endpoint-mode", "dnsrr", "--constraint",
               f"node.id=={node}", "--restart-condition", "on-failure", "--label",
               "org.switchyard.bench=1", IMAGE)
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(create, names))

    def all_running():
        out = docker("service", "ps", "--filter", "desired-state=running", "--format",
                     "{{.Name}} {{.CurrentState}}", *names)
        running = {l.split()[0].rsplit(".", 1)[0] for l in out.splitlines() if " Running " in f" {l} "}
        return len(running) == n
    wait(all_running, f"{n} docker services running")
    elapsed = time.monotonic() - start
    docker("service", "rm", *names)
    return elapsed


def process_running(body):
    status, p = api("POST", "/api/v1/processes", body)
    if status != 201:
        sys.exit(f"create failed: {status} {p}")
    pid = p["id"]
    wait(lambda: api("GET", f"/api/v1/processes/{pid}")[1]["state"] == "RUNNING", f"process {pid} RUNNING")
    return pid


def logs(pid):
    status, body = api("GET", f"/api/v1/processes/{pid}/logs?tail=5000")
    return "\n".join(body["lines"]) if status == 200 else ""


def connection_rounds(rounds):
    sensor = process_running({"service_id": "sensor", "service_version": "1.0.0", "name": "bench sensor",
                              "parameters": {"interval_ms": "20"}})
    counter = process_running({"service_id": "counter", "service_version": "1.0.0", "name": "bench counter",
                               "parameters": {"step": "1"}})
    to_connected, to_message = [], []
    try:
        for _ in range(rounds):
            seen = logs(counter).count("received reading")
            start = time.monotonic()
            cid = connect_sensor_to_counter(sensor, counter)
            wait(lambda: api("GET", f"/api/v1/connections/{cid}")[1]["state"] == "CONNECTED", "CONNECTED")
            to_connected.append(time.monotonic() - start)
            wait(lambda: logs(counter).count("received reading") > seen, "a reading received")
            to_message.append(time.monotonic() - start)
            api("DELETE", f"/api/v1/connections/{cid}")
            wait(lambda: api("GET", f"/api/v1/connections/{cid}")[1]["state"] == "TERMINATED", "TERMINATED")
    finally:
        for pid in (sensor, counter):
            api("DELETE", f"/api/v1/processes/{pid}")
    return to_connected, to_message


def main():
    node = docker("info", "--format", "{{.Swarm.NodeID}}")
    network = f"bench-net-{int(time.time())}"
    docker("network", "create", "-d", "overlay", "--attachable", network)
    try:
        # Warm-up: the first process makes the user's network and the anchor; pull the image.
        switchyard_round(1, "warm")
        docker_round(1, "warm", network, node)
        for n in (1, 20):
            sy, dk = [], []
            for r in range(ROUNDS):
                dk.append(docker_round(n, f"{n}-{r}", network, node))
                sy.append(switchyard_round(n, f"{n}-{r}"))
            s, d = statistics.median(sy), statistics.median(dk)
            print(f"{n:>2} at once: switchyard create->RUNNING {s:6.2f} s | docker service create->running "
                  f"{d:6.2f} s | ratio {s / d:4.2f}   (median of {ROUNDS}; "
                  f"switchyard {', '.join(f'{x:.2f}' for x in sy)}; docker {', '.join(f'{x:.2f}' for x in dk)})")
        c, m = connection_rounds(max(ROUNDS, 5))
        print(f"connection request -> CONNECTED {statistics.median(c):.3f} s (max {max(c):.3f}); "
              f"-> first reading received {statistics.median(m):.3f} s (max {max(m):.3f}; the sensor sends every "
              f"20 ms, logs are read by polling)   (median of {len(c)})")
    finally:
        subprocess.run(["docker", "network", "rm", network], capture_output=True)


main()
