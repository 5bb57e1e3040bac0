"""test_seccomp - a system call outside a daemon's seccomp filter kills it,
and the master's log names the call.

Every daemon that declares .syscalls in its server_ops (all of them but
local: "DAEMON -D" prints the list) runs under a seccomp filter from the
moment it serves (lib/svc/sandbox.c), and the whole test suite runs that way.
Here:
  - the test service (tests/testsvc, on the same skeleton, with no call
    beyond the common ones) is asked to call execve() and to make an
    IPv4 socket: each time it dies of SIGSYS and the master logs the
    call by name;
  - the real daemons are made to make a forbidden call without any hook
    in their code: the test attaches with ptrace to a running smtpd and
    cleanup and has them call execve() and socket(AF_INET) (x86-64 only:
    the registers are the architecture's);
  - in a build with AddressSanitizer and UBSan (make asan), the test
    service is made to read a freed heap block and to overflow a signed
    int: each report reaches the instance's log whole, through the
    filter (no process is killed for a system call), and the process
    ends with the sanitizers' exit status 1.
  - every daemon that declares a filter is brought to run (mail through
    smtpd, pickup, cleanup, lookup, qmgr and local, to the discard, error
    and smtp transports, an AUTH through auth, a count through anvil, a
    listing from showq) and each of its processes has the filter
    (/proc status "Seccomp: 2"); local, which does not declare one, has
    none.
"""

import base64
import ctypes
import os
import platform
import re
import signal
import smtplib
import socket
import unittest

from harness import BIN, Instance, main, run, sanitized_build, wait_for
from test_privdecl import daemons, declaration

ECHO_MASTER = """\
echo unix - - y - - testsvc
"""

# An smtpd that offers AUTH without TLS, so that auth is asked.
AUTH_MASTER = """\
127.0.0.1:AUTHPORT inet n - y - 1 smtpd
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=postern
  -o smtpd_tls_auth_only=no
auth unix - - y - 4 auth
"""


def seccomp_mode(pid):
    """Seccomp mode of pid (2: filter), or None when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


class TestService(unittest.TestCase):

    def ask(self, inst, line):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.path.join(inst.queue, "private", "echo"))
        f = s.makefile("rb")
        hello = f.readline().decode()
        pid = int(re.match(r"testsvc pid=(\d+)", hello).group(1))
        self.assertEqual(seccomp_mode(pid), 2, "testsvc runs without its filter")
        s.sendall(b"ping\n")
        self.assertEqual(f.readline(), b"ping\n")
        s.sendall(line.encode() + b"\n")
        self.assertEqual(f.readline(), b"", "testsvc answered after %r" % line)
        s.close()
        return pid

    def test_forbidden_calls_kill(self):
        inst = Instance(self, master_cf=ECHO_MASTER, extra_libexec=["testsvc"])
        inst.allow_seccomp_kills = True
        inst.start()
        for line, call in (("execve", "execve"), ("socket inet", "socket")):
            pid = self.ask(inst, line)
            inst.wait_log("pid %d made system call %s (" % (pid, call))
            inst.wait_log("pid %d killed by signal %d (SIGSYS: a system call its "
                          "seccomp filter forbids)" % (pid, signal.SIGSYS))
        # The service goes on: the next client gets a new process.
        pid = self.ask(inst, "quit")
        self.assertGreater(pid, 0)


@unittest.skipUnless(sanitized_build(), "only a make asan build has sanitizer reports "
                     "to check; make asan runs this")
class SanitizerReports(unittest.TestCase):

    def test_reports_pass_the_filter(self):
        inst = Instance(self, master_cf=ECHO_MASTER, extra_libexec=["testsvc"])
        inst.allow_sanitizer_reports = True
        inst.start()
        for line, report in (("asan", "ERROR: AddressSanitizer: heap-use-after-free"),
                             ("ubsan", "runtime error: signed integer overflow")):
            pid = TestService.ask(self, inst, line)
            inst.wait_log(report)
            inst.wait_log("pid %d exit status 1" % pid)
        self.assertEqual(inst.seccomp_kills(), [], "a sanitizer's call was trapped")
        self.assertIn("SUMMARY: AddressSanitizer: heap-use-after-free", inst.log())


# -- ptrace: a forbidden call in a running daemon, without a hook ----------

PTRACE_CONT, PTRACE_GETREGS, PTRACE_SETREGS, PTRACE_DETACH = 7, 12, 13, 17
PTRACE_SEIZE, PTRACE_INTERRUPT = 0x4206, 0x4207
NR = {"execve": 59, "socket": 41}          # x86-64


class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs "
        "eflags rsp ss fs_base gs_base ds es fs gs").split()]


def inject(pid, nr, args):
    """Make pid (stopped in a system call) call nr(args); follow it to its end.

    Returns how it ended: ("signal", N) or ("exit", code)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long

    def pt(req, data=None, addr=0):
        if libc.ptrace(req, pid, addr, data) < 0:
            e = ctypes.get_errno()
            raise OSError(e, "ptrace(%d): %s" % (req, os.strerror(e)))

    pt(PTRACE_SEIZE)
    pt(PTRACE_INTERRUPT)
    _, st = os.waitpid(pid, 0)
    if not os.WIFSTOPPED(st):
        raise AssertionError("tracee did not stop: %r" % st)
    regs = Regs()
    pt(PTRACE_GETREGS, ctypes.byref(regs))
    # It is waiting in a system call: rip is just past a "syscall".
    regs.rip -= 2
    regs.orig_rax = ctypes.c_ulonglong(-1).value
    regs.rax = nr
    for name, value in zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), args):
        setattr(regs, name, value)
    pt(PTRACE_SETREGS, ctypes.byref(regs))
    sig = 0
    while True:
        pt(PTRACE_CONT, sig)
        _, st = os.waitpid(pid, 0)
        if os.WIFSIGNALED(st):
            return ("signal", os.WTERMSIG(st))
        if os.WIFEXITED(st):
            return ("exit", os.WEXITSTATUS(st))
        sig = os.WSTOPSIG(st)
        if sig == signal.SIGTRAP or (st >> 16) != 0:
            sig = 0                 # a ptrace event, not a signal to deliver


@unittest.skipUnless(platform.machine() == "x86_64",
                     "the ptrace injection sets x86-64 registers; the test service "
                     "above shows the kill on every architecture")
class RealDaemons(unittest.TestCase):

    def test_every_filtered_daemon_has_its_filter(self):
        filtered = [d for d in daemons() if declaration(d).get("seccomp") != ["off"]]
        unfiltered = [d for d in daemons() if d not in filtered]
        self.assertEqual(unfiltered, ["local"], "only local runs without a filter")
        authport = __import__("harness").free_port()
        inst = Instance(self)
        with open(os.path.join(inst.etc, "master.cf"), "a") as f:
            f.write(AUTH_MASTER.replace("AUTHPORT", str(authport)))
        transport = os.path.join(inst.etc, "transport")
        with open(transport, "w") as f:
            f.write("quiet.example discard:\n"
                    "gone.example error:5.1.1 gone\n"
                    "far.example smtp:[127.0.0.1]:9\n")
        users = os.path.join(inst.etc, "users")
        with open(users, "w") as f:
            f.write("alice@example.org:$6$salt$0123456789\n")
        os.chmod(users, 0o600)
        inst.set_main({"transport_maps": "texthash:" + transport,
                       "auth_passwd_file": users})
        inst.start()
        from delivery_util import mailq, send
        # smtpd, anvil (the connection count), cleanup, lookup, qmgr, then
        # local, discard, error and smtp (which cannot connect: deferred).
        send(inst, "x@example.org", ["postmaster@localhost", "a@quiet.example",
                                     "b@gone.example", "c@far.example"], subject="seccomp")
        for agent in ("discard", "error", "smtp"):
            inst.wait_log("postern/%s[" % agent)
        # pickup: a message from the local sendmail.
        run([os.path.join(BIN, "sendmail"), "-C", inst.etc, "-f", "x@example.org",
             "postmaster@localhost"], input=b"Subject: pickup\n\nhello\n")
        inst.wait_log("postern/pickup[")
        # auth: a password check.
        s = smtplib.SMTP("127.0.0.1", authport, timeout=30)
        s.ehlo("client.example")
        code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(
            b"\0alice@example.org\0wrong").decode())
        self.assertEqual(code, 535)
        # showq: a listing, while smtpd's session still holds auth.
        self.assertIn("-Queue ID-", mailq(inst))
        checked = {}
        for role in filtered:
            rows = wait_for(lambda: [r for r in inst.status() if r["role"] == role
                                     or r.get("command") == role], 15,
                            what="a running %s" % role)
            for r in rows:
                mode = seccomp_mode(int(r["pid"]))
                if mode is not None:
                    self.assertEqual(mode, 2, "%s pid %s runs unfiltered" % (role, r["pid"]))
                    checked[role] = checked.get(role, 0) + 1
        s.quit()
        self.assertEqual(sorted(checked), sorted(filtered),
                         "filtered daemons seen running: %r" % checked)
        for r in inst.procs("local"):
            self.assertEqual(seccomp_mode(int(r["pid"])) or 0, 0, "local")

    def test_execve_from_smtpd_and_inet_socket_from_cleanup(self):
        inst = Instance(self)
        inst.allow_seccomp_kills = True
        inst.start()
        from delivery_util import send
        send(inst, "x@example.org", "postmaster@localhost", subject="seccomp")
        smtpd = int(wait_for(lambda: inst.procs("smtpd"), 10, what="smtpd")[0]["pid"])
        cleanup = int(wait_for(lambda: inst.procs("cleanup"), 10, what="cleanup")[0]["pid"])
        # execve("/", NULL, NULL) would fail at once if it were allowed.
        how = inject(smtpd, NR["execve"], (0, 0, 0))
        self.assertEqual(how, ("signal", signal.SIGSYS), "smtpd after execve: %r" % (how,))
        inst.wait_log("process %s pid %d made system call execve (59)"
                      % (os.path.join(inst_libexec(inst), "smtpd"), smtpd))
        how = inject(cleanup, NR["socket"], (socket.AF_INET, socket.SOCK_STREAM, 0))
        self.assertEqual(how, ("signal", signal.SIGSYS), "cleanup after socket: %r" % (how,))
        inst.wait_log("pid %d made system call socket (41)" % cleanup)
        # The master replaces smtpd; mail flows again.  (cleanup starts
        # on demand once its throttle ends; the new smtpd's connection to
        # it waits in the listener's backlog until then.)
        wait_for(lambda: [r for r in inst.procs("smtpd") if int(r["pid"]) != smtpd], 15,
                 what="a new smtpd")
        send(inst, "x@example.org", "postmaster@localhost", subject="after")


def inst_libexec(inst):
    with open(os.path.join(inst.etc, "main.cf")) as f:
        return re.search(r"^daemon_directory = (.*)$", f.read(), re.M).group(1)


if __name__ == "__main__":
    main()
