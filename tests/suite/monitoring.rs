//! Land-use monitoring: the approval and permit layers (layer kinds defined as data), the refusals they
//! need (no date, an end before its start, a number reused for other ground), and `nrledger screen` on a
//! hand-made county where every case is a known rectangle — an approval covering a piece exactly, one
//! covering half of it, a mining right that expired before the change, an approval issued after it, an
//! exempt cause, and a split parcel whose halves changed differently — checked against GEOS through GDAL
//! and GeographicLib areas.

use crate::balance::{geodesic_area, rect_geom, to_lonlat};
use crate::common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gdal::vector::{Geometry, LayerAccess};

/// The hand-made county: 900 m × 100 m, eight parcels in 2019, nine in 2020 (one split), and the records
/// that may cover their changes. The last two parcels become cultivated (from forest; from 空闲地 by 复垦):
/// no concern to the screening, but the ledgers' inflow and 补充耕地.
fn county(dir: &Path) -> PathBuf {
    let reg = registry(dir);
    let write = |name: &str, text: String| write_file(dir, name, text);
    let admin =
        write("a.geojson", collection(&[r#"{"XZQDM":"330100","XZQMC":"测试县"}"#], &[rect(0.0, 900.0, 0.0, 100.0)]));
    let zl = |bsm: &str, dlbm: &str, cause: &str| {
        let cause = if cause.is_empty() { String::new() } else { format!(r#","BGYY":"{cause}""#) };
        format!(r#"{{"BSM":"{bsm}","DLBM":"{dlbm}","ZLDWDM":"3301001{}"{cause}}}"#, &bsm[..2])
    };
    let p19 = write(
        "p19.geojson",
        collection(
            &[
                &zl("01", "0103", ""),
                &zl("02", "0301", ""),
                &zl("03", "0301", ""),
                &zl("04", "0404", ""),
                &zl("05", "0103", ""),
                &zl("06", "0101", ""),
                &zl("07", "0301", ""),
                &zl("08", "1201", ""),
            ],
            &[
                rect(0.0, 100.0, 0.0, 100.0),
                rect(100.0, 200.0, 0.0, 100.0),
                rect(200.0, 300.0, 0.0, 100.0),
                rect(300.0, 400.0, 0.0, 100.0),
                rect(400.0, 500.0, 0.0, 100.0),
                rect(500.0, 700.0, 0.0, 100.0),
                rect(700.0, 800.0, 0.0, 100.0),
                rect(800.0, 900.0, 0.0, 100.0),
            ],
        ),
    );
    let p20 = write(
        "p20.geojson",
        collection(
            &[
                &zl("11", "0701", "建设占用"),
                &zl("12", "0601", "建设占用"),
                &zl("13", "0602", "建设占用"),
                &zl("14", "0702", "建设占用"),
                &zl("15", "0301", "生态退耕"),
                &zl("16", "0701", "建设占用"),
                &zl("17", "0201", ""),
                &zl("18", "0103", "开发"),
                &zl("19", "0103", "reclamation"),
            ],
            &[
                rect(0.0, 100.0, 0.0, 100.0),
                rect(100.0, 200.0, 0.0, 100.0),
                rect(200.0, 300.0, 0.0, 100.0),
                rect(300.0, 400.0, 0.0, 100.0),
                rect(400.0, 500.0, 0.0, 100.0),
                rect(500.0, 600.0, 0.0, 100.0),
                rect(600.0, 700.0, 0.0, 100.0),
                rect(700.0, 800.0, 0.0, 100.0),
                rect(800.0, 900.0, 0.0, 100.0),
            ],
        ),
    );
    let approvals = write(
        "pzyd.geojson",
        collection(
            &[
                r#"{"PZWH":"浙土字A〔2020〕1号","PZLX":"农用地转用和土地征收","PZRQ":"2020-05-01","PZMJ":10000}"#,
                r#"{"PZWH":"浙土字A〔2020〕2号","PZLX":"1","PZRQ":"2020-06-01"}"#,
                r#"{"PZWH":"浙土字A〔2021〕3号","PZLX":"农用地转用","PZRQ":"2021-03-01"}"#,
                r#"{"PZWH":"浙土字A〔2020〕4号","PZLX":"土地征收","PZRQ":"2020-02-01"}"#,
            ],
            &[
                rect(0.0, 100.0, 0.0, 100.0),
                rect(100.0, 150.0, 0.0, 100.0),
                rect(300.0, 400.0, 0.0, 100.0),
                rect(550.0, 650.0, 0.0, 100.0),
            ],
        ),
    );
    let mining = write(
        "kyq.geojson",
        collection(
            &[r#"{"XKZH":"C3301002010017","QLLX":"采矿权","YXQQ":"2014-07-01","YXQZ":"2019-06-30"}"#],
            &[rect(190.0, 310.0, 0.0, 100.0)],
        ),
    );
    for (date, parcels) in [("2019-12-31", &p19), ("2020-12-31", &p20)] {
        for (layer, file) in [("admin", &admin), ("parcels", parcels)] {
            let (c, _, e) = run(&["import", s(&reg), s(file), "--layer", layer, "--as-of", date]);
            assert_eq!(c, 0, "{layer} {date}: {e}");
        }
    }
    for (layer, profile, file) in [("approvals", "pzyd", &approvals), ("mining", "kyq", &mining)] {
        let (c, _, e) =
            run(&["import", s(&reg), s(file), "--layer", layer, "--profile", profile, "--as-of", "2021-06-30"]);
        assert_eq!(c, 0, "{layer}: {e}");
    }
    reg
}

fn screen_json(reg: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["screen", s(reg), "--from", "2019-12-31", "--to", "2020-12-31", "--format", "json"];
    a.extend_from_slice(extra);
    let (c, out, err) = run(&a);
    assert!(c == 0 || c == 1, "{err}");
    (c, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")))
}

#[test]
fn hand_made_changes_are_classified_against_the_approvals_in_force() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let (code, r) = screen_json(&reg, &[]);
    assert_eq!(code, 1, "uncovered ground exits 1");
    let by_after: BTreeMap<&str, &serde_json::Value> =
        r["patches"].as_array().unwrap().iter().map(|p| (p["after"]["key"].as_str().unwrap(), p)).collect();
    let got: Vec<(&str, &str, &str)> =
        by_after.iter().map(|(k, p)| (*k, p["change"].as_str().unwrap(), p["status"].as_str().unwrap())).collect();
    assert_eq!(
        got,
        [
            ("11", "construction", "covered"),
            ("12", "construction", "partly"),
            ("13", "construction", "not-covered"),
            ("14", "construction", "not-covered"),
            ("15", "cultivated", "exempt"),
            ("16", "construction", "partly"),
            ("17", "cultivated", "not-covered"),
        ]
    );
    let ll = to_lonlat();
    let area = |x0: f64, x1: f64| geodesic_area(&rect_geom(x0, x1, 0.0, 100.0), &ll);
    // (after, area, covered) from the rectangles
    for (key, total, covered) in [
        ("11", area(0.0, 100.0), area(0.0, 100.0)),
        ("12", area(100.0, 200.0), area(100.0, 150.0)),
        ("13", area(200.0, 300.0), 0.0),
        ("14", area(300.0, 400.0), 0.0),
        ("16", area(500.0, 600.0), area(550.0, 600.0)),
        ("17", area(600.0, 700.0), 0.0),
    ] {
        let p = by_after[key];
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.max(1.0);
        assert!(near(p["area_m2"].as_f64().unwrap(), total), "{key}: {p}");
        assert!(near(p["covered_m2"].as_f64().unwrap(), covered), "{key}: {p}");
        assert!(near(p["uncovered_m2"].as_f64().unwrap(), total - covered), "{key}: {p}");
        assert!(near(p["area_mu"].as_f64().unwrap(), total * 15.0 / 10_000.0), "{key}");
    }
    // the records compared, with why those that do not cover do not
    let compared = |key: &str| -> Vec<(String, bool, String)> {
        by_after[key]["compared"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let who = format!("{}:{}", c["layer"].as_str().unwrap(), c["key"].as_str().unwrap());
                (who, c["covers"].as_bool().unwrap(), c["reason"].as_str().unwrap_or("").to_string())
            })
            .collect()
    };
    let c13 = compared("13");
    assert_eq!(c13.len(), 1, "{c13:?}");
    assert!(!c13[0].1 && c13[0].2.contains("有效期止 2019-06-30 早于后时相 2020-12-31"), "{c13:?}");
    let c14 = compared("14");
    assert!(!c14[0].1 && c14[0].2.contains("批准日期 2021-03-01 晚于后时相"), "{c14:?}");
    // the split parcel: the approval over both halves covers the construction half, not the cultivated one
    assert_eq!(compared("16"), [("approvals:浙土字A〔2020〕4号".to_string(), true, String::new())]);
    let c17 = compared("17");
    assert!(!c17[0].1 && c17[0].2.contains("不覆盖变为 0201 的耕地流出"), "{c17:?}");
    assert_eq!(by_after["15"]["cause"], "生态退耕");
    assert_eq!(by_after["15"]["uncovered_m2"], 0.0);
    assert_eq!(by_after["11"]["township"], "330100111");
    // the summary adds up to the patches
    let total: f64 = r["summary"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["group"] == "合计")
        .map(|s| s["area_m2"].as_f64().unwrap())
        .sum();
    let patches: f64 = by_after.values().map(|p| p["area_m2"].as_f64().unwrap()).sum();
    assert!((total - patches).abs() < 1e-6, "{total} vs {patches}");
    // the ledgers: 11 and 16 took cultivated land for construction (all of 11 and half of 16 approved), 17
    // left for an orchard, 15 left under 生态退耕 (exempt); 18 came back from forest, 19 was reclaimed (复垦, delivered
    // under its alias "reclamation")
    let total = r["ledger"].as_array().unwrap().last().unwrap();
    assert_eq!(total["township"], "合计");
    let m2 = |k: &str| total[k].as_f64().unwrap();
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.max(1.0);
    assert!(near(m2("taken_by_construction_m2"), area(0.0, 100.0) + area(500.0, 600.0)), "{total}");
    assert!(near(m2("taken_approved_m2"), area(0.0, 100.0) + area(550.0, 600.0)), "{total}");
    assert!(near(m2("out_m2"), area(600.0, 700.0)) && near(m2("out_exempt_m2"), area(400.0, 500.0)), "{total}");
    assert!(near(m2("in_m2"), area(700.0, 800.0)) && near(m2("supplemented_m2"), area(800.0, 900.0)), "{total}");
    assert!(near(total["supplemented_by_cause"]["复垦"].as_f64().unwrap(), area(800.0, 900.0)), "{total}");
    assert_eq!((total["occupation_balanced"].as_bool(), total["in_out_balanced"].as_bool()), (Some(false), Some(true)));
    let townships: f64 = r["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["township"] != "合计")
        .map(|l| l["taken_by_construction_m2"].as_f64().unwrap())
        .sum();
    assert!(near(townships, m2("taken_by_construction_m2")));
    // by cause: the exempt 生态退耕, the 建设占用 ones, and the orchard without a cause
    let causes: BTreeMap<(String, String, String), i64> = r["summary_by_cause"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["group"] != "合计")
        .map(|s| {
            let k = |f: &str| s[f].as_str().unwrap().to_string();
            ((k("group"), k("change"), k("status")), s["count"].as_i64().unwrap())
        })
        .collect();
    let key = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(causes[&key("生态退耕", "cultivated", "exempt")], 1, "{causes:?}");
    assert_eq!(causes[&key("未注明", "cultivated", "not-covered")], 1, "{causes:?}");
    assert_eq!(causes[&key("建设占用", "construction", "not-covered")], 2, "{causes:?}");
    assert_eq!(causes.values().sum::<i64>(), 7);
    // the ids are stable
    let (_, again) = screen_json(&reg, &[]);
    let ids =
        |r: &serde_json::Value| r["patches"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&r), ids(&again));
}

/// The patches layer against GEOS (through GDAL) and GeographicLib: each patch is the intersection of its two
/// parcels, and its covered ground the intersection with the union of the records that cover it.
#[test]
fn patch_areas_agree_with_geos() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let out = d.path().join("patches.gpkg");
    let (_, r) = screen_json(&reg, &["--patches", s(&out)]);
    let ll = to_lonlat();
    let ds = gdal::Dataset::open(&reg).unwrap();
    let geometry_of = |layer: &str, key_field: &str, key: &str, date: &str| -> Geometry {
        let mut l = ds.layer_by_name(layer).unwrap();
        l.set_attribute_filter(&format!(
            "\"{key_field}\" = '{key}' AND valid_from <= '{date}' AND (valid_to IS NULL OR valid_to > '{date}')"
        ))
        .unwrap();
        let g = l.features().next().unwrap_or_else(|| panic!("{layer} {key}")).geometry().unwrap().clone();
        g
    };
    let written = gdal::Dataset::open(&out).unwrap();
    let mut layer = written.layer_by_name("screen_patches").unwrap();
    assert_eq!(layer.feature_count() as usize, r["patches"].as_array().unwrap().len());
    let mut compared = 0;
    for f in layer.features() {
        let id = f.field_as_string(f.field_index("JCBH").unwrap()).unwrap().unwrap();
        let p = r["patches"].as_array().unwrap().iter().find(|p| p["id"] == id.as_str()).unwrap();
        let piece = geometry_of("parcels", "BSM", p["before"]["key"].as_str().unwrap(), "2019-12-31")
            .intersection(&geometry_of("parcels", "BSM", p["after"]["key"].as_str().unwrap(), "2020-12-31"))
            .unwrap();
        let area = f.field_as_double(f.field_index("MJ").unwrap()).unwrap().unwrap();
        let geos = geodesic_area(&piece, &ll);
        assert!((area - geos).abs() <= 1e-6 * geos, "{id}: {area} vs GEOS {geos}");
        // the layer's geometry is the piece
        let stored = f.geometry().unwrap().clone();
        let apart = |a: &Geometry, b: &Geometry| a.difference(b).map_or(0.0, |g| g.area());
        let off = apart(&stored, &piece) + apart(&piece, &stored);
        assert!(off < 1e-6 * piece.area(), "{id}: the layer's piece and GEOS's differ by {off} m²");
        let covering: Vec<&serde_json::Value> =
            p["compared"].as_array().unwrap().iter().filter(|c| c["covers"] == true).collect();
        if let Some(first) = covering.first() {
            let key_field = |c: &serde_json::Value| if c["layer"] == "mining" { "XKZH" } else { "PZWH" };
            let mut union = geometry_of(
                first["layer"].as_str().unwrap(),
                key_field(first),
                first["key"].as_str().unwrap(),
                "2021-06-30",
            );
            for c in &covering[1..] {
                union = union
                    .union(&geometry_of(
                        c["layer"].as_str().unwrap(),
                        key_field(c),
                        c["key"].as_str().unwrap(),
                        "2021-06-30",
                    ))
                    .unwrap();
            }
            let geos = geodesic_area(&piece.intersection(&union).unwrap(), &ll);
            let ours = f.field_as_double(f.field_index("FGMJ").unwrap()).unwrap().unwrap();
            assert!((ours - geos).abs() <= 1e-6 * geos, "{id}: covered {ours} vs GEOS {geos}");
            compared += 1;
        }
    }
    assert_eq!(compared, 3, "the covered and partly covered patches");
}

#[test]
fn bad_approvals_are_refused_and_nothing_is_written() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let write = |name: &str, text: String| write_file(d.path(), name, text);
    let approvals = |as_of: &str, file: &Path| {
        run(&["import", s(&reg), s(file), "--layer", "approvals", "--profile", "pzyd", "--as-of", as_of])
    };
    let stored = || count(&reg, "SELECT count(*) FROM approvals");
    assert_eq!(stored(), 4);
    // no approval date
    let no_date = write(
        "nd.geojson",
        collection(
            &[
                r#"{"PZWH":"X0","PZLX":"农用地转用","PZRQ":"2021-01-01"}"#,
                r#"{"PZWH":"X1","PZLX":"农用地转用","PZRQ":null}"#,
            ],
            &[rect(0.0, 10.0, 0.0, 10.0), rect(20.0, 30.0, 0.0, 10.0)],
        ),
    );
    let (c, _, e) = approvals("2021-12-31", &no_date);
    assert_eq!(c, 1, "{e}");
    assert!(
        e.contains("nd.geojson") && e.contains("feature #1") && e.contains("PZRQ") && e.contains("required"),
        "{e}"
    );
    // a mining right whose period ends before it starts
    let backwards = write(
        "kb.geojson",
        collection(
            &[r#"{"XKZH":"C1","QLLX":"2","YXQQ":"2020-01-01","YXQZ":"2019-01-01"}"#],
            &[rect(0.0, 10.0, 0.0, 10.0)],
        ),
    );
    let (c, _, e) =
        run(&["import", s(&reg), s(&backwards), "--layer", "mining", "--profile", "kyq", "--as-of", "2021-12-31"]);
    assert_eq!(c, 1, "{e}");
    assert!(e.contains("YXQZ") && e.contains("有效期止 2019-01-01 is before YXQQ 2020-01-01"), "{e}");
    // a number reused for other ground, and one reused with another date
    let all = |moved: &str, date: &str| {
        collection(
            &[
                &format!(r#"{{"PZWH":"浙土字A〔2020〕1号","PZLX":"3","PZRQ":"{date}","PZMJ":10000}}"#),
                r#"{"PZWH":"浙土字A〔2020〕2号","PZLX":"1","PZRQ":"2020-06-01"}"#,
            ],
            &[moved.to_string(), rect(100.0, 150.0, 0.0, 100.0)],
        )
    };
    let reused = write("re.geojson", all(&rect(300.0, 400.0, 0.0, 100.0), "2020-05-01"));
    let (c, _, e) = approvals("2021-12-31", &reused);
    assert_eq!(c, 1, "{e}");
    assert!(e.contains("geometry") && e.contains("浙土字A〔2020〕1号 is already registered on other ground"), "{e}");
    let redated = write("rd.geojson", all(&rect(0.0, 100.0, 0.0, 100.0), "2020-05-02"));
    let (c, _, e) = approvals("2021-12-31", &redated);
    assert_eq!(c, 1, "{e}");
    assert!(e.contains("PZRQ") && e.contains("批准日期 PZRQ = '2020-05-01', not '2020-05-02'"), "{e}");
    // the same number twice in one delivery
    let twice = write(
        "tw.geojson",
        collection(
            &[r#"{"PZWH":"Y1","PZLX":"1","PZRQ":"2021-01-01"}"#, r#"{"PZWH":"Y1","PZLX":"1","PZRQ":"2021-01-01"}"#],
            &[rect(0.0, 10.0, 0.0, 10.0), rect(20.0, 30.0, 0.0, 10.0)],
        ),
    );
    let (c, _, e) = approvals("2021-12-31", &twice);
    assert_eq!(c, 1, "{e}");
    assert!(e.contains("Y1"), "{e}");
    assert_eq!(stored(), 4, "nothing written");
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_vintages WHERE layer = 'approvals'"), 1);
    // repeated unchanged, an approval stays one record
    let same = write("same.geojson", all(&rect(0.0, 100.0, 0.0, 100.0), "2020-05-01"));
    let (c, _, e) = approvals("2021-12-31", &same);
    assert_eq!(c, 0, "{e}");
    assert_eq!(count(&reg, "SELECT count(*) FROM approvals WHERE PZWH = '浙土字A〔2020〕1号'"), 1);
}

/// A kind defined only in a `--layers` folder is imported, kept with its history and exported like the
/// built-in ones; an unknown --layer is refused with the list of kinds.
#[test]
fn a_layer_kind_is_a_data_file() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let layers = d.path().join("layers");
    std::fs::create_dir_all(layers.join("kinds")).unwrap();
    write_file(
        &layers.join("kinds"),
        "wells.toml",
        "kind = \"wells\"\ntitle = \"取水许可\"\ntitle_en = \"Water abstraction permits\"\nkey = \"XKZH\"\n\n[[fields]]\nname = \"XKZH\"\ntitle = \"许可证号\"\ntitle_en = \"permit\"\ntype = \"text\"\nrequired = true\n",
    );
    let src = write_file(d.path(), "w.geojson", collection(&[r#"{"XKZH":"W1"}"#], &[rect(0.0, 10.0, 0.0, 10.0)]));
    let (c, _, e) = run(&["import", s(&reg), s(&src), "--layer", "wells", "--as-of", "2021-01-01"]);
    assert_eq!(c, 2);
    assert!(e.contains("unknown layer 'wells'") && e.contains("approvals") && e.contains("mining"), "{e}");
    let (c, _, e) =
        run(&["--layers", s(&layers), "import", s(&reg), s(&src), "--layer", "wells", "--as-of", "2021-01-01"]);
    assert_eq!(c, 0, "{e}");
    assert_eq!(count(&reg, "SELECT count(*) FROM wells_current"), 1);
    // the registry made before the kind was defined got its table, R-tree and QGIS styles when opened
    assert_eq!(count(&reg, "SELECT count(*) FROM layer_styles WHERE f_table_name IN ('wells', 'wells_current')"), 2);
    assert_eq!(rtree_check(&reg, "wells"), "ok");
    assert_eq!(gpkg_conformance(&reg), "");
    let out = d.path().join("w-out.geojson");
    let (c, _, e) = run(&["--layers", s(&layers), "export", s(&reg), "--layer", "wells", "--out", s(&out)]);
    assert_eq!(c, 0, "{e}");
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"W1\""));
    // a kind file named after another kind, or a name the registry uses itself, is refused
    write_file(&layers.join("kinds"), "wells.toml", "kind = \"nr_wells\"\ntitle = \"x\"\ntitle_en = \"x\"\nkey = \"K\"\n[[fields]]\nname = \"K\"\ntitle = \"k\"\ntitle_en = \"k\"\ntype = \"text\"\n");
    let (c, _, e) = run(&["--layers", s(&layers), "info", s(&reg)]);
    assert_eq!(c, 2);
    assert!(e.contains("kinds/wells.toml") && e.contains("'nr_wells' cannot name a layer kind"), "{e}");
}

/// The demo county's second delivery carries approvals (PZYD) and mining rights (KYQ): its new housing is
/// approved, its new mine's right expired before the survey, and its farmland turned to forest is 生态退耕.
#[test]
fn the_demo_county_is_screened_against_its_delivered_approvals() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry_with(d.path(), &[("parcels", "sandiao-dltb")]);
    let src = seed("2020-12-31.gpkg");
    for (layer, profile) in [("approvals", "pzyd"), ("mining", "kyq")] {
        let (c, _, e) =
            run(&["import", s(&reg), s(&src), "--layer", layer, "--profile", profile, "--as-of", "2020-12-31"]);
        assert_eq!(c, 0, "{layer}: {e}");
    }
    let (code, r) = screen_json(&reg, &["--region", "330523"]);
    assert_eq!(code, 1);
    let got: Vec<(String, String, String)> = r["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |v: &serde_json::Value| v.as_str().unwrap().to_string();
            (format!("{}→{}", s(&p["before"]["class"]), s(&p["after"]["class"])), s(&p["change"]), s(&p["status"]))
        })
        .collect();
    let want = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        got,
        [
            want("0302→0701", "construction", "covered"),
            want("0302→0602", "construction", "not-covered"),
            want("0103→0301", "cultivated", "exempt"),
        ]
    );
    let cover: Vec<_> =
        r["cover_layers"].as_array().unwrap().iter().map(|l| (l["layer"].clone(), l["records"].clone())).collect();
    assert!(
        cover.contains(&("approvals".into(), 1.into())) && cover.contains(&("mining".into(), 1.into())),
        "{cover:?}"
    );
}

/// The register book's 关联信息 lists the approvals and mining rights a unit overlaps, with the overlap.
#[test]
fn the_book_links_a_unit_to_the_approvals_and_mining_rights_it_overlaps() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let unit = write_file(
        d.path(),
        "u.geojson",
        collection(
            &[r#"{"DYH":"330100ZB0001","DYMC":"测试登记单元","DYLX":"荒地"}"#],
            &[rect(50.0, 250.0, 0.0, 100.0)],
        ),
    );
    let (c, _, e) = run(&["import", s(&reg), s(&unit), "--layer", "units", "--as-of", "2021-06-30"]);
    assert_eq!(c, 0, "{e}");
    let out = d.path().join("book.json");
    let (c, _, e) = run(&["book", s(&reg), "--unit", "330100ZB0001", "--format", "json", "--out", s(&out)]);
    assert_eq!(c, 0, "{e}");
    let b: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let links: BTreeMap<String, (f64, String)> = b["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let who = format!("{}:{}", l["layer"].as_str().unwrap(), l["key"].as_str().unwrap());
            (who, (l["overlap"]["m2"].as_f64().unwrap(), l["detail"].as_str().unwrap().to_string()))
        })
        .collect();
    let ll = to_lonlat();
    let area = |x0: f64, x1: f64| geodesic_area(&rect_geom(x0, x1, 0.0, 100.0), &ll);
    let want = [
        ("approvals:浙土字A〔2020〕1号", area(50.0, 100.0)),
        ("approvals:浙土字A〔2020〕2号", area(100.0, 150.0)),
        ("mining:C3301002010017", area(190.0, 250.0)),
    ];
    assert_eq!(links.keys().map(String::as_str).collect::<Vec<_>>(), want.iter().map(|w| w.0).collect::<Vec<_>>());
    for (k, a) in want {
        assert!((links[k].0 - a).abs() < 0.05, "{k}: {} vs {a}", links[k].0);
    }
    assert!(links["approvals:浙土字A〔2020〕1号"].1.contains("农用地转用和土地征收 2020-05-01"), "{links:?}");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/book.schema.json")).unwrap()).unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&b));
}

/// The farmland-protection rules on a hand-made county: construction inside a block (NR601), a block drawn
/// on ground that is not cultivated (NR602), unfarmed cultivated land in a block (NR603), temporary land
/// past its period (NR604) and facility land beyond its filing (NR605) — and the cases they must not flag.
#[test]
fn farmland_protection_rules_find_the_known_cases() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let write = |name: &str, text: String| write_file(d.path(), name, text);
    let at = "2020-12-31";
    let parcels = write(
        "p.geojson",
        collection(
            &[
                r#"{"BSM":"A","DLBM":"0101","ZZSXDM":"LS"}"#,
                r#"{"BSM":"B","DLBM":"0103","ZZSXDM":"WG"}"#,
                r#"{"BSM":"C","DLBM":"0702"}"#,
                r#"{"BSM":"D","DLBM":"0301"}"#,
                r#"{"BSM":"E","DLBM":"1202"}"#,
            ],
            &[
                rect(0.0, 100.0, 0.0, 100.0),
                rect(100.0, 200.0, 0.0, 100.0),
                rect(200.0, 300.0, 0.0, 100.0),
                rect(300.0, 400.0, 0.0, 100.0),
                rect(400.0, 500.0, 0.0, 100.0),
            ],
        ),
    );
    let blocks = write(
        "f.geojson",
        collection(
            &[r#"{"BHKBH":"JB1"}"#, r#"{"BHKBH":"JB2"}"#],
            &[rect(0.0, 350.0, 0.0, 100.0), rect(0.0, 90.0, 0.0, 100.0)],
        ),
    );
    let temporary = write(
        "t.geojson",
        collection(
            &[
                r#"{"PZWH":"LS1","PZRQ":"2018-01-01","SYQXZ":"2020-06-30"}"#,
                r#"{"PZWH":"LS2","PZRQ":"2020-01-01","SYQXZ":"2022-01-01"}"#,
                r#"{"PZWH":"LS3","PZRQ":"2017-01-01","SYQXZ":"2019-12-01","FKRQ":"2020-03-01"}"#,
            ],
            &[rect(0.0, 10.0, 0.0, 10.0), rect(20.0, 30.0, 0.0, 10.0), rect(40.0, 50.0, 0.0, 10.0)],
        ),
    );
    let facility = write(
        "s.geojson",
        collection(
            &[
                r#"{"BABH":"SS1","BARQ":"2020-01-01","BAMJ":2000}"#,
                r#"{"BABH":"SS2","BARQ":"2020-01-01","BAMJ":10000}"#,
            ],
            &[rect(400.0, 450.0, 0.0, 100.0), rect(400.0, 500.0, 0.0, 100.0)],
        ),
    );
    for (layer, profile, file) in [
        ("parcels", "sandiao-dltb", &parcels),
        ("farmland", "yjjbnt", &blocks),
        ("temporary", "lsyd", &temporary),
        ("facility", "ssnyd", &facility),
    ] {
        let (c, _, e) = run(&["import", s(&reg), s(file), "--layer", layer, "--profile", profile, "--as-of", at]);
        assert_eq!(c, 0, "{layer}: {e}");
    }
    let (c, out, e) =
        run(&["check", s(&reg), "--as-of", at, "--only", "NR601,NR602,NR603,NR604,NR605", "--format", "json"]);
    assert_eq!(c, 1, "{e}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: BTreeMap<(String, String), (f64, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let ids = f["ids"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect::<Vec<_>>().join("/");
            (
                (f["rule"].as_str().unwrap().to_string(), ids),
                (f["area_m2"].as_f64().unwrap(), f["message"].as_str().unwrap().to_string()),
            )
        })
        .collect();
    let ll = to_lonlat();
    let area = |x0: f64, x1: f64, y1: f64| geodesic_area(&rect_geom(x0, x1, 0.0, y1), &ll);
    let want = [
        (("NR601", "C/JB1"), area(200.0, 300.0, 100.0)),
        (("NR602", "JB1"), area(200.0, 350.0, 100.0)),
        (("NR603", "B/JB1"), area(100.0, 200.0, 100.0)),
        (("NR604", "LS1"), area(0.0, 10.0, 10.0)),
        (("NR605", "SS1"), area(400.0, 500.0, 100.0) - 2000.0),
    ];
    let keys: Vec<(String, String)> = want.iter().map(|((r, k), _)| (r.to_string(), k.to_string())).collect();
    assert_eq!(found.keys().cloned().collect::<Vec<_>>(), keys, "{found:?}");
    for ((rule, key), a) in want {
        let (got, message) = &found[&(rule.to_string(), key.to_string())];
        assert!((got - a).abs() <= 1e-6 * a, "{rule} {key}: {got} vs {a} ({message})");
    }
    let share = area(200.0, 350.0, 100.0) / area(0.0, 350.0, 100.0) * 100.0;
    assert!(found[&("NR602".to_string(), "JB1".to_string())].1.contains(&format!("({share:.1} % of it")), "{found:?}");
    assert!(found[&("NR603".to_string(), "B/JB1".to_string())].1.contains("种植属性 WG"));
    assert!(found[&("NR604".to_string(), "LS1".to_string())].1.contains("ended 2020-06-30"));
}

/// Suspect patches are stored by a screening and followed to their end; a step out of order is refused
/// with nothing written; evidence is kept with its hash and comes back byte for byte.
#[test]
fn suspect_patches_are_followed_to_their_end() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let (code, r) = screen_json(&reg, &["--store"]);
    assert_eq!(code, 1);
    let suspects: Vec<String> = r["patches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "not-covered" || p["status"] == "partly")
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(suspects.len(), 5);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_patches"), 5);
    // a second screening stores nothing twice
    screen_json(&reg, &["--store"]);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_patches"), 5);
    let list = |extra: &[&str]| -> serde_json::Value {
        let mut a = vec!["patch", "list", s(&reg), "--format", "json"];
        a.extend_from_slice(extra);
        let (c, out, e) = run(&a);
        assert_eq!(c, 0, "{e}");
        serde_json::from_str(&out).unwrap()
    };
    assert_eq!(list(&["--step", "待核查"]).as_array().unwrap().len(), 5);
    let (legal, illegal) = (&suspects[0], &suspects[1]);
    let set = |patch: &str, args: &[&str]| {
        let mut a = vec!["patch", "set", s(&reg), patch];
        a.extend_from_slice(args);
        run(&a)
    };
    let steps = || count(&reg, "SELECT count(*) FROM nr_patch_steps");
    let before = steps();
    // out of order: 销号 before 核查, a check without its result, a date before the latest step
    for (args, says) in [
        (
            vec!["--step", "销号", "--date", "2021-03-01", "--by", "李四", "--note", "x"],
            "销号 cannot follow 待核查; the next step is 已核查",
        ),
        (vec!["--step", "已核查", "--date", "2021-03-01", "--by", "李四", "--note", "x"], "needs its result"),
        (
            vec!["--step", "已核查", "--result", "违法", "--date", "2020-01-01", "--by", "李四", "--note", "x"],
            "is before its latest step",
        ),
        (
            vec![
                "--step",
                "已核查",
                "--result",
                "违法",
                "--date",
                "2021-03-01",
                "--by",
                "李四",
                "--note",
                "x",
                "--evidence",
                "/nonexistent.jpg",
            ],
            "--evidence /nonexistent.jpg",
        ),
    ] {
        let (c, _, e) = set(illegal, &args);
        assert_eq!(c, 2, "{e}");
        assert!(e.contains(says) && e.contains("nothing was written"), "{e}");
    }
    assert_eq!(steps(), before, "nothing written");
    let photo = write_file(d.path(), "现场照片.jpg", b"\xff\xd8\xff\xe0 a field photo".as_slice());
    let doc = write_file(d.path(), "整改报告.pdf", b"%PDF-1.4 rectified".as_slice());
    let ok = |patch: &str, args: &[&str]| {
        let (c, _, e) = set(patch, args);
        assert_eq!(c, 0, "{e}");
    };
    ok(
        illegal,
        &[
            "--step",
            "已核查",
            "--result",
            "违法",
            "--date",
            "2021-03-01",
            "--by",
            "李四",
            "--note",
            "未批先建，住宅",
            "--evidence",
            s(&photo),
        ],
    );
    // 违法: rectified before it is closed
    let (c, _, e) = set(illegal, &["--step", "销号", "--date", "2021-04-01", "--by", "李四", "--note", "x"]);
    assert!(c == 2 && e.contains("销号 cannot follow 已核查 (违法); the next step is 整改中"), "{e}");
    ok(illegal, &["--step", "整改中", "--date", "2021-04-01", "--by", "王五", "--note", "限期拆除"]);
    ok(
        illegal,
        &["--step", "已整改", "--date", "2021-06-01", "--by", "王五", "--note", "已拆除复耕", "--evidence", s(&doc)],
    );
    ok(illegal, &["--step", "销号", "--date", "2021-06-15", "--by", "李四", "--note", "验收合格"]);
    let (c, _, e) = set(illegal, &["--step", "整改中", "--date", "2021-07-01", "--by", "李四", "--note", "x"]);
    assert!(c == 2 && e.contains("is closed (销号)"), "{e}");
    // 合法: closed after its check
    ok(
        legal,
        &["--step", "已核查", "--result", "合法", "--date", "2021-03-02", "--by", "李四", "--note", "有历史批文"],
    );
    let (c, _, e) = set(legal, &["--step", "整改中", "--date", "2021-03-03", "--by", "李四", "--note", "x"]);
    assert!(c == 2 && e.contains("the next step is 销号"), "{e}");
    ok(legal, &["--step", "销号", "--date", "2021-03-03", "--by", "李四", "--note", "合法销号"]);
    // the history, and the evidence byte for byte
    let out = d.path().join("ev");
    let (c, shown, e) = run(&["patch", "show", s(&reg), illegal, "--format", "json", "--evidence-dir", s(&out)]);
    assert_eq!(c, 0, "{e}");
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let history: Vec<&str> = shown["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(history, ["待核查", "已核查", "整改中", "已整改", "销号"]);
    assert_eq!(shown["steps"][1]["result"], "违法");
    let kept = &shown["steps"][1]["evidence"][0];
    assert_eq!(kept[0], "现场照片.jpg");
    assert_eq!(kept[1], sha256(&photo).as_str());
    assert_eq!(
        std::fs::read(out.join(format!("{}-现场照片.jpg", &sha256(&photo)[..12]))).unwrap(),
        std::fs::read(&photo).unwrap()
    );
    assert_eq!(
        std::fs::read(out.join(format!("{}-整改报告.pdf", &sha256(&doc)[..12]))).unwrap(),
        std::fs::read(&doc).unwrap()
    );
    let closed: Vec<String> = list(&["--step", "销号"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["patch_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(closed.len(), 2);
    assert!(closed.contains(legal) && closed.contains(illegal));
    // the history is kept like every other: no step can be changed or removed
    let c = rusqlite::Connection::open(&reg).unwrap();
    assert!(c.execute("DELETE FROM nr_patch_steps", []).is_err());
    assert!(c.execute("UPDATE nr_patch_evidence SET content = x'00'", []).is_err());
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_trail WHERE action = 'patch.step'"), 6);
    assert_eq!(gpkg_conformance(&reg), "");
}

/// A later survey showing a suspect patch's ground restored marks it "restored in survey D", to be
/// confirmed; patches whose ground is still built on are not marked.
#[test]
fn a_later_survey_showing_the_ground_restored_marks_the_patch() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    screen_json(&reg, &["--store"]);
    // 2021: parcel 14's ground (0404 → 0702 in 2020, not covered) is grassland again; the rest as in 2020
    let zl = |bsm: &str, dlbm: &str| format!(r#"{{"BSM":"{bsm}","DLBM":"{dlbm}","ZLDWDM":"3301001{bsm}"}}"#);
    let p21 = write_file(
        d.path(),
        "p21.geojson",
        collection(
            &[
                &zl("11", "0701"),
                &zl("12", "0601"),
                &zl("13", "0602"),
                &zl("24", "0404"),
                &zl("15", "0301"),
                &zl("16", "0701"),
                &zl("17", "0201"),
            ],
            &[
                rect(0.0, 100.0, 0.0, 100.0),
                rect(100.0, 200.0, 0.0, 100.0),
                rect(200.0, 300.0, 0.0, 100.0),
                rect(300.0, 400.0, 0.0, 100.0),
                rect(400.0, 500.0, 0.0, 100.0),
                rect(500.0, 600.0, 0.0, 100.0),
                rect(600.0, 700.0, 0.0, 100.0),
            ],
        ),
    );
    let (c, _, e) = run(&["import", s(&reg), s(&p21), "--layer", "parcels", "--as-of", "2021-12-31"]);
    assert_eq!(c, 0, "{e}");
    let a = write_file(
        d.path(),
        "a21.geojson",
        collection(&[r#"{"XZQDM":"330100","XZQMC":"测试县"}"#], &[rect(0.0, 700.0, 0.0, 100.0)]),
    );
    assert_eq!(run(&["import", s(&reg), s(&a), "--layer", "admin", "--as-of", "2021-12-31"]).0, 0);
    let (c, _, e) = run(&["screen", s(&reg), "--from", "2020-12-31", "--to", "2021-12-31", "--store"]);
    assert!(c == 0 || c == 1, "{e}");
    assert!(e.contains("1 patch(es) found before show their ground restored in the survey of 2021-12-31"), "{e}");
    let (_, out, _) = run(&["patch", "list", s(&reg), "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let restored: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some((p["after"].as_str().unwrap(), p["restored_in"].as_str()?)))
        .collect();
    assert_eq!(restored.len(), 1, "{list:#}");
    assert!(restored[0].0.starts_with("14 0702"), "{restored:?}");
    assert_eq!(restored[0].1, "2021-12-31");
    // the mark is a suggestion: the patch is still at 待核查 until someone steps it
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_patch_steps WHERE step <> '待核查'"), 0);
}

/// The outgoing audit lists the patches found in the tenure with the step each stood at on its last day,
/// and counts illegal occupation of cultivated land not rectified by then.
#[test]
fn the_audit_lists_the_tenures_patches_as_they_stood_at_its_end() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let (_, r) = screen_json(&reg, &["--store"]);
    let id_of = |after: &str| {
        r["patches"].as_array().unwrap().iter().find(|p| p["after"]["key"] == after).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // 16: housing on 0101 (partly covered), checked 违法 on the tenure's last day and rectified after it
    let on_cultivated = id_of("16");
    for (step, result, date) in
        [("已核查", Some("违法"), "2020-12-31"), ("整改中", None, "2021-01-10"), ("已整改", None, "2021-03-01")]
    {
        let mut a = vec![
            "patch",
            "set",
            s(&reg),
            &on_cultivated,
            "--step",
            step,
            "--date",
            date,
            "--by",
            "李四",
            "--note",
            "核查",
        ];
        if let Some(r) = result {
            a.extend(["--result", r]);
        }
        let (c, _, e) = run(&a);
        assert_eq!(c, 0, "{e}");
    }
    // 14: built on grassland, checked 违法 too: illegal, but not on cultivated land
    let (c, _, e) = run(&[
        "patch",
        "set",
        s(&reg),
        &id_of("14"),
        "--step",
        "已核查",
        "--result",
        "违法",
        "--date",
        "2020-12-31",
        "--by",
        "李四",
        "--note",
        "x",
    ]);
    assert_eq!(c, 0, "{e}");
    let json = d.path().join("audit.json");
    let html = d.path().join("audit.html");
    let (c, _, e) = run(&[
        "audit",
        s(&reg),
        "--official",
        "张三",
        "--post",
        "县长",
        "--region",
        "330100",
        "--from",
        "2019-12-31",
        "--to",
        "2020-12-31",
        "--targets",
        s(&seed("targets.toml")),
        "--json",
        s(&json),
        "--out",
        s(&html),
    ]);
    assert_eq!(c, 0, "{e}");
    let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let patches = a["patches"].as_array().unwrap();
    assert_eq!(patches.len(), 5, "{patches:#?}");
    let p16 = patches.iter().find(|p| p["patch_id"] == on_cultivated.as_str()).unwrap();
    assert_eq!(
        (p16["step"].as_str(), p16["result"].as_str()),
        (Some("已核查"), Some("违法")),
        "the steps after the tenure do not count"
    );
    assert_eq!(p16["unresolved_illegal_cultivated"], true);
    let unresolved: Vec<&serde_json::Value> =
        patches.iter().filter(|p| p["unresolved_illegal_cultivated"] == true).collect();
    assert_eq!(unresolved.len(), 1, "{unresolved:#?}");
    let report = std::fs::read_to_string(&html).unwrap();
    assert!(
        report.contains("违法占用耕地未整改 (illegal occupation of cultivated land not rectified): 1 处"),
        "report"
    );
    assert!(report.contains(&on_cultivated));
    // the tenure's cultivated-land ledgers: the screening's
    let (_, screened) = screen_json(&reg, &["--region", "330100"]);
    assert_eq!(a["ledger"], screened["ledger"]);
    let total = a["ledger"].as_array().unwrap().last().unwrap();
    assert_eq!((total["occupation_balanced"].as_bool(), total["in_out_balanced"].as_bool()), (Some(false), Some(true)));
    assert!(report.contains("占补平衡 不平衡 (not balanced)") && report.contains("进出平衡 平衡 (balanced)"), "report");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/audit.schema.json")).unwrap()).unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&a));
}

/// The patches page of `nrledger serve`: any account reads the patches and their history; a reviewer takes
/// the next step with its evidence uploaded, and a step out of order is refused on the page with nothing
/// written; the evidence comes back byte for byte.
#[test]
fn a_reviewer_steps_a_patch_in_the_service() {
    use crate::access::{add_people, call, post_multipart, sign_in, PEOPLE};
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let (_, r) = screen_json(&reg, &["--store"]);
    let id = r["patches"].as_array().unwrap().iter().find(|p| p["after"]["key"] == "16").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    add_people(&reg);
    let srv = crate::serve::Server::start(&reg);
    let (reviewer, viewer) =
        (PEOPLE.iter().find(|p| p.0 == "sun").unwrap(), PEOPLE.iter().find(|p| p.0 == "liu").unwrap());
    let (rb, vb) = (sign_in(&srv, reviewer.0, reviewer.2), sign_in(&srv, viewer.0, viewer.2));
    let list = call(&format!("{}/patches?f=json", srv.url), "GET", &[vb.header()], None);
    assert_eq!(list.status, 200, "{}", list.body);
    let listed: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    assert_eq!(listed["patches"].as_array().unwrap().len(), 5);
    // the viewer sees the patch but not the form; the reviewer sees the form with the next step only
    let page = |b: &crate::access::Browser| {
        call(&format!("{}/patches/{id}", srv.url), "GET", &[b.header(), ("Accept", "text/html".into())], None).body
    };
    assert!(!page(&vb).contains(&format!("/patches/{id}/steps")), "a viewer gets no form");
    let form = page(&rb);
    assert!(
        form.contains(&format!("/patches/{id}/steps"))
            && form.contains("<option>已核查</option>")
            && !form.contains("<option>销号</option>"),
        "{form}"
    );
    let path = format!("/patches/{id}/steps");
    let steps = || count(&reg, "SELECT count(*) FROM nr_patch_steps");
    let before = steps();
    // out of order: 销号 before 核查 — the page says why, nothing is written
    let refused = post_multipart(
        &srv,
        &rb,
        &path,
        &[("csrf", &rb.csrf), ("step", "销号"), ("date", "2021-03-01"), ("note", "x")],
        &[],
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("销号 cannot follow 待核查"), "{}", refused.body);
    assert_eq!(steps(), before);
    // without the session's token the form is refused
    let forged = post_multipart(
        &srv,
        &rb,
        &path,
        &[("csrf", "x"), ("step", "已核查"), ("result", "违法"), ("date", "2021-03-01"), ("note", "x")],
        &[],
    );
    assert_eq!(forged.status, 403);
    // the viewer may not step it
    let viewer_post = post_multipart(
        &srv,
        &vb,
        &path,
        &[("csrf", &vb.csrf), ("step", "已核查"), ("result", "违法"), ("date", "2021-03-01"), ("note", "x")],
        &[],
    );
    assert_eq!(viewer_post.status, 403);
    assert_eq!(steps(), before);
    let photo: &[u8] = b"JFIF field photo of patch 16";
    let done = post_multipart(
        &srv,
        &rb,
        &path,
        &[("csrf", &rb.csrf), ("step", "已核查"), ("result", "违法"), ("date", "2021-03-01"), ("note", "未批先建")],
        &[("evidence", "photo.jpg", photo)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let shown = call(&format!("{}/patches/{id}?f=json", srv.url), "GET", &[vb.header()], None);
    let shown: serde_json::Value = serde_json::from_str(&shown.body).unwrap();
    let last = shown["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["step"].as_str(), last["result"].as_str(), last["person"].as_str()),
        (Some("已核查"), Some("违法"), Some("sun"))
    );
    let sha = last["evidence"][0][1].as_str().unwrap().to_string();
    let file = call(&format!("{}/patches/{id}/evidence/{sha}", srv.url), "GET", &[vb.header()], None);
    assert_eq!(file.status, 200);
    assert_eq!(file.body.as_bytes(), photo, "the evidence comes back as uploaded");
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(photo)), sha);
    // the step is the trail's too, by the reviewer's account
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_trail WHERE action = 'patch.step' AND who = 'sun'"), 1);
}

/// `balance --ledgers` adds the screening's cultivated-land ledgers to the sheet's tables, in every format.
#[test]
fn the_balance_sheet_carries_the_ledgers_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let args =
        ["balance", s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--region", "330100", "--format", "json"];
    let (c, plain, e) = run(&args);
    assert_eq!(c, 0, "{e}");
    let ids = |out: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        v["tables"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
    };
    assert!(!ids(&plain).contains(&"ledger".to_string()), "only when asked");
    let (c, out, e) = run(&[&args[..], &["--ledgers"]].concat());
    assert_eq!(c, 0, "{e}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ledger = v["tables"].as_array().unwrap().iter().find(|t| t["id"] == "ledger").expect("the ledger table");
    let total = ledger["rows"].as_array().unwrap().last().unwrap();
    assert_eq!(total["code"], "合计");
    let (_, screened) = screen_json(&reg, &["--region", "330100"]);
    let want = screened["ledger"].as_array().unwrap().last().unwrap();
    let cols = ["taken_by_construction_m2", "taken_approved_m2", "supplemented_m2", "out_m2", "out_exempt_m2", "in_m2"];
    for (i, c) in cols.iter().enumerate() {
        assert_eq!(total["values"][i].as_f64(), want[*c].as_f64(), "{c}");
    }
    assert_eq!(total["name"], "占补不平衡 · 进出平衡");
    let xlsx = d.path().join("sheet.xlsx");
    let (c, _, e) = run(&[
        "balance",
        s(&reg),
        "--from",
        "2019-12-31",
        "--to",
        "2020-12-31",
        "--region",
        "330100",
        "--ledgers",
        "--format",
        "xlsx",
        "--out",
        s(&xlsx),
    ]);
    assert_eq!(c, 0, "{e}");
}
