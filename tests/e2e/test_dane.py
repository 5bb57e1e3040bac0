"""End-to-end tests of DANE for outbound SMTP (RFC 7672):
smtp_dns_support_level = dnssec and smtp_tls_security_level = dane or
dane-only, against a DNS responder the test runs on loopback
(dns_util.SignedZoneDNS: it sets the AD bit a validating resolver would
set, for the zones the test calls signed) and test SMTP servers with
STARTTLS (remote_util.Server) whose TLSA records the test computes with
openssl(1) from their certificates:

  - a matching DANE-EE(3) SPKI digest: delivered, "Verified TLS
    connection", and the queries asked with the DO and AD bits;
  - a matching DANE-TA(2) digest of the CA (the server sends its chain);
  - a TLSA record that matches nothing: deferred 4.7.5, nothing but
    EHLO and STARTTLS in the clear;
  - an unsigned zone (no AD): dane delivers opportunistically,
    dane-only defers without connecting, dnssec_probe warns;
  - TLSA records but no STARTTLS: deferred (4.7.4), no MAIL;
  - a TLSA lookup that fails (SERVFAIL) in a signed zone: deferred 4.7.5;
  - TLSA records that RFC 7672 makes unusable (PKIX-EE(1)): encrypt;
  - dane-only from smtp_tls_policy_maps;
  - postern check: dane and dane-only accepted, a warning without
    smtp_dns_support_level = dnssec, "disabled" refused.

The servers listen on 127.0.0.0/8 addresses, on a port smtp_tcp_port
makes every MX host's (TLSA names are _PORT._tcp.HOST)."""

import hashlib
import os
import re
import ssl
import subprocess
import unittest

from dns_util import SignedZoneDNS
from harness import BIN, Instance, main, run, wait_for
import remote_util
from test_smtp import free_port_on, loopback_addrs

Z = SignedZoneDNS


def openssl_der(argv, stdin=None):
    p = subprocess.run(["openssl"] + argv, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise AssertionError("openssl %s: %s" % (argv[0], p.stderr.decode()))
    return p.stdout


def spki_sha256(cert):
    """SHA-256 of a certificate's SubjectPublicKeyInfo (TLSA x 1 1)."""
    pem = openssl_der(["x509", "-in", cert, "-noout", "-pubkey"])
    der = openssl_der(["pkey", "-pubin", "-outform", "DER"], stdin=pem)
    return hashlib.sha256(der).digest()


def cert_sha256(cert):
    """SHA-256 of a whole certificate (TLSA x 0 1)."""
    return hashlib.sha256(openssl_der(["x509", "-in", cert, "-outform", "DER"])).digest()


class DaneTest(unittest.TestCase):

    def setUp(self):
        self.addrs = loopback_addrs(2)
        self.port = free_port_on(self.addrs + ["127.0.0.1"])
        self.inst = Instance(self)
        self.certs = remote_util.Certs(os.path.join(self.inst.dir, "certs"))
        self.crt, self.key = self.certs.leaf("mx.remote.test")
        self.tlsa_name = "_%d._tcp.mx.remote.test" % self.port
        self.dns = Z(self, {
            ("remote.test", Z.MX): [Z.mx(10, "mx.remote.test")],
            ("mx.remote.test", Z.A): [Z.a(self.addrs[1])],
        }, secure={"remote.test"})

    def server(self, tls=True, chain=False):
        ctx = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            crt = self.crt
            if chain:
                crt = os.path.join(self.inst.dir, "chain.pem")
                with open(crt, "w") as out:
                    for f in (self.crt, self.certs.ca_cert):
                        with open(f) as src:
                            out.write(src.read())
            ctx.load_cert_chain(crt, self.key)
        return remote_util.Server(self, host=self.addrs[1], port=self.port,
                                  name="mx.remote.test", tls=ctx)

    def start(self, level="dane", extra=None):
        cf = {
            "resolver_servers": self.dns.server,
            "smtp_tcp_port": str(self.port),
            "smtp_helo_name": "client.postern.test",
            "minimal_backoff_time": "300s",
            "smtp_dns_support_level": "dnssec",
            "smtp_tls_security_level": level,
            "dnssec_probe": "mx:remote.test",
        }
        cf.update(extra or {})
        self.inst.set_main(cf)
        self.inst.start()

    def send(self, subject="dane"):
        with self.inst.smtp() as s:
            s.sendmail("sender@client.test", ["user@remote.test"],
                       "From: sender@client.test\nSubject: %s\n\nbody\n" % subject)

    def log_lines(self, pattern):
        return [l for l in self.inst.log().splitlines() if re.search(pattern, l)]

    def wait_line(self, pattern, timeout=30):
        return wait_for(lambda: self.log_lines(pattern), timeout=timeout,
                        what="log line /%s/ in\n%s" % (pattern, self.inst.log()[-4000:]))[0]

    def deferred(self, srv):
        """The message is deferred and nothing went to srv in the clear."""
        line = self.wait_line(r"to=<user@remote.test>.*status=deferred")
        self.assertEqual(srv.messages, [])
        clear = [c.split()[0].upper() for c, tls in srv.commands() if not tls]
        self.assertNotIn("MAIL", clear, srv.commands())
        self.inst.wait_queue_settled(deferred=1)
        return line

    # -- Verified ----------------------------------------------------------

    def test_dane_ee_spki_match_is_verified(self):
        self.dns.add(self.tlsa_name, Z.TLSA, Z.tlsa(3, 1, 1, spki_sha256(self.crt)))
        srv = self.server()
        self.start()
        self.send("ee")
        msgs = srv.wait_messages(1)
        self.assertTrue(msgs[0].tls)
        clear = [c.split()[0] for c, tls in srv.commands() if not tls]
        self.assertEqual(clear, ["EHLO", "STARTTLS"], srv.commands())
        self.wait_line(r"Verified TLS connection established to mx.remote.test\[%s\]:%d"
                       % (re.escape(self.addrs[1]), self.port))
        self.wait_line(r"to=<user@remote.test>.*status=sent")
        # Every query of smtp asked for DNSSEC (DO and AD bits).
        asked = {(n, t): (do, ad) for n, t, do, ad in self.dns.queries}
        for key in (("remote.test", Z.MX), ("mx.remote.test", Z.A), (self.tlsa_name, Z.TLSA)):
            self.assertEqual(asked.get(key), (True, True), (key, self.dns.queries))
        # dnssec_probe's answer was validated: no warning.
        self.assertEqual(self.log_lines("DNSSEC validation may be unavailable"), [])

    def test_dane_ta_ca_digest_match_is_verified(self):
        self.dns.add(self.tlsa_name, Z.TLSA, Z.tlsa(2, 0, 1, cert_sha256(self.certs.ca_cert)))
        srv = self.server(chain=True)
        self.start("dane-only")
        self.send("ta")
        self.assertTrue(srv.wait_messages(1)[0].tls)
        self.wait_line(r"Verified TLS connection established to mx.remote.test")

    # -- Refused -----------------------------------------------------------

    def test_non_matching_tlsa_defers_and_sends_nothing_clear(self):
        self.dns.add(self.tlsa_name, Z.TLSA, Z.tlsa(3, 1, 1, b"\x01" * 32))
        srv = self.server()
        self.start()
        self.send("secret")
        line = self.deferred(srv)
        self.assertIn("dsn=4.7.5", line)
        self.assertIn("Server certificate not verified: no matching DANE TLSA records "
                      "(TLS security level dane, server mx.remote.test[%s]:%d)"
                      % (self.addrs[1], self.port), line)
        cmds = [c.split()[0] for c, _ in srv.commands()]
        self.assertEqual(cmds, ["EHLO", "STARTTLS"], srv.commands())

    def test_tlsa_without_starttls_defers(self):
        self.dns.add(self.tlsa_name, Z.TLSA, Z.tlsa(3, 1, 1, spki_sha256(self.crt)))
        srv = self.server(tls=False)
        self.start()
        self.send()
        line = self.deferred(srv)
        self.assertIn("dsn=4.7.4", line)
        self.assertIn("TLS is required, but was not offered", line)

    def test_tlsa_servfail_in_signed_zone_defers_without_connecting(self):
        self.dns.servfail.add(self.tlsa_name)
        srv = self.server()
        self.start()
        self.send()
        line = self.deferred(srv)
        self.assertIn("dsn=4.7.5", line)
        self.assertIn("TLSA lookup error for %s" % self.tlsa_name, line)
        self.assertEqual(srv.conns, [])

    # -- Fallbacks ---------------------------------------------------------

    def test_unsigned_zone_dane_is_opportunistic(self):
        self.dns.secure.clear()
        self.dns.add(self.tlsa_name, Z.TLSA, Z.tlsa(3, 1, 1, b"\x01" * 32))
        srv = self.server()
        self.start()
        self.send()
        self.assertTrue(srv.wait_messages(1)[0].tls)
        self.wait_line(r"Untrusted TLS connection established to mx.remote.test")
        self.assertEqual(self.log_lines("Verified TLS"), [])
        # dnssec_probe (mx:remote.test) came back without AD: a warning.
        self.wait_line(r"postern/smtp\[\d+\]: warning: DNSSEC validation may be unavailable: "
                       r"the answer to dnssec_probe mx:remote.test came without the AD bit")
        # Not secure: no TLSA query at all.
        self.assertNotIn(self.tlsa_name, [n for n, *_ in self.dns.queries])

    def test_unsigned_zone_dane_only_defers_without_connecting(self):
        self.dns.secure.clear()
        srv = self.server()
        self.start("dane-only")
        self.send()
        line = self.deferred(srv)
        self.assertIn("dsn=4.7.5", line)
        self.assertIn("not DNSSEC-validated", line)
        self.assertEqual(srv.conns, [])

    def test_signed_zone_without_tlsa_is_opportunistic(self):
        srv = self.server(tls=False)
        self.start()
        self.send()
        self.assertFalse(srv.wait_messages(1)[0].tls)
        self.wait_line(r"to=<user@remote.test>.*status=sent")

    def test_unusable_tlsa_means_encrypt(self):
        # PKIX-EE(1) is not for SMTP (RFC 7672 section 3.1.3): TLS is
        # required, the certificate is not checked.
        self.dns.add(self.tlsa_name, Z.TLSA, Z.tlsa(1, 1, 1, spki_sha256(self.crt)))
        srv = self.server()
        self.start()
        self.send()
        self.assertTrue(srv.wait_messages(1)[0].tls)
        self.wait_line(r"none is usable for SMTP.*TLS security level encrypt")
        self.wait_line(r"Untrusted TLS connection established to mx.remote.test")

    def test_policy_maps_dane_only(self):
        self.dns.secure.clear()
        pmap = os.path.join(self.inst.etc, "tls_policy")
        with open(pmap, "w") as f:
            f.write("remote.test dane-only\n")
        run([os.path.join(BIN, "postmap"), "-c", self.inst.etc, "hash:" + pmap])
        srv = self.server()
        self.start("may", {"smtp_tls_policy_maps": "hash:" + pmap})
        self.send()
        line = self.deferred(srv)
        self.assertIn("TLS security level dane-only", line)
        self.assertEqual(srv.conns, [])

    # -- postern check -------------------------------------------------------

    def test_check_accepts_dane_and_refuses_disabled(self):
        inst = self.inst

        def check():
            p = inst.postern("check", check=False)
            return p.returncode, (p.stdout + p.stderr).decode(errors="replace")

        inst.set_main({"smtp_tls_security_level": "dane",
                       "smtp_dns_support_level": "dnssec"})
        rc, out = check()
        self.assertEqual(rc, 0, out)
        self.assertNotIn("needs smtp_dns_support_level", out)
        inst.set_main({"smtp_tls_security_level": "dane-only",
                       "smtp_dns_support_level": ""})
        rc, out = check()
        self.assertEqual(rc, 0, out)
        self.assertIn("dane-only needs smtp_dns_support_level = dnssec", out)
        inst.set_main({"smtp_dns_support_level": "disabled"})
        rc, out = check()
        self.assertEqual(rc, 1, out)
        self.assertIn("smtp_dns_support_level = disabled", out)


if __name__ == "__main__":
    main()
