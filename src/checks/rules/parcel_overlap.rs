//! NR101 parcel-overlap.
//!
//! **What it catches:** two land parcels (地类图斑) of the same vintage that cover the same ground.
//! **Why it matters:** 三调 parcels tile the land; an overlap counts the same square metres twice in every
//! class total and balance sheet. Shared edges of a clean tiling give no area and are never reported;
//! pieces below the sliver thresholds (digitising noise) are reported as `sliver` at info severity.

use super::{Check, Context, Finding};
use crate::checks::geom::Piece;
use crate::model::LayerKind;

/// NR101.
pub struct ParcelOverlap;

impl Check for ParcelOverlap {
    fn code(&self) -> &'static str {
        "NR101"
    }
    fn name(&self) -> &'static str {
        "parcel-overlap"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Parcels]
    }
    /// Only the keys: the findings name the records and measure their geometry.
    fn fields(&self, _kind: LayerKind) -> Option<&'static [&'static str]> {
        Some(&[])
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let set = ctx.layer(LayerKind::Parcels);
        Ok(pieces(ctx)?
            .iter()
            .map(|p| super::overlap_finding(self, LayerKind::Parcels, set, p.clone(), "parcels"))
            .collect())
    }
}

/// The overlap pieces among the parcels, with NR101's tolerances, computed once per check
/// ([`Context::parcel_overlaps`]).
pub fn pieces(ctx: &Context) -> crate::Result<std::borrow::Cow<'_, [Piece]>> {
    Ok(ctx.parcel_overlaps(ctx.config.tolerance(ParcelOverlap.code())?))
}
