//! NR401 redline-farmland-overlap, NR402 redline-urban-overlap, NR403 farmland-urban-overlap.
//!
//! **What it catches:** ground inside two of the three control lines (三区三线) at once: 生态保护红线 and
//! 永久基本农田 (NR401), 生态保护红线 and 城镇开发边界 (NR402), 永久基本农田 and 城镇开发边界 (NR403).
//! **Why it matters:** The three control lines must not cross or overlap one another; each overlap piece
//! is a planning conflict to resolve. Each finding carries the overlapping piece and both zones' codes.
//! The three rules are one rule type over a pair of layers.

use super::{between, Check, Context, Finding};
use crate::model::LayerKind;

/// Ground inside both layers of a pair of control lines.
pub struct ControlOverlap {
    code: &'static str,
    name: &'static str,
    layers: &'static [LayerKind; 2],
}

/// NR401: 生态保护红线 × 永久基本农田.
pub const REDLINE_FARMLAND: ControlOverlap = ControlOverlap {
    code: "NR401",
    name: "redline-farmland-overlap",
    layers: &[LayerKind::Redlines, LayerKind::Farmland],
};
/// NR402: 生态保护红线 × 城镇开发边界.
pub const REDLINE_URBAN: ControlOverlap =
    ControlOverlap { code: "NR402", name: "redline-urban-overlap", layers: &[LayerKind::Redlines, LayerKind::Urban] };
/// NR403: 永久基本农田 × 城镇开发边界.
pub const FARMLAND_URBAN: ControlOverlap =
    ControlOverlap { code: "NR403", name: "farmland-urban-overlap", layers: &[LayerKind::Farmland, LayerKind::Urban] };

impl Check for ControlOverlap {
    fn code(&self) -> &'static str {
        self.code
    }
    fn name(&self) -> &'static str {
        self.name
    }
    fn layers(&self) -> &'static [LayerKind] {
        self.layers
    }
    /// Only the keys: the findings name the records and measure their geometry.
    fn fields(&self, _kind: LayerKind) -> Option<&'static [&'static str]> {
        Some(&[])
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        between(self, ctx, self.layers[0], self.layers[1])
    }
}
