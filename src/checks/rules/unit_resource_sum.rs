//! NR304 unit-resource-sum.
//!
//! **What it catches:** a registration unit whose declared area (DYMJ, or its ellipsoidal area when DYMJ is
//! empty) is not the sum of the areas of the resource types inside it plus 非自然资源 — computed from the
//! parcels the unit covers, each parcel piece counted under the resource type of its land class
//! (`layers/classes/resource-types.csv`: 水流 / 湿地 / 森林 / 草原 / 荒地 / 其他 / 非自然资源).
//! **Why it matters:** the register book's 自然状况 lists each resource type's area and they must add up to the
//! unit; a shortfall means part of the unit has no parcel (or the declared area is wrong). The finding
//! carries the breakdown; `area_m2` is the discrepancy.

use geo::BoundingRect;

use super::{discrepancy, Check, Context, Finding};
use crate::model::LayerKind;

/// NR304.
pub struct UnitResourceSum;

impl Check for UnitResourceSum {
    fn code(&self) -> &'static str {
        "NR304"
    }
    fn name(&self) -> &'static str {
        "unit-resource-sum"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Units, LayerKind::Parcels]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let rel = tol.relative_tolerance.unwrap_or(0.001);
        let abs = tol.absolute_tolerance_m2.unwrap_or(1.0);
        let udef = ctx.catalog.layer(LayerKind::Units);
        let ti = udef.field_index("DYMJ");
        let parcels = ctx.layer(LayerKind::Parcels);
        if parcels.records.is_empty() {
            ctx.note("NR304 unit-resource-sum not run: no parcels on the check date".into());
            return Ok(vec![]);
        }
        let calc = ctx.area_calculator();
        let mut out = Vec::new();
        for u in &ctx.layer(LayerKind::Units).records {
            let Some(env) = u.record.geometry.bounding_rect() else { continue };
            let candidates = parcels.candidates(env).into_iter().map(|i| &parcels.records[i]);
            let pieces = crate::units::composition(&u.record.geometry, candidates, &ctx.catalog, &calc)?;
            let by_type = crate::units::totals(&pieces, |p| &p.resource_type);
            let total: f64 = by_type.values().sum();
            let declared = ti.and_then(|i| u.record.value(i).as_f64()).unwrap_or(u.areas.ellipsoidal);
            let diff = (declared - total).abs();
            if diff > abs && diff > rel * declared {
                let parts: Vec<String> = by_type.iter().map(|(t, a)| format!("{t} {a:.2}")).collect();
                let f = discrepancy(
                    self,
                    tol.severity,
                    LayerKind::Units,
                    u,
                    diff,
                    format!(
                        "unit {}: area {declared:.2} m² ≠ Σ resource types from the parcels {total:.2} m² ({}; off by {diff:.2} m²)",
                        u.record.key,
                        if parts.is_empty() { "no parcels".to_string() } else { parts.join(", ") }
                    ),
                );
                out.push(f);
            }
        }
        Ok(out)
    }
}
