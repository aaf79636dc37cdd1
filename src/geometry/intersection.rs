//! The exact intersection of two multipolygons, clipped first to their common box and pre-tested when small.

use geo::{BooleanOps, BoundingRect, MultiPolygon};

use super::clip::clip_to_rect;
use super::edges::{interiors_meet, PRETEST_VERTICES};
use super::vertex_count;

/// The exact intersection of two multipolygons. Both are first clipped (exactly, in floating point) to the
/// intersection of their bounding boxes: the boolean operation (i_overlay) snaps to an integer grid scaled to
/// its operands' extent, so a large polygon meeting a small one would otherwise leave spurious slivers of
/// 1e-4–1e-2 m² along their shared edge (seen on the Paris Urban Atlas fixture, where GEOS finds none).
///
/// Two small polygons (parcels) are first asked whether their interiors meet at all ([`interiors_meet`]):
/// neighbours in a clean tiling only share edges, and then no boolean operation is needed.
pub fn intersection(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let (Some(ra), Some(rb)) = (a.bounding_rect(), b.bounding_rect()) else { return MultiPolygon(vec![]) };
    intersection_in(a, ra, b, rb)
}

/// [`intersection`](super::intersection) of two multipolygons whose envelopes `ra`, `rb` are already known.
pub fn intersection_in(
    a: &MultiPolygon<f64>,
    ra: geo::Rect<f64>,
    b: &MultiPolygon<f64>,
    rb: geo::Rect<f64>,
) -> MultiPolygon<f64> {
    let Some(common) = common_box(ra, rb) else { return MultiPolygon(vec![]) };
    if vertex_count(a) + vertex_count(b) <= PRETEST_VERTICES && !interiors_meet(a, b) {
        return MultiPolygon(vec![]);
    }
    clipped_intersection(a, b, common)
}

/// The intersection of two multipolygons known to share ground, without [`intersection`](super::intersection)'s pre-test: an
/// outline's boundary enters a piece it cuts ([`crate::geometry::Outline::clip`]).
pub fn intersection_of_meeting(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    match (a.bounding_rect(), b.bounding_rect()) {
        (Some(ra), Some(rb)) => {
            common_box(ra, rb).map_or(MultiPolygon(vec![]), |common| clipped_intersection(a, b, common))
        }
        _ => MultiPolygon(vec![]),
    }
}

/// The box two boxes share, if any.
fn common_box(ra: geo::Rect<f64>, rb: geo::Rect<f64>) -> Option<geo::Rect<f64>> {
    let min = geo::Coord { x: ra.min().x.max(rb.min().x), y: ra.min().y.max(rb.min().y) };
    let max = geo::Coord { x: ra.max().x.min(rb.max().x), y: ra.max().y.min(rb.max().y) };
    (min.x <= max.x && min.y <= max.y).then(|| geo::Rect::new(min, max))
}

/// The boolean intersection of `a` and `b`, both clipped first to (a little more than) their common box.
fn clipped_intersection(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>, common: geo::Rect<f64>) -> MultiPolygon<f64> {
    let (min, max) = (common.min(), common.max());
    // a little margin so the clip edges never coincide with the operands' edges
    let pad = ((max.x - min.x) + (max.y - min.y)) * 1e-3 + 1e-3;
    let r =
        geo::Rect::new(geo::Coord { x: min.x - pad, y: min.y - pad }, geo::Coord { x: max.x + pad, y: max.y + pad });
    let (ca, cb) = (clip_to_rect(a, r), clip_to_rect(b, r));
    if ca.0.is_empty() || cb.0.is_empty() {
        return MultiPolygon(vec![]);
    }
    ca.intersection(&cb)
}
