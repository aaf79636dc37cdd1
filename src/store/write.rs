//! Applying a validated import to the registry in one SQLite transaction.
//!
//! A vintage is a full snapshot of a layer as of a date. Against the records open before it:
//! a record with the same key and content stays open (unchanged); a changed record is closed
//! (`valid_to = as_of`) and its new version inserted; a record missing from the snapshot is closed; a new
//! key is inserted. For registration units each of these is also a registration event (首次 / 变更 / 注销).
//! Nothing is deleted or overwritten, and if anything fails — or the process dies — SQLite rolls the
//! whole import back.
//!
//! A **scoped** vintage (`import --scope 330523`) is the snapshot of one county of a layer delivered county
//! by county: it holds only records whose scope field (the layer's `scope_field`: 坐落单位代码 ZLDWDM for
//! parcels, 行政区代码 XZQDM for zones and stands, else the key) starts with the scope, it is compared only with the open
//! records of that scope (other counties' records are never closed by it), and it is logged in
//! `nr_scoped_vintages`. Each scope's vintages are in date order, and a whole-layer vintage must follow all
//! of them.

use std::collections::HashMap;

use geo::BoundingRect;
use rusqlite::{params, params_from_iter, OptionalExtension};

use super::Registry;
use crate::area::Areas;
use crate::error::{Error, Result};
use crate::io::blob;
use crate::model::{AsOf, EventType, LayerKind, Value};
use crate::progress::Progress;

/// New records from which an import packs the layer's R-tree again instead of inserting them one by one
/// (when they are also at least an eighth of the entries already there: packing costs about a tenth of an
/// insert per entry, old or new).
const RTREE_PACK_MIN: usize = 1024;

/// A record ready to store (validated, in the registry CRS, with areas).
#[derive(Debug, Clone)]
pub struct PreparedRecord {
    /// Key value.
    pub key: String,
    /// Values in layer field order.
    pub values: Vec<Value>,
    /// Geometry in the registry CRS.
    pub geometry: geo::MultiPolygon<f64>,
    /// Ellipsoidal and planar areas.
    pub areas: Areas,
    /// Content hash (attributes but the bookkeeping fields, and geometry), to tell unchanged records across
    /// vintages.
    pub hash: String,
    /// Document number for the registration event, if the record carries one.
    pub document_no: Option<String>,
}

/// A rejected source record, kept with its reason.
#[derive(Debug, Clone)]
pub struct RejectRow {
    /// 0-based index in the source layer.
    pub feature_index: usize,
    /// Source feature id.
    pub source_fid: Option<u64>,
    /// Key value, if it could be read.
    pub key: Option<String>,
    /// The field at fault, if one.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
    /// The source attributes as JSON.
    pub attributes: String,
    /// Geometry in the registry CRS when it could be transformed.
    pub geometry: Option<geo::Geometry<f64>>,
}

/// Everything an import will write.
#[derive(Debug, Clone)]
pub struct PreparedImport {
    /// Layer kind.
    pub layer: LayerKind,
    /// Vintage date.
    pub as_of: AsOf,
    /// Valid records.
    pub records: Vec<PreparedRecord>,
    /// Rejected records (written only with keep-going).
    pub rejects: Vec<RejectRow>,
    /// Source path as given.
    pub source_path: String,
    /// SHA-256 of the source file(s).
    pub source_sha256: String,
    /// Source layer name.
    pub source_layer: String,
    /// GDAL driver.
    pub driver: String,
    /// Profile name.
    pub profile: String,
    /// Source CRS definition.
    pub source_crs: String,
    /// Encoding used.
    pub encoding: String,
    /// `atomic` or `keep-going`.
    pub mode: String,
    /// Features read.
    pub read_count: usize,
    /// Geometries repaired.
    pub repaired: usize,
    /// Who ran the import (registrar for events).
    pub user: String,
    /// Reason recorded on registration events.
    pub reason: String,
    /// Changed units are corrections of errors (更正登记) rather than changes (变更登记).
    pub correction: bool,
    /// When the import started.
    pub started_at: String,
    /// County code of a scoped vintage (a prefix of the layer's scope field); None: the whole layer.
    pub scope: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct ImportOutcome {
    /// Import id in the log.
    pub import_id: i64,
    /// Records inserted (new or changed).
    pub inserted: usize,
    /// Records unchanged and kept open.
    pub unchanged: usize,
    /// Of the unchanged records, those whose bookkeeping fields (SJNF …) took new values, kept in
    /// `nr_bookkeeping` instead of a new version.
    pub bookkeeping: usize,
    /// Records closed.
    pub closed: usize,
    /// Open records missing from the valid records that stay open because their source record was rejected
    /// (or because a rejected record's key could not be read, so any of them may be it).
    pub kept_open: usize,
    /// Rejects stored.
    pub rejected: usize,
    /// Registration events recorded.
    pub events: usize,
}

impl Registry {
    /// Store a prepared import as one transaction.
    pub fn apply(&mut self, imp: &PreparedImport, progress: &Progress) -> Result<ImportOutcome> {
        let def = self.catalog.layer(imp.layer).clone();
        let t = imp.layer.name();
        let as_of = imp.as_of.format("%Y-%m-%d").to_string();
        let fault = FaultPause::from_env();
        if fault.is_some() {
            // fault injection: a tiny page cache makes the transaction spill into the file before the pause, so
            // an interrupted import exercises SQLite's hot-journal rollback, as a large real import would
            self.conn.execute_batch("PRAGMA cache_size = -64;")?;
        } else {
            // a page cache big enough for the whole transaction (1 GiB at most, allocated as used): SQLite's
            // default 2 MB spills dirty pages to the file and journal again and again during a large import
            self.conn.execute_batch("PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY;")?;
        }
        // IMMEDIATE: take the write lock before the date-order checks, so that a second import of the layer
        // started at the same time waits for this one and then checks against it (never interleaves), and
        // the import id reserved here stays ours
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| super::locked_or(&self.path, e))?;
        match &imp.scope {
            None => {
                if let Some(last) = self.vintages(imp.layer)?.last() {
                    if imp.as_of <= *last {
                        return Err(Error::Invalid(format!(
                            "layer {t} already has a vintage as of {last}; vintages are added in date order and never replaced, \
                             so --as-of must be after {last}"
                        )));
                    }
                }
            }
            Some(scope) => {
                check_scope(scope)?;
                let whole: Option<String> =
                    self.conn.query_row("SELECT max(as_of) FROM nr_vintages WHERE layer = ?1", [t], |r| r.get(0))?;
                if let Some(last) = whole.filter(|l| l.as_str() >= as_of.as_str()) {
                    return Err(Error::Invalid(format!(
                        "layer {t} has a whole-layer vintage as of {last}; a county's vintage (--scope {scope}) must be after it"
                    )));
                }
                // vintages of this scope, or of one containing it or contained in it, come in date order
                for (other, d, _) in self.scoped_vintages(imp.layer)? {
                    if (other.starts_with(scope.as_str()) || scope.starts_with(other.as_str())) && imp.as_of <= d {
                        return Err(Error::Invalid(format!(
                            "layer {t} already has a vintage of scope {other} as of {d}; a scope's vintages are added in date \
                             order and never replaced, so --as-of must be after {d}"
                        )));
                    }
                }
                let si = def.scope_index();
                if let Some(r) = imp.records.iter().find(|r| !r.values[si].to_string().starts_with(scope.as_str())) {
                    return Err(Error::Invalid(format!(
                        "record {} is outside the import's scope {scope} ({})",
                        r.key,
                        def.scope_field()
                    )));
                }
            }
        }
        // the open records this vintage replaces: the whole layer, or the scope's
        let (scope_sql, scope_param) = match &imp.scope {
            None => (String::new(), String::new()),
            Some(s) => (format!(" AND substr(\"{}\", 1, {}) = ?1", def.scope_field(), s.chars().count()), s.clone()),
        };
        let scope_params: Vec<&str> = if imp.scope.is_some() { vec![scope_param.as_str()] } else { vec![] };
        // records registered one by one (units) after this date cannot be closed by it
        let latest: Option<String> = self.conn.query_row(
            &format!("SELECT max(valid_from) FROM {t} WHERE valid_to IS NULL{scope_sql}"),
            params_from_iter(scope_params.iter()),
            |r| r.get(0),
        )?;
        if let Some(latest) = latest.filter(|l| l.as_str() >= as_of.as_str()) {
            return Err(Error::Invalid(format!(
                "layer {t} has records valid from {latest} (registered after its last vintage); --as-of must be after {latest}"
            )));
        }
        let srs_id = self.srs_id;
        let t0 = std::time::Instant::now();
        let lap = |what: &str| crate::progress::lap(t0, &format!("  store: {what}"));
        let import_id: i64 =
            tx.query_row("SELECT coalesce(max(import_id), 0) + 1 FROM nr_imports", [], |r| r.get(0))?;

        // open records before this vintage: key → (fid, hash, in this vintage's snapshot)
        let key_col = format!("\"{}\"", def.key);
        let mut open: HashMap<String, (i64, String, bool)> = HashMap::new();
        {
            let mut st =
                tx.prepare(&format!("SELECT {key_col}, fid, rec_hash FROM {t} WHERE valid_to IS NULL{scope_sql}"))?;
            let rows = st.query_map(params_from_iter(scope_params.iter()), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
            })?;
            for row in rows {
                let (k, fid, h) = row?;
                open.insert(k, (fid, h, false));
            }
        }
        // the bookkeeping values the open records show now (their own, or the latest kept for them)
        let bookkeeping = def.bookkeeping_indices();
        let shown = if bookkeeping.is_empty() {
            HashMap::new()
        } else {
            super::bookkeeping::shown(&tx, &def, &scope_sql, &scope_params)?
        };
        // a registry created before bookkeeping fields were left out of the record hash stores hashes over
        // every field: a record is unchanged when its hash with the bookkeeping values it shows is the stored one
        let whole_hashes = !bookkeeping.is_empty() && !self.hashes_leave_out_bookkeeping()?;
        let same_as_whole = |stored: &str, fid: i64, rec: &PreparedRecord| {
            whole_hashes
                && shown.get(&fid).is_some_and(|bk| {
                    let mut values = rec.values.clone();
                    for (k, &i) in bookkeeping.iter().enumerate() {
                        values[i] = bk[k].clone();
                    }
                    crate::hashing::content_hash(&values, &rec.geometry) == stored
                })
        };
        lap("open records read");
        let cols: Vec<String> = def.fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
        let insert_sql = format!(
            "INSERT INTO {t} (geom, {}, valid_from, valid_to, import_id, area_ell, area_gk, rec_hash) VALUES ({})",
            cols.join(", "),
            (1..=cols.len() + 7).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
        );
        // the GeoPackage R-tree is filled here from the envelopes we already have, instead of by its insert
        // trigger (which decodes each blob four times through ST_MinX…); the trigger is dropped and re-created
        // inside this transaction, so the registry never exists without it
        let trigger_name = format!("rtree_{t}_geom_insert");
        let trigger_sql: Option<String> = tx
            .query_row("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1", [&trigger_name], |r| {
                r.get(0)
            })
            .optional()?;
        if trigger_sql.is_some() {
            tx.execute_batch(&format!("DROP TRIGGER \"{trigger_name}\""))?;
        }
        let mut out = ImportOutcome { import_id, ..Default::default() };
        let mut boxes: Vec<(i64, [f64; 4])> = Vec::new();
        let now = chrono::Utc::now().to_rfc3339();
        {
            let mut ins = tx.prepare(&insert_sql)?;
            let mut close = tx.prepare(&format!("UPDATE {t} SET valid_to = ?1 WHERE fid = ?2"))?;
            let mut rtree =
                tx.prepare(&format!("INSERT OR REPLACE INTO rtree_{t}_geom VALUES (?1, ?2, ?3, ?4, ?5)"))?;
            let mut event = tx.prepare(
                "INSERT INTO nr_events (unit_code, event_type, event_date, registrar, reason, document_no, import_id, old_fid, new_fid, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            // the blobs of the records to insert (new or changed) are encoded in parallel, a batch at a time
            let changed = |open: &HashMap<String, (i64, String, bool)>, rec: &PreparedRecord| {
                open.get(&rec.key).is_none_or(|(fid, h, _)| *h != rec.hash && !same_as_whole(h, *fid, rec))
            };
            // the batch's blobs by position in the batch (None: the record is unchanged)
            let mut blobs: Vec<Option<Vec<u8>>> = Vec::new();
            for (n, rec) in imp.records.iter().enumerate() {
                if n % ENCODE_BATCH == 0 {
                    use rayon::prelude::*;
                    let end = (n + ENCODE_BATCH).min(imp.records.len());
                    blobs = imp.records[n..end]
                        .par_iter()
                        .map(|r| changed(&open, r).then(|| blob::encode(&r.geometry, srs_id)))
                        .collect();
                }
                // the snapshot holds the key: its open record is not closed as gone (a map of the open
                // records marked, rather than a set of a million keys: a vintage's first import has none)
                let prev = open.get_mut(&rec.key).map(|(fid, h, seen)| {
                    *seen = true;
                    (*fid, &*h)
                });
                if let Some((fid, h)) = prev {
                    if *h == rec.hash || same_as_whole(h, fid, rec) {
                        out.unchanged += 1;
                        if super::bookkeeping::keep(
                            &tx,
                            &def,
                            &bookkeeping,
                            shown.get(&fid),
                            fid,
                            &as_of,
                            import_id,
                            &rec.values,
                        )? {
                            out.bookkeeping += 1;
                        }
                        progress.inc(1);
                        continue;
                    }
                }
                let old_fid = prev.map(|(fid, _)| fid);
                if let Some(fid) = old_fid {
                    close.execute(params![as_of, fid])?;
                    out.closed += 1;
                }
                // parameters bound by reference (no boxed copies of every value)
                let geom = blobs[n % ENCODE_BATCH].take().expect("encoded with its batch");
                ins.raw_bind_parameter(1, geom.as_slice())?;
                for (k, v) in rec.values.iter().enumerate() {
                    bind_value(&mut ins, k + 2, v)?;
                }
                let m = rec.values.len() + 2;
                ins.raw_bind_parameter(m, as_of.as_str())?;
                ins.raw_bind_parameter(m + 1, rusqlite::types::Null)?;
                ins.raw_bind_parameter(m + 2, import_id)?;
                ins.raw_bind_parameter(m + 3, rec.areas.ellipsoidal)?;
                ins.raw_bind_parameter(m + 4, rec.areas.planar)?;
                ins.raw_bind_parameter(m + 5, rec.hash.as_str())?;
                ins.raw_execute()?;
                let new_fid = tx.last_insert_rowid();
                if let Some(r) = rec.geometry.bounding_rect() {
                    boxes.push((new_fid, crate::geometry::index::envelope(r)));
                }
                out.inserted += 1;
                if def.registration {
                    let ty = match (old_fid, imp.correction) {
                        (None, _) => EventType::First,
                        (Some(_), false) => EventType::Change,
                        (Some(_), true) => EventType::Correct,
                    };
                    event.execute(params![
                        rec.key,
                        ty.label(),
                        as_of,
                        imp.user,
                        imp.reason,
                        rec.document_no,
                        import_id,
                        old_fid,
                        new_fid,
                        now
                    ])?;
                    out.events += 1;
                }
                progress.inc(1);
                if let Some(f) = fault.filter(|f| f.after == n + 1) {
                    f.pause();
                }
            }
            lap("rows inserted");
            // the R-tree: a few entries go in one by one; many, and the whole tree is packed again (SQLite's
            // one-at-a-time insert was most of a large import's store; store::rtree)
            let stored: i64 = tx.query_row(&format!("SELECT count(*) FROM rtree_{t}_geom_rowid"), [], |r| r.get(0))?;
            if boxes.len() >= RTREE_PACK_MIN && boxes.len() as i64 * 8 >= stored {
                let mut entries: Vec<super::rtree::Entry> = {
                    let mut st = tx.prepare(&format!("SELECT id, minx, maxx, miny, maxy FROM rtree_{t}_geom"))?;
                    let rows = st.query_map([], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            [
                                r.get::<_, f64>(1)? as f32,
                                r.get::<_, f64>(2)? as f32,
                                r.get::<_, f64>(3)? as f32,
                                r.get::<_, f64>(4)? as f32,
                            ],
                        ))
                    })?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                entries.extend(boxes.iter().map(|(fid, b)| (*fid, super::rtree::stored_box(*b))));
                super::rtree::rebuild(&tx, &format!("rtree_{t}_geom"), entries)?;
            } else {
                for (fid, b) in &boxes {
                    rtree.execute(params![fid, b[0], b[1], b[2], b[3]])?;
                }
            }
            lap("R-tree");
            // a rejected source record's stored record stays open: the rejected record may be its successor,
            // changed or not; a rejected record without a readable key may be any of them
            for r in &imp.rejects {
                if let Some((_, _, seen)) = r.key.as_ref().and_then(|k| open.get_mut(k)) {
                    if !*seen {
                        *seen = true;
                        out.kept_open += 1;
                    }
                }
            }
            if imp.rejects.iter().any(|r| r.key.is_none()) {
                for (_, _, seen) in open.values_mut().filter(|(_, _, seen)| !*seen) {
                    *seen = true;
                    out.kept_open += 1;
                }
            }
            // records missing from the snapshot are closed (for units: cancelled)
            let mut gone: Vec<(&String, &(i64, String, bool))> =
                open.iter().filter(|(_, (_, _, seen))| !seen).collect();
            gone.sort();
            for (k, (fid, _, _)) in gone {
                close.execute(params![as_of, fid])?;
                out.closed += 1;
                if def.registration {
                    event.execute(params![
                        k,
                        EventType::Cancel.label(),
                        as_of,
                        imp.user,
                        imp.reason,
                        Option::<String>::None,
                        import_id,
                        fid,
                        Option::<i64>::None,
                        now
                    ])?;
                    out.events += 1;
                }
            }
            let mut rej = tx.prepare(
                "INSERT INTO rejects (geom, import_id, layer, source_path, feature_index, source_fid, record_key, field, reason, attributes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for r in &imp.rejects {
                rej.execute(params![
                    r.geometry.as_ref().map(|g| blob::encode_any(g, srs_id)),
                    import_id,
                    t,
                    imp.source_path,
                    r.feature_index as i64,
                    r.source_fid.map(|f| f as i64),
                    r.key,
                    r.field,
                    r.reason,
                    r.attributes
                ])?;
                out.rejected += 1;
            }
        }
        if let Some(sql) = trigger_sql {
            tx.execute_batch(&sql)?;
        }
        match &imp.scope {
            None => tx.execute(
                "INSERT INTO nr_vintages (layer, as_of, import_id) VALUES (?1, ?2, ?3)",
                params![t, as_of, import_id],
            )?,
            Some(scope) => tx.execute(
                "INSERT INTO nr_scoped_vintages (layer, scope, as_of, import_id) VALUES (?1, ?2, ?3, ?4)",
                params![t, scope, as_of, import_id],
            )?,
        };
        // the log row goes in last, with its final counts (nr_imports is append-only)
        tx.execute(
            "INSERT INTO nr_imports (import_id, layer, as_of, source_path, source_sha256, source_layer, driver, profile, source_crs,
               encoding, mode, read_count, inserted, unchanged, closed, rejected, repaired, user, tool_version, started_at, finished_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            params![
                import_id, t, as_of, imp.source_path, imp.source_sha256, imp.source_layer, imp.driver, imp.profile,
                imp.source_crs, imp.encoding, imp.mode, imp.read_count as i64, out.inserted as i64, out.unchanged as i64,
                out.closed as i64, out.rejected as i64, imp.repaired as i64, imp.user, env!("CARGO_PKG_VERSION"),
                imp.started_at, chrono::Utc::now().to_rfc3339()
            ],
        )?;
        // the layer's extent: no R-tree entry is ever removed (records are closed, not deleted), so it is the
        // stored extent widened by the boxes just added, as the R-tree stores them (four scans of a
        // 1 000 000-entry R-tree took a second); a layer without a stored extent is scanned
        // a box as SQLite gives it (min x, max x, min y, max y), None while any of them is null
        let box_of = |r: &rusqlite::Row| -> rusqlite::Result<Option<[f64; 4]>> {
            Ok(match (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?) {
                (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
                _ => None,
            })
        };
        let stored_extent =
            tx.query_row("SELECT min_x, max_x, min_y, max_y FROM gpkg_contents WHERE table_name = ?1", [t], box_of)?;
        let extent: Option<[f64; 4]> = match stored_extent {
            Some(e) => Some(boxes.iter().fold(e, |e, (_, b)| {
                let s = super::rtree::stored_box(*b).map(f64::from);
                [e[0].min(s[0]), e[1].max(s[1]), e[2].min(s[2]), e[3].max(s[3])]
            })),
            None => tx.query_row(
                &format!("SELECT min(minx), max(maxx), min(miny), max(maxy) FROM rtree_{t}_geom"),
                [],
                box_of,
            )?,
        };
        let [min_x, max_x, min_y, max_y] = extent.map_or([None; 4], |e| e.map(Some));
        tx.execute(
            &format!(
                "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'),
                   min_x = ?1, max_x = ?2, min_y = ?3, max_y = ?4 WHERE table_name IN ('{t}', '{t}_current')"
            ),
            params![min_x, max_x, min_y, max_y],
        )?;
        lap("extents");
        tx.commit()?;
        lap("committed");
        Ok(out)
    }
}

/// The fault-injection seam of the interrupted-import and concurrent-import tests: with
/// `NRLEDGER_FAULT_PAUSE_AFTER=N` an import stops inside its transaction after N records for
/// `NRLEDGER_FAULT_PAUSE_SECS` seconds (an hour by default: the test kills it), saying so on stderr.
#[derive(Debug, Clone, Copy)]
struct FaultPause {
    after: usize,
    secs: u64,
}

impl FaultPause {
    fn from_env() -> Option<FaultPause> {
        let after = std::env::var("NRLEDGER_FAULT_PAUSE_AFTER").ok()?.parse().ok()?;
        let secs = std::env::var("NRLEDGER_FAULT_PAUSE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(3600);
        Some(FaultPause { after, secs })
    }

    fn pause(self) {
        eprintln!("NRLEDGER_FAULT_PAUSE reached after {} records", self.after);
        std::thread::sleep(std::time::Duration::from_secs(self.secs));
    }
}

/// Refuse a scope that cannot name a county: empty, or with white space.
pub fn check_scope(scope: &str) -> Result<()> {
    if scope.is_empty() || scope.chars().any(char::is_whitespace) {
        return Err(Error::Invalid(format!(
            "--scope '{scope}': a scope is a county code, the non-empty prefix of the records' scope field"
        )));
    }
    Ok(())
}

/// Records whose blobs are encoded together (in parallel) before they are inserted (small enough that the
/// tests' imports cross batch boundaries).
const ENCODE_BATCH: usize = 1024;

/// Bind a value to parameter `i` of a statement, by reference.
fn bind_value(st: &mut rusqlite::Statement<'_>, i: usize, v: &Value) -> rusqlite::Result<()> {
    match v {
        Value::Null => st.raw_bind_parameter(i, rusqlite::types::Null),
        Value::Int(x) => st.raw_bind_parameter(i, *x),
        Value::Real(x) => st.raw_bind_parameter(i, *x),
        Value::Text(t) => st.raw_bind_parameter(i, t.as_str()),
    }
}

/// A value as SQLite stores it.
pub(super) fn sql_value(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Real(r) => rusqlite::types::Value::Real(*r),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}
