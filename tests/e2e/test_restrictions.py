"""test_restrictions - smtpd's access restrictions and cleanup's content
checks on real instances, with the DNS lists, policy servers and socket
maps the test starts on loopback.

The decisions expected are Postfix 3.7's for the same main.cf and the
same inputs (written out below, reply by reply).  Clients come from
different loopback addresses (127.0.0.0/8 is all loopback), so one
instance sees a trusted client, a listed one, a blocked one ...; only
127.0.0.1 is in mynetworks.
"""

import os
import pwd
import re
import select
import smtplib
import socket
import subprocess
import threading
import time
import unittest

from delivery_util import maildir_files, read_bytes, wait_count
from dns_util import BlackHole, Dnsmasq
from harness import BIN, Instance, free_port, main, run, wait_for
from remote_util import Server

MSG = b"From: a@x.test\r\nSubject: hello\r\n\r\nhello\r\n"


def smtp(inst, source, timeout=30):
    """An SMTP session from the loopback address source."""
    c = smtplib.SMTP(timeout=timeout, source_address=(source, 0))
    c.connect("127.0.0.1", inst.port)
    return c


def readable(sock):
    return bool(select.select([sock], [], [], 0)[0])


class Listener:
    """A server on a loopback port, or on the UNIX socket path (owned by
    the instance's mail_owner, as a service in private/): serve(conn)
    runs in a thread per connection; connections counts them."""

    def __init__(self, path=None):
        if path is None:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
        else:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(path)
            pw = pwd.getpwnam("postern")
            os.chown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(path, 0o600)
        self.sock.listen(16)
        self.port = None if path else self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def close(self):
        self.sock.close()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()


class SocketMap(Listener):
    """A Sendmail socket map server: answer(name, key) gives the reply
    ("OK value", "NOTFOUND ") for each request."""

    def __init__(self, answer, path=None):
        self.answer = answer
        super().__init__(path)

    def serve(self, c):
        with c:
            buf = b""
            while True:
                try:
                    chunk = c.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while b":" in buf:
                    n, _, rest = buf.partition(b":")
                    if len(rest) < int(n) + 1:
                        break
                    req, buf = rest[:int(n)], rest[int(n) + 1:]
                    name, _, key = req.decode().partition(" ")
                    ans = self.answer(name, key).encode()
                    c.sendall(b"%d:%s," % (len(ans), ans))


class PolicyServer(Listener):
    """A small policy delegation server (Postfix's protocol): the action
    depends on the client address; every request is kept."""

    ACTIONS = {"127.0.0.20": "DEFER_IF_PERMIT Greylisted",
               "127.0.0.21": "REJECT Policy says no",
               "127.0.0.22": "PREPEND X-Policy: seen"}

    def __init__(self, path=None):
        self.requests = []
        super().__init__(path)

    def serve(self, c):
        f = c.makefile("rb")
        with c:
            while True:
                attrs = {}
                for line in f:
                    line = line.decode().rstrip("\n")
                    if line == "":
                        break
                    k, _, v = line.partition("=")
                    attrs[k] = v
                else:
                    return
                self.requests.append(attrs)
                act = self.ACTIONS.get(attrs.get("client_address"), "DUNNO")
                c.sendall(("action=%s\n\n" % act).encode())


class RealSite(unittest.TestCase):
    """A restriction list of the kind real sites run."""

    @classmethod
    def setUpClass(cls):
        cls.inst = inst = Instance(None)
        try:
            cls.policy = PolicyServer()
            cls.dns = Dnsmasq(inst, [
                "--host-record=2.0.0.127.bl.test,127.0.0.2",
                "--txt-record=2.0.0.127.bl.test,Listed for testing",
                "--host-record=3.0.0.127.bl.test,127.0.0.3",
            ], probe=("2.0.0.127.bl.test", 1))
            blocklist = os.path.join(inst.etc, "blocklist")
            with open(blocklist, "w") as f:
                f.write("# the site's blocklist\n127.0.0.66\tREJECT Blocked by the "
                        "site's list\n127.0.0.67 DISCARD\n"
                        # Restrictions as a result: the DNS list waits, then
                        # "reject" is evaluated (not forgotten).
                        "127.0.0.68 reject_rbl_client bl.test, reject\n")
            # One smtpd process: test_policy_request counts the policy
            # connections, which are kept per process.
            inst.write_master(re.sub(r"-(\s+smtpd\n)", r"1\1", inst.master_cf()))
            inst.set_main({
                "mynetworks": "127.0.0.1/32",
                "smtpd_client_event_limit_exceptions": "127.0.0.0/8",
                "resolver_servers": cls.dns.server,
                "smtpd_recipient_restrictions":
                    "permit_mynetworks, reject_unauth_destination, "
                    "check_client_access cidr:%s, reject_rbl_client bl.test=127.0.0.2, "
                    "check_policy_service inet:127.0.0.1:%d" % (blocklist, cls.policy.port),
            })
            inst.start()
        except BaseException:
            inst.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()
        cls.policy.close()

    def rcpt(self, source, rcpt, sender="a@x.test"):
        c = smtp(self.inst, source)
        try:
            c.ehlo("client.test")
            code, text = c.mail(sender)
            self.assertEqual(code, 250, text)
            return c.rcpt(rcpt)
        finally:
            c.close()

    def test_decisions_as_postfix(self):
        # (client, recipient, Postfix 3.7's reply: code and text)
        cases = [
            ("127.0.0.1", "someone@elsewhere.test", 250, "2.1.5 Ok"),
            ("127.0.0.5", "someone@elsewhere.test", 454,
             "4.7.1 <someone@elsewhere.test>: Relay access denied"),
            ("127.0.0.66", "root@localhost", 554,
             "5.7.1 <unknown[127.0.0.66]>: Client host rejected: Blocked by the site's list"),
            ("127.0.0.66", "someone@elsewhere.test", 454,
             "4.7.1 <someone@elsewhere.test>: Relay access denied"),
            ("127.0.0.2", "root@localhost", 554,
             "5.7.1 Service unavailable; Client host [127.0.0.2] blocked using bl.test; "
             "Listed for testing"),
            # Listed, but with another address than bl.test=127.0.0.2 wants.
            ("127.0.0.3", "root@localhost", 250, "2.1.5 Ok"),
            ("127.0.0.20", "root@localhost", 450,
             "4.7.1 <root@localhost>: Recipient address rejected: Greylisted"),
            ("127.0.0.21", "root@localhost", 554,
             "5.7.1 <root@localhost>: Recipient address rejected: Policy says no"),
            ("127.0.0.5", "root@localhost", 250, "2.1.5 Ok"),
            ("127.0.0.5", "nosuchuser-z@localhost", 550,
             "5.1.1 <nosuchuser-z@localhost>: Recipient address rejected: User unknown in "
             "local recipient table"),
            # DISCARD permits (and the message would be thrown away).
            ("127.0.0.67", "root@localhost", 250, "2.1.5 Ok"),
            # An access result's own restriction list goes on after a wait.
            ("127.0.0.68", "root@localhost", 554,
             "5.7.1 <unknown[127.0.0.68]>: Client host rejected: Access denied"),
        ]
        for source, rcpt, code, text in cases:
            with self.subTest(client=source, rcpt=rcpt):
                got = self.rcpt(source, rcpt)
                self.assertEqual(got, (code, text.encode()))
        log = self.inst.log()
        self.assertIn("NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 554 5.7.1 Service "
                      "unavailable; Client host [127.0.0.2] blocked using bl.test; Listed "
                      "for testing; from=<a@x.test> to=<root@localhost> proto=ESMTP "
                      "helo=<client.test>", log)
        self.assertIn("NOQUEUE: discard: RCPT from unknown[127.0.0.67]: <unknown[127.0.0.67]>: "
                      "Client host triggers DISCARD action; from=<a@x.test> "
                      "to=<root@localhost>", log)

    def test_policy_request(self):
        before = len(self.policy.requests)
        c = smtp(self.inst, "127.0.0.5")
        try:
            c.ehlo("client.test")
            self.assertEqual(c.mail("a@x.test")[0], 250)
            self.assertEqual(c.rcpt("root@localhost")[0], 250)
            self.assertEqual(c.rcpt("postmaster@localhost")[0], 250)
        finally:
            c.close()
        reqs = self.policy.requests[before:]
        self.assertEqual(len(reqs), 2, reqs)
        r = reqs[0]
        self.assertEqual(r["request"], "smtpd_access_policy")
        self.assertEqual(r["protocol_state"], "RCPT")
        self.assertEqual(r["protocol_name"], "ESMTP")
        self.assertEqual(r["client_address"], "127.0.0.5")
        self.assertEqual(r["client_name"], "unknown")
        self.assertEqual(r["helo_name"], "client.test")
        self.assertEqual(r["sender"], "a@x.test")
        self.assertEqual(r["recipient"], "root@localhost")
        self.assertEqual(r["server_address"], "127.0.0.1")
        self.assertEqual(r["server_port"], str(self.inst.port))
        self.assertEqual(reqs[1]["recipient"], "postmaster@localhost")
        # One transaction, one instance.
        self.assertEqual(r["instance"], reqs[1]["instance"])
        for k in ("queue_id", "recipient_count", "reverse_client_name", "size",
                  "sasl_method", "encryption_protocol", "policy_context", "mail_version"):
            self.assertIn(k, r)
        # The connection is kept and reused by the next session.
        n = self.policy.connections
        self.rcpt("127.0.0.5", "root@localhost")
        self.assertEqual(self.policy.connections, n)


class Postgrey(unittest.TestCase):
    """check_policy_service against Debian's postgrey."""

    POSTGREY = "/usr/sbin/postgrey"

    def test_first_attempt_is_greylisted(self):
        # tools/deps installs postgrey: its absence is a broken test machine.
        self.assertTrue(os.access(self.POSTGREY, os.X_OK),
                        "%s is missing: run 'make deps' (tools/deps installs "
                        "postgrey)" % self.POSTGREY)
        inst = Instance(self)
        port = free_port()
        dbdir = os.path.join(inst.dir, "postgrey")
        os.mkdir(dbdir)
        run(["chown", "postgrey:postgrey", dbdir])
        pg = inst.spawn([self.POSTGREY, "--inet=127.0.0.1:%d" % port, "--dbdir=" + dbdir,
                         "--delay=3600", "--greylist-text=Greylisted for test",
                         "--pidfile=" + os.path.join(dbdir, "pid"),
                         "--whitelist-clients=/dev/null",
                         "--whitelist-recipients=/dev/null"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _listening(port), 30, what="postgrey listening")
        inst.set_main({"mynetworks": "127.0.0.1/32",
                       "smtpd_client_event_limit_exceptions": "127.0.0.0/8",
                       "smtpd_recipient_restrictions":
                           "permit_mynetworks, reject_unauth_destination, "
                           "check_policy_service inet:127.0.0.1:%d" % port})
        inst.start()
        # postgrey answers "DEFER_IF_PERMIT 4.2.0 Greylisted for test": its
        # code goes into the reply, as in Postfix.
        want = (450, b"4.2.0 <root@localhost>: Recipient address rejected: "
                     b"Greylisted for test")
        for attempt in range(2):
            c = smtp(inst, "127.0.0.30")
            c.ehlo("client.test")
            self.assertEqual(c.mail("a@x.test")[0], 250)
            self.assertEqual(c.rcpt("root@localhost"), want, "attempt %d" % attempt)
            c.close()
        c = smtp(inst, "127.0.0.1")             # mynetworks: never asked
        c.ehlo("client.test")
        self.assertEqual(c.mail("a@x.test")[0], 250)
        self.assertEqual(c.rcpt("root@localhost")[0], 250)
        c.close()
        self.assertIsNone(pg.poll(), "postgrey died")


def _listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class ContentChecks(unittest.TestCase):
    """header_checks (and mime_header_checks, which is $header_checks),
    nested_header_checks, body_checks, and a pattern that takes for ever."""

    def setUp(self):
        self.inst = inst = Instance(self)
        hc = os.path.join(inst.etc, "header_checks")
        # FILTER: the message goes to the content filter (here a test SMTP
        # server) instead of its recipients' routes.
        self.scanner = Server(self, name="scanner.test")
        with open(hc, "w") as f:
            f.write("/^Subject:.*buy now/\tREJECT No spam please\n"
                    "/^Subject: hold me/ HOLD\n"
                    "/^Subject: scan me/ FILTER smtp:[127.0.0.1]:%d\n"
                    "/^X-Remove-Me:/ IGNORE\n"
                    "/^Content-(Type|Disposition):.*name=\"?[^\"]*\\.exe\"?/ "
                    "REJECT Executable attachments are not accepted\n"
                    "/^Content-Description: internal/ REPLACE Content-Description: "
                    "checked\n" % self.scanner.port)
        pc = os.path.join(inst.etc, "header_checks.pcre")
        with open(pc, "w") as f:
            f.write("/^X-Test: (a+)+$/ REJECT catastrophic\n")
        nc = os.path.join(inst.etc, "nested_header_checks")
        with open(nc, "w") as f:
            f.write("/^Subject:.*secret plans/ REJECT No secrets in attachments\n")
        bc = os.path.join(inst.etc, "body_checks")
        with open(bc, "w") as f:
            f.write("/^discard this message$/ DISCARD\n"
                    "/^drop me$/ IGNORE\n"
                    "/^old (.*)$/ REPLACE new $1\n"
                    "/^signature$/ PREPEND [signed below]\n")
        inst.set_main({"header_checks": "regexp:%s, pcre:%s" % (hc, pc),
                       "nested_header_checks": "regexp:%s" % nc,
                       "body_checks": "regexp:%s" % bc,
                       "home_mailbox": "Maildir/"})
        inst.start()

    def send(self, data, rcpt="root@localhost"):
        c = smtp(self.inst, "127.0.0.1")
        try:
            c.ehlo("client.test")
            self.assertEqual(c.mail("a@x.test")[0], 250)
            self.assertEqual(c.rcpt(rcpt)[0], 250)
            return c.data(data)
        finally:
            c.close()

    def test_filter(self):
        code, text = self.send(b"From: a@x.test\r\nSubject: scan me\r\n\r\nhi\r\n")
        self.assertEqual(code, 250, text)
        m = self.scanner.wait_messages(1)[0]
        self.assertEqual((m.sender, m.rcpts), ("a@x.test", ["root@localhost"]))
        self.assertIn(b"Subject: scan me", m.data)
        self.inst.wait_log("filter: header Subject: scan me from")
        self.inst.wait_log("relay=127.0.0.1[127.0.0.1]:%d" % self.scanner.port)

    def test_header_reject(self):
        code, text = self.send(b"From: a@x.test\r\nSubject: buy now!\r\n\r\nhi\r\n")
        self.assertEqual((code, text), (550, b"5.7.1 No spam please"))
        self.inst.wait_log(": reject: header Subject: buy now! from unknown[127.0.0.1]; "
                           "from=<a@x.test> to=<root@localhost> proto=ESMTP "
                           "helo=<client.test>: 5.7.1 No spam please")
        self.assertEqual(self.inst.queue_files("incoming"), [])

    def test_header_reject_from_sendmail_bounces(self):
        p = run([os.path.join(BIN, "sendmail"), "-f", "root@localhost", "root@localhost"],
                input=b"Subject: buy now\n\nhi\n",
                env=dict(os.environ, MAIL_CONFIG=self.inst.etc))
        self.assertEqual(p.returncode, 0)
        # pickup hands it to cleanup, which refuses it: the sender is told.
        self.inst.wait_log("refused by cleanup: 5.7.1 No spam please", 30)

    def test_body_discard(self):
        code, text = self.send(b"Subject: x\r\n\r\nfirst\r\ndiscard this message\r\n")
        self.assertEqual(code, 250)
        qid = text.decode().split()[-1]
        self.inst.wait_log("%s: discard: body discard this message from unknown[127.0.0.1]"
                           % qid)
        self.inst.wait_log("%s: discarded" % qid)
        for q in ("incoming", "active", "deferred", "hold"):
            self.assertNotIn(qid, self.inst.queue_files(q))

    def test_hold_shows_in_mailq(self):
        code, text = self.send(b"Subject: hold me\r\n\r\nheld\r\n")
        self.assertEqual(code, 250)
        qid = text.decode().split()[-1]
        self.assertIn(qid, self.inst.queue_files("hold"))
        self.inst.wait_log("%s: hold: header Subject: hold me from unknown[127.0.0.1]" % qid)
        out = run([os.path.join(BIN, "mailq")],
                  env=dict(os.environ, MAIL_CONFIG=self.inst.etc)).stdout.decode()
        self.assertRegex(out, r"(?m)^%s!\s" % qid, out)

    def test_attachment_name_rejected(self):
        """mime_header_checks (= $header_checks) sees the headers of every
        MIME part: an .exe attachment is refused, the same line as text
        is not."""
        msg = (b"From: a@x.test\r\nSubject: report\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=\"=-b1\"\r\n\r\n"
               b"--=-b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
               b"--=-b1\r\nContent-Type: application/octet-stream; name=\"invoice.exe\"\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n"
               b"--=-b1--\r\n")
        code, text = self.send(msg)
        self.assertEqual((code, text), (550, b"5.7.1 Executable attachments are not accepted"))
        self.inst.wait_log(": reject: header Content-Type: application/octet-stream; "
                           "name=\"invoice.exe\" from unknown[127.0.0.1]; "
                           "from=<a@x.test> to=<root@localhost> proto=ESMTP "
                           "helo=<client.test>: 5.7.1 Executable attachments are not "
                           "accepted")
        self.assertEqual(self.inst.queue_files("incoming"), [])
        code, text = self.send(b"Subject: howto\r\n\r\nContent-Type: application/"
                               b"octet-stream; name=\"invoice.exe\"\r\n")
        self.assertEqual(code, 250, text)

    def test_attached_message_subject_rejected(self):
        """nested_header_checks sees the headers of an attached message
        (message/rfc822 inside a multipart); the top-level Subject: is
        header_checks' business."""
        msg = (b"From: a@x.test\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
               b"--outer\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n"
               b"--outer\r\nContent-Type: message/rfc822\r\n\r\n"
               b"From: b@y.test\r\nSubject: the secret plans\r\n\r\nplans\r\n"
               b"--outer--\r\n")
        code, text = self.send(msg)
        self.assertEqual((code, text), (550, b"5.7.1 No secrets in attachments"))
        self.inst.wait_log(": reject: header Subject: the secret plans from "
                           "unknown[127.0.0.1]; from=<a@x.test> to=<root@localhost> "
                           "proto=ESMTP helo=<client.test>: 5.7.1 No secrets in "
                           "attachments")
        code, text = self.send(b"From: a@x.test\r\nSubject: the secret plans\r\n\r\n"
                               b"not attached\r\n")
        self.assertEqual(code, 250, text)

    def test_body_edits_are_delivered(self):
        """body_checks IGNORE, REPLACE and PREPEND, and a REPLACE in a MIME
        part's header, change what the recipient gets."""
        user, _, _, home = self.inst.add_user()
        msg = (b"From: a@x.test\r\nSubject: edits\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
               b"--b\r\nContent-Type: text/plain\r\n"
               b"Content-Description: internal memo\r\n\r\n"
               b"first\r\ndrop me\r\nold wording\r\nsignature\r\n--b--\r\n")
        code, text = self.send(msg, rcpt="%s@localhost" % user)
        self.assertEqual(code, 250, text)
        files = wait_count(lambda: maildir_files(home), 1, self.inst, "a file in Maildir/new")
        data = read_bytes(files[0])
        body = data.split(b"\n\n", 1)[1]
        self.assertEqual(body, b"--b\nContent-Type: text/plain\n"
                               b"Content-Description: checked\n\n"
                               b"first\nnew wording\n[signed below]\nsignature\n--b--\n", data)
        qid = text.decode().split()[-1]
        self.inst.wait_log("%s: replace: body old wording from unknown[127.0.0.1]" % qid)
        self.inst.wait_log("%s: prepend: body signature from unknown[127.0.0.1]" % qid)

    def test_catastrophic_pcre_is_bounded(self):
        """A header that makes /^X-Test: (a+)+$/ backtrack for ever: the
        match stops at PCRE2's match limit, the message is deferred
        (451 4.3.0, documented in cleanup_checks.c), and the next message
        goes through the same cleanup service."""
        long_header = b"X-Test: " + b"a" * 5000 + b"b"
        code, text = self.send(b"Subject: x\r\n" + long_header + b"\r\n\r\nhi\r\n")
        self.assertEqual((code, text), (451, b"4.3.0 Error: content check failed"))
        self.inst.wait_log("header check failed: ")
        self.assertIn("match limit", self.inst.log())
        code, text = self.send(b"Subject: fine\r\nX-Remove-Me: yes\r\n\r\nhi\r\n")
        self.assertEqual(code, 250, text)


class RestrictionClasses(unittest.TestCase):
    """smtpd_restriction_classes: a class named in a list, and a class
    named by an access table's result (a hash: table asked through the
    lookup service, so the class is entered after a wait); the classes'
    own tables are served too; postern check knows the class names."""

    def test_classes(self):
        inst = Instance(self)
        tables = {"strict_clients": "127.0.0.52 REJECT Strict says no\n",
                  "host_clients": "127.0.0.54 REJECT Hosts says no\n",
                  "senders": "vip@x.test vip\nbad@y.test strict\n"}
        for name, text in tables.items():
            with open(os.path.join(inst.etc, name), "w") as f:
                f.write(text)
        run([os.path.join(BIN, "postmap"), "hash:" + os.path.join(inst.etc, "senders")])
        inst.set_main({
            "mynetworks": "127.0.0.1/32",
            "smtpd_client_event_limit_exceptions": "127.0.0.0/8",
            "smtpd_restriction_classes": "vip, strict, hosts",
            "vip": "permit",
            "strict": "check_client_access cidr:%s/strict_clients" % inst.etc,
            "hosts": "check_client_access cidr:%s/host_clients" % inst.etc,
            "smtpd_recipient_restrictions":
                "permit_mynetworks, reject_unauth_destination, "
                "check_sender_access hash:%s/senders, hosts" % inst.etc,
        })
        out = inst.postern("check", check=False)
        text = (out.stdout + out.stderr).decode()
        self.assertEqual(out.returncode, 0, text)
        for name in ("vip", "strict", "hosts"):
            self.assertNotIn(name, text)
        inst.start()
        cases = [
            # the class "hosts", named in the list
            ("127.0.0.54", "a@x.test", (554, b"5.7.1 <unknown[127.0.0.54]>: Client "
                                             b"host rejected: Hosts says no")),
            ("127.0.0.52", "a@x.test", (250, b"2.1.5 Ok")),
            # the class "vip" as the sender's access result: it permits
            # before "hosts" is reached
            ("127.0.0.54", "vip@x.test", (250, b"2.1.5 Ok")),
            # the class "strict" as the sender's access result (after the
            # lookup service's answer), with its own cidr: table
            ("127.0.0.52", "bad@y.test", (554, b"5.7.1 <unknown[127.0.0.52]>: Client "
                                               b"host rejected: Strict says no")),
        ]
        for source, sender, want in cases:
            with self.subTest(client=source, sender=sender):
                c = smtplib.SMTP(timeout=30, source_address=(source, 0))
                c.connect("127.0.0.1", inst.port)
                c.ehlo("client.test")
                self.assertEqual(c.mail(sender)[0], 250)
                self.assertEqual(c.rcpt("root@localhost"), want)
                c.close()
        # A class main.cf does not define is an error of postern check.
        inst.set_main({"smtpd_restriction_classes": "vip, strict, hosts, missing"})
        out = inst.postern("check", check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("class missing is not set in main.cf",
                      (out.stdout + out.stderr).decode())


class ServiceOptionTables(unittest.TestCase):
    """A hash: table named only in an smtpd service's master.cf -o
    restriction list is served by the lookup service (read from
    master.cf at its start), so that service's smtpd can ask it."""

    def test_hash_table_named_in_master_cf_only(self):
        inst = Instance(self)
        clients = os.path.join(inst.etc, "submission_clients")
        with open(clients, "w") as f:
            f.write("127.0.0.40 REJECT Not from this host\n")
        run([os.path.join(BIN, "postmap"), "hash:" + clients])
        port2 = free_port()
        inst.write_master(inst.master_cf() +
                          "127.0.0.1:%d inet n - y - 1 smtpd\n"
                          "  -o smtpd_client_restrictions=check_client_access,hash:%s\n"
                          % (port2, clients))
        inst.set_main({"smtpd_client_event_limit_exceptions": "127.0.0.0/8"})
        inst.start()
        replies = {}
        for port in (inst.port, port2):
            for source in ("127.0.0.40", "127.0.0.41"):
                c = smtplib.SMTP(timeout=30, source_address=(source, 0))
                c.connect("127.0.0.1", port)
                c.ehlo("client.test")
                self.assertEqual(c.mail("a@x.test")[0], 250)
                replies[(port, source)] = c.rcpt("root@localhost")
                c.close()
        self.assertEqual(replies[(port2, "127.0.0.40")],
                         (554, b"5.7.1 <unknown[127.0.0.40]>: Client host rejected: "
                               b"Not from this host"))
        self.assertEqual(replies[(port2, "127.0.0.41")], (250, b"2.1.5 Ok"))
        # The main service's lists do not name the table.
        self.assertEqual(replies[(inst.port, "127.0.0.40")], (250, b"2.1.5 Ok"))


class LoginMismatch(unittest.TestCase):
    """reject_sender_login_mismatch with smtpd_sender_login_maps (served
    by the lookup service): a client that is not logged in may not use a
    sender the table gives an owner; other senders pass."""

    def test_unauthenticated_owned_sender(self):
        inst = Instance(self)
        logins = os.path.join(inst.etc, "logins")
        with open(logins, "w") as f:
            f.write("alice@example.org alice\n@owned.example carol, dave\n")
        inst.set_main({"smtpd_sender_login_maps": "texthash:" + logins,
                       "smtpd_sender_restrictions": "reject_sender_login_mismatch",
                       "smtpd_delay_reject": "no"})
        inst.start()
        c = smtp(inst, "127.0.0.1")
        self.addCleanup(c.close)
        c.ehlo("client.test")
        self.assertEqual(c.mail("alice@example.org"),
                         (553, b"5.7.1 <alice@example.org>: Sender address rejected: "
                               b"not logged in"))
        self.assertEqual(c.mail("x@owned.example"),
                         (553, b"5.7.1 <x@owned.example>: Sender address rejected: "
                               b"not logged in"))
        self.assertEqual(c.mail("bob@example.org")[0], 250)
        c.quit()
        inst.wait_log("reject: MAIL from")


class UnixEndpoints(unittest.TestCase):
    """A policy server and a socket map on UNIX sockets in private/, as
    unix:private/NAME: smtpd (chrooted) reaches the policy server, the
    lookup service the socket map, each because the restriction list
    names it (their declarations' "$smtpd_*_restrictions")."""

    def test_policy_and_socketmap_in_private(self):
        inst = Instance(self)
        private = os.path.join(inst.queue, "private")
        policy = PolicyServer(os.path.join(private, "policy"))
        self.addCleanup(policy.close)
        keys = []

        def answer(name, key):
            keys.append((name, key))
            return "OK REJECT Blocked by the map" if key == "blocked@localhost" else "NOTFOUND "

        smap = SocketMap(answer, os.path.join(private, "sockmap"))
        self.addCleanup(smap.close)
        inst.set_main({"mynetworks": "127.0.0.1/32",
                       "smtpd_client_event_limit_exceptions": "127.0.0.0/8",
                       "smtpd_recipient_restrictions":
                           "check_recipient_access socketmap:unix:private/sockmap:acc, "
                           "check_policy_service unix:private/policy"})
        inst.start()
        c = smtp(inst, "127.0.0.21")
        self.addCleanup(c.close)
        c.ehlo("client.test")
        self.assertEqual(c.mail("a@x.test")[0], 250)
        self.assertEqual(c.rcpt("blocked@localhost"),
                         (554, b"5.7.1 <blocked@localhost>: Recipient address "
                               b"rejected: Blocked by the map"))
        self.assertEqual(c.rcpt("root@localhost"),
                         (554, b"5.7.1 <root@localhost>: Recipient address "
                               b"rejected: Policy says no"))
        c.quit()
        self.assertIn(("acc", "blocked@localhost"), keys)
        self.assertEqual([(r["client_address"], r["recipient"]) for r in policy.requests],
                         [("127.0.0.21", "root@localhost")])
        self.assertNotIn("refusing to connect", inst.log())


class SlowLookups(unittest.TestCase):
    """A socket map that answers late and a DNS list that never answers
    hold up only the session that asked."""

    def rcpt_sent(self, inst, source, rcpt):
        """A session from source that has sent RCPT TO:<rcpt> and waits."""
        slow = smtp(inst, source)
        self.addCleanup(slow.close)
        slow.ehlo("slow.test")
        self.assertEqual(slow.mail("a@x.test")[0], 250)
        slow.putcmd("rcpt", "TO:<%s>" % rcpt)
        return slow

    def another_session_completes(self, inst, slow):
        """A trusted session delivers a message while slow has no answer."""
        fast = smtp(inst, "127.0.0.1")
        fast.ehlo("fast.test")
        self.assertEqual(fast.mail("b@x.test")[0], 250)
        self.assertEqual(fast.rcpt("root@localhost")[0], 250)
        code, text = fast.data(MSG)
        self.assertEqual(code, 250, text)
        fast.quit()
        self.assertFalse(readable(slow.sock), "the slow session was answered early")

    def test_slow_socketmap(self):
        release = threading.Event()
        seen = threading.Event()
        self.addCleanup(release.set)

        def answer(name, key):
            if key.startswith("slow"):
                seen.set()
                release.wait(3)   # a server that answers after 3 s
                return "OK REJECT Answered late"
            return "NOTFOUND "

        srv = SocketMap(answer)
        self.addCleanup(srv.close)
        inst = Instance(self)
        inst.set_main({"smtpd_recipient_restrictions":
                       "check_recipient_access socketmap:inet:127.0.0.1:%d:acc"
                       % srv.port})
        inst.start()
        slow = self.rcpt_sent(inst, "127.0.0.1", "slow@localhost")
        self.assertTrue(seen.wait(30), "the socket map was never asked")
        self.another_session_completes(inst, slow)
        release.set()
        self.assertEqual(slow.getreply(), (554, b"5.7.1 <slow@localhost>: Recipient "
                                                b"address rejected: Answered late"))

    def test_dnsbl_that_never_answers(self):
        inst = Instance(self)
        hole = BlackHole(self)
        dns = Dnsmasq(inst, ["--server=/hole.test/127.0.0.1#%d" % hole.port])
        inst.set_main({"mynetworks": "127.0.0.1/32",
                       "smtpd_client_event_limit_exceptions": "127.0.0.0/8",
                       "resolver_servers": dns.server,
                       "smtpd_recipient_restrictions":
                           "permit_mynetworks, reject_rbl_client hole.test"})
        inst.start()
        slow = self.rcpt_sent(inst, "127.0.0.9", "root@localhost")
        wait_for(lambda: "9.0.0.127.hole.test" in " ".join(dns.queries()), 30,
                 what="the DNS list query")
        # A trusted session is served while the list stays silent.
        self.another_session_completes(inst, slow)
        # A list that does not answer lists nobody (Postfix), after the
        # resolver's timeouts.
        self.assertEqual(slow.getreply(), (250, b"2.1.5 Ok"))
        inst.wait_log("9.0.0.127.hole.test: RBL lookup error")


if __name__ == "__main__":
    main()
