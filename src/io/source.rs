//! Reading vector sources through GDAL: any format GDAL reads (GeoJSON, Shapefile, GeoPackage, FileGDB
//! through OpenFileGDB, …), opened read-only so a source is never modified.
//!
//! Attribute text is decoded as `io::encoding` says: strictly, a value that is not text in the source's
//! encoding named with its field rather than replaced.
//!
//! A layer is read a batch at a time ([`open`], [`Stream`]) on threads of its own, so that an import holds a
//! few batches, not the layer; a large GeoPackage layer in fid ranges, one GDAL handle per core. The
//! features come in the order, and at the positions, one handle gives them. [`read`] collects them all.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use gdal::vector::{FieldValue, LayerAccess, OGRFieldType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use geo::MultiPolygon;
use geo_traits::to_geo::ToGeoGeometry;

use super::encoding::{Decoding, Detection};
use crate::crs::{describe_srs, CrsInfo};
use crate::error::{Error, Result};
use crate::model::Value;
use crate::progress::Progress;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct SourceRequest {
    /// The file (or FileGDB folder).
    pub path: PathBuf,
    /// The source layer to read; `None` picks the only layer or a preferred one.
    pub layer: Option<String>,
    /// Layer names to prefer when there are several (from the profile).
    pub preferred: Vec<String>,
    /// Attribute encoding for Shapefiles (`GBK`, `UTF-8`, …).
    pub encoding: Option<String>,
    /// Repair invalid polygons with GEOS MakeValid instead of rejecting them.
    pub make_valid: bool,
}

/// A feature's geometry as found in the source.
#[derive(Debug, Clone)]
pub enum SourceGeometry {
    /// The feature has no geometry.
    Missing,
    /// The geometry is empty.
    Empty,
    /// A geometry of a non-polygonal type (named).
    NotPolygonal(String),
    /// GDAL could not convert it.
    Unreadable(String),
    /// A (multi)polygon, in the source CRS; `repaired` if MakeValid changed it.
    Polygonal {
        /// The polygons.
        mp: MultiPolygon<f64>,
        /// MakeValid was applied.
        repaired: bool,
    },
}

/// One source feature.
#[derive(Debug, Clone)]
pub struct SourceFeature {
    /// 0-based position in the layer.
    pub index: usize,
    /// GDAL feature id, if the format has one.
    pub fid: Option<u64>,
    /// Values, parallel to [`SourceInfo::field_names`].
    pub values: Vec<Value>,
    /// The geometry.
    pub geometry: SourceGeometry,
    /// Fields (indices into [`SourceInfo::field_names`]) whose bytes are not text in the source's encoding.
    pub undecodable: Vec<usize>,
}

/// A source layer as opened: everything about it but its features.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    /// The file.
    pub path: PathBuf,
    /// GDAL driver short name.
    pub driver: String,
    /// The layer read.
    pub layer: String,
    /// Field names as in the source.
    pub field_names: Vec<String>,
    /// The source layer's CRS, if it declares one.
    pub crs: Option<CrsInfo>,
    /// The attribute encoding used, and how it was chosen.
    pub encoding: String,
    /// Features in the layer, as GDAL counts them.
    pub count: u64,
    /// For a layer that declares no CRS: its extent (`[minx, maxx, miny, maxy]`) as GDAL reports it, for the
    /// hint of the refusal.
    pub declared_extent: Option<[f64; 4]>,
}

/// A source layer read into memory.
#[derive(Debug)]
pub struct Source {
    /// The layer.
    pub info: SourceInfo,
    /// `[minx, maxx, miny, maxy]` of all polygonal geometries.
    pub extent: Option<[f64; 4]>,
    /// The features.
    pub features: Vec<SourceFeature>,
}

impl std::ops::Deref for Source {
    type Target = SourceInfo;
    fn deref(&self) -> &SourceInfo {
        &self.info
    }
}

/// What a read takes from each feature.
#[derive(Debug, Clone)]
pub enum Take {
    /// Every field and the geometry.
    All,
    /// Only these fields (indices into the layer's fields) and no geometry: GDAL is told to skip the rest,
    /// which read as null, and the geometry as missing.
    Fields(Vec<usize>),
}

/// Features from which a GeoPackage layer is read in fid ranges on several threads.
const PARALLEL_READ_MIN: u64 = 100_000;

/// Features of a batch: a GeoPackage's batches are fid ranges this wide, another format's this many
/// features. With two reading threads at most five batches are in memory at once.
const BATCH: i64 = 8192;

/// [`BATCH`], or with the `fault-injection` feature (the tests' build) `NRLEDGER_SOURCE_BATCH`, so that the
/// tests' small sources cross batch boundaries.
fn batch_size() -> i64 {
    #[cfg(feature = "fault-injection")]
    if let Some(n) = std::env::var("NRLEDGER_SOURCE_BATCH").ok().and_then(|v| v.parse::<i64>().ok()).filter(|n| *n > 0)
    {
        return n;
    }
    BATCH
}

/// Read one layer of a vector source whole.
pub fn read(req: &SourceRequest, progress: &Progress) -> Result<Source> {
    read_with(req, progress, PARALLEL_READ_MIN)
}

/// [`read`], reading a GeoPackage layer of at least `parallel_min` features in fid ranges on several threads.
pub fn read_with(req: &SourceRequest, progress: &Progress, parallel_min: u64) -> Result<Source> {
    let stream = open_with(req, parallel_min, Take::All)?;
    let info = stream.info.clone();
    progress.set_len(info.count);
    let mut features = Vec::with_capacity(info.count as usize);
    for batch in stream {
        let batch = batch?;
        progress.inc(batch.len() as u64);
        features.extend(batch);
    }
    let extent = extent_of(&features);
    Ok(Source { info, extent, features })
}

/// Open one layer of a vector source to read it a batch at a time ([`Stream`]).
pub fn open(req: &SourceRequest, take: Take) -> Result<Stream> {
    open_with(req, PARALLEL_READ_MIN, take)
}

/// A source layer read a batch at a time, in the order one GDAL handle gives its features and with the
/// positions that order gives them. The batches are read ahead on threads of their own — a large GeoPackage
/// in fid ranges, one GDAL handle per core, the others through one handle — while the caller works on the
/// batch before; at most two batches per thread wait. Dropping the stream stops the threads.
pub struct Stream {
    /// The layer.
    pub info: SourceInfo,
    /// The reading threads' batches: batch k comes from `rx[k % rx.len()]`.
    rx: Vec<Receiver<Result<Vec<SourceFeature>>>>,
    /// How many batches there are, when known (fid ranges); else the stream ends with its one thread.
    batches: Option<usize>,
    /// The next batch.
    next: usize,
    /// The position of the next feature.
    index: usize,
    /// The reading threads, joined when the stream is dropped.
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Stream {
    /// Stop the reading threads and wait for them: a thread still inside GDAL when the process exits (an
    /// import refused after its source was opened) would meet GDAL's own teardown and crash the process.
    fn drop(&mut self) {
        self.rx.clear(); // a thread's next send fails, and it stops
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Iterator for Stream {
    type Item = Result<Vec<SourceFeature>>;

    fn next(&mut self) -> Option<Result<Vec<SourceFeature>>> {
        if self.batches.is_some_and(|n| self.next >= n) {
            return None;
        }
        let k = self.next;
        self.next += 1;
        match self.rx[k % self.rx.len()].recv() {
            Ok(Ok(mut batch)) => {
                for f in &mut batch {
                    f.index = self.index;
                    self.index += 1;
                }
                Some(Ok(batch))
            }
            Ok(Err(e)) => {
                self.batches = Some(0);
                Some(Err(e))
            }
            Err(_) if self.batches.is_none() => None,
            Err(_) => {
                self.batches = Some(0);
                Some(Err(Error::Invalid(format!("{}: a thread reading the source stopped", self.info.path.display()))))
            }
        }
    }
}

/// [`open`], reading a GeoPackage layer of at least `parallel_min` features in fid ranges on several threads.
pub fn open_with(req: &SourceRequest, parallel_min: u64, take: Take) -> Result<Stream> {
    open_sized(req, parallel_min, batch_size(), take)
}

/// [`open_with`], `batch` features (or fids) a batch.
fn open_sized(req: &SourceRequest, parallel_min: u64, batch: i64, take: Take) -> Result<Stream> {
    quiet_gdal_errors();
    let path = req.path.as_path();
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")));
    }
    check_shapefile_parts(path)?;
    let decoding = Decoding::for_source(path, req.encoding.as_deref())?;
    let options: Vec<String> = decoding.open_option().into_iter().collect();
    let opt_refs: Vec<&str> = options.iter().map(String::as_str).collect();
    let ds = open_read_only(path, &opt_refs)?;
    let driver = ds.driver().short_name();
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    if names.is_empty() {
        return Err(Error::NotVector { path: path.to_path_buf(), reason: "it has no vector layers".into() });
    }
    let chosen = choose_layer(path, &names, req)?;
    let mut layer = ds.layer_by_name(&chosen)?;
    let crs = match layer.spatial_ref() {
        Some(srs) => Some(describe_srs(&srs, &format!("{} layer {chosen}", path.display()))?),
        None => None,
    };
    let declared_extent =
        if crs.is_none() { layer.get_extent().ok().map(|e| [e.MinX, e.MaxX, e.MinY, e.MaxY]) } else { None };
    let fields: Vec<(String, OGRFieldType::Type)> = layer.defn().fields().map(|f| (f.name(), f.field_type())).collect();
    let count = layer.feature_count();
    let decoding = match decoding {
        Decoding::Detect => decoding.settle(path, &detect(&mut layer, &fields)?)?,
        d => d,
    };
    let span = fid_span(&ds, &layer, &driver, count, parallel_min, batch);
    drop(ds);
    let info = SourceInfo {
        path: path.to_path_buf(),
        driver,
        layer: chosen.clone(),
        field_names: fields.iter().map(|f| f.0.clone()).collect(),
        crs,
        encoding: decoding.label(),
        count,
        declared_extent,
    };
    let plan = Arc::new(Plan {
        path: path.to_path_buf(),
        options,
        layer: chosen,
        fields,
        take,
        make_valid: req.make_valid,
        decoding,
        batch,
    });
    let mut handles = Vec::new();
    let (rx, batches) = match span {
        Some((col, lo, hi)) => {
            let threads = crate::read_threads();
            let b = plan.batch;
            let ranges: Vec<(i64, i64)> =
                (0..).map(|k| lo + k * b).take_while(|a| *a <= hi).map(|a| (a, (a + b).min(hi + 1))).collect();
            let n = ranges.len();
            let rx = (0..threads.min(n))
                .map(|t| {
                    let mine: Vec<(i64, i64)> = ranges.iter().copied().skip(t).step_by(threads).collect();
                    let (tx, rx) = sync_channel(1);
                    let (plan, col) = (plan.clone(), col.clone());
                    handles.push(std::thread::spawn(move || plan.read_ranges(&col, &mine, &tx)));
                    rx
                })
                .collect();
            (rx, Some(n))
        }
        None => {
            let (tx, rx) = sync_channel(1);
            handles.push(std::thread::spawn(move || plan.read_sequential(&tx)));
            (vec![rx], None)
        }
    };
    Ok(Stream { info, rx, batches, next: 0, index: 0, threads: handles })
}

/// What a source without a declared encoding holds: every string value's bytes seen (the geometry skipped),
/// until neither UTF-8 nor GBK can hold.
fn detect(layer: &mut gdal::vector::Layer<'_>, fields: &[(String, OGRFieldType::Type)]) -> Result<Detection> {
    let mut seen = Detection::default();
    let strings: Vec<usize> = (0..fields.len()).filter(|&i| fields[i].1 == OGRFieldType::OFTString).collect();
    let mut skipped: Vec<&str> =
        fields.iter().filter(|f| f.1 != OGRFieldType::OFTString).map(|f| f.0.as_str()).collect();
    skipped.extend(["OGR_GEOMETRY", "OGR_STYLE"]);
    ignore_fields(layer, &skipped)?;
    'features: for feature in layer.features() {
        for &i in &strings {
            if let Raw::Bytes(b) = read_field(&feature, i, OGRFieldType::OFTString) {
                seen.see(&b);
                if seen.settled() {
                    break 'features;
                }
            }
        }
    }
    ignore_fields(layer, &[])?;
    Ok(seen)
}

/// Tell GDAL to skip these fields (`OGR_GEOMETRY`: the geometry); none: read everything again.
fn ignore_fields(layer: &gdal::vector::Layer<'_>, names: &[&str]) -> Result<()> {
    let owned: Vec<CString> = names.iter().filter_map(|n| CString::new(*n).ok()).collect();
    let mut ptrs: Vec<*const std::ffi::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: a valid layer handle and a NULL-terminated list of C strings that outlive the call (GDAL copies
    // them); NULL resets the list
    let rc = unsafe {
        gdal_sys::OGR_L_SetIgnoredFields(
            layer.c_layer(),
            if names.is_empty() { std::ptr::null_mut() } else { ptrs.as_mut_ptr() },
        )
    };
    if rc != gdal_sys::OGRErr::OGRERR_NONE {
        return Err(Error::Invalid(format!("GDAL could not skip fields {names:?} (OGRErr {rc})")));
    }
    Ok(())
}

/// How the reading threads read a layer: which file, options and layer, what to take of each feature, and
/// how its text decodes.
struct Plan {
    path: PathBuf,
    options: Vec<String>,
    layer: String,
    fields: Vec<(String, OGRFieldType::Type)>,
    take: Take,
    make_valid: bool,
    decoding: Decoding,
    /// Features (or fids) a batch.
    batch: i64,
}

/// A batch as a reading thread sends it.
type Batch = Result<Vec<SourceFeature>>;

impl Plan {
    /// The layer through a handle of this thread's own, told what to skip.
    fn with_layer<T>(&self, f: impl FnOnce(&mut gdal::vector::Layer<'_>) -> Result<T>) -> Result<T> {
        let options: Vec<&str> = self.options.iter().map(String::as_str).collect();
        let ds = open_read_only(&self.path, &options)?;
        let mut layer = ds.layer_by_name(&self.layer)?;
        if let Take::Fields(wanted) = &self.take {
            let mut skipped: Vec<&str> =
                (0..self.fields.len()).filter(|i| !wanted.contains(i)).map(|i| self.fields[i].0.as_str()).collect();
            skipped.extend(["OGR_GEOMETRY", "OGR_STYLE"]);
            ignore_fields(&layer, &skipped)?;
        }
        f(&mut layer)
    }

    /// Read these fid ranges `[lo, hi)` of column `col`, a batch each, in order.
    fn read_ranges(&self, col: &str, ranges: &[(i64, i64)], tx: &SyncSender<Batch>) {
        let col = format!("\"{}\"", col.replace('"', "\"\""));
        let read = self.with_layer(|layer| {
            for (lo, hi) in ranges {
                layer.set_attribute_filter(&format!("{col} >= {lo} AND {col} < {hi}"))?;
                let batch: Vec<SourceFeature> = layer.features().map(|f| self.feature(&f)).collect();
                if tx.send(Ok(batch)).is_err() {
                    break; // the stream was dropped
                }
            }
            Ok(())
        });
        if let Err(e) = read {
            let _ = tx.send(Err(e));
        }
    }

    /// Read the whole layer through one handle, a batch at a time.
    fn read_sequential(&self, tx: &SyncSender<Batch>) {
        let n = self.batch as usize;
        let read = self.with_layer(|layer| {
            let mut batch = Vec::with_capacity(n);
            for f in layer.features() {
                batch.push(self.feature(&f));
                if batch.len() == n && tx.send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(n)))).is_err() {
                    return Ok(()); // the stream was dropped
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(Ok(batch));
            }
            Ok(())
        });
        if let Err(e) = read {
            let _ = tx.send(Err(e));
        }
    }

    /// One feature as GDAL hands it over: its values decoded (a value that does not decode kept lossily for
    /// the reject's attributes and its field marked undecodable) and its geometry parsed; its position is
    /// set by the stream.
    fn feature(&self, feature: &gdal::vector::Feature<'_>) -> SourceFeature {
        let mut undecodable = Vec::new();
        let values = (0..self.fields.len())
            .map(|i| {
                if matches!(&self.take, Take::Fields(w) if !w.contains(&i)) {
                    return Value::Null;
                }
                match read_field(feature, i, self.fields[i].1) {
                    Raw::V(v) => v,
                    Raw::Bytes(b) => Value::Text(self.decoding.decode(&b).unwrap_or_else(|| {
                        // kept for the reject's attributes, never stored as the record's value
                        undecodable.push(i);
                        String::from_utf8_lossy(&b).into_owned()
                    })),
                }
            })
            .collect();
        let geometry = match self.take {
            Take::Fields(_) => SourceGeometry::Missing,
            Take::All => match geometry_wkb(feature.geometry(), self.make_valid) {
                Ok((bytes, repaired)) => parse_wkb(&bytes, repaired),
                Err(g) => g,
            },
        };
        SourceFeature { index: 0, fid: feature.fid(), values, geometry, undecodable }
    }
}

/// The fid column of a GeoPackage layer and its fid range `[lo, hi]`, to read it in fid ranges on several
/// threads — or None when it is read through one handle: another format, fewer than `parallel_min`
/// features, one core, a fid range GDAL does not report, or fids so sparse that most ranges would be empty.
fn fid_span(
    ds: &Dataset,
    layer: &gdal::vector::Layer<'_>,
    driver: &str,
    count: u64,
    parallel_min: u64,
    batch: i64,
) -> Option<(String, i64, i64)> {
    if driver != "GPKG" || count < parallel_min || count == 0 || crate::read_threads() < 2 {
        return None;
    }
    // SAFETY: the layer handle is valid while `layer` lives; GDAL returns a pointer to its own string
    let fid_col = unsafe {
        let p = gdal_sys::OGR_L_GetFIDColumn(layer.c_layer());
        if p.is_null() {
            return None;
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    };
    if fid_col.is_empty() {
        return None;
    }
    let col = format!("\"{}\"", fid_col.replace('"', "\"\""));
    let table = format!("\"{}\"", layer.name().replace('"', "\"\""));
    // two subqueries: SQLite answers a lone min() or max() of the key from the B-tree's ends, but both in one
    // query from a scan of the whole table (0.19 s at 1 000 000 features)
    let sql = format!("SELECT (SELECT min({col}) FROM {table}) AS lo, (SELECT max({col}) FROM {table}) AS hi");
    let mut res = ds.execute_sql(&sql, None, gdal::vector::sql::Dialect::SQLITE).ok()??;
    let f = res.features().next()?;
    let (lo, hi) = (f.field_as_integer64(0).ok()??, f.field_as_integer64(1).ok()??);
    let sparse = (hi - lo + 1) as f64 > 4.0 * count as f64 + batch as f64;
    (!sparse).then_some((fid_col, lo, hi))
}

/// The extent of the polygonal features (min x, max x, min y, max y), None without any.
pub fn extent_of(features: &[SourceFeature]) -> Option<[f64; 4]> {
    let mut extent: Option<[f64; 4]> = None;
    for f in features {
        if let SourceGeometry::Polygonal { mp, .. } = &f.geometry {
            if let Some(r) = geo::BoundingRect::bounding_rect(mp) {
                let e = extent.get_or_insert([f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY]);
                e[0] = e[0].min(r.min().x);
                e[1] = e[1].max(r.max().x);
                e[2] = e[2].min(r.min().y);
                e[3] = e[3].max(r.max().y);
            }
        }
    }
    extent
}

enum Raw {
    V(Value),
    Bytes(Vec<u8>),
}

/// A Shapefile is a .shp with its .shx and .dbf: name the missing part (GDAL's own refusal does not).
fn check_shapefile_parts(path: &Path) -> Result<()> {
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")) {
        return Ok(());
    }
    for part in ["dbf", "shx"] {
        let present = [part.to_string(), part.to_ascii_uppercase()].iter().any(|e| path.with_extension(e).exists());
        if !present {
            return Err(Error::NotVector {
                path: path.to_path_buf(),
                reason: format!(
                    "its {} is missing (a Shapefile is the .shp, .shx and .dbf files together, with .prj and .cpg beside them)",
                    path.with_extension(part).display()
                ),
            });
        }
    }
    Ok(())
}

/// The CRS a source layer declares and its extent (`[minx, maxx, miny, maxy]`, as GDAL reports it), without
/// reading its features.
pub fn crs_and_extent(req: &SourceRequest) -> Result<(Option<CrsInfo>, Option<[f64; 4]>)> {
    quiet_gdal_errors();
    check_shapefile_parts(&req.path)?;
    let ds = open_read_only(&req.path, &[])?;
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    let chosen = choose_layer(&req.path, &names, req)?;
    let layer = ds.layer_by_name(&chosen)?;
    let crs = match layer.spatial_ref() {
        Some(srs) => Some(describe_srs(&srs, &format!("{} layer {chosen}", req.path.display()))?),
        None => None,
    };
    let extent = layer.get_extent().ok().map(|e| [e.MinX, e.MaxX, e.MinY, e.MaxY]);
    Ok((crs, extent))
}

/// List the layers of a source (for messages and `nrledger import --list`).
pub fn layer_names(path: &Path) -> Result<Vec<String>> {
    quiet_gdal_errors();
    check_shapefile_parts(path)?;
    Ok(open_read_only(path, &[])?.layers().map(|l| l.name()).collect())
}

/// Open a vector source read-only (a source is never modified), with GDAL open options.
fn open_read_only(path: &Path, options: &[&str]) -> Result<Dataset> {
    Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            open_options: if options.is_empty() { None } else { Some(options) },
            ..Default::default()
        },
    )
    .map_err(|e| Error::NotVector { path: path.to_path_buf(), reason: e.to_string() })
}

fn choose_layer(path: &Path, names: &[String], req: &SourceRequest) -> Result<String> {
    if let Some(want) = &req.layer {
        return names.iter().find(|n| n.eq_ignore_ascii_case(want)).cloned().ok_or_else(|| Error::NoSuchSourceLayer {
            path: path.to_path_buf(),
            layer: want.clone(),
            layers: names.to_vec(),
        });
    }
    if names.len() == 1 {
        return Ok(names[0].clone());
    }
    for p in &req.preferred {
        if let Some(n) = names.iter().find(|n| n.eq_ignore_ascii_case(p)) {
            return Ok(n.clone());
        }
    }
    Err(Error::AmbiguousLayer { path: path.to_path_buf(), layers: names.to_vec() })
}

fn read_field(feature: &gdal::vector::Feature<'_>, i: usize, ty: OGRFieldType::Type) -> Raw {
    // SAFETY: the feature handle is valid for the borrow. Unset and null fields are Null for every type
    // (the gdal crate would read an unset number as 0, turning a missing TBMJ into 0 m²).
    if unsafe { gdal_sys::OGR_F_IsFieldSetAndNotNull(feature.c_feature(), i as i32) } == 0 {
        return Raw::V(Value::Null);
    }
    if ty == OGRFieldType::OFTString {
        // raw bytes: decoded once the encoding is known
        // SAFETY: GDAL returns a NUL-terminated string owned by the feature, copied before the next call.
        unsafe {
            let p = gdal_sys::OGR_F_GetFieldAsString(feature.c_feature(), i as i32);
            if p.is_null() {
                return Raw::V(Value::Null);
            }
            return Raw::Bytes(CStr::from_ptr(p).to_bytes().to_vec());
        }
    }
    Raw::V(match feature.field(i) {
        Ok(Some(FieldValue::IntegerValue(v))) => Value::Int(v as i64),
        Ok(Some(FieldValue::Integer64Value(v))) => Value::Int(v),
        Ok(Some(FieldValue::RealValue(v))) => Value::Real(v),
        Ok(Some(FieldValue::StringValue(s))) => Value::Text(s),
        Ok(Some(FieldValue::DateValue(d))) => Value::Text(d.format("%Y-%m-%d").to_string()),
        Ok(Some(FieldValue::DateTimeValue(d))) => Value::Text(d.to_rfc3339()),
        Ok(Some(FieldValue::IntegerListValue(v))) => Value::Text(join(&v)),
        Ok(Some(FieldValue::Integer64ListValue(v))) => Value::Text(join(&v)),
        Ok(Some(FieldValue::RealListValue(v))) => Value::Text(join(&v)),
        Ok(Some(FieldValue::StringListValue(v))) => Value::Text(v.join(";")),
        Ok(None) | Err(_) => Value::Null,
    })
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(";")
}

/// A feature's geometry as linear ISO WKB (repaired by MakeValid when asked and needed), or what it is
/// when it cannot be one (missing, empty, not polygonal, unreadable).
fn geometry_wkb(g: Option<&gdal::vector::Geometry>, make_valid: bool) -> Result<(Vec<u8>, bool), SourceGeometry> {
    let Some(g) = g else { return Err(SourceGeometry::Missing) };
    if g.is_empty() {
        return Err(SourceGeometry::Empty);
    }
    // SAFETY: plain queries on a valid geometry handle.
    let flat = unsafe { gdal_sys::OGR_GT_Flatten(g.geometry_type()) };
    let polygonal = unsafe {
        gdal_sys::OGR_GT_IsSubClassOf(flat, gdal_sys::OGRwkbGeometryType::wkbCurvePolygon) != 0
            || gdal_sys::OGR_GT_IsSubClassOf(flat, gdal_sys::OGRwkbGeometryType::wkbMultiSurface) != 0
    };
    if !polygonal {
        return Err(SourceGeometry::NotPolygonal(g.geometry_name()));
    }
    let mut repaired = false;
    let fixed;
    let g = if make_valid && !g.is_valid() {
        match g.make_valid(&gdal::cpl::CslStringList::new()) {
            Ok(v) => {
                repaired = true;
                fixed = v;
                &fixed
            }
            Err(e) => return Err(SourceGeometry::Unreadable(format!("MakeValid failed: {e}"))),
        }
    } else {
        g
    };
    linear_wkb(g).map(|b| (b, repaired)).map_err(SourceGeometry::Unreadable)
}

/// The polygons of a feature's WKB.
fn parse_wkb(bytes: &[u8], repaired: bool) -> SourceGeometry {
    match wkb::reader::read_wkb(bytes) {
        Ok(w) => {
            let mp = polygons_of(w.to_geometry());
            if mp.0.is_empty() {
                SourceGeometry::Empty
            } else {
                SourceGeometry::Polygonal { mp, repaired }
            }
        }
        Err(e) => SourceGeometry::Unreadable(e.to_string()),
    }
}

fn polygons_of(g: geo::Geometry<f64>) -> MultiPolygon<f64> {
    match g {
        geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(mp) => mp,
        geo::Geometry::GeometryCollection(gc) => {
            MultiPolygon(gc.0.into_iter().flat_map(|g| polygons_of(g).0).collect())
        }
        _ => MultiPolygon(vec![]),
    }
}

/// ISO WKB of the geometry with curves linearised.
fn linear_wkb(g: &gdal::vector::Geometry) -> Result<Vec<u8>, String> {
    // SAFETY: plain queries and export on a valid handle; OGR_G_GetLinearGeometry returns a new geometry we
    // own and destroy below (only made when there are curves: it copies the whole geometry).
    unsafe {
        if gdal_sys::OGR_G_HasCurveGeometry(g.c_geometry(), 0) == 0 {
            let size = gdal_sys::OGR_G_WkbSize(g.c_geometry());
            let mut buf = vec![0u8; size.max(0) as usize];
            let rc =
                gdal_sys::OGR_G_ExportToIsoWkb(g.c_geometry(), gdal_sys::OGRwkbByteOrder::wkbNDR, buf.as_mut_ptr());
            if rc != gdal_sys::OGRErr::OGRERR_NONE {
                return Err(format!("WKB export failed (OGRErr {rc})"));
            }
            return Ok(buf);
        }
        let lin = gdal_sys::OGR_G_GetLinearGeometry(g.c_geometry(), 0.0, std::ptr::null_mut());
        if lin.is_null() {
            return Err("cannot linearise geometry".into());
        }
        let size = gdal_sys::OGR_G_WkbSize(lin);
        let mut buf = vec![0u8; size.max(0) as usize];
        let rc = gdal_sys::OGR_G_ExportToIsoWkb(lin, gdal_sys::OGRwkbByteOrder::wkbNDR, buf.as_mut_ptr());
        gdal_sys::OGR_G_DestroyGeometry(lin);
        if rc != gdal_sys::OGRErr::OGRERR_NONE {
            return Err(format!("WKB export failed (OGRErr {rc})"));
        }
        Ok(buf)
    }
}

/// GDAL prints GEOS and driver warnings on stderr by default; nrledger reports problems itself.
pub fn quiet_gdal_errors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| gdal::config::set_error_handler(|_, _, _| {}));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(path: &Path, parallel_min: u64) -> Source {
        let req = SourceRequest { path: path.to_path_buf(), layer: Some("DLTB".into()), ..Default::default() };
        read_with(&req, &Progress::hidden(), parallel_min).unwrap()
    }

    fn same(a: &Source, b: &Source) {
        assert_eq!(a.features.len(), b.features.len());
        for (x, y) in a.features.iter().zip(&b.features) {
            assert_eq!((x.index, x.fid), (y.index, y.fid));
            assert_eq!(x.values, y.values, "feature {}", x.index);
            match (&x.geometry, &y.geometry) {
                (SourceGeometry::Polygonal { mp: p, .. }, SourceGeometry::Polygonal { mp: q, .. }) => {
                    assert_eq!(p, q, "feature {}", x.index)
                }
                (g, h) => assert_eq!(format!("{g:?}"), format!("{h:?}"), "feature {}", x.index),
            }
        }
        assert_eq!((&a.field_names, a.extent, &a.encoding), (&b.field_names, b.extent, &b.encoding));
    }

    /// A GeoPackage layer read in fid ranges on several threads gives the features one handle gives, in the
    /// same order with the same positions — also with fids missing (deleted rows, a gap at a range's edge).
    #[test]
    fn a_geopackage_read_in_fid_ranges_equals_one_read() {
        if crate::read_threads() < 2 {
            return; // one thread: always read through one handle
        }
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/anji/2019-12-31.gpkg");
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("gaps.gpkg");
        std::fs::copy(&seed, &copy).unwrap();
        {
            let c = rusqlite::Connection::open(&copy).unwrap();
            let n: i64 = c.query_row("SELECT count(*) FROM DLTB", [], |r| r.get(0)).unwrap();
            let (lo, hi): (i64, i64) =
                c.query_row("SELECT min(fid), max(fid) FROM DLTB", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            let mid = (lo + hi) / 2;
            // GDAL's R-tree triggers call ST_* functions; plain SQLite deletes the rows after dropping them
            let triggers: Vec<String> = {
                let mut st =
                    c.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'DLTB'").unwrap();
                st.query_map([], |r| r.get(0)).unwrap().map(|x| x.unwrap()).collect()
            };
            for t in triggers {
                c.execute_batch(&format!("DROP TRIGGER \"{t}\"")).unwrap();
            }
            let gone = c
                .execute(
                    "DELETE FROM DLTB WHERE fid % 7 = 0 OR fid BETWEEN ?1 AND ?2 OR fid = ?3",
                    rusqlite::params![mid - 40, mid + 40, lo],
                )
                .unwrap();
            assert!(gone > 100 && (gone as i64) < n);
        }
        for path in [seed.as_path(), copy.as_path()] {
            let one = features(path, u64::MAX);
            let ranges = features(path, 0);
            assert!(one.features.len() > 1000);
            same(&one, &ranges);
            // in small batches, through one handle and in fid ranges: the same features at the same positions
            for parallel_min in [u64::MAX, 0] {
                let req = SourceRequest { path: path.to_path_buf(), layer: Some("DLTB".into()), ..Default::default() };
                let stream = open_sized(&req, parallel_min, 97, Take::All).unwrap();
                let info = stream.info.clone();
                let batches: Vec<Vec<SourceFeature>> = stream.map(|b| b.unwrap()).collect();
                assert!(batches.len() > 10 && batches.iter().all(|b| b.len() <= 97));
                let features: Vec<SourceFeature> = batches.into_iter().flatten().collect();
                same(&one, &Source { info, extent: extent_of(&features), features });
            }
            // the key field alone: the same positions, other fields null, no geometry
            let req = SourceRequest { path: path.to_path_buf(), layer: Some("DLTB".into()), ..Default::default() };
            let keys: Vec<SourceFeature> =
                open_sized(&req, 0, 97, Take::Fields(vec![0])).unwrap().flat_map(|b| b.unwrap()).collect();
            assert_eq!(keys.len(), one.features.len());
            for (k, f) in keys.iter().zip(&one.features) {
                assert_eq!((k.index, k.fid, &k.values[0]), (f.index, f.fid, &f.values[0]));
                assert!(k.values[1..].iter().all(|v| *v == Value::Null));
                assert!(matches!(k.geometry, SourceGeometry::Missing));
            }
            assert!(one.features.iter().enumerate().all(|(i, f)| f.index == i));
        }
        let with_gaps = features(&copy, 0);
        assert!(with_gaps.features.iter().all(|f| f.fid.is_some_and(|x| x % 7 != 0)));
        // a GeoJSON source is read through one handle whatever the threshold
        let ds = Dataset::open(&seed).unwrap();
        let mut layer = ds.layer_by_name("DLTB").unwrap();
        let fids: Vec<i64> = layer.features().filter_map(|f| f.fid().map(|x| x as i64)).collect();
        let (lo, hi) = (*fids.iter().min().unwrap(), *fids.iter().max().unwrap());
        assert_eq!(fid_span(&ds, &layer, "GPKG", 3000, 0, BATCH), Some(("fid".to_string(), lo, hi)));
        assert!(fid_span(&ds, &layer, "GeoJSON", 3000, 0, BATCH).is_none());
        assert!(fid_span(&ds, &layer, "GPKG", 3000, 3001, BATCH).is_none());
        // fids so sparse that most small fid ranges would hold nothing: one handle
        assert!(fid_span(&ds, &layer, "GPKG", 3, 0, 10).is_none());
    }
}
