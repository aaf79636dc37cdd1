//! The geometry kernel: exact operations on polygons in a projected CRS that every part above uses —
//! clipping to a box, edge tests that decide without a boolean operation whether two polygons share ground,
//! the exact intersection, the uncovered ground of a coverage, a spatial index over boxes, and an
//! [`Outline`] indexed for fast location and clipping. It depends on `geo`, `rstar` and `rayon` only: no
//! registry, no CRS, no check.

mod clip;
mod edges;
pub mod index;
mod intersection;
mod outline;
mod uncovered;

pub(crate) use clip::clip_to_rect;
pub(crate) use edges::{edges, may_share_ground, segments_enter};
pub use edges::{interiors_meet, PRETEST_VERTICES};
pub use index::LayerIndex;
pub use intersection::intersection;
pub(crate) use intersection::{intersection_in, intersection_of_meeting};
pub use outline::{Clip, Outline, Position, COVER_DEPTH, TILE_VERTICES};
pub(crate) use uncovered::uncovered;

use geo::MultiPolygon;

/// Vertices of a multipolygon, all rings.
pub fn vertex_count(mp: &MultiPolygon<f64>) -> usize {
    mp.0.iter().map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()).sum()
}

#[cfg(test)]
mod tests {
    use super::edges::separated_by_an_edge;
    use super::*;
    use geo::{Area, BooleanOps, BoundingRect};
    use geo::{Coord, LineString, Polygon};
    use proptest::prelude::*;

    fn ring() -> impl Strategy<Value = Vec<(f64, f64)>> {
        // 3–9 vertices, anywhere from millimetres to kilometres apart, repeats and collinear runs allowed
        prop::collection::vec(
            (prop_oneof![-1000.0..1000.0f64, -0.001..0.001f64, Just(0.0)], prop_oneof![-1000.0..1000.0f64, Just(0.0)]),
            3..10,
        )
    }

    fn poly(v: Vec<(f64, f64)>) -> MultiPolygon<f64> {
        let mut c: Vec<Coord<f64>> =
            v.into_iter().map(|(x, y)| Coord { x: 500_000.0 + x, y: 3_300_000.0 + y }).collect();
        c.push(c[0]);
        MultiPolygon(vec![Polygon::new(LineString(c), vec![])])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Any pair of rings — self-intersecting, degenerate, repeated points — goes through the overlap
        /// path without panicking, and the piece is never larger than either operand's planar extent.
        #[test]
        fn intersection_never_panics(a in ring(), b in ring()) {
            let (pa, pb) = (poly(a), poly(b));
            let piece = intersection(&pa, &pb);
            let area = piece.unsigned_area();
            let box_area = |m: &MultiPolygon<f64>| m.bounding_rect().map(|r| r.width() * r.height()).unwrap_or(0.0);
            prop_assert!(area <= box_area(&pa).min(box_area(&pb)) * (1.0 + 1e-9) + 1e-6);
        }
    }

    /// A jittered grid of quadrilaterals sharing their vertices exactly (a clean tiling), as cells.
    fn tiling(jitter: &[(f64, f64)], n: usize) -> Vec<MultiPolygon<f64>> {
        let v = |i: usize, j: usize| {
            let (dx, dy) = jitter[(i * 7 + j * 13) % jitter.len()];
            let edge = i == 0 || j == 0 || i == n || j == n;
            (i as f64 * 10.0 + if edge { 0.0 } else { dx }, j as f64 * 10.0 + if edge { 0.0 } else { dy })
        };
        let mut cells = Vec::new();
        for i in 0..n {
            for j in 0..n {
                cells.push(poly(vec![v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1)]));
            }
        }
        cells
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// `interiors_meet` says what the boolean engine's intersection area says: never for neighbours of a
        /// clean tiling (shared edges and corners), always for a cell and a shifted copy of itself, itself,
        /// or a square over it; and for arbitrary rings it never misses an intersection of measurable area.
        #[test]
        fn interiors_meet_agrees_with_the_intersection_area(
            jitter in prop::collection::vec((-4.0..4.0f64, -4.0..4.0f64), 1..12),
            shift in (-12.0..12.0f64, -12.0..12.0f64),
            a in ring(), b in ring(),
        ) {
            let cells = tiling(&jitter, 4);
            for (i, x) in cells.iter().enumerate() {
                for y in &cells[i + 1..] {
                    prop_assert!(!interiors_meet(x, y));
                    prop_assert!(intersection(x, y).unsigned_area() < 1e-6);
                }
                prop_assert!(interiors_meet(x, x));
                let moved = MultiPolygon(x.0.iter().map(|p| geo::Translate::translate(p, shift.0, shift.1)).collect());
                let exact = x.intersection(&moved).unsigned_area();
                if exact > 1e-6 {
                    prop_assert!(interiors_meet(x, &moved), "{exact}");
                }
            }
            let (pa, pb) = (poly(a), poly(b));
            let exact = pa.intersection(&pb).unsigned_area();
            if exact > 1e-3 && geo::Validation::is_valid(&pa) && geo::Validation::is_valid(&pb) {
                prop_assert!(interiors_meet(&pa, &pb), "{exact}");
            }
        }
    }

    /// The case the property test found: `b` is concave at a vertex written twice, so its turns (read
    /// three vertices at a time) never showed the reflex corner and it passed for convex; the line of its
    /// edge along y = 0 then "separated" it from a triangle it overlaps by 5 380.9 m².
    #[test]
    fn a_repeated_vertex_at_a_reflex_corner_does_not_hide_an_overlap() {
        let a = poly(vec![(-119.29173622070253, 0.0), (0.0, 0.0), (0.0, 612.946079100108)]);
        let b = poly(vec![
            (0.0, 0.0),
            (0.0, 0.0),
            (127.44208209841767, 0.0),
            (0.0, -347.03927207719136),
            (-690.6453742037911, 612.440298789277),
        ]);
        let exact = a.intersection(&b).unsigned_area();
        assert!((exact - 5380.913).abs() < 0.01, "{exact}");
        assert!(interiors_meet(&a, &b) && interiors_meet(&b, &a));
        assert!(!separated_by_an_edge(&a, &b) && !separated_by_an_edge(&b, &a));
        assert!((intersection(&a, &b).unsigned_area() - exact).abs() < 1e-6);
    }

    #[test]
    fn clipping_to_a_box_keeps_the_part_inside() {
        let square = poly(vec![(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]);
        let r = geo::Rect::new(Coord { x: 500_050.0, y: 3_300_050.0 }, Coord { x: 500_150.0, y: 3_300_150.0 });
        assert!((clip_to_rect(&square, r).unsigned_area() - 2500.0).abs() < 1e-9);
        let other = poly(vec![(50.0, 50.0), (150.0, 50.0), (150.0, 150.0), (50.0, 150.0)]);
        assert!((intersection(&square, &other).unsigned_area() - 2500.0).abs() < 1e-9);
        let apart = poly(vec![(200.0, 200.0), (300.0, 200.0), (300.0, 300.0)]);
        assert!(intersection(&square, &apart).0.is_empty());
    }
}
