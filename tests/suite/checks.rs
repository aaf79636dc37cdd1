//! `nrledger check`: hand-computed cases, the demo county's injected defects, agreement with GEOS (through
//! GDAL) on generated and real data, exceptions, outputs and exit codes.

use crate::common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gdal::vector::{Geometry, LayerAccess};

fn demo_registry(dir: &Path) -> PathBuf {
    demo_registry_with(
        dir,
        &[
            ("parcels", "sandiao-dltb"),
            ("redlines", "stbhhx"),
            ("units", "zrzy-djdy"),
            ("farmland", "yjjbnt"),
            ("urban", "czkfbj"),
        ],
    )
}

fn check_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["check"];
    a.extend_from_slice(args);
    a.extend(["--format", "json"]);
    let (c, out, err) = run(&a);
    assert!(c == 0 || c == 1, "exit {c}: {err}");
    (c, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")))
}

/// A 100 m tall strip [x0, x1] × [0, 100] (see `common::rect`).
fn strip(x0: f64, x1: f64) -> String {
    rect(x0, x1, 0.0, 100.0)
}

fn errors(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "error").collect()
}

/// Squares in EPSG:4549 with hand-computed answers: A = [0,100]², B = [50,150]², C = [100,200]×[0,100].
/// A∩B and B∩C are exactly 50 m × 50 m; A and C only share an edge (never an overlap); the 200 m × 200 m
/// outline minus A ∪ B ∪ C (25 000 m²) leaves exactly 15 000 m².
#[test]
fn hand_computed_overlap_and_gap() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (x, y) = (500_000.0, 3_300_000.0);
    let sq = |x0: f64, y0: f64, w: f64| {
        format!(
            "[[[{a},{b}],[{c},{b}],[{c},{e}],[{a},{e}],[{a},{b}]]]",
            a = x + x0,
            b = y + y0,
            c = x + x0 + w,
            e = y + y0 + w
        )
    };
    let parcels = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"EPSG:4549"}}}},"features":[
        {{"type":"Feature","properties":{{"BSM":"A","DLBM":"0101"}},"geometry":{{"type":"Polygon","coordinates":{}}}}},
        {{"type":"Feature","properties":{{"BSM":"B","DLBM":"0103"}},"geometry":{{"type":"Polygon","coordinates":{}}}}},
        {{"type":"Feature","properties":{{"BSM":"C","DLBM":"0301"}},"geometry":{{"type":"Polygon","coordinates":{}}}}}]}}"#,
        sq(0.0, 0.0, 100.0),
        sq(50.0, 50.0, 100.0),
        sq(100.0, 0.0, 100.0)
    );
    let admin = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"EPSG:4549"}}}},"features":[
        {{"type":"Feature","properties":{{"XZQDM":"330523","XZQMC":"测试县"}},"geometry":{{"type":"Polygon","coordinates":{}}}}}]}}"#,
        sq(0.0, 0.0, 200.0)
    );
    let (pp, ap) = (d.path().join("p.geojson"), d.path().join("a.geojson"));
    std::fs::write(&pp, parcels).unwrap();
    std::fs::write(&ap, admin).unwrap();
    assert_eq!(run(&["import", s(&reg), s(&pp), "--layer", "parcels", "--as-of", "2020-01-01"]).0, 0);
    assert_eq!(run(&["import", s(&reg), s(&ap), "--layer", "admin", "--as-of", "2020-01-01"]).0, 0);
    let (code, r) = check_json(&[s(&reg), "--only", "NR101,NR103"]);
    assert_eq!(code, 1);
    let f = r["findings"].as_array().unwrap();
    assert_eq!(f.len(), 3, "{f:#?}");
    let overlaps: Vec<&serde_json::Value> = f.iter().filter(|x| x["rule"] == "NR101").collect();
    assert_eq!(overlaps[0]["ids"], serde_json::json!(["A", "B"]));
    assert_eq!(overlaps[1]["ids"], serde_json::json!(["B", "C"]));
    for o in &overlaps {
        assert!((o["area_planar_m2"].as_f64().unwrap() - 2500.0).abs() < 1e-6, "{o}");
    }
    let gap = f.iter().find(|x| x["rule"] == "NR103").unwrap();
    assert!((gap["area_planar_m2"].as_f64().unwrap() - 15_000.0).abs() < 1e-6, "{gap}");
    // the ellipsoidal area is the planar area divided by the squared scale factor (≈1 on the central meridian)
    assert!((gap["area_m2"].as_f64().unwrap() / 15_000.0 - 1.0).abs() < 1e-4);
}

/// The demo county: 2019 is clean; 2020 has exactly the injected defects of seeds/anji/defects.json, with
/// their ids and areas.
#[test]
fn demo_county_defects_are_found_exactly() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let (code, r19) = check_json(&[s(&reg), "--as-of", "2019-12-31"]);
    assert_eq!(code, 0, "{:#?}", errors(&r19));
    assert!(errors(&r19).is_empty());
    let (code, r20) = check_json(&[s(&reg)]);
    assert_eq!(code, 1);
    let defects: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seed("defects.json")).unwrap()).unwrap();
    // the block drawn into the urban boundary lies on built-up land: NR601 finds each construction parcel
    // under it (and NR602, a warning, the block's share on such ground), all of them that block's
    let drawn_in = defects["defects_2020"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "farmland_urban_overlap")
        .map(|d| d["BHKBH"].as_str().unwrap().to_string())
        .unwrap();
    let (under_block, errs): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
        errors(&r20).into_iter().partition(|f| f["rule"] == "NR601");
    assert!(
        !under_block.is_empty() && under_block.iter().all(|f| f["ids"][1] == drawn_in.as_str()),
        "{under_block:#?}"
    );
    let nr602: Vec<&serde_json::Value> =
        r20["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "NR602").collect();
    let built: f64 = under_block.iter().map(|f| f["area_m2"].as_f64().unwrap()).sum();
    assert_eq!(nr602.len(), 1, "{nr602:#?}");
    assert_eq!(nr602[0]["ids"][0], drawn_in.as_str());
    assert!(nr602[0]["area_m2"].as_f64().unwrap() >= built - 1e-6, "{nr602:#?}");
    assert_eq!(errs.len(), defects["defects_2020"].as_array().unwrap().len(), "{errs:#?}");
    for dft in defects["defects_2020"].as_array().unwrap() {
        let area = dft["area_m2"].as_f64().unwrap();
        let (rule, id) = match dft["kind"].as_str().unwrap() {
            "redline_violation" => ("NR501", dft["BSM"].as_str().unwrap()),
            "parcel_overlap" => ("NR101", dft["BSM"].as_str().unwrap()),
            "coverage_gap" => ("NR103", "330523"),
            "farmland_urban_overlap" => ("NR403", dft["BHKBH"].as_str().unwrap()),
            k => panic!("unknown defect kind {k}"),
        };
        let hit = errs
            .iter()
            .find(|f| f["rule"] == rule && f["ids"].as_array().unwrap().iter().any(|i| i == id))
            .unwrap_or_else(|| panic!("defect {dft} not found"));
        // defects.json is rounded to 2 decimals and measured at 100 m densification, the pieces at 5 m
        assert!((hit["area_m2"].as_f64().unwrap() - area).abs() <= 0.005 + 1e-6 * area, "{dft} vs {hit}");
    }
    // each rule run alone (`--only`, which loads just the layers the rule lists, with just the fields it
    // names) finds exactly what it finds in the full check, with the same messages; a rule reading a layer
    // it does not list would panic (exit 101) here, one reading a field it does not name would see it empty
    let rules: Vec<String> =
        r20["summary"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap().to_string()).collect();
    assert_eq!(rules.len(), 20, "every rule is in the summary");
    for rule in &rules {
        let (_, alone) = check_json(&[s(&reg), "--only", rule]);
        let of = |r: &serde_json::Value| -> Vec<String> {
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["rule"] == rule.as_str())
                .map(|f| {
                    format!(
                        "{} {} {:.6} {}",
                        f["ids"],
                        f["severity"],
                        f["area_m2"].as_f64().unwrap_or(0.0),
                        f["message"]
                    )
                })
                .collect()
        };
        assert_eq!(of(&alone), of(&r20), "{rule} alone");
        assert_eq!(alone["summary"].as_array().unwrap().len(), 1, "{rule}: only that rule ran");
    }
    // a rule name that is no rule's is refused, not taken for a clean check
    let (c, _, e) = run(&["check", s(&reg), "--only", "NR101,NR999"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("NR999") && e.contains("NR501 redline-prohibited-use"), "{e}");
}

/// Every error finding of the demo's 2020 check agrees with GEOS (through GDAL) within 1e-6 relative.
#[test]
fn demo_findings_agree_with_geos() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let (_, r) = check_json(&[s(&reg)]);
    let ds = gdal::Dataset::open(&reg).unwrap();
    let geom_of = |layer: &str, fid: i64| -> Geometry {
        let l = ds.layer_by_name(layer).unwrap();
        let g = l.feature(fid as u64).unwrap().geometry().unwrap().clone();
        g
    };
    let mut compared = 0;
    for f in errors(&r) {
        let ours = f["area_planar_m2"].as_f64().unwrap();
        let layers: Vec<&str> = f["layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
        let fids: Vec<i64> = f["fids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
        let geos = if fids.len() == 2 {
            geom_of(layers[0], fids[0]).intersection(&geom_of(layers[1], fids[1])).unwrap().area()
        } else if f["rule"] == "NR103" {
            // outline minus the cascaded union of the parcels, the piece that contains ours
            let mut all = Geometry::empty(gdal::vector::OGRwkbGeometryType::wkbMultiPolygon).unwrap();
            let mut pl = ds.layer_by_name("parcels_current").unwrap();
            for p in pl.features() {
                let g = p.geometry().unwrap();
                for i in 0..g.geometry_count() {
                    all.add_geometry(g.get_geometry(i).clone()).unwrap();
                }
            }
            let union = unsafe {
                gdal::vector::Geometry::from_wkb(&{
                    let u = gdal_sys::OGR_G_UnionCascaded(all.c_geometry());
                    let n = gdal_sys::OGR_G_WkbSize(u) as usize;
                    let mut b = vec![0u8; n];
                    gdal_sys::OGR_G_ExportToWkb(u, gdal_sys::OGRwkbByteOrder::wkbNDR, b.as_mut_ptr());
                    gdal_sys::OGR_G_DestroyGeometry(u);
                    b
                })
                .unwrap()
            };
            let mut al = ds.layer_by_name("admin_current").unwrap();
            let outline = al.features().next().unwrap().geometry().unwrap().clone();
            let gaps = outline.difference(&union).unwrap();
            (0..gaps.geometry_count()).map(|i| gaps.get_geometry(i).area()).fold(0.0, f64::max)
        } else {
            continue;
        };
        assert!((ours - geos).abs() / geos < 1e-6, "{}: ours {ours} vs GEOS {geos}", f["rule"]);
        compared += 1;
    }
    // the five injected defects, and the four construction parcels under the block drawn into the urban boundary (NR601)
    assert_eq!(compared, 9);
}

/// Real data: the Paris Urban Atlas subset. Its neighbours share edges digitised twice, so GEOS finds
/// dozens of pairs with a positive but near-zero overlap; we report exactly the pairs above the noise
/// threshold (1e-4 m²) that GEOS reports, with the same planar area.
#[test]
fn paris_overlaps_match_geos_above_the_noise_threshold() {
    let d = tempfile::tempdir().unwrap();
    let layers = d.path().join("layers/kinds");
    std::fs::create_dir_all(&layers).unwrap();
    let parcels = std::fs::read_to_string(root().join("layers/kinds/parcels.toml")).unwrap();
    // Urban Atlas classes are not GB/T 21010 codes: make DLBM optional for this registry
    let parcels = parcels
        .replace("type = \"text\"\nmax_length = 5\nrequired = true\ncodes = \"landuse\"", "type = \"text\"")
        .replace("name_of = \"DLBM\"\n", "");
    std::fs::write(layers.join("parcels.toml"), parcels).unwrap();
    let profile = d.path().join("ua.toml");
    std::fs::write(
        &profile,
        "name = \"urban-atlas\"\nlayer = \"parcels\"\n[fields]\nBSM = [\"@fid\"]\nBZ = [\"class\"]\n",
    )
    .unwrap();
    let reg = d.path().join("paris.gpkg");
    let lay = d.path().join("layers");
    assert_eq!(run(&["init", s(&reg), "--crs", s(&fixture("real/paris_land_use.prj"))]).0, 0);
    let src = fixture("real/paris_land_use.shp");
    let (c, out, err) = run(&[
        "--layers",
        s(&lay),
        "import",
        s(&reg),
        s(&src),
        "--layer",
        "parcels",
        "--profile",
        s(&profile),
        "--as-of",
        "2012-01-01",
        "--keep-going",
    ]);
    assert_eq!(c, 1, "{out}{err}");
    assert!(out.contains("399 inserted") && err.contains("feature #248") && err.contains("zero area"), "{out}{err}");
    let (_, r) = check_json(&["--layers", s(&lay), s(&reg), "--only", "NR101"]);
    let ours: BTreeMap<(i64, i64), f64> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let ids: Vec<i64> =
                f["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().parse().unwrap()).collect();
            ((ids[0].min(ids[1]), ids[0].max(ids[1])), f["area_planar_m2"].as_f64().unwrap())
        })
        .collect();
    // GEOS, pair by pair, on the source file
    let ds = gdal::Dataset::open(&src).unwrap();
    let mut l = ds.layer(0).unwrap();
    let feats: Vec<(i64, Geometry, gdal::vector::Envelope)> = l
        .features()
        .map(|f| {
            let g = f.geometry().unwrap().clone();
            let e = g.envelope();
            (f.fid().unwrap() as i64, g, e)
        })
        .collect();
    let mut geos = BTreeMap::new();
    let mut near_zero = 0;
    for i in 0..feats.len() {
        for j in i + 1..feats.len() {
            let (a, b) = (&feats[i].2, &feats[j].2);
            if a.MaxX < b.MinX || b.MaxX < a.MinX || a.MaxY < b.MinY || b.MaxY < a.MinY {
                continue;
            }
            if feats[i].0 == 248 || feats[j].0 == 248 {
                continue;
            }
            let Some(x) = feats[i].1.intersection(&feats[j].1) else { continue };
            let area = x.area();
            if area > 1e-4 {
                geos.insert((feats[i].0, feats[j].0), area);
            } else if area > 0.0 {
                near_zero += 1;
            }
        }
    }
    assert!(near_zero > 20, "expected the fixture's near-zero shared-edge slivers, found {near_zero}");
    assert_eq!(ours.keys().collect::<Vec<_>>(), geos.keys().collect::<Vec<_>>());
    for (k, g) in &geos {
        assert!((ours[k] - g).abs() / g < 1e-6, "{k:?}: ours {} vs GEOS {g}", ours[k]);
    }
}

#[test]
fn exceptions_accept_findings_until_they_expire() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let defects: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seed("defects.json")).unwrap()).unwrap();
    let v: Vec<&serde_json::Value> =
        defects["defects_2020"].as_array().unwrap().iter().filter(|x| x["kind"] == "redline_violation").collect();
    let ex = |expires: &str| {
        v.iter()
            .map(|x| {
                format!(
                    "[[exception]]\nrule = \"NR501\"\nids = [\"{}\", \"{}\"]\nreason = \"省政府批准的历史遗留项目\"\napproval = \"浙政函〔2021〕99号\"\nexpires = \"{expires}\"\n",
                    x["BSM"].as_str().unwrap(),
                    x["redline"].as_str().unwrap()
                )
            })
            .collect::<String>()
    };
    let valid = d.path().join("valid.toml");
    std::fs::write(&valid, ex("2030-12-31")).unwrap();
    let (code, r) = check_json(&[s(&reg), "--only", "NR501", "--exceptions", s(&valid), "--as-of", "2021-01-01"]);
    assert_eq!(code, 0, "{r:#}");
    let f = r["findings"].as_array().unwrap();
    assert_eq!(f.iter().filter(|x| x["excepted_by"] == "浙政函〔2021〕99号").count(), 2);
    let expired = d.path().join("expired.toml");
    std::fs::write(&expired, ex("2020-12-31")).unwrap();
    let (code, r) = check_json(&[s(&reg), "--only", "NR501", "--exceptions", s(&expired), "--as-of", "2021-01-01"]);
    assert_eq!(code, 1);
    assert_eq!(errors(&r).len(), 2);
    // a malformed allow-list is a failure naming the file
    let bad = d.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[exception]]\nrule = \"NR501\"\nids = []\nreason = \"x\"\napproval = \"y\"\nexpires = \"someday\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["check", s(&reg), "--exceptions", s(&bad)]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml") && err.contains("expires"), "{err}");
}

#[test]
fn report_layer_schema_and_failures() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let out = d.path().join("findings.geojson");
    let (code, json) = check_json(&[s(&reg), "--out", s(&out)]);
    assert_eq!(code, 1);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/check-report.schema.json")).unwrap())
            .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    assert!(v.is_valid(&json), "{:?}", v.iter_errors(&json).map(|e| e.to_string()).collect::<Vec<_>>());
    assert!(json["vintages"]["parcels"] == "2020-12-31");
    assert!(json["tolerances"]["NR101"]["sliver_area_m2"].is_number());
    let layer: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let feats = layer["features"].as_array().unwrap();
    let viol =
        feats.iter().find(|f| f["properties"]["rule"] == "NR501" && f["properties"]["severity"] == "error").unwrap();
    for k in ["name", "class", "ids", "fids", "area_m2", "area_mu", "message", "vintages", "tolerance"] {
        assert!(!viol["properties"][k].is_null(), "{k} missing");
    }
    assert_eq!(viol["geometry"]["type"], "MultiPolygon");
    // text summary on stdout
    let (code, text, _) = run(&["check", s(&reg), "--as-of", "2020-12-31"]);
    assert_eq!(code, 1);
    assert!(text.contains("NR501  redline-prohibited-use") && text.contains("亩"), "{text}");
    // failures: exit 2 with a reason
    let (code, _, err) = run(&["check", s(&reg), "--region", "110101"]);
    assert_eq!(code, 2);
    assert!(err.contains("region 110101"), "{err}");
    let (code, _, err) = run(&["check", s(&d.path().join("none.gpkg"))]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file"), "{err}");
    // --region limits the check to the county (the same findings here: the registry holds one county)
    let (_, rr) = check_json(&[s(&reg), "--region", "330523"]);
    assert_eq!(errors(&rr).len(), errors(&json).len());
}

/// A displaced parcel: Q = [90,190]×[0,100] overlaps P = [0,100]×[0,100] by 1 000 m² and leaves the strip
/// [190,200]×[0,100] (1 000 m²) of the 200 m × 100 m outline uncovered. The parcel areas add up to the
/// outline's area exactly, so a check that compared sums would miss both; we report both.
#[test]
fn displaced_parcel_gap_is_not_hidden_by_its_overlap() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (pp, ap) = (d.path().join("p.geojson"), d.path().join("a.geojson"));
    std::fs::write(
        &pp,
        collection(
            &[r#"{"BSM":"P","DLBM":"0101"}"#, r#"{"BSM":"Q","DLBM":"0101"}"#],
            &[strip(0.0, 100.0), strip(90.0, 190.0)],
        ),
    )
    .unwrap();
    std::fs::write(&ap, collection(&[r#"{"XZQDM":"330523","XZQMC":"测试县"}"#], &[strip(0.0, 200.0)])).unwrap();
    assert_eq!(run(&["import", s(&reg), s(&pp), "--layer", "parcels", "--as-of", "2020-01-01"]).0, 0);
    assert_eq!(run(&["import", s(&reg), s(&ap), "--layer", "admin", "--as-of", "2020-01-01"]).0, 0);
    let (code, r) = check_json(&[s(&reg), "--only", "NR101,NR103"]);
    assert_eq!(code, 1);
    let area = |rule: &str| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .map(|f| f["area_planar_m2"].as_f64().unwrap())
    };
    assert!((area("NR101").unwrap() - 1000.0).abs() < 1e-6);
    assert!((area("NR103").expect("the gap must be found") - 1000.0).abs() < 1e-6);
}

/// NR304: a unit over a forest parcel and a homestead parcel (10 000 m² each) declaring 25 000 m² is
/// reported with its resource-type breakdown; declaring 20 000 m² it is not.
#[test]
fn unit_area_must_equal_its_resource_types() {
    for (declared, expect_finding) in [(25_000.0, true), (20_000.0, false)] {
        let d = tempfile::tempdir().unwrap();
        let reg = registry(d.path());
        let (pp, up) = (d.path().join("p.geojson"), d.path().join("u.geojson"));
        std::fs::write(
            &pp,
            collection(
                &[r#"{"BSM":"F","DLBM":"0301"}"#, r#"{"BSM":"H","DLBM":"0702"}"#],
                &[strip(0.0, 100.0), strip(100.0, 200.0)],
            ),
        )
        .unwrap();
        let unit = format!(r#"{{"DYH":"330523ZR0001","DYMC":"测试单元","DYLX":"森林","DYMJ":{declared}}}"#);
        std::fs::write(&up, collection(&[unit.as_str()], &[strip(0.0, 200.0)])).unwrap();
        assert_eq!(run(&["import", s(&reg), s(&pp), "--layer", "parcels", "--as-of", "2020-01-01"]).0, 0);
        assert_eq!(run(&["import", s(&reg), s(&up), "--layer", "units", "--as-of", "2020-01-01"]).0, 0);
        let (_, r) = check_json(&[s(&reg), "--only", "NR304"]);
        let f = r["findings"].as_array().unwrap();
        assert_eq!(!f.is_empty(), expect_finding, "{f:#?}");
        if expect_finding {
            let m = f[0]["message"].as_str().unwrap();
            assert!(m.contains("森林 1000") && m.contains("非自然资源 1000"), "{m}");
            assert!((f[0]["area_m2"].as_f64().unwrap() - 5000.0).abs() < 2.0, "{}", f[0]);
        }
    }
}

/// Every rule the demo data does not exercise, on hand-made records with known answers. Invalid geometry
/// and a duplicate id cannot come through an import (it refuses them), so they are written through GDAL,
/// as another tool would.
/// What a rule finds on the fixture of [`each_rule_finds_its_defect`]: the ids of each finding (in report
/// order), their severity, a measure with its tolerance, and parts of the message.
struct Expected {
    rule: &'static str,
    ids: &'static [&'static [&'static str]],
    severity: &'static str,
    measure: Option<(&'static str, f64, f64)>,
    message: &'static [&'static str],
}

/// Rule × fixture → findings: one row per rule (a new rule adds its defect to the fixture and its row).
const EXPECTED: &[Expected] = &[
    Expected {
        rule: "NR102",
        ids: &[&["330523ZR0001", "330523ZR0002"]],
        severity: "error",
        measure: Some(("area_planar_m2", 5000.0, 1e-6)),
        message: &[],
    },
    Expected { rule: "NR201", ids: &[&["BAD"]], severity: "error", measure: None, message: &[] },
    Expected { rule: "NR202", ids: &[&["P3", "P3"]], severity: "error", measure: None, message: &["share the key P3"] },
    Expected { rule: "NR203", ids: &[&["P3"]], severity: "warning", measure: None, message: &[] },
    Expected {
        rule: "NR301",
        ids: &[&["P1"]],
        severity: "warning",
        measure: Some(("area_m2", 500.0, 5.0)),
        message: &[],
    },
    Expected {
        rule: "NR302",
        ids: &[&["P2"]],
        severity: "error",
        measure: Some(("area_m2", 100.0, 1e-9)),
        message: &[],
    },
    Expected {
        rule: "NR303",
        ids: &[&["330523ZR0001"]],
        severity: "error",
        measure: Some(("area_m2", 1000.0, 1e-9)),
        message: &[],
    },
    Expected {
        rule: "NR401",
        ids: &[&["HX1", "JB1"]],
        severity: "error",
        measure: Some(("area_planar_m2", 1250.0, 1e-6)),
        message: &[],
    },
    Expected {
        rule: "NR402",
        ids: &[&["HX1", "CZ1"]],
        severity: "error",
        measure: Some(("area_planar_m2", 100.0, 1e-6)),
        message: &[],
    },
    Expected {
        rule: "NR403",
        ids: &[&["JB1", "CZ1"]],
        severity: "error",
        measure: Some(("area_planar_m2", 200.0, 1e-6)),
        message: &[],
    },
    Expected {
        rule: "NR502",
        ids: &[&["330523ZR0001"]],
        severity: "warning",
        measure: None,
        message: &["330523ZR0001", "HX1 not declared", "HX9 it does not overlap"],
    },
];

/// Rules whose fixture needs more than the one above, with the test that covers them.
const ELSEWHERE: &[(&str, &str)] = &[
    ("NR101", "hand_computed_overlap_and_gap, paris_overlaps_match_geos_above_the_noise_threshold"),
    ("NR103", "hand_computed_overlap_and_gap (needs an admin outline)"),
    ("NR304", "unit_area_must_equal_its_resource_types (units composed of parcels of several types)"),
    ("NR501", "demo_county_defects_are_found_exactly (the red-line land-use table on the demo county)"),
    ("NR601", "monitoring::farmland_protection_rules_find_the_known_cases, demo_county_defects_are_found_exactly"),
    ("NR602", "monitoring::farmland_protection_rules_find_the_known_cases"),
    ("NR603", "monitoring::farmland_protection_rules_find_the_known_cases"),
    ("NR604", "monitoring::farmland_protection_rules_find_the_known_cases"),
    ("NR605", "monitoring::farmland_protection_rules_find_the_known_cases"),
];

#[test]
fn each_rule_finds_its_defect() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let write = |name: &str, text: String| write_file(d.path(), name, text);
    // P1: declared TBMJ 5 % too large (NR301); P2: TBDLMJ ≠ TBMJ − KCMJ by 100 m² (NR302)
    let p2_area = 10_000.0;
    // P3: a multipart parcel (NR203)
    let (x, y) = (500_000.0, 3_300_000.0);
    let feature =
        |props: &str, geometry: String| format!(r#"{{"type":"Feature","properties":{props},"geometry":{geometry}}}"#);
    let parcels = write(
        "p.geojson",
        format!(
            r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"EPSG:4549"}}}},"features":[{},{},{}]}}"#,
            feature(
                r#"{"BSM":"P1","DLBM":"0301","TBMJ":10500}"#,
                format!(r#"{{"type":"Polygon","coordinates":{}}}"#, rect(0.0, 100.0, 0.0, 100.0))
            ),
            feature(
                &format!(r#"{{"BSM":"P2","DLBM":"0103","TBMJ":{p2_area},"KCMJ":100,"TBDLMJ":9800}}"#),
                format!(r#"{{"type":"Polygon","coordinates":{}}}"#, rect(100.0, 200.0, 0.0, 100.0))
            ),
            feature(
                r#"{"BSM":"P3","DLBM":"0101"}"#,
                format!(
                    r#"{{"type":"MultiPolygon","coordinates":[{},{}]}}"#,
                    rect(200.0, 240.0, 0.0, 40.0),
                    rect(260.0, 300.0, 60.0, 100.0)
                )
            ),
        ),
    );
    let units = write(
        "u.geojson",
        collection(
            &[
                // U1: DYMJ ≠ 国有 + 集体 + 争议 (NR303); declares HX9, which it does not overlap, and not HX1, which it does (NR502)
                r#"{"DYH":"330523ZR0001","DYMC":"甲","DYLX":"森林","DYMJ":15000,"GYMJ":10000,"JTMJ":4000,"ZYMJ":0,"STHX":"HX9"}"#,
                r#"{"DYH":"330523ZR0002","DYMC":"乙","DYLX":"森林"}"#,
            ],
            // U1 and U2 overlap by 50 m × 100 m (NR102)
            &[rect(0.0, 150.0, 0.0, 100.0), rect(100.0, 300.0, 0.0, 100.0)],
        ),
    );
    let red = write("r.geojson", collection(&[r#"{"HXBH":"HX1","GKFQ":"一般控制区"}"#], &[rect(0.0, 50.0, 0.0, 50.0)]));
    let farm = write("f.geojson", collection(&[r#"{"BHKBH":"JB1"}"#], &[rect(25.0, 75.0, 0.0, 50.0)]));
    let urban = write("z.geojson", collection(&[r#"{"BJBH":"CZ1"}"#], &[rect(40.0, 60.0, 40.0, 60.0)]));
    for (layer, f) in
        [("parcels", &parcels), ("units", &units), ("redlines", &red), ("farmland", &farm), ("urban", &urban)]
    {
        let (c, o, e) = run(&["import", s(&reg), s(f), "--layer", layer, "--as-of", "2020-01-01"]);
        assert_eq!(c, 0, "{layer}: {o}{e}");
    }
    // another tool writes a self-intersecting parcel and a second record under P3's key
    {
        let ds = gdal::Dataset::open_ex(
            &reg,
            gdal::DatasetOptions {
                open_flags: gdal::GdalOpenFlags::GDAL_OF_VECTOR | gdal::GdalOpenFlags::GDAL_OF_UPDATE,
                ..Default::default()
            },
        )
        .unwrap();
        let l = ds.layer_by_name("parcels").unwrap();
        let defn = gdal::vector::Defn::from_layer(&l);
        for (bsm, wkt) in [
            (
                "BAD",
                format!(
                    "MULTIPOLYGON((({a} {b},{c} {e},{c} {b},{a} {e},{a} {b})))",
                    a = x + 400.0,
                    b = y,
                    c = x + 500.0,
                    e = y + 100.0
                ),
            ),
            (
                "P3",
                format!(
                    "MULTIPOLYGON((({a} {b},{c} {b},{c} {e},{a} {e},{a} {b})))",
                    a = x + 600.0,
                    b = y,
                    c = x + 700.0,
                    e = y + 100.0
                ),
            ),
        ] {
            let mut f = gdal::vector::Feature::new(&defn).unwrap();
            f.set_geometry(gdal::vector::Geometry::from_wkt(&wkt).unwrap()).unwrap();
            for (name, v) in
                [("BSM", bsm), ("DLBM", "0101"), ("valid_from", "2020-06-01"), ("rec_hash", "written by another tool")]
            {
                f.set_field_string(f.field_index(name).unwrap(), v).unwrap();
            }
            for name in ["import_id", "area_ell", "area_gk"] {
                f.set_field_double(f.field_index(name).unwrap(), 1.0).unwrap();
            }
            f.create(&l).unwrap();
        }
    }
    let (code, r) = check_json(&[s(&reg)]);
    assert_eq!(code, 1);
    for e in EXPECTED {
        let found: Vec<&serde_json::Value> =
            r["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == e.rule).collect();
        let ids: Vec<Vec<&str>> =
            found.iter().map(|f| f["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()).collect()).collect();
        assert_eq!(ids, e.ids, "{}: {found:#?}", e.rule);
        for f in &found {
            assert_eq!(f["severity"], e.severity, "{}", e.rule);
            if let Some((field, want, tol)) = e.measure {
                let got = f[field].as_f64().unwrap();
                assert!((got - want).abs() <= tol, "{} {field}: {got}, expected {want} ± {tol}", e.rule);
            }
            let m = f["message"].as_str().unwrap();
            assert!(e.message.iter().all(|part| m.contains(part)), "{}: {m}", e.rule);
        }
    }
    // every rule has its row here or names the test that covers it
    let mut covered: Vec<&str> = EXPECTED.iter().map(|e| e.rule).chain(ELSEWHERE.iter().map(|(r, _)| *r)).collect();
    covered.sort_unstable();
    let all: Vec<&str> = nrledger::checks::selected(&[]).unwrap().iter().map(|c| c.code()).collect();
    assert_eq!(covered, all, "a new rule brings its fixture and its row in EXPECTED");
    // no admin outline: the gap rule says why it did not run
    assert!(r["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("NR103")));
}

/// Issue 19.9a: control-line overlaps (NR401) on intersections that are hard for a boolean engine — a hole
/// crossed, a comb across an edge, collinear edges, a spike, a multipolygon, nearly coincident outlines,
/// a block in a hole touching it — agree with GEOS's intersection through GDAL (planar areas, relative 1e-8,
/// or 1e-5 m² for a sliver: the 2 mm spike's 0.0909 m² differs from GEOS's by 6e-6 m², the snapping grid
/// of nrledger's boolean engine; areas are published to 0.01 m²); one that only touches gives no finding. (Hand-made after the kinds of case of GEOS's overlay suites, not
/// copied from them.)
#[test]
fn control_line_overlaps_agree_with_geos_on_hard_intersections() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let sq = |x0: f64, y0: f64, x1: f64, y1: f64| format!("(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))");
    let comb: String = {
        let mut pts = vec![(50.0, 0.0)];
        for k in 0..10 {
            let x = 50.0 + k as f64 * 10.0;
            pts.extend([(x, 150.0), (x + 5.0, 150.0), (x + 5.0, 0.0), (x + 10.0, 0.0)]);
        }
        pts.push((150.0, -20.0));
        pts.push((50.0, -20.0));
        pts.push((50.0, 0.0));
        format!("(({}))", pts.iter().map(|(x, y)| format!("{x} {y}")).collect::<Vec<_>>().join(","))
    };
    // (red line, farmland) in local metres; each case is moved 2 km east of the one before
    let cases: Vec<(&str, String, String)> = vec![
        (
            "offset",
            format!("POLYGON{}", sq(0.0, 0.0, 100.0, 100.0)),
            format!("POLYGON{}", sq(30.0, 40.0, 130.0, 140.0)),
        ),
        (
            "hole",
            "POLYGON((0 0,100 0,100 100,0 100,0 0),(20 20,80 20,80 80,20 80,20 20))".into(),
            format!("POLYGON{}", sq(-10.0, 40.0, 110.0, 60.0)),
        ),
        ("comb", format!("POLYGON{}", sq(0.0, 0.0, 100.0, 100.0)), format!("POLYGON{comb}")),
        (
            "collinear",
            format!("POLYGON{}", sq(0.0, 0.0, 100.0, 100.0)),
            "POLYGON((0 100,50 100,50 50,100 50,100 150,0 150,0 100))".into(),
        ),
        (
            "spike",
            format!("POLYGON{}", sq(0.0, 0.0, 100.0, 100.0)),
            "POLYGON((50 -10,50.001 99.999,50.002 -10,50 -10))".into(),
        ),
        (
            "multi",
            format!("MULTIPOLYGON({},{})", sq(0.0, 0.0, 40.0, 40.0), sq(60.0, 60.0, 100.0, 100.0)),
            format!("POLYGON{}", sq(20.0, 20.0, 80.0, 80.0)),
        ),
        (
            "near",
            format!("POLYGON{}", sq(0.0, 0.0, 100.0, 100.0)),
            format!("POLYGON{}", sq(0.001, 0.001, 100.001, 100.001)),
        ),
        (
            "inhole",
            "POLYGON((0 0,100 0,100 100,0 100,0 0),(20 20,80 20,80 80,20 80,20 20))".into(),
            format!("POLYGON{}", sq(10.0, 30.0, 50.0, 70.0)),
        ),
        ("touch", format!("POLYGON{}", sq(0.0, 0.0, 100.0, 100.0)), format!("POLYGON{}", sq(100.0, 0.0, 200.0, 100.0))),
    ];
    let pair = regex::Regex::new(r"(-?[0-9.]+) (-?[0-9.]+)").unwrap();
    let moved = |wkt: &str, k: usize| -> Geometry {
        let shifted = pair.replace_all(wkt, |c: &regex::Captures| {
            let (x, y): (f64, f64) = (c[1].parse().unwrap(), c[2].parse().unwrap());
            format!("{} {}", 500_000.0 + 2_000.0 * k as f64 + x, 3_300_000.0 + y)
        });
        Geometry::from_wkt(&shifted).unwrap()
    };
    let layer = |name: &str, key: &str, extra: &str, geoms: Vec<(String, Geometry)>| -> PathBuf {
        let feats: Vec<String> = geoms
            .into_iter()
            .map(|(k, g)| {
                format!(
                    r#"{{"type":"Feature","properties":{{"{key}":"{k}"{extra}}},"geometry":{}}}"#,
                    g.json().unwrap()
                )
            })
            .collect();
        write_file(d.path(), name, feature_collection(&feats))
    };
    let red = layer(
        "red.geojson",
        "HXBH",
        r#","GKFQ":"一般控制区""#,
        cases.iter().enumerate().map(|(k, c)| (c.0.to_string(), moved(&c.1, k))).collect(),
    );
    let farm = layer(
        "farm.geojson",
        "BHKBH",
        "",
        cases.iter().enumerate().map(|(k, c)| (format!("JB-{}", c.0), moved(&c.2, k))).collect(),
    );
    for (l, f) in [("redlines", &red), ("farmland", &farm)] {
        let (c, o, e) = run(&["import", s(&reg), s(f), "--layer", l, "--as-of", "2020-01-01"]);
        assert_eq!(c, 0, "{l}: {o}{e}");
    }
    let (_, r) = check_json(&[s(&reg), "--only", "NR401"]);
    let found: BTreeMap<String, f64> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["ids"][0].as_str().unwrap().to_string(), f["area_planar_m2"].as_f64().unwrap()))
        .collect();
    for (k, (name, a, b)) in cases.iter().enumerate() {
        let geos = moved(a, k).intersection(&moved(b, k)).map(|g| g.area()).unwrap_or(0.0);
        match found.get(*name) {
            Some(ours) => {
                assert!((ours - geos).abs() <= (1e-8 * geos).max(1e-5), "{name}: nrledger {ours} m², GEOS {geos} m²")
            }
            None => assert!(geos < 1e-4, "{name}: GEOS finds {geos} m², nrledger nothing"),
        }
    }
    assert!(!found.contains_key("touch"), "{found:?}");
    assert_eq!(found.len(), cases.len() - 1, "{found:?}");
}

/// Issue 19.9a: the intersection cases of GEOS's overlay suites (`TestNGOverlayA.xml`, `TestOverlayAA.xml`
/// from the GEOS source the build links, put in `target/geos-xmltester` by `make test-deps`) run through
/// NR401 — A as a red line, B as a permanent-farmland block, each case moved into the registry's zone —
/// find the area of the suite's expected intersection (relative 2e-9), and nothing where it has none.
#[test]
fn nr401_finds_the_intersections_of_geos_overlay_suites() {
    let block = regex::Regex::new(r"(?s)<case>(.*?)</case>").unwrap();
    let case = regex::Regex::new(
        r#"(?s)^\s*<desc>(.*?)</desc>\s*<a>\s*(.*?)\s*</a>\s*<b>\s*(.*?)\s*</b>.*?<op name="intersection(?:NG)?"[^>]*>\s*(.*?)\s*</op>"#,
    )
    .unwrap();
    let one_line = |w: &str| w.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cases: Vec<(String, String, String, String)> = Vec::new();
    for file in ["TestNGOverlayA.xml", "TestOverlayAA.xml"] {
        let path = root().join("target/geos-xmltester").join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (`make test-deps` puts GEOS's suites there)", path.display()));
        for c in block.captures_iter(&text).filter_map(|b| case.captures(b.get(1).unwrap().as_str())) {
            cases.push((format!("{file}: {}", c[1].trim()), one_line(&c[2]), one_line(&c[3]), one_line(&c[4])));
        }
    }
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let pair = regex::Regex::new(r"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?) (-?[0-9.]+(?:[eE][-+]?[0-9]+)?)").unwrap();
    let moved = |wkt: &str, k: usize| -> Geometry {
        let shifted = pair.replace_all(wkt, |c: &regex::Captures| {
            let (x, y): (f64, f64) = (c[1].parse().unwrap(), c[2].parse().unwrap());
            format!("{} {}", 450_000.0 + 5_000.0 * k as f64 + x, 3_300_000.0 + y)
        });
        Geometry::from_wkt(&shifted).unwrap()
    };
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    type Case = (String, String, String, String);
    let layer = |name: &str, key: &str, extra: &str, pick: &dyn Fn(&Case) -> String| -> PathBuf {
        let feats: Vec<String> = cases
            .iter()
            .enumerate()
            .map(|(k, c)| {
                format!(
                    r#"{{"type":"Feature","properties":{{"{key}":"C{k}"{extra}}},"geometry":{}}}"#,
                    moved(&pick(c), k).json().unwrap()
                )
            })
            .collect();
        write_file(d.path(), name, feature_collection(&feats))
    };
    let red = layer("a.geojson", "HXBH", r#","GKFQ":"一般控制区""#, &|c| c.1.clone());
    let farm = layer("b.geojson", "BHKBH", "", &|c| c.2.clone());
    // an empty operand (one case's B) is rejected, as an empty geometry is; its case has no intersection
    for (l, f) in [("redlines", &red), ("farmland", &farm)] {
        let (c, o, e) = run(&[
            "import",
            s(&reg),
            s(f),
            "--layer",
            l,
            "--as-of",
            "2020-01-01",
            "--keep-going",
            "--max-rejected",
            "100",
        ]);
        assert!(
            c == 0
                || (c == 1 && e.lines().filter(|l| l.contains("field geometry")).all(|l| l.contains("empty geometry"))),
            "{l}: {o}{e}"
        );
    }
    let (_, r) = check_json(&[s(&reg), "--only", "NR401"]);
    let mut found: BTreeMap<String, f64> = BTreeMap::new();
    for f in r["findings"].as_array().unwrap() {
        assert_eq!(
            f["ids"][0].as_str().unwrap().replace('C', ""),
            f["ids"][1].as_str().unwrap().replace('C', ""),
            "cases met: {f}"
        );
        *found.entry(f["ids"][0].as_str().unwrap().to_string()).or_default() += f["area_planar_m2"].as_f64().unwrap();
    }
    let mut wrong = Vec::new();
    for (k, (name, _, _, expected)) in cases.iter().enumerate() {
        let want = if expected.contains("EMPTY") { 0.0 } else { Geometry::from_wkt(expected).unwrap().area() };
        let got = found.get(&format!("C{k}")).copied().unwrap_or(0.0);
        if (got - want).abs() > 2e-9 * want.max(1.0) {
            wrong.push(format!("{name}: NR401 {got} m², the suite's intersection {want} m²"));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases disagree:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}
