//! An outline (a region, a red line, the farmland union, a county) indexed for fast location and clipping.
//!
//! [`Outline`] indexes the outline's boundary segments in an R-tree, so a polygon whose box no boundary
//! segment meets is wholly inside or wholly outside, decided by counting crossings of a ray — only polygons
//! on the boundary need more work. It also cuts its ground into a quadtree of small tiles, so that point
//! location and clipping only see the outline near a polygon. Balance sheets clip parcels to their region
//! and zones with it; checks streamed by county use it to decide which records a county's window holds.

use geo::{BoundingRect, Coord, MultiPolygon};

use super::index::LayerIndex;
use super::{clip_to_rect, edges, intersection_of_meeting, segments_enter, vertex_count};

/// Where a polygon lies relative to an outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Wholly inside.
    Inside,
    /// Wholly outside.
    Outside,
    /// Its box meets the outline's boundary: clip it.
    Boundary,
}

/// A multipolygon with an index over its boundary segments, and its ground cut into small tiles (a quadtree
/// of exact rectangle clips, at most [`TILE_VERTICES`] vertices each) so that clipping a polygon to it only
/// involves the outline near that polygon — a red-line or farmland union can have a million vertices.
pub struct Outline {
    /// The outline, registry CRS.
    pub geometry: MultiPolygon<f64>,
    segments: Vec<(Coord<f64>, Coord<f64>)>,
    index: LayerIndex,
    tiles: Vec<MultiPolygon<f64>>,
    tile_index: LayerIndex,
}

/// Levels of the quadtree [`Outline::cover`] is asked for when records near an outline are read: boxes
/// down to 1/64 of the outline's box on a side.
pub const COVER_DEPTH: u32 = 6;

/// Vertices per tile of an [`Outline`].
pub const TILE_VERTICES: usize = 512;

/// The four quarters of `r`.
fn quarters(r: geo::Rect<f64>) -> [geo::Rect<f64>; 4] {
    let c = r.center();
    [
        geo::Rect::new(r.min(), c),
        geo::Rect::new(Coord { x: c.x, y: r.min().y }, Coord { x: r.max().x, y: c.y }),
        geo::Rect::new(Coord { x: r.min().x, y: c.y }, Coord { x: c.x, y: r.max().y }),
        geo::Rect::new(c, r.max()),
    ]
}

/// Cut `mp` (already inside `r`) into tiles of at most [`TILE_VERTICES`] vertices by recursive quartering.
fn quarter(mp: MultiPolygon<f64>, r: geo::Rect<f64>, depth: u32, out: &mut Vec<(geo::Rect<f64>, MultiPolygon<f64>)>) {
    if mp.0.is_empty() {
        return;
    }
    if vertex_count(&mp) <= TILE_VERTICES || depth >= 20 {
        out.push((r, mp));
        return;
    }
    for q in quarters(r) {
        quarter(clip_to_rect(&mp, q), q, depth + 1, out);
    }
}

impl Outline {
    /// Index an outline.
    pub fn new(geometry: MultiPolygon<f64>) -> Outline {
        let segments: Vec<(Coord<f64>, Coord<f64>)> = geometry
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
            .filter(|(a, b)| a != b)
            .collect();
        let envs: Vec<(i64, [f64; 4])> = segments
            .iter()
            .enumerate()
            .map(|(i, (a, b))| (i as i64, [a.x.min(b.x), a.x.max(b.x), a.y.min(b.y), a.y.max(b.y)]))
            .collect();
        let mut leaves = Vec::new();
        if let Some(b) = geometry.bounding_rect() {
            quarter(geometry.clone(), b, 0, &mut leaves);
        }
        let tile_boxes: Vec<_> = leaves.iter().map(|(r, _)| Some(*r)).collect();
        Outline {
            index: LayerIndex::build(&envs),
            tile_index: LayerIndex::of_boxes(&tile_boxes),
            tiles: leaves.into_iter().map(|(_, m)| m).collect(),
            segments,
            geometry,
        }
    }

    /// Boxes covering the outline, for reading the records that share ground with it through an R-tree
    /// (a big red line covers 40 % of its box, a county of a province much less of its box than that): the
    /// quadtree of its box down to `depth` levels. A quarter no boundary segment's box meets is kept whole
    /// when its centre is inside and dropped when it is outside; one the boundary meets is split, and kept
    /// at the last level. Every point of the outline lies in a box, and the boxes reach at most one
    /// last-level quarter beyond it.
    pub fn cover(&self, depth: u32) -> Vec<geo::Rect<f64>> {
        let mut out = Vec::new();
        if let Some(b) = self.bounds() {
            self.cover_in(b, depth, &mut out);
        }
        out
    }

    fn cover_in(&self, r: geo::Rect<f64>, depth: u32, out: &mut Vec<geo::Rect<f64>>) {
        if self.index.in_box(r.min().x, r.min().y, r.max().x, r.max().y).is_empty() {
            // the boundary does not cross the quarter: it is wholly inside or wholly outside
            if self.contains_point(r.center()) {
                out.push(r);
            }
            return;
        }
        if depth == 0 {
            out.push(r);
            return;
        }
        for q in quarters(r) {
            self.cover_in(q, depth - 1, out);
        }
    }

    /// The outline's box.
    pub fn bounds(&self) -> Option<geo::Rect<f64>> {
        self.geometry.bounding_rect()
    }

    /// Where `mp` lies: inside, outside, or on the boundary (its box meets a boundary segment's box).
    pub fn position(&self, mp: &MultiPolygon<f64>) -> Position {
        let Some(b) = mp.bounding_rect() else { return Position::Outside };
        if !self.index.in_box(b.min().x, b.min().y, b.max().x, b.max().y).is_empty() {
            return Position::Boundary;
        }
        let Some(p) = mp.0.first().and_then(|p| p.exterior().0.first()) else { return Position::Outside };
        if self.contains_point(*p) {
            Position::Inside
        } else {
            Position::Outside
        }
    }

    /// Point in the outline: located in its tile (a few hundred vertices at most); a point in no tile is
    /// in a quarter the outline does not reach. A point on a tile's drawn boundary falls back to counting the
    /// crossings of a ray through the whole outline.
    pub fn contains_point(&self, p: Coord<f64>) -> bool {
        use geo::coordinate_position::{CoordPos, CoordinatePosition};
        let leaves = self.tile_index.at_point(p.x, p.y);
        if leaves.is_empty() {
            return false;
        }
        for i in leaves {
            match self.tiles[i as usize].coordinate_position(&p) {
                CoordPos::Inside => return true,
                CoordPos::Outside => return false,
                _ => continue,
            }
        }
        self.contains_point_by_ray(p)
    }

    /// Even–odd point-in-polygon through the segment index (a horizontal ray to the east).
    fn contains_point_by_ray(&self, p: Coord<f64>) -> bool {
        let Some(b) = self.geometry.bounding_rect() else { return false };
        let mut inside = false;
        for i in self.index.in_box(p.x, p.y, b.max().x + 1.0, p.y) {
            let (a, c) = self.segments[i as usize];
            if (a.y > p.y) != (c.y > p.y) {
                let x = a.x + (p.y - a.y) / (c.y - a.y) * (c.x - a.x);
                if x > p.x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// True when the outline's boundary passes through the interior of `mp`. Each boundary segment near it
    /// is cut where it meets `mp`'s edges and the middle of every piece is tested: a boundary that only runs
    /// along `mp`'s edges (the usual case: zones drawn from parcels share their edges) does not enter it.
    fn boundary_enters(&self, mp: &MultiPolygon<f64>) -> bool {
        let Some(b) = mp.bounding_rect() else { return false };
        let near = self
            .index
            .in_box(b.min().x, b.min().y, b.max().x, b.max().y)
            .into_iter()
            .map(|k| self.segments[k as usize]);
        segments_enter(near, mp, &edges(mp))
    }

    /// Where `mp` lies, and the part inside when it is cut: no copy is made of a polygon wholly inside.
    pub fn clip(&self, mp: &MultiPolygon<f64>) -> Clip {
        let mut pos = self.position(mp);
        if pos == Position::Boundary && !self.boundary_enters(mp) {
            // wholly on one side: an interior point says which
            let Some(p) = geo::InteriorPoint::interior_point(mp) else { return Clip::Outside };
            pos = if self.contains_point(p.0) { Position::Inside } else { Position::Outside };
        }
        match pos {
            Position::Inside => Clip::Inside,
            Position::Outside => Clip::Outside,
            Position::Boundary => {
                // only the tiles of the outline near the polygon take part in the boolean operation
                let Some(b) = mp.bounding_rect() else { return Clip::Outside };
                let near: Vec<geo::Polygon<f64>> = self
                    .tile_index
                    .in_box(b.min().x, b.min().y, b.max().x, b.max().y)
                    .into_iter()
                    .flat_map(|i| self.tiles[i as usize].0.iter().cloned())
                    .collect();
                // the boundary enters mp (tested above), so their interiors meet: no pre-test
                let g = intersection_of_meeting(mp, &MultiPolygon(near));
                let (a, whole) = (geo::Area::unsigned_area(&g), geo::Area::unsigned_area(mp));
                if g.0.is_empty() || a <= 0.0 {
                    Clip::Outside
                } else if (whole - a).abs() <= 1e-9 * whole + 1e-6 {
                    // wholly inside, only touching the boundary: keep the exact original (the boolean
                    // operation's output is rounded to its grid and would no longer share vertices with neighbours)
                    Clip::Inside
                } else {
                    Clip::Cut(g)
                }
            }
        }
    }

    /// True when `mp` and the outline share ground (a piece of positive area), without a boolean operation:
    /// a polygon that only touches the outline from outside does not overlap it.
    pub fn overlaps(&self, mp: &MultiPolygon<f64>) -> bool {
        match self.position(mp) {
            Position::Inside => true,
            Position::Outside => false,
            Position::Boundary => {
                self.boundary_enters(mp)
                    || geo::InteriorPoint::interior_point(mp).is_some_and(|p| self.contains_point(p.0))
            }
        }
    }

    /// Area of the part of `mp` inside the outline: `area` (`mp`'s own) when it is wholly inside, otherwise
    /// `measure` of the part.
    pub fn area_inside(&self, mp: &MultiPolygon<f64>, area: f64, measure: impl Fn(&MultiPolygon<f64>) -> f64) -> f64 {
        match self.clip(mp) {
            Clip::Inside => area,
            Clip::Outside => 0.0,
            Clip::Cut(g) => measure(&g),
        }
    }
}

/// The result of clipping a polygon to an [`Outline`].
#[derive(Debug, Clone, PartialEq)]
pub enum Clip {
    /// Wholly inside (the polygon itself).
    Inside,
    /// Nothing inside.
    Outside,
    /// Cut by the boundary: the part inside.
    Cut(MultiPolygon<f64>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn sq(x0: f64, y0: f64, s: f64) -> Polygon<f64> {
        Polygon::new(LineString::from(vec![(x0, y0), (x0 + s, y0), (x0 + s, y0 + s), (x0, y0 + s), (x0, y0)]), vec![])
    }

    /// A 5 000-vertex star of `lobes` lobes around the origin (radius 1 000 ± `depth`) with a 200 m square hole.
    fn star(lobes: f64, depth: f64) -> Polygon<f64> {
        let ring: Vec<(f64, f64)> = (0..5000)
            .map(|k| {
                let a = k as f64 / 5000.0 * std::f64::consts::TAU;
                let r = 1000.0 + depth * (lobes * a).sin();
                (r * a.cos(), r * a.sin())
            })
            .chain(std::iter::once((1000.0, 0.0)))
            .collect();
        let mut poly = Polygon::new(LineString::from(ring), vec![]);
        poly.interiors_push(sq(-100.0, -100.0, 200.0).exterior().clone());
        poly
    }

    /// The tiled point location agrees with the plain ray count on a big ring with holes (many tiles).
    #[test]
    fn tiled_point_location_agrees_with_the_ray() {
        let o = Outline::new(MultiPolygon(vec![star(7.0, 300.0)]));
        assert!(o.tiles.len() > 8, "{} tiles", o.tiles.len());
        let mut inside = 0;
        for i in 0..60 {
            for j in 0..60 {
                let p = Coord { x: -1400.0 + 47.3 * i as f64, y: -1400.0 + 47.1 * j as f64 };
                assert_eq!(o.contains_point(p), o.contains_point_by_ray(p), "{p:?}");
                inside += o.contains_point(p) as usize;
            }
        }
        assert!(inside > 500 && inside < 3000, "{inside}");
    }

    /// The cover's boxes hold every point of a big star with a hole and a far second part, lie in the
    /// outline's box, and cover far less ground than the parts' boxes.
    #[test]
    fn the_cover_holds_the_outline_and_hugs_it() {
        let o = Outline::new(MultiPolygon(vec![star(5.0, 600.0), sq(5000.0, 5000.0, 50.0)]));
        let boxes = o.cover(COVER_DEPTH);
        let part_boxes: Vec<geo::Rect<f64>> = o.geometry.0.iter().filter_map(|p| p.bounding_rect()).collect();
        let b = o.bounds().unwrap();
        let within = |x: &geo::Rect<f64>| {
            x.min().x >= b.min().x && x.min().y >= b.min().y && x.max().x <= b.max().x && x.max().y <= b.max().y
        };
        assert!(boxes.iter().all(within), "every box lies in the outline's box");
        let area = |bs: &[geo::Rect<f64>]| bs.iter().map(|b| b.width() * b.height()).sum::<f64>();
        let ground = geo::Area::unsigned_area(&o.geometry);
        assert!(area(&boxes) < 0.75 * area(&part_boxes), "{} vs {}", area(&boxes), area(&part_boxes));
        assert!(area(&boxes) > ground, "the boxes cover the ground: {} vs {ground}", area(&boxes));
        // a shallow cover is the box itself where the boundary crosses everything
        assert_eq!(o.cover(0), vec![b]);
        let mut inside = 0;
        for i in 0..80 {
            for j in 0..80 {
                for p in [
                    Coord { x: -1700.0 + 42.7 * i as f64, y: -1700.0 + 42.9 * j as f64 },
                    Coord { x: 5000.0 + 0.63 * i as f64, y: 5000.0 + 0.61 * j as f64 },
                ] {
                    if o.contains_point(p) {
                        inside += 1;
                        assert!(
                            boxes
                                .iter()
                                .any(|b| b.min().x <= p.x && p.x <= b.max().x && b.min().y <= p.y && p.y <= b.max().y),
                            "{p:?} in no tile box"
                        );
                    }
                }
            }
        }
        assert!(inside > 2000, "{inside}");
    }

    #[test]
    fn positions_and_clipping() {
        // a 100 m square with a 20 m hole
        let mut outer = sq(0.0, 0.0, 100.0);
        outer.interiors_push(sq(40.0, 40.0, 20.0).exterior().clone());
        let o = Outline::new(MultiPolygon(vec![outer]));
        assert_eq!(o.position(&MultiPolygon(vec![sq(10.0, 10.0, 5.0)])), Position::Inside);
        assert_eq!(o.position(&MultiPolygon(vec![sq(45.0, 45.0, 5.0)])), Position::Outside, "in the hole");
        assert_eq!(o.position(&MultiPolygon(vec![sq(200.0, 10.0, 5.0)])), Position::Outside);
        assert_eq!(o.position(&MultiPolygon(vec![sq(95.0, 10.0, 10.0)])), Position::Boundary);
        for (x, y) in [(5.0, 5.0), (50.0, 50.0), (150.0, 5.0), (39.0, 50.0), (41.0, 50.0), (99.9, 99.9)] {
            assert_eq!(o.contains_point(Coord { x, y }), o.contains_point_by_ray(Coord { x, y }), "({x}, {y})");
        }
        let Clip::Cut(g) = o.clip(&MultiPolygon(vec![sq(95.0, 10.0, 10.0)])) else { panic!() };
        assert!((geo::Area::unsigned_area(&g) - 50.0).abs() < 1e-9);
        assert_eq!(o.clip(&MultiPolygon(vec![sq(45.0, 45.0, 5.0)])), Clip::Outside);
        // sharing edges with the boundary, inside or outside: no boolean operation, the polygon itself
        let along = MultiPolygon(vec![sq(90.0, 0.0, 10.0)]);
        assert!(!o.boundary_enters(&along));
        assert_eq!(o.clip(&along), Clip::Inside);
        assert_eq!(o.clip(&MultiPolygon(vec![sq(100.0, 0.0, 10.0)])), Clip::Outside);
        assert_eq!(o.clip(&MultiPolygon(vec![sq(40.0, 40.0, 5.0)])), Clip::Outside, "in the hole, sharing its corner");
        // a boundary cutting from corner to corner enters the polygon
        let tri = Outline::new(MultiPolygon(vec![Polygon::new(
            LineString::from(vec![(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (0.0, 0.0)]),
            vec![],
        )]));
        let cell = MultiPolygon(vec![sq(0.0, 0.0, 10.0)]);
        assert!(tri.boundary_enters(&cell));
        let Clip::Cut(g) = tri.clip(&cell) else { panic!() };
        assert!((geo::Area::unsigned_area(&g) - 50.0).abs() < 1e-9);
    }

    /// `overlaps` agrees with an exact intersection area on squares inside, outside, across, along the
    /// boundary, in the hole and touching it at a corner.
    #[test]
    fn overlaps_agrees_with_the_intersection_area() {
        use geo::{Area, BooleanOps};
        let mut outer = sq(0.0, 0.0, 100.0);
        outer.interiors_push(sq(40.0, 40.0, 20.0).exterior().clone());
        let mp = MultiPolygon(vec![outer]);
        let o = Outline::new(mp.clone());
        let mut seen = (0, 0);
        for x in (-20..=120).step_by(5) {
            for y in (-20..=120).step_by(5) {
                for s in [5.0, 10.0, 30.0] {
                    let cell = MultiPolygon(vec![sq(x as f64, y as f64, s)]);
                    let exact = cell.intersection(&mp).unsigned_area() > 1e-9;
                    assert_eq!(o.overlaps(&cell), exact, "square at ({x}, {y}) side {s}");
                    if exact {
                        seen.0 += 1
                    } else {
                        seen.1 += 1
                    }
                }
            }
        }
        assert!(seen.0 > 100 && seen.1 > 100, "{seen:?}");
    }
}
