//! GeoJSON export (RFC 7946), written by us rather than GDAL so the rules are explicit:
//! coordinates are longitude/latitude in the registry's geographic CRS (CGCS2000 for Chinese registries)
//! **written as is** — RFC 7946 names WGS 84, and CGCS2000 agrees with it to a few centimetres, so no datum
//! shift is applied or implied; exteriors counter-clockwise and holes clockwise (right-hand rule); no `crs`
//! member; full double precision (the shortest decimal that reads back to the same number), because
//! rounding — even to 1e-9° — can make touching parts of a multipolygon overlap after a round trip.

use std::io::Write;

use geo::orient::{Direction, Orient};
use geo::MapCoords;
use geojson::{Feature, FeatureWriter, JsonObject, JsonValue};

use crate::crs::Transformer;
use crate::error::{Error, Result};

/// One feature to write: geometry in the registry CRS and its properties in order.
pub struct OutFeature {
    /// Geometry in the registry CRS.
    pub geometry: geo::Geometry<f64>,
    /// Properties in column order.
    pub properties: Vec<(String, serde_json::Value)>,
}

/// Write features as an RFC 7946 FeatureCollection, reprojecting with `to_lonlat`.
pub fn write<W: Write>(
    out: W,
    to_lonlat: &Transformer,
    features: impl Iterator<Item = OutFeature>,
    path: &std::path::Path,
) -> Result<usize> {
    let io_err = |e: geojson::Error| Error::io(path, std::io::Error::other(e.to_string()));
    let mut w = FeatureWriter::from_writer(out);
    let mut n = 0;
    for f in features {
        let g = lonlat(&f.geometry, to_lonlat)?;
        let g = match g {
            geo::Geometry::Polygon(p) => geo::Geometry::Polygon(p.orient(Direction::Default)),
            geo::Geometry::MultiPolygon(mp) => geo::Geometry::MultiPolygon(mp.orient(Direction::Default)),
            other => other,
        };
        let mut props = JsonObject::new();
        for (k, v) in f.properties {
            props.insert(k, v);
        }
        let feature = Feature {
            bbox: None,
            geometry: Some(geojson::Geometry::from(&g)),
            id: None,
            properties: Some(props),
            foreign_members: None,
        };
        w.write_feature(&feature).map_err(io_err)?;
        n += 1;
    }
    w.finish().map_err(io_err)?;
    Ok(n)
}

fn lonlat(g: &geo::Geometry<f64>, t: &Transformer) -> Result<geo::Geometry<f64>> {
    Ok(match g {
        geo::Geometry::MultiPolygon(mp) => geo::Geometry::MultiPolygon(t.multipolygon(mp)?),
        geo::Geometry::Polygon(p) => geo::Geometry::MultiPolygon(t.multipolygon(&geo::MultiPolygon(vec![p.clone()]))?),
        other => other.map_coords(|c| {
            let mut p = [(c.x, c.y)];
            match t.coords(&mut p) {
                Ok(()) => geo::Coord { x: p[0].0, y: p[0].1 },
                Err(_) => geo::Coord { x: f64::NAN, y: f64::NAN },
            }
        }),
    })
}

/// A JSON value for a registry value.
pub fn json_value(v: &crate::model::Value) -> JsonValue {
    serde_json::to_value(v).unwrap_or(JsonValue::Null)
}
