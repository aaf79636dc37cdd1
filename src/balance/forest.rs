//! The forest account (林木资源存量及变动表): forest-land area by class (the 03xx rows of the land account) and
//! stock volume (蓄积量, m³) by origin (天然林 / 人工林 / 其他林木).
//!
//! - Opening and closing volume: the forest layer's stands (小班, `XJ`) valid on each date, clipped to the
//!   region; a stand cut by the region boundary contributes in proportion to its area inside.
//! - Growth, afforestation, harvest and disaster losses: the tabular input (`--forest-changes`, see
//!   `schemas/forest-changes.tableschema.json`), rows of the region (or its sub-regions) for the years ending in the period.
//! - Conversion losses: the forest land (03xx) that the transition matrix sends to other classes, with the
//!   volume density of the stand it lay in at the opening date.
//! - 其他变化 (other changes in volume, as in the SEEA asset account) is what is left so that opening +
//!   increases − decreases = closing: re-measurement and everything the inputs do not explain. It is shown,
//!   never hidden, and a note is added when it exceeds 5 % of the opening volume.

use std::collections::BTreeMap;

use geo::{Area, BoundingRect};
use serde::Serialize;

use super::inputs::{ForestChange, ForestItem, Origin};
use super::overlay::Pair;
use super::partition::Partition;
use crate::area::AreaCalculator;
use crate::catalog::Catalog;
use crate::geometry::Clip;
use crate::geometry::LayerIndex;
use crate::model::LayerKind;
use crate::quantity::{CubicMetres, SquareMetres};
use crate::region::Region;
use crate::store::StoredRecord;

/// A stand clipped to the region.
struct Stand {
    fid: i64,
    origin: Origin,
    /// Ellipsoidal area inside the region, m².
    area: f64,
    /// Volume inside the region, m³.
    volume: f64,
    /// Volume density, m³/m².
    density: f64,
    geometry: geo::MultiPolygon<f64>,
}

fn stands(records: &[StoredRecord], region: &Region, catalog: &Catalog, calc: &AreaCalculator) -> Vec<Stand> {
    let def = catalog.layer(LayerKind::Forest);
    let (qy, xj) = (def.field_index("QY"), def.field_index("XJ"));
    records
        .iter()
        .filter_map(|r| {
            let full = r.areas.ellipsoidal;
            let (g, area) = match region.outline.clip(&r.record.geometry) {
                Clip::Outside => return None,
                Clip::Inside => (r.record.geometry.clone(), full),
                Clip::Cut(g) => {
                    let a = crate::area::piece_area(calc, &g);
                    (g, a)
                }
            };
            let raw = qy.map(|i| r.record.value(i).to_string()).unwrap_or_default();
            let origin = Origin::normalise(&raw, catalog).unwrap_or(Origin::Other);
            let vol = xj.and_then(|i| r.record.value(i).as_f64()).unwrap_or(0.0);
            let density = if full > 0.0 { vol / full } else { 0.0 };
            Some(Stand { fid: r.fid, origin, area, volume: density * area, density, geometry: g })
        })
        .collect()
}

/// One origin's row of the volume table (m³; areas m²).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct VolumeRow {
    /// 天然 / 人工 / 其他, or 合计 for the total.
    pub origin: String,
    /// Stand area at the opening date, m².
    pub opening_area_m2: SquareMetres,
    /// 期初蓄积, m³.
    pub opening_m3: CubicMetres,
    /// 生长量 (growth), m³.
    pub growth_m3: CubicMetres,
    /// 造林 (afforestation), m³.
    pub afforestation_m3: CubicMetres,
    /// 采伐 (harvest), m³.
    pub harvest_m3: CubicMetres,
    /// 转为非林地 (volume on forest land converted to other classes), m³.
    pub conversion_m3: CubicMetres,
    /// 灾害 (disaster losses), m³.
    pub disaster_m3: CubicMetres,
    /// 其他变化 (other changes in volume: the balancing item), m³.
    pub other_m3: CubicMetres,
    /// 期末蓄积, m³.
    pub closing_m3: CubicMetres,
    /// Stand area at the closing date, m².
    pub closing_area_m2: SquareMetres,
}

impl VolumeRow {
    /// Opening volume per hectare.
    pub fn opening_per_ha(&self) -> f64 {
        self.opening_m3.per_hectare(self.opening_area_m2).unwrap_or(0.0)
    }
    /// Closing volume per hectare.
    pub fn closing_per_ha(&self) -> f64 {
        self.closing_m3.per_hectare(self.closing_area_m2).unwrap_or(0.0)
    }
    /// Increases.
    pub fn increases(&self) -> CubicMetres {
        self.growth_m3 + self.afforestation_m3 + CubicMetres(self.other_m3.0.max(0.0))
    }
    /// Decreases.
    pub fn decreases(&self) -> CubicMetres {
        self.harvest_m3 + self.conversion_m3 + self.disaster_m3 + CubicMetres((-self.other_m3.0).max(0.0))
    }
}

/// The volume part of the forest account.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ForestVolume {
    /// One row per origin, then 合计.
    pub rows: Vec<VolumeRow>,
    /// Number of stands at the opening and closing dates inside the region.
    pub stands: super::OpeningClosing<usize>,
}

/// The measured part of the volume account in one region: per origin, the stands' areas and volumes at
/// both dates and the volume on forest land converted to other classes, with the number of stands. Measures
/// of several regions (the counties of a streamed sheet) add up ([`StandMeasures::add`]); [`volume`] then
/// adds the change inputs and the balancing item.
#[derive(Debug, Clone)]
pub struct StandMeasures {
    rows: BTreeMap<Origin, VolumeRow>,
    /// The stands (fids) at the opening and closing dates inside the region: a stand crossing a county
    /// border is one stand of the province.
    stands: [std::collections::BTreeSet<i64>; 2],
}

impl Default for StandMeasures {
    fn default() -> Self {
        StandMeasures {
            rows: Origin::ALL
                .iter()
                .map(|o| (*o, VolumeRow { origin: o.label().to_string(), ..Default::default() }))
                .collect(),
            stands: Default::default(),
        }
    }
}

impl StandMeasures {
    /// Add another region's measures.
    pub fn add(&mut self, other: &StandMeasures) {
        for (o, r) in &other.rows {
            let e = self.rows.get_mut(o).expect("every origin has a row");
            e.opening_area_m2 += r.opening_area_m2;
            e.opening_m3 += r.opening_m3;
            e.conversion_m3 += r.conversion_m3;
            e.closing_m3 += r.closing_m3;
            e.closing_area_m2 += r.closing_area_m2;
        }
        for (a, b) in self.stands.iter_mut().zip(&other.stands) {
            a.extend(b);
        }
    }
}

/// Measure the stands of one region. `pairs` are the land overlay's pairs (with geometry where the class
/// changed).
#[allow(clippy::too_many_arguments)]
pub fn measure(
    open: &[StoredRecord],
    close: &[StoredRecord],
    region: &Region,
    a: &Partition,
    b: &Partition,
    pairs: &[Pair],
    catalog: &Catalog,
    calc: &AreaCalculator,
) -> StandMeasures {
    let s1 = stands(open, region, catalog, calc);
    let s2 = stands(close, region, catalog, calc);
    let idx = LayerIndex::of_boxes(&s1.iter().map(|s| s.geometry.bounding_rect()).collect::<Vec<_>>());
    let mut m = StandMeasures {
        stands: [s1.iter().map(|s| s.fid).collect(), s2.iter().map(|s| s.fid).collect()],
        ..Default::default()
    };
    let rows = &mut m.rows;
    for s in &s1 {
        let r = rows.get_mut(&s.origin).expect("every origin has a row");
        r.opening_m3 += CubicMetres(s.volume);
        r.opening_area_m2 += SquareMetres(s.area);
    }
    for s in &s2 {
        let r = rows.get_mut(&s.origin).expect("every origin has a row");
        r.closing_m3 += CubicMetres(s.volume);
        r.closing_area_m2 += SquareMetres(s.area);
    }
    // conversion: forest land leaving 03xx, with the density of the stands it lay in
    for p in pairs {
        let (from, to) = (&a.pieces[p.from].class, &b.pieces[p.to].class);
        if !from.starts_with("03") || to.starts_with("03") {
            continue;
        }
        let Some(g) = &p.geometry else { continue };
        let Some(bb) = g.bounding_rect() else { continue };
        for k in idx.in_box(bb.min().x, bb.min().y, bb.max().x, bb.max().y) {
            let s = &s1[k as usize];
            let piece = crate::geometry::intersection(g, &s.geometry);
            if piece.unsigned_area() <= 0.0 {
                continue;
            }
            rows.get_mut(&s.origin).expect("every origin has a row").conversion_m3 +=
                CubicMetres(crate::area::piece_area(calc, &piece) * s.density);
        }
    }
    m
}

/// The volume account: the measured stands with the change inputs (growth, afforestation, harvest,
/// disaster) and the balancing item 其他变化.
pub fn volume(measured: StandMeasures, changes: &[ForestChange], notes: &mut Vec<String>) -> ForestVolume {
    let StandMeasures { mut rows, stands } = measured;
    let stands = super::OpeningClosing { opening: stands[0].len(), closing: stands[1].len() };
    for c in changes {
        let r = rows.get_mut(&c.origin).expect("every origin has a row");
        match c.item {
            ForestItem::Growth => r.growth_m3 += c.volume_m3,
            ForestItem::Afforestation => r.afforestation_m3 += c.volume_m3,
            ForestItem::Harvest => r.harvest_m3 += c.volume_m3,
            ForestItem::Disaster => r.disaster_m3 += c.volume_m3,
        }
    }
    let mut out: Vec<VolumeRow> = Vec::new();
    let mut total = VolumeRow { origin: "合计".into(), ..Default::default() };
    for o in Origin::ALL {
        let mut r = rows.remove(&o).expect("every origin has a row");
        r.other_m3 = r.closing_m3
            - (r.opening_m3 + r.growth_m3 + r.afforestation_m3 - r.harvest_m3 - r.conversion_m3 - r.disaster_m3);
        if r.opening_m3.0 > 0.0 && r.other_m3.0.abs() > 0.05 * r.opening_m3.0 {
            notes.push(format!(
                "林木 {o}: 其他变化 (other changes in volume) is {:.0} m³, {:.1} % of the opening volume: the change inputs do not explain the re-measured stock",
                r.other_m3.0,
                100.0 * r.other_m3.0 / r.opening_m3.0
            ));
        }
        total.opening_area_m2 += r.opening_area_m2;
        total.opening_m3 += r.opening_m3;
        total.growth_m3 += r.growth_m3;
        total.afforestation_m3 += r.afforestation_m3;
        total.harvest_m3 += r.harvest_m3;
        total.conversion_m3 += r.conversion_m3;
        total.disaster_m3 += r.disaster_m3;
        total.other_m3 += r.other_m3;
        total.closing_m3 += r.closing_m3;
        total.closing_area_m2 += r.closing_area_m2;
        out.push(r);
    }
    out.push(total);
    if stands.opening == 0 && stands.closing == 0 {
        notes.push(
            "林木: the registry has no forest stands (小班) in the region at either date; stock volume is zero".into(),
        );
    }
    ForestVolume { rows: out, stands }
}
