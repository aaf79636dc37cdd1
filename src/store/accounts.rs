//! The people of a registry (用户与角色): accounts kept in the registry itself, each with one role. A password
//! is kept only as its Argon2id hash (a PHC string with its own salt); it is never stored, logged, exported or
//! shown. Every change is written to the trail in the same transaction ([`super::trail`]), with content
//! hashes of the account before and after; each change also moves the account's generation on, which ends
//! the sessions opened before it.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::trail::{self, Actor, Change};
use super::{locked_or, Registry};
use crate::error::{Error, Result};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 管理员: accounts and settings.
    Admin,
    /// 登记员: prepares registrations.
    Registrar,
    /// 审核员: approves or returns registrations, approves exceptions.
    Reviewer,
    /// 审计: runs balance sheets and audit reports, reads everything.
    Auditor,
    /// 查看: GIS staff, reads layers and exports.
    Viewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [Role::Admin, Role::Registrar, Role::Reviewer, Role::Auditor, Role::Viewer];

    /// The role's name in the registry and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Registrar => "registrar",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    /// The role's official title.
    pub fn title(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::Registrar => "登记员",
            Role::Reviewer => "审核员",
            Role::Auditor => "审计人员",
            Role::Viewer => "查看人员",
        }
    }
}

/// A role as the registry stores it (its name; the table's CHECK admits no other).
impl rusqlite::types::FromSql for Role {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Role> {
        let name = v.as_str()?;
        Role::ALL.into_iter().find(|r| r.name() == name).ok_or(rusqlite::types::FromSqlError::InvalidType)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
            Error::Invalid(format!("role '{s}': not a role (roles: {})", names.join(", ")))
        })
    }
}

/// A password as typed. Its `Debug` shows nothing of it, so it cannot reach a log by accident.
pub struct Password(String);

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 10;

impl Password {
    /// A password for account `name`: at least [`MIN_PASSWORD_CHARS`] characters, not containing the name
    /// (a name of 4 characters or more; a shorter one only may not be the whole password).
    pub fn new(text: String, name: &str) -> Result<Password> {
        if text.chars().count() < MIN_PASSWORD_CHARS {
            return Err(Error::Invalid(format!(
                "password of account {name}: at least {MIN_PASSWORD_CHARS} characters are needed"
            )));
        }
        let (text_lc, name_lc) = (text.to_lowercase(), name.to_lowercase());
        if text_lc == name_lc || (name_lc.chars().count() >= 4 && text_lc.contains(&name_lc)) {
            return Err(Error::Invalid(format!("password of account {name}: it must not contain the account name")));
        }
        Ok(Password(text))
    }

    /// A password as given at a login, not checked against the rules (it is only compared).
    pub fn given(text: String) -> Password {
        Password(text)
    }

    fn hash(&self) -> Result<String> {
        let salt = salt()?;
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Invalid(format!("password hashing failed: {e}")))
    }

    fn matches(&self, phc: &str) -> bool {
        PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(self.0.as_bytes(), &h).is_ok())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A fresh salt of 16 random bytes (the thread's generator: a CSPRNG seeded from the system).
fn salt() -> Result<SaltString> {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).map_err(|e| Error::Invalid(format!("password salt: {e}")))
}

/// An account, as listed (its password hash is not part of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The login name.
    pub name: String,
    /// The person's name (姓名), for the trail and the pages.
    pub full_name: String,
    /// The role.
    pub role: Role,
    /// When it was disabled (None: it is enabled).
    pub disabled_at: Option<String>,
    /// When it was created (UTC, RFC 3339).
    pub created_at: String,
    /// How many times it has changed: a session opened at an older generation has ended.
    pub generation: i64,
}

/// SQL creating the accounts table (registries made before it get it when they are opened). It is not
/// listed in `gpkg_contents`: GIS clients opening the file do not see it.
pub(super) fn table_sql() -> String {
    let roles: Vec<String> = Role::ALL.iter().map(|r| format!("'{}'", r.name())).collect();
    format!(
        "CREATE TABLE nr_accounts (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, name TEXT NOT NULL UNIQUE,
  full_name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ({})), password_hash TEXT NOT NULL, disabled_at TEXT,
  created_at TEXT NOT NULL, generation INTEGER NOT NULL DEFAULT 0);
CREATE TRIGGER nr_accounts_no_delete BEFORE DELETE ON nr_accounts
BEGIN SELECT RAISE(ABORT, 'nrledger: accounts are never deleted; disable them'); END;
",
        roles.join(", ")
    )
}

/// Refuse an account name or full name an account may not have (before anything is written).
pub fn check_account(name: &str, full_name: &str) -> Result<()> {
    check_name(name)?;
    if full_name.trim().is_empty() {
        return Err(Error::Invalid(format!("account {name}: the person's full name (姓名) is needed")));
    }
    Ok(())
}

/// An account name: 2 to 32 lower-case ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit.
fn check_name(name: &str) -> Result<()> {
    let ok = (2..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "account name '{name}': use 2 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// An account row as stored: the account and its password hash.
struct Stored {
    account: Account,
    password_hash: String,
}

impl Stored {
    /// The content hash of the row (the password hash included, as a hash of it: a password change shows).
    fn content_hash(&self) -> String {
        let a = &self.account;
        let mut h = Sha256::new();
        for part in [&a.name, &a.full_name, a.role.name(), &self.password_hash, a.disabled_at.as_deref().unwrap_or("")]
        {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(a.generation.to_le_bytes());
        hex::encode(h.finalize())
    }
}

/// The stored accounts `filter` (an SQL condition on `nr_accounts`) selects, by name.
fn stored_where(conn: &rusqlite::Connection, filter: &str, params: impl rusqlite::Params) -> Result<Vec<Stored>> {
    let mut st = conn.prepare(&format!(
        "SELECT name, full_name, role, password_hash, disabled_at, created_at, generation FROM nr_accounts \
         WHERE {filter} ORDER BY name"
    ))?;
    let rows = st.query_map(params, |r| {
        let account = Account {
            name: r.get(0)?,
            full_name: r.get(1)?,
            role: r.get(2)?,
            disabled_at: r.get(4)?,
            created_at: r.get(5)?,
            generation: r.get(6)?,
        };
        Ok(Stored { account, password_hash: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn stored(conn: &rusqlite::Connection, name: &str) -> Result<Option<Stored>> {
    Ok(stored_where(conn, "name = ?1", [name])?.pop())
}

/// A hash no password matches, verified when an unknown name logs in, so that a login takes as long whether
/// the name exists or not.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let Ok(salt) = salt() else { return String::new() };
        Argon2::default()
            .hash_password(b"\0no account has this password\0", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// A change to an account.
enum Edit<'a> {
    Role(Role),
    Password(&'a Password),
    Disable,
    Enable,
}

impl Registry {
    /// Add an account; refused if the name is taken (by an enabled or a disabled account).
    pub fn add_account(
        &self,
        name: &str,
        full_name: &str,
        role: Role,
        password: &Password,
        by: &Actor,
    ) -> Result<Account> {
        check_account(name, full_name)?;
        let hash = password.hash()?;
        let tx = self.writing()?;
        if stored(&tx, name)?.is_some() {
            return Err(Error::Invalid(format!("account {name}: the name is taken (accounts are never deleted)")));
        }
        let now = chrono::Utc::now().to_rfc3339();
        tx.execute(
            "INSERT INTO nr_accounts (name, full_name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, full_name.trim(), role.name(), hash, now],
        )
        .map_err(|e| locked_or(&self.path, e))?;
        let after = stored(&tx, name)?.expect("just written");
        let change = Change {
            action: "user.add",
            target: name,
            detail: format!("role {role}, {}", after.account.full_name),
            before: None,
            after: Some(after.content_hash()),
        };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok(after.account)
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        Ok(stored_where(&self.conn, "1", [])?.into_iter().map(|s| s.account).collect())
    }

    /// One account.
    pub fn account(&self, name: &str) -> Result<Option<Account>> {
        Ok(stored(&self.conn, name)?.map(|s| s.account))
    }

    /// The enabled account `name` if `password` is its password; None otherwise (an unknown name, a disabled
    /// account and a wrong password are not told apart, and take the same time).
    pub fn verify_login(&self, name: &str, password: &Password) -> Result<Option<Account>> {
        let Some(s) = stored(&self.conn, name)? else {
            password.matches(decoy());
            return Ok(None);
        };
        let ok = password.matches(&s.password_hash);
        Ok((ok && s.account.disabled_at.is_none()).then_some(s.account))
    }

    /// Give account `name` another role.
    pub fn set_role(&self, name: &str, role: Role, by: &Actor) -> Result<Account> {
        self.edit(name, Edit::Role(role), by)
    }

    /// Set account `name`'s password.
    pub fn set_password(&self, name: &str, password: &Password, by: &Actor) -> Result<Account> {
        self.edit(name, Edit::Password(password), by)
    }

    /// Disable account `name`: it can no longer log in and its sessions end. Kept, as the trail names it.
    pub fn disable_account(&self, name: &str, by: &Actor) -> Result<Account> {
        self.edit(name, Edit::Disable, by)
    }

    /// Enable a disabled account again.
    pub fn enable_account(&self, name: &str, by: &Actor) -> Result<Account> {
        self.edit(name, Edit::Enable, by)
    }

    /// A write transaction, its lock taken at once (two people changing accounts at the same moment: the
    /// second waits for the first, then reads what it wrote).
    pub(super) fn writing(&self) -> Result<rusqlite::Transaction<'_>> {
        rusqlite::Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| locked_or(&self.path, e))
    }

    fn edit(&self, name: &str, edit: Edit, by: &Actor) -> Result<Account> {
        let hash = match &edit {
            Edit::Password(p) => Some(p.hash()?),
            _ => None,
        };
        let tx = self.writing()?;
        let before = stored(&tx, name)?.ok_or_else(|| Error::Invalid(format!("account {name}: no such account")))?;
        let a = &before.account;
        let last_admin = || -> Result<bool> {
            let admins: i64 = tx.query_row(
                "SELECT count(*) FROM nr_accounts WHERE role = 'admin' AND disabled_at IS NULL",
                [],
                |r| r.get(0),
            )?;
            Ok(a.role == Role::Admin && a.disabled_at.is_none() && admins == 1)
        };
        let (action, detail) = match &edit {
            Edit::Role(r) if *r != Role::Admin && last_admin()? => {
                return Err(Error::Invalid(format!("account {name}: the last enabled admin keeps the admin role")));
            }
            Edit::Disable if last_admin()? => {
                return Err(Error::Invalid(format!("account {name}: the last enabled admin cannot be disabled")));
            }
            Edit::Disable if a.disabled_at.is_some() => {
                return Err(Error::Invalid(format!("account {name}: already disabled")));
            }
            Edit::Enable if a.disabled_at.is_none() => {
                return Err(Error::Invalid(format!("account {name}: not disabled")));
            }
            Edit::Role(r) => ("user.role", format!("role {} → {r}", a.role)),
            Edit::Password(_) => ("user.passwd", "password changed".to_string()),
            Edit::Disable => ("user.disable", "disabled".to_string()),
            Edit::Enable => ("user.enable", "enabled".to_string()),
        };
        let sql = match &edit {
            Edit::Role(_) => "UPDATE nr_accounts SET role = ?2, generation = generation + 1 WHERE name = ?1",
            Edit::Password(_) => {
                "UPDATE nr_accounts SET password_hash = ?2, generation = generation + 1 WHERE name = ?1"
            }
            Edit::Disable | Edit::Enable => {
                "UPDATE nr_accounts SET disabled_at = ?2, generation = generation + 1 WHERE name = ?1"
            }
        };
        let value = match &edit {
            Edit::Role(r) => Some(r.name().to_string()),
            Edit::Password(_) => hash,
            Edit::Disable => Some(chrono::Utc::now().to_rfc3339()),
            Edit::Enable => None,
        };
        tx.execute(sql, params![name, value]).map_err(|e| locked_or(&self.path, e))?;
        let after = stored(&tx, name)?.expect("it was there");
        let change = Change {
            action,
            target: name,
            detail,
            before: Some(before.content_hash()),
            after: Some(after.content_hash()),
        };
        trail::record(&tx, by, &change)?;
        tx.commit().map_err(|e| locked_or(&self.path, e))?;
        Ok(after.account)
    }
}

/// Where an account stands now: what the service checks at every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The role.
    pub role: Role,
    /// The generation (a session or verified credential of an older one has ended).
    pub generation: i64,
    /// Whether it may log in.
    pub enabled: bool,
}

impl Registry {
    /// Every account's standing, by name.
    pub fn standings(&self) -> Result<std::collections::HashMap<String, Standing>> {
        let mut st = self.conn.prepare("SELECT name, role, generation, disabled_at IS NULL FROM nr_accounts")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, Standing { role: r.get(1)?, generation: r.get(2)?, enabled: r.get(3)? }))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A number that changes whenever another connection commits to the registry (SQLite's
    /// `PRAGMA data_version`): a cheap test of whether what was read is still current.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
}
