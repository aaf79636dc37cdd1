//! 草畜平衡 (forage–livestock balance), the grassland account's liability side: the theoretical carrying
//! capacity of the region's grassland (合理载畜量) against its actual stocking (实际载畜量), both in 羊单位
//! (sheep units, SU), at the opening and the closing date.
//!
//! ```text
//! land account (level 2) ─▶ grassland area by class × yield × utilisation / (intake × days) ─▶ capacity
//! livestock input (年末存栏 by kind) × 羊单位 coefficients                                   ─▶ stocking
//!                                                    ─▶ overload (SU) and 超载率 (%) at both dates
//! ```
//!
//! The coefficients, yields, utilisation rates, intake and days are data (`layers/rules/grazing.toml`); the
//! stocking at a date is the year-end count of the latest year ending on or before it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::land::{ClassLabel, LandAccount};
use super::OpeningClosing;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::io::tabular;
use crate::model::AsOf;
use crate::quantity::SquareMetres;

/// The embedded `layers/rules/grazing.toml`.
pub const DEFAULT: &str = include_str!("../../layers/rules/grazing.toml");

/// The forage of one land class.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forage {
    /// Usable standard-hay yield, kg/ha/year.
    pub yield_kg_per_ha: f64,
    /// Utilisation rate (合理利用率), 0–1.
    pub utilisation: f64,
}

/// The rules of the balance (`layers/rules/grazing.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrazingRules {
    /// Standard hay one SU eats a day, kg.
    pub intake_kg_per_day: f64,
    /// Grazing days a year.
    pub grazing_days: f64,
    /// 羊单位 coefficient of each kind of livestock.
    pub sheep_units: BTreeMap<String, f64>,
    /// Forage by 三调 land class.
    pub forage: BTreeMap<String, Forage>,
}

impl GrazingRules {
    /// Parse and check the rules; `file` names them in errors.
    pub fn parse(text: &str, file: &str, catalog: &Catalog) -> Result<GrazingRules> {
        let bad = |reason: String| Error::Config { file: file.to_string(), reason };
        let r: GrazingRules = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(r.intake_kg_per_day) {
            return Err(bad(format!("intake_kg_per_day {} is not a positive number", r.intake_kg_per_day)));
        }
        if !(1.0..=366.0).contains(&r.grazing_days) {
            return Err(bad(format!("grazing_days {} is not 1 … 366", r.grazing_days)));
        }
        if let Some((k, v)) = r.sheep_units.iter().find(|(_, v)| !positive(**v)) {
            return Err(bad(format!("[sheep_units] {k} = {v} is not a positive coefficient")));
        }
        for (code, f) in &r.forage {
            if catalog.classes.landuse_name(code).is_none() {
                return Err(bad(format!("[forage.\"{code}\"]: no land class has the code {code}")));
            }
            if !(f.yield_kg_per_ha.is_finite() && f.yield_kg_per_ha >= 0.0) {
                return Err(bad(format!("[forage.\"{code}\"] yield_kg_per_ha {} is negative", f.yield_kg_per_ha)));
            }
            if !(f.utilisation > 0.0 && f.utilisation <= 1.0) {
                return Err(bad(format!("[forage.\"{code}\"] utilisation {} is not in (0, 1]", f.utilisation)));
            }
        }
        Ok(r)
    }

    /// The SU a hectare of a class carries for a year.
    fn su_per_ha(&self, f: &Forage) -> f64 {
        f.yield_kg_per_ha * f.utilisation / (self.intake_kg_per_day * self.grazing_days)
    }
}

/// One row of the livestock input.
#[derive(Debug, Clone)]
pub struct LivestockRow {
    /// Region code.
    pub region: String,
    /// Year (the count is at its end).
    pub year: i32,
    /// Kind (a key of `[sheep_units]`).
    pub kind: String,
    /// Head.
    pub head: f64,
}

/// Read a livestock input (CSV or Parquet: 行政区代码, 年份, 畜种, 存栏数), keeping the rows of `codes` and
/// the codes under them. A bad row is an error naming the file, the row (1 = first data row) and the field.
pub fn livestock(path: &Path, codes: &[String], rules: &GrazingRules) -> Result<Vec<LivestockRow>> {
    let rows = tabular::read_rows(path)?;
    let col = |names: &[&str]| {
        rows.headers.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n))).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: missing column {} (columns found: {})",
                path.display(),
                names.join(" / "),
                rows.headers.join(", ")
            ))
        })
    };
    let (ri, yi, ki, hi) =
        (col(&["行政区代码", "region"])?, col(&["年份", "year"])?, col(&["畜种", "kind"])?, col(&["存栏数", "head"])?);
    let mut out = Vec::new();
    for (k, row) in rows.rows.iter().enumerate() {
        let n = k + 1;
        let bad =
            |field: &str, why: String| Error::Invalid(format!("{}: row {n}, field {field}: {why}", path.display()));
        let get = |i: usize, field: &str| row[i].as_deref().map(str::trim).ok_or_else(|| bad(field, "empty".into()));
        let region = get(ri, "行政区代码")?.to_string();
        let y = get(yi, "年份")?;
        let year = y
            .trim_end_matches(".0")
            .parse::<i32>()
            .ok()
            .filter(|y| (1900..=2200).contains(y))
            .ok_or_else(|| bad("年份", format!("'{y}' is not a year")))?;
        let kind = get(ki, "畜种")?.to_string();
        if !rules.sheep_units.contains_key(&kind) {
            let known: Vec<&str> = rules.sheep_units.keys().map(String::as_str).collect();
            return Err(bad(
                "畜种",
                format!("'{kind}' has no 羊单位 coefficient in grazing.toml [sheep_units] ({})", known.join(", ")),
            ));
        }
        let h = get(hi, "存栏数")?;
        let head = h
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| bad("存栏数", format!("'{h}' is not a head count (a non-negative number)")))?;
        if codes.iter().any(|c| region.starts_with(c.as_str())) {
            out.push(LivestockRow { region, year, kind, head });
        }
    }
    Ok(out)
}

/// The carrying capacity of one land class.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CapacityRow {
    /// The class.
    pub class: ClassLabel,
    /// Its area, m².
    pub area_m2: OpeningClosing<SquareMetres>,
    /// Usable standard-hay yield, kg/ha/year.
    pub yield_kg_per_ha: f64,
    /// Utilisation rate.
    pub utilisation: f64,
    /// 合理载畜量, SU.
    pub capacity_su: OpeningClosing<f64>,
}

/// The stocking of one kind of livestock.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StockingRow {
    /// 绵羊, 牛 …
    pub kind: String,
    /// Its 羊单位 coefficient.
    pub sheep_units: f64,
    /// Head at the opening and closing dates.
    pub head: OpeningClosing<f64>,
    /// SU.
    pub su: OpeningClosing<f64>,
}

/// The 草畜平衡 of a sheet.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Grazing {
    /// Capacity by class.
    pub capacity: Vec<CapacityRow>,
    /// Stocking by kind.
    pub stocking: Vec<StockingRow>,
    /// The livestock years used at the opening and closing dates.
    pub years: OpeningClosing<i32>,
    /// 合理载畜量, SU.
    pub capacity_su: OpeningClosing<f64>,
    /// 实际载畜量, SU (None: no livestock rows for that date's year).
    pub stocking_su: OpeningClosing<Option<f64>>,
    /// Stocking over capacity, SU (negative: spare capacity).
    pub overload_su: OpeningClosing<Option<f64>>,
    /// 超载率 = overload / capacity, % (None: no stocking, or no capacity).
    pub overload_rate_pct: OpeningClosing<Option<f64>>,
    /// Intake, days and where the rules came from.
    pub basis: String,
}

/// The year whose 31 December is the latest on or before `d`.
pub fn count_year(d: AsOf) -> i32 {
    use chrono::Datelike;
    if d.month() == 12 && d.day() == 31 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// The balance from the second-level land account and the livestock rows.
pub fn balance(
    level2: &LandAccount,
    rows: &[LivestockRow],
    dates: (AsOf, AsOf),
    rules: &GrazingRules,
    source: &str,
) -> Grazing {
    let years = OpeningClosing { opening: count_year(dates.0), closing: count_year(dates.1) };
    let capacity: Vec<CapacityRow> = level2
        .classes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let f = rules.forage.get(&c.code)?;
            let (a, b) = (level2.opening(i) as f64, level2.closing(i) as f64);
            let su = |m2: f64| m2 / 1e4 * rules.su_per_ha(f);
            Some(CapacityRow {
                class: c.clone(),
                area_m2: OpeningClosing { opening: SquareMetres(a), closing: SquareMetres(b) },
                yield_kg_per_ha: f.yield_kg_per_ha,
                utilisation: f.utilisation,
                capacity_su: OpeningClosing { opening: su(a), closing: su(b) },
            })
        })
        .collect();
    let head = |kind: &str, year: i32| -> f64 {
        rows.iter().filter(|r| r.kind == kind && r.year == year).map(|r| r.head).sum()
    };
    let stocking: Vec<StockingRow> = rules
        .sheep_units
        .iter()
        .filter(|(k, _)| rows.iter().any(|r| &r.kind == *k && (r.year == years.opening || r.year == years.closing)))
        .map(|(k, &coef)| {
            let h = OpeningClosing { opening: head(k, years.opening), closing: head(k, years.closing) };
            StockingRow {
                kind: k.clone(),
                sheep_units: coef,
                head: h,
                su: OpeningClosing { opening: h.opening * coef, closing: h.closing * coef },
            }
        })
        .collect();
    let capacity_su = OpeningClosing {
        opening: capacity.iter().map(|c| c.capacity_su.opening).sum(),
        closing: capacity.iter().map(|c| c.capacity_su.closing).sum(),
    };
    let has = |y: i32| rows.iter().any(|r| r.year == y);
    let stocked = |y: i32, pick: fn(&StockingRow) -> f64| has(y).then(|| stocking.iter().map(pick).sum::<f64>());
    let stocking_su = OpeningClosing {
        opening: stocked(years.opening, |s| s.su.opening),
        closing: stocked(years.closing, |s| s.su.closing),
    };
    let over = |s: Option<f64>, c: f64| s.map(|s| s - c);
    let overload_su = OpeningClosing {
        opening: over(stocking_su.opening, capacity_su.opening),
        closing: over(stocking_su.closing, capacity_su.closing),
    };
    let rate = |o: Option<f64>, c: f64| o.filter(|_| c > 0.0).map(|o| 100.0 * o / c);
    let overload_rate_pct = OpeningClosing {
        opening: rate(overload_su.opening, capacity_su.opening),
        closing: rate(overload_su.closing, capacity_su.closing),
    };
    let basis = format!(
        "合理载畜量 = 面积 × 可利用产草量 × 利用率 / ({} kg × {} 天); 实际载畜量 = {} 年末 / {} 年末存栏 × 羊单位系数 ({source})",
        rules.intake_kg_per_day, rules.grazing_days, years.opening, years.closing
    );
    Grazing { capacity, stocking, years, capacity_su, stocking_su, overload_su, overload_rate_pct, basis }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::Level;

    fn rules() -> GrazingRules {
        GrazingRules::parse(DEFAULT, "grazing.toml", &Catalog::embedded().unwrap()).unwrap()
    }

    /// 100 ha of 0401 at 1 200 kg × 0.5 over 1.8 kg × 365 days carries 91.32 SU; 40 ha of 0403 at 4 000 ×
    /// 0.7: 170.47 SU. 20 cattle (× 5) and 150 sheep make 250 SU.
    #[test]
    fn capacity_and_stocking_by_hand() {
        let l = |c: &str| ClassLabel { code: c.into(), name: String::new() };
        // 0401 100 ha → 60 ha at the end (40 ha ploughed to 0103); 0403 40 ha throughout
        let acc = LandAccount {
            level: Level::Two,
            classes: vec![l("0103"), l("0401"), l("0403")],
            matrix: vec![vec![0, 0, 0], vec![400_000, 600_000, 0], vec![0, 0, 400_000]],
        };
        let rows = vec![
            LivestockRow { region: "1".into(), year: 2019, kind: "绵羊".into(), head: 100.0 },
            LivestockRow { region: "1".into(), year: 2021, kind: "绵羊".into(), head: 150.0 },
            LivestockRow { region: "1".into(), year: 2021, kind: "牛".into(), head: 20.0 },
        ];
        let d = |y, m, dd| AsOf::from_ymd_opt(y, m, dd).unwrap();
        let g = balance(&acc, &rows, (d(2019, 12, 31), d(2022, 6, 30)), &rules(), "test");
        assert_eq!((g.years.opening, g.years.closing), (2019, 2021));
        let per_ha_0401 = 1200.0 * 0.5 / (1.8 * 365.0);
        let per_ha_0403 = 4000.0 * 0.7 / (1.8 * 365.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(g.capacity_su.opening, 100.0 * per_ha_0401 + 40.0 * per_ha_0403));
        assert!(close(g.capacity_su.closing, 60.0 * per_ha_0401 + 40.0 * per_ha_0403));
        assert_eq!(g.stocking_su.opening, Some(100.0));
        assert_eq!(g.stocking_su.closing, Some(250.0));
        let cap = g.capacity_su.closing;
        assert!(close(g.overload_rate_pct.closing.unwrap(), 100.0 * (250.0 - cap) / cap));
        assert!(g.overload_su.opening.unwrap() < 0.0, "spare capacity at the opening");
        // no rows for a date's year: no stocking there, not zero
        let g = balance(&acc, &rows[..1], (d(2019, 12, 31), d(2021, 12, 31)), &rules(), "test");
        assert_eq!(g.stocking_su.closing, None);
        assert_eq!(g.overload_rate_pct.closing, None);
    }

    #[test]
    fn bad_rules_are_refused_naming_the_entry() {
        let cat = Catalog::embedded().unwrap();
        for (text, says) in [
            (DEFAULT.replace("\"牛\" = 5.0", "\"牛\" = 0.0"), "牛"),
            (DEFAULT.replace("utilisation = 0.5", "utilisation = 1.5"), "0401"),
            (DEFAULT.replace("[forage.\"0403\"]", "[forage.\"0499\"]"), "0499"),
            (DEFAULT.replace("grazing_days = 365", "grazing_days = 400"), "grazing_days"),
        ] {
            let e = GrazingRules::parse(&text, "my/grazing.toml", &cat).unwrap_err().to_string();
            assert!(e.contains("my/grazing.toml") && e.contains(says), "{e}");
        }
    }
}
