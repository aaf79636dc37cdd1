//! Coordinate reference systems: the only module that talks to PROJ (and to GDAL's OSR, which wraps the
//! same PROJ library).
//!
//! **Axis order, written down once:** everywhere inside nrledger a coordinate is `(x, y)` =
//! (easting, northing) for projected CRSs and (longitude, latitude) for geographic ones, whatever the
//! EPSG definition says (EPSG:4490 and EPSG:45xx are northing/latitude-first). PROJ transformers are created
//! with `proj_normalize_for_visualization` (through `Proj::new_known_crs`) to make that so.
//!
//! CGCS2000 Gauss-Krüger zones: 3° zone `n = round(L/3)`, central meridian `3n`. EPSG:4513–4533 are zones
//! 25–45 with the zone number in the false easting (x ≈ 39 500 000); EPSG:4534–4554 are the same zones with
//! false easting 500 000.

use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use proj::Proj;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// First and last CGCS2000 3° zones (EPSG codes exist for these).
pub const GK3_ZONES: std::ops::RangeInclusive<u32> = 25..=45;

/// EPSG code of the CGCS2000 3° Gauss-Krüger CRS for a zone, with or without the zone prefix in x.
pub fn gk3_epsg(zone: u32, prefixed: bool) -> Option<u32> {
    GK3_ZONES.contains(&zone).then(|| if prefixed { 4513 + zone - 25 } else { 4534 + zone - 25 })
}

/// The CGCS2000 3° zone whose central meridian is nearest to a longitude.
pub fn gk3_zone_for_lon(lon: f64) -> u32 {
    (lon / 3.0).round() as u32
}

/// If `epsg` is a CGCS2000 3° GK CRS, its zone and whether x carries the zone prefix.
pub fn gk3_zone_of_epsg(epsg: u32) -> Option<(u32, bool)> {
    match epsg {
        4513..=4533 => Some((epsg - 4513 + 25, true)),
        4534..=4554 => Some((epsg - 4534 + 25, false)),
        _ => None,
    }
}

/// What the registry needs to know about a CRS, taken from GDAL/PROJ once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CrsInfo {
    /// `AUTH:CODE` when the CRS has one, else its WKT.
    pub definition: String,
    /// EPSG code, if any.
    pub epsg: Option<u32>,
    /// Human-readable name.
    pub name: String,
    /// OGC WKT (for GeoPackage `gpkg_spatial_ref_sys` and Shapefile `.prj`).
    pub wkt: String,
    /// Definition of the geographic CRS it is based on (`EPSG:4490` for CGCS2000).
    pub geographic: String,
    /// Semi-major axis of the ellipsoid, metres.
    pub semi_major: f64,
    /// Inverse flattening of the ellipsoid.
    pub inv_flattening: f64,
    /// Projected (true) or geographic (false).
    pub projected: bool,
    /// Area of use as (west, south, east, north) degrees, when known.
    pub area_of_use: Option<[f64; 4]>,
    /// False easting in metres (projected CRSs).
    pub false_easting: f64,
    /// The PROJ pipeline from this CRS to `geographic` (lon, lat order), as PROJ chose it when the registry
    /// was created ([`geographic_pipeline`]). Built from this string, the transformation needs no lookup in
    /// PROJ's database: every command that measures an area starts about 10 ms sooner. None for a CRS
    /// described for a source, and in a registry created before it was kept (PROJ then chooses again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_geographic: Option<String>,
    /// A source's coordinates are GCJ-02 (`--src-crs GCJ02`): converted to WGS 84 ([`crate::gcj02`]) before
    /// they are transformed from this (WGS 84) CRS. Never set for a registry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gcj02: bool,
}

/// The PROJ pipeline PROJ chooses from `crs` to its geographic CRS (axis order lon, lat), or None when it
/// has none to give (an operation PROJ cannot write as one pipeline). The registry keeps it in its CRS
/// ([`CrsInfo::to_geographic`]).
pub fn geographic_pipeline(crs: &CrsInfo) -> Result<Option<String>> {
    let t = Transformer::new(&crs.definition, &crs.geographic)?;
    Ok(if t.identity { None } else { t.proj.def().ok().filter(|d| d.contains("proj=")) })
}

/// Normalise a `--crs`/`--src-crs` argument: `4527` → `EPSG:4527`; everything else is passed on.
pub fn normalise_arg(s: &str) -> String {
    let t = s.trim();
    if t.chars().all(|c| c.is_ascii_digit()) {
        format!("EPSG:{t}")
    } else {
        t.to_string()
    }
}

/// Describe a CRS given as `EPSG:n`, WKT or a PROJ string.
pub fn describe(def: &str) -> Result<CrsInfo> {
    let def = normalise_arg(def);
    let srs = SpatialRef::from_definition(&def).map_err(|e| Error::Crs { crs: def.clone(), reason: e.to_string() })?;
    describe_srs(&srs, &def)
}

/// Describe a GDAL spatial reference (as read from a source layer).
pub fn describe_srs(srs: &SpatialRef, label: &str) -> Result<CrsInfo> {
    let err = |reason: String| Error::Crs { crs: label.to_string(), reason };
    let mut srs = srs.clone();
    if srs.is_geocentric() || srs.is_vertical() || srs.is_local() {
        let kind = if srs.is_geocentric() {
            "geocentric (x, y, z from the earth's centre)"
        } else if srs.is_vertical() {
            "vertical"
        } else {
            "local (engineering)"
        };
        return Err(err(format!("is a {kind} CRS; polygons need a geographic (longitude/latitude) or projected CRS")));
    }
    let _ = srs.auto_identify_epsg();
    let epsg = match (srs.auth_name(), srs.auth_code()) {
        (Some(a), Ok(c)) if a.eq_ignore_ascii_case("EPSG") => Some(c as u32),
        _ => None,
    };
    let wkt = srs.to_wkt().map_err(|e| err(e.to_string()))?;
    let definition = epsg.map(|c| format!("EPSG:{c}")).unwrap_or_else(|| wkt.clone());
    let geog = srs.geog_cs().map_err(|e| err(e.to_string()))?;
    let geographic = match (geog.auth_name(), geog.auth_code()) {
        (Some(a), Ok(c)) => format!("{a}:{c}"),
        _ => geog.to_wkt().map_err(|e| err(e.to_string()))?,
    };
    let a = srs.semi_major().map_err(|e| err(e.to_string()))?;
    let b = srs.semi_minor().map_err(|e| err(e.to_string()))?;
    let inv_flattening = if (a - b).abs() < 1e-9 { 0.0 } else { a / (a - b) };
    let projected = srs.is_projected();
    let false_easting = if projected { srs.get_proj_param("false_easting").ok().flatten().unwrap_or(0.0) } else { 0.0 };
    let area_of_use =
        srs.area_of_use().map(|a| [a.west_lon_degree, a.south_lat_degree, a.east_lon_degree, a.north_lat_degree]);
    Ok(CrsInfo {
        definition,
        epsg,
        name: srs.name().unwrap_or_default(),
        wkt,
        geographic,
        semi_major: a,
        inv_flattening,
        projected,
        area_of_use,
        false_easting,
        to_geographic: None,
        gcj02: false,
    })
}

/// A GDAL spatial reference for a CRS definition, with traditional GIS axis order (x = easting/longitude).
pub fn gdal_srs(def: &str) -> Result<SpatialRef> {
    let mut srs =
        SpatialRef::from_definition(def).map_err(|e| Error::Crs { crs: short(def), reason: e.to_string() })?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

fn short(def: &str) -> String {
    if def.len() > 60 {
        format!("{}…", &def[..def.char_indices().nth(60).map(|(i, _)| i).unwrap_or(def.len())])
    } else {
        def.to_string()
    }
}

/// An object built once per thread and kept for the thread's life, found by its type and `key`. A PROJ
/// transformation is looked up in PROJ's database and costs milliseconds to build, and a parallel loop
/// asks for one per job (rayon's `map_init` calls its init for every job it splits off, hundreds per
/// 1 000 000 records): with this each worker thread builds each transformation once. The object stays on
/// its thread (`Rc`), like the PROJ context it holds.
pub fn per_thread<T: 'static>(key: &str, build: impl FnOnce() -> Result<T>) -> Result<std::rc::Rc<T>> {
    use std::any::{Any, TypeId};
    use std::rc::Rc;
    thread_local! {
        static KEPT: std::cell::RefCell<std::collections::HashMap<(TypeId, String), Rc<dyn Any>>> = std::cell::RefCell::new(std::collections::HashMap::new());
    }
    let id = (TypeId::of::<T>(), key.to_string());
    if let Some(kept) = KEPT.with(|k| k.borrow().get(&id).cloned()) {
        return Ok(kept.downcast::<T>().unwrap_or_else(|_| unreachable!("kept under its own type id")));
    }
    let made = Rc::new(build()?);
    KEPT.with(|k| k.borrow_mut().insert(id, made.clone()));
    Ok(made)
}

/// A coordinate transformation between two CRSs, in (x, y) = (easting|lon, northing|lat) order.
/// Not `Send`: make one per thread ([`Transformer::for_thread`]).
pub struct Transformer {
    proj: Proj,
    identity: bool,
}

impl Transformer {
    /// Transformer from `from` to `to` (each `AUTH:CODE`, WKT or PROJ string).
    pub fn new(from: &str, to: &str) -> Result<Transformer> {
        if from == to {
            // still build a Proj so errors in the definition surface here
            let proj = Proj::new_known_crs(from, to, None)
                .map_err(|e| Error::Crs { crs: short(from), reason: e.to_string() })?;
            return Ok(Transformer { proj, identity: true });
        }
        let proj = Proj::new_known_crs(from, to, None)
            .map_err(|e| Error::Crs { crs: format!("{} → {}", short(from), short(to)), reason: e.to_string() })?;
        Ok(Transformer { proj, identity: false })
    }

    /// Transformer given as one PROJ pipeline (as [`geographic_pipeline`] writes it): PROJ builds it without
    /// its database.
    pub fn from_pipeline(pipeline: &str) -> Result<Transformer> {
        let proj = Proj::new(pipeline).map_err(|e| Error::Crs { crs: short(pipeline), reason: e.to_string() })?;
        Ok(Transformer { proj, identity: false })
    }

    /// The calling thread's transformer from `from` to `to`, built on the thread's first call ([`per_thread`]).
    pub fn for_thread(from: &str, to: &str) -> Result<std::rc::Rc<Transformer>> {
        per_thread(&format!("{from}\u{0}{to}"), || Transformer::new(from, to))
    }

    /// Transform coordinates in place. Fails if any point cannot be transformed.
    pub fn coords(&self, pts: &mut [(f64, f64)]) -> Result<()> {
        if self.identity || pts.is_empty() {
            return Ok(());
        }
        self.proj.convert_array(pts).map_err(|e| Error::Invalid(format!("coordinate transformation failed: {e}")))?;
        if pts.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            return Err(Error::Invalid("coordinate transformation gave non-finite coordinates".into()));
        }
        Ok(())
    }

    /// [`Transformer::multipolygon`] of an owned multipolygon: the same one, not a copy, when the two CRSs
    /// are one.
    pub fn multipolygon_owned(&self, mp: MultiPolygon<f64>) -> Result<MultiPolygon<f64>> {
        if self.identity {
            return Ok(mp);
        }
        self.multipolygon(&mp)
    }

    /// Transform a multipolygon.
    pub fn multipolygon(&self, mp: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>> {
        if self.identity {
            return Ok(mp.clone());
        }
        let mut pts: Vec<(f64, f64)> = Vec::with_capacity(mp.0.iter().map(ring_points).sum());
        for p in &mp.0 {
            for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                pts.extend(r.0.iter().map(|c| (c.x, c.y)));
            }
        }
        self.coords(&mut pts)?;
        let mut it = pts.into_iter().map(|(x, y)| Coord { x, y });
        let polys =
            mp.0.iter()
                .map(|p| {
                    let ext = LineString((&mut it).take(p.exterior().0.len()).collect());
                    let ints = p.interiors().iter().map(|r| LineString((&mut it).take(r.0.len()).collect())).collect();
                    Polygon::new(ext, ints)
                })
                .collect();
        Ok(MultiPolygon(polys))
    }
}

fn ring_points(p: &Polygon<f64>) -> usize {
    p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
}

/// The part of a geographic box (west, south, east, north; degrees) inside a CRS's area of use — a
/// world-sized box is the zone's own area, not a transformation that fails — or None when they do not meet.
pub fn within_use(crs: &CrsInfo, [w, s, e, n]: [f64; 4]) -> Option<[f64; 4]> {
    let Some([uw, us, ue, un]) = crs.area_of_use else { return Some([w, s, e, n]) };
    let [w, s, e, n] = [w.max(uw), s.max(us), e.min(ue), n.min(un)];
    (w <= e && s <= n).then_some([w, s, e, n])
}

/// A geographic box's outline in `crs` (closed): its four edges followed in 16 steps each, so that the
/// outline keeps the edges' curves and its bounds hold the whole box.
pub fn box_outline(crs: &CrsInfo, [w, s, e, n]: [f64; 4]) -> Result<Polygon<f64>> {
    const STEPS: usize = 16;
    let lerp = |a: f64, b: f64, k: usize| a + (b - a) * k as f64 / STEPS as f64;
    let mut pts: Vec<(f64, f64)> = (0..STEPS)
        .map(|k| (lerp(w, e, k), s))
        .chain((0..STEPS).map(|k| (e, lerp(s, n, k))))
        .chain((0..STEPS).map(|k| (lerp(e, w, k), n)))
        .chain((0..STEPS).map(|k| (w, lerp(n, s, k))))
        .collect();
    Transformer::for_thread(&crs.geographic, &crs.definition)?.coords(&mut pts)?;
    pts.push(pts[0]);
    Ok(Polygon::new(pts.into_iter().map(|(x, y)| Coord { x, y }).collect(), vec![]))
}

/// Guess, from the x/y extent of unlabelled coordinates, which CRS they are probably in — for the hint in
/// the "no CRS" error message, which suggests a code of the kind the coordinates have (with or without the
/// zone prefix; for coordinates without one, the registry's own CRS `reg` when it is such a zone).
pub fn guess_hint(min_x: f64, max_x: f64, min_y: f64, max_y: f64, reg: &CrsInfo) -> String {
    if min_x >= -180.0 && max_x <= 180.0 && min_y >= -90.0 && max_y <= 90.0 {
        return "; the coordinates look like longitude/latitude: --src-crs EPSG:4490 (CGCS2000)".into();
    }
    let zone_lo = (min_x / 1e6).floor() as u32;
    let zone_hi = (max_x / 1e6).floor() as u32;
    if zone_lo == zone_hi && GK3_ZONES.contains(&zone_lo) {
        let code = gk3_epsg(zone_lo, true).unwrap();
        return format!(
            "; x values {min_x:.0}…{max_x:.0} carry the zone prefix {zone_lo}: probably CGCS2000 3° Gauss-Krüger zone {zone_lo} (--src-crs EPSG:{code})"
        );
    }
    if min_x > 0.0 && max_x < 1_000_000.0 && min_y > 0.0 && max_y < 6_500_000.0 {
        let own =
            reg.epsg.and_then(|c| gk3_zone_of_epsg(c).filter(|(_, prefixed)| !prefixed).map(|(zone, _)| (c, zone)));
        return match own {
            Some((c, zone)) => format!(
                "; x values without a zone prefix: probably a CGCS2000 Gauss-Krüger zone without prefix, such as the \
                 registry's own zone {zone} (--src-crs EPSG:{c}); EPSG:4534–4554 are 3° zones 25–45"
            ),
            None => "; x values without a zone prefix: a CGCS2000 Gauss-Krüger zone without prefix, EPSG:4534–4554 for 3° zones 25–45 \
                     (e.g. --src-crs EPSG:4549 for zone 40)"
                .into(),
        };
    }
    " (e.g. --src-crs EPSG:4549 for CGCS2000 3° Gauss-Krüger zone 40 without zone prefix)".into()
}

/// Check that projected coordinates fit the false easting of the CRS they are declared in; catches
/// zone-prefixed Gauss-Krüger coordinates declared as unprefixed and the reverse.
pub fn check_false_easting(info: &CrsInfo, min_x: f64, max_x: f64) -> Result<(), String> {
    if !info.projected || !min_x.is_finite() || !max_x.is_finite() {
        return Ok(());
    }
    let fe = info.false_easting;
    // a 3° or 6° zone spans well under ±1 000 km of easting from the central meridian
    let off = (min_x - fe).abs().max((max_x - fe).abs());
    if off < 1_000_000.0 {
        return Ok(());
    }
    let zone = (min_x / 1e6).floor() as u32;
    let mut msg = format!(
        "x coordinates {min_x:.0}…{max_x:.0} are more than 1 000 km from the false easting {fe:.0} of {} ({})",
        info.definition.chars().take(40).collect::<String>(),
        info.name
    );
    if fe < 1_000_000.0 && GK3_ZONES.contains(&zone) {
        msg.push_str(&format!(
            "; they carry the zone prefix {zone}: the data are in EPSG:{} (with zone prefix) — pass --src-crs EPSG:{}",
            gk3_epsg(zone, true).unwrap(),
            gk3_epsg(zone, true).unwrap()
        ));
    } else if fe >= 1_000_000.0 && min_x > 0.0 && max_x < 1_000_000.0 {
        let zone = ((fe - 500_000.0) / 1e6).round() as u32;
        if let Some(c) = gk3_epsg(zone, false) {
            msg.push_str(&format!("; they carry no zone prefix: pass --src-crs EPSG:{c}"));
        }
    }
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gk_zone_codes() {
        assert_eq!(gk3_epsg(40, true), Some(4528));
        assert_eq!(gk3_epsg(40, false), Some(4549));
        assert_eq!(gk3_zone_for_lon(119.68), 40);
        assert_eq!(gk3_zone_of_epsg(4549), Some((40, false)));
        assert_eq!(gk3_zone_of_epsg(4513), Some((25, true)));
        assert_eq!(gk3_epsg(46, false), None);
    }

    #[test]
    fn describe_cgcs2000_gk() {
        let i = describe("EPSG:4549").unwrap();
        assert_eq!(i.epsg, Some(4549));
        assert_eq!(i.geographic, "EPSG:4490");
        assert!((i.semi_major - 6_378_137.0).abs() < 1e-6);
        assert!((i.inv_flattening - 298.257222101).abs() < 1e-6);
        assert_eq!(i.false_easting, 500_000.0);
    }

    /// The pipeline a registry keeps gives the coordinates PROJ gives when it chooses the operation itself,
    /// to the last bit, for 3° zones with and without the zone number in the easting and a 6° zone; and
    /// areas measured through it are the same.
    #[test]
    fn the_kept_pipeline_transforms_as_proj_chooses() {
        for (code, x0) in [("EPSG:4549", 500_000.0), ("EPSG:4528", 40_500_000.0), ("EPSG:4502", 500_000.0)] {
            let info = describe(code).unwrap();
            let pipeline = geographic_pipeline(&info).unwrap().unwrap_or_else(|| panic!("{code}: no pipeline"));
            assert!(pipeline.contains("proj=tmerc") && pipeline.contains("inv"), "{code}: {pipeline}");
            let chosen = Transformer::new(&info.definition, &info.geographic).unwrap();
            let kept = Transformer::from_pipeline(&pipeline).unwrap();
            let pts: Vec<(f64, f64)> =
                (0..50).map(|i| (x0 - 150_000.0 + 6_123.4 * i as f64, 2_500_000.0 + 41_234.5 * i as f64)).collect();
            let (mut a, mut b) = (pts.clone(), pts);
            chosen.coords(&mut a).unwrap();
            kept.coords(&mut b).unwrap();
            assert_eq!(a, b, "{code}");
            assert!(
                a.iter().all(|(lon, lat)| (70.0..140.0).contains(lon) && (20.0..50.0).contains(lat)),
                "{code}: lon, lat order: {:?}",
                a[0]
            );
            let square =
                geo::MultiPolygon(vec![
                    geo::Rect::new((x0 - 1_000.0, 3_400_000.0), (x0 + 1_234.5, 3_401_789.0)).to_polygon()
                ]);
            let with = crate::area::AreaCalculator::for_crs(&CrsInfo {
                to_geographic: Some(pipeline.clone()),
                ..info.clone()
            })
            .unwrap();
            let without = crate::area::AreaCalculator::for_crs(&info).unwrap();
            assert_eq!(with.areas(&square).unwrap(), without.areas(&square).unwrap(), "{code}");
        }
        // a pipeline PROJ cannot read is an error naming it, not a silent fallback
        let e = Transformer::from_pipeline("proj=pipeline step proj=nosuchthing").err().unwrap().to_string();
        assert!(e.contains("nosuchthing"), "{e}");
    }

    #[test]
    fn transform_axis_order_is_lon_lat_and_east_north() {
        let t = Transformer::new("EPSG:4490", "EPSG:4549").unwrap();
        let mut p = [(120.0, 30.0)];
        t.coords(&mut p).unwrap();
        assert!((p[0].0 - 500_000.0).abs() < 1e-6, "{p:?}");
        // the CGCS2000 meridian arc from the equator to 30°N is 3 320 113.40 m
        assert!((p[0].1 - 3_320_113.40).abs() < 0.01, "{p:?}");
        let t2 = Transformer::new("EPSG:4549", "EPSG:4528").unwrap();
        let mut q = [(500_000.0, 3_320_000.0)];
        t2.coords(&mut q).unwrap();
        assert!((q[0].0 - 40_500_000.0).abs() < 1e-6);
    }

    #[test]
    fn a_thread_builds_each_transformer_once_and_keeps_it() {
        use std::rc::Rc;
        let a = Transformer::for_thread("EPSG:4490", "EPSG:4549").unwrap();
        let b = Transformer::for_thread("EPSG:4490", "EPSG:4549").unwrap();
        assert!(Rc::ptr_eq(&a, &b), "the same transformation on the same thread is the kept one");
        let c = Transformer::for_thread("EPSG:4549", "EPSG:4490").unwrap();
        assert!(!Rc::ptr_eq(&a, &c), "another pair of CRSs is another transformer");
        // and it transforms as a new one does
        let (mut p, mut q) = ([(120.0, 30.0)], [(120.0, 30.0)]);
        a.coords(&mut p).unwrap();
        Transformer::new("EPSG:4490", "EPSG:4549").unwrap().coords(&mut q).unwrap();
        assert_eq!(p, q);
        // the same key under another type is another object
        let n = per_thread("EPSG:4490\u{0}EPSG:4549", || Ok(7_u32)).unwrap();
        assert_eq!(*n, 7);
        // a failure is not kept: the next call builds again
        assert!(per_thread::<u32>("fails once", || Err(Error::Invalid("no".into()))).is_err());
        assert_eq!(*per_thread("fails once", || Ok(8_u32)).unwrap(), 8);
        // another thread builds its own
        let here = Rc::as_ptr(&a) as usize;
        let there =
            std::thread::spawn(|| Rc::as_ptr(&Transformer::for_thread("EPSG:4490", "EPSG:4549").unwrap()) as usize)
                .join()
                .unwrap();
        assert_ne!(here, there);
        // an invalid definition fails as Transformer::new does
        assert!(Transformer::for_thread("EPSG:999999", "EPSG:4490").is_err());
    }

    #[test]
    fn prefix_mismatch_is_explained() {
        let i = describe("EPSG:4549").unwrap();
        let e = check_false_easting(&i, 40_400_000.0, 40_600_000.0).unwrap_err();
        assert!(e.contains("EPSG:4528"), "{e}");
        let j = describe("EPSG:4528").unwrap();
        let e = check_false_easting(&j, 400_000.0, 600_000.0).unwrap_err();
        assert!(e.contains("EPSG:4549"), "{e}");
        assert!(check_false_easting(&i, 400_000.0, 600_000.0).is_ok());
    }
}
