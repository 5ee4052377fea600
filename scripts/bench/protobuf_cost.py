#!/usr/bin/env python3
"""What protobuf saves on the wire, and what scanning (and caching) costs against forwarding untouched.

  scripts/bench/protobuf_cost.py --bin .build/release/outpost [--lists 5]

Needs the lab (scripts/kube-lab/up.sh) and the 10 000 pods of namespace outpost-bench-pods
(scripts/bench/cache_outage.py creates them). Prints:

  * bytes of the same 1 000-pod list in JSON and protobuf (and gzipped), straight from the apiserver;
  * Outpost CPU seconds and peak RSS for N lists of all 10 000 pods, in protobuf (kubelet's Accept)
    and JSON, once with pods cached and filtered (the tee scans every item) and once with a config
    that neither caches nor filters pods (bytes pass through untouched).
"""
import argparse, gzip, http.client, os, socket, ssl, subprocess, sys, tempfile, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = Path(os.environ.get("KUBE_LAB_DIR", "/var/tmp/kube-lab")) / "run"
NS = "outpost-bench-pods"
PROTOBUF = "application/vnd.kubernetes.protobuf, */*"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def direct(path, accept, token):
    ctx = ssl.create_default_context(cafile=str(LAB / "pki/ca.crt"))
    c = http.client.HTTPSConnection("127.0.0.1", 6443, context=ctx, timeout=300)
    c.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": accept, "User-Agent": "bench"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / ".build/release/outpost"))
    ap.add_argument("--lists", type=int, default=5)
    a = ap.parse_args()
    token = next(l.split()[1] for l in open(LAB / "kubeconfig") if "token:" in l)

    print("one list of 1 000 pods, straight from the apiserver:")
    for accept in ("application/json", "application/vnd.kubernetes.protobuf"):
        body = direct(f"/api/v1/namespaces/{NS}/pods?limit=1000", accept, token)
        print(f"  {accept:38s} {len(body) / 1e6:6.2f} MB   gzip {len(gzip.compress(body)) / 1e3:7.1f} kB")

    work = tempfile.mkdtemp(prefix="outpost-pbcost-")
    plain = Path(work) / "passthrough.yaml"
    plain.write_text("cache:\n  resources: [configmaps]\nfilters:\n  rules:\n"
                     "    - name: skip-prefixed\n      resources: [configmaps]\n      namePrefix: skip-\n")
    print(f"\n{a.lists} lists of all pods in {NS} through Outpost:")
    for label, extra in (("scanned+cached", []), ("pass-through", ["--config", str(plain)])):
        for accept in (PROTOBUF, "application/json"):
            port, admin = free_port(), free_port()
            cache = tempfile.mkdtemp(dir=work)
            p = subprocess.Popen([a.bin, "--kubeconfig", str(LAB / "kubeconfig"), "--listen", f"127.0.0.1:{port}",
                                  "--admin-listen", f"127.0.0.1:{admin}", "--cache-dir", cache, "--log-level", "warning"]
                                 + extra)
            try:
                time.sleep(1.5)
                c0, t0, size = cpu_seconds(p.pid), time.monotonic(), 0
                for _ in range(a.lists):
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                    c.request("GET", f"/api/v1/namespaces/{NS}/pods", headers={"Accept": accept})
                    r = c.getresponse()
                    size += len(r.read())
                    c.close()
                time.sleep(2)  # let the cache writer finish
                print(f"  {label:15s} {accept.split(',')[0]:38s} {size / a.lists / 1e6:5.1f} MB/list  "
                      f"CPU {cpu_seconds(p.pid) - c0:5.2f} s  wall {time.monotonic() - t0:5.1f} s  "
                      f"peak RSS {peak_rss_mib(p.pid):5.1f} MiB")
            finally:
                p.terminate()
                p.wait(30)


if __name__ == "__main__":
    main()
