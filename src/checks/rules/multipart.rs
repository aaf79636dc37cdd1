//! NR203 multipart.
//!
//! **What it catches:** a land parcel made of more than one polygon. **Why it matters:** a 地类图斑 is one
//! contiguous piece of land with one class; a multipart parcel is usually two parcels under one BSM, which
//! hides a boundary from the survey and from the transition matrix.

use super::{attribute, Check, Context, Finding};
use crate::model::LayerKind;
use crate::quantity::SquareMetres;

/// NR203.
pub struct Multipart;

impl Check for Multipart {
    fn code(&self) -> &'static str {
        "NR203"
    }
    fn name(&self) -> &'static str {
        "multipart"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Parcels]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        Ok(ctx
            .layer(LayerKind::Parcels)
            .records
            .iter()
            .filter(|r| r.record.geometry.0.len() > 1)
            .map(|r| {
                let mut f = attribute(
                    self,
                    tol.severity,
                    LayerKind::Parcels,
                    r,
                    format!("parcel {} has {} parts", r.record.key, r.record.geometry.0.len()),
                );
                f.area_m2 = SquareMetres(r.areas.ellipsoidal);
                f.area_planar_m2 = SquareMetres(r.areas.planar);
                f
            })
            .collect())
    }
}
