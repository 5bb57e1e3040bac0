"""measure - CPU, memory and delivery counters for the benchmark harness.

CPU is read from a cgroup made for each MTA.  On cgroup v1 (the cpuacct
hierarchy) the files are cpuacct.usage_user / cpuacct.usage_sys in
nanoseconds; on cgroup v2 cpu.stat user_usec / system_usec.  Every
process of an MTA is a descendant of the process that started it, which
joins the group before it execs, so every process of the instance is
counted, including those that have already exited.  The groups are made
under the harness's own group in that hierarchy, so whatever limits apply
to the harness still apply to the MTAs.

A Sorter thread moves each process of an MTA into a child group named
after its command (smtpd, cleanup, ...), which gives CPU per daemon even
for processes that lived a few milliseconds.  The master stays in the parent
group (its children are born there); the parent's own figure, reported
as "master+spawn", is the master's CPU plus what each child spent before it
was sorted (fork, exec and start-up: a few milliseconds per process).
The same thread samples memory: the sum over the MTA's processes of RSS
(/proc/PID/statm) and of PSS (/proc/PID/smaps_rollup; shared pages are
divided among the processes that share them, so 100 smtpd processes do
not count the C library 100 times).

When no cgroup hierarchy is writable, CPU falls back to /proc: the sum of
utime+stime of the live processes plus the master's cutime+cstime (its
reaped children).  That loses the CPU of a process that exits without
being reaped by a process of the instance, and gives no per-daemon split.

MaildirCounter counts files arriving in a Maildir's new/ with inotify,
so waiting for 5,000 deliveries costs the harness nothing per poll;
the count is checked against a directory listing at the end.
"""

import ctypes
import errno
import os
import select
import struct
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- /proc -----------------------------------------------------------------

def proc_stat(pid):
    """(comm, ppid, utime, stime, cutime, cstime) in seconds, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return parse_proc_stat(data)


def parse_proc_stat(data):
    """Parse one /proc/PID/stat line; comm may hold spaces and ')'."""
    lp = data.index("(")
    rp = data.rindex(")")
    comm = data[lp + 1:rp]
    f = data[rp + 2:].split()
    # f[0] is state (field 3); utime is field 14 -> f[11].
    ppid = int(f[1])
    ut, st, cut, cst = (int(x) / CLK_TCK for x in f[11:15])
    return comm, ppid, ut, st, cut, cst


def proc_comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def all_pids():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            out.append(int(d))
    return out


def descendants(root):
    """root and every process below it, from the ppid links in /proc."""
    children = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st is None:
            continue
        children.setdefault(st[1], []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_bytes(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            return parse_smaps_rollup(f.read())
    except OSError:
        return 0


def parse_smaps_rollup(text):
    """The Pss: line of smaps_rollup, in bytes (0 if absent)."""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def machine_busy():
    """CPU seconds the whole machine has been busy (all CPUs), /proc/stat."""
    with open("/proc/stat") as f:
        return parse_proc_stat_cpu(f.readline())


def parse_proc_stat_cpu(line):
    """Busy seconds from the aggregate "cpu" line of /proc/stat."""
    f = line.split()
    if not f or f[0] != "cpu":
        raise ValueError("not the cpu line of /proc/stat: %r" % line[:40])
    v = [int(x) for x in f[1:]]
    v += [0] * (8 - len(v))
    # user nice system idle iowait irq softirq steal (guest is in user)
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK


# -- cgroups ----------------------------------------------------------------

def _own_cgroup(controller):
    """Our path in the v1 hierarchy holding controller, or in v2 ('')."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller is None and hid == "0":
                return path
            if controller is not None and controller in ctrls.split(","):
                return path
    return None


def _writable_dir(base):
    probe = os.path.join(base, "postern-bench-probe-%d" % os.getpid())
    try:
        os.mkdir(probe)
    except OSError:
        return False
    try:
        os.rmdir(probe)
    except OSError:
        pass
    return True


class CgroupTree:
    """A private cgroup tree for CPU accounting, or None if impossible.

    Layout: BASE/postern-bench-PID/MTA/DAEMON.  make() returns None when
    no writable hierarchy with CPU statistics exists; why says why."""

    why = ""

    @classmethod
    def make(cls):
        # cgroup v1: a cpuacct hierarchy.
        v1 = "/sys/fs/cgroup/cpuacct"
        if os.path.exists(os.path.join(v1, "cpuacct.usage")):
            own = _own_cgroup("cpuacct") or "/"
            base = os.path.join(v1, own.lstrip("/"))
            if _writable_dir(base):
                return cls(base, "v1")
            cls.why = "cgroup v1 cpuacct at %s is not writable" % base
        # cgroup v2: the unified hierarchy (mounted at /sys/fs/cgroup, or
        # /sys/fs/cgroup/unified on hybrid systems).
        for mnt in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
            if os.path.exists(os.path.join(mnt, "cgroup.procs")) and \
                    os.path.exists(os.path.join(mnt, "cgroup.controllers")):
                own = _own_cgroup(None) or "/"
                base = os.path.join(mnt, own.lstrip("/"))
                if not os.path.exists(os.path.join(base, "cpu.stat")) and base != mnt:
                    continue
                if _writable_dir(base):
                    return cls(base, "v2")
                cls.why += "; cgroup v2 at %s is not writable" % base
        if not cls.why:
            cls.why = "no cgroup hierarchy with CPU statistics found"
        return None

    def __init__(self, base, version):
        self.version = version
        self.root = os.path.join(base, "postern-bench-%d" % os.getpid())
        os.makedirs(self.root, exist_ok=True)

    def describe(self):
        if self.version == "v1":
            return "cgroup v1 cpuacct"
        return "cgroup v2 cpu.stat"

    def group(self, *names):
        path = os.path.join(self.root, *names)
        os.makedirs(path, exist_ok=True)
        return path

    def procs(self, path):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def procs_tree(self, path):
        out = []
        for d, _, _ in os.walk(path):
            out.extend(self.procs(d))
        return out

    def move(self, path, pid):
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(pid))
            return True
        except OSError:
            return False

    def cpu(self, path):
        """(user, system) seconds used by the group and its children."""
        if self.version == "v1":
            try:
                with open(os.path.join(path, "cpuacct.usage_user")) as f:
                    u = int(f.read()) / 1e9
                with open(os.path.join(path, "cpuacct.usage_sys")) as f:
                    s = int(f.read()) / 1e9
                return u, s
            except OSError:
                return 0.0, 0.0
        try:
            with open(os.path.join(path, "cpu.stat")) as f:
                st = parse_cpu_stat(f.read())
        except OSError:
            return 0.0, 0.0
        return st.get("user_usec", 0) / 1e6, st.get("system_usec", 0) / 1e6

    def remove(self):
        """Remove every group, leaves first (they must be empty)."""
        left = []
        for d, _, _ in sorted(os.walk(self.root), key=lambda t: -len(t[0])):
            try:
                os.rmdir(d)
            except OSError as e:
                if e.errno != errno.ENOENT:
                    left.append(d)
        return left


def parse_cpu_stat(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def join_cgroup_fn(path):
    """A preexec_fn that puts the child into path before it execs."""
    def fn():
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    return fn


# -- the per-MTA accountant -------------------------------------------------

class Accountant:
    """CPU and memory of one MTA's processes, with or without cgroups."""

    def __init__(self, tree, name):
        self.tree = tree
        self.name = name
        self.path = tree.group(name) if tree else None
        self.master_pid = None
        self.seen = {}			# pid -> comm, every process ever sorted
        self._lock = threading.Lock()
        self._thread = None
        self._stop = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.samples = 0

    def preexec(self):
        return join_cgroup_fn(self.path) if self.path else None

    def pids(self):
        if self.path:
            return self.tree.procs_tree(self.path)
        if self.master_pid:
            return descendants(self.master_pid)
        return []

    # CPU --------------------------------------------------------------

    def cpu_snapshot(self):
        """{'total': (u, s), 'daemons': {comm: (u, s)}} at this instant."""
        if self.path:
            total = self.tree.cpu(self.path)
            daemons = {}
            for name in sorted(os.listdir(self.path)):
                p = os.path.join(self.path, name)
                if os.path.isdir(p):
                    daemons[name] = self.tree.cpu(p)
            return {"total": total, "daemons": daemons}
        u = s = 0.0
        for pid in self.pids():
            st = proc_stat(pid)
            if st is None:
                continue
            u += st[2]
            s += st[3]
            if pid == self.master_pid:
                u += st[4]
                s += st[5]
        return {"total": (u, s), "daemons": {}}

    @staticmethod
    def cpu_delta(a, b):
        """b - a: {'user', 'sys', 'total', 'daemons': {comm: {...}}}."""
        du = b["total"][0] - a["total"][0]
        ds = b["total"][1] - a["total"][1]
        daemons = {}
        su = ss = 0.0
        for name, (u, s) in b["daemons"].items():
            u0, s0 = a["daemons"].get(name, (0.0, 0.0))
            daemons[name] = {"user": u - u0, "sys": s - s0}
            su += u - u0
            ss += s - s0
        if daemons:
            # The master's own CPU, plus what its children spent
            # between fork and the sorter moving them (a few ms each).
            daemons["master+spawn"] = {"user": max(0.0, du - su), "sys": max(0.0, ds - ss)}
        return {"user": du, "sys": ds, "total": du + ds, "daemons": daemons}

    # sorting and memory -----------------------------------------------

    def start(self, interval=0.1, mem_every=2):
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval, mem_every),
                                        daemon=True)
        self._thread.start()

    def stop(self):
        if self._thread:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def reset_peaks(self):
        with self._lock:
            self.peak_rss = self.peak_pss = 0
            self.samples = 0

    def sort_once(self):
        """Move each exec'd daemon from the MTA's group into its own.

        The master stays in the MTA's group: its children are born
        there (a cgroup is inherited at fork), and a child that has not
        exec'd yet still says "master"."""
        if not self.path:
            return
        for pid in self.tree.procs(self.path):
            comm = proc_comm(pid)
            if comm is None or comm in ("master", "postern"):
                continue
            if self.tree.move(self.tree.group(self.name, _safe(comm)), pid):
                self.seen[pid] = comm

    def memory(self):
        """(rss, pss) summed over the MTA's processes now, in bytes."""
        rss = pss = 0
        for pid in self.pids():
            rss += rss_bytes(pid)
            pss += pss_bytes(pid)
        return rss, pss

    def _run(self, interval, mem_every):
        n = 0
        while not self._stop.is_set():
            self.sort_once()
            if n % mem_every == 0:
                rss, pss = self.memory()
                with self._lock:
                    self.peak_rss = max(self.peak_rss, rss)
                    self.peak_pss = max(self.peak_pss, pss)
                    self.samples += 1
            n += 1
            self._stop.wait(interval)


def _safe(comm):
    s = "".join(c if c.isalnum() or c in "-_." else "_" for c in comm)
    return s or "_"


# -- counting deliveries ------------------------------------------------------

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_Q_OVERFLOW = 0x4000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000


class MaildirCounter:
    """Counts files that appear in DIR (a Maildir's new/) from now on."""

    def __init__(self, path):
        self.path = path
        self.count = 0
        self.last = None		# monotonic time of the latest arrival
        self.overflow = False
        self.fd = -1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
            if fd >= 0 and libc.inotify_add_watch(fd, path.encode(),
                                                  IN_CREATE | IN_MOVED_TO) >= 0:
                self.fd = fd
            elif fd >= 0:
                os.close(fd)
        except (OSError, AttributeError):
            self.fd = -1
        self.base = 0 if self.fd >= 0 else _count_files(path)

    def poll(self, timeout):
        """Wait up to timeout seconds for arrivals; return the count."""
        if self.fd < 0 or self.overflow:
            time.sleep(timeout)
            n = _count_files(self.path) - self.base
            if n != self.count:
                self.count, self.last = n, time.monotonic()
            return self.count
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            now = time.monotonic()
            while True:
                try:
                    data = os.read(self.fd, 65536)
                except BlockingIOError:
                    break
                n, ovf = parse_inotify(data)
                if ovf:
                    self.overflow = True
                    self.base = 0
                if n:
                    self.count += n
                    self.last = now
        return self.count

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def parse_inotify(data):
    """(number of create/moved-to events, overflow seen) in a read."""
    n, off, ovf = 0, 0, False
    while off + 16 <= len(data):
        _wd, mask, _cookie, ln = struct.unpack_from("iIII", data, off)
        if mask & IN_Q_OVERFLOW:
            ovf = True
        elif mask & (IN_CREATE | IN_MOVED_TO):
            n += 1
        off += 16 + ln
    return n, ovf


def _count_files(path):
    try:
        return sum(1 for e in os.scandir(path) if not e.name.startswith("."))
    except OSError:
        return 0


def count_files(path):
    return _count_files(path)


def queue_files(root, subdirs):
    """Number of regular files below root/SUBDIR for each subdir."""
    n = 0
    for sd in subdirs:
        for d, _, files in os.walk(os.path.join(root, sd)):
            n += sum(1 for f in files if not f.startswith("."))
    return n
