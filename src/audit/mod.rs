//! The outgoing audit of an official (领导干部自然资源资产离任审计): indicators at the start and end of the
//! tenure against targets, a configurable 100-point score and grade, the check findings that arose during
//! the tenure, and the balance sheets of the period — everything a report or workbook needs, reproducibly.
//!
//! ```text
//! balance sheet of the tenure ─▶ indicators (targets file) ─▶ score, grade
//! checks at D1 and at D2 ─▶ findings new at D2 ─┘          └─▶ html::render, workbook tables
//! ```

pub mod html;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::balance::{self, inputs::Scoring, BalanceSheet, LandAccount};
use crate::catalog::Catalog;
use crate::checks::{self, Context, Exceptions, RuleConfig, Severity};
use crate::error::{Error, Result};
use crate::model::{AsOf, LayerKind};
use crate::quantity::SquareMetres;
use crate::store::{Read, Registry};
use crate::table::{Col, Row, Table};

/// The indicators an audit knows, in report order: (id, Chinese name, English name, unit).
pub const INDICATORS: [(&str, &str, &str, &str); 10] = [
    ("cultivated_land", "耕地保有量", "Cultivated land", "公顷"),
    ("permanent_farmland", "永久基本农田面积", "Permanent basic farmland", "公顷"),
    ("redline_area", "生态保护红线面积", "Ecological red-line area", "公顷"),
    ("redline_prohibited_use", "红线内禁止用途面积", "Prohibited uses inside red lines", "公顷"),
    ("forest_coverage", "森林覆盖率", "Forest coverage", "%"),
    ("forest_volume", "森林蓄积量", "Forest stock volume", "m³"),
    ("wetland_area", "湿地面积", "Wetland area", "公顷"),
    ("construction_land", "建设用地总规模", "Construction land", "公顷"),
    ("water_use", "用水总量", "Water use", "万m³"),
    ("water_quality", "Ⅰ–Ⅲ类水质断面比例", "Sections of quality Ⅰ–Ⅲ", "%"),
];

/// What to audit.
#[derive(Debug, Clone)]
pub struct Request {
    /// The official (姓名).
    pub official: String,
    /// The post (职务).
    pub post: String,
    /// Start of the tenure.
    pub from: AsOf,
    /// End of the tenure.
    pub to: AsOf,
    /// Region code.
    pub region: String,
    /// Targets file (control targets and scoring).
    pub targets: PathBuf,
    /// Forest changes input.
    pub forest_changes: Option<PathBuf>,
    /// Water statistics.
    pub water: Option<PathBuf>,
    /// Folder overriding `layers/rules/` files.
    pub rules: Option<PathBuf>,
}

/// Whether an indicator met its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Verdict {
    /// 达标 (green).
    Met,
    /// 未达标 (red).
    NotMet,
    /// 无数据 (grey): not scored.
    NoData,
}

impl Verdict {
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "达标",
            Verdict::NotMet => "未达标",
            Verdict::NoData => "无数据",
        }
    }
}

/// One indicator.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Indicator {
    /// Id (see [`INDICATORS`]).
    pub id: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Unit.
    pub unit: String,
    /// Value at the start of the tenure.
    pub start: Option<f64>,
    /// Value at the end (or over the tenure, for flows).
    pub end: Option<f64>,
    /// Target, cap or reference.
    pub target: Option<f64>,
    /// The rule the verdict applies (e.g. "期末 ≥ 目标").
    pub rule: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Weight (points when met).
    pub weight: f64,
    /// Points earned.
    pub points: f64,
}

/// A suspect patch (`screen --store`) found in a survey of the tenure, as it stood at its end.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TenurePatch {
    /// 监测编号.
    pub patch_id: String,
    /// 新增建设用地 / 耕地流出.
    pub change: String,
    /// The survey it was found in.
    pub found: String,
    /// Township code.
    pub township: String,
    /// The parcels before and after (BSM, class, name).
    pub before: String,
    /// The parcel after.
    pub after: String,
    /// Ellipsoidal area, m².
    pub area_m2: SquareMetres,
    /// Its step at the end of the tenure (待核查 … 销号).
    pub step: String,
    /// Its check's result by then (合法 / 违法 / 其他), if checked.
    pub result: Option<String>,
    /// Illegal (违法) occupation of cultivated land not rectified by the end of the tenure.
    pub unresolved_illegal_cultivated: bool,
}

/// A check finding that arose during the tenure.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NewFinding {
    /// Rule code.
    pub rule: String,
    /// Rule name.
    pub name: String,
    /// Ids involved.
    pub ids: Vec<String>,
    /// Ellipsoidal area, m².
    pub area_m2: SquareMetres,
    /// Longitude/latitude of the piece's centre.
    pub location: LonLat,
    /// The message.
    pub message: String,
    /// 变更原因 of the parcel involved (BGYY at the end of the tenure), when it has one.
    pub cause: Option<String>,
    /// 人为 human, 自然 natural, or 未注明 (not stated in the data).
    pub nature: String,
    /// The piece, registry CRS (for the map).
    #[serde(skip)]
    #[schemars(skip)]
    pub geometry: Option<geo::MultiPolygon<f64>>,
}

/// A point in longitude and latitude (degrees, CGCS2000).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LonLat {
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

/// The audit.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Audit {
    /// The official.
    pub official: String,
    /// The post.
    pub post: String,
    /// Indicators.
    pub indicators: Vec<Indicator>,
    /// Score out of 100 (over the indicators with data).
    pub score: f64,
    /// Grade.
    pub grade: String,
    /// Findings present at the end of the tenure and absent at its start.
    pub new_findings: Vec<NewFinding>,
    /// The suspect patches found in surveys of the tenure, with their step at its end.
    pub patches: Vec<TenurePatch>,
    /// The cultivated-land ledgers of the tenure (占补平衡, 进出平衡) by township, then the region's (`合计`).
    pub ledger: Vec<crate::monitor::ledger::LedgerRow>,
    /// Targets file and its SHA-256.
    pub targets: crate::balance::inputs::ConfigFile,
    /// The balance sheet of the tenure.
    pub sheet: BalanceSheet,
    /// Map layers (registry CRS): region outline, red lines, farmland, urban boundary at the end.
    #[serde(skip)]
    #[schemars(skip)]
    pub map: Vec<(String, geo::MultiPolygon<f64>)>,
}

fn sum_classes(acc: &LandAccount, keep: impl Fn(&str) -> bool) -> (f64, f64) {
    let (mut a, mut b) = (0i64, 0i64);
    for (i, c) in acc.classes.iter().enumerate() {
        if keep(&c.code) {
            a += acc.opening(i);
            b += acc.closing(i);
        }
    }
    (a as f64, b as f64)
}

/// Check the scoring section of a targets file: known indicators, bands.
fn check_scoring(s: Option<&Scoring>, path: &Path) -> Result<Scoring> {
    let s = s.cloned().ok_or_else(|| {
        Error::Invalid(format!("{}: no [scoring] section (weights and grade bands of the audit)", path.display()))
    })?;
    for k in s.weights.keys() {
        if !INDICATORS.iter().any(|i| i.0 == k) {
            return Err(Error::Invalid(format!(
                "{}: [scoring.weights]: unknown indicator '{k}'; indicators are {}",
                path.display(),
                INDICATORS.iter().map(|i| i.0).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    if s.bands.is_empty() || s.bands.windows(2).any(|w| w[0].min <= w[1].min) {
        return Err(Error::Invalid(format!(
            "{}: [scoring] bands must be listed best first with decreasing `min`",
            path.display()
        )));
    }
    Ok(s)
}

/// Run the audit.
pub fn compute(reg: &Registry, req: &Request) -> Result<Audit> {
    let (targets, targets_hash) = balance::inputs::targets(&req.targets)?;
    let scoring = check_scoring(targets.scoring.as_ref(), &req.targets)?;
    let sheet = balance::compute(
        reg,
        &balance::Request {
            from: req.from,
            to: req.to,
            region: Some(req.region.clone()),
            level: balance::Level::One,
            liability: None,
            targets: Some(req.targets.clone()),
            forest_changes: req.forest_changes.clone(),
            water: req.water.clone(),
            rules: req.rules.clone(),
            overlaps: balance::OverlapPolicy::Resolve,
            trace: false,
        },
    )?;
    let catalog = reg.catalog();
    let rt = targets.regions.get(&req.region).cloned().unwrap_or_default();
    let indicators = indicators(&sheet, catalog, &rt, &scoring);
    let scored: f64 = indicators.iter().filter(|i| i.verdict != Verdict::NoData).map(|i| i.weight).sum();
    let earned: f64 = indicators.iter().map(|i| i.points).sum();
    let score = if scored > 0.0 { 100.0 * earned / scored } else { 0.0 };
    let grade = scoring
        .bands
        .iter()
        .find(|b| score >= b.min)
        .map(|b| b.grade.clone())
        .unwrap_or_else(|| scoring.bands.last().expect("bands").grade.clone());
    let new_findings = new_findings(reg, req)?;
    let patches = tenure_patches(reg, req)?;
    let rules = crate::monitor::MonitorRules::load(req.rules.as_deref(), catalog)?;
    let screened = crate::monitor::Request { from: req.from, to: req.to, region: Some(req.region.clone()) };
    let ledger = crate::monitor::screen(reg, &screened, &rules)?.ledger;
    // map layers at the end of the tenure
    let calc = crate::area::AreaCalculator::for_crs(&reg.crs)?;
    let region = crate::region::Region::load(reg, Some(&req.region), req.to, &calc)?;
    let mut map = vec![("行政区".to_string(), region.outline.geometry.clone())];
    for (kind, name) in [
        (LayerKind::Redlines, "生态保护红线"),
        (LayerKind::Farmland, "永久基本农田"),
        (LayerKind::Urban, "城镇开发边界"),
    ] {
        let Some(b) = region.outline.bounds() else { break };
        for r in reg.read(&Read::layer(kind).on(Some(req.to)).in_boxes(&[b]))? {
            match region.outline.clip(&r.record.geometry) {
                crate::geometry::Clip::Cut(g) => map.push((name.to_string(), g)),
                crate::geometry::Clip::Inside => map.push((name.to_string(), r.record.geometry)),
                crate::geometry::Clip::Outside => {}
            }
        }
    }
    Ok(Audit {
        official: req.official.clone(),
        post: req.post.clone(),
        indicators,
        score,
        grade,
        new_findings,
        patches,
        ledger,
        targets: balance::inputs::ConfigFile { path: req.targets.display().to_string(), sha256: targets_hash },
        sheet,
        map,
    })
}

fn indicators(
    sheet: &BalanceSheet,
    catalog: &Catalog,
    rt: &balance::inputs::RegionTargets,
    scoring: &Scoring,
) -> Vec<Indicator> {
    let ha = |m2: f64| SquareMetres(m2).hectares();
    let acc = &sheet.land_level2;
    let fig = &sheet.liabilities.figures;
    let zone = |z: &str| {
        fig.zone_areas_m2.iter().find(|x| x.zone == z).map(|x| (x.opening_m2.hectares(), x.closing_m2.hectares()))
    };
    let region_area = sheet.provenance.region_area_m2.0;
    let level1 = |c: &str| catalog.classes.crosswalk("level1", c).map(|x| x.code.clone()).unwrap_or_default();
    let eight = |c: &str| catalog.classes.crosswalk("8class", c).map(|x| x.code.clone()).unwrap_or_default();
    let years = sheet.water.as_ref().map(|w| w.years.len().max(1) as f64).unwrap_or(1.0);
    let mut out = Vec::new();
    for (id, name, name_en, unit) in INDICATORS {
        // (start, end, target, rule, met?)
        let (start, end, target, rule): (Option<f64>, Option<f64>, Option<f64>, &str) = match id {
            "cultivated_land" => {
                let (a, b) = sum_classes(acc, |c| c.starts_with("01"));
                (Some(ha(a)), Some(ha(b)), rt.cultivated_land_ha, "期末 ≥ 耕地保有量目标")
            }
            "permanent_farmland" => {
                let z = zone("永久基本农田");
                (z.map(|x| x.0), z.map(|x| x.1), rt.permanent_farmland_ha, "期末 ≥ 永久基本农田保护目标")
            }
            "redline_area" => {
                let z = zone("生态保护红线");
                (z.map(|x| x.0), z.map(|x| x.1), z.map(|x| x.0), "面积不减少 (期末 ≥ 期初)")
            }
            "redline_prohibited_use" => {
                let (a, b) = (fig.redline_prohibited_m2.opening, fig.redline_prohibited_m2.closing);
                (Some(a.hectares()), Some(b.hectares()), Some(a.hectares()), "禁止用途不增加 (期末 ≤ 期初)")
            }
            "forest_coverage" => {
                let (a, b) = sum_classes(acc, |c| c.starts_with("03"));
                let (a, b) = (100.0 * a / region_area, 100.0 * b / region_area);
                (
                    Some(a),
                    Some(b),
                    scoring.forest_coverage_pct.or(Some(a)),
                    if scoring.forest_coverage_pct.is_some() {
                        "期末 ≥ 目标"
                    } else {
                        "不降低 (期末 ≥ 期初)"
                    },
                )
            }
            "forest_volume" => {
                let t = sheet.forest_volume.rows.last();
                let has = sheet.forest_volume.stands.opening + sheet.forest_volume.stands.closing > 0;
                let (a, b) = (t.filter(|_| has).map(|r| r.opening_m3.0), t.filter(|_| has).map(|r| r.closing_m3.0));
                (a, b, a, "不减少 (期末 ≥ 期初)")
            }
            "wetland_area" => {
                let (a, b) = sum_classes(acc, |c| level1(c) == "00");
                (Some(ha(a)), Some(ha(b)), Some(ha(a)), "不减少 (期末 ≥ 期初)")
            }
            "construction_land" => {
                let (a, b) = sum_classes(acc, |c| matches!(eight(c).as_str(), "5" | "6") || c == "1109");
                (Some(ha(a)), Some(ha(b)), rt.construction_land_cap_ha, "期末 ≤ 建设用地总规模上限")
            }
            "water_use" => {
                let w = sheet.water.as_ref().map(|w| w.withdrawal(0) + w.withdrawal(1));
                (None, w, rt.water_use_cap_10k_m3_per_year.map(|c| c * years), "任期用水总量 ≤ 控制指标 × 年数")
            }
            _ => {
                let g = sheet.water.as_ref().and_then(|w| w.good_share());
                (None, g, scoring.water_quality_good_pct, "Ⅰ–Ⅲ类比例 ≥ 目标")
            }
        };
        let upper = matches!(id, "redline_prohibited_use" | "construction_land" | "water_use");
        let verdict = match (end, target) {
            (Some(e), Some(t)) => {
                // areas are compared to the square metre (1e-4 ha), rates to 1e-9
                let eps = 1e-6 * t.abs().max(1.0);
                if (upper && e <= t + eps) || (!upper && e >= t - eps) {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                }
            }
            _ => Verdict::NoData,
        };
        let weight = scoring.weights.get(id).copied().unwrap_or(0.0);
        out.push(Indicator {
            id: id.into(),
            name: name.into(),
            name_en: name_en.into(),
            unit: unit.into(),
            start,
            end,
            target,
            rule: rule.into(),
            verdict,
            weight,
            points: if verdict == Verdict::Met { weight } else { 0.0 },
        });
    }
    out
}

/// Error findings present at the end of the tenure and absent at its start (same rule and ids).
/// The stored suspect patches found in a survey after the start of the tenure and up to its end, each with
/// its latest step dated by the end; the illegal occupation of cultivated land (耕地流出, or construction on
/// 01 land) found 违法 and not rectified (已整改, 销号) by then is marked.
fn tenure_patches(reg: &Registry, req: &Request) -> Result<Vec<TenurePatch>> {
    let (from, to) = (req.from.to_string(), req.to.to_string());
    let mut out = Vec::new();
    for p in reg.patches()?.into_iter().filter(|p| p.to_date > from && p.to_date <= to) {
        // a patch of another county in a province registry (its township code names its county)
        if !p.township.is_empty() && !p.township.starts_with(&req.region) {
            continue;
        }
        let steps = reg.patch_steps(&p.patch_id)?.unwrap_or_default();
        let by_end: Vec<_> = steps.iter().filter(|s| s.date <= to).collect();
        let step = by_end.last().map(|s| s.step.label().to_string()).unwrap_or_else(|| "待核查".into());
        let result = by_end.iter().rev().find_map(|s| s.result.clone());
        let cultivated = p.change == "耕地流出" || p.before.split(' ').nth(1).is_some_and(|c| c.starts_with("01"));
        let unresolved =
            cultivated && result.as_deref() == Some("违法") && !["已整改", "销号"].contains(&step.as_str());
        out.push(TenurePatch {
            patch_id: p.patch_id,
            change: p.change,
            found: p.to_date,
            township: p.township,
            before: p.before,
            after: p.after,
            area_m2: SquareMetres(p.area_m2),
            step,
            result,
            unresolved_illegal_cultivated: unresolved,
        });
    }
    Ok(out)
}

fn new_findings(reg: &Registry, req: &Request) -> Result<Vec<NewFinding>> {
    let run = |d: AsOf| -> Result<Vec<checks::Finding>> {
        let config = RuleConfig::load(req.rules.as_deref())?;
        let needs = checks::layers_needed(&[], &config)?;
        let ctx = Context::load(reg, Some(d), Some(&req.region), config, Exceptions::default(), &needs)?;
        Ok(checks::run_all(&ctx, &[])?
            .into_iter()
            .filter(|f| f.severity == Severity::Error && f.excepted_by.is_none())
            .collect())
    };
    let key = |f: &checks::Finding| {
        let mut ids = f.ids.clone();
        ids.sort();
        (f.rule.clone(), ids)
    };
    let before: BTreeSet<(String, Vec<String>)> = run(req.from)?.iter().map(key).collect();
    let to_ll = crate::crs::Transformer::new(&reg.crs.definition, &reg.crs.geographic)?;
    let bgyy = reg.catalog().layer(LayerKind::Parcels).field_index("BGYY");
    let mut out = Vec::new();
    for f in run(req.to)? {
        if before.contains(&key(&f)) {
            continue;
        }
        let c = f.geometry.as_ref().and_then(geo::BoundingRect::bounding_rect).map(|r| r.center());
        let location = c
            .and_then(|c| {
                let mut pt = [(c.x, c.y)];
                to_ll.coords(&mut pt).ok().map(|_| pt[0])
            })
            .map_or(LonLat { lon: f64::NAN, lat: f64::NAN }, |(lon, lat)| LonLat { lon, lat });
        // the cause recorded on the parcel involved, if any
        let cause = f.layers.iter().zip(&f.fids).filter(|(l, _)| **l == LayerKind::Parcels).find_map(|(_, fid)| {
            let r = reg.read(&Read::layer(LayerKind::Parcels).every_version().fids(&[*fid])).ok()?.pop()?;
            let v = r.record.value(bgyy?);
            (!v.is_blank()).then(|| v.to_string())
        });
        let nature =
            cause.as_deref().and_then(|c| reg.catalog().classes.cause_nature(c)).unwrap_or("未注明").to_string();
        out.push(NewFinding {
            rule: f.rule,
            name: f.name,
            ids: f.ids,
            area_m2: f.area_m2,
            location,
            message: f.message,
            cause,
            nature,
            geometry: f.geometry,
        });
    }
    Ok(out)
}

/// The audit's own tables (indicators, findings), for the workbook; the balance tables follow them.
pub fn tables(a: &Audit) -> Vec<Table> {
    let ind = Table {
        id: "indicators".into(),
        title: "审计指标".into(),
        title_en: "Audit indicators".into(),
        code_header: crate::table::Header::new("指标", "Indicator"),
        name_header: crate::table::Header::new("名称（单位）· 判定", "Name (unit) · verdict"),
        columns: vec![
            Col::new("任期初", "Start of tenure", "", 4),
            Col::new("任期末", "End of tenure", "", 4),
            Col::new("变化", "Change", "", 4),
            Col::new("目标", "Target", "", 4),
            Col::new("权重", "Weight", "分", 1),
            Col::new("得分", "Points", "分", 1),
        ],
        rows: a
            .indicators
            .iter()
            .map(|i| Row {
                code: i.id.clone(),
                name: format!("{}（{}）· {} — {}", i.name, i.unit, i.verdict.label(), i.rule),
                values: vec![
                    i.start,
                    i.end,
                    i.start.zip(i.end).map(|(s, e)| e - s),
                    i.target,
                    Some(i.weight),
                    Some(i.points),
                ],
            })
            .collect(),
        notes: vec![format!("得分 score {:.1} / 100, 评价 grade {}", a.score, a.grade)],
    };
    let fin = Table {
        id: "new_findings".into(),
        title: "任期内新增问题".into(),
        title_en: "Findings that arose during the tenure".into(),
        code_header: crate::table::Header::new("规则", "Rule"),
        name_header: crate::table::Header::new("说明", "Finding"),
        columns: vec![
            Col::new("面积", "Area", "m²", 2),
            Col::new("经度", "Longitude", "°", 5),
            Col::new("纬度", "Latitude", "°", 5),
        ],
        rows: a
            .new_findings
            .iter()
            .map(|f| Row {
                code: f.rule.clone(),
                name: format!(
                    "[{}{}] {}",
                    f.nature,
                    f.cause.as_deref().map(|c| format!(" · {c}")).unwrap_or_default(),
                    f.message
                ),
                values: vec![Some(f.area_m2.0), Some(f.location.lon), Some(f.location.lat)],
            })
            .collect(),
        notes: vec![],
    };
    let unresolved: Vec<&TenurePatch> = a.patches.iter().filter(|p| p.unresolved_illegal_cultivated).collect();
    let pat = Table {
        id: "patches".into(),
        title: "任期内监测图斑及其任期末状态".into(),
        title_en: "Suspect patches found during the tenure, as they stood at its end".into(),
        code_header: crate::table::Header::new("监测编号", "Patch"),
        name_header: crate::table::Header::new("变化 · 任期末状态", "Change · step at the end"),
        columns: vec![Col::new("面积", "Area", "m²", 2), Col::new("面积", "Area", "亩", 2)],
        rows: a
            .patches
            .iter()
            .map(|p| Row {
                code: p.patch_id.clone(),
                name: format!(
                    "{} {} → {} · {}{}{}",
                    p.change,
                    p.before,
                    p.after,
                    p.step,
                    p.result.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
                    if p.unresolved_illegal_cultivated { " · 违法占用耕地未整改" } else { "" }
                ),
                values: vec![Some(p.area_m2.0), Some(crate::monitor::mu(p.area_m2.0))],
            })
            .collect(),
        notes: vec![format!(
            "违法占用耕地未整改 unresolved illegal occupation of cultivated land: {} 处, {:.2} m²",
            unresolved.len(),
            unresolved.iter().map(|p| p.area_m2.0).sum::<f64>()
        )],
    };
    let ledger = crate::monitor::table::ledger_table(&a.ledger, &a.sheet.provenance.from, &a.sheet.provenance.to);
    vec![ind, fin, pat, ledger]
}

/// Provenance lines for the report and the workbook.
pub fn about(a: &Audit) -> Vec<(String, String)> {
    let mut v = vec![
        ("被审计领导干部 Official".to_string(), format!("{} {}", a.post, a.official)),
        ("得分 Score".into(), format!("{:.1} / 100, {}", a.score, a.grade)),
        ("目标文件 Targets".into(), format!("{} (sha256 {})", a.targets.path, a.targets.sha256)),
    ];
    v.extend(balance::tables::about(&a.sheet));
    v
}

/// Counts of indicators by verdict, for the summary.
pub fn verdict_counts(a: &Audit) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for i in &a.indicators {
        *m.entry(i.verdict.label()).or_default() += 1;
    }
    m
}
