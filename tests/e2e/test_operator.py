"""Operator commands (issue 13): `outpost status` from the running process, `outpost cache`
reading the cache file read-only (running and stopped, a sealed Secret shown only with the key)."""
import hashlib
import json
import subprocess

import pytest

from harness import outpost_binary, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

SECRET_VALUE = "b3BlcmF0b3Itc2VjcmV0LXZhbHVl"     # base64 of a value that must not be on disk in the clear


def outpost(*args, check=True, timeout=30):
    r = subprocess.run([str(outpost_binary()), *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"outpost {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="module")
def world(lab, ns):
    lab.admin.json("POST", f"/api/v1/namespaces/{ns}/secrets",
                   {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                    "type": "Opaque", "data": {"password": SECRET_VALUE}})
    for name in ("cfg-a", "cfg-b"):
        lab.admin.json("POST", f"/api/v1/namespaces/{ns}/configmaps",
                       {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}})
    return ns


def status(p, *extra, check=True):
    return outpost("status", "--admin-addr", f"127.0.0.1:{p.admin_port}", *extra, check=check)


def scope(doc, resource, ns):
    return next((s for s in doc["scopes"] if s["resource"] == resource and s["namespace"] == ns), None)


def test_status_online_then_offline(world, proxy_factory):
    ns = world
    p, relay = proxy_factory()
    assert p.http.json("GET", f"/api/v1/namespaces/{ns}/configmaps")["items"]
    # the list commits on the writer thread: wait for its scope
    doc = wait_until(lambda: (d := json.loads(status(p, "-o", "json").stdout)) and scope(d, "/v1/configmaps", ns) and d,
                     10, what="the configmaps scope in /status")
    assert doc["apiserver"]["state"] == "online"
    assert doc["apiserver"]["lastContact"] >= doc["now"] - 5
    s = scope(doc, "/v1/configmaps", ns)
    assert (s["complete"], s["objects"], s["format"], s["selector"]) == (True, 2, "json", ""), s
    assert doc["now"] - 30 <= s["lastSync"] <= doc["now"]
    assert doc["cache"]["mode"] == "cache" and doc["cache"]["fileBytes"] > 0 and doc["cache"]["writeFailures"] == 0
    assert [f["name"] for f in doc["filters"]] == ["skip-prefixed"]
    text = status(p).stdout
    assert "\x1b[" not in text, "no colours when stdout is not a terminal"
    assert text.startswith("apiserver  ONLINE since "), text
    assert "configmaps" in text and ns in text and "skip-prefixed" in text, text
    body = json.dumps(doc)
    assert "kube-lab-admin-token" not in body and SECRET_VALUE not in body

    relay.set_mode("refuse")        # cut the link: new connections refused, open ones reset
    relay.cut()
    doc = wait_until(lambda: (d := json.loads(status(p, "-o", "json").stdout))["apiserver"]["state"] == "offline" and d,
                     15, what="status offline")
    assert doc["apiserver"]["since"] >= doc["apiserver"]["lastContact"]
    assert "OFFLINE since" in status(p).stdout
    p.stop()
    r = status(p, check=False)
    assert r.returncode == 2 and "is it running" in r.stderr, r


def file_hash(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cache_ls_get_running_and_stopped(world, proxy_factory):
    ns = world
    p, _ = proxy_factory()
    p.http.json("GET", f"/api/v1/namespaces/{ns}/configmaps")
    p.http.json("GET", f"/api/v1/namespaces/{ns}/secrets")
    cache = str(p.cache_dir)
    wait_until(lambda: f"\"namespace\" : \"{ns}\"" in outpost("cache", "ls", "--cache-dir", cache, "-o", "json").stdout
               or ns in outpost("cache", "ls", "--cache-dir", cache, "-o", "json").stdout, 10, what="scopes in the cache")

    def check():
        ls = json.loads(outpost("cache", "ls", "--cache-dir", cache, "-o", "json").stdout)
        res = {r["resource"]: r for r in ls["resources"]}
        assert res["/v1/configmaps"]["objects"] >= 2
        assert res["/v1/secrets"]["sealedObjects"] >= 1
        text = outpost("cache", "ls", "--cache-dir", cache).stdout
        assert "configmaps" in text and "secrets" in text and ns in text and "complete" in text, text
        cm = json.loads(outpost("cache", "get", "configmaps", f"{ns}/cfg-b", "--cache-dir", cache).stdout)
        assert (cm["kind"], cm["metadata"]["name"], cm["data"]) == ("ConfigMap", "cfg-b", {"k": "cfg-b"})
        sec = json.loads(outpost("cache", "get", "secrets", f"{ns}/db", "--cache-dir", cache).stdout)
        assert sec["data"]["password"] == SECRET_VALUE
        r = outpost("cache", "get", "secrets", f"{ns}/db", "--cache-dir", cache,
                    "--encryption-key-file", cache + "/no-such.key", check=False)
        assert r.returncode == 3 and "sealed" in r.stderr and "no key file" in r.stderr, r
        assert SECRET_VALUE not in r.stdout + r.stderr
        r = outpost("cache", "get", "configmaps", f"{ns}/nope", "--cache-dir", cache, check=False)
        assert r.returncode == 1 and "not in the cache" in r.stderr, r
        st = json.loads(outpost("cache", "stats", "--cache-dir", cache, "-o", "json").stdout)
        assert st["objects"] >= 3 and st["databaseBytes"] > 0
        assert {r["resource"] for r in st["resources"]} >= {"/v1/configmaps", "/v1/secrets"}

    check()                      # while Outpost runs (WAL: a concurrent reader)
    p.stop()
    db = p.cache_dir / "cache.db"
    before = file_hash(db)
    check()                      # stopped
    assert file_hash(db) == before, "the operator commands wrote to cache.db"
    assert SECRET_VALUE.encode() not in db.read_bytes()


def verify(lab, p, *extra):
    return outpost("verify", "--kubeconfig", str(lab.kubeconfig), "--cache-dir", str(p.cache_dir), "-o", "json", *extra,
                   check=False, timeout=60)


def test_verify_clean_then_differences(lab, ns_factory, proxy_factory):
    ns = ns_factory("verify")
    for name in ("keep", "gone", "edited", "skip-me"):
        lab.admin.json("POST", f"/api/v1/namespaces/{ns}/configmaps",
                       {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}})
    p, _ = proxy_factory(with_relay=False)
    items = p.http.json("GET", f"/api/v1/namespaces/{ns}/configmaps")["items"]
    assert sorted(i["metadata"]["name"] for i in items) == ["edited", "gone", "keep"]     # skip-me is filtered
    p.stop()

    r = verify(lab, p)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    s = next(s for s in doc["scopes"] if s["namespace"] == ns)
    assert (doc["clean"], s["matching"], s["missing"], s["extra"]) == (True, 3, [], []), s

    # changed on the apiserver after the scope was cached: reported, not a difference
    lab.admin.json("POST", f"/api/v1/namespaces/{ns}/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"}, "data": {"k": "v"}})
    r = verify(lab, p)
    assert r.returncode == 0, r.stdout + r.stderr
    s = next(s for s in json.loads(r.stdout)["scopes"] if s["namespace"] == ns)
    assert [e["name"] for e in s["newerUpstream"]] == ["later"], s

    # differences introduced on purpose: deleted on the apiserver while Outpost is stopped (extra),
    # and a cached resourceVersion edited in the file (other rv)
    st, _, _ = lab.admin.request("DELETE", f"/api/v1/namespaces/{ns}/configmaps/gone")
    assert st == 200
    subprocess.run(["sqlite3", str(p.cache_dir / "cache.db"),
                    f"UPDATE objects SET rv_text='1', rv=1 WHERE gvr='/v1/configmaps' AND namespace='{ns}' AND name='edited'"],
                   check=True)
    r = verify(lab, p)
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    s = next(s for s in doc["scopes"] if s["namespace"] == ns)
    assert doc["clean"] is False
    assert [e["name"] for e in s["extra"]] == ["gone"], s
    assert [(e["name"], e["cached"]) for e in s["differentVersion"]] == [("edited", "1")], s
    text = outpost("verify", "--kubeconfig", str(lab.kubeconfig), "--cache-dir", str(p.cache_dir), check=False).stdout
    assert "extra" in text and f"{ns}/gone" in text and "cache differs from the apiserver" in text, text

    r = outpost("verify", "--kubeconfig", str(lab.kubeconfig), "--cache-dir", str(p.cache_dir / "nowhere"), check=False)
    assert r.returncode == 2 and "cannot read the cache" in r.stderr, r
