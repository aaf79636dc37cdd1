//! NR401 redline-farmland-overlap.
//!
//! **What it catches:** ground inside both 生态保护红线 and 永久基本农田. **Why it matters:** The three control lines (三区三线) must not cross or overlap one another; each overlap piece is a
//! planning conflict to resolve. Each finding carries the overlapping piece and both zones' codes.

use super::{between, Check, Context, Finding};
use crate::model::LayerKind;

/// NR401.
pub struct RedlineFarmland;

impl Check for RedlineFarmland {
    fn code(&self) -> &'static str {
        "NR401"
    }
    fn name(&self) -> &'static str {
        "redline-farmland-overlap"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Redlines, LayerKind::Farmland]
    }
    /// Only the keys: the findings name the records and measure their geometry.
    fn fields(&self, _kind: LayerKind) -> Option<&'static [&'static str]> {
        Some(&[])
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        between(self, ctx, LayerKind::Redlines, LayerKind::Farmland)
    }
}
