//! Access tokens (访问令牌) for scripts and GIS clients that send `Authorization: Bearer …` rather than a
//! password: each belongs to one account (and acts with its role), has a label saying where it is used, an
//! expiry date, and can be revoked. Only the SHA-256 of a token is kept (a token is 256 random bits, so its
//! hash cannot be turned back into it); the token itself is shown once, when it is made. Tokens are never
//! deleted; making and revoking one are written to the trail.

use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::trail::{self, Actor, Change};
use super::{locked_or, Registry};
use crate::error::{Error, Result};

/// How a token starts (so that one pasted where it should not be is recognised).
pub const TOKEN_PREFIX: &str = "nrl_";
/// The longest a token may live.
pub const MAX_TOKEN_DAYS: u32 = 366;

/// A token as listed (never the token or its hash).
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    /// Its number.
    pub id: i64,
    /// The account it acts for.
    pub account: String,
    /// Where it is used (QGIS on the GIS office's PC, a nightly export …).
    pub label: String,
    /// When it was made (UTC, RFC 3339), and by whom.
    pub created_at: String,
    /// Who made it.
    pub created_by: String,
    /// Its last valid day.
    pub expires: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

/// An active token: the account it acts for and its last valid day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    /// Its number.
    pub id: i64,
    /// The account it acts for.
    pub account: String,
    /// Its last valid day.
    pub expires: String,
}

/// The SHA-256 of a token, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// SQL creating the tokens table (not in `gpkg_contents`; rows are only ever added, or revoked once).
pub(super) fn table_sql() -> String {
    "CREATE TABLE nr_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, account TEXT NOT NULL,
  label TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
  expires TEXT NOT NULL, revoked_at TEXT, revoked_by TEXT);
CREATE TRIGGER nr_tokens_no_delete BEFORE DELETE ON nr_tokens
BEGIN SELECT RAISE(ABORT, 'nrledger: tokens are never deleted; revoke them'); END;
CREATE TRIGGER nr_tokens_revoke_only BEFORE UPDATE ON nr_tokens
WHEN OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL OR NEW.id IS NOT OLD.id OR NEW.account IS NOT OLD.account
  OR NEW.label IS NOT OLD.label OR NEW.token_sha256 IS NOT OLD.token_sha256 OR NEW.created_at IS NOT OLD.created_at
  OR NEW.created_by IS NOT OLD.created_by OR NEW.expires IS NOT OLD.expires
BEGIN SELECT RAISE(ABORT, 'nrledger: a token is only ever revoked, once'); END;
"
    .to_string()
}

impl Registry {
    /// Make a token for `account`, labelled `label`, valid `days` days from today (1 to 366), by `by`:
    /// its number and the token (shown this once; only its hash is kept).
    pub fn add_token(&self, account: &str, label: &str, days: u32, by: &Actor) -> Result<(i64, String)> {
        let refuse = |why: String| Err(Error::Invalid(format!("token for {account}: {why}; nothing was written")));
        if label.trim().is_empty() || label.chars().count() > 100 {
            return refuse("give a label of at most 100 characters saying where the token is used".into());
        }
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return refuse(format!("a token lives 1 to {MAX_TOKEN_DAYS} days, not {days}"));
        }
        match self.account(account)? {
            Some(a) if a.disabled_at.is_none() => {}
            Some(_) => return refuse("the account is disabled".into()),
            None => return refuse("no such account".into()),
        }
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        let expires = (chrono::Local::now().date_naive() + chrono::Days::new(days.into())).to_string();
        let tx = self.writing()?;
        tx.execute(
            "INSERT INTO nr_tokens (account, label, token_sha256, created_at, created_by, expires)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![account, label.trim(), token_hash(&token), chrono::Utc::now().to_rfc3339(), by.who, expires],
        )
        .map_err(|e| locked_or(&self.path, e))?;
        let id = tx.last_insert_rowid();
        let detail = format!("token #{id} '{}' for {account}, valid until {expires}", label.trim());
        let after = crate::hashing::sha256_hex(format!("{id}\0{account}\0{}\0{expires}", label.trim()).as_bytes());
        let change = Change { action: "token.add", target: account, detail, before: None, after: Some(after) };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok((id, token))
    }

    /// Revoke token `id`, by `by` (refused if it is revoked already or does not exist).
    pub fn revoke_token(&self, id: i64, by: &Actor) -> Result<TokenInfo> {
        let tx = self.writing()?;
        let n = tx
            .execute(
                "UPDATE nr_tokens SET revoked_at = ?1, revoked_by = ?2 WHERE id = ?3 AND revoked_at IS NULL",
                params![chrono::Utc::now().to_rfc3339(), by.who, id],
            )
            .map_err(|e| locked_or(&self.path, e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("token #{id}: no such token, or it is revoked already")));
        }
        let info = tokens_where(&tx, "id = ?1", [id])?.pop().expect("updated above");
        let detail = format!("token #{id} '{}' of {} revoked", info.label, info.account);
        let change = Change { action: "token.revoke", target: &info.account, detail, before: None, after: None };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok(info)
    }

    /// The tokens (of `account`, or of every account), oldest first.
    pub fn tokens(&self, account: Option<&str>) -> Result<Vec<TokenInfo>> {
        match account {
            Some(a) => tokens_where(&self.conn, "account = ?1", [a]),
            None => tokens_where(&self.conn, "1", []),
        }
    }

    /// Every token valid today (not revoked, not expired), by its hash.
    pub fn active_tokens(&self) -> Result<std::collections::HashMap<String, ActiveToken>> {
        let today = chrono::Local::now().date_naive().to_string();
        let mut st = self.conn.prepare(
            "SELECT token_sha256, id, account, expires FROM nr_tokens WHERE revoked_at IS NULL AND expires >= ?1",
        )?;
        let rows = st.query_map([today], |r| {
            Ok((r.get::<_, String>(0)?, ActiveToken { id: r.get(1)?, account: r.get(2)?, expires: r.get(3)? }))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn tokens_where(conn: &rusqlite::Connection, filter: &str, p: impl rusqlite::Params) -> Result<Vec<TokenInfo>> {
    let mut st = conn.prepare(&format!(
        "SELECT id, account, label, created_at, created_by, expires, revoked_at, revoked_by FROM nr_tokens \
         WHERE {filter} ORDER BY id"
    ))?;
    let rows = st.query_map(p, |r| {
        Ok(TokenInfo {
            id: r.get(0)?,
            account: r.get(1)?,
            label: r.get(2)?,
            created_at: r.get(3)?,
            created_by: r.get(4)?,
            expires: r.get(5)?,
            revoked_at: r.get(6)?,
            revoked_by: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
