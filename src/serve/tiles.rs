//! Vector tiles of every layer for the map: `/tiles/{layer}/{z}/{x}/{y}.mvt?datetime=D` (Web Mercator,
//! the XYZ scheme web maps use), Mapbox Vector Tile 2.1 encoded by `geozero`, and the layer's TileJSON at
//! `/tiles/{layer}.json`.
//!
//! A tile holds the versions valid on the day asked for (today's without one) whose geometry meets the
//! tile and its buffer, each with its fid, key, validity and the layer's summary fields (a parcel's class:
//! DLBM, DLMC …), so a map styles by class and a click names the record. Geometry goes registry CRS →
//! CGCS2000 longitude/latitude → spherical Web Mercator → tile pixels (4096 a side); a part reaching far
//! beyond the buffer is cut at it (geo's boolean operations), coordinates are rounded to the pixel, repeats
//! dropped, rings too small to draw dropped, and exteriors wound as the MVT specification requires.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use geo::orient::{Direction, Orient};
use geo::{Area, BooleanOps, BoundingRect, Intersects};
use geozero::mvt::{tile, Message, TagsBuilder, TileValue};
use geozero::ToMvt;
use serde_json::json;

use super::crs::Served;
use super::params::{self, Query};
use super::problem::{clip, ApiError};
use super::Service;
use crate::crs::Transformer;
use crate::model::LayerKind;
use crate::store::{Fields, Read, Registry, StoredRecord, When};

/// Tile coordinates per side.
pub const EXTENT: u32 = 4096;
/// Pixels of the buffer around a tile (of [`EXTENT`]).
const BUFFER: f64 = 64.0;
/// The most detailed zoom served.
pub const MAX_ZOOM: u32 = 20;
/// Web Mercator's sphere radius, metres.
const R: f64 = 6_378_137.0;

/// The least detailed zoom a layer is served at: parcels and forest stands, a county's hundreds of
/// thousands of small polygons, from 12 (a tile about 8 km a side, some 30 000 parcels in a dense county);
/// at 10 one tile held most of a 1 000 000-parcel county and took seconds (`make bench-serve`). The other
/// layers from 5.
pub fn min_zoom(kind: LayerKind) -> u32 {
    match kind {
        LayerKind::Parcels | LayerKind::Forest => 12,
        _ => 5,
    }
}

/// A tile's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileId {
    /// Zoom.
    pub z: u32,
    /// Column, from the west.
    pub x: u32,
    /// Row, from the north.
    pub y: u32,
}

impl TileId {
    /// `z`, `x`, `y` (with `.mvt` or `.pbf`) of a request for `kind`, each checked against its range.
    fn parse(kind: LayerKind, z: &str, x: &str, y: &str) -> Result<TileId, ApiError> {
        let y = y.strip_suffix(".mvt").or_else(|| y.strip_suffix(".pbf")).unwrap_or(y);
        let lo = min_zoom(kind);
        let z: u32 = z.parse().ok().filter(|z| (lo..=MAX_ZOOM).contains(z)).ok_or_else(|| {
            ApiError::bad("z", format!("zoom '{}' is outside {lo} to {MAX_ZOOM} for {}", clip(z), kind.name()))
        })?;
        let n = 1u64 << z;
        let coord = |v: &str, name: &'static str| -> Result<u32, ApiError> {
            v.parse::<u64>().ok().filter(|c| *c < n).map(|c| c as u32).ok_or_else(|| {
                ApiError::bad(name, format!("{name} '{}' is outside 0 to {} at zoom {z}", clip(v), n - 1))
            })
        };
        Ok(TileId { z, x: coord(x, "x")?, y: coord(y, "y")? })
    }

    /// Its bounds in Web Mercator metres: (west, south, east, north).
    fn mercator(self) -> [f64; 4] {
        let size = 2.0 * std::f64::consts::PI * R / f64::from(1u32 << self.z);
        let west = -std::f64::consts::PI * R + f64::from(self.x) * size;
        let north = std::f64::consts::PI * R - f64::from(self.y) * size;
        [west, north - size, west + size, north]
    }
}

/// Longitude, latitude (degrees) of a Web Mercator point.
fn lonlat(x: f64, y: f64) -> (f64, f64) {
    ((x / R).to_degrees(), (y / R).sinh().atan().to_degrees())
}

/// Web Mercator metres of a longitude, latitude.
fn mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    (lon.to_radians() * R, (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln() * R)
}

/// The layer a tile request names, or a 404.
fn layer(s: &Service, id: &str) -> Result<LayerKind, ApiError> {
    super::features::layer_kind(s, id).ok_or_else(|| ApiError::not_found("layer", format!("no layer '{}'", clip(id))))
}

/// `/tiles/{layer}/{z}/{x}/{y}.mvt`.
pub async fn tile(
    State(s): State<Arc<Service>>,
    Path((id, z, x, y)): Path<(String, String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let kind = layer(&s, &id)?;
    let at = TileId::parse(kind, &z, &x, &y)?;
    let mut q = Query::parse(raw.as_deref())?;
    let when = match params::datetime(q.take("datetime"))? {
        When::During(..) => return Err(ApiError::bad("datetime", "a tile is drawn for one day, not an interval")),
        w => w,
    };
    q.done()?;
    let s2 = s.clone();
    let bytes = s.pool.read(move |reg| encode(&s2, reg, kind, at, when)).await?;
    let status = if bytes.is_empty() { axum::http::StatusCode::NO_CONTENT } else { axum::http::StatusCode::OK };
    Ok((status, [(header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile")], bytes).into_response())
}

/// `/tiles/{layer}.json`: the TileJSON a web map reads (the tile URL with the date to fill in, zooms,
/// bounds, the fields each feature carries).
pub async fn tilejson(State(s): State<Arc<Service>>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let id = file
        .strip_suffix(".json")
        .ok_or_else(|| ApiError::not_found("layer", format!("no tile set '{}'", clip(&file))))?;
    let kind = layer(&s, id)?;
    let def = s.catalog.layer(kind);
    let fields: serde_json::Map<String, serde_json::Value> = tile_fields(&s, kind)
        .iter()
        .map(|f| (f.to_string(), json!(def.fields.iter().find(|d| d.name == *f).map_or("", |d| &d.title))))
        .collect();
    let doc = json!({
        "tilejson": "3.0.0",
        "name": def.title,
        "tiles": [format!("{}/tiles/{id}/{{z}}/{{x}}/{{y}}.mvt", s.base)],
        "minzoom": min_zoom(kind),
        "maxzoom": MAX_ZOOM,
        "vector_layers": [{"id": id, "fields": fields, "minzoom": min_zoom(kind), "maxzoom": MAX_ZOOM}],
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], doc.to_string()).into_response())
}

/// The fields a tile's features carry: the key and the layer's summary fields.
fn tile_fields(s: &Service, kind: LayerKind) -> Vec<&str> {
    let def = s.catalog.layer(kind);
    let mut v = vec![def.key.as_str()];
    v.extend(def.summary.iter().map(String::as_str).filter(|f| *f != def.key));
    v
}

/// The tile, encoded (empty when no record meets it).
fn encode(s: &Service, reg: &Registry, kind: LayerKind, at: TileId, when: When) -> Result<Vec<u8>, ApiError> {
    let [w, so, e, n] = at.mercator();
    let pad = (e - w) * BUFFER / f64::from(EXTENT);
    let (west, south) = lonlat(w - pad, so - pad);
    let (east, north) = lonlat(e + pad, n + pad);
    let window = Served::Crs84.box_to_registry(&s.crs, [west, south, east, north])?;
    let Some(rect) = window.bounding_rect() else { return Ok(vec![]) };
    let boxes = [rect];
    let fids: Vec<i64> =
        reg.matching(&Read::layer(kind).when(when).in_boxes(&boxes))?.into_iter().map(|(f, _)| f).collect();
    if fids.is_empty() {
        return Ok(vec![]);
    }
    let fields = tile_fields(s, kind);
    let read = Read::layer(kind).when(when).fields(Fields::Only(&fields)).fids(&fids);
    let crs = &s.crs;
    let drawn = reg.read_then(&read, &|rec| {
        let g = pixels(crs, &rec, &window, [w, so, e, n]);
        g.map(|g| g.map(|g| (rec, g)))
    })?;
    let def = s.catalog.layer(kind);
    let mut tags = TagsBuilder::new();
    let mut features = Vec::new();
    for (rec, g) in drawn.into_iter().collect::<crate::Result<Vec<_>>>()?.into_iter().flatten() {
        let mut f = g.to_mvt_unscaled().map_err(ApiError::internal)?;
        f.id = Some(rec.fid as u64);
        let mut tag = |k: &str, v: TileValue| {
            let (ki, vi) = tags.insert_ref(k, v);
            f.tags.extend([ki, vi]);
        };
        tag("fid", TileValue::Int(rec.fid));
        tag("valid_from", TileValue::Str(rec.valid_from.clone()));
        for name in &fields {
            if let Some(i) = def.field_index(name) {
                let v = rec.record.value(i);
                if !v.is_blank() {
                    tag(name, TileValue::Str(v.to_string()));
                }
            }
        }
        features.push(f);
    }
    if features.is_empty() {
        return Ok(vec![]);
    }
    let (keys, values) = tags.into_tags();
    let layer = tile::Layer {
        version: 2,
        name: kind.name().to_string(),
        features,
        keys,
        values: values.into_iter().map(Into::into).collect(),
        extent: Some(EXTENT),
    };
    Ok(geozero::mvt::Tile { layers: vec![layer] }.encode_to_vec())
}

/// A record's geometry in the tile's pixels, or None when it does not meet the tile's window or nothing of
/// it is big enough to draw.
fn pixels(
    crs: &crate::crs::CrsInfo,
    rec: &StoredRecord,
    window: &geo::Polygon<f64>,
    [w, _, e, n]: [f64; 4],
) -> crate::Result<Option<geo::Geometry<f64>>> {
    if !rec.record.geometry.intersects(window) {
        return Ok(None);
    }
    let t = Transformer::for_thread(&crs.definition, &crs.geographic)?;
    let ll = t.multipolygon(&rec.record.geometry)?;
    let scale = f64::from(EXTENT) / (e - w);
    use geo::MapCoords;
    let px = ll.map_coords(|c| {
        let (mx, my) = mercator(c.x, c.y);
        geo::Coord { x: (mx - w) * scale, y: (n - my) * scale }
    });
    let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
    let inside =
        px.bounding_rect().is_some_and(|r| r.min().x >= lo && r.min().y >= lo && r.max().x <= hi && r.max().y <= hi);
    let cut = if inside { px } else { px.intersection(&geo::Rect::new((lo, lo), (hi, hi)).to_polygon()) };
    let snapped: Vec<geo::Polygon<f64>> = cut.0.iter().filter_map(snap).collect();
    if snapped.is_empty() {
        return Ok(None);
    }
    Ok(Some(geo::Geometry::MultiPolygon(geo::MultiPolygon(snapped).orient(Direction::Default))))
}

/// A polygon rounded to whole pixels, repeated points dropped; None when its exterior no longer encloses
/// anything (holes that do not are dropped).
fn snap(p: &geo::Polygon<f64>) -> Option<geo::Polygon<f64>> {
    let ring = |r: &geo::LineString<f64>| -> Option<geo::LineString<f64>> {
        let mut pts: Vec<geo::Coord<f64>> = Vec::with_capacity(r.0.len());
        for c in &r.0 {
            let c = geo::Coord { x: c.x.round(), y: c.y.round() };
            if pts.last() != Some(&c) {
                pts.push(c);
            }
        }
        let ls = geo::LineString(pts);
        (ls.0.len() >= 4 && geo::Polygon::new(ls.clone(), vec![]).unsigned_area() > 0.0).then_some(ls)
    };
    let ext = ring(p.exterior())?;
    Some(geo::Polygon::new(ext, p.interiors().iter().filter_map(ring).collect()))
}
