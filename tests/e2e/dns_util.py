"""dns_util - DNS for end-to-end tests: a dnsmasq started by the test on
127.0.0.1 (never the outside world), a black hole that takes queries and
never answers, and a tiny client to ask either.

dnsmasq runs with --no-resolv --no-hosts --conf-file=/dev/null, so it
answers only from the records the test gives (--host-record,
--ptr-record, --address ...) and forwards only where the test says
(--server=/zone/127.0.0.1#PORT); --log-queries writes every query to a
file the test reads.  It is the test's own child, ended by its pid
(Instance.spawn).

SignedZoneDNS stands for a validating resolver (DANE tests): a UDP
responder thread that answers from the test's records and sets the AD
bit for the zones the test calls signed."""

import os
import socket
import struct
import subprocess
import threading
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


def _wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _read_name(msg, pos):
    """(lower-case name, position after it); queries are not compressed."""
    labels = []
    while True:
        n = msg[pos]
        if n == 0:
            return ".".join(labels).lower(), pos + 1
        if n & 0xc0:
            raise ValueError("compressed name in a query")
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n


class SignedZoneDNS:
    """A validating resolver's answers, as postern sees them: a UDP
    responder on 127.0.0.1 (a thread of the test, closed by its cleanup)
    that answers from the test's records only and sets the AD bit
    ("validated") for names under `secure` zones, when the query asked
    for DNSSEC (DO or AD bit, RFC 6840 section 5.7).  dnsmasq cannot
    set AD for its own data, hence this.

    records: {(name, type): [rdata bytes]}; mx(), a(), tlsa() build
    rdata.  servfail: names answered with SERVFAIL.  Names with no
    record of any type are NXDOMAIN, others without the type asked
    NODATA.  queries lists (name, type, do, ad) of every query."""

    A, MX, TLSA = 1, 15, 52

    def __init__(self, test, records=None, secure=(), servfail=()):
        self.records = dict(records or {})
        self.secure = set(secure)
        self.servfail = set(servfail)
        self.queries = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    @staticmethod
    def mx(pref, host):
        return struct.pack(">H", pref) + _wire_name(host)

    @staticmethod
    def a(addr):
        return socket.inet_aton(addr)

    @staticmethod
    def tlsa(usage, selector, mtype, data):
        return bytes([usage, selector, mtype]) + data

    def add(self, name, qtype, rdata):
        self.records.setdefault((name.lower(), qtype), []).append(rdata)

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        self.stopped = True
        self.thread.join(5)
        self.sock.close()

    def is_secure(self, name):
        return any(name == z or name.endswith("." + z) for z in self.secure)

    def _serve(self):
        while not self.stopped:
            try:
                msg, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self.answer(msg)
            except (ValueError, IndexError, struct.error):
                continue
            self.sock.sendto(reply, peer)

    def answer(self, msg):
        qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
        name, pos = _read_name(msg, 12)
        qtype, qclass = struct.unpack(">HH", msg[pos:pos + 4])
        question = msg[12:pos + 4]
        do = False
        p = pos + 4
        for _ in range(ar):                     # the OPT record, if any
            _, p = _read_name(msg, p)
            rtype, _, ttl, rdlen = struct.unpack(">HHIH", msg[p:p + 10])
            if rtype == 41:
                do = bool(ttl & 0x8000)
            p += 10 + rdlen
        ad_asked = bool(flags & 0x0020)
        with self.lock:
            self.queries.append((name, qtype, do, ad_asked))
            rrs = list(self.records.get((name, qtype), []))
            exists = any(n == name for n, _ in self.records)
            servfail = name in self.servfail
            secure = self.is_secure(name) and (do or ad_asked)
        rcode = 2 if servfail else 0 if rrs or exists else 3
        if servfail:
            rrs = []
        out_flags = 0x8000 | (flags & 0x0100) | 0x0080 | rcode
        if secure and not servfail:
            out_flags |= 0x0020
        body = b""
        for rd in rrs:
            body += b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 300, len(rd)) + rd
        return struct.pack(">HHHHHH", qid, out_flags, 1, len(rrs), 0, 0) + question + body
