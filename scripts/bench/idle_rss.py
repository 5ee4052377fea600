#!/usr/bin/env python3
"""Idle RSS of an Outpost binary and where it lives.

  scripts/bench/idle_rss.py --bin dist/outpost-0.1.0-linux-x86_64/outpost [--after 10] [--top 12] [--runs 3]
                            [--env MALLOC_ARENA_MAX=1 ...] [-- more outpost serve arguments]

Starts `outpost serve` against the kube-lab apiserver (/var/tmp/kube-lab/run/kubeconfig) on free
loopback ports with a fresh cache dir, waits for /readyz, then --after seconds from start reads
/proc/PID/smaps_rollup (RSS split into anonymous and file-backed, private and shared) and
/proc/PID/smaps (RSS per mapping, grouped by file or [heap]/[stack]/anonymous), prints them and
stops it. With --runs N it repeats and prints each run's RSS, then the breakdown of the last.
"""
import argparse, collections, os, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

LAB = Path(os.environ.get("KUBE_LAB_DIR", "/var/tmp/kube-lab")) / "run"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kib_fields(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-1] == "kB":
            out[parts[0].rstrip(":")] = int(parts[1])
    return out


def mappings(pid):
    """[(name, perms, fields)] from /proc/PID/smaps."""
    out, cur = [], None
    for line in open(f"/proc/{pid}/smaps"):
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            name = head[5] if len(head) >= 6 else "[anon]"
            cur = (name, head[1], {})
            out.append(cur)
        elif cur and len(head) >= 3 and head[-1] == "kB":
            cur[2][head[0].rstrip(":")] = int(head[1])
    return out


def run_once(binary, after, keep_dir, env=None, extra=()):
    port, admin = free_port(), free_port()
    cache = tempfile.mkdtemp(prefix="idle-rss-", dir=keep_dir)
    log = open(os.path.join(cache, "outpost.log"), "wb")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "serve", "--kubeconfig", str(LAB / "kubeconfig"), "--listen", f"127.0.0.1:{port}",
                          "--admin-listen", f"127.0.0.1:{admin}", "--cache-dir", os.path.join(cache, "c"),
                          "--log-level", "info", *extra], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=env)
    try:
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=2).status == 200:
                    break
            except Exception:
                pass
            if time.monotonic() - t0 > 30 or p.poll() is not None:
                sys.exit(f"outpost did not become ready; log in {cache}/outpost.log")
            time.sleep(0.1)
        time.sleep(max(0.0, after - (time.monotonic() - t0)))
        rollup = kib_fields(open(f"/proc/{p.pid}/smaps_rollup").read())
        maps = mappings(p.pid)
        return rollup, maps
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--after", type=float, default=10.0)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for Outpost's environment")
    ap.add_argument("extra", nargs="*", help="more `outpost serve` arguments (after --)")
    a = ap.parse_args()
    env = dict(os.environ)
    env.update(kv.split("=", 1) for kv in a.env)
    binary = os.path.abspath(a.bin)
    with tempfile.TemporaryDirectory() as d:
        for i in range(a.runs):
            rollup, maps = run_once(binary, a.after, d, env, a.extra)
            print(f"run {i + 1}: RSS {rollup['Rss'] / 1024:.1f} MiB at {a.after:g} s "
                  f"(anonymous {rollup.get('Anonymous', 0) / 1024:.1f}, file-backed "
                  f"{(rollup['Rss'] - rollup.get('Anonymous', 0)) / 1024:.1f})")
    print(f"binary: {binary} ({os.path.getsize(binary) / 1048576:.1f} MiB)")
    print("smaps_rollup (KiB): " + ", ".join(f"{k} {rollup.get(k, 0)}" for k in
          ("Rss", "Pss", "Anonymous", "Shared_Clean", "Private_Clean", "Private_Dirty", "Shared_Dirty")))
    groups = collections.defaultdict(lambda: collections.Counter())
    for name, perms, f in maps:
        key = name if name.startswith("[") else (os.path.basename(name) if name != "[anon]" else name)
        if name.startswith("/"):
            key = f"{os.path.basename(name)} {perms}"
        g = groups[key]
        for k in ("Rss", "Anonymous", "Private_Clean", "Private_Dirty", "Shared_Clean"):
            g[k] += f.get(k, 0)
        g["count"] += 1
    print(f"{'mapping':44} {'n':>4} {'RSS':>7} {'anon':>7} {'clean':>7} {'dirty':>7}  (KiB)")
    for key, g in sorted(groups.items(), key=lambda kv: -kv[1]["Rss"])[:a.top]:
        print(f"{key[:44]:44} {g['count']:>4} {g['Rss']:>7} {g['Anonymous']:>7} "
              f"{g['Private_Clean'] + g['Shared_Clean']:>7} {g['Private_Dirty']:>7}")


if __name__ == "__main__":
    main()
