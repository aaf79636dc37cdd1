//! NR603 farmland-non-grain.
//!
//! **What it catches:** cultivated land (the classes `checks.toml` lists: 01) inside a permanent basic
//! farmland block whose 种植属性 (ZZSXDM) is one of the listed codes — 林粮间作 (trees planted on it), 非粮
//! 作物, 未耕种 (left unfarmed). **Why it matters:** permanent farmland is kept for grain (防止耕地"非粮化");
//! the survey's planting attribute says where it is not, and each finding carries the parcel, the block,
//! the attribute and the area inside the block.

use super::inside;
use super::{piece_finding, Check, Context, Finding};
use crate::checks::RuleConfig;
use crate::model::LayerKind;

/// The parcel fields it reads: class code and planting attribute.
const PARCEL_FIELDS: [&str; 2] = ["DLBM", "ZZSXDM"];

/// NR603.
pub struct FarmlandNonGrain;

impl Check for FarmlandNonGrain {
    fn code(&self) -> &'static str {
        "NR603"
    }
    fn name(&self) -> &'static str {
        "farmland-non-grain"
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
    /// Only cultivated parcels can be at fault.
    fn classes(&self, kind: LayerKind, config: &RuleConfig) -> Option<(&'static str, Vec<String>)> {
        let classes = config.tolerance(self.code()).ok()?.classes.clone()?;
        (kind == LayerKind::Parcels).then_some((PARCEL_FIELDS[0], classes))
    }
    fn near(&self) -> &'static [(LayerKind, LayerKind)] {
        &[(LayerKind::Parcels, LayerKind::Farmland)]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let values = tol.values.clone().unwrap_or_default();
        let (parcels, blocks) = (ctx.layer(LayerKind::Parcels), ctx.layer(LayerKind::Farmland));
        let pdef = ctx.catalog.layer(LayerKind::Parcels);
        let [Some(ci), Some(zi)] = PARCEL_FIELDS.map(|f| pdef.field_index(f)) else { return Ok(vec![]) };
        let pick = |i: usize, _| {
            let r = &parcels.records[i].record;
            let (class, planting) = (r.value(ci).to_string(), r.value(zi).to_string());
            (tol.has_class(&class) && values.contains(&planting)).then_some((class, planting))
        };
        Ok(inside::pieces(ctx, parcels, blocks, tol.ignore_area_m2.unwrap_or(0.0), pick)
            .into_iter()
            .filter_map(|inside| {
                let (p, (class, planting)) = inside.classified(tol)?;
                let (parcel, block) = (&parcels.records[p.a].record, &blocks.records[p.b].record);
                let message = format!(
                    "parcel {} ({class}, 种植属性 {planting}) has {:.2} m² inside permanent farmland block {} not planted with grain",
                    parcel.key,
                    p.area,
                    block.key
                );
                Some(piece_finding(self, (LayerKind::Parcels, parcels), (LayerKind::Farmland, blocks), p, message))
            })
            .collect())
    }
}
