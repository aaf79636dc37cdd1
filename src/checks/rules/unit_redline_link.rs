//! NR502 unit-redline-link.
//!
//! **What it catches:** a registration unit whose declared 关联生态保护红线 (STHX, codes separated by `;`)
//! disagrees with the geometry: a red line the unit overlaps (by more than the rule's ignore area) that is
//! not declared, or a declared red line it does not overlap or that does not exist.
//! **Why it matters:** the register book's 关联信息 must list every public control on the unit with its
//! overlapping area; a missing link hides a red line from whoever reads the book.

use std::collections::BTreeSet;

use geo::BoundingRect;

use super::{attribute, Check, Context, Finding};
use crate::model::LayerKind;

/// NR502.
pub struct UnitRedlineLink;

impl Check for UnitRedlineLink {
    fn code(&self) -> &'static str {
        "NR502"
    }
    fn name(&self) -> &'static str {
        "unit-redline-link"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Units, LayerKind::Redlines]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let min_area = tol.ignore_area_m2.unwrap_or(1.0);
        let Some(si) = ctx.catalog.layer(LayerKind::Units).field_index("STHX") else { return Ok(vec![]) };
        let redlines = ctx.layer(LayerKind::Redlines);
        let mut out = Vec::new();
        for u in &ctx.layer(LayerKind::Units).records {
            let declared: BTreeSet<String> = u
                .record
                .value(si)
                .to_string()
                .split([';', ',', '；', '，'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let mut actual = BTreeSet::new();
            if let Some(env) = u.record.geometry.bounding_rect() {
                for j in redlines.candidates(env) {
                    let rl = &redlines.records[j];
                    let piece = crate::geometry::intersection(&u.record.geometry, &rl.record.geometry);
                    if !piece.0.is_empty() && ctx.area_of(&piece) > min_area {
                        actual.insert(rl.record.key.clone());
                    }
                }
            }
            let missing: Vec<&String> = actual.difference(&declared).collect();
            let extra: Vec<&String> = declared.difference(&actual).collect();
            if missing.is_empty() && extra.is_empty() {
                continue;
            }
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("overlaps red line(s) {} not declared in STHX", join(&missing)));
            }
            if !extra.is_empty() {
                parts.push(format!("declares red line(s) {} it does not overlap", join(&extra)));
            }
            out.push(attribute(
                self,
                tol.severity,
                LayerKind::Units,
                u,
                format!("unit {}: {}", u.record.key, parts.join("; ")),
            ));
        }
        Ok(out)
    }
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}
