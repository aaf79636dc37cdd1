//! The deterministic demo-county generator behind `seeds/` (`nrledger gen`).
//!
//! Starting from a real county outline, it tiles the county with a jittered grid (neighbouring parcels
//! share their vertices exactly, so the tiling is clean: no gaps, no overlaps), gives each parcel a land
//! class from smooth pseudo-random fields (hills → forest and bamboo, valley floor → paddy, dry land, tea
//! and orchards, a town, a river and a reservoir), and derives from the parcels the 三调-style layers a land
//! bureau delivers: DLTB parcels, XZQ outline, STBHHX red lines, YJJBNT farmland, CZKFBJ urban boundary and
//! ZRZYDJDY registration units, XB forest stands (小班), and the tabular inputs of a balance sheet: forest
//! changes, water statistics (illustrative figures) and control targets. A second vintage changes some classes (farmland built over, forest cleared,
//! re-greening), splits some parcels, and adds a few deliberate defects for the checks to find.
//! Everything comes from one seed through ChaCha8, so the same arguments give the same data.

mod classes;
mod forest;
mod layers;
mod permits;

use std::path::{Path, PathBuf};

use geo::{Area, BooleanOps, BoundingRect, Contains, Coord, LineString, MultiPolygon, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::area::{AreaCalculator, Ellipsoid};
use crate::crs::{self, Transformer};
use crate::error::{Error, Result};
use crate::io::source::{self, SourceGeometry, SourceRequest};
use crate::progress::Progress;

pub use layers::write_county;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenRequest {
    /// File holding the county outline (any GDAL vector source, lon/lat CGCS2000).
    pub outline: PathBuf,
    /// Field holding the region code in that file, and the code to pick.
    pub code_field: String,
    /// GB/T 2260 code of the county (matched as a suffix of the code field, e.g. `156330523`).
    pub code: String,
    /// Approximate number of parcels in the first vintage.
    pub parcels: usize,
    /// Seed.
    pub seed: u64,
    /// Output folder.
    pub out: PathBuf,
    /// Hard data (the bench's second county): red lines drawn independently of the parcels, and a second
    /// survey giving every parcel a new data year (SJNF).
    pub hard: bool,
}

/// One generated parcel (registry CRS).
#[derive(Debug, Clone)]
pub struct GenParcel {
    /// Grid cell (i, j) it came from.
    pub cell: (i64, i64),
    /// Sequence number (BSM suffix).
    pub seq: u64,
    /// Geometry.
    pub geometry: MultiPolygon<f64>,
    /// Class code.
    pub dlbm: &'static str,
    /// Township index (for ZLDWDM).
    pub township: u32,
    /// Village index within the township.
    pub village: u32,
    /// Ellipsoidal area, m².
    pub area: f64,
    /// Slope grade 1–5 (for 旱地 deductions).
    pub slope: u8,
    /// Quality grade 1–15 (for cultivated land).
    pub quality: u8,
}

/// A generated county: outline and both vintages' parcels plus control zones.
pub struct County {
    /// County code.
    pub code: String,
    /// County name.
    pub name: String,
    /// CRS (EPSG:45xx) of the generated data.
    pub crs: String,
    /// Outline in the CRS.
    pub outline: MultiPolygon<f64>,
    /// Parcels of vintage 1 and 2.
    pub vintages: [Vec<GenParcel>; 2],
    /// Fields used to place zones: hill height per cell.
    pub(crate) fields: classes::Fields,
    /// Cell size, metres.
    pub cell: f64,
    pub(crate) areas: AreaCalculator,
    /// Hard data: see [`GenRequest::hard`].
    pub hard: bool,
    /// The seed it was drawn from.
    pub(crate) seed: u64,
}

/// Generate a county in memory.
pub fn generate(req: &GenRequest) -> Result<County> {
    let src = source::read(&SourceRequest { path: req.outline.clone(), ..Default::default() }, &Progress::hidden())?;
    let fi = src
        .field_names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(&req.code_field))
        .ok_or_else(|| Error::Invalid(format!("{}: no field {}", req.outline.display(), req.code_field)))?;
    let name_i = src.field_names.iter().position(|n| n.eq_ignore_ascii_case("name") || n.eq_ignore_ascii_case("XZQMC"));
    let feat = src
        .features
        .iter()
        .find(|f| {
            f.values[fi].to_string().ends_with(&req.code) && matches!(f.geometry, SourceGeometry::Polygonal { .. })
        })
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{}: no polygon with {} ending in {}",
                req.outline.display(),
                req.code_field,
                req.code
            ))
        })?;
    let name = name_i.map(|i| feat.values[i].to_string()).unwrap_or_else(|| req.code.clone());
    let SourceGeometry::Polygonal { mp: outline_ll, .. } = &feat.geometry else { unreachable!() };
    let lon = outline_ll.bounding_rect().map(|r| r.center().x).unwrap_or(120.0);
    let zone = crs::gk3_zone_for_lon(lon);
    let epsg = crs::gk3_epsg(zone, false)
        .ok_or_else(|| Error::Invalid(format!("longitude {lon} is outside China's 3° zones")))?;
    let crs = format!("EPSG:{epsg}");
    let outline = Transformer::new("EPSG:4490", &crs)?.multipolygon(outline_ll)?;
    let areas = AreaCalculator::new(&crs, "EPSG:4490", Ellipsoid::CGCS2000, true)?;
    let mut rng = ChaCha8Rng::seed_from_u64(req.seed);
    let bbox = outline.bounding_rect().ok_or_else(|| Error::Invalid("empty outline".into()))?;
    let cell = (outline.unsigned_area() / req.parcels.max(1) as f64).sqrt();
    let fields = classes::Fields::new(&mut rng, bbox, cell);
    let v1 = tile(&outline, bbox, cell, req.seed, &fields, &areas)?;
    let v2 = classes::second_vintage(&v1, &fields, &areas)?;
    let (hard, seed) = (req.hard, req.seed);
    Ok(County { code: req.code.clone(), name, crs, outline, vintages: [v1, v2], fields, cell, areas, hard, seed })
}

/// Jitter of grid vertex (i, j): shared by the four cells around it, so the tiling stays exact.
fn jitter(seed: u64, i: i64, j: i64, cell: f64) -> Coord<f64> {
    let mut r = ChaCha8Rng::seed_from_u64(
        seed ^ ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ ((j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)),
    );
    Coord { x: (r.random::<f64>() - 0.5) * 0.5 * cell, y: (r.random::<f64>() - 0.5) * 0.5 * cell }
}

fn tile(
    outline: &MultiPolygon<f64>,
    bbox: geo::Rect<f64>,
    cell: f64,
    seed: u64,
    fields: &classes::Fields,
    areas: &AreaCalculator,
) -> Result<Vec<GenParcel>> {
    let x0 = (bbox.min().x / cell).floor() as i64 - 1;
    let y0 = (bbox.min().y / cell).floor() as i64 - 1;
    let x1 = (bbox.max().x / cell).ceil() as i64 + 1;
    let y1 = (bbox.max().y / cell).ceil() as i64 + 1;
    let vertex = |i: i64, j: i64| {
        let d = jitter(seed, i, j, cell);
        Coord { x: i as f64 * cell + d.x, y: j as f64 * cell + d.y }
    };
    let outline_pts: Vec<Coord<f64>> = outline
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.iter().copied())
        .collect();
    let segments: Vec<(Coord<f64>, Coord<f64>)> = outline
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
        .collect();
    let mut out = Vec::new();
    let mut seq = 1u64;
    for j in y0..y1 {
        for i in x0..x1 {
            let corners = [vertex(i, j), vertex(i + 1, j), vertex(i + 1, j + 1), vertex(i, j + 1)];
            let ring = LineString(vec![corners[0], corners[1], corners[2], corners[3], corners[0]]);
            let quad = Polygon::new(ring, vec![]);
            let qb = quad.bounding_rect().expect("quad");
            if qb.max().x < bbox.min().x
                || qb.min().x > bbox.max().x
                || qb.max().y < bbox.min().y
                || qb.min().y > bbox.max().y
            {
                continue;
            }
            let parts: Vec<Polygon<f64>> = if outline.contains(&quad) {
                vec![quad]
            } else {
                // the exact points neighbours must agree on: corners, outline vertices in the cell, and the
                // crossings of the cell's edges with the outline (computed in the edges' canonical order)
                let edges = [
                    ((i, j), (i + 1, j)),
                    ((i + 1, j), (i + 1, j + 1)),
                    ((i, j + 1), (i + 1, j + 1)),
                    ((i, j), (i, j + 1)),
                ];
                let mut anchors: Vec<Coord<f64>> = corners.to_vec();
                for (a, b) in edges {
                    anchors.extend(crossings(vertex(a.0, a.1), vertex(b.0, b.1), &segments));
                }
                let grown = geo::Rect::new(
                    Coord { x: qb.min().x - 1.0, y: qb.min().y - 1.0 },
                    Coord { x: qb.max().x + 1.0, y: qb.max().y + 1.0 },
                );
                anchors.extend(outline_pts.iter().copied().filter(|c| grown.contains(c)));
                outline.intersection(&MultiPolygon(vec![quad])).0.into_iter().map(|p| snap(p, &anchors, 0.01)).collect()
            };
            for p in parts {
                // keep every piece of a square metre or more: dropping crumbs would leave real gaps
                if p.unsigned_area() < 1.0 {
                    continue;
                }
                let mp = MultiPolygon(vec![p]);
                let centre = mp.bounding_rect().expect("part").center();
                let (dlbm, slope, quality) = fields.class_at(centre, (i, j));
                let area = areas.areas(&mp)?.ellipsoidal;
                let (township, village) = fields.admin_units(centre);
                out.push(GenParcel { cell: (i, j), seq, geometry: mp, dlbm, township, village, area, slope, quality });
                seq += 1;
            }
        }
    }
    Ok(out)
}

/// Where the segment a→b crosses the outline's segments (exact f64 formula, deterministic for equal inputs).
fn crossings(a: Coord<f64>, b: Coord<f64>, segments: &[(Coord<f64>, Coord<f64>)]) -> Vec<Coord<f64>> {
    let r = Coord { x: b.x - a.x, y: b.y - a.y };
    segments
        .iter()
        .filter_map(|&(c, d)| {
            let s = Coord { x: d.x - c.x, y: d.y - c.y };
            let den = r.x * s.y - r.y * s.x;
            if den == 0.0 {
                return None;
            }
            let t = ((c.x - a.x) * s.y - (c.y - a.y) * s.x) / den;
            let u = ((c.x - a.x) * r.y - (c.y - a.y) * r.x) / den;
            ((0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&u))
                .then_some(Coord { x: a.x + t * r.x, y: a.y + t * r.y })
        })
        .collect()
}

/// Move every vertex within `tol` of an anchor onto it (removing repeated vertices that result).
fn snap(p: Polygon<f64>, anchors: &[Coord<f64>], tol: f64) -> Polygon<f64> {
    let fix = |r: &LineString<f64>| {
        let mut v: Vec<Coord<f64>> = Vec::with_capacity(r.0.len());
        for c in &r.0 {
            let best = anchors
                .iter()
                .map(|a| (a, (a.x - c.x).hypot(a.y - c.y)))
                .filter(|(_, d)| *d <= tol)
                .min_by(|x, y| x.1.partial_cmp(&y.1).expect("finite"))
                .map(|(a, _)| *a)
                .unwrap_or(*c);
            if v.last() != Some(&best) {
                v.push(best);
            }
        }
        LineString(v)
    };
    Polygon::new(fix(p.exterior()), p.interiors().iter().map(fix).collect())
}

/// Generate and write a county's seed files into `req.out`, returning the files written.
pub fn run(req: &GenRequest) -> Result<Vec<PathBuf>> {
    let county = generate(req)?;
    write_county(&county, &req.out)
}

/// The default outline fixture (relative to the crate root) used by `make seeds`.
pub fn default_outline(root: &Path) -> PathBuf {
    root.join("tests/fixtures/admin/huzhou_counties.geojson")
}

/// A delivered zone (red line, farmland block, urban boundary, unit, admin outline) with its attributes.
pub(super) struct Zone {
    /// Key value, for messages and links.
    pub(super) key: String,
    pub(super) geometry: geo::MultiPolygon<f64>,
    pub(super) attrs: Vec<crate::model::Value>,
}

/// The centre of a parcel's box.
pub(super) fn centre(p: &GenParcel) -> geo::Coord<f64> {
    geo::BoundingRect::bounding_rect(&p.geometry).expect("parcel").center()
}

/// A value rounded to 0.01 (as delivered areas are).
pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
