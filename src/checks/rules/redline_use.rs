//! NR501 redline-prohibited-use.
//!
//! **What it catches:** the part of a land parcel inside an ecological red line (生态保护红线) whose land class
//! the red-line table (`layers/rules/redline-landuse.csv`) prohibits in that red line's 管控分区 — built-up
//! and mining land anywhere in a red line except the positive list (正面清单), and also cultivation and other
//! production in a 核心保护区. **Why it matters:** inside red lines development and production construction
//! is prohibited (功能不降低、面积不减少、性质不改变); each violation carries the parcel, the red line, the class
//! and the area of the violating piece, for enforcement and for the outgoing audit.

use super::inside;
use super::{piece_finding, Check, Context, Finding};
use crate::catalog::Verdict;
use crate::checks::RuleConfig;
use crate::model::LayerKind;

/// The parcel fields it reads: class code and class name.
const PARCEL_FIELDS: [&str; 2] = ["DLBM", "DLMC"];
/// The red-line field it reads: the control type (管控分区).
const REDLINE_FIELDS: [&str; 1] = ["GKFQ"];

/// NR501.
pub struct RedlineUse;

impl Check for RedlineUse {
    fn code(&self) -> &'static str {
        "NR501"
    }
    fn name(&self) -> &'static str {
        "redline-prohibited-use"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Parcels, LayerKind::Redlines]
    }
    /// The parcels' class code and name, the red lines' control type.
    fn fields(&self, kind: LayerKind) -> Option<&'static [&'static str]> {
        match kind {
            LayerKind::Parcels => Some(&PARCEL_FIELDS),
            LayerKind::Redlines => Some(&REDLINE_FIELDS),
            _ => None,
        }
    }
    /// Only parcels of a class the red-line table prohibits in some zone can be at fault.
    fn classes(&self, kind: LayerKind, config: &RuleConfig) -> Option<(&'static str, Vec<String>)> {
        (kind == LayerKind::Parcels).then(|| (PARCEL_FIELDS[0], config.redline.prohibited_prefixes()))
    }
    fn near(&self) -> &'static [(LayerKind, LayerKind)] {
        // a finding is a parcel's piece inside a red line
        &[(LayerKind::Parcels, LayerKind::Redlines)]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let parcels = ctx.layer(LayerKind::Parcels);
        let redlines = ctx.layer(LayerKind::Redlines);
        let pdef = ctx.catalog.layer(LayerKind::Parcels);
        let rdef = ctx.catalog.layer(LayerKind::Redlines);
        let [Some(ci), Some(ni)] = PARCEL_FIELDS.map(|f| pdef.field_index(f)) else { return Ok(vec![]) };
        let [Some(zi)] = REDLINE_FIELDS.map(|f| rdef.field_index(f)) else { return Ok(vec![]) };
        // a (parcel, red line) pair is a candidate where the parcel's class is prohibited in the red line's zone
        let zones: Vec<String> = redlines.records.iter().map(|r| r.record.value(zi).to_string()).collect();
        let pick = |i: usize, j: usize| {
            let class = parcels.records[i].record.value(ci).to_string();
            match ctx.config.redline.verdict(&zones[j], &class) {
                Verdict::Prohibited(basis) => Some((class, basis)),
                Verdict::Allowed => None,
            }
        };
        let ignore = tol.ignore_area_m2.unwrap_or(0.0);
        let found: Vec<Finding> = inside::pieces(ctx, parcels, redlines, ignore, pick)
            .into_iter()
            .filter_map(|inside| {
                let (p, (class, basis)) = inside.classified(tol)?;
                let (parcel, rl) = (&parcels.records[p.a].record, &redlines.records[p.b].record);
                let message = format!(
                    "parcel {} ({class} {}) has {:.2} m² inside red line {} ({}): prohibited — {basis}",
                    parcel.key,
                    parcel.value(ni),
                    p.area,
                    rl.key,
                    zones[p.b]
                );
                Some(piece_finding(self, (LayerKind::Parcels, parcels), (LayerKind::Redlines, redlines), p, message))
            })
            .collect();
        Ok(found)
    }
}
