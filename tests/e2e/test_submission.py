"""Local submission end to end: sendmail -> postdrop -> maildrop/ -> pickup ->
cleanup -> qmgr -> local, run by real unprivileged users, with the programs
that call sendmail on real servers (cron-style -t -i, bsd-mailx, -bs)."""

import os
import pwd
import signal
import subprocess
import tempfile
import time
import unittest

from harness import Instance, main, wait_for, _s
from submission_util import (SENDMAIL, POSTDROP, run_as, user_argv, user_env, describe,
                             mailbox, wait_mailbox, messages, header_of, children,
                             maildrop, wake_pickup, wait_gone)

GRACE = 2  # maildrop_grace_time in seconds, small so the test is quick

MAIN = {
    "maildrop_grace_time": "%ds" % GRACE,
    "message_size_limit": "200000",
}


class Submission(unittest.TestCase):
    """Tests that share one running instance and three users."""

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance(None, main_cf=MAIN)
        try:
            cls.users = [cls.inst.add_user("ps")[0] for _ in range(4)]
            cls.inst.start()
        except Exception:
            cls.inst.cleanup()
            raise
        cls.sender = cls.users[3]

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def log_tail(self, n=40):
        return "\n---- maillog ----\n" + "\n".join(self.inst.log().splitlines()[-n:])

    def sendmail(self, args, text, user=None, env=None):
        p = run_as(user or self.sender, [SENDMAIL] + list(args), self.inst, input=text, env=env)
        return p

    def submit(self, args, text, user=None):
        p = self.sendmail(args, text, user)
        self.assertEqual(p.returncode, 0, describe(p) + self.log_tail())
        return p

    def test_dash_t_bcc_removed(self):
        u1, u2, u3 = self.users[:3]
        tag = "t-bcc-%d" % time.monotonic_ns()
        self.submit(["-t"], "To: %s\nCc: %s\nBcc: %s\nSubject: %s\n\nhi\n" % (u1, u2, u3, tag))
        for u in (u1, u2, u3):
            box = wait_mailbox(self.inst, u, tag)
            msg = [m for m in messages(box) if tag.encode() in m][0]
            head = header_of(msg)
            self.assertNotIn(b"\nBcc:", b"\n" + head, "Bcc: delivered to %s:\n%s" % (u, _s(msg)))
            self.assertIn(("To: %s" % u1).encode(), head)
            self.assertIn(b"\n\nhi\n", msg + b"\n")

    def test_command_line_recipients_added_to_dash_t(self):
        u1, u2 = self.users[:2]
        tag = "t-plus-%d" % time.monotonic_ns()
        self.submit(["-t", "--", u2], "To: %s\nSubject: %s\n\nx\n" % (u1, tag))
        wait_mailbox(self.inst, u1, tag)
        wait_mailbox(self.inst, u2, tag)

    def test_bsd_mailx(self):
        u1 = self.users[0]
        tag = "mailx-%d" % time.monotonic_ns()
        with tempfile.NamedTemporaryFile("w", suffix=".mailrc", delete=False) as f:
            f.write("set sendmail=%s\n" % SENDMAIL)
        os.chmod(f.name, 0o644)
        self.addCleanup(os.unlink, f.name)
        env = user_env(self.inst, {"MAILRC": f.name, "HOME": "/nonexistent"})
        p = run_as(self.sender, ["bsd-mailx", "-s", tag, u1], self.inst,
                   input="line one\nline two\n", env=env)
        self.assertEqual(p.returncode, 0, describe(p) + self.log_tail())
        box = wait_mailbox(self.inst, u1, tag)
        msg = [m for m in messages(box) if tag.encode() in m][0]
        self.assertIn(b"line one\nline two\n", msg)
        self.assertIn(("Subject: %s" % tag).encode(), header_of(msg))

    def test_cron_style_lone_dot(self):
        u1 = self.users[0]
        tag = "cron-%d" % time.monotonic_ns()
        body = "before\n.\nafter the dot\n..two\n"
        self.submit(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-oi", "-t"],
                    "To: %s\nSubject: %s\n\n%s" % (u1, tag, body))
        box = wait_mailbox(self.inst, u1, tag)
        msg = [m for m in messages(box) if tag.encode() in m][0]
        self.assertIn(body.encode(), msg, _s(msg))
        self.assertIn(b"CronDaemon", header_of(msg), _s(msg))
        # Without -i the dot ends the message.
        tag2 = tag + "-nodot"
        self.submit([u1], "Subject: %s\n\nkept\n.\nlost\n" % tag2)
        box = wait_mailbox(self.inst, u1, tag2)
        msg = [m for m in messages(box) if tag2.encode() in m][0]
        self.assertIn(b"kept\n", msg)
        self.assertNotIn(b"lost", msg)

    def test_crlf_and_from_line(self):
        u1 = self.users[0]
        tag = "crlf-%d" % time.monotonic_ns()
        self.submit([u1], "From someone Mon Jan  1 00:00:00 2024\r\nSubject: %s\r\n\r\n"
                          "a\r\nb\r\n" % tag)
        box = wait_mailbox(self.inst, u1, tag)
        msg = [m for m in messages(box) if tag.encode() in m][0]
        self.assertNotIn(b"\r", msg)
        self.assertNotIn(b"From someone", msg)
        self.assertIn(b"\n\na\nb\n", msg)

    def test_sender_options(self):
        u1 = self.users[0]
        tag = "from-%d" % time.monotonic_ns()
        self.submit(["-f", "boss@example.org", "-F", "The Boss", u1], "Subject: %s\n\nx\n" % tag)
        box = wait_mailbox(self.inst, u1, tag)
        msg = [m for m in messages(box) if tag.encode() in m][0]
        self.assertIn(b"Return-Path: <boss@example.org>", msg)
        self.assertIn(b"The Boss", header_of(msg))
        # The default sender is the login name @myorigin.
        tag = "login-%d" % time.monotonic_ns()
        self.submit([u1], "Subject: %s\n\nx\n" % tag)
        box = wait_mailbox(self.inst, u1, tag)
        msg = [m for m in messages(box) if tag.encode() in m][0]
        self.assertIn(("Return-Path: <%s@" % self.sender).encode(), msg)

    def test_refused_message_notice(self):
        # sendmail -t without recipients in the headers: sendmail said 0,
        # so the sender hears from the mail system when cleanup refuses it.
        tag = "norcpt-%d" % time.monotonic_ns()
        self.submit(["-t"], "Subject: %s\n\nnobody\n" % tag, user=self.users[2])
        box = wait_mailbox(self.inst, self.users[2], tag)
        msg = [m for m in messages(box) if tag.encode() in m][0]
        self.assertIn(b"Return-Path: <>", msg)
        self.assertIn(b"Subject: Undelivered Mail Returned to Sender", msg)
        self.assertIn(b"No recipients", msg)
        self.assertIn(("by uid %d" % pwd.getpwnam(self.users[2]).pw_uid).encode(), msg)
        line = [l for l in self.inst.log().splitlines() if "refused by cleanup" in l]
        self.assertTrue(line and "uid=" in line[-1], self.log_tail())

    def test_smtp_on_stdin(self):
        u1 = self.users[0]
        tag = "bs-%d" % time.monotonic_ns()
        script = ("EHLO me\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                  "Subject: %s\r\n\r\n..stuffed\r\n.\r\nQUIT\r\n" % (self.sender, u1, tag))
        p = self.sendmail(["-bs"], script)
        out = _s(p.stdout)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertTrue(out.startswith("220 "), out)
        self.assertIn("250-PIPELINING", out)
        self.assertIn("354 ", out)
        self.assertIn("250 2.0.0 Ok: queued", out)
        self.assertIn("221 2.0.0", out)
        box = wait_mailbox(self.inst, u1, tag)
        msg = [m for m in messages(box) if tag.encode() in m][0]
        self.assertIn(b"\n.stuffed\n", msg)
        # Two messages in one session, a refused recipient, an unknown command.
        script = ("HELO me\r\nMAIL FROM:<>\r\nRCPT TO:<bad address>\r\nRCPT TO:<%s>\r\n"
                  "DATA\r\nSubject: %s-1\r\n\r\n1\r\n.\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n"
                  "DATA\r\nSubject: %s-2\r\n\r\n2\r\n.\r\nBOGUS\r\nQUIT\r\n"
                  % (u1, tag, self.sender, u1, tag))
        p = self.sendmail(["-bs"], script)
        out = _s(p.stdout)
        self.assertEqual(out.count("250 2.0.0 Ok: queued"), 2, out)
        self.assertIn("\r\n501 5.1.3", out)
        self.assertIn("\r\n502 5.5.2", out)
        wait_mailbox(self.inst, u1, tag + "-1")
        wait_mailbox(self.inst, u1, tag + "-2")

    def test_usage_errors(self):
        p = self.sendmail([], "Subject: x\n\nx\n")
        self.assertEqual(p.returncode, 64, describe(p))
        self.assertIn(b"no recipient addresses", p.stderr)
        p = self.sendmail(["-Z", "x"], "")
        self.assertEqual(p.returncode, 64, describe(p))
        self.assertIn(b"unknown option -Z", p.stderr)
        p = self.sendmail(["<bad"], "x\n")
        self.assertEqual(p.returncode, 67, describe(p))
        # Larger than message_size_limit: 65, and nothing is left behind.
        before = maildrop(self.inst)
        p = self.sendmail([self.users[0]], "Subject: big\n\n" + ("x" * 99 + "\n") * 2100)
        self.assertEqual(p.returncode, 65, describe(p))
        self.assertIn(b"message_size_limit", p.stderr)
        # sendmail has waited for postdrop: whatever it left is there now.
        self.assertEqual([n for n in maildrop(self.inst) if n not in before], [])

    def test_user_cannot_write_maildrop(self):
        path = os.path.join(self.inst.queue, "maildrop", "x")
        p = run_as(self.sender, ["sh", "-c", "echo x > %s" % path], self.inst)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"Permission denied", p.stderr)
        p = run_as(self.sender, ["ls", os.path.join(self.inst.queue, "maildrop")], self.inst)
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(path))
        # ... but postdrop, set-group-id, can.
        st = os.stat(POSTDROP)
        self.assertTrue(st.st_mode & 0o2000, oct(st.st_mode))
        tag = "through-postdrop-%d" % time.monotonic_ns()
        self.submit([self.users[0]], "Subject: %s\n\nx\n" % tag)
        wait_mailbox(self.inst, self.users[0], tag)

    def test_garbage_file_set_aside(self):
        name = "0123456789abcdef0123456789abcdef"
        path = os.path.join(self.inst.queue, "maildrop", name)
        with open(path, "wb") as f:
            f.write(b"V\0\0\0\x011T\0\0\0\xffgarbage that is not a record\n")
        os.chmod(path, 0o644)
        tag = "after-garbage-%d" % time.monotonic_ns()
        self.submit([self.users[0]], "Subject: %s\n\nx\n" % tag)
        wait_mailbox(self.inst, self.users[0], tag)
        wait_gone(path)
        self.assertTrue(os.path.exists(os.path.join(self.inst.queue, "corrupt", name)),
                        self.log_tail())
        line = [l for l in self.inst.log().splitlines() if name in l]
        self.assertTrue(line, self.log_tail())
        self.assertIn("uid=0:", line[0])
        self.assertIn("moved to corrupt/" + name, line[0])

    def test_killed_postdrop_leaves_nothing(self):
        tag = "killed-%d" % time.monotonic_ns()
        before = set(maildrop(self.inst))
        p = subprocess.Popen(user_argv(self.sender, [SENDMAIL, "-i", self.users[0]]),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=user_env(self.inst))
        try:
            p.stdin.write(("Subject: %s\n\npartial body\n" % tag).encode())
            p.stdin.flush()
            temp = wait_for(lambda: [n for n in maildrop(self.inst)
                                     if n.startswith("t.") and n not in before],
                            10, what="postdrop's temporary file")[0]
            pd = wait_for(lambda: children(p.pid), 10, what="postdrop")
            for pid in pd:
                os.kill(pid, signal.SIGKILL)
            p.stdin.close()
            p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"postdrop died of signal 9", err)
        tpath = os.path.join(self.inst.queue, "maildrop", temp)
        self.assertTrue(os.path.exists(tpath), "the temporary file should stay until the grace time")
        # A wake-up before the grace time keeps it; one after removes it.
        wake_pickup(self.inst)
        time.sleep(0.3)
        self.assertTrue(os.path.exists(tpath))
        time.sleep(GRACE + 0.5)
        wake_pickup(self.inst)
        wait_gone(tpath)
        self.inst.wait_log("removed maildrop/%s" % temp)
        line = [l for l in self.inst.log().splitlines() if temp in l][0]
        self.assertIn("uid=%d:" % pwd.getpwnam(self.sender).pw_uid, line)
        # Nothing of it was ever delivered (had pickup taken it, it
        # would be in the mailbox once no mail is in flight).
        self.inst.wait_queue_settled(deferred=None)
        self.assertNotIn(tag.encode(), mailbox(self.inst, self.users[0]))

    def test_log_lines_name_the_uid(self):
        uid = pwd.getpwnam(self.sender).pw_uid
        tag = "uid-%d" % time.monotonic_ns()
        self.submit([self.users[1]], "Subject: %s\n\nx\n" % tag)
        wait_mailbox(self.inst, self.users[1], tag)
        log = self.inst.log().splitlines()
        self.assertTrue([l for l in log if "uid=%d from=<%s@" % (uid, self.sender) in l],
                        self.log_tail())
        for l in log:
            if "postern/pickup[" in l or "postern/postdrop[" in l:
                self.assertIn("uid=", l, "a pickup line without the uid: " + l)

    def test_hostile_postdrop_environment(self):
        evil = tempfile.mkdtemp(prefix="postern-evil-")
        self.addCleanup(subprocess.run, ["rm", "-rf", evil])
        os.chmod(evil, 0o755)
        evq = os.path.join(evil, "queue")
        os.makedirs(os.path.join(evq, "maildrop"))
        with open(os.path.join(evil, "main.cf"), "w") as f:
            f.write("queue_directory = %s\ncommand_directory = %s\n"
                    % (evq, os.path.dirname(POSTDROP)))
        with open(os.path.join(evil, "DB_CONFIG"), "w") as f:
            f.write("set_data_dir %s\n" % evil)
        subprocess.run(["chown", "-R", self.sender, evil], check=True)
        subprocess.run(["chmod", "-R", "a+rwX", evq], check=True)
        records = (b"V\0\0\0\x011T\0\0\0\x031.0S\0\0\0\0R\0\0\0\x01xM\0\0\0\x02x\nE\0\0\0\0")

        # MAIL_CONFIG naming a directory the user controls: refused.
        env = {"PATH": "/usr/bin:/bin", "MAIL_CONFIG": evil, "DB_HOME": evil,
               "TMPDIR": evil, "LD_PRELOAD": os.path.join(evil, "x.so")}
        p = run_as(self.sender, [POSTDROP], self.inst, input=records, env=env, cwd=evil)
        self.assertEqual(p.returncode, 77, describe(p))
        self.assertIn(b"refusing configuration directory", p.stderr)
        self.assertIn(b"not by root", p.stderr)
        p = run_as(self.sender, [POSTDROP, "-c", evil], self.inst, input=records, env=env, cwd=evil)
        self.assertEqual(p.returncode, 77, describe(p))
        p = run_as(self.sender, [POSTDROP, "-c", "etc"], self.inst, input=records, env=env,
                   cwd=self.inst.dir)
        self.assertEqual(p.returncode, 64, describe(p))
        self.assertIn(b"not an absolute path", p.stderr)
        p = run_as(self.sender, [SENDMAIL, self.users[0]], self.inst, input="x\n", env=env,
                   cwd=evil)
        self.assertEqual(p.returncode, 77, describe(p))
        self.assertIn(b"refusing configuration directory", p.stderr)
        self.assertEqual(os.listdir(os.path.join(evq, "maildrop")), [])

        # The instance's own directory works from the hostile working
        # directory: its main.cf and DB_CONFIG there are never read.
        env["MAIL_CONFIG"] = self.inst.etc
        tag = "hostile-cwd-%d" % time.monotonic_ns()
        p = run_as(self.sender, [SENDMAIL, self.users[0]], self.inst,
                   input="Subject: %s\n\nx\n" % tag, env=env, cwd=evil)
        self.assertEqual(p.returncode, 0, describe(p))
        wait_mailbox(self.inst, self.users[0], tag)
        self.assertEqual(os.listdir(os.path.join(evq, "maildrop")), [])
        self.assertEqual(sorted(os.listdir(evil)), ["DB_CONFIG", "main.cf", "queue"])

        # Forged records: a login= of our own, unknown attributes, junk.
        forged = (b"V\0\0\0\x011T\0\0\0\x031.0A\0\0\0\x0alogin=rootS\0\0\0\0R\0\0\0\x01x"
                  b"M\0\0\0\x02x\nE\0\0\0\0")
        p = run_as(self.sender, [POSTDROP], self.inst, input=forged)
        self.assertEqual(p.returncode, 65, describe(p))
        self.assertIn(b"attribute login is not one sendmail gives", p.stderr)
        p = run_as(self.sender, [POSTDROP], self.inst, input=b"\xff" * 100)
        self.assertEqual(p.returncode, 65, describe(p))
        p = run_as(self.sender, [POSTDROP], self.inst, input=records[:-3])
        self.assertEqual(p.returncode, 65, describe(p))
        self.assertFalse([n for n in os.listdir(os.path.join(self.inst.queue, "maildrop"))
                          if n.startswith("t.")])


class StoppedSystem(unittest.TestCase):
    """A message given while the mail system is down waits, then goes."""

    def setUp(self):
        self.inst = Instance(self)
        self.user = self.inst.add_user("pw")[0]

    def test_submitted_while_stopped(self):
        tag = "while-down-%d" % time.monotonic_ns()
        p = run_as(self.user, [SENDMAIL, self.user], self.inst, input="Subject: %s\n\nx\n" % tag)
        self.assertEqual(p.returncode, 0, describe(p))
        names = [n for n in os.listdir(os.path.join(self.inst.queue, "maildrop"))
                 if not n.startswith("t.")]
        self.assertEqual(len(names), 1, names)
        st = os.stat(os.path.join(self.inst.queue, "maildrop", names[0]))
        self.assertEqual(st.st_mode & 0o7777, 0o644)
        self.assertEqual(st.st_uid, pwd.getpwnam(self.user).pw_uid)
        self.inst.start()
        wait_mailbox(self.inst, self.user, tag)
        wait_gone(os.path.join(self.inst.queue, "maildrop", names[0]))


if __name__ == "__main__":
    main()
