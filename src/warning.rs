//! Carrying-capacity early warning (资源环境承载能力监测预警): for each township of a county (each county of a
//! province or city) between two dates, the pressures on its resources, each classified 超载 / 临界超载 /
//! 不超载 by the thresholds of `layers/rules/warning.toml`, combined by the short-board rule, and with their
//! trend over the period giving the warning level (红 / 橙 / 黄 / 蓝 / 绿).
//!
//! ```text
//! admin outlines one level down ─▶ each unit's yearly sheets (balance::series) ─▶ pressures at each date
//!     ─▶ classes at the end, trends first → last ─▶ overload class, depletion trend ─▶ warning level
//! ```
//!
//! Pressures (higher is worse): 土地资源压力指数 D = (t − t0) / t0 from the unit's development intensity t
//! and the proper intensity t0 of its 主体功能区 type; the fall of cultivated land (%); the rise of its mean
//! quality grade; yearly water use over the unit's cap; livestock over the grassland's carrying capacity
//! (草畜平衡, 超载率). A pressure without data is left out and said so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::balance::{self, BalanceSheet};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::model::{AsOf, LayerKind};
use crate::store::{Read, Registry};

const DEFAULT: &str = include_str!("../layers/rules/warning.toml");

/// The thresholds of one pressure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Above it: 超载.
    pub overload: f64,
    /// Above it (or at it, when inclusive): 临界超载.
    pub critical: f64,
    /// Whether a value at `critical` is 临界超载.
    #[serde(default)]
    pub critical_inclusive: bool,
    /// Proper development intensity by 主体功能区 type (`default` for the rest): the land pressure only.
    #[serde(default)]
    pub proper_intensity: BTreeMap<String, f64>,
}

impl Threshold {
    /// The class of a value.
    pub fn classify(&self, v: f64) -> Class {
        if v > self.overload {
            Class::Overloaded
        } else if v > self.critical || (self.critical_inclusive && v == self.critical) {
            Class::Critical
        } else {
            Class::Sustainable
        }
    }
}

/// A warning level's name and display colour.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelDef {
    /// 红色预警 …
    pub name: String,
    /// Display colour (#rrggbb).
    pub colour: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Integration {
    critical_count: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrendRule {
    worsening: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Levels {
    red: LevelDef,
    orange: LevelDef,
    yellow: LevelDef,
    blue: LevelDef,
    green: LevelDef,
}

/// The warning rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningRules {
    land: Threshold,
    cultivated: Threshold,
    quality: Threshold,
    water: Threshold,
    grazing: Threshold,
    integration: Integration,
    trend: TrendRule,
    levels: Levels,
    /// Where they came from.
    #[serde(skip)]
    pub source: String,
    /// SHA-256 of their text.
    #[serde(skip)]
    pub sha256: String,
}

impl WarningRules {
    /// The embedded rules, or `dir/warning.toml`.
    pub fn load(dir: Option<&Path>) -> Result<WarningRules> {
        let (text, source) = match dir.map(|d| d.join("warning.toml")).filter(|p| p.exists()) {
            Some(p) => (std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?, p.display().to_string()),
            None => (DEFAULT.to_string(), "layers/rules/warning.toml (embedded)".to_string()),
        };
        let bad = |reason: String| Error::Config { file: source.clone(), reason };
        let mut r: WarningRules = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        for (name, t) in [
            ("land", &r.land),
            ("cultivated", &r.cultivated),
            ("quality", &r.quality),
            ("water", &r.water),
            ("grazing", &r.grazing),
        ] {
            if t.critical.is_nan() || t.overload.is_nan() || t.critical > t.overload {
                return Err(bad(format!("[{name}] critical {} is above overload {}", t.critical, t.overload)));
            }
        }
        if !r.land.proper_intensity.contains_key("default")
            || r.land.proper_intensity.values().any(|v| v.is_nan() || *v <= 0.0)
        {
            return Err(bad("[land] proper_intensity needs a `default` and positive intensities".into()));
        }
        r.sha256 = crate::hashing::sha256_hex(text.as_bytes());
        r.source = source;
        Ok(r)
    }
}

/// 超载 / 临界超载 / 不超载.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Class {
    /// 超载.
    Overloaded,
    /// 临界超载.
    Critical,
    /// 不超载.
    Sustainable,
}

impl Class {
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Class::Overloaded => "超载",
            Class::Critical => "临界超载",
            Class::Sustainable => "不超载",
        }
    }
}

/// 加剧 / 持平 / 趋缓.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Trend {
    /// 加剧: worse at the end than at the start.
    Worsening,
    /// 持平.
    Stable,
    /// 趋缓: better.
    Improving,
}

impl Trend {
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Trend::Worsening => "加剧",
            Trend::Stable => "持平",
            Trend::Improving => "趋缓",
        }
    }
}

/// One pressure of one unit.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Pressure {
    /// land / cultivated / quality / water / grazing.
    pub id: String,
    /// Chinese name.
    pub name: String,
    /// Its value at each date of the period (higher is worse; None: no data then).
    pub by_date: Vec<Option<f64>>,
    /// The value classified: at the end for land and water, over the period for cultivated land and quality.
    pub value: Option<f64>,
    /// Its class (None: no data).
    pub class: Option<Class>,
    /// Its trend first → last (None: no data).
    pub trend: Option<Trend>,
    /// How it was computed, or why it was not.
    pub basis: String,
}

/// One unit's warning.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct UnitWarning {
    /// Admin code.
    pub code: String,
    /// Name.
    pub name: String,
    /// 主体功能区 type used.
    pub function_zone: String,
    /// The pressures.
    pub pressures: Vec<Pressure>,
    /// 超载类型 (None: no pressure had data).
    pub overload: Option<Class>,
    /// 加剧 when enough pressures got worse, else 趋缓.
    pub depletion: Trend,
    /// 预警等级 (红色预警 …).
    pub level: String,
    /// Its display colour.
    pub colour: String,
    /// The unit's outline (registry CRS), for the map.
    #[serde(skip)]
    #[schemars(skip)]
    pub outline: geo::MultiPolygon<f64>,
}

/// The warning of a region.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Warning {
    /// Region code.
    pub region: String,
    /// The dates of the period, year by year.
    pub dates: Vec<String>,
    /// The units (townships, or counties).
    pub units: Vec<UnitWarning>,
    /// Rules file and its SHA-256.
    pub rules: String,
    /// Notes.
    pub notes: Vec<String>,
}

/// What to warn about.
#[derive(Debug, Clone)]
pub struct Request {
    /// Start.
    pub from: AsOf,
    /// End.
    pub to: AsOf,
    /// The region whose units (one admin level down) are judged.
    pub region: String,
    /// Targets file (units' 主体功能区 types and water caps).
    pub targets: Option<PathBuf>,
    /// Water statistics (by unit code).
    pub water: Option<PathBuf>,
    /// Livestock (by unit code), for the 草畜平衡 pressure.
    pub livestock: Option<PathBuf>,
    /// Folder overriding `layers/rules/` files.
    pub rules: Option<PathBuf>,
}

/// The GB/T 2260 level of an admin code: 1 province (`33`, `330000`), 2 city (`3305`, `330500`), 3 county
/// (`330523`), 4 township (9 digits), 5 village (12 digits).
pub fn admin_level(code: &str) -> u8 {
    match code.len() {
        0..=2 => 1,
        3..=4 => 2,
        5..=6 if code.ends_with("0000") => 1,
        5..=6 if code.ends_with("00") => 2,
        5..=6 => 3,
        7..=9 => 4,
        _ => 5,
    }
}

/// The units a region's warning judges on `date`: the counties of a province or city, the townships of a
/// county (the villages of a township), from the admin outlines.
pub fn units(reg: &Registry, region: &str, date: AsOf) -> Result<Vec<(String, String, geo::MultiPolygon<f64>)>> {
    let admin = reg.read(&Read::layer(LayerKind::Admin).on(Some(date)))?;
    let mut stem = region;
    while stem.len() > 2 && stem.ends_with("00") {
        stem = &stem[..stem.len() - 2];
    }
    let level = (admin_level(region) + 1).max(3);
    let below: Vec<_> = admin
        .iter()
        .filter(|r| r.record.key != region && r.record.key.starts_with(stem) && admin_level(&r.record.key) == level)
        .collect();
    if below.is_empty() {
        let what = ["", "", "", "counties'", "townships'", "villages'"][level as usize];
        return Err(Error::Invalid(format!(
            "--region {region}: no admin outline below it on {date} in {} (import the {what} XZQ outlines)",
            reg.path().display()
        )));
    }
    let name = reg.catalog().layer(LayerKind::Admin).field_index("XZQMC");
    let mut out: Vec<_> = below
        .into_iter()
        .map(|r| {
            let n = name.map(|i| r.record.value(i).to_string()).unwrap_or_default();
            (r.record.key.clone(), n, r.record.geometry.clone())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// Warn.
pub fn compute(reg: &Registry, req: &Request, rules: &WarningRules) -> Result<Warning> {
    let targets = match &req.targets {
        Some(p) => Some(balance::inputs::targets(p)?.0),
        None => None,
    };
    let dates = balance::series::tenure_dates(req.from, req.to);
    let mut out = Vec::new();
    for (code, name, outline) in units(reg, &req.region, req.to)? {
        crate::progress::stage(&format!("{code} {name}"));
        let base = balance::Request {
            from: req.from,
            to: req.to,
            region: Some(code.clone()),
            level: balance::Level::One,
            liability: None,
            targets: req.targets.clone(),
            forest_changes: None,
            water: req.water.clone(),
            livestock: req.livestock.clone(),
            rules: req.rules.clone(),
            overlaps: balance::OverlapPolicy::Resolve,
            trace: false,
        };
        let series = balance::series::compute(reg, &base, &dates)?;
        let region_targets = |c: &str| targets.as_ref().and_then(|t| t.regions.get(c));
        let zone = region_targets(&code)
            .or_else(|| region_targets(&req.region))
            .and_then(|t| t.function_zone.clone())
            .unwrap_or_else(|| "default".into());
        let cap = region_targets(&code).and_then(|t| t.water_use_cap_10k_m3_per_year);
        let sheets: Vec<&BalanceSheet> = series.years.iter().map(|y| &y.sheet).collect();
        let pressures = pressures(&sheets, reg.catalog(), rules, &zone, cap);
        out.push(judge(code, name, zone, pressures, outline, rules));
    }
    let mut notes = vec!["环境、生态 pressures (水气环境, 生态系统) are outside the registry".to_string()];
    if req.livestock.is_none() {
        notes.push("草原草畜平衡: not computed (no livestock input, --livestock)".into());
    }
    Ok(Warning {
        region: req.region.clone(),
        dates: dates.iter().map(|d| d.to_string()).collect(),
        units: out,
        rules: format!("{} (sha256 {})", rules.source, rules.sha256),
        notes,
    })
}

/// The five pressures of one unit from its yearly sheets.
fn pressures(
    sheets: &[&BalanceSheet],
    catalog: &Catalog,
    rules: &WarningRules,
    zone: &str,
    cap: Option<f64>,
) -> Vec<Pressure> {
    // a value at each date: the first sheet's opening, then each sheet's closing
    let at = |f: &dyn Fn(&BalanceSheet, bool) -> Option<f64>| -> Vec<Option<f64>> {
        std::iter::once(f(sheets[0], false)).chain(sheets.iter().map(|s| f(s, true))).collect()
    };
    let stock = |s: &BalanceSheet, closing: bool, keep: &dyn Fn(&str) -> bool| -> f64 {
        let a = &s.land_level2;
        (0..a.classes.len())
            .filter(|&i| keep(&a.classes[i].code))
            .map(|i| if closing { a.closing(i) } else { a.opening(i) })
            .sum::<i64>() as f64
    };
    let built = |c: &str| {
        catalog.classes.crosswalk("8class", c).is_some_and(|x| x.code == "5" || x.code == "6") || c.starts_with("1109")
    };
    let t0 = rules
        .land
        .proper_intensity
        .get(zone)
        .or_else(|| rules.land.proper_intensity.get("default"))
        .copied()
        .unwrap_or(0.15);
    let land = at(&|s, c| {
        let t = stock(s, c, &built) / s.provenance.region_area_m2.0;
        Some((t - t0) / t0)
    });
    let cultivated_stock = at(&|s, c| Some(stock(s, c, &|x: &str| x.starts_with("01"))));
    let c0 = cultivated_stock[0].unwrap_or(0.0);
    let cultivated: Vec<Option<f64>> =
        cultivated_stock.iter().map(|v| v.filter(|_| c0 > 0.0).map(|v| 100.0 * (c0 - v) / c0)).collect();
    let quality = at(&|s, c| {
        let q = s.quality.as_ref()?;
        let (mut a, mut g) = (0.0, 0.0);
        for (grade, oc) in q.iter().filter(|(g, _)| **g > 0) {
            let v = if c { oc.closing } else { oc.opening };
            a += v;
            g += v * *grade as f64;
        }
        (a > 0.0).then(|| g / a)
    });
    let q0 = quality[0];
    let quality_rise: Vec<Option<f64>> = quality.iter().map(|v| v.zip(q0).map(|(v, q)| v - q)).collect();
    // water: each year's use over the cap (the first date has none)
    let water: Vec<Option<f64>> = std::iter::once(None)
        .chain(sheets.iter().map(|s| {
            let w = s.water.as_ref()?;
            let years = w.years.len().max(1) as f64;
            cap.filter(|c| *c > 0.0).map(|c| (w.withdrawal(0) + w.withdrawal(1)) / years / c)
        }))
        .collect();
    let grazing = at(&|s, c| {
        let g = s.grazing.as_ref()?;
        if c {
            g.overload_rate_pct.closing
        } else {
            g.overload_rate_pct.opening
        }
    });
    let last = |v: &[Option<f64>]| v.last().copied().flatten();
    vec![
        pressure(
            "land",
            "土地资源压力指数",
            land.clone(),
            last(&land),
            &rules.land,
            format!("D = (t − t0) / t0, t = 建设用地 / 国土面积, t0 = {t0} ({zone})"),
        ),
        pressure(
            "cultivated",
            "耕地减少率 (%)",
            cultivated.clone(),
            last(&cultivated),
            &rules.cultivated,
            "耕地 (01) 较期初减少的比例".into(),
        ),
        pressure(
            "quality",
            "耕地质量等别升高",
            quality_rise.clone(),
            last(&quality_rise),
            &rules.quality,
            "面积加权平均等别较期初的变化 (1 等最好)".into(),
        ),
        pressure(
            "water",
            "用水总量 / 控制指标",
            water.clone(),
            last(&water),
            &rules.water,
            match cap {
                Some(c) => format!("年均用水量 / 用水总量控制指标 {c} 万m³"),
                None => "无用水总量控制指标 (targets file)".into(),
            },
        ),
        pressure(
            "grazing",
            "草原超载率 (%)",
            grazing.clone(),
            last(&grazing),
            &rules.grazing,
            "(年末存栏羊单位 − 草原合理载畜量) / 合理载畜量 × 100 (layers/rules/grazing.toml)".into(),
        ),
    ]
}

fn pressure(
    id: &str,
    name: &str,
    by_date: Vec<Option<f64>>,
    value: Option<f64>,
    t: &Threshold,
    basis: String,
) -> Pressure {
    let known: Vec<f64> = by_date.iter().flatten().copied().collect();
    let trend = match (known.first(), known.last()) {
        (Some(a), Some(b)) if known.len() >= 2 => Some(if b - a > 1e-9 * a.abs().max(1.0) {
            Trend::Worsening
        } else if a - b > 1e-9 * a.abs().max(1.0) {
            Trend::Improving
        } else {
            Trend::Stable
        }),
        _ => None,
    };
    let basis = if value.is_none() { format!("无数据: {basis}") } else { basis };
    Pressure { id: id.into(), name: name.into(), by_date, value, class: value.map(|v| t.classify(v)), trend, basis }
}

/// Combine a unit's pressures: the short board, the depletion trend and the level.
pub fn judge(
    code: String,
    name: String,
    function_zone: String,
    pressures: Vec<Pressure>,
    outline: geo::MultiPolygon<f64>,
    rules: &WarningRules,
) -> UnitWarning {
    let classes: Vec<Class> = pressures.iter().filter_map(|p| p.class).collect();
    let critical = classes.iter().filter(|c| **c == Class::Critical).count();
    let overload = if classes.is_empty() {
        None
    } else if classes.contains(&Class::Overloaded) || critical >= rules.integration.critical_count {
        Some(Class::Overloaded)
    } else if critical > 0 {
        Some(Class::Critical)
    } else {
        Some(Class::Sustainable)
    };
    let trends: Vec<Trend> = pressures.iter().filter_map(|p| p.trend).collect();
    let worse = trends.iter().filter(|t| **t == Trend::Worsening).count();
    let depletion =
        if worse > 0 && worse >= rules.trend.worsening.min(trends.len()) { Trend::Worsening } else { Trend::Improving };
    let l = &rules.levels;
    let level = match (overload, depletion) {
        (Some(Class::Overloaded), Trend::Worsening) => &l.red,
        (Some(Class::Overloaded), _) => &l.orange,
        (Some(Class::Critical), Trend::Worsening) => &l.yellow,
        (Some(Class::Critical), _) => &l.blue,
        _ => &l.green,
    };
    UnitWarning {
        code,
        name,
        function_zone,
        pressures,
        overload,
        depletion,
        level: if overload.is_none() { "无数据".into() } else { level.name.clone() },
        colour: if overload.is_none() { "#bbbbbb".into() } else { level.colour.clone() },
        outline,
    }
}

/// The warning as a table: a row per unit, its pressures' values.
pub fn table(w: &Warning) -> crate::table::Table {
    use crate::table::{Col, Header, Row, Table};
    let names = ["土地资源压力指数", "耕地减少率", "耕地质量等别升高", "用水总量/控制指标", "草原超载率"];
    let columns = names.iter().map(|n| Col::new(n, n, "", 4)).collect();
    let rows = w
        .units
        .iter()
        .map(|u| {
            let classes: Vec<String> = u
                .pressures
                .iter()
                .map(|p| {
                    format!(
                        "{}{}",
                        p.class.map_or("无数据", Class::label),
                        p.trend.map(|t| format!("/{}", t.label())).unwrap_or_default()
                    )
                })
                .collect();
            Row {
                code: u.code.clone(),
                name: format!(
                    "{} · {} · 耗损{} · {} ({})",
                    u.name,
                    u.overload.map_or("无数据", Class::label),
                    u.depletion.label(),
                    u.level,
                    classes.join(", ")
                ),
                values: u.pressures.iter().map(|p| p.value).collect(),
            }
        })
        .collect();
    Table {
        id: "warning".into(),
        title: "资源环境承载能力监测预警".into(),
        title_en: "Carrying-capacity early warning".into(),
        code_header: Header::new("单元", "Unit"),
        name_header: Header::new("名称 · 超载类型 · 耗损 · 预警等级", "Name · overload · depletion · level"),
        columns,
        rows,
        notes: std::iter::once(format!("{} → {} · 规则 {}", w.dates[0], w.dates[w.dates.len() - 1], w.rules))
            .chain(w.notes.iter().cloned())
            .collect(),
    }
}

/// The units as a map layer (code, name, classes, level, colour, the pressures' values).
pub fn layer(w: &Warning) -> crate::io::export::Table<'static> {
    use crate::io::export::Column;
    use crate::model::{FieldType, Value};
    let mut columns: Vec<Column> = ["DWDM", "DWMC", "ZTGNQ", "CZLX", "HSQS", "YJDJ", "YS"]
        .iter()
        .map(|n| Column { name: n.to_string(), field_type: FieldType::Text })
        .collect();
    for p in ["TDYL", "GDJS", "ZLBH", "YSB", "CXCZL"] {
        columns.push(Column { name: p.to_string(), field_type: FieldType::Real });
    }
    let text = |t: &str| Value::Text(t.to_string());
    let rows = w
        .units
        .iter()
        .map(|u| {
            let mut v = vec![
                text(&u.code),
                text(&u.name),
                text(&u.function_zone),
                text(u.overload.map_or("无数据", Class::label)),
                text(u.depletion.label()),
                text(&u.level),
                text(&u.colour),
            ];
            v.extend(u.pressures.iter().map(|p| p.value.map_or(Value::Null, Value::Real)));
            (geo::Geometry::MultiPolygon(u.outline.clone()), v)
        })
        .collect();
    crate::io::export::Table { name: "warning", columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> WarningRules {
        WarningRules::load(None).unwrap()
    }

    fn p(id: &str, value: Option<f64>, t: &Threshold, by: Vec<Option<f64>>) -> Pressure {
        pressure(id, id, by, value, t, String::new())
    }

    #[test]
    fn a_province_and_a_city_are_judged_by_county_a_county_by_township() {
        let levels: Vec<u8> =
            ["33", "330000", "3305", "330500", "330523", "330523101", "330523101001"].map(admin_level).to_vec();
        assert_eq!(levels, [1, 1, 2, 2, 3, 4, 5]);
    }

    #[test]
    fn classes_at_and_around_every_threshold() {
        let r = rules();
        // land: D > 0 超载, −0.3 ≤ D ≤ 0 临界 (inclusive), below 不超载
        for (d, want) in [
            (0.0001, Class::Overloaded),
            (0.0, Class::Critical),
            (-0.3, Class::Critical),
            (-0.3001, Class::Sustainable),
        ] {
            assert_eq!(r.land.classify(d), want, "land {d}");
        }
        // water: W > W0 超载, W > 0.9 W0 临界 (exclusive)
        for (x, want) in
            [(1.0001, Class::Overloaded), (1.0, Class::Critical), (0.9001, Class::Critical), (0.9, Class::Sustainable)]
        {
            assert_eq!(r.water.classify(x), want, "water {x}");
        }
        // cultivated land: any loss is 临界, above 1 % 超载
        for (x, want) in [
            (1.01, Class::Overloaded),
            (1.0, Class::Critical),
            (0.001, Class::Critical),
            (0.0, Class::Sustainable),
            (-2.0, Class::Sustainable),
        ] {
            assert_eq!(r.cultivated.classify(x), want, "cultivated {x}");
        }
        for (x, want) in [(0.51, Class::Overloaded), (0.5, Class::Critical), (0.0, Class::Sustainable)] {
            assert_eq!(r.quality.classify(x), want, "quality {x}");
        }
        // grazing: 超载率 over 10 % 超载, over 0 % 临界 (exclusive: livestock at capacity is 不超载)
        for (x, want) in [
            (10.01, Class::Overloaded),
            (10.0, Class::Critical),
            (0.01, Class::Critical),
            (0.0, Class::Sustainable),
            (-30.0, Class::Sustainable),
        ] {
            assert_eq!(r.grazing.classify(x), want, "grazing {x}");
        }
    }

    #[test]
    fn the_short_board_the_trend_and_the_level() {
        let r = rules();
        let g = geo::MultiPolygon(vec![]);
        let unit = |ps: Vec<Pressure>| judge("1".into(), "x".into(), "default".into(), ps, g.clone(), &r);
        let worse = vec![Some(0.0), Some(1.0)];
        let better = vec![Some(1.0), Some(0.0)];
        let same = vec![Some(1.0), Some(1.0)];
        // one pressure 超载, two getting worse: 红色
        let u = unit(vec![
            p("land", Some(0.1), &r.land, worse.clone()),
            p("cultivated", Some(0.0), &r.cultivated, worse.clone()),
        ]);
        assert_eq!(
            (u.overload, u.depletion, u.level.as_str()),
            (Some(Class::Overloaded), Trend::Worsening, "红色预警")
        );
        // the same, one getting worse of two: 趋缓, 橙色
        let u = unit(vec![
            p("land", Some(0.1), &r.land, worse.clone()),
            p("cultivated", Some(0.0), &r.cultivated, better.clone()),
        ]);
        assert_eq!((u.depletion, u.level.as_str()), (Trend::Improving, "橙色预警"));
        // two 临界 make 超载
        let u =
            unit(vec![p("land", Some(-0.1), &r.land, same.clone()), p("water", Some(0.95), &r.water, same.clone())]);
        assert_eq!((u.overload, u.level.as_str()), (Some(Class::Overloaded), "橙色预警"));
        // one 临界: 临界超载, worsening (the only trend) → 黄色; not worsening → 蓝色
        let u = unit(vec![p("land", Some(-0.1), &r.land, worse.clone()), p("water", None, &r.water, vec![None, None])]);
        assert_eq!((u.overload, u.level.as_str()), (Some(Class::Critical), "黄色预警"));
        let u = unit(vec![p("land", Some(-0.1), &r.land, same.clone())]);
        assert_eq!(u.level, "蓝色预警");
        // nothing 临界: 绿色, whatever the trend
        let u =
            unit(vec![p("land", Some(-0.5), &r.land, worse.clone()), p("cultivated", Some(0.0), &r.cultivated, worse)]);
        assert_eq!((u.overload, u.level.as_str()), (Some(Class::Sustainable), "绿色无警"));
        // no data at all
        assert_eq!(unit(vec![p("water", None, &r.water, vec![None])]).level, "无数据");
    }

    #[test]
    fn bad_rules_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let text = DEFAULT.replace("overload = 1.0\ncritical = 0.9", "overload = 0.8\ncritical = 0.9");
        std::fs::write(d.path().join("warning.toml"), text).unwrap();
        let e = WarningRules::load(Some(d.path())).unwrap_err().to_string();
        assert!(e.contains("[water] critical 0.9 is above overload 0.8") && e.contains("warning.toml"), "{e}");
    }
}
