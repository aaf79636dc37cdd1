//! Liabilities (负债): named, configurable models (`layers/rules/liabilities.toml`) made of the items below.
//! Practice has no single national definition, so the sheet prints the model, its description and the
//! inputs each item used. An item whose target or input is missing is listed as not computed, with why.

use serde::Serialize;

use super::inputs::{Item, LiabilityModel, RegionTargets};
use super::partition::{Partition, GAP};
use super::OpeningClosing;
use crate::area::AreaCalculator;
use crate::catalog::{RedlineRules, Verdict};
use crate::geometry::Outline;
use crate::quantity::{CubicMetres, SquareMetres, WanCubicMetres};
use crate::store::StoredRecord;

/// One computed liability item.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Liability {
    /// The item.
    pub item: Item,
    /// Chinese label.
    pub name: String,
    /// Unit (公顷, 万m³, m³).
    pub unit: String,
    /// Value at the opening date (where the item has one).
    pub opening: Option<f64>,
    /// Actual value at the closing date / over the period.
    pub actual: Option<f64>,
    /// Target, cap or quota (None: the item has none, or it was not provided).
    pub target: Option<f64>,
    /// The liability (None: could not be computed).
    pub liability: Option<f64>,
    /// Where the numbers came from, or why the item was not computed.
    pub basis: String,
}

/// Area of prohibited land uses inside red lines: each partition piece against each red line it meets,
/// judged by the red line's 管控分区 (`GKFQ`) and the red-line table. m².
pub fn redline_encroachment(
    p: &Partition,
    redlines: &[(String, Outline)],
    rules: &RedlineRules,
    calc_for: &(dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync),
) -> f64 {
    use rayon::prelude::*;
    redlines
        .iter()
        .map(|(zone, outline)| {
            let Some(b) = outline.bounds() else { return 0.0 };
            p.index
                .in_box(b.min().x, b.min().y, b.max().x, b.max().y)
                .par_iter()
                .map(|&k| &p.pieces[k as usize])
                .filter(|x| x.class != GAP && matches!(rules.verdict(zone, &x.class), Verdict::Prohibited(_)))
                .map_init(calc_for, |calc, x| {
                    outline.area_inside(&x.geometry, x.area, |g| crate::area::piece_area(calc, g))
                })
                .sum::<f64>()
        })
        .sum()
}

/// Ellipsoidal area of zone records (farmland blocks …) inside the region, m².
pub fn zone_area(records: &[StoredRecord], region: &Outline, calc: &AreaCalculator) -> f64 {
    records
        .iter()
        .map(|r| region.area_inside(&r.record.geometry, r.areas.ellipsoidal, |g| crate::area::piece_area(calc, g)))
        .sum()
}

/// The area of a zone inside the region at both dates.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ZoneArea {
    /// The zone (生态保护红线 / 永久基本农田 / 城镇开发边界).
    pub zone: String,
    /// At the opening date, m².
    pub opening_m2: SquareMetres,
    /// At the closing date, m².
    pub closing_m2: SquareMetres,
}

/// Figures the items (and the audit's indicators) are computed from.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Figures {
    /// Area of the red lines, the permanent basic farmland and the urban development boundary inside the
    /// region at the opening and closing dates, m².
    pub zone_areas_m2: Vec<ZoneArea>,
    /// Prohibited use inside red lines at the opening and closing dates, m².
    pub redline_prohibited_m2: OpeningClosing<SquareMetres>,
    /// 永久基本农田 area in the region at the opening and closing dates, m².
    pub farmland_m2: OpeningClosing<SquareMetres>,
    /// Groundwater withdrawal over the period, 万 m³ (None: no water statistics).
    pub groundwater_withdrawal: Option<WanCubicMetres>,
    /// Harvest over the period, m³ (None: no forest changes input).
    pub harvest_m3: Option<CubicMetres>,
    /// Number of years in the period (for yearly caps).
    pub years: usize,
    /// 草畜平衡 in 羊单位 (None: no livestock input).
    pub grazing_su: Option<GrazingFigures>,
}

/// The grassland's carrying capacity and the livestock on it at both dates, 羊单位.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
pub struct GrazingFigures {
    /// 合理载畜量.
    pub capacity: OpeningClosing<f64>,
    /// 实际载畜量 (None: no livestock rows for that date's year).
    pub stocking: OpeningClosing<Option<f64>>,
    /// The livestock years used.
    pub years: OpeningClosing<i32>,
}

/// Compute a model's items.
pub fn compute(
    model: &LiabilityModel,
    fig: &Figures,
    targets: Option<&RegionTargets>,
    targets_src: &str,
) -> Vec<Liability> {
    let missing =
        |what: &str| format!("未计算 (not computed): no {what} in the targets file{targets_src} for this region");
    model
        .items
        .iter()
        .map(|&item| match item {
            Item::RedlineEncroachment => Liability {
                item,
                name: "生态保护红线内禁止用途面积".into(),
                unit: "公顷".into(),
                opening: Some(fig.redline_prohibited_m2.opening.hectares()),
                actual: Some(fig.redline_prohibited_m2.closing.hectares()),
                target: Some(0.0),
                liability: Some(fig.redline_prohibited_m2.closing.hectares()),
                basis:
                    "地类图斑 × 生态保护红线, classes prohibited by layers/rules/redline-landuse.csv in each 管控分区"
                        .into(),
            },
            Item::FarmlandShortfall => {
                let t = targets.and_then(|t| t.permanent_farmland_ha);
                Liability {
                    item,
                    name: "永久基本农田低于保护目标面积".into(),
                    unit: "公顷".into(),
                    opening: Some(fig.farmland_m2.opening.hectares()),
                    actual: Some(fig.farmland_m2.closing.hectares()),
                    target: t,
                    liability: t.map(|t| (t - fig.farmland_m2.closing.hectares()).max(0.0)),
                    basis: if t.is_some() {
                        "永久基本农田 layer clipped to the region vs permanent_farmland_ha".into()
                    } else {
                        missing("permanent_farmland_ha")
                    },
                }
            }
            Item::GroundwaterOverCap => {
                let cap = targets.and_then(|t| t.groundwater_cap_10k_m3_per_year).map(|c| c * fig.years as f64);
                let basis = match (cap, fig.groundwater_withdrawal) {
                    (_, None) => "未计算 (not computed): no water statistics (--water)".into(),
                    (None, _) => missing("groundwater_cap_10k_m3_per_year"),
                    _ => format!("地下水 取水 items of the water statistics vs the yearly cap × {} years", fig.years),
                };
                Liability {
                    item,
                    name: "地下水超采量".into(),
                    unit: "万m³".into(),
                    opening: None,
                    actual: fig.groundwater_withdrawal.map(|w| w.0),
                    target: cap,
                    liability: cap.zip(fig.groundwater_withdrawal).map(|(c, w)| (w.0 - c).max(0.0)),
                    basis,
                }
            }
            Item::HarvestOverQuota => {
                let quota = targets.and_then(|t| t.harvest_quota_m3_per_year).map(|q| q * fig.years as f64);
                let basis = match (quota, fig.harvest_m3) {
                    (_, None) => "未计算 (not computed): no forest changes (--forest-changes)".into(),
                    (None, _) => missing("harvest_quota_m3_per_year"),
                    _ => format!("采伐 rows of the forest changes vs the yearly quota × {} years", fig.years),
                };
                Liability {
                    item,
                    name: "林木超限额采伐量".into(),
                    unit: "m³".into(),
                    opening: None,
                    actual: fig.harvest_m3.map(|h| h.0),
                    target: quota,
                    liability: quota.zip(fig.harvest_m3).map(|(q, h)| (h.0 - q).max(0.0)),
                    basis,
                }
            }
            Item::GrazingOverCapacity => grazing_over_capacity(fig.grazing_su),
        })
        .collect()
}

/// 草原超载牲畜: the livestock at the closing date over the grassland's carrying capacity, 羊单位.
fn grazing_over_capacity(g: Option<GrazingFigures>) -> Liability {
    let basis = match g {
        None => "未计算 (not computed): no livestock input (--livestock)".to_string(),
        Some(g) if g.stocking.closing.is_none() => {
            format!("未计算 (not computed): the livestock input has no rows for {}", g.years.closing)
        }
        Some(g) => format!(
            "{} 年末存栏 × 羊单位系数 vs 合理载畜量 of the grassland (layers/rules/grazing.toml)",
            g.years.closing
        ),
    };
    Liability {
        item: Item::GrazingOverCapacity,
        name: "草原超载牲畜".into(),
        unit: "羊单位".into(),
        opening: g.and_then(|g| g.stocking.opening),
        actual: g.and_then(|g| g.stocking.closing),
        target: g.map(|g| g.capacity.closing),
        liability: g.and_then(|g| g.stocking.closing.map(|s| (s - g.capacity.closing).max(0.0))),
        basis,
    }
}
