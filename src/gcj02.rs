//! GCJ-02 (国测局坐标, "火星坐标"): the obfuscated WGS 84 coordinates of Chinese web maps (Amap/高德,
//! Tencent, and data traced from them). Inside China it shifts points by 100–700 m in a smoothly varying
//! way; outside China it is WGS 84 itself. Data in GCJ-02 read as WGS 84 or CGCS2000 lands a few hundred
//! metres off, with no other symptom than gaps and slivers, so an import detects the signature where it
//! can (the signature: an outline that a stored outline of the same region matches once un-shifted) and
//! converts only when asked (`--src-crs GCJ02`).
//!
//! The shift is the published algorithm; [`to_wgs84`] inverts it by fixed-point iteration to better than
//! 1e-9° (0.1 mm). That is the conversion's own accuracy: a source traced from a web map is no more exact
//! than the tracing, which the conversion cannot improve (typically metres).

use std::f64::consts::PI;

/// Krasovsky 1940 semi-major axis and eccentricity², as the algorithm uses them.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// Whether a point is outside the area the obfuscation applies to (where GCJ-02 is WGS 84).
fn outside_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS 84 → GCJ-02 (longitude, latitude in degrees).
pub fn from_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let (dlat, dlon) = (shift_lat(lon - 105.0, lat - 35.0), shift_lon(lon - 105.0, lat - 35.0));
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = dlat * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = dlon * 180.0 / (A / sqrt_magic * rad.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 → WGS 84 (longitude, latitude in degrees), the forward shift inverted by fixed-point iteration.
pub fn to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    let (mut x, mut y) = (lon, lat);
    for _ in 0..30 {
        let (fx, fy) = from_wgs84(x, y);
        let (ex, ey) = (fx - lon, fy - lat);
        if ex.abs() < 1e-11 && ey.abs() < 1e-11 {
            break;
        }
        x -= ex;
        y -= ey;
    }
    (x, y)
}

/// How an outline read from a source compares with a stored one of the same region: the distance between
/// their centres as read, and once the source is taken as GCJ-02 (metres, in a projected CRS).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Offsets {
    /// As read.
    pub as_read: f64,
    /// Taken as GCJ-02 and converted.
    pub as_gcj02: f64,
}

impl Offsets {
    /// The GCJ-02 signature: the outline is off by more than 50 m as read, and the conversion removes at
    /// least four fifths of that.
    pub fn signature(&self) -> bool {
        self.as_read > 50.0 && self.as_gcj02 < self.as_read / 5.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shift_is_hundreds_of_metres_in_china_and_nothing_outside() {
        // 安吉县 (119.6°E, 30.6°N): the shift is a few hundred metres
        let (lon, lat) = (119.6, 30.6);
        let (gx, gy) = from_wgs84(lon, lat);
        let metres = ((gx - lon) * 111_320.0 * lat.to_radians().cos()).hypot((gy - lat) * 110_574.0);
        assert!((100.0..800.0).contains(&metres), "{metres}");
        assert_eq!(from_wgs84(2.35, 48.85), (2.35, 48.85));
    }

    #[test]
    fn the_inverse_undoes_the_shift_to_a_tenth_of_a_millimetre() {
        for (lon, lat) in [(119.6, 30.6), (87.6, 43.8), (116.39, 39.91), (121.47, 31.23), (110.0, 20.0)] {
            let (gx, gy) = from_wgs84(lon, lat);
            let (x, y) = to_wgs84(gx, gy);
            assert!((x - lon).abs() < 1e-9 && (y - lat).abs() < 1e-9, "{lon},{lat}: {x},{y}");
        }
    }
}
