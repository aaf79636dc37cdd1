//! The coordinate reference systems the service speaks (OGC API – Features Part 2): CRS84 (longitude,
//! latitude; the default), the registry's geographic CRS by its EPSG code (CGCS2000, EPSG:4490: latitude
//! first, as EPSG defines its axes) and the registry's own projected CRS (Gauss-Krüger: easting, northing,
//! the stored coordinates themselves). CGCS2000 longitudes and latitudes are given as CRS84 as they are
//! (they agree with WGS 84 to a few centimetres; `nrledger export` writes GeoJSON the same way). The axis
//! order is written down here once.

use geo::orient::{Direction, Orient};

use super::problem::{clip, ApiError};
use crate::crs::{CrsInfo, Transformer};

/// OGC's URI of CRS84.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// One of the CRSs served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Longitude, latitude in the registry's geographic CRS.
    Crs84,
    /// The registry's geographic CRS in its EPSG axis order (latitude, longitude).
    Geographic,
    /// The registry's projected CRS (the stored coordinates).
    Registry,
}

/// `http://www.opengis.net/def/crs/EPSG/0/CODE`.
fn epsg_uri(code: u32) -> String {
    format!("http://www.opengis.net/def/crs/EPSG/0/{code}")
}

/// The EPSG code of a definition `EPSG:CODE`.
fn epsg_of(def: &str) -> Option<u32> {
    def.strip_prefix("EPSG:").and_then(|c| c.parse().ok())
}

impl Served {
    /// Every CRS the registry can be served in (the projected one when it has an EPSG code, the geographic
    /// one when its definition is `EPSG:CODE`).
    pub fn all(crs: &CrsInfo) -> Vec<Served> {
        let mut v = vec![Served::Crs84];
        if epsg_of(&crs.geographic).is_some() {
            v.push(Served::Geographic);
        }
        if crs.epsg.is_some() {
            v.push(Served::Registry);
        }
        v
    }

    /// Its URI.
    pub fn uri(self, crs: &CrsInfo) -> String {
        match self {
            Served::Crs84 => CRS84.into(),
            Served::Geographic => epsg_uri(epsg_of(&crs.geographic).unwrap_or(4490)),
            Served::Registry => epsg_uri(crs.epsg.unwrap_or_default()),
        }
    }

    /// The CRS a URI names (`parameter` is the request parameter it came in, for the error).
    pub fn parse(uri: &str, crs: &CrsInfo, parameter: &str) -> Result<Served, ApiError> {
        let found = Served::all(crs).into_iter().find(|s| {
            let own = s.uri(crs);
            uri == own || uri == own.replacen("http://", "https://", 1) || (*s == Served::Crs84 && uri == "[OGC:CRS84]")
        });
        found.ok_or_else(|| {
            let known: Vec<String> = Served::all(crs).iter().map(|s| s.uri(crs)).collect();
            ApiError::bad(
                parameter,
                format!("unknown or unsupported CRS '{}'; this server offers {}", clip(uri), known.join(", ")),
            )
        })
    }

    /// Whether its first axis is latitude.
    fn lat_first(self) -> bool {
        self == Served::Geographic
    }

    /// A geometry in the registry CRS, in this CRS: exact coordinates (no rounding), rings oriented as
    /// RFC 7946 asks (exterior counter-clockwise in longitude, latitude).
    pub fn of_registry(self, crs: &CrsInfo, g: &geo::MultiPolygon<f64>) -> crate::Result<geo::MultiPolygon<f64>> {
        if self == Served::Registry {
            return Ok(g.clone());
        }
        let t = Transformer::for_thread(&crs.definition, &crs.geographic)?;
        let ll = t.multipolygon(g)?.orient(Direction::Default);
        Ok(if self.lat_first() { swap(&ll) } else { ll })
    }

    /// A box given in this CRS as the region of the registry CRS it covers: its outline (the edges
    /// followed in steps, so that a geographic box's curved sides are kept) as a polygon.
    pub fn box_to_registry(self, crs: &CrsInfo, b: [f64; 4]) -> Result<geo::Polygon<f64>, ApiError> {
        let [mut w, mut s, mut e, mut n] = b;
        if self.lat_first() {
            (w, s, e, n) = (s, w, n, e);
        }
        if self == Served::Registry {
            return Ok(geo::Rect::new((w, s), (e, n)).to_polygon());
        }
        match crate::crs::within_use(crs, [w, s, e, n]) {
            None => Ok(geo::Polygon::new(geo::LineString(vec![]), vec![])),
            Some(inside) => crate::crs::box_outline(crs, inside).map_err(|e| {
                ApiError::bad("bbox", format!("the box cannot be transformed to the registry's CRS: {e}"))
            }),
        }
    }
}

/// x and y exchanged.
fn swap(g: &geo::MultiPolygon<f64>) -> geo::MultiPolygon<f64> {
    use geo::MapCoords;
    g.map_coords(|c| geo::Coord { x: c.y, y: c.x })
}
