//! NR301 declared-area.
//!
//! **What it catches:** a declared area (TBMJ, DCMJ, DYMJ, HXMJ, JBNTMJ, BJMJ, XBMJ — each layer's
//! `area_field`) that differs from the ellipsoidal area computed from the geometry by more than the rule's
//! relative tolerance (default 1 %, as FAO SOLA and the domain brief use) and absolute tolerance.
//! **Why it matters:** official areas are ellipsoidal areas of the polygon; a large difference means the
//! attribute or the geometry is wrong (or the area was computed on the plane, or on another ellipsoid).
//! The finding's `area_m2` is the discrepancy.

use super::{discrepancy, Check, Context, Finding};
use crate::model::LayerKind;

/// NR301.
pub struct DeclaredArea;

impl Check for DeclaredArea {
    fn code(&self) -> &'static str {
        "NR301"
    }
    fn name(&self) -> &'static str {
        "declared-area"
    }
    fn layers(&self) -> &'static [LayerKind] {
        LayerKind::all()
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let rel = tol.relative_tolerance.unwrap_or(0.01);
        let abs = tol.absolute_tolerance_m2.unwrap_or(1.0);
        let mut out = Vec::new();
        for kind in ctx.catalog.kinds() {
            let def = ctx.catalog.layer(kind);
            let Some(fi) = def.area_field.as_deref().and_then(|f| def.field_index(f)) else { continue };
            let field = &def.fields[fi].name;
            for r in &ctx.layer(kind).records {
                let Some(declared) = r.record.value(fi).as_f64() else { continue };
                let computed = r.areas.ellipsoidal;
                let diff = (declared - computed).abs();
                if diff > abs && diff > rel * computed {
                    let f = discrepancy(
                        self,
                        tol.severity,
                        kind,
                        r,
                        diff,
                        format!(
                            "{kind} {}: {field} {declared:.2} m² differs from the ellipsoidal area {computed:.2} m² by {diff:.2} m² ({:.3} %)",
                            r.record.key,
                            100.0 * diff / computed
                        ),
                    );
                    out.push(f);
                }
            }
        }
        Ok(out)
    }
}
