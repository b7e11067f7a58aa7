#!/usr/bin/env python3
"""Connections that each stream an unbounded chunk extension (or trailer) at a server on
loopback, and what that costs it: peak RSS over idle RSS, and how soon each connection is
answered or closed.

  chunk_flood.py PORT PID [--connections 100] [--mode extension|trailer] [--max-mib 256]
                 [--seconds 10]

Every connection sends a chunked POST /api/v1/validate whose chunk line (or trailer line) never
ends, 64 KiB at a time, until the server answers or closes, --max-mib is sent, or --seconds pass.
Exit status 0 when every connection was answered with a 4xx or closed, else 1.
"""
import argparse
import select
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("pid", type=int)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--mode", choices=["extension", "trailer"], default="extension")
    ap.add_argument("--max-mib", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()

    head = (b"POST /api/v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    head += b"1;a=" if a.mode == "extension" else b"1\r\n{\r\n0\r\nX-T: "
    filler = b"a" * 65536
    idle = rss_kib(a.pid)
    start = time.monotonic()
    conns = {}
    for _ in range(a.connections):
        s = socket.create_connection(("127.0.0.1", a.port))
        s.setblocking(False)
        s.send(head)
        conns[s.fileno()] = {"sock": s, "sent": len(head), "answer": b"", "done": None}
    peak = idle
    limit = a.max_mib << 20
    while time.monotonic() - start < a.seconds:
        open_ = [c for c in conns.values() if c["done"] is None]
        if not open_:
            break
        socks = [c["sock"] for c in open_]
        writable = [c["sock"] for c in open_ if c["sent"] < limit]
        r, w, _ = select.select(socks, writable, [], 0.05)
        for s in r:
            c = conns[s.fileno()]
            try:
                data = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            c["answer"] += data
            if not data or b"\r\n\r\n" in c["answer"]:
                c["done"] = time.monotonic() - start
        for s in w:
            c = conns[s.fileno()]
            if c["done"] is not None:
                continue
            try:
                c["sent"] += s.send(filler)
            except BlockingIOError:
                pass
            except (ConnectionResetError, BrokenPipeError):
                c["done"] = time.monotonic() - start
        peak = max(peak, rss_kib(a.pid))
    peak = max(peak, rss_kib(a.pid))
    answered = [c for c in conns.values() if c["done"] is not None]
    statuses = {}
    for c in answered:
        line = c["answer"].split(b"\r\n", 1)[0].decode("latin1")
        key = line.split(" ")[1] if line.startswith("HTTP/") else "closed"
        statuses[key] = statuses.get(key, 0) + 1
    slowest = max((c["done"] for c in answered), default=float("nan"))
    sent_mib = sum(c["sent"] for c in conns.values()) / (1 << 20)
    print(f"mode={a.mode} connections={a.connections} answered={len(answered)} statuses={statuses}")
    print(f"idle_rss_mib={idle / 1024:.1f} peak_rss_mib={peak / 1024:.1f} "
          f"growth_mib={(peak - idle) / 1024:.1f} slowest_answer_s={slowest:.3f} sent_mib={sent_mib:.1f}")
    for c in conns.values():
        c["sock"].close()
    ok = len(answered) == a.connections and all(k.startswith("4") or k == "closed" for k in statuses)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
