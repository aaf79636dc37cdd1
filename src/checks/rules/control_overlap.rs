//! NR401 redline-farmland-overlap, NR402 redline-urban-overlap, NR403 farmland-urban-overlap.
//!
//! **What they catch:** ground inside two of the three control lines (三区三线) at once — 生态保护红线 and
//! 永久基本农田, 生态保护红线 and 城镇开发边界, 永久基本农田 and 城镇开发边界. **Why it matters:** the three lines
//! must not cross or overlap; each overlap piece is a planning conflict to resolve. Each finding carries the
//! overlapping piece and both zones' codes.

use super::{Check, Context, Finding};
use crate::model::LayerKind;

fn between(check: &dyn Check, ctx: &Context, a: LayerKind, b: LayerKind) -> crate::Result<Vec<Finding>> {
    let tol = ctx.config.tolerance(check.code())?;
    let (sa, sb) = (ctx.layer(a), ctx.layer(b));
    let (ta, tb) = (ctx.catalog.layer(a).title.clone(), ctx.catalog.layer(b).title.clone());
    Ok(crate::checks::geom::overlaps(ctx, sa, sb, false, tol)
        .into_iter()
        .map(|p| {
            let (ra, rb) = (&sa.records[p.a], &sb.records[p.b]);
            Finding {
                rule: check.code().into(),
                name: check.name().into(),
                severity: p.class.1,
                class: p.class.0,
                layers: vec![a, b],
                ids: vec![ra.record.key.clone(), rb.record.key.clone()],
                fids: vec![ra.fid, rb.fid],
                area_m2: p.area,
                area_planar_m2: p.planar,
                message: format!("{ta} {} overlaps {tb} {} by {:.2} m²", ra.record.key, rb.record.key, p.area),
                excepted_by: None,
                geometry: Some(p.geometry),
            }
        })
        .collect())
}

/// NR401: 生态保护红线 × 永久基本农田.
pub struct RedlineFarmland;
/// NR402: 生态保护红线 × 城镇开发边界.
pub struct RedlineUrban;
/// NR403: 永久基本农田 × 城镇开发边界.
pub struct FarmlandUrban;

impl Check for RedlineFarmland {
    fn code(&self) -> &'static str {
        "NR401"
    }
    fn name(&self) -> &'static str {
        "redline-farmland-overlap"
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        between(self, ctx, LayerKind::Redlines, LayerKind::Farmland)
    }
}

impl Check for RedlineUrban {
    fn code(&self) -> &'static str {
        "NR402"
    }
    fn name(&self) -> &'static str {
        "redline-urban-overlap"
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        between(self, ctx, LayerKind::Redlines, LayerKind::Urban)
    }
}

impl Check for FarmlandUrban {
    fn code(&self) -> &'static str {
        "NR403"
    }
    fn name(&self) -> &'static str {
        "farmland-urban-overlap"
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        between(self, ctx, LayerKind::Farmland, LayerKind::Urban)
    }
}
