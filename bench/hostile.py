#!/usr/bin/python3
"""hostile - the clients of the hostile scenario: an attack, a retry storm
and one legitimate client, each its own process.

    hostile.py attack --port P --idle N --idle-sources K --slow M
                      --slow-sources J --rcpt USER@DOMAIN [--trickle S]
    hostile.py storm --port P --rcpt NOBODY@DOMAIN [--source A]
    hostile.py legit --port P --rcpt USER@DOMAIN --messages N
                     --interval S [--timeout T] [--source A]

attack: N sessions that connect, read the greeting, say EHLO, read the
reply and then say nothing (from 127.2.I.1, I < K: a /24 each, N/K
sessions per address), and M slow-loris sessions (from 127.3.I.1) that
go as far as DATA and then send one byte every S seconds.  Every session
the server ends (a timeout, a 421, a reset) is opened again at once, as a
persistent attacker would; a refused connection after 0.5 s.  Every 5 s
it prints one line "STATS {...}" (sessions held of each kind, connections
made, 421 replies seen, sessions ended by the server), and runs until
stdin closes or SIGTERM: then "DONE {...}".

storm: one client (127.4.0.1) that connects, says EHLO, MAIL, RCPT to an
address the server refuses (550), QUIT, and connects again at once, as
fast as it can, until SIGTERM; then "DONE {...}" with the sessions, the
550 replies and the other replies it got.

legit: N messages, one connection each (smtplib, from 127.5.0.1), one
started every S seconds (each on its own thread, waiting at most T
seconds); prints "DONE {...}" with each message's outcome and its latency
(connect to the 250 after the content), in ms.
"""

import argparse
import errno
import heapq
import json
import resource
import selectors
import signal
import smtplib
import socket
import sys
import time

IDLE, SLOW = 0, 1
CONNECTING, GREETING, EHLO, MAIL, RCPT, DATA, HELD = range(7)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def final_code(buf):
    """(code, rest) of the first complete reply in buf, or (None, buf)."""
    while b"\r\n" in buf:
        line, buf = buf.split(b"\r\n", 1)
        if len(line) >= 4 and line[:3].isdigit() and line[3:4] == b" ":
            return int(line[:3]), buf
        if len(line) < 4 or line[3:4] != b"-":
            return 0, buf		# not SMTP: treated as a refusal
    return None, buf


class Slot:
    __slots__ = ("kind", "source", "sock", "state", "buf", "next_byte")

    def __init__(self, kind, source):
        self.kind = kind
        self.source = source
        self.sock = None
        self.state = CONNECTING
        self.buf = b""
        self.next_byte = 0.0


def attack(a):
    n = a.idle + a.slow
    limit = raise_nofile(n + 256)
    if limit < n + 64:
        n_idle = max(0, min(a.idle, limit - 64 - a.slow))
        sys.stderr.write("attack: RLIMIT_NOFILE %d: %d idle sessions instead of %d\n"
                         % (limit, n_idle, a.idle))
        a.idle = n_idle
    sel = selectors.DefaultSelector()
    slots = []
    for i in range(a.idle):
        slots.append(Slot(IDLE, "127.2.%d.1" % (i % a.idle_sources)))
    for i in range(a.slow):
        slots.append(Slot(SLOW, "127.3.%d.1" % (i % a.slow_sources)))
    counts = {"connects": 0, "connect_errors": 0, "refused_421": 0, "ended_by_server": 0,
              "trickled_bytes": 0}
    later = []			# (when, seq, slot): reconnect after a pause
    seq = 0
    stop = [False]

    def on_term(signum, frame):
        stop[0] = True
    signal.signal(signal.SIGTERM, on_term)
    sel.register(sys.stdin, selectors.EVENT_READ, None)

    def close(s):
        if s.sock is not None:
            try:
                sel.unregister(s.sock)
            except (KeyError, ValueError):
                pass
            s.sock.close()
        s.sock = None
        s.buf = b""

    def connect(s):
        s.state = CONNECTING
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.bind((s.source, 0))
            rc = sock.connect_ex(("127.0.0.1", a.port))
        except OSError as e:
            rc = e.errno
        if rc not in (0, errno.EINPROGRESS):
            sock.close()
            counts["connect_errors"] += 1
            retry(s, 1.0)
            return
        counts["connects"] += 1
        s.sock = sock
        s.state = GREETING
        sel.register(sock, selectors.EVENT_READ, s)

    def retry(s, pause):
        nonlocal seq
        close(s)
        seq += 1
        heapq.heappush(later, (time.monotonic() + pause, seq, s))

    def send(s, text):
        try:
            s.sock.sendall(text)	# a few bytes to a socket with room
        except OSError:
            counts["ended_by_server"] += 1
            retry(s, 0.0)
            return False
        return True

    def step(s, code):
        if code is None:
            return
        want = {GREETING: 220, EHLO: 250, MAIL: 250, RCPT: 250, DATA: 354}.get(s.state)
        if code != want:
            if code == 421:
                counts["refused_421"] += 1
            else:
                counts["ended_by_server"] += 1
            retry(s, 0.5 if s.state == GREETING else 0.0)
            return
        if s.state == GREETING:
            s.state = EHLO
            send(s, b"EHLO attacker.example\r\n")
        elif s.state == EHLO and s.kind == IDLE:
            s.state = HELD
        elif s.state == EHLO:
            s.state = MAIL
            send(s, b"MAIL FROM:<slow@attacker.example>\r\n")
        elif s.state == MAIL:
            s.state = RCPT
            send(s, b"RCPT TO:<%s>\r\n" % a.rcpt.encode())
        elif s.state == RCPT:
            s.state = DATA
            send(s, b"DATA\r\n")
        elif s.state == DATA:
            s.state = HELD
            s.next_byte = time.monotonic() + a.trickle

    for s in slots:
        connect(s)
    start = time.monotonic()
    next_stats = start + 5
    next_trickle = start + 1
    while not stop[0]:
        now = time.monotonic()
        timeout = 0.5
        if later:
            timeout = max(0.0, min(timeout, later[0][0] - now))
        for key, ev in sel.select(timeout):
            s = key.data
            if s is None:
                if not sys.stdin.buffer.read1(4096):
                    stop[0] = True
                continue
            try:
                data = s.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                counts["ended_by_server"] += 1
                retry(s, 0.0)
                continue
            if s.state == HELD:
                code, s.buf = final_code(s.buf + data)
                if code == 421:
                    counts["refused_421"] += 1
                retry(s, 0.0)		# anything said to a held session ends it
                continue
            code, s.buf = final_code(s.buf + data)
            step(s, code)
        now = time.monotonic()
        while later and later[0][0] <= now:
            _, _, s = heapq.heappop(later)
            connect(s)
        if now >= next_trickle:
            next_trickle = now + 1
            for s in slots:
                if s.kind == SLOW and s.state == HELD and s.next_byte <= now:
                    if send(s, b"x"):
                        counts["trickled_bytes"] += 1
                        s.next_byte = now + a.trickle
        if now >= next_stats:
            next_stats = now + 5
            print("STATS " + json.dumps(stats(slots, counts, now - start)), flush=True)
    print("DONE " + json.dumps(stats(slots, counts, time.monotonic() - start)), flush=True)
    for s in slots:
        close(s)


def stats(slots, counts, elapsed):
    d = dict(counts)
    d["t"] = round(elapsed, 1)
    d["idle_held"] = sum(1 for s in slots if s.kind == IDLE and s.state == HELD)
    d["slow_held"] = sum(1 for s in slots if s.kind == SLOW and s.state == HELD)
    d["open"] = sum(1 for s in slots if s.sock is not None)
    return d


def reply(sock, buf):
    """One whole reply: (code, buf left); code None at EOF."""
    while True:
        code, rest = final_code(buf)
        if code is not None:
            return code, rest
        data = sock.recv(4096)
        if not data:
            return None, b""
        buf += data


def storm(a):
    stop = [False]

    def on_term(signum, frame):
        stop[0] = True
    signal.signal(signal.SIGTERM, on_term)
    counts = {"sessions": 0, "refused_550": 0, "other": 0, "errors": 0}
    start = time.monotonic()
    while not stop[0]:
        try:
            with socket.create_connection(("127.0.0.1", a.port), timeout=30,
                                          source_address=(a.source, 0)) as sock:
                buf = b""
                code, buf = reply(sock, buf)
                if code != 220:
                    counts["other"] += 1
                    continue
                codes = []
                for cmd in (b"EHLO storm.example", b"MAIL FROM:<storm@attacker.example>",
                            b"RCPT TO:<%s>" % a.rcpt.encode()):
                    sock.sendall(cmd + b"\r\n")
                    code, buf = reply(sock, buf)
                    codes.append(code)
                    if code is None or code >= 400:
                        break
                counts["sessions"] += 1
                if codes and codes[-1] == 550:
                    counts["refused_550"] += 1
                else:
                    counts["other"] += 1
                sock.sendall(b"QUIT\r\n")
                reply(sock, buf)
        except OSError:
            counts["errors"] += 1
            time.sleep(0.01)
    counts["t"] = round(time.monotonic() - start, 1)
    print("DONE " + json.dumps(counts), flush=True)


def legit(a):
    """Message i starts at i * interval, each on its own thread, so that a
    slow answer to one does not delay the next; each waits at most
    timeout.  SIGTERM, or the end, prints what came."""
    import threading
    out = [None] * a.messages
    body = ("Subject: legitimate %d\r\n\r\n" + "A line of a legitimate message.\r\n" * 60)

    def one(i):
        t0 = time.monotonic()
        try:
            with smtplib.SMTP("127.0.0.1", a.port, timeout=a.timeout,
                              source_address=(a.source, 0)) as s:
                s.ehlo("legit.example")
                s.sendmail("legit@client.example", [a.rcpt], (body % i).encode())
                ms = (time.monotonic() - t0) * 1000
            out[i] = {"ok": True, "ms": round(ms, 1)}
        except (smtplib.SMTPException, OSError) as e:
            out[i] = {"ok": False, "ms": round((time.monotonic() - t0) * 1000, 1),
                      "error": ("%s: %s" % (type(e).__name__, e))[:200]}

    def report(signum=None, frame=None):
        done = [x if x is not None else {"ok": False, "ms": None, "error": "no answer yet"}
                for x in out]
        print("DONE " + json.dumps({"messages": done}), flush=True)
        if signum is not None:
            sys.exit(0)
    signal.signal(signal.SIGTERM, report)
    threads = []
    start = time.monotonic()
    for i in range(a.messages):
        due = start + i * a.interval
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        t = threading.Thread(target=one, args=(i,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    report()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=("attack", "storm", "legit"))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rcpt", required=True)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--idle-sources", type=int, default=200)
    ap.add_argument("--slow", type=int, default=2000)
    ap.add_argument("--slow-sources", type=int, default=40)
    ap.add_argument("--trickle", type=float, default=5.0)
    ap.add_argument("--source", default=None)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()
    if a.role == "attack":
        attack(a)
    elif a.role == "storm":
        a.source = a.source or "127.4.0.1"
        storm(a)
    else:
        a.source = a.source or "127.5.0.1"
        legit(a)


if __name__ == "__main__":
    main()
