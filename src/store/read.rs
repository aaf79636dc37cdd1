//! Reading the registry: one request value ([`Read`]: a layer, which versions, fields, classes, where, and
//! fids to leave out) that the store plans. The records of a layer valid on a day (`valid_from ≤ day <
//! valid_to`), now, or every version; all of them, those in a box or a set of boxes (a window read through the layer's R-tree, so a
//! county of a province registry costs what the county holds; the fids found are bound as one array with
//! rusqlite's `rarray` and drive the lookups), their envelopes for indexing, or single records by fid.
//! A read fills in every attribute field or only those asked for ([`Fields`]), and keeps every record or
//! only those of some classes ([`ClassPrefixes`]: from the index on the class field when the layer
//! definition indexes it, [`Registry::class_fids`]). A read through many boxes searches the R-tree on
//! several threads, each with a read-only connection of its own, while another reads the class index.

use super::condition::Condition;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::types::ValueRef;

use super::Registry;
use crate::area::Areas;
use crate::error::{Error, Result};
use crate::io::blob;
use crate::model::{AsOf, LayerKind, Record, Value};

/// Rows read before their geometry blobs are decoded (in parallel): small enough that every test reading a
/// few thousand records crosses batch boundaries, large enough that the batches cost nothing.
const READ_BATCH: usize = 1024;

/// The fewest boxes a box read searches on several threads: a thread's connection costs about a
/// millisecond to open, while a few boxes cost less to search on one (a window read has one box).
const PARALLEL_SEARCH_MIN: usize = 64;

/// Which attribute fields a read fills in. The key is always read. A field left out is null: the record's
/// values keep the layer's field order and stop after the last field read, so read them with
/// [`crate::model::Record::value`]. A field left out costs neither the SQLite column nor a string, and
/// one after the last read not even its slot: a 1 000 000-parcel read of the keys alone (the first field)
/// holds one value per record, not 19.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Fields<'a> {
    /// Every field of the layer.
    #[default]
    All,
    /// Only these fields (names the layer does not have are ignored) and the key.
    Only(&'a [&'a str]),
}

impl Fields<'_> {
    /// Whether field `name` is read.
    pub fn reads(&self, name: &str) -> bool {
        match self {
            Fields::All => true,
            Fields::Only(names) => names.contains(&name),
        }
    }
}

/// Which records a read keeps by class: those whose field `field` starts with one of `prefixes` (none when
/// `prefixes` is empty). SQLite applies it to each row before the row's geometry is fetched or decoded, so
/// a read for a rule that can only fault some classes (NR501: the classes a red line prohibits) costs
/// what those classes hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassPrefixes<'a> {
    /// The class-code field.
    pub field: &'a str,
    /// The prefixes kept.
    pub prefixes: &'a [String],
}

impl ClassPrefixes<'_> {
    /// The SQL condition: per prefix length, `substr(field, 1, n) IN (…)`, the prefixes quoted as literals.
    fn sql(&self) -> String {
        let mut lens: Vec<usize> = self.prefixes.iter().map(|p| p.chars().count()).collect();
        lens.sort_unstable();
        lens.dedup();
        let col = format!("CAST(\"{}\" AS TEXT)", self.field.replace('"', "\"\""));
        let terms: Vec<String> = lens
            .iter()
            .map(|&n| {
                let lits: Vec<String> = self
                    .prefixes
                    .iter()
                    .filter(|p| p.chars().count() == n)
                    .map(|p| format!("'{}'", p.replace('\'', "''")))
                    .collect();
                format!("substr({col}, 1, {n}) IN ({})", lits.join(", "))
            })
            .collect();
        if terms.is_empty() {
            "0".into()
        } else {
            format!("({})", terms.join(" OR "))
        }
    }

    /// The classes as ranges of the field's text, one condition each (`field >= 'p' AND field < 'q'`, q
    /// following every text that starts with p), which SQLite answers from an index on the field. The
    /// ranges are disjoint and as few as can be: a prefix another one listed starts (`05H1` under `05`)
    /// adds nothing, and ranges that meet are one (`05`, `06`, `07` read as `'05' ≤ field < '08'`), so
    /// each record comes once and SQLite keeps no set of the fids it has given. None when a prefix has
    /// no such range (the empty prefix, or one ending in the last character there is).
    fn range_sql(&self) -> Option<Vec<String>> {
        let mut kept: Vec<&str> = self
            .prefixes
            .iter()
            .map(String::as_str)
            .filter(|q| !self.prefixes.iter().any(|p| p.len() < q.len() && q.starts_with(p.as_str())))
            .collect();
        kept.sort_unstable();
        kept.dedup();
        let mut ranges: Vec<(&str, String)> = Vec::new();
        for p in kept {
            let last = p.chars().next_back()?;
            let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32)?;
            let upper = format!("{}{next}", &p[..p.len() - last.len_utf8()]);
            match ranges.last_mut() {
                Some((_, u)) if u.as_str() == p => *u = upper,
                _ => ranges.push((p, upper)),
            }
        }
        let col = format!("\"{}\"", self.field.replace('"', "\"\""));
        let lit = |p: &str| format!("'{}'", p.replace('\'', "''"));
        Some(ranges.iter().map(|(lo, hi)| format!("{col} >= {} AND {col} < {}", lit(lo), lit(hi))).collect())
    }
}

/// A date filter narrowed by classes.
fn with_classes(filter: String, classes: Option<ClassPrefixes>) -> String {
    match classes {
        None => filter,
        Some(c) => format!("{filter} AND {}", c.sql()),
    }
}

/// A filter narrowed by the condition of a read, which the store writes itself (see [`Condition::sql`]).
fn with_condition(filter: String, def: &crate::catalog::LayerDef, q: &Read) -> String {
    match q.condition {
        None => filter,
        Some(c) => format!("{filter} AND ({})", c.sql(def)),
    }
}

/// The R-tree entries `r` meeting a box bound as the parameters after the first `n`: its east, west, north
/// and south edges, in that order.
fn meets_box(n: usize) -> String {
    format!("r.minx <= ?{} AND r.maxx >= ?{} AND r.miny <= ?{} AND r.maxy >= ?{}", n + 1, n + 2, n + 3, n + 4)
}

/// A record with its registry bookkeeping.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// Row id in the layer table.
    pub fid: i64,
    /// Key, values and geometry.
    pub record: Record,
    /// First day the record is valid.
    pub valid_from: String,
    /// First day it is no longer valid (None = still valid).
    pub valid_to: Option<String>,
    /// The import that wrote it.
    pub import_id: i64,
    /// Stored areas.
    pub areas: Areas,
}

/// A stored attribute value as nrledger holds it (a blob, which no attribute field has, as null).
pub(super) fn value_of(v: ValueRef<'_>) -> rusqlite::Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Int(v),
        ValueRef::Real(v) => Value::Real(v),
        ValueRef::Text(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
        ValueRef::Blob(_) => Value::Null,
    })
}

/// Which versions of the records a read keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum When {
    /// The records valid now (`valid_to` unset).
    #[default]
    Current,
    /// The records valid on a day (`valid_from ≤ day < valid_to`).
    On(AsOf),
    /// Every version of every record (a layer's history).
    Every,
    /// The versions valid on some day from `from` to `to` (both included; None: open), as an OGC API
    /// `datetime` interval asks for them.
    During(Option<AsOf>, Option<AsOf>),
}

impl From<Option<AsOf>> for When {
    /// None: the current records.
    fn from(at: Option<AsOf>) -> When {
        at.map_or(When::Current, When::On)
    }
}

impl When {
    /// The SQL condition and its date parameter.
    fn filter(self) -> (String, Option<String>) {
        match self {
            When::Current => ("valid_to IS NULL".into(), None),
            When::On(d) => (
                "valid_from <= ?1 AND (valid_to IS NULL OR valid_to > ?1)".into(),
                Some(d.format("%Y-%m-%d").to_string()),
            ),
            When::Every => ("1 = 1".into(), None),
            // the days are formatted here, never taken from the caller's text: literals are safe
            When::During(from, to) => {
                let from = from.map(|d| format!("(valid_to IS NULL OR valid_to > '{}')", d.format("%Y-%m-%d")));
                let to = to.map(|d| format!("valid_from <= '{}'", d.format("%Y-%m-%d")));
                let terms: Vec<String> = from.into_iter().chain(to).collect();
                (if terms.is_empty() { "1 = 1".into() } else { terms.join(" AND ") }, None)
            }
        }
    }
}

/// Where a read looks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Place<'a> {
    /// The whole layer.
    #[default]
    Layer,
    /// The records whose envelope meets one of these boxes (registry CRS), found through the layer's R-tree.
    Boxes(&'a [geo::Rect<f64>]),
    /// These records (any order, repeats allowed).
    Fids(&'a [i64]),
}

/// One read of the registry: a layer, which versions, which fields, which classes, where, and which records
/// already read to leave out. Built with [`Read::layer`] and its setters, answered by [`Registry::read`]
/// (the records, in fid order) or [`Registry::read_then`] (each record handed to a function as soon as it
/// is decoded); the store plans how: the R-tree for boxes, the class index when the classes are few, SQL
/// conditions for the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Read<'a> {
    /// The layer.
    pub kind: LayerKind,
    /// Which versions.
    pub when: When,
    /// Which attribute fields are filled in.
    pub fields: Fields<'a>,
    /// Only the records of these classes (None: every record).
    pub classes: Option<ClassPrefixes<'a>>,
    /// Where.
    pub place: Place<'a>,
    /// Fids left out (sorted): what a vintage adds to the records of an earlier one already read through
    /// the same boxes (a tenure's closing parcels beyond the opening ones).
    pub beyond: &'a [i64],
    /// Only the records meeting this condition (a key looked up, the service's property and CQL2 filters).
    pub condition: Option<&'a Condition>,
}

impl<'a> Read<'a> {
    /// Every current record of `kind`, every field.
    pub fn layer(kind: LayerKind) -> Read<'a> {
        Read {
            kind,
            when: When::Current,
            fields: Fields::All,
            classes: None,
            place: Place::Layer,
            beyond: &[],
            condition: None,
        }
    }

    /// The records valid on `at` (None: now).
    pub fn on(self, at: Option<AsOf>) -> Read<'a> {
        Read { when: at.into(), ..self }
    }

    /// Every version of every record.
    pub fn every_version(self) -> Read<'a> {
        Read { when: When::Every, ..self }
    }

    /// Only `fields` filled in.
    pub fn fields(self, fields: Fields<'a>) -> Read<'a> {
        Read { fields, ..self }
    }

    /// Only the records of `classes` (None: all).
    pub fn classes(self, classes: Option<ClassPrefixes<'a>>) -> Read<'a> {
        Read { classes, ..self }
    }

    /// Only the records whose envelope meets one of `boxes`.
    pub fn in_boxes(self, boxes: &'a [geo::Rect<f64>]) -> Read<'a> {
        Read { place: Place::Boxes(boxes), ..self }
    }

    /// Only the records `fids`.
    pub fn fids(self, fids: &'a [i64]) -> Read<'a> {
        Read { place: Place::Fids(fids), ..self }
    }

    /// The versions `when` selects.
    pub fn when(self, when: When) -> Read<'a> {
        Read { when, ..self }
    }

    /// Only the records meeting `condition`.
    pub fn satisfying(self, condition: Option<&'a Condition>) -> Read<'a> {
        Read { condition, ..self }
    }

    /// Leaving out the records `known` (sorted).
    pub fn beyond(self, known: &'a [i64]) -> Read<'a> {
        debug_assert!(known.windows(2).all(|w| w[0] < w[1]), "known fids are sorted");
        Read { beyond: known, ..self }
    }
}

impl Registry {
    /// The records `q` asks for, each once, in fid order. Bookkeeping values kept by later imports
    /// ([`crate::catalog::FieldDef::bookkeeping`]) are shown as of the day read.
    pub fn read(&self, q: &Read) -> Result<Vec<StoredRecord>> {
        let mut out = self.read_then(q, &|r| r)?;
        if !out.windows(2).all(|w| w[0].fid < w[1].fid) {
            out.sort_by_key(|r| r.fid);
        }
        Ok(out)
    }

    /// The records `q` asks for, each handed to `then` as soon as its geometry is decoded (in parallel,
    /// while SQLite reads the rows after it), the results in the rows' (fid) order: a reader that turns the
    /// records into something else (a sheet's pieces, clipped to its region) does that work during the read.
    ///
    /// The plan: boxes are searched in the R-tree (many of them on several threads); classes of an indexed
    /// class field are found from the index — for a box read on a thread of its own, given up once they
    /// outnumber twice the box's candidates, when stepping through the candidates' rows costs less; other
    /// classes are a condition SQLite tests on each row before its geometry is fetched.
    pub fn read_then<T: Send>(&self, q: &Read, then: &(dyn Fn(StoredRecord) -> T + Sync)) -> Result<Vec<T>> {
        let (date_sql, date) = q.when.filter();
        let filter = with_condition(with_classes(date_sql, q.classes), self.catalog.layer(q.kind), q);
        let fids = match q.place {
            Place::Layer => q.classes.map(|c| self.class_fids(q.kind, q.when, c, None)).transpose()?.flatten(),
            Place::Boxes(boxes) => Some(self.fids_in_boxes_of_classes(q.kind, q.when, boxes, q.classes)?),
            Place::Fids(fids) => Some(fids.to_vec()),
        };
        // the bookkeeping values of the fids read only (a county window of a province must not load the
        // values kept for the whole layer), or of the layer when the whole layer is stepped through
        let shown = self.bookkeeping_shown(q.kind, q.when, q.fields, fids.as_deref())?;
        let then = |mut r: StoredRecord| {
            shown.apply(&mut r);
            then(r)
        };
        let Some(mut fids) = fids else {
            let filter = beyond_sql(&filter, date.is_some(), q.beyond);
            let mut params: Vec<&dyn rusqlite::ToSql> = date.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
            let known = fid_array(q.beyond);
            if !q.beyond.is_empty() {
                params.push(&known);
            }
            let filter = format!("{filter} ORDER BY fid");
            return self.select_from_then(q.kind, q.kind.name(), &filter, &params, q.fields, &then);
        };
        if !q.beyond.is_empty() {
            fids.retain(|f| q.beyond.binary_search(f).is_err());
        }
        self.select_fids_then(q.kind, fids, &filter, date.as_slice(), q.fields, &then)
    }

    /// The fids of the records of `classes` valid on `at`, in fid order, from the index on the class field —
    /// or None when the field has no index, a prefix has no range (`ClassPrefixes::range_sql`), or the
    /// classes hold more than `limit` records (a reader that has fewer candidates already steps through
    /// them instead: an index entry costs about a third of a row). `INDEXED BY` makes SQLite answer from
    /// the index or fail, never scan the layer.
    pub fn class_fids(
        &self,
        kind: LayerKind,
        when: impl Into<When>,
        classes: ClassPrefixes,
        limit: Option<usize>,
    ) -> Result<Option<Vec<i64>>> {
        let Some((sql, date)) = self.class_fids_sql(kind, when.into(), classes) else { return Ok(None) };
        class_fids_on(&self.conn, &sql, date.as_slice(), &AtomicUsize::new(limit.unwrap_or(usize::MAX)))
    }

    /// The statement [`Registry::class_fids`] runs and its date parameter, or None when the class field has
    /// no index or a prefix has no range.
    fn class_fids_sql(&self, kind: LayerKind, when: When, classes: ClassPrefixes) -> Option<(String, Option<String>)> {
        let def = self.catalog.layer(kind);
        if !def.fields.iter().any(|f| f.indexed && f.name == classes.field) {
            return None;
        }
        let mut ranges = classes.range_sql()?;
        if ranges.is_empty() {
            ranges.push("0".into());
        }
        let (filter, date) = when.filter();
        let index = super::schema::field_index_name(def, classes.field);
        // one index range per statement: the ranges are disjoint, so their rows are simply put together
        let selects: Vec<String> = ranges
            .iter()
            .map(|r| format!("SELECT fid FROM {t} INDEXED BY \"{index}\" WHERE {r} AND {filter}", t = kind.name()))
            .collect();
        Some((selects.join(" UNION ALL "), date))
    }

    /// The fids of the records whose envelope meets one of `boxes` (repeats allowed), of `classes` only when
    /// the class field's index can say which: a thread of its own reads the fids of the classes
    /// ([`Registry::class_fids`]) while the R-tree is searched, and gives up once they outnumber twice the
    /// box's candidates. Without an index the class condition is left to the read of the rows.
    fn fids_in_boxes_of_classes(
        &self,
        kind: LayerKind,
        when: When,
        boxes: &[geo::Rect<f64>],
        classes: Option<ClassPrefixes>,
    ) -> Result<Vec<i64>> {
        let Some((class_sql, class_date)) = classes.and_then(|c| self.class_fids_sql(kind, when, c)) else {
            return self.fids_in_boxes(kind, boxes);
        };
        if boxes.len() >= SCAN_BOXES_MIN {
            // one pass over the index: the entries of other classes are passed over before any box is tried.
            // The fids of the classes are read on a thread of their own while the boxes are indexed and the
            // tree's upper levels walked; the walk waits for them at its first leaf
            let t0 = std::time::Instant::now();
            let path = self.path();
            return std::thread::scope(|s| {
                let reading = s.spawn(|| -> Result<FidBits> {
                    let conn = super::open_reader(path)?;
                    let all = AtomicUsize::new(usize::MAX);
                    let fids = class_fids_on(&conn, &class_sql, class_date.as_slice(), &all)?.unwrap_or_default();
                    crate::progress::lap(t0, &format!("  read: {} fids of the classes", fids.len()));
                    Ok(FidBits::of(&fids))
                });
                let reading = std::sync::Mutex::new(Some(reading));
                let bits: std::sync::OnceLock<Result<FidBits>> = std::sync::OnceLock::new();
                let known = |f: i64| {
                    let b = bits.get_or_init(|| {
                        let h = reading.lock().expect("not poisoned").take().expect("taken once");
                        h.join().expect("the class index read panicked")
                    });
                    b.as_ref().is_ok_and(|b| b.has(f))
                };
                let found = fids_meeting_boxes(&self.conn, kind, boxes, Some(&known));
                crate::progress::lap(t0, "  read: the R-tree walked");
                match bits.into_inner() {
                    Some(Err(e)) => Err(e),
                    _ => found,
                }
            });
        }
        let limit = AtomicUsize::new(usize::MAX);
        let path = self.path();
        let (fids, known) = std::thread::scope(|s| {
            let known =
                s.spawn(|| class_fids_on(&super::open_reader(path)?, &class_sql, class_date.as_slice(), &limit));
            let fids = self.fids_in_boxes(kind, boxes);
            // on an error, 0 stops the class read at its next row
            limit.store(fids.as_ref().map_or(0, |f| 2 * f.len()), Ordering::Relaxed);
            (fids, known.join().expect("the class index read panicked"))
        });
        let mut fids = fids?;
        if let Some(known) = known? {
            // the box's records of the classes: the rows of the others are never stepped through. The
            // known fids as a bit set (a bit per fid up to the largest: 125 kB per 1 000 000) answer each
            // of the box's candidates, repeats and all, in one step (a registry's fids count up from 1;
            // a negative one, which only a hand-edited file could hold, is kept and left to the class
            // condition the rows are read with)
            let bits = FidBits::of(&known);
            fids.retain(|&f| f < 0 || bits.has(f));
        }
        Ok(fids)
    }

    /// The fids of every row (any vintage) whose box meets one of `boxes`, as the R-tree gives them
    /// (repeats allowed). Many boxes are searched on several threads ([`crate::read_threads`]), each with a
    /// connection of its own ([`super::open_reader`]): SQLite's R-tree search is bound by the CPU, and a
    /// connection serves one thread at a time.
    fn fids_in_boxes(&self, kind: LayerKind, boxes: &[geo::Rect<f64>]) -> Result<Vec<i64>> {
        if boxes.len() >= SCAN_BOXES_MIN {
            return fids_meeting_boxes(&self.conn, kind, boxes, None);
        }
        let threads = crate::read_threads();
        if threads < 2 || boxes.len() < PARALLEL_SEARCH_MIN {
            return fids_in_boxes_on(&self.conn, kind, boxes);
        }
        // contiguous runs of boxes: the covers of neighbouring records lie together, and so do their nodes
        let chunk = boxes.len().div_ceil(threads);
        std::thread::scope(|s| {
            let path = self.path();
            let others: Vec<_> = boxes[chunk..]
                .chunks(chunk)
                .map(|part| s.spawn(move || fids_in_boxes_on(&super::open_reader(path)?, kind, part)))
                .collect();
            let mut fids = fids_in_boxes_on(&self.conn, kind, &boxes[..chunk])?;
            for h in others {
                fids.extend(h.join().expect("an R-tree search thread panicked")?);
            }
            Ok(fids)
        })
    }

    /// The records among `fids` (in any order, repeats allowed) matching `filter`, each once, each handed
    /// to `then` once decoded, in fid order. One statement: the sorted fids, bound as one array (rusqlite's
    /// `rarray`), drive the lookups by rowid.
    fn select_fids_then<T: Send>(
        &self,
        kind: LayerKind,
        mut fids: Vec<i64>,
        filter: &str,
        params: &[String],
        fields: Fields,
        then: &(dyn Fn(StoredRecord) -> T + Sync),
    ) -> Result<Vec<T>> {
        fids.sort_unstable();
        fids.dedup();
        let t = kind.name();
        let ids: std::rc::Rc<Vec<rusqlite::types::Value>> =
            std::rc::Rc::new(fids.into_iter().map(rusqlite::types::Value::Integer).collect());
        let mut params: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
        params.push(&ids);
        // CROSS JOIN keeps the array as the outer loop, so the rows come in the array's (fid) order
        let from = format!("rarray(?{}) ids CROSS JOIN {t} ON {t}.fid = ids.value", params.len());
        self.select_from_then(kind, &from, filter, &params, fields, then)
    }

    /// The records of `q` whose envelope meets `rect`, read in one pass that the layer's R-tree drives —
    /// no list of fids first: what a map tile reads. Bookkeeping values are shown as [`Registry::read_then`]
    /// shows them (that read needs the fids, so it is the one taken when any is asked for).
    pub fn read_in_rect_then<T: Send>(
        &self,
        q: &Read,
        rect: geo::Rect<f64>,
        then: &(dyn Fn(StoredRecord) -> T + Sync),
    ) -> Result<Vec<T>> {
        if !matches!(q.place, Place::Layer) {
            return Err(Error::Invalid("read_in_rect_then: the rectangle is the read's place; give no other".into()));
        }
        let def = self.catalog.layer(q.kind);
        let bookkeeping = def.bookkeeping_indices().iter().any(|&i| q.fields.reads(&def.fields[i].name));
        if bookkeeping || q.classes.is_some() || !q.beyond.is_empty() {
            let boxes = [rect];
            return self.read_then(&Read { place: Place::Boxes(&boxes), ..*q }, then);
        }
        let (date_sql, date) = q.when.filter();
        let filter = with_condition(date_sql, def, q);
        let t = q.kind.name();
        let mut params: Vec<&dyn rusqlite::ToSql> = date.iter().map(|d| d as &dyn rusqlite::ToSql).collect();
        let n = params.len();
        let (x0, x1, y0, y1) = (rect.min().x, rect.max().x, rect.min().y, rect.max().y);
        params.extend([&x1 as &dyn rusqlite::ToSql, &x0, &y1, &y0]);
        // CROSS JOIN keeps the R-tree the outer loop
        let from = format!("rtree_{t}_geom r CROSS JOIN {t} ON {t}.fid = r.id");
        let filter = format!("{} AND {filter}", meets_box(n));
        self.select_from_then(q.kind, &from, &filter, &params, q.fields, then)
    }

    /// The records `q` selects as (fid, envelope `[minx, maxx, miny, maxy]`), in fid order, without reading
    /// their attributes or geometry: what a page of a service counts and then reads a slice of. A read
    /// through boxes takes the envelopes from the layer's R-tree (a record meeting several boxes comes
    /// once); a read of the whole layer has none to give (None). Classes, fids and `beyond` are not
    /// planned here: a read asking for them is refused.
    pub fn matching(&self, q: &Read) -> Result<Vec<(i64, Option<[f64; 4]>)>> {
        if q.classes.is_some() || !q.beyond.is_empty() || matches!(q.place, Place::Fids(_)) {
            return Err(Error::Invalid("matching: classes, fids and known records are not planned here".into()));
        }
        let (date_sql, date) = q.when.filter();
        let filter = with_condition(date_sql, self.catalog.layer(q.kind), q);
        let t = q.kind.name();
        let date: Vec<&dyn rusqlite::ToSql> = date.iter().map(|d| d as &dyn rusqlite::ToSql).collect();
        let Place::Boxes(boxes) = q.place else {
            let mut st = self.conn.prepare(&format!("SELECT fid FROM {t} WHERE {filter} ORDER BY fid"))?;
            let rows = st.query_map(&date[..], |r| Ok((r.get::<_, i64>(0)?, None)))?;
            return Ok(rows.collect::<rusqlite::Result<_>>()?);
        };
        // the R-tree drives (CROSS JOIN keeps it the outer loop); the box's bounds follow the date
        let n = date.len();
        let mut st = self.conn.prepare(&format!(
            "SELECT {t}.fid, r.minx, r.maxx, r.miny, r.maxy FROM rtree_{t}_geom r CROSS JOIN {t} ON {t}.fid = r.id \
             WHERE {} AND {filter}",
            meets_box(n)
        ))?;
        let mut out: Vec<(i64, Option<[f64; 4]>)> = Vec::new();
        for b in boxes {
            let (x0, x1, y0, y1) = (b.min().x, b.max().x, b.min().y, b.max().y);
            let mut params = date.clone();
            params.extend([&x1 as &dyn rusqlite::ToSql, &x0, &y1, &y0]);
            let rows =
                st.query_map(&params[..], |r| Ok((r.get(0)?, Some([r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))))?;
            for row in rows {
                out.push(row?);
            }
        }
        out.sort_by_key(|(fid, _)| *fid);
        out.dedup_by_key(|(fid, _)| *fid);
        Ok(out)
    }

    /// Keys held by more than one record of a layer valid on `at`, each with those records' fids — found by
    /// SQLite over the whole layer, without loading it (the duplicate-id rule of a check streamed by county).
    pub fn duplicate_keys(&self, kind: LayerKind, at: Option<AsOf>) -> Result<Vec<(String, Vec<i64>)>> {
        let (filter, date) = When::from(at).filter();
        let key = format!("\"{}\"", self.catalog.layer(kind).key);
        let mut st = self.conn.prepare(&format!(
            "SELECT CAST({key} AS TEXT), group_concat(fid) FROM (SELECT {key}, fid FROM {t} WHERE {filter} ORDER BY fid) \
             GROUP BY {key} HAVING count(*) > 1 ORDER BY 1",
            t = kind.name()
        ))?;
        let rows = st.query_map(rusqlite::params_from_iter(date.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.map(|r| {
            let (k, fids) = r?;
            Ok((k, fids.split(',').filter_map(|f| f.parse().ok()).collect()))
        })
        .collect()
    }

    /// (fid, `[minx, maxx, miny, maxy]`) of the records valid on `at`, for building an index.
    pub fn envelopes_at(&self, kind: LayerKind, at: Option<AsOf>) -> Result<Vec<(i64, [f64; 4])>> {
        let (filter, date) = When::from(at).filter();
        let t = kind.name();
        let mut st = self.conn.prepare(&format!(
            "SELECT t.fid, r.minx, r.maxx, r.miny, r.maxy FROM {t} t JOIN rtree_{t}_geom r ON r.id = t.fid WHERE {filter}"
        ))?;
        let rows = st.query_map(rusqlite::params_from_iter(date.iter()), |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of records of a layer valid on `at`.
    pub fn count_at(&self, kind: LayerKind, at: Option<AsOf>) -> Result<i64> {
        let (filter, date) = When::from(at).filter();
        Ok(self.conn.query_row(
            &format!("SELECT count(*) FROM {} WHERE {filter}", kind.name()),
            rusqlite::params_from_iter(date.iter()),
            |r| r.get(0),
        )?)
    }

    /// The records of `from` (the layer's table, or a join yielding its rows in fid order) matching `filter`,
    /// each handed to `then` once its geometry is decoded (on the decoding threads), in the rows' order.
    fn select_from_then<T: Send>(
        &self,
        kind: LayerKind,
        from: &str,
        filter: &str,
        params: &[&dyn rusqlite::ToSql],
        fields: Fields,
        then: &(dyn Fn(StoredRecord) -> T + Sync),
    ) -> Result<Vec<T>> {
        let def = self.catalog.layer(kind);
        let t = kind.name();
        let n = def.fields.len();
        let key_idx = def.key_index();
        // the positions (in the layer's field order) of the columns read, the key always among them
        let read: Vec<usize> = (0..n).filter(|&i| i == key_idx || fields.reads(&def.fields[i].name)).collect();
        // the values stop after the last field read (all of them for Fields::All)
        let width = read.last().map_or(0, |&i| i + 1);
        let cols: Vec<String> = read.iter().map(|&i| format!("\"{}\"", def.fields[i].name)).collect();
        let mut st = self.conn.prepare(&format!(
            "SELECT fid, geom, valid_from, valid_to, import_id, area_ell, area_gk, {} FROM {from} WHERE {filter}",
            cols.join(", ")
        ))?;
        let mut rows = st.query(params)?;
        // SQLite hands the rows over one at a time on this thread, while a second thread decodes the
        // geometry blobs of the rows already read, a batch at a time and in parallel (so reading and
        // decoding overlap, and the raw blobs held at once stay bounded); batches keep fid order
        let path = &self.path;
        let decode = |batch: Vec<(Vec<u8>, StoredRecord)>, out: &mut Vec<T>| -> Result<()> {
            use rayon::prelude::*;
            let done = batch
                .into_par_iter()
                .map(|(g, mut rec)| {
                    rec.record.geometry = blob::decode(&g).map_err(|e| Error::Registry {
                        path: path.clone(),
                        reason: format!("layer {t}, fid {}: {e}", rec.fid),
                    })?;
                    Ok(then(rec))
                })
                .collect::<Result<Vec<_>>>()?;
            out.extend(done);
            Ok(())
        };
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Vec<u8>, StoredRecord)>>(4);
            let decoder = s.spawn(move || -> Result<Vec<T>> {
                let mut out = Vec::new();
                for batch in rx {
                    decode(batch, &mut out)?;
                }
                Ok(out)
            });
            let read = (|| -> Result<()> {
                let mut batch: Vec<(Vec<u8>, StoredRecord)> = Vec::with_capacity(READ_BATCH);
                while let Some(r) = rows.next()? {
                    let fid: i64 = r.get(0)?;
                    let g: Vec<u8> = r.get(1)?;
                    let mut values = vec![Value::Null; width];
                    for (c, &i) in read.iter().enumerate() {
                        values[i] = value_of(r.get_ref(7 + c)?)?;
                    }
                    let key = values[key_idx].to_string();
                    batch.push((
                        g,
                        StoredRecord {
                            fid,
                            record: Record { key, values, geometry: geo::MultiPolygon(vec![]) },
                            valid_from: r.get(2)?,
                            valid_to: r.get(3)?,
                            import_id: r.get(4)?,
                            areas: Areas { ellipsoidal: r.get(5)?, planar: r.get(6)? },
                        },
                    ));
                    if batch.len() == READ_BATCH
                        && tx.send(std::mem::replace(&mut batch, Vec::with_capacity(READ_BATCH))).is_err()
                    {
                        // the decoder stopped on a bad blob: its error is the one to report
                        return Ok(());
                    }
                }
                let _ = tx.send(batch);
                Ok(())
            })();
            drop(tx);
            let decoded = decoder.join().expect("the registry's geometry decoder panicked");
            read?;
            decoded
        })
    }
}

/// [`Registry::fids_in_boxes`] on one connection: one R-tree query per box.
/// From this many boxes on, the R-tree is read once, whole, and its entries are tested against an index of
/// the boxes in memory, rather than searched box by box (a cover of hundreds of large red lines is hundreds
/// of thousands of boxes: as many searches cost several times one pass over the entries).
const SCAN_BOXES_MIN: usize = 20_000;

/// The fids of every R-tree entry meeting one of `boxes` (each once, in the R-tree's order), from one pass
/// over the entries tested against the boxes in an in-memory R-tree.
/// A set of fids as bits (a bit per fid up to the largest: 125 kB per 1 000 000; a registry's fids count up
/// from 1, and a negative one, which only a hand-edited file could hold, is not in it).
struct FidBits(Vec<u64>);

impl FidBits {
    fn of(fids: &[i64]) -> FidBits {
        let mut bits = vec![0u64; fids.iter().max().map_or(0, |&f| f.max(0) as usize / 64 + 1)];
        for &f in fids.iter().filter(|&&f| f >= 0) {
            bits[f as usize / 64] |= 1 << (f % 64);
        }
        FidBits(bits)
    }

    fn has(&self, f: i64) -> bool {
        f >= 0 && self.0.get(f as usize / 64).is_some_and(|w| w & (1 << (f % 64)) != 0)
    }
}

fn fids_meeting_boxes(
    conn: &rusqlite::Connection,
    kind: LayerKind,
    boxes: &[geo::Rect<f64>],
    only: Option<&(dyn Fn(i64) -> bool + Sync)>,
) -> Result<Vec<i64>> {
    if boxes.is_empty() {
        return Ok(Vec::new());
    }
    let mut builder = static_aabb2d_index::StaticAABB2DIndexBuilder::new(boxes.len());
    for b in boxes {
        builder.add(b.min().x, b.min().y, b.max().x, b.max().y);
    }
    let index = builder.build().map_err(|e| crate::error::Error::Invalid(format!("indexing the boxes: {e}")))?;
    let meets = |e: &[f32; 4]| {
        let [x0, x1, y0, y1] = e.map(f64::from);
        let found: static_aabb2d_index::Control<()> =
            index.visit_query(x0, y0, x1, y1, &mut |_: usize| static_aabb2d_index::Control::Break(()));
        matches!(found, static_aabb2d_index::Control::Break(()))
    };
    // an entry of a class the reader does not want is passed over before any box is tried
    let keep = |(fid, e): &super::rtree::Entry| only.is_none_or(|known| known(*fid)) && meets(e);
    let entries = super::rtree::entries_meeting(conn, &format!("rtree_{}_geom", kind.name()), &meets, &keep)?;
    Ok(entries.into_iter().map(|(fid, _)| fid).collect())
}

fn fids_in_boxes_on(conn: &rusqlite::Connection, kind: LayerKind, boxes: &[geo::Rect<f64>]) -> Result<Vec<i64>> {
    let t = kind.name();
    let mut fids: Vec<i64> = Vec::new();
    let mut st = conn.prepare(&format!(
        "SELECT id FROM rtree_{t}_geom WHERE minx <= ?1 AND maxx >= ?2 AND miny <= ?3 AND maxy >= ?4"
    ))?;
    for b in boxes {
        let rows =
            st.query_map(rusqlite::params![b.max().x, b.min().x, b.max().y, b.min().y], |r| r.get::<_, i64>(0))?;
        for f in rows {
            fids.push(f?);
        }
    }
    Ok(fids)
}

/// The fids `sql` ([`Registry::class_fids_sql`]) selects, sorted, or None as soon as there are more than
/// `limit`: the limit may fall while the rows are read (another thread learning how many candidates a box
/// read has).
fn class_fids_on(
    conn: &rusqlite::Connection,
    sql: &str,
    date: &[String],
    limit: &AtomicUsize,
) -> Result<Option<Vec<i64>>> {
    let mut st = conn.prepare(sql)?;
    let mut rows = st.query(rusqlite::params_from_iter(date.iter()))?;
    let mut fids: Vec<i64> = Vec::new();
    while let Some(r) = rows.next()? {
        if fids.len() >= limit.load(Ordering::Relaxed) {
            return Ok(None);
        }
        fids.push(r.get(0)?);
    }
    fids.sort_unstable();
    Ok(Some(fids))
}

/// `filter` leaving out the fids of `known`, bound as the array parameter after the date's (`?2` with a date,
/// else `?1`).
fn beyond_sql(filter: &str, has_date: bool, known: &[i64]) -> String {
    if known.is_empty() {
        filter.to_string()
    } else {
        format!("{filter} AND fid NOT IN rarray(?{})", if has_date { 2 } else { 1 })
    }
}

/// Fids as one array parameter (rusqlite's `rarray`).
fn fid_array(fids: &[i64]) -> std::rc::Rc<Vec<rusqlite::types::Value>> {
    std::rc::Rc::new(fids.iter().map(|&f| rusqlite::types::Value::Integer(f)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_over_the_entries_finds_what_the_box_searches_find() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE VIRTUAL TABLE rtree_parcels_geom USING rtree(id, minx, maxx, miny, maxy)").unwrap();
        // a grid of parcel boxes, some touching exactly, and a cover of boxes of every size
        for k in 0..3000i64 {
            let (x, y) = (500_000.0 + (k % 60) as f64 * 25.0, 3_400_000.0 + (k / 60) as f64 * 25.0);
            conn.execute(
                "INSERT INTO rtree_parcels_geom VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![k + 1, x, x + 25.0, y, y + 25.0],
            )
            .unwrap();
        }
        let boxes: Vec<geo::Rect<f64>> = (0..500)
            .map(|k| {
                let (x, y, w) =
                    (500_000.0 + (k * 37 % 1500) as f64, 3_400_000.0 + (k * 53 % 1250) as f64, (k % 9) as f64 * 7.0);
                geo::Rect::new(geo::Coord { x, y }, geo::Coord { x: x + w, y: y + w / 2.0 })
            })
            .chain(std::iter::once(geo::Rect::new(geo::Coord { x: 0.0, y: 0.0 }, geo::Coord { x: 1.0, y: 1.0 })))
            .collect();
        let mut searched = fids_in_boxes_on(&conn, LayerKind::Parcels, &boxes).unwrap();
        searched.sort_unstable();
        searched.dedup();
        let mut scanned = fids_meeting_boxes(&conn, LayerKind::Parcels, &boxes, None).unwrap();
        scanned.sort_unstable();
        assert!(searched.len() > 300 && searched.len() < 3000, "{}", searched.len());
        assert_eq!(scanned, searched);
        assert!(fids_meeting_boxes(&conn, LayerKind::Parcels, &[], None).unwrap().is_empty());
        // restricted to some fids: those of the answer among them
        let odd: Vec<i64> = (1..=3000).filter(|f| f % 2 == 1).collect();
        let bits = FidBits::of(&odd);
        let mut only = fids_meeting_boxes(&conn, LayerKind::Parcels, &boxes, Some(&|f| bits.has(f))).unwrap();
        only.sort_unstable();
        assert_eq!(only, searched.iter().copied().filter(|f| f % 2 == 1).collect::<Vec<_>>());
    }
}
