"""Queue tools end to end: mailq / postqueue -p -j -f / sendmail -bp (showq),
postsuper, newaliases, on real instances, as real users."""

import json
import os
import re
import time
import unittest

from harness import Instance, main, wait_for, free_port, _s
from submission_util import (SENDMAIL, POSTQUEUE, POSTSUPER, MAILQ, NEWALIASES, run_as,
                             describe, wait_mailbox, user_env)

HEADER = "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"


class QueueTools(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # Remote mail is deferred: nothing listens on the relay host's port.
        cls.inst = Instance(None, main_cf={"relayhost": "[127.0.0.1]:%d" % free_port()})
        try:
            cls.user, cls.other = [cls.inst.add_user("pq")[0] for _ in range(2)]
            cls.inst.start()
        except Exception:
            cls.inst.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def log_tail(self, n=40):
        return "\n---- maillog ----\n" + "\n".join(self.inst.log().splitlines()[-n:])

    def deferred_message(self, tag):
        """Submit a message to a remote address; wait until it is deferred."""
        before = set(self.inst.queue_files("deferred"))
        p = run_as(self.user, [SENDMAIL, "-f", "%s@example.org" % self.user,
                               "far@remote.invalid", "other@remote.invalid"], self.inst,
                   input="Subject: %s\n\nx\n" % tag)
        self.assertEqual(p.returncode, 0, describe(p))
        new = wait_for(lambda: sorted(set(self.inst.queue_files("deferred")) - before),
                       15, what="a deferred message")
        self.assertEqual(len(new), 1, new)
        return new[0]

    def mailq(self, user=None, argv=None):
        p = run_as(user or self.other, argv or [MAILQ], self.inst)
        self.assertEqual(p.returncode, 0, describe(p) + self.log_tail())
        return _s(p.stdout)

    def test_mailq_shows_deferred_reason(self):
        qid = self.deferred_message("mailq-%d" % time.monotonic_ns())
        out = self.mailq()
        lines = out.splitlines()
        self.assertEqual(lines[0], HEADER, out)
        i = [k for k, l in enumerate(lines) if l.startswith(qid)]
        self.assertEqual(len(i), 1, out)
        i = i[0]
        m = re.match(r"^%s  +(\d+) (\w\w\w \w\w\w [ \d]\d \d\d:\d\d:\d\d)  (\S+)$" % qid, lines[i])
        self.assertTrue(m, "bad line: %r\n%s" % (lines[i], out))
        self.assertEqual(m.group(3), "%s@example.org" % self.user)
        self.assertTrue(lines[i + 1].startswith("(") and lines[i + 1].endswith(")"),
                        "no deferral reason after %r:\n%s" % (lines[i], out))
        rcpts = set(l.strip() for l in lines[i + 2:i + 4])
        self.assertEqual(rcpts, {"far@remote.invalid", "other@remote.invalid"}, out)
        self.assertTrue(lines[i + 2].startswith(" " * 41) and lines[i + 2][41] != " ")
        self.assertRegex(lines[-1], r"^-- \d+ Kbytes in \d+ Requests?\.$")
        # sendmail -bp and postqueue -p say the same.
        self.assertEqual(self.mailq(argv=[SENDMAIL, "-bp"]), out)
        self.assertEqual(self.mailq(argv=[POSTQUEUE, "-p"]), out)

    def test_mailq_lists_only_checked_queue_files(self):
        """showq opens queue files as qmgr does (sf_open): a file with a
        second link or another owner is not one cleanup made, and is not
        listed (it was: showq opened with O_NOFOLLOW only)."""
        qid = self.deferred_message("checked-%d" % time.monotonic_ns())
        p = run_as(None, [POSTSUPER, "-h", qid], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        path = os.path.join(self.inst.queue, "hold", qid)
        self.assertIn(qid, self.mailq())
        other = os.path.join(self.inst.dir, "second-link-%s" % qid)
        os.link(path, other)
        try:
            self.assertNotIn(qid, self.mailq(), "a queue file with two links was listed")
        finally:
            os.unlink(other)
        self.assertIn(qid, self.mailq())
        st = os.stat(path)
        os.chown(path, 65534, -1)
        try:
            self.assertNotIn(qid, self.mailq(), "a queue file of another owner was listed")
        finally:
            os.chown(path, st.st_uid, -1)
        p = run_as(None, [POSTSUPER, "-d", qid], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))

    def test_postqueue_json(self):
        qid = self.deferred_message("json-%d" % time.monotonic_ns())
        out = self.mailq(argv=[POSTQUEUE, "-j"])
        objs = [json.loads(l) for l in out.splitlines()]
        mine = [o for o in objs if o["queue_id"] == qid]
        self.assertEqual(len(mine), 1, out)
        o = mine[0]
        self.assertEqual(o["queue_name"], "deferred")
        self.assertEqual(o["sender"], "%s@example.org" % self.user)
        self.assertIsInstance(o["arrival_time"], int)
        self.assertGreater(o["message_size"], 0)
        self.assertIs(o["forced_expire"], False)
        self.assertEqual(sorted(r["address"] for r in o["recipients"]),
                         ["far@remote.invalid", "other@remote.invalid"])
        for r in o["recipients"]:
            self.assertTrue(r.get("delay_reason"), o)

    def test_postsuper_hold_release_requeue_delete(self):
        qid = self.deferred_message("super-%d" % time.monotonic_ns())
        q = self.inst.queue

        p = run_as(self.user, [POSTSUPER, "-d", qid], self.inst)
        self.assertEqual(p.returncode, 77, describe(p))
        self.assertTrue(os.path.exists(os.path.join(q, "deferred", qid)))

        p = run_as(None, [POSTSUPER, "-h", qid], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertIn(b"Placed on hold: 1 message", p.stderr)
        self.assertTrue(os.path.exists(os.path.join(q, "hold", qid)))
        self.assertIn("\n%s! " % qid, "\n" + self.mailq())
        self.inst.wait_log("%s: placed on hold" % qid)

        p = run_as(None, [POSTSUPER, "-H", qid], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        path = os.path.join(q, "deferred", qid)
        self.assertTrue(os.path.exists(path) or os.path.exists(os.path.join(q, "active", qid)))
        self.inst.wait_log("%s: released from hold" % qid)

        wait_for(lambda: os.path.exists(path), 15, what="%s back in deferred/" % qid)
        p = run_as(None, [POSTSUPER, "-r", qid], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        self.inst.wait_log("%s: requeued" % qid)
        # The queue manager takes it again and defers it again.
        wait_for(lambda: self.inst.log().count("%s: to=<far@remote.invalid>" % qid) >= 2,
                 15, what="a second delivery attempt")

        wait_for(lambda: os.path.exists(path), 15, what="%s deferred again" % qid)
        p = run_as(None, [POSTSUPER, "-d", qid], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertIn(b"Deleted: 1 message", p.stderr)
        self.assertFalse(os.path.exists(path))
        self.inst.wait_log("%s: removed" % qid)
        self.assertNotIn(qid, self.mailq())

        p = run_as(None, [POSTSUPER, "-d", "not-an-id"], self.inst)
        self.assertIn(b"is not a queue ID", p.stderr)
        p = run_as(None, [POSTSUPER, "-d", qid], self.inst)
        self.assertIn(b"no such message", p.stderr)
        p = run_as(None, [POSTSUPER, "-d", "ALL", "bogus"], self.inst)
        self.assertEqual(p.returncode, 64, describe(p))

    def test_postsuper_delete_all_in_one_queue(self):
        a = self.deferred_message("all-a-%d" % time.monotonic_ns())
        b = self.deferred_message("all-b-%d" % time.monotonic_ns())
        p = run_as(None, [POSTSUPER, "-h", "ALL", "deferred"], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        held = self.inst.queue_files("hold")
        self.assertIn(a, held)
        self.assertIn(b, held)
        p = run_as(None, [POSTSUPER, "-d", "ALL", "hold"], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertEqual(self.inst.queue_files("hold"), [])
        out = self.mailq()
        self.assertNotIn(a, out)
        self.assertNotIn(b, out)

    def test_newaliases(self):
        alias = "team%d" % (time.monotonic_ns() % 100000)
        with open(os.path.join(self.inst.etc, "aliases"), "a") as f:
            f.write("%s: %s\n" % (alias, self.other))
        # A user may not rebuild root's aliases, and is told why.
        p = run_as(self.user, [NEWALIASES], self.inst)
        self.assertNotEqual(p.returncode, 0, describe(p))
        self.assertIn(b"run newaliases as root", p.stderr)
        p = run_as(None, [NEWALIASES], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        tag = "alias-%d" % time.monotonic_ns()
        p = run_as(self.user, [SENDMAIL, alias], self.inst, input="Subject: %s\n\nx\n" % tag)
        self.assertEqual(p.returncode, 0, describe(p))
        wait_mailbox(self.inst, self.other, tag)
        # sendmail -bi is the same.
        p = run_as(None, [SENDMAIL, "-bi"], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))

    def test_flush(self):
        p = run_as(self.user, [POSTQUEUE, "-f"], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        p = run_as(self.user, [SENDMAIL, "-q"], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        p = run_as(self.user, [POSTQUEUE], self.inst)
        self.assertEqual(p.returncode, 64, describe(p))


class EmptyAndStopped(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(self)
        self.user = self.inst.add_user("pe")[0]

    def test_down_then_empty(self):
        p = run_as(self.user, [MAILQ], self.inst)
        self.assertEqual(p.returncode, 69, describe(p))
        self.assertIn(b"is the mail system running", p.stderr)
        p = run_as(self.user, [POSTQUEUE, "-f"], self.inst)
        self.assertEqual(p.returncode, 69, describe(p))
        self.inst.start()
        p = run_as(self.user, [MAILQ], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertEqual(p.stdout, b"Mail queue is empty\n")
        p = run_as(self.user, [POSTQUEUE, "-j"], self.inst)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertEqual(p.stdout, b"")


if __name__ == "__main__":
    main()
