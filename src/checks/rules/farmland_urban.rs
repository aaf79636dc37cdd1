//! NR403 farmland-urban-overlap.
//!
//! **What it catches:** ground inside both 永久基本农田 and 城镇开发边界. **Why it matters:** The three control lines (三区三线) must not cross or overlap one another; each overlap piece is a
//! planning conflict to resolve. Each finding carries the overlapping piece and both zones' codes.

use super::{between, Check, Context, Finding};
use crate::model::LayerKind;

/// NR403.
pub struct FarmlandUrban;

impl Check for FarmlandUrban {
    fn code(&self) -> &'static str {
        "NR403"
    }
    fn name(&self) -> &'static str {
        "farmland-urban-overlap"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Farmland, LayerKind::Urban]
    }
    /// Only the keys: the findings name the records and measure their geometry.
    fn fields(&self, _kind: LayerKind) -> Option<&'static [&'static str]> {
        Some(&[])
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        between(self, ctx, LayerKind::Farmland, LayerKind::Urban)
    }
}
