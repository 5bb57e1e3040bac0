"""The documents stay true to the code: README's parameter table matches
lib/svc/params.def, README names every lib module, command and daemon, and
every parameter SECURITY.md or README.md mentions exists.  No instance is
needed; these tests fail when code and documents drift apart."""

import os
import re
import subprocess
import unittest

from harness import TOP, main


def read(*path):
    with open(os.path.join(TOP, *path)) as f:
        return f.read()


def param_names():
    return set(re.findall(r"^PARAM_[A-Z]+\((\w+),", read("lib", "svc", "params.def"), re.M))


class DocsTest(unittest.TestCase):

    def test_parameter_table_is_current(self):
        p = subprocess.run([os.path.join(TOP, "tools", "params-doc"), "--check"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr.decode())

    def test_every_parameter_documented(self):
        readme = read("README.md")
        for name in param_names():
            self.assertIn("`%s`" % name, readme, name)

    def test_every_lib_module_named(self):
        readme = read("README.md")
        table = readme.split("### lib/ modules", 1)[1].split("\n## ", 1)[0]
        named = set()
        for row in table.splitlines():
            if row.startswith("| ") and not row.startswith("| module"):
                named.update(m.strip() for m in row.split("|")[1].split(","))
        modules = {f[:-2] for layer in os.listdir(os.path.join(TOP, "lib"))
                   if os.path.isdir(os.path.join(TOP, "lib", layer))
                   for f in os.listdir(os.path.join(TOP, "lib", layer)) if f.endswith(".c")}
        self.assertEqual(sorted(modules - named), [], "lib modules missing from README")
        self.assertEqual(sorted(named - modules - {"params", "master_proto"}), [],
                         "README names lib modules that do not exist")

    def test_every_command_and_daemon_named(self):
        readme = read("README.md")
        for f in os.listdir(os.path.join(TOP, "cmd")):
            m = re.match(r"^([a-z]+)\.c$", f)
            if m:
                self.assertIn("`%s" % m.group(1), readme, m.group(1))
        for d in ("master", "smtpd", "cleanup", "lookup", "qmgr", "local", "pickup", "showq",
                  "discard", "error", "anvil"):
            self.assertIn("%s/" % d, readme, d)

    def test_parameters_named_in_security_exist(self):
        names = param_names()
        bounds = read("SECURITY.md").split("## Bounds", 1)[1].split("\n## ", 1)[0]
        rows = re.findall(r"^\| ([a-z_0-9, /+]+) \|", bounds, re.M)
        self.assertGreater(len(rows), 10)
        for row in rows:
            for word in re.split(r"[ ,/+]+", row):
                if "_" in word:
                    self.assertIn(word, names, "SECURITY.md names unknown parameter %s" % word)

    def test_readme_gives_the_two_commands_first(self):
        head = read("README.md").split("\n## ", 1)[0]
        self.assertIn("make run", head)
        self.assertIn("make test", head)


if __name__ == "__main__":
    main()
