"""test_peername - smtpd names its clients as Postfix does (the PTR name,
taken only when it resolves back to the client's address), with c-ares on
its event loop, against a dnsmasq the test starts on 127.0.0.1.

Clients connect from 127.0.0.1, 127.0.0.2 and 127.0.0.3 (all loopback):
  127.0.0.1  PTR mail.example.org, A 127.0.0.1: confirmed
  127.0.0.2  PTR liar.example.org, whose A is 192.0.2.7: "unknown"
  127.0.0.3  its PTR zone is forwarded to a black hole: no answer
The instances run smtpd (chrooted, as always), cleanup and lookup only:
without qmgr every accepted message stays in incoming/, where the test
reads the Received: header cleanup wrote from smtpd's client_name.
"""

import os
import re
import time
import unittest

from dns_util import BlackHole, Dnsmasq
from harness import Instance, main, wait_for
from smtp_util import QueueFile, RawSMTP

MASTER = """\
127.0.0.1:PORT inet n - y - 1 smtpd
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
"""

BOUND = 2   # smtpd_peername_lookup_timeout of the test instances, seconds


class PeerNameTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(self, master_cf=MASTER)
        self.hole = BlackHole(self)
        self.dns = Dnsmasq(self.inst, [
            "--host-record=mail.example.org,127.0.0.1",
            "--ptr-record=2.0.0.127.in-addr.arpa,liar.example.org",
            "--address=/liar.example.org/192.0.2.7",
            "--server=/3.0.0.127.in-addr.arpa/127.0.0.1#%d" % self.hole.port,
        ], probe=("mail.example.org", 1))

    def start(self, **settings):
        main_cf = {
            "smtpd_peername_lookup": "yes",
            "smtpd_peername_lookup_timeout": "%ds" % BOUND,
            "resolver_servers": self.dns.server,
            "smtpd_error_sleep_time": "0",
        }
        main_cf.update(settings)
        self.inst.set_main(main_cf)
        self.inst.start()

    def connect(self, source):
        c = RawSMTP(self.inst.port, timeout=15, source=source)
        self.addCleanup(c.close)
        return c

    def greet(self, c):
        code, lines = c.reply()
        self.assertEqual(code, 220, "%s%s" % (lines, self.tail()))
        return lines

    def send_message(self, c, helo):
        self.assertEqual(c.cmd("EHLO %s" % helo)[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<root@localhost>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        code, lines = c.cmd("Subject: peer\r\n\r\nbody\r\n.")
        self.assertEqual(code, 250, lines)
        qid = re.search(r"queued as ([0-9A-Z]+)", lines[-1]).group(1)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        return QueueFile(os.path.join(self.inst.queue, "incoming", qid))

    def tail(self):
        return ("\n---- maillog ----\n" + "\n".join(self.inst.log().splitlines()[-30:])
                + "\n---- dnsmasq ----\n" + "\n".join(self.dns.log().splitlines()[-30:]))

    def received(self, qf):
        return [v for k, v in qf.headers() if k.lower() == "received"][0]

    # -- the tests ---------------------------------------------------------

    def test_forward_confirmed_name(self):
        self.start()
        c = self.connect("127.0.0.1")
        self.greet(c)
        qf = self.send_message(c, "helo.example.net")
        self.inst.wait_log("disconnect from mail.example.org[127.0.0.1]")
        log = self.inst.log()
        self.assertIn("connect from mail.example.org[127.0.0.1]", log, self.tail())
        self.assertIn("%s: client=mail.example.org[127.0.0.1]" % qf.qid, log)
        self.assertRegex(log, r"disconnect from mail\.example\.org\[127\.0\.0\.1\] "
                              r"ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5")
        self.assertNotIn("unknown[127.0.0.1]", log)
        self.assertEqual(qf.attrs.get("client_name"), "mail.example.org")
        self.assertTrue(self.received(qf).startswith(
            "from helo.example.net (mail.example.org [127.0.0.1])"), self.received(qf))
        # The PTR, then the forward lookup, through the test's dnsmasq.
        q = self.dns.queries()
        self.assertIn("PTR 1.0.0.127.in-addr.arpa", q)
        self.assertIn("A mail.example.org", q)

    def test_name_that_does_not_resolve_back(self):
        self.start()
        c = self.connect("127.0.0.2")
        self.greet(c)
        qf = self.send_message(c, "liar.example.org")
        self.inst.wait_log("disconnect from unknown[127.0.0.2]")
        log = self.inst.log()
        self.assertIn("connect from unknown[127.0.0.2]", log, self.tail())
        self.assertIn("warning: hostname liar.example.org does not resolve to "
                      "address 127.0.0.2", log)
        self.assertNotIn("liar.example.org[", log)
        self.assertEqual(qf.attrs.get("client_name"), "unknown")
        self.assertTrue(self.received(qf).startswith(
            "from liar.example.org (unknown [127.0.0.2])"), self.received(qf))
        self.assertIn("A liar.example.org", self.dns.queries())

    def test_no_answer_within_the_bound(self):
        self.start()
        t0 = time.monotonic()
        slow = self.connect("127.0.0.3")
        # Meanwhile another client is served, mail and all.
        fast = self.connect("127.0.0.1")
        self.greet(fast)
        qf = self.send_message(fast, "fast.example")
        self.assertEqual(qf.attrs.get("client_name"), "mail.example.org")
        self.assertLess(time.monotonic() - t0, BOUND - 0.5,
                        "the second client waited for the first" + self.tail())
        self.assertNotIn("[127.0.0.3]", self.inst.log())
        # The first gets its greeting once the bound has passed.
        self.greet(slow)
        waited = time.monotonic() - t0
        self.assertGreaterEqual(waited, BOUND - 0.2)
        self.assertLess(waited, BOUND + 3)
        self.inst.wait_log("connect from unknown[127.0.0.3]")
        self.assertIn("warning: name lookup for 127.0.0.3 took more than %ds "
                      "(smtpd_peername_lookup_timeout); the client is unknown" % BOUND,
                      self.inst.log())
        self.assertIn("PTR 3.0.0.127.in-addr.arpa", self.dns.queries())
        self.assertEqual(slow.cmd("QUIT")[0], 221)
        self.inst.wait_log("disconnect from unknown[127.0.0.3] quit=1 commands=1")

    def test_talk_before_the_greeting_while_waiting(self):
        self.start(mynetworks="192.0.2.0/24")
        c = self.connect("127.0.0.3")
        c.send("EHLO eager.example\r\n")
        code, lines = c.reply()
        self.assertEqual(code, 554, lines)
        self.inst.wait_log("improper command pipelining after CONNECT from "
                           "unknown[127.0.0.3]: EHLO eager.example")

    def test_lookup_off_sends_no_query(self):
        self.start(smtpd_peername_lookup="no")
        before = self.dns.queries()
        c = self.connect("127.0.0.1")
        self.greet(c)
        qf = self.send_message(c, "quiet.example")
        self.inst.wait_log("disconnect from unknown[127.0.0.1]")
        self.assertIn("connect from unknown[127.0.0.1]", self.inst.log())
        self.assertEqual(qf.attrs.get("client_name"), "unknown")
        # dnsmasq logs each query as it comes: none came.
        self.assertEqual(self.dns.queries(), before, self.tail())

    def test_bad_resolver_servers_is_a_clear_error(self):
        # postern check (run by start) names the parameter, its value and
        # the reason; nothing is started on a configuration smtpd would
        # refuse.
        self.inst.set_main({"smtpd_peername_lookup": "yes",
                            "resolver_servers": "ns.example.org"})
        p = self.inst.postern("start", check=False)
        out = p.stdout.decode() + p.stderr.decode()
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn("resolver_servers = ns.example.org", out)
        self.assertIn("not an IPv4 or IPv6 address", out)
        c = self.inst.postern("check", check=False)
        self.assertNotEqual(c.returncode, 0)
        self.assertIn("resolver_servers = ns.example.org",
                      c.stdout.decode() + c.stderr.decode())

if __name__ == "__main__":
    main()
