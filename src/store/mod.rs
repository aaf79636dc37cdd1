//! The registry on disk: one GeoPackage file (the embedded default store), written through SQLite
//! (the same system library GDAL uses) so that every import is one transaction — all or nothing, even
//! if the process is killed — and read back by vintage.
//!
//! `schema` lays out the tables, `write` applies a validated import, `read` answers "what did layer L look
//! like on date D".

mod accounts;
mod backup;
mod bookkeeping;
mod condition;
mod exceptions;
mod findings;
pub mod patches;
mod read;
mod register;
mod rtree;
mod schema;
mod styles;
mod submissions;
mod tokens;
mod trail;
mod write;

use std::path::{Path, PathBuf};

use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, OptionalExtension};

pub use accounts::{check_account, Account, Password, Role, Standing, MIN_PASSWORD_CHARS};
pub use backup::{BackupReport, Snapshot};
pub use condition::{Compare, Condition};
pub use exceptions::Granted;
pub use findings::{CheckRun, FindingRow};
pub use read::{ClassPrefixes, Fields, Place, Read, StoredRecord, When};
pub use register::{CurrentUnit, Registration};
pub use schema::SCHEMA_VERSION;
pub use submissions::{Submission, SubmissionState};
pub use tokens::{token_hash, ActiveToken, TokenInfo, MAX_TOKEN_DAYS, TOKEN_PREFIX};
pub use trail::{Actor, Change, TrailEntry};
pub use write::{check_scope, ImportHead, ImportOutcome, ImportTail, PreparedRecord, RejectRow, Sink};

use crate::catalog::Catalog;
use crate::crs::CrsInfo;
use crate::error::{Error, Result};
use crate::io::blob;
use crate::model::{AsOf, LayerKind};

/// A read-only connection of its own to the registry file at `path`, for a thread that searches the
/// registry while the registry's connection serves another (read::fids_in_boxes). It has none of the
/// registry's SQL functions or `rarray`: plain queries only.
fn open_reader(path: &Path) -> Result<Connection> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::Registry { path: path.into(), reason: e.to_string() })?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

/// How long a command waits for another process's write to the registry before it gives up, in seconds
/// (`nrledger --lock-wait`; 30 by default).
static LOCK_WAIT_SECS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(30);

/// Set how long registries opened from now on wait for another process's write (`--lock-wait`).
pub fn set_lock_wait(secs: u64) {
    LOCK_WAIT_SECS.store(secs, std::sync::atomic::Ordering::Relaxed);
}

fn lock_wait() -> std::time::Duration {
    std::time::Duration::from_secs(LOCK_WAIT_SECS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Whether SQLite gave up waiting for another connection's lock.
fn is_locked(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// The error for a registry another process kept locked past the wait, naming the processes that hold
/// the file open where the system tells (SQLite itself does not know who holds a lock).
fn locked(path: &Path) -> Error {
    let holders = holders(path);
    let by = if holders.is_empty() { String::new() } else { format!(" (open in {})", holders.join("; ")) };
    Error::Registry {
        path: path.into(),
        reason: format!(
            "is locked by another process writing to it{by}; waited {} s. Try again when it has finished, or wait longer \
             with --lock-wait SECONDS",
            lock_wait().as_secs()
        ),
    }
}

/// [`locked`] when SQLite's error is a lock, else the error itself.
fn locked_or(path: &Path, e: rusqlite::Error) -> Error {
    if is_locked(&e) {
        locked(path)
    } else {
        e.into()
    }
}

/// The other processes that have the file open, as `pid N: command line` (Linux's /proc; those of other
/// users are not visible and not listed).
fn holders(path: &Path) -> Vec<String> {
    let Ok(target) = std::fs::canonicalize(path) else { return vec![] };
    let Ok(procs) = std::fs::read_dir("/proc") else { return vec![] };
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { continue };
        if fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target)) {
            let cmd = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            let cmd: String = String::from_utf8_lossy(&cmd).replace('\0', " ").trim().chars().take(160).collect();
            found.push(format!("pid {pid}: {cmd}"));
        }
    }
    found
}

/// A rejected record as the registry keeps it.
#[derive(Debug, Clone)]
pub struct StoredReject {
    /// Its row in the registry's `rejects` table.
    pub fid: i64,
    /// The layer it was meant for.
    pub layer: String,
    /// The field at fault, when one.
    pub field: Option<String>,
    /// The import that rejected it.
    pub import_id: i64,
    /// 0-based index in the source layer.
    pub feature_index: usize,
    /// Its key, when it could be read.
    pub key: Option<String>,
    /// Why it was rejected.
    pub reason: String,
    /// Its geometry in the registry CRS, when it could be read and transformed.
    pub geometry: Option<geo::Geometry<f64>>,
}

/// An open registry.
pub struct Registry {
    conn: Connection,
    path: PathBuf,
    /// The registry CRS.
    pub crs: CrsInfo,
    /// `srs_id` of the registry CRS in `gpkg_spatial_ref_sys`.
    pub srs_id: i32,
    catalog: Catalog,
}

impl Registry {
    /// Create a new registry file in `crs`. Refuses to overwrite an existing file. The file appears only
    /// when complete (written to a temporary name, then renamed).
    pub fn create(path: &Path, crs: &CrsInfo, catalog: Catalog) -> Result<Registry> {
        if path.exists() {
            return Err(Error::Registry {
                path: path.into(),
                reason: "already exists; refusing to overwrite it".into(),
            });
        }
        if !crs.projected {
            return Err(Error::Crs {
                crs: crs.definition.clone(),
                reason: "a registry needs a projected CRS (e.g. a CGCS2000 Gauss-Krüger zone, EPSG:4513–4554)".into(),
            });
        }
        let srs_id = crs.epsg.map(|c| c as i32).unwrap_or(100_000);
        // the pipeline to the geographic CRS is kept, so no command has to ask PROJ's database for it again
        let crs = &CrsInfo { to_geographic: crate::crs::geographic_pipeline(crs)?, ..crs.clone() };
        let tmp = path.with_extension("gpkg.partial");
        let _ = std::fs::remove_file(&tmp);
        {
            let conn = Connection::open(&tmp)?;
            register_functions(&conn)?;
            let mut sql = schema::core_sql(crs, srs_id);
            for def in catalog.layers() {
                sql.push_str(&schema::layer_sql(def, srs_id));
            }
            conn.execute_batch(&format!("BEGIN;\n{sql}\nCOMMIT;"))?;
            let meta = [
                ("crs", serde_json::to_string(crs).expect("serialisable")),
                ("schema_version", SCHEMA_VERSION.to_string()),
                ("record_hash", bookkeeping::RECORD_HASH.to_string()),
                ("tool_version", env!("CARGO_PKG_VERSION").to_string()),
                ("created_at", chrono::Utc::now().to_rfc3339()),
            ];
            for (k, v) in meta {
                conn.execute("INSERT INTO nr_meta (key, value) VALUES (?1, ?2)", params![k, v])?;
            }
        }
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        Registry::open(path, catalog)
    }

    /// Open an existing registry.
    pub fn open(path: &Path, catalog: Catalog) -> Result<Registry> {
        if !path.exists() {
            return Err(Error::Registry {
                path: path.into(),
                reason: "no such file (create it with `nrledger init`)".into(),
            });
        }
        // one connection per Registry, used from one thread at a time (rusqlite's Connection is not Sync):
        // SQLite's per-call mutex is not needed
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| Error::Registry { path: path.into(), reason: e.to_string() })?;
        let not_registry = |reason: String| Error::Registry { path: path.into(), reason };
        // wait for another process's write (an import, a registration) before the first read, not after it
        conn.busy_timeout(lock_wait())?;
        let crs_json: Option<String> = conn
            .query_row("SELECT value FROM nr_meta WHERE key = 'crs'", [], |r| r.get(0))
            .optional()
            .map_err(|e| match is_locked(&e) {
                true => locked(path),
                false => not_registry(format!("not an nrledger registry ({e})")),
            })?;
        let crs: CrsInfo = serde_json::from_str(&crs_json.ok_or_else(|| not_registry("no CRS in nr_meta".into()))?)
            .map_err(|e| not_registry(format!("bad CRS in nr_meta: {e}")))?;
        register_functions(&conn)?;
        // rarray(?): a read by a list of fids binds the list as one parameter (read::Place::Boxes, read::Place::Fids)
        rusqlite::vtab::array::load_module(&conn)?;
        // the file is read through read(2), not mapped (PRAGMA mmap_size): mapping saved no measurable time
        // on a 1 000 000-parcel read and put up to 2 GB of file pages in the process's resident memory
        // a registry created with an older layer definition gets the new (optional) columns
        let mut migration = String::new();
        let srs_id = crs.epsg.map(|c| c as i32).unwrap_or(100_000);
        let styled: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'layer_styles'",
            [],
            |r| r.get(0),
        )?;
        for def in catalog.layers() {
            let mut st = conn.prepare(&format!("PRAGMA table_info({})", def.kind.name()))?;
            let cols: Vec<String> = st.query_map([], |r| r.get::<_, String>(1))?.collect::<rusqlite::Result<_>>()?;
            if cols.is_empty() && def.kind.is_built_in() {
                return Err(not_registry(format!("no table for layer {}", def.kind)));
            }
            if cols.is_empty() {
                // a kind defined after the registry was made (layers/kinds/, --layers): its empty table
                migration.push_str(&schema::layer_sql(def, srs_id));
                if styled > 0 {
                    migration.push_str(&styles::layer_style_sql(def, &catalog.colours));
                }
                continue;
            }
            if let Some(sql) = schema::migrate_sql(def, &cols) {
                migration.push_str(&sql);
            }
            // the indexes of indexed fields (an older definition, or an edited one, lacks them)
            for field in def.indexed_fields() {
                let name = schema::field_index_name(def, field);
                let have: i64 = conn.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [&name],
                    |r| r.get(0),
                )?;
                if have == 0 {
                    migration.push_str(&schema::field_index_sql(def, field));
                    migration.push('\n');
                }
            }
        }
        let has_table = |name: &str| -> rusqlite::Result<bool> {
            conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n > 0)
        };
        if !has_table("nr_scoped_vintages")? {
            migration.push_str(&schema::scoped_vintages_sql());
        }
        if !has_table("nr_bookkeeping")? {
            migration.push_str(&bookkeeping::table_sql());
        }
        if !has_table("nr_check_runs")? {
            migration.push_str(&findings::tables_sql(srs_id));
        }
        if !has_table("nr_accounts")? {
            migration.push_str(&accounts::table_sql());
        }
        if !has_table("nr_trail")? {
            migration.push_str(&trail::table_sql());
        }
        if !has_table("nr_exceptions")? {
            migration.push_str(&exceptions::table_sql());
        }
        if !has_table("nr_submissions")? {
            migration.push_str(&submissions::table_sql(srs_id));
        }
        if !has_table("nr_patches")? {
            migration.push_str(&patches::tables_sql(srs_id));
        }
        if !has_table("nr_tokens")? {
            migration.push_str(&tokens::table_sql());
        }
        // the events of registrations approved in the service name their reviewer and submission
        let reviewer: i64 =
            conn.query_row("SELECT count(*) FROM pragma_table_info('nr_events') WHERE name = 'reviewer'", [], |r| {
                r.get(0)
            })?;
        if reviewer == 0 {
            migration.push_str("ALTER TABLE nr_events ADD COLUMN reviewer TEXT;\nALTER TABLE nr_events ADD COLUMN submission_id INTEGER;\n");
        }
        // QGIS's default styles (a registry made before they were written gets them once)
        if !has_table("layer_styles")? {
            migration.push_str(&styles::layer_styles_sql(&catalog));
        }
        // attribute tables whose primary key is TEXT (registries created before they had an INTEGER one)
        let mut text_keyed = Vec::new();
        for t in ["nr_meta", "nr_vintages", "nr_scoped_vintages"] {
            let integer_key: i64 = conn.query_row(
                &format!("SELECT count(*) FROM pragma_table_info('{t}') WHERE pk = 1 AND upper(type) = 'INTEGER'"),
                [],
                |r| r.get(0),
            )?;
            if integer_key == 0 && has_table(t)? {
                text_keyed.push(t);
            }
        }
        migration.push_str(&schema::integer_key_sql(&text_keyed));
        if !migration.is_empty() {
            conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{migration}\nCOMMIT;")).map_err(|e| locked_or(path, e))?;
        }
        Ok(Registry { conn, path: path.into(), crs, srs_id, catalog })
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The catalog the registry was opened with.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Vintages (`as_of` dates) of a layer, oldest first: whole-layer vintages and the dates of the county
    /// vintages of a layer delivered county by county ([`Registry::scoped_vintages`]), each date once.
    pub fn vintages(&self, kind: LayerKind) -> Result<Vec<AsOf>> {
        let mut st = self.conn.prepare(
            "SELECT as_of FROM nr_vintages WHERE layer = ?1 UNION SELECT as_of FROM nr_scoped_vintages WHERE layer = ?1 ORDER BY as_of",
        )?;
        let rows = st.query_map([kind.name()], |r| r.get::<_, String>(0))?;
        rows.map(|r| {
            let s = r?;
            crate::model::parse_date(&s).map_err(|e| Error::Registry { path: self.path.clone(), reason: e })
        })
        .collect()
    }

    /// The county vintages of a layer (`import --scope`): (scope, as_of, import id), by scope then date.
    pub fn scoped_vintages(&self, kind: LayerKind) -> Result<Vec<(String, AsOf, i64)>> {
        let mut st = self
            .conn
            .prepare("SELECT scope, as_of, import_id FROM nr_scoped_vintages WHERE layer = ?1 ORDER BY scope, as_of")?;
        let rows =
            st.query_map([kind.name()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
        rows.map(|r| {
            let (scope, d, id) = r?;
            let d = crate::model::parse_date(&d).map_err(|e| Error::Registry { path: self.path.clone(), reason: e })?;
            Ok((scope, d, id))
        })
        .collect()
    }

    /// Rows of the import log, newest last, as (id, layer, as_of, source, inserted, unchanged, closed, rejected).
    pub fn imports(&self) -> Result<Vec<ImportLogRow>> {
        let mut st = self.conn.prepare(
            "SELECT i.import_id, i.layer, i.as_of, source_path, profile, inserted, unchanged, closed, rejected, repaired, mode, encoding, s.scope
             FROM nr_imports i LEFT JOIN nr_scoped_vintages s ON s.import_id = i.import_id ORDER BY i.import_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(ImportLogRow {
                import_id: r.get(0)?,
                layer: r.get(1)?,
                as_of: r.get(2)?,
                source: r.get(3)?,
                profile: r.get(4)?,
                inserted: r.get(5)?,
                unchanged: r.get(6)?,
                closed: r.get(7)?,
                rejected: r.get(8)?,
                repaired: r.get(9)?,
                mode: r.get(10)?,
                encoding: r.get(11)?,
                scope: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Registration events of a unit (or all units), oldest first.
    pub fn events(&self, unit: Option<&str>) -> Result<Vec<EventRow>> {
        let mut st = self.conn.prepare(
            "SELECT event_id, unit_code, event_type, event_date, registrar, reason, document_no, import_id, old_fid, new_fid,
               reviewer FROM nr_events WHERE ?1 IS NULL OR unit_code = ?1 ORDER BY event_date, event_id",
        )?;
        let rows = st.query_map([unit], |r| {
            Ok(EventRow {
                event_id: r.get(0)?,
                unit_code: r.get(1)?,
                event_type: r.get(2)?,
                event_date: r.get(3)?,
                registrar: r.get(4)?,
                reason: r.get(5)?,
                document_no: r.get(6)?,
                import_id: r.get(7)?,
                old_fid: r.get(8)?,
                new_fid: r.get(9)?,
                reviewer: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of rejects recorded for an import.
    pub fn reject_count(&self, import_id: i64) -> Result<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM rejects WHERE import_id = ?1", [import_id], |r| r.get(0))?)
    }

    /// Every rejected record kept by the imports, oldest first: its source position, key, reason and, where
    /// it was polygonal and could be transformed, its geometry.
    pub fn rejects(&self) -> Result<Vec<StoredReject>> {
        let mut st = self.conn.prepare(
            "SELECT import_id, feature_index, record_key, reason, geom, fid, layer, field FROM rejects ORDER BY fid",
        )?;
        let rows = st.query_map([], |r| {
            let blob: Option<Vec<u8>> = r.get(4)?;
            Ok(StoredReject {
                fid: r.get(5)?,
                layer: r.get(6)?,
                field: r.get(7)?,
                import_id: r.get(0)?,
                feature_index: r.get::<_, i64>(1)? as usize,
                key: r.get(2)?,
                reason: r.get(3)?,
                geometry: blob.and_then(|b| blob::decode_any(&b).ok()),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The extent of everything a layer has held, any vintage (`[min x, max x, min y, max y]`, registry
    /// CRS; the GeoPackage contents' extent, widened by every import), or None while it is empty.
    pub fn extent(&self, kind: LayerKind) -> Result<Option<[f64; 4]>> {
        let row: (Option<f64>, Option<f64>, Option<f64>, Option<f64>) = self.conn.query_row(
            "SELECT min_x, max_x, min_y, max_y FROM gpkg_contents WHERE table_name = ?1",
            [kind.name()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        Ok(match row {
            (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
            _ => None,
        })
    }

    /// Raw access for tests and read-only SQL reports.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// One row of the import log.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ImportLogRow {
    /// Import id.
    pub import_id: i64,
    /// Layer kind.
    pub layer: String,
    /// Vintage date.
    pub as_of: String,
    /// Source path as given.
    pub source: String,
    /// Mapping profile.
    pub profile: String,
    /// Records inserted.
    pub inserted: i64,
    /// Records unchanged since the previous vintage (kept open).
    pub unchanged: i64,
    /// Records closed by this vintage.
    pub closed: i64,
    /// Records rejected.
    pub rejected: i64,
    /// Geometries repaired with MakeValid.
    pub repaired: i64,
    /// `atomic` or `keep-going`.
    pub mode: String,
    /// Attribute encoding used.
    pub encoding: String,
    /// County of a scoped vintage (`import --scope`); None: the whole layer.
    pub scope: Option<String>,
}

/// One registration event.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct EventRow {
    /// Event id.
    pub event_id: i64,
    /// 登记单元号.
    pub unit_code: String,
    /// 首次登记 / 变更登记 / 注销登记 / 更正登记.
    pub event_type: String,
    /// Date of the event.
    pub event_date: String,
    /// Who registered it.
    pub registrar: String,
    /// Why.
    pub reason: String,
    /// Document number (登记文号).
    pub document_no: Option<String>,
    /// The import that recorded it.
    pub import_id: Option<i64>,
    /// The record closed by the event.
    pub old_fid: Option<i64>,
    /// The record opened by the event.
    pub new_fid: Option<i64>,
    /// Who approved it (登簿), for a registration submitted and approved in the service.
    pub reviewer: Option<String>,
}

/// The SQL functions the GeoPackage R-tree triggers call (GDAL registers the same ones).
fn register_functions(conn: &Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("ST_IsEmpty", 1, flags, |ctx| {
        let b: Option<Vec<u8>> = ctx.get(0)?;
        Ok(b.map(|b| blob::is_empty(&b)).unwrap_or(true))
    })?;
    for (name, i) in [("ST_MinX", 0usize), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)] {
        conn.create_scalar_function(name, 1, flags, move |ctx| {
            let b: Option<Vec<u8>> = ctx.get(0)?;
            Ok(b.and_then(|b| blob::envelope(&b)).map(|e| e[i]))
        })?;
    }
    Ok(())
}
