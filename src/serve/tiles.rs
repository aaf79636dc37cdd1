//! Vector tiles of every layer for the map: `/tiles/{layer}/{z}/{x}/{y}.mvt?datetime=D` (Web Mercator,
//! the XYZ scheme web maps use), Mapbox Vector Tile 2.1 encoded by `geozero`, and the layer's TileJSON at
//! `/tiles/{layer}.json`.
//!
//! A tile holds the versions valid on the day asked for (today's without one) whose geometry meets the
//! tile and its buffer, each with its fid, key, validity and the layer's summary fields (a parcel's class:
//! DLBM, DLMC …), so a map styles by class and a click names the record. Geometry goes registry CRS →
//! CGCS2000 longitude/latitude → spherical Web Mercator → tile pixels (4096 a side); a part reaching far
//! beyond the buffer is cut at it (ring by ring, Sutherland–Hodgman), coordinates are rounded to the pixel, repeats
//! dropped, rings too small to draw dropped, and exteriors wound as the MVT specification requires.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use geo::BoundingRect;
use geozero::mvt::{tile, Message};
use serde_json::json;

use super::crs::Served;
use super::params::{self, Query};
use super::problem::{clip, ApiError};
use super::Service;
use crate::crs::Transformer;
use crate::model::{LayerKind, Value};
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

/// The region of the registry CRS a tile and its buffer cover.
fn window(crs: &crate::crs::CrsInfo, at: TileId) -> Result<geo::Polygon<f64>, ApiError> {
    let [w, so, e, n] = at.mercator();
    let pad = (e - w) * BUFFER / f64::from(EXTENT);
    let (west, south) = lonlat(w - pad, so - pad);
    let (east, north) = lonlat(e + pad, n + pad);
    Served::Crs84.box_to_registry(crs, [west, south, east, north])
}

/// The tile, encoded (empty when no record meets it).
fn encode(s: &Service, reg: &Registry, kind: LayerKind, at: TileId, when: When) -> Result<Vec<u8>, ApiError> {
    let window = window(&s.crs, at)?;
    let Some(rect) = window.bounding_rect() else { return Ok(vec![]) };
    let def = s.catalog.layer(kind);
    let fields = tile_fields(s, kind);
    let mut tags = Tags::default();
    let columns: Vec<(u32, usize)> =
        fields.iter().filter_map(|name| def.field_index(name).map(|i| (tags.key(name), i))).collect();
    let (fid_key, from_key) = (tags.key("fid"), tags.key("valid_from"));
    let read = Read::layer(kind).when(when).fields(Fields::Only(&fields));
    let to_pixels = Pixels::new(&s.crs, at, rect)?;
    // each record is drawn on the decoding threads; only the tag tables are filled in here, in order
    let drawn = reg.read_in_rect_then(&read, rect, &|rec| drawn(&to_pixels, rec, &columns))?;
    let mut features = Vec::with_capacity(drawn.len());
    for d in drawn {
        let Some(d) = d? else { continue };
        let mut f = tile::Feature {
            id: Some(d.fid as u64),
            tags: Vec::with_capacity(4 + 2 * d.values.len()),
            r#type: Some(tile::GeomType::Polygon as i32),
            geometry: d.geometry,
        };
        f.tags.extend([fid_key, tags.int(d.fid), from_key, tags.text(&d.valid_from)]);
        for (key, text) in &d.values {
            f.tags.extend([*key, tags.text(text)]);
        }
        features.push(f);
    }
    if features.is_empty() {
        return Ok(vec![]);
    }
    let layer = tile::Layer {
        version: 2,
        name: kind.name().to_string(),
        features,
        keys: tags.keys,
        values: tags.values,
        extent: Some(EXTENT),
    };
    Ok(geozero::mvt::Tile { layers: vec![layer] }.encode_to_vec())
}

/// A record as its tile draws it: fid, validity, the texts of its tagged fields (key index, text) and its
/// geometry as MVT commands.
struct Drawn {
    fid: i64,
    valid_from: String,
    values: Vec<(u32, String)>,
    geometry: Vec<u32>,
}

/// The record drawn, or None when it does not meet the tile's window or nothing of it is big enough to
/// draw; `columns` are the tagged fields (key index, field position).
fn drawn(to: &Pixels, rec: StoredRecord, columns: &[(u32, usize)]) -> crate::Result<Option<Drawn>> {
    let Some(geometry) = pixels(to, &rec.record.geometry)? else { return Ok(None) };
    let mut record = rec.record;
    let values = columns
        .iter()
        .filter_map(|&(key, i)| match record.values.get_mut(i).map(|v| std::mem::replace(v, Value::Null))? {
            v if v.is_blank() => None,
            Value::Text(t) => Some((key, t)),
            v => Some((key, v.to_string())),
        })
        .collect();
    Ok(Some(Drawn { fid: rec.fid, valid_from: rec.valid_from, values, geometry }))
}

/// Registry coordinates → a tile's pixels. Exactly: PROJ to longitude, latitude, then Web Mercator. From
/// zoom [`GRID_FROM_ZOOM`] on, a point near the tile is interpolated (bilinearly) between the exact pixels
/// of a grid of [`GRID`] × [`GRID`] cells over the tile's window and a margin of [`MARGIN`] cells around it
/// (where the records on the tile's edge reach): the transformation bends by about (cell²/earth radius)
/// over a cell, under 1/20 of a pixel at those zooms (tested), and a tile of a thousand parcels needs 441
/// exact transformations instead of tens of thousands.
struct Pixels {
    crs: crate::crs::CrsInfo,
    /// The tile's west and north edges (Web Mercator metres) and pixels per metre.
    west: f64,
    north: f64,
    scale: f64,
    grid: Option<Grid>,
}

/// Cells of the interpolation grid per side.
const GRID: usize = 20;
/// Cells of the grid beyond the window on each side.
const MARGIN: usize = 2;
/// The least detailed zoom whose pixels are interpolated.
const GRID_FROM_ZOOM: u32 = 10;

/// Exact pixels at the nodes of a grid over a box of the registry CRS.
struct Grid {
    x0: f64,
    y0: f64,
    dx: f64,
    dy: f64,
    /// (GRID + 1)² pixels, row by row from the south-west.
    at: Vec<geo::Coord<f64>>,
}

impl Pixels {
    /// For tile `at`, whose window (with its buffer) lies in `rect` of the registry CRS.
    fn new(crs: &crate::crs::CrsInfo, at: TileId, rect: geo::Rect<f64>) -> crate::Result<Pixels> {
        let [w, _, e, n] = at.mercator();
        let mut p = Pixels { crs: crs.clone(), west: w, north: n, scale: f64::from(EXTENT) / (e - w), grid: None };
        if at.z >= GRID_FROM_ZOOM && rect.width() > 0.0 && rect.height() > 0.0 {
            let inner = (GRID - 2 * MARGIN) as f64;
            let (dx, dy) = (rect.width() / inner, rect.height() / inner);
            let (x0, y0) = (rect.min().x - MARGIN as f64 * dx, rect.min().y - MARGIN as f64 * dy);
            let mut nodes: Vec<(f64, f64)> =
                (0..=GRID).flat_map(|j| (0..=GRID).map(move |i| (x0 + i as f64 * dx, y0 + j as f64 * dy))).collect();
            p.exact(&mut nodes)?;
            p.grid = Some(Grid { x0, y0, dx, dy, at: nodes.into_iter().map(|(x, y)| geo::Coord { x, y }).collect() });
        }
        Ok(p)
    }

    /// Registry coordinates to pixels, exactly, in place.
    fn exact(&self, pts: &mut [(f64, f64)]) -> crate::Result<()> {
        Transformer::for_thread(&self.crs.definition, &self.crs.geographic)?.coords(pts)?;
        for c in pts.iter_mut() {
            let p = self.mercator_pixel(geo::Coord { x: c.0, y: c.1 });
            *c = (p.x, p.y);
        }
        Ok(())
    }

    /// A geometry in pixels: interpolated when it lies within the grid, else exactly.
    fn of(&self, g: &geo::MultiPolygon<f64>) -> crate::Result<geo::MultiPolygon<f64>> {
        use geo::MapCoords;
        match (&self.grid, g.bounding_rect()) {
            (Some(grid), Some(r)) if grid.covers(&r) => Ok(g.map_coords(|c| grid.at(c))),
            _ => {
                let ll = Transformer::for_thread(&self.crs.definition, &self.crs.geographic)?.multipolygon(g)?;
                Ok(ll.map_coords(|c| self.mercator_pixel(c)))
            }
        }
    }

    /// The pixel of a longitude, latitude.
    fn mercator_pixel(&self, c: geo::Coord<f64>) -> geo::Coord<f64> {
        let (mx, my) = mercator(c.x, c.y);
        geo::Coord { x: (mx - self.west) * self.scale, y: (self.north - my) * self.scale }
    }
}

impl Grid {
    fn covers(&self, r: &geo::Rect<f64>) -> bool {
        let (x1, y1) = (self.x0 + self.dx * GRID as f64, self.y0 + self.dy * GRID as f64);
        r.min().x >= self.x0 && r.min().y >= self.y0 && r.max().x <= x1 && r.max().y <= y1
    }

    /// The pixel of a point inside the grid, interpolated.
    fn at(&self, c: geo::Coord<f64>) -> geo::Coord<f64> {
        let cell = |v: f64| {
            let i = (v.floor().max(0.0) as usize).min(GRID - 1);
            (i, v - i as f64)
        };
        let (i, u) = cell((c.x - self.x0) / self.dx);
        let (j, v) = cell((c.y - self.y0) / self.dy);
        let node = |i: usize, j: usize| self.at[j * (GRID + 1) + i];
        let (a, b, c2, d) = (node(i, j), node(i + 1, j), node(i, j + 1), node(i + 1, j + 1));
        let mix = |a: f64, b: f64, c: f64, d: f64| (a * (1.0 - u) + b * u) * (1.0 - v) + (c * (1.0 - u) + d * u) * v;
        geo::Coord { x: mix(a.x, b.x, c2.x, d.x), y: mix(a.y, b.y, c2.y, d.y) }
    }
}

/// A tile layer's keys and values, each text value once (the MVT tables features point into).
#[derive(Default)]
struct Tags {
    keys: Vec<String>,
    values: Vec<tile::Value>,
    texts: std::collections::HashMap<String, u32, rustc_hash::FxBuildHasher>,
}

impl Tags {
    /// The index of a key (a tile has a handful: looked up by scanning).
    fn key(&mut self, k: &str) -> u32 {
        match self.keys.iter().position(|have| have == k) {
            Some(i) => i as u32,
            None => {
                self.keys.push(k.to_string());
                (self.keys.len() - 1) as u32
            }
        }
    }

    /// A new integer value (a fid: each feature's own, never shared).
    fn int(&mut self, v: i64) -> u32 {
        self.values.push(tile::Value { int_value: Some(v), ..Default::default() });
        (self.values.len() - 1) as u32
    }

    /// The index of a text value.
    fn text(&mut self, v: &str) -> u32 {
        if let Some(i) = self.texts.get(v) {
            return *i;
        }
        let i = self.values.len() as u32;
        self.values.push(tile::Value { string_value: Some(v.to_string()), ..Default::default() });
        self.texts.insert(v.to_string(), i);
        i
    }
}

/// A geometry as the MVT commands of its parts in the tile's pixels, or None when nothing of it meets the
/// tile and its buffer or is big enough to draw. A part reaching beyond the buffer is cut at it.
fn pixels(to: &Pixels, g: &geo::MultiPolygon<f64>) -> crate::Result<Option<Vec<u32>>> {
    let px = to.of(g)?;
    let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
    let Some(r) = px.bounding_rect() else { return Ok(None) };
    if r.max().x < lo || r.max().y < lo || r.min().x > hi || r.min().y > hi {
        return Ok(None);
    }
    let inside = r.min().x >= lo && r.min().y >= lo && r.max().x <= hi && r.max().y <= hi;
    let commands = if inside { commands(&px.0) } else { commands(&clipped(&px, lo, hi)) };
    Ok((!commands.is_empty()).then_some(commands))
}

/// Polygons cut at the square from `lo` to `hi` (both axes), ring by ring (Sutherland–Hodgman): what lies
/// inside keeps its area exactly, and where a ring leaves the square and comes back its part runs along
/// the square's edge — beyond the tile, in its buffer, where nothing of it is seen.
fn clipped(px: &geo::MultiPolygon<f64>, lo: f64, hi: f64) -> Vec<geo::Polygon<f64>> {
    let ring = |r: &geo::LineString<f64>| {
        let mut pts = r.0.clone();
        for edge in 0..4 {
            pts = clip_edge(&pts, edge, lo, hi);
        }
        (pts.len() >= 3).then(|| geo::LineString::new(pts))
    };
    px.0.iter()
        .filter_map(|p| Some(geo::Polygon::new(ring(p.exterior())?, p.interiors().iter().filter_map(ring).collect())))
        .collect()
}

/// A closed ring cut at one edge of the square: 0 west (x ≥ lo), 1 east (x ≤ hi), 2 north, 3 south.
fn clip_edge(pts: &[geo::Coord<f64>], edge: u8, lo: f64, hi: f64) -> Vec<geo::Coord<f64>> {
    let inside = |c: &geo::Coord<f64>| match edge {
        0 => c.x >= lo,
        1 => c.x <= hi,
        2 => c.y >= lo,
        _ => c.y <= hi,
    };
    let crossing = |a: &geo::Coord<f64>, b: &geo::Coord<f64>| {
        let (along, at) = match edge {
            0 => (true, lo),
            1 => (true, hi),
            2 => (false, lo),
            _ => (false, hi),
        };
        if along {
            let t = (at - a.x) / (b.x - a.x);
            geo::Coord { x: at, y: a.y + t * (b.y - a.y) }
        } else {
            let t = (at - a.y) / (b.y - a.y);
            geo::Coord { x: a.x + t * (b.x - a.x), y: at }
        }
    };
    let mut out = Vec::with_capacity(pts.len() + 4);
    for (i, b) in pts.iter().enumerate() {
        let a = &pts[(i + pts.len() - 1) % pts.len()];
        match (inside(a), inside(b)) {
            (true, true) => out.push(*b),
            (true, false) => out.push(crossing(a, b)),
            (false, true) => out.extend([crossing(a, b), *b]),
            (false, false) => {}
        }
    }
    out
}

/// MVT command integers (MVT 2.1, 4.3).
const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

/// The MVT geometry commands of polygons in pixels: each ring rounded to whole pixels with repeated points
/// dropped, a ring that no longer encloses anything dropped (an exterior with its holes), exteriors wound
/// with a positive area and holes with a negative one (MVT 2.1, 4.3.4.4).
fn commands(polygons: &[geo::Polygon<f64>]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut cursor = (0i64, 0i64);
    let mut ring = Vec::new();
    for p in polygons {
        if !rounded(p.exterior(), &mut ring, true) {
            continue;
        }
        push_ring(&mut out, &mut cursor, &ring);
        for hole in p.interiors() {
            if rounded(hole, &mut ring, false) {
                push_ring(&mut out, &mut cursor, &ring);
            }
        }
    }
    out
}

/// `r` rounded to whole pixels into `ring` (repeats and the closing point left out), wound as an exterior
/// or a hole; false when it encloses nothing.
fn rounded(r: &geo::LineString<f64>, ring: &mut Vec<(i64, i64)>, exterior: bool) -> bool {
    ring.clear();
    for c in &r.0 {
        let p = (c.x.round() as i64, c.y.round() as i64);
        if ring.last() != Some(&p) {
            ring.push(p);
        }
    }
    while ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return false;
    }
    let twice_area: i64 = ring.iter().zip(ring.iter().cycle().skip(1)).map(|(a, b)| a.0 * b.1 - b.0 * a.1).sum();
    if twice_area == 0 {
        return false;
    }
    if (twice_area > 0) != exterior {
        ring[1..].reverse(); // from the same first point
    }
    true
}

/// A closed ring's commands: MoveTo its first point, LineTo the others, ClosePath; each point as the
/// zigzag-encoded step from the one before (the cursor runs on across rings and parts).
fn push_ring(out: &mut Vec<u32>, cursor: &mut (i64, i64), ring: &[(i64, i64)]) {
    let zigzag = |v: i64| ((v << 1) ^ (v >> 63)) as u32;
    let command = |id: u32, count: usize| (id & 0x7) | ((count as u32) << 3);
    let mut step = |out: &mut Vec<u32>, p: (i64, i64)| {
        out.extend([zigzag(p.0 - cursor.0), zigzag(p.1 - cursor.1)]);
        *cursor = p;
    };
    out.push(command(MOVE_TO, 1));
    step(out, ring[0]);
    out.push(command(LINE_TO, ring.len() - 1));
    for &p in &ring[1..] {
        step(out, p);
    }
    out.push(command(CLOSE_PATH, 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tile of zoom `z` holding a point of the demo county (安吉县).
    fn tile_at(z: u32) -> TileId {
        let (mx, my) = mercator(119.62, 30.63);
        let size = 2.0 * std::f64::consts::PI * R / f64::from(1u32 << z);
        let x = ((mx + std::f64::consts::PI * R) / size) as u32;
        let y = ((std::f64::consts::PI * R - my) / size) as u32;
        TileId { z, x, y }
    }

    /// A small deterministic sequence in [0, 1).
    fn unit(i: usize) -> f64 {
        ((i as f64 * 0.618_033_988_75 + 0.1) * 7.0).fract()
    }

    #[test]
    fn interpolated_pixels_stay_within_a_twentieth_of_a_pixel_of_the_exact_ones() {
        let crs = crate::crs::describe("EPSG:4549").unwrap();
        for z in [GRID_FROM_ZOOM, 12, 14, 17, 20] {
            let at = tile_at(z);
            let rect = window(&crs, at).unwrap().bounding_rect().unwrap();
            let to = Pixels::new(&crs, at, rect).unwrap();
            let grid = to.grid.as_ref().expect("a grid from GRID_FROM_ZOOM on");
            // over the whole grid, its margin too
            let (x0, y0, w, h) = (grid.x0, grid.y0, grid.dx * GRID as f64, grid.dy * GRID as f64);
            let pts: Vec<(f64, f64)> = (0..500).map(|i| (x0 + unit(i) * w, y0 + unit(i + 7919) * h)).collect();
            let mut exact = pts.clone();
            to.exact(&mut exact).unwrap();
            let worst = pts
                .iter()
                .zip(&exact)
                .map(|(&(x, y), &(ex, ey))| {
                    let p = grid.at(geo::Coord { x, y });
                    (p.x - ex).hypot(p.y - ey)
                })
                .fold(0.0, f64::max);
            assert!(worst < 0.05, "zoom {z}: {worst} px");
            // the frame is the tile's: most of the grid lies in it
            let inside = exact.iter().filter(|(x, y)| (0.0..=4096.0).contains(x) && (0.0..=4096.0).contains(y)).count();
            assert!(inside > 250, "zoom {z}: {inside} of 500 points inside the tile");
        }
    }

    /// The commands geozero's MVT encoder gives for polygons rounded, cleaned and wound with geo (what
    /// the tiles were drawn with before [`commands`]).
    fn geozero_commands(polygons: &[geo::Polygon<f64>]) -> Vec<u32> {
        use geo::orient::{Direction, Orient};
        use geo::Area;
        use geozero::ToMvt;
        let ring = |r: &geo::LineString<f64>| -> Option<geo::LineString<f64>> {
            let mut pts: Vec<geo::Coord<f64>> = Vec::new();
            for c in &r.0 {
                let c = geo::Coord { x: c.x.round(), y: c.y.round() };
                if pts.last() != Some(&c) {
                    pts.push(c);
                }
            }
            let ls = geo::LineString(pts);
            (ls.0.len() >= 4 && geo::Polygon::new(ls.clone(), vec![]).unsigned_area() > 0.0).then_some(ls)
        };
        let kept: Vec<geo::Polygon<f64>> = polygons
            .iter()
            .filter_map(|p| {
                Some(geo::Polygon::new(ring(p.exterior())?, p.interiors().iter().filter_map(ring).collect()))
            })
            .collect();
        if kept.is_empty() {
            return vec![];
        }
        let g = geo::Geometry::MultiPolygon(geo::MultiPolygon(kept).orient(Direction::Default));
        g.to_mvt_unscaled().unwrap().geometry
    }

    #[test]
    fn polygon_commands_are_geozeros_for_the_same_rounded_rings() {
        // star-shaped rings of both windings, holes, rings that round to nothing, at sub-pixel offsets
        let star = |cx: f64, cy: f64, r: f64, n: usize, seed: usize, clockwise: bool| -> geo::LineString<f64> {
            let mut pts: Vec<(f64, f64)> = (0..n)
                .map(|k| {
                    let a = std::f64::consts::TAU * k as f64 / n as f64;
                    let rr = r * (0.6 + 0.4 * unit(seed + k));
                    (cx + rr * a.cos(), cy + rr * a.sin())
                })
                .collect();
            if clockwise {
                pts.reverse();
            }
            pts.push(pts[0]);
            geo::LineString::from(pts)
        };
        let (mut compared, mut exteriors) = (0, 0);
        for i in 0..400 {
            let (cx, cy) = (unit(i) * 4000.0, unit(i + 3) * 4000.0);
            let r = [0.3, 2.0, 40.0, 300.0][i % 4];
            let outer = star(cx, cy, r, 5 + i % 17, i * 13, i % 3 == 0);
            let holes = match i % 5 {
                0 | 1 => vec![star(cx, cy, r * 0.3, 6 + i % 5, i * 7, i % 2 == 0)],
                _ => vec![],
            };
            let second = geo::Polygon::new(star(cx + 3.0 * r, cy, r * 0.5, 7, i * 11, i % 2 == 1), vec![]);
            let polygons = vec![geo::Polygon::new(outer, holes), second];
            let ours = commands(&polygons);
            // every ring as decoders read it: the spec's area positive for an exterior, negative for a hole
            for (k, (ring, area)) in decoded_rings(&ours).iter().enumerate() {
                assert!(ring.len() >= 3 && *area != 0, "case {i}, ring {k}");
                exteriors += usize::from(*area > 0);
            }
            // rings that rounding leaves self-crossing (a star of a pixel or two) geo winds by the turn at
            // one vertex, not by their area as MVT does; the larger ones must be exactly geozero's
            if r >= 40.0 {
                assert_eq!(ours, geozero_commands(&polygons), "case {i}");
                compared += usize::from(!ours.is_empty());
            }
        }
        assert!(compared > 190 && exteriors > 300, "{compared} compared, {exteriors} exteriors");
    }

    #[test]
    fn cutting_at_the_buffer_keeps_exactly_the_area_inside_it() {
        use geo::{Area, BooleanOps};
        let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
        let square = geo::Rect::new((lo, lo), (hi, hi)).to_polygon();
        let mut cut_some = 0;
        for i in 0..200 {
            // concave rings (stars) with holes, around the square's edges and corners
            let (cx, cy) =
                ([lo, hi, 2000.0][i % 3] + (unit(i) - 0.5) * 600.0, [lo, hi][i % 2] + (unit(i + 5) - 0.5) * 600.0);
            let star = |r: f64, n: usize, seed: usize| -> geo::LineString<f64> {
                let mut pts: Vec<(f64, f64)> = (0..n)
                    .map(|k| {
                        let a = std::f64::consts::TAU * k as f64 / n as f64;
                        let rr = r * (0.3 + 0.7 * unit(seed + k));
                        (cx + rr * a.cos(), cy + rr * a.sin())
                    })
                    .collect();
                pts.push(pts[0]);
                geo::LineString::from(pts)
            };
            let p = geo::Polygon::new(star(300.0, 9 + i % 13, i * 17), vec![star(40.0, 6, i * 3)]);
            let mp = geo::MultiPolygon(vec![p]);
            let want = mp.intersection(&square).unsigned_area();
            let got: f64 = clipped(&mp, lo, hi).iter().map(|p| p.unsigned_area()).sum();
            // geo's overlay snaps to a fine grid of its own: agreement to a thousandth of a pixel²
            assert!((got - want).abs() < 1e-3 + 1e-6 * want, "case {i}: {got} ≠ {want}");
            cut_some += usize::from(want > 0.0 && want < mp.unsigned_area() - 1.0);
        }
        assert!(cut_some > 100, "{cut_some} cut");
    }

    /// The rings of MVT polygon commands, each with twice its area by the spec's surveyor's formula.
    fn decoded_rings(commands: &[u32]) -> Vec<(Vec<(i64, i64)>, i64)> {
        let unzig = |v: u32| i64::from((v >> 1) as i32 ^ -((v & 1) as i32));
        let (mut out, mut cursor, mut i) = (Vec::new(), (0i64, 0i64), 0);
        let mut ring: Vec<(i64, i64)> = Vec::new();
        while i < commands.len() {
            let (id, count) = (commands[i] & 7, (commands[i] >> 3) as usize);
            i += 1;
            if id == CLOSE_PATH {
                let area = ring.iter().zip(ring.iter().cycle().skip(1)).map(|(a, b)| a.0 * b.1 - b.0 * a.1).sum();
                out.push((std::mem::take(&mut ring), area));
                continue;
            }
            for _ in 0..count {
                cursor = (cursor.0 + unzig(commands[i]), cursor.1 + unzig(commands[i + 1]));
                ring.push(cursor);
                i += 2;
            }
        }
        out
    }

    #[test]
    fn a_geometry_beyond_the_grid_is_transformed_exactly() {
        let crs = crate::crs::describe("EPSG:4549").unwrap();
        let at = tile_at(16);
        let rect = window(&crs, at).unwrap().bounding_rect().unwrap();
        let to = Pixels::new(&crs, at, rect).unwrap();
        let (x0, y0, w) = (rect.min().x, rect.min().y, rect.width());
        let far =
            geo::MultiPolygon(vec![geo::Rect::new((x0 + w / 2.0, y0), (x0 + 30.0 * w, y0 + 30.0 * w)).to_polygon()]);
        let got = to.of(&far).unwrap();
        let mut pts: Vec<(f64, f64)> = far.0[0].exterior().0.iter().map(|c| (c.x, c.y)).collect();
        to.exact(&mut pts).unwrap();
        for (c, (x, y)) in got.0[0].exterior().0.iter().zip(pts) {
            assert!((c.x - x).abs() < 1e-6 && (c.y - y).abs() < 1e-6);
        }
    }

    #[test]
    fn a_box_is_inside_the_window_exactly_when_contains_says_so() {
        use geo::Contains;
        let crs = crate::crs::describe("EPSG:4549").unwrap();
        let window = window(&crs, tile_at(12)).unwrap();
        let r = window.bounding_rect().unwrap();
        let (mut ins, mut outs) = (0, 0);
        for i in 0..400 {
            let (x, y) =
                (r.min().x + unit(i) * r.width() * 1.2 - 0.1 * r.width(), r.min().y + unit(i + 31) * r.height());
            let side = unit(i + 101) * r.width() * 0.2;
            let b = geo::Rect::new((x, y), (x + side, y + side * 0.7));
            let want = window.contains(&b);
            assert_eq!(super::super::features::box_inside(&window, &b), want, "box {i}: {b:?}");
            if want {
                ins += 1
            } else {
                outs += 1
            }
        }
        assert!(ins > 50 && outs > 50, "{ins} inside, {outs} not");
    }
}
