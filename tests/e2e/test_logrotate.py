"""End-to-end tests of log rotation and of the service manager protocol:
`postern logrotate` (SIGUSR1 to the master) makes every running process
write to maillog_file anew, the file is made with Debian's mail.log mode
and group, and a master started with NOTIFY_SOCKET says READY=1,
RELOADING=1 and STOPPING=1 as systemd's Type=notify expects.
"""

import grp
import os
import re
import socket
import stat
import subprocess
import tempfile
import unittest

from harness import Instance, main, run, wait_for, LIBEXEC, _s
from delivery_util import send, spool_box, mbox_messages, wait_count


def pids_by_program(text):
    """{program: set of pids} from maillog lines."""
    seen = {}
    for m in re.finditer(r" postern/(\w+)\[(\d+)\]: ", text):
        seen.setdefault(m.group(1), set()).add(int(m.group(2)))
    return seen


class LogRotateTest(unittest.TestCase):

    def test_every_process_follows_rotation(self):
        inst = Instance(self)
        # One smtpd process (not one per CPU), so that the second message
        # meets the same smtpd and cleanup as the first.
        inst.write_master(re.sub(r"-(\s+smtpd\n)", r"1\1", inst.master_cf()))
        user = inst.add_user()[0]
        inst.start()
        send(inst, "a@example.org", "%s@localhost" % user, subject="before")
        wait_count(lambda: mbox_messages(spool_box(inst, user)), 1, inst, "first message")
        inst.wait_log("status=sent")
        inst.wait_log(": removed")
        before = pids_by_program(inst.log())
        for prog in ("master", "smtpd", "cleanup", "qmgr", "local"):
            self.assertIn(prog, before, inst.log())

        rotated = inst.maillog + ".1"
        os.rename(inst.maillog, rotated)
        p = inst.postern("logrotate")
        self.assertIn("logrotate: done", _s(p.stdout))
        inst.wait_log("logrotate: reopened")

        send(inst, "b@example.org", "%s@localhost" % user, subject="after")
        wait_count(lambda: mbox_messages(spool_box(inst, user)), 2, inst, "second message")
        inst.wait_log("status=sent")
        inst.wait_log(": removed")
        after = pids_by_program(inst.log())
        # The same processes (not replacements) wrote the second
        # message's lines into the new file.
        for prog in ("smtpd", "cleanup", "qmgr", "local"):
            self.assertIn(prog, after, inst.log())
            self.assertTrue(after[prog] & before[prog],
                            "%s: pids before %r, after %r\n%s"
                            % (prog, before[prog], after[prog], inst.log()))
        with open(rotated) as f:
            old = f.read()
        self.assertNotIn("b@example.org", old)
        self.assertIn("from=<b@example.org>", inst.log())

        st = os.stat(inst.maillog)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        self.assertEqual((st.st_uid, st.st_gid), (0, grp.getgrnam("adm").gr_gid))
        # Nobody died of the signal.
        self.assertNotIn("killed by signal", inst.log())

    def test_logrotate_with_syslog_only(self):
        inst = Instance(self)
        with open(os.path.join(inst.etc, "main.cf")) as f:
            text = f.read()
        with open(os.path.join(inst.etc, "main.cf"), "w") as f:
            f.write(re.sub(r"(?m)^maillog_file\s*=.*$", "", text))
        inst.start()
        pids = {r["pid"] for r in inst.status()}
        p = inst.postern("logrotate")
        self.assertIn("logrotate: done", _s(p.stdout))
        # Nothing to reopen, and every process is still there.
        wait_for(lambda: {r["pid"] for r in inst.status()} >= pids, 5,
                 what="every process still running")


class NotifyTest(unittest.TestCase):

    def test_ready_reloading_stopping(self):
        inst = Instance(self)
        d = tempfile.mkdtemp(prefix="postern-notify-")
        self.addCleanup(lambda: (os.path.exists(path) and os.unlink(path), os.rmdir(d)))
        path = os.path.join(d, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(path)
        sock.settimeout(30)
        env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": path}
        master = inst.spawn([os.path.join(LIBEXEC, "master"), "-c", inst.etc], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        inst.started = True

        def expect(word):
            got = []
            while True:
                try:
                    data = sock.recv(4096).decode()
                except socket.timeout:
                    self.fail("no %s from the master; got %r\n%s" % (word, got, inst.log()))
                got.append(data)
                if word in data.split("\n"):
                    return data

        ready = expect("READY=1")
        self.assertIn("STATUS=running", ready)
        # Ready means ready: every process has reported, and SMTP answers.
        with inst.smtp() as s:
            self.assertEqual(s.noop()[0], 250)
        master.send_signal(1)
        expect("RELOADING=1")
        expect("READY=1")
        inst.wait_log("reload -- generation 2")
        master.terminate()
        expect("STOPPING=1")
        self.assertEqual(master.wait(timeout=30), 0)


if __name__ == "__main__":
    main()
