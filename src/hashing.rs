//! Content hashes: of a record (to tell unchanged records across vintages) and of a source file (for the
//! import log, so an auditor can prove which file produced a vintage). A leaf module: the import computes
//! them, the store compares and records them, neither through the other.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::io::blob;
use crate::model::Value;

/// SHA-256 over the record's values and geometry: equal hashes across vintages mean an unchanged record.
/// Coordinates are compared at millimetre resolution in the registry CRS, so that a layer exported and
/// re-imported (reprojected twice by PROJ, moving vertices by nanometres) is recognised as unchanged.
pub fn content_hash(values: &[Value], geometry: &geo::MultiPolygon<f64>) -> String {
    use geo::MapCoords;
    let mm =
        geometry.map_coords(|c| geo::Coord { x: (c.x * 1000.0).round() / 1000.0, y: (c.y * 1000.0).round() / 1000.0 });
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(values).expect("values serialise"));
    h.update(blob::encode(&mm, 0));
    hex::encode(h.finalize())
}

/// [`content_hash`] of the values with the bookkeeping fields (at `bookkeeping`) left out: what tells an
/// unchanged record when a survey sets its data year (SJNF) on every record.
pub fn record_hash(values: &[Value], bookkeeping: &[usize], geometry: &geo::MultiPolygon<f64>) -> String {
    if bookkeeping.is_empty() {
        return content_hash(values, geometry);
    }
    let mut core = values.to_vec();
    for &i in bookkeeping {
        if let Some(v) = core.get_mut(i) {
            *v = Value::Null;
        }
    }
    content_hash(&core, geometry)
}

/// A source feature's attributes as a JSON object (kept with rejects): its values by the source's field names.
pub(crate) fn attributes_json(field_names: &[String], values: &[Value]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = field_names
        .iter()
        .zip(values)
        .map(|(n, v)| (n.clone(), serde_json::to_value(v).unwrap_or(serde_json::Value::Null)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// SHA-256 of a source: the file, a Shapefile with its sidecar files, or every file of a folder (FileGDB).
pub fn hash_source(path: &Path) -> Result<String> {
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<_> =
            std::fs::read_dir(path).map_err(|e| Error::io(path, e))?.flatten().map(|e| e.path()).collect();
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
        hash_into(&mut h, &f)?;
    }
    Ok(hex::encode(h.finalize()))
}

/// Stream a file's content into `h`, a megabyte at a time: a source or a registry may be gigabytes, and
/// reading one whole (as imports once did) first cost as long again as hashing it.
fn hash_into(h: &mut Sha256, path: &Path) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    std::io::copy(&mut std::io::BufReader::with_capacity(1 << 20, f), h).map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// SHA-256 of bytes, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of a file's content, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut h = Sha256::new();
    hash_into(&mut h, path)?;
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that are not periodic over the read buffer, so a chunk read twice or skipped changes the hash.
    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn a_source_streamed_in_chunks_hashes_as_its_whole_content() {
        let dir = tempfile::tempdir().unwrap();
        // a file of 2.5 read buffers, and a Shapefile whose sidecars follow it in a fixed order
        let big = bytes((5 << 20) / 2 + 7, 1);
        let file = dir.path().join("big.gpkg");
        std::fs::write(&file, &big).unwrap();
        assert_eq!(hash_source(&file).unwrap(), sha256_hex(&big));
        assert_eq!(sha256_file(&file).unwrap(), sha256_hex(&big));
        let mut all = Vec::new();
        for (ext, n) in [("shp", 1_500_000), ("shx", 10), ("dbf", 3_000), ("prj", 0)] {
            let b = bytes(n, n as u64 + 2);
            std::fs::write(dir.path().join(format!("a.{ext}")), &b).unwrap();
            all.extend(b);
        }
        assert_eq!(hash_source(&dir.path().join("a.shp")).unwrap(), sha256_hex(&all));
        let missing = dir.path().join("missing.gpkg");
        assert!(hash_source(&missing).unwrap_err().to_string().contains("missing.gpkg"));
    }
}
