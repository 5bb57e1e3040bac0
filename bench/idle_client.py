#!/usr/bin/python3
"""idle_client - open many SMTP sessions that say EHLO and then wait.

    idle_client.py --port P --sessions N [--settle S] [--max-wait T]
                   [--sources K]

Opens N connections to 127.0.0.1:P (non-blocking, all at once), spread
over K source addresses 127.0.1.1 .. 127.0.1.K so that per-client
connection limits of either MTA do not decide the result.  Each session
reads the greeting, sends "EHLO idle.bench.test" and reads the reply; a
session that got its 250 is "served".  When nothing has progressed for S
seconds (or T seconds have passed), it prints

    READY {"served": .., "connected": .., "greeted": .., ...}

and holds every session open until a line (or EOF) arrives on stdin;
then it closes them all and prints DONE {...} with the final counts
(sessions the server closed while they were held, say).
"""

import argparse
import errno
import json
import resource
import selectors
import socket
import sys
import time

CONNECTING, GREETING, EHLO, SERVED, CLOSED = range(5)


class Session:
    __slots__ = ("sock", "state", "buf", "why")

    def __init__(self, sock):
        self.sock = sock
        self.state = CONNECTING
        self.buf = b""
        self.why = ""


def final_reply(buf):
    """The code of a complete (last line 'NNN ') reply in buf, or None."""
    lines = buf.split(b"\r\n")
    for line in lines[:-1]:
        if len(line) >= 4 and line[:3].isdigit() and line[3:4] == b" ":
            return int(line[:3])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sessions", type=int, required=True)
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--max-wait", type=float, default=60.0)
    ap.add_argument("--sources", type=int, default=100)
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.sessions + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    sel = selectors.DefaultSelector()
    sessions = []
    counts = {"connect_errors": 0}
    start = time.monotonic()
    for i in range(a.sessions):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        src = "127.0.1.%d" % (1 + i % max(1, min(a.sources, 250)))
        try:
            s.bind((src, 0))
            rc = s.connect_ex(("127.0.0.1", a.port))
        except OSError as e:
            rc = e.errno
        if rc not in (0, errno.EINPROGRESS):
            counts["connect_errors"] += 1
            s.close()
            continue
        sess = Session(s)
        sessions.append(sess)
        sel.register(s, selectors.EVENT_WRITE, sess)

    last_progress = time.monotonic()

    def progress():
        nonlocal last_progress
        last_progress = time.monotonic()

    def close(sess, why):
        sess.why = why
        sess.state = CLOSED
        try:
            sel.unregister(sess.sock)
        except (KeyError, ValueError):
            pass
        sess.sock.close()
        progress()

    def handle(sess, mask):
        if sess.state == CONNECTING:
            err = sess.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                close(sess, "connect: %s" % errno.errorcode.get(err, err))
                return
            sess.state = GREETING
            sel.modify(sess.sock, selectors.EVENT_READ, sess)
            progress()
            return
        try:
            data = sess.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            close(sess, "recv: %s" % e.strerror)
            return
        if not data:
            close(sess, "closed by server in state %d" % sess.state)
            return
        sess.buf += data
        if len(sess.buf) > 65536:
            close(sess, "reply too long")
            return
        code = final_reply(sess.buf)
        if code is None:
            return
        if sess.state == GREETING:
            if code != 220:
                close(sess, "greeting %d" % code)
                return
            sess.buf = b""
            sess.state = EHLO
            try:
                sess.sock.send(b"EHLO idle.bench.test\r\n")
            except OSError as e:
                close(sess, "send: %s" % e.strerror)
                return
            progress()
        elif sess.state == EHLO:
            sess.buf = b""
            if code != 250:
                close(sess, "EHLO reply %d" % code)
                return
            sess.state = SERVED
            progress()

    def loop_until(pred):
        while not pred():
            for key, mask in sel.select(timeout=0.2):
                handle(key.data, mask)

    loop_until(lambda: time.monotonic() - last_progress > a.settle
               or time.monotonic() - start > a.max_wait)

    def report():
        by = {s: 0 for s in range(5)}
        whys = {}
        for sess in sessions:
            by[sess.state] += 1
            if sess.state == CLOSED:
                key = sess.why.split(":")[0] if sess.why.startswith("connect") else sess.why
                whys[key] = whys.get(key, 0) + 1
        return {"sessions": a.sessions, "served": by[SERVED], "waiting_connect": by[CONNECTING],
                "waiting_greeting": by[GREETING], "waiting_ehlo": by[EHLO], "closed": by[CLOSED],
                "closed_why": whys, "connect_errors": counts["connect_errors"],
                "seconds": round(time.monotonic() - start, 3)}

    sys.stdout.write("READY %s\n" % json.dumps(report()))
    sys.stdout.flush()

    # Hold everything until told to stop; keep reading so that a server
    # that closes a session is noticed.
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    done = False
    while not done:
        for key, mask in sel.select(timeout=0.5):
            if key.data is None:
                sys.stdin.readline()
                done = True
            else:
                handle(key.data, mask)
    final = report()
    for sess in sessions:
        if sess.state != CLOSED:
            sess.sock.close()
    sys.stdout.write("DONE %s\n" % json.dumps(final))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
