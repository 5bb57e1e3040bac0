"""End-to-end tests of qmgr's scheduling of remote destinations, with the
SMTP client delivering to test SMTP servers on loopback
(remote_util.Server, which counts connections and transactions in
progress at once):

- a server that answers 451 to every MAIL is not hammered: over the
  observation the connections it sees stay within one failed cohort plus
  one probe per dead time (minimal_backoff_time doubling up to
  maximal_backoff_time), far below what per-message retries would make;
  mailq shows the server's text; once it recovers, postqueue -f
  delivers everything;
- 2,000 messages to 50 destinations, queued while the servers are
  away and flushed at once when they are there: all delivered, and no
  destination ever sees more transactions at once than
  smtp_destination_concurrency_limit;
- fairness: a slow destination with many messages does not hold up a
  message for another destination that arrives after them, neither in
  the active queue nor beyond it: with a small qmgr_message_active_limit,
  a destination that never finishes takes half of it and the rest of
  its mail waits in incoming/, while mail for another destination goes;
- a rate delay: one delivery at a time to the destination.

Routes come from transport_maps ("smtp:[127.0.0.1]:PORT"), so no DNS is
needed.  No assertion is about time: the counts are compared with what
the settings allow for the time that actually passed.
"""

import os
import smtplib
import threading
import time
import unittest

from harness import BIN, Instance, free_port, main, run, wait_for
from delivery_util import flush, mailq
import remote_util


def quiet_ports(n):
    """n distinct TCP ports free on 127.0.0.1, below the kernel's
    ephemeral range (so no outgoing connection of the SMTP client takes
    one of them while the servers are away)."""
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


class SchedulerTest(unittest.TestCase):

    def instance(self, routes, main_cf=None):
        """An instance whose transport_maps send DOMAIN to its server."""
        inst = Instance(self)
        path = os.path.join(inst.etc, "transport")
        with open(path, "w") as f:
            for domain, where in routes.items():
                host, port = where if isinstance(where, tuple) else (where.host, where.port)
                f.write("%s smtp:[%s]:%d\n" % (domain, host, port))
        run([os.path.join(BIN, "postmap"), "-c", inst.etc, "hash:" + path])
        cf = {"transport_maps": "hash:" + path,
              "smtp_helo_name": "client.postern.test"}
        cf.update(main_cf or {})
        inst.set_main(cf)
        inst.start()
        self.inst = inst
        return inst

    def submit(self, inst, rcpts_per_message, subject="test"):
        """One SMTP session, one message per entry (a list of recipients)."""
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=60) as s:
            for i, rcpts in enumerate(rcpts_per_message):
                s.sendmail("sender@client.test", rcpts,
                           "From: sender@client.test\nSubject: %s %d\n\nbody\n" % (subject, i))

    def test_a_451_server_is_not_hammered(self):
        overloaded = {"on": True}
        server = remote_util.Server(
            self, name="busy.remote.test",
            mail=lambda s: "451 4.3.2 System overloaded, try again later\r\n"
            if overloaded["on"] else None)
        min_backoff, max_backoff, init = 2, 8, 5
        inst = self.instance({"busy.test": server},
                             {"minimal_backoff_time": "%ds" % min_backoff,
                              "maximal_backoff_time": "%ds" % max_backoff,
                              "queue_run_delay": "1s",
                              "smtp_initial_destination_concurrency": str(init)})
        n = 20
        start = time.monotonic()
        self.submit(inst, [["u%d@busy.test" % i] for i in range(n)])
        wait_for(lambda: "suspended for" in inst.log(), 30,
                 what="the destination suspended, in\n" + inst.log()[-3000:])
        # Watch for a while: mail keeps coming back from deferred/ every
        # second (queue_run_delay), but the destination stays suspended.
        time.sleep(12)
        elapsed = time.monotonic() - start
        conns = len(server.conns)
        # One failed cohort: the initial window, and each failure frees a
        # slot before the cohort is complete.  Then at most one probe per
        # dead time, and dead times are at least minimal_backoff_time.
        allowed = 2 * init + int(elapsed / min_backoff) + 1
        # Per-message retries without suspension would make about
        # n * elapsed / min_backoff connections.
        self.assertLessEqual(conns, allowed,
                             "%d connections in %.0fs, at most %d allowed; log:\n%s"
                             % (conns, elapsed, allowed, inst.log()[-4000:]))
        self.assertLess(allowed, n * elapsed / min_backoff / 2)
        self.assertEqual(len(server.messages), 0)
        self.assertRegex(inst.log(), r"postern/qmgr\[\d+\]: \w+: to=<u\d+@busy\.test>, "
                                     r"relay=none, .*status=deferred \(delivery "
                                     r"temporarily suspended: .*System overloaded")
        q = mailq(inst)
        self.assertIn("System overloaded", q)
        # The server recovers; postqueue -f ends the suspension at once.
        overloaded["on"] = False
        flush(inst)
        server.wait_messages(n, timeout=60)
        wait_for(lambda: not inst.queue_files("deferred") and not inst.queue_files("active"),
                 30, what="an empty queue")

    def test_2000_messages_to_50_destinations(self):
        # The servers are not there at first: every destination fails
        # and is suspended, and all the mail waits in deferred/.  Then
        # they come, and postqueue -f puts the whole backlog in front of
        # the scheduler at once.
        limit, n, ndest = 3, 2000, 50
        ports = quiet_ports(ndest)
        inst = self.instance({"d%d.test" % i: ("127.0.0.1", p) for i, p in enumerate(ports)},
                             {"smtp_destination_concurrency_limit": str(limit)})
        self.submit(inst, [["u%d@d%d.test" % (i, i % ndest)] for i in range(n)])
        wait_for(lambda: len(inst.queue_files("deferred")) == n, 300,
                 what="%d messages in deferred/" % n)
        servers = [remote_util.Server(self, port=p, name="d%d.remote.test" % i,
                                      data=lambda: time.sleep(0.01))
                   for i, p in enumerate(ports)]
        flush(inst)
        for s in servers:
            s.wait_messages(n // ndest, timeout=300)
        wait_for(lambda: not inst.queue_files("active") and not inst.queue_files("incoming")
                 and not inst.queue_files("deferred"), 60, what="an empty queue")
        got = sum(len(s.messages) for s in servers)
        self.assertEqual(got, n)
        most = [s.most_busy for s in servers]
        self.assertLessEqual(max(most), limit, "transactions at once per destination: %r"
                             % most)
        # With forty messages waiting for each, the limit was used, not
        # merely respected by doing one at a time.
        self.assertGreaterEqual(max(most), 2, most)

    def test_a_slow_destination_does_not_hold_up_another(self):
        # The slow server answers the end of data only when the test
        # lets it: however slow the machine, the quick destination's
        # message must go while slow's backlog has not moved at all.
        release = threading.Event()
        slow = remote_util.Server(self, name="slow.remote.test",
                                  data=lambda: release.wait(120) and None)
        self.addCleanup(release.set)
        quick = remote_util.Server(self, name="quick.remote.test")
        inst = self.instance({"slow.test": slow, "quick.test": quick},
                             {"smtp_destination_concurrency_limit": "2"})
        n = 60
        self.submit(inst, [["u%d@slow.test" % i] for i in range(n)], subject="slow")
        self.submit(inst, [["someone@quick.test"]], subject="quick")
        quick.wait_messages(1, timeout=60)
        # The later message did not have to wait for the other's queue.
        self.assertEqual(len(slow.messages), 0)
        self.assertLessEqual(slow.most_busy, 2)
        release.set()
        slow.wait_messages(n, timeout=120)
        self.assertLessEqual(slow.most_busy, 2)

    def test_a_blocked_destination_does_not_fill_the_active_queue(self):
        # A destination whose server takes every message and never
        # answers the end of data, with 60 messages for it, in a queue
        # whose active part holds 20: it takes half, the rest waits in
        # incoming/, and a message for another destination that comes
        # after all of them goes through while the blocked server has
        # still finished nothing.  Without this the later message would
        # wait until the blocked destination's backlog were delivered.
        release = threading.Event()
        blocked = remote_util.Server(self, name="blocked.remote.test",
                                     data=lambda: release.wait(120) and None)
        self.addCleanup(release.set)
        quick = remote_util.Server(self, name="quick.remote.test")
        limit, n = 20, 60
        inst = self.instance({"blocked.test": blocked, "quick.test": quick},
                             {"qmgr_message_active_limit": str(limit)})
        self.submit(inst, [["u%d@blocked.test" % i] for i in range(n)], subject="blocked")
        wait_for(lambda: blocked.busy > 0, 30, what="the blocked server busy")
        self.submit(inst, [["someone@quick.test"]], subject="quick")
        quick.wait_messages(1, timeout=60)
        waiting = len(inst.queue_files("incoming"))
        self.assertEqual(len(blocked.messages), 0)
        self.assertGreaterEqual(waiting, n - limit,
                                "%d messages in incoming/; log:\n%s" % (waiting, inst.log()[-3000:]))
        self.assertLessEqual(len(inst.queue_files("active")), limit)
        # Then the server answers, and every message goes, once.
        release.set()
        blocked.wait_messages(n, timeout=120)
        wait_for(lambda: not inst.queue_files("incoming") and not inst.queue_files("active"),
                 60, what="an empty queue")
        self.assertEqual(len(blocked.messages), n)
        self.assertEqual(sorted(m.rcpts[0] for m in blocked.messages),
                         sorted("u%d@blocked.test" % i for i in range(n)))

    def test_rate_delay(self):
        # One delivery at a time to the destination, although the
        # concurrency limit would allow 20, and each MAIL at least the
        # delay after the end of the previous transaction (a lower
        # bound: a slow machine only makes the gaps longer).
        events = []
        server = remote_util.Server(
            self, name="paced.remote.test",
            mail=lambda sender: events.append(("mail", time.monotonic())) and None,
            data=lambda: events.append(("data", time.monotonic())) and None)
        inst = self.instance({"paced.test": server},
                             {"smtp_destination_rate_delay": "1s"})
        n = 4
        self.submit(inst, [["u%d@paced.test" % i] for i in range(n)])
        server.wait_messages(n, timeout=60)
        self.assertEqual(server.most_busy, 1)
        self.assertEqual(len(server.messages), n)
        kinds = [k for k, _ in events]
        self.assertEqual(kinds, ["mail", "data"] * n, kinds)
        gaps = [events[i + 1][1] - events[i][1] for i in range(1, 2 * n - 1, 2)]
        # qmgr counts whole milliseconds of its loop's clock, read when
        # the loop wakes: a gap may come out a millisecond or so short of
        # the delay (without the delay they are a few milliseconds).
        self.assertTrue(all(g >= 0.99 for g in gaps), gaps)


if __name__ == "__main__":
    main()
