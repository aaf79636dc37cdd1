//! The registry: vintages and history, registration events, query, export (RFC 7946), round trips,
//! append-only storage, atomicity under kill -9, and the file as an ordinary GeoPackage for GDAL/QGIS.

use crate::common::*;
use std::path::Path;

fn demo_registry(dir: &Path) -> std::path::PathBuf {
    let reg = dir.join("anji.gpkg");
    let (c, _, e) = run(&["init", s(&reg), "--region", "330523"]);
    assert_eq!(c, 0, "{e}");
    for d in ["2019-12-31", "2020-12-31"] {
        let src = seed(&format!("{d}.gpkg"));
        for (layer, profile) in [
            ("parcels", "sandiao-dltb"),
            ("redlines", "stbhhx"),
            ("units", "zrzy-djdy"),
            ("farmland", "yjjbnt"),
            ("urban", "czkfbj"),
        ] {
            let (c, o, e) = run(&[
                "import",
                s(&reg),
                s(&src),
                "--layer",
                layer,
                "--profile",
                profile,
                "--as-of",
                d,
                "--registrar",
                "tester",
            ]);
            assert_eq!(c, 0, "{layer} {d}: {o}{e}");
        }
    }
    reg
}

fn defects() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(seed("defects.json")).unwrap()).unwrap()
}

#[test]
fn init_by_region_picks_the_gauss_kruger_zone_and_refuses_to_overwrite() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("r.gpkg");
    let (c, out, err) = run(&["init", s(&reg), "--region", "330523"]);
    assert_eq!(c, 0);
    assert!(err.contains("zone 40") && out.contains("EPSG:4549"), "{out}{err}");
    let (c, _, err) = run(&["init", s(&reg), "--region", "330523"]);
    assert_eq!(c, 2);
    assert!(err.contains("already exists"), "{err}");
    let (c, _, err) = run(&["init", s(&d.path().join("g.gpkg")), "--crs", "EPSG:4490"]);
    assert_eq!(c, 2);
    assert!(err.contains("projected"), "{err}");
    let (c, _, err) = run(&["init", s(&d.path().join("x.gpkg")), "--region", "999999"]);
    assert_eq!(c, 2);
    assert!(err.contains("999999"), "{err}");
}

#[test]
fn vintages_history_events_and_as_of_queries() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let v1 = count(&reg, "SELECT count(*) FROM parcels WHERE valid_from <= '2019-12-31' AND (valid_to IS NULL OR valid_to > '2019-12-31')");
    let v2 = count(&reg, "SELECT count(*) FROM parcels_current");
    let df = defects();
    assert_eq!(v1, df["counts"]["parcels_2019"].as_i64().unwrap());
    assert_eq!(v2, df["counts"]["parcels_2020"].as_i64().unwrap());
    // the gap defect: a 2019 parcel is closed in 2020 and kept
    let gone = df["defects_2020"].as_array().unwrap().iter().find(|x| x["kind"] == "coverage_gap").unwrap()["was_BSM"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        count(&reg, &format!("SELECT count(*) FROM parcels WHERE BSM = '{gone}' AND valid_to = '2020-12-31'")),
        1
    );
    // the class change of the red-line violation: old record closed, new one open, both kept
    let v = df["defects_2020"].as_array().unwrap().iter().find(|x| x["what"] == "采矿用地 in 核心保护区").unwrap()
        ["BSM"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(count(&reg, &format!("SELECT count(*) FROM parcels WHERE BSM = '{v}'")), 2);
    assert_eq!(
        count(&reg, &format!("SELECT count(*) FROM parcels WHERE BSM = '{v}' AND valid_to IS NULL AND DLBM = '0602'")),
        1
    );
    // exports as of each date give each vintage
    for (date, n) in [("2019-12-31", v1), ("2020-06-30", v1), ("2020-12-31", v2)] {
        let out = d.path().join(format!("p-{date}.geojson"));
        let (c, _, e) = run(&["export", s(&reg), "--layer", "parcels", "--as-of", date, "--out", s(&out)]);
        assert_eq!(c, 0, "{e}");
        let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(j["features"].as_array().unwrap().len() as i64, n, "{date}");
    }
    let out = d.path().join("p-2018.geojson");
    run(&["export", s(&reg), "--layer", "parcels", "--as-of", "2018-12-31", "--out", s(&out)]);
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(j["features"].as_array().unwrap().len(), 0);
    // registration events with who, when, reason and document number
    let (c, out, _) = run(&["info", s(&reg), "--events", "--format", "json"]);
    assert_eq!(c, 0);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ev = j["events"].as_array().unwrap();
    assert_eq!(ev.len() as i64, df["counts"]["units"].as_i64().unwrap());
    assert!(ev.iter().all(|e| e["event_type"] == "首次登记"
        && e["registrar"] == "tester"
        && e["document_no"].as_str().unwrap().contains("登字")));
    // an out-of-order vintage is refused and changes nothing
    let before = sha256(&reg);
    let (c, _, err) = run(&[
        "import",
        s(&reg),
        s(&seed("2019-12-31.gpkg")),
        "--layer",
        "parcels",
        "--profile",
        "sandiao-dltb",
        "--as-of",
        "2020-06-30",
    ]);
    assert_eq!(c, 2);
    assert!(err.contains("already has a vintage as of 2020-12-31"), "{err}");
    assert_eq!(sha256(&reg), before);
}

#[test]
fn units_changes_and_cancellations_close_records_and_record_events() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let src = seed("2019-12-31.gpkg");
    assert_eq!(
        run(&["import", s(&reg), s(&src), "--layer", "units", "--profile", "zrzy-djdy", "--as-of", "2019-12-31"]).0,
        0
    );
    // a later snapshot with one unit renamed and one missing
    let next = d.path().join("units2.geojson");
    let (c, _, e) = run(&["export", s(&reg), "--layer", "units", "--out", s(&next)]);
    assert_eq!(c, 0, "{e}");
    let mut j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&next).unwrap()).unwrap();
    let feats = j["features"].as_array_mut().unwrap();
    let cancelled = feats.pop().unwrap()["properties"]["DYH"].as_str().unwrap().to_string();
    feats[0]["properties"]["DYMC"] = serde_json::json!("更名后的登记单元");
    feats[0]["properties"]["DJWH"] = serde_json::json!("安自然资登字〔2021〕第9号");
    let changed = feats[0]["properties"]["DYH"].as_str().unwrap().to_string();
    let next2 = d.path().join("units3.geojson");
    std::fs::write(&next2, j.to_string()).unwrap();
    let (c, out, e) =
        run(&["import", s(&reg), s(&next2), "--layer", "units", "--as-of", "2021-06-30", "--reason", "边界调整"]);
    assert_eq!(c, 0, "{out}{e}");
    assert!(out.contains("1 inserted") && out.contains("2 closed"), "{out}");
    assert_eq!(count(&reg, &format!("SELECT count(*) FROM nr_events WHERE unit_code = '{changed}' AND event_type = '变更登记' AND document_no = '安自然资登字〔2021〕第9号' AND reason = '边界调整'")), 1);
    assert_eq!(
        count(
            &reg,
            &format!("SELECT count(*) FROM nr_events WHERE unit_code = '{cancelled}' AND event_type = '注销登记'")
        ),
        1
    );
    assert_eq!(
        count(&reg, &format!("SELECT count(*) FROM units WHERE DYH = '{cancelled}' AND valid_to = '2021-06-30'")),
        1
    );
    assert_eq!(count(&reg, "SELECT count(*) FROM units"), 4);
    // a correcting vintage: the changed unit gets a 更正登记 event
    let mut j2: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&next2).unwrap()).unwrap();
    j2["features"][0]["properties"]["DYMC"] = serde_json::json!("更正后的登记单元名称");
    let next3 = d.path().join("units4.geojson");
    std::fs::write(&next3, j2.to_string()).unwrap();
    let (c, out, e) = run(&[
        "import",
        s(&reg),
        s(&next3),
        "--layer",
        "units",
        "--as-of",
        "2021-09-30",
        "--correction",
        "--reason",
        "名称笔误",
    ]);
    assert_eq!(c, 0, "{out}{e}");
    assert_eq!(count(&reg, &format!("SELECT count(*) FROM nr_events WHERE unit_code = '{changed}' AND event_type = '更正登记' AND reason = '名称笔误'")), 1);
}

#[test]
fn query_finds_the_parcel_red_line_and_unit_at_a_point() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let (c, out, e) = run(&["query", s(&reg), "--bbox", "119.2,30.3,119.9,30.9", "--format", "json"]);
    assert_eq!(c, 0, "{e}");
    let hits: serde_json::Value = serde_json::from_str(&out).unwrap();
    let layers: std::collections::BTreeSet<&str> =
        hits.as_array().unwrap().iter().map(|h| h["layer"].as_str().unwrap()).collect();
    for l in ["parcels", "redlines", "farmland", "urban", "units"] {
        assert!(layers.contains(l), "{l} missing from {layers:?}");
    }
    // a point: exactly one parcel (a clean tiling), with its class
    let (c, out, _) = run(&["query", s(&reg), "--at", "119.6,30.6", "--format", "json"]);
    assert_eq!(c, 0);
    let hits: serde_json::Value = serde_json::from_str(&out).unwrap();
    let parcels: Vec<&serde_json::Value> =
        hits.as_array().unwrap().iter().filter(|h| h["layer"] == "parcels").collect();
    assert_eq!(parcels.len(), 1, "{out}");
    assert!(parcels[0]["attributes"]["DLBM"].is_string() && parcels[0]["attributes"]["DLMC"].is_string());
    let (c, out, _) = run(&["query", s(&reg), "--at", "100.0,30.0"]);
    assert_eq!(c, 0);
    assert!(out.contains("nothing here"));
}

#[test]
fn geojson_export_is_rfc7946() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let out = d.path().join("parcels.geojson");
    assert_eq!(run(&["export", s(&reg), "--layer", "parcels", "--out", s(&out)]).0, 0);
    let text = std::fs::read_to_string(&out).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(j.get("crs").is_none());
    let gj: geojson::GeoJson = text.parse().unwrap();
    let fc = geojson::FeatureCollection::try_from(gj).unwrap();
    for f in &fc.features {
        let g: geo::Geometry<f64> = f.geometry.clone().unwrap().try_into().unwrap();
        let geo::Geometry::MultiPolygon(mp) = g else { panic!("not a multipolygon") };
        for p in &mp.0 {
            use geo::Winding;
            assert!(p.exterior().is_ccw(), "exterior not counter-clockwise");
            assert!(p.interiors().iter().all(|r| r.is_cw()));
            for c in p.exterior().0.iter() {
                assert!((119.0..120.5).contains(&c.x) && (30.0..31.0).contains(&c.y), "{c:?} not lon/lat");
            }
        }
    }
    // refuses to overwrite
    assert_eq!(run(&["export", s(&reg), "--layer", "parcels", "--out", s(&out)]).0, 2);
}

fn roundtrip(reg: &Path, layer: &str, dir: &Path, ext: &str, profile: Option<&str>) {
    let out = dir.join(format!("{layer}.{ext}"));
    let (c, _, e) = run(&["export", s(reg), "--layer", layer, "--out", s(&out)]);
    assert_eq!(c, 0, "{e}");
    let reg2 = dir.join(format!("back-{ext}.gpkg"));
    let crs = rusqlite::Connection::open(reg)
        .unwrap()
        .query_row("SELECT value FROM nr_meta WHERE key='crs'", [], |r| r.get::<_, String>(0))
        .unwrap();
    let def = serde_json::from_str::<serde_json::Value>(&crs).unwrap()["definition"].as_str().unwrap().to_string();
    assert_eq!(run(&["init", s(&reg2), "--crs", &def]).0, 0);
    let mut args = vec!["import", s(&reg2), s(&out), "--layer", layer, "--as-of", "2025-01-01"];
    if let Some(p) = profile {
        args.extend(["--profile", p]);
    }
    let (c, o, e) = run(&args);
    assert_eq!(c, 0, "{ext}: {o}{e}");
    // same keys, same attributes (by content hash minus geometry), areas within 1e-6 relative
    let a = rusqlite::Connection::open(reg).unwrap();
    let b = rusqlite::Connection::open(&reg2).unwrap();
    let key = match layer {
        "admin" => "XZQDM",
        "parcels" => "BSM",
        _ => unreachable!(),
    };
    let rows = |c: &rusqlite::Connection| -> Vec<(String, String, f64, f64)> {
        let mut st = c.prepare(&format!("SELECT * FROM {layer}_current ORDER BY \"{key}\"")).unwrap();
        let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
        let mut rs = st.query([]).unwrap();
        let mut v = vec![];
        while let Some(r) = rs.next().unwrap() {
            let mut attrs = vec![];
            for (i, n) in names.iter().enumerate() {
                if ["fid", "geom", "valid_from", "valid_to", "import_id", "area_ell", "area_gk", "rec_hash"]
                    .contains(&n.as_str())
                {
                    continue;
                }
                let val: rusqlite::types::Value = r.get(i).unwrap();
                attrs.push(format!("{n}={val:?}"));
            }
            let k: String = r.get(key).unwrap();
            v.push((k, attrs.join("|"), r.get("area_ell").unwrap(), r.get("area_gk").unwrap()));
        }
        v
    };
    let (ra, rb) = (rows(&a), rows(&b));
    assert_eq!(ra.len(), rb.len());
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x.0, y.0);
        assert_eq!(x.1, y.1, "{ext}: attributes of {}", x.0);
        assert!((x.2 - y.2).abs() <= 1e-6 * x.2 + 1e-3, "{ext}: ellipsoidal area of {}: {} vs {}", x.0, x.2, y.2);
        assert!((x.3 - y.3).abs() <= 1e-6 * x.3 + 1e-3, "{ext}: planar area of {}: {} vs {}", x.0, x.3, y.3);
    }
}

/// import → export → import on real county outlines (天地图, CGCS2000) and on the demo parcels, through
/// each export format.
#[test]
fn round_trip_preserves_geometry_and_attributes() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("hz.gpkg");
    assert_eq!(run(&["init", s(&reg), "--region", "330500"]).0, 0);
    let (c, o, e) = run(&[
        "import",
        s(&reg),
        s(&fixture("admin/huzhou_counties.geojson")),
        "--layer",
        "admin",
        "--profile",
        "tianditu-county",
        "--as-of",
        "2020-01-01",
    ]);
    assert_eq!(c, 0, "{o}{e}");
    assert_eq!(count(&reg, "SELECT count(*) FROM admin"), 5);
    for ext in ["geojson", "gpkg", "shp"] {
        let sub = d.path().join(format!("admin-{ext}"));
        std::fs::create_dir_all(&sub).unwrap();
        roundtrip(&reg, "admin", &sub, ext, None);
    }
    let p = d.path().join("parcels");
    std::fs::create_dir_all(&p).unwrap();
    let preg = registry(&p);
    assert_eq!(
        run(&[
            "import",
            s(&preg),
            s(&fixture("dltb/gbk.shp")),
            "--layer",
            "parcels",
            "--profile",
            "sandiao-dltb",
            "--as-of",
            "2019-12-31"
        ])
        .0,
        0
    );
    for ext in ["geojson", "gpkg", "shp"] {
        let sub = p.join(ext);
        std::fs::create_dir_all(&sub).unwrap();
        roundtrip(&preg, "parcels", &sub, ext, Some("sandiao-dltb"));
    }
}

/// The registry is an ordinary GeoPackage: GDAL lists its layers, reads its features and uses its R-tree.
#[test]
fn gdal_reads_the_registry_as_ordinary_layers() {
    use gdal::vector::LayerAccess;
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(
        run(&[
            "import",
            s(&reg),
            s(&fixture("dltb/gbk.shp")),
            "--layer",
            "parcels",
            "--profile",
            "sandiao-dltb",
            "--as-of",
            "2019-12-31"
        ])
        .0,
        0
    );
    let ds = gdal::Dataset::open(&reg).unwrap();
    assert_eq!(ds.driver().short_name(), "GPKG");
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    for n in [
        "admin",
        "units",
        "parcels",
        "parcels_current",
        "redlines",
        "farmland",
        "urban",
        "forest",
        "rejects",
        "nr_imports",
        "nr_vintages",
        "nr_events",
    ] {
        assert!(names.contains(&n.to_string()), "{n} not in {names:?}");
    }
    let mut l = ds.layer_by_name("parcels").unwrap();
    assert_eq!(l.feature_count(), 40);
    assert_eq!(l.spatial_ref().unwrap().auth_code().unwrap(), 4549);
    let e = l.get_extent().unwrap();
    l.set_spatial_filter_rect(e.MinX, e.MinY, (e.MinX + e.MaxX) / 2.0, (e.MinY + e.MaxY) / 2.0);
    let n = l.features().count();
    assert!(n > 0 && n < 40, "spatial filter through the R-tree gave {n}");
    let mut sum = 0.0;
    l.clear_spatial_filter();
    for f in l.features() {
        let a = f.geometry().unwrap().area();
        let stored = f.field_as_double(f.field_index("area_gk").unwrap()).unwrap().unwrap();
        assert!((a - stored).abs() < 1e-6 * stored, "GEOS planar area {a} vs stored {stored}");
        sum += a;
    }
    assert!(sum > 0.0);
    // the import fills the R-tree itself (its insert trigger is set aside inside the transaction): one entry
    // per record holding the record's envelope, and the trigger is back for other tools that add features
    assert_eq!(count(&reg, "SELECT count(*) FROM rtree_parcels_geom"), 40);
    // (GDAL's SQLite dialect provides ST_MinX … on GeoPackage blobs; the R-tree stores 32-bit floats)
    let sql = "SELECT count(*) AS n FROM parcels p JOIN rtree_parcels_geom r ON r.id = p.fid \
               WHERE abs(r.minx - ST_MinX(p.geom)) < 1 AND abs(r.maxx - ST_MaxX(p.geom)) < 1 \
               AND abs(r.miny - ST_MinY(p.geom)) < 1 AND abs(r.maxy - ST_MaxY(p.geom)) < 1";
    let mut res = ds.execute_sql(sql, None, gdal::vector::sql::Dialect::DEFAULT).unwrap().expect("a result set");
    let n = res.features().next().unwrap().field_as_integer64(0).unwrap().unwrap();
    assert_eq!(n, 40, "R-tree entries matching their records' envelopes");
    drop(res);
    drop(ds);
    assert_eq!(
        count(&reg, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'rtree_parcels_geom_insert'"),
        1
    );
}

#[test]
fn history_is_append_only_even_for_other_tools() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(
        run(&[
            "import",
            s(&reg),
            s(&fixture("dltb/gbk.shp")),
            "--layer",
            "parcels",
            "--profile",
            "sandiao-dltb",
            "--as-of",
            "2019-12-31"
        ])
        .0,
        0
    );
    // through GDAL (as QGIS would edit it): deleting or overwriting a record is refused by the triggers
    let ds = gdal::Dataset::open_ex(
        &reg,
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_VECTOR | gdal::GdalOpenFlags::GDAL_OF_UPDATE,
            ..Default::default()
        },
    )
    .unwrap();
    let _ = ds.execute_sql("DELETE FROM parcels WHERE fid = 1", None, gdal::vector::sql::Dialect::DEFAULT);
    let _ = ds.execute_sql("UPDATE parcels SET DLBM = '0101' WHERE fid = 2", None, gdal::vector::sql::Dialect::DEFAULT);
    drop(ds);
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 40);
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels WHERE fid = 2 AND DLBM = '0101'"), 0);
    let c = rusqlite::Connection::open(&reg).unwrap();
    let e = c.execute("DELETE FROM nr_imports", []).unwrap_err().to_string();
    assert!(e.contains("append-only"), "{e}");
}

/// kill -9 in the middle of an import's transaction leaves the registry exactly as before.
#[test]
#[cfg_attr(not(feature = "fault-injection"), ignore = "needs the fault-injection feature: make test")]
fn interrupted_import_leaves_the_registry_as_before() {
    use std::io::{BufRead, BufReader};
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(
        run(&[
            "import",
            s(&reg),
            s(&fixture("dltb/gbk.shp")),
            "--layer",
            "parcels",
            "--profile",
            "sandiao-dltb",
            "--as-of",
            "2019-12-31"
        ])
        .0,
        0
    );
    let before = sha256(&reg);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("nrledger"))
        .args([
            "import",
            s(&reg),
            s(&seed("2019-12-31.gpkg")),
            "--layer",
            "parcels",
            "--profile",
            "sandiao-dltb",
            "--as-of",
            "2020-12-31",
        ])
        .env("NRLEDGER_FAULT_PAUSE_AFTER", "3000")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut reached = false;
    for l in lines.by_ref() {
        if l.unwrap().contains("NRLEDGER_FAULT_PAUSE reached after 3000 records") {
            reached = true;
            break;
        }
    }
    assert!(reached, "the import never reached the pause point");
    // SIGKILL: no destructor, no rollback by the process itself
    let st = std::process::Command::new("kill").args(["-9", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    child.wait().unwrap();
    // the fault hook shrinks the page cache, so the killed transaction had already written into the file
    // (a large real import does the same): the next opener must roll its hot journal back
    assert_ne!(sha256(&reg), before, "the interrupted import never touched the file: the rollback is not exercised");
    assert!(reg.with_file_name("r.gpkg-journal").exists());
    // the hot journal is rolled back by the next opener; afterwards the content is exactly as before
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 40);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_imports"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_vintages"), 1);
    let c = rusqlite::Connection::open(&reg).unwrap();
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    drop(c);
    // after that rollback the file is byte for byte what it was
    assert_eq!(sha256(&reg), before);
    // and a fresh import of the same vintage now succeeds
    let (c, o, e) = run(&[
        "import",
        s(&reg),
        s(&seed("2019-12-31.gpkg")),
        "--layer",
        "parcels",
        "--profile",
        "sandiao-dltb",
        "--as-of",
        "2020-12-31",
    ]);
    assert_eq!(c, 0, "{o}{e}");
}

/// The parcels' class field is indexed (with the validity dates, so a read of some classes on a date is
/// answered from the index); a registry created with a definition that indexes nothing gets the index when
/// next opened, by any command, and NR501 (which reads through it) finds what it found before. Only text
/// fields can be indexed.
#[test]
fn the_class_field_is_indexed_and_an_older_registry_gets_the_index() {
    let d = tempfile::tempdir().unwrap();
    let index_sql = |r: &Path| -> Option<String> {
        let c = rusqlite::Connection::open(r).unwrap();
        c.query_row("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'parcels_by_DLBM'", [], |r| r.get(0))
            .ok()
    };
    let parcels = std::fs::read_to_string(root().join("layers/kinds/parcels.toml")).unwrap();
    assert_eq!(parcels.matches("indexed = true").count(), 1);
    let old = d.path().join("old");
    std::fs::create_dir_all(old.join("kinds")).unwrap();
    std::fs::write(old.join("kinds/parcels.toml"), parcels.replace("indexed = true\n", "")).unwrap();
    let reg = d.path().join("r.gpkg");
    let with_old = |args: &[&str]| {
        let mut a = vec!["--layers", s(&old)];
        a.extend_from_slice(args);
        run(&a)
    };
    assert_eq!(with_old(&["init", s(&reg), "--region", "330523"]).0, 0);
    for (layer, profile) in [("parcels", "sandiao-dltb"), ("redlines", "stbhhx")] {
        let (c, _, e) = with_old(&[
            "import",
            s(&reg),
            s(&seed("2020-12-31.gpkg")),
            "--layer",
            layer,
            "--profile",
            profile,
            "--as-of",
            "2020-12-31",
        ]);
        assert_eq!(c, 0, "{e}");
    }
    assert_eq!(index_sql(&reg), None);
    let nr501 = |args: &[&str]| -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend_from_slice(&["check", s(&reg), "--only", "NR501", "--format", "json"]);
        let (c, out, e) = run(&a);
        assert!(c == 0 || c == 1, "{e}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        report["findings"].clone()
    };
    let before = nr501(&["--layers", s(&old)]);
    assert_eq!(index_sql(&reg), None, "a catalog without the index leaves the registry without it");
    assert!(!before.as_array().unwrap().is_empty(), "the demo county has parcels of classes its red lines prohibit");
    assert_eq!(run(&["info", s(&reg)]).0, 0);
    let sql = index_sql(&reg).expect("opening with the current catalog creates the index");
    assert!(sql.contains("\"DLBM\", valid_from, valid_to"), "{sql}");
    assert_eq!(nr501(&[]), before);
    // a new registry has it from the start
    let fresh_dir = d.path().join("fresh");
    std::fs::create_dir(&fresh_dir).unwrap();
    let fresh = registry(&fresh_dir);
    assert!(index_sql(&fresh).is_some());
    // only a text field can be indexed
    std::fs::write(
        old.join("kinds/parcels.toml"),
        parcels.replace("type = \"real\"", "type = \"real\"\nindexed = true"),
    )
    .unwrap();
    let (c, _, e) = with_old(&["info", s(&reg)]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("kinds/parcels.toml") && e.contains("only text fields can be indexed"), "{e}");
}

/// A new registry keeps the PROJ pipeline from its CRS to the geographic CRS (so measuring an area needs no
/// lookup in PROJ's database); a registry created before, without it, measures the same areas.
#[test]
fn a_new_registry_keeps_its_pipeline_and_an_older_one_measures_the_same() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let crs_json = |r: &Path| -> serde_json::Value {
        let c = rusqlite::Connection::open(r).unwrap();
        serde_json::from_str(
            &c.query_row("SELECT value FROM nr_meta WHERE key = 'crs'", [], |r| r.get::<_, String>(0)).unwrap(),
        )
        .unwrap()
    };
    let kept = crs_json(&reg);
    let pipeline = kept["to_geographic"].as_str().expect("a new registry keeps the pipeline");
    assert!(pipeline.contains("proj=tmerc") && pipeline.contains("lon_0=120"), "{pipeline}");
    let findings_with = |r: &Path, proj_data: Option<&Path>| -> Vec<(String, Vec<i64>, String)> {
        let mut cmd = nrledger();
        cmd.args(["check", s(r), "--as-of", "2020-12-31", "--format", "json"]);
        if let Some(p) = proj_data {
            cmd.env("PROJ_DATA", p).env("PROJ_LIB", p);
        }
        let o = cmd.output().unwrap();
        let (c, out, e) = (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        );
        assert!(c == 0 || c == 1, "{e}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let fids = f["fids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
                (f["rule"].as_str().unwrap().to_string(), fids, f["area_m2"].to_string())
            })
            .collect()
    };
    let findings = |r: &Path| findings_with(r, None);
    let with = findings(&reg);
    assert!(with.iter().filter(|(_, _, a)| a != "null").count() > 10, "findings with areas");
    // the check measures its areas through the kept pipeline: it needs no PROJ database at all
    let empty = d.path().join("no-proj-data");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(findings_with(&reg, Some(&empty)), with, "measured without PROJ's database");
    let mut older = kept.clone();
    older.as_object_mut().unwrap().remove("to_geographic");
    let c = rusqlite::Connection::open(&reg).unwrap();
    c.execute("UPDATE nr_meta SET value = ?1 WHERE key = 'crs'", [older.to_string()]).unwrap();
    drop(c);
    assert!(crs_json(&reg).get("to_geographic").is_none());
    assert_eq!(findings(&reg), with, "the same findings and areas, to the last digit");
}

/// Regression (issue 19.2): two imports of a layer started at once both passed the date-order check, and the
/// 2019 vintage was recorded after the 2020 one. The check now runs inside the write transaction: the
/// second import waits for the first and is then refused. A waiting command also says it is waiting for a
/// lock, not that the file is not a registry (19.14).
#[test]
#[cfg_attr(not(feature = "fault-injection"), ignore = "needs the fault-injection feature: make test")]
fn a_second_import_waits_for_the_first_and_then_keeps_the_date_order() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let mut first = paused_import(&reg, &seed("2020-12-31.gpkg"), "2020-12-31", 1, "4");
    // started while the 2020 import holds the write lock: it waits (up to --lock-wait) and then checks
    let (code, out, err) = run(&[
        "import",
        s(&reg),
        s(&fixture("dltb/gbk.shp")),
        "--layer",
        "parcels",
        "--profile",
        "sandiao-dltb",
        "--as-of",
        "2019-12-31",
    ]);
    assert!(first.wait().unwrap().success());
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("already has a vintage as of 2020-12-31"), "{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_vintages"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_vintages WHERE as_of = '2020-12-31'"), 1);
    // a lock held longer than --lock-wait (an import whose transaction has spilled into the file, as a
    // large one does, so that no reader may start): a clear message naming the lock and who holds it
    let other = d.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let reg = registry(&other);
    let mut second = paused_import(&reg, &seed("2019-12-31.gpkg"), "2019-12-31", 3000, "3600");
    let (code, _, err) = run(&["--lock-wait", "1", "info", s(&reg)]);
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is locked by another process writing to it") && err.contains("waited 1 s"), "{err}");
    assert!(err.contains(&format!("pid {}", second.id())) && err.contains("nrledger import"), "{err}");
    assert!(!err.contains("not an nrledger registry"), "{err}");
}

/// Regression (issue 19.10): `query --bbox -180,-90,180,90` answered "nothing here" on a non-empty registry:
/// a world-sized box is clipped to the registry CRS's area of use; a box outside it, or upside down, is
/// refused with a message.
#[test]
fn a_world_sized_box_finds_what_the_registry_holds() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let src = d.path().join("p.geojson");
    std::fs::write(&src, collection(&[r#"{"BSM":"W1","DLBM":"0101"}"#], &[rect(0.0, 100.0, 0.0, 100.0)])).unwrap();
    assert_eq!(run(&["import", s(&reg), s(&src), "--layer", "parcels", "--as-of", "2020-01-01"]).0, 0);
    for bbox in ["-180,-90,180,90", "100,0,140,60", "119.9,29.7,120.1,29.9"] {
        let (c, out, e) = run(&["query", s(&reg), "--bbox", bbox]);
        assert_eq!(c, 0, "{e}");
        assert!(out.contains("W1"), "{bbox}: {out}");
    }
    let (c, _, e) = run(&["query", s(&reg), "--bbox", "0,0,10,10"]);
    assert_eq!(c, 2);
    assert!(e.contains("lies outside the area of use"), "{e}");
    let (c, _, e) = run(&["query", s(&reg), "--bbox", "121,30,119,29"]);
    assert_eq!(c, 2);
    assert!(e.contains("W ≤ E and S ≤ N"), "{e}");
}

/// Issue 19: the registry was not a conforming GeoPackage (Req 119: nr_vintages, nr_meta and
/// nr_scoped_vintages had a TEXT primary key). Every GeoPackage nrledger writes — the registry, a findings
/// layer, a balance-sheet trace, an export — passes GDAL's validator; an older registry gets INTEGER keys
/// when opened, with every row kept.
#[test]
fn every_geopackage_written_passes_gdals_validator() {
    let d = tempfile::tempdir().unwrap();
    let reg =
        demo_registry_with(d.path(), &[("parcels", "sandiao-dltb"), ("redlines", "stbhhx"), ("farmland", "yjjbnt")]);
    let findings = d.path().join("findings.gpkg");
    let (c, _, e) = run(&["check", s(&reg), "--out", s(&findings)]);
    assert!(c <= 1, "{e}");
    let trace = d.path().join("trace.gpkg");
    let (c, _, e) = run(&["balance", s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--trace", s(&trace)]);
    assert_eq!(c, 0, "{e}");
    let export = d.path().join("parcels-2019.gpkg");
    assert_eq!(run(&["export", s(&reg), "--layer", "parcels", "--as-of", "2019-12-31", "--out", s(&export)]).0, 0);
    for f in [&reg, &findings, &trace, &export] {
        assert_eq!(gpkg_conformance(f), "", "{}", f.display());
    }
    // a registry from before: nr_vintages with its old TEXT key, rows and triggers
    let c = rusqlite::Connection::open(&reg).unwrap();
    let rows: Vec<(String, String, i64)> = {
        let mut st = c.prepare("SELECT layer, as_of, import_id FROM nr_vintages ORDER BY id").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    c.execute_batch(
        "CREATE TABLE old_v (layer TEXT NOT NULL, as_of DATE NOT NULL, import_id INTEGER NOT NULL, PRIMARY KEY (layer, as_of));
         INSERT INTO old_v SELECT layer, as_of, import_id FROM nr_vintages; DROP TABLE nr_vintages; ALTER TABLE old_v RENAME TO nr_vintages;
         CREATE TRIGGER nr_vintages_no_delete BEFORE DELETE ON nr_vintages BEGIN SELECT RAISE(ABORT, 'append-only'); END;",
    )
    .unwrap();
    drop(c);
    assert!(
        gpkg_conformance(&reg).contains("Req 119: table nr_vintages"),
        "the older layout is not what the validator refuses"
    );
    assert_eq!(run(&["info", s(&reg)]).0, 0);
    assert_eq!(gpkg_conformance(&reg), "");
    let c = rusqlite::Connection::open(&reg).unwrap();
    let after: Vec<(String, String, i64)> = {
        let mut st = c.prepare("SELECT layer, as_of, import_id FROM nr_vintages ORDER BY id").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(after, rows);
    let e = c.execute("DELETE FROM nr_vintages", []).unwrap_err().to_string();
    assert!(e.contains("append-only"), "{e}");
}

/// A map tile's one-pass read (the R-tree driving the join, no list of fids first) gives the records, values
/// and geometry of the ordinary read through the same box, on both surveys' dates; with a bookkeeping field
/// asked for (SJNF) it takes the ordinary read and shows the kept values the same way.
#[test]
fn a_one_pass_read_in_a_rectangle_gives_what_the_boxed_read_gives() {
    use nrledger::model::LayerKind;
    use nrledger::store::{Fields, Read};
    let d = tempfile::tempdir().unwrap();
    let path = demo_registry(d.path());
    let reg = nrledger::Registry::open(&path, nrledger::catalog::Catalog::embedded().unwrap()).unwrap();
    for day in ["2019-12-31", "2020-12-31"] {
        let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
        let env = reg.envelopes_at(LayerKind::Parcels, Some(day)).unwrap();
        let (x0, x1) = env.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, e)| (a.min(e[0]), b.max(e[1])));
        let (y0, y1) = env.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, e)| (a.min(e[2]), b.max(e[3])));
        let rect =
            geo::Rect::new((x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3), (x0 + (x1 - x0) * 0.6, y0 + (y1 - y0) * 0.6));
        for fields in [Fields::Only(&["DLBM", "TBDLMJ"]), Fields::All] {
            let q = Read::layer(LayerKind::Parcels).on(Some(day)).fields(fields);
            let boxes = [rect];
            let want: Vec<_> = reg.read(&q.in_boxes(&boxes)).unwrap();
            let mut got: Vec<_> = reg.read_in_rect_then(&q, rect, &|r| r).unwrap();
            got.sort_by_key(|r| r.fid);
            assert!(want.len() > 20 && want.len() < env.len(), "{day}: {} of {}", want.len(), env.len());
            assert_eq!(got.len(), want.len(), "{day}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(
                    (g.fid, &g.record.key, &g.valid_from, &g.valid_to),
                    (w.fid, &w.record.key, &w.valid_from, &w.valid_to)
                );
                assert_eq!(g.record.values, w.record.values, "{day} fid {}", g.fid);
                assert_eq!(g.record.geometry, w.record.geometry, "{day} fid {}", g.fid);
            }
        }
    }
    // the rectangle is the read's place: another place is refused, not replaced
    let q = Read::layer(LayerKind::Parcels).fids(&[1]);
    assert!(reg.read_in_rect_then(&q, geo::Rect::new((0.0, 0.0), (1.0, 1.0)), &|r| r).is_err());
}
