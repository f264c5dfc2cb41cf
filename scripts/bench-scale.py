#!/usr/bin/env python3
"""Switchyard at scale on a real cluster: for each size N (default 10 50 100 250 500), N processes
of the example services (half sensors, half counters, each counter connected to a sensor: N/2
connections) spread over the cluster's worker nodes, measured against creating the same N swarm
services with the Docker Engine API directly (same images pinned by digest, same nodes, same
overlay settings, same concurrency), in the same run:

  docker_s      Docker API: N service creates (16 at a time) until every task runs
  api_s         Switchyard REST API: N process creates (16 at a time) until all are RUNNING
  api_conn_s    ... then the N/2 connection requests until all are CONNECTED (from the start)
  doc_s         a network document (plan + apply) until every process is RUNNING
  doc_conn_s    ... and every connection CONNECTED (the deployment SUCCEEDED)
  changes_per_s pending changes done per second while the document was applied
  idle_cpu_pct  Switchyard's CPU (user + system, % of one core) over an idle window with the
                network up; dockerd_cpu_pct the manager's dockerd over the same window
  idle_rss_mib  Switchyard's resident memory at the end of that window; idle_rss_anon_mib the
                part of it that is its own (anonymous: heap, stacks), idle_rss_file_mib the part
                mapped from files (the binary's code and the libraries': shared with the page
                cache, reclaimable, not grown by load)
  idle_heap_mib what its allocator has handed out and not had back then (/metrics, glibc)
  reconcile_ms  mean duration of one upkeep round (nodes + processes + connections) in the window,
                from Switchyard's own histogram; reconcile_proc_ms the processes part alone,
                reconcile_look_ms the part of that spent on its look at the swarm (dockerd's
                listings received and decoded), reconcile_rounds how many rounds the means are of
  dockerd_services_ms, dockerd_tasks_ms  the two listings a round asks dockerd for, timed
                directly (median of 5): the part of a round that is dockerd's, not Switchyard's;
                dockerd_tasks_kib the size of that tasks listing
  move_s        a connected counter moved to another worker until RUNNING and CONNECTED again
  suspend_resume_s  the same counter suspended and resumed until RUNNING and CONNECTED
  remove_s      the whole network removed with an empty document

At the largest size it also opens 100 event streams and reports what they cost in memory.
Writes one CSV row per size (scale.csv in OUT_DIR) and prints a table.

Usage: bench-scale.py URL TOKEN PID NODE_IDS DOCKER_NODE_IDS SENSOR_REF COUNTER_REF OUT_DIR [SIZES...]
  PID            the server's process id (for CPU and memory)
  NODE_IDS       Switchyard's ids of the worker nodes, comma-separated (private to the token's user)
  DOCKER_NODE_IDS  the same nodes' swarm ids, in the same order
"""
import csv
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import api, setup, wait  # noqa: E402

URL, TOKEN, PID, NODE_IDS, DOCKER_NODES, SENSOR_REF, COUNTER_REF, OUT = sys.argv[1:9]
SIZES = [int(s) for s in sys.argv[9:]] or [10, 50, 100, 250, 500]
NODE_IDS, DOCKER_NODES = NODE_IDS.split(","), DOCKER_NODES.split(",")
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "30"))
CONCURRENCY = 16
setup(URL, TOKEN)
benchlib.TIMEOUT = 1800
TICKS = os.sysconf("SC_CLK_TCK")


# --- the Docker Engine API over its socket ------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


_local = threading.local()
WORKER_SOCKETS = os.environ.get("BENCH_WORKER_SOCKETS", "").split()


def docker_api(method, path, body=None, sock="/var/run/docker.sock"):
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(sock)
    if conn is None:
        conn = conns[sock] = UnixHTTPConnection(sock)
    data = json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        raw = r.read()
    except (http.client.HTTPException, OSError):
        # dockerd closes a kept-alive connection left idle (the browser part takes minutes):
        # once more on a new one.
        conns.pop(sock, None)
        conn = conns[sock] = UnixHTTPConnection(sock)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        raw = r.read()
    return r.status, (json.loads(raw) if raw else None)


def q(filters):
    return urllib.parse.quote(json.dumps(filters))


def containers_on_workers():
    """How many swarm task containers the worker nodes still run (any state but gone)."""
    n = 0
    for sock in WORKER_SOCKETS:
        _, items = docker_api("GET", "/containers/json?all=1&filters=" + q({"label": ["com.docker.swarm.task.id"]}), sock=sock)
        n += len(items or [])
    return n


def drained():
    """Wait until no container of a removed service is left on the workers, so that one round's
    teardown never slows the next round's start."""
    wait(lambda: containers_on_workers() == 0, "the workers' containers to go")


def docker_services(_names):
    """{name: running task count} of the benchmark's services, in one listing."""
    _, services = docker_api("GET", "/services?status=true&filters=" + q({"label": ["org.switchyard.scale=1"]}))
    return {s["Spec"]["Name"]: s.get("ServiceStatus", {}).get("RunningTasks", 0) for s in services or []}


def docker_round(n, network):
    names = [f"scale-{n}-{i}" for i in range(n)]

    def create(i):
        name = names[i]
        spec = {
            "Name": name,
            "Labels": {"org.switchyard.scale": "1"},
            "TaskTemplate": {
                "ContainerSpec": {"Image": SENSOR_REF if i % 2 == 0 else COUNTER_REF},
                "Placement": {"Constraints": [f"node.id=={DOCKER_NODES[i % len(DOCKER_NODES)]}"]},
                "RestartPolicy": {"Condition": "on-failure"},
                "Networks": [{"Target": network, "Aliases": [name]}],
                "LogDriver": {"Name": "json-file", "Options": {"max-size": "1m", "max-file": "2"}},
            },
            "Mode": {"Replicated": {"Replicas": 1}},
            "EndpointSpec": {"Mode": "dnsrr"},
        }
        status, body = docker_api("POST", "/services/create", spec)
        if status != 201:
            sys.exit(f"docker service create failed: {status} {body}")

    start = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(create, range(n)))
    wait(lambda: sum(1 for c in docker_services(names).values() if c >= 1) == n, f"{n} docker services running")
    took = time.monotonic() - start
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda name: docker_api("DELETE", f"/services/{name}"), names))
    wait(lambda: not docker_services(names), "the docker services to go")
    drained()
    return took


# --- Switchyard ----------------------------------------------------------------------------------

def total(path):
    """X-Total-Count of a list."""
    req = urllib.request.Request(URL + path, headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=30) as r:
        return int(r.headers.get("x-total-count", "0"))


def count_processes(state):
    return total(f"/api/v1/processes?per_page=1&state={state}")


def count_connections(state):
    return total(f"/api/v1/connections?per_page=1&state={state}")


def all_processes():
    items, page = [], 1
    while True:
        _, some = api("GET", f"/api/v1/processes?per_page=1000&page={page}")
        items += some
        if len(some) < 1000:
            return items
        page += 1


def processes_gone():
    return total("/api/v1/processes?per_page=1") == 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_mib(pid, field="VmRSS"):
    """A resident size from /proc/PID/status, MiB: VmRSS (all of it), RssAnon or RssFile."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def dockerd_pid():
    with open("/var/run/docker.pid") as f:
        return int(f.read().strip())


def metrics():
    req = urllib.request.Request(URL + "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(("switchyard_reconcile_round_seconds_sum", "switchyard_reconcile_round_seconds_count",
                            "switchyard_reconcile_swarm_look_seconds_sum",
                            "switchyard_reconcile_swarm_look_seconds_count", "switchyard_heap_in_use_bytes ")):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def mean_ms(before, after, name, labels=""):
    """Mean ms per observation of histogram `name` (its series with `labels`, as `{part="x"}`)
    between two metric readings, and how many observations that is."""
    s, c = f"{name}_sum{labels}", f"{name}_count{labels}"
    count = after.get(c, 0) - before.get(c, 0)
    return ((after.get(s, 0) - before.get(s, 0)) / count * 1000 if count else float("nan")), count


def reconcile_means(before, after):
    """Mean ms per round of each part between two metric readings."""
    return {part: mean_ms(before, after, "switchyard_reconcile_round_seconds", f'{{part="{part}"}}')[0]
            for part in ("nodes", "processes", "connections")}


def look_mean(before, after):
    """Mean ms of the processes part's look at the swarm between two readings, and the rounds."""
    return mean_ms(before, after, "switchyard_reconcile_swarm_look_seconds")


def api_round(n):
    """Create N processes request by request, 16 at a time, then connect the pairs."""
    start = time.monotonic()
    specs = [("sensor" if i % 2 == 0 else "counter", f"a{i}") for i in range(n)]

    def create(spec):
        service, name = spec
        body = {"service_id": service, "service_version": "1.0.0", "name": name,
                "parameters": {"interval_ms": "1000"} if service == "sensor" else {"step": "1"}}
        status, p = api("POST", "/api/v1/processes", body)
        if status != 201:
            sys.exit(f"create failed: {status} {p}")
        return p["id"]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        ids = list(pool.map(create, specs))
    seen = {}

    def all_running():
        k = count_processes("RUNNING")
        if seen.get("k") != k:
            seen["k"] = k
            print(f"      {time.monotonic() - start:6.1f} s: {k} RUNNING", file=sys.stderr, flush=True)
        return k == n
    wait(all_running, f"{n} processes RUNNING")
    running = time.monotonic() - start

    def connect(i):
        status, c = api("POST", "/api/v1/connections", {
            "endpoint1": {"process_id": ids[2 * i], "interface_id": "sensor/temperature"},
            "endpoint2": {"process_id": ids[2 * i + 1], "interface_id": "counter/temperature"}})
        if status != 201:
            sys.exit(f"connect failed: {status} {c}")
        return c["id"]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        cids = set(pool.map(connect, range(n // 2)))

    def all_connected():
        _, items = api("GET", "/api/v1/connections?per_page=1000&state=CONNECTED")
        return len(cids & {c["id"] for c in items}) == len(cids)
    wait(all_connected, f"{n // 2} connections CONNECTED")
    connected = time.monotonic() - start
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda pid: api("DELETE", f"/api/v1/processes/{pid}"), ids))
    wait(processes_gone, "the processes to go")
    wait(lambda: not docker_api("GET", "/services?filters=" + q({"label": [f"org.switchyard.instance={INSTANCE}"]}))[1],
         "their swarm services to go")
    drained()
    return running, connected


def document(n):
    processes, connections = [], []
    for i in range(n // 2):
        processes.append({"name": f"s{i}", "service": "sensor", "version": "1.0.0", "parameters": {"interval_ms": 1000}})
        processes.append({"name": f"c{i}", "service": "counter", "version": "1.0.0", "parameters": {"step": 1}})
        connections.append({"endpoints": [{"process": f"s{i}", "interface": "sensor/temperature"},
                                          {"process": f"c{i}", "interface": "counter/temperature"}]})
    return {"processes": processes, "connections": connections}


def apply(doc, n_processes):
    """Plan and apply; (to all RUNNING, to SUCCEEDED) in seconds."""
    start = time.monotonic()
    status, p = api("POST", "/api/v1/plans", doc)
    if status != 201:
        sys.exit(f"plan failed: {status} {p}")
    status, d = api("POST", "/api/v1/deployments", {"plan_id": p["id"]})
    if status != 201:
        sys.exit(f"apply failed: {status} {d}")
    marks = {"looked": start}

    # Polled as the REST round is, with counts (every 50 ms); the deployment itself, all its
    # steps, only every 2 s (to see it fail early) and once the counts say it may be done: read
    # every 50 ms, it was this bench's own load on the server (20 reads a second of 750 steps).
    def finished():
        if "running" not in marks:
            if count_processes("RUNNING") != n_processes:
                return look_now()
            marks["running"] = time.monotonic() - start
        if count_connections("CONNECTED") < len(doc["connections"]):
            return look_now()
        return look()

    def look_now():
        return time.monotonic() - marks["looked"] >= 2 and look()

    def look():
        marks["looked"] = time.monotonic()
        _, marks["d"] = api("GET", f"/api/v1/deployments/{d['id']}")
        return marks["d"]["state"] != "RUNNING"
    wait(finished, "the deployment to finish")
    if marks["d"]["state"] != "SUCCEEDED":
        bad = [s for s in marks["d"]["steps"] if s["state"] != "DONE"]
        sys.exit(f"deployment {marks['d']['state']}: {bad[:3]}")
    done = time.monotonic() - start
    return marks.get("running", done), done


def process(pid):
    return api("GET", f"/api/v1/processes/{pid}")[1]


def connection_of(pid):
    _, items = api("GET", f"/api/v1/connections?process_id={pid}")
    return items[0]


def up_again(pid, cid, node=None):
    p = process(pid)
    return (p["state"] == "RUNNING" and (node is None or p["running_node_id"] == node)
            and api("GET", f"/api/v1/connections/{cid}")[1]["state"] == "CONNECTED")


def move_and_suspend(pid):
    cid = connection_of(pid)["id"]
    here = process(pid)["running_node_id"]
    there = next(n for n in NODE_IDS if n != here)
    start = time.monotonic()
    status, body = api("POST", f"/api/v1/processes/{pid}/move", {"placement": {"kind": "private_node", "node_id": there}})
    if status != 202:
        sys.exit(f"move failed: {status} {body}")
    wait(lambda: up_again(pid, cid, there), "moved, RUNNING and CONNECTED")
    move = time.monotonic() - start
    start = time.monotonic()
    status, body = api("POST", f"/api/v1/processes/{pid}/suspend")
    if status != 202:
        sys.exit(f"suspend failed: {status} {body}")
    wait(lambda: process(pid)["state"] == "SUSPENDED", "SUSPENDED")
    status, body = api("POST", f"/api/v1/processes/{pid}/resume")
    if status != 202:
        sys.exit(f"resume failed: {status} {body}")
    wait(lambda: up_again(pid, cid), "resumed, RUNNING and CONNECTED")
    return move, time.monotonic() - start


def idle_window(pid, profile=None):
    """CPU, memory and reconcile rounds over IDLE_SECONDS with nothing asked of the server. With
    `profile` (a file name), `perf record` samples the server over the same window."""
    dpid = dockerd_pid()
    m0, c0, d0, t0 = metrics(), cpu_ticks(pid), cpu_ticks(dpid), time.monotonic()
    if profile:
        subprocess.run(["perf", "record", "-q", "--call-graph", "dwarf", "-F", "499", "-p", str(pid), "-o", profile,
                        "--", "sleep", str(IDLE_SECONDS)], check=False)
    else:
        time.sleep(IDLE_SECONDS)  # the measurement window itself, not a synchronisation
    m1, c1, d1, t1 = metrics(), cpu_ticks(pid), cpu_ticks(dpid), time.monotonic()
    cpu = (c1 - c0) / TICKS / (t1 - t0) * 100
    dcpu = (d1 - d0) / TICKS / (t1 - t0) * 100
    return cpu, dcpu, rss_mib(pid), heap_mib(m1), reconcile_means(m0, m1), look_mean(m0, m1)


def heap_mib(m=None):
    """What Switchyard's allocator has handed out and not had back (its /metrics), MiB: unlike the
    resident size, it does not move with what the allocator keeps for later."""
    return (m or metrics()).get("switchyard_heap_in_use_bytes", float("nan")) / 2**20


def dockerd_listings_ms(repeat=5):
    """What the reconciler's look at the swarm costs dockerd alone: the two listings it asks for
    each round (the installation's services; their tasks meant to run), median of `repeat`, ms."""
    label = {f"org.switchyard.instance={INSTANCE}": True}
    paths = {"services": "/services?filters=" + q({"label": label}),
             "tasks": "/tasks?filters=" + q({"label": label, "desired-state": {"running": True}})}
    out = {}
    for what, path in paths.items():
        times = []
        for _ in range(repeat):
            conn = UnixHTTPConnection("/var/run/docker.sock")
            start = time.perf_counter()
            conn.request("GET", path)
            size = len(conn.getresponse().read())
            times.append((time.perf_counter() - start) * 1000)
            conn.close()
        out[what] = statistics.median(times)
        out[what + "_kib"] = size / 1024
    return out


def subscribers_cost(pid, n=100):
    """Memory 100 open event streams cost: resident memory with them open against before."""
    before = rss_mib(pid), heap_mib()
    host = urllib.parse.urlparse(URL)
    conns = []
    for _ in range(n):
        c = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        c.request("GET", "/api/v1/events", headers={"Authorization": "Bearer " + TOKEN, "Accept": "text/event-stream"})
        r = c.getresponse()
        if r.status != 200:
            sys.exit(f"event stream refused: {r.status}")
        r.fp.readline()  # the first line of the `ready` event: the stream is set up
        conns.append((c, r))
    wait(lambda: subscribers() >= n, f"{n} subscribers counted")
    during = rss_mib(pid), heap_mib()
    for c, _ in conns:
        c.close()
    return before, during


def subscribers():
    req = urllib.request.Request(URL + "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("switchyard_event_stream_subscribers "):
                return float(line.split()[1])
    return 0


def browser_at_scale(n):
    """The connection editor and the node view in Chromium with the network of `n` up
    (end2end/tools), into browser-<n>.txt; at the run's largest size also browser.txt."""
    if not os.environ.get("BENCH_ADMIN_PASSWORD"):
        print("    browser at scale: skipped (no BENCH_ADMIN_PASSWORD)", file=sys.stderr)
        return
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, E2E_BASE_URL=URL, E2E_ADMIN_PASSWORD=os.environ["BENCH_ADMIN_PASSWORD"])
    done = subprocess.run(["node", "tools/bench-scale-ui.mjs"], cwd=os.path.join(root, "end2end"), env=env,
                          capture_output=True, text=True)
    text = done.stdout + (done.stderr if done.returncode else "")
    for name in [f"browser-{n}.txt"] + (["browser.txt"] if n == max(SIZES) else []):
        with open(os.path.join(OUT, name), "w") as f:
            f.write(text)
    print(text, file=sys.stderr, flush=True)


INSTANCE = os.environ["BENCH_INSTANCE"]
API_SIZES = {int(s) for s in os.environ.get("BENCH_SCALE_API_SIZES", " ".join(map(str, SIZES))).split()}


def main():
    pid = int(PID)
    # What an interrupted earlier run left: its baseline services and networks (by their names).
    # Docker accepts an overlay network whose subnet another already has, and then cannot give
    # its tasks addresses.
    for name in docker_services([]):
        docker_api("DELETE", f"/services/{name}")
    wait(lambda: not docker_services([]), "an earlier run's docker services to go")
    _, nets = docker_api("GET", "/networks?filters=" + q({"name": ["scale-net-"]}))
    for n in nets or []:
        docker_api("DELETE", f"/networks/{n['Id']}")
    network = f"scale-net-{int(time.time())}"
    # The same size of network as Switchyard gives a user (SWITCHYARD_NETWORK_PREFIX, /20): Docker's
    # default /24 holds 249 tasks on four nodes, fewer than the largest round.
    ipam = {"Config": [{"Subnet": os.environ.get("BENCH_BASELINE_SUBNET", "10.239.0.0/20")}]}
    status, body = docker_api("POST", "/networks/create",
                              {"Name": network, "Driver": "overlay", "Attachable": True, "IPAM": ipam})
    if status != 201:
        sys.exit(f"network create failed: {status} {body}")
    rows = []
    path = os.path.join(OUT, "scale.csv")
    fields = ["processes", "connections", "docker_s", "api_s", "api_conn_s", "doc_s", "doc_conn_s", "ratio_api",
              "ratio_doc", "changes_per_s", "idle_cpu_pct", "dockerd_cpu_pct", "idle_rss_mib", "reconcile_ms",
              "reconcile_proc_ms", "reconcile_conn_ms", "dockerd_services_ms", "dockerd_tasks_ms", "move_s", "suspend_resume_s", "remove_s",
              "idle_heap_mib", "idle_rss_anon_mib", "idle_rss_file_mib", "dockerd_tasks_kib", "reconcile_look_ms",
              "reconcile_rounds"]
    try:
        # Warm-up: images pulled on every worker, the user's network and the anchor made.
        docker_round(len(DOCKER_NODES) * 2, network)
        apply(document(len(NODE_IDS) * 2), len(NODE_IDS) * 2)
        _, gone = api("POST", "/api/v1/plans", {"processes": []})
        api("POST", "/api/v1/deployments", {"plan_id": gone["id"]})
        wait(processes_gone, "the warm-up network to go")
        wait(lambda: not docker_api("GET", "/services?filters=" + q(
            {"label": [f"org.switchyard.instance={INSTANCE}"]}))[1], "their swarm services to go")
        drained()
        for n in SIZES:
            print(f"--- {n} processes", file=sys.stderr, flush=True)
            row = {"processes": n, "connections": n // 2}
            row["docker_s"] = docker_round(n, network)
            print(f"    docker: {row['docker_s']:.1f} s", file=sys.stderr, flush=True)
            if n in API_SIZES:
                row["api_s"], row["api_conn_s"] = api_round(n)
                print(f"    api: {row['api_s']:.1f} s running, {row['api_conn_s']:.1f} s connected", file=sys.stderr, flush=True)
            done_before = total("/api/v1/pending-changes?per_page=1&state=DONE")
            row["doc_s"], row["doc_conn_s"] = apply(document(n), n)
            done_after = total("/api/v1/pending-changes?per_page=1&state=DONE")
            row["changes_per_s"] = (done_after - done_before) / row["doc_conn_s"]
            print(f"    document: {row['doc_s']:.1f} s running, {row['doc_conn_s']:.1f} s connected "
                  f"({done_after - done_before} changes)", file=sys.stderr, flush=True)
            row["ratio_api"] = row["api_s"] / row["docker_s"] if "api_s" in row else ""
            row["ratio_doc"] = row["doc_s"] / row["docker_s"]
            profile = os.environ.get("BENCH_PERF") if n == max(SIZES) else None
            cpu, dcpu, rss, heap, means, (look, rounds) = idle_window(pid, profile)
            row.update(idle_rss_anon_mib=rss_mib(pid, "RssAnon"), idle_rss_file_mib=rss_mib(pid, "RssFile"))
            row.update(idle_cpu_pct=cpu, dockerd_cpu_pct=dcpu, idle_rss_mib=rss, idle_heap_mib=heap,
                       reconcile_ms=sum(means.values()), reconcile_proc_ms=means["processes"],
                       reconcile_conn_ms=means["connections"], reconcile_look_ms=look, reconcile_rounds=rounds)
            listings = dockerd_listings_ms()
            row.update(dockerd_services_ms=listings["services"], dockerd_tasks_ms=listings["tasks"],
                       dockerd_tasks_kib=listings["tasks_kib"])
            counter = next(p["id"] for p in all_processes() if p["name"] == "c0")
            row["move_s"], row["suspend_resume_s"] = move_and_suspend(counter)
            if n == min(SIZES) and len(SIZES) > 1:
                browser_at_scale(n)  # the baseline: the same pages with a small network
            if n == max(SIZES):
                browser_at_scale(n)
                before, during = subscribers_cost(pid)
                row["subscribers_note"] = (f"100 event streams: resident {before[0]:.1f} -> {during[0]:.1f} MiB, "
                                           f"heap in use {before[1]:.1f} -> {during[1]:.1f} MiB (+{during[1] - before[1]:.2f})")
                print(f"    {row['subscribers_note']}", file=sys.stderr, flush=True)
            start = time.monotonic()
            _, gone = api("POST", "/api/v1/plans", {"processes": []})
            status, d = api("POST", "/api/v1/deployments", {"plan_id": gone["id"]})
            if status != 201:
                sys.exit(f"removal failed: {status} {d}")
            wait(processes_gone, "the network to go")
            row["remove_s"] = time.monotonic() - start
            wait(lambda: not docker_api("GET", "/services?filters=" + q(
                {"label": [f"org.switchyard.instance={INSTANCE}"]}))[1], "their swarm services to go")
            drained()
            rows.append(row)
            with open(path, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
                w.writeheader()
                w.writerows(rows)
    finally:
        # Self-cleaning even when a step failed: the baseline's services and its network (the
        # caller removes Switchyard's installation and, when it brought them up, the workers).
        for name in docker_services([]):
            docker_api("DELETE", f"/services/{name}")
        wait(lambda: not docker_services([]), "the docker services to go")
        docker_api("DELETE", f"/networks/{network}")
    fmt = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "-"  # noqa: E731
    print(f"{'procs':>5} {'docker s':>9} {'api s':>7} {'ratio':>6} {'doc s':>7} {'ratio':>6} {'conn s':>7} "
          f"{'chg/s':>6} {'cpu %':>6} {'dockerd%':>8} {'rss MiB':>8} {'round ms':>9} {'proc ms':>8} "
          f"{'look ms':>7} {'dkr ms':>7} {'move s':>7} {'s+r s':>6} {'rm s':>6} {'heap MiB':>8} {'anon MiB':>8} {'file MiB':>8}")
    for r in rows:
        print(f"{r['processes']:>5} {fmt(r['docker_s'], '9.1f')} {fmt(r.get('api_s'), '7.1f')} "
              f"{fmt(r.get('ratio_api'), '6.2f')} {fmt(r['doc_s'], '7.1f')} {fmt(r['ratio_doc'], '6.2f')} "
              f"{fmt(r['doc_conn_s'], '7.1f')} {fmt(r['changes_per_s'], '6.1f')} {fmt(r['idle_cpu_pct'], '6.2f')} "
              f"{fmt(r['dockerd_cpu_pct'], '8.2f')} {fmt(r['idle_rss_mib'], '8.1f')} {fmt(r['reconcile_ms'], '9.1f')} "
              f"{fmt(r['reconcile_proc_ms'], '8.1f')} {fmt(r.get('reconcile_look_ms'), '7.1f')} {fmt(max(r['dockerd_services_ms'], r['dockerd_tasks_ms']), '7.1f')} "
              f"{fmt(r['move_s'], '7.1f')} {fmt(r['suspend_resume_s'], '6.1f')} "
              f"{fmt(r['remove_s'], '6.1f')} {fmt(r.get('idle_heap_mib'), '8.1f')} "
              f"{fmt(r.get('idle_rss_anon_mib'), '8.1f')} {fmt(r.get('idle_rss_file_mib'), '8.1f')}")
    for r in rows:
        if r.get("subscribers_note"):
            print(f"at {r['processes']} processes, {r['subscribers_note']}")
    print(f"(CSV: {path}; idle window {IDLE_SECONDS:.0f} s; ratio = Switchyard to RUNNING / Docker API to running)")


main()
