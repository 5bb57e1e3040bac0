"""test_privdecl - privilege is data: each daemon's declaration, held
against its code, against master.cf and against SECURITY.md.

Every daemon's server_ops say whether it runs as root, whether it must,
may or must not be chrooted, which endpoints it connects to and which
main.cf parameters it reads; "DAEMON -D" prints that (lib/svc/server.h).
Here:
  - every daemon answers -D;
  - every parameter a daemon's own code reads (cfg->NAME in its
    directory) is among those it declares;
  - SECURITY.md's privilege map says, for each daemon, what its
    declaration says (who it runs as, its chroot, its seccomp filter's
    calls beyond the common set, the endpoints it talks to);
  - postern check refuses a master.cf that contradicts a declaration;
  - the skeleton refuses to run a daemon outside its declaration, even
    when started by hand.
"""

import glob
import os
import re
import subprocess
import unittest

from harness import BIN, LIBEXEC, TOP, Instance, main

COMMON = {"queue_directory", "mail_owner", "syslog_name", "maillog_file", "max_use",
          "max_idle"}


def daemons():
    with open(os.path.join(TOP, "Makefile")) as f:
        m = re.search(r"^DAEMONS\s*:=\s*(.*)$", f.read(), re.M)
    return [d for d in m.group(1).split() if d != "master"]


def declaration(name):
    p = subprocess.run([os.path.join(LIBEXEC, name), "-D"], capture_output=True,
                       timeout=10, env={})
    if p.returncode != 0:
        raise AssertionError("%s -D exited %d: %r" % (name, p.returncode, p.stderr))
    d = {}
    for line in p.stdout.decode().splitlines():
        key, _, rest = line.partition(" ")
        d[key] = rest.split() if key in ("talks", "params", "seccomp") else rest
    return d


def matches(patterns, name):
    """lib/util/reach's reach_match(): equal, or prefix*suffix."""
    for p in patterns:
        pre, star, post = p.partition("*")
        if not star and p == name:
            return True
        if star and len(name) >= len(pre) + len(post) and name.startswith(pre) \
                and name.endswith(post):
            return True
    return False


def privilege_rows():
    """SECURITY.md's privilege map: {program: (runs as, chroot, seccomp, reaches)}."""
    with open(os.path.join(TOP, "SECURITY.md")) as f:
        text = f.read()
    table = text.split("## Privilege map", 1)[1].split("\n\n", 2)[1]
    rows, head = {}, None
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "program":
            head = cells
            continue
        if len(cells) < 5 or set(cells[0]) <= {"-"}:
            continue
        row = dict(zip(head, cells))
        for prog in re.split(r",\s*", cells[0]):
            rows[prog] = (row["runs as"], row["chroot"], row["seccomp"], row["reaches"])
    return rows


def seccomp_cell(d):
    """What SECURITY.md's seccomp column says for a declaration."""
    calls = d.get("seccomp", [])
    if calls == ["off"]:
        return "no"
    return "common + " + " ".join(calls) if calls else "common"


class Declarations(unittest.TestCase):

    def test_every_daemon_declares(self):
        for name in daemons():
            d = declaration(name)
            self.assertEqual(d.get("postern-daemon"), name, d)
            self.assertIn(d.get("user"), ("root", "mail_owner"), d)
            self.assertIn(d.get("chroot"), ("may", "must", "never"), d)
            self.assertTrue(COMMON <= set(d["params"]), d)

    def test_filtered_daemons(self):
        """Every daemon but local declares a seccomp filter (lib/svc/sandbox.h);
        local forks children that become users and run their commands."""
        for name in daemons():
            if name == "local":
                self.assertEqual(declaration(name).get("seccomp"), ["off"], name)
            else:
                self.assertNotEqual(declaration(name).get("seccomp"), ["off"], name)

    def test_code_reads_only_declared_parameters(self):
        """A parameter read in the daemon's own directory is declared."""
        for name in daemons():
            declared = declaration(name)["params"]
            read = set()
            for path in glob.glob(os.path.join(TOP, name, "*.c")):
                with open(path) as f:
                    read |= set(re.findall(r"cfg->([a-z][a-zA-Z0-9_]*)", f.read()))
            missing = sorted(p for p in read if not matches(declared, p))
            self.assertEqual(missing, [], "%s reads parameters its server_ops do not "
                             "declare (add them to .params)" % name)

    def test_security_md_privilege_map(self):
        rows = privilege_rows()
        for name in daemons():
            d = declaration(name)
            self.assertIn(name, rows, "SECURITY.md's privilege map has no row for %s" % name)
            runs_as, chroot, seccomp, reaches = rows[name]
            want_user = "root" if d["user"] == "root" else "mail_owner"
            self.assertTrue(runs_as.startswith(want_user),
                            "%s: SECURITY.md says it runs as %r, it declares %s"
                            % (name, runs_as, d["user"]))
            if d["chroot"] == "must":
                self.assertEqual(chroot, "queue directory", name)
            elif d["chroot"] == "never":
                self.assertTrue(chroot.startswith("no"), name)
            self.assertEqual(seccomp, seccomp_cell(d), "%s: SECURITY.md's seccomp column "
                             "says %r, its server_ops .syscalls say %r"
                             % (name, seccomp, seccomp_cell(d)))
            for t in d["talks"]:
                if "*" not in t and not t.startswith("$"):
                    self.assertIn(t, reaches, "%s talks to %s; SECURITY.md's privilege "
                                  "map does not say so" % (name, t))


class CheckRefuses(unittest.TestCase):
    """postern check (and so start and reload) holds master.cf against them."""

    CASES = [
        ("127.0.0.1:PORT inet n - n - 1 smtpd\n", "smtpd must run chrooted"),
        ("local unix - y n - - local\n", "local runs as root"),
        ("lookup unix - - y - 1 lookup\n", "lookup needs files outside"),
        ("cleanup unix - n y - 0 cleanup\n", "cleanup must not run as root"),
        ("127.0.0.1:PORT inet n - y - 1 smtpd -o cleanup_replace_stray_cr_lf=no\n",
         "-o cleanup_replace_stray_cr_lf: smtpd does not read that parameter"),
    ]

    def test_contradictions(self):
        inst = Instance(self)
        base = inst.master_cf()
        for line, want in self.CASES:
            name = line.split()[0]
            kept = [l for l in base.splitlines(True)
                    if not l.startswith(name.replace("PORT", "")) and not l.startswith("127.")]
            inst.write_master("".join(kept) + line)
            p = inst.postern("check", check=False)
            out = (p.stdout + p.stderr).decode()
            self.assertNotEqual(p.returncode, 0, "postern check took %r:\n%s" % (line, out))
            self.assertIn(want, out)
        # A parameter the daemon does read may be overridden.
        inst.write_master(base.replace(" smtpd\n", " smtpd -o smtpd_banner=$myhostname\n"))
        p = inst.postern("check", check=False)
        self.assertEqual(p.returncode, 0, (p.stdout + p.stderr).decode())


class SkeletonRefuses(unittest.TestCase):
    """A daemon started by hand outside its declaration does not run."""

    def run_daemon(self, inst, argv):
        r, w = os.pipe()
        try:
            # Descriptor 3 stands for the master's status pipe.
            p = subprocess.run(argv, capture_output=True, timeout=20, env={},
                               pass_fds=(w, 3), preexec_fn=lambda: os.dup2(w, 3))
        finally:
            os.close(r)
            os.close(w)
        return p.returncode, (p.stdout + p.stderr).decode()

    def test_outside_the_declaration(self):
        inst = Instance(self)
        smtpd = os.path.join(LIBEXEC, "smtpd")
        rc, out = self.run_daemon(inst, [smtpd, "-c", inst.etc, "-n", "smtpd", "-t",
                                         "inet", "-u", "-S"])
        self.assertNotEqual(rc, 0, out)
        self.assertIn("smtpd must be chrooted", out)
        rc, out = self.run_daemon(inst, [smtpd, "-c", inst.etc, "-n", "smtpd", "-t",
                                         "inet", "-u", "-z", "-S", "-o", "alias_maps=hash:/x"])
        self.assertNotEqual(rc, 0, out)
        self.assertIn("-o alias_maps: smtpd does not read that parameter", out)
        local = os.path.join(LIBEXEC, "local")
        rc, out = self.run_daemon(inst, [local, "-c", inst.etc, "-n", "local", "-t",
                                         "unix", "-u", "-S"])
        self.assertNotEqual(rc, 0, out)
        self.assertIn("local runs as root", out)
        # Started by root without -u (master.cf unpriv n), smtpd refuses.
        rc, out = self.run_daemon(inst, [smtpd, "-c", inst.etc, "-n", "smtpd", "-t",
                                         "inet", "-z", "-S"])
        self.assertNotEqual(rc, 0, out)
        self.assertIn("refusing to run as root", out)


if __name__ == "__main__":
    main()
