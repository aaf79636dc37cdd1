//! The sheet's tabular inputs and configuration: forest changes and water statistics (CSV or Parquet, one
//! row per region, year and item; see `schemas/forest-changes.tableschema.json` and `schemas/water.tableschema.json`), the targets file
//! (`schemas/targets.schema.json`), and the balance configuration in `layers/rules/` (water items,
//! liability models).
//!
//! Rows are kept for the region's code and the codes under it (a county's sheet takes rows of its
//! townships too), for the years whose 31 December lies in the period (from, to]. A bad row is an error
//! naming the file, the row (1 = first data row) and the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::io::tabular;
use crate::model::AsOf;
use crate::quantity::CubicMetres;

const WATER_ITEMS: &str = include_str!("../../layers/rules/water-items.csv");
const LIABILITIES: &str = include_str!("../../layers/rules/liabilities.toml");

/// Which rows of an input belong to a sheet.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Region codes of the sheet (one, or every admin code when no region was asked for).
    pub codes: Vec<String>,
    /// Opening date.
    pub from: AsOf,
    /// Closing date.
    pub to: AsOf,
}

impl Scope {
    /// True when a row's region and year fall in the sheet.
    pub fn takes(&self, region: &str, year: i32) -> bool {
        let in_region = self.codes.iter().any(|c| region.starts_with(c.as_str()));
        let end = chrono::NaiveDate::from_ymd_opt(year, 12, 31);
        in_region && end.is_some_and(|d| d > self.from && d <= self.to)
    }

    /// The calendar years whose end lies in the period.
    pub fn years(&self) -> Vec<i32> {
        (self.from.year()..=self.to.year())
            .filter(|y| chrono::NaiveDate::from_ymd_opt(*y, 12, 31).is_some_and(|d| d > self.from && d <= self.to))
            .collect()
    }
}

/// Column lookup by Chinese name or English alias.
struct Cols<'a> {
    rows: &'a tabular::Rows,
    path: &'a Path,
}

impl Cols<'_> {
    fn find(&self, names: &[&str]) -> Option<usize> {
        self.rows.headers.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    }
    fn need(&self, names: &[&str]) -> Result<usize> {
        self.find(names).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: missing column {} (columns found: {})",
                self.path.display(),
                names.join(" / "),
                self.rows.headers.join(", ")
            ))
        })
    }
}

fn cell<'a>(row: &'a [Option<String>], i: usize, path: &Path, n: usize, field: &str) -> Result<&'a str> {
    row[i].as_deref().ok_or_else(|| Error::Invalid(format!("{}: row {n}, field {field}: empty", path.display())))
}

fn number(row: &[Option<String>], i: usize, path: &Path, n: usize, field: &str) -> Result<f64> {
    let s = cell(row, i, path, n, field)?;
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| Error::Invalid(format!("{}: row {n}, field {field}: '{s}' is not a number", path.display())))
}

fn year(row: &[Option<String>], i: usize, path: &Path, n: usize, field: &str) -> Result<i32> {
    let s = cell(row, i, path, n, field)?;
    s.trim_end_matches(".0")
        .parse::<i32>()
        .ok()
        .filter(|y| (1900..=2200).contains(y))
        .ok_or_else(|| Error::Invalid(format!("{}: row {n}, field {field}: '{s}' is not a year", path.display())))
}

/// A forest change item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum ForestItem {
    /// 生长量
    Growth,
    /// 造林
    Afforestation,
    /// 采伐
    Harvest,
    /// 灾害
    Disaster,
}

impl ForestItem {
    fn parse(s: &str) -> Option<ForestItem> {
        match s.trim() {
            "生长量" | "生长" | "growth" => Some(ForestItem::Growth),
            "造林" | "afforestation" => Some(ForestItem::Afforestation),
            "采伐" | "采伐量" | "harvest" => Some(ForestItem::Harvest),
            "灾害" | "灾害损失" | "disaster" => Some(ForestItem::Disaster),
            _ => None,
        }
    }
}

/// The origin of a stand (起源), the rows of the volume table in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
pub enum Origin {
    /// 天然林.
    #[serde(rename = "天然")]
    Natural,
    /// 人工林.
    #[serde(rename = "人工")]
    Planted,
    /// 其他林木 (and any origin the table does not name).
    #[serde(rename = "其他")]
    Other,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl Origin {
    /// Every origin, in table order.
    pub const ALL: [Origin; 3] = [Origin::Natural, Origin::Planted, Origin::Other];

    /// The code the origin table (`forest-origin`) normalises to.
    pub fn label(self) -> &'static str {
        match self {
            Origin::Natural => "天然",
            Origin::Planted => "人工",
            Origin::Other => "其他",
        }
    }

    /// The row name of the volume table (Chinese and English).
    pub fn row_name(self) -> &'static str {
        match self {
            Origin::Natural => "天然林 Natural",
            Origin::Planted => "人工林 Planted",
            Origin::Other => "其他林木 Other",
        }
    }

    /// The origin a value normalises to through the catalog's origin table, None when it names none.
    pub fn normalise(raw: &str, catalog: &Catalog) -> Option<Origin> {
        let code = catalog.classes.table("forest-origin")?.normalise(raw)?;
        Origin::ALL.into_iter().find(|o| o.label() == code)
    }
}

/// A liability item a model may count (`layers/rules/liabilities.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Item {
    /// 生态保护红线内禁止用途面积: prohibited use inside red lines, 公顷.
    RedlineEncroachment,
    /// 永久基本农田低于保护目标面积: permanent basic farmland below its target, 公顷.
    FarmlandShortfall,
    /// 地下水超采量: groundwater withdrawn over the cap, 万 m³.
    GroundwaterOverCap,
    /// 林木超限额采伐量: harvest over the quota, m³.
    HarvestOverQuota,
    /// 草原超载牲畜: livestock over the grassland's carrying capacity (草畜平衡), 羊单位.
    GrazingOverCapacity,
}

impl Item {
    /// The id models name it by.
    pub fn id(self) -> &'static str {
        match self {
            Item::RedlineEncroachment => "redline-encroachment",
            Item::FarmlandShortfall => "farmland-shortfall",
            Item::GroundwaterOverCap => "groundwater-over-cap",
            Item::HarvestOverQuota => "harvest-over-quota",
            Item::GrazingOverCapacity => "grazing-over-capacity",
        }
    }
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// One row of the forest changes input.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ForestChange {
    /// Region code.
    pub region: String,
    /// Year.
    pub year: i32,
    /// 天然 / 人工 / 其他.
    pub origin: Origin,
    /// Item.
    pub item: ForestItem,
    /// Volume, m³ (non-negative).
    pub volume_m3: CubicMetres,
}

/// Read the forest changes of the sheet's scope.
pub fn forest_changes(path: &Path, scope: &Scope, catalog: &Catalog) -> Result<Vec<ForestChange>> {
    let rows = tabular::read_rows(path)?;
    let c = Cols { rows: &rows, path };
    let (ri, yi, oi, ii, vi) = (
        c.need(&["行政区代码", "region"])?,
        c.need(&["年份", "year"])?,
        c.need(&["起源", "origin"])?,
        c.need(&["项目", "item"])?,
        c.need(&["蓄积量", "volume_m3"])?,
    );
    let mut out = Vec::new();
    for (k, row) in rows.rows.iter().enumerate() {
        let n = k + 1;
        let region = cell(row, ri, path, n, "行政区代码")?.to_string();
        let y = year(row, yi, path, n, "年份")?;
        let o = cell(row, oi, path, n, "起源")?;
        let origin = Origin::normalise(o, catalog).ok_or_else(|| {
            Error::Invalid(format!("{}: row {n}, field 起源: '{o}' is not 天然, 人工 or 其他", path.display()))
        })?;
        let it = cell(row, ii, path, n, "项目")?;
        let item = ForestItem::parse(it).ok_or_else(|| {
            Error::Invalid(format!("{}: row {n}, field 项目: '{it}' is not 生长量, 造林, 采伐 or 灾害", path.display()))
        })?;
        let volume_m3 = number(row, vi, path, n, "蓄积量")?;
        if volume_m3 < 0.0 {
            return Err(Error::Invalid(format!(
                "{}: row {n}, field 蓄积量: {volume_m3} is negative; a decrease is written as 采伐 or 灾害",
                path.display()
            )));
        }
        if scope.takes(&region, y) {
            out.push(ForestChange { region, year: y, origin, item, volume_m3: CubicMetres(volume_m3) });
        }
    }
    Ok(out)
}

/// What a water item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WaterKind {
    /// Stock at the start of a year.
    Opening,
    /// Inflow to the stock.
    Increase,
    /// Outflow from the stock.
    Decrease,
    /// Stock at the end of a year (optional; checked against the flows).
    Closing,
    /// Number of assessed sections of a quality class.
    Quality,
}

/// One item of `layers/rules/water-items.csv`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WaterItem {
    /// 地表水, 地下水 or 水质.
    pub account: String,
    /// Item name as written in the input.
    pub item: String,
    /// Kind.
    pub kind: WaterKind,
    /// English label.
    pub name_en: String,
}

/// One row of the water input.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WaterRow {
    /// Region code.
    pub region: String,
    /// Year.
    pub year: i32,
    /// Position of the item in the item list.
    pub item: usize,
    /// Value (万 m³; sections for quality).
    pub value: f64,
}

/// A configuration file a result depends on, with its hash.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ConfigFile {
    /// The file (or `(embedded) layers/…` for the defaults built in).
    pub path: String,
    /// SHA-256 of its content.
    pub sha256: String,
}

/// Balance configuration: water items and liability models.
#[derive(Debug, Clone)]
pub struct BalanceConfig {
    /// Water items, in table order.
    pub water_items: Vec<WaterItem>,
    /// Liability models.
    pub liabilities: LiabilityModels,
    /// Files the configuration came from (for the sheet's provenance).
    pub sources: Vec<ConfigFile>,
}

/// Liability models file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiabilityModels {
    /// Model used when none is named.
    pub default: String,
    /// Models by name.
    pub models: BTreeMap<String, LiabilityModel>,
}

/// A named liability model: which liability items it counts.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiabilityModel {
    /// Chinese title.
    pub title: String,
    /// English title.
    pub title_en: String,
    /// What it measures.
    pub description: String,
    /// Items (redline-encroachment, farmland-shortfall, groundwater-over-cap, harvest-over-quota,
    /// grazing-over-capacity).
    pub items: Vec<Item>,
}

impl BalanceConfig {
    /// The embedded configuration, with `water-items.csv` and `liabilities.toml` from `dir` taking their place when present.
    pub fn load(dir: Option<&Path>) -> Result<BalanceConfig> {
        let read = |name: &str, embedded: &str| -> Result<(String, String)> {
            if let Some(d) = dir {
                let p = d.join(name);
                if p.exists() {
                    return Ok((p.display().to_string(), std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?));
                }
            }
            Ok((format!("(embedded) layers/rules/{name}"), embedded.to_string()))
        };
        let (wsrc, wtext) = read("water-items.csv", WATER_ITEMS)?;
        let (lsrc, ltext) = read("liabilities.toml", LIABILITIES)?;
        let mut water_items = Vec::new();
        let mut rdr = csv::Reader::from_reader(wtext.as_bytes());
        for r in rdr.records() {
            let r = r.map_err(|e| Error::Config { file: wsrc.clone(), reason: e.to_string() })?;
            let kind: WaterKind = serde_json::from_value(serde_json::Value::String(
                r.get(2).unwrap_or("").trim().to_string(),
            ))
            .map_err(|_| Error::Config {
                file: wsrc.clone(),
                reason: format!("kind must be opening, increase, decrease, closing or quality in {r:?}"),
            })?;
            water_items.push(WaterItem {
                account: r[0].trim().into(),
                item: r[1].trim().into(),
                kind,
                name_en: r.get(3).unwrap_or("").trim().into(),
            });
        }
        let liabilities: LiabilityModels =
            toml::from_str(&ltext).map_err(|e| Error::Config { file: lsrc.clone(), reason: e.to_string() })?;
        if !liabilities.models.contains_key(&liabilities.default) {
            return Err(Error::Config {
                file: lsrc,
                reason: format!("default model '{}' is not defined", liabilities.default),
            });
        }
        let hash = |t: &str| crate::hashing::sha256_hex(t.as_bytes());
        let sources =
            vec![ConfigFile { path: wsrc, sha256: hash(&wtext) }, ConfigFile { path: lsrc, sha256: hash(&ltext) }];
        Ok(BalanceConfig { water_items, liabilities, sources })
    }
}

/// Read the water statistics of the sheet's scope.
pub fn water(path: &Path, scope: &Scope, cfg: &BalanceConfig) -> Result<Vec<WaterRow>> {
    let rows = tabular::read_rows(path)?;
    let c = Cols { rows: &rows, path };
    let (ri, yi, ai, ii, vi) = (
        c.need(&["行政区代码", "region"])?,
        c.need(&["年份", "year"])?,
        c.need(&["类别", "account"])?,
        c.need(&["项目", "item"])?,
        c.need(&["数值", "value"])?,
    );
    let mut out = Vec::new();
    for (k, row) in rows.rows.iter().enumerate() {
        let n = k + 1;
        let region = cell(row, ri, path, n, "行政区代码")?.to_string();
        let y = year(row, yi, path, n, "年份")?;
        let account = cell(row, ai, path, n, "类别")?;
        let it = cell(row, ii, path, n, "项目")?;
        let item = cfg.water_items.iter().position(|w| w.account == account && w.item == it).ok_or_else(|| {
            let known: Vec<String> =
                cfg.water_items.iter().filter(|w| w.account == account).map(|w| w.item.clone()).collect();
            Error::Invalid(format!(
                "{}: row {n}, fields 类别/项目: '{account}' / '{it}' is not a water item ({})",
                path.display(),
                if known.is_empty() {
                    "类别 is 地表水, 地下水 or 水质".to_string()
                } else {
                    format!("{account} items: {}", known.join(", "))
                }
            ))
        })?;
        let value = number(row, vi, path, n, "数值")?;
        if value < 0.0 {
            return Err(Error::Invalid(format!("{}: row {n}, field 数值: {value} is negative", path.display())));
        }
        if scope.takes(&region, y) {
            out.push(WaterRow { region, year: y, item, value });
        }
    }
    Ok(out)
}

/// Control targets (管控指标) per region, from the targets file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Region code → targets.
    #[serde(default)]
    pub regions: BTreeMap<String, RegionTargets>,
    /// The audit's evaluation system (审计评价指标体系), replacing `layers/rules/indicators.toml`.
    #[serde(default)]
    pub system: Option<crate::evaluation::system::SystemFile>,
    /// The scoring section of earlier versions: refused with where its parts went.
    #[serde(default)]
    #[schemars(skip)]
    pub scoring: Option<serde_json::Value>,
}

/// The control targets of one region, with what the audit needs of it: its 主体功能区 type, input values,
/// other named targets and the auditor's judgements.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionTargets {
    /// 永久基本农田保护目标, ha.
    #[serde(default)]
    pub permanent_farmland_ha: Option<f64>,
    /// 耕地保有量目标, ha.
    #[serde(default)]
    pub cultivated_land_ha: Option<f64>,
    /// 地下水取水总量控制指标 per year, 万 m³.
    #[serde(default)]
    pub groundwater_cap_10k_m3_per_year: Option<f64>,
    /// 用水总量控制指标 per year, 万 m³.
    #[serde(default)]
    pub water_use_cap_10k_m3_per_year: Option<f64>,
    /// 森林采伐限额 per year, m³.
    #[serde(default)]
    pub harvest_quota_m3_per_year: Option<f64>,
    /// 建设用地总规模上限, ha.
    #[serde(default)]
    pub construction_land_cap_ha: Option<f64>,
    /// 森林覆盖率目标, %.
    #[serde(default)]
    pub forest_coverage_pct: Option<f64>,
    /// Ⅰ–Ⅲ类水质断面比例目标, %.
    #[serde(default)]
    pub water_quality_good_pct: Option<f64>,
    /// 主体功能区 type of the region (one of the evaluation system's `function_zones`).
    #[serde(default)]
    pub function_zone: Option<String>,
    /// Values the registry cannot compute (`input[NAME]`): a number for the end of the tenure, or
    /// `{ start = …, end = … }`.
    #[serde(default)]
    pub inputs: BTreeMap<String, InputValue>,
    /// The auditor's scores of judged items (制度建设 …), by indicator code.
    #[serde(default)]
    pub judgements: BTreeMap<String, Judgement>,
    /// Other named targets of an office's indicators (`target[NAME]`).
    #[serde(default)]
    pub targets: BTreeMap<String, f64>,
}

impl RegionTargets {
    /// A named target.
    pub fn target(&self, name: &str) -> Option<f64> {
        match name {
            "permanent_farmland_ha" => self.permanent_farmland_ha,
            "cultivated_land_ha" => self.cultivated_land_ha,
            "groundwater_cap_10k_m3_per_year" => self.groundwater_cap_10k_m3_per_year,
            "water_use_cap_10k_m3_per_year" => self.water_use_cap_10k_m3_per_year,
            "harvest_quota_m3_per_year" => self.harvest_quota_m3_per_year,
            "construction_land_cap_ha" => self.construction_land_cap_ha,
            "forest_coverage_pct" => self.forest_coverage_pct,
            "water_quality_good_pct" => self.water_quality_good_pct,
            other => self.targets.get(other).copied(),
        }
    }
}

/// An input value: at the end of the tenure, or at both ends.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum InputValue {
    /// At the end (or over the tenure).
    Value(f64),
    /// At the start and at the end.
    Period {
        /// At the start.
        #[serde(default)]
        start: Option<f64>,
        /// At the end.
        #[serde(default)]
        end: Option<f64>,
    },
}

/// The auditor's score of a judged item.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    /// Points given.
    pub points: f64,
    /// Why (required).
    #[serde(default)]
    pub note: String,
    /// Where the evidence is (审计底稿 …).
    #[serde(default)]
    pub evidence: Option<String>,
}

/// Read a targets file (TOML or JSON).
pub fn targets(path: &Path) -> Result<(Targets, String)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let t: Targets = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => serde_json::from_str(&text).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?,
        _ => toml::from_str(&text).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?,
    };
    Ok((t, crate::hashing::sha256_hex(text.as_bytes())))
}

/// An input file and its content hash, for the sheet's provenance.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InputFile {
    /// What it is.
    pub role: String,
    /// Path as given.
    pub path: PathBuf,
    /// SHA-256 of its content.
    pub sha256: String,
}

/// Hash a file for the provenance list.
pub fn input_file(role: &str, path: &Path) -> Result<InputFile> {
    Ok(InputFile { role: role.into(), path: path.to_path_buf(), sha256: crate::hashing::sha256_file(path)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    fn scope() -> Scope {
        Scope {
            codes: vec!["330523".into()],
            from: AsOf::from_ymd_opt(2019, 12, 31).unwrap(),
            to: AsOf::from_ymd_opt(2021, 12, 31).unwrap(),
        }
    }

    #[test]
    fn years_and_regions_in_scope() {
        let s = scope();
        assert_eq!(s.years(), vec![2020, 2021]);
        assert!(s.takes("330523101", 2020) && s.takes("330523", 2021));
        assert!(!s.takes("330523", 2019) && !s.takes("330522", 2020) && !s.takes("330523", 2022));
    }

    /// The same forest changes as CSV and as Parquet read the same; rows outside the scope are dropped.
    #[test]
    fn csv_and_parquet_inputs_agree() {
        let d = tempfile::tempdir().unwrap();
        let csv = d.path().join("f.csv");
        std::fs::write(&csv, "region,year,origin,item,volume_m3\n330523,2020,天然,growth,120.5\n330523,2020,2,harvest,30\n330522,2020,人工,growth,9\n330523,2019,人工,growth,9\n").unwrap();
        let mut df = df!(
            "行政区代码" => ["330523", "330523", "330522", "330523"],
            "年份" => [2020i64, 2020, 2020, 2019],
            "起源" => ["天然", "人工", "人工", "人工"],
            "项目" => ["生长量", "采伐", "生长量", "生长量"],
            "蓄积量" => [120.5f64, 30.0, 9.0, 9.0]
        )
        .unwrap();
        let pq = d.path().join("f.parquet");
        ParquetWriter::new(std::fs::File::create(&pq).unwrap()).finish(&mut df).unwrap();
        let cat = Catalog::embedded().unwrap();
        let a = forest_changes(&csv, &scope(), &cat).unwrap();
        let b = forest_changes(&pq, &scope(), &cat).unwrap();
        let key = |v: &[ForestChange]| v.iter().map(|c| (c.origin, c.item, c.volume_m3)).collect::<Vec<_>>();
        assert_eq!(key(&a), key(&b));
        assert_eq!(
            key(&a),
            vec![
                (Origin::Natural, ForestItem::Growth, CubicMetres(120.5)),
                (Origin::Planted, ForestItem::Harvest, CubicMetres(30.0))
            ]
        );
    }

    /// A water closing stock that the flows do not reach is refused, naming the file and the account.
    #[test]
    fn water_closing_must_follow_from_the_flows() {
        let d = tempfile::tempdir().unwrap();
        let cfg = BalanceConfig::load(None).unwrap();
        let ok = d.path().join("ok.csv");
        std::fs::write(&ok, "行政区代码,年份,类别,项目,数值\n330523,2020,地下水,期初存量,100\n330523,2020,地下水,降水入渗补给,20\n330523,2020,地下水,农业取水,5\n330523,2021,地下水,农业取水,5\n330523,2021,地下水,期末存量,110.3\n330523,2021,水质,Ⅱ类,3\n330523,2021,水质,Ⅳ类,1\n").unwrap();
        let rows = water(&ok, &scope(), &cfg).unwrap();
        let acc = super::super::water::account(&rows, &cfg, &scope().years(), &ok).unwrap();
        assert_eq!(acc.lines.last().unwrap().ground, Some(crate::quantity::WanCubicMetres(110.0)));
        assert_eq!(acc.withdrawal(1), 10.0);
        assert_eq!(acc.good_share(), Some(75.0));
        let bad = d.path().join("bad.csv");
        std::fs::write(
            &bad,
            "行政区代码,年份,类别,项目,数值\n330523,2020,地下水,期初存量,100\n330523,2021,地下水,期末存量,120\n",
        )
        .unwrap();
        let rows = water(&bad, &scope(), &cfg).unwrap();
        let e = super::super::water::account(&rows, &cfg, &scope().years(), &bad).unwrap_err().to_string();
        assert!(e.contains("bad.csv") && e.contains("地下水 期末存量"), "{e}");
    }

    #[test]
    fn a_model_naming_an_unknown_item_is_refused_naming_the_file_and_the_items() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("liabilities.toml"),
            "default = \"m\"\n[models.m]\ntitle = \"t\"\ntitle_en = \"t\"\ndescription = \"d\"\nitems = [\"harvest-over-quota\", \"wetland-loss\"]\n",
        )
        .unwrap();
        let e = BalanceConfig::load(Some(d.path())).unwrap_err().to_string();
        assert!(
            e.contains("liabilities.toml") && e.contains("wetland-loss") && e.contains("redline-encroachment"),
            "{e}"
        );
        std::fs::write(d.path().join("liabilities.toml"), "default = \"m\"\n[models.m]\ntitle = \"t\"\ntitle_en = \"t\"\ndescription = \"d\"\nitems = [\"harvest-over-quota\"]\n").unwrap();
        let ok = BalanceConfig::load(Some(d.path())).unwrap();
        assert_eq!(ok.liabilities.models["m"].items, vec![Item::HarvestOverQuota]);
    }
}
