"""test_security - attacks from the 2026-11 security review, end to end.

Each test is an attack that once worked (or a boundary that must keep
holding), run against a real instance as root: what a remote client, a
local user or a user's .forward can make postern do.  The unit and
script tests that go with them are named in each test's docstring.
"""

import os
import time
import unittest

from harness import Instance, main, wait_for
from smtp_util import RawSMTP

SMTP_ONLY = """\
127.0.0.1:PORT inet n - y - 1 smtpd
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
"""


class HeloReachesCleanup(unittest.TestCase):
    """Every HELO/EHLO argument smtpd takes, cleanup must take too.

    smtpd accepted any argument without control characters, cleanup
    stores only printable ASCII without spaces (helo= attribute): a
    client that said "EHLO my host" got 250 and then "451 4.3.0
    Error: malformed request" for every message, retried for ever.
    See also tests/smtpd/helo_syntax.script.
    """

    HELOS = [b"foo bar", "caf\u00e9.example.org".encode(), b"[192.0.2.1]",
             b"[IPv6:2001:db8::1]", b"x", b"odd_name!#$%.example", b"-dash-",
             b'"quoted"', b"a" * 255, b"tab\there", b"semi;colon(paren)"]

    def test_no_helo_accepted_then_refused_at_data(self):
        inst = Instance(self, main_cf={"smtpd_error_sleep_time": "0"},
                        master_cf=SMTP_ONLY)
        inst.start()
        seen = []
        for helo in self.HELOS:
            c = RawSMTP(inst.port)
            self.assertEqual(c.reply()[0], 220)
            c.send(b"EHLO " + helo + b"\r\n")
            code, lines = c.reply()
            if code != 250:
                self.assertEqual(code, 501, "%r: %r" % (helo, lines))
                seen.append((helo, "refused"))
                c.cmd("QUIT")
                continue
            self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<postmaster>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: helo test\r\n\r\nbody\r\n.\r\n")
            code, lines = c.reply()
            self.assertEqual(code, 250, "EHLO %r was taken, the message was not: %r\n%s"
                             % (helo, lines, inst.log()[-2000:]))
            seen.append((helo, "queued"))
            c.cmd("QUIT")
        # The ordinary ones still work.
        self.assertIn((b"[192.0.2.1]", "queued"), seen)
        self.assertIn((b"odd_name!#$%.example", "queued"), seen)
        self.assertIn((b"foo bar", "refused"), seen)


if __name__ == "__main__":
    main()
