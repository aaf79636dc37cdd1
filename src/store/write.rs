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

use rustc_hash::FxHashMap;

use geo::BoundingRect;
use rusqlite::{params, params_from_iter, OptionalExtension};

use super::Registry;
use crate::area::Areas;
use crate::catalog::LayerDef;
use crate::error::{Error, Result};
use crate::io::blob;
use crate::model::{AsOf, EventType, LayerKind, Value};

/// New records from which an import packs the layer's R-tree again instead of inserting them one by one
/// (when they are also at least an eighth of the entries already there: packing costs about a tenth of an
/// insert per entry, old or new).
const RTREE_PACK_MIN: usize = 1024;

/// The page cache of an import's transaction, KiB.
const PAGE_CACHE_KIB: i64 = 64 * 1024;

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

/// Everything about an import but its records, known before they are read.
#[derive(Debug, Clone)]
pub struct ImportHead {
    /// Layer kind.
    pub layer: LayerKind,
    /// Vintage date.
    pub as_of: AsOf,
    /// Source path as given.
    pub source_path: String,
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

/// What an import knows once it has read every record.
#[derive(Debug, Clone)]
pub struct ImportTail {
    /// SHA-256 of the source file(s).
    pub source_sha256: String,
    /// Features read.
    pub read_count: usize,
    /// Geometries repaired.
    pub repaired: usize,
    /// Rejected records (written only with keep-going).
    pub rejects: Vec<RejectRow>,
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
    /// Store an import as one transaction, its records fed a batch at a time by `feed` through a [`Sink`]:
    /// the page cache is sized, the write lock taken and the vintage's date order checked under it; the
    /// open records it replaces are read; `feed` writes the records (unchanged ones kept, changed ones
    /// closed and inserted, events recorded) and ends with the import's [`ImportTail`], or with None when
    /// nothing is to be kept; then the R-tree is filled, records missing from the snapshot closed, rejects
    /// stored, the vintage and the import logged, the layer's extent widened, and it commits. None from
    /// `feed`, or any error, rolls it all back.
    pub fn apply<F>(&self, head: &ImportHead, feed: F) -> Result<Option<ImportOutcome>>
    where
        F: FnOnce(&mut Sink<'_>) -> Result<Option<ImportTail>>,
    {
        let def = self.catalog.layer(head.layer).clone();
        let fault = fault::Pause::requested();
        self.size_page_cache(fault.is_some())?;
        // IMMEDIATE: take the write lock before the date-order checks, so that a second import of the layer
        // started at the same time waits for this one and then checks against it (never interleaves), and
        // the import id reserved here stays ours
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| super::locked_or(&self.path, e))?;
        let scope = Scope::of(head, &def);
        self.check_date_order(head, &scope)?;
        let t0 = std::time::Instant::now();
        let lap = |what: &str| crate::progress::lap(t0, &format!("  store: {what}"));
        let import_id: i64 =
            tx.query_row("SELECT coalesce(max(import_id), 0) + 1 FROM nr_imports", [], |r| r.get(0))?;
        let open = open_records(&tx, &def, &scope)?;
        let same = Sameness::read(self, &tx, &def, &scope)?;
        lap("open records read");
        let trigger = RtreeTrigger::suspend(&tx, head.layer)?;
        let writer = Writer { tx: &tx, imp: head, def: &def, import_id, as_of: day(head.as_of), srs_id: self.srs_id };
        let mut sink = Sink {
            writer,
            open,
            same,
            out: ImportOutcome { import_id, ..Default::default() },
            boxes: Vec::new(),
            fault,
            written: 0,
        };
        let Some(tail) = feed(&mut sink)? else { return Ok(None) };
        let Sink { writer, mut open, mut out, boxes, .. } = sink;
        lap("rows inserted");
        fill_rtree(&tx, head.layer, &boxes)?;
        lap("R-tree");
        keep_rejected_open(&tail.rejects, &mut open, &mut out);
        writer.close_missing(&open, &mut out)?;
        writer.rejects(&tail.rejects, &mut out)?;
        trigger.restore(&tx)?;
        writer.log(&out, &tail)?;
        widen_extent(&tx, head.layer, &boxes)?;
        lap("extents");
        tx.commit()?;
        lap("committed");
        Ok(Some(out))
    }

    /// A page cache of [`PAGE_CACHE_KIB`] (allocated as used): SQLite's default 2 MB spills dirty pages to
    /// the write-ahead log again and again during a large import, a cache as large as the import held it all
    /// in memory; with this one a large import spills its pages in large runs. Under fault injection a tiny
    /// one makes the transaction spill into the file before the pause, so an interrupted import exercises
    /// SQLite's rollback, as a large real import would.
    fn size_page_cache(&self, tiny: bool) -> Result<()> {
        Ok(self.conn.execute_batch(&if tiny {
            "PRAGMA cache_size = -64;".to_string()
        } else {
            format!("PRAGMA cache_size = -{PAGE_CACHE_KIB}; PRAGMA temp_store = MEMORY;")
        })?)
    }

    /// Refuse a vintage out of date order (checked under the write lock): a whole-layer vintage after the
    /// last one; a scoped one after the last whole-layer vintage and every vintage of a scope containing or
    /// contained in it, with every record inside its scope; either after every record registered one by
    /// one since (units), which it could not close. (Each record's scope is checked as it is written.)
    fn check_date_order(&self, imp: &ImportHead, scope: &Scope) -> Result<()> {
        let t = imp.layer.name();
        let as_of = day(imp.as_of);
        match &imp.scope {
            None => {
                if let Some(last) = self.vintages(imp.layer)?.last().filter(|last| imp.as_of <= **last) {
                    return Err(Error::Invalid(format!(
                        "layer {t} already has a vintage as of {last}; vintages are added in date order and never replaced, \
                         so --as-of must be after {last}"
                    )));
                }
            }
            Some(s) => self.check_scoped_order(imp, s)?,
        }
        let latest: Option<String> = self.conn.query_row(
            &format!("SELECT max(valid_from) FROM {t} WHERE valid_to IS NULL{}", scope.sql),
            params_from_iter(scope.params()),
            |r| r.get(0),
        )?;
        if let Some(latest) = latest.filter(|l| l.as_str() >= as_of.as_str()) {
            return Err(Error::Invalid(format!(
                "layer {t} has records valid from {latest} (registered after its last vintage); --as-of must be after {latest}"
            )));
        }
        Ok(())
    }

    /// [`Registry::check_date_order`] for a county's vintage (`--scope`).
    fn check_scoped_order(&self, imp: &ImportHead, scope: &str) -> Result<()> {
        let t = imp.layer.name();
        check_scope(scope)?;
        let whole: Option<String> =
            self.conn.query_row("SELECT max(as_of) FROM nr_vintages WHERE layer = ?1", [t], |r| r.get(0))?;
        if let Some(last) = whole.filter(|l| l.as_str() >= day(imp.as_of).as_str()) {
            return Err(Error::Invalid(format!(
                "layer {t} has a whole-layer vintage as of {last}; a county's vintage (--scope {scope}) must be after it"
            )));
        }
        // vintages of this scope, or of one containing it or contained in it, come in date order
        for (other, d, _) in self.scoped_vintages(imp.layer)? {
            if (other.starts_with(scope) || scope.starts_with(other.as_str())) && imp.as_of <= d {
                return Err(Error::Invalid(format!(
                    "layer {t} already has a vintage of scope {other} as of {d}; a scope's vintages are added in date \
                     order and never replaced, so --as-of must be after {d}"
                )));
            }
        }
        Ok(())
    }
}

/// A date as the registry stores it.
fn day(d: AsOf) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The open records a vintage replaces, as an SQL condition: the whole layer, or the scope's.
struct Scope {
    /// ` AND substr(scope field, 1, n) = ?1`, or empty.
    sql: String,
    /// The scope, bound as `?1`.
    value: Option<String>,
}

impl Scope {
    fn of(imp: &ImportHead, def: &LayerDef) -> Scope {
        match &imp.scope {
            None => Scope { sql: String::new(), value: None },
            Some(s) => Scope {
                sql: format!(" AND substr(\"{}\", 1, {}) = ?1", def.scope_field(), s.chars().count()),
                value: Some(s.clone()),
            },
        }
    }

    fn params(&self) -> Vec<&str> {
        self.value.iter().map(String::as_str).collect()
    }
}

/// An open record before this vintage: its fid, its record hash, and whether this vintage's snapshot holds
/// its key (a map of the open records marked, rather than a set of a million keys: a vintage's first import
/// has none).
/// The record hash is kept as its 32 bytes (None: not a SHA-256 in hex, so no delivered record equals it):
/// a million open records are held through a whole import.
struct Open {
    fid: i64,
    hash: Option<[u8; 32]>,
    seen: bool,
}

/// The open records before this vintage, by key.
type OpenRecords = FxHashMap<Box<str>, Open>;

/// A record hash (SHA-256 in hex) as its bytes.
fn hash_bytes(hex: &str) -> Option<[u8; 32]> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(hex, &mut b).ok().map(|()| b)
}

/// The open records before this vintage, by key.
fn open_records(tx: &rusqlite::Transaction, def: &LayerDef, scope: &Scope) -> Result<OpenRecords> {
    let mut st = tx.prepare(&format!(
        "SELECT \"{}\", fid, rec_hash FROM {} WHERE valid_to IS NULL{}",
        def.key,
        def.kind.name(),
        scope.sql
    ))?;
    let mut open = OpenRecords::default();
    let mut rows = st.query(params_from_iter(scope.params()))?;
    while let Some(r) = rows.next()? {
        let hash = r.get_ref(2)?.as_str().ok().and_then(hash_bytes);
        open.insert(r.get::<_, String>(0)?.into_boxed_str(), Open { fid: r.get(1)?, hash, seen: false });
    }
    Ok(open)
}

/// What decides whether a delivered record is its open predecessor unchanged: the record hash (which leaves
/// the bookkeeping fields out), and for a registry created before it did, the hash over every field with the
/// bookkeeping values the open record shows.
struct Sameness {
    /// Positions of the bookkeeping fields.
    bookkeeping: Vec<usize>,
    /// The bookkeeping values the open records show now (their own, or the latest kept for them), by fid.
    shown: super::bookkeeping::ShownNow,
    /// Stored hashes are over every field.
    whole_hashes: bool,
}

impl Sameness {
    fn read(reg: &Registry, tx: &rusqlite::Transaction, def: &LayerDef, scope: &Scope) -> Result<Sameness> {
        let bookkeeping = def.bookkeeping_indices();
        let shown = if bookkeeping.is_empty() {
            Default::default()
        } else {
            super::bookkeeping::shown(tx, def, &scope.sql, &scope.params())?
        };
        let whole_hashes = !bookkeeping.is_empty() && !reg.hashes_leave_out_bookkeeping()?;
        Ok(Sameness { bookkeeping, shown, whole_hashes })
    }

    /// `rec` is the open record `open` unchanged.
    fn same(&self, open: &Open, rec: &PreparedRecord) -> bool {
        open.hash.is_some() && open.hash == hash_bytes(&rec.hash)
            || self.whole_hashes
                && self.shown.get(&open.fid).is_some_and(|bk| {
                    let mut values = rec.values.clone();
                    for (k, &i) in self.bookkeeping.iter().enumerate() {
                        values[i] = bk[k].clone();
                    }
                    open.hash.is_some()
                        && hash_bytes(&crate::hashing::content_hash(&values, &rec.geometry)) == open.hash
                })
    }
}

/// The GeoPackage R-tree's insert trigger, dropped while an import fills the R-tree from the envelopes it
/// already has (the trigger decodes each blob four times through ST_MinX…) and re-created inside the same
/// transaction, so the registry never exists without it.
struct RtreeTrigger(Option<String>);

impl RtreeTrigger {
    fn suspend(tx: &rusqlite::Transaction, kind: LayerKind) -> Result<RtreeTrigger> {
        let name = format!("rtree_{}_geom_insert", kind.name());
        let sql: Option<String> = tx
            .query_row("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1", [&name], |r| r.get(0))
            .optional()?;
        if sql.is_some() {
            tx.execute_batch(&format!("DROP TRIGGER \"{name}\""))?;
        }
        Ok(RtreeTrigger(sql))
    }

    fn restore(self, tx: &rusqlite::Transaction) -> Result<()> {
        if let Some(sql) = self.0 {
            tx.execute_batch(&sql)?;
        }
        Ok(())
    }
}

/// The writes of one import, inside its transaction.
struct Writer<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    imp: &'a ImportHead,
    def: &'a LayerDef,
    import_id: i64,
    as_of: String,
    srs_id: i32,
}

/// SQL recording a registration event.
const EVENT_SQL: &str = "INSERT INTO nr_events (unit_code, event_type, event_date, registrar, reason, document_no, \
     import_id, old_fid, new_fid, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// Where an import's records go, a batch at a time, inside its transaction ([`Registry::apply`]).
pub struct Sink<'a> {
    writer: Writer<'a>,
    open: OpenRecords,
    same: Sameness,
    out: ImportOutcome,
    /// The boxes of the rows inserted, for the R-tree.
    boxes: Vec<(i64, [f64; 4])>,
    fault: Option<fault::Pause>,
    /// Records written so far.
    written: usize,
}

impl Sink<'_> {
    /// Write a batch of the delivered records: an unchanged one keeps its open record (and new bookkeeping
    /// values); a changed one closes it; new and changed ones are inserted (with a registration event for
    /// units). A record outside a scoped vintage's scope is refused.
    pub fn write(&mut self, records: &[PreparedRecord]) -> Result<()> {
        self.in_scope(records)?;
        let w = &self.writer;
        let t = w.imp.layer.name();
        let cols: Vec<String> = w.def.fields.iter().map(|f| format!("\"{}\"", f.name)).collect();
        let mut ins = w.tx.prepare_cached(&format!(
            "INSERT INTO {t} (geom, {}, valid_from, valid_to, import_id, area_ell, area_gk, rec_hash) VALUES ({})",
            cols.join(", "),
            (1..=cols.len() + 7).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
        ))?;
        let mut close = w.tx.prepare_cached(&format!("UPDATE {t} SET valid_to = ?1 WHERE fid = ?2"))?;
        let mut event = w.tx.prepare_cached(EVENT_SQL)?;
        let now = chrono::Utc::now().to_rfc3339();
        let (same, srs_id) = (&self.same, w.srs_id);
        // the blob of a record to insert is encoded here, on the writing thread (the import prepares the next
        // batch on every core meanwhile)
        let mut geom = Vec::new();
        for (n, rec) in records.iter().enumerate() {
            let prev = self.open.get_mut(rec.key.as_str()).map(|o| {
                o.seen = true;
                &*o
            });
            if let Some(o) = prev.filter(|o| same.same(o, rec)) {
                self.out.unchanged += 1;
                let (shown, fid) = (same.shown.get(&o.fid).map(|v| &v[..]), o.fid);
                if super::bookkeeping::keep(
                    w.tx,
                    w.def,
                    &same.bookkeeping,
                    shown,
                    fid,
                    &w.as_of,
                    w.import_id,
                    &rec.values,
                )? {
                    self.out.bookkeeping += 1;
                }
                continue;
            }
            let old_fid = prev.map(|o| o.fid);
            if let Some(fid) = old_fid {
                close.execute(params![w.as_of, fid])?;
                self.out.closed += 1;
            }
            blob::encode_into(&rec.geometry, srs_id, &mut geom);
            let new_fid = w.insert(&mut ins, rec, &geom)?;
            if let Some(r) = rec.geometry.bounding_rect() {
                self.boxes.push((new_fid, crate::geometry::index::envelope(r)));
            }
            self.out.inserted += 1;
            if w.def.registration {
                let ty = match (old_fid, w.imp.correction) {
                    (None, _) => EventType::First,
                    (Some(_), false) => EventType::Change,
                    (Some(_), true) => EventType::Correct,
                };
                let (imp, id) = (w.imp, w.import_id);
                event.execute(params![
                    rec.key,
                    ty.label(),
                    w.as_of,
                    imp.user,
                    imp.reason,
                    rec.document_no,
                    id,
                    old_fid,
                    new_fid,
                    now
                ])?;
                self.out.events += 1;
            }
            // at the first record written at or past the point asked for (unchanged records write nothing)
            if let Some(f) = self.fault.filter(|f| self.written + n + 1 >= f.after) {
                self.fault = None;
                f.pause();
            }
        }
        self.written += records.len();
        Ok(())
    }

    /// Refuse a record of a scoped vintage outside its scope.
    fn in_scope(&self, records: &[PreparedRecord]) -> Result<()> {
        let (def, Some(scope)) = (self.writer.def, &self.writer.imp.scope) else { return Ok(()) };
        let si = def.scope_index();
        match records.iter().find(|r| !r.values[si].to_string().starts_with(scope.as_str())) {
            Some(r) => Err(Error::Invalid(format!(
                "record {} is outside the import's scope {scope} ({})",
                r.key,
                def.scope_field()
            ))),
            None => Ok(()),
        }
    }
}

impl Writer<'_> {
    /// Insert one record (its blob already encoded), parameters bound by reference (no boxed copies of
    /// every value); its new fid.
    fn insert(&self, ins: &mut rusqlite::Statement, rec: &PreparedRecord, geom: &[u8]) -> Result<i64> {
        ins.raw_bind_parameter(1, geom)?;
        for (k, v) in rec.values.iter().enumerate() {
            bind_value(ins, k + 2, v)?;
        }
        let m = rec.values.len() + 2;
        ins.raw_bind_parameter(m, self.as_of.as_str())?;
        ins.raw_bind_parameter(m + 1, rusqlite::types::Null)?;
        ins.raw_bind_parameter(m + 2, self.import_id)?;
        ins.raw_bind_parameter(m + 3, rec.areas.ellipsoidal)?;
        ins.raw_bind_parameter(m + 4, rec.areas.planar)?;
        ins.raw_bind_parameter(m + 5, rec.hash.as_str())?;
        ins.raw_execute()?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Close the open records the snapshot does not hold (for units: cancel them, 注销登记).
    fn close_missing(&self, open: &OpenRecords, out: &mut ImportOutcome) -> Result<()> {
        let mut close =
            self.tx.prepare(&format!("UPDATE {} SET valid_to = ?1 WHERE fid = ?2", self.imp.layer.name()))?;
        let mut event = self.tx.prepare(EVENT_SQL)?;
        let now = chrono::Utc::now().to_rfc3339();
        let mut gone: Vec<(&str, i64)> = open.iter().filter(|(_, o)| !o.seen).map(|(k, o)| (&**k, o.fid)).collect();
        gone.sort();
        for (k, fid) in gone {
            close.execute(params![self.as_of, fid])?;
            out.closed += 1;
            if self.def.registration {
                let imp = self.imp;
                event.execute(params![
                    k,
                    EventType::Cancel.label(),
                    self.as_of,
                    imp.user,
                    imp.reason,
                    Option::<String>::None,
                    self.import_id,
                    fid,
                    Option::<i64>::None,
                    now
                ])?;
                out.events += 1;
            }
        }
        Ok(())
    }

    /// Store the rejected records with their reasons.
    fn rejects(&self, rejects: &[RejectRow], out: &mut ImportOutcome) -> Result<()> {
        let imp = self.imp;
        let mut rej = self.tx.prepare(
            "INSERT INTO rejects (geom, import_id, layer, source_path, feature_index, source_fid, record_key, field, reason, attributes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for r in rejects {
            rej.execute(params![
                r.geometry.as_ref().map(|g| blob::encode_any(g, self.srs_id)),
                self.import_id,
                imp.layer.name(),
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
        Ok(())
    }

    /// Log the vintage (whole-layer or scoped) and, last, the import with its final counts (nr_imports is
    /// append-only).
    fn log(&self, out: &ImportOutcome, tail: &ImportTail) -> Result<()> {
        let (imp, t, as_of, import_id) = (self.imp, self.imp.layer.name(), &self.as_of, self.import_id);
        match &imp.scope {
            None => self.tx.execute(
                "INSERT INTO nr_vintages (layer, as_of, import_id) VALUES (?1, ?2, ?3)",
                params![t, as_of, import_id],
            )?,
            Some(scope) => self.tx.execute(
                "INSERT INTO nr_scoped_vintages (layer, scope, as_of, import_id) VALUES (?1, ?2, ?3, ?4)",
                params![t, scope, as_of, import_id],
            )?,
        };
        self.tx.execute(
            "INSERT INTO nr_imports (import_id, layer, as_of, source_path, source_sha256, source_layer, driver, profile, source_crs,
               encoding, mode, read_count, inserted, unchanged, closed, rejected, repaired, user, tool_version, started_at, finished_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            params![
                import_id, t, as_of, imp.source_path, tail.source_sha256, imp.source_layer, imp.driver, imp.profile,
                imp.source_crs, imp.encoding, imp.mode, tail.read_count as i64, out.inserted as i64, out.unchanged as i64,
                out.closed as i64, out.rejected as i64, tail.repaired as i64, imp.user, env!("CARGO_PKG_VERSION"),
                imp.started_at, chrono::Utc::now().to_rfc3339()
            ],
        )?;
        Ok(())
    }
}

/// A rejected source record's stored record stays open: the rejected record may be its successor, changed
/// or not; a rejected record without a readable key may be any of them.
fn keep_rejected_open(rejects: &[RejectRow], open: &mut OpenRecords, out: &mut ImportOutcome) {
    for r in rejects {
        if let Some(o) = r.key.as_deref().and_then(|k| open.get_mut(k)) {
            if !o.seen {
                o.seen = true;
                out.kept_open += 1;
            }
        }
    }
    if rejects.iter().any(|r| r.key.is_none()) {
        for o in open.values_mut().filter(|o| !o.seen) {
            o.seen = true;
            out.kept_open += 1;
        }
    }
}

/// Put the inserted rows' boxes in the layer's R-tree: a few one by one; many, and the whole tree is packed
/// again (SQLite's one-at-a-time insert was most of a large import's store; [`super::rtree`]).
fn fill_rtree(tx: &rusqlite::Transaction, kind: LayerKind, boxes: &[(i64, [f64; 4])]) -> Result<()> {
    let t = kind.name();
    let stored: i64 = tx.query_row(&format!("SELECT count(*) FROM rtree_{t}_geom_rowid"), [], |r| r.get(0))?;
    if boxes.len() >= RTREE_PACK_MIN && boxes.len() as i64 * 8 >= stored {
        let mut entries: Vec<super::rtree::Entry> = {
            let mut st = tx.prepare(&format!("SELECT id, minx, maxx, miny, maxy FROM rtree_{t}_geom"))?;
            let rows = st.query_map([], |r| {
                let c = |i: usize| r.get::<_, f64>(i).map(|v| v as f32);
                Ok((r.get::<_, i64>(0)?, [c(1)?, c(2)?, c(3)?, c(4)?]))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        entries.extend(boxes.iter().map(|(fid, b)| (*fid, super::rtree::stored_box(*b))));
        super::rtree::rebuild(tx, &format!("rtree_{t}_geom"), entries)?;
    } else {
        let mut rtree = tx.prepare(&format!("INSERT OR REPLACE INTO rtree_{t}_geom VALUES (?1, ?2, ?3, ?4, ?5)"))?;
        for (fid, b) in boxes {
            rtree.execute(params![fid, b[0], b[1], b[2], b[3]])?;
        }
    }
    Ok(())
}

/// Widen the layer's extent in `gpkg_contents` by the boxes just added, as the R-tree stores them: no R-tree
/// entry is ever removed (records are closed, not deleted), so the stored extent only grows (four scans of a
/// 1 000 000-entry R-tree took a second); a layer without a stored extent is scanned.
fn widen_extent(tx: &rusqlite::Transaction, kind: LayerKind, boxes: &[(i64, [f64; 4])]) -> Result<()> {
    let t = kind.name();
    // a box as SQLite gives it (min x, max x, min y, max y), None while any of them is null
    let box_of = |r: &rusqlite::Row| -> rusqlite::Result<Option<[f64; 4]>> {
        Ok(match (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?) {
            (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
            _ => None,
        })
    };
    let stored =
        tx.query_row("SELECT min_x, max_x, min_y, max_y FROM gpkg_contents WHERE table_name = ?1", [t], box_of)?;
    let extent: Option<[f64; 4]> = match stored {
        Some(e) => Some(boxes.iter().fold(e, |e, (_, b)| {
            let s = super::rtree::stored_box(*b).map(f64::from);
            [e[0].min(s[0]), e[1].max(s[1]), e[2].min(s[2]), e[3].max(s[3])]
        })),
        None => {
            tx.query_row(&format!("SELECT min(minx), max(maxx), min(miny), max(maxy) FROM rtree_{t}_geom"), [], box_of)?
        }
    };
    let [min_x, max_x, min_y, max_y] = extent.map_or([None; 4], |e| e.map(Some));
    tx.execute(
        &format!(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'),
               min_x = ?1, max_x = ?2, min_y = ?3, max_y = ?4 WHERE table_name IN ('{t}', '{t}_current')"
        ),
        params![min_x, max_x, min_y, max_y],
    )?;
    Ok(())
}

/// The fault-injection seam of the interrupted-import and concurrent-import tests, compiled only with the
/// `fault-injection` feature (`make test` builds with it; `make demo`, `make install` and a plain build do
/// not): with `NRLEDGER_FAULT_PAUSE_AFTER=N` an import stops inside its transaction after N records for
/// `NRLEDGER_FAULT_PAUSE_SECS` seconds (an hour by default: the test kills it), saying so on stderr.
mod fault {
    /// A pause inside the transaction.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Pause {
        pub(super) after: usize,
        #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
        secs: u64,
    }

    impl Pause {
        /// The pause the environment asks for (never without the feature).
        #[cfg(feature = "fault-injection")]
        pub(super) fn requested() -> Option<Pause> {
            let after = std::env::var("NRLEDGER_FAULT_PAUSE_AFTER").ok()?.parse().ok()?;
            let secs = std::env::var("NRLEDGER_FAULT_PAUSE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(3600);
            Some(Pause { after, secs })
        }

        /// The pause the environment asks for (never without the feature).
        #[cfg(not(feature = "fault-injection"))]
        pub(super) fn requested() -> Option<Pause> {
            None
        }

        pub(super) fn pause(self) {
            eprintln!("NRLEDGER_FAULT_PAUSE reached after {} records", self.after);
            std::thread::sleep(std::time::Duration::from_secs(self.secs));
        }
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
