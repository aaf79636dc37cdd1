//! Registration operations on units (自然资源统一确权登记): 首次登记, 变更登记, 更正登记, 注销登记 — each one
//! transaction that writes the unit's new record (or closes its record) and the event, or nothing at all.
//!
//! The rules a registration office applies are checked here, against the registry as it is: a first
//! registration of a code that was ever used is refused; so is a change, correction or cancellation of a unit
//! that is not registered now (never registered, or cancelled); and a date that is not after the unit's
//! current record. Overlaps with other units and the code rule are checked by the caller
//! ([`crate::register`]), which has the geometry tools.

use rusqlite::{params, params_from_iter, OptionalExtension, ToSql};

use super::write::sql_value;
use super::Registry;
use crate::area::Areas;
use crate::error::{Error, Result};
use crate::io::blob;
use crate::model::{AsOf, EventType, LayerKind, Value};

/// A registration to record.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Which operation.
    pub op: EventType,
    /// The unit code (登记单元号).
    pub unit: String,
    /// The unit's values after the operation, in layer field order (ignored for cancellations).
    pub values: Vec<Value>,
    /// Its geometry after the operation, registry CRS (ignored for cancellations).
    pub geometry: Option<geo::MultiPolygon<f64>>,
    /// Areas of that geometry.
    pub areas: Areas,
    /// Date of the registration.
    pub date: AsOf,
    /// Registrar.
    pub registrar: String,
    /// Reason.
    pub reason: String,
    /// Document number (登记文号).
    pub document_no: Option<String>,
    /// The unit's record the values were prepared from (None: a first registration); recorded only while
    /// it is still the unit's current record.
    pub based_on: Option<i64>,
}

/// The unit's record now, if it is registered now.
#[derive(Debug, Clone)]
pub struct CurrentUnit {
    /// fid of the open record.
    pub fid: i64,
    /// Its first valid day.
    pub valid_from: String,
}

impl Registry {
    /// The open record of a unit, and whether the code was ever used.
    pub fn unit_state(&self, code: &str) -> Result<(Option<CurrentUnit>, bool)> {
        let current = self
            .conn
            .query_row("SELECT fid, valid_from FROM units WHERE DYH = ?1 AND valid_to IS NULL", [code], |r| {
                Ok(CurrentUnit { fid: r.get(0)?, valid_from: r.get(1)? })
            })
            .optional()?;
        let ever: i64 = self.conn.query_row("SELECT count(*) FROM units WHERE DYH = ?1", [code], |r| r.get(0))?;
        Ok((current, ever > 0))
    }

    /// Whether `op` may be recorded for `unit` on `date`: the unit's open record when it may (None for a
    /// first registration), or the refusal with its reason.
    pub fn registration_state(&self, op: EventType, unit: &str, date: AsOf) -> Result<Option<CurrentUnit>> {
        let date = date.format("%Y-%m-%d").to_string();
        let (current, ever) = self.unit_state(unit)?;
        let refuse =
            |why: String| Err(Error::Invalid(format!("{} of unit {unit}: {why}; nothing was written", op.label())));
        match (op, &current) {
            (EventType::First, _) if ever => refuse(match &current {
                Some(c) => format!("the unit is already registered (since {})", c.valid_from),
                None => "the code was used before and the unit was cancelled; a code is never reused".into(),
            }),
            (EventType::First, _) => Ok(None),
            (_, None) if ever => {
                let when: Option<String> =
                    self.conn.query_row("SELECT max(valid_to) FROM units WHERE DYH = ?1", [unit], |r| r.get(0))?;
                refuse(format!("the unit was cancelled on {}", when.unwrap_or_default()))
            }
            (_, None) => refuse("no such unit is registered".into()),
            (_, Some(c)) if date.as_str() <= c.valid_from.as_str() => {
                refuse(format!("its current record is valid from {}; the date must be after that", c.valid_from))
            }
            (_, Some(c)) => Ok(Some(c.clone())),
        }
    }

    /// Record a registration. Returns the event id. The registry's rules and `check` (the caller's: the
    /// overlap with other units) are applied inside the write transaction, so that two registrations at the
    /// same moment cannot both pass them: the second waits for the first and is judged on what it wrote.
    pub fn register(&self, reg: &Registration, check: &dyn Fn(&Registry, &Registration) -> Result<()>) -> Result<i64> {
        let tx = self.writing()?;
        let id = self.register_in(reg, check, None)?;
        tx.commit().map_err(|e| super::locked_or(&self.path, e))?;
        Ok(id)
    }

    /// Record a registration inside a write transaction under way (its checks included); `reviewer` and
    /// the submission it approves go into the event.
    pub(super) fn register_in(
        &self,
        reg: &Registration,
        check: &dyn Fn(&Registry, &Registration) -> Result<()>,
        approval: Option<(&str, i64)>,
    ) -> Result<i64> {
        let date = reg.date.format("%Y-%m-%d").to_string();
        let current = self.registration_state(reg.op, &reg.unit, reg.date)?;
        let refuse = |why: String| {
            Err(Error::Invalid(format!("{} of unit {}: {why}; nothing was written", reg.op.label(), reg.unit)))
        };
        if reg.op != EventType::Cancel && reg.geometry.is_none() {
            return refuse("a geometry is needed".into());
        }
        let old_fid = current.as_ref().map(|c| c.fid);
        if reg.op != EventType::First && reg.based_on.is_some() && old_fid != reg.based_on {
            return refuse("the unit's record changed after this registration was prepared; prepare it again".into());
        }
        check(self, reg)?;
        let def = self.catalog.layer(LayerKind::Units).clone();
        let srs_id = self.srs_id;
        let now = chrono::Utc::now().to_rfc3339();
        let tx = &self.conn;
        if let Some(fid) = old_fid {
            tx.execute("UPDATE units SET valid_to = ?1 WHERE fid = ?2", params![date, fid])?;
        }
        let mut new_fid = None;
        if reg.op != EventType::Cancel {
            let geometry = reg.geometry.as_ref().expect("checked above");
            let cols: Vec<String> = def.fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
            let sql = format!(
                "INSERT INTO units (geom, {}, valid_from, valid_to, import_id, area_ell, area_gk, rec_hash) VALUES ({})",
                cols.join(", "),
                (1..=cols.len() + 7).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
            );
            let mut p: Vec<Box<dyn ToSql>> = vec![Box::new(blob::encode(geometry, srs_id))];
            p.extend(reg.values.iter().map(|v| Box::new(sql_value(v)) as Box<dyn ToSql>));
            p.push(Box::new(date.clone()));
            p.push(Box::new(Option::<String>::None));
            p.push(Box::new(0_i64)); // not from an import
            p.push(Box::new(reg.areas.ellipsoidal));
            p.push(Box::new(reg.areas.planar));
            p.push(Box::new(crate::hashing::content_hash(&reg.values, geometry)));
            tx.execute(&sql, params_from_iter(p.iter()))?;
            new_fid = Some(tx.last_insert_rowid());
        }
        let (reviewer, submission) = approval.map_or((None, None), |(r, s)| (Some(r), Some(s)));
        tx.execute(
            "INSERT INTO nr_events (unit_code, event_type, event_date, registrar, reason, document_no, import_id, old_fid,
               new_fid, recorded_at, reviewer, submission_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9, ?10, ?11)",
            params![
                reg.unit,
                reg.op.label(),
                date,
                reg.registrar,
                reg.reason,
                reg.document_no,
                old_fid,
                new_fid,
                now,
                reviewer,
                submission
            ],
        )?;
        Ok(tx.last_insert_rowid())
    }
}
