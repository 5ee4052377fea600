"""SIGHUP re-reads --config without dropping connections (a bad file is refused, the old config
stays), and --log-format json (issue 13, point 6)."""
import json
import signal
import subprocess

import pytest

from harness import WatchStream, outpost_binary, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

CONFIG = """filters:
  rules:
    - name: {name}
      resources: [configmaps]
      namePrefix: {prefix}
"""


def names(p, ns):
    return sorted(i["metadata"]["name"] for i in p.http.json("GET", f"/api/v1/namespaces/{ns}/configmaps")["items"])


def log_lines(p):
    return [l for l in p.log.read_text().splitlines() if l.strip() and not l.startswith("###")]


def test_sighup_reloads_filters_and_refuses_a_bad_file(lab, ns_factory, proxy_factory, workdir):
    ns = ns_factory("reload")
    for name in ("plain", "hide-me", "skip-me"):
        lab.admin.json("POST", f"/api/v1/namespaces/{ns}/configmaps",
                       {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}})
    cfg = workdir / f"reload-{ns}.yaml"
    cfg.write_text(CONFIG.format(name="skip-prefixed", prefix="skip-"))
    p, _ = proxy_factory(with_relay=False, extra_args=["--config", cfg, "--log-format", "json"])
    assert names(p, ns) == ["hide-me", "plain"]
    watch = WatchStream(p.http, f"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion=0", timeout=30)
    assert watch.status == 200
    watch.wait_for(lambda e: e["object"]["metadata"]["name"] == "plain", 10, "the ADDED replay")

    cfg.write_text(CONFIG.format(name="hide-prefixed", prefix="hide-"))
    p.signal(signal.SIGHUP)
    wait_until(lambda: any(json.loads(l).get("message") == "config reloaded" for l in log_lines(p)), 10, what="reload log")
    assert names(p, ns) == ["plain", "skip-me"]
    st = json.loads(subprocess.run([str(outpost_binary()), "status", "--admin-addr", f"127.0.0.1:{p.admin_port}", "-o", "json"],
                                   capture_output=True, text=True, check=True).stdout)
    assert [f["name"] for f in st["filters"]] == ["hide-prefixed"]
    # the watch opened before the reload is still open and still delivers
    lab.admin.json("POST", f"/api/v1/namespaces/{ns}/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}, "data": {"k": "v"}})
    watch.wait_for(lambda e: e["object"]["metadata"]["name"] == "after", 10, "an event after SIGHUP")
    assert not watch.ended.is_set()

    cfg.write_text("filters:\n  rulez: []\n")
    p.signal(signal.SIGHUP)
    wait_until(lambda: any(json.loads(l).get("message") == "config reload refused, keeping the previous config"
                           for l in log_lines(p)), 10, what="refusal log")
    refusal = next(json.loads(l) for l in log_lines(p) if "refused" in json.loads(l).get("message", ""))
    assert refusal["level"] == "error" and "rulez" in refusal["error"], refusal
    assert names(p, ns) == ["after", "plain", "skip-me"]   # the previous (good) config stays
    assert p.alive()
    for l in log_lines(p):                                  # --log-format json: every line is one object
        d = json.loads(l)
        assert {"time", "level", "message"} <= d.keys() and d["time"].endswith("Z")
    assert lab.admin_token not in p.log.read_text()
