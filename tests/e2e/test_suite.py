"""End-to-end tests of the whole suite under the master, with the default
master.cf of `postern init`: every real daemon's privilege from /proc, a
daemon killed and replaced, reload while an SMTP session is held, a table
change while a session is held, stop.
"""

import fcntl
import os
import pwd
import re
import signal
import smtplib
import subprocess
import threading
import time
import unittest

from harness import BIN, Instance, main, proc_info, run, wait_for
from submission_util import SENDMAIL, describe, run_as

CHROOTED = {"smtpd", "cleanup", "qmgr", "pickup", "showq", "smtp", "anvil"}
UNCHROOTED_UNPRIV = {"lookup"}
ROOT = {"local"}


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


class SuiteTest(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(self)
        self.user, self.uid, self.gid, self.home = self.inst.add_user()
        self.inst.start()

    def send(self, subject, rcpt=None):
        with self.inst.smtp() as s:
            s.sendmail("sender@example.org", [rcpt or self.user + "@localhost"],
                       "Subject: %s\n\nbody of %s\n" % (subject, subject))

    def mbox(self):
        try:
            with open(os.path.join(self.inst.dir, "mail", self.user), "rb") as f:
                return f.read()
        except OSError:
            return b""

    def test_every_daemon_privilege_from_proc(self):
        inst = self.inst
        # Bring up the on-demand services: a delivery needs cleanup and
        # local; mailq needs showq.
        self.send("privileges")
        wait_for(lambda: b"Subject: privileges" in self.mbox(), what="delivery")
        # The mailbox has the message a moment before qmgr removes the
        # queue file: wait for the listing to say so.
        wait_for(lambda: b"empty" in run([os.path.join(BIN, "postqueue"), "-c", inst.etc,
                                           "-p"]).stdout, what="an empty queue")
        owner = pwd.getpwnam("postern")
        rows = inst.status()
        seen = set()
        for r in rows:
            pid = int(r["pid"])
            uid, gid, root = proc_info(pid)
            role = r["role"]
            seen.add(role)
            # What postern status says is what /proc says.
            self.assertEqual((r["uid"], r["gid"], r["root"]), (str(uid), str(gid), root), r)
            if role == "master" or role in ROOT:
                self.assertEqual((uid, gid, root), (0, 0, "/"), r)
            elif role in CHROOTED:
                self.assertEqual((uid, gid), (owner.pw_uid, owner.pw_gid), r)
                self.assertEqual(root, inst.queue, r)
            elif role in UNCHROOTED_UNPRIV:
                self.assertEqual((uid, gid), (owner.pw_uid, owner.pw_gid), r)
                self.assertEqual(root, "/", r)
            else:
                self.fail("unexpected process %r" % r)
            # Nothing unprivileged can get root back: no capabilities, no
            # privilege from a set-id program (no_new_privs), and not
            # dumpable (the files in its /proc directory stay root's).
            if uid != 0:
                with open("/proc/%d/status" % pid) as f:
                    status = {l.split(":")[0]: l.split()[1] for l in f
                              if ":" in l and len(l.split()) > 1}
                self.assertEqual(int(status["CapEff"], 16), 0, r)
                self.assertEqual(int(status["CapPrm"], 16), 0, r)
                self.assertEqual(status["NoNewPrivs"], "1", r)
                self.assertEqual(os.stat("/proc/%d/status" % pid).st_uid, 0,
                                 "%r is dumpable: /proc says it is its user's" % r)
        self.assertTrue({"master", "smtpd", "qmgr", "pickup", "lookup", "smtp", "anvil"} <= seen,
                        seen)
        # smtpd may hold smtpd_client_limit sessions: its descriptor soft
        # limit was raised to the hard limit.
        smtpd = int(inst.procs("smtpd")[0]["pid"])
        with open("/proc/%d/limits" % smtpd) as f:
            line = [l for l in f if l.startswith("Max open files")][0].split()
        soft, hard = line[3], line[4]
        self.assertEqual(soft, hard if hard == "unlimited" or int(hard) <= 1024 * 1024
                         else str(1024 * 1024), line)

    def test_killed_smtpd_and_qmgr_are_replaced(self):
        inst = self.inst
        for role in ("smtpd", "qmgr"):
            old = int(inst.procs(role)[0]["pid"])
            os.kill(old, signal.SIGKILL)
            def replaced():
                # One status call per poll: the process table may change
                # between two calls.
                procs = inst.procs(role)
                return procs and int(procs[0]["pid"]) != old
            wait_for(replaced, timeout=15, what="%s replaced" % role)
        self.send("after kill")
        wait_for(lambda: b"Subject: after kill" in self.mbox(), what="delivery after kill")

    def test_reload_while_a_session_is_held(self):
        inst = self.inst
        old = smtplib.SMTP("127.0.0.1", inst.port, timeout=30)
        code, banner = old.ehlo()
        self.assertEqual(code, 250)
        # smtpd runs one process per CPU: the session is in one of them.
        old_pids = [int(r["pid"]) for r in inst.procs("smtpd")]
        inst.set_main({"smtpd_banner": "$myhostname ESMTP reloaded-banner"})
        inst.postern("reload")
        # A new connection is served by the new generation at once.
        new = wait_for(lambda: _greets(inst.port, b"reloaded-banner"), timeout=10,
                       what="new banner")
        new.sendmail("a@example.org", [self.user + "@localhost"], "Subject: new\n\nx\n")
        new.quit()
        # The held session completes under the old process.
        self.assertTrue(any(alive(p) for p in old_pids))
        old.sendmail("a@example.org", [self.user + "@localhost"], "Subject: old\n\nx\n")
        old.quit()
        wait_for(lambda: b"Subject: old" in self.mbox() and b"Subject: new" in self.mbox(),
                 what="both delivered")
        # The old process then exits.
        wait_for(lambda: not any(alive(p) for p in old_pids), timeout=20,
                 what="old smtpd to exit")
        gens = {r["gen"] for r in inst.status() if r["role"] == "smtpd"}
        self.assertEqual(gens, {"2"})

    def test_new_alias_while_a_session_is_held(self):
        inst = self.inst
        held = smtplib.SMTP("127.0.0.1", inst.port, timeout=30)
        held.ehlo()
        with open(os.path.join(inst.etc, "aliases"), "a") as f:
            f.write("brandnew: %s\n" % self.user)
        run([os.path.join(BIN, "postalias"), "hash:" + os.path.join(inst.etc, "aliases")])
        # The held session sees the new alias at once (lookup reopens the
        # table), and the master rolls a new generation for new sessions.
        code, _ = held.docmd("MAIL FROM:<a@example.org>")
        self.assertEqual(code, 250)
        code, msg = held.docmd("RCPT TO:<brandnew@localhost>")
        self.assertEqual(code, 250, msg)
        code, _ = held.docmd("DATA")
        self.assertEqual(code, 354)
        held.send(b"Subject: via alias\r\n\r\nhi\r\n.\r\n")
        code, msg = held.getreply()
        self.assertEqual(code, 250, msg)
        held.quit()
        wait_for(lambda: b"Subject: via alias" in self.mbox(), what="alias delivery")
        inst.wait_log("changed")
        wait_for(lambda: {r["gen"] for r in inst.status() if r["role"] == "smtpd"} == {"2"},
                 timeout=20, what="generation 2")

    def test_client_line_before_qmgr_line(self):
        # Log summarisers (pflogsumm) credit a message's sender and size
        # only when smtpd's "QID: client=" (pickup's "QID: uid=") line
        # comes before qmgr's "QID: from=..., size=": under concurrent
        # sessions and local submissions, it always does.
        errors = []

        def client(k):
            try:
                with self.inst.smtp() as s:
                    for i in range(10):
                        s.sendmail("c%d@example.org" % k, [self.user + "@localhost"],
                                   "Subject: order %d %d\n\nb\n" % (k, i))
            except (smtplib.SMTPException, OSError) as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for i in range(5):
            p = run_as(self.user, [SENDMAIL, "-i", self.user], self.inst,
                       input=b"Subject: local %d\n\nb\n" % i)
            self.assertEqual(p.returncode, 0, describe(p))
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        wait_for(lambda: self.inst.log().count("status=sent") >= 45, timeout=60,
                 what="45 deliveries")
        first, late = set(), []
        for line in self.inst.log().splitlines():
            m = re.search(r"/(smtpd|pickup|qmgr)\[\d+\]: (\w+): (client=|uid=|from=<)", line)
            if not m:
                continue
            if m.group(1) != "qmgr":
                first.add(m.group(2))
            elif m.group(2) not in first:
                late.append(line)
        self.assertEqual(len(first), 45)
        self.assertEqual(late, [], "qmgr's from= line before the client's line")

    def test_stop_leaves_nothing_running(self):
        inst = self.inst
        self.send("before stop")
        wait_for(lambda: b"Subject: before stop" in self.mbox(), what="delivery")
        pids = inst.instance_pids()
        self.assertTrue(pids)
        inst.stop()
        for pid in pids:
            wait_for(lambda: not alive(pid), timeout=15, what="pid %d to exit" % pid)
        self.assertEqual(inst.instance_pids(), [])


    def test_master_keeps_no_inherited_descriptor(self):
        # A lock held by whoever ran "postern start" (a script under
        # flock, a configuration tool) must not stay locked for as long
        # as the mail system runs.
        inst = self.inst
        inst.stop()
        wait_for(lambda: inst.master_pid() is None and not inst.instance_pids(),
                 timeout=15, what="the instance to stop")
        lock = os.path.join(inst.dir, "starter.lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            run([os.path.join(BIN, "postern"), "-c", inst.etc, "start"], pass_fds=[fd])
        finally:
            os.close(fd)
        inst.started = True
        master = inst.master_pid()
        self.assertIsNotNone(master)
        held = []
        for pid in [master] + inst.instance_pids():
            try:
                held += [os.readlink("/proc/%d/fd/%s" % (pid, n))
                         for n in os.listdir("/proc/%d/fd" % pid)]
            except OSError:
                pass                    # a process that just exited
        self.assertNotIn(lock, held)
        other = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)   # raises if still held
        finally:
            os.close(other)
        self.send("after restart")
        wait_for(lambda: b"Subject: after restart" in self.mbox(), what="delivery")

def _greets(port, text):
    """An SMTP session whose greeting holds text, or None."""
    s = smtplib.SMTP(timeout=5)
    try:
        code, msg = s.connect("127.0.0.1", port)
    except OSError:
        return None
    if code == 220 and text in msg:
        return s
    s.close()
    return None


if __name__ == "__main__":
    main()
