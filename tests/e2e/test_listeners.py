"""Listeners that authenticate local clients themselves (issue 10, requirement 1) and listeners that
cannot bind (finding 5): HTTPS with client certificates checked against the cluster CA, a Unix
socket with the file mode asked for, and a non-zero exit naming the address when any listener
cannot be opened. Certificates are minted here with openssl from the lab's CA."""
import json
import os
import socket
import ssl
import stat
import subprocess
import time

import pytest

from harness import LAB_RUN, free_port, outpost_binary

pytestmark = pytest.mark.usefixtures("outpost_only")

PKI = LAB_RUN / "pki"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def mint(dirpath, name, ca_crt, ca_key, subject, ext):
    (dirpath / f"{name}.ext").write_text(ext)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-subj", subject,
            "-out", f"{name}.csr", cwd=dirpath)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca_crt), "-CAkey", str(ca_key),
            "-CAserial", "serial.srl", "-CAcreateserial", "-days", "2", "-sha256", "-extfile", f"{name}.ext",
            "-out", f"{name}.crt", cwd=dirpath)
    return dirpath / f"{name}.crt", dirpath / f"{name}.key"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not (PKI / "ca.key").exists():
        pytest.skip("the lab's CA key is not available")
    d = tmp_path_factory.mktemp("pki")
    ca_crt, ca_key = PKI / "ca.crt", PKI / "ca.key"
    server = mint(d, "server", ca_crt, ca_key, "/CN=outpost-local",
                  "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    kubelet = mint(d, "kubelet", ca_crt, ca_key, "/O=system:nodes/CN=system:node:edge-e2e",
                   "extendedKeyUsage=clientAuth\n")
    # Another CA, and a client certificate it signed.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-subj", "/CN=not-the-cluster-ca",
            "-days", "2", "-out", "other-ca.crt", cwd=d)
    stranger = mint(d, "stranger", d / "other-ca.crt", d / "other-ca.key", "/CN=stranger",
                    "extendedKeyUsage=clientAuth\n")
    return {"server": server, "kubelet": kubelet, "stranger": stranger, "ca": ca_crt}


def https_get(port, path, ca, client=None, max_version=None):
    """-> the raw response bytes; raises ssl.SSLError / ConnectionError when refused."""
    ctx = ssl.create_default_context(cafile=str(ca))
    if max_version:
        ctx.maximum_version = max_version
    if client:
        ctx.load_cert_chain(str(client[0]), str(client[1]))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return data
                data += chunk


def test_https_listener_takes_only_cluster_signed_client_certificates(proxy_factory, certs, ns):
    port = free_port()
    p, _ = proxy_factory(with_relay=False, extra_args=[
        "--secure-listen", f"127.0.0.1:{port}", "--tls-cert-file", certs["server"][0],
        "--tls-private-key-file", certs["server"][1]])  # --client-ca-file: the kubeconfig's CA
    data = https_get(port, f"/api/v1/namespaces/{ns}/configmaps", certs["ca"], client=certs["kubelet"])
    assert data.startswith(b"HTTP/1.1 200"), data[:300]
    assert b'"kind":"ConfigMapList"' in data

    for who, client in (("no certificate", None), ("another CA's certificate", certs["stranger"])):
        # TLS 1.2: the handshake itself fails.
        with pytest.raises((ssl.SSLError, ConnectionError)):
            https_get(port, "/api", certs["ca"], client=client, max_version=ssl.TLSVersion.TLSv1_2)
        # TLS 1.3: the client learns of the server's refusal on its first read; either way no
        # request gets through.
        try:
            data = https_get(port, "/api", certs["ca"], client=client)
        except (ssl.SSLError, ConnectionError):
            data = b""
        assert not data, f"{who}: got an answer {data[:200]!r}"
    # The plain listener is unchanged.
    st, _, _ = p.http.request("GET", f"/api/v1/namespaces/{ns}/configmaps")
    assert st == 200


def test_unix_socket_answers_with_the_mode_asked_and_is_removed_at_exit(proxy_factory, tmp_path, ns):
    path = tmp_path / "outpost.sock"
    # A stale socket file, as a crashed instance leaves it, is replaced.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    p, _ = proxy_factory(with_relay=False, extra_args=["--unix-socket", path])
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "--unix-socket", str(path),
                        f"http://localhost/api/v1/namespaces/{ns}/configmaps"], capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["kind"] == "ConfigMapList", r.stdout[:300]
    p.stop()
    assert not path.exists(), "the socket file is removed at exit"

    path2 = tmp_path / "private.sock"
    p2, _ = proxy_factory(with_relay=False, extra_args=["--unix-socket", path2, "--unix-socket-mode", "0600"])
    assert stat.S_IMODE(os.lstat(path2).st_mode) == 0o600


def run_expecting_failure(lab, tmp_path, args):
    cmd = [outpost_binary(), "serve", "--kubeconfig", str(lab.kubeconfig), "--cache-dir", str(tmp_path / "cache"),
           "--listen", f"127.0.0.1:{free_port()}", "--admin-listen", f"127.0.0.1:{free_port()}", *map(str, args)]
    started = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return r.returncode, r.stderr.decode(errors="replace"), time.monotonic() - started


@pytest.mark.parametrize("flag", ["--listen", "--admin-listen", "--secure-listen"])
def test_a_listener_that_cannot_bind_is_fatal(lab, certs, tmp_path, flag):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        args = [flag, f"127.0.0.1:{port}"]
        if flag == "--secure-listen":
            args += ["--tls-cert-file", certs["server"][0], "--tls-private-key-file", certs["server"][1]]
        rc, err, took = run_expecting_failure(lab, tmp_path, args)
    finally:
        holder.close()
    assert rc != 0, err
    assert f"cannot listen on 127.0.0.1:{port} ({flag}): Address already in use" in err, err[-2000:]
    assert took < 10


def test_a_unix_socket_path_that_is_not_ours_is_fatal(lab, tmp_path):
    regular = tmp_path / "not-a-socket"
    regular.write_text("keep me")
    rc, err, _ = run_expecting_failure(lab, tmp_path, ["--unix-socket", regular])
    assert rc != 0 and f"cannot listen on unix:{regular} (--unix-socket): {regular} exists and is not a socket" in err, err[-2000:]
    assert regular.read_text() == "keep me"

    live = tmp_path / "live.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(live))
    server.listen()
    try:
        rc, err, _ = run_expecting_failure(lab, tmp_path, ["--unix-socket", live])
    finally:
        server.close()
    assert rc != 0 and f"another process is serving {live}" in err, err[-2000:]


def test_credentials_in_the_request_line_never_reach_the_log(proxy_factory):
    """Finding 7: an absolute-form target with userinfo, and token-like query parameters, are
    redacted in the (debug-level) request log."""
    p, _ = proxy_factory(with_relay=False)
    for target in ("http://user:hunter2-secret@127.0.0.1/api?access_token=tok-abc123&limit=1",
                   "/api/v1/namespaces/default/configmaps?token=tok-def456&password=pw-789"):
        with socket.create_connection(("127.0.0.1", p.port), timeout=10) as s:
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nCookie: session=cookie-xyz\r\n"
                      f"Authorization: Bearer bearer-qrs\r\nConnection: close\r\n\r\n".encode())
            while s.recv(65536):
                pass
    time.sleep(0.3)
    log = p.log.read_text(errors="replace")
    assert "REDACTED@127.0.0.1/api?access_token=REDACTED&limit=1" in log, log[-3000:]
    for secret in ("hunter2", "tok-abc123", "tok-def456", "pw-789", "cookie-xyz", "bearer-qrs"):
        assert secret not in log, f"{secret} reached the log"
