"""test_tls - STARTTLS and implicit TLS in smtpd, end to end with real peers.

Real instances (master, smtpd, cleanup, lookup; no qmgr, so accepted mail
stays in incoming/ where the test reads it) with a throw-away certificate
made by openssl(1), talked to by openssl s_client, swaks and Python's ssl
module on loopback.  Covers: a session over STARTTLS (s_client, swaks
--tls), implicit TLS on a 465-style service (swaks --tlsc), a TLS 1.1
client refused, plaintext injected behind STARTTLS (CVE-2011-0411) not
executed, the log line and the Received: header, a certificate renewed on
disk and a reload (new sessions get it, an open session keeps working),
and postern check refusing a private key others can read.
"""

import os
import re
import select
import socket
import ssl
import subprocess
import sys
import time
import unittest

from harness import Instance, _failed, free_port, main, run, wait_for
from smtp_util import RawSMTP, queue

MASTER = """\
127.0.0.1:PORT inet n - y - 1 smtpd
127.0.0.1:WRAPPORT inet n - y - 1 smtpd -o smtpd_tls_wrappermode=yes
cleanup unix - - y - 0 cleanup
lookup unix - - n - 1 lookup
"""


def make_cert(directory, name, cn):
    """A self-signed EC certificate and its key (root 0600) in directory."""
    key = os.path.join(directory, name + ".key")
    crt = os.path.join(directory, name + ".crt")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
         "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:" + cn,
         "-days", "2"])
    os.chmod(key, 0o600)
    os.chmod(crt, 0o644)
    return crt, key


def read_until(proc, text, timeout=30):
    """Read proc's stdout until text appears; what was read."""
    out = b""
    end = time.monotonic() + timeout
    while text.encode() not in out:
        left = end - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise AssertionError("no %r from %s; got:\n%s" % (
                text, proc.args[0], out.decode(errors="replace")))
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise AssertionError("%s ended before %r; got:\n%s" % (
                proc.args[0], text, out.decode(errors="replace")))
        out += chunk
    return out.decode(errors="replace")


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def starttls(raw, ctx=None, session=None):
    """EHLO, STARTTLS on a RawSMTP; returns it speaking TLS (offering
    session, to resume it: ctx must be the context that made it)."""
    code, _ = raw.reply()
    assert code == 220, code
    code, lines = raw.cmd("EHLO client.example")
    assert code == 250 and "250-STARTTLS" in lines, lines
    code, lines = raw.cmd("STARTTLS")
    assert code == 220, lines
    raw.sock = (ctx or client_context()).wrap_socket(raw.sock, session=session)
    return raw


def swaks(test, *args, status=0):
    """swaks to 127.0.0.1 from sender@example.org to root@localhost."""
    p = subprocess.run(["swaks", "-s", "127.0.0.1", "-f", "sender@example.org",
                        "-t", "root@localhost"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    test.assertEqual(p.returncode, status, out)
    return out


def peer_subject(sock):
    der = sock.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"],
                         input=der, stdout=subprocess.PIPE, check=True).stdout
    return out.decode().strip()


class TLSInstance(unittest.TestCase):
    """One instance with STARTTLS on PORT and wrapper mode on WRAPPORT."""

    @classmethod
    def setUpClass(cls):
        cls.wrapport = free_port()
        cls.inst = Instance(None, master_cf=MASTER.replace("WRAPPORT", str(cls.wrapport)))
        try:
            cls.crt, cls.key = make_cert(cls.inst.etc, "server", "mx.example")
            cls.inst.set_main({
                "mynetworks": "192.0.2.0/24",
                "smtpd_error_sleep_time": "0",
                "smtpd_tls_cert_file": cls.crt,
                "smtpd_tls_key_file": cls.key,
                "smtpd_tls_security_level": "may",
            })
            cls.inst.start()
        except Exception:
            cls.inst.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def tearDown(self):
        if _failed(self):
            sys.stderr.write("\n---- %s: the instance's log ----\n%s\n" % (
                self.id(), self.inst.log()[-6000:]))

    def test_openssl_s_client_starttls(self):
        # One command at a time: 127.0.0.1 may not pipeline EHLO.
        p = self.inst.spawn(["openssl", "s_client", "-starttls", "smtp", "-crlf",
                             "-connect", "127.0.0.1:%d" % self.inst.port,
                             "-servername", "mx.example", "-ign_eof"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
        out = read_until(p, "\n---\n")          # after the handshake summary
        # s_client prints the last line of the plaintext EHLO reply late:
        # the whole reply (250-8BITMIME) is the one to the EHLO in TLS.
        for cmd, want in (("EHLO s-client.example", "250-8BITMIME"),
                          ("NOOP", "250 2.0.0 Ok"), ("QUIT", "221 2.0.0 Bye")):
            p.stdin.write(cmd.encode() + b"\n")
            p.stdin.flush()
            out += read_until(p, want)
        p.stdin.close()
        out += p.stdout.read().decode(errors="replace")
        self.assertEqual(p.wait(60), 0, out)
        self.assertIn("subject=CN = mx.example", out)
        self.assertIn("250 2.0.0 Ok", out)
        self.assertIn("221 2.0.0 Bye", out)
        self.assertNotIn("250-STARTTLS", out.split("---\n")[-1])
        self.inst.wait_log("Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher")
        self.assertRegex(self.inst.log(), r"Anonymous TLS connection established from "
                         r"unknown\[127\.0\.0\.1\]: TLSv1\.3 with cipher TLS_\S+ \(\d+/\d+ bits\) "
                         r"key-exchange \S+ server-signature ECDSA \(P-256\) server-digest SHA256")
        wait_for(lambda: re.search(r"disconnect from unknown\[127\.0\.0\.1\] ehlo=2 "
                                   r"starttls=1 noop=1 quit=1 commands=5", self.inst.log()),
                 what="the disconnect line with starttls=1")

    def test_swaks_tls_and_received(self):
        before = {q.qid for q in queue(self.inst)}
        out = swaks(self, "--tls", "-p", str(self.inst.port),
                    "--header", "Subject: swaks over STARTTLS")
        self.assertIn("<-  220 2.0.0 Ready to start TLS", out)
        self.assertIn("TLS started with cipher TLSv1.3", out)
        new = wait_for(lambda: [q for q in queue(self.inst) if q.qid not in before],
                       what="the queued message")
        hdr = new[0].header.decode()
        self.assertRegex(hdr, r"Received: from \S+ \(unknown \[127\.0\.0\.1\]\)\n"
                         r"\t\(using TLSv1\.3 with cipher TLS_\S+ \(\d+/\d+ bits\)\n"
                         r"\t key-exchange \S+ server-signature ECDSA \(P-256\) "
                         r"server-digest SHA256\)\n"
                         r"\t\(No client certificate requested\)\n"
                         r"\tby \S+ \(postern\) with ESMTPS id ")
        self.assertEqual(new[0].attrs.get("protocol"), "ESMTPS")

    def test_swaks_tlsc_wrapper_mode(self):
        out = swaks(self, "--tlsc", "-p", str(self.wrapport),
                    "--header", "Subject: swaks over implicit TLS")
        self.assertIn("TLS started with cipher TLSv1.3", out)
        self.assertIn("250 2.0.0 Ok: queued as", out)
        # No STARTTLS inside TLS.
        self.assertNotIn("STARTTLS", out.split("TLS started")[1])

    def test_tls11_client_refused(self):
        p = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-tls1_1",
                            "-cipher", "DEFAULT@SECLEVEL=0",
                            "-connect", "127.0.0.1:%d" % self.inst.port],
                           input=b"QUIT\r\n", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertNotEqual(p.returncode, 0, p.stdout.decode(errors="replace"))
        self.assertNotIn(b"TLSv1.1, Cipher is", p.stdout)
        self.inst.wait_log("unsupported protocol", timeout=20)
        self.assertRegex(self.inst.log(), r"SSL_accept error from unknown\[127\.0\.0\.1\]: "
                         r"SSL_accept: error:\S+:SSL routines::unsupported protocol")

    def test_plaintext_injection_fails(self):
        """CVE-2011-0411: commands sent with STARTTLS must not run in TLS."""
        raw = RawSMTP(self.inst.port)
        try:
            code, _ = raw.reply()
            self.assertEqual(code, 220)
            raw.cmd("EHLO client.example")
            # STARTTLS and two commands in one segment.
            injected = b"MAIL FROM:<injected@example.org>\r\nRSET\r\n"
            raw.send(b"STARTTLS\r\n" + injected)
            code, lines = raw.reply()
            self.assertEqual(code, 220, lines)
            self.assertEqual(raw.buf, b"", "the server answered the injected commands")
            raw.sock = client_context().wrap_socket(raw.sock)
            code, lines = raw.cmd("EHLO client.example")
            # The first answer in TLS is EHLO's, nothing for MAIL or RSET.
            self.assertEqual(code, 250, lines)
            self.assertTrue(lines[0].startswith("250-"), lines)
            code, lines = raw.cmd("RCPT TO:<root@localhost>")
            self.assertEqual(code, 503, lines)  # no MAIL was taken
            raw.cmd("QUIT")
        finally:
            raw.close()
        self.inst.wait_log("improper command pipelining after STARTTLS from "
                           "unknown[127.0.0.1]: %d bytes discarded" % len(injected))

    def test_plaintext_after_220_breaks_handshake(self):
        raw = RawSMTP(self.inst.port)
        try:
            raw.reply()
            raw.cmd("EHLO client.example")
            code, _ = raw.cmd("STARTTLS")
            self.assertEqual(code, 220)
            raw.send(b"MAIL FROM:<late@example.org>\r\n")
            self.assertTrue(raw.eof(), "the server kept a session fed plaintext")
            self.assertEqual(raw.buf, b"")
        finally:
            raw.close()
        self.inst.wait_log("lost connection after STARTTLS from unknown[127.0.0.1]")


class Reload(unittest.TestCase):
    """A certificate renewed on disk, then postern reload."""

    def test_new_certificate_after_reload(self):
        inst = Instance(self, master_cf=MASTER.replace("WRAPPORT", str(free_port())))
        crt, key = make_cert(inst.etc, "server", "old.example")
        inst.set_main({"smtpd_tls_cert_file": crt, "smtpd_tls_key_file": key,
                       "smtpd_tls_security_level": "may"})
        inst.start()
        old = starttls(RawSMTP(inst.port))
        try:
            self.assertIn("CN = old.example", peer_subject(old.sock))
            # certbot's deploy hook: the files change, then postern reload.
            make_cert(inst.etc, "server", "new.example")
            inst.postern("reload")
            new = wait_for(lambda: self._subject(inst) if "new.example" in self._subject(inst)
                           else None, timeout=20, what="a session with the new certificate")
            self.assertIn("CN = new.example", new)
            # The session opened before still works, with its certificate.
            code, lines = old.cmd("EHLO client.example")
            self.assertEqual(code, 250, lines)
            code, lines = old.cmd("NOOP")
            self.assertEqual(code, 250, lines)
            self.assertIn("CN = old.example", peer_subject(old.sock))
            code, _ = old.cmd("QUIT")
            self.assertEqual(code, 221)
        finally:
            old.close()

    def test_ticket_resumes_after_reload(self):
        """A ticket from one smtpd process opens in another: the keys come
        from the instance's seed (data/ticket.seed, root's, 0600), and a
        reload starts new processes with the same seed."""
        inst = Instance(self, master_cf=MASTER.replace("WRAPPORT", str(free_port())))
        crt, key = make_cert(inst.etc, "server", "mx.example")
        inst.set_main({"smtpd_tls_cert_file": crt, "smtpd_tls_key_file": key,
                       "smtpd_tls_security_level": "may"})
        inst.start()
        st = os.stat(os.path.join(inst.dir, "data", "ticket.seed"))
        self.assertEqual((st.st_uid, st.st_mode & 0o777, st.st_size), (0, 0o600, 32))
        ctx = client_context()
        # TLS 1.2: a ticket resumes more than once, so one session serves both checks.
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2

        def session(offer=None):
            raw = starttls(RawSMTP(inst.port), ctx, offer)
            try:
                code, lines = raw.cmd("EHLO client.example")
                self.assertEqual(code, 250, lines)
                reused, sess = raw.sock.session_reused, raw.sock.session
                raw.cmd("QUIT")
                return reused, sess
            finally:
                raw.close()

        reused, sess = session()
        self.assertFalse(reused)
        self.assertTrue(sess.has_ticket, "smtpd sent a session ticket")
        before = {p["pid"] for p in inst.procs("smtpd")}
        self.assertTrue(before, inst.status())
        inst.postern("reload")
        wait_for(lambda: not before & {p["pid"] for p in inst.procs("smtpd")}, 20,
                 what="the smtpd processes of the old generation gone")
        reused, _ = session(sess)
        self.assertTrue(reused, "a ticket of the old generation resumed in the new one")
        self.assertNotIn("open only here", inst.log())

    @staticmethod
    def _subject(inst):
        raw = starttls(RawSMTP(inst.port))
        try:
            s = peer_subject(raw.sock)
            raw.cmd("QUIT")
            return s
        finally:
            raw.close()


class Check(unittest.TestCase):
    """postern check and the TLS settings."""

    def test_check_refuses_readable_key(self):
        inst = Instance(self)
        crt, key = make_cert(inst.etc, "server", "mx.example")
        inst.set_main({"smtpd_tls_cert_file": crt, "smtpd_tls_key_file": key,
                       "smtpd_tls_security_level": "may"})
        p = inst.postern("check", check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        os.chmod(key, 0o644)
        p = inst.postern("check", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"private key %s is readable or writable by everyone" % key.encode(),
                      p.stdout + p.stderr)
        os.chmod(key, 0o600)
        os.chown(key, __import__("pwd").getpwnam("postern").pw_uid, 0)
        p = inst.postern("check", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"is owned by postern", p.stdout + p.stderr)
        os.chown(key, 0, 0)
        # The start refuses the same; a missing certificate too.
        inst.set_main({"smtpd_tls_cert_file": os.path.join(inst.etc, "nope.crt")})
        p = inst.postern("start", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"nope.crt", p.stdout + p.stderr)

    def test_check_bad_values_and_service_overrides(self):
        inst = Instance(self, master_cf=MASTER.replace(
            "smtpd -o smtpd_tls_wrappermode=yes",
            "smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_mandatory_protocols=TLSv9"
        ).replace("WRAPPORT", str(free_port())))
        crt, key = make_cert(inst.etc, "server", "mx.example")
        inst.set_main({"smtpd_tls_cert_file": crt, "smtpd_tls_key_file": key,
                       "smtpd_tls_security_level": "sometimes"})
        p = inst.postern("check", check=False)
        out = (p.stdout + p.stderr).decode()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("smtpd_tls_security_level = sometimes: want none, may or encrypt", out)
        self.assertIn("master.cf, line 2: service 127.0.0.1:", out)
        self.assertIn("unknown TLS protocol \"TLSv9\"", out)


if __name__ == "__main__":
    main()
