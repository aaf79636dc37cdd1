//! `nrledger screen`: every piece of ground whose class changed between two surveys in a way the rules
//! watch, compared with the records that may cover it (approvals, supply, temporary land, mining rights,
//! facility filings), and classified.
//!
//! The change is placed on the later survey's date: a record covers it when it is in force on that date
//! (its start on or before it, its end, if any, on or after it) and its layer covers this kind of change
//! into this class. The records are read as the registry holds them now (the latest vintage of each
//! layer), so an approval delivered after the survey still counts when it was issued before it.

use std::collections::{BTreeMap, HashMap};

use geo::{BooleanOps, BoundingRect, MultiPolygon};
use rayon::prelude::*;

use super::rules::{Cover, MonitorRules};
use super::{mu, Change, Compared, CoverLayer, Patch, Screening, Side, Status, SummaryRow};
use crate::area::AreaCalculator;
use crate::balance::ChangedGround;
use crate::error::Result;
use crate::model::{AsOf, LayerKind, Value};
use crate::quantity::SquareMetres;
use crate::store::{Fields, Read, Registry, StoredRecord};

/// Shared ground below this (m²) is a shared edge, not a comparison worth listing.
const SHARED_NOISE_M2: f64 = 0.01;

/// What to screen.
#[derive(Debug, Clone)]
pub struct Request {
    /// The earlier survey.
    pub from: AsOf,
    /// The later survey.
    pub to: AsOf,
    /// Region code (None: every admin outline).
    pub region: Option<String>,
}

/// The records of one cover layer, with the positions of their date fields.
struct CoverSet<'a> {
    rule: &'a Cover,
    title: (String, Option<String>),
    from: usize,
    until: Option<usize>,
    records: Vec<(StoredRecord, geo::Rect<f64>)>,
}

/// Screen the change between `req.from` and `req.to`.
pub fn screen(reg: &Registry, req: &Request, rules: &MonitorRules) -> Result<Screening> {
    if req.from >= req.to {
        return Err(crate::error::Error::Invalid(format!(
            "--from {} must be before --to {}: a screening compares an earlier survey with a later one",
            req.from, req.to
        )));
    }
    let (changed, region) = crate::balance::changed_ground(reg, req.from, req.to, req.region.as_deref())?;
    let region_box = region.outline.bounds();
    let mut cover_layers = Vec::new();
    let mut sets = Vec::new();
    for rule in &rules.cover {
        let def = reg.catalog().layer(rule.layer);
        let records: Vec<(StoredRecord, geo::Rect<f64>)> = match region_box {
            Some(b) => reg.read(&Read::layer(rule.layer).in_boxes(&[b]))?,
            None => Vec::new(),
        }
        .into_iter()
        .filter_map(|r| r.record.geometry.bounding_rect().map(|b| (r, b)))
        .collect();
        cover_layers.push(CoverLayer {
            layer: rule.layer,
            vintage: reg.vintages(rule.layer)?.last().map(|d| d.to_string()),
            records: records.len(),
        });
        let field = |f: &str| def.field_index(f).expect("checked when the rules were loaded");
        let title = |f: &str| def.fields[field(f)].title.clone();
        sets.push(CoverSet {
            rule,
            title: (title(&rule.from), rule.until.as_deref().map(title)),
            from: field(&rule.from),
            until: rule.until.as_deref().map(field),
            records,
        });
    }
    let townships = townships(reg, req.to, &changed)?;
    let catalog = reg.catalog();
    let crs = reg.crs.clone();
    let (from, to) = (req.from.to_string(), req.to.to_string());
    let mut patches = changed
        .par_iter()
        .filter_map(|g| rules.change(&g.from.class, &g.to.class).map(|c| (g, c)))
        .map_init(
            || AreaCalculator::for_thread(&crs),
            |calc, (g, change)| -> Result<Patch> {
                let calc = calc.as_ref().map_err(|e| crate::error::Error::Invalid(e.to_string()))?;
                let township = townships.get(&g.to.fid).cloned().unwrap_or_default();
                classify(g, change, township, &sets, rules, (&from, &to), calc, catalog)
            },
        )
        .collect::<Result<Vec<Patch>>>()?;
    patches.sort_by(|a, b| (&a.township, &a.id).cmp(&(&b.township, &b.id)));
    let summary_by_cause = summary(&patches, |p| p.cause.clone().unwrap_or_else(|| "未注明".into()));
    let summary = summary(&patches, |p| p.township.clone());
    let township = |fid: i64| townships.get(&fid).cloned().unwrap_or_default();
    let causes = catalog.classes.table("change-cause");
    let cause = |c: &str| causes.and_then(|t| t.normalise(c)).unwrap_or(c).to_string();
    let ledger = super::ledger::ledgers(&changed, &patches, (&township, &cause), rules);
    Ok(Screening {
        from,
        to,
        region: region.code,
        region_name: region.name,
        rules: rules.source.clone(),
        rules_sha256: rules.sha256.clone(),
        cover_layers,
        patches,
        summary,
        summary_by_cause,
        ledger,
    })
}

/// The township (first 9 digits of 坐落单位代码 ZLDWDM) of each closing parcel.
fn townships(reg: &Registry, to: AsOf, changed: &[ChangedGround]) -> Result<HashMap<i64, String>> {
    let def = reg.catalog().layer(LayerKind::Parcels);
    let Some(zl) = def.field_index("ZLDWDM") else { return Ok(HashMap::new()) };
    let mut fids: Vec<i64> = changed.iter().map(|g| g.to.fid).collect();
    fids.sort_unstable();
    fids.dedup();
    let read = reg.read(&Read::layer(LayerKind::Parcels).on(Some(to)).fields(Fields::Only(&["ZLDWDM"])).fids(&fids))?;
    Ok(read
        .into_iter()
        .map(|r| {
            let code = r.record.value(zl).to_string();
            (r.fid, code.chars().take(9).collect())
        })
        .collect())
}

/// One changed piece against the cover layers.
#[allow(clippy::too_many_arguments)]
fn classify(
    g: &ChangedGround,
    change: Change,
    township: String,
    sets: &[CoverSet],
    rules: &MonitorRules,
    dates: (&str, &str),
    calc: &AreaCalculator,
    catalog: &crate::catalog::Catalog,
) -> Result<Patch> {
    let piece_box = g.geometry.bounding_rect();
    let mut compared = Vec::new();
    let mut in_force: Vec<&MultiPolygon<f64>> = Vec::new();
    for set in sets {
        for (r, b) in &set.records {
            if !piece_box.is_some_and(|p| boxes_meet(&p, b)) {
                continue;
            }
            let shared = crate::geometry::intersection(&g.geometry, &r.record.geometry);
            let shared_m2 = if shared.0.is_empty() { 0.0 } else { calc.areas(&shared)?.ellipsoidal };
            if shared_m2 <= SHARED_NOISE_M2 {
                continue;
            }
            let reason = why_not(set, r, change, &g.to.class, dates.1);
            if reason.is_none() {
                in_force.push(&r.record.geometry);
            }
            compared.push(Compared {
                layer: set.rule.layer,
                key: r.record.key.clone(),
                covers: reason.is_none(),
                reason,
                shared_m2: SquareMetres(shared_m2),
            });
        }
    }
    let covered_m2 = match in_force.as_slice() {
        [] => 0.0,
        [_] => compared.iter().find(|c| c.covers).map_or(0.0, |c| c.shared_m2.0).min(g.area),
        many => {
            let union = many.iter().skip(1).fold((*many[0]).clone(), |u, m| u.union(*m));
            let shared = crate::geometry::intersection(&g.geometry, &union);
            if shared.0.is_empty() {
                0.0
            } else {
                calc.areas(&shared)?.ellipsoidal.min(g.area)
            }
        }
    };
    let uncovered_m2 = (g.area - covered_m2).max(0.0);
    let cause =
        g.to.cause
            .as_deref()
            .map(|c| catalog.classes.table("change-cause").and_then(|t| t.normalise(c)).unwrap_or(c).to_string());
    let exempt =
        cause.as_deref().is_some_and(|c| rules.exempt.iter().any(|e| e.cause == c && e.changes.contains(&change)));
    let tol = rules.tolerance_m2;
    let status = match () {
        _ if exempt => Status::Exempt,
        _ if uncovered_m2 <= tol => Status::Covered,
        _ if covered_m2 <= tol => Status::NotCovered,
        _ => Status::Partly,
    };
    let side = |s: &crate::balance::ChangedSide| Side {
        key: s.key.clone(),
        class: s.class.clone(),
        name: catalog.classes.landuse_name(s.class.trim_end_matches(['K', 'A'])).unwrap_or("").to_string(),
    };
    let id_hash = crate::hashing::sha256_hex(format!("{}|{}|{}|{}", g.from.key, g.to.key, dates.0, dates.1).as_bytes());
    Ok(Patch {
        id: format!("JC{}-{}", dates.1.replace('-', ""), &id_hash[..10]),
        change,
        status,
        before: side(&g.from),
        after: side(&g.to),
        cause,
        township,
        area_m2: SquareMetres(g.area),
        area_mu: mu(g.area),
        covered_m2: SquareMetres(covered_m2),
        uncovered_m2: SquareMetres(if exempt { 0.0 } else { uncovered_m2 }),
        compared,
        geometry: g.geometry.clone(),
    })
}

/// Whether two boxes share any point.
fn boxes_meet(a: &geo::Rect<f64>, b: &geo::Rect<f64>) -> bool {
    a.min().x <= b.max().x && b.min().x <= a.max().x && a.min().y <= b.max().y && b.min().y <= a.max().y
}

/// Why record `r` does not cover a change of kind `change` into class `class` placed on date `to`; None
/// when it does.
fn why_not(set: &CoverSet, r: &StoredRecord, change: Change, class: &str, to: &str) -> Option<String> {
    let rule = set.rule;
    if !rule.applies(change, class) {
        let into = match rule.classes.is_empty() {
            true => String::new(),
            false => format!("变为 {} 的", rule.classes.join("、")),
        };
        let kinds: Vec<&str> = rule.changes.iter().map(|c| c.label()).collect();
        return Some(format!(
            "{} 只覆盖{into}{}，不覆盖变为 {class} 的{}",
            rule.layer,
            kinds.join("、"),
            change.label()
        ));
    }
    let date = |i: usize| match r.record.value(i) {
        Value::Text(t) if !t.is_empty() => Some(t.as_str()),
        _ => None,
    };
    let Some(start) = date(set.from) else {
        return Some(format!("{}为空 (no {})", set.title.0, rule.from));
    };
    if start > to {
        return Some(format!("{} {start} 晚于后时相 {to} (issued after the change)", set.title.0));
    }
    if let (Some(i), Some(t)) = (set.until, &set.title.1) {
        if let Some(end) = date(i).filter(|end| *end < to) {
            return Some(format!("{t} {end} 早于后时相 {to} (no longer in force)"));
        }
    }
    None
}

/// Totals by `group` (township, cause), change and status, then over the region (`合计`).
fn summary(patches: &[Patch], group: impl Fn(&Patch) -> String) -> Vec<SummaryRow> {
    let mut by: BTreeMap<(String, Change, Status), (usize, f64, f64)> = BTreeMap::new();
    let mut total: BTreeMap<(Change, Status), (usize, f64, f64)> = BTreeMap::new();
    for p in patches {
        for e in [by.entry((group(p), p.change, p.status)).or_default(), total.entry((p.change, p.status)).or_default()]
        {
            e.0 += 1;
            e.1 += p.area_m2.0;
            e.2 += p.uncovered_m2.0;
        }
    }
    let row = |group: String, change, status, (count, area, uncovered): (usize, f64, f64)| SummaryRow {
        group,
        change,
        status,
        count,
        area_m2: SquareMetres(area),
        uncovered_m2: SquareMetres(uncovered),
    };
    by.into_iter()
        .map(|((t, c, s), v)| row(t, c, s, v))
        .chain(total.into_iter().map(|((c, s), v)| row("合计".into(), c, s, v)))
        .collect()
}

/// The stored patches, not yet closed and found before `to`, whose ground the parcels valid on `to` show
/// restored — no longer construction land (新增建设用地), cultivated again (耕地流出) — all but at most
/// the rules' tolerance: (patch, restored m²). A reviewer still confirms with a step (`nrledger patch set`).
pub fn restored(reg: &Registry, to: AsOf, rules: &MonitorRules) -> Result<Vec<(String, f64)>> {
    let open = reg.open_patches(&to.to_string())?;
    let Some(ci) = reg.catalog().layer(LayerKind::Parcels).field_index("DLBM") else { return Ok(vec![]) };
    let calc = AreaCalculator::for_crs(&reg.crs)?;
    let mut out = Vec::new();
    for p in open {
        let Some(b) = p.geometry.bounding_rect() else { continue };
        let parcels =
            reg.read(&Read::layer(LayerKind::Parcels).on(Some(to)).fields(Fields::Only(&["DLBM"])).in_boxes(&[b]))?;
        let mut restored = 0.0;
        for r in &parcels {
            let class = r.record.value(ci).to_string();
            let back = match p.change.as_str() {
                l if l == Change::Construction.label() => !rules.construction.contains(&class),
                _ => rules.cultivated.contains(&class),
            };
            if !back {
                continue;
            }
            let shared = crate::geometry::intersection(&p.geometry, &r.record.geometry);
            if !shared.0.is_empty() {
                restored += calc.areas(&shared)?.ellipsoidal;
            }
        }
        if p.area_m2 - restored <= rules.tolerance_m2 {
            out.push((p.patch_id, restored));
        }
    }
    Ok(out)
}
