//! The cells an indicator formula may name: the balance sheet of the tenure, the findings that arose in it,
//! the suspect patches, the cultivated-land ledger, and the region's input values and targets from the
//! targets file. Areas are in hectares.
//!
//! | cell | value |
//! |---|---|
//! | `land[P, …]` | land classes whose code starts with a listed prefix, ha |
//! | `land.SCHEME[C, …]` | land classes a crosswalk (`level1`, `8class` …) puts in a listed class, ha |
//! | `zone[生态保护红线 / 永久基本农田 / 城镇开发边界 / 自然保护地]` | the zone's area in the region, ha (自然保护地: when the registry has them) |
//! | `inside[ZONE, CLASS]` | first-level class (00 湿地, 04 草地 …) inside a red line, permanent basic farmland or a protected area, ha |
//! | `redline.prohibited` | prohibited use inside red lines, ha |
//! | `region.area` | the region's area, ha |
//! | `forest.volume`, `forest.volume[天然 …]` | stock volume (by origin), m³ |
//! | `water.use`, `water.years`, `water.good_share` | withdrawal over the tenure (万 m³), its years, Ⅰ–Ⅲ share (%) |
//! | `grazing.capacity`, `grazing.stocking`, `grazing.overload_rate` | 草畜平衡: 羊单位, 羊单位, 超载率 % |
//! | `findings.count`, `findings.area`, `findings[NR…].…` | error findings that arose in the tenure (by rule) |
//! | `patches[.illegal / .illegal_cultivated].count / .area` | suspect patches found in the tenure |
//! | `ledger.taken / taken_approved / supplemented / out / in` | the region's cultivated-land ledger, ha |
//! | `input[NAME]` | a value of the region's `[inputs]` in the targets file |
//! | `target[NAME]` | a target of the region (a named field, or one of its `[targets]`) |
//!
//! Stocks have a value at the start and at the end of the tenure; flows (findings, patches, ledger, water
//! use) only at the end.

use super::{NewFinding, TenurePatch};
use crate::balance::inputs::{InputValue, RegionTargets};
use crate::balance::{BalanceSheet, LandAccount};
use crate::catalog::Catalog;
use crate::evaluation::formula::{Cell, Cells};
use crate::monitor::ledger::LedgerRow;

/// The start or the end of the tenure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// 任期初.
    Start,
    /// 任期末.
    End,
}

const ZONES: [&str; 4] = ["生态保护红线", "永久基本农田", "城镇开发边界", "自然保护地"];
/// The zones with land inside them told (`inside[…]`).
const INSIDE: [&str; 3] = ["生态保护红线", "永久基本农田", "自然保护地"];
const COUNTED: [&str; 3] = ["patches", "patches.illegal", "patches.illegal_cultivated"];
const LEDGER: [&str; 5] = ["taken", "taken_approved", "supplemented", "out", "in"];

/// The cells a formula may name, for error messages.
pub const NAMES: &str =
    "land[PREFIX,…], land.SCHEME[CLASS,…], zone[NAME], inside[ZONE,CLASS], redline.prohibited, region.area, \
    forest.volume[ORIGIN], water.use, water.years, water.good_share, \
    grazing.capacity|stocking|overload_rate, findings[RULE,…].count|area, \
    patches[.illegal|.illegal_cultivated].count|area, ledger.taken|taken_approved|supplemented|out|in, \
    input[NAME], target[NAME]";

/// Whether `cell` exists: its name is one of [`NAMES`] and its keys name land classes, crosswalk classes,
/// zones or rules that exist.
pub fn known(cell: &Cell, catalog: &Catalog, rules: &[&str]) -> Result<(), String> {
    let path = cell.path.join(".");
    let keys = &cell.keys;
    let one_key = || match keys.len() {
        1 => Ok(()),
        _ => Err(format!("{cell}: give one name in [ ]")),
    };
    let no_keys = || match keys.is_empty() {
        true => Ok(()),
        false => Err(format!("{cell}: takes no [ ]")),
    };
    let landuse = catalog.classes.table("landuse").map(|t| t.codes().to_vec()).unwrap_or_default();
    match path.as_str() {
        "land" => {
            if keys.is_empty() {
                return Err(format!("{cell}: give land-class code prefixes, e.g. land[01]"));
            }
            for k in keys {
                if !landuse.iter().any(|c| c.starts_with(k.as_str())) {
                    return Err(format!("{cell}: no land class has a code starting '{k}'"));
                }
            }
            Ok(())
        }
        p if p.starts_with("land.") && cell.path.len() == 2 => {
            let scheme = &cell.path[1];
            let classes = catalog.classes.crosswalk_classes(scheme);
            if classes.is_empty() {
                return Err(format!("{cell}: no crosswalk '{scheme}' in layers/classes"));
            }
            for k in keys {
                if !classes.iter().any(|c| &c.code == k) {
                    let all: Vec<&str> = classes.iter().map(|c| c.code.as_str()).collect();
                    return Err(format!("{cell}: '{k}' is not a class of {scheme} ({})", all.join(", ")));
                }
            }
            if keys.is_empty() {
                return Err(format!("{cell}: give classes of {scheme}"));
            }
            Ok(())
        }
        "zone" => {
            one_key()?;
            match ZONES.contains(&keys[0].as_str()) {
                true => Ok(()),
                false => Err(format!("{cell}: zones are {}", ZONES.join(", "))),
            }
        }
        "inside" => {
            let level1 = catalog.classes.crosswalk_classes("level1");
            match keys.as_slice() {
                [z, c] if INSIDE.contains(&z.as_str()) && level1.iter().any(|x| &x.code == c) => Ok(()),
                _ => Err(format!(
                    "{cell}: give a zone ({}) and a first-level class, e.g. inside[生态保护红线,00]",
                    INSIDE.join(", ")
                )),
            }
        }
        "redline.prohibited"
        | "region.area"
        | "water.use"
        | "water.years"
        | "water.good_share"
        | "grazing.capacity"
        | "grazing.stocking"
        | "grazing.overload_rate" => no_keys(),
        "forest.volume" => match keys.len() {
            0 | 1 => Ok(()),
            _ => Err(format!("{cell}: give one origin")),
        },
        "findings.count" | "findings.area" => {
            for k in keys {
                if !rules.contains(&k.as_str()) {
                    return Err(format!("{cell}: '{k}' is not a check rule ({})", rules.join(", ")));
                }
            }
            Ok(())
        }
        p if COUNTED.iter().any(|c| p == format!("{c}.count") || p == format!("{c}.area")) => no_keys(),
        p if p.strip_prefix("ledger.").is_some_and(|l| LEDGER.contains(&l)) => no_keys(),
        "input" | "target" => one_key(),
        _ => Err(format!("'{cell}' is not a cell; cells are {NAMES}")),
    }
}

/// What the cells are read from.
pub struct Sources<'a> {
    /// The balance sheet of the tenure.
    pub sheet: &'a BalanceSheet,
    /// The catalog (crosswalks).
    pub catalog: &'a Catalog,
    /// Error findings that arose in the tenure (None: not for this period).
    pub findings: Option<&'a [NewFinding]>,
    /// Suspect patches found in the tenure (None: not for this period).
    pub patches: Option<&'a [TenurePatch]>,
    /// The ledger rows, the region's `合计` among them (None: not for this period).
    pub ledger: Option<&'a [LedgerRow]>,
    /// The region's targets, inputs included.
    pub region: &'a RegionTargets,
}

/// The cells at one end of the tenure; `start` is the indicator's own start value (for its target).
pub struct At<'a> {
    /// The sources.
    pub src: &'a Sources<'a>,
    /// Which end.
    pub period: Period,
    /// The indicator's start value.
    pub start: Option<f64>,
}

fn ha(m2: f64) -> f64 {
    m2 / 1e4
}

fn land(acc: &LandAccount, period: Period, keep: impl Fn(&str) -> bool) -> f64 {
    let total: i64 = (0..acc.classes.len())
        .filter(|&i| keep(&acc.classes[i].code))
        .map(|i| if period == Period::Start { acc.opening(i) } else { acc.closing(i) })
        .sum();
    ha(total as f64)
}

impl Cells for At<'_> {
    fn get(&self, cell: &Cell) -> Option<f64> {
        let s = self.src;
        let end = self.period == Period::End;
        let pick = |open: f64, close: f64| if end { close } else { open };
        let path = cell.path.join(".");
        let keys = &cell.keys;
        let fig = &s.sheet.liabilities.figures;
        match path.as_str() {
            "start" => self.start,
            "land" => Some(land(&s.sheet.land_level2, self.period, |c| keys.iter().any(|k| c.starts_with(k.as_str())))),
            p if p.starts_with("land.") => {
                let scheme = &cell.path[1];
                let of = |c: &str| s.catalog.classes.crosswalk(scheme, c).map(|x| x.code.as_str());
                Some(land(&s.sheet.land_level2, self.period, |c| of(c).is_some_and(|x| keys.iter().any(|k| k == x))))
            }
            "zone" => fig
                .zone_areas_m2
                .iter()
                .find(|z| z.zone == keys[0])
                .map(|z| pick(z.opening_m2.hectares(), z.closing_m2.hectares())),
            "inside" => {
                let z = s.sheet.of_which.iter().find(|o| o.zone == keys[0])?;
                let r = z.level1.iter().find(|r| r.class.code == keys[1])?;
                Some(pick(r.opening_m2.hectares(), r.closing_m2.hectares()))
            }
            "redline.prohibited" => {
                Some(pick(fig.redline_prohibited_m2.opening.hectares(), fig.redline_prohibited_m2.closing.hectares()))
            }
            "region.area" => Some(ha(s.sheet.provenance.region_area_m2.0)),
            "forest.volume" => {
                let fv = &s.sheet.forest_volume;
                let has = if end { fv.stands.closing } else { fv.stands.opening } > 0;
                let origin = keys.first().map(String::as_str).unwrap_or("合计");
                let row = fv.rows.iter().find(|r| r.origin == origin).filter(|_| has)?;
                Some(pick(row.opening_m3.0, row.closing_m3.0))
            }
            "water.use" if end => s.sheet.water.as_ref().map(|w| w.withdrawal(0) + w.withdrawal(1)),
            "water.years" if end => s.sheet.water.as_ref().map(|w| w.years.len().max(1) as f64),
            "water.good_share" if end => s.sheet.water.as_ref().and_then(|w| w.good_share()),
            "grazing.capacity" => s.sheet.grazing.as_ref().map(|g| pick(g.capacity_su.opening, g.capacity_su.closing)),
            "grazing.stocking" => {
                s.sheet.grazing.as_ref().and_then(|g| if end { g.stocking_su.closing } else { g.stocking_su.opening })
            }
            "grazing.overload_rate" => s.sheet.grazing.as_ref().and_then(|g| {
                if end {
                    g.overload_rate_pct.closing
                } else {
                    g.overload_rate_pct.opening
                }
            }),
            "findings.count" | "findings.area" if end => {
                let of: Vec<&NewFinding> =
                    s.findings?.iter().filter(|f| keys.is_empty() || keys.contains(&f.rule)).collect();
                Some(match path.ends_with("count") {
                    true => of.len() as f64,
                    false => of.iter().map(|f| ha(f.area_m2.0)).sum(),
                })
            }
            p if end && p.starts_with("patches") => {
                let (group, what) = p.rsplit_once('.')?;
                let of: Vec<&TenurePatch> = s
                    .patches?
                    .iter()
                    .filter(|x| match group {
                        "patches.illegal" => x.result.as_deref() == Some("违法"),
                        "patches.illegal_cultivated" => x.unresolved_illegal_cultivated,
                        _ => true,
                    })
                    .collect();
                Some(match what {
                    "count" => of.len() as f64,
                    _ => of.iter().map(|x| ha(x.area_m2.0)).sum(),
                })
            }
            p if end && p.starts_with("ledger.") => {
                let r = s.ledger?.iter().find(|r| r.township == "合计")?;
                let m2 = match &p["ledger.".len()..] {
                    "taken" => r.taken_by_construction_m2,
                    "taken_approved" => r.taken_approved_m2,
                    "supplemented" => r.supplemented_m2,
                    "out" => r.out_m2,
                    _ => r.in_m2,
                };
                Some(m2.hectares())
            }
            "input" => match s.region.inputs.get(&keys[0])? {
                InputValue::Value(v) => end.then_some(*v),
                InputValue::Period { start, end: e } => {
                    if end {
                        *e
                    } else {
                        *start
                    }
                }
            },
            "target" => s.region.target(&keys[0]),
            _ => None,
        }
    }
}
