#!/usr/bin/env python3
"""The peer benchmark's six steps done with GeoPandas and Shapely 2, the way an experienced analyst would
write them: vectorised Shapely calls on whole arrays, an STRtree for every join, an equal-area projection
for areas. See benches/peers/README.md for what each step computes; the answers go to one JSON file that
run.py compares with nrledger's and PostGIS's.

usage: geopandas_steps.py DATA_DIR RULES_CSV OUT_JSON
"""
import csv
import json
import sys
import time
from collections import defaultdict

import geopandas as gpd
import numpy as np
import shapely

D1, D2 = "2019-12-31", "2020-12-31"
# Lambert cylindrical equal-area on the CGCS2000 ellipsoid: the authalic map in which nrledger integrates
# ellipsoidal areas, so planar area there is the ellipsoidal area of a polygon densified to 100 m.
EQUAL_AREA = "+proj=cea +lon_0=120 +lat_ts=0 +a=6378137 +rf=298.257222101 +units=m +no_defs"
IGNORE_M2 = 1e-4  # pieces at or below this are shared-edge noise (checks.toml ignore_area_m2)
OVERLAP_NOISE_M2 = 1.0  # overlaps at or below this (planar) are left alone when resolving (as nrledger)
TIANKAN = "1203"

times = {}


class Step:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.t = time.perf_counter()

    def __exit__(self, *exc):
        times[self.name] = time.perf_counter() - self.t
        print(f"  geopandas {self.name}: {times[self.name]:.2f} s", file=sys.stderr, flush=True)


# the pieces a check finds are densified finer, to 5 m, as nrledger's are (area::PIECE_DENSIFY_METRES): a red
# line's long straight edges across a parcel otherwise differ from nrledger's area by about 1e-6 of it
PIECE_M = 5.0


def ell_area(geoms, crs, step=100.0):
    """Ellipsoidal area (m²) of an array of geometries: densified to `step` m, then planar in the equal-area map."""
    dens = shapely.segmentize(np.asarray(geoms), step)
    return gpd.GeoSeries(dens, crs=crs).to_crs(EQUAL_AREA).area.to_numpy()


def interior_pairs(a, b, same):
    """Index pairs (i, j) of a × b whose interiors meet (i < j and i ≠ j when same)."""
    tree = shapely.STRtree(b)
    i, j = tree.query(a, predicate="intersects")
    if same:
        keep = i < j
        i, j = i[keep], j[keep]
    inner = shapely.relate_pattern(a[i], b[j], "T********")
    return i[inner], j[inner]


def read(path, layer):
    return gpd.read_file(path, layer=layer, engine="pyogrio", use_arrow=True)


def deduction(df):
    """田坎 share: KCMJ / TBMJ when both are given, else KCXS, else 0 — clamped to 0–1."""
    tbmj, kcmj, kcxs = (df[c].astype(float).to_numpy() for c in ("TBMJ", "KCMJ", "KCXS"))
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where((tbmj > 0) & ~np.isnan(kcmj), kcmj / tbmj, np.where(~np.isnan(kcxs), kcxs, 0.0))
    return np.clip(np.nan_to_num(k), 0.0, 1.0)


def resolve(df):
    """Pieces of a vintage: the parcel with the lower BSM (registered earlier) keeps an overlap."""
    g = np.asarray(df.geometry.values)
    i, j = interior_pairs(g, g, True)
    inter = shapely.intersection(g[i], g[j])
    big = shapely.area(inter) > OVERLAP_NOISE_M2
    i, j, inter = i[big], j[big], inter[big]
    bsm = df["BSM"].to_numpy()
    loser = np.where(bsm[i] > bsm[j], i, j)
    geoms = g.copy()
    lost = defaultdict(list)
    for lo, piece in zip(loser, inter):
        lost[lo].append(piece)
    for lo, pieces in lost.items():
        geoms[lo] = shapely.difference(geoms[lo], shapely.union_all(pieces))
    return geoms


def main():
    data, rules_csv, out = sys.argv[1:4]
    f1, f2 = f"{data}/{D1}.gpkg", f"{data}/{D2}.gpkg"
    answers = {}
    t_all = time.perf_counter()

    with Step("import"):
        p1, p2 = read(f1, "DLTB"), read(f2, "DLTB")
        red, farm, urban = read(f2, "STBHHX"), read(f2, "YJJBNT"), read(f2, "CZKFBJ")
        crs = p2.crs
        rules = defaultdict(list)
        with open(rules_csv, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rules[row["zone"]].append((row["code"], row["verdict"] == "prohibited"))

    with Step("overlaps"):
        g = np.asarray(p2.geometry.values)
        i, j = interior_pairs(g, g, True)
        inter = shapely.intersection(g[i], g[j])
        area = ell_area(inter, crs, PIECE_M)
        bsm = p2["BSM"].to_numpy()
        answers["overlaps"] = [[*sorted((bsm[a], bsm[b])), float(x)] for a, b, x in zip(i, j, area) if x > IGNORE_M2]

    with Step("redline_use"):
        def prohibited(zone, code):
            hits = [(len(p), bad) for p, bad in rules.get(zone, []) if code.startswith(p)]
            return max(hits)[1] if hits else False

        tree = shapely.STRtree(g)
        cls = p2["DLBM"].to_numpy()
        out_rows = []
        for rg, zone, key in zip(red.geometry.values, red["GKFQ"], red["HXBH"]):
            idx = tree.query(rg, predicate="intersects")
            idx = idx[[prohibited(zone, c) for c in cls[idx]]]
            shapely.prepare(rg)
            covered = shapely.covered_by(g[idx], rg)
            pieces = np.where(covered, g[idx], shapely.intersection(g[idx], rg))
            area = ell_area(pieces, crs, PIECE_M)
            out_rows += [[bsm[k], key, float(x)] for k, x in zip(idx, area) if x > IGNORE_M2]
        answers["redline_use"] = out_rows

    with Step("control_overlaps"):
        rows = []
        for kind, (a, ka), (b, kb) in [
            ("redline-farmland", (red, "HXBH"), (farm, "BHKBH")),
            ("redline-urban", (red, "HXBH"), (urban, "BJBH")),
            ("farmland-urban", (farm, "BHKBH"), (urban, "BJBH")),
        ]:
            ga, gb = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
            i, j = interior_pairs(ga, gb, False)
            area = ell_area(shapely.intersection(ga[i], gb[j]), crs, PIECE_M)
            rows += [[kind, a[ka].iloc[x], b[kb].iloc[y], float(v)] for x, y, v in zip(i, j, area) if v > IGNORE_M2]
        answers["control_overlaps"] = rows

    with Step("class_totals"):
        pieces, totals = {}, {}
        for date, df in ((D1, p1), (D2, p2)):
            geoms = resolve(df)
            area = ell_area(geoms, crs)
            k = deduction(df)
            s = defaultdict(float)
            for c, a, kk in zip(df["DLBM"], area, k):
                s[c] += a * (1 - kk)
                s[TIANKAN] += a * kk
            totals[date] = dict(s)
            pieces[date] = (geoms, df["DLBM"].to_numpy(), k)
        answers["class_totals"] = totals

    with Step("matrix"):
        (ga, ca, ka), (gb, cb, kb) = pieces[D1], pieces[D2]
        tree = shapely.STRtree(gb)
        i, j = tree.query(ga, predicate="intersects")
        inter = shapely.intersection(ga[i], gb[j])
        keep = shapely.area(inter) > IGNORE_M2
        i, j, inter = i[keep], j[keep], inter[keep]
        area = ell_area(inter, crs)
        k1, k2 = ka[i], kb[j]
        m = defaultdict(float)
        for f, t, x, y, a in zip(ca[i], cb[j], k1, k2, area):
            for ff, tt, v in ((f, t, a * (1 - max(x, y))), (TIANKAN, TIANKAN, a * min(x, y)), (f, TIANKAN, a * max(y - x, 0)), (TIANKAN, t, a * max(x - y, 0))):
                if v:
                    m[(ff, tt)] += v
        answers["matrix"] = [[f, t, v] for (f, t), v in sorted(m.items())]

    times["total"] = time.perf_counter() - t_all
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"tool": "geopandas", "versions": versions(), "seconds": times, "answers": answers}, fh, ensure_ascii=False)


def versions():
    import pyogrio
    import pyproj

    return {
        "geopandas": gpd.__version__,
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "pyogrio": pyogrio.__version__,
        "gdal (pyogrio wheel)": pyogrio.__gdal_version_string__,
        "pyproj": pyproj.__version__,
    }


if __name__ == "__main__":
    main()
