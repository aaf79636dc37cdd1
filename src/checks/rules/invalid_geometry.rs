//! NR201 invalid-geometry.
//!
//! **What it catches:** stored polygons that are not valid OGC simple features — self-intersecting or
//! crossing rings, holes outside their shell, overlapping parts of a multipolygon, rings with too few points,
//! an interior split in two by touching holes, zero area (GEOS's IsValidOp, [`crate::validity`]).
//! **Why it matters:** every area and overlay downstream assumes valid polygons. Imports refuse invalid
//! geometry unless `--make-valid` repaired it, so this catches data written by other tools or repairs
//! that still fail.

use rayon::prelude::*;

use super::{attribute, Check, Context, Finding};
use crate::model::LayerKind;

/// NR201.
pub struct InvalidGeometry;

impl Check for InvalidGeometry {
    fn code(&self) -> &'static str {
        "NR201"
    }
    fn name(&self) -> &'static str {
        "invalid-geometry"
    }
    fn layers(&self) -> &'static [LayerKind] {
        LayerKind::all()
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let mut out = Vec::new();
        for kind in ctx.catalog.kinds() {
            let set = ctx.layer(kind);
            out.extend(
                set.records
                    .par_iter()
                    .filter_map(|r| {
                        crate::validity::check(&r.record.geometry)
                            .err()
                            .map(|e| attribute(self, tol.severity, kind, r, format!("{kind} {}: {e}", r.record.key)))
                    })
                    .collect::<Vec<_>>(),
            );
        }
        Ok(out)
    }
}
