"""Configuration that never lies: Debian 12's stock main.cf with the
settings administrators add most often, every line honoured or refused
by name; myorigin read from a file as on Debian; a broken myorigin that
fails `postern check` and makes sendmail exit 78 with nothing moved to
corrupt/; a refused reload reported on the terminal; stop and status on
an instance whose main.cf broke after it started; postconf's listings
against fixed text, and concurrent postconf -e calls that lose no edit
while readers never see half a main.cf."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from harness import BIN, Instance, free_port, main, run, wait_for, _s
from delivery_util import log_context, maildir_files, parse, read_bytes, spool_box
from submission_util import SENDMAIL, describe, run_as

POSTCONF = os.path.join(BIN, "postconf")

# Debian 12's main.cf after installing postfix ("Internet Site"): the
# settings of /usr/share/postfix/main.cf.debian, its TLS block, and what
# the package's postinst writes with postconf -e.  Paths that would touch
# this machine (/etc/aliases, /etc/mailname) are the instance's own;
# MAILNAME and ALIASES are replaced.
DEBIAN_STOCK = [
    ("smtpd_banner", "$myhostname ESMTP $mail_name (Debian/GNU)", "honoured"),
    ("biff", "no", "honoured"),
    ("append_dot_mydomain", "no", "honoured"),
    ("readme_directory", "no", "ignored"),
    ("compatibility_level", "3.6", "ignored"),
    # ssl-cert's snakeoil pair, made by the test (SNAKEOIL.pem, .key).
    ("smtpd_tls_cert_file", "SNAKEOIL.pem", "honoured"),
    ("smtpd_tls_key_file", "SNAKEOIL.key", "honoured"),
    ("smtpd_tls_security_level", "may", "honoured"),
    ("smtp_tls_CApath", "/etc/ssl/certs", "honoured"),
    ("smtp_tls_security_level", "may", "honoured"),
    ("smtp_tls_session_cache_database", "btree:${data_directory}/smtp_scache", "refused"),
    ("smtpd_relay_restrictions",
     "permit_mynetworks permit_sasl_authenticated defer_unauth_destination", "honoured"),
    ("myhostname", "debian.example.com", "honoured"),
    ("alias_maps", "hash:ALIASES", "honoured"),
    ("alias_database", "hash:ALIASES", "honoured"),
    ("myorigin", "MAILNAME", "honoured"),
    ("mydestination", "$myhostname, debian.example.com, mail.example.org, "
     "localhost.example.com, localhost", "honoured"),
    ("relayhost", "", "honoured"),
    ("mynetworks", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128", "honoured"),
    ("mailbox_size_limit", "0", "honoured"),
    ("recipient_delimiter", "+", "honoured"),
    ("inet_interfaces", "all", "honoured"),
    ("inet_protocols", "all", "honoured"),
]

# What a Postfix administrator most often adds (the list).
COMMON_ADDITIONS = [
    ("smtpd_tls_security_level", "encrypt", "honoured"),
    ("smtpd_recipient_restrictions", "permit_mynetworks, reject_unauth_destination",
     "honoured"),
    # Tables read at start must exist: these files are not on this machine.
    ("header_checks", "regexp:/etc/postfix/header_checks", "refused-table"),
    ("body_checks", "regexp:/etc/postfix/body_checks", "refused-table"),
    ("smtpd_milters", "inet:127.0.0.1:8891", "refused"),
    ("non_smtpd_milters", "$smtpd_milters", "refused"),
    ("smtpd_sasl_auth_enable", "yes", "honoured"),
    # Implemented, but this master.cf has no smtp-amavis service to send to.
    ("content_filter", "smtp-amavis:[127.0.0.1]:10024", "refused-filter"),
    ("virtual_mailbox_domains", "example.net", "refused"),
    ("virtual_mailbox_maps", "hash:/etc/postfix/vmailbox", "refused"),
    ("mailbox_transport", "lmtp:unix:private/dovecot-lmtp", "refused"),
    ("virtual_alias_maps", "regexp:/etc/postfix/virtual", "refused-table"),
    ("home_mailbox", "Maildir/", "honoured"),
    ("message_size_limit", "52428800", "honoured"),
]


def write_main(inst, lines):
    """main.cf: postern init's, then lines (name, value, class)."""
    with open(os.path.join(inst.etc, "main.cf"), "a") as f:
        f.write("\n# Debian 12 stock and common additions\n")
        for name, value, _ in lines:
            f.write("%s = %s\n" % (name, value) if value else "%s =\n" % name)


def main_cf_lines(inst):
    with open(os.path.join(inst.etc, "main.cf")) as f:
        return f.read().splitlines()


def line_of(inst, name, value):
    """main.cf line number of the (last) 'name = value' line."""
    want = "%s = %s" % (name, value) if value else "%s =" % name
    nums = [i + 1 for i, l in enumerate(main_cf_lines(inst)) if l == want]
    assert nums, want
    return nums[-1]


def last_line_of(inst, name):
    """main.cf line number of the last setting of name (the one in force)."""
    nums = [i + 1 for i, l in enumerate(main_cf_lines(inst))
            if re.match(r"%s\s*=" % re.escape(name), l)]
    assert nums, name
    return nums[-1]


class DebianMainCf(unittest.TestCase):

    def setUp(self):
        self.inst = Instance(self)
        self.mailname = os.path.join(self.inst.dir, "mailname")
        with open(self.mailname, "w") as f:
            f.write("mail.example.org\n")
        self.aliases = os.path.join(self.inst.etc, "aliases")
        self.snakeoil = os.path.join(self.inst.etc, "ssl-cert-snakeoil")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
             "/CN=debian.example.com", "-days", "2", "-keyout", self.snakeoil + ".key",
             "-out", self.snakeoil + ".pem"])
        os.chmod(self.snakeoil + ".key", 0o640)

    def lines(self, table):
        out = []
        for name, value, cls in table:
            value = value.replace("MAILNAME", self.mailname).replace("ALIASES", self.aliases)
            value = value.replace("SNAKEOIL", self.snakeoil)
            out.append((name, value, cls))
        return out

    def test_every_line_honoured_or_refused(self):
        inst = self.inst
        lines = self.lines(DEBIAN_STOCK + COMMON_ADDITIONS)
        write_main(inst, lines)
        p = inst.postern("check", check=False)
        out, err = _s(p.stdout), _s(p.stderr)
        self.assertEqual(p.returncode, 1, out + err)
        self.assertNotIn("is OK", out)
        refused = [l for l in lines if l[2].startswith("refused")]
        ignored = [l for l in lines if l[2] == "ignored"]
        honoured = [l for l in lines if l[2] == "honoured"]
        problems = [l for l in err.splitlines() if l.startswith(inst.etc) or
                    l.startswith("main.cf:")]
        for name, value, cls in refused:
            if cls == "refused-table":
                self.assertRegex(err, r"main\.cf: %s = %s: .*cannot open" % (
                    name, re.escape(value)))
                continue
            if cls == "refused-filter":
                self.assertIn("main.cf: %s = %s: transport smtp-amavis is not a master.cf "
                              "service" % (name, value), err)
                continue
            want = "%s/main.cf, line %d: %s is not supported yet (" % (
                inst.etc, last_line_of(inst, name), name)
            self.assertIn(want, err)
        # One problem per refused line (a name set twice is refused once,
        # at its last line), and none about any other line.
        refused_names = {n for n, _, c in refused}
        self.assertEqual(len(problems), len(refused_names), err)
        for name, value, _ in honoured + ignored:
            self.assertNotRegex(err, r"\b%s\b" % name, "a problem named %s" % name)
        for name, value, _ in ignored:
            self.assertIn("postern: note: %s/main.cf, line %d: %s is ignored (" % (
                inst.etc, line_of(inst, name, value), name), out)
        # start refuses too, with the same words.
        p = inst.postern("start", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("smtpd_milters is not supported yet", _s(p.stderr))
        self.assertIsNone(inst.master_pid())

        # Without the refused lines the rest is honoured: check passes,
        # the instance starts and each honoured setting shows.
        write_main(inst, [])
        with open(os.path.join(inst.etc, "main.cf")) as f:
            text = f.read()
        keep = [l for l in text.splitlines()
                if not any(l.startswith(n + " = ") for n, _, _ in refused)]
        with open(os.path.join(inst.etc, "main.cf"), "w") as f:
            f.write("\n".join(keep) + "\n")
        p = inst.postern("check", check=False)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertEqual(len(re.findall(r"^postern: note: ", _s(p.stdout), re.M)), 2,
                         _s(p.stdout))
        inst.start()
        user, _, _, home = inst.add_user("dc")
        other, _, _, _ = inst.add_user("dc")
        with socket.create_connection(("127.0.0.1", inst.port), timeout=10) as s:
            banner = s.makefile("rb").readline()
        self.assertEqual(banner, b"220 debian.example.com ESMTP postern (Debian/GNU)\r\n")
        with inst.smtp() as s:
            code, text = s.ehlo("client.example")
        self.assertIn(b"SIZE 52428800", text)
        # myorigin from the file, recipient_delimiter, home_mailbox.
        p = run_as(other, [SENDMAIL, "-i", "%s+tag" % user], inst,
                   input=b"Subject: via sendmail\n\nhello\n")
        self.assertEqual(p.returncode, 0, describe(p))
        files = wait_for(lambda: maildir_files(home), timeout=20, what="Maildir delivery")
        msg = parse(read_bytes(files[0]))
        self.assertEqual(msg["Return-Path"], "<%s@mail.example.org>" % other)
        self.assertEqual(msg["Delivered-To"], "%s+tag@mail.example.org" % user)
        self.assertEqual(inst.queue_files("corrupt"), [])


class MyOrigin(unittest.TestCase):

    def test_mailname_file_delivers(self):
        inst = Instance(self)
        mailname = os.path.join(inst.dir, "mailname")
        with open(mailname, "w") as f:
            f.write("origin.example\n")
        inst.set_main({"myorigin": mailname,
                       "mydestination": "$myhostname, localhost, origin.example"})
        inst.start()
        user, _, _, _ = inst.add_user("mo")
        other, _, _, _ = inst.add_user("mo")
        p = run_as(other, [SENDMAIL, "-i", user], inst, input=b"Subject: x\n\nhi\n")
        self.assertEqual(p.returncode, 0, describe(p))
        box = wait_for(lambda: read_bytes(spool_box(inst, user)), timeout=20,
                       what="delivery" + log_context(inst))
        msg = parse(box.split(b"\n", 1)[1])
        self.assertEqual(msg["Return-Path"], "<%s@origin.example>" % other)
        self.assertEqual(msg["From"], "%s@origin.example" % other)

    def test_broken_myorigin_fails_check_and_sendmail(self):
        inst = Instance(self)
        inst.start()
        user, _, _, _ = inst.add_user("mo")
        mailname = os.path.join(inst.dir, "mailname")
        for value, why in ((mailname, "cannot open"),
                           ("/etc/mailname junk", "cannot open"),
                           ("not a domain", "is not a domain name")):
            with open(os.path.join(inst.etc, "main.cf"), "a") as f:
                f.write("myorigin = %s\n" % value)
            p = inst.postern("check", check=False)
            self.assertEqual(p.returncode, 1, describe(p))
            self.assertIn("parameter myorigin", _s(p.stderr))
            self.assertIn(why, _s(p.stderr))
            p = run_as(user, [SENDMAIL, "-i", user], inst, input=b"Subject: x\n\nhi\n")
            self.assertEqual(p.returncode, 78, describe(p))
            self.assertIn(b"parameter myorigin", p.stderr)
            self.assertIn(why.encode(), p.stderr)
            p = inst.postern("reload", check=False)
            self.assertEqual(p.returncode, 1, describe(p))
        self.assertEqual(inst.queue_files("maildrop"), [])
        self.assertEqual(inst.queue_files("corrupt"), [])
        # The running instance never saw it: the pickup of a file
        # written now still gets the old, good myorigin.
        with open(os.path.join(inst.etc, "main.cf"), "a") as f:
            f.write("myorigin = $myhostname\n")
        p = run_as(user, [SENDMAIL, "-i", user], inst, input=b"Subject: x\n\nhi\n")
        self.assertEqual(p.returncode, 0, describe(p))
        wait_for(lambda: read_bytes(spool_box(inst, user)), timeout=20, what="delivery")
        self.assertEqual(inst.queue_files("corrupt"), [])


class Control(unittest.TestCase):

    def test_refused_reload_is_reported(self):
        inst = Instance(self)
        inst.start()
        # A reload only the master can refuse: its new listener cannot bind.
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        with open(os.path.join(inst.etc, "master.cf"), "a") as f:
            f.write("127.0.0.1:%d inet n - y - 1 smtpd\n" % port)
        p = inst.postern("reload", check=False)
        self.assertEqual(p.returncode, 1, describe(p))
        self.assertIn("reload refused", _s(p.stderr))
        self.assertIn("127.0.0.1:%d" % port, _s(p.stderr))
        self.assertNotIn("done", _s(p.stdout))
        # A good reload says so, with the new generation.
        with open(os.path.join(inst.etc, "master.cf")) as f:
            text = f.read().replace("127.0.0.1:%d inet n - y - 1 smtpd\n" % port, "")
        with open(os.path.join(inst.etc, "master.cf"), "w") as f:
            f.write(text)
        p = inst.postern("reload")
        self.assertIn("reload: done (generation 2)", _s(p.stdout))

    def test_stop_and_status_with_broken_main_cf(self):
        inst = Instance(self)
        inst.start()
        mpid = inst.master_pid()
        with open(os.path.join(inst.etc, "main.cf"), "a") as f:
            f.write("this line is broken\nmessage_size_limit = banana\n"
                    "smtpd_milters = inet:127.0.0.1:8891\n")
        self.assertEqual(inst.postern("check", check=False).returncode, 1)
        rows = inst.status()
        self.assertEqual(rows[0]["role"], "master")
        self.assertEqual(int(rows[0]["pid"]), mpid)
        p = inst.stop()
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertIn("stop: done", _s(p.stdout))
        self.assertIsNone(inst.master_pid())

    def test_abort_with_broken_main_cf(self):
        inst = Instance(self)
        inst.start()
        with open(os.path.join(inst.etc, "main.cf"), "a") as f:
            f.write("mail_name = ${unclosed\n")
        p = inst.postern("abort")
        self.assertIn("abort: done", _s(p.stdout))
        self.assertEqual(inst.instance_pids(), [])


class CheckRefusals(unittest.TestCase):

    def test_tables_alias_database_and_master_cf_options(self):
        inst = Instance(self)
        missing = os.path.join(inst.dir, "no-such-aliases")
        inst.set_main({"alias_database": "hash:%s, static:x" % missing,
                       "transport_maps": "pcre:/etc/postfix/transport",
                       "canonical_maps": "inline:{a=b, c=d}"})
        with open(os.path.join(inst.etc, "master.cf"), "a") as f:
            f.write("2526 inet n - y - 1 smtpd\n"
                    "  -o virtual_alias_maps=regexp:/etc/postfix/virtual\n"
                    "  -o readme_directory=no\n"
                    "  -o smtpd_client_event_limit_exceptions=127.0.0.1\n")
        p = inst.postern("check", check=False)
        err, out = _s(p.stderr), _s(p.stdout)
        self.assertEqual(p.returncode, 1, describe(p))
        self.assertIn("main.cf: alias_database = hash:%s, static:x: %s: No such file or "
                      "directory" % (missing, missing), err)
        self.assertIn("newaliases cannot build static:x", err)
        self.assertIn("main.cf: transport_maps = pcre:/etc/postfix/transport: "
                      "pcre:/etc/postfix/transport: cannot open /etc/postfix/transport", err)
        self.assertNotIn("canonical_maps", err)
        self.assertRegex(err, r"master\.cf, line \d+: service 2526: -o virtual_alias_maps="
                         r"regexp:/etc/postfix/virtual: .*cannot open /etc/postfix/virtual")
        self.assertRegex(out, r"postern: note: .*/master\.cf, line \d+: service 2526: "
                         r"-o readme_directory is ignored \(documentation location\)")
        # An unsupported -o is refused when master.cf is read.
        with open(os.path.join(inst.etc, "master.cf"), "a") as f:
            f.write("  -o smtpd_milters=inet:127.0.0.1:8891\n")
        p = inst.postern("check", check=False)
        self.assertEqual(p.returncode, 1, describe(p))
        self.assertIn('-o "smtpd_milters=inet:127.0.0.1:8891": smtpd_milters '
                      'is not supported yet (milters)', _s(p.stderr))

    def test_user_defined_parameters(self):
        # Debian's master.cf submission lines refer to main.cf names of
        # the administrator's own: -o smtpd_..._restrictions=$mua_...
        # mua_client_restrictions looks like a Postfix name ("*_restrictions")
        # but Postfix has no such parameter: referred to, it is the
        # administrator's own, not an unsupported setting.
        inst = Instance(self, main_cf={"mua_banner_text": "$myhostname custom greeting",
                                       "mua_client_restrictions": "permit_mynetworks",
                                       "lonely_setting": "1"})
        port2 = free_port()
        with open(os.path.join(inst.etc, "master.cf"), "a") as f:
            f.write("127.0.0.1:%d inet n - y - 1 smtpd\n"
                    "  -o smtpd_banner=$mua_banner_text\n"
                    "  -o syslog_name=postern/$mua_client_restrictions\n" % port2)
        p = inst.postern("check", check=False)
        out = _s(p.stdout) + _s(p.stderr)
        self.assertEqual(p.returncode, 0, describe(p))
        self.assertNotIn("mua_banner_text", out)
        self.assertNotIn("mua_client_restrictions", out)
        self.assertRegex(out, r'note: .*main\.cf, line \d+: unknown parameter "lonely_setting"')
        inst.start()
        with socket.create_connection(("127.0.0.1", port2), timeout=10) as c:
            greeting = c.recv(512).decode()
        self.assertRegex(greeting, r"^220 \S+ custom greeting\r\n", greeting)


FIXED_MAIN_CF = """# A fixed main.cf for the postconf tests.
myhostname = host.example.com
mydomain=example.com
relayhost =
myorigin = $mydomain
alias_maps = hash:/etc/aliases,
    hash:/etc/postern/more_aliases
readme_directory = no
unknown_thing = 1
message_size_limit = 20m
"""

FIXED_MASTER_CF = """# service type private unpriv chroot wakeup maxproc command + args
127.0.0.1:2525    inet  n       -       y       -       1       smtpd
  -o syslog_name=postern/submission
  -o smtpd_client_connection_count_limit=10
cleanup           unix  -       -       y       -       0       cleanup
qmgr              fifo  n       -       y       300     1       qmgr
local             unix  -       n       n       -       -       local
"""


def postconf(*args, check=True):
    return run([POSTCONF] + list(args), check=check)


class Postconf(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="postern-postconf-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(FIXED_MAIN_CF)
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(FIXED_MASTER_CF)

    def out(self, *args, status=0):
        p = postconf("-c", self.dir, *args, check=False)
        self.assertEqual(p.returncode, status, describe(p))
        return _s(p.stdout), _s(p.stderr)

    def test_n(self):
        out, err = self.out("-n")
        self.assertEqual(out, (
            "alias_maps = hash:/etc/aliases, hash:/etc/postern/more_aliases\n"
            "config_directory = %s\n"
            "message_size_limit = 20m\n"
            "mydomain = example.com\n"
            "myhostname = host.example.com\n"
            "myorigin = $mydomain\n"
            "relayhost =\n") % self.dir)
        self.assertEqual(err, "postconf: warning: %s/main.cf: unused parameter: "
                         "unknown_thing=1\n" % self.dir)

    def test_d_and_names(self):
        out, _ = self.out("-d", "myorigin", "mydestination", "message_size_limit",
                          "maximal_queue_lifetime", "relayhost")
        self.assertEqual(out, "myorigin = $myhostname\n"
                         "mydestination = $myhostname, localhost.$mydomain, localhost\n"
                         "message_size_limit = 10240000\n"
                         "maximal_queue_lifetime = 5d\n"
                         "relayhost =\n")
        out, _ = self.out("myorigin", "message_size_limit", "mydestination")
        self.assertEqual(out, "myorigin = $mydomain\nmessage_size_limit = 20m\n"
                         "mydestination = $myhostname, localhost.$mydomain, localhost\n")
        out, _ = self.out("-x", "myorigin", "mydestination")
        self.assertEqual(out, "myorigin = example.com\n"
                         "mydestination = host.example.com, localhost.example.com, "
                         "localhost\n")
        out, _ = self.out("-h", "myorigin")
        self.assertEqual(out, "$mydomain\n")
        out, _ = self.out("-hx", "myorigin")
        self.assertEqual(out, "example.com\n")
        # Every implemented parameter once, sorted.
        out, _ = self.out()
        names = [l.split(" ", 1)[0] for l in out.splitlines()]
        self.assertEqual(names, sorted(names))
        self.assertIn("message_size_limit = 20m", out.splitlines())
        self.assertIn("minimal_backoff_time = 300s", out.splitlines())

    def test_unknown_names_exit_1(self):
        out, err = self.out("myhostname", "no_such_name", "smtpd_milters",
                            "readme_directory", status=1)
        self.assertEqual(out, "myhostname = host.example.com\n")
        self.assertIn("postconf: warning: no_such_name: unknown parameter\n", err)
        self.assertIn("postconf: warning: smtpd_milters: not supported yet "
                      "by postern (milters)\n", err)
        self.assertIn("postconf: warning: readme_directory: ignored by postern", err)
        out, err = self.out("-M", "nosuch/inet", status=1)
        self.assertEqual(err, 'postconf: warning: unmatched request: "nosuch/inet"\n')

    def test_master_listings(self):
        out, _ = self.out("-M")
        self.assertEqual(out, (
            "127.0.0.1:2525 inet n    -       y       -       1       smtpd "
            "-o syslog_name=postern/submission -o smtpd_client_connection_count_limit=10\n"
            "cleanup    unix  -       -       y       -       0       cleanup\n"
            "qmgr       fifo  n       -       y       300     1       qmgr\n"
            "local      unix  -       n       n       -       -       local\n"))
        out, _ = self.out("-M", "qmgr/fifo")
        self.assertEqual(out, "qmgr       fifo  n       -       y       300     1       qmgr\n")
        out, _ = self.out("-F", "local/unix/unprivileged", "qmgr/fifo/wakeup")
        self.assertEqual(out, "qmgr/fifo/wakeup = 300\nlocal/unix/unprivileged = n\n")
        out, _ = self.out("-P")
        self.assertEqual(out, "127.0.0.1:2525/inet/syslog_name = postern/submission\n"
                         "127.0.0.1:2525/inet/smtpd_client_connection_count_limit = 10\n")

    def test_edit_keeps_comments_and_order(self):
        self.out("-e", "relayhost=[smtp.example.net]:587", "mydomain = example.org",
                 "inet_protocols=ipv4")
        self.out("-X", "readme_directory", "unknown_thing")
        self.out("-#", "message_size_limit")
        with open(os.path.join(self.dir, "main.cf")) as f:
            self.assertEqual(f.read(), (
                "# A fixed main.cf for the postconf tests.\n"
                "myhostname = host.example.com\n"
                "mydomain = example.org\n"
                "relayhost = [smtp.example.net]:587\n"
                "myorigin = $mydomain\n"
                "alias_maps = hash:/etc/aliases,\n"
                "    hash:/etc/postern/more_aliases\n"
                "#message_size_limit = 20m\n"
                "inet_protocols = ipv4\n"))
        # Refused edits change nothing.
        before = os.stat(os.path.join(self.dir, "main.cf"))
        _, err = self.out("-e", "relayhost=x", "smtpd_milters=inet:127.0.0.1:8891", status=1)
        self.assertIn("smtpd_milters is not supported yet (milters)", err)
        _, err = self.out("-e", "message_size_limit=huge", status=1)
        self.assertIn("message_size_limit = huge", err)
        self.assertEqual(os.stat(os.path.join(self.dir, "main.cf")).st_ino, before.st_ino)

    def test_concurrent_edits_lose_nothing(self):
        path = os.path.join(self.dir, "main.cf")
        with open(path, "a") as f:
            f.write("# tail of the file\n")
        names = ["smtpd_recipient_limit", "smtpd_hard_error_limit", "smtpd_junk_command_limit",
                 "hopcount_limit", "max_use", "local_recursion_limit", "expansion_limit",
                 "deliver_lock_attempts"]
        rounds = 25
        script = ("for i in $(seq 1 %d); do %s -c %s -e \"$1=$((100 + i))\" || exit 1; done"
                  % (rounds, POSTCONF, self.dir))
        writers = [subprocess.Popen(["sh", "-c", script, "sh", n]) for n in names]
        self.addCleanup(lambda: [w.kill() for w in writers if w.poll() is None])
        reads = 0
        while any(w.poll() is None for w in writers):
            with open(path) as f:
                text = f.read()
            reads += 1
            self.assertTrue(text.startswith("# A fixed main.cf"), text)
            self.assertIn("# tail of the file\n", text)
            self.assertTrue(text.endswith("\n"), text)
            for line in text.splitlines():
                self.assertTrue(line == "" or line.startswith("#") or line.startswith(" ")
                                or re.match(r"^\w+ ?= ?", line), "half a line: %r" % line)
        for w in writers:
            self.assertEqual(w.wait(), 0)
        self.assertGreater(reads, 0)
        with open(path) as f:
            text = f.read()
        for n in names:
            self.assertEqual(re.findall(r"^%s = (.*)$" % n, text, re.M), [str(100 + rounds)],
                             text)
        # Everything that was there is still there.
        self.assertTrue(text.startswith(FIXED_MAIN_CF), text)


if __name__ == "__main__":
    main()
