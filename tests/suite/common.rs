//! Helpers shared by the integration tests: run the real binary, locate fixtures.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

pub fn seed(rel: &str) -> PathBuf {
    root().join("seeds/anji").join(rel)
}

pub fn nrledger() -> Command {
    Command::cargo_bin("nrledger").unwrap()
}

/// Run and return (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    run_env(&[], args)
}

/// [`run`] with these environment variables set.
pub fn run_env(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = nrledger().envs(env.iter().copied()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A fresh registry in EPSG:4549 (CGCS2000 3° GK zone 40, no prefix).
pub fn registry(dir: &Path) -> PathBuf {
    let reg = dir.join("r.gpkg");
    let (code, _, err) = run(&["init", s(&reg), "--crs", "EPSG:4549"]);
    assert_eq!(code, 0, "{err}");
    reg
}

/// Import `src` into the parcels layer with the 三调 profile as of `as_of`, with `extra` arguments:
/// (exit code, stdout, stderr).
pub fn import_dltb(reg: &Path, src: &Path, as_of: &str, extra: &[&str]) -> (i32, String, String) {
    let mut a = vec!["import", s(reg), s(src), "--layer", "parcels", "--as-of", as_of, "--profile", "sandiao-dltb"];
    a.extend_from_slice(extra);
    run(&a)
}

/// Write `text` to the file `name` in `dir`; its path.
pub fn write_file(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Count rows of a table through SQLite.
pub fn count(reg: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(reg).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A rectangle [x0, x1] × [y0, y1] metres from (500 000, 3 300 000) in EPSG:4549, as GeoJSON polygon
/// coordinates (hand-made cases with known areas).
pub fn rect(x0: f64, x1: f64, y0: f64, y1: f64) -> String {
    let (x, y) = (500_000.0, 3_300_000.0);
    format!("[[[{a},{b}],[{c},{b}],[{c},{e}],[{a},{e}],[{a},{b}]]]", a = x + x0, b = y + y0, c = x + x1, e = y + y1)
}

/// A GeoJSON FeatureCollection in EPSG:4549 of polygons with their properties (JSON objects as text).
pub fn collection(props: &[&str], geoms: &[String]) -> String {
    let feats: Vec<String> = props
        .iter()
        .zip(geoms)
        .map(|(p, g)| {
            format!(r#"{{"type":"Feature","properties":{p},"geometry":{{"type":"Polygon","coordinates":{g}}}}}"#)
        })
        .collect();
    feature_collection(&feats)
}

/// A GeoJSON FeatureCollection in EPSG:4549 of features given as JSON text.
pub fn feature_collection(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"EPSG:4549"}}}},"features":[{}]}}"#,
        features.join(",")
    )
}

/// A registry of the demo county (`seeds/anji`) with both vintages of the admin layer and of the given
/// (layer, profile) pairs.
pub fn demo_registry_with(dir: &Path, layers: &[(&str, &str)]) -> PathBuf {
    let reg = dir.join("anji.gpkg");
    assert_eq!(run(&["init", s(&reg), "--region", "330523"]).0, 0);
    for d in ["2019-12-31", "2020-12-31"] {
        let src = seed(&format!("{d}.gpkg"));
        let (c, _, e) = run(&["import", s(&reg), s(&src), "--layer", "admin", "--src-layer", "XZQ", "--as-of", d]);
        assert_eq!(c, 0, "{e}");
        for (layer, profile) in layers {
            let (c, o, e) = run(&["import", s(&reg), s(&src), "--layer", layer, "--profile", profile, "--as-of", d]);
            assert_eq!(c, 0, "{layer} {d}: {o}{e}");
        }
    }
    // every layer's R-tree is sound, whether the import packed it (the 3 208 parcels of 2019) or inserted
    // its entries one by one (the zones, the 2020 changes)
    for layer in std::iter::once("admin").chain(layers.iter().map(|l| l.0)) {
        assert_eq!(rtree_check(&reg, layer), "ok", "{layer}");
        // the extent the second vintage's import widened (not scanned) is the R-tree's, for both the
        // layer and its current view
        let c = rusqlite::Connection::open(&reg).unwrap();
        let scanned: [f64; 4] = c
            .query_row(&format!("SELECT min(minx), max(maxx), min(miny), max(maxy) FROM rtree_{layer}_geom"), [], |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?])
            })
            .unwrap();
        for table in [layer.to_string(), format!("{layer}_current")] {
            let stored: [f64; 4] = c
                .query_row(
                    "SELECT min_x, max_x, min_y, max_y FROM gpkg_contents WHERE table_name = ?1",
                    [&table],
                    |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
                )
                .unwrap();
            assert_eq!(stored, scanned, "{table}");
        }
    }
    reg
}

/// SQLite's own consistency check of a layer's R-tree (`rtreecheck`): "ok" or what is wrong.
pub fn rtree_check(reg: &Path, layer: &str) -> String {
    let c = rusqlite::Connection::open(reg).unwrap();
    c.query_row(&format!("SELECT rtreecheck('rtree_{layer}_geom')"), [], |r| r.get(0)).unwrap()
}

/// The transition matrix of a land account in a sheet's JSON (`sheet["land"]`, `sheet["land_level2"]`) as
/// (from, to) → m², non-zero cells only.
pub fn cells(acc: &serde_json::Value) -> std::collections::BTreeMap<(String, String), i64> {
    let codes: Vec<String> =
        acc["classes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_string()).collect();
    let mut m = std::collections::BTreeMap::new();
    for (i, row) in acc["matrix"].as_array().unwrap().iter().enumerate() {
        for (j, v) in row.as_array().unwrap().iter().enumerate() {
            let v = v.as_i64().unwrap();
            if v != 0 {
                m.insert((codes[i].clone(), codes[j].clone()), v);
            }
        }
    }
    m
}

/// GDAL's GeoPackage validator (`validate_gpkg.py` of the `gdal-utils` package, installed by `make test`
/// into `target/test-venv`), run with `-k --extra` on a file: what it reports, empty when the file conforms.
pub fn gpkg_conformance(path: &Path) -> String {
    let python = root().join("target/test-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make test-deps` installs GDAL's GeoPackage validator there",
        python.display()
    );
    let out = std::process::Command::new(python)
        .args(["-m", "osgeo_utils.samples.validate_gpkg", "-k", "--extra"])
        .arg(path)
        .output()
        .unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)).trim().to_string()
        + if out.status.success() { "" } else { " (validator exit status not 0)" }
}

/// Start an import that pauses inside its write transaction (the fault seam) for `secs` seconds; returns
/// once it has reached the pause.
pub fn paused_import(reg: &Path, src: &Path, as_of: &str, after: usize, secs: &str) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("nrledger"))
        .args(["import", s(reg), s(src), "--layer", "parcels", "--profile", "sandiao-dltb", "--as-of", as_of])
        .env("NRLEDGER_FAULT_PAUSE_AFTER", after.to_string())
        .env("NRLEDGER_FAULT_PAUSE_SECS", secs)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let reached =
        lines.map_while(Result::ok).any(|l| l.contains(&format!("NRLEDGER_FAULT_PAUSE reached after {after} records")));
    assert!(reached, "the import never reached the pause point");
    child
}
