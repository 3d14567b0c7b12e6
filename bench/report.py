"""bench/report.py: bench/run's arithmetic and its report (bench/RESULTS.md, bench/results.png).

bench/run calls it with a subcommand and its work directory (raw results: meta.tsv, points.jsonl, ...):

    check WORK SIG_HEADER URL_CEILING URL_ISOLATED URL_REAL URL_PEER   every server answers as it should, by hand
    best-rps WORK SCENARIO                 the best median requests/s of a scenario (for the half-rate run)
    halfrate WORK RATE CONNS PER SECONDS   h2load's per-request log -> halfrate.json
    overload WORK CONNS SECONDS STOP_AT STOP_FOR   -> overload.json
    callgrind WORK N SECONDS VALGRIND      callgrind_annotate's output -> callgrind.json, and its RESULTS.md section
    soak WORK SECONDS CONNS                -> soak.json, and its RESULTS.md section
    main WORK                              the whole RESULTS.md (keeping an earlier soak section) and results.png

RESULTS.md is made of sections between <!-- section:NAME --> markers, so that --callgrind and --soak runs replace
only their own.
"""

import json
import os
import re
import statistics
import sys
import urllib.error
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(BENCH, "RESULTS.md")
PLOT = os.path.join(BENCH, "results.png")
SCENARIOS = ["ceiling", "isolated", "real", "peer"]
LABELS = {
    "ceiling": "ceiling (h2o, fixed 200)",
    "isolated": "hookbridge, embedded broker",
    "real": "hookbridge, Kafka 3.9",
    "peer": "nginx + lua-resty-kafka, Kafka 3.9",
}
SECTIONS = ["main", "compare", "callgrind", "soak"]


def read_meta(work):
    meta = {}
    path = os.path.join(work, "meta.tsv")
    if os.path.exists(path):
        for line in open(path):
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    return meta


def read_points(work):
    path = os.path.join(work, "points.jsonl")
    return [json.loads(line) for line in open(path)] if os.path.exists(path) else []


def load_json(work, name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None


def save_json(work, name, data):
    with open(os.path.join(work, name), "w") as f:
        json.dump(data, f, indent=1)


def percentile(values, p):
    """Nearest-rank percentile of values (a list), p in 0..100."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


# ------------------------------------------------------------------------------------------------ sections --


def write_sections(new):
    """Replaces the sections named in new (name -> text) in RESULTS.md, keeping the others."""
    old = {}
    if os.path.exists(RESULTS):
        text = open(RESULTS).read()
        for name in SECTIONS:
            m = re.search(r"<!-- section:%s -->\n(.*?)<!-- /section:%s -->\n" % (name, name), text, re.S)
            if m:
                old[name] = m.group(1)
    old.update(new)
    out = ["# hookbridge benchmark results\n\n",
           "Written by `bench/run` (see the README's Benchmark section); each section says how it was made.\n\n"]
    for name in SECTIONS:
        if name in old:
            out.append("<!-- section:%s -->\n%s<!-- /section:%s -->\n\n" % (name, old[name], name))
    with open(RESULTS, "w") as f:
        f.write("".join(out).rstrip("\n") + "\n")


def machine_lines(meta):
    pkgs = {k[4:]: v for k, v in meta.items() if k.startswith("pkg:")}
    lines = [
        "- date: %s" % meta.get("date", "?"),
        "- machine: %s cores (`nproc`), %s, %s, %s" % (meta.get("nproc", "?"), meta.get("cpu", "?"),
                                                       meta.get("kernel", "?"), meta.get("os", "?")),
        "- versions (Debian packages): h2o %s (libh2o-evloop), librdkafka %s, msgpack-c %s, OpenSSL %s, nginx %s, "
        "lua-nginx-module %s, lua-resty-kafka %s (lua-nginx-kafka), LuaJIT %s, wrk %s, h2load %s (nghttp2-client), "
        "valgrind %s" % tuple(pkgs.get(p, "?") for p in (
            "libh2o-evloop-dev", "librdkafka-dev", "libmsgpack-dev", "libssl-dev", "nginx", "libnginx-mod-http-lua",
            "lua-nginx-kafka", "libluajit2-5.1-2", "wrk", "nghttp2-client", "valgrind")),
    ]
    if "kafka" in meta:
        lines.append("- broker: Apache Kafka %s (KRaft, single node, `tests/kafka/broker.sh`, on the same machine)"
                     % meta["kafka"])
    lines.append("- command: `%s`" % meta.get("command", "?"))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------- check --


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def cmd_check(work, sig_header, *named):
    """Each of named is SCENARIO=URL: a signed request must be answered 200, a bad signature 401 (but the ceiling's)."""
    body = open(os.path.join(work, "body.json"), "rb").read()
    name, value = sig_header.split(":", 1)
    good = {"Content-Type": "application/json", name: value.strip()}
    bad = {"Content-Type": "application/json", name: "0" * 64}
    checks = []
    for scenario, url in (n.split("=", 1) for n in named):
        status, answer = post(url, body, good)
        checks.append((scenario, "signed", status, answer.decode(errors="replace").strip()))
        if status != 200:
            sys.exit("bench/run: %s answered a signed request %d: %r" % (scenario, status, answer))
        if scenario != "ceiling":
            status, answer = post(url, body, bad)
            checks.append((scenario, "bad signature", status, answer.decode(errors="replace").strip()))
            if status != 401:
                sys.exit("bench/run: %s answered a bad signature %d: %r" % (scenario, status, answer))
    save_json(work, "check.json", checks)
    for c in checks:
        print("   check: %-8s %-13s -> %d %s" % c, file=sys.stderr)


# ----------------------------------------------------------------------------------------------- aggregate --


def aggregate(points):
    """(scenario, conns) -> medians over the measured runs."""
    groups = {}
    for p in points:
        if p["kind"] == "run":
            groups.setdefault((p["scenario"], p["conns"]), []).append(p)
    agg = {}
    for key, ps in groups.items():
        med = lambda k: statistics.median([p[k] for p in ps if p[k] is not None]) if ps else None
        agg[key] = {
            "runs": len(ps),
            "rps": med("rps"),
            "rps_min": min(p["rps"] for p in ps),
            "rps_max": max(p["rps"] for p in ps),
            "p50_ms": med("p50_us") / 1e3,
            "p99_ms": med("p99_us") / 1e3,
            "non2xx": sum(p["non2xx"] for p in ps),
            "errors": sum(p["errors"] for p in ps),
            "cpu_us": med("cpu_us_per_req"),
            "sys_us": med("sys_us_per_req"),
            "broker_cpu_us": med("broker_cpu_us_per_req"),
            "hwm_mib": max(p["hwm_kb"] for p in ps) / 1024,
        }
    return agg


def cmd_best_rps(work, scenario):
    agg = aggregate(read_points(work))
    best = max((v["rps"] for (s, _), v in agg.items() if s == scenario), default=0)
    print(int(best))


# ------------------------------------------------------------------------------------------------ halfrate --


def cmd_halfrate(work, rate, conns, per, secs):
    lat, statuses = [], {}
    for line in open(os.path.join(work, "halfrate.log")):
        parts = line.split("\t")
        if len(parts) >= 3:
            statuses[parts[1]] = statuses.get(parts[1], 0) + 1
            lat.append(int(parts[2]))
    text = open(os.path.join(work, "halfrate.txt")).read()
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
    data = {
        "target_rps": int(rate), "conns": int(conns), "per_conn_rps": int(per), "seconds": int(secs),
        "achieved_rps": float(m.group(3)) if m else None,
        "requests": len(lat), "statuses": statuses,
        "p50_ms": percentile(lat, 50) / 1e3 if lat else None,
        "p90_ms": percentile(lat, 90) / 1e3 if lat else None,
        "p99_ms": percentile(lat, 99) / 1e3 if lat else None,
        "max_ms": max(lat) / 1e3 if lat else None,
    }
    save_json(work, "halfrate.json", data)
    print("   half rate: %s req/s asked, %s achieved, p50 %.2f ms, p99 %.2f ms, statuses %s" % (
        rate, data["achieved_rps"], data["p50_ms"] or 0, data["p99_ms"] or 0, statuses), file=sys.stderr)


# ------------------------------------------------------------------------------------------------ overload --


def parse_wrk(text):
    m = re.search(r"^RESULT (.*)$", text, re.M)
    return {k: int(v) for k, v in (x.split("=") for x in m.group(1).split())} if m else None


def cmd_overload(work, conns, secs, stop_at, stop_for):
    wrk = parse_wrk(open(os.path.join(work, "overload-wrk.txt")).read())
    lat503, reasons, n2xx_logged = [], {}, 0
    for line in open(os.path.join(work, "overload.log")):
        if '"msg":"request"' not in line:
            continue
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("status") == "503":
            lat503.append(float(r.get("latency_ms", "0")))
            reasons[r.get("reason", "?")] = reasons.get(r.get("reason", "?"), 0) + 1
    rss = [(float(t), int(kb)) for t, kb in (line.split("\t") for line in open(os.path.join(work, "overload-rss.tsv")))]
    ev = {}
    for line in open(os.path.join(work, "overload-events.tsv")):
        parts = line.rstrip("\n").split("\t")
        ev[parts[0]] = parts[1:]
    cpu_s = int(ev["cpu_s"][0]) / int(ev["cpu_s"][1]) if "cpu_s" in ev else None
    before = [kb for t, kb in rss if t < float(stop_at)]
    data = {
        "conns": int(conns), "seconds": int(secs), "stop_at": int(stop_at), "stop_for": int(stop_for),
        "delivery_timeout_s": 2, "wrk": wrk,
        "rps": wrk["requests"] / (wrk["duration_us"] / 1e6) if wrk else None,
        "n503": len(lat503), "reasons_503": reasons,
        "p50_503_ms": percentile(lat503, 50), "p99_503_ms": percentile(lat503, 99),
        "max_503_ms": max(lat503) if lat503 else None,
        "rss_before_stop_mib": max(before) / 1024 if before else None,
        "rss_max_mib": max(kb for _, kb in rss) / 1024 if rss else None,
        "rss_end_mib": rss[-1][1] / 1024 if rss else None,
        "hwm_mib": int(ev["hwm_kb"][0]) / 1024 if "hwm_kb" in ev else None,
        "cpu_s": cpu_s, "rss_series": rss,
    }
    save_json(work, "overload.json", data)
    print("   overload: %d requests, non-2xx %d, 503 logged %d (p50 %s ms, p99 %s ms), RSS max %.1f MiB" % (
        wrk["requests"] if wrk else -1, wrk["non2xx"] if wrk else -1, len(lat503), data["p50_503_ms"],
        data["p99_503_ms"], data["rss_max_mib"] or 0), file=sys.stderr)


# ----------------------------------------------------------------------------------------------- callgrind --

CALLGRIND_ROWS = [
    ("the whole handler", ["hb_on_req"]),
    ("verify (HMAC-SHA256 of 1 KiB)", ["hb_verifier_check"]),
    ("body parse (JSON -> msgpack, unpack)", ["hb_json_to_msgpack", "msgpack_unpack_next"]),
    ("filter (one trigger)", ["hb_reqfilter_match"]),
    ("envelope", ["hb_envelope_encode"]),
    ("produce (librdkafka enqueue)", ["hb_publisher_produce"]),
    ("the answer after the delivery report", ["hb_on_delivery_messages"]),
]


def parse_annotate(path, inclusive):
    """function name -> Ir. Callgrind splits a function into one entry per source file its code comes from (inlined
    headers, and the same file named relative and absolute) and records a jump between them as a call: an inclusive
    cost is the largest of the entries (the one entered first holds the others), a self cost their sum."""
    costs, total = {}, None
    line_re = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)  (.*)$")
    for line in open(path):
        m = line_re.match(line)
        if not m:
            continue
        ir, what = int(m.group(1).replace(",", "")), m.group(2)
        if what.strip() == "PROGRAM TOTALS":
            total = ir
            continue
        if what.startswith(("=>", "<")) or re.search(r"\(\d[\d,]*x\)$", what):
            continue  # a call line of a tree listing, not a function's total
        what = re.sub(r" \[[^\]]*\]$", "", what)
        fn = what.rsplit(":", 1)[-1]
        costs[fn] = max(costs.get(fn, 0), ir) if inclusive else costs.get(fn, 0) + ir
    return total, costs


def cmd_callgrind(work, n, secs, valgrind):
    n = int(n)
    total, inc = parse_annotate(os.path.join(work, "callgrind-inclusive.txt"), True)
    _, self_costs = parse_annotate(os.path.join(work, "callgrind-self.txt"), False)
    rows = [(label, sum(inc.get(f, 0) for f in fns) / n, " + ".join(fns)) for label, fns in CALLGRIND_ROWS]
    loop = inc.get("h2o_evloop_run", 0)
    h2o_own = loop - inc.get("hb_on_req", 0) - inc.get("hb_on_delivery_messages", 0)
    worker = inc.get("hb_worker_main", 0)
    poll = inc.get("hb_poll_main", 0)
    data = {
        "requests": n, "seconds": int(secs), "valgrind": valgrind, "total_per_req": total / n if total else None,
        "rows": rows, "h2o_per_req": h2o_own / n, "worker_per_req": worker / n, "poll_per_req": poll / n,
        "other_threads_per_req": (total - worker - poll) / n if total else None,
        # (callgrind_annotate lists the threads' entry points, clone and start_thread, with everything under them)
        "top_self": sorted(((v / n, k) for k, v in self_costs.items() if k not in ("clone", "start_thread")),
                           reverse=True)[:15],
        "notable": {k: inc.get(k, 0) / n for k in ("RAND_bytes", "__vfprintf_internal", "hb_log", "SHA256_Update",
                                                    "EVP_MAC_final", "HMAC_Final", "malloc", "free",
                                                    "hb_endpoint_remember", "hb_make_event_id", "hb_fill_request")},
    }
    save_json(work, "callgrind.json", data)
    write_sections({"callgrind": callgrind_section(read_meta(work), data)})
    print("   callgrind: %.0f instructions per request in all, hb_on_req %.0f" % (
        data["total_per_req"] or 0, rows[0][1]), file=sys.stderr)


def callgrind_section(meta, cg):
    out = ["## Instructions per request (callgrind)\n\n"]
    out.append("`hookbridge serve` under `valgrind --tool=callgrind` (%s), 1 worker thread, embedded broker, the same "
               "config and body as the isolated scenario; 200 warm-up requests, counters zeroed "
               "(`callgrind_control -z`), then %d signed requests sent one after the other on one keep-alive "
               "connection (`bench/seqpost.py`), dumped, `callgrind_annotate --inclusive=yes`. Inclusive "
               "instructions (Ir) divided by %d. Took %d s. %s, command `%s`.\n\n" % (
                   cg["valgrind"], cg["requests"], cg["requests"], cg["seconds"], meta.get("date", "?"),
                   meta.get("command", "?")))
    out.append("| stage | functions | Ir per request |\n|---|---|---:|\n")
    for label, ir, fns in cg["rows"]:
        out.append("| %s | `%s` | %s |\n" % (label, fns, "{:,.0f}".format(ir)))
    out.append("| h2o itself (its event loop minus the two handlers above: HTTP/1 parsing, socket I/O, timers) | "
               "`h2o_evloop_run` - `hb_on_req` - `hb_on_delivery_messages` | %s |\n" % "{:,.0f}".format(
                   cg["h2o_per_req"]))
    out.append("| the worker thread in all | `hb_worker_main` | %s |\n" % "{:,.0f}".format(cg["worker_per_req"]))
    out.append("| the publisher's poll thread (delivery callbacks) | `hb_poll_main` | %s |\n" % "{:,.0f}".format(
        cg["poll_per_req"]))
    out.append("| librdkafka's own threads and the embedded mock broker | the rest | %s |\n" % "{:,.0f}".format(
        cg["other_threads_per_req"] or 0))
    out.append("| the whole process | PROGRAM TOTALS | %s |\n\n" % "{:,.0f}".format(cg["total_per_req"] or 0))
    out.append("`msgpack_unpack_next` also counts the librdkafka statistics parse (once per 10 s). Valgrind hides "
               "the CPU's SHA extensions from OpenSSL, so the HMAC's count is that of OpenSSL's vector code, not "
               "of the SHA-NI path a native run may take.\n\n")
    out.append("Notable inclusive costs per request: %s.\n\n" % ", ".join(
        "`%s` %s" % (k, "{:,.0f}".format(v)) for k, v in cg["notable"].items() if v))
    out.append("<details><summary>the 15 functions with the highest self cost (Ir per request)</summary>\n\n")
    out.append("| function | Ir per request |\n|---|---:|\n")
    for v, k in cg["top_self"]:
        out.append("| `%s` | %s |\n" % (k, "{:,.0f}".format(v)))
    out.append("\n</details>\n")
    return "".join(out)


# ---------------------------------------------------------------------------------------------------- soak --


def cmd_soak(work, secs, conns):
    rows = []
    for line in open(os.path.join(work, "soak.tsv")):
        t, rss, hwm = line.rstrip("\n").split("\t")
        rows.append((t, int(rss), int(hwm)))
    wrk = parse_wrk(open(os.path.join(work, "soak-wrk.txt")).read())
    meta = read_meta(work)
    series = [r for r in rows if r[0] != "end"]
    out = ["## Soak\n\n"]
    out.append("%s s at %s connections against the real broker (`hookbridge serve`, %s threads, wrk with the 1 KiB "
               "signed body), VmRSS of the bridge every 10 s. %s, command `%s`.\n\n" % (
                   secs, conns, meta.get("threads", "?"), meta.get("date", "?"), meta.get("command", "?")))
    if wrk:
        out.append("wrk: %d requests, %.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d, socket errors %d.\n\n" % (
            wrk["requests"], wrk["requests"] / (wrk["duration_us"] / 1e6), wrk["p50_us"] / 1e3,
            wrk["p99_us"] / 1e3, wrk["non2xx"], wrk["errors"]))
    if series:
        first, last = series[0][1] / 1024, series[-1][1] / 1024
        mx = max(r[1] for r in rows) / 1024
        out.append("RSS: first %.1f MiB, last %.1f MiB, max %.1f MiB; peak (VmHWM) at the end %.1f MiB.\n\n" % (
            first, last, mx, rows[-1][2] / 1024))
    out.append("| t (s) | VmRSS (MiB) |\n|---:|---:|\n")
    for t, rss, _ in series:
        out.append("| %s | %.1f |\n" % (t, rss / 1024))
    save_json(work, "soak.json", {"rows": rows, "wrk": wrk})
    write_sections({"soak": "".join(out)})


# ------------------------------------------------------------------------------------------------- compare --


def cmd_compare(work):
    """bench/run --compare: each scenario's runs from the build before and from this tree, side by side."""
    points = read_points(work)
    agg, meta = aggregate(points), read_meta(work)
    out = ["## Before and after\n\n",
           "The isolated and real scenarios from two builds, started side by side and measured interleaved (the "
           "order reversed on every other run), %s runs of %s s each; each figure is the median of the runs, "
           "rps also run by run. Before: `%s`; after: `%s`.\n\n" % (
               meta.get("runs", "?"), meta.get("seconds", "?"), meta.get("before", "?"), meta.get("after", "?")),
           machine_lines(meta), "\n",
           "| scenario | conns | build | req/s (runs) | req/s median | after/before | p50 ms | p99 ms | CPU µs/req "
           "| non-2xx | errors |\n|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n"]
    for scenario in ("isolated", "real"):
        for conns in sorted({c for (s, c) in agg if s == scenario}):
            for build, key in (("before", scenario + "-before"), ("after", scenario)):
                a = agg.get((key, conns))
                if a is None:
                    continue
                runs = [p["rps"] for p in points if p["kind"] == "run" and p["scenario"] == key
                        and p["conns"] == conns]
                base = agg.get((scenario + "-before", conns))
                ratio = "%.3f" % (a["rps"] / base["rps"]) if build == "after" and base else ""
                out.append("| %s | %d | %s | %s | %.0f | %s | %.2f | %.2f | %s | %d | %d |\n" % (
                    scenario, conns, build, " / ".join("%.0f" % r for r in runs), a["rps"], ratio, a["p50_ms"],
                    a["p99_ms"], fmt(a["cpu_us"], "%.1f"), a["non2xx"], a["errors"]))
    text = "".join(out)
    sys.stdout.write(text)
    write_sections({"compare": text})


# ---------------------------------------------------------------------------------------------------- main --


def fmt(v, spec="%.0f"):
    return "n/a" if v is None else spec % v


def plot(agg, meta, halfrate):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for s in SCENARIOS:
        pts = sorted((c, v) for (sc, c), v in agg.items() if sc == s)
        if not pts:
            continue
        xs = [c for c, _ in pts]
        rps = [v["rps"] for _, v in pts]
        err = [[v["rps"] - v["rps_min"] for _, v in pts], [v["rps_max"] - v["rps"] for _, v in pts]]
        ax1.errorbar(xs, rps, yerr=err, marker="o", capsize=3, label=LABELS[s])
        ax2.plot(xs, [v["p99_ms"] for _, v in pts], marker="o", label=LABELS[s])
    if halfrate and halfrate.get("p99_ms") is not None:
        ax2.plot([halfrate["conns"]], [halfrate["p99_ms"]], marker="*", markersize=12, linestyle="none",
                 color="black", label="hookbridge, Kafka 3.9, at half its rate (h2load)")
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({c for _, c in agg}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel("connections (wrk, keep-alive)")
        ax.grid(True, which="both", alpha=0.3)
    ax1.set_yscale("log")
    ax1.set_ylabel("requests/s (median; bars: min-max)")
    ax1.set_title("throughput")
    ax2.set_yscale("log")
    ax2.set_ylabel("p99 latency (ms, median of runs)")
    ax2.set_title("p99 latency")
    ax2.legend(fontsize=8)
    short = int(meta.get("seconds", "10")) < 10 or int(meta.get("runs", "3")) < 3
    fig.suptitle("hookbridge bench/run, %s, %s threads, %s x %s s runs per point%s" % (
        meta.get("date", "?"), meta.get("threads", "?"), meta.get("runs", "?"), meta.get("seconds", "?"),
        " (SHORT RUN)" if short else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def target_row(name, value, ok, target):
    return "| %s | %s | %s | %s |\n" % (name, target, value, "met" if ok else ("not met" if ok is not None else "n/a"))


def cmd_main(work):
    meta = read_meta(work)
    points = read_points(work)
    agg = aggregate(points)
    halfrate = load_json(work, "halfrate.json")
    overload = load_json(work, "overload.json")
    cg = load_json(work, "callgrind.json")
    checks = load_json(work, "check.json") or []
    conns = sorted({c for _, c in agg})
    short = int(meta.get("seconds", "10")) < 10 or int(meta.get("runs", "3")) < 3

    o = ["## Throughput and latency\n\n"]
    if short:
        o.append("**A short run** (`%s`): it proves the harness end to end; its figures are noisier than those of "
                 "a full run (`bench/run`, 10 s per run).\n\n" % meta.get("command", "?"))
    o.append(machine_lines(meta))
    o.append("\n![requests/s and p99 against connections](results.png)\n\n")
    o.append(
        "Each scenario gets the same 1 KiB JSON body signed with HMAC-SHA256 (`X-Signature-256`), POSTed by `wrk -t2` "
        "on loopback with keep-alive, at %s connections; every server runs %s threads (hookbridge's "
        "`threads: auto`, the ceiling's loops, nginx's workers). Each point is the median of %s runs of %s s, taken "
        "round-robin: run 1 of every scenario at every concurrency, then run 2, ... Load generator, servers and the "
        "broker share the machine's %s cores, so every figure is for all of them together.\n\n" % (
            ", ".join(map(str, conns)), meta.get("threads", "?"), meta.get("runs", "?"), meta.get("seconds", "?"),
            meta.get("nproc", "?")))
    o.append("- **ceiling**: `build/bench_ceiling` (bench/ceiling.c), h2o alone answering a fixed `200 {\"ok\":true}`.\n"
             "- **hookbridge, embedded broker** (isolated): `hookbridge serve`, `kafka.brokers: embedded`; verify, one "
             "trigger whose body filter matches, the msgpack envelope, produce, 200 from the delivery report.\n"
             "- **hookbridge, Kafka 3.9** (real): the same against the real broker (idempotent producer, acks=all).\n"
             "- **nginx + lua-resty-kafka** (peer): bench/peer/ — HMAC-SHA256 through LuaJIT's FFI to OpenSSL's "
             "`HMAC()`, constant-time compare, a synchronous produce (acks=-1), 200 after the broker's answer.\n\n")
    o.append("| scenario | conns | req/s (median) | min-max | p50 ms | p99 ms | non-2xx (all runs) | socket errors "
             "| CPU us/req | of which sys | broker CPU us/req | peak RSS MiB |\n")
    o.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for s in SCENARIOS:
        for c in conns:
            v = agg.get((s, c))
            if not v:
                continue
            o.append("| %s | %d | %s | %s-%s | %.2f | %.2f | %d | %d | %s | %s | %s | %.1f |\n" % (
                LABELS[s], c, fmt(v["rps"]), fmt(v["rps_min"]), fmt(v["rps_max"]), v["p50_ms"], v["p99_ms"],
                v["non2xx"], v["errors"], fmt(v["cpu_us"], "%.1f"), fmt(v["sys_us"], "%.1f"),
                fmt(v["broker_cpu_us"], "%.1f") if s in ("real", "peer", "isolated") else "-", v["hwm_mib"]))
    o.append("\nCPU us/req: the server's utime+stime (/proc/PID/stat; nginx: master and workers) over the run, "
             "divided by the requests wrk completed, all of its threads (for hookbridge also librdkafka's producer "
             "threads; in the isolated scenario without the embedded mock broker's thread, rdk:mock, which is the "
             "broker's work and is counted as broker CPU); \"of which sys\" is the stime share, the kernel's "
             "loopback TCP work mostly. Broker CPU: the same for the Kafka JVM (isolated: the rdk:mock thread). Peak RSS: VmHWM "
             "(/proc/PID/status), reset before each run (`echo 5 > /proc/PID/clear_refs`), the highest of the runs; "
             "for nginx the sum over its workers (the master serves nothing). The embedded broker keeps every "
             "record it is sent in the bridge's own memory, so the isolated scenario's RSS grows with the records "
             "and says nothing about the bridge's bound.\n\n")

    # ratios and targets
    o.append("### Ratios and the issue's targets\n\n")
    o.append("| target | wanted | this run | |\n|---|---|---|---|\n")
    iso, ceil = agg.get(("isolated", 64)), agg.get(("ceiling", 64))
    r = iso["rps"] / ceil["rps"] if iso and ceil else None
    o.append(target_row("isolated / ceiling req/s at 64 connections", fmt(r, "%.2f") + (
        " (%s / %s)" % (fmt(iso["rps"]), fmt(ceil["rps"])) if r else ""), r >= 0.5 if r else None, ">= 0.5"))
    cpus = [(c, agg[("isolated", c)]["cpu_us"]) for c in conns if ("isolated", c) in agg]
    o.append(target_row("bridge CPU per webhook, isolated path", ", ".join(
        "%s us at %d" % (fmt(v, "%.1f"), c) for c, v in cpus), all(v is not None and v <= 20 for _, v in cpus)
        if cpus else None, "<= 20 us"))
    for c in conns:
        re_, pe = agg.get(("real", c)), agg.get(("peer", c))
        r = re_["rps"] / pe["rps"] if re_ and pe and pe["rps"] else None
        o.append(target_row("real / peer req/s at %d connections" % c, fmt(r, "%.1f") + (
            " (%s / %s)" % (fmt(re_["rps"]), fmt(pe["rps"])) if r else ""), r >= 3 if r else None, ">= 3"))
    if halfrate:
        o.append(target_row("real p99 at half the best rate (%d req/s asked, %s achieved, h2load)" % (
            halfrate["target_rps"], fmt(halfrate["achieved_rps"])), fmt(halfrate["p99_ms"], "%.2f ms"),
            halfrate["p99_ms"] <= 10 if halfrate["p99_ms"] is not None else None, "<= 10 ms"))
    real = [(c, agg[("real", c)]) for c in conns if ("real", c) in agg]
    if real:
        best_c, best = max(real, key=lambda cv: cv[1]["rps"])
        peak = max(v["hwm_mib"] for _, v in real)
        o.append(target_row("real: peak RSS at the maximum rate (%d connections; highest of all real runs)" % best_c,
                            "%.1f MiB (%.1f MiB)" % (best["hwm_mib"], peak), peak <= 64, "<= 64 MiB"))
    o.append(target_row("flat RSS over a 10-minute soak", "see the Soak section (`bench/run --soak 600`)", None,
                        "flat"))
    if overload:
        # the backstop timer answers at deliveryTimeout + 1 s when librdkafka's own timeout report is late
        quick = overload["p99_503_ms"] is not None and overload["p99_503_ms"] <= (overload["delivery_timeout_s"] + 1) * 1000
        o.append(target_row("overload: 503 quickly, memory bounded", "%d 503s, p50 %s ms, p99 %s ms "
                            "(deliveryTimeout %d s); RSS max %.1f MiB (%.1f before the stop)" % (
                                overload["n503"], fmt(overload["p50_503_ms"], "%.0f"),
                                fmt(overload["p99_503_ms"], "%.0f"), overload["delivery_timeout_s"],
                                overload["rss_max_mib"] or 0, overload["rss_before_stop_mib"] or 0),
                            quick and overload["n503"] > 0 and overload["rss_max_mib"] is not None
                            and overload["rss_max_mib"] <= 1.25 * (overload["rss_before_stop_mib"] or 0) + 2,
                            "503 by deliveryTimeout (+1 s backstop), RSS flat"))
    o.append("\n")

    if halfrate:
        o.append("### hookbridge at half its rate (real broker)\n\n")
        o.append("wrk only runs closed-loop (as fast as answers come), so the fixed-rate point is `h2load --h1` "
                 "(Debian's nghttp2-client) with `--rps`: %d connections, each paced at %d req/s (%d req/s in all, "
                 "half of the real scenario's best median), %d s after 1 s of warm-up, each request's latency from "
                 "its `--log-file`. h2load paces the start of each request, but on HTTP/1.1 a connection waits for "
                 "its answer, so a slow answer delays the next (not wrk2's correction for coordinated omission); "
                 "at half the rate answers come well within the period.\n\n" % (
                     halfrate["conns"], halfrate["per_conn_rps"], halfrate["target_rps"], halfrate["seconds"]))
        o.append("| asked req/s | achieved req/s | requests logged | statuses | p50 ms | p90 ms | p99 ms | max ms |\n"
                 "|---:|---:|---:|---|---:|---:|---:|---:|\n")
        o.append("| %d | %s | %d | %s | %s | %s | %s | %s |\n\n" % (
            halfrate["target_rps"], fmt(halfrate["achieved_rps"]), halfrate["requests"],
            ", ".join("%s: %d" % kv for kv in sorted(halfrate["statuses"].items())),
            fmt(halfrate["p50_ms"], "%.2f"), fmt(halfrate["p90_ms"], "%.2f"), fmt(halfrate["p99_ms"], "%.2f"),
            fmt(halfrate["max_ms"], "%.2f")))

    if overload:
        w = overload["wrk"] or {}
        o.append("### Overload: the broker stops answering\n\n")
        o.append("A separate `hookbridge serve` on the real broker with `kafka.deliveryTimeout: 2s`; wrk at %d "
                 "connections for %d s; the broker's JVM is stopped (SIGSTOP) %d s into the run and continued "
                 "(SIGCONT) %d s later. Latencies of the 503s are the bridge's own (`latency_ms` of its request log "
                 "lines: every non-2xx answer has one), from the request's arrival to the answer.\n\n" % (
                     overload["conns"], overload["seconds"], overload["stop_at"], overload["stop_for"]))
        o.append("| requests | req/s | non-2xx | socket errors | 503 logged | 503 reasons | 503 p50 ms | 503 p99 ms | "
                 "503 max ms | RSS before the stop MiB | RSS max MiB | RSS at the end MiB | peak (VmHWM) MiB |\n")
        o.append("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
        o.append("| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n\n" % (
            w.get("requests", "?"), fmt(overload["rps"]), w.get("non2xx", "?"), w.get("errors", "?"),
            overload["n503"], ", ".join("%s: %d" % kv for kv in overload["reasons_503"].items()) or "-",
            fmt(overload["p50_503_ms"], "%.0f"), fmt(overload["p99_503_ms"], "%.0f"),
            fmt(overload["max_503_ms"], "%.0f"), fmt(overload["rss_before_stop_mib"], "%.1f"),
            fmt(overload["rss_max_mib"], "%.1f"), fmt(overload["rss_end_mib"], "%.1f"),
            fmt(overload["hwm_mib"], "%.1f")))
        o.append("RSS every 0.5 s (MiB): %s.\n\n" % " ".join(
            "%g:%.1f" % (t, kb / 1024) for t, kb in overload["rss_series"]))
        o.append("hookbridge does not fail fast while the broker is unreachable: a request already accepted waits "
                 "for its delivery report, which librdkafka gives at `message.timeout.ms` (= `deliveryTimeout`); "
                 "so during the stop each connection gets one 503 per deliveryTimeout, and a sender waits that long "
                 "for it (8 s with the default). With closed-loop clients the work in flight is bounded by the connections (256 requests, 256 "
                 "records), so the bridge's memory bound under overload is that of its connections; librdkafka's "
                 "own queue bound (`queue.buffering.max.messages`, 100000 by default) is what refuses records (503 "
                 "at once, `_QUEUE_FULL`) when more connections keep more records waiting.\n\n")

    # durability: records in the topics against the 2xx answers
    offsets_path = os.path.join(work, "offsets.tsv")
    if os.path.exists(offsets_path):
        o.append("### Acknowledged means in Kafka\n\n")
        o.append("The records the broker holds at the end, against the 2xx answers each bridge gave during the "
                 "measured, warm-up and half-rate runs (wrk counts completed answers only; requests still in "
                 "flight when wrk stops may be published too, so records >= 2xx is what must hold):\n\n")
        o.append("| bridge | topic | records added | 2xx answers | records >= 2xx |\n|---|---|---:|---:|---|\n")
        acked = {}
        for p in points:
            acked[p["scenario"]] = acked.get(p["scenario"], 0) + p["requests"] - p["non2xx"]
        if halfrate:
            acked["real"] = acked.get("real", 0) + halfrate["statuses"].get("200", 0)
        for line in open(offsets_path):
            name, before, after = line.rstrip("\n").split("\t")
            try:
                added = int(after) - int(before)
            except ValueError:
                added = None
            topic = "webhooks.bench" if name == "real" else "webhooks.bench-peer"
            a = acked.get(name, 0)
            o.append("| %s | %s | %s | %d | %s |\n" % (LABELS[name], topic, fmt(added, "%d"), a,
                                                        "yes" if added is not None and added >= a else "NO"))
        o.append("\n")

    if checks:
        o.append("Checked by hand before the runs (`bench/report.py check`): %s.\n\n" % "; ".join(
            "%s %s -> %d" % (s, what, status) for s, what, status, _ in checks))

    o.append(PEER_NOTES)
    o.append("<details><summary>every run</summary>\n\n")
    o.append("| scenario | conns | kind | run | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | errors "
             "| CPU us/req | peak RSS MiB |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for p in points:
        o.append("| %s | %d | %s | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %d | %d | %s | %.1f |\n" % (
            p["scenario"], p["conns"], p["kind"], p["run"], p["requests"], p["rps"], p["p50_us"] / 1e3,
            p["p90_us"] / 1e3, p["p99_us"] / 1e3, p["max_us"] / 1e3, p["non2xx"], p["errors"],
            fmt(p["cpu_us_per_req"], "%.1f"), p["hwm_kb"] / 1024))
    o.append("\n</details>\n")

    sections = {"main": "".join(o)}
    if cg:
        sections["callgrind"] = callgrind_section(meta, cg)
    write_sections(sections)
    plot(agg, meta, halfrate)


PEER_NOTES = """### The peers

**nginx + lua-resty-kafka** (bench/peer/nginx.conf, bench/peer/hookpeer.lua; Debian's nginx 1.22,
libnginx-mod-http-lua, lua-nginx-kafka 0.07): `worker_processes` = hookbridge's threads, `reuseport`, keep-alive
without a request limit, the body kept in memory. Per request: `ngx.req.read_body()`, HMAC-SHA256 of the body by
OpenSSL's `HMAC()` through LuaJIT's FFI, a compare whose time depends on the lengths only, then
`producer:send()` with `producer_type = "sync"`, `required_acks = -1`, `api_version = 2` (0.07 speaks Produce v0-v2
only; the librdkafka mock refuses them, so this peer runs against the real broker only), and 200 once the broker
answered, 503 when `send` returns an error. Where it differs from hookbridge's guarantees:

- acks: `-1` is acks=all, as hookbridge's; on this single-node broker both are one replica's write.
- the answer: 200 only after the broker's produce response, as hookbridge's after its delivery report.
- no idempotence: lua-resty-kafka retries a failed produce (`max_retry` 3) without producer ids or sequence
  numbers, so a retry after a lost response duplicates the record; hookbridge's idempotent producer does not.
  Ordering across retries is not kept either.
- less work per request: the record is the raw body (Produce v2 has no record headers; no envelope, no JSON parse,
  no trigger filter, no event id beyond nginx's `$request_id` as the key). It only makes the peer faster.
- one round trip per request: each request is its own Produce request (no batching across requests), on a
  connection taken from a per-worker keep-alive pool. Tuned so as not to handicap it: the pool's size raised from 2
  to 512 (with 2, most requests opened a new connection: 4,223 sockets to the broker in TIME_WAIT after 3 s at 64
  connections, and half the rate); a producer object per request (in sync mode a shared one would put concurrent
  requests' records into one send buffer and answer each from the others' results) with one metadata client per
  worker (a new producer fetches the metadata first); `max_buffering = 1` (every producer allocates async mode's
  ring buffer, 150,000 slots by default: about 1 ms of CPU per request and 170 MiB of RSS went to it).
- errors: when `send` returns an error (broker stopped: 503 at once; broker paused: 503 after 20 s, two socket
  timeouts of 10 s) the peer answers 503. A broker error code that 0.07's table does not know (it knows 0-16, so
  not 19 NOT_ENOUGH_REPLICAS, 20 NOT_ENOUGH_REPLICAS_AFTER_APPEND or 35 UNSUPPORTED_VERSION) raises a Lua error in
  lua-resty-kafka (`producer.lua:182: attempt to perform arithmetic on local 'index' (a string value)`, seen
  against the librdkafka mock), which nginx answers 500.

**Strimzi's Kafka HTTP bridge** (`io.strimzi:kafka-bridge`) and **Confluent's REST proxy** (`io.confluent:kafka-rest`)
cannot be had here: neither is published to Maven Central (`mvn dependency:get` of `io.strimzi:kafka-bridge`
0.31.1 and 0.27.0 and of `io.confluent:kafka-rest` 7.6.0: "Could not find artifact"; Strimzi ships its bridge as a
release archive and a container image, Confluent from its own repository), and this project takes dependencies
from Debian, PyPI, npm and Maven Central only. Neither would verify an HMAC either: both need a proxy in front.

"""


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "check": cmd_check, "best-rps": cmd_best_rps, "halfrate": cmd_halfrate, "overload": cmd_overload,
        "callgrind": cmd_callgrind, "soak": cmd_soak, "main": cmd_main,
        "compare": cmd_compare,
    }[cmd](*args)


if __name__ == "__main__":
    main()
