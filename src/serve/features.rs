//! OGC API – Features, Part 1 Core and Part 2 CRS, over the registry: the landing page, conformance,
//! the collections (one per layer kind, and the records imports rejected), their queryables, pages of
//! items (`bbox`, `bbox-crs`, `datetime`, `limit`, `offset`, `crs`, `FIELD=value`) and single items.
//!
//! A layer's item is one version of a record: its id is the version's fid, and `datetime` picks versions
//! (a day: those valid on it, as `nrledger export --as-of` writes them; an interval: every version valid
//! in it). A page's properties are `nrledger export`'s columns (the layer's fields, then `area_ell`,
//! `area_gk`, `valid_from`, `valid_to`, `import_id`), so a GIS user gets the same records either way.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use geo::{BoundingRect, Contains, Intersects};
use ogcapi_types::common::{
    Collection, Collections, Conformance, Crs, Extent, LandingPage, Link, SpatialExtent, TemporalExtent,
};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value as Json};

use super::auth::Caller;
use super::crs::Served;
use super::geojson::{Feature, Page, Properties};
use super::html;
use super::params::{self, Format, Query};
use super::problem::{clip, ApiError};
use super::Service;
use crate::model::LayerKind;
use crate::store::{Fields, Read, Registry, StoredRecord, When};

/// The conformance classes the service meets.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
];

const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";
const HTML: &str = "text/html";

/// The id of the collection of rejected records.
pub const REJECTS: &str = "rejects";
/// The id of the collection of the latest stored check run's findings.
pub const FINDINGS: &str = "findings";
/// The properties the findings can be filtered by.
const FINDING_FILTERS: &[&str] = &["rule", "severity"];

/// What a collection id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A layer kind.
    Layer(LayerKind),
    /// The records imports rejected.
    Rejects,
    /// The findings of the latest stored check run.
    Findings,
}

impl Source {
    /// The collection `id` names, or a 404 naming it.
    pub fn parse(s: &Service, id: &str) -> Result<Source, ApiError> {
        if id == REJECTS {
            return Ok(Source::Rejects);
        }
        if id == FINDINGS {
            return Ok(Source::Findings);
        }
        layer_kind(s, id)
            .map(Source::Layer)
            .ok_or_else(|| ApiError::not_found("collectionId", format!("no collection '{}'", clip(id))))
    }

    fn id(self) -> &'static str {
        match self {
            Source::Layer(k) => k.name(),
            Source::Rejects => REJECTS,
            Source::Findings => FINDINGS,
        }
    }
}

/// Every collection id of a catalog: its layers, the rejected records, the findings.
pub fn collection_ids(catalog: &crate::catalog::Catalog) -> Vec<String> {
    let mut ids: Vec<String> = catalog.layers().iter().map(|d| d.kind.name().to_string()).collect();
    ids.extend([REJECTS.to_string(), FINDINGS.to_string()]);
    ids
}

/// The layer kind of the catalog named exactly `id`.
pub(super) fn layer_kind(s: &Service, id: &str) -> Option<LayerKind> {
    LayerKind::parse(id).filter(|k| k.name() == id && s.catalog.layers().iter().any(|d| d.kind == *k))
}

fn link(href: String, rel: &str, mediatype: &str, title: &str) -> Link {
    Link::new(href, rel).mediatype(mediatype).title(title)
}

/// A JSON or HTML response, as negotiated.
fn respond(format: Format, json: Json, page: impl FnOnce(&Json) -> String, mediatype: &'static str) -> Response {
    match format {
        Format::Json => ([(header::CONTENT_TYPE, mediatype)], json.to_string()).into_response(),
        Format::Html => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page(&json)).into_response(),
    }
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

/// The format a description (landing page, conformance, collections, queryables) is asked for in. It takes
/// no other parameter but `datetime`, which is checked and left to the items: GDAL, given a collection's
/// URL with a date (`OAPIF:…/collections/parcels?datetime=2019-12-31`), carries it to every request.
pub(super) fn described(raw: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    described_by(Query::parse(raw)?, headers)
}

/// [`described`], for a query whose other parameters the caller has taken already.
pub(super) fn described_by(mut q: Query, headers: &HeaderMap) -> Result<Format, ApiError> {
    let format = Format::negotiate(q.take("f"), accept(headers))?;
    params::datetime(q.take("datetime"))?;
    q.done()?;
    Ok(format)
}

/// `/` for a client: the landing page (a browser gets the map, `map::home`).
pub(super) fn landing(s: &Service) -> Result<Response, ApiError> {
    let b = &s.base;
    let page = LandingPage::new("nrledger 自然资源登记 Natural-resource registry")
        .description("The registry's layers at any date, as OGC API – Features (自然资源统一确权登记 · 三调 · 生态保护红线 · 永久基本农田 · 城镇开发边界)")
        .links(vec![
            link(format!("{b}/"), "self", JSON, "this document"),
            link(format!("{b}/?f=html"), "alternate", HTML, "the map, with links to the collections"),
            link(format!("{b}/api"), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "the API definition"),
            link(format!("{b}/conformance"), "conformance", JSON, "conformance classes"),
            link(format!("{b}/collections"), "data", JSON, "the collections"),
        ]);
    let json = serde_json::to_value(&page).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, JSON)], json.to_string()).into_response())
}

/// `/conformance`.
pub async fn conformance(headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let format = described(raw.as_deref(), &headers)?;
    let classes: Vec<&str> = CONFORMANCE.iter().chain(super::cql::CONFORMANCE).copied().collect();
    let json = serde_json::to_value(Conformance::new(&classes)).map_err(ApiError::internal)?;
    Ok(respond(format, json, html::conformance, JSON))
}

/// `/collections`.
pub async fn collections(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let format = described(raw.as_deref(), &headers)?;
    let s2 = s.clone();
    let mut list = s.pool.read(move |reg| describe_all(&s2, reg)).await?;
    // an anonymous caller of a closed registry sees the public collections only
    if caller.closed && caller.account.is_none() {
        list.retain(|c| s.gate.public.contains(&c.id));
    }
    let b = &s.base;
    let mut all = Collections::new(list);
    all.links = vec![
        link(format!("{b}/collections"), "self", JSON, "the collections"),
        link(format!("{b}/collections?f=html"), "alternate", HTML, "as HTML"),
    ];
    all.crs = Served::all(&s.crs)
        .iter()
        .map(|c| c.uri(&s.crs).parse::<Crs>())
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    let json = serde_json::to_value(&all).map_err(ApiError::internal)?;
    Ok(respond(format, json, html::collections, JSON))
}

/// `/collections/{id}`.
pub async fn collection(
    State(s): State<Arc<Service>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let format = described(raw.as_deref(), &headers)?;
    let source = Source::parse(&s, &id)?;
    let s2 = s.clone();
    let c = s.pool.read(move |reg| describe(&s2, reg, source)).await?;
    let json = serde_json::to_value(&c).map_err(ApiError::internal)?;
    Ok(respond(format, json, html::collection, JSON))
}

fn describe_all(s: &Service, reg: &Registry) -> Result<Vec<Collection>, ApiError> {
    let mut out: Vec<Collection> = Vec::new();
    for def in s.catalog.layers() {
        out.push(describe(s, reg, Source::Layer(def.kind))?);
    }
    out.push(describe(s, reg, Source::Rejects)?);
    out.push(describe(s, reg, Source::Findings)?);
    Ok(out)
}

/// A collection's description: titles, extent (space in CRS84, time from the first vintage), CRSs, links.
fn describe(s: &Service, reg: &Registry, source: Source) -> Result<Collection, ApiError> {
    let b = &s.base;
    let id = source.id();
    let (title, description, extent, first) = match source {
        Source::Layer(kind) => {
            let def = s.catalog.layer(kind);
            let first = reg.vintages(kind)?.first().copied();
            (
                format!("{} {}", def.title, def.title_en),
                format!("{} ({}): every vintage, selected with datetime", def.title, def.title_en),
                reg.extent(kind)?,
                first,
            )
        }
        Source::Rejects => (
            "导入拒收记录 Rejected records".to_string(),
            "Records imports rejected, with the reason, the field at fault and the import".to_string(),
            None,
            None,
        ),
        Source::Findings => (
            "检查发现 Findings of the latest check run".to_string(),
            match reg.latest_check_run()? {
                Some(run) => format!(
                    "Check run {} of {} (records as of {}): {} finding(s), each with its rule, severity, the records at fault and the piece at fault; filter by rule or severity",
                    run.run_id,
                    run.ran_at,
                    run.as_of.as_deref().unwrap_or("the day it ran"),
                    run.findings
                ),
                None => "No check run is stored yet: `nrledger check REG --store` keeps one".to_string(),
            },
            None,
            None,
        ),
    };
    let mut c = Collection {
        id: id.into(),
        title: Some(title),
        description: Some(description),
        item_type: Some("feature".into()),
        ..Default::default()
    };
    let crs_list: Vec<Crs> = Served::all(&s.crs).iter().filter_map(|c| c.uri(&s.crs).parse().ok()).collect();
    c.crs = crs_list;
    c.storage_crs =
        Served::all(&s.crs).into_iter().find(|c| *c == Served::Registry).and_then(|c| c.uri(&s.crs).parse().ok());
    c.extent = (extent.is_some() || first.is_some()).then(|| Extent {
        spatial: extent
            .and_then(|e| lonlat_box(s, e))
            .map(|bb| SpatialExtent { bbox: vec![bb.into()], crs: Crs::default() }),
        temporal: first.map(|d| TemporalExtent {
            interval: vec![vec![d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()), None]],
            trs: "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian".into(),
        }),
    });
    c.links = vec![
        link(format!("{b}/collections/{id}"), "self", JSON, "this collection"),
        link(format!("{b}/collections/{id}?f=html"), "alternate", HTML, "this collection as HTML"),
        link(format!("{b}/collections/{id}/items"), "items", GEOJSON, "its items"),
        link(format!("{b}/collections/{id}/items?f=html"), "items", HTML, "its items as HTML"),
    ];
    if let Source::Layer(_) = source {
        c.links.push(link(
            format!("{b}/collections/{id}/queryables"),
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "application/schema+json",
            "what it can be filtered by",
        ));
    }
    Ok(c)
}

/// A registry-CRS extent as a CRS84 box (its outline transformed; None where that fails).
pub(super) fn lonlat_box(s: &Service, [x0, x1, y0, y1]: [f64; 4]) -> Option<[f64; 4]> {
    let ring = geo::Rect::new((x0, y0), (x1, y1)).to_polygon();
    let mp = Served::Crs84.of_registry(&s.crs, &geo::MultiPolygon(vec![densify(&ring)])).ok()?;
    let r = mp.bounding_rect()?;
    Some([r.min().x, r.min().y, r.max().x, r.max().y])
}

fn densify(p: &geo::Polygon<f64>) -> geo::Polygon<f64> {
    use geo::{Densify, Euclidean};
    let r = p.bounding_rect().map_or(1.0, |r| r.width().max(r.height()));
    Euclidean.densify(p, (r / 16.0).max(1.0))
}

/// The fields a layer can be filtered by: every field but the bookkeeping ones (whose value shown
/// depends on the day read, not on what is stored).
pub(super) fn queryable_fields(s: &Service, kind: LayerKind) -> Vec<&crate::catalog::FieldDef> {
    let def = s.catalog.layer(kind);
    let kept = def.bookkeeping_indices();
    def.fields.iter().enumerate().filter(|(i, _)| !kept.contains(i)).map(|(_, f)| f).collect()
}

/// The JSON Schema type of a field's values.
pub(super) fn json_type(f: &crate::catalog::FieldDef) -> &'static str {
    match f.field_type {
        crate::model::FieldType::Integer => "integer",
        crate::model::FieldType::Real => "number",
        _ => "string",
    }
}

/// `/collections/{id}/queryables`: a JSON Schema of the properties that can be filtered on.
pub async fn queryables(
    State(s): State<Arc<Service>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let format = described(raw.as_deref(), &headers)?;
    let Source::Layer(kind) = Source::parse(&s, &id)? else {
        return Err(ApiError::not_found("collectionId", format!("{} has no queryables", clip(&id))));
    };
    let props: Map<String, Json> = queryable_fields(&s, kind)
        .into_iter()
        .map(|f| (f.name.clone(), json!({"title": f.title, "description": f.title_en, "type": json_type(f)})))
        .collect();
    let json = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{}/collections/{id}/queryables", s.base),
        "type": "object",
        "title": s.catalog.layer(kind).title,
        "properties": props,
        "additionalProperties": false,
    });
    Ok(respond(format, json, html::queryables, "application/schema+json"))
}

/// A page request, parsed.
struct PageRequest {
    source: Source,
    format: Format,
    limit: usize,
    offset: usize,
    window: Option<geo::Polygon<f64>>,
    when: When,
    out: Served,
    /// The findings' `rule` and `severity` wanted (the findings are a list, not a table with a condition).
    wanted: Vec<(String, String)>,
    /// The layer's property filters and CQL2 filter, all of them.
    condition: Option<crate::store::Condition>,
    /// The request's own parameters but `offset` and `f`, for the paging links (each link names its media type).
    keep: Vec<(String, String)>,
}

impl PageRequest {
    fn parse(s: &Service, id: &str, raw: Option<&str>, headers: &HeaderMap) -> Result<PageRequest, ApiError> {
        let source = Source::parse(s, id)?;
        let mut q = Query::parse(raw)?;
        let keep: Vec<(String, String)> =
            q.pairs().iter().filter(|(k, _)| k != "offset" && k != "f").cloned().collect();
        let format = Format::negotiate(q.take("f"), accept(headers))?;
        let limit = params::limit(q.take("limit"))?;
        let offset = params::offset(q.take("offset"))?;
        let bbox = params::bbox(q.take("bbox"))?;
        let bbox_crs = params::crs(q.take("bbox-crs"), &s.crs, "bbox-crs")?;
        let out = params::crs(q.take("crs"), &s.crs, "crs")?;
        let when = params::datetime(q.take("datetime"))?;
        let (filter, lang) = (q.take("filter"), q.take("filter-lang"));
        if let Some(crs) = q.take("filter-crs") {
            return Err(ApiError::bad(
                "filter-crs",
                format!(
                    "filter-crs '{}' has nothing to apply to: spatial filters are not offered (use bbox)",
                    clip(&crs)
                ),
            ));
        }
        let condition = match (source, filter) {
            (Source::Layer(kind), Some(f)) => {
                Some(super::cql::condition(&f, lang.as_deref(), s.catalog.layer(kind), &queryable_fields(s, kind))?)
            }
            (_, Some(_)) => {
                return Err(ApiError::bad(
                    "filter",
                    format!("{} takes no CQL2 filter (it has no queryables)", source.id()),
                ))
            }
            (_, None) if lang.is_some() => return Err(ApiError::bad("filter-lang", "filter-lang without a filter")),
            (_, None) => None,
        };
        let window = bbox.map(|b| bbox_crs.box_to_registry(&s.crs, b)).transpose()?;
        let (mut wanted, mut equal) = (Vec::new(), Vec::new());
        for (name, value) in q.rest() {
            if source == Source::Findings && FINDING_FILTERS.contains(&name.as_str()) {
                if name == "severity" && !["error", "warning", "info"].contains(&value.as_str()) {
                    return Err(ApiError::bad(
                        "severity",
                        format!("severity '{}' is not error, warning or info", clip(&value)),
                    ));
                }
                wanted.push((name, value));
                continue;
            }
            let kind = match source {
                Source::Layer(kind) if queryable_fields(s, kind).iter().any(|f| f.name == name) => kind,
                _ => {
                    return Err(ApiError::bad(
                        clip(&name),
                        format!("unknown parameter or property '{}' (see /collections/{id}/queryables)", clip(&name)),
                    ))
                }
            };
            // a value the field cannot hold (a class code not in its table, text where a number belongs,
            // SQL) is a mistake to report, not a filter that quietly matches nothing
            let def = s.catalog.layer(kind);
            let i = def.fields.iter().position(|f| f.name == name).unwrap_or_default();
            let held = crate::import::field_value(def, i, crate::model::Value::Text(value.clone()), &s.catalog.classes)
                .map_err(|why| ApiError::bad(clip(&name), format!("{}={}: {why}", clip(&name), clip(&value))))?;
            equal.push(crate::store::Condition::equal(&name, held));
        }
        let condition = match (equal.is_empty(), condition) {
            (true, c) => c,
            (false, c) => Some(crate::store::Condition::All(equal.into_iter().chain(c).collect())),
        };
        Ok(PageRequest { source, format, limit, offset, window, when, out, wanted, condition, keep })
    }

    /// The link to the page starting at `offset`.
    fn href(&self, base: &str, offset: usize) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.keep {
            ser.append_pair(k, v);
        }
        ser.append_pair("offset", &offset.to_string());
        format!("{base}/collections/{}/items?{}", self.source.id(), ser.finish())
    }
}

/// `/collections/{id}/items`.
pub async fn items(
    State(s): State<Arc<Service>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let req = PageRequest::parse(&s, &id, raw.as_deref(), &headers)?;
    let s2 = s.clone();
    let (req, body) = s
        .pool
        .read(move |reg| {
            let body = match req.source {
                Source::Layer(kind) => layer_page(&s2, reg, kind, &req)?,
                Source::Rejects => listed_page(&s2, &req, reg.rejects()?.into_iter().map(reject_row).collect())?,
                Source::Findings => listed_page(&s2, &req, finding_rows(reg, &req.wanted)?)?,
            };
            Ok((req, body))
        })
        .await?;
    let mut res = body.respond(html::items);
    content_crs(&mut res, &s, req.out);
    Ok(res)
}

/// Features as answered: GeoJSON text, or the JSON an HTML page is drawn from.
enum Written {
    GeoJson(Vec<u8>),
    Html(Json),
}

impl Written {
    /// `value` written in `format`.
    fn of(format: Format, value: &impl serde::Serialize) -> Result<Written, ApiError> {
        Ok(match format {
            Format::Json => Written::GeoJson(serde_json::to_vec(value).map_err(ApiError::internal)?),
            Format::Html => Written::Html(serde_json::to_value(value).map_err(ApiError::internal)?),
        })
    }

    fn respond(self, page: impl FnOnce(&Json) -> String) -> Response {
        match self {
            Written::GeoJson(b) => ([(header::CONTENT_TYPE, GEOJSON)], b).into_response(),
            Written::Html(json) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page(&json)).into_response(),
        }
    }
}

fn content_crs(res: &mut Response, s: &Service, out: Served) {
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", out.uri(&s.crs))) {
        res.headers_mut().insert("content-crs", v);
    }
}

/// The fids of the records a page request selects (exactly: a record whose envelope only meets the
/// window's box is kept when its geometry meets the window), in fid order.
fn selected(reg: &Registry, kind: LayerKind, req: &PageRequest) -> Result<Vec<i64>, ApiError> {
    let Some(window) = &req.window else {
        return Ok(reg
            .matching(&Read::layer(kind).when(req.when).satisfying(req.condition.as_ref()))?
            .into_iter()
            .map(|(f, _)| f)
            .collect());
    };
    let Some(r) = window.bounding_rect() else { return Ok(vec![]) };
    let boxes = [r];
    let read = Read::layer(kind).when(req.when).satisfying(req.condition.as_ref());
    let cands = reg.matching(&read.in_boxes(&boxes))?;
    let (mut inside, mut edge) = (Vec::new(), Vec::new());
    let inner = inner_rect(window);
    for (fid, env) in cands {
        let [x0, x1, y0, y1] = env.unwrap_or_default();
        let well_inside =
            inner.is_some_and(|i| i.min().x <= x0 && x1 <= i.max().x && i.min().y <= y0 && y1 <= i.max().y);
        if well_inside || box_inside(window, &geo::Rect::new((x0, y0), (x1, y1))) {
            inside.push(fid);
        } else {
            edge.push(fid);
        }
    }
    if !edge.is_empty() {
        let none: &[&str] = &[];
        let met = reg.read_then(&Read::layer(kind).every_version().fields(Fields::Only(none)).fids(&edge), &|rec| {
            (rec.fid, rec.record.geometry.intersects(window))
        })?;
        inside.extend(met.into_iter().filter(|(_, m)| *m).map(|(f, _)| f));
        inside.sort_unstable();
    }
    Ok(inside)
}

/// A rectangle in the window's interior (checked exactly): its bounding rectangle shrunk until it lies
/// inside. A box within it is inside the window without testing its outline against the window's.
fn inner_rect(window: &geo::Polygon<f64>) -> Option<geo::Rect<f64>> {
    let r = window.bounding_rect()?;
    let (w, h) = (r.width(), r.height());
    let mut f = 0.005;
    while f < 0.25 {
        let inner = geo::Rect::new((r.min().x + w * f, r.min().y + h * f), (r.max().x - w * f, r.max().y - h * f));
        if box_inside(window, &inner) {
            return Some(inner);
        }
        f *= 2.0;
    }
    None
}

/// Whether a box lies in the window's interior. A box is connected: when it does not meet the window's
/// outline it lies wholly inside or wholly outside, and one corner tells which. (`Contains` between a
/// polygon and a box builds a topology graph of both, many times slower on a densified window.)
pub(super) fn box_inside(window: &geo::Polygon<f64>, b: &geo::Rect<f64>) -> bool {
    !window.exterior().intersects(b) && window.interiors().iter().all(|r| !r.intersects(b)) && window.contains(&b.min())
}

fn layer_page(s: &Service, reg: &Registry, kind: LayerKind, req: &PageRequest) -> Result<Written, ApiError> {
    let fids = selected(reg, kind, req)?;
    let page: Vec<i64> = fids.iter().skip(req.offset).take(req.limit).copied().collect();
    let read = Read::layer(kind).when(req.when).fids(&page);
    // each feature's coordinates are transformed, and its GeoJSON written, on the decoding threads as its
    // record is read (rows come in fid order)
    if req.format == Format::Json {
        let written = |r: StoredRecord| -> Result<Box<RawValue>, ApiError> {
            let g = req.out.of_registry(&s.crs, &r.record.geometry)?;
            serde_json::value::to_raw_value(&feature(s, kind, &r, g, false)).map_err(ApiError::internal)
        };
        let features = reg.read_then(&read, &written)?.into_iter().collect::<Result<Vec<_>, _>>()?;
        return Written::of(req.format, &page_of(s, req, features, fids.len()));
    }
    let served = |r: StoredRecord| req.out.of_registry(&s.crs, &r.record.geometry).map(|g| (r, g));
    let records = reg.read_then(&read, &served)?;
    let (records, geometries): (Vec<_>, Vec<_>) =
        records.into_iter().collect::<crate::Result<Vec<_>>>()?.into_iter().unzip();
    let features: Vec<_> = records.iter().zip(geometries).map(|(r, g)| feature(s, kind, r, g, false)).collect();
    Written::of(req.format, &page_of(s, req, features, fids.len()))
}

/// The GeoJSON feature collection of a page, with its counts and paging links.
fn page_of<F: serde::Serialize>(s: &Service, req: &PageRequest, features: Vec<F>, matched: usize) -> Page<F> {
    let b = &s.base;
    let returned = features.len();
    let mut links = vec![
        link(req.href(b, req.offset), "self", GEOJSON, "this page"),
        link(format!("{}&f=html", req.href(b, req.offset)), "alternate", HTML, "this page as HTML"),
        link(format!("{b}/collections/{}", req.source.id()), "collection", JSON, "the collection"),
    ];
    if req.offset + returned < matched {
        links.push(link(req.href(b, req.offset + returned), "next", GEOJSON, "the next page"));
    }
    if req.offset > 0 {
        links.push(link(req.href(b, req.offset.saturating_sub(req.limit)), "prev", GEOJSON, "the previous page"));
    }
    Page::new(features, links, matched)
}

/// One version of a record as a GeoJSON feature, its geometry `g` in the CRS served: `nrledger export`'s
/// columns as properties; with its links when `linked` (alone, not in a page).
fn feature<'a>(
    s: &'a Service,
    kind: LayerKind,
    r: &'a StoredRecord,
    g: geo::MultiPolygon<f64>,
    linked: bool,
) -> Feature<'a> {
    let b = &s.base;
    let links = match linked {
        true => vec![
            link(format!("{b}/collections/{}/items/{}", kind.name(), r.fid), "self", GEOJSON, "this feature"),
            link(format!("{b}/collections/{}", kind.name()), "collection", JSON, "the collection"),
        ],
        false => vec![],
    };
    Feature::new(r.fid, Some(g), Properties::Record(s.catalog.layer(kind), r), links)
}

/// A row of a collection that is not a layer (the rejects, the findings): its id, geometry, properties.
struct Listed {
    fid: i64,
    geometry: Option<geo::Geometry<f64>>,
    properties: Map<String, Json>,
}

fn reject_row(r: crate::store::StoredReject) -> Listed {
    let json = json!({
        "layer": r.layer, "import_id": r.import_id, "feature_index": r.feature_index,
        "record_key": r.key, "field": r.field, "reason": r.reason,
    });
    Listed { fid: r.fid, geometry: r.geometry, properties: json.as_object().cloned().unwrap_or_default() }
}

/// The latest stored run's findings with the values asked for (`rule`, `severity`).
fn finding_rows(reg: &Registry, wanted: &[(String, String)]) -> Result<Vec<Listed>, ApiError> {
    let Some((run, found)) = reg.latest_findings()? else { return Ok(vec![]) };
    let wanted = |f: &crate::store::FindingRow| {
        wanted.iter().all(|(k, v)| match k.as_str() {
            "rule" => &f.rule == v,
            _ => &f.severity == v,
        })
    };
    Ok(found
        .into_iter()
        .filter(wanted)
        .map(|f| {
            let json = json!({
                "run_id": run.run_id, "ran_at": run.ran_at, "as_of": run.as_of,
                "rule": f.rule, "name": f.name, "severity": f.severity, "class": f.class,
                "layers": f.layers, "ids": f.ids, "fids": f.fids,
                "area_m2": f.area_m2, "area_mu": (crate::quantity::SquareMetres(f.area_m2).mu() * 100.0).round() / 100.0,
                "message": f.message, "excepted_by": f.excepted_by,
            });
            Listed {
                fid: f.fid,
                geometry: f.geometry.map(geo::Geometry::MultiPolygon),
                properties: json.as_object().cloned().unwrap_or_default(),
            }
        })
        .collect())
}

/// A page of listed rows (those meeting the window, when one is given).
fn listed_page(s: &Service, req: &PageRequest, rows: Vec<Listed>) -> Result<Written, ApiError> {
    let kept: Vec<&Listed> = rows
        .iter()
        .filter(|r| match (&req.window, &r.geometry) {
            (None, _) => true,
            (Some(w), Some(g)) => g.intersects(w),
            (Some(_), None) => false,
        })
        .collect();
    let features = kept
        .iter()
        .skip(req.offset)
        .take(req.limit)
        .map(|r| listed_feature(s, req.source, r, req.out, false))
        .collect::<Result<Vec<_>, _>>()?;
    Written::of(req.format, &page_of(s, req, features, kept.len()))
}

/// A listed row as a feature, with its links when `linked` (alone, not in a page).
fn listed_feature<'a>(
    s: &Service,
    source: Source,
    r: &'a Listed,
    out: Served,
    linked: bool,
) -> Result<Feature<'a>, ApiError> {
    let mp = match &r.geometry {
        Some(geo::Geometry::MultiPolygon(mp)) => Some(mp.clone()),
        Some(geo::Geometry::Polygon(p)) => Some(geo::MultiPolygon(vec![p.clone()])),
        _ => None,
    };
    let geometry = mp.map(|mp| out.of_registry(&s.crs, &mp)).transpose()?;
    let id = source.id();
    let links = match linked {
        true => vec![link(format!("{}/collections/{id}/items/{}", s.base, r.fid), "self", GEOJSON, "this feature")],
        false => vec![],
    };
    Ok(Feature::new(r.fid, geometry, Properties::Listed(&r.properties), links))
}

/// `/collections/{id}/items/{fid}`: one version of a record (or one rejected record).
pub async fn item(
    State(s): State<Arc<Service>>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let source = Source::parse(&s, &id)?;
    let mut q = Query::parse(raw.as_deref())?;
    let format = Format::negotiate(q.take("f"), accept(&headers))?;
    let out = params::crs(q.take("crs"), &s.crs, "crs")?;
    q.done()?;
    let missing = || ApiError::not_found("featureId", format!("no feature '{}' in {}", clip(&fid), source.id()));
    let n: i64 = fid.parse().ok().filter(|n| *n > 0).ok_or_else(missing)?;
    let s2 = s.clone();
    let found = s
        .pool
        .read(move |reg| match source {
            Source::Layer(kind) => reg
                .read(&Read::layer(kind).every_version().fids(&[n]))?
                .first()
                .map(|r| {
                    Written::of(format, &feature(&s2, kind, r, out.of_registry(&s2.crs, &r.record.geometry)?, true))
                })
                .transpose(),
            Source::Rejects => reg
                .rejects()?
                .into_iter()
                .find(|r| r.fid == n)
                .map(|r| Written::of(format, &listed_feature(&s2, source, &reject_row(r), out, true)?))
                .transpose(),
            Source::Findings => finding_rows(reg, &[])?
                .into_iter()
                .find(|r| r.fid == n)
                .map(|r| Written::of(format, &listed_feature(&s2, source, &r, out, true)?))
                .transpose(),
        })
        .await?;
    let mut res = found.ok_or_else(missing)?.respond(html::item);
    content_crs(&mut res, &s, out);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    #[test]
    fn the_inner_rectangle_lies_in_the_window_and_covers_most_of_it() {
        let crs = crate::crs::describe("EPSG:4549").unwrap();
        // 2 km boxes near the zone's central meridian (120°E) and 1.5° from it, where the meridians lean most
        for (lon, lat) in [(119.99, 30.6), (118.5, 30.6), (121.49, 29.0), (119.6, 31.2)] {
            let b = [lon, lat, lon + 0.021, lat + 0.018];
            let window = Served::Crs84.box_to_registry(&crs, b).unwrap();
            let inner = inner_rect(&window).expect("an inner rectangle");
            assert!(window.contains(&inner), "{b:?}: {inner:?}");
            let share = inner.unsigned_area() / window.unsigned_area();
            assert!(share > 0.8, "{b:?}: the inner rectangle covers {share:.3} of the window");
        }
        // a window with no room for one: a sliver
        let sliver = geo::Polygon::new(
            geo::LineString::from(vec![(0.0, 0.0), (10.0, 10.0), (10.0, 10.000001), (0.0, 0.0)]),
            vec![],
        );
        assert_eq!(inner_rect(&sliver), None);
    }
}
