"""test_auth - SMTP AUTH end to end: submission services, the built-in auth
service, a real Dovecot, failure delays and the disconnect, fail2ban's
filter, and postern relaying through another postern with TLS and AUTH.

One instance (smtpd, cleanup, lookup, auth; no qmgr, so accepted mail
stays in incoming/) has three listeners: PORT as port 25 (STARTTLS
offered, no AUTH), SUBPORT a 587-style service with the built-in back end
(TLS required, AUTH required to relay (smtpd_relay_restrictions), at most 3
failed AUTHs per client), DOVEPORT the same with Dovecot (dovecot-core's
binary, started by the test with its own configuration and a socket in
the queue directory, stopped after).  Clients: swaks, smtplib.
"""

import base64
import os
import re
import select
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

from harness import BIN, Instance, _failed, free_port, main, run, wait_for
from smtp_util import queue
from test_logtools import fail2ban_config, fail2ban_regex

MASTER = """\
127.0.0.1:PORT inet n - y - 1 smtpd
127.0.0.1:SUBPORT inet n - y - 1 smtpd
  -o syslog_name=postern/submission
  -o smtpd_tls_security_level=$submission_tls_level
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=postern
  -o smtpd_reject_unlisted_recipient=no
  -o smtpd_sasl_failure_limit=3
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
auth unix - - y - 4 auth
anvil unix - - y - 1 anvil
"""

DOVECOT_MASTER = """\
127.0.0.1:DOVEPORT inet n - y - 1 smtpd
  -o syslog_name=postern/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=private/dovecot-auth
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
"""


def sha512_crypt(password):
    return run(["openssl", "passwd", "-6", password]).stdout.decode().strip()


def make_cert(directory):
    key = os.path.join(directory, "server.key")
    crt = os.path.join(directory, "server.crt")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
         "-subj", "/CN=mx.example", "-days", "2"])
    os.chmod(key, 0o600)
    return crt, key


def context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


class Auth(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.subport, cls.doveport = free_port(), free_port()
        cls.inst = Instance(None, master_cf=(MASTER + DOVECOT_MASTER)
                            .replace("SUBPORT", str(cls.subport))
                            .replace("DOVEPORT", str(cls.doveport)))
        cls.dovecot = None
        try:
            crt, key = make_cert(cls.inst.etc)
            users = os.path.join(cls.inst.etc, "users")
            with open(users, "w") as f:
                f.write("# the built-in table\nalice@example.org:%s\n" % sha512_crypt("wonderland"))
            os.chmod(users, 0o600)
            cls.inst.set_main({
                "mynetworks": "192.0.2.0/24",
                "smtpd_tls_cert_file": crt, "smtpd_tls_key_file": key,
                "smtpd_tls_security_level": "may",
                "auth_passwd_file": users,
                "smtpd_sasl_failure_delay": "1s",
                # -o name=$other, as Debian's master.cf has it.
                "submission_tls_level": "encrypt",
            })
            cls.start_dovecot()
            cls.inst.start()
        except Exception:
            cls.stop_dovecot()
            cls.inst.cleanup()
            raise

    @classmethod
    def start_dovecot(cls):
        d = os.path.join(cls.inst.dir, "dovecot")
        os.makedirs(os.path.join(d, "run"))
        os.makedirs(os.path.join(d, "state"))
        users = os.path.join(d, "users")
        with open(users, "w") as f:
            f.write("bob@example.org:{CRYPT}%s\n" % sha512_crypt("builder"))
        conf = os.path.join(d, "dovecot.conf")
        sock = os.path.join(cls.inst.queue, "private", "dovecot-auth")
        with open(conf, "w") as f:
            f.write("base_dir = %s/run\nstate_dir = %s/state\nlog_path = %s/log\n"
                    "protocols =\nlisten = 127.0.0.1\nssl = no\n"
                    "auth_mechanisms = plain login\ndisable_plaintext_auth = no\n"
                    "auth_failure_delay = 0\n"
                    "passdb {\n  driver = passwd-file\n  args = %s\n}\n"
                    "userdb {\n  driver = static\n  args = uid=nobody gid=nogroup "
                    "home=/nonexistent\n}\n"
                    "service auth {\n  unix_listener %s {\n    mode = 0600\n"
                    "    user = postern\n  }\n}\n" % (d, d, d, users, sock))
        cls.dovecot = subprocess.Popen(["dovecot", "-F", "-c", conf],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(sock), timeout=20, what="Dovecot's auth socket")

    @classmethod
    def stop_dovecot(cls):
        if cls.dovecot is not None and cls.dovecot.poll() is None:
            cls.dovecot.terminate()
            try:
                cls.dovecot.wait(20)
            except subprocess.TimeoutExpired:
                cls.dovecot.kill()
                cls.dovecot.wait()

    @classmethod
    def tearDownClass(cls):
        cls.stop_dovecot()
        cls.inst.cleanup()

    def tearDown(self):
        if _failed(self):
            sys.stderr.write("\n---- %s: the instance's log ----\n%s\n" % (
                self.id(), self.inst.log()[-6000:]))

    def smtp(self, port):
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo("client.example")
        return s

    def tls(self, port):
        s = self.smtp(port)
        s.starttls(context=context())
        s.ehlo("client.example")
        return s

    def queued(self, before, sender):
        return wait_for(lambda: [q for q in queue(self.inst) if q.qid not in before
                                 and q.sender == sender], what="a queued message")

    def test_port_25_offers_no_auth(self):
        s = self.tls(self.inst.port)
        self.assertFalse(s.has_extn("auth"))
        self.assertEqual(s.docmd("AUTH", "PLAIN " + plain("alice@example.org", "x"))[0], 503)
        s.quit()

    def test_submission_without_tls(self):
        s = self.smtp(self.subport)
        self.assertTrue(s.has_extn("starttls"))
        self.assertFalse(s.has_extn("auth"))
        code, msg = s.mail("alice@example.org")
        self.assertEqual((code, msg), (530, b"5.7.0 Must issue a STARTTLS command first"))
        self.assertEqual(s.docmd("AUTH", "PLAIN " + plain("alice@example.org", "wonderland"))[0],
                         530)
        s.quit()

    def test_relay_needs_auth(self):
        s = self.tls(self.subport)
        self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
        self.assertEqual(s.mail("nobody@example.org")[0], 250)
        code, msg = s.rcpt("someone@elsewhere.example")
        self.assertEqual(code, 554, msg)
        s.quit()

    def test_builtin_plain_relays(self):
        before = {q.qid for q in queue(self.inst)}
        p = subprocess.run(["swaks", "--tls", "-s", "127.0.0.1", "-p", str(self.subport),
                            "-f", "alice@example.org", "-t", "friend@elsewhere.example",
                            "--auth", "PLAIN", "--auth-user", "alice@example.org",
                            "--auth-password", "wonderland", "--header", "Subject: relayed"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("235 2.7.0 Authentication successful", out)
        q = self.queued(before, "alice@example.org")[0]
        self.assertEqual(q.rcpts, ["friend@elsewhere.example"])
        self.assertEqual(q.attrs.get("sasl_method"), "PLAIN")
        self.assertEqual(q.attrs.get("sasl_username"), "alice@example.org")
        self.assertEqual(q.attrs.get("protocol"), "ESMTPSA")
        self.assertIn(b"with ESMTPSA id", q.header)
        self.inst.wait_log("%s: client=unknown[127.0.0.1], sasl_method=PLAIN, "
                           "sasl_username=alice@example.org" % q.qid)

    def test_builtin_login(self):
        s = self.tls(self.subport)
        code, msg = s.docmd("AUTH", "LOGIN")
        self.assertEqual((code, msg), (334, b"VXNlcm5hbWU6"))
        code, msg = s.docmd(base64.b64encode(b"alice@example.org").decode())
        self.assertEqual((code, msg), (334, b"UGFzc3dvcmQ6"))
        code, msg = s.docmd(base64.b64encode(b"wonderland").decode())
        self.assertEqual(code, 235, msg)
        s.quit()

    def test_wrong_password_delayed_then_disconnected(self):
        # A client address of its own, so other tests' failures do not count.
        src = "127.0.0.77"
        s = smtplib.SMTP("127.0.0.1", self.subport, timeout=30, source_address=(src, 0))
        s.ehlo("client.example")
        s.starttls(context=context())
        s.ehlo("client.example")
        code, msg = s.docmd("AUTH", "PLAIN " + plain("alice@example.org", "guess"))
        self.assertEqual((code, msg), (535, b"5.7.8 Error: authentication failed: "
                                       b"authentication failure"))
        # The second failure waits 2 x 1 s: no answer in the first second.
        s.send("AUTH PLAIN %s\r\n" % plain("alice@example.org", "guess2"))
        self.assertEqual(select.select([s.sock], [], [], 1.0)[0], [],
                         "the second failure was answered at once")
        code, msg = s.getreply()
        self.assertEqual(code, 535, msg)
        # The third is the limit: 421 and the end.
        code, msg = s.docmd("AUTH", "PLAIN " + plain("alice@example.org", "guess3"))
        self.assertEqual(code, 421, msg)
        self.assertIn(b"too many failed authentications", msg)
        with self.assertRaises(smtplib.SMTPServerDisconnected):
            s.noop()
        # A new session from that address: refused before any check.
        s = smtplib.SMTP("127.0.0.1", self.subport, timeout=30, source_address=(src, 0))
        s.ehlo("client.example")
        s.starttls(context=context())
        s.ehlo("client.example")
        code, msg = s.docmd("AUTH", "PLAIN " + plain("alice@example.org", "wonderland"))
        self.assertEqual(code, 421, msg)
        s.close()
        lines = [l for l in self.inst.log().splitlines()
                 if "SASL PLAIN authentication failed" in l and src in l]
        self.assertEqual(len(lines), 3, self.inst.log()[-3000:])
        # fail2ban's own tool, with the filter postern ships, finds all three.
        work = tempfile.mkdtemp(prefix="postern-f2b-")
        self.addCleanup(shutil.rmtree, work, True)
        only = os.path.join(work, "sasl.log")
        with open(only, "w") as f:
            f.write("\n".join(lines) + "\n")
        conf = fail2ban_config(work)
        (n, ignored, matched, missed), out = fail2ban_regex(conf, only, "postern-sasl")
        self.assertEqual((n, matched, missed), (3, 3, 0), out)
        p = subprocess.run(["fail2ban-regex", "--config", conf, "--print-all-matched", only,
                            "postern-sasl"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        hosts = re.findall(r"\[(\d+\.\d+\.\d+\.\d+)\]", p.stdout.decode())
        self.assertEqual(set(hosts), {src}, p.stdout.decode())

    def test_dovecot(self):
        before = {q.qid for q in queue(self.inst)}
        s = self.tls(self.doveport)
        self.assertEqual(s.docmd("AUTH", "PLAIN " + plain("bob@example.org", "wrong"))[0], 535)
        self.assertEqual(s.mail("bob@example.org")[0], 250)
        self.assertEqual(s.rcpt("x@elsewhere.example")[0], 554)
        s.rset()
        code, msg = s.docmd("AUTH", "PLAIN " + plain("bob@example.org", "builder"))
        self.assertEqual(code, 235, msg)
        s.sendmail("bob@example.org", ["x@elsewhere.example"],
                   b"Subject: through Dovecot\r\n\r\nbody\r\n")
        s.quit()
        q = self.queued(before, "bob@example.org")[0]
        self.assertEqual(q.attrs.get("sasl_username"), "bob@example.org")
        # The built-in table's users are not Dovecot's.
        s = self.tls(self.doveport)
        self.assertEqual(s.docmd("AUTH", "PLAIN " + plain("alice@example.org",
                                                         "wonderland"))[0], 535)
        s.quit()

    def test_auth_service_privileges(self):
        rows = self.inst.procs("auth")
        if not rows:
            # auth starts on demand: make it run.
            s = self.tls(self.subport)
            s.docmd("AUTH", "PLAIN " + plain("nobody@example.org", "x"))
            s.quit()
            rows = wait_for(lambda: self.inst.procs("auth"), what="an auth process")
        for r in rows:
            self.assertEqual(r["uid"], str(__import__("pwd").getpwnam("postern").pw_uid))
            self.assertEqual(r["root"], self.inst.queue)


class PosternToPostern(unittest.TestCase):
    """postern relays through another postern that requires TLS and AUTH."""

    def test_relay_with_tls_and_auth(self):
        subport = free_port()
        hub = Instance(self, master_cf=MASTER.replace("SUBPORT", str(subport)))
        crt, key = make_cert(hub.etc)
        users = os.path.join(hub.etc, "users")
        with open(users, "w") as f:
            f.write("edge@example.org:%s\n" % sha512_crypt("p4ss word"))
        os.chmod(users, 0o600)
        hub.set_main({"smtpd_tls_cert_file": crt, "smtpd_tls_key_file": key,
                      "smtpd_tls_security_level": "may", "auth_passwd_file": users,
                      "mynetworks": "192.0.2.0/24", "submission_tls_level": "encrypt"})
        hub.start()

        edge = Instance(self)
        maps = os.path.join(edge.etc, "sasl_passwd")
        with open(maps, "w") as f:
            f.write("[127.0.0.1]:%d edge@example.org:p4ss word\n" % subport)
        os.chmod(maps, 0o600)
        run([os.path.join(BIN, "postmap"), "hash:" + maps])
        edge.set_main({"relayhost": "[127.0.0.1]:%d" % subport,
                       "smtp_sasl_auth_enable": "yes",
                       "smtp_sasl_password_maps": "hash:" + maps,
                       "smtp_tls_security_level": "encrypt"})
        edge.start()
        before = {q.qid for q in queue(hub)}
        with smtplib.SMTP("127.0.0.1", edge.port, timeout=30) as s:
            s.sendmail("edge@example.org", ["far@elsewhere.example"],
                       b"Subject: via the hub\r\n\r\nhello\r\n")
        got = wait_for(lambda: [q for q in queue(hub) if q.qid not in before], timeout=60,
                       what="the message at the hub")
        self.assertEqual(got[0].rcpts, ["far@elsewhere.example"])
        self.assertEqual(got[0].attrs.get("sasl_username"), "edge@example.org")
        self.assertEqual(got[0].attrs.get("protocol"), "ESMTPSA")
        edge.wait_log("status=sent", timeout=30)


if __name__ == "__main__":
    main()
