#!/usr/bin/env python3
"""The service benchmark (`make bench-serve`, issue 21): `nrledger serve` and pygeoapi under the same bounded
load on loopback, on the generated county of about a million parcels per vintage.

    python3 benches/serve/load.py [--parcels 1000000] [--clients 1,8,32]

nrledger serves its registry (both surveys' parcels and the red lines); pygeoapi 0.21 (PyPI, in
target/serve-venv, under gunicorn) serves the same 2020 parcels, exported by `nrledger export` and loaded by
ogr2ogr into PostGIS (a throw-away cluster on 127.0.0.1, GiST-indexed, in CRS84 so pygeoapi transforms
nothing). The requests: a point lookup (nrledger's /lookup: every layer's record and its history), a page of
1 000 parcels in a 2 km box, one parcel by id, and vector tiles: parcels at z14 and z12 (their least detailed
zoom: at z10 a tile held most of the county and took seconds) against martin 1.14 (crates.io, in
target/bench-tools; the Rust tile server over the same PostGIS table, with the same buffer and extent, the same
parcel fields and its tile cache off, as nrledger keeps none), red lines at z10 (nrledger's alone). Each series is a fixed list of requests (seeded
random points and boxes) sent by the Rust load generator (benches/serve_load.rs) at 1, 8 and 32 clients, after
one untimed pass of the series against each server (warm caches for both); it stops by itself. Every answer must be a 200, the services must match the same number of features in each box
and draw the same number in each of the first tiles before a time is reported. Results: stdout and target/bench-serve/<n>/results.{md,json}.
"""
import argparse
import json
import os
import platform
import random
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benches" / "peers"))
import run as peers  # noqa: E402  (the peer bench's data, PostgreSQL cluster and process helpers)

NRLEDGER = ROOT / "target" / "release" / "nrledger"
VENV = ROOT / "target" / "serve-venv" / "bin"
MARTIN = ROOT / "target" / "bench-tools" / "bin" / "martin"
D1, D2 = "2019-12-31", "2020-12-31"
# requests per series (the same for both services)
COUNTS = {"lookup": 2000, "items": 100, "feature": 2000, "tile14": 1000, "tile12": 200, "redlines10": 100}
LABEL = {
    "lookup": "point lookup (what is here)",
    "items": "items: 1 000 parcels in a 2 km box",
    "feature": "one parcel by id",
    "tile14": "parcels tile z14",
    "tile12": "parcels tile z12 (their least detailed)",
    "redlines10": "red-line tile z10",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registry(data, work):
    reg = work / "registry.gpkg"
    if reg.exists():
        return reg
    log("building the registry (both surveys' parcels, the red lines) …")
    tmp = work / "registry.partial.gpkg"
    tmp.unlink(missing_ok=True)
    peers.run([str(NRLEDGER), "init", str(tmp), "--crs", "EPSG:4549"])
    for date in (D1, D2):
        peers.run([str(NRLEDGER), "import", str(tmp), str(data / f"{date}.gpkg"), "--layer", "parcels", "--src-layer", "DLTB", "--profile", "sandiao-dltb", "--as-of", date])
    peers.run([str(NRLEDGER), "import", str(tmp), str(data / f"{D2}.gpkg"), "--layer", "redlines", "--src-layer", "STBHHX", "--profile", "stbhhx", "--as-of", D2])
    tmp.rename(reg)
    return reg


def start_nrledger(reg):
    p = subprocess.Popen([str(NRLEDGER), "serve", str(reg), "--listen", "127.0.0.1:0", "--readers", "8"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = next(w for w in p.stdout.readline().split() if w.startswith("http://")).rstrip("/")
    return p, url


def start_pygeoapi(work, pg, extent):
    port = free_port()
    cfg = work / "pygeoapi.yml"
    cfg.write_text(f"""server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: 'http://127.0.0.1/{{z}}/{{x}}/{{y}}.png', attribution: none}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme, terms_of_service: none, url: 'http://127.0.0.1'}}
  license: {{name: none, url: 'http://127.0.0.1'}}
  provider: {{name: bench, url: 'http://127.0.0.1'}}
  contact: {{name: bench, position: bench, address: none, city: none, stateorprovince: none, postalcode: none, country: none, phone: none, fax: none, email: none, url: 'http://127.0.0.1', hours: none, instructions: none, role: pointOfContact}}
resources:
  parcels:
    type: collection
    title: parcels
    description: the 2020 parcels exported by nrledger
    keywords: [parcels]
    extents:
      spatial: {{bbox: {json.dumps(extent)}, crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: 127.0.0.1, port: {pg.port}, dbname: bench, user: postgres, password: '', search_path: [public]}}
        id_field: fid
        table: parcels
        geom_field: geom
""")
    env = dict(os.environ, PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(work / "openapi.yml"))
    peers.run([str(VENV / "pygeoapi"), "openapi", "generate", str(cfg), "--output-file", str(work / "openapi.yml")], env=env)
    workers = str(2 * (os.cpu_count() or 1) + 1)
    p = subprocess.Popen([str(VENV / "gunicorn"), "pygeoapi.flask_app:APP", "-w", workers, "-b", f"127.0.0.1:{port}", "--timeout", "300"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    return p, url, workers


def start_martin(work, pg):
    """martin over the PostGIS parcels: the fields nrledger's parcel tiles carry, its buffer and extent, no cache."""
    port = free_port()
    cfg = work / "martin.yml"
    fields = "\n".join(f"        {f}: varchar" for f in ("bsm", "dlbm", "dlmc", "qsxz", "zldwmc", "tbdlmj"))
    cfg.write_text(f"""listen_addresses: '127.0.0.1:{port}'
cache_size_mb: 0
postgres:
  connection_string: 'postgresql://postgres@127.0.0.1:{pg.port}/bench'
  auto_publish: false
  tables:
    parcels:
      schema: public
      table: parcels
      srid: 4326
      geometry_column: geom
      geometry_type: MULTIPOLYGON
      id_column: fid
      extent: 4096
      buffer: 64
      clip_geom: true
      properties:
{fields}
""")
    p = subprocess.Popen([str(MARTIN), "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=open(work / "martin.log", "w"))
    for _ in range(600):
        if p.poll() is not None:
            raise SystemExit(f"martin stopped ({p.returncode}): {(work / 'martin.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    return p, f"http://127.0.0.1:{port}"


def mvt_features(data):
    """The number of features in an MVT tile (protobuf: Tile.layers = 3, Layer.features = 2)."""
    def varint(b, i):
        v = shift = 0
        while True:
            v |= (b[i] & 0x7F) << shift
            i += 1
            if b[i - 1] < 0x80:
                return v, i
            shift += 7

    def fields(b):
        i = 0
        while i < len(b):
            key, i = varint(b, i)
            kind = key & 7
            if kind == 0:
                _, i = varint(b, i)
            elif kind == 2:
                n, i = varint(b, i)
                yield key >> 3, b[i:i + n]
                i += n
            elif kind == 5:
                i += 4
            elif kind == 1:
                i += 8
            else:
                raise ValueError(f"wire type {kind}")

    return sum(1 for f, layer in fields(data) if f == 3 for g, _ in fields(layer) if g == 2)


def get_bytes(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=300) as r:
        return r.read()


def get_json(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=300) as r:
        return json.loads(r.read())


def tile_of(lon, lat, z):
    import math
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def requests(extent, nr_fids, pg_fids):
    """The request lists: name → (nrledger paths, pygeoapi paths or None)."""
    rnd = random.Random(21)
    w, s, e, n = extent
    dlon, dlat = 2000 / (111320 * 0.86), 2000 / 110574  # 2 km at about 30.6°N
    point = lambda: (rnd.uniform(w + (e - w) * 0.1, e - (e - w) * 0.1), rnd.uniform(s + (n - s) * 0.1, n - (n - s) * 0.1))
    out = {}
    pts = [point() for _ in range(COUNTS["lookup"])]
    out["lookup"] = ([f"/lookup?at={x:.6f},{y:.6f}" for x, y in pts], None)
    boxes = []
    for _ in range(COUNTS["items"]):
        x, y = point()
        boxes.append(f"{x:.6f},{y:.6f},{x + dlon:.6f},{y + dlat:.6f}")
    out["items"] = ([f"/collections/parcels/items?bbox={b}&limit=1000" for b in boxes],
                    [f"/collections/parcels/items?bbox={b}&limit=1000&f=json" for b in boxes])
    out["feature"] = ([f"/collections/parcels/items/{f}" for f in rnd.sample(nr_fids, COUNTS["feature"])],
                      [f"/collections/parcels/items/{f}?f=json" for f in rnd.sample(pg_fids, COUNTS["feature"])])
    for name, layer, z in (("tile14", "parcels", 14), ("tile12", "parcels", 12), ("redlines10", "redlines", 10)):
        tiles = [tile_of(*point(), z) for _ in range(COUNTS[name])]
        peer = [f"/{layer}/{z}/{x}/{y}" for x, y in tiles] if layer == "parcels" else None
        out[name] = ([f"/tiles/{layer}/{z}/{x}/{y}.mvt" for x, y in tiles], peer)
    return out


def load(loader, work, base, paths, clients):
    urls = work / "urls.txt"
    urls.write_text("".join(base + p + "\n" for p in paths))
    out = subprocess.run([str(loader), str(urls), str(clients)], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["failed"]:
        raise SystemExit(f"{res['failed']} request(s) failed against {base}: {out.stderr[-2000:]}")
    return res


def rss(pids):
    """Resident memory (VmRSS) of the processes and their children, and nrledger's peak (VmHWM)."""
    total = 0
    for pid in pids:
        for p in [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
            try:
                status = Path(f"/proc/{p}/status").read_text()
                total += int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1]) * 1024
            except (OSError, StopIteration):
                pass
    return total


def peak(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--loader", help="the serve_load binary (default: built by cargo bench --no-run)")
    a = ap.parse_args()
    clients = [int(c) for c in a.clients.split(",")]
    if not a.loader:
        out = subprocess.run(["cargo", "bench", "--locked", "--no-run", "--bench", "serve_load", "--message-format=json"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        a.loader = next(m["executable"] for m in map(json.loads, out.splitlines()) if m.get("target", {}).get("name") == "serve_load" and m.get("executable"))
    data = peers.ensure_data(a.parcels)
    work = ROOT / "target" / "bench-serve" / str(a.parcels)
    work.mkdir(parents=True, exist_ok=True)
    reg = registry(data, work)
    exported = work / f"parcels-{D2}.gpkg"
    if not exported.exists():
        peers.run([str(NRLEDGER), "export", str(reg), "--layer", "parcels", "--as-of", D2, "--out", str(exported)])
    nr_fids = [r[0] for r in sqlite3.connect(reg).execute("SELECT fid FROM parcels_current")]
    nr, nr_url = start_nrledger(reg)
    results, sizes = {}, {}
    try:
        extent = get_json(f"{nr_url}/collections/parcels")["extent"]["spatial"]["bbox"][0]
        with peers.Postgres() as pg:
            log("loading the exported parcels into PostGIS …")
            peers.run(["ogr2ogr", "-f", "PostgreSQL", "PG:" + pg.conn(), str(exported), "-nln", "parcels", "-t_srs", "EPSG:4326",
                       "-nlt", "MULTIPOLYGON", "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-lco", "SPATIAL_INDEX=GIST"])
            # vacuumed, analysed and checkpointed now, so that neither autovacuum nor the checkpointer works during the timings
            pg.psql(["-c", "VACUUM (ANALYZE) parcels"])
            pg.psql(["-c", "CHECKPOINT"])
            pg_fids = [int(x) for x in pg.psql(["-At", "-c", "SELECT fid FROM parcels"])[2].split()]
            py, py_url, workers = start_pygeoapi(work, pg, extent)
            mt, mt_url = start_martin(work, pg)
            try:
                reqs = requests(extent, nr_fids, pg_fids)
                # the same boxes match the same parcels in both
                for nr_path, py_path in list(zip(*reqs["items"]))[:5]:
                    a_n = get_json(nr_url + nr_path.replace("limit=1000", "limit=1"))["numberMatched"]
                    b_n = get_json(py_url + py_path.replace("limit=1000", "limit=1"))["numberMatched"]
                    if a_n != b_n:
                        raise SystemExit(f"the services disagree on {nr_path}: nrledger {a_n}, pygeoapi {b_n}")
                # the same tiles draw the same parcels in both (but for a rare sliver at the buffer's edge)
                drawn = 0
                for nr_path, mt_path in list(zip(*reqs["tile14"]))[:10]:
                    a_n, b_n = mvt_features(get_bytes(nr_url + nr_path)), mvt_features(get_bytes(mt_url + mt_path))
                    if abs(a_n - b_n) > 0.01 * a_n:
                        raise SystemExit(f"the tile servers disagree on {nr_path}: nrledger {a_n}, martin {b_n}")
                    drawn += a_n > 0
                if drawn < 5:
                    raise SystemExit(f"only {drawn} of the first 10 z14 tiles hold parcels: nothing to compare")
                for name, (nr_paths, peer_paths) in reqs.items():
                    peer_url = mt_url if name.startswith("tile") else py_url
                    # each server answers the series once untimed first: the times are of warm caches (the
                    # registry's pages, PostgreSQL's buffers), a server's steady state, for both alike
                    load(a.loader, work, nr_url, nr_paths, clients[0])
                    if peer_paths:
                        load(a.loader, work, peer_url, peer_paths, clients[0])
                    for c in clients:
                        log(f"{name} × {len(nr_paths)} at {c} client(s) …")
                        results[(name, c, "nrledger")] = load(a.loader, work, nr_url, nr_paths, c)
                        if peer_paths:
                            results[(name, c, "peer")] = load(a.loader, work, peer_url, peer_paths, c)
                sizes["nrledger"] = (peak(nr.pid), rss([nr.pid]))
                sizes["pygeoapi"] = (None, rss([py.pid, pg.pid]))
                sizes["martin"] = (None, rss([mt.pid]))
            finally:
                for p in (py, mt):
                    p.terminate()
                    p.wait()
    finally:
        nr.terminate()
        nr.wait()
    report(a, results, sizes, workers)


def report(a, results, sizes, workers):
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    lines = [
        f"Run on {time.strftime('%Y-%m-%d')} with commit {commit} on {cpu}, {os.cpu_count()} cores, Debian; "
        f"{a.parcels:,} parcels per vintage; nrledger serve (8 readers); the peers over PostGIS: pygeoapi 0.21 "
        f"(gunicorn, {workers} workers) for features, martin 1.14 (no tile cache) for tiles; all on 127.0.0.1; "
        "loads from benches/serve_load.rs.",
        "",
        "| request | clients | nrledger p50 / p95 / p99 ms | nrledger req/s | peer | peer p50 / p95 / p99 ms | peer req/s | throughput ÷ peer |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name in LABEL:
        for c in sorted({k[1] for k in results}):
            n = results.get((name, c, "nrledger"))
            if not n:
                continue
            p = results.get((name, c, "peer"))
            peer = "martin" if name.startswith("tile") else "pygeoapi"
            lat = lambda r: f"{r['p50_ms']:.1f} / {r['p95_ms']:.1f} / {r['p99_ms']:.1f}"
            lines.append(
                f"| {LABEL[name]} | {c} | {lat(n)} | {n['per_second']:.0f} | "
                + (f"{peer} | {lat(p)} | {p['per_second']:.1f} | {n['per_second'] / p['per_second']:.1f}× |" if p else "— | — | — | |")
            )
    hwm, now = sizes["nrledger"]
    lines += ["", f"nrledger's resident memory after the run: {now / 2**20:,.0f} MB (peak {hwm / 2**20:,.0f} MB); "
              f"pygeoapi's workers and PostgreSQL's: {sizes['pygeoapi'][1] / 2**20:,.0f} MB; martin's: {sizes['martin'][1] / 2**20:,.0f} MB."]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "target" / "bench-serve" / str(a.parcels)
    (out / "results.md").write_text(text + "\n")
    (out / "results.json").write_text(json.dumps({f"{k[0]}|{k[1]}|{k[2]}": v for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
