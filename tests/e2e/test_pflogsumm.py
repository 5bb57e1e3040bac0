"""pflogsumm reads postern's log as it reads Postfix's: the same fixed mix
of traffic goes to a postern instance and to a private Postfix 3.7
instance (Debian's package, unpacked and run the way bench/mta.py runs it,
nothing installed), and `pflogsumm --syslog-name=postern` over postern's
log must give the same received, delivered, deferred, bounced and
rejected counts, senders and recipients (with their message counts) as
plain `pflogsumm` over Postfix's.

The mix: messages over SMTP from three senders to two local users (one
with two recipients), one local submission with sendmail, two recipients
refused at RCPT (relaying denied: the client is not in mynetworks), one
message to an unknown local user (both MTAs are told to take any local
address at RCPT, local_recipient_maps empty, so it bounces at delivery and
the notification goes back to the sender), one message for a relay
domain whose relay host refuses connections (deferred).

Byte totals: both MTAs add their own Received: header (different text),
so their sizes cannot be equal; the two totals must differ by no more
than the difference of the Received: headers allows (200 bytes a
message).

pflogsumm credits a message's sender (senders, sending domains,
"Senders by message count", bytes received) only when smtpd's client=
or pickup's uid= line comes before qmgr's from= line: cleanup tells its
client the queue ID and waits for its confirmation before the file
becomes visible to qmgr, so that order always holds, and the test
asserts it.

Slow-ish: Postfix is fetched once (apt-get download, into bench/postfix/,
as bench/ does); each MTA runs for about 10 s.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import TOP, BIN, Instance, free_port, main, run, wait_for
from delivery_util import maildir_files

sys.path.insert(0, os.path.join(TOP, "bench"))
import measure  # noqa: E402
import mta  # noqa: E402

SENDERS = ["alice@example.org", "bob@example.net", "carol@example.com"]


def pflogsumm(log, name=None):
    argv = ["pflogsumm", "--problems-first", "--smtpd-warning-detail=0"]
    if name:
        argv.append("--syslog-name=%s" % name)
    p = subprocess.run(argv + [log], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    if p.returncode != 0:
        raise AssertionError("pflogsumm exited %d: %s" % (p.returncode, p.stdout.decode()))
    return p.stdout.decode(errors="replace")


def totals(report):
    """Grand Totals as {name: number} (bytes as bytes)."""
    out = {}
    block = report.split("Grand Totals", 1)[1].split("Per-Hour", 1)[0]
    for line in block.splitlines():
        m = re.match(r"^\s*(\d+)([kmg]?)\s+(.+?)\s*(?:\(.*\))?$", line)
        if not m:
            continue
        n = int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2)]
        out[m.group(3).strip()] = n
    return out


def section(report, title):
    """The 'N address' lines of a section such as 'Senders by message count'."""
    if title not in report:
        return []
    block = report.split(title + "\n", 1)[1].split("\n\n", 1)[0]
    return sorted(tuple(l.split()) for l in block.splitlines()[1:] if l.strip())


def client_lines_first(log_path):
    """Queue IDs whose qmgr from= line came before smtpd's client= or
    pickup's uid= line (pflogsumm then credits neither sender nor bytes).
    Notifications (from=<>) have no such line in either MTA."""
    seen, late = set(), []
    with open(log_path, errors="replace") as f:
        for line in f:
            m = re.search(r"/(smtpd|pickup|qmgr)\[\d+\]: (\w+): (client=|uid=|from=)", line)
            if not m or "from=<>," in line:
                continue
            prog, qid = m.group(1), m.group(2)
            if prog in ("smtpd", "pickup"):
                seen.add(qid)
            elif qid not in seen and qid not in late:
                late.append(qid)
    return late


class Acct(measure.Accountant):
    def __init__(self):
        super().__init__(None, "postfix")


class PflogsummTest(unittest.TestCase):

    def setUp(self):
        try:
            mta.Postfix.fetch()
        except mta.NotAvailable as e:
            self.fail("Postfix 3.7 is needed for the comparison and could not be had: %s" % e)
        self.work = tempfile.mkdtemp(prefix="postern-pflogsumm-")
        os.chmod(self.work, 0o755)
        self.addCleanup(shutil.rmtree, self.work, True)
        self.refused = free_port()      # nothing listens here: deferrals

        common = {"relayhost": "[127.0.0.1]:%d" % self.refused, "home_mailbox": "Maildir/",
                  "mynetworks": "192.0.2.0/24", "relay_domains": "remote.test",
                  "local_recipient_maps": ""}
        self.pn = Instance(self, main_cf=common)
        self.users = [self.pn.add_user("pl")[0], self.pn.add_user("pl")[0]]

        mta.ensure_ids()
        self.pf = mta.Postfix(self.work, free_port(), self.refused, Acct())
        self.pf.setup()
        cf = os.path.join(self.pf.etc, "main.cf")
        with open(cf) as f:
            text = f.read()
        text = re.sub(r"(?m)^mydestination = .*$", "mydestination = localhost", text)
        text = re.sub(r"(?m)^mynetworks = .*$", "", text)
        text += "".join("%s = %s\n" % kv for kv in common.items() if kv[0] != "relayhost")
        # sendmail runs postdrop, which needs the unpacked libraries too.
        text += "export_environment = TZ MAIL_CONFIG LANG LD_LIBRARY_PATH=%s\n" % \
            os.path.join(mta.PFX_ROOT, "usr/lib/postfix")
        with open(cf, "w") as f:
            f.write(text)
        self.addCleanup(self.pf.stop)

    def traffic(self, port, sendmail, env):
        """The fixed mix; returns when both MTAs have had time to act on it."""
        import smtplib
        u1, u2 = ["%s@localhost" % u for u in self.users]
        msgs = [(SENDERS[0], [u1]), (SENDERS[0], [u2]), (SENDERS[1], [u1, u2]),
                (SENDERS[2], [u2]), (u1, ["nosuchuser-zq9@localhost"]),
                (SENDERS[1], ["someone@remote.test"])]
        for i, (frm, rcpts) in enumerate(msgs):
            body = "Subject: mix %d\r\nFrom: %s\r\n\r\n%s\r\n" % (i, frm, "line\r\n" * (i * 20))
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                s.ehlo("client.example")
                refused = s.sendmail(frm, rcpts, body)
                self.assertEqual(refused, {})
        # Two recipients refused at RCPT, in one session.
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("client.example")
            s.mail(SENDERS[2])
            self.assertIn(s.rcpt("someone@other.test")[0], (454, 554))
            self.assertIn(s.rcpt("else@other.test")[0], (454, 554))
            s.rset()
        # A local submission.
        p = subprocess.run(sendmail + ["-f", u2, u1], input=b"Subject: local\n\nhi\n",
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)

    def settle(self, mta_, want_sent):
        """Wait for the deliveries' log lines, then until no mail is in
        flight and every message qmgr took that is not in deferred/ has
        its "removed" line in the log (Postfix's lines reach the file
        through postlogd, after the fact): the log is whole then."""
        log_path = mta_.maillog

        def files(*queues):
            return [n for q in queues
                    for d, _, names in os.walk(os.path.join(mta_.queue, q))
                    for n in names if not n.startswith(".")]

        def complete():
            if files("maildrop", "incoming", "active"):
                return False
            with open(log_path, errors="replace") as f:
                text = f.read()
            taken = set(re.findall(r"\b([0-9A-Za-z]+): from=<[^>]*>, size=", text))
            removed = set(re.findall(r"\b([0-9A-Za-z]+): removed\b", text))
            return not taken - removed - set(files("deferred"))

        def done():
            try:
                with open(log_path, errors="replace") as f:
                    text = f.read()
            except OSError:
                return False
            return (len(re.findall(r"status=sent", text)) >= want_sent
                    and "status=bounced" in text and "status=deferred" in text)
        try:
            wait_for(done, 60, what="deliveries in %s" % log_path)
        except AssertionError as e:
            with open(log_path, errors="replace") as f:
                raise AssertionError("%s\n%s" % (e, "".join(f.readlines()[-60:])))
        wait_for(complete, 60, what="no mail in flight in %s and its log whole" % mta_.queue)

    def test_same_summary_as_postfix(self):
        # 6 messages to users (7 recipients, one is the bounce's), one
        # local submission, one notification back to the bounced sender.
        want_sent = 7
        self.pn.start()
        self.traffic(self.pn.port, [os.path.join(BIN, "sendmail"), "-C",
                                    os.path.join(self.pn.etc, "main.cf")],
                     {"PATH": "/usr/bin:/bin"})
        self.settle(self.pn, want_sent)
        self.pn.stop()

        self.pf.start()
        self.traffic(self.pf.port, [mta.Postfix.tool("sendmail")], mta.Postfix.env(self.pf.etc))
        self.settle(self.pf, want_sent)
        self.pf.stop()

        ours = pflogsumm(self.pn.maillog, "postern")
        theirs = pflogsumm(self.pf.maillog)
        a, b = totals(ours), totals(theirs)
        detail = "\n---- postern ----\n%s\n---- Postfix ----\n%s" % (ours, theirs)
        for k in ("received", "delivered", "forwarded", "deferred", "bounced", "rejected",
                  "reject warnings", "held", "discarded", "recipients",
                  "recipient hosts/domains"):
            self.assertIn(k, a, detail)
            self.assertEqual(a[k], b[k], "%s: postern %d, Postfix %d%s" % (k, a[k], b[k], detail))
        self.assertEqual(a["received"], 7, detail)
        self.assertEqual(a["delivered"], 7, detail)
        self.assertEqual((a["deferred"], a["bounced"], a["rejected"]), (1, 1, 2), detail)
        self.assertEqual(section(ours, "Recipients by message count"),
                         section(theirs, "Recipients by message count"), detail)
        self.assertEqual(len(section(ours, "Recipients by message count")), 2, detail)
        self.assertLess(abs(a["bytes delivered"] - b["bytes delivered"]), 200 * 8, detail)

        # cleanup makes a queue file visible to qmgr only after the client
        # logged its line for it (lib/svc/cleanup_clnt.h, "The queue ID first").
        self.assertEqual(client_lines_first(self.pn.maillog), [], detail)
        self.assertEqual(client_lines_first(self.pf.maillog), [])
        for k in ("senders", "sending hosts/domains"):
            self.assertEqual(a[k], b[k], "%s: postern %d, Postfix %d%s" % (k, a[k], b[k], detail))
        self.assertEqual(a["senders"], 5, detail)
        self.assertEqual(section(ours, "Senders by message count"),
                         section(theirs, "Senders by message count"), detail)
        self.assertGreater(a["bytes received"], 0, detail)
        self.assertLess(abs(a["bytes received"] - b["bytes received"]), 200 * 8, detail)


if __name__ == "__main__":
    main()
