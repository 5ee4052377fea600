#!/usr/bin/env python3
"""Footprint of the forwarding path: idle RSS, and RSS while streaming one big list.

  scripts/bench/spine_footprint.py --bin .build/release/outpost [--objects 20000] [--size 1000]

Needs the lab (scripts/kube-lab/up.sh). Creates N ConfigMaps (each with --size bytes of data,
roughly a pod's size) in namespace outpost-footprint once and reuses them on later runs. Starts
Outpost on free loopback ports, waits for /readyz, samples VmRSS idle, then lists all objects
through Outpost (JSON, no paging) while sampling VmRSS every 20 ms, and compares with the same
list made directly. Prints one line per figure.
"""
import argparse, http.client, json, os, socket, ssl, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LAB = Path(os.environ.get("KUBE_LAB_DIR", "/var/tmp/kube-lab")) / "run"
NS = "outpost-footprint"


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


def direct_conn():
    ctx = ssl.create_default_context(cafile=str(LAB / "pki/ca.crt"))
    return http.client.HTTPSConnection("127.0.0.1", 6443, context=ctx, timeout=120)


TOKEN = None


def direct(method, path, body=None):
    c = direct_conn()
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def ensure_objects(n, size):
    direct("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    st, data = direct("GET", f"/api/v1/namespaces/{NS}/configmaps?limit=1")
    have = json.loads(data).get("metadata", {}).get("remainingItemCount", 0) + (1 if json.loads(data).get("items") else 0)
    if have >= n:
        return have
    payload = "x" * size

    def make(i):
        direct("POST", f"/api/v1/namespaces/{NS}/configmaps",
               {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i:06d}", "labels": {"type": "resourceusage", "idx": str(i % 10)}},
                "data": {"payload": payload}})

    t0 = time.time()
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(make, range(have, n)))
    print(f"created {n - have} configmaps in {time.time() - t0:.0f}s", file=sys.stderr)
    return n


def main():
    global TOKEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--objects", type=int, default=20000)
    ap.add_argument("--size", type=int, default=1000)
    a = ap.parse_args()
    kubeconfig = LAB / "kubeconfig"
    TOKEN = next(l.split()[1] for l in open(kubeconfig) if "token:" in l)
    n = ensure_objects(a.objects, a.size)

    port, admin = free_port(), free_port()
    work = tempfile.mkdtemp()
    p = subprocess.Popen([a.bin, "serve", "--kubeconfig", str(kubeconfig), "--listen", f"127.0.0.1:{port}",
                          "--admin-listen", f"127.0.0.1:{admin}", "--cache-dir", work, "--log-level", "warning"])
    try:
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", admin, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        time.sleep(2)
        idle = rss_kib(p.pid)
        print(f"idle_rss_mib {idle / 1024:.1f}")

        peak = [idle]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(p.pid))
                time.sleep(0.02)

        th = threading.Thread(target=sample)
        th.start()
        t0 = time.time()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        c.request("GET", f"/api/v1/namespaces/{NS}/configmaps", headers={"Accept": "application/json"})
        r = c.getresponse()
        first = None
        total = 0
        while True:
            chunk = r.read1(1 << 16)
            if not chunk:
                break
            if first is None:
                first = time.time() - t0
            total += len(chunk)
        elapsed = time.time() - t0
        done.set()
        th.join()
        t1 = time.time()
        st, body = direct("GET", f"/api/v1/namespaces/{NS}/configmaps")
        direct_s = time.time() - t1
        print(f"list_objects {n}")
        print(f"list_bytes {total} (direct {len(body)})")
        print(f"list_ttfb_s {first:.3f}")
        print(f"list_total_s {elapsed:.2f} (direct {direct_s:.2f})")
        print(f"rss_during_list_peak_mib {peak[0] / 1024:.1f}")
        print(f"rss_after_list_mib {rss_kib(p.pid) / 1024:.1f}")
        with open(f"/proc/{p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        print(f"cpu_s {(int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK'):.2f}")
    finally:
        p.terminate()
        p.wait(10)


if __name__ == "__main__":
    main()
