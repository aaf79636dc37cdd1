//! The register-book page (登记簿) of a registration unit as of a date: 自然状况 (location, area, the area of
//! each resource type inside the unit from the parcels), 权属状况 (ownership subjects; 国有 / 集体 / 争议 areas
//! from the parcels' 权属性质), 关联信息 (the red lines, farmland blocks and urban boundary it overlaps, with
//! areas; linked real-estate unit numbers), the registration events, and a map (附图). Rendered as JSON
//! (`schemas/book.schema.json`) or as one self-contained HTML page that prints on A4 ([`html`]).

pub mod html;

use std::collections::BTreeMap;

use geo::{BoundingRect, Intersects};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{AsOf, LayerKind, Value};
use crate::quantity::SquareMetres;
use crate::store::{EventRow, Read, Registration, Registry};
use geo::MultiPolygon;

/// An area in the three units a book shows.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
pub struct Area {
    /// Square metres (2 decimals).
    pub m2: f64,
    /// Hectares (4 decimals).
    pub ha: f64,
    /// 亩 (2 decimals).
    pub mu: f64,
}

impl Area {
    fn of(m2: f64) -> Area {
        let a = SquareMetres(m2);
        Area {
            m2: (m2 * 100.0).round() / 100.0,
            ha: (a.hectares() * 1e4).round() / 1e4,
            mu: (a.mu() * 100.0).round() / 100.0,
        }
    }

    /// Parts of `total` (m²) as published: in each unit the rounded parts add up to the rounded total
    /// ([`crate::model::apportion`]), absorbing the sub-0.01 m² differences of pieces measured apart.
    fn parts_of(parts: &[f64], total: f64) -> Vec<Area> {
        let t = SquareMetres(total);
        let m2 = crate::model::apportion(parts, total, 100.0);
        let ha_parts: Vec<f64> = parts.iter().map(|p| SquareMetres(*p).hectares()).collect();
        let mu_parts: Vec<f64> = parts.iter().map(|p| SquareMetres(*p).mu()).collect();
        let ha = crate::model::apportion(&ha_parts, t.hectares(), 1e4);
        let mu = crate::model::apportion(&mu_parts, t.mu(), 100.0);
        (0..parts.len()).map(|i| Area { m2: m2[i], ha: ha[i], mu: mu[i] }).collect()
    }
}

/// Labelled parts of the unit's area as published: apportioned so that they add up to the unit's area when
/// they cover it to within [`MIN_LINK_M2`] (else, with overlapping parcels counted twice, each rounded).
fn shares(parts: Vec<(String, f64)>, total: f64) -> Vec<Share> {
    let raw: Vec<f64> = parts.iter().map(|p| p.1).collect();
    let areas = if (raw.iter().sum::<f64>() - total).abs() <= MIN_LINK_M2 {
        Area::parts_of(&raw, total)
    } else {
        raw.iter().map(|a| Area::of(*a)).collect()
    };
    parts.into_iter().zip(areas).map(|((label, _), area)| Share { label, area }).collect()
}

/// One line of the resource-type or ownership breakdown.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Share {
    /// 水流 / 湿地 / 森林 / 草原 / 荒地 / 其他 / 非自然资源, or 国有 / 集体 / 争议, or 未覆盖 (no parcel).
    pub label: String,
    /// Its area.
    pub area: Area,
}

/// A public control the unit overlaps.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Link {
    /// Layer (redlines, farmland, urban, or a linked kind: approvals, mining …).
    pub layer: LayerKind,
    /// Layer title (生态保护红线 …).
    pub title: String,
    /// Its code.
    pub key: String,
    /// Name or zone, when it has one.
    pub detail: String,
    /// Area of the overlap with the unit.
    pub overlap: Area,
}

/// The book page.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BookPage {
    /// 登记单元号.
    pub unit: String,
    /// The date of the page.
    pub as_of: String,
    /// 登记单元名称.
    pub name: String,
    /// 登记单元类型.
    pub unit_type: String,
    /// 坐落.
    pub location: String,
    /// The unit's ellipsoidal area.
    pub area: Area,
    /// The declared area (DYMJ), if any.
    pub declared_area: Option<Area>,
    /// 自然状况: area by resource type (adds up to `area`).
    pub resource_types: Vec<Share>,
    /// 权属状况: 所有权主体, 代表行使主体, 代理行使主体, 行使方式, 日常管理主体 (label → value).
    pub ownership: BTreeMap<String, String>,
    /// 权属状况: 国有 / 集体 / 争议 areas from the parcels (adds up to `area`).
    pub ownership_areas: Vec<Share>,
    /// 关联信息: controls the unit overlaps.
    pub links: Vec<Link>,
    /// 关联信息: linked real-estate unit numbers.
    pub real_estate_units: Vec<String>,
    /// Registration events up to the date.
    pub events: Vec<EventRow>,
    /// What the page cannot reconcile (e.g. overlapping parcels counted twice).
    pub warnings: Vec<String>,
    /// Registry file and tool version that produced the page.
    pub source: String,
    /// The map (附图), an SVG document (not in the JSON).
    #[serde(skip)]
    #[schemars(skip)]
    pub map_svg: String,
}

/// Overlaps smaller than this (m²) are edges touching, not links.
const MIN_LINK_M2: f64 = 1.0;

/// What a page is drawn from: a unit's code, its fields (in the units layer's order), outline and area.
struct Subject<'a> {
    code: &'a str,
    values: &'a [Value],
    geometry: &'a MultiPolygon<f64>,
    area_m2: f64,
}

/// Build a unit's book page as of `at` (None: now).
pub fn page(reg: &Registry, unit: &str, at: Option<AsOf>) -> Result<BookPage> {
    let rec = reg.read(&Read::layer(LayerKind::Units).on(at))?.into_iter().find(|r| r.record.key == unit).ok_or_else(
        || {
            Error::Invalid(format!(
                "unit {unit} is not registered{}",
                at.map(|d| format!(" on {d}")).unwrap_or_default()
            ))
        },
    )?;
    let subject = Subject {
        code: unit,
        values: &rec.record.values,
        geometry: &rec.record.geometry,
        area_m2: rec.areas.ellipsoidal,
    };
    compose(reg, &subject, at)
}

/// The page a registration would give the unit on its date, before it is recorded (what the registrar and
/// the reviewer see of it): the registry's parcels and controls under the registration's outline and fields.
pub fn preview(reg: &Registry, r: &Registration) -> Result<BookPage> {
    let geometry = r.geometry.as_ref().ok_or_else(|| Error::Invalid(format!("unit {}: no outline to draw", r.unit)))?;
    let subject = Subject { code: &r.unit, values: &r.values, geometry, area_m2: r.areas.ellipsoidal };
    compose(reg, &subject, Some(r.date))
}

fn compose(reg: &Registry, unit: &Subject, at: Option<AsOf>) -> Result<BookPage> {
    let cat = reg.catalog();
    let udef = cat.layer(LayerKind::Units);
    let none = Value::Null;
    let value = |f: &str| udef.field_index(f).map_or(&none, |i| unit.values.get(i).unwrap_or(&none));
    let val = |f: &str| value(f).to_string();
    let env = unit
        .geometry
        .bounding_rect()
        .ok_or_else(|| Error::Invalid(format!("unit {} has an empty geometry", unit.code)))?;
    let calc = crate::area::AreaCalculator::for_crs(&reg.crs)?;
    let parcels = reg.read(&Read::layer(LayerKind::Parcels).on(at))?;
    let pieces = crate::units::composition(unit.geometry, &parcels, cat, &calc)?;
    let (resource_types, ownership_areas, warnings) = breakdown(&pieces, unit.area_m2);
    let (links, zones) = controls(reg, unit.geometry, env, at, &calc)?;
    let ownership = [
        ("所有权主体", "SYQZT"),
        ("所有权代表行使主体", "DBXSZT"),
        ("所有权代理行使主体", "DLXSZT"),
        ("行使方式", "XSFS"),
        ("日常管理主体", "GLZT"),
    ]
    .into_iter()
    .map(|(label, f)| (label.to_string(), val(f)))
    .collect();
    let cutoff = at.map(|d| d.to_string());
    let events = reg
        .events(Some(unit.code))?
        .into_iter()
        .filter(|e| cutoff.as_ref().is_none_or(|c| e.event_date.as_str() <= c.as_str()))
        .collect();
    Ok(BookPage {
        unit: unit.code.to_string(),
        as_of: cutoff.unwrap_or_else(|| chrono::Local::now().date_naive().to_string()),
        name: val("DYMC"),
        unit_type: val("DYLX"),
        location: val("ZL"),
        area: Area::of(unit.area_m2),
        declared_area: value("DYMJ").as_f64().map(Area::of),
        resource_types,
        ownership,
        ownership_areas,
        links,
        real_estate_units: val("BDCDYH")
            .split([';', ',', '；'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        events,
        warnings,
        source: format!("{} (nrledger {})", reg.path().display(), env!("CARGO_PKG_VERSION")),
        map_svg: html::map_svg(unit.geometry, &pieces, &zones),
    })
}

/// 自然状况 and 权属状况 areas of the parcels' pieces inside a unit of `total` m² (each adding up to it,
/// with 未覆盖 for ground no parcel covers), and what cannot be reconciled.
fn breakdown(pieces: &[crate::units::Piece], total: f64) -> (Vec<Share>, Vec<Share>, Vec<String>) {
    let by_type = crate::units::totals(pieces, |p| &p.resource_type);
    let by_owner = crate::units::totals(pieces, |p| &p.ownership);
    let covered: f64 = by_type.values().sum();
    let order = ["水流", "湿地", "森林", "草原", "荒地", "其他", "非自然资源"];
    let mut types: Vec<(String, f64)> =
        order.iter().map(|t| (t.to_string(), by_type.get(*t).copied().unwrap_or(0.0))).collect();
    types.extend(by_type.iter().filter(|(t, _)| !order.contains(&t.as_str())).map(|(t, a)| (t.clone(), *a)));
    let uncovered = (total - covered).max(0.0);
    let mut warnings = Vec::new();
    if covered - total > MIN_LINK_M2 {
        warnings.push(format!(
            "the parcels inside the unit add up to {:.2} m² more than the unit's area: parcels overlap there and are counted twice (see `nrledger check`, NR101)",
            covered - total
        ));
    }
    let mut owners: Vec<(String, f64)> =
        ["国有", "集体", "争议"].iter().map(|t| (t.to_string(), by_owner.get(*t).copied().unwrap_or(0.0))).collect();
    if uncovered > MIN_LINK_M2 {
        types.push(("未覆盖 (no parcel)".into(), uncovered));
        owners.push(("未覆盖 (no parcel)".into(), uncovered));
    }
    (shares(types, total), shares(owners, total), warnings)
}

/// 关联信息: the red lines, farmland blocks and urban boundary the unit overlaps, and the records of the
/// linked kinds (approvals, mining rights: [`crate::catalog::LayerDef::linked`]) that do, with the overlaps'
/// areas, and their outlines for the map.
#[allow(clippy::type_complexity)]
fn controls(
    reg: &Registry,
    ugeom: &MultiPolygon<f64>,
    env: geo::Rect<f64>,
    at: Option<AsOf>,
    calc: &crate::area::AreaCalculator,
) -> Result<(Vec<Link>, Vec<(LayerKind, MultiPolygon<f64>)>)> {
    let cat = reg.catalog();
    let mut links = Vec::new();
    let mut zones = Vec::new();
    // the control lines with their zone, then the kinds the catalog links (approvals, mining rights …) with
    // their summary fields
    let controls = [(LayerKind::Redlines, "GKFQ"), (LayerKind::Farmland, "BHKBH"), (LayerKind::Urban, "FQLX")];
    let linked = cat.layers().iter().filter(|d| d.linked && !controls.iter().any(|(k, _)| *k == d.kind));
    let kinds: Vec<(LayerKind, Vec<&str>)> = controls
        .iter()
        .map(|(k, f)| (*k, vec!["HXMC", *f]))
        .chain(linked.map(|d| (d.kind, d.summary.iter().map(String::as_str).collect())))
        .collect();
    for (kind, detail_fields) in kinds {
        let def = cat.layer(kind);
        let shown: Vec<usize> =
            detail_fields.iter().filter_map(|f| def.field_index(f)).filter(|i| *i != def.key_index()).collect();
        for z in reg.read(&Read::layer(kind).on(at))? {
            if !z.record.geometry.bounding_rect().is_some_and(|b| b.intersects(&env)) {
                continue;
            }
            let piece = crate::geometry::intersection(ugeom, &z.record.geometry);
            let a = if piece.0.is_empty() {
                0.0
            } else {
                calc.areas_densified(&piece, crate::area::PIECE_DENSIFY_METRES)?.ellipsoidal
            };
            if a < MIN_LINK_M2 {
                continue;
            }
            let detail: Vec<String> = shown.iter().map(|i| z.record.value(*i).to_string()).collect();
            links.push(Link {
                layer: kind,
                title: def.title.clone(),
                key: z.record.key.clone(),
                detail: detail.join(" "),
                overlap: Area::of(a),
            });
            zones.push((kind, z.record.geometry.clone()));
        }
    }
    Ok((links, zones))
}
