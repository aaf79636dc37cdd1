//! A geometry file uploaded with a form (GeoJSON, GeoPackage, or a zipped Shapefile), kept in a private
//! temporary folder while the request reads it and removed after. A zip is unpacked only after its
//! directory is checked: no path leaving the folder (`../`, absolute), at most 64 entries and 256 MiB
//! unpacked, each entry read no further than it declares (a zip bomb is refused, not unpacked).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::problem::ApiError;

/// The largest upload taken (the request body of the form, checked before it is read).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
/// The most a zip may unpack to, and the most entries it may hold (a smaller bound in unit tests, so that
/// a bomb past it is quick to build).
#[cfg(not(test))]
const MAX_UNPACKED: u64 = 256 * 1024 * 1024;
#[cfg(test)]
const MAX_UNPACKED: u64 = 1024 * 1024;
const MAX_ENTRIES: usize = 64;

/// A multipart form as posted: its text fields, and its files (field, file name, bytes) in the order sent,
/// a file input left empty left out.
pub struct PostedForm {
    /// Text fields by name.
    pub values: std::collections::HashMap<String, String>,
    /// Files: field, file name, content.
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// Read a posted multipart form (a field with a file name is a file) and check its CSRF token against the
/// caller's session.
pub async fn posted(caller: &super::auth::Caller, mut form: axum::extract::Multipart) -> Result<PostedForm, ApiError> {
    let mut out = PostedForm { values: Default::default(), files: Vec::new() };
    while let Some(field) = form.next_field().await.map_err(|e| ApiError::bad("body", e.body_text()))? {
        let name = field.name().unwrap_or("").to_string();
        if let Some(file_name) = field.file_name().map(str::to_string) {
            let bytes = field.bytes().await.map_err(|e| ApiError::bad(name.clone(), e.body_text()))?;
            if !bytes.is_empty() {
                out.files.push((name, file_name, bytes.to_vec()));
            }
        } else {
            let text = field.text().await.map_err(|e| ApiError::bad(name.clone(), e.body_text()))?;
            out.values.insert(name, text);
        }
    }
    super::login::check_csrf(caller, out.values.get("csrf").map_or("", String::as_str))?;
    Ok(out)
}

/// A private folder removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, ApiError> {
        let mut b = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
        let dir = std::env::temp_dir().join(format!("nrledger-upload-{}", hex::encode(b)));
        std::fs::create_dir(&dir).map_err(ApiError::internal)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The uploaded file `name` with `bytes`, ready to read: the file itself, or for a zip the one
/// Shapefile, GeoJSON or GeoPackage inside it. Refusals name the form field `field` and the file.
pub fn unpack(field: &str, name: &str, bytes: &[u8]) -> Result<(Scratch, PathBuf), ApiError> {
    let bad = |why: String| ApiError::bad(field, format!("{}: {why}", super::problem::clip(name)));
    let lower = name.to_lowercase();
    let ext = Path::new(&lower).extension().and_then(|e| e.to_str()).unwrap_or("").to_string();
    let scratch = Scratch::new()?;
    match ext.as_str() {
        "geojson" | "json" | "gpkg" => {
            // under the name it was sent with (what error messages name), made safe for a file name
            let base = Path::new(name).file_name().and_then(|n| n.to_str()).unwrap_or("upload");
            let safe: String = base
                .chars()
                .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
                .collect();
            let path = scratch.0.join(safe);
            std::fs::write(&path, bytes).map_err(ApiError::internal)?;
            Ok((scratch, path))
        }
        "zip" => {
            let inside = unzip(bytes, &scratch.0).map_err(bad)?;
            Ok((scratch, inside))
        }
        _ => Err(bad("give a GeoJSON (.geojson), a GeoPackage (.gpkg) or a zipped Shapefile (.zip)".into())),
    }
}

/// Unpack `bytes` into `dir` after checking the directory; the geometry file inside.
fn unzip(bytes: &[u8], dir: &Path) -> Result<PathBuf, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a readable zip ({e})"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!("{} entries; at most {MAX_ENTRIES} are taken", zip.len()));
    }
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let e = zip.by_index_raw(i).map_err(|e| format!("entry {i}: {e}"))?;
        if e.enclosed_name().is_none() {
            return Err(format!("entry '{}' would be written outside its folder; refused", e.name()));
        }
        declared = declared.saturating_add(e.size());
    }
    if declared > MAX_UNPACKED {
        return Err(format!("it unpacks to {declared} bytes; at most {MAX_UNPACKED} are taken"));
    }
    let mut found = Vec::new();
    for i in 0..zip.len() {
        let mut e = zip.by_index(i).map_err(|e| format!("entry {i}: {e}"))?;
        let rel = e.enclosed_name().ok_or("an entry leaves its folder")?;
        if e.is_dir() {
            continue;
        }
        // flatten: every file lands in the folder itself (a Shapefile's parts sit side by side)
        let file = rel.file_name().ok_or("an entry without a file name")?.to_owned();
        let path = dir.join(&file);
        let mut out = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        let limit = e.size();
        let copied = std::io::copy(&mut (&mut e).take(limit + 1), &mut out).map_err(|e| e.to_string())?;
        if copied > limit {
            return Err(format!("entry '{}' unpacks to more than it declares; refused", rel.display()));
        }
        out.flush().map_err(|e| e.to_string())?;
        let ext = Path::new(&file).extension().and_then(|x| x.to_str()).unwrap_or("").to_lowercase();
        if matches!(ext.as_str(), "shp" | "geojson" | "json" | "gpkg") {
            found.push(path);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err("no Shapefile (.shp), GeoJSON or GeoPackage inside".into()),
        n => Err(format!("{n} geometry files inside; put one unit's file in the zip")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
        buf.into_inner()
    }

    #[test]
    fn a_zip_leaving_its_folder_or_unpacking_too_far_is_refused_and_nothing_is_left() {
        let escape = zip_of(&[("../evil.shp", b"x")]);
        let e = unpack("geometry", "u.zip", &escape).err().unwrap();
        assert!(e.detail().contains("outside its folder"), "{}", e.detail());
        let bomb = zip_of(&[("big.shp", &vec![0u8; (MAX_UNPACKED + 1) as usize])]);
        let e = unpack("geometry", "u.zip", &bomb).err().unwrap();
        assert!(e.detail().contains("unpacks to"), "{}", e.detail());
        let two = zip_of(&[("a.shp", b"1"), ("b.geojson", b"2")]);
        assert!(unpack("geometry", "u.zip", &two).err().unwrap().detail().contains("2 geometry files"));
        let (scratch, path) =
            unpack("geometry", "u.zip", &zip_of(&[("dir/u.shp", b"1"), ("dir/u.dbf", b"2")])).unwrap();
        assert_eq!(path.file_name().unwrap(), "u.shp");
        assert!(path.with_extension("dbf").exists());
        let dir = scratch.0.clone();
        drop(scratch);
        assert!(!dir.exists(), "the scratch folder is removed");
        assert!(unpack("geometry", "u.exe", b"MZ").is_err());
    }
}
