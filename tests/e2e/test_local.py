"""End-to-end tests of local delivery: maildir and mbox, concurrency,
aliases (users, commands run as the table's owner, :include:),
.forward, hostile recipients, planted links, notifications (RFC 3464),
mail loops, crash recovery and deferral with postqueue -f.

Every test starts its own instance with the default master.cf (all
daemons), real users from add_user(), and real privilege separation.
"""

import grp
import os
import signal
import stat
import subprocess
import threading
import time
import unittest

from harness import Instance, main, run, wait_for, BIN
from delivery_util import (send, spool_box, read_bytes, mbox_messages, maildir_files,
                           parse, wait_count, wait_log_re, write_aliases, flush,
                           mailq, write_file, log_context)


class LocalTest(unittest.TestCase):

    def inst(self, main_cf=None):
        i = Instance(self, main_cf=main_cf)
        return i

    # -- mailboxes ------------------------------------------------------

    def test_smtplib_to_maildir(self):
        inst = self.inst({"home_mailbox": "Maildir/"})
        user, uid, gid, home = inst.add_user()
        inst.start()
        msgid = send(inst, "sender@example.org", "%s@localhost" % user, subject="to maildir",
                     body="From the start of a line\nsecond line\n")
        files = wait_count(lambda: maildir_files(home), 1, inst, "a file in Maildir/new")
        self.assertEqual(len(files), 1)
        st = os.stat(files[0])
        self.assertEqual((st.st_uid, st.st_gid), (uid, gid))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        data = read_bytes(files[0])
        self.assertTrue(data.startswith(b"Return-Path: <sender@example.org>\n"
                                        b"Delivered-To: %s@localhost\n" % user.encode()), data[:200])
        msg = parse(data)
        self.assertIsNotNone(msg["Received"], data[:500])
        self.assertEqual(msg["Message-ID"], msgid)
        # Maildir content is not mbox-quoted.
        self.assertIn(b"\n\nFrom the start of a line\nsecond line\n", data)
        self.assertEqual(os.listdir(os.path.join(home, "Maildir", "tmp")), [])
        for d in ("tmp", "new", "cur"):
            st = os.stat(os.path.join(home, "Maildir", d))
            self.assertEqual(st.st_uid, uid)
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, delay=[0-9.]+, "
                          r"delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, "
                          r"status=sent \(delivered to maildir\)" % user)
        wait_log_re(inst, r": removed")

    def test_swaks_to_mbox(self):
        inst = self.inst()
        user, uid, gid, home = inst.add_user()
        inst.start()
        p = subprocess.run(["swaks", "-s", "127.0.0.1", "-p", str(inst.port),
                            "-f", "swaks@example.org", "-t", "%s@localhost" % user,
                            "--header", "Subject: via swaks",
                            "--body", "From here on\nbody line\n"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())
        box = spool_box(inst, user)
        msgs = wait_count(lambda: mbox_messages(box), 1, inst, "a message in the mbox")
        st = os.stat(box)
        # The spool is root:mail 2775 (Debian's /var/mail): a new mailbox
        # takes the directory's group, and only its owner may read it.
        self.assertEqual((st.st_uid, st.st_gid), (uid, grp.getgrnam("mail").gr_gid))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        data = read_bytes(box)
        self.assertTrue(data.startswith(b"From swaks@example.org "), data[:100])
        self.assertIn(b"\nReturn-Path: <swaks@example.org>\nDelivered-To: %s@localhost\n"
                      % user.encode(), data)
        self.assertIn(b"\nReceived: ", data)
        self.assertIn(b"\n>From here on\n", data)     # mboxo quoting
        self.assertTrue(data.endswith(b"\n\n"), data[-50:])
        self.assertEqual(msgs[0]["Subject"], "via swaks")
        wait_log_re(inst, r"status=sent \(delivered to mailbox\)")

    def test_200_messages_10_clients(self):
        inst = self.inst({"home_mailbox": "Maildir/"})
        user, uid, gid, home = inst.add_user()
        inst.start()
        ids = ["<m%03d.%d@test.example>" % (i, os.getpid()) for i in range(200)]
        errors = []

        def client(k):
            try:
                for i in range(k, 200, 10):
                    send(inst, "load@example.org", "%s@localhost" % user, subject="n%d" % i,
                         msgid=ids[i])
            except Exception as e:          # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        wait_count(lambda: maildir_files(home), 200, inst, "200 deliveries", timeout=90)
        # Every message has left the queue: nothing more may come.
        inst.wait_queue_settled()
        files = maildir_files(home)
        got = [parse(read_bytes(f))["Message-ID"] for f in files]
        self.assertEqual(len(files), 200, "delivered %d files" % len(files))
        self.assertEqual(sorted(got), sorted(ids), "each message exactly once")
        # A message is in the mailbox before its "to=" line is written.
        wait_for(lambda: inst.log().count("status=sent (delivered to maildir)") >= 200,
                 timeout=10, what="200 status=sent lines")
        log = inst.log()
        self.assertEqual(log.count("status=sent (delivered to maildir)"), 200)
        self.assertEqual(inst.queue_files("deferred"), [])

    # -- aliases, .forward, :include: ----------------------------------

    def test_alias_to_two_users(self):
        inst = self.inst()
        u1 = inst.add_user()
        u2 = inst.add_user()
        write_aliases(inst, "postmaster: %s\nteam: %s, %s@localhost\n" % (u1[0], u1[0], u2[0]))
        inst.start()
        send(inst, "boss@example.org", "team@localhost", subject="for the team")
        for u in (u1, u2):
            msgs = wait_count(lambda u=u: mbox_messages(spool_box(inst, u[0])), 1, inst,
                              "team mail for %s" % u[0])
            self.assertEqual(msgs[0]["Subject"], "for the team")
            self.assertEqual(msgs[0]["Delivered-To"], "team@localhost")
            self.assertEqual(os.stat(spool_box(inst, u[0])).st_uid, u[1])
        wait_log_re(inst, r"expanded <team@localhost>: mailbox of %s: sent" % u2[0])
        wait_log_re(inst, r"to=<team@localhost>, relay=local, .*status=sent \(delivered to 2 "
                          r"destinations")

    def test_alias_command_runs_as_table_owner(self):
        inst = self.inst()
        owner, ouid, ogid, ohome = inst.add_user()
        out = os.path.join(ohome, "seen")
        table = os.path.join(ohome, "aliases")
        inst.set_main({"alias_maps": "hash:" + table, "alias_database": "hash:" + table})
        write_aliases(inst, 'runner: "|/bin/sh -c \'id -u > %s; cat >> %s.msg\'"\n' % (out, out),
                      path=table, owner=(ouid, ogid))
        self.assertEqual(os.stat(table + ".db").st_uid, ouid)
        inst.start()
        send(inst, "x@example.org", "runner@localhost", subject="pipe me")
        # local logs the result once the command has exited.
        wait_log_re(inst, r"to=<runner@localhost>, relay=local, .*status=sent "
                          r"\(delivered to command: ")
        self.assertIn(b"pipe me", read_bytes(out + ".msg"))
        self.assertEqual(read_bytes(out).strip(), str(ouid).encode(),
                         "the command must run as the alias table's owner, not root")
        msg = read_bytes(out + ".msg")
        self.assertTrue(msg.startswith(b"Return-Path: <x@example.org>\nDelivered-To: "
                                       b"runner@localhost\n"), msg[:200])

    def test_forward_and_include(self):
        inst = self.inst()
        a = inst.add_user()
        b = inst.add_user()
        c = inst.add_user()
        d = inst.add_user()
        listfile = os.path.join(inst.dir, "list.txt")
        write_file(listfile, "# members\n%s\n%s\n" % (c[0], d[0]))
        write_aliases(inst, "postmaster: %s\nlist: :include:%s\n" % (d[0], listfile))
        # a forwards to b, and keeps a copy.
        write_file(os.path.join(a[3], ".forward"), "\\%s, %s@localhost\n" % (a[0], b[0]),
                   uid=a[1], gid=a[2])
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % a[0], subject="forwarded")
        send(inst, "x@example.org", "list@localhost", subject="listed")
        for u, subj in ((a, "forwarded"), (b, "forwarded"), (c, "listed"), (d, "listed")):
            msgs = wait_count(lambda u=u: mbox_messages(spool_box(inst, u[0])), 1, inst,
                              "mail for %s" % u[0])
            self.assertEqual([m["Subject"] for m in msgs], [subj])
        # An unsafe .forward (group-writable) is ignored: mail stays with its owner.
        os.chmod(os.path.join(a[3], ".forward"), 0o664)
        send(inst, "x@example.org", "%s@localhost" % a[0], subject="second")
        wait_count(lambda: mbox_messages(spool_box(inst, a[0])), 2, inst, "second for a")
        wait_log_re(inst, r"ignoring forward file .*writable by group or others")
        # A copy for b would be queued before the second message leaves
        # the queue, and delivered before the queue is empty.
        inst.wait_queue_settled()
        self.assertEqual(len(mbox_messages(spool_box(inst, b[0]))), 1)

    def test_forward_to_remote_address(self):
        from smtp_util import QueueFile
        inst = self.inst()
        write_aliases(inst, "fwd: partner@example.net\n")
        inst.start()
        send(inst, "origin@example.org", "fwd@localhost", subject="to be forwarded")
        m = wait_log_re(inst, r"to=<fwd@localhost>, relay=local, .*status=sent "
                              r"\(forwarded as ([0-9A-Z]{15})\)")
        newid = m.group(1)
        wait_log_re(inst, r"%s: to=<partner@example\.net>, relay=none, .*status=deferred" % newid)
        # The agent logs "deferred" before qmgr moves the file out of active/.
        path = os.path.join(inst.queue, "deferred", newid)
        wait_for(lambda: os.path.exists(path), 10, what="%s in deferred/" % newid)
        qf = QueueFile(path)
        self.assertEqual(qf.sender, "origin@example.org")
        self.assertEqual(qf.rcpts, ["partner@example.net"])
        self.assertIn(("Delivered-To", "fwd@localhost"), qf.headers())

    def test_mailbox_command_environment(self):
        inst = self.inst({"mailbox_command": "/bin/sh -c 'cat > $HOME/mc.out; env > $HOME/mc.env'",
                          "recipient_delimiter": "+"})
        user, uid, gid, home = inst.add_user()
        inst.start()
        send(inst, "envtest@example.org", "%s+tag@localhost" % user, subject="mbox command")
        # local logs the result once the command has exited: both files
        # are whole then (env may write in more than one piece).
        wait_log_re(inst, r"status=sent \(delivered to command: ")
        self.assertIn(b"mbox command", read_bytes(os.path.join(home, "mc.out")))
        self.assertEqual(os.stat(os.path.join(home, "mc.out")).st_uid, uid)
        env = dict(l.split("=", 1) for l in read_bytes(os.path.join(home, "mc.env"))
                   .decode().splitlines() if "=" in l)
        self.assertEqual(env["SENDER"], "envtest@example.org")
        self.assertEqual(env["RECIPIENT"], "%s+tag@localhost" % user)
        self.assertEqual(env["LOCAL"], "%s+tag" % user)
        self.assertEqual(env["EXTENSION"], "tag")
        self.assertEqual(env["DOMAIN"], "localhost")
        self.assertEqual(env["USER"], user)
        self.assertEqual(env["HOME"], home)
        self.assertEqual(env["PATH"], "/usr/bin:/bin")
        for k in env:
            self.assertNotIn("POSTERN", k)

    # -- hostile input ---------------------------------------------------

    def test_hostile_recipients_reach_no_shell(self):
        inst = self.inst()
        inst.add_user()
        marker = os.path.join(inst.dir, "pwned")
        inst.start()
        hostile = ['"foo;reboot"@localhost', '"`id`"@localhost',
                   '"|touch %s"@localhost' % marker, '"/tmp/x"@localhost',
                   '"`touch %s`"@localhost' % marker, '"$(touch %s)"@localhost' % marker]
        import smtplib
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.mail("evil@example.org")
            for r in hostile:
                code, text = s.rcpt(r)
                self.assertEqual(code, 550, "%s: %d %s" % (r, code, text))
            s.rset()
        # Even with the RCPT check off, local sees only unknown users.
        inst.set_main({"local_recipient_maps": ""})
        inst.reload()
        victim = inst.add_user()
        for r in hostile[:1] + hostile[2:3] + hostile[4:]:
            send(inst, "%s@localhost" % victim[0], r, subject="hostile")
        wait_count(lambda: mbox_messages(spool_box(inst, victim[0])), 4, inst,
                   "four notifications")
        log = inst.log()
        self.assertEqual(log.count("dsn=5.1.1, status=bounced (unknown user"), 4, log_context(inst))
        self.assertFalse(os.path.exists(marker), "a shell ran envelope data")
        self.assertNotIn("delivered to command", log)

    def test_hostile_senders_reach_commands_only_as_data(self):
        # The catalogue's command-injection vectors in the envelope
        # sender (OpenSMTPD CVE-2020-7247, Exim's ${run}, a leading
        # dash): a command from the aliases gets them in $SENDER, as
        # data; nothing in them is ever run.
        inst = self.inst()
        owner, ouid, ogid, ohome = inst.add_user()
        marker = os.path.join(inst.dir, "pwned")
        out = os.path.join(ohome, "senders")
        table = os.path.join(ohome, "aliases")
        inst.set_main({"alias_maps": "hash:" + table, "alias_database": "hash:" + table})
        script = os.path.join(ohome, "record-sender")
        write_file(script, "#!/bin/sh\nprintf '%%s\\n' \"$SENDER\" >> %s\n" % out,
                   uid=ouid, gid=ogid, mode=0o755)
        write_aliases(inst, 'runner: "|%s"\n' % script, path=table, owner=(ouid, ogid))
        inst.start()
        hostile = ['";touch %s;"@example.org' % marker,
                   '"$(touch %s)"@example.org' % marker,
                   '"`touch %s`"@example.org' % marker,
                   '"${run{/bin/touch %s}}"@example.org' % marker,
                   '-oQ/tmp@example.org']
        import smtplib
        for h in hostile:
            with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as c:
                c.ehlo("hostile.example")
                self.assertEqual(c.docmd("MAIL FROM:<%s>" % h)[0], 250, h)
                self.assertEqual(c.docmd("RCPT TO:<runner@localhost>")[0], 250, h)
                code, text = c.data(b"Subject: hostile sender\r\n\r\nhi\r\n")
                self.assertEqual(code, 250, text)
        wait_for(lambda: read_bytes(out).count(b"\n") >= len(hostile), 30,
                 what="the command's record of every sender")
        got = read_bytes(out).decode().splitlines()
        self.assertEqual(sorted(got), sorted(hostile), log_context(inst))
        self.assertFalse(os.path.exists(marker), "a shell ran envelope data")

    def test_planted_links_are_not_followed(self):
        inst = self.inst()
        user, uid, gid, home = inst.add_user()
        target = os.path.join(inst.dir, "precious")
        write_file(target, "precious\n", mode=0o666)
        box = spool_box(inst, user)
        os.symlink(target, box)
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % user, subject="via symlink")
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*dsn=4\.2\.0, status=deferred "
                          r"\(cannot open mailbox .*symbolic link" % user)
        self.assertEqual(read_bytes(target), b"precious\n")
        wait_for(lambda: inst.queue_files("deferred"), 10, what="a deferred message")

        # A hard link to a file of the same user: refused too.
        mine = os.path.join(home, "notes")
        write_file(mine, "mine\n", uid=uid, gid=gid, mode=0o600)
        os.unlink(box)
        os.link(mine, box)
        send(inst, "x@example.org", "%s@localhost" % user, subject="via hard link")
        wait_log_re(inst, r"dsn=4\.2\.0, status=deferred \(cannot open mailbox .*hard link")
        self.assertEqual(read_bytes(mine), b"mine\n")
        wait_for(lambda: len(inst.queue_files("deferred")) == 2, 10,
                 what="two messages in deferred/")

    def test_root_mailbox(self):
        # The default aliases send postmaster to root; root's own mailbox
        # is written (as root, with the same checks as anyone's).
        inst = self.inst()
        inst.start()
        send(inst, "x@example.org", "postmaster@localhost", subject="for root")
        box = spool_box(inst, "root")
        msgs = wait_count(lambda: mbox_messages(box), 1, inst, "root's mail")
        st = os.stat(box)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600))
        self.assertEqual(msgs[0]["Delivered-To"], "postmaster@localhost")

    def test_root_mailbox_planted_by_a_user(self):
        inst = self.inst()
        user, uid, gid, home = inst.add_user()
        box = spool_box(inst, "root")
        write_file(box, "mine\n", uid=uid, gid=gid, mode=0o600)
        inst.start()
        send(inst, "x@example.org", "root@localhost", subject="for root")
        wait_log_re(inst, r"to=<root@localhost>, .*status=deferred \(cannot open mailbox "
                          r".*wrong owner")
        self.assertEqual(read_bytes(box), b"mine\n")

    # -- notifications and loops -----------------------------------------

    def test_bounce_is_rfc3464(self):
        inst = self.inst()
        sender = inst.add_user()
        write_aliases(inst, 'postmaster: %s\nfailme: "|echo no mailbox here >&2; exit 67"\n'
                      % sender[0])
        inst.start()
        msgid = send(inst, "%s@localhost" % sender[0], "failme@localhost", subject="doomed",
                     headers={"X-Custom": "kept"})
        wait_count(lambda: mbox_messages(spool_box(inst, sender[0])), 1, inst,
                   "the notification")
        inst.wait_queue_settled()
        msgs = mbox_messages(spool_box(inst, sender[0]))
        self.assertEqual(len(msgs), 1, "exactly one notification")
        dsn = parse(msgs[0].as_bytes())
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        self.assertEqual(dsn.get_param("report-type"), "delivery-status")
        self.assertIn("MAILER-DAEMON", dsn["From"])
        self.assertEqual(dsn["Return-Path"], "<>")
        parts = dsn.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        self.assertIn("failme@localhost", parts[0].get_payload())
        blocks = parts[1].get_payload()
        fields = {}
        for b in blocks:
            for k, v in b.items():
                fields[k.lower()] = v
        self.assertTrue(fields["reporting-mta"].startswith("dns;"), fields)
        self.assertIn("arrival-date", fields)
        self.assertEqual(fields["final-recipient"].replace(" ", ""), "rfc822;failme@localhost")
        self.assertEqual(fields["action"], "failed")
        self.assertEqual(fields["status"], "5.1.1")
        self.assertIn("no mailbox here", fields["diagnostic-code"])
        orig = parts[2].get_payload()
        self.assertIn("Message-ID: %s" % msgid, orig)
        self.assertIn("X-Custom: kept", orig)
        wait_log_re(inst, r"status=bounced \(command .*died with status 67")
        wait_log_re(inst, r": sender non-delivery notification: [0-9A-Z]{15}")

    def test_bounce_resists_header_injection(self):
        # The catalogue's bounce injection: a failure text with line
        # breaks, a header and a fake MIME boundary, and an original
        # whose Subject is an encoded word that decodes to CR LF and a
        # Bcc.  The notification keeps its three parts and its own
        # header; nothing injected becomes a field or a part.
        inst = self.inst()
        sender = inst.add_user()
        victim = inst.add_user()
        write_aliases(inst, "postmaster: %s\n"
                            "failinj: \"|printf 'no\\\\r\\\\nSubject: injected\\\\r\\\\n"
                            "\\\\r\\\\n--evil\\\\nX-Evil: 1\\\\n' >&2; exit 67\"\n"
                      % sender[0])
        inst.start()
        send(inst, "%s@localhost" % sender[0], "failinj@localhost",
             subject="=?utf-8?q?a=0D=0ABcc:_%s@localhost?=" % victim[0],
             headers={"X-Evil-Header": "x\r\n\tSubject: injected-too"})
        msgs = wait_count(lambda: mbox_messages(spool_box(inst, sender[0])), 1, inst,
                          "the notification")
        raw = msgs[0].as_bytes()
        dsn = parse(raw)
        self.assertEqual(dsn.get_all("Subject"), ["Undelivered Mail Returned to Sender"],
                         raw[:2000])
        self.assertIsNone(dsn["X-Evil"], raw[:2000])
        self.assertIsNone(dsn["Bcc"], raw[:2000])
        parts = dsn.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        for b in parts[1].get_payload():
            self.assertIsNone(b["Subject"], raw[:3000])
            self.assertIsNone(b["X-Evil"], raw[:3000])
        diag = " ".join(b.get("Diagnostic-Code", "") for b in parts[1].get_payload())
        self.assertIn("Subject: injected", diag)	# kept as text, on one field
        # The Bcc inside the encoded word reached nobody.
        inst.wait_queue_settled()
        self.assertEqual(mbox_messages(spool_box(inst, victim[0])), [], log_context(inst))

    def test_bounce_of_bounce_goes_to_postmaster_once(self):
        inst = self.inst()
        pm = inst.add_user()
        write_aliases(inst, 'postmaster: %s\nfailme: "|exit 67"\n' % pm[0])
        inst.start()
        # The sender does not exist: its notification fails in turn.
        send(inst, "ghost@localhost", "failme@localhost", subject="a bounce that bounces")
        wait_log_re(inst, r": sender non-delivery notification: ")
        wait_log_re(inst, r"to=<ghost@localhost>, relay=local, .*dsn=5\.1\.1, "
                          r"status=bounced \(unknown user")
        wait_count(lambda: mbox_messages(spool_box(inst, pm[0])), 1, inst,
                   "the postmaster copy")
        # A loop would keep mail in the queue (or leave some in deferred/).
        inst.wait_queue_settled()
        msgs = mbox_messages(spool_box(inst, pm[0]))
        self.assertEqual(len(msgs), 1, "one postmaster copy, no loop")
        self.assertEqual(msgs[0]["Subject"], "Postmaster Copy: Undelivered Mail")
        self.assertTrue(msgs[0]["Return-Path"].startswith("<double-bounce@"), msgs[0]["Return-Path"])
        wait_log_re(inst, r"postmaster non-delivery notification")
        # A null-sender message that fails goes to postmaster as well.
        send(inst, "", "failme@localhost", subject="null sender")
        wait_count(lambda: mbox_messages(spool_box(inst, pm[0])), 2, inst,
                   "the second postmaster copy")
        inst.wait_queue_settled()
        self.assertEqual(len(mbox_messages(spool_box(inst, pm[0]))), 2)

    def test_mail_loop_detected(self):
        inst = self.inst()
        sender = inst.add_user()
        user = inst.add_user()
        write_aliases(inst, "postmaster: %s\n" % sender[0])
        inst.start()
        send(inst, "%s@localhost" % sender[0], "%s@localhost" % user[0], subject="looping",
             headers={"Delivered-To": "%s@localhost" % user[0]})
        wait_log_re(inst, r"to=<%s@localhost>, .*dsn=5\.4\.6, status=bounced \(mail "
                          r"forwarding loop for %s@localhost\)" % (user[0], user[0]))
        wait_count(lambda: mbox_messages(spool_box(inst, sender[0])), 1, inst, "notification")
        self.assertEqual(mbox_messages(spool_box(inst, user[0])), [])

    # -- crashes and retries ---------------------------------------------

    def kill_all(self, inst):
        for pid in inst.instance_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: not inst.instance_pids(), 10, what="every process gone")

    def test_kill_everything_after_250(self):
        import smtplib
        inst = self.inst()
        user = inst.add_user()
        inst.start()
        # qmgr frozen: the message is surely queued and not yet delivered.
        qmgr = int(inst.procs("qmgr")[0]["pid"])
        os.kill(qmgr, signal.SIGSTOP)
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.mail("x@example.org")
            s.rcpt("%s@localhost" % user[0])
            code, _ = s.data(b"Subject: survive\r\n\r\nbody\r\n")
            self.assertEqual(code, 250)
            self.kill_all(inst)
        self.assertEqual(len(inst.queue_files("incoming")) + len(inst.queue_files("active")), 1)
        inst.start()
        msgs = wait_count(lambda: mbox_messages(spool_box(inst, user[0])), 1, inst,
                          "delivery after the crash")
        self.assertEqual([m["Subject"] for m in msgs], ["survive"])

        # Again with nothing frozen: kill -9 right after the 250.
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
            s.mail("x@example.org")
            s.rcpt("%s@localhost" % user[0])
            code, _ = s.data(b"Subject: survive again\r\n\r\nbody\r\n")
            self.assertEqual(code, 250)
            self.kill_all(inst)
        inst.start()
        msgs = wait_count(lambda: mbox_messages(spool_box(inst, user[0])), 2, inst,
                          "second delivery after the crash")
        self.assertIn("survive again", [m["Subject"] for m in msgs])
        wait_for(lambda: not inst.queue_files("active") and not inst.queue_files("incoming"),
                 10, what="an empty queue")

    def test_unwritable_mailbox_deferred_then_flushed(self):
        inst = self.inst({"home_mailbox": "Maildir/"})
        user, uid, gid, home = inst.add_user()
        md = os.path.join(home, "Maildir")
        for d in ("", "tmp", "new", "cur"):
            os.makedirs(os.path.join(md, d), exist_ok=True)
            os.chown(os.path.join(md, d), uid, gid)
        os.chmod(os.path.join(md, "tmp"), 0o500)     # the owner cannot write it
        inst.start()
        send(inst, "x@example.org", "%s@localhost" % user, subject="later")
        wait_log_re(inst, r"to=<%s@localhost>, .*status=deferred \(cannot create file in "
                          r"maildir" % user)
        wait_for(lambda: inst.queue_files("deferred"), 10, what="a deferred message")
        q = mailq(inst)
        self.assertIn(inst.queue_files("deferred")[0], q)
        self.assertIn("cannot create file in maildir", q)
        # The next attempt is in the future (minimal_backoff_time).
        st = os.stat(os.path.join(inst.queue, "deferred", inst.queue_files("deferred")[0]))
        self.assertGreater(st.st_mtime, time.time() + 200)
        os.chmod(os.path.join(md, "tmp"), 0o700)
        flush(inst)
        wait_count(lambda: maildir_files(home), 1, inst, "delivery after postqueue -f")
        wait_for(lambda: not inst.queue_files("deferred"), 10, what="the deferred queue empty")


    def test_full_mailbox_file_system_defers_and_keeps_the_mailbox(self):
        # The mbox's file system fills during the write: the delivery is
        # deferred (4.3.0, temporary), the mailbox is cut back to what it
        # held, and once there is room the message arrives whole.
        inst = self.inst()
        user, uid, gid, home = inst.add_user()
        spool = os.path.dirname(spool_box(inst, user))
        st = os.stat(spool)
        run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=%o,uid=%d,gid=%d"
             % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), "tmpfs", spool])
        self.addCleanup(lambda: run(["umount", "-l", spool], check=False))
        inst.start()
        box = spool_box(inst, user)
        send(inst, "x@example.org", "%s@localhost" % user, subject="small one")
        wait_count(lambda: mbox_messages(box), 1, inst, "the small message")
        size = os.stat(box).st_size
        big = "".join("line %06d of a message larger than the file system\n" % i
                      for i in range(30000))
        send(inst, "x@example.org", "%s@localhost" % user, subject="big one", body=big)
        wait_log_re(inst, r"to=<%s@localhost>, relay=local, .*dsn=4\.[0-9]\.[0-9], "
                          r"status=deferred" % user)
        wait_for(lambda: inst.queue_files("deferred"), 10, what="a deferred message")
        self.assertEqual(os.stat(box).st_size, size, "the mailbox was not cut back")
        self.assertEqual(len(mbox_messages(box)), 1)
        run(["mount", "-o", "remount,size=8m", spool])
        flush(inst)
        msgs = wait_count(lambda: mbox_messages(box), 2, inst, "the big message after flush")
        self.assertEqual(msgs[1]["Subject"], "big one")
        self.assertEqual(msgs[1].get_payload().replace("\r\n", "\n"), big)
        wait_for(lambda: not inst.queue_files("deferred"), 10, what="the deferred queue empty")


if __name__ == "__main__":
    main()
