#!/usr/bin/python3
"""A relay that sees requests: it ends the peer's TLS, counts the HTTP requests it forwards, and
opens its own TLS connection to the apiserver (scripts/bench/run's W5, W5long and W6).

tests/e2e/relay.py relays raw TCP, so it can count bytes but not requests: the WAN is TLS. The
benchmark must also say how many LISTs and WATCHes a peer sent upstream (the relists an outage
costs), so this relay terminates the peer's TLS with a certificate of the lab's CA (the peer
already trusts that CA; SAN IP:127.0.0.1, like the apiserver's) and parses the request heads.

  * Bytes are counted on the peer's side as they cross the wire, TLS records and handshakes
    included (the TLS is kept in memory BIOs for that): the same figure a raw relay gives.
  * ALPN offers http/1.1 only. Go's client (kubectl proxy) would speak HTTP/2 to the apiserver
    and falls back to HTTP/1.1 here: one connection per concurrent watch instead of one for all.
    Its bytes differ from an HTTP/2 run by a few handshakes and header bytes; bodies dominate.
  * One process serves many listeners (W6: a whole fleet, one listener per peer); each listener
    has its own counters. Modes apply to all listeners at once (a region's WAN goes down
    together), or to one port.

Modes: pass, blackhole (held connections and new ones move nothing), reset (every connection is
closed with a RST, new ones too), refuse (listeners closed). Control: a line on the unix socket,
one JSON line back:
  status                     {"ports": {"PORT": {bytes_up, bytes_down, accepted, requests: {...}}}}
  pass|blackhole|reset|refuse [PORT]

A request is classified as WATCH (watch=1/true or a /watch/ path), LIST (GET of a collection),
GET, another verb, or OTHER (non-resource paths such as /readyz); LIST and WATCH are also counted
by their resourceVersion ("LIST rv=0", "LIST rv=" for none, "LIST rv=N" for a number), and OTHER
also by path ("OTHER /readyz").
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MODES = ("pass", "blackhole", "reset", "refuse")


def classify(method, target):
    """-> (verb, rv kind or None) for a request line's method and target."""
    u = urlsplit(target)
    q = parse_qs(u.query, keep_blank_values=True)
    segs = [s for s in u.path.split("/") if s]
    if segs[:2] == ["api", "v1"]:
        rest = segs[2:]
    elif len(segs) >= 3 and segs[0] == "apis":
        rest = segs[3:]
    else:
        return "OTHER", None
    watch = q.get("watch", [""])[0] in ("1", "true")
    if rest[:1] == ["watch"]:
        watch, rest = True, rest[1:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    if not rest:
        return "OTHER", None
    rv = q.get("resourceVersion", [""])[0]
    kind = "" if rv == "" else ("0" if rv == "0" else "N")
    if method == "GET" and watch:
        return "WATCH", kind
    if method == "GET" and len(rest) == 1:
        return "LIST", kind
    if method == "GET":
        return "GET", None
    return method, None


def _rst(writer):
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class RequestCounter:
    """Frames HTTP/1.1 requests in the plaintext the peer sends (heads, Content-Length and chunked
    bodies) and counts them. After an Upgrade the rest of the stream is opaque."""

    def __init__(self, counts):
        self.counts = counts
        self.buf = b""
        self.body_left = 0        # bytes of a Content-Length body still to skip
        self.chunked = False
        self.opaque = False

    def feed(self, data):
        if self.opaque:
            return
        self.buf += data
        while self.buf:
            if self.body_left:
                k = min(self.body_left, len(self.buf))
                self.buf, self.body_left = self.buf[k:], self.body_left - k
                continue
            if self.chunked:
                line_end = self.buf.find(b"\r\n")
                if line_end < 0:
                    return
                size = int(self.buf[:line_end].split(b";")[0] or b"0", 16)
                if size == 0:                     # last chunk; trailers end with an empty line
                    end = self.buf.find(b"\r\n\r\n", line_end)
                    if self.buf[line_end:line_end + 4] == b"\r\n\r\n":
                        end = line_end
                    if end < 0:
                        return
                    self.buf, self.chunked = self.buf[end + 4:], False
                    continue
                self.buf = self.buf[line_end + 2:]
                self.body_left = size + 2
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 1 << 20:      # not HTTP/1.1 after all: stop parsing
                    self.opaque, self.buf = True, b""
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4:]
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) < 2:
                self.opaque, self.buf = True, b""
                return
            verb, rv = classify(parts[0], parts[1])
            self.counts[verb] = self.counts.get(verb, 0) + 1
            if verb == "OTHER":     # which: Outpost's health probes, discovery
                k = f"OTHER {urlsplit(parts[1]).path}"
                self.counts[k] = self.counts.get(k, 0) + 1
            if rv is not None:
                k = f"{verb} rv={rv}"
                self.counts[k] = self.counts.get(k, 0) + 1
            hdr = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                hdr[k.strip().lower()] = v.strip()
            if "upgrade" in hdr.get("connection", "").lower():
                self.opaque, self.buf = True, b""
                return
            if "chunked" in hdr.get("transfer-encoding", "").lower():
                self.chunked = True
            else:
                self.body_left = int(hdr.get("content-length", "0") or 0)


class Listener:
    def __init__(self, tap, port):
        self.tap, self.port = tap, port
        self.server = None
        self.conns = set()
        self.mode = "pass"
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.stats = {"accepted": 0, "bytes_up": 0, "bytes_down": 0, "upstream_errors": 0, "reset": 0}
        self.requests = {}

    async def open(self):
        if self.server is None:
            self.server = await asyncio.start_server(self.on_client, "127.0.0.1", self.port, reuse_address=True)

    def close(self):
        if self.server is not None:
            self.server.close()
            self.server = None

    async def set_mode(self, mode):
        self.mode = mode
        if mode == "pass":
            self.flowing.set()
        else:
            self.flowing.clear()
        if mode == "refuse":
            self.close()
        else:
            await self.open()
        if mode == "reset":
            for c in list(self.conns):
                c.abort()
                self.stats["reset"] += 1

    def status(self):
        return {"mode": self.mode, "active": len(self.conns), **self.stats, "requests": dict(self.requests)}

    async def on_client(self, reader, writer):
        self.stats["accepted"] += 1
        if self.mode == "reset":
            self.stats["reset"] += 1
            _rst(writer)
            return
        c = Conn(self, reader, writer)
        self.conns.add(c)
        try:
            await c.run()
        finally:
            self.conns.discard(c)


class Conn:
    def __init__(self, lst, reader, writer):
        self.lst, self.reader, self.writer = lst, reader, writer
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = lst.tap.server_ctx.wrap_bio(self.inc, self.out, server_side=True)
        self.uw = None
        self.tasks = []
        self.counter = RequestCounter(lst.requests)

    def abort(self):
        _rst(self.writer)
        if self.uw is not None:
            self.uw.transport.abort()
        for t in self.tasks:
            t.cancel()

    async def flush(self):
        data = self.out.read()
        if data:
            self.writer.write(data)
            self.lst.stats["bytes_down"] += len(data)
            await self.writer.drain()

    async def fill(self):
        """Read raw bytes from the peer into the TLS object; False at EOF."""
        data = await self.reader.read(65536)
        await self.lst.flowing.wait()      # blackhole: hold what was read, read nothing more
        if not data:
            return False
        self.lst.stats["bytes_up"] += len(data)
        self.inc.write(data)
        return True

    async def run(self):
        self.tasks.append(asyncio.current_task())
        try:
            await self.lst.flowing.wait()
            while True:
                try:
                    self.tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    await self.flush()
                    if not await self.fill():
                        return
            await self.flush()
            try:
                ur, self.uw = await asyncio.open_connection(self.lst.tap.target[0], self.lst.tap.target[1],
                                                            ssl=self.lst.tap.client_ctx,
                                                            server_hostname=self.lst.tap.target[0])
            except OSError:
                self.lst.stats["upstream_errors"] += 1
                _rst(self.writer)
                return
            up = asyncio.ensure_future(self.pump_up())
            down = asyncio.ensure_future(self.pump_down(ur))
            self.tasks += [up, down]
            await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
            for t in (up, down):
                t.cancel()
        except (asyncio.CancelledError, ConnectionError, OSError, ssl.SSLError):
            pass
        finally:
            for w in (self.writer, self.uw):
                if w is not None and not w.transport.is_closing():
                    w.transport.close()

    async def pump_up(self):
        while True:
            try:
                data = self.tls.read(65536)
            except ssl.SSLWantReadError:
                await self.flush()
                if not await self.fill():
                    return
                continue
            except ssl.SSLZeroReturnError:
                return
            if not data:
                return
            self.counter.feed(data)
            self.uw.write(data)
            await self.uw.drain()

    async def pump_down(self, ur):
        while True:
            data = await ur.read(65536)
            await self.lst.flowing.wait()
            if not data:
                return
            self.tls.write(data)
            await self.flush()


class Tap:
    def __init__(self, ports, target, cert, key, ca):
        self.target = target
        self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_ctx.load_cert_chain(cert, key)
        self.server_ctx.set_alpn_protocols(["http/1.1"])
        self.client_ctx = ssl.create_default_context(cafile=ca)
        self.client_ctx.set_alpn_protocols(["http/1.1"])
        self.listeners = {p: Listener(self, p) for p in ports}

    async def control(self, reader, writer):
        try:
            words = (await reader.readline()).decode().split() or ["status"]
            cmd = words[0]
            if cmd in MODES:
                which = [self.listeners[int(words[1])]] if len(words) > 1 else list(self.listeners.values())
                for lst in which:
                    await lst.set_mode(cmd)
                out = {"ok": True}
            elif cmd == "status":
                out = {"ok": True, "ports": {str(p): lst.status() for p, lst in self.listeners.items()}}
            else:
                out = {"ok": False, "error": f"unknown command {cmd!r}"}
        except Exception as e:   # report, keep serving
            out = {"ok": False, "error": repr(e)}
        writer.write((json.dumps(out) + "\n").encode())
        await writer.drain()
        writer.close()


async def serve(a):
    host, _, port = a.target.rpartition(":")
    tap = Tap([int(p) for p in a.ports.split(",")], (host, int(port)), a.cert, a.key, a.ca)
    for lst in tap.listeners.values():
        await lst.open()
    if os.path.exists(a.control):
        os.unlink(a.control)
    ctl = await asyncio.start_unix_server(tap.control, a.control)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    ctl.close()
    for lst in tap.listeners.values():
        lst.close()
        for c in list(lst.conns):
            c.abort()
    try:
        os.unlink(a.control)
    except OSError:
        pass


def make_cert(workdir, ca, ca_key):
    """A serving certificate for the tap signed by `ca` (SAN IP:127.0.0.1 and the names the lab's
    apiserver certificate has), made once in workdir -> (cert path, key path)."""
    d = Path(workdir)
    cert, key = d / "tap.crt", d / "tap.key"
    if not cert.exists():
        (d / "tap.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                                   "extendedKeyUsage=serverAuth\n"
                                   "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes\n")
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=outpost-bench-tap",
                        "-keyout", str(key), "-out", str(d / "tap.csr")], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-days", "2", "-in", str(d / "tap.csr"), "-CA", str(ca),
                        "-CAkey", str(ca_key), "-CAcreateserial", "-CAserial", str(d / "tap.srl"),
                        "-extfile", str(d / "tap.ext"), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def control(path, cmd, timeout=30.0):
    """One command to a running tap -> its JSON answer (raises when it says ok: false)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(path)
                s.sendall((cmd + "\n").encode())
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
            out = json.loads(buf)
            if not out.get("ok"):
                raise RuntimeError(f"tap control {cmd!r} failed: {out}")
            return out
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ports", required=True, help="comma-separated ports to listen on (127.0.0.1)")
    p.add_argument("--target", required=True, help="HOST:PORT of the apiserver")
    p.add_argument("--control", required=True, help="unix socket for runtime control")
    p.add_argument("--cert", required=True, help="serving certificate (SAN IP:127.0.0.1, signed by --ca)")
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True, help="CA bundle that verifies the apiserver")
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
