#!/usr/bin/env python3
"""Province benchmark (issue 6): the six steps on a province delivered county by county, streamed with bounded
memory. The five 湖州 counties are generated at PARCELS / 5 parcels each (two vintages, control zones and
injected defects), then:

1. each county's delivery is imported as a county vintage (`import --scope CODE`), both vintages' parcels and
   the control zones; control zones go in with --keep-going, so a record the generator made invalid is kept
   in the registry's rejects (counted in the table) instead of stopping the run;
2.–4. `check --by-county` (one county window at a time) for overlapping parcels, red-line land use and
   control-line overlaps;
5.–6. the province's balance sheet streamed by county (`balance --by-county --region 3305`: one county's
   parcels, partitions and overlay in memory at a time, the counties' measures added before rounding).

The streamed findings are compared with one `check --region CODE` per county (their union): the same records
and areas; the streamed sheet's transition matrix with the sum of the five county sheets (`balance --region
CODE`, not timed), cell by cell within the counties' whole-m² rounding; or the harness exits 1. Seconds and peak memory (wait4 max RSS) are reported per step.

    python3 benches/peers/province.py [--parcels 10000000]

`make bench-province` runs it (and `make bench` after the peers). Data are cached under
target/bench-data/province-<n>; results go to target/bench-peers/province-<n>/results.{md,json}.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as peers  # noqa: E402  (the measuring helpers of the peer harness)

ROOT, NRLEDGER, D1, D2, log = peers.ROOT, str(peers.NRLEDGER), peers.D1, peers.D2, peers.log
COUNTIES = ["330502", "330503", "330521", "330522", "330523"]
ZONES = (("admin", None, "XZQ"), ("redlines", "stbhhx", "STBHHX"), ("farmland", "yjjbnt", "YJJBNT"), ("urban", "czkfbj", "CZKFBJ"))
CHECKS = (("overlaps", "NR101"), ("redline_use", "NR501"), ("control_overlaps", "NR401,NR402,NR403"))


def ensure_data(total):
    root = ROOT / "target" / "bench-data" / f"province-{total}"
    for c in COUNTIES:
        out = root / c
        if not (out / f"{D2}.gpkg").exists():
            log(f"generating {c} at {total // len(COUNTIES)} parcels …")
            peers.run([NRLEDGER, "gen", "--code", c, "--parcels", str(total // len(COUNTIES)), "--out", str(out)])
    return root


def record_findings(report):
    return {(f["rule"], tuple(f["fids"])): f["area_m2"] for f in report["findings"] if f["fids"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=10_000_000, help="parcels per vintage in the whole province")
    args = ap.parse_args()
    data = ensure_data(args.parcels)
    work = ROOT / "target" / "bench-peers" / f"province-{args.parcels}"
    work.mkdir(parents=True, exist_ok=True)
    reg = work / "province.gpkg"
    reg.unlink(missing_ok=True)
    secs, peak, rejected, parcels = {}, {}, {}, {D1: 0, D2: 0}
    t0 = time.perf_counter()

    # 1 import, county by county
    peers.run([NRLEDGER, "init", str(reg), "--crs", "EPSG:4549"])
    secs["import"], peak["import"] = 0.0, 0
    for date in (D1, D2):
        for c in COUNTIES:
            src = str(data / c / f"{date}.gpkg")
            cmds = [(["import", str(reg), src, "--layer", "parcels", "--profile", "sandiao-dltb", "--as-of", date, "--scope", c], "parcels")]
            if date == D2:
                for layer, profile, src_layer in ZONES:
                    cmd = ["import", str(reg), src, "--layer", layer, "--src-layer", src_layer, "--as-of", date, "--scope", c, "--keep-going"]
                    cmds.append((cmd + (["--profile", profile] if profile else []), layer))
            for cmd, layer in cmds:
                t, m, out, _ = peers.run([NRLEDGER] + cmd + ["--format", "json"], ok=(0, 1))
                secs["import"] += t
                peak["import"] = max(peak["import"], m)
                outcome = json.loads(out)["outcome"]
                if outcome["rejected"]:
                    rejected[f"{c} {layer}"] = outcome["rejected"]
                if layer == "parcels":
                    parcels[date] += outcome["inserted"] + outcome["unchanged"]
            log(f"imported {c} as of {date} ({secs['import']:.0f} s so far)")

    # 2–4 the check, streamed by county
    largest, counts, agree = 0, {}, True
    for step, only in CHECKS:
        t, m, out, err = peers.run([NRLEDGER, "check", str(reg), "--as-of", D2, "--by-county", "--only", only, "--format", "json"], ok=(0, 1))
        secs[step], peak[step] = t, m
        report = json.loads(out)
        largest = max([largest] + [c["records"] for c in report["counties"]])
        streamed = record_findings(report)
        counts[step] = len(streamed)
        # the same answers as the county-by-county checks
        union = {}
        for c in COUNTIES:
            _, _, o, _ = peers.run([NRLEDGER, "check", str(reg), "--as-of", D2, "--region", c, "--only", only, "--format", "json"], ok=(0, 1))
            union.update(record_findings(json.loads(o)))
        same = streamed.keys() == union.keys() and all(peers.close(streamed[k], union[k], peers.NOISE_M2) for k in streamed)
        agree &= same
        log(f"{step}: {len(streamed)} finding(s) in {t:.1f} s; county-by-county checks {'agree' if same else 'DISAGREE'}")

    # 5–6 the province's sheet, streamed by county
    env = dict(os.environ, NRLEDGER_TIMING="1")
    sheet_cmd = [NRLEDGER, "balance", str(reg), "--from", D1, "--to", D2, "--level", "2", "--unit", "m2", "--format", "json"]
    t, m, out, err = peers.run(sheet_cmd + ["--region", "3305", "--by-county"], env=env)
    secs["matrix"] = peers.matrix_seconds(err)
    secs["class_totals"] = t - secs["matrix"]
    peak["class_totals"] = peak["matrix"] = m
    streamed = peers.balance_answers(json.loads(out))["matrix"]
    log(f"province sheet streamed by county in {t:.1f} s")
    # the same answers as the county sheets added up (each county's sheet rounds to whole m²)
    summed = {}
    for c in COUNTIES:
        _, _, o, _ = peers.run(sheet_cmd + ["--region", c])
        for f, to, v in peers.balance_answers(json.loads(o))["matrix"]:
            summed[(f, to)] = summed.get((f, to), 0) + v
    cells = {(f, to): v for f, to, v in streamed}
    sheet_agree = all(abs(cells.get(k, 0) - summed.get(k, 0)) <= len(COUNTIES) for k in cells.keys() | summed.keys())
    agree &= sheet_agree
    log(f"streamed sheet vs the county sheets added up: {'agree' if sheet_agree else 'DISAGREE'} ({len(cells)} cells)")
    total = time.perf_counter() - t0

    lines = [
        f"#### Province: {parcels[D1]:,} / {parcels[D2]:,} parcels ({D1[:4]} / {D2[:4]}), {len(COUNTIES)} counties, streamed by county",
        "",
        f"Machine: {peers.machine()}",
        "",
        "| step | nrledger s | peak memory (MB) |",
        "|---|---:|---:|",
    ]
    for step in peers.STEPS:
        lines.append(f"| {peers.STEP_LABEL[step]} | {peers.fmt_s(secs[step])} | {peers.fmt_mb(peak[step])} |")
    lines.append(f"| end to end (with the county-by-county comparison checks) | {peers.fmt_s(total)} | {peers.fmt_mb(max(peak.values()))} |")
    lines += [
        "",
        f"Largest county window (records loaded at once by a check): {largest:,}. Findings: "
        + ", ".join(f"{k} {v}" for k, v in counts.items()),
        "",
        "Records the import refused (kept in the registry's rejects): " + (", ".join(f"{k}: {v}" for k, v in rejected.items()) or "none"),
        "",
        f"Answers, streamed check vs the county-by-county checks, and the streamed sheet's matrix vs the county sheets added up: **{'agree' if agree else 'DISAGREE'}**",
    ]
    md = "\n".join(lines)
    print(md)
    (work / "results.md").write_text(md + "\n")
    (work / "results.json").write_text(json.dumps({"secs": secs, "peak": peak, "parcels": parcels, "largest_window": largest, "findings": counts, "rejected": rejected, "agree": agree}, indent=1))
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
