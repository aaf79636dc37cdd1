//! The import pipeline: read a source a batch at a time → map its fields through a profile → validate every
//! record against the layer definition and the classification tables → reproject to the registry CRS →
//! compute areas → hand the batch's records to the store's [`crate::store::Sink`], all inside one
//! transaction ([`Registry::apply`]).
//!
//! Bad records are [`Problem`]s, never panics or early exits: all of them are found and reported together,
//! each naming the file, layer, feature, field and reason. In atomic mode (the default) one problem means
//! nothing is written; with `keep_going` the valid records are written and the rejects kept in the
//! registry's `rejects` layer.

mod fields;
mod fixed;
mod geometry;
mod plausibility;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::mpsc::{sync_channel, SyncSender};

use crate::catalog::{LayerDef, Profile};
use crate::error::{Error, Result};
use crate::hashing;
use crate::io::source::{self, SourceFeature, SourceGeometry, SourceInfo, SourceRequest, Take};
use crate::model::{AsOf, LayerKind, Value};
use crate::progress::Progress;
use crate::store::{ImportHead, ImportOutcome, ImportTail, PreparedRecord, Registry, RejectRow};

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// Target layer kind.
    pub layer: LayerKind,
    /// The source to read.
    pub source: SourceRequest,
    /// Vintage date.
    pub as_of: AsOf,
    /// Profile name or path (None: the layer's own field names).
    pub profile: Option<String>,
    /// CRS of the source when it declares none (or to override a wrong declaration).
    pub src_crs: Option<String>,
    /// Write valid records and keep rejects instead of refusing the whole import.
    pub keep_going: bool,
    /// With `keep_going`: the largest share of the source's records (percent) that may be rejected; above
    /// it nothing is written. An import whose every record is rejected never writes anything.
    pub max_rejected_percent: f64,
    /// Accept what is otherwise refused as probably wrong (a vintage date after today).
    pub force: bool,
    /// Who runs the import (registrar on registration events).
    pub user: String,
    /// Reason recorded on registration events.
    pub reason: Option<String>,
    /// Record changed units as corrections (更正登记).
    pub correction: bool,
    /// Import one county of a layer delivered county by county: the county code, a prefix of the layer's
    /// scope field ([`crate::catalog::LayerDef::scope_field`]). Only the open records with that prefix are
    /// compared with the source and closed; a source record without it is refused. None: the whole layer.
    pub scope: Option<String>,
}

impl ImportRequest {
    /// An atomic import of `source` into `layer` as the vintage of `as_of`, by `user` (None: unknown),
    /// with the layer's own profile or the one claiming the source layer; the other settings at their
    /// defaults (nothing kept going, at most 5 % rejected with `keep_going`, no future date).
    pub fn new(layer: LayerKind, source: SourceRequest, as_of: AsOf, user: Option<String>) -> ImportRequest {
        ImportRequest {
            layer,
            source,
            as_of,
            profile: None,
            src_crs: None,
            keep_going: false,
            max_rejected_percent: 5.0,
            force: false,
            user: user.unwrap_or_else(|| "unknown".into()),
            reason: None,
            correction: false,
            scope: None,
        }
    }
}

/// One thing wrong with one source record.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// Source file.
    pub file: String,
    /// Source layer.
    pub layer: String,
    /// 0-based feature index in the source layer.
    pub feature_index: usize,
    /// Source feature id, if the format has one.
    pub fid: Option<u64>,
    /// Key value of the record, if readable.
    pub key: Option<String>,
    /// Field at fault (`geometry` for geometry problems).
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: layer {}: feature #{}", self.file, self.layer, self.feature_index)?;
        if let Some(fid) = self.fid {
            write!(f, " (fid {fid})")?;
        }
        if let Some(k) = &self.key {
            write!(f, " [{k}]")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field {field}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The result of an import.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ImportReport {
    /// What was written (None when nothing was).
    pub outcome: Option<ImportOutcome>,
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// Features read.
    pub read: usize,
    /// Source layer read.
    pub source_layer: String,
    /// Attribute encoding used.
    pub encoding: String,
    /// Source CRS used.
    pub source_crs: String,
    /// Geometries repaired by MakeValid.
    pub repaired: usize,
    /// Why nothing was written although `keep_going` was asked (too many records rejected).
    pub refused: Option<String>,
    /// The mapping profile used.
    pub profile: String,
    /// Why that profile was used when none was named (the only one claiming the source layer's name).
    pub profile_picked: Option<String>,
}

/// A feature's values in layer field order, its problems as (field, reason), and its key.
struct Validated {
    values: Vec<Value>,
    bad: Vec<(String, String)>,
    key: Option<String>,
}

/// What an import reads: the request, the layer, the profile's field mapping, the source and its classes.
struct Inputs<'a> {
    req: &'a ImportRequest,
    def: &'a LayerDef,
    mapping: &'a fields::Mapping,
    src: &'a SourceInfo,
    file: &'a str,
    classes: &'a crate::catalog::ClassTables,
    /// The source's CRS as the import takes it.
    crs: &'a crate::crs::CrsInfo,
    /// The registry's CRS.
    reg_crs: &'a crate::crs::CrsInfo,
    /// The open records of a layer whose records keep some fields for life ([`LayerDef::fixed`]).
    fixed: Option<&'a fixed::Known>,
}

/// What the batches fed to the store leave behind: every problem, the rejects to keep, and the counts.
#[derive(Default)]
struct Fed {
    problems: Vec<Problem>,
    rejects: Vec<RejectRow>,
    /// Rejects counted (with keep_going).
    rejected: usize,
    /// Why nothing was written although `keep_going` was asked (too many rejects).
    refused: Option<String>,
    read: usize,
    repaired: usize,
}

/// Run an import against an open registry: resolve the profile, then stream the source a batch at a time
/// into one transaction — on one thread attributes validated, geometry prepared and good records hashed,
/// on this one the records written, batch after batch — which keeps the vintage only when the whole source
/// is plausible and (atomic) free of problems, or (with `keep_going`) has few enough rejects, stored with
/// it. Memory holds a few batches, the source's keys, the open records' keys and hashes, and the problems.
pub fn run(reg: &mut Registry, req: &ImportRequest, progress: &Progress) -> Result<ImportReport> {
    let started_at = chrono::Utc::now().to_rfc3339();
    crate::model::check_not_future(req.as_of, req.force, "--as-of")?;
    if let Some(scope) = &req.scope {
        crate::store::check_scope(scope)?;
    }
    let reg: &Registry = reg;
    let def = reg.catalog().layer(req.layer).clone();
    let (profile, profile_picked) = resolve_profile(reg, req, &def)?;
    let mut sreq = req.source.clone();
    if sreq.preferred.is_empty() {
        sreq.preferred = profile.source_layers.clone();
    }
    let t0 = std::time::Instant::now();
    let lap = |what: &str| crate::progress::lap(t0, &format!("  import: {what}"));
    // the source's hash (for the import log) is taken while the source is read and checked
    let source_hash = {
        let path = req.source.path.clone();
        std::thread::spawn(move || hashing::hash_source(&path))
    };
    let stream = source::open(&sreq, Take::All)?;
    let info = stream.info.clone();
    let src_crs = geometry::source_crs(&info, req.src_crs.as_deref(), &reg.crs)?;
    let mapping = fields::map_fields(&info, &def, &profile)?;
    let file = req.source.path.display().to_string();
    let classes = &reg.catalog().classes;
    let known = match def.fixed.is_empty() {
        true => None,
        false => Some(fixed::Known::read(reg, &def)?),
    };
    let inputs = Inputs {
        req,
        def: &def,
        mapping: &mapping,
        src: &info,
        file: &file,
        classes,
        crs: &src_crs,
        reg_crs: &reg.crs,
        fixed: known.as_ref(),
    };
    let keys = match req.keep_going {
        true => KeyCheck::Known(inputs.duplicate_keys(&sreq)?),
        false => KeyCheck::AsRead {
            seen: rustc_hash::FxHashMap::with_capacity_and_hasher(info.count as usize, Default::default()),
            duplicates: BTreeMap::new(),
        },
    };
    lap("opened");
    let head = ImportHead {
        layer: req.layer,
        as_of: req.as_of,
        source_path: file.clone(),
        source_layer: info.layer.clone(),
        driver: info.driver.clone(),
        profile: profile.name.clone(),
        source_crs: source_crs_label(&src_crs),
        encoding: info.encoding.clone(),
        mode: if req.keep_going { "keep-going".into() } else { "atomic".into() },
        user: req.user.clone(),
        reason: req
            .reason
            .clone()
            .unwrap_or_else(|| format!("导入 import of {} as of {}", req.source.path.display(), req.as_of)),
        started_at,
        correction: req.correction,
        scope: req.scope.clone(),
    };
    let tally = plausibility::Tally::new(reg, &def, req.scope.as_deref())?;
    let gcj02 = plausibility::Gcj02::new(reg, &def, &src_crs)?;
    progress.set_len(info.count);
    let mut fed = None;
    let outcome = reg.apply(&head, |sink| {
        let (done, tally) = std::thread::scope(|scope| -> Result<(Fed, plausibility::Tally<'_>)> {
            let (tx, rx) = sync_channel::<Result<(Vec<PreparedRecord>, bool)>>(1);
            let preparing = scope.spawn(|| inputs.prepare(stream, keys, tally, &gcj02, tx, progress));
            let mut failed = None;
            for prepared in rx.iter() {
                let written = prepared.and_then(|(records, write)| if write { sink.write(&records) } else { Ok(()) });
                if let Err(e) = written {
                    failed = Some(e);
                    break;
                }
            }
            // the preparing thread is joined (it and its thread-local PROJ and GEOS handles gone) before any
            // return: the scope alone waits only for its closure, and a process exiting meanwhile crashed
            drop(rx);
            let done = preparing.join().expect("the import's preparing thread panicked");
            failed.map_or(done, Err)
        })?;
        lap("read, checked and written");
        let done = fed.insert(done);
        if !req.force {
            tally.verdict().map_or(Ok(()), |what| Err(implausible(&file, what)))?;
        }
        if req.keep_going {
            done.refused = too_many_rejected(done.rejected, done.read, req.max_rejected_percent);
        }
        if !done.problems.is_empty() && !req.keep_going || done.refused.is_some() {
            return Ok(None);
        }
        let source_sha256 = source_hash.join().expect("the source hashing thread panicked")?;
        lap("source hashed");
        let rejects = std::mem::take(&mut done.rejects);
        Ok(Some(ImportTail { source_sha256, read_count: done.read, repaired: done.repaired, rejects }))
    })?;
    progress.finish();
    lap("stored");
    let mut fed = fed.expect("the import fed its records");
    fed.problems.sort_by(|a, b| (a.feature_index, &a.field).cmp(&(b.feature_index, &b.field)));
    Ok(ImportReport {
        outcome,
        problems: fed.problems,
        read: fed.read,
        source_layer: info.layer.clone(),
        encoding: info.encoding.clone(),
        source_crs: source_crs_label(&src_crs).chars().take(120).collect(),
        repaired: fed.repaired,
        refused: fed.refused,
        profile: profile.name.clone(),
        profile_picked,
    })
}

/// The refusal of a source the plausibility checks judge wrong as a whole.
fn implausible(file: &str, what: String) -> Error {
    Error::Invalid(format!(
        "{file}: {what} — is the source's CRS (declared or --src-crs) wrong? Nothing was written; pass --force to import it anyway"
    ))
}

/// The profile of an import (named, or picked by the source layer's name) and why it was picked; refused when
/// it loads another layer.
fn resolve_profile(reg: &Registry, req: &ImportRequest, def: &LayerDef) -> Result<(Profile, Option<String>)> {
    let (profile, picked) = match &req.profile {
        Some(p) => (reg.catalog().profile(p)?, None),
        None => pick_profile(reg.catalog(), def, &req.source)?,
    };
    if profile.layer != req.layer {
        return Err(Error::Invalid(format!(
            "profile {} loads layer {}, not {}",
            profile.name, profile.layer, req.layer
        )));
    }
    Ok((profile, picked))
}

/// A good row: its key and values in layer field order.
type Row = Option<(String, Vec<Value>)>;

/// A rejected feature: its position in its batch and the geometry to keep with it.
type Rejected = (usize, Option<geo::Geometry<f64>>);

/// The features whose key another feature of the source also holds: by feature position, the key and the
/// other features' positions.
type Duplicates = HashMap<usize, (String, Vec<usize>)>;

/// How an import finds the keys its source holds twice. With `keep_going` they are known before the
/// records are read, from a read of the key field alone: both records of a duplicate are rejected, and the
/// first may come in a batch already written. An atomic import finds them as it reads (one duplicate, and
/// it writes nothing): the first feature of each key, and every feature of a key held twice.
enum KeyCheck {
    Known(Duplicates),
    AsRead {
        /// Each key's first feature (position, fid).
        seen: rustc_hash::FxHashMap<Box<str>, (usize, Option<u64>)>,
        /// The keys found twice, with every feature holding them.
        duplicates: BTreeMap<String, Vec<(usize, Option<u64>)>>,
    },
}

impl KeyCheck {
    /// A duplicate was found (or is known to come).
    fn any(&self) -> bool {
        match self {
            KeyCheck::Known(d) => !d.is_empty(),
            KeyCheck::AsRead { duplicates, .. } => !duplicates.is_empty(),
        }
    }
}

impl Inputs<'_> {
    /// Prepare the source's records a batch at a time and hand each batch over `tx` with whether to write
    /// it (an atomic import stops writing at its first problem, but reads on to find them all); what the
    /// batches leave behind, and the plausibility tally, when the source is read.
    fn prepare<'t>(
        &self,
        stream: source::Stream,
        mut keys: KeyCheck,
        mut tally: plausibility::Tally<'t>,
        gcj02: &plausibility::Gcj02,
        tx: SyncSender<Result<(Vec<PreparedRecord>, bool)>>,
        progress: &Progress,
    ) -> Result<(Fed, plausibility::Tally<'t>)> {
        let req = self.req;
        let mut fed = Fed::default();
        let mut step = |batch: Result<Vec<SourceFeature>>| -> Result<(Vec<PreparedRecord>, bool)> {
            let mut batch = batch?;
            fed.read += batch.len();
            fed.repaired +=
                batch.iter().filter(|f| matches!(f.geometry, SourceGeometry::Polygonal { repaired: true, .. })).count();
            geometry::check_extent(self.src, self.crs, source::extent_of(&batch))?;
            let (mut rows, mut problems) = self.attributes(&batch, &mut keys);
            let geo_results =
                geometry::prepare_all(&mut batch, self.crs, self.reg_crs, self.def.kind, req.source.make_valid)?;
            let (records, rejects) = self.records(&batch, &mut rows, geo_results, &mut problems);
            if !req.force {
                tally.add(&records)?;
                gcj02.check(&records, self.file)?;
            }
            let write = req.keep_going || fed.problems.is_empty() && problems.is_empty() && !keys.any();
            // rejects are kept only with keep_going (an atomic import writes none)
            if req.keep_going {
                problems.sort_by(|a, b| (a.feature_index, &a.field).cmp(&(b.feature_index, &b.field)));
                fed.rejected += rejects.len();
                fed.rejects.extend(self.reject_rows(&batch, rejects, &problems));
            }
            fed.problems.extend(problems);
            progress.inc(batch.len() as u64);
            Ok((records, write))
        };
        for batch in stream {
            let prepared = step(batch);
            let failed = prepared.is_err();
            if tx.send(prepared).is_err() || failed {
                break; // the writer stopped, or this thread did
            }
        }
        if let KeyCheck::AsRead { duplicates, .. } = keys {
            for (k, holders) in duplicates {
                for &(i, fid) in &holders {
                    let others: Vec<String> =
                        holders.iter().filter(|h| h.0 != i).map(|h| format!("#{}", h.0)).collect();
                    fed.problems.push(self.duplicate(i, fid, &k, &others));
                }
            }
        }
        Ok((fed, tally))
    }

    /// The problem of a feature whose key others hold too.
    fn duplicate(&self, index: usize, fid: Option<u64>, key: &str, others: &[String]) -> Problem {
        let def = self.def;
        let reason = format!("duplicate {} '{key}' (also feature {})", def.key, others.join(", "));
        problem(self.file, self.src, index, fid, Some(key.to_string()), Some(def.key.clone()), reason)
    }

    /// The source's duplicate keys, from a read of the key field alone (no geometry): each feature's key as
    /// validation makes it, sorted in parallel (no map of a million keys), runs of equal keys kept. Keys
    /// taken from the feature ids are unique.
    fn duplicate_keys(&self, sreq: &SourceRequest) -> Result<Duplicates> {
        use rayon::prelude::*;
        let key_idx = self.def.key_index();
        let Some((column, how)) = self.mapping[key_idx].as_ref().filter(|m| m.0 != fields::FID_COLUMN) else {
            return Ok(Duplicates::new());
        };
        let mut keys: Vec<(String, usize)> = Vec::with_capacity(self.src.count as usize);
        for batch in source::open(sreq, Take::Fields(vec![*column]))? {
            let batch = batch?;
            let found = batch.par_iter().with_min_len(1024).filter_map(|f| {
                let raw = fields::rewrite(&fields::raw_value(f, *column), how);
                match fields::check_value(self.def, key_idx, raw, self.classes) {
                    Ok(Value::Null) | Err(_) => None,
                    Ok(v) => Some((v.to_string(), f.index)),
                }
            });
            keys.par_extend(found);
        }
        keys.par_sort_unstable();
        let mut duplicates = Duplicates::new();
        for run in keys.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
            for (k, i) in run {
                let others = run.iter().map(|r| r.1).filter(|j| j != i).collect();
                duplicates.insert(*i, (k.clone(), others));
            }
        }
        Ok(duplicates)
    }

    /// Validate a batch's attributes (in parallel) and refuse its duplicate keys: the good rows (None for a
    /// feature with a problem) and the problems (those of keys found twice as read come at the end).
    fn attributes(&self, batch: &[SourceFeature], keys: &mut KeyCheck) -> (Vec<Row>, Vec<Problem>) {
        let (src, file) = (self.src, self.file);
        let validated: Vec<Validated> = {
            use rayon::prelude::*;
            batch.par_iter().with_min_len(256).map(|f| self.validate(f)).collect()
        };
        let mut problems: Vec<Problem> = Vec::new();
        let mut rows: Vec<Row> = Vec::with_capacity(batch.len());
        for (f, Validated { values, bad, key }) in batch.iter().zip(validated) {
            for (field, reason) in &bad {
                problems.push(problem(file, src, f.index, f.fid, key.clone(), Some(field.clone()), reason.clone()));
            }
            let duplicate = match (&mut *keys, &key) {
                (KeyCheck::Known(known), _) => known.get(&f.index).map(|(k, others)| {
                    let others: Vec<String> = others.iter().map(|j| format!("#{j}")).collect();
                    problems.push(self.duplicate(f.index, f.fid, k, &others));
                }),
                (KeyCheck::AsRead { seen, duplicates }, Some(k)) => match seen.entry(k.as_str().into()) {
                    Entry::Occupied(first) => {
                        duplicates.entry(k.clone()).or_insert_with(|| vec![*first.get()]).push((f.index, f.fid));
                        Some(())
                    }
                    Entry::Vacant(v) => {
                        v.insert((f.index, f.fid));
                        None
                    }
                },
                (KeyCheck::AsRead { .. }, None) => None,
            };
            rows.push(if bad.is_empty() && duplicate.is_none() { key.map(|k| (k, values)) } else { None });
        }
        (rows, problems)
    }

    /// One feature's values (mapped, rewritten and checked), its problems and its key.
    fn validate(&self, f: &SourceFeature) -> Validated {
        let def = self.def;
        let key_idx = def.key_index();
        let mut values = Vec::with_capacity(def.fields.len());
        let mut bad = Vec::new();
        for &i in &f.undecodable {
            let shown = f.values[i].to_string();
            bad.push((
                self.src.field_names[i].clone(),
                format!("bytes that are not {} text (read as '{shown}')", self.src.encoding),
            ));
        }
        for (i, fd) in def.fields.iter().enumerate() {
            let raw = self.mapping[i]
                .as_ref()
                .map(|(si, rw)| fields::rewrite(&fields::raw_value(f, *si), rw))
                .unwrap_or(Value::Null);
            match fields::check_value(def, i, raw, self.classes) {
                Ok(v) => values.push(v),
                Err(reason) => {
                    bad.push((fd.name.clone(), reason));
                    values.push(Value::Null);
                }
            }
        }
        // name_of: the name field must name the code
        for (i, fd) in def.fields.iter().enumerate() {
            if let (Some(of), Value::Text(name)) = (&fd.name_of, &values[i]) {
                let ci = def.field_index(of).expect("checked at load");
                if let Value::Text(code) = &values[ci] {
                    let base = code.trim_end_matches(['K', 'A']);
                    let ok = [code.as_str(), base].iter().any(|c| self.classes.landuse_name(c) == Some(name.as_str()));
                    if !ok {
                        if let Some(expected) = self.classes.landuse_name(code.as_str()) {
                            bad.push((
                                fd.name.clone(),
                                format!("'{name}' is not the name of {of} {code} ({expected})"),
                            ));
                        }
                    }
                }
            }
        }
        // not_before: an end date not before its start
        for (i, fd) in def.fields.iter().enumerate() {
            let Some(start) = &fd.not_before else { continue };
            let si = def.field_index(start).expect("checked at load");
            if let (Value::Text(end), Value::Text(from)) = (&values[i], &values[si]) {
                if end < from {
                    bad.push((fd.name.clone(), format!("{} {end} is before {start} {from}", fd.title)));
                }
            }
        }
        let key = match &values[key_idx] {
            Value::Null => None,
            v => Some(v.to_string()),
        };
        if let Some(scope) = &self.req.scope {
            let v = values[def.scope_index()].to_string();
            if !v.starts_with(scope.as_str()) {
                bad.push((
                    def.scope_field().to_string(),
                    format!("'{v}' is outside the import's scope {scope} (a county's delivery holds only records whose {} starts with it)", def.scope_field()),
                ));
            }
        }
        Validated { values, bad, key }
    }

    /// The good records (attributes and geometry both good), each with its content hash without its
    /// bookkeeping fields (hashed in parallel), and the rejected features; a geometry problem joins
    /// `problems`.
    fn records(
        &self,
        batch: &[SourceFeature],
        rows: &mut [Row],
        geo_results: Vec<geometry::Prepared>,
        problems: &mut Vec<Problem>,
    ) -> (Vec<PreparedRecord>, Vec<Rejected>) {
        let (def, key_idx) = (self.def, self.def.key_index());
        // each good record's content hash without its bookkeeping fields, in parallel
        let bookkeeping = def.bookkeeping_indices();
        let mut hashes: Vec<Option<String>> = {
            use rayon::prelude::*;
            rows.par_iter()
                .zip(geo_results.par_iter())
                .with_min_len(256)
                .map(|(row, g)| match (row, g) {
                    (Some((_, values)), Ok((geometry, _))) => {
                        Some(hashing::record_hash(values, &bookkeeping, geometry))
                    }
                    _ => None,
                })
                .collect()
        };
        let mut records = Vec::new();
        let mut rejects = Vec::new();
        for (i, (f, g)) in batch.iter().zip(geo_results).enumerate() {
            match (rows[i].take(), g) {
                (Some((key, values)), Ok((geometry, areas))) => {
                    let changed = self.fixed.and_then(|known| known.changed(self.def, &key, &values, &geometry));
                    if let Some((field, reason)) = changed {
                        problems.push(problem(self.file, self.src, f.index, f.fid, Some(key), Some(field), reason));
                        rejects.push((i, Some(geo::Geometry::MultiPolygon(geometry))));
                        continue;
                    }
                    let hash = hashes[i].take().expect("hashed above");
                    let document_no = def.field_index("DJWH").and_then(|di| values[di].as_str().map(str::to_string));
                    records.push(PreparedRecord { key, values, geometry, areas, hash, document_no });
                }
                (row, Err((reason, geometry))) => {
                    // name the record by its key even when its attributes failed
                    let raw_key = self.mapping[key_idx]
                        .as_ref()
                        .map(|m| fields::raw_value(f, m.0).to_string())
                        .filter(|k| !k.is_empty());
                    let key = row.map(|(k, _)| k).or(raw_key);
                    problems.push(problem(self.file, self.src, f.index, f.fid, key, Some("geometry".into()), reason));
                    rejects.push((i, geometry));
                }
                // attribute problems are already listed; the good geometry stays with the reject
                (None, Ok((geometry, _))) => rejects.push((i, Some(geo::Geometry::MultiPolygon(geometry)))),
            }
        }
        (records, rejects)
    }

    /// The rejects as stored, each with its reasons and key (as the source gives it, even when the key field
    /// itself is at fault: its stored record stays open, since the rejected record may be its unchanged or
    /// changed successor).
    fn reject_rows(&self, batch: &[SourceFeature], rejects: Vec<Rejected>, problems: &[Problem]) -> Vec<RejectRow> {
        let key_idx = self.def.key_index();
        let mut by_feature: HashMap<usize, Vec<&Problem>> = HashMap::new();
        for p in problems {
            by_feature.entry(p.feature_index).or_default().push(p);
        }
        // a rejected record's key as the source gives it (even when the key field itself is at fault): its
        // stored record stays open, since the rejected record may be its unchanged or changed successor
        let source_key = |f: &SourceFeature| {
            self.mapping[key_idx]
                .as_ref()
                .map(|(si, rw)| fields::rewrite(&fields::raw_value(f, *si), rw).to_string())
                .filter(|k| !k.is_empty())
        };
        rejects
            .into_iter()
            .map(|(i, geometry)| {
                let f = &batch[i];
                let mine = by_feature.get(&f.index).map(Vec::as_slice).unwrap_or_default();
                RejectRow {
                    feature_index: f.index,
                    source_fid: f.fid,
                    key: mine.iter().find_map(|p| p.key.clone()).or_else(|| source_key(f)),
                    field: mine.first().and_then(|p| p.field.clone()),
                    reason: mine
                        .iter()
                        .map(|p| match &p.field {
                            Some(fl) => format!("{fl}: {}", p.reason),
                            None => p.reason.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    attributes: hashing::attributes_json(&self.src.field_names, &f.values),
                    geometry,
                }
            })
            .collect()
    }
}

/// The profile of an import that names none: the only profile of the layer kind that claims the source layer
/// (by `source_layers`: STBHHX, YJJBNT, CZKFBJ, DLTB …), said so in the report; else the layer's own field
/// names.
fn pick_profile(
    catalog: &crate::catalog::Catalog,
    def: &crate::catalog::LayerDef,
    source: &SourceRequest,
) -> Result<(Profile, Option<String>)> {
    let names = match &source.layer {
        Some(l) => vec![l.clone()],
        None => source::layer_names(&source.path)?,
    };
    let claims = |p: &&Profile| p.source_layers.iter().any(|sl| names.iter().any(|n| n.eq_ignore_ascii_case(sl)));
    let claiming: Vec<&Profile> = catalog.profiles().iter().filter(|p| p.layer == def.kind).filter(claims).collect();
    Ok(match claiming.as_slice() {
        [p] => {
            let layer =
                names.iter().find(|n| p.source_layers.iter().any(|sl| n.eq_ignore_ascii_case(sl))).expect("claimed");
            let why = format!(
                "profile {} picked: the only {} profile that claims source layer {layer} (name one with --profile)",
                p.name, def.kind
            );
            ((*p).clone(), Some(why))
        }
        _ => (Profile::identity(def), None),
    })
}

/// The source CRS as the import log and report give it.
fn source_crs_label(crs: &crate::crs::CrsInfo) -> String {
    if crs.gcj02 {
        format!("GCJ-02 (converted to WGS 84, {})", crs.definition)
    } else {
        crs.definition.clone()
    }
}

/// Why an import with `keep_going` writes nothing: every record rejected (nothing would be left of the
/// vintage but its date), or a larger share than the user allows.
fn too_many_rejected(rejected: usize, read: usize, max_percent: f64) -> Option<String> {
    if rejected == 0 {
        return None;
    }
    if rejected == read {
        return Some(format!(
            "every one of the {read} record(s) was rejected, so nothing was written (a wrong --src-crs, --profile or --encoding?)"
        ));
    }
    let percent = rejected as f64 * 100.0 / read as f64;
    (percent > max_percent).then(|| {
        format!(
            "{rejected} of {read} record(s) rejected ({percent:.1} %), more than --max-rejected {max_percent} %, so nothing was written"
        )
    })
}

fn problem(
    file: &str,
    src: &SourceInfo,
    index: usize,
    fid: Option<u64>,
    key: Option<String>,
    field: Option<String>,
    reason: String,
) -> Problem {
    Problem { file: file.to_string(), layer: src.layer.clone(), feature_index: index, fid, key, field, reason }
}

pub use crate::hashing::{content_hash, hash_source, record_hash};

/// A value as field `i` of `def` would hold it (trimmed, coerced to the field's type, a code normalised),
/// or why it cannot be one: the rules an import applies to each value, for a value from elsewhere (a
/// service's property filter).
pub fn field_value(
    def: &crate::catalog::LayerDef,
    i: usize,
    v: crate::model::Value,
    classes: &crate::catalog::ClassTables,
) -> std::result::Result<crate::model::Value, String> {
    fields::check_value(def, i, v, classes)
}

/// Check one value against a layer field (type, required, range, pattern, code table), as imports do.
pub fn check_field(
    def: &crate::catalog::LayerDef,
    field: &str,
    value: Value,
    classes: &crate::catalog::ClassTables,
) -> std::result::Result<Value, String> {
    let i = def.field_index(field).ok_or_else(|| format!("layer {} has no field {field}", def.kind))?;
    fields::check_value(def, i, value, classes)
}

/// Read the polygons of a source (all its features, dissolved into one multipolygon) into the registry
/// CRS, through the same CRS and validity rules as an import; with their areas.
pub fn read_geometry(
    reg: &Registry,
    source: &SourceRequest,
    src_crs: Option<&str>,
) -> Result<(geo::MultiPolygon<f64>, crate::area::Areas)> {
    let mut src = source::read(source, &Progress::hidden())?;
    let crs = geometry::source_crs(&src, src_crs, &reg.crs)?;
    geometry::check_extent(&src, &crs, src.extent)?;
    let prepared = geometry::prepare_all(&mut src.features, &crs, &reg.crs, LayerKind::Units, source.make_valid)?;
    let mut polys = Vec::new();
    for (f, p) in src.features.iter().zip(prepared) {
        match p {
            Ok((mp, _)) => polys.extend(geo::orient::Orient::orient(&mp, geo::orient::Direction::Default).0),
            Err((reason, _)) => {
                return Err(Error::Invalid(format!("{}: feature #{}: {reason}", source.path.display(), f.index)))
            }
        }
    }
    if polys.is_empty() {
        return Err(Error::Invalid(format!("{}: no polygon", source.path.display())));
    }
    let mp = if polys.len() == 1 { geo::MultiPolygon(polys) } else { geo::unary_union(polys.iter()) };
    let areas = crate::area::AreaCalculator::for_crs(&reg.crs)?.areas(&mp)?;
    Ok((mp, areas))
}
