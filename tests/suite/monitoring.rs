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

/// The hand-made county: 700 m × 100 m, six parcels in 2019, seven in 2020 (the last one split), and the
/// records that may cover their changes.
fn county(dir: &Path) -> PathBuf {
    let reg = registry(dir);
    let write = |name: &str, text: String| write_file(dir, name, text);
    let admin =
        write("a.geojson", collection(&[r#"{"XZQDM":"330100","XZQMC":"测试县"}"#], &[rect(0.0, 700.0, 0.0, 100.0)]));
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
            ],
            &[
                rect(0.0, 100.0, 0.0, 100.0),
                rect(100.0, 200.0, 0.0, 100.0),
                rect(200.0, 300.0, 0.0, 100.0),
                rect(300.0, 400.0, 0.0, 100.0),
                rect(400.0, 500.0, 0.0, 100.0),
                rect(500.0, 700.0, 0.0, 100.0),
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
        .filter(|s| s["township"] == "合计")
        .map(|s| s["area_m2"].as_f64().unwrap())
        .sum();
    let patches: f64 = by_after.values().map(|p| p["area_m2"].as_f64().unwrap()).sum();
    assert!((total - patches).abs() < 1e-6, "{total} vs {patches}");
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
