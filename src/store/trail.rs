//! The audit trail (操作留痕): every change made to the registry's people — and, as the service grows, every
//! request that changes anything — is one row of `nr_trail`, written in the same transaction as the change:
//! who, when, from where, what, and content hashes of what was changed before and after. Triggers keep the
//! table append-only, like the registry's history tables; a secret (a password, a session) is never written.

use rusqlite::params;
use serde::Serialize;

use super::Registry;
use crate::error::Result;

/// Who made a change, and from where: a command-line user (`cli:` and the system user, on the host) or a
/// service user (their account name, from the client's address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account name, or `cli:` and the system user.
    pub who: String,
    /// The host or the client's address.
    pub origin: String,
}

impl Actor {
    /// The user running this process on this host.
    pub fn command_line() -> Actor {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        Actor { who: format!("cli:{user}"), origin: if host.is_empty() { "localhost".into() } else { host } }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// What was done (`user.add`, `user.role`, …).
    pub action: &'a str,
    /// What it was done to (an account name, a unit code, …).
    pub target: &'a str,
    /// What the change was, in words (never a secret).
    pub detail: String,
    /// Content hash of the target before the change (None: it did not exist).
    pub before: Option<String>,
    /// Content hash after (None: it no longer exists).
    pub after: Option<String>,
}

/// A row of the trail.
#[derive(Debug, Clone, Serialize)]
pub struct TrailEntry {
    /// Its number, in the order written.
    pub id: i64,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who.
    pub who: String,
    /// From where.
    pub origin: String,
    /// What was done.
    pub action: String,
    /// To what.
    pub target: String,
    /// In words.
    pub detail: String,
    /// Content hash before.
    pub before: Option<String>,
    /// Content hash after.
    pub after: Option<String>,
}

/// SQL creating the trail (registries made before it get it when they are opened).
pub(super) fn table_sql() -> String {
    let t = "nr_trail";
    format!(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, at TEXT NOT NULL, who TEXT NOT NULL,
  origin TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, before_hash TEXT, after_hash TEXT);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('{t}', 'attributes', '{t}', '操作留痕 Audit trail: every change, who made it, when and from where');
{}",
        super::schema::append_only_sql(t)
    )
}

/// Write `change` by `actor` on the connection of a transaction under way.
pub(super) fn record(conn: &rusqlite::Connection, actor: &Actor, change: &Change) -> Result<()> {
    conn.execute(
        "INSERT INTO nr_trail (at, who, origin, action, target, detail, before_hash, after_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            chrono::Utc::now().to_rfc3339(),
            actor.who,
            actor.origin,
            change.action,
            change.target,
            change.detail,
            change.before,
            change.after
        ],
    )?;
    Ok(())
}

impl Registry {
    /// Record `change` by `actor` on its own (an event that changes nothing else: a login, a logout).
    pub fn record_event(&self, actor: &Actor, change: &Change) -> Result<()> {
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| super::locked_or(&self.path, e))?;
        record(&tx, actor, change)?;
        tx.commit().map_err(|e| super::locked_or(&self.path, e))
    }

    /// The trail, oldest first.
    pub fn trail(&self) -> Result<Vec<TrailEntry>> {
        self.trail_where("1 ORDER BY id", [])
    }

    /// The latest `n` rows of the trail, newest first.
    pub fn trail_latest(&self, n: usize) -> Result<Vec<TrailEntry>> {
        self.trail_where("1 ORDER BY id DESC LIMIT ?1", [n as i64])
    }

    fn trail_where(&self, tail: &str, params: impl rusqlite::Params) -> Result<Vec<TrailEntry>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT id, at, who, origin, action, target, detail, before_hash, after_hash FROM nr_trail WHERE {tail}"
        ))?;
        let rows = st.query_map(params, |r| {
            Ok(TrailEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                who: r.get(2)?,
                origin: r.get(3)?,
                action: r.get(4)?,
                target: r.get(5)?,
                detail: r.get(6)?,
                before: r.get(7)?,
                after: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
