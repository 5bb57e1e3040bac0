"""End-to-end tests of the queue manager: remote mail waiting in
deferred/, retries (queue_run_delay, postqueue -f), queue lifetime,
corrupt queue files, wake-up floods, concurrency limits (per destination:
one user's slow deliveries do not hold up the others'), stop and start
with work in flight, and its privileges.

Every test starts its own instance with the default master.cf.
"""

import os
import signal
import time
import unittest

from harness import Instance, free_port, main, proc_info, run, wait_for
from delivery_util import (send, spool_box, read_bytes, mbox_messages, parse,
                           wait_count, wait_log_re, write_aliases, flush, mailq,
                           write_file, log_context)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


class QmgrTest(unittest.TestCase):

    def qmgr_pid(self, inst):
        return int(inst.procs("qmgr")[0]["pid"])

    def unreachable_relay(self):
        """main.cf settings that send remote mail to a port where nothing
        listens on loopback: every attempt is refused at once."""
        return {"relayhost": "[127.0.0.1]:%d" % free_port()}

    def test_remote_mail_waits_in_deferred(self):
        inst = Instance(self, main_cf=self.unreachable_relay())
        inst.start()
        send(inst, "someone@example.org", "far@example.net", subject="remote")
        wait_log_re(inst, r"to=<far@example\.net>, relay=.*dsn=4\.4\.1, "
                          r"status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]")
        files = wait_for(lambda: inst.queue_files("deferred"), 10, what="deferred/")
        st = os.stat(os.path.join(inst.queue, "deferred", files[0]))
        self.assertGreater(st.st_mtime, time.time() + 250, "next attempt ~300 s away")
        self.assertLess(st.st_mtime, time.time() + 310)
        self.assertIn("connect to 127.0.0.1", mailq(inst))
        # postqueue -f: tried again at once (and deferred again).
        flush(inst)
        wait_for(lambda: inst.log().count("to=<far@example.net>") >= 2, 10,
                 what="a second attempt after postqueue -f")
        # The agent logs before qmgr moves the file back from active/.
        wait_for(lambda: len(inst.queue_files("deferred")) == 1
                 and inst.queue_files("active") == [], 10,
                 what="the message back in deferred/, none in active/")

    def test_queue_lifetime_returns_mail(self):
        settings = self.unreachable_relay()
        settings["maximal_queue_lifetime"] = "0"
        inst = Instance(self, main_cf=settings)
        sender = inst.add_user()
        write_aliases(inst, "postmaster: %s\n" % sender[0])
        inst.start()
        send(inst, "%s@localhost" % sender[0], "far@example.net", subject="too far")
        wait_log_re(inst, r": from=<%s@localhost>, status=expired, returned to sender" % sender[0])
        msgs = wait_count(lambda: mbox_messages(spool_box(inst, sender[0])), 1, inst,
                          "the notification")
        dsn = parse(msgs[0].as_bytes())
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        status = dsn.get_payload()[1].get_payload()
        fields = {k.lower(): v for b in status for k, v in b.items()}
        self.assertEqual(fields["action"], "failed")
        self.assertEqual(fields["status"], "4.4.1")
        self.assertIn("far@example.net", fields["final-recipient"])
        # The reason is the last one the attempt met.
        self.assertIn("connect to 127.0.0.1", fields["diagnostic-code"])
        wait_for(lambda: not inst.queue_files("deferred") and not inst.queue_files("active"),
                 10, what="an empty queue")

    def test_retry_after_queue_run_delay(self):
        inst = Instance(self, main_cf={"queue_run_delay": "1s", "minimal_backoff_time": "1s",
                                       "maximal_backoff_time": "2s"})
        user = inst.add_user()
        box = spool_box(inst, user[0])
        os.symlink("/nonexistent", box)
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % user[0], subject="retried")
        wait_log_re(inst, r"status=deferred \(cannot open mailbox")
        os.unlink(box)
        msgs = wait_count(lambda: mbox_messages(box), 1, inst, "delivery on retry", timeout=15)
        self.assertEqual(msgs[0]["Subject"], "retried")

    def test_corrupt_queue_file(self):
        inst = Instance(self)
        user = inst.add_user()
        inst.start()
        pid = self.qmgr_pid(inst)
        owner = os.stat(os.path.join(inst.queue, "incoming"))
        qid = "0PZ1K8Q3F7M2W9X"
        path = os.path.join(inst.queue, "incoming", qid)
        with open(path, "wb") as f:
            f.write(b"V\x00\x00\x00\x011T\x00\x00\xff\xffgarbage")
        os.chown(path, owner.st_uid, owner.st_gid)
        os.chmod(path, 0o600)
        fd = os.open(os.path.join(inst.queue, "public", "qmgr"), os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"W")
        os.close(fd)
        wait_for(lambda: qid in inst.queue_files("corrupt"), 10, what="the file in corrupt/")
        wait_log_re(inst, r"warning: %s: corrupt queue file moved to corrupt/" % qid)
        # qmgr is still the same process and still delivers.
        send(inst, "x@example.org", "%s@localhost" % user[0])
        wait_count(lambda: mbox_messages(spool_box(inst, user[0])), 1, inst, "delivery")
        self.assertEqual(self.qmgr_pid(inst), pid)

    def test_wakeup_flood(self):
        inst = Instance(self)
        user = inst.add_user()
        inst.start()
        pid = self.qmgr_pid(inst)
        before = cpu_seconds(pid)
        fd = os.open(os.path.join(inst.queue, "public", "qmgr"), os.O_WRONLY | os.O_NONBLOCK)
        end = time.monotonic() + 2.0
        writes = 0
        sent = 0
        while time.monotonic() < end:
            try:
                os.write(fd, b"WFSx" * 1024)
                writes += 1
            except BlockingIOError:
                pass
            if sent < 10 and writes % 50 == 0:
                send(inst, "x@example.org", "%s@localhost" % user[0], subject="n%d" % sent)
                sent += 1
        os.close(fd)
        while sent < 10:
            send(inst, "x@example.org", "%s@localhost" % user[0], subject="n%d" % sent)
            sent += 1
        wait_count(lambda: mbox_messages(spool_box(inst, user[0])), 10, inst, "10 deliveries")
        used = cpu_seconds(pid) - before
        self.assertEqual(self.qmgr_pid(inst), pid)
        self.assertLess(used, 0.5, "qmgr spent %.2f s of CPU on %d flood writes" % (used, writes))

    def test_local_concurrency_limit(self):
        inst = Instance(self, main_cf={"local_destination_concurrency_limit": "2"})
        trace = os.path.join(inst.dir, "trace")
        write_file(trace, "", mode=0o666)
        write_aliases(inst, 'slow: "|/bin/sh -c \'echo s >> %s; sleep 0.4; echo e >> %s\'"\n'
                      % (trace, trace))
        inst.start()
        for i in range(8):
            send(inst, "x@example.org", "slow@localhost", subject="s%d" % i)
        wait_for(lambda: read_bytes(trace).count(b"e") >= 8, 30, what="8 deliveries")
        running = peak = 0
        for c in read_bytes(trace).split():
            running += 1 if c == b"s" else -1
            peak = max(peak, running)
        self.assertLessEqual(peak, 2, read_bytes(trace))
        self.assertEqual(peak, 2, "both connections used")
        # Every message has left the queue: all "to=" lines are written.
        inst.wait_queue_settled()
        self.assertEqual(inst.log().count("status=sent (delivered to command"), 8)

    def test_destinations_in_parallel(self):
        # Postfix's defaults: local_destination_concurrency_limit = 2 per
        # recipient; different recipients go in parallel.
        inst = Instance(self)
        users = [inst.add_user(), inst.add_user()]
        trace = os.path.join(inst.dir, "trace")
        write_file(trace, "", mode=0o666)
        # Each command waits until the test opens the gate (no time
        # limit: the other users' mail must go while slow's commands run,
        # however slow the machine).
        gate = os.path.join(inst.dir, "gate")
        self.addCleanup(write_file, gate, "")   # no command is left waiting
        write_aliases(inst, 'slow: "|/bin/sh -c \'echo s >> %s; '
                      'while [ ! -e %s ]; do sleep 0.05; done; echo e >> %s\'"\n'
                      % (trace, gate, trace))
        inst.start()
        for i in range(3):
            send(inst, "x@example.org", "slow@localhost", subject="s%d" % i)
        wait_for(lambda: read_bytes(trace).count(b"s") >= 2, 15,
                 what="two deliveries to slow running")
        for u in users:
            send(inst, "x@example.org", "%s@localhost" % u[0], subject="to %s" % u[0])
        for u in users:
            wait_count(lambda: mbox_messages(spool_box(inst, u[0])), 1, inst,
                       "the message to %s" % u[0])
        seen = read_bytes(trace)
        self.assertEqual(seen.split(), [b"s", b"s"],
                         "the other users' mail must not wait for slow's commands, and "
                         "slow gets at most 2 at a time: trace %r%s" % (seen, log_context(inst)))
        write_file(gate, "")
        wait_for(lambda: read_bytes(trace).count(b"e") >= 3, 20, what="3 deliveries to slow")
        events = read_bytes(trace).split()
        running = peak = 0
        for e in events:
            running += 1 if e == b"s" else -1
            peak = max(peak, running)
        self.assertEqual(peak, 2, events)
        self.assertEqual(events[:3], [b"s", b"s", b"e"], "the third waits for one of two")
        inst.wait_queue_settled()
        self.assertEqual(inst.log().count("status=sent (delivered to command"), 3)

    def test_stop_and_start_with_work_in_flight(self):
        inst = Instance(self, main_cf={"local_destination_concurrency_limit": "2"})
        trace = os.path.join(inst.dir, "trace")
        write_file(trace, "", mode=0o666)
        write_aliases(inst, 'slow: "|/bin/sh -c \'sleep 1; echo d >> %s\'"\n' % trace)
        inst.start()
        for i in range(6):
            send(inst, "x@example.org", "slow@localhost", subject="s%d" % i)
        wait_log_re(inst, r"to=<slow@localhost>.*queue active|: from=<x@example.org>.*"
                          r"\(queue active\)")
        p = inst.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        left = len(inst.queue_files("active")) + len(inst.queue_files("incoming"))
        done = read_bytes(trace).count(b"d")
        self.assertEqual(done + left, 6, "nothing lost at stop: %d done, %d left%s"
                         % (done, left, log_context(inst)))
        self.assertEqual(inst.queue_files("deferred"), [])
        inst.start()
        wait_for(lambda: read_bytes(trace).count(b"d") >= 6, 30, what="all six delivered")
        # A delivery made twice would run before its message leaves the queue.
        inst.wait_queue_settled()
        self.assertEqual(read_bytes(trace).count(b"d"), 6, "each exactly once")

    def test_resume_from_active_at_start(self):
        inst = Instance(self)
        user = inst.add_user()
        box = spool_box(inst, user[0])
        os.symlink("/nonexistent", box)
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % user[0], subject="resumed")
        files = wait_for(lambda: inst.queue_files("deferred"), 10, what="deferred/")
        inst.stop()
        # As if qmgr had died with the message in active/.
        os.rename(os.path.join(inst.queue, "deferred", files[0]),
                  os.path.join(inst.queue, "active", files[0]))
        os.unlink(box)
        inst.start()
        msgs = wait_count(lambda: mbox_messages(box), 1, inst, "delivery after start")
        self.assertEqual(msgs[0]["Subject"], "resumed")
        wait_log_re(inst, r"%s: removed" % files[0])

    def test_privileges(self):
        inst = Instance(self)
        inst.start()
        import pwd
        owner = pwd.getpwnam("postern")
        uid, gid, root = proc_info(self.qmgr_pid(inst))
        self.assertEqual((uid, gid), (owner.pw_uid, owner.pw_gid))
        self.assertEqual(os.path.realpath(root), os.path.realpath(inst.queue))


if __name__ == "__main__":
    main()
