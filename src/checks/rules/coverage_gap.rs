//! NR103 coverage-gap.
//!
//! **What it catches:** ground inside the region's administrative outline (行政区, or `--region`) that no
//! parcel covers. **Why it matters:** 三调 parcels must cover the whole county; a gap is land missing from
//! every class total, so the balance sheet would not add up to the county's area.
//!
//! The outline is cut into tiles of about 20 parcels each, handled in parallel. In a tile where the parcels
//! (clipped exactly to the tile) add up to the area of the outline's part and no parcel overlap lies — an
//! overlap can hide a gap of the same area, as a displaced parcel does — there is no gap, and no boolean
//! operation is needed. Elsewhere the gap is the tile's part of the outline minus the union of its parcels.
//! Pieces cut by tile borders are merged again.

use geo::orient::{Direction, Orient};
use geo::bool_ops::{FillRule, OpType};
use geo::{Area, BooleanOps, BoundingRect, Coord, MultiPolygon, Rect};
use rayon::prelude::*;

use super::{Check, Context, Finding};
use crate::checks::geom;
use crate::model::LayerKind;

/// Parcels per tile (about): measured fastest at 20–50 on 100 000 parcels (the overlay's cost grows faster
/// than linearly with its size, and most tiles take the cheap path).
const TILE_PARCELS: f64 = 20.0;

/// NR103.
pub struct CoverageGap;

impl Check for CoverageGap {
    fn code(&self) -> &'static str {
        "NR103"
    }
    fn name(&self) -> &'static str {
        "coverage-gap"
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let (code, outline) = match &ctx.region {
            Some((c, o)) => (c.clone(), o.clone()),
            None => {
                let admin = &ctx.layer(LayerKind::Admin).records;
                if admin.is_empty() {
                    ctx.note("NR103 coverage-gap not run: the registry has no admin outline on the check date".into());
                    return Ok(vec![]);
                }
                let parts: Vec<geo::Polygon<f64>> = admin.iter().flat_map(|r| r.record.geometry.0.iter().cloned()).collect();
                (admin.iter().map(|r| r.record.key.clone()).collect::<Vec<_>>().join(";"), geo::unary_union(parts.iter()))
            }
        };
        let parcels = ctx.layer(LayerKind::Parcels);
        let Some(bb) = outline.bounding_rect() else { return Ok(vec![]) };
        let n_tiles = (parcels.records.len() as f64 / TILE_PARCELS).ceil().max(1.0);
        let side = ((bb.width() * bb.height()) / n_tiles).sqrt().max(1.0);
        let (nx, ny) = ((bb.width() / side).ceil() as usize, (bb.height() / side).ceil() as usize);
        let tiles: Vec<Rect<f64>> = (0..nx.max(1) * ny.max(1))
            .map(|k| {
                let (i, j) = ((k % nx.max(1)) as f64, (k / nx.max(1)) as f64);
                let min = Coord { x: bb.min().x + i * side, y: bb.min().y + j * side };
                Rect::new(min, Coord { x: (min.x + side).min(bb.max().x), y: (min.y + side).min(bb.max().y) })
            })
            .collect();
        let overlap_boxes: Vec<Rect<f64>> = ctx.parcel_overlaps()?.iter().filter_map(|p| p.geometry.bounding_rect()).collect();
        let quiet = 0.5 * tol.ignore_area_m2.unwrap_or(0.0);
        let pieces: Vec<geo::Polygon<f64>> = tiles
            .par_iter()
            .flat_map_iter(|t| {
                let near_overlap = overlap_boxes.iter().any(|b| geo::Intersects::intersects(b, t));
                if !near_overlap {
                    let want = geom::shoelace_area(&geom::clip_to_rect(&outline, *t));
                    let have: f64 = parcels
                        .candidates(*t)
                        .into_iter()
                        .map(|i| geom::shoelace_area(&geom::clip_to_rect(&parcels.records[i].record.geometry, *t)))
                        .sum();
                    if (want - have).abs() <= quiet {
                        return Vec::new().into_iter();
                    }
                }
                let part = outline.intersection(&MultiPolygon(vec![t.to_polygon()]));
                if part.0.is_empty() {
                    return Vec::new().into_iter();
                }
                // one overlay: the outline's part minus every parcel, with the non-zero fill rule so that
                // overlapping parcels still count as covered; rings are oriented first (sources deliver them
                // either way round, and the fill rule reads their winding)
                let covered = MultiPolygon(
                    parcels
                        .candidates(*t)
                        .into_iter()
                        .flat_map(|i| parcels.records[i].record.geometry.0.iter().map(|p| p.orient(Direction::Default)))
                        .collect(),
                );
                part.orient(Direction::Default).boolean_op_with_fill_rule(&covered, OpType::Difference, FillRule::NonZero).0.into_iter()
            })
            .collect();
        let merged = geo::unary_union(pieces.iter());
        let mut out = Vec::new();
        for p in merged.0 {
            if p.unsigned_area() <= 0.0 {
                continue;
            }
            let mp = MultiPolygon(vec![p]);
            let area = crate::checks::geom::area_of(ctx, &mp);
            let planar = mp.unsigned_area();
            if let Some((class, severity)) = crate::checks::geom::classify(&mp, area, tol) {
                let c = mp.bounding_rect().expect("piece").center();
                out.push(Finding {
                    rule: self.code().into(),
                    name: self.name().into(),
                    severity,
                    class,
                    layers: vec![LayerKind::Admin],
                    ids: vec![code.clone()],
                    fids: vec![],
                    area_m2: area,
                    area_planar_m2: planar,
                    message: format!("{:.2} m² of {code} near ({:.0}, {:.0}) is covered by no parcel", area, c.x, c.y),
                    excepted_by: None,
                    geometry: Some(mp),
                });
            }
        }
        Ok(out)
    }
}
