"""Trust (issue 10): offline, the cache answers only callers the apiserver allowed the same access
while it was reachable, with the apiserver's own 401/403 for everyone else; cached Secrets are not
readable from the disk.

The lab's admin token is system:masters and may impersonate; an impersonated "nobody" gets 403.
Outpost's own identity (a request without credentials) is the lab admin (its kubeconfig).
"""
import json
import os
import stat
import time
import urllib.parse

import pytest

from harness import Http, timed_request, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

SECRET_VALUE = "c3VwZXItc2VjcmV0LXZhbHVlLWZvci1lMmU="     # base64 of a value that must never be on disk


def q(s):
    return urllib.parse.quote(s, safe="")


@pytest.fixture(scope="module")
def world(lab, ns):
    lab.admin.json("POST", f"/api/v1/namespaces/{ns}/secrets",
                   {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "labels": {"app": "db"}},
                    "type": "Opaque", "data": {"password": SECRET_VALUE}})
    lab.admin.json("POST", f"/api/v1/namespaces/{ns}/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}})
    return ns


def ask(p, path, headers=None, timeout=10):
    st, hdrs, body, _ = timed_request(p.http, "GET", path, headers={"Accept": "application/json", **(headers or {})},
                                      timeout=timeout)
    return st, hdrs, body


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def callers(lab):
    return {
        "admin": bearer(lab.admin_token),
        "viewer": bearer(lab.viewer_token),
        "bogus": bearer("totally-bogus"),
        "basic": {"Authorization": "Basic eDp5"},
        "impersonated": {**bearer(lab.admin_token), "Impersonate-User": "nobody"},
        "outpost": {},
    }


def test_offline_answers_only_callers_the_apiserver_allowed(lab, world, proxy_factory):
    ns = world
    p, relay = proxy_factory()
    secrets = f"/api/v1/namespaces/{ns}/secrets"
    paths = {"list": secrets, "get": f"{secrets}/db", "watch": f"{secrets}?watch=true&timeoutSeconds=1"}
    who = callers(lab)
    online = {}
    for name, headers in who.items():
        for verb, path in paths.items():
            st, _, body = ask(p, path, headers)
            online[(name, verb)] = (st, body)
    # What the apiserver said (the lab's RBAC): admin, viewer and Outpost itself may read secrets.
    for name in ("admin", "viewer", "outpost"):
        assert online[(name, "list")][0] == 200, (name, online[(name, "list")])
    assert online[("bogus", "list")][0] == 401
    assert online[("basic", "list")][0] in (401, 403)      # no basic auth in 1.20: anonymous, refused
    assert online[("impersonated", "list")][0] == 403

    relay.set_mode("blackhole")
    wait_until(lambda: ask(p, secrets, who["admin"])[0] == 200, 15, what="an offline answer for the admin")
    wrong = []
    for name, headers in who.items():
        for verb, path in paths.items():
            st, hdrs, body = ask(p, path, headers)
            want, want_body = online[(name, verb)]
            leaked = SECRET_VALUE.encode() in body
            if want == 200:
                if st != 200 or hdrs.get("x-outpost-cache") != "hit" or (verb != "watch" and not leaked):
                    wrong.append((name, verb, st, body[:200]))
            else:
                if st != want or leaked:
                    wrong.append((name, verb, st, body[:200]))
                elif want_body and st in (401, 403):
                    # the apiserver's own Status, word for word
                    if json.loads(body) != json.loads(want_body):
                        wrong.append((name, verb, "body", body[:300], want_body[:300]))
    # Callers the apiserver never judged: no data, a 401.
    for headers in (bearer("never-seen-token"), {"Impersonate-User": "admin"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        st, _, body = ask(p, secrets, headers)
        if st != 401 or SECRET_VALUE.encode() in body:
            wrong.append(("never-seen", headers, st, body[:200]))
    # A caller the apiserver knows, for an access it never confirmed: 403, no data.
    st, _, body = ask(p, f"/api/v1/namespaces/{ns}/configmaps", who["viewer"])
    if st != 403:
        wrong.append(("viewer-unconfirmed-configmaps", st, body[:200]))
    assert wrong == [], wrong

    st, _, metrics = p.admin_http.request("GET", "/metrics")
    assert b'outpost_cache_refusals_total{reason="unauthorized"}' in metrics
    log = p.log.read_text(errors="replace")
    for token in ("totally-bogus", lab.admin_token, lab.viewer_token, "eDp5", SECRET_VALUE):
        assert token not in log, f"{token[:6]}... appears in Outpost's log"


def test_reboot_fast_path_checks_the_caller(lab, world, proxy_factory):
    """Finding 1b: in the first ~20 ms after a restart (the reboot fast path) a bogus token got the
    Secret. Restarted with the link cut, every caller goes through the same check."""
    ns = world
    p, relay = proxy_factory()
    secrets = f"/api/v1/namespaces/{ns}/secrets"
    assert ask(p, secrets, bearer(lab.admin_token))[0] == 200
    time.sleep(0.5)                       # the cache writer records the list and the caller
    relay.set_mode("blackhole")
    p.stop()
    p2, _ = proxy_factory(relay=relay, cache_dir=p.cache_dir, wait_ready=False)
    p2.wait_listening(30)
    results = [ask(p2, secrets, bearer("totally-bogus")) for _ in range(3)]
    assert [st for st, _, _ in results] == [401, 401, 401], [(st, b[:200]) for st, _, b in results]
    assert all(SECRET_VALUE.encode() not in b for _, _, b in results)
    st, _, body = ask(p2, secrets, bearer(lab.admin_token))
    assert st == 200 and SECRET_VALUE.encode() in body


def test_a_stolen_cache_file_yields_no_secret(lab, world, proxy_factory):
    """Findings 3: Secret bodies are sealed (XChaCha20-Poly1305, libsodium) with the key file's
    key; the key file is 0600. Names and labels stay plain for selectors."""
    ns = world
    p, _ = proxy_factory()
    assert ask(p, f"/api/v1/namespaces/{ns}/secrets", bearer(lab.admin_token))[0] == 200
    assert ask(p, f"/api/v1/namespaces/{ns}/configmaps", bearer(lab.admin_token))[0] == 200
    p.stop()                          # everything flushed to cache.db and its WAL
    cache = p.cache_dir
    blob = b"".join((cache / f).read_bytes() for f in os.listdir(cache)
                    if f.startswith("cache.db") and (cache / f).is_file())
    assert b'"name":"cfg"' in blob, "configmaps are cached in the clear (the test reads the right file)"
    assert SECRET_VALUE.encode() not in blob, "a Secret value is readable from the cache file"
    key = cache / "cache.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
