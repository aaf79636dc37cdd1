//! Import of real-world inputs: every format and every bad input issue 2 lists, through the real binary.

mod common;
use common::*;

fn import(reg: &std::path::Path, src: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let mut a = vec!["import", s(reg), s(src), "--layer", "parcels", "--as-of", "2019-12-31", "--profile", "sandiao-dltb"];
    a.extend_from_slice(extra);
    run(&a)
}

#[test]
fn gbk_shapefile_with_cpg_keeps_chinese() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (code, out, err) = import(&reg, &fixture("dltb/gbk.shp"), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("CP936 (.cpg)"), "{out}");
    // stderr is not a terminal here: no progress bar may be drawn into it
    assert!(!err.contains('\r') && !err.contains("reading") && !err.contains("storing"), "{err:?}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels WHERE ZLDWMC LIKE '安吉县第%镇第%村'"), 40);
}

#[test]
fn gbk_shapefile_without_cpg_is_detected_not_garbled() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (code, out, err) = import(&reg, &fixture("dltb/nocpg/DLTB.shp"), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("GBK (no .cpg; detected)"), "{out}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels WHERE DLMC IN ('乔木林地','竹林地','灌木林地','旱地','水田','茶园','果园','其他林地','农村宅基地','其他草地','河流水面','内陆滩涂','坑塘水面','水浇地','农村道路','设施农用地')"), 40);
}

#[test]
fn explicit_encoding_overrides() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (code, out, _) = import(&reg, &fixture("dltb/nocpg/DLTB.shp"), &["--encoding", "GBK"]);
    assert_eq!(code, 0);
    assert!(out.contains("GBK (--encoding)"), "{out}");
}

#[test]
fn source_without_crs_is_refused_with_a_hint_and_accepted_with_src_crs() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (code, _, err) = import(&reg, &fixture("dltb/nocrs/DLTB.shp"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("declares no coordinate reference system") && err.contains("EPSG:4528"), "{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 0);
    let (code, _, err) = import(&reg, &fixture("dltb/nocrs/DLTB.shp"), &["--src-crs", "EPSG:4528"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 40);
}

#[test]
fn zone_prefixed_gauss_kruger_lands_where_the_unprefixed_one_does() {
    let d = tempfile::tempdir().unwrap();
    let a = registry(d.path());
    let b_dir = tempfile::tempdir().unwrap();
    let b = registry(b_dir.path());
    assert_eq!(import(&a, &fixture("dltb/prefix_4528.gpkg"), &[]).0, 0);
    assert_eq!(import(&b, &fixture("dltb/gbk.shp"), &[]).0, 0);
    let sum = |r: &std::path::Path| {
        let c = rusqlite::Connection::open(r).unwrap();
        c.query_row("SELECT sum(area_ell), sum(area_gk) FROM parcels", [], |r| Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?))).unwrap()
    };
    let (ea, pa) = sum(&a);
    let (eb, pb) = sum(&b);
    assert!((ea - eb).abs() / eb < 1e-9, "{ea} vs {eb}");
    assert!((pa - pb).abs() / pb < 1e-9, "{pa} vs {pb}");
}

#[test]
fn prefixed_coordinates_declared_unprefixed_fail_clearly() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (code, _, err) = import(&reg, &fixture("dltb/prefix_declared_4549.gpkg"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("zone prefix 40") && err.contains("--src-crs EPSG:4528"), "{err}");
}

#[test]
fn filegdb_and_geojson_import() {
    for f in ["dltb/dltb.gdb", "dltb/lonlat.geojson"] {
        let d = tempfile::tempdir().unwrap();
        let reg = registry(d.path());
        let (code, out, err) = import(&reg, &fixture(f), &[]);
        assert_eq!(code, 0, "{f}: {out}{err}");
        assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 40, "{f}");
    }
}

#[test]
fn not_a_vector_file_fails_clearly() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (code, _, err) = import(&reg, &fixture("not_vector.txt"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("not_vector.txt") && err.contains("not a vector data source"), "{err}");
}

/// Every defect in bad_records.geojson is reported with file, layer, feature, field and reason, and
/// nothing is written; the source file is not modified.
#[test]
fn bad_records_are_all_listed_and_nothing_is_written() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let src = fixture("dltb/bad_records.geojson");
    let before = sha256(&src);
    let reg_before = sha256(&reg);
    let (code, _, err) = import(&reg, &src, &[]);
    assert_eq!(code, 1, "{err}");
    for expect in [
        "feature #0 (fid 0) [33052300001450]: field DLBM: unknown code '9999'",
        "feature #1 (fid 1) [33052300001452]: field BSM: duplicate BSM",
        "feature #2 (fid 2) [33052300001452]: field BSM: duplicate BSM",
        "feature #3 (fid 3) [33052300001453]: field TBMJ: expected a number, found 'abc'",
        "feature #4 (fid 4) [33052300001454]: field geometry:",
        "feature #5 (fid 5) [33052300001455]: field geometry: empty geometry",
        "feature #6 (fid 6) [33052300001456]: field geometry: invalid geometry",
        "feature #7 (fid 7) [33052300001457]: field geometry: geometry is a LINESTRING",
        "feature #8 (fid 8) [33052300001458]: field DLBM: required value is missing",
        "did you mean '0101'?",
    ] {
        assert!(err.contains(expect), "missing «{expect}» in:\n{err}");
    }
    assert!(err.contains("bad_records.geojson: layer DLTB"));
    assert!(err.contains("nothing was written"));
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 0);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_imports"), 0);
    assert_eq!(sha256(&reg), reg_before, "registry file changed by a refused import");
    assert_eq!(sha256(&src), before, "source modified");
}

#[test]
fn keep_going_writes_valid_records_and_keeps_rejects_with_reasons() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (code, out, err) = import(&reg, &fixture("dltb/bad_records.geojson"), &["--keep-going"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("6 inserted") && out.contains("10 rejected"), "{out}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 6);
    assert_eq!(count(&reg, "SELECT count(*) FROM rejects"), 10);
    assert_eq!(count(&reg, "SELECT count(*) FROM rejects WHERE reason LIKE '%unknown code ''9999''%' AND attributes LIKE '%9999%'"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM rejects WHERE reason LIKE '%self-intersection%' AND geom IS NOT NULL"), 1);
    assert_eq!(count(&reg, "SELECT rejected FROM nr_imports"), 10);
}

#[test]
fn real_invalid_cadastre_is_rejected_then_repaired_with_make_valid() {
    // farms_33S: 2008 cadastral parcels with 16 invalid geometries, in their own CRS (UTM 33S, WGS 84)
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("za.gpkg");
    assert_eq!(run(&["init", s(&reg), "--crs", "EPSG:32733"]).0, 0);
    let profile = d.path().join("farms.toml");
    std::fs::write(&profile, "name = \"farms\"\nlayer = \"forest\"\n[fields]\nXBH = [\"SG_CODE\"]\n").unwrap();
    let src = fixture("real/farms_33S.shp");
    let base = ["import", s(&reg), s(&src), "--layer", "forest", "--as-of", "2008-01-01", "--profile", s(&profile)];
    let (code, _, err) = run(&base);
    assert_eq!(code, 1);
    assert_eq!(err.lines().filter(|l| l.contains("invalid geometry")).count(), 16, "{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM forest"), 0);
    // the same real file also has duplicate SG_CODEs (multi-part farms stored as separate features)
    let dup = err.lines().filter(|l| l.contains("duplicate XBH")).count();
    assert!(dup > 0);
    let mut fixed = base.to_vec();
    fixed.extend(["--make-valid", "--keep-going"]);
    let (code, out, err) = run(&fixed);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("repaired 16"), "{out}");
    assert_eq!(err.lines().filter(|l| l.contains("invalid geometry")).count(), 0, "{err}");
    let (stored, rejected) = (count(&reg, "SELECT count(*) FROM forest"), count(&reg, "SELECT count(*) FROM rejects"));
    assert_eq!(stored + rejected, 2008);
    assert!(rejected >= dup as i64);
    assert_eq!(count(&reg, "SELECT count(*) FROM rejects WHERE reason NOT LIKE '%duplicate XBH%' AND reason NOT LIKE 'XBH: required value is missing'"), 0);
    assert_eq!(count(&reg, "SELECT repaired FROM nr_imports"), 16);
}

/// Real 天地图 data: a boundary-line MultiLineString (no code) and a self-intersecting city outline.
#[test]
fn real_boundary_lines_and_invalid_outline_are_handled() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("xj.gpkg");
    let (c, _, err) = run(&["init", s(&reg), "--region", "659006"]);
    assert_eq!(c, 0);
    assert!(err.contains("more than one 3° zone"), "{err}");
    let src = fixture("admin/tianditu_mixed.geojson");
    let base = ["import", s(&reg), s(&src), "--layer", "admin", "--profile", "tianditu-county", "--as-of", "2020-01-01"];
    let (c, _, err) = run(&base);
    assert_eq!(c, 1);
    assert!(err.contains("layer china_city: feature #1 (fid 1) [659006]: field geometry: invalid geometry"), "{err}");
    assert_eq!(err.matches("geometry is a MULTILINESTRING; layer admin needs polygons").count(), 2, "{err}");
    assert_eq!(err.matches("field XZQDM: required value is missing").count(), 2, "{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM admin"), 0);
    let mut repair = base.to_vec();
    repair.extend(["--make-valid", "--keep-going"]);
    let (c, out, _) = run(&repair);
    assert_eq!(c, 1);
    assert!(out.contains("repaired 1 ") && out.contains("2 inserted") && out.contains("2 rejected"), "{out}");
    assert_eq!(count(&reg, "SELECT count(*) FROM admin WHERE XZQMC IN ('铁门关市', '图木舒克市')"), 2);
    assert_eq!(count(&reg, "SELECT count(*) FROM rejects WHERE reason LIKE '%MULTILINESTRING%'"), 2);
}

/// Regression: a feature without a numeric property (here TBMJ) was stored as 0 m² because GDAL reads an
/// unset number as 0; it must stay empty.
#[test]
fn missing_numbers_stay_null_not_zero() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let src = d.path().join("p.geojson");
    std::fs::write(&src, collection(&[r#"{"BSM":"A","DLBM":"0101","TBMJ":10000}"#, r#"{"BSM":"B","DLBM":"0101"}"#], &[rect(0.0, 100.0, 0.0, 100.0), rect(100.0, 200.0, 0.0, 100.0)])).unwrap();
    let (c, o, e) = run(&["import", s(&reg), s(&src), "--layer", "parcels", "--as-of", "2020-01-01"]);
    assert_eq!(c, 0, "{o}{e}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels WHERE BSM = 'B' AND TBMJ IS NULL"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels WHERE BSM = 'A' AND TBMJ = 10000"), 1);
}

/// A curved parcel (CURVEPOLYGON, here from a CSV WKT column through GDAL) is linearised before it is
/// stored; a straight one is exported as it is (only geometries with curves are copied to linearise them).
/// The circle of radius 10 m keeps its area within 0.1 %, the 100 m square exactly.
#[test]
fn curved_parcels_are_linearised_and_straight_ones_kept_as_they_are() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let csv = d.path().join("curves.csv");
    std::fs::write(
        &csv,
        "WKT,BSM,DLBM\n\
         \"CURVEPOLYGON(CIRCULARSTRING(500000 3300000,500020 3300000,500000 3300000))\",C1,0101\n\
         \"POLYGON((500100 3300000,500200 3300000,500200 3300100,500100 3300100,500100 3300000))\",P1,0101\n",
    )
    .unwrap();
    let (c, out, e) = run(&["import", s(&reg), s(&csv), "--layer", "parcels", "--as-of", "2020-01-01", "--src-crs", "EPSG:4549"]);
    assert_eq!(c, 0, "{out}{e}");
    let area = |bsm: &str| -> f64 {
        let c = rusqlite::Connection::open(&reg).unwrap();
        c.query_row("SELECT area_gk FROM parcels WHERE BSM = ?1", [bsm], |r| r.get(0)).unwrap()
    };
    let circle = std::f64::consts::PI * 100.0;
    assert!((area("C1") - circle).abs() < 1e-3 * circle, "circle {} vs {circle}", area("C1"));
    assert!((area("P1") - 10_000.0).abs() < 1e-9, "square {}", area("P1"));
}
