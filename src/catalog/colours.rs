//! Map colours (`classes/map-colours.csv`): a parcel's fill by its land-class code (the longest listed
//! prefix wins) and each other layer's fill and line. Data, not code: the service's map and the QGIS style
//! the registry carries both read them from here.

use crate::error::{Error, Result};

/// A colour as `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb(String);

impl Rgb {
    fn parse(file: &str, line: u64, text: &str) -> Result<Option<Rgb>> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let ok = t.len() == 7 && t.starts_with('#') && t[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !ok {
            return Err(Error::Config {
                file: file.into(),
                reason: format!("line {line}: '{t}' is not a colour #rrggbb"),
            });
        }
        Ok(Some(Rgb(t.to_ascii_lowercase())))
    }

    /// `#rrggbb`.
    pub fn hex(&self) -> &str {
        &self.0
    }

    /// Red, green, blue.
    pub fn channels(&self) -> [u8; 3] {
        let c = |i: usize| u8::from_str_radix(&self.0[i..i + 2], 16).unwrap_or(0);
        [c(1), c(3), c(5)]
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swatch {
    /// A land-class code prefix (scheme `landuse`) or a layer kind's name (scheme `layer`).
    pub code: String,
    /// Fill colour.
    pub fill: Option<Rgb>,
    /// Line colour.
    pub line: Option<Rgb>,
    /// The legend's label.
    pub name: String,
}

/// The whole table.
#[derive(Debug, Clone, Default)]
pub struct MapColours {
    /// Land classes, in file order.
    pub landuse: Vec<Swatch>,
    /// Layers other than the parcels.
    pub layers: Vec<Swatch>,
}

impl MapColours {
    pub(super) fn parse(file: &str, text: &str) -> Result<MapColours> {
        let mut out = MapColours::default();
        let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        for row in rdr.records() {
            let row = row.map_err(|e| Error::Config { file: file.into(), reason: e.to_string() })?;
            let line = row.position().map_or(0, |p| p.line());
            let get = |i: usize| row.get(i).unwrap_or("").trim();
            let swatch = Swatch {
                code: get(1).to_string(),
                fill: Rgb::parse(file, line, get(2))?,
                line: Rgb::parse(file, line, get(3))?,
                name: get(4).to_string(),
            };
            if swatch.code.is_empty() || (swatch.fill.is_none() && swatch.line.is_none()) {
                return Err(Error::Config {
                    file: file.into(),
                    reason: format!("line {line}: needs a code and a colour"),
                });
            }
            match get(0) {
                "landuse" => out.landuse.push(swatch),
                "layer" => out.layers.push(swatch),
                other => {
                    return Err(Error::Config {
                        file: file.into(),
                        reason: format!("line {line}: scheme '{other}' is neither landuse nor layer"),
                    })
                }
            }
        }
        Ok(out)
    }

    /// The fill of a land-class code: its longest listed prefix's.
    pub fn landuse_fill(&self, code: &str) -> Option<&Rgb> {
        self.landuse
            .iter()
            .filter(|s| code.starts_with(&s.code) && s.fill.is_some())
            .max_by_key(|s| s.code.len())
            .and_then(|s| s.fill.as_ref())
    }

    /// A layer's swatch.
    pub fn layer(&self, name: &str) -> Option<&Swatch> {
        self.layers.iter().find(|s| s.code == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_bad_rows_are_named() {
        let c = MapColours::parse("m.csv", "scheme,code,fill,line,name\nlanduse,01,#ffffb1,,耕地\nlanduse,0101,#F8D072,,水田\nlayer,redlines,,#d7301f,红线\n").unwrap();
        assert_eq!(c.landuse_fill("0101K").map(Rgb::hex), Some("#f8d072"));
        assert_eq!(c.landuse_fill("0103").map(Rgb::hex), Some("#ffffb1"));
        assert_eq!(c.landuse_fill("0301"), None);
        assert_eq!(c.layer("redlines").and_then(|s| s.line.as_ref()).map(Rgb::channels), Some([0xd7, 0x30, 0x1f]));
        let bad = MapColours::parse("m.csv", "scheme,code,fill,line,name\nlanduse,01,red,,耕地\n").unwrap_err();
        assert!(bad.to_string().contains("m.csv") && bad.to_string().contains("'red'"), "{bad}");
        assert!(MapColours::parse("m.csv", "scheme,code,fill,line,name\nlanduse,01,,,耕地\n").is_err());
    }
}
