//! The water account (水资源存量及变动表): surface water and groundwater quantities (万 m³) from the water
//! statistics (`--water`, bulletin style, items in `layers/rules/water-items.csv`), and the quality of the
//! assessed sections by class Ⅰ–劣Ⅴ. The water-surface area of the water classes comes from geometry (the
//! 11xx rows of the land account) and is added by the sheet.
//!
//! Opening is the first year's opening stock, the flows are summed over the years of the period, closing is
//! opening + increases − decreases; where the input also gives the last year's closing stock it must agree
//! within 0.5 万 m³ (the bulletins' rounding), or the sheet is refused.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::inputs::{BalanceConfig, WaterKind, WaterRow};
use crate::error::{Error, Result};
use crate::quantity::WanCubicMetres;

/// Largest accepted difference between a given closing stock and the flows' result, 万 m³.
pub const CLOSING_TOLERANCE: f64 = 0.5;

/// The water quantities: one line per item, one value per account (地表水, 地下水).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WaterAccount {
    /// Years summed.
    pub years: Vec<i32>,
    /// The items in table order; opening first, closing last.
    pub lines: Vec<WaterLine>,
    /// Sections by quality class in the last year with quality data.
    pub quality: Vec<QualityCount>,
    /// The year of the quality figures.
    pub quality_year: Option<i32>,
}

/// One item of the water account.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WaterLine {
    /// The item (期初存量, 降水径流 …).
    pub item: String,
    /// Opening, increase, decrease or closing.
    pub kind: WaterKind,
    /// English name.
    pub item_en: String,
    /// 地表水 surface water, 万 m³ (None: not given).
    pub surface: Option<WanCubicMetres>,
    /// 地下水 groundwater, 万 m³ (None: not given).
    pub ground: Option<WanCubicMetres>,
}

impl WaterLine {
    fn new(item: &str, kind: WaterKind, item_en: &str, [surface, ground]: [Option<f64>; 2]) -> WaterLine {
        WaterLine {
            item: item.into(),
            kind,
            item_en: item_en.into(),
            surface: surface.map(WanCubicMetres),
            ground: ground.map(WanCubicMetres),
        }
    }

    /// The value of an account (0 地表水, 1 地下水), 万 m³.
    pub fn value(&self, account: usize) -> Option<f64> {
        [self.surface, self.ground][account].map(|q| q.0)
    }
}

/// Sections of one water-quality class.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct QualityCount {
    /// The class (Ⅰ类 …).
    pub class: String,
    /// Sections (断面) of that class.
    pub sections: f64,
}

const ACCOUNTS: [&str; 2] = ["地表水", "地下水"];

/// Build the account from the rows of the sheet's scope.
pub fn account(rows: &[WaterRow], cfg: &BalanceConfig, years: &[i32], path: &Path) -> Result<WaterAccount> {
    let first = years.first().copied();
    let last = years.last().copied();
    // item position → per-account sum
    let mut sums: BTreeMap<usize, f64> = BTreeMap::new();
    for r in rows {
        let it = &cfg.water_items[r.item];
        let take = match it.kind {
            WaterKind::Opening => Some(r.year) == first,
            WaterKind::Closing => Some(r.year) == last,
            WaterKind::Increase | WaterKind::Decrease => true,
            WaterKind::Quality => false,
        };
        if take {
            *sums.entry(r.item).or_default() += r.value;
        }
    }
    let mut lines = Vec::new();
    let order = [WaterKind::Opening, WaterKind::Increase, WaterKind::Decrease];
    for kind in order {
        let mut seen: Vec<&str> = Vec::new();
        for w in cfg.water_items.iter().filter(|w| w.kind == kind && ACCOUNTS.contains(&w.account.as_str())) {
            if seen.contains(&w.item.as_str()) {
                continue;
            }
            seen.push(&w.item);
            let vals = ACCOUNTS.map(|acc| {
                cfg.water_items
                    .iter()
                    .position(|x| x.account == acc && x.item == w.item)
                    .map(|k| sums.get(&k).copied().unwrap_or(0.0))
            });
            lines.push(WaterLine::new(&w.item, kind, &w.name_en, vals));
        }
    }
    // closing from the flows, checked against a given closing stock
    let mut closing = [None, None];
    for (a, acc) in ACCOUNTS.iter().enumerate() {
        let mut v = 0.0;
        for line in &lines {
            let x = line.value(a).unwrap_or(0.0);
            match line.kind {
                WaterKind::Opening | WaterKind::Increase => v += x,
                WaterKind::Decrease => v -= x,
                _ => {}
            }
        }
        if let Some(k) = cfg.water_items.iter().position(|x| x.account == *acc && x.kind == WaterKind::Closing) {
            if let Some(given) = sums.get(&k) {
                if (given - v).abs() > CLOSING_TOLERANCE {
                    return Err(Error::Invalid(format!(
                        "{}: {acc} 期末存量 for {} is {given} 万m³, but 期初存量 + increases − decreases over {:?} give {v:.2} 万m³ (more than {CLOSING_TOLERANCE} apart)",
                        path.display(),
                        last.map(|y| y.to_string()).unwrap_or_default(),
                        years
                    )));
                }
            }
        }
        closing[a] = Some(v);
    }
    lines.push(WaterLine::new("期末存量", WaterKind::Closing, "Closing stock", closing));
    // quality: the last year that has any
    let qyear = rows.iter().filter(|r| cfg.water_items[r.item].kind == WaterKind::Quality).map(|r| r.year).max();
    let quality = cfg
        .water_items
        .iter()
        .enumerate()
        .filter(|(_, w)| w.kind == WaterKind::Quality)
        .map(|(k, w)| QualityCount {
            class: w.item.clone(),
            sections: rows.iter().filter(|r| r.item == k && Some(r.year) == qyear).map(|r| r.value).sum(),
        })
        .collect();
    Ok(WaterAccount { years: years.to_vec(), lines, quality, quality_year: qyear })
}

impl WaterAccount {
    /// Withdrawals (decrease items whose name ends in 取水) of an account (0 地表水, 1 地下水), 万 m³.
    pub fn withdrawal(&self, account: usize) -> f64 {
        self.lines
            .iter()
            .filter(|l| l.kind == WaterKind::Decrease && l.item.ends_with("取水"))
            .map(|l| l.value(account).unwrap_or(0.0))
            .sum()
    }

    /// Share of sections in classes Ⅰ–Ⅲ, % (None without quality data).
    pub fn good_share(&self) -> Option<f64> {
        let total: f64 = self.quality.iter().map(|q| q.sections).sum();
        (total > 0.0).then(|| 100.0 * self.quality.iter().take(3).map(|q| q.sections).sum::<f64>() / total)
    }
}
