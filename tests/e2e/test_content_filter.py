#!/usr/bin/env python3
"""test_content_filter - an after-queue content filter, set up as a Postfix
administrator sets up amavisd-new: content_filter sends every message that
smtpd and pickup receive to the filter (here a test SMTP server standing in
for it); the test gives each message back, with the filter's header added,
through a second smtpd on its own port with -o content_filter= and
-o receive_override_options=..., and the message is then delivered.

Covers: content_filter for smtpd and for sendmail (pickup); the way back
is not filtered again (no loop); no_header_body_checks (a header that the
first smtpd's header_checks refuse passes on the way back);
no_address_mappings on the first smtpd (the filter sees the address as
the client wrote it; the mapping happens once, on the way back);
no_unknown_recipient_checks (the way back takes an unknown local user, the
front door refuses it); a FILTER action wins over content_filter and takes
default_filter_nexthop when it names no next hop; postern check refuses a
filter transport that master.cf lacks and an unknown override option."""

import os
import smtplib
import unittest

from delivery_util import maildir_files, read_bytes, send, wait_count
from harness import Instance, free_port, main, wait_for
from remote_util import Server
from submission_util import SENDMAIL, describe, run_as


class ContentFilter(unittest.TestCase):

    def setUp(self):
        self.filter = Server(self, name="filter.test")
        self.other = Server(self, name="other-filter.test")
        self.back = free_port()
        inst = self.inst = Instance(self)
        self.user, _, _, self.home = inst.add_user()
        hc = os.path.join(inst.etc, "header_checks")
        with open(hc, "w") as f:
            f.write("/^X-Scanned:/ REJECT only the filter may say that\n"
                    "/^Subject: to the other filter/ FILTER smtp:\n")
        inst.set_main({
            "home_mailbox": "Maildir/",
            "header_checks": "regexp:%s" % hc,
            "virtual_alias_maps": "inline:{alias@localhost=%s@localhost}" % self.user,
            "content_filter": "smtp:[127.0.0.1]:%d" % self.filter.port,
            "default_filter_nexthop": "[127.0.0.1]:%d" % self.other.port,
        })
        master = inst.master_cf()
        # The front door maps nothing: the filter sees what the client wrote.
        master = master.replace("PORT", str(inst.port))
        lines = master.splitlines()
        out = []
        for line in lines:
            out.append(line)
            if line.startswith("127.0.0.1:%d " % inst.port) or \
                    line.split()[:1] == ["%d" % inst.port]:
                out.append("  -o receive_override_options=no_address_mappings")
        out.append("127.0.0.1:%d inet n - - - - smtpd" % self.back)
        out.append("  -o content_filter=")
        out.append("  -o receive_override_options=no_unknown_recipient_checks,"
                   "no_header_body_checks")
        inst.write_master("\n".join(out) + "\n")
        self.assertIn("receive_override_options=no_address_mappings", inst.master_cf(),
                      "the front door's smtpd line was found in master.cf")
        inst.start()

    def give_back(self, m, port=None):
        """What the filter does: the message, with its header, to the way back."""
        data = b"X-Scanned: yes\r\n" + m.data
        with smtplib.SMTP("127.0.0.1", port or self.back, timeout=30) as s:
            refused = s.sendmail(m.sender, m.rcpts, data)
        self.assertEqual(refused, {})

    def test_smtp_through_the_filter_and_back(self):
        send(self.inst, "a@example.org", "alias@localhost", subject="scan me")
        m = self.filter.wait_messages(1)[0]
        # no_address_mappings at the front door: the filter gets the alias.
        self.assertEqual((m.sender, m.rcpts), ("a@example.org", ["alias@localhost"]))
        self.assertIn(b"Subject: scan me", m.data)
        self.inst.wait_log("relay=127.0.0.1[127.0.0.1]:%d" % self.filter.port)
        self.give_back(m)
        files = wait_count(lambda: maildir_files(self.home), 1, self.inst,
                           "the message in the Maildir")
        body = read_bytes(files[0])
        # Mapped on the way back; the filter's header passed header_checks.
        self.assertIn(b"X-Scanned: yes", body)
        self.assertIn(b"Subject: scan me", body)
        self.inst.wait_log("to=<%s@localhost>, orig_to=<alias@localhost>, relay=local"
                           % self.user)
        # Not filtered a second time.
        self.assertEqual(len(self.filter.messages), 1)

    def test_front_door_still_checks(self):
        # The header only the filter may add is refused from a client...
        c = smtplib.SMTP("127.0.0.1", self.inst.port, timeout=30)
        try:
            c.ehlo("client.test")
            self.assertEqual(c.mail("a@example.org")[0], 250)
            self.assertEqual(c.rcpt("%s@localhost" % self.user)[0], 250)
            code, text = c.data(b"X-Scanned: yes\r\nSubject: forged\r\n\r\nhi\r\n")
            self.assertEqual((code, text), (550, b"5.7.1 only the filter may say that"))
            # ...and an unknown local user too (it passes on the way back).
            self.assertEqual(c.mail("a@example.org")[0], 250)
            self.assertEqual(c.rcpt("nobody-here@localhost")[0], 550)
        finally:
            c.close()
        with smtplib.SMTP("127.0.0.1", self.back, timeout=30) as s:
            s.ehlo("filter.test")
            s.mail("a@example.org")
            code, text = s.rcpt("nobody-here@localhost")
            self.assertEqual(code, 250, text)
            s.rset()

    def test_sendmail_goes_through_the_filter(self):
        p = run_as(self.user, [SENDMAIL, "-i", "-f", "%s@localhost" % self.user,
                               "alias@localhost"], self.inst,
                   input=b"Subject: from cron\n\nhi\n")
        self.assertEqual(p.returncode, 0, describe(p))
        m = self.filter.wait_messages(1)[0]
        # pickup has no receive_override_options here: mapped at once.
        self.assertEqual(m.rcpts, ["%s@localhost" % self.user])
        self.assertIn(b"Subject: from cron", m.data)

    def test_filter_action_wins_and_takes_default_nexthop(self):
        send(self.inst, "a@example.org", "%s@localhost" % self.user,
             subject="to the other filter")
        m = self.other.wait_messages(1)[0]
        self.assertIn(b"Subject: to the other filter", m.data)
        self.inst.wait_log("relay=127.0.0.1[127.0.0.1]:%d" % self.other.port)
        self.assertEqual(self.filter.messages, [])


class Check(unittest.TestCase):

    def test_check_refuses_what_cannot_work(self):
        inst = Instance(self)
        inst.set_main({"content_filter": "amavis:[127.0.0.1]:10024",
                       "receive_override_options": "no_header_body_checks, no_such"})
        master = inst.master_cf().replace("PORT", str(inst.port))
        inst.write_master(master + "127.0.0.1:%d inet n - - - - smtpd\n"
                          "  -o content_filter=nocolon\n" % free_port())
        p = inst.postern("check", check=False)
        out = (p.stdout + p.stderr).decode()
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn("content_filter = amavis:[127.0.0.1]:10024: transport amavis is "
                      "not a master.cf service", out)
        self.assertIn('receive_override_options = no_header_body_checks, no_such: '
                      'unknown option "no_such"', out)
        self.assertIn("-o content_filter=nocolon: want transport:nexthop", out)
        # cleanup would refuse every message with it: refused here instead.
        inst.set_main({"content_filter": "smtp:[127.0.0.1]:%s" % ("9" * 300)})
        p = inst.postern("check", check=False)
        self.assertIn("want at most 256 printable characters and no space",
                      (p.stdout + p.stderr).decode())
        # Fixed, it passes.
        inst.set_main({"content_filter": "smtp:[127.0.0.1]:10024",
                       "receive_override_options": "no_header_body_checks"})
        inst.write_master(master)
        p = inst.postern("check", check=False)
        self.assertEqual(p.returncode, 0, (p.stdout + p.stderr).decode())


if __name__ == "__main__":
    main()
