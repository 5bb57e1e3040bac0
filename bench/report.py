"""report - machine description, medians, the table and the JSON file.

Every figure in the table is the median over the rounds that succeeded,
with the minimum and maximum in brackets.  A cell for which no run
succeeded says "not measured: REASON", with the reason the run gave.
"""

import os
import platform
import statistics
import subprocess

# metric key -> (label, unit format, better: "high" or "low")
METRICS = {
    "accepted_per_s": ("accepted msg/s ({client})", "{:,.0f}", "high"),
    "last_delivery_s": ("time until the last is delivered, s", "{:,.2f}", "low"),
    "delivered_per_s": ("delivered msg/s", "{:,.0f}", "high"),
    "cpu_s_per_1000": ("CPU s per 1,000 msgs (all processes)", "{:,.2f}", "low"),
    "cpu_user_s_per_1000": ("  of which user", "{:,.2f}", "low"),
    "cpu_sys_s_per_1000": ("  of which system", "{:,.2f}", "low"),
    "peak_pss_mib": ("peak memory, MiB (sum of PSS)", "{:,.1f}", "low"),
    "peak_rss_mib": ("peak memory, MiB (sum of RSS)", "{:,.1f}", "low"),
    "loadgen_cpu_s_per_1000": ("{client}'s CPU s per 1,000 msgs", "{:,.2f}", "low"),
    "other_load_cores": ("other load on the machine, cores", "{:,.2f}", "low"),
    "served": ("idle sessions served (of {sessions})", "{:,.0f}", "high"),
    "kib_per_session_pss": ("memory per idle session, KiB (PSS)", "{:,.1f}", "low"),
    "kib_per_session_rss": ("memory per idle session, KiB (RSS)", "{:,.1f}", "low"),
    "processes": ("processes holding them", "{:,.0f}", "low"),
    "syscalls_per_msg": ("syscalls per message (strace -f)", "{:,.0f}", "low"),
    "fsyncs_per_msg": ("  of which fsync/fdatasync", "{:,.2f}", "low"),
    "legit_accepted": ("legitimate messages accepted (of {messages})", "{:,.0f}", "high"),
    "legit_p50_ms": ("  their latency p50, ms", "{:,.0f}", "low"),
    "legit_p99_ms": ("  their latency p99, ms", "{:,.0f}", "low"),
    "log_bytes_per_s": ("log bytes per second", "{:,.0f}", "low"),
    "cpu_cores": ("CPU of the MTA, cores", "{:,.2f}", "low"),
    "attack_held": ("attack sessions held (median after the warm-up)", "{:,.0f}", "low"),
    "storm_per_s": ("retry storm: sessions/s it got", "{:,.0f}", "low"),
}

# Targets from the project's claim, (scenario, metric) -> (text, kind, test).
# kind "ratio": test(postern / Postfix); "abs": test(postern's median);
# "all": postern's median is the scenario's number of messages.
TARGETS = {
    ("inbound", "delivered_per_s"): (">= 2x", "ratio", lambda r: r >= 2.0),
    ("inbound", "cpu_s_per_1000"): ("<= 0.5x", "ratio", lambda r: r <= 0.5),
    ("idle", "kib_per_session_pss"): ("<= 0.1x", "ratio", lambda r: r <= 0.1),
    ("syscalls", "syscalls_per_msg"): ("budget 150", "abs", lambda v: v <= 150),
    ("hostile", "legit_accepted"): ("all", "all", None),
    ("hostile", "legit_p99_ms"): ("< 1 s", "abs", lambda v: v < 1000),
    ("hostile", "peak_pss_mib"): ("< 200 MiB", "abs", lambda v: v < 200),
}


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _cmd(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(workdir):
    """What the numbers were measured on."""
    cpu = ""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    fs = " ".join(_cmd(["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T", workdir]).split())
    dev = fs.split()[0] if fs else ""
    disk = ""
    if dev.startswith("/dev/"):
        parent = _cmd(["lsblk", "-n", "-o", "PKNAME", dev]).split()
        whole = "/dev/" + parent[0] if parent else dev
        disk = _cmd(["lsblk", "-d", "-n", "-P", "-o", "NAME,MODEL,SIZE,ROTA,TRAN", whole])
        sched = _read("/sys/block/%s/queue/scheduler" % os.path.basename(whole)).strip()
        if sched:
            disk += ", scheduler " + sched
    virt = " ".join(x for x in (_cmd(["systemd-detect-virt"]),
                                _read("/sys/class/dmi/id/product_name").strip()) if x)
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1048576, 1),
        "kernel": platform.release(),
        "os": _read("/etc/debian_version").strip() and "Debian " + _read("/etc/debian_version").strip(),
        "filesystem": fs,
        "disk": disk,
        "virtualization": virt,
        "hostname": platform.node(),
    }


def summarize(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def summarize_runs(runs, keys):
    """Per-metric summaries over the runs that succeeded."""
    ok = [r for r in runs if "error" not in r]
    out = {}
    for k in keys:
        s = summarize([r.get(k) for r in ok])
        if s:
            out[k] = s
    return out


def side_reason(side):
    """Why a whole side of a scenario was not measured, or None."""
    if side is None:
        return None
    if "not_measured" in side:
        return side["not_measured"]
    return None


def cell(side, key):
    """Text for one MTA's cell of one metric."""
    if side is None:
        return "-"
    if "not_measured" in side:
        return "not measured (see below)"
    s = side.get("summary", {}).get(key)
    if s is None:
        return "not measured (see below)"
    fmt = METRICS[key][1]
    text = fmt.format(s["median"])
    if s["n"] > 1 and s["min"] != s["max"]:
        text += " [%s-%s]" % (fmt.format(s["min"]), fmt.format(s["max"]))
    failed = [r for r in side.get("runs", []) if "error" in r]
    if failed:
        text += " (%d of %d runs failed)" % (len(failed), len(side["runs"]))
    return text


def ratio(a, b, key):
    try:
        x = a["summary"][key]["median"]
        y = b["summary"][key]["median"]
    except (KeyError, TypeError):
        return None
    if not y:
        return None
    return x / y


def table(res):
    """The whole result as text, one table."""
    out = []
    m = res["machine"]
    out.append("postern vs Postfix %s, %s, %d round(s), median [min-max]%s" % (
        res["postfix"].get("version", "?"), res["date"], res["rounds"],
        " (quick mode)" if res["quick"] else ""))
    out.append("machine: %s, %s cores, %s GiB, Linux %s, %s; disk %s" % (
        m["cpu_model"], m["cores"], m["memory_gib"], m["kernel"],
        m.get("virtualization") or "bare metal?", m["filesystem"]))
    out.append("postern %s; CPU from %s; memory: sum over the MTA's processes, sampled every "
               "0.2 s" % (res["postern"].get("commit", "?"), res["accounting"]["cpu"]))
    d = res.get("disk")
    if d:
        parts = []
        for k, lab in (("t1", "1 thread"), ("t8", "8 threads"),
                       ("t1_dirsync", "1 thread +dir fsync"), ("t8_dirsync", "8 threads +dir fsync")):
            if k in d:
                parts.append("%s %s/s" % (lab, "{:,.0f}".format(d[k]["rate"])))
        out.append("disk limit, create + write 4 KiB + fsync + rename: " + ", ".join(parts))
    f = res.get("fork")
    if f:
        out.append("fork + exit + wait of a small process: %.0f us CPU, %.0f us wall "
                   "(bench/forkprobe)" % (f["cpu_us"], f["wall_us"]))
    out.append("")
    w0, w1 = 44, 30
    head = "%-*s %-*s %-*s %s" % (w0, "scenario / metric", w1, "postern", w1,
                                  "Postfix", "postern/Postfix (target)")
    out.append(head)
    out.append("-" * len(head))
    for name, sc in res["scenarios"].items():
        out.append(sc["title"])
        pt, pf = sc.get("postern"), sc.get("postfix")
        for key in sc["metrics"]:
            label = METRICS[key][0].format(**dict({"client": "smtp-source"}, **sc.get("params", {})))
            c1, c2 = cell(pt, key), cell(pf, key)
            r = ratio(pt, pf, key)
            rt = "" if r is None else ("%.2fx" % r if r >= 0.1 else "%.3fx" % r)
            tgt = TARGETS.get((name, key))
            if tgt:
                text, kind, test = tgt
                if kind == "ratio":
                    value = r
                else:
                    value = (pt or {}).get("summary", {}).get(key, {}).get("median")
                if value is not None:
                    met = (value >= sc.get("params", {}).get("messages", 0) if kind == "all"
                           else test(value))
                    rt += " (%s: %s)" % (text, "met" if met else "NOT met")
                else:
                    rt += " (%s)" % text
            out.append("  %-*s %-*s %-*s %s" % (w0 - 2, label, w1, c1, w1, c2, rt))
        for who, side in (("postern", pt), ("Postfix", pf)):
            why = side_reason(side)
            if why:
                out.append("  %s: not measured: %s" % (who, why))
            elif side:
                for r in side.get("runs", []):
                    if "error" in r:
                        out.append("  %s round %d: not measured: %s" % (who, r["round"], r["error"]))
        if sc.get("per_daemon"):
            out.append("  CPU ms per message by daemon, user+system:")
            for who in ("postern", "postfix"):
                pd = sc["per_daemon"].get(who)
                if pd:
                    out.append("    %-8s %s" % (who, ", ".join(
                        "%s %.2f+%.2f" % (k, v["user"], v["sys"]) for k, v in pd)))
        if sc.get("top_syscalls"):
            for who in ("postern", "postfix"):
                ts = sc["top_syscalls"].get(who)
                if ts:
                    out.append("    %-8s per msg: %s" % (who, ", ".join(
                        "%s %.1f" % (k, v) for k, v in ts)))
        if sc.get("syscalls_by_daemon"):
            for who in ("postern", "postfix"):
                ts = sc["syscalls_by_daemon"].get(who)
                if ts:
                    out.append("    %-8s by daemon: %s" % (who, ", ".join(
                        "%s %.0f" % (k, v) for k, v in ts)))
    return "\n".join(out)



COMPACT = {"accepted_per_s", "delivered_per_s", "last_delivery_s", "cpu_s_per_1000",
           "peak_pss_mib", "served", "kib_per_session_pss", "syscalls_per_msg",
           "fsyncs_per_msg"}


def markdown(res, results_file="", compact=False):
    """The table as Markdown, for README.md's Benchmarks section; compact
    keeps the headline figures only."""
    m = res["machine"]
    out = []
    out.append("Measured %s on %s (%s cores, %s GiB, Linux %s, %s), postern %s against "
               "Postfix %s, %d rounds, median [min-max]%s." % (
                   res["date"], m["cpu_model"], m["cores"], m["memory_gib"], m["kernel"],
                   (m["filesystem"].split() or ["?"])[1] + " on a virtual disk"
                   if m.get("virtualization") else m["filesystem"],
                   res["postern"].get("commit", "?"), res["postfix"].get("version", "?"),
                   res["rounds"], " (quick mode)" if res["quick"] else ""))
    d = res.get("disk")
    f = res.get("fork")
    if d or f:
        bits = []
        if d:
            bits.append("create + write 4 KiB + fsync + rename: %s/s with 1 thread, %s/s with 8 "
                        "(%s/s and %s/s with a directory fsync too)" % tuple(
                            "{:,.0f}".format(d[k]["rate"]) if k in d else "?"
                            for k in ("t1", "t8", "t1_dirsync", "t8_dirsync")))
        if f:
            bits.append("fork + exit + wait: %.0f µs of CPU" % f["cpu_us"])
        out.append("The machine's own limits: " + "; ".join(bits) + ".")
    out.append("")
    out.append("| scenario | figure | postern | Postfix | postern/Postfix |")
    out.append("|---|---|---|---|---|")
    for name, sc in res["scenarios"].items():
        pt, pf = sc.get("postern"), sc.get("postfix")
        first = True
        for key in sc["metrics"]:
            if compact and key not in COMPACT:
                continue
            label = METRICS[key][0].format(**dict({"client": "smtp-source"}, **sc.get("params", {}))).strip()
            r = ratio(pt, pf, key)
            rt = "" if r is None else ("%.2fx" % r if r >= 0.1 else "%.3fx" % r)
            tgt = TARGETS.get((name, key))
            if tgt:
                text, kind, test = tgt
                value = r if kind == "ratio" else (pt or {}).get("summary", {}).get(
                    key, {}).get("median")
                rt += " (target %s: %s)" % (text, "—" if value is None else
                                            ("met" if test(value) else "**not met**"))
            out.append("| %s | %s | %s | %s | %s |" % (
                sc["title"] if first else "", label, _md(pt, key), _md(pf, key), rt))
            first = False
    notes = []
    for name, sc in res["scenarios"].items():
        for who, side in (("postern", sc.get("postern")), ("Postfix", sc.get("postfix"))):
            why = side_reason(side)
            if why:
                notes.append("%s, %s: not measured: %s." % (
                    sc["title"].split(" ")[0].rstrip("."), who, why))
    if notes:
        out.append("")
        out.extend("- " + n for n in notes)
    if results_file:
        out.append("")
        out.append("Every figure, per round and per daemon: `%s`." % results_file)
    return "\n".join(out)


def _md(side, key):
    c = cell(side, key)
    return c.replace("not measured (see below)", "not measured")
