//! NR102 unit-overlap.
//!
//! **What it catches:** two registration units (自然资源登记单元) valid on the same day whose extents overlap.
//! **Why it matters:** a piece of ground belongs to one registration unit; overlapping units mean two
//! register books claim the same resource (自然资源统一确权登记暂行办法).

use super::{self_overlaps, Check, Context, Finding};
use crate::model::LayerKind;

/// NR102.
pub struct UnitOverlap;

impl Check for UnitOverlap {
    fn code(&self) -> &'static str {
        "NR102"
    }
    fn name(&self) -> &'static str {
        "unit-overlap"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Units]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        self_overlaps(self, ctx, LayerKind::Units, "registration units")
    }
}
