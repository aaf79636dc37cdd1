//! Exceptions granted in the registry (例外): a reviewer accepts a finding — its rule and the keys of the
//! records in it — for a reason, under an approval document, until a date. Later checks apply them exactly
//! as they apply the exceptions file (`check --exceptions`), and `nrledger exceptions` writes them in that
//! file's TOML form. Granted exceptions are never changed or deleted (triggers); one ends on its expiry
//! date. Each grant is a row of the trail.

use rusqlite::params;
use serde::Serialize;

use super::trail::{self, Actor, Change};
use super::{locked_or, Registry};
use crate::error::{Error, Result};

/// An exception as granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Granted {
    /// Its number.
    pub id: i64,
    /// Rule code or name.
    pub rule: String,
    /// Keys of the records: it covers a finding whose keys include all of them.
    pub ids: Vec<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// Approval document number (批准文号).
    pub approval: String,
    /// Last day it holds (YYYY-MM-DD).
    pub expires: String,
    /// Who granted it.
    pub granted_by: String,
    /// When (UTC, RFC 3339).
    pub granted_at: String,
    /// The stored finding it was granted on, if any.
    pub finding_fid: Option<i64>,
}

/// SQL creating the table (a registry made before it gets it when opened).
pub(super) fn table_sql() -> String {
    let t = "nr_exceptions";
    format!(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, rule TEXT NOT NULL, ids TEXT NOT NULL,
  reason TEXT NOT NULL, approval TEXT NOT NULL, expires DATE NOT NULL, granted_by TEXT NOT NULL, granted_at TEXT NOT NULL,
  finding_fid INTEGER);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('{t}', 'attributes', '{t}', '检查例外 Exceptions granted to findings');
{}",
        super::schema::append_only_sql(t)
    )
}

impl Registry {
    /// Grant an exception (`finding`: the stored finding it answers); its number. Refused without a rule,
    /// a key, a reason or an approval number, or with an expiry that is not a date from today on.
    #[allow(clippy::too_many_arguments)]
    pub fn grant_exception(
        &self,
        rule: &str,
        ids: &[String],
        reason: &str,
        approval: &str,
        expires: &str,
        finding: Option<i64>,
        by: &Actor,
    ) -> Result<i64> {
        let refuse = |why: &str| Err(Error::Invalid(format!("exception to {rule}: {why}; nothing was written")));
        if rule.trim().is_empty() || ids.is_empty() || ids.iter().any(|i| i.trim().is_empty()) {
            return refuse("the rule and the records' keys are needed");
        }
        if reason.trim().is_empty() {
            return refuse("give the reason (例外原因)");
        }
        if approval.trim().is_empty() {
            return refuse("give the approval document number (批准文号)");
        }
        let until = crate::model::parse_date(expires.trim()).map_err(|e| Error::Invalid(format!("expires: {e}")))?;
        if until < chrono::Local::now().date_naive() {
            return refuse("it would have expired already (expires is before today)");
        }
        let keys = serde_json::to_string(ids).map_err(|e| Error::Invalid(e.to_string()))?;
        let tx = self.writing()?;
        tx.execute(
            "INSERT INTO nr_exceptions (rule, ids, reason, approval, expires, granted_by, granted_at, finding_fid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                rule.trim(),
                keys,
                reason.trim(),
                approval.trim(),
                until.to_string(),
                by.who,
                chrono::Utc::now().to_rfc3339(),
                finding
            ],
        )
        .map_err(|e| locked_or(&self.path, e))?;
        let id = tx.last_insert_rowid();
        let target = format!("{rule} {}", ids.join(";"));
        let change = Change {
            action: "finding.except",
            target: &target,
            detail: format!("exception #{id} under {} until {until}: {}", approval.trim(), reason.trim()),
            before: None,
            after: None,
        };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok(id)
    }

    /// Every exception granted, oldest first (expired ones too: they are the record).
    pub fn granted_exceptions(&self) -> Result<Vec<Granted>> {
        let mut st = self.conn.prepare(
            "SELECT id, rule, ids, reason, approval, expires, granted_by, granted_at, finding_fid FROM nr_exceptions ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            let ids: String = r.get(2)?;
            Ok(Granted {
                id: r.get(0)?,
                rule: r.get(1)?,
                ids: serde_json::from_str(&ids).unwrap_or_default(),
                reason: r.get(3)?,
                approval: r.get(4)?,
                expires: r.get(5)?,
                granted_by: r.get(6)?,
                granted_at: r.get(7)?,
                finding_fid: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A finding of the latest stored check run, by its fid (what an exception is granted on).
    pub fn latest_finding(&self, fid: i64) -> Result<Option<super::FindingRow>> {
        Ok(self.latest_findings()?.and_then(|(_, all)| all.into_iter().find(|f| f.fid == fid)))
    }
}
