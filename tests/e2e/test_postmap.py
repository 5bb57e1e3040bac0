"""test_postmap - postmap and postalias as an administrator uses them.

No instance is needed: the commands work on files in a scratch
directory.  Checked: building and querying, exit codes, messages that
name the file and line, atomic replacement (a failed build leaves the
old table), ownership when root builds a user's table, a DB_CONFIG in
the working directory being ignored, and no configuration needed.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTERN_BUILD", os.path.join(TOP, "build"))
POSTMAP = os.path.join(BUILD, "bin", "postmap")
POSTALIAS = os.path.join(BUILD, "bin", "postalias")


class PostmapTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="postmap_e2e.")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text, mode=0o644):
        with open(self.path(name), "w") as f:
            f.write(text)
        os.chmod(self.path(name), mode)

    def run_cmd(self, argv, stdin=None):
        p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=self.dir, timeout=60,
                           env={"PATH": "/usr/bin:/bin"})
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_build_and_query(self):
        self.write("transport", "# transport\nExample.COM smtp:[mx.example.com]\n"
                   "other.org  local:\n")
        spec = "hash:" + self.path("transport")
        rc, out, err = self.run_cmd([POSTMAP, spec])
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.exists(self.path("transport.db")))
        rc, out, err = self.run_cmd([POSTMAP, "-q", "example.com", spec])
        self.assertEqual((rc, out), (0, "smtp:[mx.example.com]\n"), err)
        rc, out, err = self.run_cmd([POSTMAP, "-q", "EXAMPLE.com", spec])
        self.assertEqual((rc, out), (0, "smtp:[mx.example.com]\n"), err)
        rc, out, err = self.run_cmd([POSTMAP, "-q", "nowhere", spec])
        self.assertEqual((rc, out), (1, ""))
        # -q -: key<TAB>value for each key found; later tables answer too.
        rc, out, err = self.run_cmd([POSTMAP, "-q", "-", spec, "static:dflt"],
                                    stdin=b"other.org\nmissing\n\n")
        self.assertEqual((rc, out), (0, "other.org\tlocal:\nmissing\tdflt\n"), err)
        rc, out, err = self.run_cmd([POSTMAP, "-q", "-", spec], stdin=b"a\nb\n")
        self.assertEqual((rc, out), (1, ""))

    def test_no_type_is_refused(self):
        self.write("t", "a b\n")
        for cmd in (POSTMAP, POSTALIAS):
            rc, out, err = self.run_cmd([cmd, self.path("t")])
            self.assertEqual(rc, 64)
            self.assertIn("has no type: write hash:" + self.path("t"), err)
            rc, out, err = self.run_cmd([cmd, "-q", "a", "t"])
            self.assertEqual(rc, 64)
            self.assertIn("table 't' has no type: write hash:t", err)
        self.assertFalse(os.path.exists(self.path("t.db")))

    def test_usage(self):
        rc, out, err = self.run_cmd([POSTMAP])
        self.assertEqual(rc, 64)
        self.assertIn("usage: postmap", err)
        rc, out, err = self.run_cmd([POSTALIAS, "-x", "hash:a"])
        self.assertEqual(rc, 64)
        self.assertIn("unknown option -x", err)

    def test_malformed_source_keeps_old_table(self):
        spec = "btree:" + self.path("m")
        self.write("m", "key old\n")
        self.assertEqual(self.run_cmd([POSTMAP, spec])[0], 0)
        ino = os.stat(self.path("m.db")).st_ino
        self.write("m", "key new\n\nnovalue\n")
        rc, out, err = self.run_cmd([POSTMAP, spec])
        self.assertEqual(rc, 65)
        self.assertIn(self.path("m") + ", line 3: 'novalue' has no value", err)
        self.assertEqual(os.stat(self.path("m.db")).st_ino, ino)
        rc, out, err = self.run_cmd([POSTMAP, "-q", "key", spec])
        self.assertEqual((rc, out), (0, "old\n"))
        self.assertEqual(sorted(os.listdir(self.dir)), ["m", "m.db"])

    def test_missing_files(self):
        rc, out, err = self.run_cmd([POSTMAP, "hash:" + self.path("none")])
        self.assertEqual(rc, 66)
        self.assertIn("none", err)
        rc, out, err = self.run_cmd([POSTMAP, "-q", "x", "hash:" + self.path("none")])
        self.assertEqual(rc, 66)
        self.assertIn("does not exist", err)

    def test_postalias(self):
        self.write("aliases", "postmaster: root\nStaff: alice,\n   bob\n"
                   "\"two words\": carol\n")
        spec = "hash:" + self.path("aliases")
        rc, out, err = self.run_cmd([POSTALIAS, spec])
        self.assertEqual(rc, 0, err)
        rc, out, err = self.run_cmd([POSTALIAS, "-q", "staff", spec])
        self.assertEqual((rc, out), (0, "alice, bob\n"))
        rc, out, err = self.run_cmd([POSTALIAS, "-q", "two words", spec])
        self.assertEqual((rc, out), (0, "carol\n"))
        self.write("aliases", "root admin\n")
        rc, out, err = self.run_cmd([POSTALIAS, spec])
        self.assertEqual(rc, 65)
        self.assertIn("line 1: 'root admin' has no ':'", err)

    def test_duplicate_warns_and_keeps_first(self):
        self.write("d", "k first\nK second\n")
        rc, out, err = self.run_cmd([POSTMAP, "hash:" + self.path("d")])
        self.assertEqual(rc, 0, err)
        self.assertIn(self.path("d") + ", line 2: duplicate key 'k'", err)
        rc, out, err = self.run_cmd([POSTMAP, "-q", "k", "hash:" + self.path("d")])
        self.assertEqual(out, "first\n")

    def test_db_config_in_cwd_ignored(self):
        self.write("DB_CONFIG", "set_data_dir /nonexistent\ngarbage here\n")
        self.write("t", "a b\n")
        rc, out, err = self.run_cmd([POSTMAP, "hash:t"])
        self.assertEqual(rc, 0, err)
        rc, out, err = self.run_cmd([POSTMAP, "-q", "a", "hash:t"])
        self.assertEqual((rc, out), (0, "b\n"), err)

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_root_builds_user_table_as_user(self):
        os.chmod(self.dir, 0o777)
        self.write("u", "a b\n", mode=0o600)
        os.chown(self.path("u"), 65534, 65534)
        rc, out, err = self.run_cmd([POSTMAP, "hash:" + self.path("u")])
        self.assertEqual(rc, 0, err)
        st = os.stat(self.path("u.db"))
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777),
                         (65534, 65534, 0o600))

    def test_config_only_with_c(self):
        self.write("t", "a b\n")
        rc, out, err = self.run_cmd([POSTMAP, "-c", self.path("noconf"), "hash:t"])
        self.assertEqual(rc, 78)
        self.assertIn("main.cf", err)
        os.mkdir(self.path("etc"))
        self.write("etc/main.cf", "syslog_name = custom\n")
        rc, out, err = self.run_cmd([POSTMAP, "-c", self.path("etc"), "-v", "hash:t"])
        self.assertEqual(rc, 0, err)
        self.assertIn("custom/postmap", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
