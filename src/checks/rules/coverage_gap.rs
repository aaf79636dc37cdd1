//! NR103 coverage-gap.
//!
//! **What it catches:** ground inside the region's administrative outline (行政区, or `--region`) that no
//! parcel covers. **Why it matters:** 三调 parcels must cover the whole county; a gap is land missing from
//! every class total, so the balance sheet would not add up to the county's area.
//!
//! The gap pieces come from [`crate::geometry::uncovered`] (tiles, an area-sum fast path, one overlay per tile
//! elsewhere); the balance sheet uses the same function for its 未覆盖 pseudo-class.

use geo::{Area, BoundingRect, MultiPolygon, Rect};

use super::{Check, Context, Finding};
use crate::model::LayerKind;
use crate::quantity::SquareMetres;

/// NR103.
pub struct CoverageGap;

impl Check for CoverageGap {
    fn code(&self) -> &'static str {
        "NR103"
    }
    fn name(&self) -> &'static str {
        "coverage-gap"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Parcels, LayerKind::Admin]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let (code, outline) = match &ctx.region {
            Some((c, o)) => (c.clone(), o.clone()),
            None => {
                let admin = crate::region::outermost(&ctx.layer(LayerKind::Admin).records);
                if admin.is_empty() {
                    ctx.note("NR103 coverage-gap not run: the registry has no admin outline on the check date".into());
                    return Ok(vec![]);
                }
                let parts: Vec<geo::Polygon<f64>> =
                    admin.iter().flat_map(|r| r.record.geometry.0.iter().cloned()).collect();
                (
                    admin.iter().map(|r| r.record.key.clone()).collect::<Vec<_>>().join(";"),
                    geo::unary_union(parts.iter()),
                )
            }
        };
        let parcels = ctx.layer(LayerKind::Parcels);
        let overlap_boxes: Vec<Rect<f64>> =
            super::parcel_overlap::pieces(ctx)?.iter().filter_map(|p| p.geometry.bounding_rect()).collect();
        let quiet = 0.5 * tol.ignore_area_m2.unwrap_or(0.0);
        let pieces = crate::geometry::uncovered(
            &outline,
            parcels.records.len(),
            |i| &parcels.records[i].record.geometry,
            |r| parcels.candidates(r),
            &overlap_boxes,
            quiet,
        );
        let mut out = Vec::new();
        for p in pieces {
            if p.unsigned_area() <= 0.0 {
                continue;
            }
            let mp = MultiPolygon(vec![p]);
            let area = ctx.area_of(&mp);
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
                    area_m2: SquareMetres(area),
                    area_planar_m2: SquareMetres(planar),
                    message: format!("{:.2} m² of {code} near ({:.0}, {:.0}) is covered by no parcel", area, c.x, c.y),
                    excepted_by: None,
                    geometry: Some(mp),
                });
            }
        }
        Ok(out)
    }
}
