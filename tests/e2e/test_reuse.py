"""test_reuse - what postern keeps between messages, end to end.

smtpd keeps idle connections to cleanup (a few, for a few seconds), so a
burst of messages costs one connect and one cleanup accept, not one per
message.  A cleanup process that holds such a connection must still stop
at once on SIGTERM (stop, reload), and the next message must not notice.
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


if __name__ == "__main__":
    main()
