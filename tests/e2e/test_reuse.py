"""test_reuse - what postern keeps between messages, end to end.

smtpd keeps idle connections to cleanup (a few, for a few seconds), so a
burst of messages costs one connect and one cleanup accept, not one per
message.  A cleanup process that holds such a connection must still stop
at once on SIGTERM (stop, reload), and the next message must not notice.

local keeps the delivery child of a user (already running as that user)
for the user's next deliveries: one child per user, never used for
another, gone when idle and gone with local.  Maildir file names carry
the pid of the process that wrote them ("SECONDS.PID_N.HOST"), which is
how the tests see which child delivered what.
"""

import os
import re
import signal
import time

from harness import Instance, main, wait_for
import unittest

MSG = "From: a@example.org\r\nTo: b@example.org\r\nSubject: %d\r\n\r\nbody %d\r\n"


def cleanup_rows(inst):
    return [r for r in inst.status() if r["role"] == "cleanup"]


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


class CleanupConnections(unittest.TestCase):

    def instance(self):
        inst = Instance(self)
        inst.start()
        wait_for(lambda: inst.procs("smtpd"), what="smtpd running")
        return inst

    def send(self, smtp, i):
        smtp.mail("a@example.org")
        code, msg = smtp.rcpt("postmaster@localhost")
        self.assertEqual(code, 250, msg)
        code, msg = smtp.data(MSG % (i, i))
        self.assertEqual(code, 250, msg)
        qid = re.search(rb"queued as (\S+)", msg).group(1).decode()
        return qid

    def cleanup_pid_of(self, inst, qid):
        """The pid of the cleanup process that logged this queue ID."""
        m = wait_for(lambda: re.search(r"cleanup\[(\d+)\]: %s: " % qid, inst.log()),
                     what="cleanup's log line for %s" % qid)
        return int(m.group(1))

    def test_one_connection_for_a_burst(self):
        inst = self.instance()
        smtp = inst.smtp()
        smtp.ehlo("client.example")
        qids = [self.send(smtp, i) for i in range(5)]
        pids = {self.cleanup_pid_of(inst, q) for q in qids}
        self.assertEqual(len(pids), 1, "messages went to cleanup processes %s\n%s"
                         % (pids, inst.log()[-3000:]))
        pid = pids.pop()
        # The connection is kept: that cleanup process is busy (held)
        # although no message is in flight ...
        rows = [r for r in cleanup_rows(inst) if int(r["pid"]) == pid]
        self.assertEqual([r["state"] for r in rows], ["busy"], cleanup_rows(inst))
        # ... and let go within a few seconds (CLEANUP_POOL_IDLE_MS).
        wait_for(lambda: [r["state"] for r in cleanup_rows(inst)
                          if int(r["pid"]) == pid] == ["idle"],
                 timeout=8, what="cleanup %d idle again: %s" % (pid, cleanup_rows(inst)))
        # The next message, after the idle connection was closed.
        self.send(smtp, 5)
        smtp.quit()
        self.assertNotIn("warning", "\n".join(
            l for l in inst.log().splitlines() if "smtpd[" in l or "cleanup[" in l))

    def test_sigterm_ends_a_kept_connection_at_once(self):
        inst = self.instance()
        smtp = inst.smtp()
        smtp.ehlo("client.example")
        pid = self.cleanup_pid_of(inst, self.send(smtp, 0))
        self.assertEqual([r["state"] for r in cleanup_rows(inst) if int(r["pid"]) == pid],
                         ["busy"])
        # At once: well before smtpd would let the connection go
        # (CLEANUP_POOL_IDLE_MS, 3 s) and cleanup would see EOF.
        t0 = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not alive(pid), timeout=1, step=0.01,
                 what="cleanup %d to exit after SIGTERM while holding an idle "
                      "connection" % pid)
        self.assertLess(time.monotonic() - t0, 1)
        # The same SMTP session goes on: the next message is queued
        # through a new connection, by another cleanup process.
        qid = self.send(smtp, 1)
        self.assertNotEqual(self.cleanup_pid_of(inst, qid), pid)
        smtp.quit()
        log = inst.log()
        self.assertNotIn("no valid answer from cleanup", log)
        self.assertNotIn("made no progress", log)

    def test_reload_with_a_kept_connection(self):
        inst = self.instance()
        smtp = inst.smtp()
        smtp.ehlo("client.example")
        pid = self.cleanup_pid_of(inst, self.send(smtp, 0))
        inst.postern("reload")
        wait_for(lambda: not alive(pid), timeout=1.5, step=0.01,
                 what="old cleanup %d to exit after reload" % pid)
        # The session belongs to the old smtpd, which goes on serving it.
        qid = self.send(smtp, 1)
        self.assertNotEqual(self.cleanup_pid_of(inst, qid), pid)
        smtp.quit()

    def test_cleanup_killed_while_idle(self):
        inst = self.instance()
        smtp = inst.smtp()
        smtp.ehlo("client.example")
        pid = self.cleanup_pid_of(inst, self.send(smtp, 0))
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not alive(pid), what="cleanup %d gone" % pid)
        qid = self.send(smtp, 1)
        self.assertNotEqual(self.cleanup_pid_of(inst, qid), pid)
        smtp.quit()


def proc_status(pid):
    """{field: value} of /proc/PID/status, or None when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
    except OSError:
        return None


class DeliveryChildren(unittest.TestCase):

    def instance(self):
        inst = Instance(self)
        inst.set_main({"home_mailbox": "Maildir/",
                       # One local process: every delivery meets the same children.
                       "local_destination_concurrency_limit": "1"})
        self.users = [inst.add_user() for _ in range(2)]
        inst.start()
        return inst

    def deliver(self, inst, user, n, home):
        """Send n messages to user; return the pids in the new maildir names."""
        newdir = os.path.join(home, "Maildir", "new")
        before = set(os.listdir(newdir)) if os.path.isdir(newdir) else set()
        smtp = inst.smtp()
        for i in range(n):
            smtp.sendmail("a@example.org", [user + "@localhost"], MSG % (i, i))
        smtp.quit()
        names = wait_for(lambda: (lambda now: now if len(now) >= n else None)(
            sorted(set(os.listdir(newdir)) - before) if os.path.isdir(newdir) else []),
            timeout=20, what="%d deliveries to %s\n%s" % (n, user, inst.log()[-2000:]))
        return [int(re.match(r"\d+\.(\d+)_\d+\.", name).group(1)) for name in names]

    def local_pids(self, inst):
        return {int(r["pid"]) for r in inst.procs("local")}

    def test_one_child_per_user_reused(self):
        inst = self.instance()
        (ua, uida, gida, homea), (ub, uidb, gidb, homeb) = self.users
        pids_a = self.deliver(inst, ua, 4, homea)
        self.assertEqual(len(set(pids_a)), 1, "deliveries to %s by %s" % (ua, pids_a))
        child_a = pids_a[0]
        st = proc_status(child_a)
        self.assertIsNotNone(st, "the child of %s is gone at once" % ua)
        # It runs as the user (real, effective, saved), with the user's
        # group only, and it is local's child, not local itself.
        self.assertEqual(st["Uid"].split(), [str(uida)] * 4)
        self.assertEqual(st["Gid"].split(), [str(gida)] * 4)
        self.assertEqual(st["Groups"].split(), [str(gida)])
        self.assertEqual(st["CapEff"], "0000000000000000")
        self.assertIn(int(st["PPid"]), self.local_pids(inst))
        self.assertNotIn(child_a, self.local_pids(inst))
        # It holds nothing of local's but its socket and the log file:
        # no queue file, no qmgr connection, no table, no listener.
        fds = {}
        for n in os.listdir("/proc/%d/fd" % child_a):
            try:
                fds[int(n)] = os.readlink("/proc/%d/fd/%s" % (child_a, n))
            except OSError:
                pass
        extra = {n: t for n, t in fds.items() if n > 2}
        self.assertEqual(sum(t.startswith("socket:") for t in extra.values()), 1, fds)
        self.assertTrue(all(t.startswith("socket:") or t.endswith("/maillog")
                            for t in extra.values()), fds)
        self.assertLessEqual(len(extra), 2, fds)

        # Another user: another child, never the first one.
        pids_b = self.deliver(inst, ub, 2, homeb)
        self.assertEqual(len(set(pids_b)), 1, pids_b)
        self.assertNotEqual(pids_b[0], child_a)
        st = proc_status(pids_b[0])
        self.assertIsNotNone(st)
        self.assertEqual(st["Uid"].split(), [str(uidb)] * 4)

        # Idle children are closed (KEPT_IDLE_MS, 2 s) and reaped.
        for pid in (child_a, pids_b[0]):
            wait_for(lambda: proc_status(pid) is None, timeout=6,
                     what="idle delivery child %d to go" % pid)
        # The next delivery to the first user: a new child.
        again = self.deliver(inst, ua, 1, homea)
        self.assertNotEqual(again[0], child_a)
        # The message is in the mailbox before its "to=" line is written,
        # and every "to=" line before its message leaves the queue.
        inst.wait_queue_settled()
        log = inst.log()
        self.assertNotIn("warning", "\n".join(l for l in log.splitlines() if "local[" in l))
        self.assertEqual(log.count("status=sent"), 7, log[-3000:])

    def test_children_die_with_local(self):
        inst = self.instance()
        ua, _, _, homea = self.users[0]
        child, = set(self.deliver(inst, ua, 2, homea))
        parent = int(proc_status(child)["PPid"])
        os.kill(parent, signal.SIGKILL)
        wait_for(lambda: proc_status(child) is None or proc_status(child)["State"][0] == "Z",
                 timeout=2, step=0.01, what="delivery child %d to die with local" % child)
        # A new local takes over; delivery goes on.
        self.assertNotIn(child, self.deliver(inst, ua, 1, homea))

    def test_stop_with_kept_children(self):
        inst = self.instance()
        ua, _, _, homea = self.users[0]
        child, = set(self.deliver(inst, ua, 2, homea))
        t0 = time.monotonic()
        p = inst.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIsNone(proc_status(child))
        self.assertEqual(inst.instance_pids(), [])


if __name__ == "__main__":
    main()
