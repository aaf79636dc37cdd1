//! NR303 unit-area-sum.
//!
//! **What it catches:** a registration unit whose declared area is not the sum of its ownership areas:
//! DYMJ ≠ GYMJ (国有) + JTMJ (集体) + ZYMJ (争议). **Why it matters:** the register book's 权属状况 must account
//! for every square metre of the unit exactly once.
//! The other identity of the unit area, DYMJ = Σ resource-type areas + 非自然资源, is NR304.

use super::{discrepancy, Check, Context, Finding};
use crate::model::LayerKind;

/// NR303.
pub struct UnitAreaSum;

impl Check for UnitAreaSum {
    fn code(&self) -> &'static str {
        "NR303"
    }
    fn name(&self) -> &'static str {
        "unit-area-sum"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Units]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let abs = tol.absolute_tolerance_m2.unwrap_or(0.01);
        let def = ctx.catalog.layer(LayerKind::Units);
        let idx = |n: &str| def.field_index(n);
        let (Some(t), Some(g), Some(j), Some(z)) = (idx("DYMJ"), idx("GYMJ"), idx("JTMJ"), idx("ZYMJ")) else {
            return Ok(vec![]);
        };
        let mut out = Vec::new();
        for r in &ctx.layer(LayerKind::Units).records {
            let v = |i| r.record.value(i);
            let Some(total) = v(t).as_f64() else { continue };
            if [g, j, z].iter().all(|&i| v(i).as_f64().is_none()) {
                continue;
            }
            let parts = [g, j, z].iter().map(|&i| v(i).as_f64().unwrap_or(0.0)).sum::<f64>();
            let diff = (total - parts).abs();
            if diff > abs {
                let f = discrepancy(
                    self,
                    tol.severity,
                    LayerKind::Units,
                    r,
                    diff,
                    format!(
                        "unit {}: DYMJ {total:.2} ≠ 国有 + 集体 + 争议 = {parts:.2} (off by {diff:.2} m²)",
                        r.record.key
                    ),
                );
                out.push(f);
            }
        }
        Ok(out)
    }
}
