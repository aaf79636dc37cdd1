//! NR602 farmland-not-cultivated.
//!
//! **What it catches:** a permanent basic farmland block (永久基本农田) drawn on ground the survey does not
//! show as cultivated land: the pieces of the block whose parcels are not of the classes `checks.toml`
//! lists (01 耕地), when their share of the block is above `max_share`. **Why it matters:** a block must be
//! cultivated land (划定不实 is a finding of the farmland-protection inspections, and the block's quality and
//! quantity targets are counted on it); the finding carries the block, the share and the pieces.

use std::collections::BTreeMap;

use super::inside::{self, Inside};
use super::{Check, Context, Finding};
use crate::checks::Class;
use crate::model::LayerKind;
use crate::quantity::SquareMetres;

/// The parcel field it reads: the class code.
const PARCEL_FIELDS: [&str; 1] = ["DLBM"];

/// NR602.
pub struct FarmlandNotCultivated;

impl Check for FarmlandNotCultivated {
    fn code(&self) -> &'static str {
        "NR602"
    }
    fn name(&self) -> &'static str {
        "farmland-not-cultivated"
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
    fn near(&self) -> &'static [(LayerKind, LayerKind)] {
        &[(LayerKind::Parcels, LayerKind::Farmland)]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let max_share = tol.max_share.unwrap_or(0.0);
        let (parcels, blocks) = (ctx.layer(LayerKind::Parcels), ctx.layer(LayerKind::Farmland));
        let [Some(ci)] = PARCEL_FIELDS.map(|f| ctx.catalog.layer(LayerKind::Parcels).field_index(f)) else {
            return Ok(vec![]);
        };
        let pick = |i: usize, _| {
            let class = parcels.records[i].record.value(ci).to_string();
            (!tol.has_class(&class)).then_some(class)
        };
        // the block's pieces on other ground, by block (parcels tile the ground: the pieces do not overlap)
        let mut by_block: BTreeMap<usize, Vec<Inside<String>>> = BTreeMap::new();
        for p in inside::pieces(ctx, parcels, blocks, tol.ignore_area_m2.unwrap_or(0.0), pick) {
            by_block.entry(p.zone).or_default().push(p);
        }
        let mut out = Vec::new();
        for (j, pieces) in by_block {
            let b = &blocks.records[j];
            let area: f64 = pieces.iter().map(|p| p.area).sum();
            let share = area / b.areas.ellipsoidal.max(f64::MIN_POSITIVE);
            if share <= max_share || area <= tol.ignore_area_m2.unwrap_or(0.0) {
                continue;
            }
            let mut classes: BTreeMap<&str, f64> = BTreeMap::new();
            for p in &pieces {
                *classes.entry(p.what.as_str()).or_default() += p.area;
            }
            let listed: Vec<String> = classes.iter().map(|(c, a)| format!("{c} {a:.2} m²")).collect();
            out.push(Finding {
                rule: self.code().into(),
                name: self.name().into(),
                severity: tol.severity,
                class: Class::Real,
                layers: vec![LayerKind::Farmland],
                ids: vec![b.record.key.clone()],
                fids: vec![b.fid],
                area_m2: SquareMetres(area),
                area_planar_m2: SquareMetres(pieces.iter().map(|p| p.planar).sum()),
                message: format!(
                    "permanent farmland block {} has {area:.2} m² ({:.1} % of it, above {:.1} %) on ground that is not cultivated land: {}",
                    b.record.key,
                    share * 100.0,
                    max_share * 100.0,
                    listed.join(", ")
                ),
                excepted_by: None,
                geometry: Some(geo::MultiPolygon(pieces.into_iter().flat_map(|p| p.piece.0).collect())),
            });
        }
        Ok(out)
    }
}
