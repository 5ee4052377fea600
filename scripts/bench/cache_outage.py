#!/usr/bin/env python3
"""The cache milestone's numbers: outage detection, recovery, cache size, RSS with N cached pods.

  scripts/bench/cache_outage.py --bin .build/release/outpost [--pods 10000]

Needs the lab (scripts/kube-lab/up.sh). Creates N pods (about 2.5 KB of JSON each, with a
nodeName and labels, Pending: the lab has no scheduler or kubelet) in namespace
outpost-bench-pods once and reuses them. Starts a TCP relay (tests/e2e/relay.py) between
Outpost and the apiserver, lists the pods through Outpost (the cache fills), then measures:

  * cache file size per 1 000 pods, and RSS with N pods cached;
  * detection: the relay black-holes (a silent cut: no RST); time until a pod list through
    Outpost is answered (from the cache), for the first list after the cut and once detected;
  * recovery: the relay passes again; time until a list is answered by the apiserver;
  * restart offline: Outpost is killed and started again on its cache while the link is cut;
    time from process start to the first answered list, and that answer's RSS.
"""
import argparse, http.client, json, os, socket, ssl, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = Path(os.environ.get("KUBE_LAB_DIR", "/var/tmp/kube-lab")) / "run"
NS = "outpost-bench-pods"
TOKEN = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def direct(method, path, body=None):
    ctx = ssl.create_default_context(cafile=str(LAB / "pki/ca.crt"))
    c = http.client.HTTPSConnection("127.0.0.1", 6443, context=ctx, timeout=300)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def pod(i):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i:05d}", "labels": {"app": f"app-{i % 20}", "tier": "edge", "bench": "true"},
                         "annotations": {"outpost.dev/bench": "x" * 600}},
            "spec": {"nodeName": f"edge-node-{i % 50}",
                     "containers": [{"name": "main", "image": "registry.local/app:1.2.3",
                                     "args": ["--listen=:8080", "--verbose"],
                                     "env": [{"name": f"E{j}", "value": "v" * 20} for j in range(8)],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                                     "ports": [{"containerPort": 8080}]}]}}


def ensure_pods(n):
    direct("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    st, data = direct("GET", f"/api/v1/namespaces/{NS}/pods?limit=1")
    doc = json.loads(data)
    have = doc.get("metadata", {}).get("remainingItemCount", 0) + len(doc.get("items", []))
    if have >= n:
        return have

    def make(start):
        ctx = ssl.create_default_context(cafile=str(LAB / "pki/ca.crt"))
        c = http.client.HTTPSConnection("127.0.0.1", 6443, context=ctx, timeout=60)
        for i in range(start, n, 8):
            c.request("POST", f"/api/v1/namespaces/{NS}/pods", body=json.dumps(pod(i)),
                      headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status not in (201, 409):
                raise SystemExit(f"creating pod {i}: HTTP {r.status}")
        c.close()

    with ThreadPoolExecutor(8) as ex:
        list(ex.map(make, range(8)))
    return n


def get(port, path, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Accept": "application/json"})
        r = c.getresponse()
        body = r.read()
        return r.status, r.getheader("X-Outpost-Cache"), body
    finally:
        c.close()


def metric(admin, name):
    _, _, body = get(admin, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


class Relay:
    def __init__(self, work):
        self.port = free_port()
        self.ctl = str(Path(work) / "relay.ctl")
        self.proc = subprocess.Popen([sys.executable, str(REPO / "tests/e2e/relay.py"), "--listen", f"127.0.0.1:{self.port}",
                                      "--target", "127.0.0.1:6443", "--control", self.ctl],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.ctl):
                break
            time.sleep(0.05)

    def mode(self, m):
        subprocess.run([sys.executable, str(REPO / "tests/e2e/relay.py"), "ctl", "--control", self.ctl, m],
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        self.proc.terminate()


class Outpost:
    def __init__(self, binary, relay, cache_dir, work):
        self.port, self.admin = free_port(), free_port()
        self.started = time.monotonic()
        self.proc = subprocess.Popen([binary, "serve", "--kubeconfig", str(LAB / "kubeconfig"),
                                      "--server-addr", f"https://127.0.0.1:{relay.port}",
                                      "--listen", f"127.0.0.1:{self.port}", "--admin-listen", f"127.0.0.1:{self.admin}",
                                      "--cache-dir", cache_dir, "--log-level", "warning"],
                                     stdout=open(Path(work) / "outpost.log", "ab"), stderr=subprocess.STDOUT)

    def wait_port(self):
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.05).close()
                return
            except OSError:
                time.sleep(0.005)

    def stop(self, sig="TERM"):
        (self.proc.kill if sig == "KILL" else self.proc.terminate)()
        self.proc.wait(30)


def until(pred, timeout, step=0.01):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if pred():
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(step)
    return None


def main():
    global TOKEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / ".build/release/outpost"))
    ap.add_argument("--pods", type=int, default=10000)
    a = ap.parse_args()
    TOKEN = next(l.split()[1] for l in open(LAB / "kubeconfig") if "token:" in l)
    have = ensure_pods(a.pods)
    work = tempfile.mkdtemp(prefix="outpost-bench-")
    cache = str(Path(work) / "cache")
    relay = Relay(work)
    op = Outpost(a.bin, relay, cache, work)
    try:
        op.wait_port()
        until(lambda: get(op.admin, "/readyz")[0] == 200, 30)
        print(f"pods in the lab: {have}")
        idle = rss_kib(op.proc.pid)
        full = f"/api/v1/namespaces/{NS}/pods"
        t0 = time.monotonic()
        st, _, body = get(op.port, full, timeout=300)
        n = len(json.loads(body)["items"])
        print(f"list of {n} pods through Outpost: {time.monotonic() - t0:.2f} s, {len(body) / 1e6:.1f} MB")
        until(lambda: (metric(op.admin, "outpost_cache_objects") or 0) >= n, 120, 0.2)
        time.sleep(1)
        size = metric(op.admin, "outpost_cache_file_bytes")
        print(f"cache file: {size / 1e6:.1f} MB = {size / n * 1000 / 1e6:.2f} MB per 1000 pods")
        print(f"RSS idle {idle / 1024:.1f} MiB; with {n} pods cached {rss_kib(op.proc.pid) / 1024:.1f} MiB "
              f"(peak {rss_kib(op.proc.pid, 'VmHWM') / 1024:.1f} MiB)")

        small = f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dapp-3"
        get(op.port, small)  # online once, so the next call rides a pooled connection (the realistic case)
        relay.mode("blackhole")
        t0 = time.monotonic()
        st, src, body = get(op.port, small)
        first = time.monotonic() - t0
        print(f"silent cut: first list answered in {first * 1000:.0f} ms (status {st}, from cache: {src == 'hit'}, "
              f"{len(json.loads(body).get('items', []))} pods)")
        detected = until(lambda: b'outpost_upstream_transitions_total{to="offline"}' in get(op.admin, "/metrics")[2], 10)
        print(f"health: offline declared {first + (detected or 0):.2f} s after the cut")
        lat = []
        for _ in range(20):
            t = time.monotonic()
            get(op.port, small)
            lat.append(time.monotonic() - t)
        lat.sort()
        print(f"after detection: list answered from cache in p50 {lat[10] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
        relay.mode("pass")
        back = until(lambda: get(op.port, small)[1] is None, 30, 0.05)
        print(f"recovery: lists reach the apiserver again {back:.2f} s after the link returns")

        relay.mode("blackhole")
        op.stop("KILL")
        op2 = Outpost(a.bin, relay, cache, work)
        op2.wait_port()
        answered = until(lambda: get(op2.port, small, timeout=10)[0] == 200, 30, 0.005)
        print(f"restart while offline: first list answered {time.monotonic() - op2.started:.2f} s after process start "
              f"(RSS {rss_kib(op2.proc.pid) / 1024:.1f} MiB)")
        t = time.monotonic()
        st, src, body = get(op2.port, full, timeout=120)
        print(f"offline list of all {len(json.loads(body)['items'])} pods from the cache: {time.monotonic() - t:.2f} s, "
              f"RSS after {rss_kib(op2.proc.pid) / 1024:.1f} MiB (peak {rss_kib(op2.proc.pid, 'VmHWM') / 1024:.1f} MiB)")
        op2.stop()
    finally:
        if op.proc.poll() is None:
            op.stop()
        relay.stop()


if __name__ == "__main__":
    main()
