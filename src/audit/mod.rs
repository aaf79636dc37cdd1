//! The outgoing audit of an official (领导干部自然资源资产离任审计): indicators at the start and end of the
//! tenure against targets, a configurable 100-point score and grade, the check findings that arose during
//! the tenure, and the balance sheets of the period — everything a report or workbook needs, reproducibly.
//!
//! ```text
//! balance sheet of the tenure ─▶ indicators (targets file) ─▶ score, grade
//! checks at D1 and at D2 ─▶ findings new at D2 ─┘          └─▶ html::render, workbook tables
//! ```

pub mod cells;
pub mod html;
pub mod score;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::balance::{self, BalanceSheet};
use crate::catalog::Catalog;
use crate::checks::{self, Context, Exceptions, RuleConfig, Severity};
use crate::error::{Error, Result};
use crate::evaluation::formula;
use crate::evaluation::system::{self, System};
use crate::model::{AsOf, LayerKind};
use crate::quantity::SquareMetres;
use crate::store::{Read, Registry};
use crate::table::{Col, Row, Table};

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
    /// Livestock (草畜平衡).
    pub livestock: Option<PathBuf>,
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
    /// 计分 (blue): scored without a verdict (bonus and judged items).
    Scored,
}

impl Verdict {
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "达标",
            Verdict::NotMet => "未达标",
            Verdict::NoData => "无数据",
            Verdict::Scored => "计分",
        }
    }
}

/// One indicator.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Indicator {
    /// Code (from the evaluation system).
    pub id: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Unit.
    pub unit: String,
    /// The block's code.
    pub block: String,
    /// The formula of its value.
    pub formula: Option<String>,
    /// Value at the start of the tenure.
    pub start: Option<f64>,
    /// Value at the end (or over the tenure, for flows).
    pub end: Option<f64>,
    /// Target, cap, or the band's lower end.
    pub target: Option<f64>,
    /// The band's upper end.
    pub upper: Option<f64>,
    /// The rule the verdict applies (e.g. "期末 ≥ 目标"), or the scoring method without a rule.
    pub rule: String,
    /// Verdict.
    pub verdict: Verdict,
    /// How its points are scored (达标计分, 分档计分, 扣分, 加分, 定性评分).
    pub method: String,
    /// Its full points (a bonus item's: its cap).
    pub max_points: f64,
    /// Points earned (a bonus item's: added).
    pub points: f64,
    /// Why it got its points.
    pub reason: String,
    /// The auditor's note (judged items).
    pub note: Option<String>,
    /// Where the evidence is (judged items).
    pub evidence: Option<String>,
    /// Its value at each date of the tenure year by year (`Audit::years`: the first's opening, then each
    /// year's closing); flows have none.
    pub by_year: Vec<Option<f64>>,
    /// 上升 / 下降 / 持平 over the years, with 向好 / 趋差 by its rule.
    pub trend: String,
}

/// One year of the tenure.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TenureYear {
    /// The year of its closing date.
    pub year: i32,
    /// Opening date.
    pub from: String,
    /// Closing date.
    pub to: String,
    /// Parcel vintages dated inside it.
    pub surveys: Vec<String>,
    /// No survey of its own (缺当年数据).
    pub missing: bool,
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

/// The evaluation system an audit used.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SystemUsed {
    /// Its name.
    pub name: String,
    /// Where it came from.
    pub source: String,
    /// SHA-256 of its text.
    pub sha256: String,
}

/// The audit.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Audit {
    /// The official.
    pub official: String,
    /// The post.
    pub post: String,
    /// The evaluation system (审计评价指标体系): its name, file and SHA-256.
    pub system: SystemUsed,
    /// The region's 主体功能区 type, when the targets file gives one.
    pub function_zone: Option<String>,
    /// Indicators.
    pub indicators: Vec<Indicator>,
    /// The blocks' scores.
    pub blocks: Vec<score::BlockScore>,
    /// The tenure year by year: each year opens where the last closed (checked); a year without a survey of
    /// its own is flagged.
    pub years: Vec<TenureYear>,
    /// Points earned over all blocks.
    pub points_earned: f64,
    /// Points of the indicators with data.
    pub points_available: f64,
    /// The score on the system's scale (earned over available, when some indicators have no data).
    pub score: f64,
    /// The system's full score (100).
    pub total: f64,
    /// Grade.
    pub grade: String,
    /// Findings present at the end of the tenure and absent at its start.
    pub new_findings: Vec<NewFinding>,
    /// The suspect patches found in surveys of the tenure, with their step at its end.
    pub patches: Vec<TenurePatch>,
    /// The cultivated-land ledgers of the tenure (占补平衡, 进出平衡) by township, then the region's (`合计`).
    pub ledger: Vec<crate::monitor::ledger::LedgerRow>,
    /// The carrying-capacity warning of the region's townships over the tenure (None: the registry has no
    /// outlines below the region).
    pub warning: Option<crate::warning::Warning>,
    /// Targets file and its SHA-256.
    pub targets: crate::balance::inputs::ConfigFile,
    /// The balance sheet of the tenure.
    pub sheet: BalanceSheet,
    /// Map layers (registry CRS): region outline, red lines, farmland, urban boundary at the end.
    #[serde(skip)]
    #[schemars(skip)]
    pub map: Vec<(String, geo::MultiPolygon<f64>)>,
}

/// The evaluation system for a targets file: its `[system]` table, else `rules/indicators.toml`, else the
/// embedded default; its formulas checked against the catalog and the check rules.
pub fn system(
    targets: &balance::inputs::Targets,
    path: &Path,
    rules: Option<&Path>,
    catalog: &Catalog,
) -> Result<System> {
    if targets.scoring.is_some() {
        return Err(Error::Invalid(format!(
            "{}: [scoring] is no longer read: points and grade bands are in the evaluation system \
             (layers/rules/indicators.toml, `--rules DIR` or a [system] table); put forest_coverage_pct and \
             water_quality_good_pct under [regions.\"CODE\"]",
            path.display()
        )));
    }
    let codes: Vec<&str> = checks::rules::catalogue().iter().map(|c| c.code()).collect();
    let known = |c: &formula::Cell| cells::known(c, catalog, &codes);
    System::load(targets.system.as_ref().map(|s| (s, path)), rules, &known)
}

/// Check the region's part of the targets file against the system: its 主体功能区 type is one of the
/// system's, and each judgement is of a judged item, within its points, with a note.
fn check_region(sys: &System, rt: &balance::inputs::RegionTargets, region: &str, path: &Path) -> Result<()> {
    let bad = |m: String| Err(Error::Invalid(format!("{}: [regions.\"{region}\"] {m}", path.display())));
    if let Some(z) = &rt.function_zone {
        if !sys.file.function_zones.contains(z) {
            let list =
                if sys.file.function_zones.is_empty() { "none".into() } else { sys.file.function_zones.join(", ") };
            return bad(format!(
                "function_zone '{z}' is not a 主体功能区 type of the system {} ({list})",
                sys.file.name
            ));
        }
    }
    for (code, j) in &rt.judgements {
        let Some(i) = sys.indicators.iter().find(|i| &i.def.code == code) else {
            return bad(format!("judgements: '{code}' is not an indicator of the system {}", sys.file.name));
        };
        if !matches!(i.def.score, system::Method::Judged) {
            return bad(format!("judgements: '{code}' is computed, not judged by the auditor"));
        }
        if j.note.trim().is_empty() {
            return bad(format!("judgements.{code}: a qualitative item without a note (say why it got its points)"));
        }
        let max = sys.indicator_points(&i.def, rt.function_zone.as_deref());
        if !(0.0..=max).contains(&j.points) {
            return bad(format!("judgements.{code}: {} points, but the item has {max}", j.points));
        }
    }
    Ok(())
}

/// Run the audit.
pub fn compute(reg: &Registry, req: &Request) -> Result<Audit> {
    let (targets, targets_hash) = balance::inputs::targets(&req.targets)?;
    let catalog = reg.catalog();
    let sys = system(&targets, &req.targets, req.rules.as_deref(), catalog)?;
    let rt = targets.regions.get(&req.region).cloned().unwrap_or_default();
    check_region(&sys, &rt, &req.region, &req.targets)?;
    let sheet = balance::compute(reg, &sheet_request(req))?;
    let new_findings = new_findings(reg, req)?;
    let patches = tenure_patches(reg, req)?;
    let rules = crate::monitor::MonitorRules::load(req.rules.as_deref(), catalog)?;
    let screened = crate::monitor::Request { from: req.from, to: req.to, region: Some(req.region.clone()) };
    let ledger = crate::monitor::screen(reg, &screened, &rules)?.ledger;
    let src = cells::Sources {
        sheet: &sheet,
        catalog,
        findings: Some(&new_findings),
        patches: Some(&patches),
        ledger: Some(&ledger),
        region: &rt,
    };
    let (mut indicators, total) = evaluate(&sys, &src);
    let series = tenure_series(reg, req, &sheet)?;
    let years = by_year(&sys, &series, catalog, &rt, &mut indicators);
    let warning = tenure_warning(reg, req)?;
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
        system: SystemUsed { name: sys.file.name.clone(), source: sys.source.clone(), sha256: sys.sha256.clone() },
        function_zone: rt.function_zone.clone(),
        indicators,
        blocks: total.blocks,
        years,
        points_earned: total.earned,
        points_available: total.available,
        score: total.score,
        total: sys.file.total,
        grade: total.grade,
        new_findings,
        patches,
        ledger,
        warning,
        targets: balance::inputs::ConfigFile { path: req.targets.display().to_string(), sha256: targets_hash },
        sheet,
        map,
    })
}

/// The warning of the region's townships (or counties) over the tenure, when the registry has their outlines.
fn tenure_warning(reg: &Registry, req: &Request) -> Result<Option<crate::warning::Warning>> {
    if crate::warning::units(reg, &req.region, req.to).is_err() {
        return Ok(None);
    }
    let rules = crate::warning::WarningRules::load(req.rules.as_deref())?;
    let w = crate::warning::Request {
        from: req.from,
        to: req.to,
        region: req.region.clone(),
        targets: Some(req.targets.clone()),
        water: req.water.clone(),
        livestock: req.livestock.clone(),
        rules: req.rules.clone(),
    };
    crate::warning::compute(reg, &w, &rules).map(Some)
}

fn sheet_request(req: &Request) -> balance::Request {
    balance::Request {
        from: req.from,
        to: req.to,
        region: Some(req.region.clone()),
        level: balance::Level::One,
        liability: None,
        targets: Some(req.targets.clone()),
        forest_changes: req.forest_changes.clone(),
        water: req.water.clone(),
        livestock: req.livestock.clone(),
        rules: req.rules.clone(),
        overlaps: balance::OverlapPolicy::Resolve,
        trace: false,
    }
}

/// The tenure year by year (its start, each 31 December inside it, its end), chained; a tenure of one period
/// is the tenure's own sheet.
fn tenure_series(reg: &Registry, req: &Request, sheet: &BalanceSheet) -> Result<balance::series::Series> {
    let dates = balance::series::tenure_dates(req.from, req.to);
    if dates.len() > 2 {
        return balance::series::compute(reg, &sheet_request(req), &dates);
    }
    balance::series::single(reg, sheet.clone())
}

/// Each indicator's value at every date of the series and its trend; the years with their missing flags.
fn by_year(
    sys: &System,
    series: &balance::series::Series,
    catalog: &Catalog,
    rt: &balance::inputs::RegionTargets,
    indicators: &mut [Indicator],
) -> Vec<TenureYear> {
    use cells::{At, Period};
    let sources: Vec<cells::Sources> = series
        .years
        .iter()
        .map(|y| cells::Sources { sheet: &y.sheet, catalog, findings: None, patches: None, ledger: None, region: rt })
        .collect();
    for (ind, def) in indicators.iter_mut().zip(&sys.indicators) {
        let Some(expr) = &def.value else { continue };
        let mut values = vec![expr.eval(&At { src: &sources[0], period: Period::Start, start: None })];
        values.extend(sources.iter().map(|src| expr.eval(&At { src, period: Period::End, start: None })));
        ind.trend = trend(&values, def.def.rule);
        ind.by_year = values;
    }
    series
        .years
        .iter()
        .map(|y| TenureYear {
            year: y.year,
            from: y.from.clone(),
            to: y.to.clone(),
            surveys: y.surveys.clone(),
            missing: y.missing,
        })
        .collect()
}

/// 上升 / 下降 / 持平 from the first to the last value with data, and whether that is 向好 or 趋差 by the rule.
fn trend(values: &[Option<f64>], rule: Option<system::Rule>) -> String {
    use system::Rule;
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let (Some(a), Some(b)) = (known.first(), known.last()) else { return "—".into() };
    if known.len() < 2 {
        return "—".into();
    }
    let eps = 1e-6 * a.abs().max(1.0);
    let (dir, up) = if b - a > eps {
        ("上升", Some(true))
    } else if a - b > eps {
        ("下降", Some(false))
    } else {
        ("持平", None)
    };
    let good = match (rule, up) {
        (Some(Rule::AtLeast | Rule::NotDecreasing), Some(u)) => Some(u),
        (Some(Rule::AtMost | Rule::NotIncreasing), Some(u)) => Some(!u),
        _ => None,
    };
    match good {
        Some(true) => format!("{dir} (向好)"),
        Some(false) => format!("{dir} (趋差)"),
        None => dir.to_string(),
    }
}

/// Each indicator's values, verdict and points, and the blocks' total.
fn evaluate(sys: &System, src: &cells::Sources) -> (Vec<Indicator>, score::Total) {
    use cells::{At, Period};
    let zone = src.region.function_zone.as_deref();
    let mut scored = Vec::new();
    let mut out = Vec::new();
    for i in &sys.indicators {
        let d = &i.def;
        let at = |p: Period, start: Option<f64>| At { src, period: p, start };
        let start = i.value.as_ref().and_then(|v| v.eval(&at(Period::Start, None)));
        let end = i.value.as_ref().and_then(|v| v.eval(&at(Period::End, None)));
        let t = |e: &formula::Expr| e.eval(&at(Period::End, start));
        let (target, upper) = match (&i.target, &i.band) {
            (_, Some((lo, hi))) => (t(lo), t(hi)),
            (Some(x), None) => (t(x), None),
            (None, None) if matches!(d.rule, Some(system::Rule::NotDecreasing | system::Rule::NotIncreasing)) => {
                (start, None)
            }
            _ => (None, None),
        };
        let m = score::Measured { start, end, target, upper };
        let max = sys.indicator_points(d, zone);
        let judgement = src.region.judgements.get(&d.code);
        let p = score::indicator(&d.score, d.rule, max, &m, judgement);
        let reason = p.as_ref().map(|p| p.reason.clone()).unwrap_or_else(|| match d.score {
            system::Method::Judged => "未评定 (目标文件无此项评分)，不计分".into(),
            _ => "无数据，不计分".into(),
        });
        out.push(Indicator {
            id: d.code.clone(),
            name: d.name.clone(),
            name_en: d.name_en.clone(),
            unit: d.unit.clone(),
            block: d.block.clone(),
            formula: d.value.clone(),
            start,
            end,
            target,
            upper,
            rule: d.rule.map_or(d.score.label(), |r| r.label()).to_string(),
            verdict: p.as_ref().map_or(Verdict::NoData, |p| p.verdict),
            method: d.score.label().to_string(),
            max_points: max,
            points: p.as_ref().map_or(0.0, |p| p.points),
            reason,
            note: judgement.filter(|_| matches!(d.score, system::Method::Judged)).map(|j| j.note.clone()),
            evidence: judgement.and_then(|j| j.evidence.clone()),
            by_year: vec![],
            trend: "—".into(),
        });
        scored.push(p);
    }
    (out, score::total(sys, zone, &scored))
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
            Col::new("满分", "Points", "分", 2),
            Col::new("得分", "Earned", "分", 2),
        ],
        rows: a
            .indicators
            .iter()
            .map(|i| Row {
                code: i.id.clone(),
                name: format!(
                    "[{}] {}（{}）· {} — {} · {}",
                    i.block,
                    i.name,
                    i.unit,
                    i.verdict.label(),
                    i.rule,
                    i.reason
                ),
                values: vec![
                    i.start,
                    i.end,
                    i.start.zip(i.end).map(|(s, e)| e - s),
                    i.target,
                    Some(i.max_points),
                    Some(i.points),
                ],
            })
            .collect(),
        notes: vec![format!(
            "评价体系 {} · 得分 score {:.2} / {}, 评价 grade {}",
            a.system.name, a.score, a.total, a.grade
        )],
    };
    let blocks = Table {
        id: "blocks".into(),
        title: "版块得分".into(),
        title_en: "Block scores".into(),
        code_header: crate::table::Header::new("版块", "Block"),
        name_header: crate::table::Header::new("名称 · 计分依据", "Name · why"),
        columns: vec![
            Col::new("满分", "Points", "分", 2),
            Col::new("可计分", "With data", "分", 2),
            Col::new("指标得分", "Earned", "分", 2),
            Col::new("加分", "Bonus", "分", 2),
            Col::new("得分", "Score", "分", 2),
        ],
        rows: a
            .blocks
            .iter()
            .map(|b| Row {
                code: b.code.clone(),
                name: format!("{} · {}", b.name, b.reason),
                values: vec![Some(b.points), Some(b.available), Some(b.earned), Some(b.bonus), Some(b.score)],
            })
            .collect(),
        notes: vec![],
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
    let mut out = vec![ind, blocks, years_table(a), fin, pat, ledger];
    out.extend(a.warning.as_ref().map(crate::warning::table));
    out
}

/// The indicators at each date of the tenure year by year, with their trend.
fn years_table(a: &Audit) -> Table {
    let mut columns: Vec<Col> = Vec::new();
    if let Some(y) = a.years.first() {
        columns.push(Col::new(&y.from, &y.from, "", 4));
    }
    for y in &a.years {
        let zh = if y.missing { format!("{}（无当年数据）", y.to) } else { y.to.clone() };
        columns.push(Col::new(&zh, &y.to, "", 4));
    }
    Table {
        id: "indicator_years".into(),
        title: "任期逐年指标".into(),
        title_en: "Indicators year by year".into(),
        code_header: crate::table::Header::new("指标", "Indicator"),
        name_header: crate::table::Header::new("名称（单位）· 趋势", "Name (unit) · trend"),
        columns,
        rows: a
            .indicators
            .iter()
            .filter(|i| i.by_year.iter().any(Option::is_some))
            .map(|i| Row {
                code: i.id.clone(),
                name: format!("{}（{}）· {}", i.name, i.unit, i.trend),
                values: i.by_year.clone(),
            })
            .collect(),
        notes: a
            .years
            .iter()
            .filter(|y| y.missing)
            .map(|y| format!("{} 年无土地调查数据 (no survey dated {} … {})", y.year, y.from, y.to))
            .collect(),
    }
}

/// Provenance lines for the report and the workbook.
pub fn about(a: &Audit) -> Vec<(String, String)> {
    let mut v = vec![
        ("被审计领导干部 Official".to_string(), format!("{} {}", a.post, a.official)),
        ("得分 Score".into(), format!("{:.2} / {}, {}", a.score, a.total, a.grade)),
        (
            "评价体系 Evaluation system".into(),
            format!("{} ({}, sha256 {})", a.system.name, a.system.source, a.system.sha256),
        ),
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
