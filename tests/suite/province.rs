//! A province delivered county by county (issue 6): three neighbouring generated 湖州 counties imported
//! with `import --scope`, checked with `check --by-county` and measured by county sheets. What is checked:
//! - a county's vintage leaves the other counties' records as they were; imports out of scope, out of
//!   order, with an empty scope or as a whole layer before a county's vintage are refused and leave the
//!   registry byte for byte as it was;
//! - a read in one box or many (`Read::in_boxes`) is exactly the filter of all records by envelope;
//! - `check --by-county` finds what one whole check finds (gaps by total, since they are cut at county
//!   borders), each finding once, cross-border overlaps included, and duplicate keys across counties; its
//!   windows leave out what another county of the run holds whole;
//! - the province's balance sheet is the sum of its counties' sheets, cell by cell, and `balance --by-county`
//!   (one county in memory at a time) gives the whole region's sheet: every figure and table cell, with
//!   one progress line per county.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::*;
use nrledger::store::{Fields, Read};
use serde_json::Value as Json;

const COUNTIES: [(&str, &str); 3] = [("330502", "吴兴区"), ("330503", "南浔区"), ("330521", "德清县")];
const DATES: [&str; 2] = ["2019-12-31", "2020-12-31"];
const LAYERS: [(&str, &str, &str); 7] = [
    ("admin", "--src-layer", "XZQ"),
    ("parcels", "--profile", "sandiao-dltb"),
    ("redlines", "--profile", "stbhhx"),
    ("farmland", "--profile", "yjjbnt"),
    ("urban", "--profile", "czkfbj"),
    ("units", "--profile", "zrzy-djdy"),
    ("forest", "--profile", "forest-xb"),
];

struct Province {
    _dir: tempfile::TempDir,
    root: PathBuf,
    reg: PathBuf,
}

/// The province, built once for every test here (they only read it, or work on a copy).
fn province() -> &'static Province {
    static P: OnceLock<Province> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for (code, _) in COUNTIES {
            let (c, _, e) = run(&["gen", "--code", code, "--parcels", "1200", "--out", s(&root.join(code))]);
            assert_eq!(c, 0, "{e}");
        }
        let reg = root.join("province.gpkg");
        let (c, _, e) = run(&["init", s(&reg), "--crs", "EPSG:4549"]);
        assert_eq!(c, 0, "{e}");
        for date in DATES {
            for (code, _) in COUNTIES {
                let file = root.join(code).join(format!("{date}.gpkg"));
                for (layer, opt, val) in LAYERS {
                    let (c, out, e) = run(&[
                        "import",
                        s(&reg),
                        s(&file),
                        "--layer",
                        layer,
                        opt,
                        val,
                        "--as-of",
                        date,
                        "--scope",
                        code,
                    ]);
                    assert_eq!(c, 0, "{layer} {code} {date}: {e}");
                    assert!(out.contains(&format!("{layer} (scope {code}) as of {date}")), "{out}");
                }
            }
        }
        Province { _dir: dir, root, reg }
    })
}

fn sqlite(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn json(args: &[&str]) -> (i32, Json, String) {
    let (c, out, e) = run(args);
    assert!(c == 0 || c == 1, "{args:?}: {e}");
    (c, serde_json::from_str(&out).unwrap_or_else(|x| panic!("{x}: {out}")), e)
}

#[test]
fn county_vintages_leave_the_other_counties_alone() {
    let p = province();
    let db = sqlite(&p.reg);
    for (code, _) in COUNTIES {
        // every county's open parcels are exactly its latest delivery, whatever came after it
        let delivered: i64 = sqlite(&p.root.join(code).join("2020-12-31.gpkg"))
            .query_row("SELECT count(*) FROM DLTB", [], |r| r.get(0))
            .unwrap();
        let open: i64 = db
            .query_row("SELECT count(*) FROM parcels WHERE valid_to IS NULL AND ZLDWDM LIKE ?1 || '%'", [code], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(open, delivered, "{code}");
        // the records closed in 2020 are the county's own, as many as its own 2020 import closed
        let closed: i64 = db
            .query_row(
                "SELECT count(*) FROM parcels WHERE valid_to = '2020-12-31' AND ZLDWDM LIKE ?1 || '%'",
                [code],
                |r| r.get(0),
            )
            .unwrap();
        let logged: i64 = db
            .query_row(
                "SELECT i.closed FROM nr_imports i JOIN nr_scoped_vintages s ON s.import_id = i.import_id
                 WHERE s.layer = 'parcels' AND s.scope = ?1 AND s.as_of = '2020-12-31'",
                [code],
                |r| r.get(0),
            )
            .unwrap();
        assert!(closed > 0);
        assert_eq!(closed, logged, "{code}");
    }
    // each import names its scope in info
    let (c, info, _) = json(&["info", s(&p.reg), "--format", "json"]);
    assert_eq!(c, 0);
    let imports = info["imports"].as_array().unwrap();
    assert_eq!(imports.len(), COUNTIES.len() * DATES.len() * LAYERS.len());
    for i in imports {
        assert!(COUNTIES.iter().any(|(c, _)| i["scope"] == *c), "{i}");
    }
    let (_, text, _) = run(&["info", s(&p.reg)]);
    assert!(text.contains("parcels (scope 330503) as of 2020-12-31"), "{text}");
    assert!(info["layers"][2]["vintages"].as_array().unwrap().len() == 2, "{info}");
}

#[test]
fn imports_out_of_scope_out_of_order_or_unscoped_are_refused_and_write_nothing() {
    let p = province();
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("copy.gpkg");
    std::fs::copy(&p.reg, &reg).unwrap();
    let before = sha256(&reg);
    let nanxun_2020 = p.root.join("330503/2020-12-31.gpkg");
    let wuxing_2019 = p.root.join("330502/2019-12-31.gpkg");
    let parcels = |file: &Path, date: &str, scope: Option<&str>| {
        let mut a =
            vec!["import", s(&reg), s(file), "--layer", "parcels", "--profile", "sandiao-dltb", "--as-of", date];
        if let Some(sc) = scope {
            a.extend(["--scope", sc]);
        }
        run(&a)
    };
    // another county's delivery under this county's scope: every record refused, named by file, feature and field
    let (c, _, e) = parcels(&nanxun_2020, "2021-12-31", Some("330502"));
    assert_eq!(c, 1, "{e}");
    assert!(
        e.contains("2020-12-31.gpkg: layer DLTB: feature #0")
            && e.contains("field ZLDWDM")
            && e.contains("outside the import's scope 330502"),
        "{e}"
    );
    assert!(e.contains("nothing was written"), "{e}");
    // a county's vintage before its last one
    let (c, _, e) = parcels(&wuxing_2019, "2020-06-30", Some("330502"));
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("already has a vintage of scope 330502 as of 2020-12-31"), "{e}");
    // a city scope containing the county is ordered with it too
    let (c, _, e) = parcels(&wuxing_2019, "2020-06-30", Some("3305"));
    assert_eq!(c, 2, "{e}");
    // an empty scope
    let (c, _, e) = parcels(&wuxing_2019, "2021-12-31", Some(""));
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("county code, the non-empty prefix"), "{e}");
    // a whole-layer vintage must follow every county's
    let (c, _, e) = parcels(&wuxing_2019, "2020-12-31", None);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("already has a vintage as of 2020-12-31"), "{e}");
    assert_eq!(sha256(&reg), before, "a refused import changed the registry");
    // and the next county vintage in order is taken, closing nothing of the other counties
    let others = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT count(*) FROM parcels WHERE valid_to IS NULL AND ZLDWDM NOT LIKE '330502%'", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let n_others = others(&sqlite(&reg));
    let (c, out, e) = parcels(&wuxing_2019, "2021-12-31", Some("330502"));
    assert_eq!(c, 0, "{e}");
    assert!(out.contains("parcels (scope 330502) as of 2021-12-31"), "{out}");
    assert_eq!(others(&sqlite(&reg)), n_others);
}

#[test]
fn a_read_in_boxes_is_the_envelope_filter_over_all_records() {
    use geo::BoundingRect;
    let p = province();
    let reg = nrledger::Registry::open(&p.reg, nrledger::catalog::Catalog::embedded().unwrap()).unwrap();
    let at = Some(chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap());
    let all = reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at)).unwrap();
    let b = extent(&all);
    let boxes: Vec<geo::Rect<f64>> = [(0.1, 0.1, 0.2), (0.45, 0.3, 0.1), (0.7, 0.6, 0.35), (0.0, 0.0, 1.0)]
        .into_iter()
        .map(|(fx, fy, w)| {
            geo::Rect::new(
                (b.min().x + fx * b.width(), b.min().y + fy * b.height()),
                (b.min().x + (fx + w) * b.width(), b.min().y + (fy + w) * b.height()),
            )
        })
        .collect();
    let filter = |bs: &[geo::Rect<f64>]| -> Vec<i64> {
        all.iter()
            .filter(|r| {
                r.record
                    .geometry
                    .bounding_rect()
                    .is_some_and(|e| bs.iter().any(|bx| geo::Intersects::intersects(&e, bx)))
            })
            .map(|r| r.fid)
            .collect()
    };
    for bx in &boxes {
        let want = filter(std::slice::from_ref(bx));
        let got: Vec<i64> = reg
            .read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(std::slice::from_ref(bx)))
            .unwrap()
            .iter()
            .map(|r| r.fid)
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "box {bx:?}");
    }
    // several boxes at once (NR501's read of the parcels under the red lines): each record
    // once, in fid order, whether the boxes overlap or not (the fids found are bound as one array and drive
    // the lookups); the last sets hold thousands of records
    for set in [&boxes[..1], &boxes[..3], &boxes[1..3], &boxes[..]] {
        let want = filter(set);
        let got: Vec<i64> = reg
            .read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(set))
            .unwrap()
            .iter()
            .map(|r| r.fid)
            .collect();
        assert_eq!(got, want, "boxes {set:?}");
    }
    assert!(
        filter(&boxes).len() > 2 * 1024,
        "{} records: the province is big enough for a read of thousands of fids",
        filter(&boxes).len()
    );
    // a red line's cover has hundreds of boxes, searched on several threads (one connection each), the
    // runs of boxes put together: each run counts, the first and the last too
    let cells = grid(b, 12);
    for set in [&cells[..], &cells[..70], &cells[1..]] {
        assert!(set.len() >= 64, "enough boxes to be searched on several threads");
        let got: Vec<i64> = reg
            .read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(set))
            .unwrap()
            .iter()
            .map(|r| r.fid)
            .collect();
        assert_eq!(got, filter(set), "{} boxes", set.len());
    }
    assert!(reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(&[])).unwrap().is_empty());
    // each record handed over as it is decoded: the same records, in fid order
    let then = reg
        .read_then(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(&boxes), &|r| {
            (r.fid, r.record.key.clone(), r.record.geometry.0.len())
        })
        .unwrap();
    let plain: Vec<(i64, String, usize)> = reg
        .read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(&boxes))
        .unwrap()
        .into_iter()
        .map(|r| (r.fid, r.record.key, r.record.geometry.0.len()))
        .collect();
    assert_eq!(then, plain);
    assert!(then.iter().all(|(_, _, parts)| *parts > 0), "geometry decoded before the record is handed over");
    // beyond what an earlier vintage's read holds: the closing records whose fid the opening read lacks
    let opening = Some(chrono::NaiveDate::from_ymd_opt(2019, 12, 31).unwrap());
    for set in [&boxes[..1], &boxes[..]] {
        let known: Vec<i64> = reg
            .read(&Read::layer(nrledger::LayerKind::Parcels).on(opening).in_boxes(set))
            .unwrap()
            .iter()
            .map(|r| r.fid)
            .collect();
        let want: Vec<i64> = filter(set).into_iter().filter(|f| !known.contains(f)).collect();
        let got = reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(set).beyond(&known)).unwrap();
        assert_eq!(got.iter().map(|r| r.fid).collect::<Vec<_>>(), want, "beyond the opening, boxes {set:?}");
        assert!(!want.is_empty() && want.len() < filter(set).len() / 2, "{} of {}", want.len(), filter(set).len());
        assert!(got.iter().all(|r| r.valid_from.as_str() > "2019-12-31"), "what the closing vintage adds");
    }
    // beyond on the whole layer (SQL leaves the known fids out), with and without classes
    let known: Vec<i64> =
        reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(opening)).unwrap().iter().map(|r| r.fid).collect();
    let got = reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at).beyond(&known)).unwrap();
    let want: Vec<i64> = all.iter().map(|r| r.fid).filter(|f| known.binary_search(f).is_err()).collect();
    assert_eq!(got.iter().map(|r| r.fid).collect::<Vec<_>>(), want);
    assert!(!want.is_empty() && want.len() < all.len());
    let farmland = ["01".to_string()];
    let class = nrledger::store::ClassPrefixes { field: "DLBM", prefixes: &farmland };
    let got = reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at).classes(Some(class)).beyond(&known)).unwrap();
    let dlbm = reg.catalog().layer(nrledger::LayerKind::Parcels).field_index("DLBM").unwrap();
    let want: Vec<i64> = all
        .iter()
        .filter(|r| known.binary_search(&r.fid).is_err() && r.record.value(dlbm).to_string().starts_with("01"))
        .map(|r| r.fid)
        .collect();
    assert_eq!(got.iter().map(|r| r.fid).collect::<Vec<_>>(), want);
    assert!(!want.is_empty());
    // by fid, any vintage: fids given backwards and repeated come back once each, in fid order, whole
    let every = reg.read(&Read::layer(nrledger::LayerKind::Parcels).every_version()).unwrap();
    assert!(every.iter().any(|r| r.valid_to.is_some()), "closed versions are among them");
    let pick: Vec<i64> =
        every.iter().rev().step_by(3).chain(every.iter().take(5)).map(|r| r.fid).chain([every[0].fid]).collect();
    let mut want: Vec<&nrledger::store::StoredRecord> = every.iter().filter(|r| pick.contains(&r.fid)).collect();
    want.sort_by_key(|r| r.fid);
    let got = reg.read(&Read::layer(nrledger::LayerKind::Parcels).every_version().fids(&pick)).unwrap();
    assert_eq!(got.iter().map(|r| r.fid).collect::<Vec<_>>(), want.iter().map(|r| r.fid).collect::<Vec<_>>());
    assert!(got.iter().zip(&want).all(|(a, b)| a.record.values == b.record.values
        && a.valid_to == b.valid_to
        && a.record.geometry == b.record.geometry));
    assert!(want.len() > 1000 && want.iter().any(|r| r.valid_to.is_some()), "{} records", want.len());
    assert!(reg.read(&Read::layer(nrledger::LayerKind::Parcels).every_version().fids(&[])).unwrap().is_empty());
    // each county's first vintage (1 200 parcels) packs the R-tree again with the counties already there
    // (store::rtree); the 2020 changes go in one by one. Either way: one sound entry per record version
    assert_eq!(rtree_check(&p.reg, "parcels"), "ok");
    assert_eq!(count(&p.reg, "SELECT count(*) FROM rtree_parcels_geom"), count(&p.reg, "SELECT count(*) FROM parcels"));
}

#[test]
fn a_read_of_some_fields_leaves_the_others_null_and_changes_nothing_else() {
    use nrledger::model::Value;
    let p = province();
    let reg = nrledger::Registry::open(&p.reg, nrledger::catalog::Catalog::embedded().unwrap()).unwrap();
    let def = reg.catalog().layer(nrledger::LayerKind::Parcels).clone();
    let at = Some(chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap());
    let all = reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at)).unwrap();
    let key = def.key_index();
    // the key is read whatever is asked; a name the layer does not have is ignored
    for names in [&["DLBM", "KCXS"][..], &[], &["DLBM", "不存在"]] {
        let some = reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at).fields(Fields::Only(names))).unwrap();
        let world = [geo::Rect::new((-1e9, -1e9), (1e9, 1e9))];
        let boxed = reg
            .read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(&world).fields(Fields::Only(names)))
            .unwrap();
        assert_eq!(some.len(), all.len());
        let mut filled = 0;
        for ((a, b), c) in all.iter().zip(&some).zip(&boxed) {
            assert_eq!(
                (a.fid, &a.record.key, &a.record.geometry, &a.valid_from, a.areas.ellipsoidal),
                (b.fid, &b.record.key, &b.record.geometry, &b.valid_from, b.areas.ellipsoidal)
            );
            assert_eq!(b.record.values, c.record.values);
            // the values keep the layer's field order and stop after the last field read
            let last = def
                .fields
                .iter()
                .enumerate()
                .filter(|(i, f)| *i == key || names.contains(&f.name.as_str()))
                .map(|(i, _)| i)
                .max()
                .unwrap();
            assert_eq!(b.record.values.len(), last + 1);
            for (i, f) in def.fields.iter().enumerate() {
                if i == key || names.contains(&f.name.as_str()) {
                    assert_eq!(b.record.value(i), a.record.value(i), "{} of {}", f.name, a.record.key);
                    filled += usize::from(!a.record.value(i).is_blank());
                } else {
                    assert_eq!(b.record.value(i), &Value::Null, "{} of {} was not asked for", f.name, a.record.key);
                }
            }
        }
        assert!(filled >= all.len(), "the fields asked for hold values");
    }
    let every = reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at)).unwrap();
    assert!(all.iter().zip(&every).all(|(a, b)| a.record.values == b.record.values));
}

#[test]
fn a_read_of_some_classes_is_exactly_the_filter_of_all_records_by_class_prefix() {
    // through the index on DLBM (the embedded catalog indexes it) and, with a catalog that does not, by
    // stepping through the rows
    let p = province();
    let dir = tempfile::tempdir().unwrap();
    let kinds = dir.path().join("kinds");
    std::fs::create_dir(&kinds).unwrap();
    let toml =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("layers/kinds/parcels.toml")).unwrap();
    assert!(toml.contains("indexed = true"));
    std::fs::write(kinds.join("parcels.toml"), toml.replace("indexed = true", "")).unwrap();
    let unindexed = nrledger::catalog::Catalog::with_overrides(dir.path()).unwrap();
    assert!(unindexed.layer(nrledger::LayerKind::Parcels).indexed_fields().next().is_none());
    for catalog in [nrledger::catalog::Catalog::embedded().unwrap(), unindexed] {
        let reg = nrledger::Registry::open(&p.reg, catalog).unwrap();
        classes_read_as_filtered(&reg);
    }
}

/// The box around the records' geometries.
fn extent(records: &[nrledger::store::StoredRecord]) -> geo::Rect<f64> {
    use geo::BoundingRect;
    let b = records.iter().filter_map(|r| r.record.geometry.bounding_rect()).reduce(|a, b| {
        geo::Rect::new(
            (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
            (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
        )
    });
    b.expect("records with geometry")
}

/// An n × n grid of boxes over the middle of `b`, each a little larger than its cell (neighbours overlap).
fn grid(b: geo::Rect<f64>, n: usize) -> Vec<geo::Rect<f64>> {
    let (w, h) = (0.8 * b.width() / n as f64, 0.8 * b.height() / n as f64);
    let (x0, y0) = (b.min().x + 0.1 * b.width(), b.min().y + 0.1 * b.height());
    (0..n * n)
        .map(|i| {
            let (x, y) = (x0 + (i % n) as f64 * w, y0 + (i / n) as f64 * h);
            geo::Rect::new((x - 0.05 * w, y - 0.05 * h), (x + 1.05 * w, y + 1.05 * h))
        })
        .collect()
}

fn classes_read_as_filtered(reg: &nrledger::Registry) {
    use nrledger::store::ClassPrefixes;
    let def = reg.catalog().layer(nrledger::LayerKind::Parcels).clone();
    let ci = def.field_index("DLBM").unwrap();
    let at = Some(chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap());
    let all = reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at)).unwrap();
    let whole = geo::Rect::new((-1e9, -1e9), (1e9, 1e9));
    let cells = grid(extent(&all), 12);
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    // prefixes of several lengths, one that is a whole code, one no code has, a quote that must stay a literal,
    // the red-line table's prohibited classes, and none at all
    let sets = [
        p(&["01", "0603", "1202"]),
        p(&["03"]),
        p(&["0101", "07"]),
        p(&["99", "0'1"]),
        // a prefix whose range ends past the last ASCII character, and one no range can end (the last
        // character there is): read by stepping through the rows
        p(&["0\u{7f}", "03"]),
        p(&["01", "\u{10ffff}"]),
        // prefixes under others listed (0508 under 05, 1104A under 1104) and prefixes whose ranges meet
        // (05, 06, 07 and 0101, 0102): read as fewer, disjoint ranges, each record once
        p(&["07", "05", "0508", "06", "1104A", "1104", "0102", "0101"]),
        nrledger::checks::RuleConfig::load(None).unwrap().redline.prohibited_prefixes(),
        vec![],
    ];
    let mut kept_some = 0;
    for prefixes in &sets {
        let want: Vec<i64> = all
            .iter()
            .filter(|r| prefixes.iter().any(|x| r.record.value(ci).to_string().starts_with(x.as_str())))
            .map(|r| r.fid)
            .collect();
        let class = ClassPrefixes { field: "DLBM", prefixes };
        let classes = Some(class);
        // the index answers alone when the catalog indexes DLBM and every prefix has a range; it gives way
        // to stepping through the rows when the classes hold more records than the limit
        let rangeable = prefixes.iter().all(|x| !x.ends_with('\u{10ffff}'));
        let indexed = reg.catalog().layer(nrledger::LayerKind::Parcels).indexed_fields().any(|f| f == "DLBM");
        let from_index = reg.class_fids(nrledger::LayerKind::Parcels, at, class, None).unwrap();
        assert_eq!(from_index.as_ref(), (indexed && rangeable).then_some(&want), "{prefixes:?}");
        if indexed && rangeable && !want.is_empty() {
            let over = reg.class_fids(nrledger::LayerKind::Parcels, at, class, Some(want.len() - 1)).unwrap();
            assert_eq!(over, None, "{prefixes:?}: more records than the limit");
            let within = reg.class_fids(nrledger::LayerKind::Parcels, at, class, Some(want.len())).unwrap();
            assert_eq!(within.as_ref(), Some(&want), "{prefixes:?}: as many as the limit");
        }
        let got = reg
            .read(&Read::layer(nrledger::LayerKind::Parcels).on(at).fields(Fields::Only(&["DLBM"])).classes(classes))
            .unwrap();
        assert_eq!(got.iter().map(|r| r.fid).collect::<Vec<_>>(), want, "{prefixes:?}");
        let boxed =
            reg.read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(&[whole]).classes(classes)).unwrap();
        assert_eq!(boxed.iter().map(|r| r.fid).collect::<Vec<_>>(), want, "{prefixes:?} in a box");
        assert!(got
            .iter()
            .zip(&boxed)
            .all(|(a, b)| a.record.geometry == b.record.geometry && a.record.value(ci) == b.record.value(ci)));
        // through many boxes (the R-tree searched on several threads while another reads the class index)
        // and through one small box, where the classes outnumber the box's records and the class read
        // gives up: the records of the classes among those the boxes find, either way
        for set in [&cells[..], &cells[77..78]] {
            let near: Vec<i64> = reg
                .read(&Read::layer(nrledger::LayerKind::Parcels).on(at).in_boxes(set))
                .unwrap()
                .iter()
                .map(|r| r.fid)
                .collect();
            let want_near: Vec<i64> = want.iter().copied().filter(|f| near.binary_search(f).is_ok()).collect();
            let got = reg
                .read(
                    &Read::layer(nrledger::LayerKind::Parcels)
                        .on(at)
                        .in_boxes(set)
                        .fields(Fields::Only(&["DLBM"]))
                        .classes(classes),
                )
                .unwrap();
            assert_eq!(got.iter().map(|r| r.fid).collect::<Vec<_>>(), want_near, "{prefixes:?} in {} boxes", set.len());
        }
        kept_some += usize::from(!want.is_empty() && want.len() < all.len());
    }
    assert!(kept_some >= 4, "the prefixes keep some records and leave others out");
}

/// Record findings of a report: (rule, fids) → area.
fn by_records(r: &Json) -> BTreeMap<(String, Vec<i64>), f64> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["fids"].as_array().unwrap().is_empty())
        .map(|f| {
            let fids = f["fids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
            ((f["rule"].as_str().unwrap().to_string(), fids), f["area_m2"].as_f64().unwrap())
        })
        .collect()
}

#[test]
fn check_by_county_finds_what_one_whole_check_finds() {
    let p = province();
    let (_, whole, _) = json(&["check", s(&p.reg), "--format", "json"]);
    let (_, streamed, err) = json(&["check", s(&p.reg), "--by-county", "--format", "json"]);
    // one progress line per county
    for (code, name) in COUNTIES {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("county {code} {name}: ")) && l.contains("record(s) in the window")),
            "{err}"
        );
    }
    let counties: Vec<&str> =
        streamed["counties"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(counties, COUNTIES.iter().map(|c| c.0).collect::<Vec<_>>());
    // every finding once
    let keys: Vec<(String, Vec<i64>)> = by_records(&streamed).into_keys().collect();
    let n =
        streamed["findings"].as_array().unwrap().iter().filter(|f| !f["fids"].as_array().unwrap().is_empty()).count();
    assert_eq!(keys.len(), n, "a finding reported twice");
    // the same record findings with the same areas
    let (w, st) = (by_records(&whole), by_records(&streamed));
    assert_eq!(w.keys().collect::<Vec<_>>(), st.keys().collect::<Vec<_>>());
    for (k, a) in &w {
        assert!((a - st[k]).abs() <= 1e-6 * a.max(1.0), "{k:?}: {a} vs {}", st[k]);
    }
    // NR501 alone, streamed: its windows and rings read only the parcels of a class a red line prohibits
    // (Check::classes), and it finds what the whole check's NR501 finds
    let (_, redline, _) = json(&["check", s(&p.reg), "--by-county", "--only", "NR501", "--format", "json"]);
    let nr501 = |m: &BTreeMap<(String, Vec<i64>), f64>| -> Vec<(Vec<i64>, f64)> {
        m.iter().filter(|(k, _)| k.0 == "NR501").map(|(k, a)| (k.1.clone(), *a)).collect()
    };
    let (alone, all) = (nr501(&by_records(&redline)), nr501(&w));
    assert!(!all.is_empty(), "the fixture has red-line violations");
    assert_eq!(alone.iter().map(|x| &x.0).collect::<Vec<_>>(), all.iter().map(|x| &x.0).collect::<Vec<_>>());
    assert!(alone.iter().zip(&all).all(|(a, b)| (a.1 - b.1).abs() <= 1e-6 * b.1.max(1.0)), "{alone:?} vs {all:?}");
    // cross-border overlaps are among them (parcels of two counties)
    let cross = whole["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "NR101")
        .filter(|f| {
            let ids: BTreeSet<&str> = f["ids"].as_array().unwrap().iter().map(|i| &i.as_str().unwrap()[..6]).collect();
            ids.len() == 2
        })
        .count();
    assert!(cross > 0, "the fixture has no cross-border overlap to test");
    // gaps: the same total, cut at county borders
    let gaps = |r: &Json| -> f64 {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "NR103")
            .map(|f| f["area_m2"].as_f64().unwrap())
            .sum()
    };
    let (gw, gs) = (gaps(&whole), gaps(&streamed));
    assert!(gw > 1e5 && (gw - gs).abs() <= 1e-6 * gw + 5.0, "gaps {gw} vs {gs}");
    // the windows' rings leave out what another county of the run holds whole: a neighbour's red line or
    // parcel crossing the border no longer brings that neighbour's records under it (the answers above are
    // unchanged). Without that, a window is the one `check --region` loads (no other county to lean on).
    let reg = nrledger::Registry::open(&p.reg, nrledger::catalog::Catalog::embedded().unwrap()).unwrap();
    let config = nrledger::checks::RuleConfig::load(None).unwrap();
    let needs = nrledger::checks::layers_needed(&[], &config).unwrap();
    let mut smaller = 0;
    for (line, nrledger::region::County { code, outline, .. }) in
        streamed["counties"].as_array().unwrap().iter().zip(nrledger::region::counties(&reg, None, None).unwrap())
    {
        assert_eq!(line["code"], code.as_str());
        let alone = nrledger::checks::Context::load_window(
            &reg,
            None,
            Some((code.clone(), outline)),
            config.clone(),
            Default::default(),
            &needs,
            None,
        )
        .unwrap()
        .record_count();
        let streamed = line["records"].as_u64().unwrap() as usize;
        assert!(streamed <= alone, "{code}: {streamed} records streamed, {alone} alone");
        smaller += usize::from(streamed < alone);
    }
    assert!(
        smaller > 0,
        "no county window was smaller than its region window: the fixture no longer tests the ring's settling"
    );
    // one county only, under a prefix
    let (_, one, err) = json(&["check", s(&p.reg), "--by-county", "--region", "330503", "--format", "json"]);
    assert_eq!(one["counties"].as_array().unwrap().len(), 1, "{err}");
    let (unknown, _, e) = run(&["check", s(&p.reg), "--by-county", "--region", "4401"]);
    assert_eq!(unknown, 2);
    assert!(e.contains("no county outline") && e.contains("330521"), "{e}");
}

#[test]
fn duplicate_keys_across_counties_are_found_by_the_streamed_check() {
    let p = province();
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("copy.gpkg");
    std::fs::copy(&p.reg, &reg).unwrap();
    // 南浔区's next delivery reuses a 吴兴区 parcel's BSM (a copy of the source; its triggers go, the
    // geometry is untouched)
    let src = dir.path().join("330503-2021.gpkg");
    std::fs::copy(p.root.join("330503/2020-12-31.gpkg"), &src).unwrap();
    let wuxing_bsm: String = sqlite(&reg)
        .query_row("SELECT BSM FROM parcels WHERE ZLDWDM LIKE '330502%' AND valid_to IS NULL LIMIT 1", [], |r| r.get(0))
        .unwrap();
    {
        let db = sqlite(&src);
        let triggers: Vec<String> = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for t in triggers {
            db.execute_batch(&format!("DROP TRIGGER \"{t}\"")).unwrap();
        }
        db.execute("UPDATE DLTB SET BSM = ?1 WHERE fid = (SELECT min(fid) FROM DLTB)", [&wuxing_bsm]).unwrap();
    }
    let (c, _, e) = run(&[
        "import",
        s(&reg),
        s(&src),
        "--layer",
        "parcels",
        "--profile",
        "sandiao-dltb",
        "--as-of",
        "2021-12-31",
        "--scope",
        "330503",
    ]);
    assert_eq!(c, 0, "{e}");
    let dup = |args: &[&str]| -> Vec<Vec<i64>> {
        let mut a = vec!["check", s(&reg), "--only", "NR202", "--format", "json"];
        a.extend_from_slice(args);
        let (_, r, _) = json(&a);
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect())
            .collect()
    };
    let whole = dup(&[]);
    assert_eq!(whole.len(), 1, "{whole:?}");
    assert_eq!(dup(&["--by-county"]), whole);
}

#[test]
fn the_province_sheet_is_the_sum_of_its_county_sheets() {
    let p = province();
    let sheet = |region: Option<&str>| {
        let mut a = vec!["balance", s(&p.reg), "--from", DATES[0], "--to", DATES[1], "--format", "json"];
        if let Some(r) = region {
            a.extend(["--region", r]);
        }
        let (c, j, e) = json(&a);
        assert_eq!(c, 0, "{e}");
        j
    };
    let mut sum: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (code, _) in COUNTIES {
        for (k, v) in cells(&sheet(Some(code))["land_level2"]) {
            *sum.entry(k).or_default() += v;
        }
    }
    for whole in [sheet(None), sheet(Some("3305"))] {
        let m = cells(&whole["land_level2"]);
        let keys: BTreeSet<_> = m.keys().chain(sum.keys()).collect();
        assert!(keys.len() > 10);
        for k in keys {
            let (a, b) = (m.get(k).copied().unwrap_or(0), sum.get(k).copied().unwrap_or(0));
            // each county's sheet rounds to whole m²
            assert!((a - b).abs() <= COUNTIES.len() as i64, "{k:?}: province {a} vs Σ counties {b}");
        }
    }
}

/// A registry made before county vintages existed (no `nr_scoped_vintages`) gets the table, append-only and
/// registered in `gpkg_contents`, when it is opened, and then takes a county's delivery.
#[test]
fn an_older_registry_gets_the_county_vintage_table() {
    let p = province();
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    {
        let db = sqlite(&reg);
        db.execute_batch(
            "DROP TRIGGER nr_scoped_vintages_no_delete; DROP TRIGGER nr_scoped_vintages_no_update; DROP TABLE nr_scoped_vintages;
             DELETE FROM gpkg_contents WHERE table_name = 'nr_scoped_vintages';",
        )
        .unwrap();
    }
    let file = p.root.join("330503/2019-12-31.gpkg");
    let (c, out, e) = run(&[
        "import",
        s(&reg),
        s(&file),
        "--layer",
        "parcels",
        "--profile",
        "sandiao-dltb",
        "--as-of",
        "2019-12-31",
        "--scope",
        "330503",
    ]);
    assert_eq!(c, 0, "{e}");
    assert!(out.contains("(scope 330503)"), "{out}");
    let db = sqlite(&reg);
    assert_eq!(
        db.query_row("SELECT count(*) FROM nr_scoped_vintages WHERE scope = '330503'", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        1
    );
    assert_eq!(
        db.query_row("SELECT count(*) FROM gpkg_contents WHERE table_name = 'nr_scoped_vintages'", [], |r| r
            .get::<_, i64>(0))
            .unwrap(),
        1
    );
    let err = db.execute("DELETE FROM nr_scoped_vintages", []).unwrap_err().to_string();
    assert!(err.contains("append-only"), "{err}");
}

/// Every number of two JSON documents within `tol(a)` of each other and every other value equal, outside the
/// paths `skip`; the first difference is returned with its path.
fn json_close(a: &Json, b: &Json, path: &str, skip: &[&str], tol: &dyn Fn(f64) -> f64) -> Result<(), String> {
    if skip.contains(&path) {
        return Ok(());
    }
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= tol(x.abs().max(y.abs())) {
                Ok(())
            } else {
                Err(format!("{path}: {x} vs {y}"))
            }
        }
        (Json::Array(x), Json::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("{path}: {} vs {} items", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().try_for_each(|(i, (x, y))| json_close(x, y, &format!("{path}[{i}]"), skip, tol))
        }
        (Json::Object(x), Json::Object(y)) => {
            if x.keys().ne(y.keys()) {
                return Err(format!(
                    "{path}: keys {:?} vs {:?}",
                    x.keys().collect::<Vec<_>>(),
                    y.keys().collect::<Vec<_>>()
                ));
            }
            x.iter().try_for_each(|(k, v)| json_close(v, &y[k], &format!("{path}.{k}"), skip, tol))
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} vs {b}")),
    }
}

#[test]
fn balance_by_county_gives_the_whole_regions_sheet() {
    let p = province();
    let sheet = |extra: &[&str]| {
        let mut a = vec![
            "balance",
            s(&p.reg),
            "--from",
            DATES[0],
            "--to",
            DATES[1],
            "--level",
            "2",
            "--unit",
            "m2",
            "--format",
            "json",
        ];
        a.extend_from_slice(extra);
        let (c, j, e) = json(&a);
        assert_eq!(c, 0, "{e}");
        (j, e)
    };
    for region in [None, Some("3305")] {
        let r: Vec<&str> = region.map(|r| vec!["--region", r]).unwrap_or_default();
        let (whole, _) = sheet(&r);
        let (streamed, err) = sheet(&[r.as_slice(), &["--by-county"]].concat());
        // one progress line per county, in code order
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("county ")).collect();
        assert_eq!(lines.len(), COUNTIES.len(), "{err}");
        for ((code, name), l) in COUNTIES.iter().zip(&lines) {
            assert!(l.starts_with(&format!("county {code} {name}: ")), "{l}");
        }
        assert_eq!(streamed["provenance"]["region"], whole["provenance"]["region"]);
        // the pieces are cut at county borders (more of them), and a note's figures may differ in the
        // last digit; every other number agrees within 2 (m² for the areas) or 1e-9 relative, whichever is
        // larger: each sheet rounds to whole m² once, and the county outlines add up to the union's area
        // within floating-point noise (0.6 m² of 5.8 × 10⁹ at 1 000 000 parcels)
        let skip = ["$.provenance.counts", "$.notes"];
        json_close(&streamed, &whole, "$", &skip, &|x| (1e-9 * x).max(2.0)).unwrap();
        let a = |j: &Json| j["provenance"]["region_area_m2"].as_f64().unwrap();
        assert!((a(&streamed) - a(&whole)).abs() < 1e-6 * a(&whole), "{} vs {}", a(&streamed), a(&whole));
        // the sheet is not empty: land changed class, red lines and farmland have ground
        assert!(streamed["land_level2"]["classes"].as_array().unwrap().len() > 10);
        assert!(streamed["liabilities"]["figures"]["zone_areas_m2"][0]["closing_m2"].as_f64().unwrap() > 0.0);
        assert!(streamed["forest_volume"]["stands"]["closing"].as_u64().unwrap() > 0);
    }
    // a region with no county under it is refused
    let (c, _, e) =
        run(&["balance", s(&p.reg), "--from", DATES[0], "--to", DATES[1], "--region", "3306", "--by-county"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("--by-county: no county") && e.contains("3306"), "{e}");
}
