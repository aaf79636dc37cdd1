//! Registration operations on units — what a registration office does unit by unit: 首次登记 (first),
//! 变更登记 (change), 更正登记 (correction), 注销登记 (cancellation).
//!
//! Each request is validated like an import (field types, the configured unit-code rule, required fields),
//! its geometry read like an import (CRS, validity, ellipsoidal area) and checked against the units
//! registered on that date (a unit must not overlap another registered unit), then recorded by
//! [`Registry::register`] as one transaction — or refused with the reason and nothing written.

use geo::{Area, BoundingRect, Intersects};

use crate::checks::RuleConfig;
use crate::error::{Error, Result};
use crate::import;
use crate::io::source::SourceRequest;
use crate::model::{AsOf, EventType, LayerKind, Value};
use crate::store::{Read, Registration, Registry};

/// What to register.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// Which operation.
    pub op: EventType,
    /// Unit code.
    pub unit: String,
    /// Field values to set (field name → text), validated against the units layer.
    pub set: Vec<(String, String)>,
    /// Where the (new) geometry comes from, with its CRS if the file declares none.
    pub geometry: Option<(SourceRequest, Option<String>)>,
    /// Date of the registration.
    pub date: AsOf,
    /// Registrar.
    pub registrar: String,
    /// Reason.
    pub reason: String,
    /// Document number (登记文号).
    pub document_no: Option<String>,
}

/// Validate and record a registration; returns the event id.
pub fn run(reg: &Registry, req: &RegisterRequest) -> Result<i64> {
    let prepared = prepare(reg, req)?;
    reg.register(&prepared, &no_overlap)
}

/// Validate a registration request against the registry as it is now: the unit's state, the fields and the
/// layer's rules, the geometry read like an import's. The registration to record (its overlap with other
/// units and the unit's state are checked again when it is recorded).
pub fn prepare(reg: &Registry, req: &RegisterRequest) -> Result<Registration> {
    let def = reg.catalog().layer(LayerKind::Units).clone();
    let classes = reg.catalog().classes.clone();
    let refuse =
        |why: String| Error::Invalid(format!("{} of unit {}: {why}; nothing was written", req.op.label(), req.unit));
    // the unit's current values (change / correction) or a blank record (first registration)
    let current = reg.registration_state(req.op, &req.unit, req.date)?;
    let old = match &current {
        Some(c) => Some(reg.read(&Read::layer(LayerKind::Units).every_version().fids(&[c.fid]))?.remove(0)),
        None => None,
    };
    let mut values: Vec<Value> =
        old.as_ref().map(|o| o.record.values.clone()).unwrap_or_else(|| vec![Value::Null; def.fields.len()]);
    let mut set: Vec<(String, Value)> = req.set.iter().map(|(k, v)| (k.clone(), Value::Text(v.clone()))).collect();
    set.push((def.key.clone(), Value::Text(req.unit.clone())));
    if let Some(d) = &req.document_no {
        if def.field_index("DJWH").is_some() {
            set.push(("DJWH".into(), Value::Text(d.clone())));
        }
    }
    // the geometry: a new one from a file, or the current one
    let (geometry, areas) = match (&req.geometry, req.op) {
        (_, EventType::Cancel) => (None, Default::default()),
        (Some((src, crs)), _) => {
            let (g, a) = import::read_geometry(reg, src, crs.as_deref())?;
            // a new outline gets its computed area unless one is given
            if !req.set.iter().any(|(k, _)| k == "DYMJ") && def.field_index("DYMJ").is_some() {
                set.push(("DYMJ".into(), Value::Real((a.ellipsoidal * 100.0).round() / 100.0)));
            }
            (Some(g), a)
        }
        (None, EventType::First) => {
            return Err(refuse("a first registration needs the unit's geometry (--geometry FILE)".into()))
        }
        (None, _) => {
            let old = old.clone().expect("registration_state returns the open record for changes and corrections");
            (Some(old.record.geometry), old.areas)
        }
    };
    for (field, v) in set {
        let i = def.field_index(&field).ok_or_else(|| refuse(format!("the units layer has no field {field}")))?;
        values[i] =
            import::check_field(&def, &field, v, &classes).map_err(|e| refuse(format!("field {field}: {e}")))?;
    }
    if req.op != EventType::Cancel {
        for (i, f) in def.fields.iter().enumerate() {
            if f.required && values[i].is_blank() {
                return Err(refuse(format!("field {} ({}) is required", f.name, f.title)));
            }
        }
    }
    Ok(Registration {
        op: req.op,
        unit: req.unit.clone(),
        values,
        geometry,
        areas,
        date: req.date,
        registrar: req.registrar.clone(),
        reason: req.reason.clone(),
        document_no: req.document_no.clone(),
        based_on: current.map(|c| c.fid),
    })
}

/// Refuse a registration whose unit would overlap another unit registered on its date.
pub fn no_overlap(reg: &Registry, r: &Registration) -> Result<()> {
    let Some(g) = &r.geometry else { return Ok(()) };
    let tol = RuleConfig::load(None)?.tolerance("NR102")?.sliver_area_m2.unwrap_or(1.0);
    let env = g.bounding_rect();
    for other in reg.read(&Read::layer(LayerKind::Units).on(Some(r.date)))? {
        if other.record.key == r.unit
            || !env.is_some_and(|e| other.record.geometry.bounding_rect().is_some_and(|o| o.intersects(&e)))
        {
            continue;
        }
        let overlap = crate::geometry::intersection(g, &other.record.geometry).unsigned_area();
        if overlap >= tol {
            return Err(Error::Invalid(format!(
                "{} of unit {}: it would overlap registered unit {} by {overlap:.2} m²; nothing was written",
                r.op.label(),
                r.unit,
                other.record.key
            )));
        }
    }
    Ok(())
}
