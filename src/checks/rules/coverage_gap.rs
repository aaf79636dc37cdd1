//! NR103 coverage-gap.
//!
//! **What it catches:** ground inside the region's administrative outline (行政区, or `--region`) that no
//! parcel covers. **Why it matters:** 三调 parcels must cover the whole county; a gap is land missing from
//! every class total, so the balance sheet would not add up to the county's area.
//!
//! The outline is cut into tiles of about 1 500 parcels each; in each tile (in parallel) the gap is the tile's
//! part of the outline minus the union of the parcels there. Pieces cut by tile borders are merged again.

use geo::{Area, BooleanOps, BoundingRect, Coord, MultiPolygon, Rect};
use rayon::prelude::*;

use super::{Check, Context, Finding};
use crate::model::LayerKind;

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
        let n_tiles = (parcels.records.len() as f64 / 1500.0).ceil().max(1.0);
        let side = ((bb.width() * bb.height()) / n_tiles).sqrt().max(1.0);
        let (nx, ny) = ((bb.width() / side).ceil() as usize, (bb.height() / side).ceil() as usize);
        let tiles: Vec<Rect<f64>> = (0..nx.max(1) * ny.max(1))
            .map(|k| {
                let (i, j) = ((k % nx.max(1)) as f64, (k / nx.max(1)) as f64);
                let min = Coord { x: bb.min().x + i * side, y: bb.min().y + j * side };
                Rect::new(min, Coord { x: (min.x + side).min(bb.max().x), y: (min.y + side).min(bb.max().y) })
            })
            .collect();
        let pieces: Vec<geo::Polygon<f64>> = tiles
            .par_iter()
            .flat_map_iter(|t| {
                let part = outline.intersection(&MultiPolygon(vec![t.to_polygon()]));
                if part.0.is_empty() {
                    return Vec::new().into_iter();
                }
                let covered: Vec<&geo::Polygon<f64>> =
                    parcels.candidates(*t).into_iter().flat_map(|i| parcels.records[i].record.geometry.0.iter()).collect();
                let union = geo::unary_union(covered.into_iter());
                part.difference(&union).0.into_iter()
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
