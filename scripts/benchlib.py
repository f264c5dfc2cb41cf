"""What the benchmark scripts share: a client of Switchyard's REST API with an API token, and
waiting for a condition with a deadline. Importers call `setup(url, token)` first."""
import json
import sys
import time
import urllib.error
import urllib.request

POLL = 0.05
TIMEOUT = 300
_url = _token = None


def setup(url, token):
    global _url, _token
    _url, _token = url, token


def api(method, path, body=None):
    """(status, decoded JSON body or None) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(_url + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + _token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait(cond, what):
    """Poll `cond` every POLL seconds; exit with a message after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(POLL)


def connect_sensor_to_counter(sensor, counter):
    """Connect the example sensor's temperature output to the counter's input; the connection's id."""
    status, c = api("POST", "/api/v1/connections", {
        "endpoint1": {"process_id": sensor, "interface_id": "sensor/temperature"},
        "endpoint2": {"process_id": counter, "interface_id": "counter/temperature"}})
    if status != 201:
        sys.exit(f"connect failed: {status} {c}")
    return c["id"]
