"""The Debian package, installed for real: `make deb`'s package (built here
by tools/mkdeb, with lintian) goes into a clean Debian 12 system that runs
exim4, with `apt-get install ./postern_*.deb`; it must replace exim4,
deliver `echo hi | mail -s t root` to root's mailbox, keep the queue on
remove and leave nothing on purge.

The Debian 12 system is a chroot made by debootstrap, run in its own
mount, network and PID namespaces (so its port 25 and its processes are
its own, and everything in it dies with the namespace).  systemd cannot
run as init there, so the test checks what the package did for systemd
(postern.service installed and enabled, as deb-systemd-helper records
it) and then starts the suite the way the unit's ExecStart would run
outside systemd: `postern start`, which returns when the suite is ready
(the moment the master tells systemd READY=1, test_logrotate).

Cost: the package build (compile and lintian) takes about a minute on 2
cores.  The Debian 12 base system (debootstrap --variant=minbase plus
exim4, bsd-mailx, man-db and postern's libraries, from the Debian mirror
this machine's apt uses) takes about 3 minutes to make, so it is made
once per machine and kept as a tarball under POSTERN_DEB_CACHE (default
/var/cache/postern-test), remade after 14 days or when its package list
changes; each run unpacks it afresh (seconds) and installs from the local
file only (the chroot's network namespace has loopback only).  This file
is slow: about 2 minutes with the cached base, 5 without; it runs beside
the other end-to-end files.  "make deb-test" runs it alone.
"""

import fcntl
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import TOP, main, wait_for

SUITE = "bookworm"
BASE_PACKAGES = ["exim4", "exim4-daemon-light", "bsd-mailx", "adduser", "man-db",
                 "libc-ares2", "libdb5.3", "libssl3", "procps"]
CACHE = os.environ.get("POSTERN_DEB_CACHE", "/var/cache/postern-test")
MAX_AGE = 14 * 86400


def sh(argv, timeout=600, check=True, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, **kw)
    out = p.stdout.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(argv), p.returncode, out[-6000:]))
    return p.returncode, out


def debian_mirror():
    """The Debian archive this machine's apt uses (deb822 or one-line)."""
    files = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for f in files:
        with open(f) as fh:
            for stanza in fh.read().split("\n\n"):
                fields = dict(re.findall(r"(?m)^(\w[\w-]*):\s*(.*)$", stanza))
                if SUITE in fields.get("Suites", "").split() and "URIs" in fields:
                    return fields["URIs"].split()[0]
    for f in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(f) as fh:
                for line in fh:
                    m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+%s\s" % SUITE, line)
                    if m:
                        return m.group(1)
        except OSError:
            pass
    raise AssertionError("no apt source for Debian %s on this machine: debootstrap "
                         "needs a mirror" % SUITE)


def base_path():
    key = hashlib.sha256(("%s %s %s" % (SUITE, " ".join(BASE_PACKAGES), debian_mirror()))
                         .encode()).hexdigest()[:12]
    return os.path.join(CACHE, "%s-exim4-%s.tar.gz" % (SUITE, key))


def base_fresh(path):
    return os.path.exists(path) and time.time() - os.stat(path).st_mtime < MAX_AGE


def base_tarball():
    """The cached Debian 12 + exim4 system, made when missing or stale."""
    mirror = debian_mirror()
    path = base_path()
    os.makedirs(CACHE, mode=0o700, exist_ok=True)
    with open(os.path.join(CACHE, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if base_fresh(path):
            return path
        for old in glob.glob(os.path.join(CACHE, "%s-exim4-*.tar.gz" % SUITE)):
            os.unlink(old)
        root = tempfile.mkdtemp(prefix="base-", dir=CACHE)
        os.chmod(root, 0o755)        # the chroot's "/": its users must get through
        try:
            sh(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
                SUITE, root, mirror], timeout=1500)
            # Services are never started by package scripts in here.
            with open(os.path.join(root, "usr/sbin/policy-rc.d"), "w") as f:
                f.write("#!/bin/sh\nexit 101\n")
            os.chmod(os.path.join(root, "usr/sbin/policy-rc.d"), 0o755)
            sh(["chroot", root, "apt-get", "clean"])
            sh(["tar", "-C", root, "-czf", path + ".tmp", "."], timeout=600)
            os.rename(path + ".tmp", path)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return path


# PID 1 of the namespace: reaps the processes that daemons leave to it (the
# master, after "postern start" returns), as init does.
REAPER = ("import os, time\n"
          "while True:\n"
          "    try:\n"
          "        os.wait()\n"
          "    except ChildProcessError:\n"
          "        time.sleep(0.2)\n")


class DebTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="postern-deb-")
        # The package, as "make deb" builds it (lintian included).
        rc, out = sh([os.path.join(TOP, "tools", "mkdeb"), os.path.join(cls.work, "out")],
                     timeout=1200, check=False)
        if rc != 0:
            shutil.rmtree(cls.work, True)
            raise AssertionError("tools/mkdeb failed:\n" + out[-6000:])
        cls.mkdeb_out = out
        cls.deb = glob.glob(os.path.join(cls.work, "out", "postern_*.deb"))[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, True)

    def test_package_contents(self):
        """What the .deb says and holds, without installing it."""
        self.assertIn("lintian: no errors", self.mkdeb_out)
        rc, info = sh(["dpkg-deb", "--field", self.deb])
        fields = dict(re.findall(r"(?m)^([\w-]+): (.*)$", info))
        self.assertEqual(fields["Package"], "postern")
        self.assertEqual(fields["Provides"], "mail-transport-agent")
        self.assertEqual(fields["Conflicts"], "mail-transport-agent")
        self.assertEqual(fields["Replaces"], "mail-transport-agent")
        rc, files = sh(["dpkg-deb", "-c", self.deb])
        names = {l.split()[5].lstrip(".") for l in files.splitlines()}
        # Every program the Makefile builds, where Debian's MTAs keep them.
        out = subprocess.run(["make", "-s", "-C", TOP, "names"], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        lists = dict(l.split(" = ", 1) for l in out.splitlines())
        for d in lists["DAEMONS"].split():
            self.assertIn("/usr/lib/postern/%s" % d, names)
            self.assertIn("/usr/share/man/man8/%s.8.gz" % d, names)
        for c in lists["COMMANDS"].split():
            self.assertIn("/usr/sbin/%s" % c, names)
            self.assertIn("/usr/share/man/man1/%s.1.gz" % c, names)
        for f in ("/usr/bin/mailq", "/usr/bin/newaliases", "/usr/lib/sendmail",
                  "/lib/systemd/system/postern.service", "/etc/postern/main.cf",
                  "/etc/postern/master.cf", "/etc/logrotate.d/postern",
                  "/etc/fail2ban/filter.d/postern.conf",
                  "/etc/fail2ban/filter.d/postern-sasl.conf",
                  "/etc/fail2ban/jail.d/postern.conf", "/usr/share/man/man5/postern.conf.5.gz",
                  "/usr/share/man/man8/postern.8.gz"):
            self.assertIn(f, names)
        ctl = os.path.join(self.work, "control")
        sh(["dpkg-deb", "-e", self.deb, ctl])
        with open(os.path.join(ctl, "conffiles")) as f:
            conffiles = f.read().split()
        self.assertIn("/etc/postern/main.cf", conffiles)
        self.assertIn("/etc/postern/master.cf", conffiles)
        for script in ("config", "postinst", "prerm", "postrm"):
            sh(["sh", "-n", os.path.join(ctl, script)])
        with open(os.path.join(ctl, "templates")) as f:
            self.assertIn("Template: postern/mailname", f.read())
        # The package's main.cf: the mail name from /etc/mailname, syslog.
        ext = os.path.join(self.work, "x")
        sh(["dpkg-deb", "-x", self.deb, ext])
        with open(os.path.join(ext, "etc/postern/main.cf")) as f:
            cf = f.read()
        self.assertIn("\nmyorigin = /etc/mailname\n", cf)
        self.assertIn("\ndaemon_directory = /usr/lib/postern\n", cf)
        self.assertNotRegex(cf, r"(?m)^maillog_file")
        with open(os.path.join(ext, "lib/systemd/system/postern.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=/usr/lib/postern/master -c /etc/postern\n", unit)
        # systemd reads the unit as the package installs it, with no complaint
        # (it runs as init nowhere here, so this is what can be checked).
        rc, out = sh(["systemd-analyze", "verify", "--man=no", "--recursive-errors=no",
                      "--root=" + ext, "/lib/systemd/system/postern.service"], check=False)
        self.assertEqual((rc, out.strip()), (0, ""), out)

    def setUp(self):
        if self._testMethodName == "test_package_contents":
            return
        self.tarball = base_tarball()
        self.root = os.path.join(self.work, "root")
        os.mkdir(self.root)
        sh(["tar", "-C", self.root, "-xzf", self.tarball], timeout=600)
        shutil.copy(self.deb, os.path.join(self.root, "tmp"))
        r = self.root
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "sh", "-c",
             "ip link set lo up && mount --rbind /dev %s/dev && mount -t proc proc %s/proc "
             "&& mount -t tmpfs tmpfs %s/run && echo ready && exec python3 -c \"%s\""
             % (r, r, r, REAPER)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        line = self.holder.stdout.readline().decode()
        if line.strip() != "ready":
            self.holder.kill()
            self.fail("the namespace did not come up: %s%s"
                      % (line, self.holder.stdout.read().decode(errors="replace")))
        self.addCleanup(self.teardown_root)

    def teardown_root(self):
        # The namespace's PID 1 goes, and every process and mount with it.
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        wait_for(lambda: not self.mounted(), 10, what="the chroot's mounts to go")
        shutil.rmtree(self.root, ignore_errors=True)

    def mounted(self):
        with open("/proc/self/mounts") as f:
            return self.root in f.read()

    def run_in(self, command, check=True, timeout=300):
        """A shell command inside the Debian 12 system."""
        pid = self.holder.pid
        # unshare --fork: the namespace's processes are the holder's children.
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            inner = int(f.read().split()[0])
        return sh(["nsenter", "-t", str(inner), "-m", "-n", "-p", "--", "chroot", self.root,
                   "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                   "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8", "HOSTNAME=debtest",
                   "sh", "-c", command], timeout=timeout, check=check)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def status(self, pkg):
        rc, out = self.run_in("dpkg-query -W -f='${Status}' %s 2>/dev/null" % pkg, check=False)
        return out.strip()

    def test_install_replaces_exim4_delivers_removes_purges(self):
        self.assertEqual(self.status("exim4-daemon-light"), "install ok installed")
        deb = "/tmp/" + os.path.basename(self.deb)

        # Install: apt takes the MTA's place, asking nothing.
        rc, out = self.run_in("apt-get install -y -o Dpkg::Options::=--force-unsafe-io "
                              "%s" % deb, timeout=600)
        self.assertEqual(self.status("postern"), "install ok installed", out)
        self.assertNotEqual(self.status("exim4-daemon-light"), "install ok installed", out)
        self.assertRegex(out, r"(?s)REMOVED:.*exim4-daemon-light", out)
        self.assertIn("install ok installed", self.status("bsd-mailx"))

        # What the package put where.
        self.assertTrue(os.path.samefile(self.path("/usr/sbin/sendmail"),
                                         self.path("/usr/lib/postern/../../sbin/sendmail")))
        for link in ("/usr/bin/mailq", "/usr/bin/newaliases", "/usr/lib/sendmail"):
            self.assertEqual(os.readlink(self.path(link)).split("/")[-1], "sendmail", link)
        rc, out = self.run_in("dpkg-query -W -f='${Conffiles}' postern")
        for conf in ("/etc/postern/main.cf", "/etc/postern/master.cf",
                     "/etc/logrotate.d/postern", "/etc/fail2ban/filter.d/postern.conf",
                     "/etc/fail2ban/jail.d/postern.conf"):
            self.assertIn(" %s " % conf, out)
        st = os.stat(self.path("/usr/sbin/postdrop"))
        self.assertEqual(oct(st.st_mode & 0o7777), oct(0o2755))
        rc, out = self.run_in("getent group postdrop; getent passwd postern; "
                              "stat -c '%U:%G %a' /var/spool/postern/maildrop; cat /etc/mailname; "
                              "dpkg-statoverride --list /usr/sbin/postdrop")
        self.assertRegex(out, r"(?m)^postdrop:")
        self.assertRegex(out, r"(?m)^postern:")
        self.assertIn("postern:postdrop 1730", out)
        self.assertIn("root postdrop 2755 /usr/sbin/postdrop", out)
        # systemd: the unit is installed and enabled for the next boot
        # (deb-systemd-helper's link, as systemctl enable makes it).
        self.assertEqual(os.readlink(self.path(
            "/etc/systemd/system/multi-user.target.wants/postern.service")),
            "/lib/systemd/system/postern.service")
        rc, out = self.run_in("man -w postqueue; postern check")
        self.assertIn("/usr/share/man/man1/postqueue.1.gz", out)

        # Start as the unit would, and deliver local mail.
        rc, out = self.run_in("postern start")
        self.assertIn("started", out)
        rc, out = self.run_in("postern status")
        for role in ("master", "smtpd", "qmgr", "pickup"):
            self.assertRegex(out, r"(?m)^%s\s" % role, out)
        self.run_in("echo hi | mail -s t root")
        box = self.path("/var/mail/root")

        def delivered():
            try:
                with open(box, errors="replace") as f:
                    text = f.read()
            except OSError:
                return False
            return "Subject: t" in text and "\nhi\n" in text

        try:
            wait_for(delivered, 30, what="the message in /var/mail/root")
        except AssertionError:
            rc, q = self.run_in("mailq; ls -lR /var/spool/postern | head -50", check=False)
            raise AssertionError("not delivered; queue:\n%s" % q)
        rc, out = self.run_in("mailq")
        self.assertIn("Mail queue is empty", out)
        self.run_in("postern reload")

        # Remove: the suite is stopped, the queue and configuration stay.
        rc, out = self.run_in("apt-get remove -y postern", timeout=300)
        self.assertNotEqual(self.status("postern"), "install ok installed", out)
        rc, ps = self.run_in("ps -eo comm=")
        for prog in ("master", "smtpd", "qmgr", "pickup"):
            self.assertNotRegex(ps, r"(?m)^%s$" % prog, ps)
        self.assertTrue(os.path.isdir(self.path("/var/spool/postern/maildrop")))
        self.assertTrue(os.path.exists(self.path("/etc/postern/main.cf")))

        # Purge: nothing of postern is left.
        rc, out = self.run_in("apt-get purge -y postern", timeout=300)
        self.assertEqual(self.status("postern"), "", out)
        for gone in ("/var/spool/postern", "/var/lib/postern", "/etc/postern",
                     "/etc/logrotate.d/postern", "/usr/sbin/sendmail",
                     "/lib/systemd/system/postern.service"):
            self.assertFalse(os.path.lexists(self.path(gone)), gone)
        rc, out = self.run_in("dpkg-statoverride --list /usr/sbin/postdrop", check=False)
        self.assertEqual(out.strip(), "")
        rc, out = self.run_in("echo get postern/mailname | debconf-communicate", check=False)
        self.assertFalse(out.startswith("0 "), out)


if __name__ == "__main__":
    main()
