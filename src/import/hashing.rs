//! Content hashes: of a record (to tell unchanged records across vintages) and of a source file (for the
//! import log, so an auditor can prove which file produced a vintage).

use std::path::Path;

use sha2::{Digest, Sha256};

use super::Source;
use crate::error::{Error, Result};
use crate::io::blob;
use crate::model::Value;

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

/// The source attributes of feature `i` as a JSON object (kept with rejects).
pub(super) fn attributes_json(src: &Source, i: usize) -> String {
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

/// SHA-256 of bytes, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of a file's content, streamed (a registry may be gigabytes).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(hex::encode(h.finalize()))
}
