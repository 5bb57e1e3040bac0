"""load - the load generators and probes the scenarios run.

smtp-source and smtp-sink come from the same unpacked Postfix package
as the Postfix under test (they need LD_LIBRARY_PATH; smtp-sink refuses
to run as root without -u, so it runs with -u nobody).  idle_client.py
holds idle SMTP sessions; diskprobe.c measures the disk; strace counts
system calls.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import mta as mta_mod

BENCH = os.path.dirname(os.path.abspath(__file__))


def smtp_source_argv(port, sessions, messages, size, rcpt):
    return [mta_mod.Postfix.tool("smtp-source"), "-s", str(sessions), "-m", str(messages),
            "-l", str(size), "-M", "client.bench.test", "-f", "sender@client.bench.test",
            "-t", rcpt, "127.0.0.1:%d" % port]


def start_smtp_source(port, sessions, messages, size, rcpt, out, preexec=None):
    argv = smtp_source_argv(port, sessions, messages, size, rcpt)
    return argv, subprocess.Popen(argv, env=mta_mod.Postfix.env(), stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  preexec_fn=preexec)


class Sink:
    """smtp-sink on 127.0.0.1:port; count() is the messages it took."""

    def __init__(self, port, workdir):
        self.port = port
        self.out = os.path.join(workdir, "smtp-sink.%d.out" % port)
        self.argv = [mta_mod.Postfix.tool("smtp-sink"), "-u", "nobody", "-c",
                     "127.0.0.1:%d" % port, "1024"]
        self.proc = None

    def start(self):
        f = open(self.out, "wb")
        self.proc = subprocess.Popen(self.argv, env=mta_mod.Postfix.env(), stdout=f,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        f.close()
        mta_mod.wait_port(self.port, 10)

    def count(self):
        try:
            with open(self.out, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 400))
                tail = f.read().decode("ascii", "replace")
        except OSError:
            return 0
        return parse_sink_count(tail)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def parse_sink_count(text):
    """The last mesg=N in smtp-sink -c output (counter lines end in CR)."""
    m = re.findall(r"mesg=(\d+)", text)
    return int(m[-1]) if m else 0


# -- idle sessions ------------------------------------------------------------

class IdleClient:
    """bench/idle_client.py in its own process (it needs many descriptors)."""

    def __init__(self, port, n, settle, max_wait, sources):
        self.argv = [sys.executable, os.path.join(BENCH, "idle_client.py"),
                     "--port", str(port), "--sessions", str(n), "--settle", str(settle),
                     "--max-wait", str(max_wait), "--sources", str(sources)]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def wait_ready(self, timeout):
        """The client's READY report: it holds what it could get."""
        import select
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if r:
                line = self.proc.stdout.readline()
                if not line:
                    break
                if line.startswith("READY "):
                    return json.loads(line[6:])
        raise RuntimeError("idle client gave no READY line: %s" % (self.proc.stderr.read()
                                                                   if self.proc.poll() is not None
                                                                   else "still running"))

    def finish(self):
        """Tell the client to let go; its DONE report (or None)."""
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for line in self.proc.stdout.read().splitlines():
            if line.startswith("DONE "):
                return json.loads(line[5:])
        return None


# -- the disk ------------------------------------------------------------------

def build_probe(workdir, name, libs=()):
    """Compile bench/NAME.c into the work directory."""
    exe = os.path.join(workdir, name)
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-std=c17", "-O2", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                    "-pthread", "-o", exe, os.path.join(BENCH, name + ".c")] + list(libs),
                   check=True)
    return exe


# -- SMTP over STARTTLS ---------------------------------------------------------

# bench/tls_source, compiled by bench/run into the work directory.
TLS_SOURCE = None


def tls_source_argv(port, sessions, messages, size, rcpt):
    return [TLS_SOURCE, "-T", "-s", str(sessions), "-m", str(messages), "-l", str(size),
            "-M", "client.bench.test", "-f", "sender@client.bench.test", "-t", rcpt,
            "127.0.0.1:%d" % port]


def start_tls_source(port, sessions, messages, size, rcpt, out, preexec=None):
    argv = tls_source_argv(port, sessions, messages, size, rcpt)
    return argv, subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, preexec_fn=preexec)


def forkprobe(exe, count=2000):
    p = subprocess.run([exe, str(count)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("forkprobe: %s" % p.stdout.strip())
    return parse_diskprobe(p.stdout)


def diskprobe(exe, directory, seconds, threads, dirsync=False):
    os.makedirs(directory, exist_ok=True)
    argv = [exe] + (["-d"] if dirsync else []) + [directory, str(seconds), str(threads)]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=seconds + 120)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), p.stdout.strip()))
    return argv, parse_diskprobe(p.stdout)


def parse_diskprobe(text):
    out = {}
    for tok in text.split():
        k, _, v = tok.partition("=")
        if v:
            out[k] = float(v) if "." in v else int(v)
    return out


# -- strace ---------------------------------------------------------------------

class Strace:
    """strace -f attached to every process of an MTA, one file per pid."""

    def __init__(self, pids, prefix):
        self.prefix = prefix
        self.argv = ["strace", "-f", "-ff", "-qq", "-o", prefix]
        for p in pids:
            self.argv += ["-p", str(p)]
        self.pids = pids
        self.proc = None

    def start(self, timeout=20):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(self._attached(p) for p in self.pids):
                return
            if self.proc.poll() is not None:
                raise RuntimeError("strace exited: %s" % self.proc.stderr.read().decode())
            time.sleep(0.05)
        raise RuntimeError("strace did not attach to %s within %ds" % (self.pids, timeout))

    def _attached(self, pid):
        if not os.path.exists("/proc/%d" % pid):
            return True		# gone: nothing left to attach to
        return _tracer(pid) == self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def files(self):
        d, base = os.path.split(self.prefix)
        out = {}
        for name in os.listdir(d):
            if name.startswith(base + "."):
                tail = name[len(base) + 1:]
                if tail.isdigit():
                    out[int(tail)] = os.path.join(d, name)
        return out


def _tracer(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


SYSCALL_RE = re.compile(r"^([a-z_][a-z0-9_]*)\(")
CHILD_RE = re.compile(r"^(?:clone3?|fork|vfork)\(.*\)\s+=\s+(\d+)\s*$")
EXEC_RE = re.compile(r'^execve\("([^"]+)".*\)\s+=\s+0')


def parse_strace_file(text):
    """{'calls': {name: n}, 'children': [pid], 'exec': basename or None}."""
    calls, children, exe = {}, [], None
    for line in text.splitlines():
        m = SYSCALL_RE.match(line)
        if not m:
            continue		# "+++ exited", "--- SIG", "<... resumed>"
        name = m.group(1)
        calls[name] = calls.get(name, 0) + 1
        c = CHILD_RE.match(line)
        if c:
            children.append(int(c.group(1)))
        e = EXEC_RE.match(line)
        if e:
            exe = os.path.basename(e.group(1))
    return {"calls": calls, "children": children, "exec": exe}


def strace_summary(files, known_comm, master_pid=None):
    """Syscall counts per daemon from per-pid trace files.

    A process is named by the program it exec'd, else by what the
    harness saw it as, else after the process that forked it."""
    parsed = {}
    for pid, path in files.items():
        with open(path, errors="replace") as f:
            parsed[pid] = parse_strace_file(f.read())
    parent = {}
    for pid, p in parsed.items():
        for c in p["children"]:
            parent[c] = pid

    def name_of(pid, depth=0):
        if pid == master_pid:
            return "master"
        p = parsed.get(pid)
        if p and p["exec"]:
            return p["exec"]
        if pid in known_comm:
            return known_comm[pid]
        if pid in parent and depth < 20:
            return name_of(parent[pid], depth + 1)
        return "(unknown)"

    per_daemon, total = {}, {}
    for pid, p in parsed.items():
        d = per_daemon.setdefault(name_of(pid), {})
        for k, v in p["calls"].items():
            d[k] = d.get(k, 0) + v
            total[k] = total.get(k, 0) + v
    return {"total": total, "daemons": per_daemon, "processes": len(parsed)}
