//! A consistent copy of a registry while others read and write it: SQLite's online backup API, all pages
//! in one step under one read lock (so the copy is one committed state — an import under way is wholly
//! absent from it), written through a `.partial` name, switched to a single file (rollback journal),
//! verified with `PRAGMA integrity_check` and recorded with its SHA-256 beside it (`DEST.sha256`, the
//! format `sha256sum -c` reads).

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::Registry;
use crate::error::{Error, Result};

/// What a backup wrote.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct BackupReport {
    /// The copy.
    pub path: PathBuf,
    /// Its SHA-256 (hex), also written to `<path>.sha256`.
    pub sha256: String,
    /// Its size, bytes.
    pub bytes: u64,
    /// SQLite pages copied.
    pub pages: i64,
    /// What `PRAGMA integrity_check` said of the copy (`ok`).
    pub integrity: String,
    /// The latest import the copy holds (0: none).
    pub last_import: i64,
}

impl Registry {
    /// Copy the registry to `dest` (refused if it exists), verify the copy and record its hash.
    pub fn backup(&self, dest: &Path) -> Result<BackupReport> {
        let sums = sums_path(dest);
        crate::io::output::refuse_existing([&dest.to_path_buf(), &sums])?;
        let report = crate::io::output::write_through(dest, |tmp| {
            let _ = std::fs::remove_file(tmp);
            let mut copy =
                Connection::open(tmp).map_err(|e| Error::Registry { path: tmp.into(), reason: e.to_string() })?;
            let pages = {
                let b = rusqlite::backup::Backup::new(&self.conn, &mut copy)?;
                // -1: every page in one step, under one read lock of the source: one committed state
                match b.step(-1)? {
                    rusqlite::backup::StepResult::Done => {}
                    other => {
                        return Err(Error::Registry {
                            path: self.path.clone(),
                            reason: format!("the backup did not finish in one step ({other:?}); try again"),
                        })
                    }
                }
                b.progress().pagecount as i64
            };
            // one self-contained file, whatever journal the live registry uses
            copy.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
            let integrity: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if integrity != "ok" {
                return Err(Error::Registry {
                    path: tmp.into(),
                    reason: format!("the copy fails its integrity check: {integrity}"),
                });
            }
            let last_import: i64 =
                copy.query_row("SELECT coalesce(max(import_id), 0) FROM nr_imports", [], |r| r.get(0))?;
            drop(copy);
            Ok((pages, integrity, last_import))
        })?;
        let (pages, integrity, last_import) = report;
        let bytes = std::fs::read(dest).map_err(|e| Error::io(dest, e))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        std::fs::write(&sums, format!("{sha256}  {name}\n")).map_err(|e| Error::io(&sums, e))?;
        Ok(BackupReport { path: dest.into(), sha256, bytes: bytes.len() as u64, pages, integrity, last_import })
    }

    /// Keep the registry in SQLite's write-ahead-log mode (a setting of the file, kept from now on), in
    /// which readers and a writer do not wait for each other: what a server reading it while imports
    /// commit needs. Returns the journal mode now in force.
    pub fn use_wal(&self) -> Result<String> {
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| super::locked_or(&self.path, e))?;
        Ok(mode)
    }

    /// Start a read snapshot: every read through this registry until the guard is dropped sees the
    /// registry as one committed state (a request of a server never sees half an import).
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        self.conn.execute_batch("BEGIN DEFERRED")?;
        let guard = Snapshot(self);
        // the snapshot begins with the first read
        self.conn
            .query_row("SELECT count(*) FROM nr_meta", [], |_| Ok(()))
            .map_err(|e| super::locked_or(&self.path, e))?;
        Ok(guard)
    }
}

/// A read snapshot of a registry ([`Registry::snapshot`]); ends when dropped.
pub struct Snapshot<'a>(&'a Registry);

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        let _ = self.0.conn.execute_batch("ROLLBACK");
    }
}

/// `DEST.sha256` beside `dest`.
fn sums_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}
