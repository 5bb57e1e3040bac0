"""harness - start real postern instances for end-to-end tests.

Every test gets its own instance, made by `postern init` in a fresh
temporary directory, with SMTP on a free loopback port.  The instance runs
as in production: master as root, every daemon chrooted and unprivileged.
Everything started is stopped again (postern stop, then abort, then SIGKILL
of any process left that belongs to the instance), temporary users are
deleted and the directory is removed.  When a test fails, the tail of the
instance's mail log is printed.

Every daemon that declares a seccomp filter runs under it in every test.
A process killed for a forbidden system call fails the test that owned
the instance (cleanup() raises with the master's log lines), unless the
test set allow_seccomp_kills (only test_seccomp, which makes them).  In
a build with AddressSanitizer and UBSan (make asan) a daemon's reports
go to the instance's log (lib/svc/server.c), and a report there fails
the test the same way, unless it set allow_sanitizer_reports.
"""

import contextlib
import fcntl
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import string
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTERN_BUILD", os.path.join(TOP, "build"))
BIN = os.path.join(BUILD, "bin")
LIBEXEC = os.path.join(BUILD, "libexec")
TESTLIBEXEC = os.path.join(BUILD, "tests", "libexec")


def sanitized_build():
    """True when the daemons are built with AddressSanitizer (make asan)."""
    try:
        with open(os.path.join(LIBEXEC, "smtpd"), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def free_port():
    """A TCP port on 127.0.0.1 that nothing uses right now, below the
    kernel's ephemeral range.  Ports in that range are what the kernel
    gives every outgoing connection (and bind(0)): with test files
    running side by side, one of their many client connections could
    take the port between this call and the bind of the instance that
    uses it (postern start: address in use)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for _ in range(1000):
        port = random.randint(max(1024, low - 20000), low - 1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no free port below %d on 127.0.0.1" % low)


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    """Poll pred() until it returns a true value; fail after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(step)


def run(argv, check=True, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", 120)
    p = subprocess.run(argv, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(argv), p.returncode, _s(p.stdout), _s(p.stderr)))
    return p


@contextlib.contextmanager
def accounts_lock():
    """Serialise changes to the system's user and group databases.

    tests/run runs test files side by side; useradd, userdel and groupadd
    (and postern init, which may create the postern user and the postdrop
    group) refuse to run while another holds /etc/passwd's lock, so every
    test takes this lock around them.
    """
    with open("/run/postern-e2e-accounts.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# A resolver address where nothing listens: queries fail at once.
NO_DNS = "127.0.0.1:9"


def init_instance(port, directory):
    """postern init -p PORT DIRECTORY, under the accounts lock."""
    with accounts_lock():
        run([os.path.join(BIN, "postern"), "init", "-p", str(port), directory])


def _s(b):
    if b is None:
        return ""
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


class Instance:
    """One postern instance in a temporary directory."""

    def __init__(self, test=None, main_cf=None, master_cf=None, port=None,
                 extra_libexec=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="postern-e2e-")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.maillog = os.path.join(self.dir, "log", "maillog")
        self.users = []
        self.started = False
        self._children = []
        self.allow_seccomp_kills = False
        self.allow_sanitizer_reports = False
        init_instance(self.port, self.dir)
        # DNS only from a server a test starts: without one, the SMTP
        # client's queries go to a loopback port where nothing answers
        # (refused at once), never to the machine's resolvers.
        self.set_main({"resolver_servers": NO_DNS})
        if extra_libexec:
            # A daemon directory with the real daemons plus test services.
            d = os.path.join(self.dir, "libexec")
            os.mkdir(d)
            for name in os.listdir(LIBEXEC):
                os.symlink(os.path.join(LIBEXEC, name), os.path.join(d, name))
            for name in extra_libexec:
                os.symlink(os.path.join(TESTLIBEXEC, name), os.path.join(d, name))
            self.set_main({"daemon_directory": d})
        if main_cf:
            self.set_main(main_cf)
        if master_cf is not None:
            self.write_master(master_cf)
        if test is not None:
            test.addCleanup(self.cleanup, test)

    # -- configuration -------------------------------------------------

    def set_main(self, settings):
        """Append name = value lines to main.cf (later lines win)."""
        with open(os.path.join(self.etc, "main.cf"), "a") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))

    def write_master(self, text):
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(text.replace("PORT", str(self.port)))

    def master_cf(self):
        with open(os.path.join(self.etc, "master.cf")) as f:
            return f.read()

    # -- control -------------------------------------------------------

    def postern(self, *args, check=True):
        return run([os.path.join(BIN, "postern"), "-c", self.etc] + list(args), check=check)

    def start(self):
        self.postern("start")
        self.started = True

    def stop(self):
        p = self.postern("stop", check=False)
        self.started = False
        return p

    def reload(self):
        """postern reload, then wait until every process of an older
        generation has exited.  The old processes get SIGTERM and finish
        what they hold; until they are gone an idle one may still take
        a new client with the configuration it read at its start."""
        out = _s(self.postern("reload").stdout)
        m = re.search(r"generation (\d+)", out)
        if not m:
            raise AssertionError("postern reload said %r" % out)
        gen = m.group(1)

        def old():
            return [r for r in self.status() if r["role"] != "master" and r["gen"] != gen]
        try:
            wait_for(lambda: not old(), 30, what="the processes of older generations to exit")
        except AssertionError as e:
            raise AssertionError("%s: %r" % (e, old()))
        return int(gen)

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "data", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def status(self):
        """postern status as a list of dicts (one per process)."""
        out = _s(self.postern("status").stdout).splitlines()
        head = out[0].split()
        rows = []
        for line in out[1:]:
            parts = line.split(None, len(head) - 1)
            rows.append(dict(zip([h.lower() for h in head], parts)))
        return rows

    def procs(self, role):
        return [r for r in self.status() if r["role"] == role]

    def instance_pids(self):
        """Every process whose command line points into this instance."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if self.etc.encode() in cmd:
                pids.append(int(d))
        return pids

    # -- mail ----------------------------------------------------------

    def smtp(self, timeout=30):
        return smtplib.SMTP("127.0.0.1", self.port, timeout=timeout)

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout=10.0):
        return wait_for(lambda: text in self.log(), timeout, what="log line %r" % text)

    def queue_files(self, state):
        d = os.path.join(self.queue, state)
        try:
            return sorted(n for n in os.listdir(d) if not n.startswith("."))
        except OSError:
            return []

    IN_FLIGHT = ("maildrop", "incoming", "active")

    def queue_state(self):
        """Names in maildrop/, incoming/, active/ and deferred/, listed in
        the order mail moves through them, so a file that moves while
        they are read is seen once (or, when qmgr takes it back from
        deferred/, not at all: callers read twice)."""
        return {q: self.queue_files(q) for q in self.IN_FLIGHT + ("deferred",)}

    def wait_queue_settled(self, deferred=0, timeout=30.0):
        """Wait until no mail is in flight (maildrop/, incoming/ and
        active/ empty) and deferred/ holds `deferred` messages (None: any
        number, for an instance other tests share), the same in two
        readings in a row; returns deferred/'s names.

        Then every result is final: an agent logs its result before qmgr
        moves or removes the file, and a notification or a forwarded
        copy is in incoming/ before the message that caused it leaves
        active/, so whatever a message led to has been delivered too (or
        waits in deferred/).  This is the point after which a test may
        assert that something did not happen or happened exactly n times.
        """
        def settled():
            a = self.queue_state()
            if any(a[q] for q in self.IN_FLIGHT) or (
                    deferred is not None and len(a["deferred"]) != deferred):
                return None
            if self.queue_state() != a:
                return None
            return [a["deferred"]]          # true even when deferred/ is empty
        try:
            return wait_for(settled, timeout,
                            what="no mail in flight and %s in deferred/"
                            % ("any number" if deferred is None else deferred))[0]
        except AssertionError as e:
            raise AssertionError("%s; the queue: %r" % (e, self.queue_state()))

    # -- users ---------------------------------------------------------

    def add_user(self, prefix="pt"):
        """Create a real system user with a home under the instance."""
        name = prefix + "".join(random.choice(string.ascii_lowercase) for _ in range(6))
        home = os.path.join(self.dir, "home", name)
        os.makedirs(os.path.dirname(home), exist_ok=True)
        os.chmod(os.path.dirname(home), 0o755)
        with accounts_lock():
            run(["/usr/sbin/useradd", "--create-home", "--home-dir", home,
                 "--shell", "/bin/sh", name])
        self.users.append(name)
        pw = pwd.getpwnam(name)
        return name, pw.pw_uid, pw.pw_gid, home

    # -- teardown ------------------------------------------------------

    def spawn(self, argv, **kw):
        """Start a helper process that cleanup() will end by its pid."""
        p = subprocess.Popen(argv, **kw)
        self._children.append(p)
        return p

    def kill_all(self):
        """SIGKILL every process of the instance that is still there."""
        for pid in self.instance_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def seccomp_kills(self):
        """The master's log lines about a process killed by its filter."""
        return [line for line in self.log().splitlines()
                if "which its seccomp filter forbids" in line
                or "(SIGSYS: a system call its seccomp filter forbids)" in line]

    def sanitizer_reports(self):
        """Lines of AddressSanitizer or UBSan reports in the log."""
        return [line for line in self.log().splitlines()
                if re.search(r"ERROR: AddressSanitizer|: runtime error: "
                             r"|SUMMARY: (Address|UndefinedBehavior)Sanitizer", line)]

    def cleanup(self, test=None):
        failed = test is not None and _failed(test)
        if failed:
            sys.stderr.write("\n---- %s: last lines of %s ----\n" % (test.id(), self.maillog))
            lines = self.log().splitlines()
            sys.stderr.write("\n".join(lines[-80:]) + "\n")
            alarms = [l for l in lines[:-80]
                      if re.search(r"\b(warning|fatal|panic|error):", l)]
            if alarms:
                sys.stderr.write("---- and the earlier warnings, errors and fatal lines ----\n")
                sys.stderr.write("\n".join(alarms[-60:]) + "\n")
        for p in self._children:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.master_pid():
            self.postern("stop", check=False)
        if self.master_pid() and self.instance_pids():
            self.postern("abort", check=False)
        self.kill_all()
        kills = [] if self.allow_seccomp_kills else self.seccomp_kills()
        reports = [] if self.allow_sanitizer_reports else self.sanitizer_reports()
        for u in self.users:
            with accounts_lock():
                run(["/usr/sbin/userdel", "--force", "--remove", u], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        if reports:
            raise AssertionError("a daemon's AddressSanitizer or UBSan report is in "
                                 "the log:\n" + "\n".join(reports))
        if kills:
            raise AssertionError("a daemon made a system call its seccomp filter "
                                 "forbids (add it to that daemon's server_ops "
                                 ".syscalls if it is a legitimate one):\n"
                                 + "\n".join(kills))


def _failed(test):
    """True when the running test has failed or errored (Python 3.11)."""
    outcome = getattr(test, "_outcome", None)
    if outcome is None:
        return False
    result = getattr(outcome, "result", None)
    if result is None:
        return False
    for t, _ in list(result.failures) + list(result.errors):
        if t is test:
            return True
    return not getattr(outcome, "success", True)


def rss_kib(pid):
    """A process's resident set size in KiB, from /proc."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def proc_info(pid):
    """uid, gid (real) and root directory of a process, from /proc."""
    uid = gid = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
            elif line.startswith("Gid:"):
                gid = int(line.split()[1])
    root = os.readlink("/proc/%d/root" % pid)
    return uid, gid, root


def main():
    if os.geteuid() != 0:
        print("FAIL: end-to-end tests need root (real chroot and privilege drop)")
        sys.exit(1)
    unittest.main(verbosity=2)
