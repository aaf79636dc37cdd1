//! NR601 farmland-construction.
//!
//! **What it catches:** the part of a land parcel inside a permanent basic farmland block (永久基本农田) whose
//! class is construction land (the classes `checks.toml` lists: 05–10, 1201, 13, less 0603 盐田 and 1006
//! 农村道路). **Why it matters:** permanent basic farmland may not be occupied by construction (破坏永久基本
//! 农田 is among the first findings of an outgoing audit); each finding carries the parcel, the block, the
//! class and the area of the piece at fault.

use super::inside;
use super::{piece_finding, Check, Context, Finding};
use crate::checks::RuleConfig;
use crate::model::LayerKind;

/// The parcel fields it reads: class code and class name.
const PARCEL_FIELDS: [&str; 2] = ["DLBM", "DLMC"];

/// NR601.
pub struct FarmlandConstruction;

impl Check for FarmlandConstruction {
    fn code(&self) -> &'static str {
        "NR601"
    }
    fn name(&self) -> &'static str {
        "farmland-construction"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Parcels, LayerKind::Farmland]
    }
    fn fields(&self, kind: LayerKind) -> Option<&'static [&'static str]> {
        match kind {
            LayerKind::Parcels => Some(&PARCEL_FIELDS),
            LayerKind::Farmland => Some(&[]),
            _ => None,
        }
    }
    /// Only construction parcels can be at fault.
    fn classes(&self, kind: LayerKind, config: &RuleConfig) -> Option<(&'static str, Vec<String>)> {
        let classes = config.tolerance(self.code()).ok()?.classes.clone()?;
        (kind == LayerKind::Parcels).then_some((PARCEL_FIELDS[0], classes))
    }
    fn near(&self) -> &'static [(LayerKind, LayerKind)] {
        &[(LayerKind::Parcels, LayerKind::Farmland)]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let (parcels, blocks) = (ctx.layer(LayerKind::Parcels), ctx.layer(LayerKind::Farmland));
        let pdef = ctx.catalog.layer(LayerKind::Parcels);
        let [Some(ci), Some(ni)] = PARCEL_FIELDS.map(|f| pdef.field_index(f)) else { return Ok(vec![]) };
        let pick = |i: usize, _| {
            let class = parcels.records[i].record.value(ci).to_string();
            tol.has_class(&class).then_some(class)
        };
        Ok(inside::pieces(ctx, parcels, blocks, tol.ignore_area_m2.unwrap_or(0.0), pick)
            .into_iter()
            .filter_map(|inside| {
                let (p, class) = inside.classified(tol)?;
                let (parcel, block) = (&parcels.records[p.a].record, &blocks.records[p.b].record);
                let message = format!(
                    "parcel {} ({class} {}) has {:.2} m² of construction land inside permanent farmland block {}",
                    parcel.key,
                    parcel.value(ni),
                    p.area,
                    block.key
                );
                Some(piece_finding(self, (LayerKind::Parcels, parcels), (LayerKind::Farmland, blocks), p, message))
            })
            .collect())
    }
}
