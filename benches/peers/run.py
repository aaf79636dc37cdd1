#!/usr/bin/env python3
"""Peer benchmark (issue 6): the same six steps done by nrledger, GeoPandas/Shapely 2 and PostGIS on the same
generated county, with the time GDAL alone needs to read the parcel file as the floor. Each tool's answers
are compared with nrledger's (counts equal, areas within the tolerances in README.md) before any time is
reported, so a fast wrong answer cannot win.

    python3 benches/peers/run.py [--sizes 100000,1000000] [--tools nrledger,geopandas,postgis]

`make bench` runs it after building the release binary, installing PostgreSQL/PostGIS and GNU time from
Debian and GeoPandas into a virtualenv (target/bench-venv) from benches/peers/requirements.txt. PostgreSQL
runs as a throw-away cluster on 127.0.0.1, started here and stopped on exit. Results go to stdout and to
target/bench-peers/<n>/results.{md,json}. Data are cached under target/bench-data/<n> (shared with the
scale benches).
"""
import argparse
import csv
import glob
import io
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "benches" / "peers"
NRLEDGER = ROOT / "target" / "release" / "nrledger"
VENV_PY = ROOT / "target" / "bench-venv" / "bin" / "python"
D1, D2 = "2019-12-31", "2020-12-31"
STEPS = ["import", "overlaps", "redline_use", "control_overlaps", "class_totals", "matrix"]
STEP_LABEL = {
    "import": "1 import (both vintages' parcels, control zones)",
    "overlaps": "2 overlapping parcel pairs + areas",
    "redline_use": "3 red-line land-use violations + areas",
    "control_overlaps": "4 control-line overlaps + areas",
    "class_totals": "5 class totals, both vintages",
    "matrix": "6 transition matrix",
}
GAP = "未覆盖"
REL = 1e-6  # relative tolerance on areas
# absolute tolerance on a piece's area, m²: the noise level below which nrledger does not report a piece at all
# (checks.toml ignore_area_m2). A sliver just above it is measured by different boolean engines (i_overlay,
# GEOS 3.11, GEOS 3.14) to within a few 1e-5 m², which is far more than 1e-6 of its area.
NOISE_M2 = 1e-4


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- measuring


class Sampler:
    """Peak of the summed proportional set size (PSS, so shared pages are not counted twice) of the
    processes under the given root pids, sampled every 50 ms. Used for PostgreSQL, whose work is done by
    server processes the harness does not wait for."""

    def __init__(self, roots):
        self.roots, self.peak, self._stop = set(roots), 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def add(self, pid):
        self.roots.add(pid)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.05)

    def _sample(self):
        children = defaultdict(list)
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                    children[ppid].append(int(d))
                except (OSError, IndexError, ValueError):
                    pass
        todo, total = list(self.roots), 0
        seen = set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            todo += children.get(pid, [])
            try:
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    for line in fh:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except OSError:
                pass
        return total


def run(cmd, env=None, stdin=None, user=None, ok=(0,), sampler=None):
    """Run a command; return (seconds, peak RSS in bytes of it and the children it waited for, stdout, stderr).
    The child is reaped with wait4, whose resource usage is that child's own."""
    if user:
        cmd = ["runuser", "-u", user, "--"] + cmd
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if sampler:
        sampler.add(p.pid)
    bufs = {}

    def drain(name, f):
        bufs[name] = f.read()

    readers = [threading.Thread(target=drain, args=(k, f)) for k, f in (("out", p.stdout), ("err", p.stderr))]
    for r in readers:
        r.start()
    if stdin is not None:
        p.stdin.write(stdin)
        p.stdin.close()
    for r in readers:
        r.join()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    out, err = bufs["out"].decode(errors="replace"), bufs["err"].decode(errors="replace")
    if p.returncode not in ok:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(map(str, cmd))}\n{err[-3000:]}")
    return secs, usage.ru_maxrss * 1024, out, err


# ---------------------------------------------------------------------------------------------- the tools


def label(n, hard):
    """The folder name of a county: its size, and `-hard` for the hard one (red lines drawn independently
    of the parcels over a quarter of the county, a new data year on every parcel of the second survey)."""
    return f"{n}-hard" if hard else str(n)


def in_page_cache(*paths):
    """Read files once so the timed step after finds them in the page cache: this machine pages out what was
    not touched for a minute (DAMON's proactive reclaim, `kdamond`), so a file read a few steps earlier may
    come from the disk again, and by how much varies from run to run. Each tool's step that reads a file
    (an import, the GDAL floor and copy, nrledger's sheet reading the registry) is timed with it cached."""
    for p in paths:
        with open(p, "rb") as f:
            while f.read(16 << 20):
                pass


def ensure_data(n, hard=False):
    data = ROOT / "target" / "bench-data" / label(n, hard)
    if not (data / f"{D2}.gpkg").exists():
        log(f"generating a {'hard ' if hard else ''}county of {n} parcels per vintage …")
        run([str(NRLEDGER), "gen", "--out", str(data), "--parcels", str(n)] + (["--hard"] if hard else []))
    return data


# the check steps: the rules each runs (as `check --only` takes them), and its answers from a finding
CHECK_STEPS = (("overlaps", "NR101"), ("redline_use", "NR501"), ("control_overlaps", "NR401,NR402,NR403"))
WARM_RUNS = 5


def check_answers(step, findings):
    if step == "control_overlaps":
        kind = {"NR401": "redline-farmland", "NR402": "redline-urban", "NR403": "farmland-urban"}
        return [[kind[f["rule"]], f["ids"][0], f["ids"][1], f["area_m2"]] for f in findings]
    if step == "overlaps":
        return [[*sorted(f["ids"][:2]), f["area_m2"]] for f in findings]
    return [[f["ids"][0], f["ids"][1], f["area_m2"]] for f in findings]


def warm_checks(exe, reg, answers):
    """The check steps warm (benches/check_warm.rs): the registry opened once, each step run WARM_RUNS times
    after a warm-up; the median of the runs, and the answers compared with the commands' (equal, or exit)."""
    t, m, out, _ = run([exe, str(reg), D2, str(WARM_RUNS)] + [only for _, only in CHECK_STEPS])
    secs, loading = {}, {}
    for (step, only), line in zip(CHECK_STEPS, out.splitlines()):
        got = json.loads(line)
        assert got["rules"] == only, (got["rules"], only)
        if check_answers(step, got["findings"]) != answers[step]:
            raise SystemExit(f"the warm check's {step} answers differ from `check --only {only}`'s")
        runs = sorted(got["seconds"])
        secs[step] = runs[len(runs) // 2]
        loading[step] = sorted(got["loading"])[len(runs) // 2]
    return secs, loading, m


def tool_nrledger(data, work, warm_exe):
    reg = work / "registry.gpkg"
    reg.unlink(missing_ok=True)
    f1, f2 = str(data / f"{D1}.gpkg"), str(data / f"{D2}.gpkg")
    secs, peak = {}, {}
    cmds = [["init", str(reg), "--crs", "EPSG:4549"]]
    for src, date in ((f1, D1), (f2, D2)):
        cmds.append(["import", str(reg), src, "--layer", "parcels", "--src-layer", "DLTB", "--profile", "sandiao-dltb", "--as-of", date])
    for layer, profile, src_layer in (("admin", None, "XZQ"), ("redlines", "stbhhx", "STBHHX"), ("farmland", "yjjbnt", "YJJBNT"), ("urban", "czkfbj", "CZKFBJ")):
        c = ["import", str(reg), f2, "--layer", layer, "--src-layer", src_layer, "--as-of", D2]
        cmds.append(c + (["--profile", profile] if profile else []))
    # the process's start-up (loading GDAL's, GEOS's and PROJ's shared libraries), best of five: taken off
    # each check step, whose time is then the work inside the process, as the peers' timings are
    startup = min(run([str(NRLEDGER), "--version"])[0] for _ in range(5))
    secs["process start-up"] = startup
    secs["import"], peak["import"] = 0.0, 0
    for i, c in enumerate(cmds):
        if c[0] == "import":
            in_page_cache(c[2])
        t, m, _, _ = run([str(NRLEDGER)] + c)
        secs["import"] += t
        peak["import"] = max(peak["import"], m)
        if i in (1, 2):
            secs[f"import survey {i}"], peak[f"import survey {i}"] = t, m
    answers = {}
    for step, only in CHECK_STEPS:
        t, m, out, _ = run([str(NRLEDGER), "check", str(reg), "--as-of", D2, "--only", only, "--format", "json"], ok=(0, 1))
        secs[f"{step} (command)"], peak[step] = max(t - startup, 0.0), m
        answers[step] = check_answers(step, json.loads(out)["findings"])
    # the step times are the warm ones, in-process on the open registry, as the peers' are (issue 23)
    warm, loading, _ = warm_checks(warm_exe, reg, answers)
    for step, _ in CHECK_STEPS:
        secs[step], secs[f"{step} (loading)"] = warm[step], loading[step]
    # the whole check as a user runs it: one command, the registry read once, the three steps' rules
    t, m, out, _ = run([str(NRLEDGER), "check", str(reg), "--as-of", D2, "--only", "NR101,NR501,NR401,NR402,NR403", "--format", "json"], ok=(0, 1))
    secs["check (one command)"] = t
    per_step = {"NR101": len(answers["overlaps"]), "NR501": len(answers["redline_use"])}
    for rule, n in per_step.items():
        got = sum(1 for f in json.loads(out)["findings"] if f["rule"] == rule)
        if got != n:
            raise SystemExit(f"the one-command check found {got} {rule} findings, the single-rule check {n}")
    # steps 5 and 6 are one command (the balance sheet); NRLEDGER_TIMING's stage times give the matrix stage
    # (overlay to land account), and everything else the command does — start-up, reading the registry, both
    # partitions, and the sheet's other tables — is counted as step 5, which can only make nrledger look slower
    env = dict(os.environ, NRLEDGER_TIMING="1")
    in_page_cache(reg)
    region = json.loads((data / "defects.json").read_text())["county"]["code"]
    t, m, out, err = run(
        [str(NRLEDGER), "balance", str(reg), "--from", D1, "--to", D2, "--region", region, "--level", "2", "--unit", "m2", "--format", "json"], env=env
    )
    secs["matrix"] = matrix_seconds(err)
    secs["class_totals"] = t - secs["matrix"]
    secs["balance sheet (whole command)"] = t
    peak["class_totals"] = peak["matrix"] = m
    answers.update(balance_answers(json.loads(out)))
    return secs, peak, answers


def matrix_seconds(err):
    """The matrix stage of a balance command (the overlay and the transition matrix, from the lap "closing
    partition" to the lap "transition matrix") from its NRLEDGER_TIMING laps on stderr; a sheet streamed by
    county (`--by-county`) has the stage once per county, and the stages are added. The change-by-cause table
    that follows (变化原因表) is the sheet's own, counted in step 5 with its other tables."""
    total, start = 0.0, None
    for line in err.splitlines():
        parts = line.strip().split("s  ", 1)
        if len(parts) != 2:
            continue
        try:
            t = float(parts[0])
        except ValueError:
            continue
        what = parts[1].strip()
        if what == "closing partition":
            start = t
        elif what == "transition matrix" and start is not None:
            total += t - start
            start = None
    return total


def balance_answers(sheet):
    land = sheet["land"]
    classes = [c["code"] for c in land["classes"]]
    matrix = land["matrix"]
    totals = {D1: {}, D2: {}}
    cells = []
    for i, c in enumerate(classes):
        if c == GAP:
            continue
        totals[D1][c] = sum(matrix[i])
        totals[D2][c] = sum(row[i] for row in matrix)
        for j, d in enumerate(classes):
            if d != GAP and matrix[i][j]:
                cells.append([c, d, matrix[i][j]])
    return {"class_totals": totals, "matrix": cells}


def tool_geopandas(data, work):
    out = work / "geopandas.json"
    in_page_cache(data / f"{D1}.gpkg", data / f"{D2}.gpkg")
    t, m, _, err = run([str(VENV_PY), str(HERE / "geopandas_steps.py"), str(data), str(ROOT / "layers/rules/redline-landuse.csv"), str(out)])
    res = json.loads(out.read_text())
    secs = res["seconds"]
    secs["_process"] = t
    return secs, {s: m for s in STEPS}, res["answers"], res["versions"]


class Postgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1 for one run."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise SystemExit("PostgreSQL is not installed (make bench installs it)")
        self.bin = Path(bins[-1]).parent
        self.user = "postgres" if os.geteuid() == 0 else None
        self.dir = Path(tempfile.mkdtemp(prefix="nrledger-bench-pg-"))
        if self.user:
            shutil.chown(self.dir, self.user)
        self.port = 55432
        self.pid = None

    def __enter__(self):
        pgdata = self.dir / "data"
        run([str(self.bin / "initdb"), "-D", str(pgdata), "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C"], user=self.user)
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
            "-c shared_buffers=4GB -c work_mem=256MB -c maintenance_work_mem=2GB -c max_parallel_workers_per_gather=2 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=8GB -c jit=off"
        )
        run([str(self.bin / "pg_ctl"), "-D", str(pgdata), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"], user=self.user)
        with open(pgdata / "postmaster.pid") as fh:
            self.pid = int(fh.readline())
        self.psql(["-c", "CREATE DATABASE bench"], db="postgres")
        self.psql(["-c", "CREATE EXTENSION postgis"])
        return self

    def __exit__(self, *exc):
        try:
            run([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"], user=self.user)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def conn(self, db="bench"):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={db}"

    def psql(self, args, db="bench", stdin=None, sampler=None):
        return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.conn(db)] + args, stdin=stdin, sampler=sampler)

    def version(self):
        out = self.psql(["-At", "-c", "SELECT version() || ' / PostGIS ' || postgis_full_version()"])[2]
        return out.strip()


def tool_postgis(data, work):
    sql = (HERE / "postgis_steps.sql").read_text()
    sections = {}
    for chunk in sql.split("-- step: ")[1:]:
        name, body = chunk.split("\n", 1)
        sections[name.strip()] = body
    secs, peak, answers = {}, {}, {}
    with Postgres() as pg, Sampler([]) as sampler:
        sampler.add(pg.pid)
        version = pg.version()
        f1, f2 = str(data / f"{D1}.gpkg"), str(data / f"{D2}.gpkg")
        in_page_cache(f1, f2)
        t0 = time.perf_counter()
        sampler.peak = 0
        for src, layer, table in ((f1, "DLTB", "dltb_2019"), (f2, "DLTB", "dltb_2020"), (f2, "XZQ", "xzq"), (f2, "STBHHX", "stbhhx"), (f2, "YJJBNT", "yjjbnt"), (f2, "CZKFBJ", "czkfbj")):
            run(["ogr2ogr", "-f", "PostgreSQL", "PG:" + pg.conn(), src, layer, "-nln", table, "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid",
                 "-lco", "SPATIAL_INDEX=GIST", "-preserve_fid", "--config", "PG_USE_COPY", "YES"], sampler=sampler)
        pg.psql(["-c", "CREATE TABLE redline_rules (zone text, code text, verdict text, basis text)"])
        pg.psql(["-c", "COPY redline_rules FROM STDIN WITH CSV HEADER"], stdin=(ROOT / "layers/rules/redline-landuse.csv").read_bytes())
        pg.psql([], stdin=sections["import"].encode(), sampler=sampler)
        secs["import"], peak["import"] = time.perf_counter() - t0, sampler.peak
        for step in STEPS[1:]:
            sampler.peak = 0
            t, _, out, _ = pg.psql([], stdin=sections[step].encode(), sampler=sampler)
            secs[step], peak[step] = t, sampler.peak
            rows = list(csv.reader(io.StringIO(out)))
            log(f"  postgis {step}: {t:.2f} s, {len(rows)} row(s)")
            answers[step] = rows
    a = {
        "overlaps": [[r[0], r[1], float(r[2])] for r in answers["overlaps"]],
        "redline_use": [[r[0], r[1], float(r[2])] for r in answers["redline_use"]],
        "control_overlaps": [[r[0], r[1], r[2], float(r[3])] for r in answers["control_overlaps"]],
        "class_totals": {D1: {}, D2: {}},
        "matrix": [[r[0], r[1], float(r[2])] for r in answers["matrix"]],
    }
    for d, c, v in answers["class_totals"]:
        a["class_totals"][d][c] = float(v)
    return secs, peak, a, version


def build_bench(name):
    """Build benches/<name>.rs (before anything is timed) and return its executable."""
    log(f"building benches/{name}.rs …")
    out = subprocess.run(["cargo", "bench", "--locked", "--bench", name, "--no-run", "--message-format=json"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    exe = [json.loads(l).get("executable") for l in out.splitlines() if f'"{name}"' in l]
    return [e for e in exe if e][-1]


def gdal_floor(exe, data):
    """Seconds GDAL (the system library nrledger links) needs to read every feature of the 2020 parcel file:
    geometry as WKB and every field (benches/gdal_floor.rs)."""
    in_page_cache(data / f"{D2}.gpkg")
    t, m, out, _ = run([exe, str(data / f"{D2}.gpkg"), "DLTB"])
    return json.loads(out), m


def gdal_copy(data, work):
    """Seconds and peak bytes of GDAL's own copy of the 2020 parcel layer into a new GeoPackage (`ogr2ogr`,
    its defaults: the GeoPackage R-tree built, nothing validated, measured or versioned): what loading the
    file into a GeoPackage costs a user with GDAL alone, beside the read floor."""
    out = work / "gdal-copy.gpkg"
    out.unlink(missing_ok=True)
    in_page_cache(data / f"{D2}.gpkg")
    t, m, _, _ = run(["ogr2ogr", "-f", "GPKG", str(out), str(data / f"{D2}.gpkg"), "DLTB"])
    out.unlink()
    return {"seconds": t, "peak_bytes": m}


# ---------------------------------------------------------------------------------------------- comparing


def close(a, b, slack=0.0):
    return abs(a - b) <= REL * max(abs(a), abs(b)) + slack


def compare(ref, other, name, slack):
    """Problems (empty when the answers agree). `slack` is the absolute m² allowed on top of 1e-6 relative:
    per step, for nrledger's published whole-m² figures (see README.md)."""
    bad = []

    def pairs(step, key_len):
        ra = {tuple(r[:key_len]): r[key_len] for r in ref[step]}
        oa = {tuple(r[:key_len]): r[key_len] for r in other[step]}
        if len(ref[step]) != len(other[step]) or set(ra) != set(oa):
            bad.append(f"{step}: nrledger has {len(ref[step])}, {name} {len(other[step])}; only nrledger: {sorted(set(ra) - set(oa))[:5]}, only {name}: {sorted(set(oa) - set(ra))[:5]}")
            return
        worst = max(((abs(ra[k] - oa[k]), k) for k in ra), default=(0, None))
        for k in ra:
            if not close(ra[k], oa[k], NOISE_M2):
                bad.append(f"{step} {k}: nrledger {ra[k]:.6f} m², {name} {oa[k]:.6f} m²")
                break
        return worst

    worst = {}
    worst["overlaps"] = pairs("overlaps", 2)
    worst["redline_use"] = pairs("redline_use", 2)
    worst["control_overlaps"] = pairs("control_overlaps", 3)

    # the sheet's figures: nrledger publishes whole m², so a cell below 0.5 m² is absent there (0)
    def sheet(step, r, o):
        w = (0.0, None)
        for k in sorted(set(r) | set(o)):
            a, b = r.get(k, 0.0), o.get(k, 0.0)
            w = max(w, (abs(a - b), k))
            if not close(a, b, slack[step]):
                bad.append(f"{step} {k}: nrledger {a:.3f} m², {name} {b:.3f} m²")
        return w

    worst["matrix"] = sheet("matrix", {(f, t): v for f, t, v in ref["matrix"]}, {(f, t): v for f, t, v in other["matrix"]})
    for d in (D1, D2):
        worst[f"class_totals {d}"] = sheet("class_totals", ref["class_totals"][d], other["class_totals"][d])
    return bad, worst


# ---------------------------------------------------------------------------------------------- report


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")) / 1024 / 1024
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GB RAM, {platform.system()} {platform.release()}"


def fmt_s(x):
    if x is None:
        return "—"
    return f"{x:.3f}" if x < 0.1 else f"{x:.2f}" if x < 10 else f"{x:.1f}"


def fmt_mb(x):
    return "—" if not x else f"{x / 1e6:,.0f}"


def ratio(a, b):
    return "—" if not a or not b else f"{a / b:.1f}×"


def report(n, parcels, results, floor, checks):
    nr = results["nrledger"]
    lines = [f"### {parcels[0]:,} / {parcels[1]:,} parcels (2019 / 2020 vintages)", ""]
    head = "| step | nrledger s | GeoPandas s | PostGIS s | GeoPandas ÷ nrledger | PostGIS ÷ nrledger |"
    lines += [head, "|---|---:|---:|---:|---:|---:|"]
    for s in STEPS + ["steps 2–4 (check)", "end to end"]:
        def get(tool):
            r = results.get(tool)
            if not r:
                return None
            sec = r[0]
            if s == "steps 2–4 (check)":
                return sum(sec[k] for k in ("overlaps", "redline_use", "control_overlaps"))
            if s == "end to end":
                return sum(sec[k] for k in STEPS)
            return sec[s]
        a, g, p = get("nrledger"), get("geopandas"), get("postgis")
        lines.append(f"| {STEP_LABEL.get(s, s)} | {fmt_s(a)} | {fmt_s(g)} | {fmt_s(p)} | {ratio(g, a)} | {ratio(p, a)} |")
    peaks = {t: max(r[1].values()) for t, r in results.items()}
    lines.append(f"| peak memory (MB) | {fmt_mb(peaks.get('nrledger'))} | {fmt_mb(peaks.get('geopandas'))} | {fmt_mb(peaks.get('postgis'))} | | |")
    lines.append("")
    if floor:
        check = sum(nr[0][k] for k in ("overlaps", "redline_use", "control_overlaps"))
        one = nr[0].get("check (one command)")
        lines.append(
            f"GDAL read floor (system GDAL, every feature of the 2020 parcel file, WKB + fields): {floor['seconds']:.2f} s for "
            f"{floor['features']:,} features; nrledger's check (steps 2–4) as three commands, each reading the registry = "
            f"{check / floor['seconds']:.1f}× the floor"
            + (f"; as one command (`check --only NR101,NR501,NR401,NR402,NR403`, the registry read once): {one:.2f} s = {one / floor['seconds']:.1f}× the floor" if one else "")
            + f". The balance sheet as a whole command: {nr[0]['balance sheet (whole command)']:.1f} s."
        )
        lines.append("")
        first, second = nr[0].get("import survey 1"), nr[0].get("import survey 2")
        if first and second:
            f = floor["seconds"]
            copy = floor.get("copy")
            lines.append(
                f"nrledger's parcel imports into the registry: the first survey {first:.1f} s ({first / f:.1f}× the floor), "
                f"peak {fmt_mb(nr[1]['import survey 1'])} MB; the second {second:.1f} s ({second / f:.1f}× the floor), "
                f"peak {fmt_mb(nr[1]['import survey 2'])} MB."
                + (f" GDAL's own copy of the same layer into a new GeoPackage (`ogr2ogr -f GPKG`, its R-tree built, "
                   f"nothing checked or measured): {copy['seconds']:.1f} s ({copy['seconds'] / f:.1f}× the floor), "
                   f"peak {fmt_mb(copy['peak_bytes'])} MB." if copy else "")
            )
            lines.append("")
        startup = nr[0].get("process start-up")
        if startup is not None and "overlaps (command)" in nr[0]:
            cold = ", ".join(f"{STEP_LABEL[k].split(' ', 1)[1]} {nr[0][k + ' (command)']:.3f} s" for k, _ in CHECK_STEPS)
            load = ", ".join(f"{nr[0][k + ' (loading)']:.3f}" for k, _ in CHECK_STEPS)
            lines.append(
                f"nrledger's check steps (2–4) are warm, as the peers' are: the registry open in one process "
                f"(benches/check_warm.rs), each step run {WARM_RUNS} times after a warm-up, the median shown; each run "
                f"reads its records afresh (of which loading the context: {load} s). As commands, with the process "
                f"start-up ({startup:.3f} s, `nrledger --version`, best of five) taken off: {cold}. "
                f"The import and the sheet are whole commands."
            )
            lines.append("")
    for tool, problems in checks.items():
        lines.append(f"Answers, {tool} vs nrledger: " + ("**agree**" if not problems else "**DIFFER**: " + "; ".join(problems)))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=os.environ.get("NRLEDGER_PEER_SIZES", "100000,1000000"))
    ap.add_argument("--tools", default="nrledger,geopandas,postgis")
    ap.add_argument("--hard", action="store_true", help="the hard county: ~500 red lines cutting through parcels over a quarter of it, and a second survey with a new data year on every parcel")
    ap.add_argument("--report-only", action="store_true", help="compare the answers stored in target/bench-peers/<n>/results.json again and print the tables, running nothing")
    a = ap.parse_args()
    if a.report_only:
        return report_only([int(x) for x in a.sizes.split(",")], a.hard)
    tools = a.tools.split(",")
    if not NRLEDGER.exists():
        raise SystemExit("build the release binary first (make bench does)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the PostgreSQL cluster is stopped
    floor_exe = build_bench("gdal_floor")
    warm_exe = build_bench("check_warm")
    print(f"Machine: {machine()}\n")
    for n in [int(x) for x in a.sizes.split(",")]:
        data = ensure_data(n, a.hard)
        work = ROOT / "target" / "bench-peers" / label(n, a.hard)
        work.mkdir(parents=True, exist_ok=True)
        results, versions = {}, {}
        log(f"== {n}: nrledger")
        results["nrledger"] = tool_nrledger(data, work, warm_exe)
        if "geopandas" in tools:
            log(f"== {n}: GeoPandas")
            s, m, ans, v = tool_geopandas(data, work)
            results["geopandas"], versions["geopandas"] = (s, m, ans), v
        if "postgis" in tools:
            log(f"== {n}: PostGIS")
            s, m, ans, v = tool_postgis(data, work)
            results["postgis"], versions["postgis"] = (s, m, ans), v
        floor, _ = gdal_floor(floor_exe, data)
        floor["copy"] = gdal_copy(data, work)
        ref = results["nrledger"][2]
        # nrledger publishes the sheet in whole m²: each class total is a sum of rounded cells
        ncls = len(ref["class_totals"][D2])
        slack = {"matrix": 1.0, "class_totals": 1.0 * (ncls + 1)}
        checks, worst = {}, {}
        for tool in ("geopandas", "postgis"):
            if tool in results:
                checks[tool], worst[tool] = compare(ref, results[tool][2], tool, slack)
        parcels = ref_counts(data)
        md = report(n, parcels, results, floor, checks)
        print(md, flush=True)
        (work / "results.md").write_text(md)
        (work / "results.json").write_text(
            json.dumps(
                {"machine": machine(), "parcels": parcels, "floor": floor, "versions": versions, "problems": checks, "worst_abs_diff": {t: {k: v[0] if v else None for k, v in w.items()} for t, w in worst.items()},
                 "results": {t: {"seconds": r[0], "peak_bytes": r[1]} for t, r in results.items()}, "answers": {t: r[2] for t, r in results.items()}},
                ensure_ascii=False, indent=1, default=str,
            )
        )
        if any(checks.values()):
            log("answers differ: see above")
            sys.exit(1)


def report_only(sizes, hard=False):
    failed = False
    for n in sizes:
        work = ROOT / "target" / "bench-peers" / label(n, hard)
        r = json.loads((work / "results.json").read_text())
        print(f"Machine: {r['machine']}\n")
        results = {t: (v["seconds"], v["peak_bytes"], r["answers"][t]) for t, v in r["results"].items()}
        ref = results["nrledger"][2]
        slack = {"matrix": 1.0, "class_totals": 1.0 * (len(ref["class_totals"][D2]) + 1)}
        checks, worst = {}, {}
        for tool in ("geopandas", "postgis"):
            if tool in results:
                checks[tool], worst[tool] = compare(ref, results[tool][2], tool, slack)
        md = report(n, r["parcels"], results, r["floor"], checks)
        print(md)
        (work / "results.md").write_text(md)
        r["problems"] = checks
        r["worst_abs_diff"] = {t: {k: v[0] if v else None for k, v in w.items()} for t, w in worst.items()}
        (work / "results.json").write_text(json.dumps(r, ensure_ascii=False, indent=1, default=str))
        failed |= any(checks.values())
    if failed:
        sys.exit(1)


def ref_counts(data):
    d = json.loads((data / "defects.json").read_text())
    return d["counts"]["parcels_2019"], d["counts"]["parcels_2020"]


if __name__ == "__main__":
    main()
