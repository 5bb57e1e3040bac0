"""The log tools administrators run read postern's log: fail2ban's
filters shipped in conf/fail2ban (the package's /etc/fail2ban) match every
line about a rejected recipient, improper pipelining and too many errors
that a real instance writes, with the client's address as the host to
ban; and the jail snippet is valid and disabled.  (pflogsumm:
test_pflogsumm.)
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BIN, TOP, Instance, main, wait_for

F2B = "/etc/fail2ban"
TARGET = re.compile(r" postern/smtpd\[\d+\]: (?:NOQUEUE: reject: |improper command pipelining "
                    r"|too many errors )")


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")

    def reply(self):
        lines = []
        while True:
            line = self.f.readline().decode(errors="replace")
            if not line:
                return None, lines
            lines.append(line.rstrip("\r\n"))
            if line[3:4] != "-":
                return int(line[:3]), lines

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.f.close()
        self.s.close()


def fail2ban_config(work):
    """A copy of the system's fail2ban configuration with postern's files."""
    conf = os.path.join(work, "fail2ban")
    shutil.copytree(F2B, conf, symlinks=True)
    shutil.copy(os.path.join(TOP, "conf/fail2ban/postern.conf"),
                os.path.join(conf, "filter.d/postern.conf"))
    shutil.copy(os.path.join(TOP, "conf/fail2ban/postern-sasl.conf"),
                os.path.join(conf, "filter.d/postern-sasl.conf"))
    shutil.copy(os.path.join(TOP, "conf/fail2ban/jail-postern.conf"),
                os.path.join(conf, "jail.d/postern.conf"))
    return conf


def fail2ban_regex(conf, log, filt):
    p = subprocess.run(["fail2ban-regex", "--config", conf, "--print-all-missed", log, filt],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise AssertionError("fail2ban-regex exited %d:\n%s" % (p.returncode, out))
    m = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", out)
    if not m:
        raise AssertionError("no summary from fail2ban-regex:\n" + out)
    return tuple(int(x) for x in m.groups()), out


class Fail2banTest(unittest.TestCase):

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="postern-f2b-")
        self.addCleanup(shutil.rmtree, self.work, True)
        # 127.0.0.1 is a stranger here: no relaying, no pipelining.
        self.inst = Instance(self, main_cf={"mynetworks": "192.0.2.0/24",
                                            "smtpd_hard_error_limit": "5",
                                            "smtpd_soft_error_limit": "100"})
        self.inst.start()

    def provoke(self):
        """The rejections fail2ban is for, each the way a client causes it."""
        c = Client(self.inst.port)
        c.reply()
        c.cmd("EHLO client.example")
        c.cmd("MAIL FROM:<spammer@example.org>")
        for i in range(3):
            code, _ = c.cmd("RCPT TO:<nosuchuser%d@localhost>" % i)
            self.assertEqual(code, 550)
        code, _ = c.cmd("RCPT TO:<someone@example.net>")
        self.assertEqual(code, 454)     # Postfix 3.7: defer_unauth_destination
        c.cmd("QUIT")
        c.close()
        # Commands sent ahead of the replies.
        c = Client(self.inst.port)
        c.reply()
        c.s.sendall(b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n")
        code, _ = c.reply()
        self.assertEqual(code, 554)
        c.close()
        # Too many errors.
        c = Client(self.inst.port)
        c.reply()
        while True:
            code, lines = c.cmd("BOGUS")
            if code is None or code == 421:
                break
        c.close()
        return 6

    def test_filters_match_every_rejection(self):
        want = self.provoke()
        wait_for(lambda: len([l for l in self.inst.log().splitlines() if TARGET.search(l)])
                 >= want, 10, what="%d rejection lines in the log" % want)
        lines = [l for l in self.inst.log().splitlines() if TARGET.search(l)]
        self.assertEqual(len(lines), want, "\n".join(lines))
        only = os.path.join(self.work, "rejections.log")
        with open(only, "w") as f:
            f.write("\n".join(lines) + "\n")
        conf = fail2ban_config(self.work)

        # The default mode: every line matches, with the client as host.
        (n, ignored, matched, missed), out = fail2ban_regex(conf, only, "postern")
        self.assertEqual((n, matched, missed), (want, want, 0), out)
        p = subprocess.run(["fail2ban-regex", "--config", conf, "--print-all-matched", only,
                            "postern"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        hosts = re.findall(r"\[(\d+\.\d+\.\d+\.\d+)\]", p.stdout.decode())
        self.assertTrue(hosts and set(hosts) == {"127.0.0.1"}, p.stdout.decode())

        # Over the whole log: the same lines and nothing else.
        (n, ignored, matched, missed), out = fail2ban_regex(conf, self.inst.maillog, "postern")
        self.assertEqual(matched, want, out)

        # The SASL filter loads and takes none of these (it is for AUTH).
        (n, ignored, matched, missed), out = fail2ban_regex(conf, only, "postern-sasl")
        self.assertEqual(matched, 0, out)

        # The jails are valid, and off until the administrator turns them on.
        p = subprocess.run(["fail2ban-client", "--conf", conf, "--dp"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        dump = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, dump)
        self.assertNotIn("'postern'", dump)
        jail = open(os.path.join(conf, "jail.d/postern.conf")).read()
        self.assertEqual(re.findall(r"(?m)^enabled\s*=\s*(\w+)", jail), ["false", "false"])
        # Turned on, it is a working jail with postern's filter.
        with open(os.path.join(conf, "jail.local"), "w") as f:
            f.write("[postern]\nenabled = true\nlogpath = %s\nbackend = polling\n"
                    % self.inst.maillog)
        p = subprocess.run(["fail2ban-client", "--conf", conf, "--dp"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        dump = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, dump)
        self.assertIn("'add', 'postern'", dump)


SYSLOG = re.compile(r"^<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) postern/(\w+)\[(\d+)\]: (.*)$")


class SyslogTest(unittest.TestCase):
    """The instance runs in its own mount namespace whose /dev/log is a
    datagram socket of this test (the machine has no syslog daemon, and a
    real one must not be touched)."""

    def test_syslog_lines(self):
        work = tempfile.mkdtemp(prefix="postern-syslog-")
        os.chmod(work, 0o755)
        self.addCleanup(shutil.rmtree, work, True)
        inst = Instance(self)
        user = inst.add_user()[0]
        with open(os.path.join(inst.etc, "main.cf")) as f:
            text = f.read()
        with open(os.path.join(inst.etc, "main.cf"), "w") as f:
            f.write(re.sub(r"(?m)^maillog_file\s*=.*$", "", text))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        path = os.path.join(work, "log.sock")
        sock.bind(path)
        os.chmod(path, 0o666)
        sock.settimeout(0.2)
        olddev = os.path.join(work, "olddev")
        os.mkdir(olddev)
        script = ("mount --make-rprivate / && mount --rbind /dev {o} && "
                  "mount -t tmpfs -o mode=0755 tmpfs /dev && "
                  "for n in null zero full random urandom; do touch /dev/$n && "
                  "mount --bind {o}/$n /dev/$n || exit 1; done && "
                  "touch /dev/log && mount --bind {s} /dev/log && "
                  "exec {postern} -c {etc} start").format(
                      o=olddev, s=path, postern=os.path.join(BIN, "postern"), etc=inst.etc)
        p = subprocess.run(["unshare", "--mount", "sh", "-c", script], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        inst.started = True
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        with inst.smtp() as s:
            s.sendmail("sender@example.org", ["%s@localhost" % user], "Subject: s\n\nhi\n")

        lines = []

        def got(what):
            while True:
                try:
                    lines.append(sock.recv(8192).decode(errors="replace"))
                except socket.timeout:
                    break
            return any(what in l for l in lines)
        wait_for(lambda: got("status=sent"), 20, what="the delivery line over syslog")
        wait_for(lambda: got(": removed"), 10, what="the removed line over syslog")
        parsed = [SYSLOG.match(l) for l in lines]
        bad = [l for l, m in zip(lines, parsed) if not m]
        self.assertEqual(bad, [], "lines not in syslog's shape")
        progs = {m.group(3) for m in parsed}
        for prog in ("master", "smtpd", "cleanup", "qmgr", "local"):
            self.assertIn(prog, progs, lines)
        # Facility mail (2), severity info (6) for the message lines.
        text = {m.group(5): int(m.group(1)) for m in parsed}
        client = [t for t in text if re.match(r"^\w+: client=unknown\[127\.0\.0\.1\]$", t)]
        self.assertEqual(len(client), 1, lines)
        self.assertEqual(text[client[0]], 2 * 8 + 6)
        self.assertTrue([t for t in text if re.match(
            r"^\w+: to=<%s@localhost>, relay=local, delay=[\d.]+, delays=[\d./]+, "
            r"dsn=2\.0\.0, status=sent \(" % user, t)], lines)
        self.assertTrue([t for t in text if re.match(
            r"^\w+: from=<sender@example\.org>, size=\d+, nrcpt=1 \(queue active\)$", t)],
            lines)
        # Nothing went to a mail log file.
        self.assertFalse(os.path.exists(inst.maillog) and os.path.getsize(inst.maillog))


if __name__ == "__main__":
    main()
