//! NR402 redline-urban-overlap.
//!
//! **What it catches:** ground inside both 生态保护红线 and 城镇开发边界. **Why it matters:** The three control lines (三区三线) must not cross or overlap one another; each overlap piece is a
//! planning conflict to resolve. Each finding carries the overlapping piece and both zones' codes.

use super::{between, Check, Context, Finding};
use crate::model::LayerKind;

/// NR402.
pub struct RedlineUrban;

impl Check for RedlineUrban {
    fn code(&self) -> &'static str {
        "NR402"
    }
    fn name(&self) -> &'static str {
        "redline-urban-overlap"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Redlines, LayerKind::Urban]
    }
    /// Only the keys: the findings name the records and measure their geometry.
    fn fields(&self, _kind: LayerKind) -> Option<&'static [&'static str]> {
        Some(&[])
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        between(self, ctx, LayerKind::Redlines, LayerKind::Urban)
    }
}
