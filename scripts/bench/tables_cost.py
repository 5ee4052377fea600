#!/usr/bin/env python3
"""What Tables cost: a filtered Table filtered row by row online, and Tables built from the cache.

  scripts/bench/tables_cost.py --bin .build/release/outpost [--pods 1000] [--rounds 5]

Creates --pods pods (10% named skip-*, dropped by the default filter; statuses set) in a fresh
namespace of the kube-lab apiserver, starts Outpost behind a relay, and reports for each ask the
median wall time and Outpost's CPU per request (utime+stime from /proc): directly, online through
Outpost (Table filtered row by row; plain list filtered item by item), and offline from the cache
(Table built by KubeTable; plain list). Cleans up its namespace.
"""
import argparse, json, os, secrets, statistics, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "e2e"))
import harness  # noqa: E402
from harness import Lab, ProxyProcess, RelayProcess, parallel_requests, wait_until  # noqa: E402

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def measure(http, path, accept, rounds, pid=None):
    times, cpus, size = [], [], 0
    for _ in range(rounds):
        c0 = cpu_seconds(pid) if pid else 0
        t0 = time.monotonic()
        st, _, body = http.request("GET", path, headers={"Accept": accept, "User-Agent": "bench"}, timeout=60)
        times.append(time.monotonic() - t0)
        cpus.append((cpu_seconds(pid) - c0) if pid else 0)
        assert st == 200, body[:300]
        size = len(body)
    return statistics.median(times) * 1000, statistics.median(cpus) * 1000, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    os.environ["OUTPOST_BIN"] = str(Path(a.bin).resolve())
    work = Path(tempfile.mkdtemp(prefix="tables-bench-"))
    lab = Lab().load()
    ns = f"tables-bench-{secrets.token_hex(3)}"
    lab.create_namespace(ns)
    relay = p = None
    try:
        pods = [{"metadata": {"name": (f"skip-{i}" if i % 10 == 0 else f"pod-{i}"), "labels": {"app": "bench"}},
                 "spec": {"nodeName": "bench-node", "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]}}
                for i in range(a.pods)]
        parallel_requests(lab.admin, [("POST", f"/api/v1/namespaces/{ns}/pods", o) for o in pods], threads=8)
        status = {"status": {"phase": "Running", "podIP": "10.1.0.1", "conditions": [{"type": "Ready", "status": "True"}],
                             "containerStatuses": [{"name": n, "ready": True, "restartCount": 1, "image": "x", "imageID": "",
                                                    "state": {"running": {}}} for n in ("a", "b")]}}
        parallel_requests(lab.admin, [("PATCH", f"/api/v1/namespaces/{ns}/pods/{o['metadata']['name']}/status", status) for o in pods], threads=8)
        relay = RelayProcess(f"{lab.host}:{lab.port}", work).start()
        p = ProxyProcess(lab, work, server_addr=relay.url, name="bench").start()
        pid = p.proc.pid
        path = f"/api/v1/namespaces/{ns}/pods"
        rows = []
        rows.append(("direct Table", *measure(lab.admin, path, TABLE, a.rounds)))
        rows.append(("direct list", *measure(lab.admin, path, "application/json", a.rounds)))
        rows.append(("online Table (row filter)", *measure(p.http, path, TABLE, a.rounds, pid)))
        rows.append(("online list (item filter)", *measure(p.http, path, "application/json", a.rounds, pid)))
        relay.set_mode("blackhole")
        wait_until(lambda: p.http.request("GET", path, headers={"Accept": TABLE}, timeout=5)[0] == 200, 15, what="offline")
        rows.append(("offline Table (KubeTable)", *measure(p.http, path, TABLE, a.rounds, pid)))
        rows.append(("offline list", *measure(p.http, path, "application/json", a.rounds, pid)))
        print(f"{a.pods} pods ({a.pods // 10} filtered), median of {a.rounds}:")
        print(f"{'ask':30} {'wall ms':>8} {'outpost CPU ms':>15} {'bytes':>9}")
        for name, ms, cpu, size in rows:
            print(f"{name:30} {ms:8.1f} {cpu:15.1f} {size:9}")
    finally:
        if relay:
            relay.stop()
        if p:
            p.stop()
        lab.delete_namespace(ns)


if __name__ == "__main__":
    main()
