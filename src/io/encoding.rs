//! How a source's attribute text is decoded, and the refusal of text that does not decode.
//!
//! A GeoPackage or GeoJSON holds UTF-8. A Shapefile's DBF holds bytes in a code page named by `--encoding`,
//! by its `.cpg` file, by the DBF's language-driver id, or by nothing. Where the encoding is UTF-8 or of the
//! GBK family (GBK, GB2312, CP936, GB18030 — the Chinese deliveries' code pages) nrledger reads the bytes
//! and decodes them itself, strictly; other code pages GDAL recodes. Without any declaration the bytes are
//! UTF-8 when every value is, else GBK when every value is. A value whose bytes are not text in the chosen
//! encoding is never replaced by U+FFFD: the feature and field are named and the record is rejected.

use std::path::Path;

use encoding_rs::Encoding;

use crate::error::{Error, Result};

/// How the attribute text of one source is decoded.
#[derive(Debug, Clone)]
pub enum Decoding {
    /// GDAL hands over UTF-8 (a UTF-8 format, or a code page GDAL recodes), with this open option.
    Gdal {
        /// The `ENCODING=` open option to pass, if any.
        open_option: Option<String>,
        /// The encoding as reported.
        label: String,
    },
    /// nrledger decodes the raw bytes (`ENCODING=""`) strictly in this encoding.
    Strict {
        /// The encoding.
        encoding: &'static Encoding,
        /// Whether GDAL must be told not to recode (a Shapefile); other formats give their bytes as stored.
        raw_open: bool,
        /// The encoding as reported.
        label: String,
    },
    /// No encoding declared (a Shapefile without `.cpg` or language driver id): UTF-8 or GBK, detected.
    Detect,
}

/// What the values of an undeclared encoding were seen to be, one value at a time: whether every one is
/// UTF-8, and whether every one is GBK (GB18030).
#[derive(Debug, Clone, Copy)]
pub struct Detection {
    utf8: bool,
    gbk: bool,
}

impl Default for Detection {
    fn default() -> Detection {
        Detection { utf8: true, gbk: true }
    }
}

impl Detection {
    /// Take in one value's bytes.
    pub fn see(&mut self, bytes: &[u8]) {
        if self.utf8 && std::str::from_utf8(bytes).is_err() {
            self.utf8 = false;
        }
        if self.gbk {
            self.gbk = encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes).is_some();
        }
    }

    /// Nothing more to learn: neither encoding holds.
    pub fn settled(&self) -> bool {
        !self.utf8 && !self.gbk
    }
}

impl Decoding {
    /// The decoding of the source at `path` given `--encoding` (if any).
    pub fn for_source(path: &Path, given: Option<&str>) -> Result<Decoding> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let shapefile = matches!(ext.as_deref(), Some("shp") | Some("dbf"));
        if let Some(g) = given {
            let label = format!("{g} (--encoding)");
            return match strict_encoding(g) {
                Some(encoding) => Ok(Decoding::Strict { encoding, raw_open: shapefile, label }),
                None if shapefile && gdal_can_recode(g) => {
                    Ok(Decoding::Gdal { open_option: Some(format!("ENCODING={g}")), label })
                }
                None => Err(Error::Invalid(format!(
                    "--encoding {g}: not an encoding {}; use e.g. GBK, GB18030, UTF-8, BIG5 or CP1252",
                    if shapefile { "GDAL (iconv) knows" } else { "nrledger decodes in a non-Shapefile source" }
                ))),
            };
        }
        if !shapefile {
            return Ok(Decoding::Strict { encoding: encoding_rs::UTF_8, raw_open: false, label: "UTF-8".into() });
        }
        for cpg in ["cpg", "CPG"] {
            if let Ok(text) = std::fs::read_to_string(path.with_extension(cpg)) {
                let name = text.trim().to_string();
                let label = format!("{name} (.cpg)");
                return Ok(match strict_encoding(&name) {
                    Some(encoding) => Decoding::Strict { encoding, raw_open: true, label },
                    None => Decoding::Gdal { open_option: None, label },
                });
            }
        }
        let ldid = std::fs::read(path.with_extension("dbf"))
            .or_else(|_| std::fs::read(path.with_extension("DBF")))
            .ok()
            .and_then(|b| b.get(29).copied())
            .unwrap_or(0);
        Ok(match ldid {
            0 => Decoding::Detect,
            _ => Decoding::Gdal { open_option: None, label: format!("DBF language driver id {ldid}") },
        })
    }

    /// The GDAL open option this decoding needs (`ENCODING=` for raw bytes), if any.
    pub fn open_option(&self) -> Option<String> {
        match self {
            Decoding::Gdal { open_option, .. } => open_option.clone(),
            Decoding::Strict { raw_open: true, .. } | Decoding::Detect => Some("ENCODING=".into()),
            Decoding::Strict { raw_open: false, .. } => None,
        }
    }

    /// Settle a detected encoding from what [`Detection`] saw of every value's bytes: UTF-8 if every value
    /// is, else GBK if every value is; an error naming the file otherwise. A decoding that is not
    /// [`Decoding::Detect`] stays as it is.
    pub fn settle(self, path: &Path, seen: &Detection) -> Result<Decoding> {
        if !matches!(self, Decoding::Detect) {
            return Ok(self);
        }
        if seen.utf8 {
            return Ok(Decoding::Strict {
                encoding: encoding_rs::UTF_8,
                raw_open: true,
                label: "UTF-8 (no .cpg; detected)".into(),
            });
        }
        if seen.gbk {
            return Ok(Decoding::Strict {
                encoding: encoding_rs::GB18030,
                raw_open: true,
                label: "GBK (no .cpg; detected)".into(),
            });
        }
        Err(Error::Invalid(format!(
            "{}: the attribute encoding is not declared (no .cpg) and is neither UTF-8 nor GBK; pass --encoding",
            path.display()
        )))
    }

    /// The encoding as reported.
    pub fn label(&self) -> String {
        match self {
            Decoding::Gdal { label, .. } | Decoding::Strict { label, .. } => label.clone(),
            Decoding::Detect => "undeclared".into(),
        }
    }

    /// One value's text, or None when its bytes are not text in this encoding.
    pub fn decode(&self, bytes: &[u8]) -> Option<String> {
        match self {
            Decoding::Strict { encoding, .. } => {
                encoding.decode_without_bom_handling_and_without_replacement(bytes).map(|t| t.into_owned())
            }
            Decoding::Gdal { .. } | Decoding::Detect => std::str::from_utf8(bytes).ok().map(str::to_owned),
        }
    }
}

/// The encodings nrledger decodes itself: UTF-8 and the GBK family (decoded as GB18030, their superset).
fn strict_encoding(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().to_ascii_lowercase();
    match l.as_str() {
        "utf-8" | "utf8" | "65001" | "cp65001" => Some(encoding_rs::UTF_8),
        "gbk" | "cp936" | "936" | "ms936" | "windows-936" | "gb2312" | "gb_2312" | "euc-cn" | "gb18030" | "cp54936" => {
            Some(encoding_rs::GB18030)
        }
        _ => None,
    }
}

/// Whether GDAL (through iconv) can recode text from `label` to UTF-8.
fn gdal_can_recode(label: &str) -> bool {
    let (Ok(test), Ok(from), Ok(to)) =
        (std::ffi::CString::new("a"), std::ffi::CString::new(label), std::ffi::CString::new("UTF-8"))
    else {
        return false;
    };
    // SAFETY: three valid NUL-terminated strings; CPLCanRecode only reads them.
    unsafe { gdal_sys::CPLCanRecode(test.as_ptr(), from.as_ptr(), to.as_ptr()) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding_refuses_bytes_that_are_not_text() {
        let utf8 = Decoding::Strict { encoding: encoding_rs::UTF_8, raw_open: false, label: "UTF-8".into() };
        assert_eq!(utf8.decode("耕地".as_bytes()).as_deref(), Some("耕地"));
        assert_eq!(utf8.decode(b"\xff\xfe"), None);
        let gbk = Decoding::Strict { encoding: encoding_rs::GB18030, raw_open: true, label: "GBK".into() };
        assert_eq!(gbk.decode(&[0xB8, 0xFB, 0xB5, 0xD8]).as_deref(), Some("耕地"));
        assert_eq!(gbk.decode(&[0xB8]), None);
    }

    #[test]
    fn known_and_unknown_encodings() {
        let p = Path::new("x.shp");
        assert!(matches!(Decoding::for_source(p, Some("cp936")), Ok(Decoding::Strict { .. })));
        assert!(Decoding::for_source(p, Some("KLINGON")).is_err());
        assert!(Decoding::for_source(Path::new("x.geojson"), Some("KLINGON")).is_err());
    }
}
