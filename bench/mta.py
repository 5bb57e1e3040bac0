"""mta - the two mail systems under test, set up the same way.

Postfix: Debian's package, fetched with `apt-get download postfix` and
unpacked with `dpkg -x` into bench/postfix/root (git-ignored).  Nothing is
installed: the programs run from there with LD_LIBRARY_PATH pointing at
the unpacked /usr/lib/postfix, as a second instance with its own
config_directory, queue_directory and data_directory in the benchmark's
temporary directory, SMTP on its own loopback port.  The system's
sendmail and /etc/postfix are never touched.  Postfix needs a `postfix`
user and a `postdrop` group; they are created with useradd/groupadd
--system when missing and kept afterwards (other instances may use
them).

postern: the tree's build (build/bin/postern, build/libexec), copied into
the work directory when the run starts (bench/run points Postern.BIN and
LIBEXEC at the copy), an instance made by `postern init` of that copy,
the same settings appended to its main.cf.

Both: mydestination holds bench.test, home_mailbox = Maildir/, relayhost
is [127.0.0.1]:SINKPORT (smtp-sink), logging goes to a file in the
instance (Postfix: maillog_file through postlogd; postern: maillog_file
written by each process), every accepted message is fsynced before the
250 reply (both do that by default).  Both skip the client name lookup
(smtpd_peername_lookup = no, which postern init's instances also set),
and Postfix's biff is off because postern has none; every other setting
is each program's default.  The differences are listed by
config_notes() and printed in the JSON file.
"""

import glob
import os
import signal
import socket
import subprocess
import time

import measure

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
PFX = os.path.join(BENCH, "postfix")
PFX_ROOT = os.path.join(PFX, "root")

ENV_BASE = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
if "TZ" in os.environ:
    ENV_BASE["TZ"] = os.environ["TZ"]

LOCAL_DOMAIN = "bench.test"

# main.cf settings given with bench/run --set NAME=VALUE: both MTAs get
# them, after their own, so that a run can vary one setting for both.
EXTRA_SETTINGS = []


def extra_main_cf():
    if not EXTRA_SETTINGS:
        return ""
    return ("# bench/run --set: the same for both MTAs.\n"
            + "".join("%s = %s\n" % kv for kv in EXTRA_SETTINGS))


def extra_notes():
    return (["--set (both MTAs): " + ", ".join("%s = %s" % kv for kv in EXTRA_SETTINGS)]
            if EXTRA_SETTINGS else [])
REMOTE_DOMAIN = "remote.test"


class NotAvailable(Exception):
    """The MTA cannot run here; the message says why."""


def run(argv, check=True, timeout=300, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.STDOUT)
    p = subprocess.run(argv, timeout=timeout, **kw)
    out = p.stdout.decode("utf-8", "replace") if isinstance(p.stdout, bytes) else (p.stdout or "")
    if check and p.returncode != 0:
        raise NotAvailable("%s exited %d: %s" % (" ".join(argv), p.returncode,
                                                  _first_lines(out)))
    return p.returncode, out


def _first_lines(text, n=6):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[:n])


def wait_port(port, timeout=20.0):
    """Wait until something accepts on 127.0.0.1:port and says 220."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                data = s.recv(512)
                if data.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return True
                last = data[:100]
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise NotAvailable("nothing answered 220 on 127.0.0.1:%d within %.0fs (%s)"
                       % (port, timeout, last))


def ensure_ids():
    """The postfix user and postdrop group; returns what was created."""
    made = []
    if run(["getent", "group", "postdrop"], check=False)[0] != 0:
        run(["/usr/sbin/groupadd", "--system", "postdrop"])
        made.append("group postdrop")
    if run(["getent", "passwd", "postfix"], check=False)[0] != 0:
        run(["/usr/sbin/useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             "--comment", "Postfix for postern benchmarks", "postfix"])
        made.append("user postfix")
    return made


class MTA:
    name = "?"
    queue_subdirs = ("incoming", "active", "deferred", "hold", "maildrop")

    def __init__(self, workdir, port, sink_port, acct):
        self.dir = os.path.join(workdir, self.name)
        self.port = port
        self.sink_port = sink_port
        self.acct = acct
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.maillog = os.path.join(self.dir, "log", "maillog")
        self.running = False

    def queue_count(self):
        return measure.queue_files(self.queue, self.queue_subdirs)

    def deferred_count(self):
        return measure.queue_files(self.queue, ("deferred",))

    TLS_MARK = "# bench/run: STARTTLS for the inbound-tls scenario.\n"

    def set_tls(self, cert, key):
        """Offer STARTTLS with cert and key (None: stop offering it)."""
        path = os.path.join(self.etc, "main.cf")
        with open(path) as f:
            text = f.read().split(self.TLS_MARK)[0]
        if cert:
            text += (self.TLS_MARK + "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                     "smtpd_tls_security_level = may\n" % (cert, key))
        with open(path, "w") as f:
            f.write(text)

    HOSTILE_MARK = "# bench/run: the hostile scenario.\n"

    def set_hostile(self, on):
        """Loopback clients count against the per-client limits (the
        default exempts $mynetworks, which holds 127.0.0.0/8 here)."""
        path = os.path.join(self.etc, "main.cf")
        with open(path) as f:
            text = f.read().split(self.HOSTILE_MARK)[0]
        if on:
            text += self.HOSTILE_MARK + "smtpd_client_event_limit_exceptions =\n"
        with open(path, "w") as f:
            f.write(text)

    def log_size(self):
        try:
            return os.stat(self.maillog).st_size
        except OSError:
            return 0

    def log_tail(self, n=30):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read().splitlines()[-n:]
        except OSError:
            return []

    def _kill_leftovers(self, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.acct.pids():
            time.sleep(0.1)
        left = self.acct.pids()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        end = time.monotonic() + 5
        while time.monotonic() < end and self.acct.pids():
            time.sleep(0.05)
        return left


class Postfix(MTA):
    name = "postfix"

    @staticmethod
    def fetch():
        """Download and unpack Debian's postfix once; return its version."""
        master = os.path.join(PFX_ROOT, "usr/lib/postfix/sbin/master")
        if not os.path.exists(master):
            os.makedirs(PFX, exist_ok=True)
            for old in glob.glob(os.path.join(PFX, "postfix_*.deb")):
                os.unlink(old)
            run(["apt-get", "download", "postfix"], cwd=PFX, timeout=600)
            debs = glob.glob(os.path.join(PFX, "postfix_*.deb"))
            if len(debs) != 1:
                raise NotAvailable("apt-get download postfix left %d .deb files in %s"
                                   % (len(debs), PFX))
            tmp = PFX_ROOT + ".tmp"
            run(["rm", "-rf", tmp])
            run(["dpkg", "-x", debs[0], tmp])
            os.rename(tmp, PFX_ROOT)
        version = Postfix.version()
        if not version.startswith("3.7."):
            raise NotAvailable("the unpacked Postfix is %s, not 3.7 (remove %s to fetch again)"
                               % (version, PFX))
        return version

    @staticmethod
    def env(config=None):
        e = dict(ENV_BASE)
        e["LD_LIBRARY_PATH"] = os.path.join(PFX_ROOT, "usr/lib/postfix")
        if config:
            e["MAIL_CONFIG"] = config
        return e

    @staticmethod
    def tool(name):
        return os.path.join(PFX_ROOT, "usr/sbin", name)

    @staticmethod
    def version():
        empty = os.path.join(PFX, "empty-config")
        os.makedirs(empty, exist_ok=True)
        for f in ("main.cf", "master.cf"):
            open(os.path.join(empty, f), "a").close()
        _, out = run([Postfix.tool("postconf"), "-c", empty, "-d", "-h", "mail_version"],
                     env=Postfix.env(empty), stderr=subprocess.DEVNULL)
        return out.strip()

    def setup(self):
        root = PFX_ROOT
        for d in ("etc", "queue", "data", "log"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chmod(self.dir, 0o755)
        main_cf = """\
# Postfix instance for postern's benchmarks (bench/mta.py).
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {dir}/queue
data_directory = {dir}/data
daemon_directory = {root}/usr/lib/postfix/sbin
command_directory = {root}/usr/sbin
shlib_directory = {root}/usr/lib/postfix
meta_directory = {root}/etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.localdomain
mydomain = localdomain
mydestination = {local}, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink}
alias_maps = hash:{etc}/aliases
alias_database = hash:{etc}/aliases
home_mailbox = Maildir/
maillog_file = {dir}/log/maillog
maillog_file_prefixes = {dir}
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME LD_LIBRARY_PATH={root}/usr/lib/postfix
# postern has no biff, and both skip the client name lookup.
biff = no
smtpd_peername_lookup = no
""".format(etc=self.etc, dir=self.dir, root=root, local=LOCAL_DOMAIN, sink=self.sink_port)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main_cf + extra_main_cf())
        # Upstream's master.cf (chroot off, as upstream ships it) plus
        # postlogd for maillog_file.
        master_cf = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
local      unix  - n n -     - local
virtual    unix  - n n -     - virtual
lmtp       unix  - - n -     - lmtp
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
""".format(port=self.port)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master_cf)
        with open(os.path.join(self.etc, "aliases"), "w") as f:
            f.write("postmaster: root\nMAILER-DAEMON: postmaster\n")
        run([self.tool("postalias"), "-c", self.etc, os.path.join(self.etc, "aliases")],
            env=self.env(self.etc))
        # The queue tree as postfix-files describes it.
        import pwd
        import grp
        uid = pwd.getpwnam("postfix").pw_uid
        gid = pwd.getpwnam("postfix").pw_gid
        pd = grp.getgrnam("postdrop").gr_gid
        for d in ("incoming", "active", "bounce", "defer", "deferred", "flush",
                  "hold", "trace", "corrupt", "saved", "private"):
            p = os.path.join(self.queue, d)
            os.makedirs(p, exist_ok=True)
            os.chown(p, uid, gid)
            os.chmod(p, 0o700)
        for d, mode in (("maildrop", 0o730), ("public", 0o710)):
            p = os.path.join(self.queue, d)
            os.makedirs(p, exist_ok=True)
            os.chown(p, uid, pd)
            os.chmod(p, mode)
        os.makedirs(os.path.join(self.queue, "pid"), exist_ok=True)
        os.chmod(os.path.join(self.queue, "pid"), 0o755)
        os.chown(os.path.join(self.dir, "data"), uid, gid)
        os.chmod(os.path.join(self.dir, "data"), 0o700)

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self):
        master = os.path.join(PFX_ROOT, "usr/lib/postfix/sbin/master")
        p = subprocess.run([master, "-c", self.etc, "-w"], env=self.env(self.etc),
                           preexec_fn=self.acct.preexec(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            raise NotAvailable("postfix master did not start: %s\n%s" % (
                p.stdout.decode(errors="replace"), "\n".join(self.log_tail(10))))
        self.running = True
        self.acct.master_pid = self.master_pid()
        wait_port(self.port)

    def stop(self):
        pid = self.master_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self.running = False
        return self._kill_leftovers()

    def config_notes(self):
        return [
            "Postfix %s from Debian's package, unpacked (not installed), second instance"
            % Postfix.version(),
            "master.cf: upstream's default services with chroot off (upstream's default), "
            "plus postlogd for maillog_file",
            "biff = no (postern has no biff) and smtpd_peername_lookup = no (as postern's "
            "instance; Postfix's defaults are yes)",
            "logging: maillog_file through postlogd (no syslog daemon on the machine)",
            "durability: cleanup fsyncs each queue file before 250 (Postfix default)",
            "other settings: Postfix 3.7 defaults (default_process_limit 100, in_flow_delay 1s, "
            "local_recipient_maps via proxymap)",
        ] + extra_notes()


class Postern(MTA):
    name = "postern"

    BIN = os.path.join(TOP, "build", "bin")
    LIBEXEC = os.path.join(TOP, "build", "libexec")

    @classmethod
    def postern_bin(cls):
        return os.path.join(cls.BIN, "postern")

    # The receive-and-deliver path; pickup (local submission) and showq
    # (mailq) are not on it, so they may be left out of master.cf.
    ESSENTIAL = ("master", "smtpd", "cleanup", "lookup", "qmgr", "local")
    OPTIONAL = ("pickup", "showq")

    @classmethod
    def missing(cls, names):
        return [d for d in names if not os.access(os.path.join(cls.LIBEXEC, d), os.X_OK)]

    def setup(self):
        if not os.access(self.postern_bin(), os.X_OK):
            raise NotAvailable("build/bin/postern is not built")
        miss = self.missing(self.ESSENTIAL)
        if miss:
            raise NotAvailable("build/libexec lacks %s" % ", ".join(miss))
        run([self.postern_bin(), "init", "-p", str(self.port), self.dir])
        with open(os.path.join(self.etc, "main.cf"), "a") as f:
            f.write("# bench/mta.py: the settings both MTAs get.\n"
                    "myhostname = bench.localdomain\n"
                    "mydomain = localdomain\n"
                    "mydestination = %s, localhost\n"
                    "home_mailbox = Maildir/\n"
                    "smtpd_peername_lookup = no\n"
                    "relayhost = [127.0.0.1]:%d\n" % (LOCAL_DOMAIN, self.sink_port)
                    + extra_main_cf())
        self.left_out = self.missing(self.OPTIONAL)
        if self.left_out:
            path = os.path.join(self.etc, "master.cf")
            with open(path) as f:
                lines = f.read().splitlines(True)
            keep = [l for l in lines if not (l.split() and l.split()[-1] in self.left_out
                                             and not l.startswith("#"))]
            with open(path, "w") as f:
                f.writelines(keep)

    def relay_missing(self):
        """Why this instance cannot relay to smtp-sink yet, or None."""
        if not os.access(os.path.join(self.LIBEXEC, "smtp"), os.X_OK):
            return "build/libexec/smtp is not built yet"
        with open(os.path.join(self.etc, "master.cf")) as f:
            cmds = [l.split()[7] for l in f if len(l.split()) >= 8 and not l.startswith("#")]
        if "smtp" not in cmds:
            return "postern init's master.cf runs no smtp service yet"
        return None

    def check(self):
        rc, out = run([self.postern_bin(), "-c", self.etc, "check"], check=False)
        if rc != 0:
            raise NotAvailable("postern check failed: %s" % _first_lines(out, 4))

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "data", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self):
        p = subprocess.run([self.postern_bin(), "-c", self.etc, "start"], env=dict(ENV_BASE),
                           preexec_fn=self.acct.preexec(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            raise NotAvailable("postern start failed: %s | %s" % (
                _first_lines(p.stdout.decode(errors="replace"), 4),
                " | ".join(self.log_tail(6))))
        self.running = True
        self.acct.master_pid = self.master_pid()
        wait_port(self.port)

    def stop(self):
        run([self.postern_bin(), "-c", self.etc, "stop"], check=False, timeout=60)
        left = []
        end = time.monotonic() + 10
        while time.monotonic() < end and self.acct.pids():
            time.sleep(0.1)
        if self.acct.pids():
            run([self.postern_bin(), "-c", self.etc, "abort"], check=False, timeout=30)
            left = self._kill_leftovers(5)
        self.running = False
        return left

    def config_notes(self):
        return [
            "postern from this tree (make all), instance made by `postern init`",
            "main.cf: init's defaults plus myhostname, mydestination, home_mailbox = Maildir/, "
            "smtpd_peername_lookup = no, relayhost (the same values as Postfix)",
            "logging: maillog_file written directly by each process (and syslog(), which "
            "has no daemon on the machine)",
            "durability: cleanup fsyncs the queue file and its directory before 250",
        ] + (["master.cf: %s left out (not built yet; not on the SMTP-to-Maildir path)"
              % ", ".join(self.left_out)] if getattr(self, "left_out", None) else []) \
            + extra_notes()
