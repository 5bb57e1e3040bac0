"""End-to-end tests of the SMTP client (smtp/): mail for other domains
leaves through MX records from a dnsmasq the test starts, to test SMTP
servers on loopback addresses (remote_util.Server), with STARTTLS and a
logged cipher; relayhost and transport_maps routes; three recipients
of one destination in one transaction, a 550 for one of them (the
others delivered, an RFC 3464 bounce quoting the server);
DNS outcomes (no MX and no address, NXDOMAIN, null MX: bounce; a DNS
timeout: defer); a silent server that times out while another
destination flows; smtp_tls_security_level = verify against a
certificate for another name (deferred, nothing sent in the clear);
AUTH inside TLS with smtp_sasl_password_maps; a relay in wrapper mode
(port 465 style, smtp_tls_wrappermode); the smtp process's
privileges from /proc.

Servers listen on 127.0.0.1 or on other 127.0.0.0/8 addresses with a
port free on all of them, which smtp_tcp_port makes the port of every
MX host (so no test needs port 25)."""

import os
import pwd
import random
import re
import socket
import time
import unittest

from dns_util import BlackHole, Dnsmasq
from harness import BIN, Instance, main, proc_info, run, wait_for
import remote_util


def free_port_on(addrs):
    """A TCP port free on every address of addrs."""
    for _ in range(100):
        port = random.randint(20000, 60000)
        socks = []
        try:
            for a in addrs:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((a, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no port free on %s" % addrs)


def loopback_addrs(n):
    """n distinct 127.x.y.z addresses, unlikely to meet another test's."""
    base = random.randint(2, 250)
    return ["127.%d.%d.%d" % (base, random.randint(1, 250), i + 1) for i in range(n)]


class SMTPClientTest(unittest.TestCase):

    def setUp(self):
        self.addrs = loopback_addrs(3)
        self.port = free_port_on(self.addrs + ["127.0.0.1"])

    def instance(self, records, main_cf=None, start=True):
        inst = Instance(self)
        self.dns = Dnsmasq(inst, ["--local=/test/"] + records)
        cf = {
            "resolver_servers": self.dns.server,
            "smtp_tcp_port": str(self.port),
            "smtp_helo_name": "client.postern.test",
            "minimal_backoff_time": "300s",
        }
        cf.update(main_cf or {})
        inst.set_main(cf)
        if start:
            inst.start()
        self.inst = inst
        return inst

    def certs(self):
        """A CA and certificates, in the instance's directory."""
        return remote_util.Certs(os.path.join(self.inst.dir, "certs"))

    def postmap(self, spec):
        run([os.path.join(BIN, "postmap"), "-c", self.inst.etc, spec])

    def server(self, addr_index=0, **kw):
        return remote_util.Server(self, host=self.addrs[addr_index], port=self.port, **kw)

    def send(self, rcpts, subject="test", sender="sender@client.test", body="body\n"):
        with self.inst.smtp() as s:
            s.sendmail(sender, rcpts, "From: %s\nSubject: %s\n\n%s" % (sender, subject, body))

    def log_lines(self, pattern):
        return [l for l in self.inst.log().splitlines() if re.search(pattern, l)]

    def wait_line(self, pattern, timeout=30):
        return wait_for(lambda: self.log_lines(pattern), timeout=timeout,
                        what="log line /%s/ in\n%s" % (pattern, self.inst.log()[-4000:]))[0]

    # -- MX, STARTTLS ---------------------------------------------------

    def test_mx_delivery_with_starttls_and_cipher(self):
        inst = self.instance(["--mx-host=remote.test,mx1.remote.test,10",
                              "--mx-host=remote.test,mx2.remote.test,20",
                              "--host-record=mx1.remote.test,%s" % self.addrs[1],
                              "--host-record=mx2.remote.test,%s" % self.addrs[2]],
                             start=False)
        certs = self.certs()
        good = self.server(1, name="mx1.remote.test", tls=certs.server_context("mx1.remote.test"))
        backup = self.server(2, name="mx2.remote.test")
        inst.set_main({"smtp_tls_CAfile": certs.ca_cert,
                       "smtp_connection_cache_time_limit": "1s"})
        inst.start()
        self.send(["user@remote.test"], subject="through MX")
        msgs = good.wait_messages(1)
        self.assertEqual(msgs[0].rcpts, ["user@remote.test"])
        self.assertTrue(msgs[0].tls, "the message did not go inside TLS")
        self.assertIn(b"Subject: through MX\r\n", msgs[0].data)
        self.assertEqual(backup.messages, [])
        # Nothing but EHLO and STARTTLS in the clear.
        clear = [c for c, tls in good.commands() if not tls]
        self.assertEqual([c.split()[0] for c in clear], ["EHLO", "STARTTLS"], clear)
        line = self.wait_line(r"postern/smtp\[\d+\]: \w+: to=<user@remote.test>.*status=sent")
        self.assertIn("relay=mx1.remote.test[%s]:%d" % (self.addrs[1], self.port), line)
        self.assertRegex(line, r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2.0.0, "
                         r"status=sent \(250 2.0.0 Ok: queued as TEST1\)")
        tls = self.wait_line(r"TLS connection established to mx1.remote.test")
        self.assertRegex(tls, r"Verified TLS connection established to mx1.remote.test\[%s\]:%d: "
                         r"TLSv1.[23] with cipher \S+" % (re.escape(self.addrs[1]), self.port))
        # The queue manager logs no second to= line (it would before the
        # message leaves the queue).
        inst.wait_queue_settled()
        self.assertEqual(self.log_lines(r"postern/qmgr.*to=<user@remote.test>"), [])
        # Once the idle connection is given up (QUIT), the next message
        # gets a new connection, which resumes the TLS session.
        wait_for(lambda: any(c.startswith("QUIT") for c, _ in good.commands()),
                 what="QUIT on the idle connection")
        self.send(["user2@remote.test"], subject="again")
        good.wait_messages(2)
        self.assertEqual(len(good.conns), 2)
        self.wait_line(r"Verified TLS connection reused to mx1.remote.test")

    def test_mx_next_server_after_421(self):
        busy = self.server(1, name="mx1.remote.test", greeting="421 4.3.2 busy, try later")
        good = self.server(2, name="mx2.remote.test")
        self.instance(["--mx-host=remote.test,mx1.remote.test,10",
                       "--mx-host=remote.test,mx2.remote.test,20",
                       "--host-record=mx1.remote.test,%s" % self.addrs[1],
                       "--host-record=mx2.remote.test,%s" % self.addrs[2]])
        self.send(["user@remote.test"])
        good.wait_messages(1)
        self.assertEqual(len(busy.conns), 1)
        self.assertEqual(self.log_lines("status=deferred"), [])

    # -- Routes ----------------------------------------------------------

    def test_relayhost_and_transport_maps(self):
        relay = remote_util.Server(self, host="127.0.0.1", name="smarthost.test")
        special = remote_util.Server(self, host="127.0.0.1", name="special.test")
        inst = self.instance([], start=False)
        tmap = os.path.join(inst.etc, "transport")
        with open(tmap, "w") as f:
            f.write("special.test  smtp:[127.0.0.1]:%d\n" % special.port)
        self.postmap("hash:" + tmap)
        inst.set_main({"relayhost": "[127.0.0.1]:%d" % relay.port,
                       "transport_maps": "hash:" + tmap})
        inst.start()
        self.send(["a@elsewhere.test"], subject="via relayhost")
        self.send(["b@special.test"], subject="via transport_maps")
        r = relay.wait_messages(1)
        s = special.wait_messages(1)
        self.assertEqual(r[0].rcpts, ["a@elsewhere.test"])
        self.assertEqual(s[0].rcpts, ["b@special.test"])
        self.assertIn(b"Subject: via relayhost", r[0].data)
        self.assertIn(b"Subject: via transport_maps", s[0].data)
        self.wait_line(r"to=<a@elsewhere.test>, relay=127.0.0.1\[127.0.0.1\]:%d, .*status=sent"
                       % relay.port)
        self.wait_line(r"to=<b@special.test>, relay=127.0.0.1\[127.0.0.1\]:%d, .*status=sent"
                       % special.port)
        # No DNS query was needed for either ([host] routes).
        self.assertEqual([q for q in self.dns.queries() if "test" in q and "probe" not in q], [])

    # -- Per-recipient results ------------------------------------------

    def test_550_for_one_of_three(self):
        user, uid, gid, home = self.instance([], start=False).add_user()
        srv = remote_util.Server(self, host="127.0.0.1", name="mx.remote.test",
                                 rcpt=lambda a: "550 5.1.1 <%s>: Recipient address rejected: "
                                 "User unknown in virtual mailbox table\r\n" % a
                                 if a.startswith("bob@") else None)
        self.inst.set_main({"relayhost": "[127.0.0.1]:%d" % srv.port})
        self.inst.start()
        self.send(["alice@remote.test", "bob@remote.test", "carol@remote.test"],
                  sender=user + "@localhost", subject="two of them")
        msgs = srv.wait_messages(1)
        # One transaction for the destination's recipients; bob's RCPT alone refused.
        self.assertEqual(sorted(msgs[0].rcpts), ["alice@remote.test", "carol@remote.test"])
        self.assertEqual(len([c for c, _ in srv.commands() if c.startswith("MAIL")]), 1)
        self.wait_line(r"to=<alice@remote.test>.*status=sent")
        line = self.wait_line(r"to=<bob@remote.test>.*status=bounced")
        self.assertIn("dsn=5.1.1", line)
        self.assertIn("host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <bob@remote.test>: Recipient "
                      "address rejected: User unknown in virtual mailbox table (in reply to "
                      "RCPT TO command)", line)
        # The bounce reaches the sender's mailbox: RFC 3464, quoting the server.
        mbox = os.path.join(self.inst.dir, "mail", user)

        def bounce():
            try:
                with open(mbox, "rb") as f:
                    data = f.read()
            except OSError:
                return None
            return data if b"message/delivery-status" in data else None
        data = wait_for(bounce, timeout=30, what="the bounce in %s" % mbox).decode("utf-8", "replace")
        self.assertIn("Final-Recipient: rfc822; bob@remote.test", data)
        self.assertIn("Action: failed", data)
        self.assertIn("Status: 5.1.1", data)
        # The server's own words (folded), with the code it gave, as Postfix.
        self.assertRegex(data, r"Diagnostic-Code: smtp; 550 5\.1\.1\s+<bob@remote.test>:\s+"
                         r"Recipient\s+address\s+rejected")
        self.assertIn("Remote-MTA: dns; 127.0.0.1", data)
        self.assertNotIn("Final-Recipient: rfc822; alice@remote.test", data)
        self.assertNotIn("Final-Recipient: rfc822; carol@remote.test", data)
        self.assertIn("Subject: two of them", data)

    # -- DNS ---------------------------------------------------------------

    def test_dns_outcomes(self):
        hole = BlackHole(self)
        self.instance([
            # null MX (RFC 7505): MX 0 "."
            "--dns-rr=nullmx.test,15,000000",
            # a name with a TXT record only: no MX, no address
            "--txt-record=noaddr.test,nothing here",
            # queries for slow.test go to a server that never answers
            "--server=/slow.test/127.0.0.1#%d" % hole.port,
        ])
        self.send(["u@nullmx.test"], subject="null mx")
        self.send(["u@noaddr.test"], subject="no address")
        self.send(["u@nxdomain.test"], subject="no such domain")
        self.send(["u@slow.test"], subject="dns timeout")
        line = self.wait_line(r"to=<u@nullmx.test>.*status=bounced")
        self.assertIn("dsn=5.1.10", line)
        self.assertIn("Domain nullmx.test does not accept mail (nullMX)", line)
        line = self.wait_line(r"to=<u@noaddr.test>.*status=bounced")
        self.assertIn("dsn=5.4.4", line)
        self.assertIn("Host or domain name not found. Name service error for name=noaddr.test "
                      "type=A", line)
        line = self.wait_line(r"to=<u@nxdomain.test>.*status=bounced")
        self.assertIn("dsn=5.4.4", line)
        line = self.wait_line(r"to=<u@slow.test>.*status=deferred", timeout=60)
        self.assertIn("dsn=4.4.3", line)
        self.assertIn("try again", line)
        self.assertIn("relay=none", line)
        # The deferred one waits in the queue; the three others are gone.
        wait_for(lambda: len(self.inst.queue_files("deferred")) == 1,
                 what="one message in deferred/")
        # The null MX bounced at once: no A or AAAA query for it.
        self.assertEqual([q for q in self.dns.queries() if q.endswith("nullmx.test")
                          and not q.startswith("MX")], [])

    # -- Timeouts ------------------------------------------------------------

    def test_silent_server_times_out_while_others_flow(self):
        mute = self.server(1, name="mx.slow.test", greeting=None)
        fast = self.server(2, name="mx.fast.test")
        self.instance(["--mx-host=slow.test,mx.slow.test,10",
                       "--mx-host=fast.test,mx.fast.test,10",
                       "--host-record=mx.slow.test,%s" % self.addrs[1],
                       "--host-record=mx.fast.test,%s" % self.addrs[2]],
                      {"smtp_helo_timeout": "6s"})
        self.send(["u@slow.test"], subject="to the silent one")
        wait_for(lambda: len(mute.conns) == 1, what="a connection to the silent server")
        for i in range(3):
            self.send(["u%d@fast.test" % i], subject="fast %d" % i)
        fast.wait_messages(3)
        # All three went while the silent server still held its delivery.
        self.assertEqual(self.log_lines(r"to=<u@slow.test>"), [])
        line = self.wait_line(r"to=<u@slow.test>.*status=deferred", timeout=30)
        self.assertIn("dsn=4.4.2", line)
        self.assertIn("conversation with mx.slow.test[%s] timed out while receiving the initial "
                      "server greeting" % self.addrs[1], line)
        self.assertEqual(mute.messages, [])

    # -- TLS verification ------------------------------------------------

    def test_verify_against_wrong_name_defers_and_sends_nothing_clear(self):
        inst = self.instance(["--mx-host=remote.test,mx.remote.test,10",
                              "--host-record=mx.remote.test,%s" % self.addrs[1]], start=False)
        certs = self.certs()
        srv = self.server(1, name="mx.remote.test", tls=certs.server_context("wrong.example"))
        inst.set_main({"smtp_tls_security_level": "verify", "smtp_tls_CAfile": certs.ca_cert})
        inst.start()
        self.send(["user@remote.test"], subject="secret")
        line = self.wait_line(r"to=<user@remote.test>.*status=deferred")
        self.assertIn("dsn=4.7.5", line)
        self.assertIn("Server certificate not verified", line)
        self.assertEqual(srv.messages, [])
        cmds = [c.split()[0] for c, tls in srv.commands()]
        self.assertEqual(cmds, ["EHLO", "STARTTLS"], srv.commands())
        wait_for(lambda: len(self.inst.queue_files("deferred")) == 1, 10,
                 what="the message in deferred/")

    # -- AUTH ------------------------------------------------------------

    def test_auth_inside_tls_with_password_maps(self):
        inst = self.instance([], start=False)
        certs = self.certs()
        srv = remote_util.Server(self, host="127.0.0.1", name="smarthost.test",
                                 tls=certs.server_context("smarthost.test"),
                                 auth={"alice": "s3cret pass"})
        pw = os.path.join(inst.etc, "sasl_passwd")
        with open(pw, "w") as f:
            f.write("[127.0.0.1]:%d alice:s3cret pass\n" % srv.port)
        os.chmod(pw, 0o600)
        self.postmap("hash:" + pw)
        # Root's alone, as on a real system: smtp reads it before the chroot.
        self.assertEqual(os.stat(pw + ".db").st_mode & 0o077, 0)
        inst.set_main({"relayhost": "[127.0.0.1]:%d" % srv.port,
                       "smtp_sasl_auth_enable": "yes",
                       "smtp_sasl_password_maps": "hash:" + pw,
                       "smtp_tls_security_level": "encrypt"})
        inst.start()
        self.send(["someone@far.test"], subject="authenticated")
        msgs = srv.wait_messages(1)
        self.assertEqual(msgs[0].auth_user, "alice")
        self.assertTrue(msgs[0].tls)
        self.assertNotIn("s3cret", inst.log())
        auth = [c for c, tls in srv.commands() if c.upper().startswith("AUTH")]
        self.assertTrue(auth and all(tls for c, tls in srv.commands()
                                     if c.upper().startswith("AUTH")), srv.commands())

    def test_wrapper_mode_relay(self):
        # smarthost.test is 127.0.0.1, the name its certificate carries.
        inst = self.instance(["--host-record=smarthost.test,127.0.0.1"], start=False)
        certs = self.certs()
        srv = remote_util.Server(self, host="127.0.0.1", name="smarthost.test",
                                 wrapper=certs.server_context("smarthost.test"))
        inst.set_main({"relayhost": "[smarthost.test]:%d" % srv.port,
                       "smtp_tls_wrappermode": "yes",
                       "smtp_tls_security_level": "verify",
                       "smtp_tls_CAfile": certs.ca_cert})
        inst.start()
        self.send(["someone@far.test"], subject="implicit TLS")
        msgs = srv.wait_messages(1)
        self.assertTrue(msgs[0].tls)
        self.assertTrue(all(tls for _, tls in srv.commands()), srv.commands())
        self.assertNotIn("STARTTLS", [c.split()[0] for c, _ in srv.commands()])
        self.wait_line(r"Verified TLS connection established to smarthost.test\[127.0.0.1\]:%d"
                       % srv.port)

    # -- Privileges --------------------------------------------------------

    def test_smtp_is_chrooted_and_runs_as_mail_owner(self):
        inst = self.instance([])
        procs = inst.procs("smtp")
        self.assertGreaterEqual(len(procs), 1, inst.status())
        owner = pwd.getpwnam("postern")
        for r in procs:
            uid, gid, root = proc_info(int(r["pid"]))
            self.assertEqual((uid, gid), (owner.pw_uid, owner.pw_gid), r)
            self.assertEqual(root, inst.queue, r)
            with open("/proc/%s/status" % r["pid"]) as f:
                caps = {l.split(":")[0]: l.split()[1] for l in f if l.startswith("Cap")}
            self.assertEqual(int(caps["CapEff"], 16), 0, r)


if __name__ == "__main__":
    main()
