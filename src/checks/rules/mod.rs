//! The rule catalogue. One module per rule; each rule's doc comment says what it catches and why.
//!
//! | code | name | layers |
//! |---|---|---|
//! | NR101 | parcel-overlap | parcels |
//! | NR102 | unit-overlap | units |
//! | NR103 | coverage-gap | parcels vs admin |
//! | NR201 | invalid-geometry | all |
//! | NR202 | duplicate-id | all |
//! | NR203 | multipart | parcels |
//! | NR301 | declared-area | all with a declared area |
//! | NR302 | deduction-arithmetic | parcels |
//! | NR303 | unit-area-sum | units |
//! | NR304 | unit-resource-sum | units × parcels |
//! | NR401 | redline-farmland-overlap | redlines × farmland |
//! | NR402 | redline-urban-overlap | redlines × urban |
//! | NR403 | farmland-urban-overlap | farmland × urban |
//! | NR501 | redline-prohibited-use | parcels × redlines |
//! | NR502 | unit-redline-link | units × redlines |
//! | NR601 | farmland-construction | parcels × farmland |
//! | NR602 | farmland-not-cultivated | parcels × farmland |
//! | NR603 | farmland-non-grain | parcels × farmland |
//! | NR604 | temporary-overdue | temporary |
//! | NR605 | facility-over-area | parcels × facility |

mod control_overlap;
mod coverage_gap;
mod declared_area;
mod deduction;
mod duplicate_id;
mod facility_over_area;
mod farmland_construction;
mod farmland_non_grain;
mod farmland_not_cultivated;
mod inside;
mod invalid_geometry;
mod multipart;
pub(crate) mod parcel_overlap;
mod redline_use;
mod temporary_overdue;
mod unit_area_sum;
mod unit_overlap;
mod unit_redline_link;
mod unit_resource_sum;

use super::geom::LayerSet;
use super::geom::Piece;
use super::{Check, Class, Context, Finding, Severity};
use crate::model::LayerKind;
use crate::quantity::SquareMetres;

/// Every rule, in code order.
pub fn catalogue() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(parcel_overlap::ParcelOverlap),
        Box::new(unit_overlap::UnitOverlap),
        Box::new(coverage_gap::CoverageGap),
        Box::new(invalid_geometry::InvalidGeometry),
        Box::new(duplicate_id::DuplicateId),
        Box::new(multipart::Multipart),
        Box::new(declared_area::DeclaredArea),
        Box::new(deduction::Deduction),
        Box::new(unit_area_sum::UnitAreaSum),
        Box::new(unit_resource_sum::UnitResourceSum),
        Box::new(control_overlap::REDLINE_FARMLAND),
        Box::new(control_overlap::REDLINE_URBAN),
        Box::new(control_overlap::FARMLAND_URBAN),
        Box::new(redline_use::RedlineUse),
        Box::new(unit_redline_link::UnitRedlineLink),
        Box::new(farmland_construction::FarmlandConstruction),
        Box::new(farmland_not_cultivated::FarmlandNotCultivated),
        Box::new(farmland_non_grain::FarmlandNonGrain),
        Box::new(temporary_overdue::TemporaryOverdue),
        Box::new(facility_over_area::FacilityOverArea),
    ]
}

/// Overlaps among the records of one layer, as findings.
fn self_overlaps(check: &dyn Check, ctx: &Context, kind: LayerKind, what: &str) -> crate::Result<Vec<Finding>> {
    let tol = ctx.config.tolerance(check.code())?;
    let set = ctx.layer(kind);
    Ok(super::geom::overlaps(&|| ctx.area_calculator(), set, set, true, tol)
        .into_iter()
        .map(|p| overlap_finding(check, kind, set, p, what))
        .collect())
}

/// A finding for an overlap piece between two records of one layer.
fn overlap_finding(check: &dyn Check, kind: LayerKind, set: &LayerSet, p: Piece, what: &str) -> Finding {
    let message = format!(
        "{what} {} and {} overlap by {:.2} m²",
        set.records[p.a].record.key, set.records[p.b].record.key, p.area
    );
    piece_finding(check, (kind, set), (kind, set), p, message)
}

/// A finding for an overlap piece between record `p.a` of `a` and record `p.b` of `b`.
fn piece_finding(
    check: &dyn Check,
    a: (LayerKind, &LayerSet),
    b: (LayerKind, &LayerSet),
    p: Piece,
    message: String,
) -> Finding {
    let (ra, rb) = (&a.1.records[p.a], &b.1.records[p.b]);
    Finding {
        rule: check.code().into(),
        name: check.name().into(),
        severity: p.class.1,
        class: p.class.0,
        layers: vec![a.0, b.0],
        ids: vec![ra.record.key.clone(), rb.record.key.clone()],
        fids: vec![ra.fid, rb.fid],
        area_m2: SquareMetres(p.area),
        area_planar_m2: SquareMetres(p.planar),
        message,
        excepted_by: None,
        geometry: Some(p.geometry),
    }
}

/// An attribute finding, located by the record's geometry.
fn attribute(
    check: &dyn Check,
    severity: Severity,
    kind: LayerKind,
    rec: &crate::store::StoredRecord,
    message: String,
) -> Finding {
    Finding {
        rule: check.code().into(),
        name: check.name().into(),
        severity,
        class: Class::Attribute,
        layers: vec![kind],
        ids: vec![rec.record.key.clone()],
        fids: vec![rec.fid],
        area_m2: SquareMetres::ZERO,
        area_planar_m2: SquareMetres::ZERO,
        message,
        excepted_by: None,
        // the whole record, so a GIS user sees where the attribute problem is
        geometry: Some(rec.record.geometry.clone()),
    }
}

/// An area-arithmetic finding: the record, what does not add up, and the discrepancy as its area.
fn discrepancy(
    check: &dyn Check,
    severity: Severity,
    kind: LayerKind,
    rec: &crate::store::StoredRecord,
    diff: f64,
    message: String,
) -> Finding {
    Finding { area_m2: SquareMetres(diff), ..attribute(check, severity, kind, rec, message) }
}

/// Overlap pieces between two control-line layers, as findings (NR401–NR403).
fn between(check: &dyn Check, ctx: &Context, a: LayerKind, b: LayerKind) -> crate::Result<Vec<Finding>> {
    let tol = ctx.config.tolerance(check.code())?;
    let (sa, sb) = (ctx.layer(a), ctx.layer(b));
    let (ta, tb) = (ctx.catalog.layer(a).title.clone(), ctx.catalog.layer(b).title.clone());
    Ok(crate::checks::geom::overlaps(&|| ctx.area_calculator(), sa, sb, false, tol)
        .into_iter()
        .map(|p| {
            let message = format!(
                "{ta} {} overlaps {tb} {} by {:.2} m²",
                sa.records[p.a].record.key, sb.records[p.b].record.key, p.area
            );
            piece_finding(check, (a, sa), (b, sb), p, message)
        })
        .collect())
}
