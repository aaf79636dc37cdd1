//! `nrledger balance`: a hand-made county with a known transition matrix (a class change, a split, a merge,
//! a 田坎 deduction, a gap and an overlap), the demo county against an independent overlay (GEOS through
//! GDAL, GeographicLib areas), the published identities, every output format, the trace layer, and bad
//! input.

use crate::common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{Geometry, LayerAccess};
use geographiclib_rs::{Geodesic, PolygonArea, Winding};

fn demo_registry(dir: &Path) -> PathBuf {
    demo_registry_with(
        dir,
        &[("parcels", "sandiao-dltb"), ("redlines", "stbhhx"), ("farmland", "yjjbnt"), ("forest", "forest-xb")],
    )
}

fn balance_json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["balance"];
    a.extend_from_slice(args);
    a.extend(["--format", "json"]);
    let (c, out, err) = run(&a);
    assert_eq!(c, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The published identities, in integer square metres: row sums are openings, column sums closings,
/// opening + increases − decreases = closing, and the tables agree with the matrix.
fn assert_identities(sheet: &serde_json::Value, acc_key: &str, table_id: &str) {
    let acc = &sheet[acc_key];
    let m: Vec<Vec<i64>> = acc["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect())
        .collect();
    let n = m.len();
    let table = sheet["tables"].as_array().unwrap().iter().find(|t| t["id"] == table_id).unwrap();
    let rows = table["rows"].as_array().unwrap();
    let unit = table["columns"][0]["unit"].as_str().unwrap();
    let scale = match unit {
        "公顷" => 1e-4,
        "亩" => 15e-4,
        _ => 1.0,
    };
    let codes: Vec<&str> = acc["classes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    let mut total = 0;
    for i in 0..n {
        let open: i64 = m[i].iter().sum();
        let close: i64 = (0..n).map(|k| m[k][i]).sum();
        let inc = close - m[i][i];
        let dec = open - m[i][i];
        assert_eq!(open + inc - dec, close);
        total += open;
        let Some(row) = rows.iter().find(|r| r["code"] == codes[i]) else { continue };
        let v: Vec<f64> = row["values"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        for (k, want) in [open, inc, dec, close, close - open].iter().enumerate() {
            assert!(
                (v[k] - *want as f64 * scale).abs() < 1e-9,
                "{table_id} row {} column {k}: {} vs {}",
                codes[i],
                v[k],
                *want as f64 * scale
            );
        }
    }
    // the total row is the sum of the rows above it
    let last = rows.last().unwrap();
    assert_eq!(last["code"], "");
    for k in 0..5 {
        let sum: f64 = rows[..rows.len() - 1].iter().map(|r| r["values"][k].as_f64().unwrap()).sum();
        assert!((sum - last["values"][k].as_f64().unwrap()).abs() < 1e-6, "{table_id} total column {k}");
    }
    let closing_total: i64 = (0..n).map(|j| (0..n).map(|k| m[k][j]).sum::<i64>()).sum();
    assert_eq!(total, closing_total);
    // and the grand total is the region's area (rounding of each cell to whole m² aside)
    let region = sheet["provenance"]["region_area_m2"].as_f64().unwrap();
    assert!((total as f64 - region).abs() <= 1e-6 * region + n as f64 * n as f64, "total {total} vs region {region}");
}

/// Geodesic area (GeographicLib) of a GEOS geometry in EPSG:4549, after densifying to 1 m.
pub fn geodesic_area(g: &Geometry, to_ll: &CoordTransform) -> f64 {
    let d = g.clone();
    unsafe { gdal_sys::OGR_G_Segmentize(d.c_geometry(), 1.0) };
    let ll = d.transform(to_ll).unwrap();
    let geod = Geodesic::new(6_378_137.0, 1.0 / 298.257_222_101);
    let mut total = 0.0;
    fn polygons(g: &Geometry, out: &mut Vec<Geometry>) {
        use gdal::vector::OGRwkbGeometryType as T;
        match g.geometry_type() {
            T::wkbPolygon => out.push(g.clone()),
            T::wkbMultiPolygon | T::wkbGeometryCollection => {
                (0..g.geometry_count()).for_each(|i| polygons(&g.get_geometry(i).clone(), out))
            }
            _ => {}
        }
    }
    let mut polys = Vec::new();
    polygons(&ll, &mut polys);
    for p in polys {
        for k in 0..p.geometry_count() {
            let ring = p.get_geometry(k);
            let mut pts = Vec::new();
            ring.get_points(&mut pts);
            let mut pa = PolygonArea::new(&geod, Winding::CounterClockwise);
            for (lon, lat, _) in &pts[..pts.len() - 1] {
                pa.add_point(*lat, *lon);
            }
            let (_, a, _) = pa.compute(true);
            total += if k == 0 { a.abs() } else { -a.abs() };
        }
    }
    total
}

pub fn to_lonlat() -> CoordTransform {
    let mut src = SpatialRef::from_epsg(4549).unwrap();
    let mut dst = SpatialRef::from_epsg(4490).unwrap();
    src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    CoordTransform::new(&src, &dst).unwrap()
}

pub fn rect_geom(x0: f64, x1: f64, y0: f64, y1: f64) -> Geometry {
    let (x, y) = (500_000.0, 3_300_000.0);
    Geometry::from_wkt(&format!(
        "POLYGON(({a} {b},{c} {b},{c} {e},{a} {e},{a} {b}))",
        a = x + x0,
        b = y + y0,
        c = x + x1,
        e = y + y1
    ))
    .unwrap()
}

/// A later parcel that overlaps an unchanged one by only 0.5 m² (a sliver a 2 000 000-parcel county showed): the
/// sheet resolves it like any overlap — the earlier parcel keeps the ground — instead of counting it twice and
/// refusing its own identities.
#[test]
fn a_half_square_metre_overlap_is_resolved_not_counted_twice() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let write = |name: &str, text: String| write_file(d.path(), name, text);
    let admin =
        write("a.geojson", collection(&[r#"{"XZQDM":"330523","XZQMC":"测试县"}"#], &[rect(0.0, 200.0, 0.0, 100.0)]));
    let y19 = write(
        "p19.geojson",
        collection(
            &[r#"{"BSM":"P","DLBM":"0101"}"#, r#"{"BSM":"Q","DLBM":"0301"}"#],
            &[rect(0.0, 100.0, 0.0, 100.0), rect(100.0, 200.0, 0.0, 100.0)],
        ),
    );
    // Q2 reaches 5 mm into P along its 100 m edge: 0.5 m²
    let y20 = write(
        "p20.geojson",
        collection(
            &[r#"{"BSM":"P","DLBM":"0101"}"#, r#"{"BSM":"Q2","DLBM":"1202"}"#],
            &[rect(0.0, 100.0, 0.0, 100.0), rect(99.995, 200.0, 0.0, 100.0)],
        ),
    );
    for (date, parcels) in [("2019-12-31", &y19), ("2020-12-31", &y20)] {
        for (layer, file) in [("admin", &admin), ("parcels", parcels)] {
            let (c, _, e) = run(&["import", s(&reg), s(file), "--layer", layer, "--as-of", date]);
            assert_eq!(c, 0, "{layer} {date}: {e}");
        }
    }
    let sheet = balance_json(&[s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--level", "2", "--unit", "m2"]);
    let resolved = &sheet["provenance"]["overlaps_resolved"][1]["overlaps"];
    assert_eq!(resolved.as_array().unwrap().len(), 1, "{resolved}");
    assert_eq!(resolved[0]["kept_by"], "P");
    assert!((resolved[0]["area_m2"].as_f64().unwrap() - 0.5).abs() < 0.01, "{resolved}");
    let ll = to_lonlat();
    let area = |x0, x1| geodesic_area(&rect_geom(x0, x1, 0.0, 100.0), &ll);
    let got = cells(&sheet["land_level2"]);
    assert!((got[&("0101".to_string(), "0101".to_string())] as f64 - area(0.0, 100.0)).abs() <= 1.0, "{got:?}");
    assert!((got[&("0301".to_string(), "1202".to_string())] as f64 - area(100.0, 200.0)).abs() <= 1.0, "{got:?}");
}

/// A 300 m × 100 m county of three 100 m parcels: A 水田 (10 % 田坎), B 乔木林地, C 农村宅基地. A year later A
/// is split (west half still 水田, [50, 90] built over as 城镇住宅用地), a later-registered 设施农用地 parcel
/// [85, 95] overlaps the new housing by 5 m, [95, 100] is covered by nothing, and B and C are merged into one
/// 农村宅基地 parcel. Every cell of the matrix is a known rectangle; its area is computed independently.
#[test]
fn hand_made_county_has_the_known_transition_matrix() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let write = |name: &str, text: String| write_file(d.path(), name, text);
    let admin =
        write("a.geojson", collection(&[r#"{"XZQDM":"330523","XZQMC":"测试县"}"#], &[rect(0.0, 300.0, 0.0, 100.0)]));
    let y19 = write(
        "p19.geojson",
        collection(
            &[
                r#"{"BSM":"A","DLBM":"0101","TBMJ":10000,"KCMJ":1000}"#,
                r#"{"BSM":"B","DLBM":"0301"}"#,
                r#"{"BSM":"C","DLBM":"0702"}"#,
            ],
            &[rect(0.0, 100.0, 0.0, 100.0), rect(100.0, 200.0, 0.0, 100.0), rect(200.0, 300.0, 0.0, 100.0)],
        ),
    );
    let y20 = write(
        "p20.geojson",
        collection(
            &[
                r#"{"BSM":"A1","DLBM":"0101"}"#,
                r#"{"BSM":"A2","DLBM":"0701"}"#,
                r#"{"BSM":"BC","DLBM":"0702"}"#,
                r#"{"BSM":"X","DLBM":"1202"}"#,
            ],
            &[
                rect(0.0, 50.0, 0.0, 100.0),
                rect(50.0, 90.0, 0.0, 100.0),
                rect(100.0, 300.0, 0.0, 100.0),
                rect(85.0, 95.0, 0.0, 100.0),
            ],
        ),
    );
    let red =
        write("r.geojson", collection(&[r#"{"HXBH":"HX1","GKFQ":"一般控制区"}"#], &[rect(0.0, 150.0, 0.0, 100.0)]));
    for (date, parcels) in [("2019-12-31", &y19), ("2020-12-31", &y20)] {
        for (layer, file) in [("admin", &admin), ("parcels", parcels), ("redlines", &red)] {
            let (c, _, e) = run(&["import", s(&reg), s(file), "--layer", layer, "--as-of", date]);
            assert_eq!(c, 0, "{layer} {date}: {e}");
        }
    }
    let sheet = balance_json(&[s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--level", "2"]);
    let ll = to_lonlat();
    let area = |x0, x1| geodesic_area(&rect_geom(x0, x1, 0.0, 100.0), &ll);
    let expected: BTreeMap<(String, String), f64> = [
        (("0101", "0101"), 0.9 * area(0.0, 50.0)),
        (("1203", "0101"), 0.1 * area(0.0, 50.0)),
        (("0101", "0701"), 0.9 * area(50.0, 90.0)),
        (("1203", "0701"), 0.1 * area(50.0, 90.0)),
        (("0101", "1202"), 0.9 * area(90.0, 95.0)),
        (("1203", "1202"), 0.1 * area(90.0, 95.0)),
        (("0101", "未覆盖"), 0.9 * area(95.0, 100.0)),
        (("1203", "未覆盖"), 0.1 * area(95.0, 100.0)),
        (("0301", "0702"), area(100.0, 200.0)),
        (("0702", "0702"), area(200.0, 300.0)),
    ]
    .into_iter()
    .map(|((a, b), v)| ((a.to_string(), b.to_string()), v))
    .collect();
    let got = cells(&sheet["land_level2"]);
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{got:?}");
    for (k, want) in &expected {
        assert!((got[k] as f64 - want).abs() <= 0.5 + 1e-6 * want, "{k:?}: {} vs {want}", got[k]);
    }
    assert_identities(&sheet, "land_level2", "forest_area");
    // the overlap is counted once and said so; the gap is shown as 未覆盖
    let notes = sheet["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n.as_str().unwrap().contains("counted once") && n.as_str().unwrap().contains("A2 over X")),
        "{notes:?}"
    );
    let overlaps = &sheet["provenance"]["overlaps_resolved"][1]["overlaps"];
    assert_eq!(overlaps[0]["kept_by"], "A2");
    assert!((overlaps[0]["area_m2"].as_f64().unwrap() - area(85.0, 90.0)).abs() < 0.01);
    // level 1 adds up the same cells: 01 → 07 is 0101→0701 and 1203→0701 (12 其他土地)
    let l1 = balance_json(&[s(&reg), "--from", "2019-12-31", "--to", "2020-12-31"]);
    let c1 = cells(&l1["land"]);
    assert_eq!(c1[&("01".to_string(), "07".to_string())], got[&("0101".to_string(), "0701".to_string())]);
    assert_eq!(c1[&("12".to_string(), "07".to_string())], got[&("1203".to_string(), "0701".to_string())]);
    assert_eq!(c1[&("03".to_string(), "07".to_string())], got[&("0301".to_string(), "0702".to_string())]);
    assert_identities(&l1, "land", "land");
    // red line [0, 150]: 城镇住宅用地 is prohibited in an 一般控制区, 农村宅基地 is on the positive list
    let li = &l1["liabilities"]["items"][0];
    assert_eq!(li["item"], "redline-encroachment");
    assert!((li["actual"].as_f64().unwrap() - area(50.0, 90.0) / 1e4).abs() < 1e-6, "{li}");
    assert_eq!(li["opening"].as_f64().unwrap(), 0.0);
    // of which inside the red line at the closing date: 07 is [50, 90] and [100, 150]
    let of = &l1["of_which"][0];
    assert_eq!(of["zone"], "生态保护红线");
    let row07 = of["rows"].as_array().unwrap().iter().find(|r| r["class"]["code"] == "07").unwrap();
    assert!((row07["closing_m2"].as_f64().unwrap() - area(50.0, 90.0) - area(100.0, 150.0)).abs() < 0.01, "{row07}");
    // refusing overlaps instead
    let (c, _, e) = run(&["balance", s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--overlaps", "error"]);
    assert_eq!(c, 2);
    assert!(e.contains("overlap") && e.contains("A2") && e.contains("X"), "{e}");
}

/// One vintage of the demo registry through GDAL/GEOS: (fid, class, 田坎 share, geometry), with overlaps
/// removed from the later parcel as the sheet does.
fn geos_vintage(ds: &gdal::Dataset, date: &str) -> Vec<(i64, String, f64, Geometry)> {
    let sql = format!("SELECT fid, DLBM, TBMJ, KCMJ, KCXS, geom FROM parcels WHERE valid_from <= '{date}' AND (valid_to IS NULL OR valid_to > '{date}') ORDER BY fid");
    let mut rs = ds.execute_sql(sql, None, gdal::vector::sql::Dialect::DEFAULT).unwrap().unwrap();
    let mut out: Vec<(i64, String, f64, Geometry)> = Vec::new();
    for f in rs.features() {
        let num = |n: &str| f.field_as_double(f.field_index(n).unwrap()).ok().flatten();
        let k = match (num("KCMJ"), num("TBMJ"), num("KCXS")) {
            (Some(k), Some(t), _) if t > 0.0 => k / t,
            (_, _, Some(x)) => x,
            _ => 0.0,
        };
        out.push((
            f.fid().unwrap() as i64,
            f.field_as_string(f.field_index("DLBM").unwrap()).unwrap().unwrap(),
            k,
            f.geometry().unwrap().clone(),
        ));
    }
    // the earlier parcel keeps an overlap (≥ 1 m²)
    for j in 0..out.len() {
        for i in 0..j {
            let (a, b) = (out[i].3.envelope(), out[j].3.envelope());
            if a.MaxX < b.MinX || b.MaxX < a.MinX || a.MaxY < b.MinY || b.MaxY < a.MinY {
                continue;
            }
            let inter = out[i].3.intersection(&out[j].3).unwrap();
            if inter.area() >= 1.0 {
                out[j].3 = out[j].3.difference(&out[i].3).unwrap();
            }
        }
    }
    out.retain(|p| p.3.area() > 0.0);
    out
}

/// The demo county (3 200 parcels a year, class changes, splits, merges, an overlap and a gap): the
/// second-level transition matrix agrees cell by cell with an independent overlay — GEOS intersections,
/// GEOS union for the gap, GeographicLib areas — within 1e-6 relative (plus the rounding to whole m²).
#[test]
fn demo_matrix_agrees_with_an_independent_overlay() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let sheet =
        balance_json(&[s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--region", "330523", "--level", "2"]);
    let ds = gdal::Dataset::open(&reg).unwrap();
    let a = geos_vintage(&ds, "2019-12-31");
    let mut b = geos_vintage(&ds, "2020-12-31");
    // the gap: the county outline minus the union of the 2020 parcels, pieces of 1 m² and more
    let mut outline_layer = ds.layer_by_name("admin_current").unwrap();
    let outline = outline_layer
        .features()
        .find(|f| f.field_as_string(f.field_index("XZQDM").unwrap()).unwrap().as_deref() == Some("330523"))
        .unwrap()
        .geometry()
        .unwrap()
        .clone();
    let mut all = Geometry::empty(gdal::vector::OGRwkbGeometryType::wkbMultiPolygon).unwrap();
    for p in &b {
        for i in 0..p.3.geometry_count().max(1) {
            let part = if p.3.geometry_type() == gdal::vector::OGRwkbGeometryType::wkbPolygon {
                p.3.clone()
            } else {
                p.3.get_geometry(i).clone()
            };
            all.add_geometry(part).unwrap();
        }
    }
    let union = unsafe {
        Geometry::from_wkb(&{
            let u = gdal_sys::OGR_G_UnionCascaded(all.c_geometry());
            let n = gdal_sys::OGR_G_WkbSize(u) as usize;
            let mut buf = vec![0u8; n];
            gdal_sys::OGR_G_ExportToWkb(u, gdal_sys::OGRwkbByteOrder::wkbNDR, buf.as_mut_ptr());
            gdal_sys::OGR_G_DestroyGeometry(u);
            buf
        })
        .unwrap()
    };
    let gaps = outline.difference(&union).unwrap();
    let parts: Vec<Geometry> = if gaps.geometry_type() == gdal::vector::OGRwkbGeometryType::wkbPolygon {
        vec![gaps.clone()]
    } else {
        (0..gaps.geometry_count()).map(|i| gaps.get_geometry(i).clone()).collect()
    };
    for g in parts {
        if g.area() >= 1.0 {
            b.push((-1, "未覆盖".into(), 0.0, g));
        }
    }
    // overlay through an R-tree of the 2020 envelopes
    let ll = to_lonlat();
    let items: Vec<rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>> = b
        .iter()
        .enumerate()
        .map(|(k, q)| {
            let e = q.3.envelope();
            rstar::primitives::GeomWithData::new(
                rstar::primitives::Rectangle::from_corners([e.MinX, e.MinY], [e.MaxX, e.MaxY]),
                k,
            )
        })
        .collect();
    let tree = rstar::RTree::bulk_load(items);
    let mut reference: BTreeMap<(String, String), f64> = BTreeMap::new();
    for p in &a {
        let e = p.3.envelope();
        for hit in tree.locate_in_envelope_intersecting(&rstar::AABB::from_corners([e.MinX, e.MinY], [e.MaxX, e.MaxY]))
        {
            let q = &b[hit.data];
            let Some(inter) = p.3.intersection(&q.3) else {
                assert!(q.3.area() < 1e-6, "GEOS could not intersect {} with {}", p.0, q.0);
                continue;
            };
            if inter.area() <= 1e-4 {
                continue;
            }
            let area = geodesic_area(&inter, &ll);
            // 田坎 stays where it lay (see overlay::cells): the smaller share 田坎 → 田坎, the difference
            // from or to the parcels' classes, the rest class to class
            let (kx, ky) = (p.2, q.2);
            for (fc, tc, v) in [
                (p.1.as_str(), q.1.as_str(), area * (1.0 - kx.max(ky))),
                ("1203", "1203", area * kx.min(ky)),
                (p.1.as_str(), "1203", area * (ky - kx).max(0.0)),
                ("1203", q.1.as_str(), area * (kx - ky).max(0.0)),
            ] {
                if v > 0.0 {
                    *reference.entry((fc.to_string(), tc.to_string())).or_default() += v;
                }
            }
        }
    }
    let ours = cells(&sheet["land_level2"]);
    let mut compared = 0;
    for (k, want) in &reference {
        if *want < 0.5 {
            continue;
        }
        let got = *ours.get(k).unwrap_or_else(|| panic!("{k:?} ({want} m²) missing from the sheet")) as f64;
        assert!((got - want).abs() <= 1e-6 * want + 1.0, "{k:?}: ours {got} vs independent {want}");
        compared += 1;
    }
    for (k, v) in &ours {
        assert!(
            reference.get(k).is_some_and(|r| (*r - *v as f64).abs() <= 1e-6 * r + 1.0),
            "{k:?}: {v} m² not in the independent overlay"
        );
    }
    assert!(compared > 20, "{compared}");
    // changes, splits and merges are all there: forest cleared (开垦), re-greening (生态退耕), the mine and
    // housing in red lines, the gap; and dozens of parcels replaced by split or merged ones
    for k in [("0301", "0103"), ("0103", "0301"), ("0302", "0602"), ("0302", "0701"), ("0301", "未覆盖")] {
        assert!(ours.contains_key(&(k.0.to_string(), k.1.to_string())), "{k:?} missing: {ours:?}");
    }
    let new = count(&reg, "SELECT count(*) FROM parcels WHERE valid_from = '2020-12-31'");
    let gone = count(&reg, "SELECT count(*) FROM parcels WHERE valid_to = '2020-12-31'");
    let relabelled = count(&reg, "SELECT count(*) FROM parcels a JOIN parcels b ON a.BSM = b.BSM AND a.valid_to = '2020-12-31' AND b.valid_from = '2020-12-31'");
    assert!(
        new - relabelled > 40 && gone - relabelled > 20,
        "splits and merges: {new} new, {gone} closed, {relabelled} relabelled"
    );
}

/// The demo sheet in every format, with its identities, the forest and water balances, the trace layer,
/// and reproducibility.
#[test]
fn demo_sheet_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let (fc, w, t) = (seed("forest-changes.csv"), seed("water.csv"), seed("targets.toml"));
    let base = [
        "--from",
        "2019-12-31",
        "--to",
        "2020-12-31",
        "--region",
        "330523",
        "--forest-changes",
        s(&fc),
        "--water",
        s(&w),
        "--targets",
        s(&t),
    ];
    let mut args = vec![s(&reg)];
    args.extend(base);
    let sheet = balance_json(&args);
    assert_identities(&sheet, "land", "land");
    assert_identities(&sheet, "land_level2", "water_area");
    // the wetland and grassland accounts: exact identities, and their stocks the level-2 rows of their classes
    let (codes2, m2) = int_matrix(&sheet["land_level2"]);
    for (key, table, group) in [("wetland", "wetland", "00"), ("grassland", "grassland", "04")] {
        let v = serde_json::json!({"acc": sheet[key]["account"], "tables": sheet["tables"], "provenance": sheet["provenance"]});
        assert_identities(&v, "acc", table);
        let wetland = ["0303", "0304", "0306", "0402", "0603", "1105", "1106", "1108"];
        let mine = |c: &str| if group == "00" { wetland.contains(&c) } else { c.starts_with("04") && c != "0402" };
        let closing: i64 =
            (0..codes2.len()).filter(|&j| mine(&codes2[j])).map(|j| m2.iter().map(|r| r[j]).sum::<i64>()).sum();
        let (codes, m) = int_matrix(&sheet[key]["account"]);
        let own: i64 =
            (0..codes.len()).filter(|&j| codes[j] != "其他").map(|j| m.iter().map(|r| r[j]).sum::<i64>()).sum();
        assert!(closing > 0 && own == closing, "{key}: {own} vs {closing}");
    }
    // the JSON follows its schema
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/balance.schema.json")).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&sheet).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // reproducible: the same command gives the same sheet
    assert_eq!(sheet, balance_json(&args));
    // 8-class and 亩 tables are exact too
    let mut a8 = args.clone();
    a8.extend(["--level", "8class", "--unit", "mu"]);
    let s8 = balance_json(&a8);
    assert_identities(&s8, "land", "land");
    assert_eq!(s8["land"]["classes"].as_array().unwrap().len(), 9, "8 classes and 未覆盖");
    // townships: each sheet is exact, and the nine add up to the county (each clipped to its own outline)
    let mut sum = 0i64;
    let towns: Vec<String> = {
        let c = rusqlite::Connection::open(&reg).unwrap();
        let mut st =
            c.prepare("SELECT XZQDM FROM admin WHERE length(XZQDM) = 9 AND valid_to IS NULL ORDER BY XZQDM").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    };
    assert_eq!(towns.len(), 8, "{towns:?}");
    for code in towns {
        let ts = balance_json(&[s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--region", &code]);
        assert_identities(&ts, "land", "land");
        assert_eq!(ts["provenance"]["region"], code.as_str());
        sum += ts["land"]["matrix"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()))
            .sum::<i64>();
    }
    let county: i64 = sheet["land"]["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()))
        .sum();
    assert!((sum - county).abs() as f64 <= 1e-6 * county as f64, "townships {sum} vs county {county}");
    // changes by cause add up to the land account's cultivated increases and decreases
    let i01 = sheet["land"]["classes"].as_array().unwrap().iter().position(|c| c["code"] == "01").unwrap();
    let m: Vec<Vec<i64>> = sheet["land"]["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect())
        .collect();
    let inc01: i64 = (0..m.len()).filter(|&k| k != i01).map(|k| m[k][i01]).sum();
    let dec01: i64 = (0..m.len()).filter(|&k| k != i01).map(|k| m[i01][k]).sum();
    let causes = sheet["causes"].as_array().unwrap();
    let ci: f64 = causes.iter().map(|c| c["cultivated_increase_m2"].as_f64().unwrap()).sum();
    let cd: f64 = causes.iter().map(|c| c["cultivated_decrease_m2"].as_f64().unwrap()).sum();
    assert!(
        (ci - inc01 as f64).abs() < 50.0 && (cd - dec01 as f64).abs() < 50.0,
        "causes {ci}/{cd} vs account {inc01}/{dec01}"
    );
    // the generator records 建设占用 on the built-over parcels: human causes
    let built = causes.iter().find(|c| c["cause"] == "建设占用").unwrap();
    assert_eq!(built["nature"], "人为");
    // forest volume: opening + growth + afforestation − harvest − conversion − disaster + other = closing
    for r in sheet["forest_volume"]["rows"].as_array().unwrap() {
        let v = |k: &str| r[k].as_f64().unwrap();
        let lhs = v("opening_m3") + v("growth_m3") + v("afforestation_m3")
            - v("harvest_m3")
            - v("conversion_m3")
            - v("disaster_m3")
            + v("other_m3");
        assert!((lhs - v("closing_m3")).abs() < 1e-6 * v("closing_m3").max(1.0), "{r}");
    }
    let total = sheet["forest_volume"]["rows"].as_array().unwrap().last().unwrap().clone();
    assert!(total["conversion_m3"].as_f64().unwrap() > 1000.0, "forest cleared in 2020 carried volume: {total}");
    assert_eq!(total["harvest_m3"].as_f64().unwrap(), 7757.0, "from seeds/anji/forest-changes.csv");
    // the balancing item is small: the inputs explain the re-measured stock
    assert!(total["other_m3"].as_f64().unwrap().abs() < 0.01 * total["opening_m3"].as_f64().unwrap(), "{total}");
    // water: closing from the flows equals the bulletin's closing stock
    let lines = sheet["water"]["lines"].as_array().unwrap();
    let closing = lines.last().unwrap();
    assert_eq!(closing["item"], "期末存量");
    assert_eq!((&closing["surface"], &closing["ground"]), (&serde_json::json!(16000.0), &serde_json::json!(30250.0)));
    // liabilities of the default model, from the targets file
    let items: BTreeMap<String, serde_json::Value> = sheet["liabilities"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["item"].as_str().unwrap().to_string(), i.clone()))
        .collect();
    assert_eq!(sheet["liabilities"]["model"], "control-targets");
    assert!((items["groundwater-over-cap"]["liability"].as_f64().unwrap() - 50.0).abs() < 1e-9);
    assert!((items["harvest-over-quota"]["liability"].as_f64().unwrap() - 757.0).abs() < 1e-9);
    // the red-line liability is the two injected violations (defects.json), in hectares
    let defects: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seed("defects.json")).unwrap()).unwrap();
    let violations: f64 = defects["defects_2020"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "redline_violation")
        .map(|x| x["area_m2"].as_f64().unwrap())
        .sum();
    assert!(
        (items["redline-encroachment"]["liability"].as_f64().unwrap() * 1e4 - violations).abs() < 1.0,
        "{:?} vs {violations}",
        items["redline-encroachment"]
    );
    // provenance: inputs with their hashes, vintages
    let inputs = sheet["provenance"]["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    assert_eq!(inputs[0]["sha256"], sha256(&fc));
    assert_eq!(sheet["provenance"]["registry_sha256"], sha256(&reg));

    // XLSX: one sheet per table, Chinese headers with English below, numbers as numbers
    let xlsx = d.path().join("sheet.xlsx");
    let cmd = |extra: &[&str]| {
        let mut v = vec!["balance"];
        v.extend(args.iter());
        v.extend(extra);
        run(&v)
    };
    let (c, _, e) = cmd(&["--format", "xlsx", "--out", s(&xlsx)]);
    assert_eq!(c, 0, "{e}");
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let names = wb.sheet_names();
    for n in [
        "说明 About",
        "土地资源存量及变动表",
        "土地利用转移矩阵",
        "林木资源存量及变动表",
        "水资源存量及变动表",
        "自然资源负债表",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }
    let land = wb.worksheet_range("土地资源存量及变动表").unwrap();
    assert_eq!(land.get_value((2, 2)), Some(&Data::String("期初存量（公顷）".into())));
    assert_eq!(land.get_value((3, 2)), Some(&Data::String("Opening stock".into())));
    let rows = sheet["tables"][0]["rows"].as_array().unwrap();
    for (i, r) in rows.iter().enumerate() {
        for (k, v) in r["values"].as_array().unwrap().iter().enumerate() {
            match land.get_value((4 + i as u32, 2 + k as u32)) {
                Some(Data::Float(x)) => assert!((x - v.as_f64().unwrap()).abs() < 1e-9),
                other => panic!("row {i} column {k}: {other:?} is not a number"),
            }
        }
    }
    // Parquet and CSV: the same cells, tidy
    let pq = d.path().join("sheet.parquet");
    assert_eq!(cmd(&["--format", "parquet", "--out", s(&pq)]).0, 0);
    let rows_pq = nrledger::io::tabular::read_rows(&pq).unwrap();
    assert_eq!(rows_pq.headers, ["table", "table_title", "code", "name", "column", "column_en", "unit", "value"]);
    let (c, csv_out, e) = cmd(&["--format", "csv"]);
    assert_eq!(c, 0, "{e}");
    let n_cells: usize = sheet["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rows"].as_array().unwrap().len() * t["columns"].as_array().unwrap().len())
        .sum();
    assert_eq!(csv_out.lines().count(), n_cells + 1);
    assert_eq!(rows_pq.rows.len(), n_cells);
    let first = &rows_pq.rows[0];
    assert_eq!(first[0].as_deref(), Some("land"));
    assert_eq!(first[7].as_deref().map(|v| v.parse::<f64>().unwrap()), Some(rows[0]["values"][0].as_f64().unwrap()));

    // the trace: every changed piece, adding up to the off-diagonal cells
    let trace = d.path().join("trace.gpkg");
    let (c, out, e) = cmd(&["--trace", s(&trace)]);
    assert_eq!(c, 0, "{e}");
    assert!(out.contains("土地利用转移矩阵"));
    let tds = gdal::Dataset::open(&trace).unwrap();
    let mut layer = tds.layer_by_name("balance_trace").unwrap();
    let mut by_cell: BTreeMap<(String, String), f64> = BTreeMap::new();
    for f in layer.features() {
        let g = |n: &str| f.field_as_string(f.field_index(n).unwrap()).unwrap().unwrap_or_default();
        assert!(!g("from_key").is_empty() || g("from_class") == "未覆盖");
        *by_cell.entry((g("from_class"), g("to_class"))).or_default() +=
            f.field_as_double(f.field_index("area_m2").unwrap()).unwrap().unwrap();
    }
    let m = cells(&sheet["land"]);
    let off: Vec<_> = m.iter().filter(|((a, b), _)| a != b).collect();
    assert!(!off.is_empty());
    for ((a, b), v) in off {
        // a cell also holds 田坎 shares moving with their parcels; the trace holds whole pieces
        let t = by_cell.get(&(a.clone(), b.clone())).copied().unwrap_or(0.0);
        assert!(t + 1.0 >= *v as f64 || a == "12" || b == "12", "{a}→{b}: trace {t} vs cell {v}");
    }
}

/// Bad input: a clear error naming what and where, exit 2, and no output file left behind.
#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let out = d.path().join("sheet.xlsx");
    let write = |name: &str, text: &str| write_file(d.path(), name, text);
    let bad_origin =
        write("fc1.csv", "行政区代码,年份,起源,项目,蓄积量\n330523,2020,天然,生长量,10\n330523,2020,野生,采伐,5\n");
    let bad_item = write("w1.csv", "行政区代码,年份,类别,项目,数值\n330523,2020,地表水,降雨,10\n");
    let bad_number = write("w2.csv", "行政区代码,年份,类别,项目,数值\n330523,2020,地表水,期初存量,十\n");
    let bad_closing = write("w3.csv", "行政区代码,年份,类别,项目,数值\n330523,2020,地表水,期初存量,100\n330523,2020,地表水,农业取水,10\n330523,2020,地表水,期末存量,100\n");
    let bad_targets = write("t.toml", "[regions.\"330523\"]\nfarmland_hectares = 5\n");
    let missing_col = write("fc2.csv", "region,year,item,volume_m3\n330523,2020,growth,1\n");
    let r = s(&reg);
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec![r, "--from", "2020-12-31", "--to", "2019-12-31"], vec!["--to 2019-12-31 is not after --from 2020-12-31"]),
        (
            vec![r, "--from", "2018-12-31", "--to", "2020-12-31"],
            vec!["--from 2018-12-31", "no parcels", "2019-12-31, 2020-12-31"],
        ),
        (vec![r, "--from", "2019-12-31", "--to", "2020-12-31", "--region", "110101"], vec!["region 110101", "330523"]),
        (
            vec![r, "--from", "2019-12-31", "--to", "2020-12-31", "--liability", "depletion"],
            vec!["--liability depletion", "control-targets"],
        ),
        (
            vec![r, "--from", "2019-12-31", "--to", "2020-12-31", "--forest-changes", s(&bad_origin)],
            vec!["fc1.csv", "row 2", "起源", "野生"],
        ),
        (
            vec![r, "--from", "2019-12-31", "--to", "2020-12-31", "--forest-changes", s(&missing_col)],
            vec!["fc2.csv", "missing column 起源 / origin"],
        ),
        (
            vec![r, "--from", "2019-12-31", "--to", "2020-12-31", "--water", s(&bad_item)],
            vec!["w1.csv", "row 1", "降雨"],
        ),
        (
            vec![r, "--from", "2019-12-31", "--to", "2020-12-31", "--water", s(&bad_number)],
            vec!["w2.csv", "row 1", "数值", "十"],
        ),
        (
            vec![r, "--from", "2019-12-31", "--to", "2020-12-31", "--water", s(&bad_closing)],
            vec!["w3.csv", "地表水 期末存量", "90.00"],
        ),
        (
            vec![r, "--from", "2019-12-31", "--to", "2020-12-31", "--targets", s(&bad_targets)],
            vec!["t.toml", "farmland_hectares"],
        ),
    ];
    for (args, wants) in cases {
        let mut a = vec!["balance"];
        a.extend(args.iter());
        a.extend(["--format", "xlsx", "--out", s(&out)]);
        let (c, _, e) = run(&a);
        assert_eq!(c, 2, "{args:?}: {e}");
        for w in wants {
            assert!(e.contains(w), "{args:?}: '{w}' not in: {e}");
        }
        assert!(!out.exists(), "{args:?} left {}", out.display());
        assert!(std::fs::read_dir(d.path()).unwrap().all(|f| !f
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("partial")));
    }
    let (c, _, e) = run(&["balance", r, "--from", "2019-12-31", "--to", "2020-12-31", "--format", "xlsx"]);
    assert_eq!(c, 2);
    assert!(e.contains("--out"), "{e}");
}

/// A sheet keeps the changed pieces' geometry only when asked (`balance::Request::trace`, which `--trace`
/// sets): the audit's sheet and a streamed province's hold none, so their memory does not grow with them.
/// The figures are the same either way, and the traced pieces are the ground whose class changed.
#[test]
fn only_a_traced_sheet_keeps_the_changed_pieces() {
    use nrledger::balance::{compute, Level, Request};
    let d = tempfile::tempdir().unwrap();
    let path = demo_registry(d.path());
    let reg = nrledger::Registry::open(&path, nrledger::catalog::Catalog::embedded().unwrap()).unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let req = |trace| Request {
        from: day("2019-12-31"),
        to: day("2020-12-31"),
        region: Some("330523".into()),
        level: Level::One,
        liability: None,
        targets: None,
        forest_changes: None,
        water: None,
        livestock: None,
        rules: None,
        overlaps: Default::default(),
        trace,
    };
    let (plain, traced) = (compute(&reg, &req(false)).unwrap(), compute(&reg, &req(true)).unwrap());
    assert!(plain.trace.is_empty(), "{} pieces kept without --trace", plain.trace.len());
    assert!(!traced.trace.is_empty());
    assert!(traced.trace.iter().all(|p| p.from.class != p.to.class && p.area.0 > 0.0 && !p.geometry.0.is_empty()));
    assert_eq!(serde_json::to_value(&plain).unwrap(), serde_json::to_value(&traced).unwrap());
}

/// `NRLEDGER_TIMING` prints one line per stage on stderr, "<seconds> s  <stage>", which the peer benchmark
/// reads (the matrix stage runs from "closing partition" to "transition matrix"); `=rss` adds the resident
/// memory, its anonymous part and the peak, `=cpu` the CPU seconds used. Without the variable nothing is printed.
#[test]
fn timing_laps_name_the_stages_and_rss_adds_the_memory() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let args =
        ["balance", s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--region", "330523", "--format", "json"];
    let stderr = |timing: Option<&str>| {
        let mut c = nrledger();
        c.args(args).env_remove("NRLEDGER_TIMING");
        if let Some(t) = timing {
            c.env("NRLEDGER_TIMING", t);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(!stderr(None).contains(" s  "), "no laps without NRLEDGER_TIMING");
    let stages = |err: &str| -> Vec<(f64, String)> {
        err.lines()
            .filter_map(|l| {
                let (t, what) = l.trim().split_once(" s  ")?;
                Some((t.parse().ok()?, what.trim().to_string()))
            })
            .collect()
    };
    let plain = stages(&stderr(Some("1")));
    let names: Vec<&str> = plain.iter().map(|(_, w)| w.as_str()).collect();
    let at = |n: &str| names.iter().position(|w| *w == n).unwrap_or_else(|| panic!("no stage {n}: {names:?}"));
    assert!(
        at("closing partition") < at("overlay")
            && at("overlay") < at("transition matrix")
            && at("transition matrix") < at("land accounts"),
        "{names:?}"
    );
    assert!(plain.iter().all(|(_, w)| !w.contains("RSS")));
    let rss = stages(&stderr(Some("rss")));
    assert_eq!(rss.len(), plain.len());
    for (_, w) in &rss {
        let mb: Vec<u64> = w.split(|c: char| !c.is_ascii_digit()).filter_map(|x| x.parse().ok()).collect();
        assert!(w.contains("(RSS ") && w.contains(" MB of which anonymous ") && w.contains(" MB, peak "), "{w}");
        let [now, anon, peak] = mb[mb.len() - 3..] else { panic!("{w}") };
        assert!(anon <= now && now <= peak && peak > 0, "{w}");
    }
    // `=cpu`: the process's CPU seconds so far, never decreasing
    let cpu = stages(&stderr(Some("cpu")));
    assert_eq!(cpu.len(), plain.len());
    let secs: Vec<f64> = cpu
        .iter()
        .map(|(_, w)| {
            w.rsplit_once("(CPU ")
                .and_then(|(_, x)| x.strip_suffix(" s)"))
                .and_then(|x| x.parse().ok())
                .unwrap_or_else(|| panic!("{w}"))
        })
        .collect();
    assert!(secs.windows(2).all(|x| x[0] <= x[1]) && secs[0] > 0.0, "{secs:?}");
}

/// Regression (issue 19.3): a survey whose invalid rings were repaired (`import --make-valid`) made the sheet
/// refuse itself ("pieces do not add up to the parcels they come from"): the repaired parcel leaves a sliver
/// of 0.25 m² uncovered that its clean successor covers. The sheet is drawn, its identities hold, and its
/// notes say what was left out and where.
#[test]
fn a_repaired_parcel_does_not_stop_the_sheet() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let write = |name: &str, text: String| write_file(d.path(), name, text);
    let (x, y) = (500_000.0, 3_300_000.0);
    let admin =
        write("a.geojson", collection(&[r#"{"XZQDM":"330523","XZQMC":"测试县"}"#], &[rect(0.0, 200.0, 0.0, 100.0)]));
    // P's ring runs back along its own first edge for 5 mm (invalid); MakeValid drops a 5 mm × 100 m triangle
    let bad_ring = format!(
        "[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{xs},{y0}],[{x0},{y0}]]]",
        x0 = x,
        x1 = x + 100.0,
        y0 = y,
        y1 = y + 100.0,
        xs = x + 0.005
    );
    let y19 = write(
        "p19.geojson",
        collection(
            &[r#"{"BSM":"P","DLBM":"0101"}"#, r#"{"BSM":"Q","DLBM":"0301"}"#],
            &[bad_ring, rect(100.0, 200.0, 0.0, 100.0)],
        ),
    );
    let y20 = write(
        "p20.geojson",
        collection(
            &[r#"{"BSM":"P","DLBM":"0103"}"#, r#"{"BSM":"Q","DLBM":"0301"}"#],
            &[rect(0.0, 100.0, 0.0, 100.0), rect(100.0, 200.0, 0.0, 100.0)],
        ),
    );
    for (date, parcels) in [("2019-12-31", &y19), ("2020-12-31", &y20)] {
        assert_eq!(run(&["import", s(&reg), s(&admin), "--layer", "admin", "--as-of", date]).0, 0);
        let (c, o, e) = run(&["import", s(&reg), s(parcels), "--layer", "parcels", "--as-of", date, "--make-valid"]);
        assert_eq!(c, 0, "{date}: {o}{e}");
    }
    assert_eq!(count(&reg, "SELECT repaired FROM nr_imports WHERE as_of = '2019-12-31' AND layer = 'parcels'"), 1);
    let sheet = balance_json(&[s(&reg), "--from", "2019-12-31", "--to", "2020-12-31", "--level", "2", "--unit", "m2"]);
    assert_identities(&sheet, "land_level2", "forest_area");
    let notes: Vec<&str> = sheet["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let said = notes.iter().find(|n| n.starts_with("2019-12-31: 1 sliver(s)")).unwrap_or_else(|| panic!("{notes:?}"));
    assert!(said.contains("0.25 m² in all") && said.contains("--make-valid"), "{said}");
    let got = cells(&sheet["land_level2"]);
    assert!(got.contains_key(&("0101".to_string(), "0103".to_string())), "{got:?}");
}

/// A registry with a survey at each year-end from 2018 to 2022 (the demo's two deliveries in turn, so every
/// year changes), and the admin outline at each; `cut` redraws the outline on one date.
pub(crate) fn yearly_registry(dir: &Path, name: &str, cut: Option<(&str, &Path)>) -> PathBuf {
    let reg = dir.join(name);
    assert_eq!(run(&["init", s(&reg), "--region", "330523"]).0, 0);
    for (k, d) in ["2018-12-31", "2019-12-31", "2020-12-31", "2021-12-31", "2022-12-31"].iter().enumerate() {
        let src = seed(if k % 2 == 0 { "2019-12-31.gpkg" } else { "2020-12-31.gpkg" });
        let admin: Vec<&str> = match cut {
            Some((date, file)) if date == *d => vec![s(file)],
            _ => vec![s(&src), "--src-layer", "XZQ"],
        };
        let mut a = vec!["import", s(&reg)];
        a.extend(admin);
        a.extend(["--layer", "admin", "--as-of", d]);
        let (c, _, e) = run(&a);
        assert_eq!(c, 0, "{e}");
        for (layer, profile) in [("parcels", "sandiao-dltb"), ("redlines", "stbhhx"), ("farmland", "yjjbnt")] {
            let (c, _, e) = run(&["import", s(&reg), s(&src), "--layer", layer, "--profile", profile, "--as-of", d]);
            assert_eq!(c, 0, "{layer} {d}: {e}");
        }
    }
    reg
}

fn int_matrix(acc: &serde_json::Value) -> (Vec<String>, Vec<Vec<i64>>) {
    let codes = acc["classes"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_string()).collect();
    let m = acc["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect())
        .collect();
    (codes, m)
}

fn stocks_of(acc: &serde_json::Value, opening: bool) -> BTreeMap<String, i64> {
    let (codes, m) = int_matrix(acc);
    let n = m.len();
    (0..n)
        .map(|i| (codes[i].clone(), (0..n).map(|k| if opening { m[i][k] } else { m[k][i] }).sum::<i64>()))
        .filter(|(_, v)| *v != 0)
        .collect()
}

/// `balance --years`: five yearly sheets, each opening exactly where the year before closed (at the sheet's
/// level and the second level), the series table publishing those stocks, a year without a survey flagged,
/// and an outline redrawn under the series refused.
#[test]
fn a_yearly_series_chains_exactly_and_refuses_a_break() {
    let d = tempfile::tempdir().unwrap();
    let reg = yearly_registry(d.path(), "years.gpkg", None);
    let (c, out, err) = run(&["balance", s(&reg), "--years", "2019..2023", "--format", "json"]);
    assert_eq!(c, 0, "{err}");
    assert!(err.contains("2023: no survey dated in 2022-12-31 … 2023-12-31"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/balance-series.schema.json")).unwrap())
            .unwrap();
    let errors: Vec<String> =
        jsonschema::validator_for(&schema).unwrap().iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let years = v["series"]["years"].as_array().unwrap();
    assert_eq!(years.len(), 5);
    let missing: Vec<bool> = years.iter().map(|y| y["missing"].as_bool().unwrap()).collect();
    assert_eq!(missing, [false, false, false, false, true]);
    let series = v["tables"].as_array().unwrap().iter().find(|t| t["id"] == "series_land").unwrap();
    for (k, y) in years.iter().enumerate() {
        let sheet = &y["sheet"];
        assert_eq!(
            (sheet["provenance"]["from"].as_str(), sheet["provenance"]["to"].as_str()),
            (v["series"]["dates"][k].as_str(), v["series"]["dates"][k + 1].as_str())
        );
        if k > 0 {
            let prev = &years[k - 1]["sheet"];
            for acc in ["land", "land_level2"] {
                assert_eq!(stocks_of(&prev[acc], false), stocks_of(&sheet[acc], true), "{acc}, year {}", y["year"]);
            }
        }
        // the series table's column for each year-end is the year's closing stock, class by class
        for (code, m2) in stocks_of(&sheet["land"], false) {
            let row = series["rows"].as_array().unwrap().iter().find(|r| r["code"] == code.as_str()).unwrap();
            assert!((row["values"][k + 1].as_f64().unwrap() - m2 as f64 * 1e-4).abs() < 1e-9, "{code} {k}");
        }
        // … and the wetland's, the 00 row of the year's land account
        let other = v["tables"].as_array().unwrap().iter().find(|t| t["id"] == "series_other").unwrap();
        let wet = other["rows"].as_array().unwrap().iter().find(|r| r["code"] == "wetland").unwrap();
        let w00 = stocks_of(&sheet["land"], false).get("00").copied().unwrap_or(0);
        assert!((wet["values"][k + 1].as_f64().unwrap() - w00 as f64 * 1e-4).abs() < 1e-9, "wetland {k}");
    }
    // the alternating deliveries: every year with a survey changes ground from one class to another
    for y in &years[..4] {
        let (_, m) = int_matrix(&y["sheet"]["land"]);
        assert!(
            m.iter().enumerate().any(|(i, r)| r.iter().enumerate().any(|(j, v)| i != j && *v > 0)),
            "{}",
            y["year"]
        );
    }
    // a year's sheet is the standalone sheet of its dates, where nothing was carried into it
    for (k, y) in years.iter().enumerate().filter(|(_, y)| y["carried_m2"].as_object().unwrap().is_empty()) {
        let alone = balance_json(&[s(&reg), "--from", y["from"].as_str().unwrap(), "--to", y["to"].as_str().unwrap()]);
        assert_eq!(int_matrix(&alone["land"]), int_matrix(&y["sheet"]["land"]), "year {k}");
    }
    // carried differences are rounding: a square metre or two a class
    for y in years {
        for (code, m2) in y["carried_m2"].as_object().unwrap() {
            assert!(m2.as_i64().unwrap().abs() <= 3, "{code} {m2}");
        }
    }
    // the workbook and the text have the series tables
    let (xlsx, txt) = (d.path().join("s.xlsx"), d.path().join("s.txt"));
    let (c, _, e) = run(&["balance", s(&reg), "--years", "2020..2021", "--format", "xlsx", "--out", s(&xlsx)]);
    assert_eq!(c, 0, "{e}");
    let (c, _, e) = run(&["balance", s(&reg), "--years", "2020..2021", "--out", s(&txt)]);
    assert_eq!(c, 0, "{e}");
    let text = std::fs::read_to_string(&txt).unwrap();
    assert!(text.contains("土地资源存量序列表") && text.contains("土地资源存量及变动表 2021 年"), "{text}");

    // the outline redrawn on 2019-12-31: the year 2019 closes the region's old extent there and 2020
    // opens its new one — refused, not published
    let cut = d.path().join("cut.geojson");
    let o = std::process::Command::new("ogr2ogr")
        .args([
            "-f",
            "GeoJSON",
            s(&cut),
            s(&seed("2019-12-31.gpkg")),
            "XZQ",
            "-clipsrc",
            "426000",
            "3361000",
            "486000",
            "3418000",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let broken = yearly_registry(d.path(), "broken.gpkg", Some(("2020-12-31", &cut)));
    let json = d.path().join("b.json");
    let (c, _, e) = run(&["balance", s(&broken), "--years", "2019..2022", "--format", "json", "--out", s(&json)]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("the series breaks on 2019-12-31: the region 330523 measures"), "{e}");
    assert!(!json.exists());
    // each period on its own is still a sheet
    balance_json(&[s(&broken), "--from", "2019-12-31", "--to", "2020-12-31"]);
    // and bad years are refused
    for (years, want) in
        [("2023..2019", "2019..2023"), ("2019", "2019..2023"), ("2015..2016", "no parcels on that date")]
    {
        let (c, _, e) = run(&["balance", s(&reg), "--years", years]);
        assert_eq!(c, 2, "{years}: {e}");
        assert!(e.contains(want), "{years}: {e}");
    }
}

/// The wetland and grassland accounts on a hand-made county: 内陆滩涂 partly reclaimed (开发), 其他草地 dug
/// into a pond (农业结构调整: no longer grassland, wetland by GB/T 24708 though not by 三调), cultivated land
/// turned 沼泽草地 (自然变化: wetland under 三调, not grassland) — stocks and changes against geodesic areas,
/// the identities, the causes and the share inside the red line.
#[test]
fn wetland_and_grassland_accounts_on_a_hand_made_county() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let write = |name: &str, text: String| write_file(d.path(), name, text);
    let admin =
        write("a.geojson", collection(&[r#"{"XZQDM":"330523","XZQMC":"测试县"}"#], &[rect(0.0, 400.0, 0.0, 100.0)]));
    let y19 = write(
        "p19.geojson",
        collection(
            &[
                r#"{"BSM":"A","DLBM":"1106"}"#,
                r#"{"BSM":"B","DLBM":"0404"}"#,
                r#"{"BSM":"C","DLBM":"1108"}"#,
                r#"{"BSM":"D","DLBM":"0101"}"#,
            ],
            &[
                rect(0.0, 100.0, 0.0, 100.0),
                rect(100.0, 200.0, 0.0, 100.0),
                rect(200.0, 300.0, 0.0, 100.0),
                rect(300.0, 400.0, 0.0, 100.0),
            ],
        ),
    );
    let y20 = write(
        "p20.geojson",
        collection(
            &[
                r#"{"BSM":"A1","DLBM":"1106"}"#,
                r#"{"BSM":"A2","DLBM":"0101","BGYY":"开发"}"#,
                r#"{"BSM":"B1","DLBM":"1104","BGYY":"农业结构调整"}"#,
                r#"{"BSM":"C","DLBM":"1108"}"#,
                r#"{"BSM":"D1","DLBM":"0101"}"#,
                r#"{"BSM":"D2","DLBM":"0402","BGYY":"自然变化"}"#,
            ],
            &[
                rect(0.0, 60.0, 0.0, 100.0),
                rect(60.0, 100.0, 0.0, 100.0),
                rect(100.0, 200.0, 0.0, 100.0),
                rect(200.0, 300.0, 0.0, 100.0),
                rect(300.0, 350.0, 0.0, 100.0),
                rect(350.0, 400.0, 0.0, 100.0),
            ],
        ),
    );
    let red =
        write("r.geojson", collection(&[r#"{"HXBH":"HX1","GKFQ":"一般控制区"}"#], &[rect(0.0, 150.0, 0.0, 100.0)]));
    // the grassland survey: two polygons in 2019 (暖性草丛 一等, 其他 二等), one in 2020, down to 二等
    let cy19 = write(
        "cy19.geojson",
        collection(
            &[r#"{"TBBH":"C1","CD_L":"14","CYDJ":"一等"}"#, r#"{"TBBH":"C2","CD_L":"16","CYDJ":"二等"}"#],
            &[rect(100.0, 150.0, 0.0, 100.0), rect(150.0, 200.0, 0.0, 100.0)],
        ),
    );
    let cy20 = write(
        "cy20.geojson",
        collection(&[r#"{"TBBH":"C1","CD_L":"14","CYDJ":"二等"}"#], &[rect(100.0, 150.0, 0.0, 100.0)]),
    );
    // a wetland park over [0, 100] (its type as delivered, 湿地公园, is a 自然公园)
    let park = write(
        "bhd.geojson",
        collection(&[r#"{"BHDBH":"B1","BHDMC":"测试湿地公园","BHDLX":"湿地公园"}"#], &[rect(0.0, 100.0, 0.0, 100.0)]),
    );
    for (date, parcels, cy) in [("2019-12-31", &y19, &cy19), ("2020-12-31", &y20, &cy20)] {
        for (layer, file) in [("admin", &admin), ("parcels", parcels), ("redlines", &red), ("protected", &park)] {
            let (c, _, e) = run(&["import", s(&reg), s(file), "--layer", layer, "--as-of", date]);
            assert_eq!(c, 0, "{layer} {date}: {e}");
        }
        let (c, _, e) = run(&["import", s(&reg), s(cy), "--layer", "grassland", "--profile", "cy", "--as-of", date]);
        assert_eq!(c, 0, "grassland {date}: {e}");
    }
    // livestock: 2 sheep at the end of 2019 on no grazing land; 20 goats (16 SU) and a horse (6 SU) in 2020;
    // the township's rows count for the county
    let livestock = write(
        "livestock.csv",
        "行政区代码,年份,畜种,存栏数\n330523,2019,绵羊,2\n330523101,2020,山羊,20\n330523,2020,马,1\n330524,2020,牛,99\n".into(),
    );
    let sheet = balance_json(&[
        s(&reg),
        "--from",
        "2019-12-31",
        "--to",
        "2020-12-31",
        "--unit",
        "m2",
        "--livestock",
        s(&livestock),
    ]);
    let ll = to_lonlat();
    let area = |x0, x1| geodesic_area(&rect_geom(x0, x1, 0.0, 100.0), &ll);
    let near = |got: i64, want: f64, what: &str| assert!((got as f64 - want).abs() <= 1.0, "{what}: {got} vs {want}");
    let flows = |acc: &serde_json::Value, code: &str| -> (i64, i64, i64, i64) {
        let (codes, m) = (
            acc["classes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["code"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
            acc["matrix"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect::<Vec<i64>>())
                .collect::<Vec<_>>(),
        );
        let i = codes.iter().position(|c| c == code).unwrap_or_else(|| panic!("{code} not in {codes:?}"));
        let open: i64 = m[i].iter().sum();
        let close: i64 = m.iter().map(|r| r[i]).sum();
        (open, close - m[i][i], open - m[i][i], close)
    };
    // 三调 wetland: 1106 loses [60, 100] to cultivated land; 0402 appears on [350, 400]
    let w = &sheet["wetland"]["account"];
    let (o, inc, dec, c) = flows(w, "1106");
    near(o, area(0.0, 100.0), "1106 opening");
    near(dec, area(60.0, 100.0), "1106 decrease");
    assert_eq!((inc, c), (0, o - dec));
    let (o, inc, _, c) = flows(w, "0402");
    assert_eq!(o, 0);
    near(inc, area(350.0, 400.0), "0402 increase");
    assert_eq!(c, inc);
    near(flows(w, "1108").0, area(200.0, 300.0), "1108");
    // GB/T 24708: the pond is constructed wetland, 1106 river wetland, 1108 and 0402 marsh
    let t = &sheet["wetland_types"]["account"];
    near(flows(t, "5").3, area(100.0, 200.0), "人工湿地 closing");
    near(flows(t, "2").3, area(0.0, 60.0), "河流湿地 closing");
    near(flows(t, "4").3, area(200.0, 300.0) + area(350.0, 400.0), "沼泽湿地 closing");
    // grassland: 0404 gone into the pond; 0402 is wetland, not grassland
    let (o, _, dec, c) = flows(&sheet["grassland"]["account"], "0404");
    near(o, area(100.0, 200.0), "0404 opening");
    assert_eq!((dec, c), (o, 0));
    assert!(sheet["grassland"]["account"]["classes"].as_array().unwrap().iter().all(|c| c["code"] != "0402"));
    // the identities, and each account's total the region's
    for (key, table) in [("wetland", "wetland"), ("wetland_types", "wetland_types"), ("grassland", "grassland")] {
        let v = serde_json::json!({"acc": sheet[key]["account"], "tables": sheet["tables"], "provenance": sheet["provenance"]});
        assert_identities(&v, "acc", table);
    }
    // the causes: 开发 gained cultivated land from wetland, 自然变化 made wetland of cultivated land,
    // 农业结构调整 took the grassland
    let cause = |c: &str| sheet["causes"].as_array().unwrap().iter().find(|r| r["cause"] == c).unwrap().clone();
    let m2 = |r: &serde_json::Value, f: &str| r[f].as_f64().unwrap().round() as i64;
    let dev = cause("开发");
    near(m2(&dev, "cultivated_increase_m2"), area(60.0, 100.0), "开发 cultivated");
    near(m2(&dev, "wetland_decrease_m2"), area(60.0, 100.0), "开发 wetland");
    let nat = cause("自然变化");
    assert_eq!(nat["nature"], "自然");
    near(m2(&nat, "wetland_increase_m2"), area(350.0, 400.0), "自然变化 wetland");
    near(m2(&nat, "cultivated_decrease_m2"), area(350.0, 400.0), "自然变化 cultivated");
    assert_eq!(m2(&nat, "grassland_increase_m2"), 0);
    near(m2(&cause("农业结构调整"), "grassland_decrease_m2"), area(100.0, 200.0), "农业结构调整 grassland");
    // the grassland survey by class and by grade (its quality): 暖性草丛 kept, 其他 gone, 一等 fell to 二等
    let g = &sheet["grassland_layer"];
    let row = |key: &str, code: &str| g[key].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap().clone();
    let oc =
        |r: &serde_json::Value| (r["area_m2"]["opening"].as_f64().unwrap(), r["area_m2"]["closing"].as_f64().unwrap());
    let (w1, w2) = (area(100.0, 150.0), area(150.0, 200.0));
    let close = |(a, b): (f64, f64), (x, y): (f64, f64)| (a - x).abs() < 0.01 && (b - y).abs() < 0.01;
    assert!(close(oc(&row("by_class", "14")), (w1, w1)), "{g}");
    assert_eq!(row("by_class", "14")["name"], "暖性草丛");
    assert!(close(oc(&row("by_class", "16")), (w2, 0.0)), "{g}");
    assert!(close(oc(&row("by_grade", "一等")), (w1, 0.0)) && close(oc(&row("by_grade", "二等")), (w2, w1)), "{g}");
    assert_eq!((g["records"]["opening"].as_i64(), g["records"]["closing"].as_i64()), (Some(2), Some(1)));
    let grades = sheet["tables"].as_array().unwrap().iter().find(|t| t["id"] == "grassland_grades").unwrap();
    let total = grades["rows"].as_array().unwrap().last().unwrap();
    assert!((total["values"][2].as_f64().unwrap() + w2).abs() < 0.01, "{total}");
    // inside the red line [0, 150]: the wetland [0, 100] then [0, 60]; the grassland [100, 150] then none
    let inside = &sheet["wetland"]["inside"][0];
    assert_eq!(inside["zone"], "生态保护红线");
    assert!((inside["area_m2"]["opening"].as_f64().unwrap() - area(0.0, 100.0)).abs() < 0.01);
    assert!((inside["area_m2"]["closing"].as_f64().unwrap() - area(0.0, 60.0)).abs() < 0.01);
    let g = &sheet["grassland"]["inside"][0];
    assert!((g["area_m2"]["opening"].as_f64().unwrap() - area(100.0, 150.0)).abs() < 0.01);
    let table = sheet["tables"].as_array().unwrap().iter().find(|t| t["id"] == "resources_inside").unwrap();
    let share = table["rows"][0]["values"][4].as_f64().unwrap();
    let want = 100.0 * area(0.0, 100.0) / (area(0.0, 100.0) + area(200.0, 300.0));
    assert!((share - want).abs() < 0.01, "{share} vs {want}");
    // inside the protected area [0, 100]: the wetland [0, 100] then [0, 60], and the park's area itself
    let inside = sheet["wetland"]["inside"].as_array().unwrap();
    assert_eq!(
        inside.iter().map(|z| z["zone"].as_str().unwrap()).collect::<Vec<_>>(),
        ["生态保护红线", "永久基本农田", "自然保护地"]
    );
    assert!((inside[2]["area_m2"]["opening"].as_f64().unwrap() - area(0.0, 100.0)).abs() < 0.01);
    assert!((inside[2]["area_m2"]["closing"].as_f64().unwrap() - area(0.0, 60.0)).abs() < 0.01);
    let zones = sheet["liabilities"]["figures"]["zone_areas_m2"].as_array().unwrap();
    let park_area = zones.iter().find(|z| z["zone"] == "自然保护地").unwrap();
    assert!((park_area["closing_m2"].as_f64().unwrap() - area(0.0, 100.0)).abs() < 0.01, "{park_area}");
    let of_which = sheet["tables"].as_array().unwrap().iter().find(|t| t["id"] == "of_which").unwrap();
    assert_eq!(of_which["title"], "其中：生态保护红线内、永久基本农田内、自然保护地内");
    let vintages = sheet["provenance"]["vintages"].as_array().unwrap();
    assert!(vintages.iter().any(|v| v["layer"] == "protected" && v["closing"] == "2020-12-31"), "{vintages:?}");
    // 草畜平衡: only 0402 (1 500 kg/ha × 0.4) carries livestock here, and only at the closing date
    let g = &sheet["grazing"];
    let su_per_ha = 1500.0 * 0.4 / (1.8 * 365.0);
    let capacity = area(350.0, 400.0) / 1e4 * su_per_ha;
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    assert_eq!(f(&g["capacity_su"]["opening"]), 0.0);
    assert!((f(&g["capacity_su"]["closing"]) - capacity).abs() < 1e-3, "{g}");
    assert_eq!((f(&g["stocking_su"]["opening"]), f(&g["stocking_su"]["closing"])), (2.0, 22.0));
    assert!(g["overload_rate_pct"]["opening"].is_null(), "no capacity: no rate");
    assert!((f(&g["overload_rate_pct"]["closing"]) - 100.0 * (22.0 - capacity) / capacity).abs() < 0.1, "{g}");
    let item = sheet["liabilities"]["items"].as_array().unwrap().iter().find(|i| i["item"] == "grazing-over-capacity");
    let item = item.unwrap_or_else(|| panic!("{}", sheet["liabilities"]));
    assert!((f(&item["liability"]) - (22.0 - capacity)).abs() < 1e-3, "{item}");
    assert_eq!(item["unit"], "羊单位");
    let table = sheet["tables"].as_array().unwrap().iter().find(|t| t["id"] == "grazing").unwrap();
    let kinds: Vec<&str> = table["rows"].as_array().unwrap().iter().filter_map(|r| r["code"].as_str()).collect();
    assert_eq!(kinds, ["0402", "", "山羊", "绵羊", "马", "", "", ""], "{table}");
    assert!(sheet["provenance"]["inputs"].as_array().unwrap().iter().any(|i| i["role"] == "livestock"));
    // an office's indicators over the same cells: the audit reads the overload rate and the wetland inside
    // the protected area from the sheet
    let targets = write(
        "t.toml",
        r#"[regions."330523"]
[system]
name = "草原、湿地 (test)"
total = 10
bands = [{ grade = "好", min = 0 }]
[[system.blocks]]
code = "一"
name = "草原与湿地"
name_en = "Grassland and wetland"
points = 10
[[system.indicators]]
code = "overgrazing"
name = "草原超载率"
name_en = "Overgrazing"
unit = "%"
block = "一"
value = "grazing.overload_rate"
rule = "at_most"
target = "10"
points = 5
[[system.indicators]]
code = "park_wetland"
name = "自然保护地内湿地面积"
name_en = "Wetland in protected areas"
unit = "公顷"
block = "一"
value = "inside[自然保护地,00]"
rule = "not_decreasing"
points = 5
"#
        .into(),
    );
    let (json, html) = (d.path().join("a.json"), d.path().join("a.html"));
    let (c, _, e) = run(&[
        "audit",
        s(&reg),
        "--official",
        "张三",
        "--post",
        "县长",
        "--region",
        "330523",
        "--from",
        "2019-12-31",
        "--to",
        "2020-12-31",
        "--targets",
        s(&targets),
        "--livestock",
        s(&livestock),
        "--json",
        s(&json),
        "--out",
        s(&html),
    ]);
    assert_eq!(c, 0, "{e}");
    let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ind = |id: &str| a["indicators"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap().clone();
    let over = ind("overgrazing");
    assert!((f(&over["end"]) - f(&g["overload_rate_pct"]["closing"])).abs() < 1e-9, "{over}");
    assert_eq!(over["verdict"], "NotMet");
    let park = ind("park_wetland");
    assert!(
        (f(&park["start"]) - area(0.0, 100.0) / 1e4).abs() < 1e-6
            && (f(&park["end"]) - area(0.0, 60.0) / 1e4).abs() < 1e-6,
        "{park}"
    );
    assert_eq!(park["verdict"], "NotMet");
    // a kind without a coefficient is refused, naming the file, the row and the field
    let bad = write("bad.csv", "行政区代码,年份,畜种,存栏数\n330523,2020,绵羊,5\n330523,2020,羊驼,3\n".into());
    let (c, _, e) = run(&[
        "balance",
        s(&reg),
        "--from",
        "2019-12-31",
        "--to",
        "2020-12-31",
        "--livestock",
        s(&bad),
        "--out",
        s(&d.path().join("never.txt")),
    ]);
    assert_ne!(c, 0);
    assert!(e.contains("bad.csv") && e.contains("row 2") && e.contains("畜种") && e.contains("羊驼"), "{e}");
    assert!(!d.path().join("never.txt").exists());
}
