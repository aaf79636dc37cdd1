//! Scale benchmark of the balance sheet (issue 4): a generated county of N parcels per vintage (default
//! 100 000 and 1 000 000; `NRLEDGER_BENCH_SIZES=100000,1000000`), both vintages imported into a fresh
//! registry with the admin outline, red lines and farmland, then `nrledger balance` between them — the
//! two-vintage overlay, the transition matrix and every table — timed as a whole command of the release
//! binary with its peak memory (GNU time). Data are cached under `target/bench-data/`.
//!
//! Run with `make bench`. Prints a Markdown table.

use std::path::{Path, PathBuf};

mod common;

fn timed(bin: &Path, args: &[&str]) -> (f64, f64, String) {
    common::timed_with(bin, args, |_| false)
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
    println!("| parcels per vintage | step | seconds | peak memory (MB) |\n|---:|---|---:|---:|");
    for n in sizes {
        let data = root.join(format!("target/bench-data/{n}"));
        // the generator's current layout (townships, forest stands, tabular inputs)
        if !data.join("forest-changes.csv").exists() {
            let (t, m, _) = timed(&bin, &["gen", "--out", data.to_str().unwrap(), "--parcels", &n.to_string()]);
            eprintln!("generated {n} parcels in {t:.1} s ({m:.0} MB)");
        }
        let reg = data.join("balance.gpkg");
        let _ = std::fs::remove_file(&reg);
        timed(&bin, &["init", reg.to_str().unwrap(), "--crs", "EPSG:4549"]);
        let mut actual = 0;
        for date in ["2019-12-31", "2020-12-31"] {
            let src = data.join(format!("{date}.gpkg"));
            for (layer, profile, src_layer) in [
                ("admin", "", "XZQ"),
                ("parcels", "sandiao-dltb", "DLTB"),
                ("redlines", "stbhhx", "STBHHX"),
                ("farmland", "yjjbnt", "YJJBNT"),
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
                    date,
                ];
                if !profile.is_empty() {
                    args.extend(["--profile", profile]);
                }
                let (t, m, out) = timed(&bin, &args);
                if layer == "parcels" {
                    // "…: read N feature(s) from layer DLTB …"
                    let read: usize = out
                        .split_whitespace()
                        .skip_while(|w| *w != "read")
                        .nth(1)
                        .and_then(|w| w.parse().ok())
                        .unwrap_or(0);
                    actual = actual.max(read);
                    eprintln!("{n}: imported the {date} parcels in {t:.1} s ({m:.0} MB)");
                }
            }
        }
        let r = reg.to_str().unwrap();
        let period = ["--from", "2019-12-31", "--to", "2020-12-31", "--region", "330523"];
        let mut args = vec!["balance", r];
        args.extend(period);
        let (t, m, out) = timed(&bin, &args);
        println!(
            "| {actual} | balance sheet (overlay of both vintages, matrix, every table; text) | {t:.1} | {m:.0} |"
        );
        assert!(out.contains("土地利用转移矩阵"));
        let xlsx = data.join("balance.xlsx");
        let _ = std::fs::remove_file(&xlsx);
        args.extend(["--level", "2", "--format", "xlsx", "--out", xlsx.to_str().unwrap()]);
        let (t, m, _) = timed(&bin, &args);
        println!("| {actual} | balance sheet, second level, XLSX workbook | {t:.1} | {m:.0} |");
    }
}
