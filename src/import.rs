//! The import pipeline: read a source → map its fields through a profile → validate every record against
//! the layer definition and the classification tables → reproject to the registry CRS → compute areas →
//! hand a [`PreparedImport`] to the store.
//!
//! Bad records are [`Problem`]s, never panics or early exits: all of them are found and reported together,
//! each naming the file, layer, feature, field and reason. In atomic mode (the default) one problem means
//! nothing is written; with `keep_going` the valid records are written and the rejects kept in the
//! registry's `rejects` layer.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use geo::{BoundingRect, Validation};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::area::{AreaCalculator, Ellipsoid};
use crate::catalog::{FieldSource, LayerDef, Profile};
use crate::crs::{self, CrsInfo, Transformer};
use crate::error::{Error, Result};
use crate::io::blob;
use crate::io::source::{self, Source, SourceGeometry, SourceRequest};
use crate::model::{AsOf, FieldType, LayerKind, Value};
use crate::progress::Progress;
use crate::store::{ImportOutcome, PreparedImport, PreparedRecord, Registry, RejectRow};

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
    /// Who runs the import (registrar on registration events).
    pub user: String,
    /// Reason recorded on registration events.
    pub reason: Option<String>,
}

/// One thing wrong with one source record.
#[derive(Debug, Clone, serde::Serialize)]
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
#[derive(Debug, Clone, serde::Serialize)]
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
}

/// Run an import against an open registry.
pub fn run(reg: &mut Registry, req: &ImportRequest, progress: &Progress) -> Result<ImportReport> {
    let started_at = chrono::Utc::now().to_rfc3339();
    let def = reg.catalog().layer(req.layer).clone();
    let profile = match &req.profile {
        Some(p) => reg.catalog().profile(p)?,
        None => Profile::identity(&def),
    };
    if profile.layer != req.layer {
        return Err(Error::Invalid(format!(
            "profile {} loads layer {}, not {}",
            profile.name, profile.layer, req.layer
        )));
    }
    let mut sreq = req.source.clone();
    if sreq.preferred.is_empty() {
        sreq.preferred = profile.source_layers.clone();
    }
    let src = source::read(&sreq, progress)?;
    progress.finish();
    let src_crs = source_crs(&src, req.src_crs.as_deref(), &reg.crs)?;
    let mapping = map_fields(&src, &def, &profile)?;
    let file = req.source.path.display().to_string();

    // attribute validation (cheap, sequential, needs the duplicate-key view)
    let classes = &reg.catalog().classes;
    let mut problems: Vec<Problem> = Vec::new();
    let mut rows: Vec<Option<(String, Vec<Value>)>> = Vec::with_capacity(src.features.len());
    let key_idx = def.key_index();
    let mut first_seen: HashMap<String, Vec<usize>> = HashMap::new();
    for f in &src.features {
        let mut values = Vec::with_capacity(def.fields.len());
        let mut bad = Vec::new();
        for (i, fd) in def.fields.iter().enumerate() {
            let raw = mapping[i].as_ref().map(|(si, rw)| rewrite(&f.values[*si], rw)).unwrap_or(Value::Null);
            match check_value(&def, i, raw, classes) {
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
                    let ok = [code.as_str(), base].iter().any(|c| classes.landuse_name(c) == Some(name.as_str()));
                    if !ok {
                        if let Some(expected) = classes.landuse_name(code) {
                            bad.push((fd.name.clone(), format!("'{name}' is not the name of {of} {code} ({expected})")));
                        }
                    }
                }
            }
        }
        let key = match &values[key_idx] {
            Value::Null => None,
            v => Some(v.to_string()),
        };
        for (field, reason) in &bad {
            problems.push(problem(&file, &src, f.index, f.fid, key.clone(), Some(field.clone()), reason.clone()));
        }
        if let Some(k) = &key {
            first_seen.entry(k.clone()).or_default().push(f.index);
        }
        rows.push(if bad.is_empty() { key.map(|k| (k, values)) } else { None });
    }
    for (k, idxs) in &first_seen {
        if idxs.len() > 1 {
            for &i in idxs {
                let others: Vec<String> = idxs.iter().filter(|&&j| j != i).map(|j| format!("#{j}")).collect();
                problems.push(problem(
                    &file,
                    &src,
                    i,
                    src.features[i].fid,
                    Some(k.clone()),
                    Some(def.key.clone()),
                    format!("duplicate {} '{k}' (also feature {})", def.key, others.join(", ")),
                ));
                rows[i] = None;
            }
        }
    }

    // geometry: validate, reproject, measure — in parallel, one PROJ context per worker
    let reg_crs = reg.crs.definition.clone();
    let geog = reg.crs.geographic.clone();
    let ell = Ellipsoid { a: reg.crs.semi_major, inv_f: reg.crs.inv_flattening };
    let fe = reg.crs.false_easting;
    let src_def = src_crs.definition.clone();
    let make_valid = req.source.make_valid;
    // fail early, with a clear message, if PROJ cannot build the transformations
    Transformer::new(&src_def, &reg_crs)?;
    AreaCalculator::new(&reg_crs, &geog, ell, true)?;
    let geo_results: Vec<std::result::Result<(geo::MultiPolygon<f64>, crate::area::Areas), (String, Option<geo::Geometry<f64>>)>> = src
        .features
        .par_iter()
        .with_min_len(256)
        .map_init(
            || {
                (
                    Transformer::new(&src_def, &reg_crs).expect("checked above"),
                    AreaCalculator::new(&reg_crs, &geog, ell, true).expect("checked above"),
                )
            },
            |(tr, calc), f| {
                let mp = match &f.geometry {
                    SourceGeometry::Missing => return Err(("no geometry".to_string(), None)),
                    SourceGeometry::Empty => return Err(("empty geometry".to_string(), None)),
                    SourceGeometry::NotPolygonal(t) => {
                        return Err((format!("geometry is a {t}; layer {} needs polygons", def.kind), None))
                    }
                    SourceGeometry::Unreadable(e) => return Err((format!("unreadable geometry: {e}"), None)),
                    SourceGeometry::Polygonal { mp, .. } => mp,
                };
                let moved = tr.multipolygon(mp).map_err(|e| (e.to_string(), None))?;
                let as_geom = || Some(geo::Geometry::MultiPolygon(moved.clone()));
                if let Some(r) = moved.bounding_rect() {
                    let off = (r.min().x - fe).abs().max((r.max().x - fe).abs());
                    if off > 1_000_000.0 {
                        return Err((
                            format!(
                                "geometry lands {:.0} km from the registry's central meridian after reprojection — wrong source CRS?",
                                off / 1000.0
                            ),
                            None,
                        ));
                    }
                }
                if !make_valid {
                    if let Err(e) = moved.check_validation() {
                        return Err((format!("invalid geometry: {e} (use --make-valid to repair with GEOS MakeValid)"), as_geom()));
                    }
                }
                let areas = calc.areas(&moved).map_err(|e| (e.to_string(), as_geom()))?;
                if areas.ellipsoidal <= 0.0 {
                    return Err(("geometry has zero area".to_string(), as_geom()));
                }
                Ok((moved, areas))
            },
        )
        .collect();

    let mut records = Vec::new();
    let mut rejects = Vec::new();
    for (i, (f, g)) in src.features.iter().zip(geo_results).enumerate() {
        let key = rows[i].as_ref().map(|(k, _)| k.clone());
        match (rows[i].take(), g) {
            (Some((key, values)), Ok((geometry, areas))) => {
                let hash = content_hash(&values, &geometry);
                let document_no = def.field_index("DJWH").and_then(|di| values[di].as_str().map(str::to_string));
                records.push(PreparedRecord { key, values, geometry, areas, hash, document_no });
            }
            (row, g) => {
                let mut geom = None;
                if let Err((reason, gm)) = g {
                    let k = key.or_else(|| f.values.get(mapping[key_idx].as_ref().map(|m| m.0).unwrap_or(usize::MAX)).map(|v| v.to_string()).filter(|k| !k.is_empty()));
                    problems.push(problem(&file, &src, f.index, f.fid, k, Some("geometry".into()), reason));
                    geom = gm;
                } else if row.is_none() {
                    // attribute problems already listed; keep the geometry with the reject
                    if let Ok((g, _)) = g {
                        geom = Some(geo::Geometry::MultiPolygon(g));
                    }
                }
                rejects.push((i, geom));
            }
        }
    }
    problems.sort_by(|a, b| (a.feature_index, &a.field).cmp(&(b.feature_index, &b.field)));
    let repaired = src.features.iter().filter(|f| matches!(f.geometry, SourceGeometry::Polygonal { repaired: true, .. })).count();
    let mut report = ImportReport {
        outcome: None,
        problems,
        read: src.features.len(),
        source_layer: src.layer.clone(),
        encoding: src.encoding.clone(),
        source_crs: src_crs.definition.chars().take(120).collect(),
        repaired,
    };
    if !report.problems.is_empty() && !req.keep_going {
        return Ok(report);
    }
    let reject_rows = rejects
        .into_iter()
        .map(|(i, geometry)| {
            let f = &src.features[i];
            let mine: Vec<&Problem> = report.problems.iter().filter(|p| p.feature_index == f.index).collect();
            RejectRow {
                feature_index: f.index,
                source_fid: f.fid,
                key: mine.iter().find_map(|p| p.key.clone()),
                field: mine.first().and_then(|p| p.field.clone()),
                reason: mine.iter().map(|p| match &p.field {
                    Some(fl) => format!("{fl}: {}", p.reason),
                    None => p.reason.clone(),
                }).collect::<Vec<_>>().join("; "),
                attributes: attributes_json(&src, i),
                geometry,
            }
        })
        .collect();
    let prepared = PreparedImport {
        layer: req.layer,
        as_of: req.as_of,
        records,
        rejects: reject_rows,
        source_path: file,
        source_sha256: hash_source(&req.source.path)?,
        source_layer: src.layer.clone(),
        driver: src.driver.clone(),
        profile: profile.name.clone(),
        source_crs: src_crs.definition.clone(),
        encoding: src.encoding.clone(),
        mode: if req.keep_going { "keep-going".into() } else { "atomic".into() },
        read_count: src.features.len(),
        repaired,
        user: req.user.clone(),
        reason: req.reason.clone().unwrap_or_else(|| format!("导入 import of {} as of {}", req.source.path.display(), req.as_of)),
        started_at,
    };
    let bar = Progress::new(prepared.records.len() as u64, "storing");
    let outcome = reg.apply(&prepared, &bar)?;
    bar.finish();
    report.outcome = Some(outcome);
    Ok(report)
}

fn problem(file: &str, src: &Source, index: usize, fid: Option<u64>, key: Option<String>, field: Option<String>, reason: String) -> Problem {
    Problem { file: file.to_string(), layer: src.layer.clone(), feature_index: index, fid, key, field, reason }
}

/// Decide the source CRS: `--src-crs` wins; GeoJSON lon/lat is taken as the registry's geographic CRS
/// (CGCS2000) as is; a source with no CRS is refused with a hint from its coordinates; projected
/// coordinates that do not fit their CRS's false easting (zone prefix confusion) are refused.
fn source_crs(src: &Source, given: Option<&str>, reg: &CrsInfo) -> Result<CrsInfo> {
    let info = match (given, &src.crs) {
        (Some(g), _) => crs::describe(g)?,
        (None, Some(c)) if src.driver == "GeoJSON" && c.epsg == Some(4326) => crs::describe(&reg.geographic)?,
        (None, Some(c)) => c.clone(),
        (None, None) => {
            let hint = src.extent.map(|e| crs::guess_hint(e[0], e[1], e[2], e[3])).unwrap_or_default();
            return Err(Error::NoSourceCrs { path: src.path.clone(), layer: src.layer.clone(), hint });
        }
    };
    if let Some(e) = src.extent {
        crs::check_false_easting(&info, e[0], e[1])
            .map_err(|reason| Error::CrsMismatch { path: src.path.clone(), layer: src.layer.clone(), reason })?;
    }
    Ok(info)
}

type Mapping = Vec<Option<(usize, FieldSource)>>;

/// For each layer field, the source column it comes from. A required field with no source column is an
/// error for the whole source (every record would fail).
fn map_fields(src: &Source, def: &LayerDef, profile: &Profile) -> Result<Mapping> {
    let lower: Vec<String> = src.field_names.iter().map(|n| n.to_lowercase()).collect();
    let mut out = Vec::with_capacity(def.fields.len());
    let mut missing = Vec::new();
    for f in &def.fields {
        let cands = profile.fields.get(&f.name);
        let found = cands.and_then(|cs| {
            cs.iter().find_map(|c| lower.iter().position(|n| *n == c.field().to_lowercase()).map(|i| (i, c.clone())))
        });
        if found.is_none() && f.required {
            let looked: Vec<&str> = cands.map(|cs| cs.iter().map(FieldSource::field).collect()).unwrap_or_default();
            missing.push(format!("{} {} (looked for {})", f.name, f.title, looked.join(", ")));
        }
        out.push(found);
    }
    if !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: layer {}: no source field for required {}; source fields are: {} (use --profile or a profile file to map them)",
            src.path.display(),
            src.layer,
            missing.join("; "),
            src.field_names.join(", ")
        )));
    }
    Ok(out)
}

fn rewrite(v: &Value, how: &FieldSource) -> Value {
    match (how, v) {
        (FieldSource::Rewrite { strip_prefix: Some(p), .. }, Value::Text(s)) => {
            Value::Text(s.strip_prefix(p.as_str()).unwrap_or(s).to_string())
        }
        _ => v.clone(),
    }
}

/// Coerce and check one value against its field definition.
fn check_value(def: &LayerDef, i: usize, v: Value, classes: &crate::catalog::ClassTables) -> std::result::Result<Value, String> {
    let fd = &def.fields[i];
    let v = match v {
        Value::Text(s) if s.trim().is_empty() => Value::Null,
        Value::Text(s) => Value::Text(s.trim().to_string()),
        other => other,
    };
    if matches!(v, Value::Null) {
        return if fd.required { Err("required value is missing".into()) } else { Ok(Value::Null) };
    }
    let v = match fd.field_type {
        FieldType::Text => match v {
            Value::Real(r) if r.fract() == 0.0 && r.abs() < 1e15 => Value::Text(format!("{}", r as i64)),
            other => Value::Text(other.to_string()),
        },
        FieldType::Integer => match v {
            Value::Int(i) => Value::Int(i),
            Value::Real(r) if r.fract() == 0.0 => Value::Int(r as i64),
            Value::Text(s) => Value::Int(s.parse::<i64>().map_err(|_| format!("expected an integer, found '{s}'"))?),
            other => return Err(format!("expected an integer, found {other}")),
        },
        FieldType::Real => match v {
            Value::Int(i) => Value::Real(i as f64),
            Value::Real(r) => Value::Real(r),
            Value::Text(s) => Value::Real(
                s.parse::<f64>().ok().filter(|r| r.is_finite()).ok_or_else(|| format!("expected a number, found '{s}'"))?,
            ),
            Value::Null => Value::Null,
        },
        FieldType::Date => {
            let s = v.to_string();
            let d = s.get(..10).unwrap_or(&s).replace('/', "-");
            crate::model::parse_date(&d).map_err(|e| format!("expected a date: {e}"))?;
            Value::Text(d)
        }
    };
    if let (Some(min), Some(x)) = (fd.min, v.as_f64()) {
        if x < min {
            return Err(format!("{x} is below the minimum {min}"));
        }
    }
    if let (Some(max), Some(x)) = (fd.max, v.as_f64()) {
        if x > max {
            return Err(format!("{x} is above the maximum {max}"));
        }
    }
    if let (Some(re), Some(s)) = (&def.patterns[i], v.as_str()) {
        if !re.is_match(s) {
            return Err(format!("'{s}' does not match the pattern {}", re.as_str()));
        }
    }
    if let (Some(table), Some(s)) = (&fd.codes, v.as_str()) {
        let t = classes.table(table).expect("checked at load");
        return match t.normalise(s) {
            Some(code) => Ok(Value::Text(code.to_string())),
            None => {
                let mut msg = format!("unknown code '{s}' (not in the {table} table)");
                let padded = format!("0{s}");
                if t.normalise(&padded).is_some() {
                    msg.push_str(&format!("; did you mean '{padded}'? (a leading zero may have been lost)"));
                }
                Err(msg)
            }
        };
    }
    Ok(v)
}

/// SHA-256 over the record's values and geometry: equal hashes across vintages mean an unchanged record.
/// Coordinates are compared at millimetre resolution in the registry CRS, so that a layer exported and
/// re-imported (reprojected twice by PROJ, moving vertices by nanometres) is recognised as unchanged.
pub fn content_hash(values: &[Value], geometry: &geo::MultiPolygon<f64>) -> String {
    use geo::MapCoords;
    let mm = geometry.map_coords(|c| geo::Coord { x: (c.x * 1000.0).round() / 1000.0, y: (c.y * 1000.0).round() / 1000.0 });
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(values).expect("values serialise"));
    h.update(blob::encode(&mm, 0));
    hex::encode(h.finalize())
}

fn attributes_json(src: &Source, i: usize) -> String {
    let map: serde_json::Map<String, serde_json::Value> = src
        .field_names
        .iter()
        .zip(&src.features[i].values)
        .map(|(n, v)| (n.clone(), serde_json::to_value(v).unwrap_or(serde_json::Value::Null)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// SHA-256 of a source: the file, a Shapefile with its sidecar files, or every file of a folder (FileGDB).
pub fn hash_source(path: &Path) -> Result<String> {
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?.flatten().map(|e| e.path()).collect();
        entries.sort();
        files.extend(entries.into_iter().filter(|p| p.is_file()));
    } else {
        files.push(path.to_path_buf());
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")) {
            for ext in ["shx", "dbf", "prj", "cpg"] {
                let p = path.with_extension(ext);
                if p.exists() {
                    files.push(p);
                }
            }
        }
    }
    let mut h = Sha256::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, e))?;
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}
