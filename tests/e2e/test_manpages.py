"""The manual stays true to the code: tools/mangen makes a page for every
program the Makefile builds (DAEMONS, COMMANDS) and the suite, main.cf and
master.cf pages; each renders with groff -ww and man -l without a
warning; postern.conf(5) has every parameter of lib/svc/params.def with its
default; every option a program's getopt() accepts is in its page; every
parameter a page lists under CONFIGURATION PARAMETERS exists.  No
instance is needed."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import TOP, main

ENV = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")


def make_names():
    out = subprocess.run(["make", "-s", "-C", TOP, "names"], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    names = {}
    for line in out.splitlines():
        k, _, v = line.partition(" = ")
        names[k] = v.split()
    return names["DAEMONS"], names["COMMANDS"]


def read(path):
    with open(path) as f:
        return f.read()


def param_names():
    return re.findall(r"^PARAM_[A-Z]+\((\w+),", read(os.path.join(TOP, "lib", "svc", "params.def")), re.M)


def rendered(path):
    p = subprocess.run(["man", "-l", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=ENV, cwd=os.path.dirname(os.path.dirname(path)))
    return p


def options_of(program):
    """Option letters a program accepts, from its getopt() strings (and
    sendmail's option switch)."""
    files = []
    if os.path.exists(os.path.join(TOP, program, program + ".c")):
        files.append(os.path.join(TOP, program, program + ".c"))
    cmd = os.path.join(TOP, "cmd")
    files += [os.path.join(cmd, f) for f in os.listdir(cmd)
              if re.match(r"^%s(_\w+)?\.c$" % program, f)]
    if program in ("postmap", "postalias"):
        files.append(os.path.join(TOP, "lib", "svc", "table_cmd.c"))
    letters = set()
    for f in files:
        text = read(f)
        for s in re.findall(r'getopt\(argc, argv, "([^"]*)"\)', text):
            letters.update(c for c in s if c.isalnum())
        if program == "sendmail":
            letters.update(re.findall(r"case '([A-Za-z])':", text))
    return letters


class ManPagesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.daemons, cls.commands = make_names()
        cls.dir = tempfile.mkdtemp(prefix="postern-man-")
        p = subprocess.run([os.path.join(TOP, "tools", "mangen"), "-o", cls.dir,
                            "--daemons", " ".join(cls.daemons),
                            "--commands", " ".join(cls.commands)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise AssertionError("tools/mangen failed: %s" % p.stderr.decode())
        cls.pages = sorted(os.path.join(cls.dir, l) for l in p.stdout.decode().split())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, True)

    def page(self, name, section):
        return os.path.join(self.dir, "man%s" % section[0], "%s.%s" % (name, section))

    def text(self, name, section):
        p = rendered(self.page(name, section))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p.stdout.decode()

    def test_a_page_for_every_program(self):
        self.assertIn("smtpd", self.daemons)
        self.assertIn("sendmail", self.commands)
        want = [self.page(d, "8") for d in self.daemons]
        want += [self.page(c, "1") for c in self.commands]
        want += [self.page("mailq", "1"), self.page("newaliases", "1"),
                 self.page("postern", "8"), self.page("postern.conf", "5"),
                 self.page("master", "5")]
        for w in want:
            self.assertTrue(os.path.exists(w), w)
        self.assertEqual(sorted(set(want)), self.pages)
        # The suite page names every program.
        suite = self.text("postern", "8")
        for prog in self.daemons + self.commands:
            self.assertRegex(suite, r"\b%s\(\d\)" % prog)

    def test_render_without_warnings(self):
        for path in self.pages:
            text = read(path)
            if text.startswith(".so "):
                target = os.path.join(self.dir, text.split()[1])
                self.assertTrue(os.path.exists(target), "%s: .so %s" % (path, target))
                continue
            p = subprocess.run(["groff", "-ww", "-man", "-Tutf8", "-z", path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
            self.assertEqual((p.returncode, p.stderr.decode()), (0, ""), path)
            p = rendered(path)
            self.assertEqual((p.returncode, p.stderr.decode()), (0, ""), path)
            out = p.stdout.decode()
            for sec in ("NAME", "DESCRIPTION", "SEE ALSO"):
                self.assertRegex(out, r"(?m)^%s$" % sec, path)

    def test_every_parameter_in_postern_conf(self):
        text = re.sub(r"\s+", " ", self.text("postern.conf", "5"))
        for line in read(os.path.join(TOP, "lib", "svc", "params.def")).splitlines():
            m = re.match(r'^PARAM_[A-Z]+\((\w+), "((?:[^"\\]|\\.)*)"', line)
            if not m:
                continue
            name, default = m.groups()
            self.assertIn(" %s " % name, text, name)
            if default and not default.startswith("@"):
                self.assertIn("(default: %s)" % default.replace('\\"', '"'), text, name)

    def test_every_option_in_its_page(self):
        for prog in self.commands + self.daemons:
            section = "1" if prog in self.commands else "8"
            text = self.text(prog, section)
            letters = options_of(prog)
            if prog in self.daemons:
                letters |= set(c for c in re.findall(
                    r'getopt\(argc, argv, "([^"]*)"\)',
                    read(os.path.join(TOP, "lib", "svc", "server.c")))[0] if c.isalnum())
            self.assertTrue(letters or prog in ("showq",), prog)
            for c in sorted(letters):
                self.assertRegex(text, r"(?<![\w-])-%s" % c, "%s: option -%s missing" % (prog, c))

    def test_listed_parameters_exist(self):
        names = set(param_names())
        for prog in self.commands + self.daemons:
            src = os.path.join(TOP, "cmd", prog + ".c")
            if not os.path.exists(src):
                src = os.path.join(TOP, prog, prog + ".c")
            head = read(src).split("*/", 1)[0]
            m = re.search(r"\n \* CONFIGURATION PARAMETERS\n(.*?)(?=\n \* [A-Z][A-Z ]+\n|$)",
                          head, re.S)
            if not m:
                continue
            listed = set(re.findall(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b", m.group(1)))
            page = self.text(prog, "1" if prog in self.commands else "8")
            for p in listed & names:
                self.assertRegex(page, r"(?m)^ +%s$" % p, "%s: %s" % (prog, p))
            unknown = {p for p in listed - names
                       if p.endswith(("_limit", "_time", "_maps", "_directory", "_file"))}
            self.assertEqual(unknown, set(), "%s names parameters params.def lacks" % prog)


if __name__ == "__main__":
    main()
