//! NR302 deduction-arithmetic.
//!
//! **What it catches:** a parcel whose class area does not equal its area minus its deduction:
//! TBDLMJ ≠ TBMJ − KCMJ (beyond the absolute tolerance). **Why it matters:** balance sheets count TBDLMJ
//! under the parcel's class and KCMJ under 1203 田坎; if they do not add up to TBMJ, land appears or vanishes.

use super::{discrepancy, Check, Context, Finding};
use crate::model::LayerKind;

/// NR302.
pub struct Deduction;

impl Check for Deduction {
    fn code(&self) -> &'static str {
        "NR302"
    }
    fn name(&self) -> &'static str {
        "deduction-arithmetic"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Parcels]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let abs = tol.absolute_tolerance_m2.unwrap_or(0.01);
        let def = ctx.catalog.layer(LayerKind::Parcels);
        let (Some(ti), Some(ki), Some(di)) =
            (def.field_index("TBMJ"), def.field_index("KCMJ"), def.field_index("TBDLMJ"))
        else {
            return Ok(vec![]);
        };
        let mut out = Vec::new();
        for r in &ctx.layer(LayerKind::Parcels).records {
            let v = |i| r.record.value(i);
            let (Some(tbmj), Some(tbdlmj)) = (v(ti).as_f64(), v(di).as_f64()) else { continue };
            let kcmj = v(ki).as_f64().unwrap_or(0.0);
            let diff = (tbdlmj - (tbmj - kcmj)).abs();
            if diff > abs {
                let f = discrepancy(
                    self,
                    tol.severity,
                    LayerKind::Parcels,
                    r,
                    diff,
                    format!(
                        "parcel {}: TBDLMJ {tbdlmj:.2} ≠ TBMJ {tbmj:.2} − KCMJ {kcmj:.2} (off by {diff:.2} m²)",
                        r.record.key
                    ),
                );
                out.push(f);
            }
        }
        Ok(out)
    }
}
