//! The generator is deterministic: the committed seeds are exactly what `nrledger gen` produces, and the
//! generated tiling is clean.

use crate::common::*;

use geo::{Area, BooleanOps};
use nrledger::io::source::{read, SourceGeometry, SourceRequest};
use nrledger::progress::Progress;

/// (attributes, WKB) of every feature of every layer, in order.
fn content(path: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let mut out = vec![];
    for layer in ["DLTB", "XZQ", "STBHHX", "YJJBNT", "CZKFBJ", "XB", "ZRZYDJDY"] {
        let src = read(
            &SourceRequest { path: path.to_path_buf(), layer: Some(layer.into()), ..Default::default() },
            &Progress::hidden(),
        )
        .unwrap();
        for f in src.features {
            let geom = match f.geometry {
                SourceGeometry::Polygonal { mp, .. } => format!("{mp:?}"),
                other => format!("{other:?}"),
            };
            let mut v: Vec<String> = f.values.iter().map(|v| v.to_string()).collect();
            v.push(geom);
            out.push((layer.to_string(), v));
        }
    }
    out
}

#[test]
fn committed_seeds_are_reproduced_exactly() {
    let d = tempfile::tempdir().unwrap();
    let (c, _, e) = run(&["gen", "--out", s(d.path())]);
    assert_eq!(c, 0, "{e}");
    for f in ["2019-12-31.gpkg", "2020-12-31.gpkg"] {
        assert!(content(&d.path().join(f)) == content(&seed(f)), "{f} differs from seeds/anji: run `make seeds`");
    }
    for f in ["defects.json", "forest-changes.csv", "water.csv", "targets.toml"] {
        let a = std::fs::read_to_string(d.path().join(f)).unwrap();
        assert_eq!(a, std::fs::read_to_string(seed(f)).unwrap(), "{f} differs from seeds/anji: run `make seeds`");
    }
}

#[test]
fn a_different_seed_gives_different_data_and_the_first_vintage_tiles_the_county() {
    let d = tempfile::tempdir().unwrap();
    let (c, _, e) = run(&["gen", "--out", s(d.path()), "--parcels", "400", "--seed", "7"]);
    assert_eq!(c, 0, "{e}");
    let p = d.path().join("2019-12-31.gpkg");
    assert!(content(&p) != content(&seed("2019-12-31.gpkg")));
    // the 2019 parcels cover the outline without overlaps: sum of parcel areas = outline area = union area
    let parcels =
        read(&SourceRequest { path: p.clone(), layer: Some("DLTB".into()), ..Default::default() }, &Progress::hidden())
            .unwrap();
    let outline =
        read(&SourceRequest { path: p, layer: Some("XZQ".into()), ..Default::default() }, &Progress::hidden()).unwrap();
    let polys: Vec<geo::MultiPolygon<f64>> = parcels
        .features
        .into_iter()
        .filter_map(|f| match f.geometry {
            SourceGeometry::Polygonal { mp, .. } => Some(mp),
            _ => None,
        })
        .collect();
    let SourceGeometry::Polygonal { mp: county, .. } = &outline.features[0].geometry else { panic!() };
    let sum: f64 = polys.iter().map(|p| p.unsigned_area()).sum();
    let union = geo::unary_union(polys.iter().flat_map(|m| m.0.iter()));
    let crumbs = county.difference(&union).unsigned_area();
    assert!((sum - union.unsigned_area()).abs() / sum < 1e-9, "parcels overlap: {sum} vs {}", union.unsigned_area());
    // only crumbs under 1 % of a cell along the outline are dropped
    assert!(crumbs / county.unsigned_area() < 2e-3, "gaps: {crumbs} m²");
}

/// The polygons of a layer of a generated file.
fn polygons(path: &std::path::Path, layer: &str) -> Vec<(Vec<String>, geo::MultiPolygon<f64>)> {
    let src = read(
        &SourceRequest { path: path.to_path_buf(), layer: Some(layer.into()), ..Default::default() },
        &Progress::hidden(),
    )
    .unwrap();
    let names = src.field_names.clone();
    src.features
        .into_iter()
        .filter_map(|f| match f.geometry {
            SourceGeometry::Polygonal { mp, .. } => {
                Some((names.iter().zip(&f.values).map(|(n, v)| format!("{n}={v}")).collect(), mp))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_hard_county_scatters_red_lines_across_parcels_and_gives_every_parcel_a_new_data_year() {
    let d = tempfile::tempdir().unwrap();
    let (c, _, e) = run(&["gen", "--out", s(d.path()), "--parcels", "3000", "--hard"]);
    assert_eq!(c, 0, "{e}");
    let (p1, p2) = (d.path().join("2019-12-31.gpkg"), d.path().join("2020-12-31.gpkg"));
    let county = polygons(&p1, "XZQ").remove(0).1;
    let red: Vec<geo::MultiPolygon<f64>> = polygons(&p1, "STBHHX").into_iter().map(|(_, g)| g).collect();
    assert!(red.len() >= 400, "{} red lines", red.len());
    let covered: f64 = red.iter().map(|g| g.unsigned_area()).sum();
    let share = covered / county.unsigned_area();
    assert!((0.2..0.35).contains(&share), "the red lines cover {share:.3} of the county");
    // apart from each other (no red line overlaps another), and drawn across the parcels, not along them
    let union = geo::unary_union(red.iter().flat_map(|m| m.0.iter()));
    assert!((union.unsigned_area() - covered).abs() < 1e-6 * covered, "red lines overlap each other");
    let parcels = polygons(&p1, "DLTB");
    let cut = parcels
        .iter()
        .filter(|(_, g)| {
            let inside = g.intersection(&union).unsigned_area();
            inside > 0.01 * g.unsigned_area() && inside < 0.99 * g.unsigned_area()
        })
        .count();
    assert!(cut > 100, "only {cut} parcels are cut by a red line's edge");
    // every parcel of the second survey carries its year, so the import re-versions every record
    let years: std::collections::BTreeSet<String> = polygons(&p2, "DLTB")
        .into_iter()
        .map(|(v, _)| v.into_iter().find(|x| x.starts_with("SJNF=")).unwrap())
        .collect();
    assert_eq!(years.into_iter().collect::<Vec<_>>(), ["SJNF=2020"]);
    // the data is what the bench needs: hundreds of prohibited uses inside red lines
    let reg = d.path().join("r.gpkg");
    assert_eq!(run(&["init", s(&reg), "--crs", "EPSG:4549"]).0, 0);
    for (day, f) in [("2019-12-31", &p1), ("2020-12-31", &p2)] {
        for (layer, profile) in [("parcels", "sandiao-dltb"), ("redlines", "stbhhx")] {
            let (c, _, e) = run(&["import", s(&reg), s(f), "--layer", layer, "--profile", profile, "--as-of", day]);
            assert_eq!(c, 0, "{layer} {day}: {e}");
        }
    }
    let (c, _, e) =
        run(&["import", s(&reg), s(&p2), "--layer", "admin", "--src-layer", "XZQ", "--as-of", "2020-12-31"]);
    assert_eq!(c, 0, "{e}");
    // the records whose content is unchanged keep their version and get the new year as bookkeeping
    let reversioned = count(&reg, "SELECT count(*) FROM parcels WHERE valid_to = '2020-12-31'");
    let kept = count(&reg, "SELECT count(*) FROM nr_bookkeeping WHERE as_of = '2020-12-31' AND field = 'SJNF'");
    assert!(
        (reversioned + kept) as usize >= parcels.len() - 5 && kept as usize > parcels.len() * 9 / 10,
        "{reversioned} re-versioned and {kept} new data years of {} parcels",
        parcels.len()
    );
    // hundreds of prohibited uses inside red lines, whose cover (hundreds of thousands of boxes) is matched by
    // one walk of the R-tree; the county's window, read another way, finds the same pieces
    let nr501 = |extra: &[&str]| {
        let mut args = vec!["check", s(&reg), "--only", "NR501", "--format", "json"];
        args.extend_from_slice(extra);
        let (_, out, e) = run(&args);
        let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{e}"));
        let mut found: Vec<(String, String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["rule"].to_string(), f["ids"].to_string(), format!("{:.4}", f["area_m2"].as_f64().unwrap())))
            .collect();
        found.sort();
        found
    };
    let covered = nr501(&[]);
    assert!(covered.len() > 50 && covered.iter().all(|f| f.0 == "\"NR501\""), "{covered:?}");
    assert_eq!(nr501(&["--region", "330523"]), covered);
}
