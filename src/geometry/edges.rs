//! Edge tests that decide whether two polygons share ground without a boolean operation.

use geo::{BoundingRect, MultiPolygon};

use super::vertex_count;

/// Operands of [`intersection`](super::intersection) with at most this many vertices together are pre-tested with
/// [`interiors_meet`] (it costs O(n·m); beyond this the clipped boolean operation is cheaper).
pub const PRETEST_VERTICES: usize = 256;

/// The edges of a multipolygon's rings.
pub fn edges(mp: &MultiPolygon<f64>) -> Vec<(geo::Coord<f64>, geo::Coord<f64>)> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
        .filter(|(a, b)| a != b)
        .collect()
}

/// True when a piece of one of `segments` lies strictly inside `mp` (whose edges are `mp_edges`). Each
/// segment is cut where it meets an edge of `mp` (crossings, and the ends of collinear edges along it) and
/// the middle of every piece is tested, so a segment that only runs along `mp`'s edges or touches them does
/// not enter it; pieces along a collinear edge are on the boundary by construction and are not tested (their
/// rounded middle could fall a hair to either side).
pub fn segments_enter(
    segments: impl Iterator<Item = (geo::Coord<f64>, geo::Coord<f64>)>,
    mp: &MultiPolygon<f64>,
    mp_edges: &[(geo::Coord<f64>, geo::Coord<f64>)],
) -> bool {
    use geo::coordinate_position::{CoordPos, CoordinatePosition};
    use geo::Coord;
    let Some(bb) = mp.bounding_rect() else { return false };
    let cross = |u: Coord<f64>, v: Coord<f64>| u.x * v.y - u.y * v.x;
    for (a, c) in segments {
        if a.x.max(c.x) < bb.min().x
            || a.x.min(c.x) > bb.max().x
            || a.y.max(c.y) < bb.min().y
            || a.y.min(c.y) > bb.max().y
        {
            continue;
        }
        let r = c - a;
        let rr = r.x * r.x + r.y * r.y;
        if rr == 0.0 {
            continue;
        }
        let mut ts = vec![0.0, 1.0];
        // where an edge of `mp` runs along the segment: pieces there lie on its boundary by construction
        let mut along: Vec<(f64, f64)> = Vec::new();
        for (p, q) in mp_edges {
            if p.x.max(q.x) < a.x.min(c.x)
                || p.x.min(q.x) > a.x.max(c.x)
                || p.y.max(q.y) < a.y.min(c.y)
                || p.y.min(q.y) > a.y.max(c.y)
            {
                continue;
            }
            let sv = *q - *p;
            let d = cross(r, sv);
            let pa = *p - a;
            if d.abs() <= 1e-12 * (rr.sqrt() * (sv.x.hypot(sv.y))).max(f64::MIN_POSITIVE) {
                // parallel: where a collinear edge's ends fall on the segment
                if cross(pa, r).abs() <= 1e-9 * rr.sqrt().max(1.0) {
                    let (tp, tq) =
                        (((*p - a).x * r.x + (*p - a).y * r.y) / rr, ((*q - a).x * r.x + (*q - a).y * r.y) / rr);
                    ts.extend([tp, tq]);
                    along.push((tp.min(tq), tp.max(tq)));
                }
                continue;
            }
            let t = cross(pa, sv) / d;
            let u = cross(pa, r) / d;
            if (-1e-12..=1.0 + 1e-12).contains(&u) {
                ts.push(t);
            }
        }
        ts.retain(|t| (0.0..=1.0).contains(t));
        ts.sort_by(|x, y| x.partial_cmp(y).expect("finite"));
        for w in ts.windows(2) {
            if w[1] - w[0] <= 1e-12 {
                continue;
            }
            if along.iter().any(|(s0, s1)| *s0 <= w[0] + 1e-12 && *s1 >= w[1] - 1e-12) {
                continue;
            }
            let t = 0.5 * (w[0] + w[1]);
            let m = Coord { x: a.x + t * r.x, y: a.y + t * r.y };
            if mp.coordinate_position(&m) == CoordPos::Inside {
                return true;
            }
        }
    }
    false
}

/// True when the interiors of `a` and `b` share a point (their intersection has area), decided without a
/// boolean operation: a piece of `a`'s boundary lies strictly inside `b`, or of `b`'s inside `a`, or — when
/// the boundaries only run along each other — a polygon of `a` is a polygon of `b` (its interior point lies
/// inside `b`). If no boundary point of either lies inside the other, every component of the interiors'
/// intersection is bounded by both boundaries and so is a whole polygon of each; these three tests are
/// therefore complete.
pub fn interiors_meet(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    use geo::coordinate_position::{CoordPos, CoordinatePosition};
    if separated_by_an_edge(a, b) || separated_by_an_edge(b, a) {
        return false;
    }
    let (ea, eb) = (edges(a), edges(b));
    segments_enter(ea.iter().copied(), b, &eb)
        || segments_enter(eb.iter().copied(), a, &ea)
        || a.0.iter().any(|p| {
            geo::InteriorPoint::interior_point(p).is_some_and(|ip| b.coordinate_position(&ip.0) == CoordPos::Inside)
        })
}

/// True when the line of some edge of `a` has every vertex of `a` on one side (or on the line) and every
/// vertex of `b` on the other side (or on the line), by robust orientation. A polygon lies in the convex
/// hull of its vertices, so `a` is then in one closed half-plane and `b` in the other: their interiors are
/// disjoint. Neighbours in a tiling of convex parcels are separated by their shared edge. Nothing is
/// assumed of either shape: an earlier version took `a`'s side from its turns, which a repeated vertex
/// could hide at a reflex corner, and so missed a real overlap.
pub(super) fn separated_by_an_edge(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    use geo::kernels::{Kernel, Orientation, RobustKernel};
    let av: Vec<geo::Coord<f64>> = a.0.iter().flat_map(|p| p.exterior().0.iter().copied()).collect();
    let bv: Vec<geo::Coord<f64>> = b.0.iter().flat_map(|p| p.exterior().0.iter().copied()).collect();
    a.0.iter().flat_map(|p| p.exterior().0.windows(2)).any(|w| {
        let (p, q) = (w[0], w[1]);
        if p == q {
            return false;
        }
        let mut side = Orientation::Collinear;
        for v in &av {
            match RobustKernel::orient2d(p, q, *v) {
                Orientation::Collinear => {}
                o if side == Orientation::Collinear => side = o,
                o if o != side => return false,
                _ => {}
            }
        }
        side != Orientation::Collinear && bv.iter().all(|v| RobustKernel::orient2d(p, q, *v) != side)
    })
}

/// False only when `a` and `b` certainly share no ground: exact ([`interiors_meet`]) for small operands, the
/// cheaper `intersects` (touching counts) for large ones.
pub fn may_share_ground(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    if vertex_count(a) + vertex_count(b) <= PRETEST_VERTICES {
        interiors_meet(a, b)
    } else {
        geo::Intersects::intersects(a, b)
    }
}
