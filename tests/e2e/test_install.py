"""test_install - tools/install (what "make install" runs): commands,
daemons and sample configuration under DESTDIR with the chosen
directories, postdrop set-group-id, and an administrator's existing
configuration never overwritten.  The programs come from the build
directory the suite tests (POSTERN_BUILD), so nothing is rebuilt here.
"""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import BUILD, TOP, accounts_lock, main

COMMANDS = ["postern", "sendmail", "postdrop", "postqueue", "postsuper",
            "postmap", "postalias", "postcat", "postconf"]
DAEMONS = ["master", "smtpd", "cleanup", "lookup", "qmgr", "local", "pickup", "showq",
           "discard", "error"]


class InstallTest(unittest.TestCase):

    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="postern-install-")
        self.addCleanup(shutil.rmtree, self.dest, True)

    def install(self, prefix="/opt/pt"):
        p = subprocess.run([os.path.join(TOP, "tools", "install"), self.dest,
                            prefix + "/sbin", prefix + "/libexec/postern",
                            prefix + "/etc", BUILD],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out)
        return out

    def test_layout_modes_and_paths(self):
        self.install()
        root = os.path.join(self.dest, "opt/pt")
        for c in COMMANDS:
            st = os.stat(os.path.join(root, "sbin", c))
            self.assertTrue(st.st_mode & stat.S_IXOTH, c)
        for d in DAEMONS:
            st = os.stat(os.path.join(root, "libexec/postern", d))
            self.assertTrue(st.st_mode & stat.S_IXUSR, d)
        for link in ("mailq", "newaliases"):
            self.assertEqual(os.readlink(os.path.join(root, "sbin", link)), "sendmail")
        # postdrop is the one set-group-id program (group postdrop, which
        # the suite's instances have created by now, or created here).
        if subprocess.run(["getent", "group", "postdrop"],
                          stdout=subprocess.DEVNULL).returncode != 0:
            with accounts_lock():
                subprocess.run(["groupadd", "--system", "postdrop"], check=True)
            self.install()
        st = os.stat(os.path.join(root, "sbin", "postdrop"))
        self.assertTrue(st.st_mode & stat.S_ISGID, oct(st.st_mode))
        self.assertFalse(st.st_mode & stat.S_ISUID, oct(st.st_mode))
        for c in COMMANDS:
            if c != "postdrop":
                mode = os.stat(os.path.join(root, "sbin", c)).st_mode
                self.assertFalse(mode & (stat.S_ISGID | stat.S_ISUID), c)
        # The new main.cf names the chosen directories, and never DESTDIR.
        with open(os.path.join(root, "etc", "main.cf")) as f:
            cf = f.read()
        self.assertIn("\ndaemon_directory = /opt/pt/libexec/postern\n", cf)
        self.assertIn("\ncommand_directory = /opt/pt/sbin\n", cf)
        self.assertNotIn(self.dest, cf)
        self.assertTrue(os.path.exists(os.path.join(root, "etc", "master.cf")))

    def test_existing_configuration_is_kept(self):
        etc = os.path.join(self.dest, "opt/pt/etc")
        os.makedirs(etc)
        for name in ("main.cf", "master.cf"):
            with open(os.path.join(etc, name), "w") as f:
                f.write("# the administrator's own %s\n" % name)
        out = self.install()
        for name in ("main.cf", "master.cf"):
            with open(os.path.join(etc, name)) as f:
                self.assertEqual(f.read(), "# the administrator's own %s\n" % name)
            self.assertIn("kept the existing /opt/pt/etc/%s" % name, out)

    def test_manual_pages_and_unit(self):
        p = subprocess.run([os.path.join(TOP, "tools", "install"), self.dest,
                            "/opt/pt/sbin", "/opt/pt/libexec/postern", "/opt/pt/etc", BUILD,
                            "/opt/pt/share/man", "/opt/pt/lib/systemd/system"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        root = os.path.join(self.dest, "opt/pt")
        for page in ["man1/%s.1" % c for c in COMMANDS + ["mailq", "newaliases"]] + \
                ["man8/%s.8" % d for d in DAEMONS + ["postern"]] + \
                ["man5/postern.conf.5", "man5/master.5"]:
            path = os.path.join(root, "share/man", page)
            self.assertTrue(os.path.isfile(path), page)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o644, page)
        # man finds an installed page through its MANPATH.
        env = dict(os.environ, MANPATH=os.path.join(root, "share/man"), LC_ALL="C.UTF-8")
        q = subprocess.run(["man", "-P", "cat", "postqueue"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env)
        self.assertEqual(q.returncode, 0, q.stderr.decode())
        self.assertIn(b"postqueue - list the mail queue", q.stdout)
        with open(os.path.join(root, "lib/systemd/system/postern.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=/opt/pt/libexec/postern/master -c /opt/pt/etc\n", unit)
        self.assertIn("\nExecReload=/opt/pt/sbin/postern -c /opt/pt/etc reload\n", unit)
        self.assertIn("\nType=notify\n", unit)
        self.assertNotIn("@", unit.split("[Service]")[1].split("#")[0])
        self.assertNotIn(self.dest, unit)

    def test_set_permissions_makes_the_queue(self):
        etc = os.path.join(self.dest, "etc")
        os.makedirs(etc)
        shutil.copy(os.path.join(TOP, "conf", "master.cf"), etc)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write("queue_directory = %s/spool\ndata_directory = %s/lib\n"
                    "daemon_directory = %s/libexec\ncommand_directory = %s/bin\n"
                    "alias_maps =\nalias_database =\n"
                    % (self.dest, self.dest, BUILD, BUILD))
        postern = os.path.join(BUILD, "bin", "postern")
        p = subprocess.run([postern, "-c", etc, "check"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertNotEqual(p.returncode, 0, p.stdout.decode())
        with accounts_lock():
            p = subprocess.run([postern, "-c", etc, "set-permissions"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        st = os.stat(os.path.join(self.dest, "spool", "maildrop"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o1730)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.dest, "lib")).st_mode), 0o700)
        p = subprocess.run([postern, "-c", etc, "check"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        # Twice is the same as once.
        with accounts_lock():
            p = subprocess.run([postern, "-c", etc, "set-permissions"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode())

    def test_relative_directory_is_refused(self):
        p = subprocess.run([os.path.join(TOP, "tools", "install"), self.dest,
                            "sbin", "/opt/pt/libexec", "/opt/pt/etc", BUILD],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 64, p.stdout)
        self.assertIn(b"sbin is not an absolute path", p.stdout)
        self.assertEqual(os.listdir(self.dest), [])


if __name__ == "__main__":
    main()
