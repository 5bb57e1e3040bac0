"""test_smtpd - the SMTP server end to end, on real instances run as root.

The instances run smtpd, cleanup and lookup only (their own master.cf):
without qmgr, every accepted message stays in incoming/, where the test
reads the queue file itself (smtp_util.QueueFile).  mynetworks is
192.0.2.0/24, so the test client (127.0.0.1) is a stranger: it may not
relay and may not pipeline illegally.
"""

import concurrent.futures
import os
import pwd
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import unittest

from harness import LIBEXEC, Instance, init_instance, main, proc_info, rss_kib, run, wait_for
from smtp_util import QueueFile, RawSMTP, queue

MASTER = """\
127.0.0.1:PORT inet n - y - 1 smtpd
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
"""

BASE = {
    "mynetworks": "192.0.2.0/24",
    "relay_domains": "relay.example",
    "smtpd_error_sleep_time": "0",
    "message_size_limit": "200000",
}

SMUGGLE = [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\n", b"\r\n.\n", b"\r.\r\n",
           b"\r\n.\r", b"\r\n\x00.\r\n", b"\r\r\n.\r\r\n", b"\n.\r\r\n",
           b"\r\n.\x00\r\n"]

SMUGGLED = (b"MAIL FROM:<evil@example.net>\r\nRCPT TO:<root@localhost>\r\n"
            b"DATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n")


def incoming(inst):
    return set(inst.queue_files("incoming"))


def proc_alive(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return "zombie" not in f.read()
    except OSError:
        return False


def smtpd_pids(inst):
    return [int(r["pid"]) for r in inst.procs("smtpd")]


class SharedInstance(unittest.TestCase):
    """Tests that can share one instance (they count queue files by diff)."""

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance(None, master_cf=MASTER, main_cf=BASE)
        try:
            cls.inst.start()
        except Exception:
            cls.inst.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def log_tail(self):
        return "\n---- maillog ----\n" + "\n".join(self.inst.log().splitlines()[-40:])

    def new_files(self, before, want, timeout=10.0):
        """Wait until exactly `want` files appeared since `before`."""
        end = time.monotonic() + timeout
        while True:
            new = sorted(incoming(self.inst) - before)
            if len(new) >= want or time.monotonic() > end:
                break
            time.sleep(0.05)
        self.assertEqual(len(new), want, "new queue files %r%s" % (new, self.log_tail()))
        return [QueueFile(os.path.join(self.inst.queue, "incoming", n)) for n in new]

    def raw(self):
        c = RawSMTP(self.inst.port)
        self.addCleanup(c.close)
        code, lines = c.reply()
        self.assertEqual(code, 220, lines)
        return c

    def ehlo(self, c, name="client.example"):
        code, lines = c.cmd("EHLO " + name)
        self.assertEqual(code, 250, lines)
        return lines

    # -- the common case --------------------------------------------------

    def test_privileges(self):
        pids = smtpd_pids(self.inst)
        self.assertTrue(pids)
        owner = pwd.getpwnam("postern")
        for pid in pids:
            uid, gid, root = proc_info(pid)
            self.assertEqual((uid, gid), (owner.pw_uid, owner.pw_gid))
            self.assertEqual(os.path.realpath(root), os.path.realpath(self.inst.queue))

    def test_smtplib_message(self):
        before = incoming(self.inst)
        body = (b"Subject: e2e test\r\nFrom: <a@example.org>\r\n\r\n"
                b".leading dot\r\nline\r\n..two dots\r\n.\r\nlast \xc3\xa9\r\n")
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=30) as s:
            s.ehlo("client.example")
            refused = s.sendmail("a@example.org", ["root@localhost", "postmaster"], body)
            self.assertEqual(refused, {})
        qf, = self.new_files(before, 1)
        self.assertEqual(qf.sender, "a@example.org")
        # cleanup may qualify the bare <postmaster> with myorigin.
        self.assertEqual(qf.rcpts[0], "root@localhost")
        self.assertRegex(qf.rcpts[1], r"^postmaster(@.*)?$")
        self.assertEqual(len(qf.rcpts), 2)
        self.assertEqual(qf.attrs.get("client_addr"), "127.0.0.1")
        self.assertEqual(qf.attrs.get("helo"), "client.example")
        self.assertEqual(qf.attrs.get("protocol"), "ESMTP")
        # smtplib dot-stuffed the content; what is stored is unstuffed, LF.
        self.assertEqual(qf.body, b".leading dot\nline\n..two dots\n.\nlast \xc3\xa9\n")
        hdrs = qf.headers()
        self.assertIn(("Subject", "e2e test"), hdrs)
        received = [v for k, v in hdrs if k.lower() == "received"]
        self.assertTrue(received, hdrs)
        self.assertIn("client.example", received[0])
        self.assertIn("127.0.0.1", received[0])
        self.assertIn("ESMTP", received[0])
        self.assertIn(qf.qid, received[0])
        self.inst.wait_log("%s: client=unknown[127.0.0.1]" % qf.qid)
        self.assertIn("connect from unknown[127.0.0.1]", self.inst.log())

    def test_swaks(self):
        before = incoming(self.inst)
        p = run(["swaks", "--server", "127.0.0.1", "--port", str(self.inst.port),
                 "--from", "swaks@example.org", "--to", "root@localhost",
                 "--ehlo", "swaks.example", "--header", "Subject: swaks",
                 "--body", "hello from swaks"], check=False)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out + p.stderr.decode())
        self.assertRegex(out, r"<-\s+250 2\.0\.0 Ok: queued as [0-9A-Z]{15}")
        qf, = self.new_files(before, 1)
        self.assertEqual(qf.sender, "swaks@example.org")
        self.assertEqual(qf.attrs.get("helo"), "swaks.example")
        self.assertIn(b"hello from swaks\n", qf.body)
        self.assertNotIn(b"\r", qf.body + qf.header)

    def test_concurrent_clients(self):
        """200 messages from 10 concurrent clients: 200 distinct files."""
        before = incoming(self.inst)

        def client(k):
            with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=60) as s:
                s.ehlo("c%d.example" % k)
                for i in range(20):
                    msg = ("Subject: load\r\nX-Marker: %d-%d\r\n\r\nbody %d %d\r\n"
                           % (k, i, k, i)).encode()
                    s.sendmail("load%d@example.org" % k, ["root@localhost"], msg)
            return k

        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            done = list(ex.map(client, range(10)))
        self.assertEqual(sorted(done), list(range(10)))
        files = self.new_files(before, 200, timeout=30)
        markers = set()
        for qf in files:
            m = re.search(rb"X-Marker: (\d+-\d+)", qf.header)
            self.assertIsNotNone(m, qf.header)
            markers.add(m.group(1))
        self.assertEqual(len(markers), 200)
        self.assertEqual(len({qf.qid for qf in files}), 200)

    def test_standalone_hands_to_cleanup(self):
        """smtpd -s without -D: the same protocol code, the real cleanup."""
        before = incoming(self.inst)
        p = subprocess.run(
            [os.path.join(LIBEXEC, "smtpd"), "-s", "192.0.2.5", "-c", self.inst.etc],
            input=b"HELO standalone.example\r\nMAIL FROM:<a@example.org>\r\n"
                  b"RCPT TO:<someone@example.net>\r\nDATA\r\nSubject: sa\r\n\r\n"
                  b"..body\r\n.\r\nQUIT\r\n",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        # 192.0.2.5 is in mynetworks: it may pipeline and relay.
        self.assertRegex(out, r"354 .*\r\n250 2\.0\.0 Ok: queued as [0-9A-Z]{15}\r\n221 ",
                         p.stderr.decode())
        qf, = self.new_files(before, 1)
        self.assertEqual(qf.attrs.get("client_addr"), "192.0.2.5")
        self.assertEqual(qf.attrs.get("protocol"), "SMTP")
        self.assertEqual(qf.rcpts, ["someone@example.net"])
        self.assertEqual(qf.body, b".body\n")

    # -- refusals -------------------------------------------------------

    def test_unknown_local_user(self):
        c = self.raw()
        self.ehlo(c)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        code, lines = c.cmd("RCPT TO:<nosuchuser-q7z@localhost>")
        self.assertEqual(code, 550, lines)
        self.assertEqual(lines[0], "550 5.1.1 <nosuchuser-q7z@localhost>: Recipient address "
                         "rejected: User unknown in local recipient table")
        self.inst.wait_log("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.1 "
                           "<nosuchuser-q7z@localhost>: Recipient address rejected: User "
                           "unknown in local recipient table; from=<a@example.org> "
                           "to=<nosuchuser-q7z@localhost> proto=ESMTP helo=<client.example>")

    def test_relay_denied(self):
        c = self.raw()
        self.ehlo(c)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        code, lines = c.cmd("RCPT TO:<someone@example.net>")
        # Postfix 3.7's default smtpd_relay_restrictions: defer_unauth_destination.
        self.assertEqual(lines, ["454 4.7.1 <someone@example.net>: Relay access denied"])
        # relay_domains is open to anyone.
        self.assertEqual(c.cmd("RCPT TO:<someone@relay.example>")[0], 250)

    def test_recipient_limit(self):
        """1000 recipients pass, the 1001st gets 452; 1000 are queued."""
        before = incoming(self.inst)
        c = self.raw()
        self.ehlo(c)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        c.send("".join("RCPT TO:<u%d@relay.example>\r\n" % i for i in range(1001)))
        codes = [c.reply() for _ in range(1001)]
        self.assertEqual([x[0] for x in codes[:1000]], [250] * 1000)
        self.assertEqual(codes[1000][1], ["452 4.5.3 Error: too many recipients"])
        self.assertEqual(c.cmd("DATA")[0], 354)
        code, lines = c.cmd("Subject: many\r\n\r\nbody\r\n.")
        self.assertEqual(code, 250, lines)
        qf, = self.new_files(before, 1)
        self.assertEqual(len(qf.rcpts), 1000)
        self.assertEqual(qf.rcpts[999], "u999@relay.example")

    def test_oversize(self):
        before = incoming(self.inst)
        c = self.raw()
        self.ehlo(c)
        code, lines = c.cmd("MAIL FROM:<a@example.org> SIZE=200001")
        self.assertEqual(lines, ["552 5.3.4 Message size exceeds fixed limit"])
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<root@localhost>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 250)
        code, lines = c.cmd(".")
        self.assertEqual(lines, ["552 5.3.4 Error: message file too big"])
        # The session goes on and a small message still goes through.
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<root@localhost>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        self.assertEqual(c.cmd("small\r\n.")[0], 250)
        self.new_files(before, 1)

    def test_command_too_long(self):
        c = self.raw()
        code, lines = c.cmd("NOOP " + "x" * (2049 - 5))
        self.assertEqual(lines, ["500 5.5.2 Error: command too long"])
        self.assertEqual(c.cmd("NOOP " + "x" * (2048 - 5))[0], 250)

    def test_endless_line(self):
        # The catalogue's never-ending line: stream up to 100 MB with no
        # LF.  smtpd discards it in pieces (its memory stays flat), and
        # once it is past 32 x line_length_limit answers 500 and closes.
        pid = smtpd_pids(self.inst)[0]
        rss_before = rss_kib(pid)
        c = self.raw()
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < 100 * 1024 * 1024:
                c.sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertLess(sent, 100 * 1024 * 1024,
                        "smtpd took 100 MB of one command line" + self.log_tail())
        code, lines = c.reply()
        self.assertEqual(lines, ["500 5.5.2 Error: command too long"], self.log_tail())
        self.assertTrue(c.eof())
        self.inst.wait_log("still going (line_length_limit 2048) from "
                           "unknown[127.0.0.1]; disconnecting")
        rss_after = rss_kib(pid)
        self.assertLess(rss_after - rss_before, 1024,
                        "smtpd RSS %d -> %d KiB" % (rss_before, rss_after))
        # The process serves the next client as before.
        self.assertEqual(self.raw().cmd("NOOP")[0], 250)

    def test_error_limit(self):
        c = self.raw()
        for i in range(19):
            self.assertEqual(c.cmd("BOGUS%d" % i)[1],
                             ["502 5.5.2 Error: command not recognized"])
        c.send("BOGUS19\r\n")
        self.assertEqual(c.reply()[0], 502)
        code, lines = c.reply()
        self.assertEqual(lines, ["421 4.7.0 %s Error: too many errors" % lines[0].split()[2]])
        self.assertTrue(c.eof())
        self.inst.wait_log("too many errors after UNKNOWN from unknown[127.0.0.1]")

    def test_illegal_pipelining(self):
        c = self.raw()
        c.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n")
        code, lines = c.reply()
        self.assertEqual(lines, ["554 5.5.0 Error: SMTP protocol synchronization"])
        self.assertTrue(c.eof())
        self.inst.wait_log("improper command pipelining after EHLO from unknown[127.0.0.1]")

    def test_legal_pipelining(self):
        before = incoming(self.inst)
        c = self.raw()
        self.ehlo(c)
        c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<root@localhost>\r\n"
               "RCPT TO:<nosuch-q9@localhost>\r\nDATA\r\n")
        self.assertEqual([c.reply()[0] for _ in range(4)], [250, 250, 550, 354])
        c.send("Subject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 221)
        self.new_files(before, 1)

    # -- smuggling ----------------------------------------------------------

    def test_smuggling_raw(self):
        """Each fake end: one queue file, smuggled text is content only."""
        for fake in SMUGGLE:
            with self.subTest(fake=fake):
                before = incoming(self.inst)
                c = self.raw()
                self.ehlo(c)
                self.assertEqual(c.cmd("MAIL FROM:<honest@example.org>")[0], 250)
                self.assertEqual(c.cmd("RCPT TO:<root@localhost>")[0], 250)
                self.assertEqual(c.cmd("DATA")[0], 354)
                c.send(b"Subject: smuggling test\r\n\r\nbody" + fake + SMUGGLED
                       + b"\r\n.\r\nQUIT\r\n")
                code, lines = c.reply()
                self.assertEqual(code, 250, lines)
                self.assertEqual(c.reply()[0], 221)
                self.assertTrue(c.eof())
                c.close()
                qf, = self.new_files(before, 1)
                self.assertEqual(qf.sender, "honest@example.org")
                self.assertEqual(qf.rcpts, ["root@localhost"])
                self.assertIn(b"MAIL FROM:<evil@example.net>\n", qf.body)
                self.assertIn(b"smuggled body\n", qf.body)
        self.assertNotIn("evil@example.net", self.inst.log())

    def test_smuggling_swaks(self):
        for fake in (b"\n.\n", b"\r\n.\n", b"\r.\r\n"):
            with self.subTest(fake=fake):
                before = incoming(self.inst)
                with tempfile.NamedTemporaryFile(suffix=".eml") as f:
                    f.write(b"Subject: swaks smuggling\r\n\r\nbody" + fake + SMUGGLED
                            + b"\r\n.\r\n")
                    f.flush()
                    p = run(["swaks", "--server", "127.0.0.1", "--port", str(self.inst.port),
                             "--from", "honest@example.org", "--to", "root@localhost",
                             "--data", "@" + f.name, "--no-data-fixup"], check=False)
                self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
                qf, = self.new_files(before, 1)
                self.assertEqual(qf.sender, "honest@example.org")
                self.assertIn(b"DATA\nSubject: smuggled\n", qf.body)
        self.assertNotIn("evil@example.net", self.inst.log())


class OwnInstance(unittest.TestCase):
    """A test with an instance of its own, BASE plus the class's MAIN."""

    MAIN = {}

    def setUp(self):
        self.inst = Instance(self, master_cf=MASTER, main_cf=dict(BASE, **self.MAIN))
        self.inst.start()

    def raw(self):
        c = RawSMTP(self.inst.port, timeout=20)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        return c


class RateLimit(OwnInstance):
    """smtpd_client_connection_rate_limit on its own instance."""

    MAIN = {
        "smtpd_client_connection_rate_limit": "3",
        "anvil_rate_time_unit": "1h",
        "smtpd_client_event_limit_exceptions": "127.0.0.3",
    }

    def test_connection_rate_per_client(self):
        # smtpd_client_connection_rate_limit: the fourth connection in the
        # unit gets 421 with the host name, is logged, and counts; another
        # address and an exempt one are not affected.
        for _ in range(3):
            c = self.raw()
            self.assertEqual(c.cmd("QUIT")[0], 221)
            c.close()
        c = RawSMTP(self.inst.port)
        self.addCleanup(c.close)
        self.assertRegex(c.line(), r"^421 4\.7\.0 \S+ Error: too many connections "
                                   r"from 127\.0\.0\.1$")
        self.assertTrue(c.eof())
        self.inst.wait_log("Connection rate limit exceeded: 4 from unknown[127.0.0.1]")
        other = RawSMTP(self.inst.port, source="127.0.0.2")
        self.addCleanup(other.close)
        self.assertEqual(other.reply()[0], 220)
        for _ in range(5):
            ex = RawSMTP(self.inst.port, source="127.0.0.3")
            self.assertEqual(ex.reply()[0], 220)
            self.assertEqual(ex.cmd("QUIT")[0], 221)
            ex.close()


class Timing(OwnInstance):
    """Small timeouts and a small client limit on their own instance."""

    MAIN = {
        "smtpd_timeout": "3s",
        "smtpd_client_limit": "3",
        "smtpd_client_connection_count_limit": "2",
    }

    def test_trickle_cut_off_while_others_served(self):
        before = incoming(self.inst)
        slow = self.raw()
        t0 = time.monotonic()
        gone = None
        sent_other = False
        for ch in b"EHLO slow.example\r\n":
            slow.send(bytes([ch]))
            if not sent_other:
                # Another client is served at full speed meanwhile.
                with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=20) as s:
                    s.sendmail("fast@example.org", ["root@localhost"],
                               b"Subject: fast\r\n\r\nfast\r\n")
                sent_other = time.monotonic()
            time.sleep(1.0)
            if slow.eof(timeout=0.01):
                gone = time.monotonic() - t0
                break
        self.assertIsNotNone(gone, "trickling client was never cut off")
        self.assertGreaterEqual(gone, 2.5)
        self.assertLess(gone, 6.0)
        self.assertLess(sent_other - t0, 2.0)
        self.assertIn(b"421 4.4.2", slow.buf)
        self.assertEqual(len(incoming(self.inst) - before), 1)
        self.inst.wait_log("timeout after CONNECT from unknown[127.0.0.1]")

    def test_trickle_data(self):
        before = incoming(self.inst)
        c = self.raw()
        self.assertEqual(c.cmd("HELO slow.example")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<root@localhost>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        t0 = time.monotonic()
        for _ in range(10):
            try:
                c.send(b"x")
            except OSError:
                break
            if c.eof(timeout=0.8):
                break
        took = time.monotonic() - t0
        self.assertIn(b"421 4.4.2", c.buf)
        self.assertLess(took, 6.0)
        self.assertEqual(incoming(self.inst) - before, set())
        self.inst.wait_log("timeout after DATA (")

    def test_connection_count_per_client(self):
        # 127.0.0.1 and 127.0.0.2 are both strangers (mynetworks is 192.0.2.0/24).
        held = [self.raw() for _ in range(2)]
        c = RawSMTP(self.inst.port)
        self.addCleanup(c.close)
        self.assertRegex(c.line(), r"^421 4\.7\.0 \S+ Error: too many connections "
                                   r"from 127\.0\.0\.1$")
        self.assertTrue(c.eof())
        self.inst.wait_log("connection concurrency limit exceeded: 3 from unknown[127.0.0.1]")
        # Another client address is still served.
        other = RawSMTP(self.inst.port, source="127.0.0.2")
        self.addCleanup(other.close)
        self.assertEqual(other.reply()[0], 220)
        # When one of the first client's sessions ends, it may connect again.
        self.assertEqual(held[0].cmd("QUIT")[0], 221)
        held[0].close()
        wait_for(lambda: "disconnect from unknown[127.0.0.1]" in self.inst.log(),
                 what="disconnect")
        self.assertEqual(self.raw().cmd("NOOP")[0], 250)

    def test_client_limit(self):
        # Full (smtpd_client_limit 3): a newcomer makes room by closing the
        # session that has shown the least progress (no MAIL, idle longest).
        held = [self.raw() for _ in range(2)]
        held.append(RawSMTP(self.inst.port, source="127.0.0.2", timeout=20))
        self.addCleanup(held[-1].close)
        self.assertEqual(held[-1].reply()[0], 220)
        self.assertEqual(held[1].cmd("HELO one.example")[0], 250)
        self.assertEqual(held[2].cmd("HELO two.example")[0], 250)
        c = RawSMTP(self.inst.port, source="127.0.0.3", timeout=20)
        self.addCleanup(c.close)
        self.assertEqual(c.reply()[0], 220)
        self.assertRegex(held[0].line(), r"^421 4\.7\.0 \S+ Error: too many sessions, "
                                         r"closing an idle one$")
        self.assertTrue(held[0].eof())
        self.inst.wait_log("overload: closing the session of unknown[127.0.0.1] after "
                           "CONNECT, no progress for ")
        self.inst.wait_log("to make room for 127.0.0.3")
        # Sessions inside a transaction that made progress just now are
        # not closed: then a newcomer is refused.
        for x in (held[1], held[2], c):
            if x is c:
                self.assertEqual(x.cmd("HELO three.example")[0], 250)
            self.assertEqual(x.cmd("MAIL FROM:<a@example.org>")[0], 250)
        d = RawSMTP(self.inst.port, source="127.0.0.4")
        self.addCleanup(d.close)
        self.assertEqual(d.line(), "421 4.3.2 Service temporarily unavailable")
        self.assertTrue(d.eof())
        # When one leaves, a new client is served again.
        self.assertEqual(held[1].cmd("QUIT")[0], 221)
        held[1].close()
        wait_for(lambda: self.inst.log().count("disconnect from unknown[127.0.0.1]") >= 2,
                 what="the second disconnect")
        e = RawSMTP(self.inst.port, source="127.0.0.4", timeout=20)
        self.addCleanup(e.close)
        self.assertEqual(e.reply()[0], 220)
        self.assertEqual(e.cmd("NOOP")[0], 250)

    def test_sigterm_finishes_sessions(self):
        before = incoming(self.inst)
        c = self.raw()
        self.assertEqual(c.cmd("HELO c.example")[0], 250)
        pid = smtpd_pids(self.inst)[0]
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: "stopping: 1 session to finish" in self.inst.log(), what="stop")
        # The running session goes on to the end.
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<root@localhost>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        self.assertEqual(c.cmd("after sigterm\r\n.")[0], 250)
        self.assertEqual(len(incoming(self.inst) - before), 1)
        self.assertTrue(os.path.exists("/proc/%d" % pid))
        self.assertEqual(c.cmd("QUIT")[0], 221)
        wait_for(lambda: not proc_alive(pid), timeout=10, what="old smtpd to exit")


class FullDisk(unittest.TestCase):
    """A queue file system with little room: 452 at MAIL, then recovery."""

    def setUp(self):
        self.mnt = None
        self.addCleanup(self.unmount)
        self.inst = Instance(self, master_cf=MASTER, main_cf=dict(BASE, **{
            "message_size_limit": "1m",
        }))
        # Put the queue on a small tmpfs and let init lay the tree there.
        run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", self.inst.queue])
        self.mnt = self.inst.queue
        # init again: it keeps the configuration and lays the queue tree.
        init_instance(self.inst.port, self.inst.dir)
        self.inst.start()

    def unmount(self):
        # Runs after the instance's own cleanup (cleanups run last first),
        # which could not remove the mount point.
        if self.mnt:
            subprocess.run(["umount", "-l", self.mnt], stderr=subprocess.DEVNULL)
            shutil.rmtree(self.inst.dir, ignore_errors=True)

    def mail_reply(self, want):
        """MAIL's reply in a new session when its code is want, else None."""
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=20) as s:
            s.ehlo("client.example")
            code, msg = s.mail("a@example.org")
        return (code, msg) if code == want else None

    def test_full_then_free(self):
        filler = os.path.join(self.inst.queue, "filler")
        st = os.statvfs(self.inst.queue)
        free = st.f_bavail * st.f_frsize
        # Leave 1 MiB: less than 1.5 x message_size_limit.
        with open(filler, "wb") as f:
            f.write(b"\0" * (free - 1024 * 1024))
        # smtpd looks at the free space at most once a second: until it
        # looks again a MAIL may still be taken (and this session ends
        # without a message).
        code, msg = wait_for(lambda: self.mail_reply(452), 15, what="452 at MAIL")
        self.assertEqual((code, msg), (452, b"4.3.1 Insufficient system storage"))
        self.inst.wait_log("NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 452 4.3.1 "
                           "Insufficient system storage")
        os.unlink(filler)
        wait_for(lambda: self.mail_reply(250), 15, what="250 at MAIL once there is room")
        before = incoming(self.inst)
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=20) as s:
            s.ehlo("client.example")
            self.assertEqual(s.sendmail("a@example.org", ["root@localhost"],
                                        b"Subject: room again\r\n\r\nok\r\n"), {})
        self.assertEqual(len(incoming(self.inst) - before), 1)


if __name__ == "__main__":
    main()
