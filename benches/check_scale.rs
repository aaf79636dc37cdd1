//! Scale benchmark of import and check (issue 3): a generated county of N parcels per vintage (default
//! 100 000 and 1 000 000; `NRLEDGER_BENCH_SIZES=100000,1000000`), red lines, farmland and the urban
//! boundary, imported into a fresh registry and checked — each step timed as a whole command of the release
//! binary with its peak memory (GNU time). Data are cached under `target/bench-data/`.
//!
//! Run with `make bench` (which builds the release binary and installs GNU time). Prints a Markdown table.

use std::path::{Path, PathBuf};

mod common;

fn timed(bin: &Path, args: &[&str]) -> (f64, f64, String) {
    // check exits 1 when it finds errors (the generated counties have injected defects)
    common::timed_with(bin, args, |code| code == 1 && args[0] == "check")
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("target/release/nrledger");
    assert!(bin.exists(), "build the release binary first (make bench does)");
    let sizes: Vec<usize> = std::env::var("NRLEDGER_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("sizes are numbers"))
        .collect();
    println!("| parcels | step | seconds | peak memory (MB) |\n|---:|---|---:|---:|");
    for n in sizes {
        let data = root.join(format!("target/bench-data/{n}"));
        if !data.join("2020-12-31.gpkg").exists() {
            let (t, m, _) = timed(&bin, &["gen", "--out", data.to_str().unwrap(), "--parcels", &n.to_string()]);
            eprintln!("generated {n} parcels in {t:.1} s ({m:.0} MB)");
        }
        let reg = data.join("registry.gpkg");
        let _ = std::fs::remove_file(&reg);
        timed(&bin, &["init", reg.to_str().unwrap(), "--crs", "EPSG:4549"]);
        let src = data.join("2020-12-31.gpkg");
        let mut actual = 0;
        for (layer, profile, src_layer) in [
            ("parcels", "sandiao-dltb", "DLTB"),
            ("admin", "", "XZQ"),
            ("redlines", "stbhhx", "STBHHX"),
            ("farmland", "yjjbnt", "YJJBNT"),
            ("urban", "czkfbj", "CZKFBJ"),
        ] {
            let mut args = vec![
                "import",
                reg.to_str().unwrap(),
                src.to_str().unwrap(),
                "--layer",
                layer,
                "--src-layer",
                src_layer,
                "--as-of",
                "2020-12-31",
            ];
            if !profile.is_empty() {
                args.extend(["--profile", profile]);
            }
            let (t, m, out) = timed(&bin, &args);
            if layer == "parcels" {
                actual = out
                    .split_whitespace()
                    .skip_while(|w| *w != "2020-12-31:")
                    .nth(1)
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0);
                println!("| {actual} | import parcels | {t:.1} | {m:.0} |");
            }
        }
        let (t, m, out) = timed(&bin, &["check", reg.to_str().unwrap()]);
        println!("| {actual} | check (all rules, with red lines, farmland, urban boundary) | {t:.1} | {m:.0} |");
        let errors: usize = out.lines().filter(|l| l.starts_with("NR") && l.contains(" error ")).count();
        eprintln!("{n}: {errors} error finding(s)");
    }
}
