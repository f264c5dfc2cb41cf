"""The stack deployment, end to end, against a Switchyard deployed by `docker stack deploy`
(scripts/container-test starts it and cleans up): it is ready, serves its site, logs in, runs
and connects the example services with no anchor, and after `docker service update --force`
its store is intact and the processes were not touched.

Usage: container-test.py URL PASSWORD SERVICE INSTANCE
Every wait has a deadline; the first failed check exits non-zero with what was seen."""
import http.cookiejar
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import benchlib
from benchlib import api, connect_sensor_to_counter

url, password, service, instance = sys.argv[1:5]
benchlib.TIMEOUT = 180
benchlib.POLL = 0.5


def check(ok, what):
    if not ok:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}", flush=True)


def wait(cond, what, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                print(f"ok: {what}", flush=True)
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass  # the server is (re)starting
        if time.monotonic() > deadline:
            sys.exit(f"FAILED: timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def get(path, opener=None):
    with (opener or urllib.request.build_opener()).open(url + path, timeout=10) as r:
        return r.status, r.headers.get("content-type", ""), r.read()


def readiness():
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def docker(*args):
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def switchyard_container():
    """The id of the running container of Switchyard's service (or '')."""
    return docker("ps", "-q", "--no-trunc", "--filter", f"label=com.docker.swarm.service.name={service}",
                  "--filter", "status=running")


def process_services(ids):
    """Per process: its swarm service's id and version, and its running tasks."""
    out = {}
    for pid in ids:
        sid = docker("service", "ls", "-q", "--filter", f"label=org.switchyard.process={pid}")
        version = docker("service", "inspect", "--format", "{{.Version.Index}}", sid)
        tasks = docker("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", sid).split()
        out[pid] = (sid, version, sorted(tasks))
    return out


def login():
    """A cookie session of the administrator, then an API token made with it."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    body = json.dumps({"username": "admin", "password": password}).encode()
    req = urllib.request.Request(url + "/api/v1/auth/login", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=10) as r:
        check(r.status == 200, "the administrator logs in with the password the stack was deployed with")
    req = urllib.request.Request(url + "/api/v1/tokens", data=json.dumps({"name": "container-test"}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=10) as r:
        return opener, json.loads(r.read())["secret"]


def readings(pid):
    status, body = api("GET", f"/api/v1/processes/{pid}/logs?tail=5000")
    return "\n".join(body["lines"]).count("received reading") if status == 200 else 0


def running(body):
    status, p = api("POST", "/api/v1/processes", body)
    check(status == 201, f"{body['name']} created ({status} {p if status != 201 else ''})")
    pid = p["id"]

    def up():
        s, q = api("GET", f"/api/v1/processes/{pid}")
        if s == 200 and q["state"] == "FAILED":
            sys.exit(f"FAILED: {body['name']} failed: {q.get('state_reason')}")
        return s == 200 and q["state"] == "RUNNING"
    # The trigger grace is 10 minutes in this test: RUNNING within the deadline means the process's
    # own config trigger reached Switchyard as orchestrator:8080 on its user network.
    wait(up, f"{body['name']} RUNNING, configured through its config trigger", timeout=120)
    return pid


def connected(cid):
    return api("GET", f"/api/v1/connections/{cid}")[1]["state"] == "CONNECTED"


# 1. Ready, with every check of the doctor, its own container on users' networks.
wait(lambda: readiness()[0] == 200, "/readyz answers 200")
checks = {c["name"]: c for c in readiness()[1]["checks"]}
check(all(c["ok"] for c in checks.values()), f"every readiness check passes: {sorted(checks)}")
check("own container" in checks["anchor"]["detail"], f"anchor check: {checks['anchor']['detail']}")

# 2. The site of the image's own build.
status, _, page = get("/login")
files = sorted(set(re.findall(r'/pkg/[A-Za-z0-9_.\-]+\.(?:js|wasm|css)', page.decode())))
check(status == 200 and files, f"the login page names {len(files)} site files")
served = [f for f in files if (lambda r: r[0] == 200 and len(r[2]) > 0)(get(f))]
check(served == files, f"all {len(files)} of them served (the WASM, JS and CSS of the image's own build)")

# 3. Log in; run and connect the examples.
opener, token = login()
benchlib.setup(url, token)
# The swarm's manager, public in a pool of its own: where the examples run.
status, pool = api("POST", "/api/v1/node-pools", {"name": "stack test"})
check(status == 201, f"a node pool made ({status})")
for attempt in range(5):  # a sync of the node may move its revision on between read and write
    manager = [n for n in api("GET", "/api/v1/nodes")[1] if n["manager"]][0]
    status, _ = api("PUT", f"/api/v1/nodes/{manager['id']}/assignment",
                    {"kind": "public", "node_pool_id": pool["id"], "revision": manager["revision"]})
    if status == 200:
        break
check(status == 200, f"the manager node made public ({status})")
sensor = running({"service_id": "sensor", "service_version": "1.0.0", "name": "stack sensor",
                  "parameters": {"interval_ms": "200"}})
counter = running({"service_id": "counter", "service_version": "1.0.0", "name": "stack counter",
                   "parameters": {"step": "1"}})
cid = connect_sensor_to_counter(sensor, counter)
wait(lambda: connected(cid), "sensor → counter CONNECTED")
wait(lambda: readings(counter) > 0, "the counter receives the sensor's readings")
container = switchyard_container()


def user_network_aliases(name):
    nets = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", name))
    return {n: v.get("Aliases") or [] for n, v in nets.items() if n.startswith("usernet-")}


mine = user_network_aliases(container)
check(len(mine) == 1 and "orchestrator" in list(mine.values())[0],
      f"Switchyard's own container is on the user's network as orchestrator: {mine}")
# The holder brings the network to this node (Docker attaches a task's container only to a
# network already there); it must not answer to `orchestrator`, nor may an anchor.
holder = user_network_aliases(f"switchyard-anchor-{instance}-holder")
check(set(holder) == set(mine) and all("orchestrator" not in a for a in holder.values()),
      f"the holder is on it without the alias: {holder}")
anchors = docker("ps", "-aq", "--filter", f"name=^switchyard-anchor-{instance}$")
check(anchors == "", "no anchor container (nothing enters another container's namespace)")

# From the user's network (the holder's namespace stands in for a process), Switchyard answers
# the config trigger and nothing else.
net = list(mine)[0]
ip = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", container))[net]["IPAddress"]
pid = docker("inspect", "--format", "{{.State.Pid}}", f"switchyard-anchor-{instance}-holder")


def from_process_network(method, path):
    out = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "curl", "-s", "-o", "/dev/null", "-w",
                          "%{http_code}", "-X", method, f"http://{ip}:8080{path}"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


api_status = from_process_network("GET", "/api/v1/processes")
check(api_status == "403", f"from a process network the API is refused ({api_status})")
trigger_status = from_process_network("PUT", f"/process/trigger/{counter}")
check(trigger_status == "401", f"from a process network the trigger is reached (401 without the process's token: {trigger_status})")
before = process_services([sensor, counter])
seen = readings(counter)

# 4. Restart Switchyard the way Docker does it: a new task, a new container.
docker("service", "update", "--force", "--detach", service)
wait(lambda: switchyard_container() not in ("", container), "a new Switchyard container runs")
wait(lambda: readiness()[0] == 200, "/readyz answers 200 again")

# 5. The store survived: the old API token still works, the password too, the network is there.
status, listed = api("GET", "/api/v1/processes?per_page=100")
check(status == 200, "the API token made before the restart still works")
states = {p["id"]: p["state"] for p in (listed["items"] if isinstance(listed, dict) else listed)}
check(states == {sensor: "RUNNING", counter: "RUNNING"}, f"both processes listed RUNNING: {states}")
check(connected(cid), "the connection is still CONNECTED")
login()
# The processes were not touched: same services, same versions, same containers.
after = process_services([sensor, counter])
check(after == before, f"the processes' services and tasks are unchanged: {after}")
wait(lambda: readings(counter) > seen, "readings keep arriving at the counter")

# 6. The new container took the old one's place on the user network: a new process gets its
#    configuration through the trigger and is connected.
counter2 = running({"service_id": "counter", "service_version": "1.0.0", "name": "stack counter 2",
                    "parameters": {"step": "1"}})
cid2 = connect_sensor_to_counter(sensor, counter2)
wait(lambda: connected(cid2), "sensor → new counter CONNECTED after the restart")
wait(lambda: readings(counter2) > 0, "the new counter receives readings")

# 7. Clean up through the API (the script removes the stack and whatever is left).
for pid in (sensor, counter, counter2):
    api("DELETE", f"/api/v1/processes/{pid}")
wait(lambda: all(api("GET", f"/api/v1/processes/{pid}")[0] == 404 for pid in (sensor, counter, counter2)),
     "the processes deleted")
print("container deployment: all checks passed")
