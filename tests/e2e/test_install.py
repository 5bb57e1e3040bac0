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
DAEMONS = ["master", "smtpd", "cleanup", "lookup", "qmgr", "local", "pickup", "showq"]


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

    def test_relative_directory_is_refused(self):
        p = subprocess.run([os.path.join(TOP, "tools", "install"), self.dest,
                            "sbin", "/opt/pt/libexec", "/opt/pt/etc", BUILD],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(p.returncode, 64, p.stdout)
        self.assertIn(b"sbin is not an absolute path", p.stdout)
        self.assertEqual(os.listdir(self.dest), [])


if __name__ == "__main__":
    main()
