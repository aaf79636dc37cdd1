//! Whether a source as a whole is plausible for the registry, once its records are prepared. A wrong
//! declared CRS passes every record's own checks — lon/lat read as Gauss-Krüger metres make tiny valid
//! polygons, zone 38 read as zone 40 makes polygons 500 km away — so the source is judged as a whole:
//! where most of its records land (the CRS's area of use, the registry's admin outline) and whether their
//! measured areas agree with the areas the delivery declares (TBMJ). A source that fails is refused,
//! naming what was found; `--force` imports it anyway.

use geo::BoundingRect;

use crate::catalog::LayerDef;
use crate::crs::{CrsInfo, Transformer};
use crate::error::{Error, Result};
use crate::model::LayerKind;
use crate::store::{PreparedRecord, Read, Registry};

/// How far outside the CRS's area of use a record's centre may lie before it counts as outside, in degrees of
/// latitude and of longitude. A registry may hold more than its zone (an admin layer of a region spanning
/// several zones, read in the zone of its centre), so the margins are wide: degrees read as metres land at
/// latitude 0, far outside any Chinese zone, and records far east or west are refused one by one (more than
/// 1000 km from the central meridian), data of another zone by the admin outline.
const USE_MARGIN_DEGREES: (f64, f64) = (3.0, 10.0);
/// How far outside the extent of the registry's admin outline (metres) a record may lie.
const OUTLINE_MARGIN_METRES: f64 = 5_000.0;
/// Measured over declared area outside this band counts as a disagreement.
const AREA_RATIO_BAND: (f64, f64) = (0.5, 2.0);
/// Declared areas needed before their disagreement is judged.
const AREA_MIN_RECORDS: usize = 3;

/// What the plausibility checks gather from the records as they come, a batch at a time: how many land
/// outside the CRS's area of use or far from the admin outline, and the measured ÷ declared area ratios.
pub(super) struct Tally<'a> {
    crs: &'a CrsInfo,
    def: &'a LayerDef,
    /// The extent of the registry's admin outline (not for the admin layer itself).
    outline: Option<[f64; 4]>,
    records: usize,
    outside_use: usize,
    far: usize,
    ratios: Vec<f64>,
}

/// An admin code without its trailing `00` pairs (`330500` → `3305`), the prefix of the codes under it.
fn stem(code: &str) -> &str {
    let mut s = code;
    while s.len() > 2 && s.ends_with("00") {
        s = &s[..s.len() - 2];
    }
    s
}

impl<'a> Tally<'a> {
    /// `scope`: the import's `--scope`. A scoped import (one county of a province) is judged by the outlines of
    /// its scope and of the regions above and below it only: a neighbour's outline says nothing of where a
    /// county lies, and a county the registry has no outline for yet is judged by the CRS alone.
    pub(super) fn new(reg: &'a Registry, def: &'a LayerDef, scope: Option<&str>) -> Result<Tally<'a>> {
        // fail early, with a clear message, if PROJ cannot build the transformation
        Transformer::new(&reg.crs.definition, &reg.crs.geographic)?;
        let related = |key: &str| scope.is_none_or(|s| key.starts_with(stem(s)) || s.starts_with(stem(key)));
        let outline = match def.kind {
            LayerKind::Admin => None,
            _ => reg
                .read(&Read::layer(LayerKind::Admin))?
                .into_iter()
                .filter(|r| related(&r.record.key))
                .filter_map(|r| r.record.geometry.bounding_rect())
                .map(|b| [b.min().x, b.max().x, b.min().y, b.max().y])
                .reduce(|a, b| [a[0].min(b[0]), a[1].max(b[1]), a[2].min(b[2]), a[3].max(b[3])]),
        };
        Ok(Tally { crs: &reg.crs, def, outline, records: 0, outside_use: 0, far: 0, ratios: Vec::new() })
    }

    /// Take in a batch of prepared records.
    pub(super) fn add(&mut self, records: &[PreparedRecord]) -> Result<()> {
        let boxes: Vec<geo::Rect<f64>> = records.iter().filter_map(|r| r.geometry.bounding_rect()).collect();
        self.records += boxes.len();
        if let Some([w, s, e, n]) = self.crs.area_of_use {
            let to_geo = Transformer::for_thread(&self.crs.definition, &self.crs.geographic)?;
            let mut centres: Vec<(f64, f64)> = boxes.iter().map(|b| (b.center().x, b.center().y)).collect();
            to_geo.coords(&mut centres)?;
            let (my, mx) = USE_MARGIN_DEGREES;
            self.outside_use +=
                centres.iter().filter(|(x, y)| !(*x >= w - mx && *x <= e + mx && *y >= s - my && *y <= n + my)).count();
        }
        if let Some([x0, x1, y0, y1]) = self.outline {
            let g = OUTLINE_MARGIN_METRES;
            self.far += boxes
                .iter()
                .filter(|b| b.max().x < x0 - g || b.min().x > x1 + g || b.max().y < y0 - g || b.min().y > y1 + g)
                .count();
        }
        if let Some(i) = self.def.area_field.as_deref().and_then(|f| self.def.field_index(f)) {
            self.ratios.extend(
                records
                    .iter()
                    .filter_map(|r| r.values[i].as_f64().filter(|d| *d > 0.0).map(|d| r.areas.ellipsoidal / d)),
            );
        }
        Ok(())
    }

    /// What makes the whole source implausible, if anything: most of its records outside the registry's CRS
    /// area of use, or far from its admin outline, or measured areas disagreeing with the declared ones for
    /// most records that declare one.
    pub(super) fn verdict(mut self) -> Option<String> {
        let n = self.records;
        if n == 0 {
            return None;
        }
        if self.outside_use * 2 > n {
            let [w, s, e, nn] = self.crs.area_of_use.expect("counted only with one");
            return Some(format!(
                "{} of {n} records lie outside the area of use of the registry's CRS {} ({w}°…{e}° E, {s}°…{nn}° N)",
                self.outside_use, self.crs.name
            ));
        }
        if self.far * 2 > n {
            return Some(format!(
                "{} of {n} records lie more than {:.0} km outside the registry's admin outline",
                self.far,
                OUTLINE_MARGIN_METRES / 1000.0
            ));
        }
        let field = self.def.area_field.as_deref()?;
        declared_areas(&mut self.ratios, field)
    }
}

/// The check of admin outlines read in longitude/latitude that carry the GCJ-02 signature: a stored
/// outline of the same region (same key) lies more than 50 m from where the source puts it, and the source
/// taken as GCJ-02 lands on it ([`crate::gcj02::Offsets::signature`]). Only a stored outline can tell;
/// other layers and a first vintage pass unchecked.
pub(super) struct Gcj02 {
    /// The layer's key field.
    key: String,
    /// The registry's CRS.
    crs: CrsInfo,
    /// The stored outlines' centres by key; None: nothing to check.
    stored: Option<std::collections::HashMap<String, geo::Point<f64>>>,
}

impl Gcj02 {
    pub(super) fn new(reg: &Registry, def: &LayerDef, src: &crate::crs::CrsInfo) -> Result<Gcj02> {
        use geo::Centroid;
        if def.kind != LayerKind::Admin || src.projected || src.gcj02 {
            return Ok(Gcj02 { key: def.key.clone(), crs: reg.crs.clone(), stored: None });
        }
        let stored = reg
            .read(&Read::layer(LayerKind::Admin))?
            .into_iter()
            .filter_map(|r| r.record.geometry.centroid().map(|c| (r.record.key.clone(), c)))
            .collect();
        Transformer::new("EPSG:4326", &reg.crs.definition)?;
        Ok(Gcj02 { key: def.key.clone(), crs: reg.crs.clone(), stored: Some(stored) })
    }

    /// Refuse the source when one of these records carries the signature.
    pub(super) fn check(&self, records: &[PreparedRecord], file: &str) -> Result<()> {
        use geo::Centroid;
        let Some(stored) = &self.stored else { return Ok(()) };
        let to_geo = Transformer::for_thread(&self.crs.definition, &self.crs.geographic)?;
        let from_wgs84 = Transformer::for_thread("EPSG:4326", &self.crs.definition)?;
        for r in records {
            let (Some(old), Some(new)) = (stored.get(&r.key), r.geometry.centroid()) else { continue };
            // the centre as the source gave it (WGS 84 / CGCS2000 lon/lat, which differ by centimetres), taken
            // as GCJ-02 and converted
            let mut p = [(new.x(), new.y())];
            to_geo.coords(&mut p)?;
            let (lon, lat) = crate::gcj02::to_wgs84(p[0].0, p[0].1);
            let mut q = [(lon, lat)];
            from_wgs84.coords(&mut q)?;
            let offsets = crate::gcj02::Offsets {
                as_read: (new.x() - old.x()).hypot(new.y() - old.y()),
                as_gcj02: (q[0].0 - old.x()).hypot(q[0].1 - old.y()),
            };
            if offsets.signature() {
                return Err(Error::Invalid(format!(
                    "{file}: {} {}: the outline lies {:.0} m from the stored outline of the same region, and {:.1} m from it once \
                     read as GCJ-02 (火星坐标, the shifted coordinates of Chinese web maps such as Amap/高德 or Tencent): the \
                     source is probably GCJ-02. Nothing was written. Import it with --src-crs GCJ02 to convert it to WGS 84 (the \
                     published shift, inverted to 0.1 mm; the tracing's own error stays), or with --force as it is",
                    self.key, r.key, offsets.as_read, offsets.as_gcj02
                )));
            }
        }
        Ok(())
    }
}

/// The disagreement of measured and declared areas (`ratios`: measured ÷ declared, of `field`), when most
/// records that declare one disagree.
fn declared_areas(ratios: &mut [f64], field: &str) -> Option<String> {
    if ratios.len() < AREA_MIN_RECORDS {
        return None;
    }
    let off = ratios.iter().filter(|q| **q < AREA_RATIO_BAND.0 || **q > AREA_RATIO_BAND.1).count();
    if off * 2 <= ratios.len() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    Some(format!(
        "the measured areas of {off} of {} records disagree with their declared {field} (measured ÷ declared outside {}…{}; median {median:.3e})",
        ratios.len(),
        AREA_RATIO_BAND.0,
        AREA_RATIO_BAND.1
    ))
}
