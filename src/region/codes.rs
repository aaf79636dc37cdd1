//! Administrative division codes (行政区划代码, GB/T 2260) and their locations, from `layers/regions.csv`: used to choose the Gauss-Krüger
//! zone of a new registry from a county code.

use crate::crs;
use crate::error::{Error, Result};

const REGIONS: &str = include_str!("../../layers/regions.csv");

/// A province, city or county.
#[derive(Debug, Clone, PartialEq)]
pub struct Division {
    /// 6-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Centroid longitude.
    pub lon: f64,
    /// Centroid latitude.
    pub lat: f64,
    /// Westernmost longitude.
    pub min_lon: f64,
    /// Easternmost longitude.
    pub max_lon: f64,
}

impl Division {
    /// The CGCS2000 3° zone of the region's centroid.
    pub fn gk3_zone(&self) -> u32 {
        crs::gk3_zone_for_lon(self.lon)
    }

    /// True if the region extends over more than one 3° zone.
    pub fn spans_zones(&self) -> bool {
        crs::gk3_zone_for_lon(self.min_lon) != crs::gk3_zone_for_lon(self.max_lon)
    }
}

/// Look up a region by its 6-digit code.
pub fn lookup(code: &str) -> Result<Division> {
    let mut rdr = csv::Reader::from_reader(REGIONS.as_bytes());
    for row in rdr.records() {
        let row = row.map_err(|e| Error::Config { file: "layers/regions.csv".into(), reason: e.to_string() })?;
        if &row[0] == code {
            let num = |i: usize| row[i].parse::<f64>().unwrap_or(f64::NAN);
            return Ok(Division {
                code: row[0].into(),
                name: row[1].into(),
                lon: num(2),
                lat: num(3),
                min_lon: num(4),
                max_lon: num(5),
            });
        }
    }
    Err(Error::Invalid(format!(
        "region code {code} is not in layers/regions.csv (6-digit GB/T 2260 code, e.g. 330523)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anji_is_in_zone_40() {
        let r = lookup("330523").unwrap();
        assert_eq!(r.name, "安吉县");
        assert_eq!(r.gk3_zone(), 40);
        assert!(!r.spans_zones());
        assert!(lookup("999999").is_err());
    }
}
