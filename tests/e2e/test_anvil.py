#!/usr/bin/env python3
"""anvil: per-client limits that hold across smtpd processes.

Two smtpd processes (two services on two ports, one process each, so
that the test decides which process a connection reaches) count their
clients through one anvil.  Counts only, never timing.  About 10 s.
"""

import os
import re
import signal
import unittest

from harness import Instance, free_port, main, wait_for
from smtp_util import RawSMTP

MASTER = """\
127.0.0.1:PORT inet n - y - 1 smtpd
127.0.0.1:PORT2 inet n - y - 1 smtpd
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
anvil unix - - y - 1 anvil
"""


class TwoProcesses(unittest.TestCase):
    MAIN = {
        "mynetworks": "192.0.2.0/24",           # loopback clients are strangers
        "smtpd_client_connection_count_limit": "2",
        "smtpd_client_network_connection_count_limit": "5",
        "smtpd_client_message_rate_limit": "3",
        "anvil_rate_time_unit": "1h",
    }

    def setUp(self):
        self.port2 = free_port()
        self.inst = Instance(self, master_cf=MASTER.replace("PORT2", str(self.port2)),
                             main_cf=self.MAIN)
        self.inst.start()
        pids = sorted(int(r["pid"]) for r in self.inst.procs("smtpd"))
        self.assertEqual(len(pids), 2, self.inst.procs("smtpd"))
        self.assertEqual(len(self.inst.procs("anvil")), 1, self.inst.status())

    def connect(self, source, port):
        """(client, greeting line): 220 when admitted, 421 when refused."""
        c = RawSMTP(port, timeout=20, source=source)
        self.addCleanup(c.close)
        return c, c.line() or ""

    def ports(self, i):
        return self.inst.port if i % 2 == 0 else self.port2

    def test_address_and_network_limits_hold_across_processes(self):
        admitted, refused = [], []
        # Three addresses of one /24, three connections each, alternating
        # between the two processes: each address may hold 2, the network 5.
        for i in range(9):
            src = "127.0.0.%d" % (1 + i // 3)
            c, line = self.connect(src, self.ports(i))
            (admitted if line.startswith("220 ") else refused).append((src, c, line))
        counts = {}
        for src, _, _ in admitted:
            counts[src] = counts.get(src, 0) + 1
        self.assertEqual(counts, {"127.0.0.1": 2, "127.0.0.2": 2, "127.0.0.3": 1},
                         [(s, l) for s, _, l in admitted + refused])
        for src, c, line in refused:
            self.assertRegex(line, r"^421 4\.7\.0 \S+ Error: too many connections from "
                             + re.escape(src) + "$")
            self.assertTrue(c.eof())
        log = self.inst.log()
        self.assertIn("warning: connection concurrency limit exceeded: 3 from "
                      "unknown[127.0.0.1]", log)
        self.assertIn("warning: network connection concurrency limit exceeded: 6 from "
                      "127.0.0.0/24", log)
        # Sessions that end give their places back, whichever process held them.
        for src, c, _ in admitted:
            if src == "127.0.0.1":
                self.assertEqual(c.cmd("QUIT")[0], 221)
                c.close()
        wait_for(lambda: self.inst.log().count("disconnect from unknown[127.0.0.1]") >= 3,
                 what="the sessions of 127.0.0.1 to end")
        for i in range(2):
            c, line = self.connect("127.0.0.1", self.ports(i + 1))
            self.assertTrue(line.startswith("220 "), line)
        c, line = self.connect("127.0.0.1", self.inst.port)
        self.assertTrue(line.startswith("421 "), line)

    def test_message_rate_across_processes(self):
        replies = []
        for i in range(5):
            c, line = self.connect("127.0.0.9", self.ports(i))
            self.assertTrue(line.startswith("220 "), line)
            self.assertEqual(c.cmd("HELO rate.example")[0], 250)
            replies.append(c.cmd("MAIL FROM:<a@example.org>"))
            c.cmd("QUIT")
            c.close()
        self.assertEqual([r[0] for r in replies], [250, 250, 250, 450, 450], replies)
        self.assertEqual(replies[3][1], ["450 4.7.1 Error: too much mail from 127.0.0.9"])
        self.inst.wait_log("warning: Message delivery request rate limit exceeded: 4 from "
                           "unknown[127.0.0.9]")

    def test_anvil_restart(self):
        # anvil is killed: the smtpd processes report the sessions they hold
        # to the new one, and the limits still hold.
        held = [self.connect("127.0.0.1", self.ports(i)) for i in range(2)]
        for _, line in held:
            self.assertTrue(line.startswith("220 "), line)
        old = int(self.inst.procs("anvil")[0]["pid"])
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: [r for r in self.inst.procs("anvil") if int(r["pid"]) != old],
                 timeout=30, what="a new anvil")
        # Each process notices (its keepalive), connects again and reports
        # the session it holds; then the limit holds as before.
        wait_for(lambda: self.inst.log().count("anvil: a new connection; 1 session "
                                               "reported again") == 2,
                 timeout=30, what="both smtpd processes to report their sessions")
        for i in range(2):
            _, line = self.connect("127.0.0.1", self.ports(i))
            self.assertTrue(line.startswith("421 4.7.0 "), line)
        self.assertNotIn("anvil is not answering", self.inst.log())


if __name__ == "__main__":
    main()
