//! Ground of an outline that none of a set of polygons covers (the gaps of a coverage).

use geo::{Area, BooleanOps, BoundingRect, MultiPolygon};
use rayon::prelude::*;

use super::clip::{clip_to_rect, shoelace_area};

/// cost grows faster than linearly with its size, and most tiles take the cheap path).
const TILE_PARCELS: f64 = 20.0;

/// The parts of `outline` that none of `n` polygons covers (polygon `i` is `geom(i)`; `candidates(r)` lists
/// those whose box meets `r`).
///
/// The outline is cut into tiles of about 20 polygons each, handled in parallel. In a tile where the
/// polygons (clipped exactly to the tile) add up to the area of the outline's part (within `quiet` m²) and
/// none of the `suspect` boxes lies — an overlap can hide a gap of the same area, as a displaced parcel
/// does — there is no gap, and no boolean operation is needed. Elsewhere the gap is the tile's part of the
/// outline minus the union of its polygons (non-zero fill, so overlapping polygons still count as covered).
/// Pieces cut by tile borders are merged again.
pub fn uncovered<'a, G, C>(
    outline: &MultiPolygon<f64>,
    n: usize,
    geom: G,
    candidates: C,
    suspect: &[geo::Rect<f64>],
    quiet: f64,
) -> Vec<geo::Polygon<f64>>
where
    G: Fn(usize) -> &'a MultiPolygon<f64> + Sync,
    C: Fn(geo::Rect<f64>) -> Vec<usize> + Sync,
{
    use geo::bool_ops::{FillRule, OpType};
    use geo::orient::{Direction, Orient};
    use geo::{Coord, Rect};
    let Some(bb) = outline.bounding_rect() else { return vec![] };
    let n_tiles = (n as f64 / TILE_PARCELS).ceil().max(1.0);
    let side = ((bb.width() * bb.height()) / n_tiles).sqrt().max(1.0);
    let (nx, ny) = (((bb.width() / side).ceil() as usize).max(1), ((bb.height() / side).ceil() as usize).max(1));
    let tiles: Vec<Rect<f64>> = (0..nx * ny)
        .map(|k| {
            let (i, j) = ((k % nx) as f64, (k / nx) as f64);
            let min = Coord { x: bb.min().x + i * side, y: bb.min().y + j * side };
            Rect::new(min, Coord { x: (min.x + side).min(bb.max().x), y: (min.y + side).min(bb.max().y) })
        })
        .collect();
    let pieces: Vec<geo::Polygon<f64>> = tiles
        .par_iter()
        .flat_map_iter(|t| {
            let near_suspect = suspect.iter().any(|b| geo::Intersects::intersects(b, t));
            if !near_suspect {
                let want = shoelace_area(&clip_to_rect(outline, *t));
                let have: f64 = candidates(*t).into_iter().map(|i| shoelace_area(&clip_to_rect(geom(i), *t))).sum();
                if (want - have).abs() <= quiet {
                    return Vec::new().into_iter();
                }
            }
            let part = outline.intersection(&MultiPolygon(vec![t.to_polygon()]));
            if part.0.is_empty() {
                return Vec::new().into_iter();
            }
            // rings are oriented first: sources deliver them either way round, and the fill rule reads their winding
            let near = candidates(*t);
            let covered = MultiPolygon(
                near.iter().flat_map(|&i| geom(i).0.iter().map(|p| p.orient(Direction::Default))).collect(),
            );
            let gaps = part.orient(Direction::Default).boolean_op_with_fill_rule(
                &covered,
                OpType::Difference,
                FillRule::NonZero,
            );
            // the difference against a whole tile of parcels at once can leave ground a parcel covers (seen where
            // many parcels meet along a county boundary): each gap piece is cut again by every parcel that
            // really covers part of it, one at a time
            let mut out = Vec::new();
            for g in gaps.0 {
                let mut piece = MultiPolygon(vec![g]);
                let Some(b) = piece.bounding_rect() else { continue };
                for &i in &near {
                    let c = geom(i);
                    if c.bounding_rect().is_none_or(|cb| !geo::Intersects::intersects(&cb, &b)) {
                        continue;
                    }
                    if piece.intersection(c).unsigned_area() > 0.0 {
                        piece = piece.difference(c);
                    }
                }
                out.extend(piece.0);
            }
            out.into_iter()
        })
        .collect();
    geo::unary_union(pieces.iter()).0.into_iter().filter(|p| p.unsigned_area() > 0.0).collect()
}
