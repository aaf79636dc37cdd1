//! Import of real-world inputs: every format and every bad input issue 2 lists, through the real binary.

use crate::common::*;

fn import(reg: &std::path::Path, src: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    import_dltb(reg, src, "2019-12-31", extra)
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
        c.query_row("SELECT sum(area_ell), sum(area_gk) FROM parcels", [], |r| {
            Ok((r.get::<_, f64>(0)?, r.get::<_, f64>(1)?))
        })
        .unwrap()
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
    let (code, out, err) =
        import(&reg, &fixture("dltb/bad_records.geojson"), &["--keep-going", "--max-rejected", "100"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("6 inserted") && out.contains("10 rejected"), "{out}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 6);
    assert_eq!(count(&reg, "SELECT count(*) FROM rejects"), 10);
    assert_eq!(
        count(
            &reg,
            "SELECT count(*) FROM rejects WHERE reason LIKE '%unknown code ''9999''%' AND attributes LIKE '%9999%'"
        ),
        1
    );
    assert_eq!(
        count(&reg, "SELECT count(*) FROM rejects WHERE reason LIKE '%self-intersection%' AND geom IS NOT NULL"),
        1
    );
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
    fixed.extend(["--make-valid", "--keep-going", "--max-rejected", "100"]);
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
    let base =
        ["import", s(&reg), s(&src), "--layer", "admin", "--profile", "tianditu-county", "--as-of", "2020-01-01"];
    let (c, _, err) = run(&base);
    assert_eq!(c, 1);
    assert!(err.contains("layer china_city: feature #1 (fid 1) [659006]: field geometry: invalid geometry"), "{err}");
    assert_eq!(err.matches("geometry is a MULTILINESTRING; layer admin needs polygons").count(), 2, "{err}");
    assert_eq!(err.matches("field XZQDM: required value is missing").count(), 2, "{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM admin"), 0);
    let mut repair = base.to_vec();
    repair.extend(["--make-valid", "--keep-going", "--max-rejected", "100"]);
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
    std::fs::write(
        &src,
        collection(
            &[r#"{"BSM":"A","DLBM":"0101","TBMJ":10000}"#, r#"{"BSM":"B","DLBM":"0101"}"#],
            &[rect(0.0, 100.0, 0.0, 100.0), rect(100.0, 200.0, 0.0, 100.0)],
        ),
    )
    .unwrap();
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
    let (c, out, e) =
        run(&["import", s(&reg), s(&csv), "--layer", "parcels", "--as-of", "2020-01-01", "--src-crs", "EPSG:4549"]);
    assert_eq!(c, 0, "{out}{e}");
    let area = |bsm: &str| -> f64 {
        let c = rusqlite::Connection::open(&reg).unwrap();
        c.query_row("SELECT area_gk FROM parcels WHERE BSM = ?1", [bsm], |r| r.get(0)).unwrap()
    };
    let circle = std::f64::consts::PI * 100.0;
    assert!((area("C1") - circle).abs() < 1e-3 * circle, "circle {} vs {circle}", area("C1"));
    assert!((area("P1") - 10_000.0).abs() < 1e-9, "square {}", area("P1"));
}

/// Five parcels P0…P4 side by side (100 m × 100 m each); those at `bad` carry an unknown class code, and a
/// BSM of `None` is left out.
fn five_parcels(dir: &std::path::Path, name: &str, bad: &[usize], no_key: &[usize]) -> std::path::PathBuf {
    let props: Vec<String> = (0..5)
        .map(|i| {
            let dlbm = if bad.contains(&i) { "9999" } else { "0101" };
            if no_key.contains(&i) {
                format!(r#"{{"DLBM":"{dlbm}"}}"#)
            } else {
                format!(r#"{{"BSM":"P{i}","DLBM":"{dlbm}"}}"#)
            }
        })
        .collect();
    let refs: Vec<&str> = props.iter().map(String::as_str).collect();
    let geoms: Vec<String> = (0..5).map(|i| rect(i as f64 * 100.0, i as f64 * 100.0 + 100.0, 0.0, 100.0)).collect();
    let path = dir.join(name);
    std::fs::write(&path, collection(&refs, &geoms)).unwrap();
    path
}

fn import_parcels(reg: &std::path::Path, src: &std::path::Path, as_of: &str, extra: &[&str]) -> (i32, String, String) {
    let mut a = vec!["import", s(reg), s(src), "--layer", "parcels", "--as-of", as_of];
    a.extend_from_slice(extra);
    run(&a)
}

fn open_parcels(reg: &std::path::Path) -> i64 {
    count(reg, "SELECT count(*) FROM parcels WHERE valid_to IS NULL")
}

/// Regression (issue 19.1): with --keep-going a rejected record closed the stored record with the same key
/// ("4 unchanged, 1 closed, 1 rejected"); it must stay open.
#[test]
fn keep_going_never_closes_the_stored_record_of_a_rejected_one() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let first = five_parcels(d.path(), "a.geojson", &[], &[]);
    assert_eq!(import_parcels(&reg, &first, "2019-12-31", &[]).0, 0);
    let second = five_parcels(d.path(), "b.geojson", &[3], &[]);
    let (code, out, err) = import_parcels(&reg, &second, "2020-12-31", &["--keep-going", "--max-rejected", "100"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("0 inserted, 4 unchanged, 0 closed, 1 rejected"), "{out}");
    assert!(out.contains("1 stored record(s) kept open"), "{out}");
    assert_eq!(open_parcels(&reg), 5);
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels WHERE BSM = 'P3' AND valid_to IS NULL"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM rejects WHERE record_key = 'P3'"), 1);
    // a rejected record whose key cannot be read may be any missing record: none of them is closed
    let third = five_parcels(d.path(), "c.geojson", &[], &[4]);
    let (code, out, err) = import_parcels(&reg, &third, "2021-12-31", &["--keep-going", "--max-rejected", "100"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("4 unchanged, 0 closed, 1 rejected"), "{out}");
    assert_eq!(open_parcels(&reg), 5);
}

/// Regression (issue 19.1): an import whose every record was rejected committed an empty vintage, closing
/// every parcel and making the date unusable; it must write nothing, and the correct import must then go in.
#[test]
fn keep_going_writes_nothing_when_every_record_or_too_many_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(import_parcels(&reg, &five_parcels(d.path(), "a.geojson", &[], &[]), "2019-12-31", &[]).0, 0);
    let before = sha256(&reg);
    // the same parcels read through a wrong CRS: every record falls outside the zone's valid range
    let good = five_parcels(d.path(), "b.geojson", &[], &[]);
    let all_bad = five_parcels(d.path(), "c.geojson", &[0, 1, 2, 3, 4], &[]);
    let (code, out, err) = import_parcels(&reg, &all_bad, "2020-12-31", &["--keep-going", "--max-rejected", "100"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("every one of the 5 record(s) was rejected, so nothing was written"), "{err}");
    assert_eq!(sha256(&reg), before, "a refused import changed the registry");
    // more than the allowed share (5 % by default): 2 of 5
    let (code, _, err) =
        import_parcels(&reg, &five_parcels(d.path(), "d.geojson", &[1, 2], &[]), "2020-12-31", &["--keep-going"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("2 of 5 record(s) rejected (40.0 %), more than --max-rejected 5 %, so nothing was written"),
        "{err}"
    );
    assert_eq!(sha256(&reg), before);
    let (code, out, err) = import_parcels(&reg, &good, "2020-12-31", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(open_parcels(&reg), 5);
    let (code, _, err) = import_parcels(&reg, &good, "2021-12-31", &["--keep-going", "--max-rejected", "101"]);
    assert_eq!(code, 2);
    assert!(err.contains("'101' is not a percentage from 0 to 100"), "{err}");
}

/// Regression (issue 19.8): `--as-of 2099-01-01` was accepted, after which every realistic date was refused.
#[test]
fn a_vintage_after_today_is_refused_unless_forced() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let src = five_parcels(d.path(), "a.geojson", &[], &[]);
    let before = sha256(&reg);
    let (code, _, err) = import_parcels(&reg, &src, "2099-01-01", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--as-of 2099-01-01 is after today") && err.contains("--force"), "{err}");
    assert_eq!(sha256(&reg), before);
    // a registration dated after today likewise
    let unit = write_file(d.path(), "u.geojson", collection(&[r#"{"note":"u"}"#], &[rect(0.0, 100.0, 0.0, 100.0)]));
    let (code, _, err) = run(&[
        "register",
        s(&reg),
        "first",
        "--unit",
        "330523ZR0009",
        "--name",
        "未来",
        "--type",
        "自然保护区",
        "--owner",
        "全民",
        "--geometry",
        s(&unit),
        "--date",
        "2099-01-01",
        "--reason",
        "r",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--date 2099-01-01 is after today"), "{err}");
    assert_eq!(sha256(&reg), before);
    assert_eq!(import_parcels(&reg, &src, "2099-01-01", &["--force"]).0, 0);
}

/// Regression (issue 19.7): a BSM of 300 characters was accepted. Key and code fields have their official
/// lengths in the layer definition (BSM 18, TBBH 8, ZLDWDM 19 …), and every text field at most 255.
#[test]
fn keys_and_codes_longer_than_their_official_length_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let long_bsm = "3".repeat(300);
    let note = "备".repeat(256);
    let props = [
        format!(r#"{{"BSM":"{long_bsm}","DLBM":"0101"}}"#),
        r#"{"BSM":"330523000000000000","DLBM":"0101","TBBH":"123456789"}"#.to_string(),
        format!(r#"{{"BSM":"B2","DLBM":"0101","ZLDWMC":"{note}"}}"#),
        r#"{"BSM":"B3","DLBM":"0101","TBBH":"12345678"}"#.to_string(),
    ];
    let refs: Vec<&str> = props.iter().map(String::as_str).collect();
    let geoms: Vec<String> = (0..4).map(|i| rect(i as f64 * 10.0, i as f64 * 10.0 + 10.0, 0.0, 10.0)).collect();
    let src = d.path().join("long.geojson");
    std::fs::write(&src, collection(&refs, &geoms)).unwrap();
    let (code, _, err) = import_parcels(&reg, &src, "2019-12-31", &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "feature #0 (fid 0): field BSM: '333333333333333333333333…' is 300 characters long; BSM holds at most 18"
        ),
        "{err}"
    );
    assert!(err.contains("feature #1 (fid 1) [330523000000000000]: field TBBH: '123456789…' is 9 characters long; TBBH holds at most 8"), "{err}");
    assert!(
        err.contains("feature #2 (fid 2) [B2]: field ZLDWMC:")
            && err.contains("is 256 characters long; ZLDWMC holds at most 255"),
        "{err}"
    );
    assert!(!err.contains("feature #3"), "{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 0);
}

/// Regression (issue 19.6): bytes that are not text in the source's encoding were replaced by U+FFFD and the
/// import said "encoding UTF-8"; an unknown --encoding was accepted. Both are refused, naming feature and
/// field (or the argument).
#[test]
fn text_that_does_not_decode_and_unknown_encodings_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    // the GBK delivery with a .cpg that says UTF-8
    for ext in ["shp", "shx", "dbf", "prj"] {
        std::fs::copy(fixture(&format!("dltb/gbk.{ext}")), d.path().join(format!("wrong.{ext}"))).unwrap();
    }
    std::fs::write(d.path().join("wrong.cpg"), "UTF-8").unwrap();
    let src = d.path().join("wrong.shp");
    let (code, out, err) = import(&reg, &src, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("wrong.shp: layer wrong: feature #0 (fid 0)"), "{err}");
    assert!(err.contains("field ZLDWMC: bytes that are not UTF-8 (.cpg) text"), "{err}");
    assert!(!out.contains("inserted"), "{out}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 0);
    // the same file with the right encoding goes in
    let (code, out, err) = import(&reg, &src, &["--encoding", "CP936"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels WHERE ZLDWMC LIKE '安吉县第%镇第%村'"), 40);
    for (file, what) in [(src.as_path(), "GDAL (iconv) knows"), (&fixture("dltb/bad_records.geojson"), "non-Shapefile")]
    {
        let (code, _, err) = import(&reg, file, &["--encoding", "KLINGON"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("--encoding KLINGON: not an encoding") && err.contains(what), "{err}");
    }
}

/// Regression (issue 19.11): a delivery's control zones imported without --profile failed ("no source
/// field for required HXBH") although the source layer is named STBHHX; the only profile that claims the
/// layer's name is used, and the report says so.
#[test]
fn the_profile_is_picked_from_the_source_layer_name_when_one_claims_it() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("anji.gpkg");
    assert_eq!(run(&["init", s(&reg), "--region", "330523"]).0, 0);
    let src = seed("2019-12-31.gpkg");
    for (layer, profile, src_layer) in
        [("redlines", "stbhhx", "STBHHX"), ("farmland", "yjjbnt", "YJJBNT"), ("urban", "czkfbj", "CZKFBJ")]
    {
        let (code, out, err) = run(&["import", s(&reg), s(&src), "--layer", layer, "--as-of", "2019-12-31"]);
        assert_eq!(code, 0, "{layer}: {out}{err}");
        let said = format!("profile {profile} picked: the only {layer} profile that claims source layer {src_layer}");
        assert!(out.contains(&said), "{out}");
        assert!(count(&reg, &format!("SELECT count(*) FROM {layer}")) > 0);
    }
}

/// Regression (issue 19.14): the messages a new user meets. A source without a CRS whose x values carry no
/// zone prefix was told "e.g. --src-crs EPSG:4527" (a prefixed code); a Shapefile without its .dbf gave
/// GDAL's bare refusal.
#[test]
fn messages_name_the_real_problem() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let csv = d.path().join("plain.csv");
    std::fs::write(&csv, "WKT,BSM,DLBM\n\"POLYGON((500100 3300000,500200 3300000,500200 3300100,500100 3300100,500100 3300000))\",P1,0101\n").unwrap();
    let (c, _, e) = run(&["import", s(&reg), s(&csv), "--layer", "parcels", "--as-of", "2020-01-01"]);
    assert_eq!(c, 2, "{e}");
    assert!(
        e.contains("x values without a zone prefix") && e.contains("registry's own zone 40 (--src-crs EPSG:4549)"),
        "{e}"
    );
    assert!(!e.contains("EPSG:4527"), "{e}");
    // Gauss-Krüger metres declared as longitude/latitude: PROJ's own "tmerc: Invalid latitude" lines (one per
    // point) no longer bury the per-feature messages
    let (c, _, e) = import(&reg, &fixture("dltb/gbk.shp"), &["--src-crs", "EPSG:4490"]);
    assert_eq!(c, 1, "{e}");
    assert_eq!(e.lines().filter(|l| l.contains("field geometry: coordinate transformation failed")).count(), 40, "{e}");
    assert!(!e.contains("tmerc"), "{e}");
    // a Shapefile whose .dbf is missing
    for ext in ["shp", "shx", "prj", "cpg"] {
        std::fs::copy(fixture(&format!("dltb/gbk.{ext}")), d.path().join(format!("nodbf.{ext}"))).unwrap();
    }
    let (c, _, e) =
        run(&["import", s(&reg), s(&d.path().join("nodbf.shp")), "--layer", "parcels", "--as-of", "2020-01-01"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("nodbf.dbf") && e.contains("missing"), "{e}");
}

/// Regression (issue 19.14): a geocentric --src-crs gave "ring must have at least 3 distinct points".
#[test]
fn a_geocentric_source_crs_is_refused_as_such() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (c, _, e) = import(&reg, &fixture("dltb/gbk.shp"), &["--src-crs", "EPSG:4479"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("EPSG:4479") && e.contains("is a geocentric"), "{e}");
    assert!(!e.contains("distinct points"), "{e}");
}

/// Regression (issue 19.4): a wrong declared CRS was accepted — lon/lat degrees read as metres stored
/// parcels of a few square metres and closed the real ones; data from another zone landed hundreds of
/// kilometres from the county. A source most of whose records land outside the CRS's area of use or far
/// from the admin outline, or whose areas disagree with the declared TBMJ, is refused unless --force.
#[test]
fn a_source_in_a_wrong_crs_is_refused_as_a_whole() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let before = sha256(&reg);
    // lon/lat data declared as the registry's Gauss-Krüger zone
    let (c, _, e) = import_parcels(
        &reg,
        &fixture("dltb/lonlat.geojson"),
        "2019-12-31",
        &["--src-crs", "EPSG:4549", "--profile", "sandiao-dltb"],
    );
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("lie outside the area of use of the registry's CRS") && e.contains("--force"), "{e}");
    assert!(!e.contains("tmerc"), "PROJ's own diagnostics reached stderr: {e}");
    assert_eq!(sha256(&reg), before);
    // declared areas a thousand times the measured ones
    let w = |name: &str, props: &[&str], geoms: &[String]| write_file(d.path(), name, collection(props, geoms));
    let squares: Vec<String> = (0..4).map(|i| rect(i as f64 * 100.0, i as f64 * 100.0 + 100.0, 0.0, 100.0)).collect();
    let props = [
        r#"{"BSM":"A","DLBM":"0101","TBMJ":10000000}"#,
        r#"{"BSM":"B","DLBM":"0101","TBMJ":10000000}"#,
        r#"{"BSM":"C","DLBM":"0101","TBMJ":10000}"#,
        r#"{"BSM":"D","DLBM":"0101","TBMJ":9990000}"#,
    ];
    let src = w("tbmj.geojson", &props, &squares);
    let (c, _, e) = import_parcels(&reg, &src, "2019-12-31", &[]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("the measured areas of 3 of 4 records disagree with their declared TBMJ"), "{e}");
    assert_eq!(sha256(&reg), before);
    // far from the admin outline the registry holds
    let admin = w("admin.geojson", &[r#"{"XZQDM":"330523","XZQMC":"测试县"}"#], &[rect(0.0, 1000.0, 0.0, 1000.0)]);
    assert_eq!(run(&["import", s(&reg), s(&admin), "--layer", "admin", "--as-of", "2019-12-31"]).0, 0);
    let far: Vec<String> =
        (0..4).map(|i| rect(i as f64 * 100.0, i as f64 * 100.0 + 100.0, 200_000.0, 200_100.0)).collect();
    let src = w(
        "far.geojson",
        &[
            r#"{"BSM":"A","DLBM":"0101"}"#,
            r#"{"BSM":"B","DLBM":"0101"}"#,
            r#"{"BSM":"C","DLBM":"0101"}"#,
            r#"{"BSM":"D","DLBM":"0101"}"#,
        ],
        &far,
    );
    let (c, _, e) = import_parcels(&reg, &src, "2019-12-31", &[]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("4 of 4 records lie more than 5 km outside the registry's admin outline"), "{e}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 0);
    // --force imports it all the same
    assert_eq!(import_parcels(&reg, &src, "2019-12-31", &["--force"]).0, 0);
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 4);
    // a province imported county by county: a county the registry has no outline for yet is not judged by
    // its neighbour's; a county whose outline it holds still is
    let county = |code: &str| {
        let props: Vec<String> = ["E", "F", "G", "H"]
            .iter()
            .map(|k| format!(r#"{{"BSM":"{code}{k}","DLBM":"0101","ZLDWDM":"{code}1010000000"}}"#))
            .collect();
        w(&format!("{code}.geojson"), &props.iter().map(String::as_str).collect::<Vec<_>>(), &far)
    };
    let (c, _, e) = import_parcels(&reg, &county("330521"), "2020-12-31", &["--scope", "330521"]);
    assert_eq!(c, 0, "{e}");
    let (c, _, e) = import_parcels(&reg, &county("330523"), "2020-12-31", &["--scope", "330523"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("4 of 4 records lie more than 5 km outside the registry's admin outline"), "{e}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels WHERE BSM LIKE '330523%'"), 0);
}

/// Regression (issue 19.9a): polygons whose interior is disconnected (a hole touching the shell twice, a
/// chain of holes across the polygon, two holes touching at two points) and a zero-area polygon were
/// accepted. Shifted into the registry's zone and imported as parcels, each gets GEOS's verdict (the OGC
/// rules); the valid ones beside them go in. (The cases are written here after the categories of GEOS's
/// TestValid suites, not copied from them.)
#[test]
fn polygons_with_a_disconnected_interior_or_no_area_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let shift = |rings: &[&[(f64, f64)]]| -> String {
        let rings: Vec<String> = rings
            .iter()
            .map(|r| {
                format!(
                    "[{}]",
                    r.iter()
                        .map(|(x, y)| format!("[{},{}]", 500_000.0 + x, 3_300_000.0 + y))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
            .collect();
        format!("[{}]", rings.join(","))
    };
    let sq = |x0: f64, x1: f64| vec![(x0, 0.0), (x1, 0.0), (x1, 10.0), (x0, 10.0), (x0, 0.0)];
    let cases: Vec<(&str, String, bool)> = vec![
        ("SHELL2", shift(&[&sq(0.0, 10.0), &[(0.0, 5.0), (5.0, 2.0), (10.0, 5.0), (5.0, 8.0), (0.0, 5.0)]]), false),
        (
            "CHAIN",
            shift(&[
                &sq(20.0, 32.0),
                &[(20.0, 5.0), (23.0, 3.0), (26.0, 5.0), (23.0, 7.0), (20.0, 5.0)],
                &[(26.0, 5.0), (29.0, 3.0), (32.0, 5.0), (29.0, 7.0), (26.0, 5.0)],
            ]),
            false,
        ),
        (
            "HOLES2",
            shift(&[
                &sq(40.0, 50.0),
                &[(42.0, 2.0), (45.0, 2.0), (45.0, 8.0), (42.0, 8.0), (42.0, 2.0)],
                &[(45.0, 2.0), (48.0, 2.0), (48.0, 8.0), (45.0, 8.0), (45.0, 2.0)],
            ]),
            false,
        ),
        ("FLAT", shift(&[&[(60.0, 0.0), (70.0, 0.0), (80.0, 0.0), (60.0, 0.0), (60.0, 0.0)]]), false),
        ("ONCE", shift(&[&sq(90.0, 100.0), &[(90.0, 5.0), (95.0, 2.0), (95.0, 8.0), (90.0, 5.0)]]), true),
        ("PLAIN", shift(&[&sq(110.0, 120.0)]), true),
    ];
    let props: Vec<String> = cases.iter().map(|(k, _, _)| format!(r#"{{"BSM":"{k}","DLBM":"0101"}}"#)).collect();
    let refs: Vec<&str> = props.iter().map(String::as_str).collect();
    let geoms: Vec<String> = cases.iter().map(|c| c.1.clone()).collect();
    let src = d.path().join("valid.geojson");
    std::fs::write(&src, collection(&refs, &geoms)).unwrap();
    let (code, out, err) = import_parcels(&reg, &src, "2020-01-01", &["--keep-going", "--max-rejected", "100"]);
    assert_eq!(code, 1, "{out}{err}");
    for (key, _, valid) in &cases {
        let rejected = err.lines().any(|l| l.contains(&format!("[{key}]: field geometry: invalid geometry")));
        assert_eq!(rejected, !valid, "{key}: {err}");
    }
    assert!(err.contains("[SHELL2]: field geometry: invalid geometry: Interior is disconnected"), "{err}");
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 2);
}

/// Regression (issue 19.9): validity was quadratic in a polygon's vertex count (200 000 vertices: over
/// 120 s at import, and again in `check --only NR201`). A red line of 200 000 vertices goes in and is
/// checked (no time is asserted; a quadratic check would hold the suite for minutes).
#[test]
fn a_red_line_of_two_hundred_thousand_vertices_is_checked() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let n = 200_000;
    let ring: Vec<String> = (0..=n)
        .map(|i| {
            let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
            let r = 3000.0 + 50.0 * (37.0 * a).sin();
            format!("[{},{}]", 500_000.0 + r * a.cos(), 3_300_000.0 + r * a.sin())
        })
        .collect();
    let src = d.path().join("red.geojson");
    std::fs::write(&src, collection(&[r#"{"HXBH":"HX1","GKFQ":"一般控制区"}"#], &[format!("[[{}]]", ring.join(","))]))
        .unwrap();
    let (c, out, e) = run(&["import", s(&reg), s(&src), "--layer", "redlines", "--as-of", "2020-01-01"]);
    assert_eq!(c, 0, "{out}{e}");
    let (c, out, e) = run(&["check", s(&reg), "--only", "NR201", "--format", "json"]);
    assert_eq!(c, 0, "{out}{e}");
    assert!(out.contains("\"findings\": []"), "{out}");
}

/// Issue 19.13: a delivery is checked before it is accepted (`nrledger inspect`): every problem in one go
/// (fields, codes, geometry, duplicates) and the rules that need no registry (overlaps, gaps against an
/// outline), as text, JSON following its schema and a findings layer; nothing else is written, the
/// source is untouched and the throw-away registry is gone afterwards.
#[test]
fn inspect_reports_every_problem_of_a_delivery_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let tmp = d.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let inspect = |args: &[&str]| {
        let out = nrledger().arg("inspect").args(args).env("TMPDIR", &tmp).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let bad = fixture("dltb/bad_records.geojson");
    let before = sha256(&bad);
    let layer = d.path().join("problems.gpkg");
    let (c, out, e) = inspect(&[s(&bad), "--layer", "parcels", "--out", s(&layer)]);
    assert_eq!(c, 1, "{out}{e}");
    assert!(out.contains("16 feature(s) read, 10 would be rejected (10 problem(s))"), "{out}");
    assert!(
        out.contains("feature #6 (fid 6) [33052300001456]: field geometry: invalid geometry: Self-intersection"),
        "{out}"
    );
    assert!(out.contains("feature #1 (fid 1) [33052300001452]: field BSM: duplicate BSM"), "{out}");
    assert!(out.contains("profile sandiao-dltb") && out.contains("the delivery has problems"), "{out}");
    // lon/lat (CGCS2000) is measured in the Gauss-Krüger zone of its centre: 119.5°E is zone 40
    assert!(out.contains("CRS EPSG:4490; measured in EPSG:4549"), "{out}");
    assert_eq!(gpkg_conformance(&layer), "");
    let c2 = rusqlite::Connection::open(&layer).unwrap();
    let rejected: i64 = c2.query_row("SELECT count(*) FROM findings WHERE rule = 'IMPORT'", [], |r| r.get(0)).unwrap();
    assert_eq!(rejected, 7, "the rejects with a polygon (all but the two empty geometries and the line string)");
    // the seed delivery against the county outline: its overlap and its gap, and the JSON report
    let seed_file = seed("2020-12-31.gpkg");
    let (c, out, e) = inspect(&[
        s(&seed_file),
        "--layer",
        "parcels",
        "--outline",
        s(&seed_file),
        "--outline-layer",
        "XZQ",
        "--format",
        "json",
    ]);
    assert_eq!(c, 1, "{e}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/inspect-report.schema.json")).unwrap())
            .unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&r));
    let errors = |rule: &str| {
        r["check"]["summary"].as_array().unwrap().iter().find(|x| x["rule"] == rule).unwrap()["errors"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((errors("NR101"), errors("NR103"), errors("IMPORT")), (1, 1, 0));
    assert_eq!(r["import"]["read"], 3235);
    // a clean delivery
    let clean = five_parcels(d.path(), "clean.geojson", &[], &[]);
    let (c, out, e) = inspect(&[s(&clean), "--layer", "parcels"]);
    assert_eq!(c, 0, "{out}{e}");
    assert!(out.contains("the delivery would be accepted as it is"), "{out}");
    assert_eq!(sha256(&bad), before, "source modified");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "the throw-away registry was left behind");
}

/// Regression (issue 19.5): an admin outline in GCJ-02 (from a Chinese web map, untagged, read as WGS 84) lay
/// hundreds of metres off the stored CGCS2000 outline and was accepted. The signature is detected against the
/// stored outline of the same region and the import refused; `--src-crs GCJ02` converts it, landing on the
/// stored outline.
#[test]
fn an_outline_in_gcj02_is_detected_and_converted_only_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let outline = |name: &str, ring: &[(f64, f64)], crs: Option<&str>| {
        let coords: Vec<String> = ring.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
        let crs = crs.map(|c| format!(r#""crs":{{"type":"name","properties":{{"name":"{c}"}}}},"#)).unwrap_or_default();
        let text = format!(
            r#"{{"type":"FeatureCollection",{crs}"features":[{{"type":"Feature","properties":{{"XZQDM":"330523","XZQMC":"测试县"}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}]}}"#,
            coords.join(",")
        );
        write_file(d.path(), name, text)
    };
    // the true outline, a 2 km square, in the registry's zone
    let square: Vec<(f64, f64)> = [(0.0, 0.0), (2000.0, 0.0), (2000.0, 2000.0), (0.0, 2000.0), (0.0, 0.0)]
        .iter()
        .map(|(x, y)| (500_000.0 + x, 3_300_000.0 + y))
        .collect();
    let truth = outline("truth.geojson", &square, Some("EPSG:4549"));
    assert_eq!(run(&["import", s(&reg), s(&truth), "--layer", "admin", "--as-of", "2019-12-31"]).0, 0);
    // the same square as a web map gives it: WGS 84 shifted to GCJ-02, no CRS declared
    let mut lonlat = square.clone();
    nrledger::crs::Transformer::new("EPSG:4549", "EPSG:4326").unwrap().coords(&mut lonlat).unwrap();
    let shifted: Vec<(f64, f64)> = lonlat.iter().map(|(x, y)| nrledger::gcj02::from_wgs84(*x, *y)).collect();
    let web = outline("web.geojson", &shifted, None);
    let before = sha256(&reg);
    let (c, _, e) = run(&["import", s(&reg), s(&web), "--layer", "admin", "--as-of", "2020-12-31"]);
    assert_eq!(c, 2, "{e}");
    assert!(
        e.contains("XZQDM 330523: the outline lies") && e.contains("probably GCJ-02") && e.contains("--src-crs GCJ02"),
        "{e}"
    );
    assert_eq!(sha256(&reg), before);
    let (c, out, e) =
        run(&["import", s(&reg), s(&web), "--layer", "admin", "--as-of", "2020-12-31", "--src-crs", "GCJ02"]);
    assert_eq!(c, 0, "{out}{e}");
    assert!(out.contains("CRS GCJ-02 (converted to WGS 84"), "{out}");
    // converted, it lands on the true square: the unchanged outline is not even a new version
    assert!(out.contains("0 inserted, 1 unchanged"), "{out}");
}

/// Issue 19: a property harness over the import path. Hostile sources — GeoJSON with extreme coordinates,
/// huge rings, deeply nested multipolygons, odd values and truncated text; Shapefiles with corrupted bytes —
/// never make `nrledger import` panic (exit status 101) or crash, never hang past a bound, and a refused
/// import leaves the registry byte for byte as it was. `make test` runs a bounded number of cases
/// (`NRLEDGER_FUZZ_CASES`, 24 by default); `make fuzz` runs many more.
mod hostile_sources {
    use super::*;
    use proptest::prelude::*;

    /// How long one import may take before it counts as a hang.
    const BOUND: std::time::Duration = std::time::Duration::from_secs(60);

    fn cases() -> u32 {
        std::env::var("NRLEDGER_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24)
    }

    /// A coordinate: usually near the registry's zone, sometimes extreme.
    fn coordinate() -> impl Strategy<Value = f64> {
        prop_oneof![
            6 => -5_000.0f64..5_000.0,
            1 => prop_oneof![Just(1e308), Just(-1e308), Just(1e-300), Just(0.0), Just(4.0e15), Just(-3.3e6)],
        ]
    }

    /// A ring of `n` points around (500 000, 3 300 000), closed or not, in order or shuffled.
    fn ring() -> impl Strategy<Value = Vec<(f64, f64)>> {
        (prop::collection::vec((coordinate(), coordinate()), 1..400), any::<bool>()).prop_map(|(mut pts, close)| {
            for p in &mut pts {
                *p = (500_000.0 + p.0, 3_300_000.0 + p.1);
            }
            if close {
                pts.push(pts[0]);
            }
            pts
        })
    }

    fn ring_json(r: &[(f64, f64)]) -> String {
        format!("[{}]", r.iter().map(|(x, y)| format!("[{x:e},{y:e}]")).collect::<Vec<_>>().join(","))
    }

    /// A geometry: a polygon with holes, a multipolygon of many parts, a huge regular ring, another type,
    /// or none.
    fn geometry() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec(ring(), 1..4).prop_map(|rs| format!(
                r#"{{"type":"Polygon","coordinates":[{}]}}"#,
                rs.iter().map(|r| ring_json(r)).collect::<Vec<_>>().join(",")
            )),
            (prop::collection::vec(ring(), 1..3), 1usize..60).prop_map(|(rs, parts)| format!(
                r#"{{"type":"MultiPolygon","coordinates":[{}]}}"#,
                (0..parts).map(|k| format!("[{}]", ring_json(&rs[k % rs.len()]))).collect::<Vec<_>>().join(",")
            )),
            (1_000usize..60_000).prop_map(|n| {
                let pts: Vec<(f64, f64)> = (0..=n)
                    .map(|i| {
                        let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
                        (500_000.0 + 1_000.0 * a.cos(), 3_300_000.0 + 1_000.0 * a.sin())
                    })
                    .collect();
                format!(r#"{{"type":"Polygon","coordinates":[{}]}}"#, ring_json(&pts))
            }),
            Just(r#"{"type":"LineString","coordinates":[[500000,3300000],[500010,3300010]]}"#.to_string()),
            Just(r#"{"type":"GeometryCollection","geometries":[]}"#.to_string()),
            Just("null".to_string()),
        ]
    }

    /// A property value: text of any length and script, numbers, booleans, nulls, nested objects.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9A-Za-z\u{4e00}-\u{4e20}\\\\\"'<>;]{0,40}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(serde_json::to_string(&"9".repeat(400)).unwrap()),
            any::<f64>().prop_map(|f| if f.is_finite() { format!("{f:e}") } else { "null".into() }),
            any::<i64>().prop_map(|i| i.to_string()),
            Just("true".into()),
            Just("null".into()),
            Just(r#"{"a":[1,2,{"b":null}]}"#.into()),
        ]
    }

    fn geojson() -> impl Strategy<Value = Vec<u8>> {
        let feature = (value(), prop_oneof![Just("\"0101\"".to_string()), value()], value(), geometry()).prop_map(
            |(bsm, dlbm, tbmj, g)| {
                format!(
                    r#"{{"type":"Feature","properties":{{"BSM":{bsm},"DLBM":{dlbm},"TBMJ":{tbmj}}},"geometry":{g}}}"#
                )
            },
        );
        (prop::collection::vec(feature, 0..5), prop::option::of(any::<prop::sample::Index>())).prop_map(|(fs, cut)| {
            let mut bytes = feature_collection(&fs).into_bytes();
            if let Some(i) = cut {
                bytes.truncate(i.index(bytes.len()));
            }
            bytes
        })
    }

    /// Run an import with a bound on its time; returns its exit status (None: killed by a signal).
    fn import_bounded(reg: &Path, src: &Path) -> Option<i32> {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("nrledger"))
            .args(["import", s(reg), s(src), "--layer", "parcels", "--as-of", "2020-01-01"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st.code();
            }
            if started.elapsed() > BOUND {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("an import of {} ran past {BOUND:?}", src.display());
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// One hostile source against a fresh copy of an empty registry.
    fn try_source(template: &Path, dir: &Path, name: &str, write: impl FnOnce(&Path)) -> Result<(), TestCaseError> {
        let reg = dir.join(format!("{name}.gpkg"));
        std::fs::copy(template, &reg).unwrap();
        let src = dir.join(name);
        write(&src);
        let before = sha256(&reg);
        let code = import_bounded(&reg, &src);
        prop_assert!(matches!(code, Some(0..=2)), "{name}: exit status {code:?} (a panic is 101, a crash has none)");
        if code != Some(0) {
            prop_assert_eq!(sha256(&reg), before, "{}: a refused import changed the registry", name);
        }
        Ok(())
    }

    use std::path::Path;

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn hostile_geojson_is_refused_or_imported_never_a_panic(bytes in geojson()) {
            let d = tempfile::tempdir().unwrap();
            let template = registry(d.path());
            try_source(&template, d.path(), "hostile.geojson", |p| std::fs::write(p, &bytes).unwrap())?;
        }

        #[test]
        fn corrupted_shapefiles_are_refused_or_imported_never_a_panic(
            flips in prop::collection::vec((0usize..3, any::<prop::sample::Index>(), any::<u8>()), 1..24),
            cut in prop::option::of((0usize..3, any::<prop::sample::Index>())),
        ) {
            let d = tempfile::tempdir().unwrap();
            let template = registry(d.path());
            let mut parts: Vec<Vec<u8>> = ["shp", "shx", "dbf"].iter().map(|e| std::fs::read(fixture(&format!("dltb/gbk.{e}"))).unwrap()).collect();
            for (k, at, byte) in flips {
                let i = at.index(parts[k].len());
                parts[k][i] = byte;
            }
            if let Some((k, at)) = cut {
                let n = at.index(parts[k].len());
                parts[k].truncate(n);
            }
            try_source(&template, d.path(), "bad.shp", |p| {
                for (k, e) in ["shp", "shx", "dbf"].iter().enumerate() {
                    std::fs::write(p.with_extension(e), &parts[k]).unwrap();
                }
                std::fs::copy(fixture("dltb/gbk.prj"), p.with_extension("prj")).unwrap();
                std::fs::copy(fixture("dltb/gbk.cpg"), p.with_extension("cpg")).unwrap();
            })?;
        }
    }
}

/// Five parcels Q0…Q4 with a data year (SJNF) and, for Q0, a class.
fn surveyed(dir: &std::path::Path, name: &str, year: i64, q0_class: &str) -> std::path::PathBuf {
    let props: Vec<String> = (0..5)
        .map(|i| format!(r#"{{"BSM":"Q{i}","DLBM":"{}","SJNF":{year}}}"#, if i == 0 { q0_class } else { "0101" }))
        .collect();
    let refs: Vec<&str> = props.iter().map(String::as_str).collect();
    let geoms: Vec<String> = (0..5).map(|i| rect(i as f64 * 100.0, i as f64 * 100.0 + 100.0, 0.0, 100.0)).collect();
    let path = dir.join(name);
    std::fs::write(&path, collection(&refs, &geoms)).unwrap();
    path
}

/// The data year of every parcel in an export (BSM → SJNF).
fn years(reg: &std::path::Path, dir: &std::path::Path, as_of: Option<&str>) -> std::collections::BTreeMap<String, i64> {
    let out = dir.join(format!("years-{}.geojson", as_of.unwrap_or("now")));
    let mut args = vec!["export", s(reg), "--layer", "parcels", "--out", s(&out)];
    if let Some(d) = as_of {
        args.extend(["--as-of", d]);
    }
    assert_eq!(run(&args).0, 0);
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    j["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["properties"]["BSM"].as_str().unwrap().to_string(), f["properties"]["SJNF"].as_i64().unwrap()))
        .collect()
}

/// Regression (issue 19.12): a survey that sets a new data year (SJNF) on every record stored every parcel
/// again. SJNF is a bookkeeping field: an otherwise unchanged parcel stays one version, its new data year is
/// kept and read back from that date (export, query); a parcel that really changed is a new version. A
/// registry whose stored hashes cover SJNF (made before) recognises its unchanged parcels too.
#[test]
fn a_new_data_year_alone_makes_no_new_version() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(import_parcels(&reg, &surveyed(d.path(), "a.geojson", 2019, "0101"), "2019-12-31", &[]).0, 0);
    let (c, out, e) = import_parcels(&reg, &surveyed(d.path(), "b.geojson", 2020, "0101"), "2020-12-31", &[]);
    assert_eq!(c, 0, "{e}");
    assert!(
        out.contains("0 inserted, 5 unchanged, 0 closed")
            && out.contains("5 unchanged record(s) took new bookkeeping values"),
        "{out}"
    );
    let (c, out, _) = import_parcels(&reg, &surveyed(d.path(), "c.geojson", 2021, "0103"), "2021-12-31", &[]);
    assert_eq!(c, 0);
    assert!(
        out.contains("1 inserted, 4 unchanged, 1 closed") && out.contains("4 unchanged record(s) took new bookkeeping"),
        "{out}"
    );
    assert_eq!(count(&reg, "SELECT count(*) FROM parcels"), 6);
    let all = |y: i64| (0..5).map(|i| (format!("Q{i}"), y)).collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(years(&reg, d.path(), Some("2019-12-31")), all(2019));
    assert_eq!(years(&reg, d.path(), Some("2020-12-31")), all(2020));
    assert_eq!(years(&reg, d.path(), None), all(2021));
    let mut inside_q0 = [(500_050.0, 3_300_050.0)];
    nrledger::crs::Transformer::new("EPSG:4549", "EPSG:4490").unwrap().coords(&mut inside_q0).unwrap();
    let at = format!("{},{}", inside_q0[0].0, inside_q0[0].1);
    let (_, q, _) = run(&["query", s(&reg), "--at", &at, "--format", "json"]);
    let hits: serde_json::Value = serde_json::from_str(&q).unwrap();
    let parcel = hits.as_array().unwrap().iter().find(|h| h["layer"] == "parcels").unwrap_or_else(|| panic!("{q}"));
    assert_eq!(parcel["attributes"]["SJNF"], 2021, "{parcel}");
    // every read by date shows the year kept on or before it: of the whole layer, through boxes (the
    // values of the fids found only), and by fid
    let r = nrledger::Registry::open(&reg, nrledger::catalog::Catalog::embedded().unwrap()).unwrap();
    let kind = nrledger::LayerKind::Parcels;
    let sjnf = r.catalog().layer(kind).field_index("SJNF").unwrap();
    let day = Some(chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap());
    let keyed = |recs: Vec<nrledger::store::StoredRecord>| -> Vec<(String, String)> {
        recs.iter().map(|x| (x.record.key.clone(), x.record.value(sjnf).to_string())).collect()
    };
    let whole = r.read(&nrledger::Read::layer(kind).on(day)).unwrap();
    let fids: Vec<i64> = whole.iter().map(|x| x.fid).collect();
    let whole = keyed(whole);
    assert!(whole.len() == 5 && whole.iter().all(|(_, y)| y == "2020"), "{whole:?}");
    let world = [geo::Rect::new((-1e9, -1e9), (1e9, 1e9))];
    assert_eq!(keyed(r.read(&nrledger::Read::layer(kind).on(day).in_boxes(&world)).unwrap()), whole);
    assert_eq!(keyed(r.read(&nrledger::Read::layer(kind).on(day).fids(&fids[1..3])).unwrap()), whole[1..3].to_vec());
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_bookkeeping"), 9);
    assert_eq!(gpkg_conformance(&reg), "");

    // a registry made before SJNF was a bookkeeping field: its stored hashes cover SJNF
    let old_layers = d.path().join("old-layers");
    std::fs::create_dir_all(old_layers.join("kinds")).unwrap();
    let def =
        std::fs::read_to_string(root().join("layers/kinds/parcels.toml")).unwrap().replace("bookkeeping = true\n", "");
    std::fs::write(old_layers.join("kinds/parcels.toml"), def).unwrap();
    let old = d.path().join("old").join("r.gpkg");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    assert_eq!(run(&["init", s(&old), "--crs", "EPSG:4549"]).0, 0);
    let src = surveyed(d.path(), "o.geojson", 2019, "0101");
    assert_eq!(
        run(&["--layers", s(&old_layers), "import", s(&old), s(&src), "--layer", "parcels", "--as-of", "2019-12-31"]).0,
        0
    );
    rusqlite::Connection::open(&old).unwrap().execute("DELETE FROM nr_meta WHERE key = 'record_hash'", []).unwrap();
    let (c, out, e) = import_parcels(&old, &surveyed(d.path(), "p.geojson", 2020, "0101"), "2020-12-31", &[]);
    assert_eq!(c, 0, "{e}");
    assert!(
        out.contains("0 inserted, 5 unchanged") && out.contains("5 unchanged record(s) took new bookkeeping"),
        "{out}"
    );
}

/// GEOS's own validity suites (`TestValid.xml`, `TestValid2.xml` of the GEOS source the build links, taken by
/// `make test-deps` from Debian's source package into `target/geos-xmltester`): (case, WKT, valid) of every
/// polygonal case.
fn geos_validity_cases() -> Vec<(String, String, bool)> {
    let case = regex::Regex::new(
        r#"(?s)<case>\s*<desc>(.*?)</desc>\s*<a>\s*(.*?)\s*</a>.*?<op name="isValid"[^>]*>\s*(true|false)\s*</op>"#,
    )
    .unwrap();
    let mut out = Vec::new();
    for file in ["TestValid.xml", "TestValid2.xml"] {
        let path = root().join("target/geos-xmltester").join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (`make test-deps` puts GEOS's suites there)", path.display()));
        for c in case.captures_iter(&text) {
            let wkt = c[2].split_whitespace().collect::<Vec<_>>().join(" ");
            let polygonal = wkt.starts_with("POLYGON") || wkt.starts_with("MULTIPOLYGON");
            // NaN coordinates have no GeoJSON (nor WKT GDAL reads): that case cannot be delivered
            if polygonal && !wkt.contains("EMPTY") && !wkt.contains("NaN") {
                out.push((format!("{file}: {}", c[1].trim()), wkt, &c[3] == "true"));
            }
        }
    }
    out
}

/// Issue 19.9a: every polygon case of GEOS's validity suites, moved into the registry's Gauss-Krüger zone and
/// imported as parcels, gets the suite's verdict: a valid polygon goes in, an invalid one is rejected for its
/// geometry (before: 8 of 315 disagreed — disconnected interiors and a zero-area polygon were accepted).
#[test]
fn every_polygon_of_geos_validity_suites_gets_the_suites_verdict() {
    let cases = geos_validity_cases();
    assert!(cases.len() > 300, "{} polygon cases", cases.len());
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let pair = regex::Regex::new(r"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?) (-?[0-9.]+(?:[eE][-+]?[0-9]+)?)").unwrap();
    let features: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, (_, wkt, _))| {
            // each case moved so that its lower-left corner is at (500 000, 3 300 000) (some lie at x = 10⁷)
            let xy: Vec<(f64, f64)> =
                pair.captures_iter(wkt).map(|c| (c[1].parse().unwrap(), c[2].parse().unwrap())).collect();
            let x0 = xy.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
            let y0 = xy.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            // and the three cases wider than 50 km scaled by a power of two (exact: the same topology)
            let width = xy.iter().map(|p| (p.0 - x0).max(p.1 - y0)).fold(0.0, f64::max);
            let scale = if width > 50_000.0 { 0.5f64.powi((width / 50_000.0).log2().ceil() as i32) } else { 1.0 };
            let shifted = pair.replace_all(wkt, |c: &regex::Captures| {
                let (x, y): (f64, f64) = (c[1].parse().unwrap(), c[2].parse().unwrap());
                format!("{} {}", 500_000.0 + (x - x0) * scale, 3_300_000.0 + (y - y0) * scale)
            });
            let json = gdal::vector::Geometry::from_wkt(&shifted).unwrap().json().unwrap();
            format!(r#"{{"type":"Feature","properties":{{"BSM":"V{i}","DLBM":"0101"}},"geometry":{json}}}"#)
        })
        .collect();
    let src = d.path().join("geos-valid.geojson");
    std::fs::write(&src, feature_collection(&features)).unwrap();
    let (_, out, err) = import_parcels(&reg, &src, "2020-01-01", &["--keep-going", "--max-rejected", "100"]);
    let mut wrong = Vec::new();
    for (i, (name, wkt, valid)) in cases.iter().enumerate() {
        let line = err.lines().find(|l| l.contains(&format!("[V{i}]:")));
        let rejected_for_geometry = line.is_some_and(|l| l.contains("field geometry:"));
        if let Some(other) = line.filter(|_| !rejected_for_geometry) {
            wrong.push(format!("{name}: rejected for another reason: {other}"));
        } else if rejected_for_geometry == *valid {
            wrong.push(format!(
                "{name}: suite says {}, nrledger {}: {wkt}",
                if *valid { "valid" } else { "invalid" },
                line.unwrap_or("accepted it")
            ));
        }
    }
    let other: Vec<&str> = err.lines().filter(|l| !l.contains("[V")).collect();
    assert!(
        wrong.is_empty(),
        "{} of {} cases disagree:\n{}\n{out}{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n"),
        other.join("\n")
    );
}

/// Regression (found by the property harness): a Shapefile whose coordinates were damaged to a northing of
/// 10⁹ km (here 1.8 × 10⁹ km) made the area computation densify its outline without end (a 1 GiB allocation, then an abort). A
/// geometry beyond the poles, or with a coordinate that is not a number, is rejected like any bad record.
#[test]
fn damaged_coordinates_beyond_the_poles_are_rejected_not_densified() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (x, y) = (500_000.0, 3_300_000.0);
    let far = format!("[[[{x},{y}],[{},{y}],[{},1.8e12],[{x},{y}]]]", x + 100.0, x + 100.0);
    let src = d.path().join("damaged.geojson");
    std::fs::write(
        &src,
        collection(
            &[r#"{"BSM":"D1","DLBM":"0101"}"#, r#"{"BSM":"D2","DLBM":"0101"}"#],
            &[far, rect(0.0, 100.0, 0.0, 100.0)],
        ),
    )
    .unwrap();
    let (c, out, e) = import_parcels(&reg, &src, "2020-01-01", &["--keep-going", "--max-rejected", "100"]);
    assert_eq!(c, 1, "{out}{e}");
    assert!(
        e.contains("[D1]: field geometry: geometry lands 1800000000 km from the equator")
            && e.contains("beyond the poles"),
        "{e}"
    );
    assert!(out.contains("1 inserted"), "{out}");
}

/// Run nrledger with its source read `batch` features (or fids) at a time (the tests' build reads
/// `NRLEDGER_SOURCE_BATCH`): (exit code, stdout, stderr).
fn run_batched(batch: &str, args: &[&str]) -> (i32, String, String) {
    run_env(&[("NRLEDGER_SOURCE_BATCH", batch)], args)
}

/// Rows of a query over a registry, each as its columns' text joined by `|`.
fn rows(reg: &std::path::Path, sql: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(reg).unwrap();
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => "∅".to_string(),
                rusqlite::types::ValueRef::Integer(x) => x.to_string(),
                rusqlite::types::ValueRef::Real(x) => format!("{x:.6}"),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(b) => format!("{:x}", sha2::Sha256::digest(b)),
            })
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

use sha2::Digest;

/// Imports stream their source a batch at a time (issue 23). A real delivery with invalid geometries and
/// duplicate codes (2008 cadastral parcels, farms_33S), read 37 features a batch, stores the records,
/// rejects (reasons, attributes, geometry) and log it stores when read in one batch; so does the seed
/// county read 97 fids a batch through several GDAL handles, first and second vintage.
#[test]
fn an_import_read_in_small_batches_stores_what_one_batch_stores() {
    let profile_dir = tempfile::tempdir().unwrap();
    let profile = profile_dir.path().join("farms.toml");
    std::fs::write(&profile, "name = \"farms\"\nlayer = \"forest\"\n[fields]\nXBH = [\"SG_CODE\"]\n").unwrap();
    let farms = |batch: &str| {
        let d = tempfile::tempdir().unwrap();
        let reg = d.path().join("za.gpkg");
        assert_eq!(run(&["init", s(&reg), "--crs", "EPSG:32733"]).0, 0);
        let src = fixture("real/farms_33S.shp");
        let args = ["import", s(&reg), s(&src), "--layer", "forest", "--as-of", "2008-01-01", "--profile", s(&profile)];
        let (code, out, err) = run_batched(batch, &[&args[..], &["--keep-going", "--max-rejected", "100"]].concat());
        assert_eq!(code, 1, "{out}{err}");
        let stored = [
            rows(&reg, "SELECT XBH, rec_hash, area_ell, geom FROM forest ORDER BY fid"),
            rows(&reg, "SELECT feature_index, source_fid, record_key, field, reason, attributes, geom FROM rejects ORDER BY feature_index"),
            rows(&reg, "SELECT read_count, inserted, unchanged, closed, rejected, repaired FROM nr_imports"),
        ];
        (stored, err.lines().filter(|l| l.contains("farms_33S")).map(str::to_string).collect::<Vec<_>>(), d)
    };
    let (one, one_err, _d1) = farms("1000000");
    let (small, small_err, _d2) = farms("37");
    assert!(one[1].len() > 16 && one[1].iter().any(|r| r.contains("duplicate XBH")), "{:?}", one[1]);
    assert_eq!(one, small);
    assert_eq!(one_err, small_err);

    let seed_county = |batch: &str| {
        let d = tempfile::tempdir().unwrap();
        let reg = registry(d.path());
        for v in ["2019-12-31", "2020-12-31"] {
            let src = seed(&format!("{v}.gpkg"));
            let (code, out, err) = run_batched(
                batch,
                &["import", s(&reg), s(&src), "--layer", "parcels", "--as-of", v, "--profile", "sandiao-dltb"],
            );
            assert_eq!(code, 0, "{out}{err}");
        }
        let stored = [
            rows(&reg, "SELECT BSM, valid_from, valid_to, rec_hash, area_ell, geom FROM parcels ORDER BY fid"),
            rows(&reg, "SELECT fid, field, value FROM nr_bookkeeping ORDER BY fid, field"),
            rows(&reg, "SELECT id, minx, maxx, miny, maxy FROM rtree_parcels_geom ORDER BY id"),
            rows(&reg, "SELECT read_count, inserted, unchanged, closed, rejected FROM nr_imports ORDER BY import_id"),
        ];
        (stored, d)
    };
    let (one, _d3) = seed_county("1000000");
    let (small, _d4) = seed_county("97");
    assert!(one[0].len() > 3000);
    assert_eq!(one, small);
}

/// An atomic import streamed in batches finds every problem, also the last batch's, and writes nothing:
/// a duplicate code between the first and the last feature and a bad class code in the last batch leave
/// the registry as it was (the earlier vintage only, no log row, no reject).
#[test]
fn an_atomic_import_with_a_problem_in_its_last_batch_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(import_dltb(&reg, &seed("2019-12-31.gpkg"), "2019-12-31", &[]).0, 0);
    let before = rows(&reg, "SELECT fid, valid_to FROM parcels ORDER BY fid");
    let src = d.path().join("late.gpkg");
    std::fs::copy(seed("2020-12-31.gpkg"), &src).unwrap();
    {
        let c = rusqlite::Connection::open(&src).unwrap();
        let triggers: Vec<String> = {
            let mut st =
                c.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'DLTB'").unwrap();
            st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        for t in triggers {
            c.execute_batch(&format!("DROP TRIGGER \"{t}\"")).unwrap();
        }
        c.execute_batch(
            "UPDATE DLTB SET BSM = (SELECT BSM FROM DLTB ORDER BY fid LIMIT 1) WHERE fid = (SELECT max(fid) FROM DLTB);
             UPDATE DLTB SET DLBM = '9999' WHERE fid = (SELECT max(fid) - 1 FROM DLTB);",
        )
        .unwrap();
    }
    let (code, out, err) = run_batched(
        "97",
        &["import", s(&reg), s(&src), "--layer", "parcels", "--as-of", "2020-12-31", "--profile", "sandiao-dltb"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.lines().filter(|l| l.contains("duplicate BSM")).count(), 2, "{err}");
    assert!(err.contains("unknown code '9999'"), "{err}");
    assert_eq!(rows(&reg, "SELECT fid, valid_to FROM parcels ORDER BY fid"), before);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_imports"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_vintages"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM rejects"), 0);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_bookkeeping"), 0);
    assert_eq!(rtree_check(&reg, "parcels"), "ok");
}
