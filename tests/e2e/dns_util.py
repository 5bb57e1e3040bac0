"""dns_util - DNS for end-to-end tests: a dnsmasq started by the test on
127.0.0.1 (never the outside world), a black hole that takes queries and
never answers, and a tiny client to ask either.

dnsmasq runs with --no-resolv --no-hosts --conf-file=/dev/null, so it
answers only from the records the test gives (--host-record,
--ptr-record, --address ...) and forwards only where the test says
(--server=/zone/127.0.0.1#PORT); --log-queries writes every query to a
file the test reads.  It is the test's own child, ended by its pid
(Instance.spawn)."""

import os
import socket
import struct
import subprocess
import time

DNSMASQ = "/usr/sbin/dnsmasq"


def free_udp_tcp_port():
    """A port that is free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            t.close()
            u.close()
        return port
    raise AssertionError("no free UDP+TCP port on 127.0.0.1")


def query(port, name, qtype, timeout=1.0):
    """One UDP query to 127.0.0.1:port: (rcode, answer count), or None."""
    qid = os.getpid() & 0xffff
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        pkt += bytes([len(label)]) + label.encode()
    pkt += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(pkt, ("127.0.0.1", port))
        try:
            r = s.recv(4096)
        except (socket.timeout, ConnectionRefusedError):
            return None
    return r[3] & 0x0f, struct.unpack(">H", r[6:8])[0]


class BlackHole:
    """A UDP port that takes queries and never answers (nor refuses)."""

    def __init__(self, test):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        test.addCleanup(self.sock.close)


class Dnsmasq:
    """dnsmasq on 127.0.0.1:port with the test's records only."""

    def __init__(self, inst, records, probe=None):
        if not os.access(DNSMASQ, os.X_OK):
            raise AssertionError("%s is missing: install dnsmasq-base (tools/deps)" % DNSMASQ)
        self.port = free_udp_tcp_port()
        self.dir = os.path.join(inst.dir, "dnsmasq")
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o777)
        self.logfile = os.path.join(self.dir, "queries.log")
        argv = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null",
                "--no-resolv", "--no-hosts", "--pid-file=",
                "--port=%d" % self.port, "--listen-address=127.0.0.1",
                "--bind-interfaces", "--log-queries",
                "--log-facility=%s" % self.logfile] + list(records)
        with open(os.path.join(self.dir, "stderr"), "wb") as err:
            self.proc = inst.spawn(argv, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err)
        # Ready when it answers what the test gave it (or anything).
        name, qtype = probe or ("probe.invalid", 1)
        end = time.monotonic() + 10
        while query(self.port, name, qtype, 0.2) is None:
            if self.proc.poll() is not None or time.monotonic() > end:
                raise AssertionError("dnsmasq did not start: %s" % self.stderr())
            time.sleep(0.05)

    def stderr(self):
        try:
            with open(os.path.join(self.dir, "stderr"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def queries(self):
        """The names asked so far, as "TYPE name" strings."""
        out = []
        for line in self.log().splitlines():
            i = line.find(": query[")
            if i >= 0:
                t, _, rest = line[i + 8:].partition("] ")
                out.append("%s %s" % (t, rest.split(" from ")[0]))
        return out

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port
