//! Reading vector sources through GDAL: any format GDAL reads (GeoJSON, Shapefile, GeoPackage, FileGDB
//! through OpenFileGDB, …), opened read-only so a source is never modified.
//!
//! Attribute text is decoded as `io::encoding` says: strictly, a value that is not text in the source's
//! encoding named with its field rather than replaced.
//!
//! A large GeoPackage layer is read in fid ranges, one GDAL handle per core on its own thread
//! ([`read_with`]); the features come in the order, and at the positions, one handle gives them.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use gdal::vector::{FieldValue, LayerAccess, OGRFieldType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use geo::MultiPolygon;
use geo_traits::to_geo::ToGeoGeometry;

use super::encoding::Decoding;
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
    /// Values, parallel to [`Source::field_names`].
    pub values: Vec<Value>,
    /// The geometry.
    pub geometry: SourceGeometry,
    /// Fields (indices into [`Source::field_names`]) whose bytes are not text in the source's encoding.
    pub undecodable: Vec<usize>,
}

/// A source layer read into memory.
#[derive(Debug)]
pub struct Source {
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
    /// `[minx, maxx, miny, maxy]` of all polygonal geometries.
    pub extent: Option<[f64; 4]>,
    /// The attribute encoding used, and how it was chosen.
    pub encoding: String,
    /// The features.
    pub features: Vec<SourceFeature>,
}

/// A feature as GDAL hands it over: fid, field values, the geometry when it is not WKB, and its WKB (with
/// whether MakeValid repaired it).
type ReadFeature = (Option<u64>, Vec<Raw>, SourceGeometry, Option<(Vec<u8>, bool)>);

enum Raw {
    V(Value),
    Bytes(Vec<u8>),
}

/// Features from which a GeoPackage layer is read in fid ranges on several threads.
const PARALLEL_READ_MIN: u64 = 100_000;

/// Read one layer of a vector source.
pub fn read(req: &SourceRequest, progress: &Progress) -> Result<Source> {
    read_with(req, progress, PARALLEL_READ_MIN)
}

/// The fid column of a GeoPackage layer and the fid ranges `[lo, hi)` to read it in, one per core — or
/// None when it is read through one handle: another format, fewer than `parallel_min` features, one core,
/// or a fid range GDAL does not report.
fn fid_ranges(
    ds: &Dataset,
    layer: &gdal::vector::Layer<'_>,
    driver: &str,
    count: u64,
    parallel_min: u64,
) -> Option<(String, Vec<(i64, i64)>)> {
    let threads = crate::read_threads() as i64;
    if driver != "GPKG" || count < parallel_min || count == 0 || threads < 2 {
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
    let sql = format!("SELECT min({col}) AS lo, max({col}) AS hi FROM {table}");
    let mut res = ds.execute_sql(&sql, None, gdal::vector::sql::Dialect::SQLITE).ok()??;
    let f = res.features().next()?;
    let (lo, hi) = (f.field_as_integer64(0).ok()??, f.field_as_integer64(1).ok()??);
    let span = hi - lo + 1;
    let step = (span + threads - 1) / threads;
    Some((
        fid_col,
        (0..threads).map(|k| (lo + k * step, (lo + (k + 1) * step).min(hi + 1))).filter(|(a, b)| a < b).collect(),
    ))
}

/// [`read`], reading a GeoPackage layer of at least `parallel_min` features in fid ranges on several threads.
pub fn read_with(req: &SourceRequest, progress: &Progress, parallel_min: u64) -> Result<Source> {
    quiet_gdal_errors();
    let path = req.path.as_path();
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")));
    }
    check_shapefile_parts(path)?;
    let decoding = Decoding::for_source(path, req.encoding.as_deref())?;
    let open_opts: Vec<String> = decoding.open_option().into_iter().collect();
    let opt_refs: Vec<&str> = open_opts.iter().map(String::as_str).collect();
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
    let fields: Vec<(String, OGRFieldType::Type)> = layer.defn().fields().map(|f| (f.name(), f.field_type())).collect();
    let count = layer.feature_count();
    progress.set_len(count);
    let chunks = read_features(path, &ds, &mut layer, &chosen, &opt_refs, &fields, req, progress, parallel_min)?;
    let raws = parse_geometries(chunks, count as usize);
    let extent = extent_of(&raws);
    let byte_values = raws.iter().flat_map(|r| &r.2).filter_map(|v| match v {
        Raw::Bytes(b) => Some(b.as_slice()),
        Raw::V(_) => None,
    });
    let decoding = decoding.settle(path, byte_values)?;
    let features = decode_values(raws, &decoding);
    Ok(Source {
        path: path.to_path_buf(),
        driver,
        layer: chosen,
        field_names: fields.into_iter().map(|f| f.0).collect(),
        crs,
        extent,
        encoding: decoding.label(),
        features,
    })
}

/// A feature with its WKB parsed: position, fid, raw values, geometry.
type Parsed = (usize, Option<u64>, Vec<Raw>, SourceGeometry);

/// Every feature of `layer`, in the order one handle gives them: GDAL hands them over one at a time (fields
/// and WKB); a large GeoPackage is read in fid ranges, each through a handle of its own on its own thread
/// (GDAL's own decoding was most of a 1 000 000-feature read, on one core), the ranges in fid order.
#[allow(clippy::too_many_arguments)]
fn read_features(
    path: &Path,
    ds: &gdal::Dataset,
    layer: &mut gdal::vector::Layer<'_>,
    chosen: &str,
    opt_refs: &[&str],
    fields: &[(String, OGRFieldType::Type)],
    req: &SourceRequest,
    progress: &Progress,
    parallel_min: u64,
) -> Result<Vec<Vec<ReadFeature>>> {
    let count = layer.feature_count();
    let driver = ds.driver().short_name();
    let read_all = |layer: &mut gdal::vector::Layer<'_>| -> Vec<ReadFeature> {
        layer
            .features()
            .map(|feature| {
                let vals: Vec<Raw> =
                    fields.iter().enumerate().map(|(i, (_, ty))| read_field(&feature, i, *ty)).collect();
                let (geometry, wkb) = match geometry_wkb(feature.geometry(), req.make_valid) {
                    Ok(w) => (SourceGeometry::Empty, Some(w)),
                    Err(g) => (g, None),
                };
                progress.inc(1);
                (feature.fid(), vals, geometry, wkb)
            })
            .collect()
    };
    let ranges = fid_ranges(ds, layer, &driver, count, parallel_min);
    Ok(match ranges {
        None => vec![read_all(layer)],
        Some((fid_col, ranges)) => std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .iter()
                .map(|&(lo, hi)| {
                    let (fid_col, read_all) = (&fid_col, &read_all);
                    scope.spawn(move || -> Result<Vec<_>> {
                        let ds = open_read_only(path, opt_refs)?;
                        let mut layer = ds.layer_by_name(chosen)?;
                        let col = format!("\"{}\"", fid_col.replace('"', "\"\""));
                        layer.set_attribute_filter(&format!("{col} >= {lo} AND {col} < {hi}"))?;
                        Ok(read_all(&mut layer))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a source reading thread panicked")).collect::<Result<Vec<_>>>()
        })?,
    })
}

/// The features in order with their WKB parsed (in parallel).
fn parse_geometries(chunks: Vec<Vec<ReadFeature>>, count: usize) -> Vec<Parsed> {
    let mut raws: Vec<(usize, Option<u64>, Vec<Raw>, SourceGeometry)> = Vec::with_capacity(count);
    let mut wkbs: Vec<Option<(Vec<u8>, bool)>> = Vec::with_capacity(count);
    for (index, (fid, vals, geometry, wkb)) in chunks.into_iter().flatten().enumerate() {
        raws.push((index, fid, vals, geometry));
        wkbs.push(wkb);
    }
    {
        use rayon::prelude::*;
        raws.par_iter_mut().zip(wkbs.into_par_iter()).with_min_len(256).for_each(|(r, w)| {
            if let Some((bytes, repaired)) = w {
                r.3 = parse_wkb(&bytes, repaired);
            }
        });
    }
    raws
}

/// The extent of the polygonal features (min x, max x, min y, max y), None without any.
fn extent_of(raws: &[Parsed]) -> Option<[f64; 4]> {
    let mut extent: Option<[f64; 4]> = None;
    for (_, _, _, geometry) in raws {
        if let SourceGeometry::Polygonal { mp, .. } = geometry {
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

/// The features with their byte values decoded in the settled encoding; a value that does not decode is
/// kept lossily for the reject's attributes and its field marked undecodable.
fn decode_values(raws: Vec<Parsed>, decoding: &Decoding) -> Vec<SourceFeature> {
    raws.into_iter()
        .map(|(index, fid, vals, geometry)| {
            let mut undecodable = Vec::new();
            let values = vals
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Raw::V(v) => v,
                    Raw::Bytes(b) => Value::Text(decoding.decode(&b).unwrap_or_else(|| {
                        // kept for the reject's attributes, never stored as the record's value
                        undecodable.push(i);
                        String::from_utf8_lossy(&b).into_owned()
                    })),
                })
                .collect();
            SourceFeature { index, fid, values, geometry, undecodable }
        })
        .collect()
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
            assert!(one.features.iter().enumerate().all(|(i, f)| f.index == i));
        }
        let with_gaps = features(&copy, 0);
        assert!(with_gaps.features.iter().all(|f| f.fid.is_some_and(|x| x % 7 != 0)));
        // a GeoJSON source is read through one handle whatever the threshold
        let ds = Dataset::open(&seed).unwrap();
        let layer = ds.layer_by_name("DLTB").unwrap();
        assert!(fid_ranges(&ds, &layer, "GPKG", 3000, 0)
            .is_some_and(|(col, r)| col == "fid" && r.len() >= 2 && r.windows(2).all(|w| w[0].1 == w[1].0)));
        assert!(fid_ranges(&ds, &layer, "GeoJSON", 3000, 0).is_none());
        assert!(fid_ranges(&ds, &layer, "GPKG", 3000, 3001).is_none());
    }
}
