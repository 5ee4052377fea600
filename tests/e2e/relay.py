#!/usr/bin/env python3
"""A small TCP relay that sits between Outpost and the kube-apiserver and can break the link.

It relays raw TCP (TLS passes through untouched: the apiserver's cert has SAN IP:127.0.0.1, so a
relay listening on 127.0.0.1 is transparent to the TLS client).

Modes (switchable at runtime):
  pass       relay bytes both ways (held data/connections resume)
  blackhole  a dead WAN: new connections are accepted but never forwarded, existing connections
             stop moving bytes; nobody is told anything (no FIN, no RST) -- clients must time out
  reset      every connection (existing and new) is closed with a TCP RST right away
  refuse     the listening socket is closed: new connections get ECONNREFUSED (existing ones are kept)
Commands:
  cut        abort all existing connections with RST now; the mode stays as it is
  cutafter N [MODE]
             arm a cut in the middle of a response: once N more bytes have been relayed towards the
             client (all connections together), the relay delivers exactly those N bytes, switches to
             MODE (default `blackhole`, so nothing retried gets through) and aborts every connection
             with RST. `status` shows what is left in `armed` (null when not armed).

Serve (a separate process; the demo and the e2e fixtures use it like this):
  relay.py --listen 127.0.0.1:16443 --target 127.0.0.1:6443 --control /tmp/relay.ctl [--mode pass]
Control (a line protocol on the unix socket; the answer is one JSON line):
  relay.py ctl --control /tmp/relay.ctl pass|blackhole|reset|refuse|cut|status
  relay.py ctl --control /tmp/relay.ctl cutafter 65536 blackhole
From Python: relay.control("/tmp/relay.ctl", "blackhole") -> dict
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import struct
import sys
import time

MODES = ("pass", "blackhole", "reset", "refuse")


def _hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def _rst(writer):
    """Close a connection with a TCP RST (SO_LINGER 0) instead of a FIN."""
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class Relay:
    def __init__(self, listen, target, mode="pass"):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode}")
        self.listen = listen
        self.target = target
        self.mode = mode
        self.flowing = asyncio.Event()
        if mode == "pass":
            self.flowing.set()
        self.server = None
        self.conns = set()          # set of Conn
        self.armed = None           # [bytes left, mode] while a `cutafter` is armed
        self.stats = {"accepted": 0, "forwarded": 0, "reset": 0, "cut": 0, "tripped": 0,
                      "bytes_up": 0, "bytes_down": 0, "upstream_errors": 0}

    async def start(self):
        if self.mode != "refuse":
            await self._open_listener()

    async def _open_listener(self):
        if self.server is None:
            self.server = await asyncio.start_server(self._on_client, self.listen[0], self.listen[1],
                                                     reuse_address=True)

    async def _close_listener(self):
        if self.server is not None:
            # close() stops listening at once; wait_closed() is not awaited because from
            # Python 3.12 on it also waits for the accepted connections, which we keep.
            self.server.close()
            self.server = None

    async def set_mode(self, mode):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        self.mode = mode
        if mode == "pass":
            self.flowing.set()
        else:
            self.flowing.clear()
        if mode == "refuse":
            await self._close_listener()
        else:
            await self._open_listener()
        if mode == "reset":
            self.cut()

    def cut(self):
        n = 0
        for c in list(self.conns):
            c.abort()
            n += 1
        self.stats["cut"] += n
        return n

    def arm(self, nbytes, mode="blackhole"):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        if nbytes < 0:
            raise ValueError("cutafter needs a byte count >= 0")
        self.armed = [nbytes, mode]

    async def trip(self, mode):
        """The armed cut fires (already disarmed by the caller): switch mode first (nothing new
        slips through), then RST everything."""
        self.stats["tripped"] += 1
        await self.set_mode(mode)
        self.cut()

    def status(self):
        return {"mode": self.mode, "listen": f"{self.listen[0]}:{self.listen[1]}",
                "target": f"{self.target[0]}:{self.target[1]}", "active": len(self.conns),
                "listening": self.server is not None, "armed": self.armed[0] if self.armed else None,
                **self.stats}

    async def _on_client(self, reader, writer):
        self.stats["accepted"] += 1
        if self.mode == "reset":
            self.stats["reset"] += 1
            _rst(writer)
            return
        conn = Conn(self, writer)
        self.conns.add(conn)
        try:
            await conn.run(reader)
        finally:
            self.conns.discard(conn)


class Conn:
    def __init__(self, relay, client_writer):
        self.relay = relay
        self.cw = client_writer
        self.uw = None
        self.tasks = []

    def abort(self):
        for w in (self.cw, self.uw):
            if w is not None:
                _rst(w)
        for t in self.tasks:
            t.cancel()

    async def run(self, client_reader):
        relay = self.relay
        me = asyncio.current_task()
        self.tasks.append(me)
        try:
            await relay.flowing.wait()          # blackhole: hold the new connection silently
            try:
                ur, self.uw = await asyncio.open_connection(*relay.target)
            except OSError:
                relay.stats["upstream_errors"] += 1
                _rst(self.cw)
                return
            relay.stats["forwarded"] += 1
            up = asyncio.ensure_future(self._pump(client_reader, self.uw, "bytes_up"))
            down = asyncio.ensure_future(self._pump(ur, self.cw, "bytes_down"))
            self.tasks += [up, down]
            await asyncio.gather(up, down, return_exceptions=True)
        except asyncio.CancelledError:
            pass
        finally:
            for w in (self.cw, self.uw):
                if w is not None and not w.transport.is_closing():
                    w.transport.close()

    async def _pump(self, reader, writer, counter):
        try:
            while True:
                data = await reader.read(65536)
                # a blackhole holds what it has read (and, by not reading further, everything the
                # kernel buffers behind it); `pass` delivers it late, like a WAN that came back.
                await self.relay.flowing.wait()
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                armed = self.relay.armed
                if armed is not None and counter == "bytes_down":
                    if len(data) >= armed[0]:
                        n, mode = armed
                        self.relay.armed = None          # disarm before awaiting: it fires once
                        writer.write(data[:n])
                        self.relay.stats[counter] += n
                        await writer.drain()
                        await self.relay.trip(mode)
                        return
                    armed[0] -= len(data)
                writer.write(data)
                self.relay.stats[counter] += len(data)
                await writer.drain()
        except (ConnectionError, OSError):
            self.abort()


async def _control_server(relay, path):
    async def handle(reader, writer):
        try:
            line = (await reader.readline()).decode().strip()
            cmd = line.split()[0] if line else "status"
            if cmd in MODES:
                await relay.set_mode(cmd)
                out = {"ok": True, **relay.status()}
            elif cmd == "cut":
                n = relay.cut()
                out = {"ok": True, "cut_now": n, **relay.status()}
            elif cmd == "cutafter":
                args = line.split()[1:]
                if not args:
                    raise ValueError("usage: cutafter BYTES [MODE]")
                relay.arm(int(args[0]), *(args[1:2]))
                out = {"ok": True, **relay.status()}
            elif cmd == "status":
                out = {"ok": True, **relay.status()}
            else:
                out = {"ok": False, "error": f"unknown command {cmd!r}"}
        except Exception as e:  # report, keep serving
            out = {"ok": False, "error": repr(e)}
        writer.write((json.dumps(out) + "\n").encode())
        await writer.drain()
        writer.close()

    if os.path.exists(path):
        os.unlink(path)
    return await asyncio.start_unix_server(handle, path)


def control(path, cmd, timeout=5.0):
    """Send one command to a running relay; returns the decoded JSON answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(path)
                s.sendall((cmd + "\n").encode())
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
            out = json.loads(buf)
            if not out.get("ok"):
                raise RuntimeError(f"relay control {cmd!r} failed: {out}")
            return out
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


async def _serve(args):
    relay = Relay(_hostport(args.listen), _hostport(args.target), args.mode)
    await relay.start()
    ctl = await _control_server(relay, args.control)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"relay {args.listen} -> {args.target} mode={args.mode} control={args.control}", flush=True)
    await stop.wait()
    relay.cut()
    await relay._close_listener()
    ctl.close()
    try:
        os.unlink(args.control)
    except OSError:
        pass


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "ctl":
        p = argparse.ArgumentParser(prog="relay.py ctl")
        p.add_argument("--control", required=True)
        p.add_argument("command", choices=MODES + ("cut", "cutafter", "status"))
        p.add_argument("args", nargs="*", help="cutafter: BYTES [MODE]")
        a = p.parse_args(argv[1:])
        print(json.dumps(control(a.control, " ".join([a.command, *a.args]))))
        return 0
    p = argparse.ArgumentParser(prog="relay.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", required=True, help="HOST:PORT to accept on")
    p.add_argument("--target", required=True, help="HOST:PORT to relay to")
    p.add_argument("--control", required=True, help="unix socket path for runtime control")
    p.add_argument("--mode", default="pass", choices=MODES)
    asyncio.run(_serve(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
