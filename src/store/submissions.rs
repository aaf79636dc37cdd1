//! Registrations in two steps, as registration offices work them: a registrar **submits** a prepared
//! registration (`nr_submissions`, nothing in the registry changes), a reviewer other than the registrar
//! **approves** it (登簿: the registration is recorded, its event naming both people) or **returns** it
//! with a reason. A submission is decided once: triggers refuse any other change and every delete. Each
//! step is written to the trail in its own transaction, with the submission's content hash.
//!
//! The approval applies the registry's rules again, inside its write transaction (the unit's state, its
//! record unchanged since the submission, the caller's overlap check), so of two conflicting approvals
//! at the same moment one is recorded and the other refused.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::register::Registration;
use super::trail::{self, Actor, Change};
use super::{locked_or, Registry};
use crate::area::Areas;
use crate::error::{Error, Result};
use crate::io::blob;
use crate::model::{AsOf, EventType, Value};

/// Where a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionState {
    /// 待审核: waiting for a reviewer.
    Submitted,
    /// 已登簿: approved and recorded.
    Approved,
    /// 已退回: returned to the registrar with a reason.
    Returned,
}

impl SubmissionState {
    /// The name stored.
    pub fn name(self) -> &'static str {
        match self {
            SubmissionState::Submitted => "submitted",
            SubmissionState::Approved => "approved",
            SubmissionState::Returned => "returned",
        }
    }

    /// Its official title.
    pub fn title(self) -> &'static str {
        match self {
            SubmissionState::Submitted => "待审核",
            SubmissionState::Approved => "已登簿",
            SubmissionState::Returned => "已退回",
        }
    }

    fn parse(s: &str) -> Option<SubmissionState> {
        [SubmissionState::Submitted, SubmissionState::Approved, SubmissionState::Returned]
            .into_iter()
            .find(|x| x.name() == s)
    }
}

/// A submission as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    /// Its number.
    pub id: i64,
    /// 首次登记 / 变更登记 / 更正登记 / 注销登记.
    pub op: String,
    /// The unit code.
    pub unit_code: String,
    /// The registration's date.
    pub date: String,
    /// Why.
    pub reason: String,
    /// Document number (登记文号).
    pub document_no: Option<String>,
    /// The registrar's account.
    pub submitted_by: String,
    /// When (UTC, RFC 3339).
    pub submitted_at: String,
    /// Where it stands.
    pub state: SubmissionState,
    /// The reviewer who decided it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// The reason it was returned.
    pub decision_note: Option<String>,
    /// The event recorded by its approval.
    pub event_id: Option<i64>,
    /// Ellipsoidal area of the unit's geometry, m² (0 for a cancellation).
    pub area_m2: f64,
    /// SHA-256 of what was submitted.
    pub content_hash: String,
}

/// What a submission keeps of a registration besides its geometry.
#[derive(Serialize, Deserialize)]
struct Stored {
    values: Vec<Value>,
    date: String,
    reason: String,
    document_no: Option<String>,
    based_on: Option<i64>,
    areas: Areas,
}

/// SQL creating the submissions (a registry made before them gets them when opened). A features table:
/// QGIS shows the pending units' outlines.
pub(super) fn table_sql(srs_id: i32) -> String {
    let t = "nr_submissions";
    format!(
        "CREATE TABLE {t} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom MULTIPOLYGON, op TEXT NOT NULL
  CHECK (op IN ('首次登记','变更登记','注销登记','更正登记')), unit_code TEXT NOT NULL, request TEXT NOT NULL,
  content_hash TEXT NOT NULL, submitted_by TEXT NOT NULL, submitted_at TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('submitted','approved','returned')), decided_by TEXT, decided_at TEXT,
  decision_note TEXT, event_id INTEGER);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
  ('{t}', 'features', '{t}', '登记申请 Registrations submitted for review', {srs_id});
INSERT INTO gpkg_geometry_columns VALUES ('{t}', 'geom', 'MULTIPOLYGON', {srs_id}, 0, 0);
CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t}
BEGIN SELECT RAISE(ABORT, 'nrledger: {t} keeps every submission'); END;
CREATE TRIGGER {t}_decided_once BEFORE UPDATE ON {t}
WHEN OLD.state <> 'submitted' OR NEW.request IS NOT OLD.request OR NEW.geom IS NOT OLD.geom
  OR NEW.unit_code IS NOT OLD.unit_code OR NEW.op IS NOT OLD.op OR NEW.submitted_by IS NOT OLD.submitted_by
  OR NEW.content_hash IS NOT OLD.content_hash OR NEW.submitted_at IS NOT OLD.submitted_at
BEGIN SELECT RAISE(ABORT, 'nrledger: a submission is decided once and never edited'); END;
"
    )
}

fn content_hash(op: &str, unit: &str, request: &str, geom: Option<&[u8]>) -> String {
    let mut h = Sha256::new();
    for part in [op.as_bytes(), unit.as_bytes(), request.as_bytes(), geom.unwrap_or(&[])] {
        h.update(part);
        h.update([0]);
    }
    hex::encode(h.finalize())
}

const COLUMNS: &str = "fid, op, unit_code, request, content_hash, submitted_by, submitted_at, state, decided_by, \
                       decided_at, decision_note, event_id, geom";

/// A row: the submission and its registration.
fn row(r: &rusqlite::Row) -> rusqlite::Result<(Submission, Stored, Option<Vec<u8>>)> {
    let request: String = r.get(3)?;
    let stored: Stored = serde_json::from_str(&request)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)))?;
    let state: String = r.get(7)?;
    let s = Submission {
        id: r.get(0)?,
        op: r.get(1)?,
        unit_code: r.get(2)?,
        date: stored.date.clone(),
        reason: stored.reason.clone(),
        document_no: stored.document_no.clone(),
        submitted_by: r.get(5)?,
        submitted_at: r.get(6)?,
        state: SubmissionState::parse(&state).unwrap_or(SubmissionState::Submitted),
        decided_by: r.get(8)?,
        decided_at: r.get(9)?,
        decision_note: r.get(10)?,
        event_id: r.get(11)?,
        area_m2: stored.areas.ellipsoidal,
        content_hash: r.get(4)?,
    };
    Ok((s, stored, r.get(12)?))
}

fn op_of(label: &str) -> Result<EventType> {
    [EventType::First, EventType::Change, EventType::Correct, EventType::Cancel]
        .into_iter()
        .find(|o| o.label() == label)
        .ok_or_else(|| Error::Invalid(format!("unknown registration type '{label}'")))
}

impl Registry {
    /// Submit a prepared registration for review (its registrar is `by`); its number.
    pub fn submit(&self, r: &Registration, by: &Actor) -> Result<i64> {
        let stored = Stored {
            values: r.values.clone(),
            date: r.date.format("%Y-%m-%d").to_string(),
            reason: r.reason.clone(),
            document_no: r.document_no.clone(),
            based_on: r.based_on,
            areas: r.areas,
        };
        let request = serde_json::to_string(&stored).map_err(|e| Error::Invalid(e.to_string()))?;
        let geom = r.geometry.as_ref().map(|g| blob::encode(g, self.srs_id));
        let hash = content_hash(r.op.label(), &r.unit, &request, geom.as_deref());
        let tx = self.writing()?;
        tx.execute(
            "INSERT INTO nr_submissions (geom, op, unit_code, request, content_hash, submitted_by, submitted_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'submitted')",
            params![geom, r.op.label(), r.unit, request, hash, by.who, chrono::Utc::now().to_rfc3339()],
        )
        .map_err(|e| locked_or(&self.path, e))?;
        let id = tx.last_insert_rowid();
        let change = Change {
            action: "registration.submit",
            target: &r.unit,
            detail: format!("submission #{id}: {} on {}", r.op.label(), stored.date),
            before: None,
            after: Some(hash),
        };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok(id)
    }

    /// The submissions, newest first (only those in `state`, if given).
    pub fn submissions(&self, state: Option<SubmissionState>) -> Result<Vec<Submission>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM nr_submissions WHERE ?1 IS NULL OR state = ?1 ORDER BY fid DESC"
        ))?;
        let rows = st.query_map([state.map(|s| s.name())], row)?;
        Ok(rows.map(|r| r.map(|(s, _, _)| s)).collect::<rusqlite::Result<_>>()?)
    }

    /// One submission and the registration it would record (its registrar the submitter).
    pub fn submission(&self, id: i64) -> Result<Option<(Submission, Registration)>> {
        let found = self
            .conn
            .query_row(&format!("SELECT {COLUMNS} FROM nr_submissions WHERE fid = ?1"), [id], row)
            .optional()?;
        let Some((s, stored, geom)) = found else { return Ok(None) };
        let geometry = geom.map(|b| blob::decode(&b)).transpose().map_err(Error::Invalid)?;
        let date: AsOf = crate::model::parse_date(&stored.date).map_err(Error::Invalid)?;
        let r = Registration {
            op: op_of(&s.op)?,
            unit: s.unit_code.clone(),
            values: stored.values,
            geometry,
            areas: stored.areas,
            date,
            registrar: s.submitted_by.clone(),
            reason: stored.reason,
            document_no: stored.document_no,
            based_on: stored.based_on,
        };
        Ok(Some((s, r)))
    }

    /// Approve submission `id` (登簿) as reviewer `by`: the registration is recorded, with `check` and the
    /// registry's rules applied inside the transaction; the event's id. Refused when `by` submitted it,
    /// when it was decided already, and when the registration is refused now (then nothing changes and the
    /// submission stays waiting, to be returned).
    pub fn approve(&self, id: i64, by: &Actor, check: &dyn Fn(&Registry, &Registration) -> Result<()>) -> Result<i64> {
        let tx = self.writing()?;
        let (s, r) = self.waiting(id)?;
        if s.submitted_by == by.who {
            return Err(Error::Invalid(format!(
                "submission #{id}: {} submitted it; another reviewer approves it",
                s.submitted_by
            )));
        }
        let event = self.register_in(&r, check, Some((&by.who, id)))?;
        let now = chrono::Utc::now().to_rfc3339();
        tx.execute(
            "UPDATE nr_submissions SET state = 'approved', decided_by = ?2, decided_at = ?3, event_id = ?4 WHERE fid = ?1",
            params![id, by.who, now, event],
        )?;
        let change = Change {
            action: "registration.approve",
            target: &s.unit_code,
            detail: format!("submission #{id} by {}: {} recorded as event #{event}", s.submitted_by, s.op),
            before: Some(s.content_hash.clone()),
            after: Some(s.content_hash.clone()),
        };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok(event)
    }

    /// Return submission `id` to its registrar with `reason` (nothing is recorded).
    pub fn return_submission(&self, id: i64, reason: &str, by: &Actor) -> Result<()> {
        if reason.trim().is_empty() {
            return Err(Error::Invalid(format!("submission #{id}: a returned submission needs a reason")));
        }
        let tx = self.writing()?;
        let (s, _) = self.waiting(id)?;
        tx.execute(
            "UPDATE nr_submissions SET state = 'returned', decided_by = ?2, decided_at = ?3, decision_note = ?4
             WHERE fid = ?1",
            params![id, by.who, chrono::Utc::now().to_rfc3339(), reason.trim()],
        )?;
        let change = Change {
            action: "registration.return",
            target: &s.unit_code,
            detail: format!("submission #{id} by {} returned: {}", s.submitted_by, reason.trim()),
            before: Some(s.content_hash.clone()),
            after: Some(s.content_hash),
        };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))
    }

    /// Submission `id`, if it is waiting for a decision.
    fn waiting(&self, id: i64) -> Result<(Submission, Registration)> {
        let (s, r) =
            self.submission(id)?.ok_or_else(|| Error::Invalid(format!("submission #{id}: no such submission")))?;
        if s.state != SubmissionState::Submitted {
            return Err(Error::Invalid(format!(
                "submission #{id}: already {} ({}) by {}",
                s.state.name(),
                s.state.title(),
                s.decided_by.as_deref().unwrap_or("?")
            )));
        }
        Ok((s, r))
    }
}
