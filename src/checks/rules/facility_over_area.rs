//! NR605 facility-over-area.
//!
//! **What it catches:** a 设施农用地 filing (the `facility` layer) whose ground the survey shows covered by
//! more facility land (the classes `checks.toml` lists: 1202) than was filed (备案面积 BAMJ): the parcels of
//! those classes sharing ground with the filing, whole, against the filed area, beyond `relative_tolerance`
//! and `absolute_tolerance_m2`. **Why it matters:** facility land beyond its filing is construction on
//! farmland without approval (设施农用地超备案面积 is a 卫片执法 category). The finding carries the filing,
//! the excess and the parcels.

use std::collections::{BTreeMap, BTreeSet};

use super::inside;
use super::{Check, Context, Finding};
use crate::checks::{Class, RuleConfig};
use crate::model::LayerKind;
use crate::quantity::SquareMetres;

/// The facility-filing layer (defined in `layers/kinds/facility.toml`).
const FACILITY: LayerKind = LayerKind::named("facility");
/// The parcel field it reads: the class code.
const PARCEL_FIELDS: [&str; 1] = ["DLBM"];
/// The filing field it reads: the filed area.
const FACILITY_FIELDS: [&str; 1] = ["BAMJ"];

/// NR605.
pub struct FacilityOverArea;

impl Check for FacilityOverArea {
    fn code(&self) -> &'static str {
        "NR605"
    }
    fn name(&self) -> &'static str {
        "facility-over-area"
    }
    fn layers(&self) -> &'static [LayerKind] {
        &[LayerKind::Parcels, FACILITY]
    }
    fn fields(&self, kind: LayerKind) -> Option<&'static [&'static str]> {
        Some(if kind == FACILITY { &FACILITY_FIELDS } else { &PARCEL_FIELDS })
    }
    fn classes(&self, kind: LayerKind, config: &RuleConfig) -> Option<(&'static str, Vec<String>)> {
        let classes = config.tolerance(self.code()).ok()?.classes.clone()?;
        (kind == LayerKind::Parcels).then_some((PARCEL_FIELDS[0], classes))
    }
    fn near(&self) -> &'static [(LayerKind, LayerKind)] {
        &[(LayerKind::Parcels, FACILITY)]
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let Some(fdef) = ctx.catalog.find_layer(FACILITY) else { return Ok(vec![]) };
        let [Some(ai)] = FACILITY_FIELDS.map(|f| fdef.field_index(f)) else { return Ok(vec![]) };
        let [Some(ci)] = PARCEL_FIELDS.map(|f| ctx.catalog.layer(LayerKind::Parcels).field_index(f)) else {
            return Ok(vec![]);
        };
        let (parcels, filings) = (ctx.layer(LayerKind::Parcels), ctx.layer(FACILITY));
        let pick = |i: usize, _| tol.has_class(&parcels.records[i].record.value(ci).to_string()).then_some(());
        let mut by_filing: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for p in inside::pieces(ctx, parcels, filings, 1.0, pick) {
            by_filing.entry(p.zone).or_default().insert(p.record);
        }
        let mut out = Vec::new();
        for (j, found) in by_filing {
            let f = &filings.records[j];
            let Some(filed) = f.record.value(ai).as_f64() else { continue };
            let surveyed: f64 = found.iter().map(|i| parcels.records[*i].areas.ellipsoidal).sum();
            let over = surveyed - filed;
            let allowed = (tol.relative_tolerance.unwrap_or(0.0) * filed).max(tol.absolute_tolerance_m2.unwrap_or(0.0));
            if over <= allowed {
                continue;
            }
            let keys: Vec<&str> = found.iter().map(|i| parcels.records[*i].record.key.as_str()).collect();
            out.push(Finding {
                rule: self.code().into(),
                name: self.name().into(),
                severity: tol.severity,
                class: Class::Real,
                layers: vec![FACILITY],
                ids: vec![f.record.key.clone()],
                fids: vec![f.fid],
                area_m2: SquareMetres(over),
                area_planar_m2: SquareMetres(found.iter().map(|i| parcels.records[*i].areas.planar).sum::<f64>() - filed),
                message: format!(
                    "facility filing {}: {surveyed:.2} m² of facility land surveyed on its ground (parcels {}) against {filed:.2} m² filed: {over:.2} m² over",
                    f.record.key,
                    keys.join(", ")
                ),
                excepted_by: None,
                geometry: Some(geo::MultiPolygon(
                    found.iter().flat_map(|i| parcels.records[*i].record.geometry.0.clone()).collect(),
                )),
            });
        }
        Ok(out)
    }
}
