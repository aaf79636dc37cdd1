//! The map page at `/` (what a browser asks for there; JSON clients get the OGC landing page) and what it
//! reads: its scripts (MapLibre GL JS from npm and the page's own, compiled into the binary, nothing from
//! the network), `/map/config.json` (layers, tiles, vintages, extent, colours from `map-colours.csv`),
//! `/search?q=KEY` (a record by its key in any layer: BSM, unit code, red-line code …) and a unit's
//! register-book page, `/units/{code}/book`.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use geo::BoundingRect;
use serde_json::{json, Value as Json};

use super::auth::Caller;
use super::features::{self, lonlat_box};
use super::params::{self, Format, Query};
use super::problem::{clip, ApiError};
use super::tiles;
use super::Service;
use crate::model::{AsOf, LayerKind, Value};
use crate::store::{Condition, Fields, Read, Registry, When};

/// The files the page loads: name, media type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("maplibre-gl.js", "text/javascript", include_bytes!("../../web/node_modules/maplibre-gl/dist/maplibre-gl.js")),
    ("maplibre-gl.css", "text/css", include_bytes!("../../web/node_modules/maplibre-gl/dist/maplibre-gl.css")),
    (
        "maplibre-gl-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../web/node_modules/maplibre-gl/dist/LICENSE.txt"),
    ),
    ("map.js", "text/javascript; charset=utf-8", include_bytes!("../../web/map.js")),
    ("map.css", "text/css; charset=utf-8", include_bytes!("../../web/map.css")),
    ("job.js", "text/javascript; charset=utf-8", include_bytes!("../../web/job.js")),
];

/// The page itself.
const PAGE: &str = include_str!("../../web/index.html");

/// The longest key searched for.
const MAX_KEY: usize = 64;

/// `/`: the map for a browser (it links the collections and the API), the OGC landing page for a client.
pub async fn home(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    // `finding=FID`: the map highlights that finding's piece; `warning=JOB`: it draws that warning job's
    // townships by level (map.js reads both)
    let mut q = Query::parse(raw.as_deref())?;
    let mut back = "/".to_string();
    for (name, what) in [("finding", "a finding's number"), ("warning", "a warning job's number")] {
        if let Some(f) = q.take(name) {
            if f.is_empty() || f.len() > 18 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::bad(name, format!("'{}' is not {what}", clip(&f))));
            }
            back = format!("/?{name}={f}");
        }
    }
    match features::described_by(q, &headers)? {
        // the map reads every layer: an anonymous person signs in first (public collections or not)
        Format::Html if caller.closed && caller.account.is_none() => Ok(super::session::to_login(&s, &back)),
        Format::Html => Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()),
        Format::Json => features::landing(&s),
    }
}

/// `/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, mediatype, bytes) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| ApiError::not_found("file", format!("no asset '{}'", clip(&file))))?;
    Ok(([(header::CONTENT_TYPE, *mediatype), (header::CACHE_CONTROL, "public, max-age=3600")], *bytes).into_response())
}

/// `/map/config.json`: what the page draws.
pub async fn config(State(s): State<Arc<Service>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    Query::parse(raw.as_deref())?.done()?;
    let s2 = s.clone();
    let doc = s.pool.read(move |reg| map_config(&s2, reg)).await?;
    Ok(axum::Json(doc).into_response())
}

fn map_config(s: &Service, reg: &Registry) -> Result<Json, ApiError> {
    let b = &s.base;
    let mut vintages: Vec<AsOf> = Vec::new();
    let mut extent: Option<[f64; 4]> = None;
    let mut layers = Vec::new();
    for def in s.catalog.layers() {
        vintages.extend(reg.vintages(def.kind)?);
        if let Some(e) = reg.extent(def.kind)?.and_then(|e| lonlat_box(s, e)) {
            extent = Some(extent.map_or(e, |u| [u[0].min(e[0]), u[1].min(e[1]), u[2].max(e[2]), u[3].max(e[3])]));
        }
        let swatch = s.catalog.colours.layer(def.kind.name());
        layers.push(json!({
            "id": def.kind.name(),
            "title": def.title,
            "title_en": def.title_en,
            "key": def.key,
            "summary": def.summary,
            "minzoom": tiles::min_zoom(def.kind),
            "maxzoom": tiles::MAX_ZOOM,
            "tiles": format!("{b}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", def.kind.name()),
            "fill": swatch.and_then(|w| w.fill.as_ref()).map(|c| c.hex()),
            "line": swatch.and_then(|w| w.line.as_ref()).map(|c| c.hex()),
        }));
    }
    vintages.sort();
    vintages.dedup();
    let landuse: Vec<Json> = s
        .catalog
        .colours
        .landuse
        .iter()
        .filter_map(|w| w.fill.as_ref().map(|c| json!({"code": w.code, "name": w.name, "fill": c.hex()})))
        .collect();
    let parcels = s.catalog.layer(LayerKind::Parcels);
    let class_field = parcels.fields.iter().find(|f| f.codes.as_deref() == Some("landuse")).map(|f| f.name.as_str());
    Ok(json!({
        "base": b,
        "class_layer": LayerKind::Parcels.name(),
        "class_field": class_field,
        "vintages": vintages.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "extent": extent,
        "layers": layers,
        "landuse": landuse,
    }))
}

/// `/search?q=KEY[&datetime=D]`: the records whose key is `KEY`, in every layer, valid on the day (today
/// without one), each with its summary fields and its box in CRS84.
pub async fn search(State(s): State<Arc<Service>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let key = q.take("q").map(|k| k.trim().to_string()).unwrap_or_default();
    if key.is_empty() || key.chars().count() > MAX_KEY {
        return Err(ApiError::bad(
            "q",
            format!("give a key of 1 to {MAX_KEY} characters (标识码, 单元号, 红线编号 …)"),
        ));
    }
    let day = one_day(q.take("datetime"))?;
    q.done()?;
    let s2 = s.clone();
    let hits = s.pool.read(move |reg| find_key(&s2, reg, &key, day)).await?;
    Ok(axum::Json(json!({"hits": hits})).into_response())
}

/// `datetime` as one day, or none (today).
fn one_day(v: Option<String>) -> Result<Option<AsOf>, ApiError> {
    match params::datetime(v)? {
        When::On(d) => Ok(Some(d)),
        When::Current => Ok(None),
        _ => Err(ApiError::bad("datetime", "give one day, not an interval")),
    }
}

fn find_key(s: &Service, reg: &Registry, key: &str, day: Option<AsOf>) -> Result<Vec<Json>, ApiError> {
    let mut out = Vec::new();
    for def in s.catalog.layers() {
        let summary: Vec<&str> = def.summary.iter().map(String::as_str).collect();
        let equal = Condition::equal(&def.key, Value::Text(key.to_string()));
        for r in reg.read(&Read::layer(def.kind).on(day).fields(Fields::Only(&summary)).satisfying(Some(&equal)))? {
            let bbox = r
                .record
                .geometry
                .bounding_rect()
                .and_then(|b| lonlat_box(s, [b.min().x, b.max().x, b.min().y, b.max().y]));
            let fields = super::lookup::named_values(def, &r.record, &summary);
            out.push(json!({
                "layer": def.kind.name(), "title": def.title, "key": r.record.key, "fid": r.fid,
                "valid_from": r.valid_from, "valid_to": r.valid_to, "bbox": bbox, "fields": fields,
            }));
        }
    }
    Ok(out)
}

/// `/units/{code}/book[?datetime=D&f=json|html]`: the unit's register-book page (HTML by default, the
/// JSON of `nrledger book --json` on request).
pub async fn book(
    State(s): State<Arc<Service>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let format = match q.take("f") {
        Some(f) => Format::negotiate(Some(f), None)?,
        None => Format::negotiate(None, headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))?,
    };
    let day = one_day(q.take("datetime"))?;
    q.done()?;
    let page = s
        .pool
        .read(move |reg| {
            let key = Condition::equal(&reg.catalog().layer(LayerKind::Units).key, Value::Text(code.clone()));
            let read = Read::layer(LayerKind::Units).on(day).fields(Fields::Only(&[])).satisfying(Some(&key));
            if reg.read(&read)?.is_empty() {
                let when = day.map(|d| format!(" on {d}")).unwrap_or_default();
                return Err(ApiError::not_found("code", format!("unit '{}' is not registered{when}", clip(&code))));
            }
            crate::book::page(reg, &code, day).map_err(ApiError::from)
        })
        .await?;
    Ok(match format {
        Format::Html => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], crate::book::html::render(&page)).into_response()
        }
        Format::Json => axum::Json(serde_json::to_value(&page).map_err(ApiError::internal)?).into_response(),
    })
}
