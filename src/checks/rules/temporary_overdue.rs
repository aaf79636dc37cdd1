//! NR604 temporary-overdue.
//!
//! **What it catches:** temporary land (临时用地, the `temporary` layer) whose approved period (使用期限止
//! SYQXZ) ended before the check date and whose restoration (复垦验收日期 FKRQ) has not been accepted.
//! **Why it matters:** temporary land must be restored when its period ends (usually within two years);
//! land kept past it is land used without approval. The finding carries the approval, its end date and
//! its ground.

use super::{Check, Context, Finding};
use crate::checks::Class;
use crate::model::LayerKind;
use crate::quantity::SquareMetres;

/// The temporary-land layer (defined in `layers/kinds/temporary.toml`).
pub(super) const TEMPORARY: LayerKind = LayerKind::named("temporary");
/// The fields it reads: the end of the period, the restoration date.
const FIELDS: [&str; 2] = ["SYQXZ", "FKRQ"];

/// NR604.
pub struct TemporaryOverdue;

impl Check for TemporaryOverdue {
    fn code(&self) -> &'static str {
        "NR604"
    }
    fn name(&self) -> &'static str {
        "temporary-overdue"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[TEMPORARY]
    }
    fn fields(&self, _kind: LayerKind) -> Option<&'static [&'static str]> {
        Some(&FIELDS)
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let Some(def) = ctx.catalog.find_layer(TEMPORARY) else { return Ok(vec![]) };
        let [Some(ei), Some(ri)] = FIELDS.map(|f| def.field_index(f)) else { return Ok(vec![]) };
        let today = ctx.at.unwrap_or_else(|| chrono::Local::now().date_naive()).to_string();
        let mut out = Vec::new();
        for r in &ctx.layer(TEMPORARY).records {
            let end = r.record.value(ei).to_string();
            if end.is_empty() || end >= today || !r.record.value(ri).is_blank() {
                continue;
            }
            out.push(Finding {
                rule: self.code().into(),
                name: self.name().into(),
                severity: tol.severity,
                class: Class::Real,
                layers: vec![TEMPORARY],
                ids: vec![r.record.key.clone()],
                fids: vec![r.fid],
                area_m2: SquareMetres(r.areas.ellipsoidal),
                area_planar_m2: SquareMetres(r.areas.planar),
                message: format!(
                    "temporary land {} ({:.2} m²): its period ended {end}, before {today}, and no restoration (复垦验收) is recorded",
                    r.record.key, r.areas.ellipsoidal
                ),
                excepted_by: None,
                geometry: Some(r.record.geometry.clone()),
            });
        }
        Ok(out)
    }
}
