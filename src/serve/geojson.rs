//! Features and pages of them as GeoJSON, serialized straight from the records read: no JSON tree is
//! built per feature (building, writing and freeing one took most of a 1 000-feature page). Coordinates
//! are written as the shortest decimal that reads back to the same `f64` (exact, never rounded).

use ogcapi_types::common::Link;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::catalog::LayerDef;
use crate::store::StoredRecord;

/// One feature: its id, geometry (null when it has none), properties and links (none for a feature of a
/// page: its address is the collection's `items/{id}`, and links were a quarter of a page's bytes).
#[derive(Serialize)]
pub struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    geometry: Option<Shape>,
    properties: Properties<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

impl<'a> Feature<'a> {
    /// A feature of `fid`.
    pub fn new(
        fid: i64,
        geometry: Option<geo::MultiPolygon<f64>>,
        properties: Properties<'a>,
        links: Vec<Link>,
    ) -> Self {
        Feature { kind: "Feature", id: fid.to_string(), geometry: geometry.map(Shape), properties, links }
    }
}

/// A feature's properties.
pub enum Properties<'a> {
    /// A layer's record: `nrledger export`'s columns (the layer's fields, then `area_ell`, `area_gk`,
    /// `valid_from`, `valid_to`, `import_id`).
    Record(&'a LayerDef, &'a StoredRecord),
    /// Properties already listed (a rejected record, a finding).
    Listed(&'a Map<String, Json>),
}

/// An area in square metres to the centimetre, as `nrledger export` writes it.
fn cm2(a: f64) -> f64 {
    (a * 100.0).round() / 100.0
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Properties::Listed(m) => m.serialize(s),
            Properties::Record(def, r) => {
                let mut m = s.serialize_map(Some(def.fields.len() + 5))?;
                for (i, f) in def.fields.iter().enumerate() {
                    m.serialize_entry(&f.name, r.record.value(i))?;
                }
                m.serialize_entry("area_ell", &cm2(r.areas.ellipsoidal))?;
                m.serialize_entry("area_gk", &cm2(r.areas.planar))?;
                m.serialize_entry("valid_from", &r.valid_from)?;
                m.serialize_entry("valid_to", &r.valid_to)?;
                m.serialize_entry("import_id", &r.import_id)?;
                m.end()
            }
        }
    }
}

/// A GeoJSON MultiPolygon.
struct Shape(geo::MultiPolygon<f64>);

struct Rings<'a>(&'a geo::Polygon<f64>);

struct Ring<'a>(&'a geo::LineString<f64>);

impl Serialize for Shape {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", "MultiPolygon")?;
        m.serialize_entry("coordinates", &Polygons(&self.0))?;
        m.end()
    }
}

struct Polygons<'a>(&'a geo::MultiPolygon<f64>);

impl Serialize for Polygons<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0 .0.iter().map(Rings))
    }
}

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(std::iter::once(self.0.exterior()).chain(self.0.interiors()).map(Ring))
    }
}

impl Serialize for Ring<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0 .0.iter().map(|c| [c.x, c.y]))
    }
}

/// A page of features (each a [`Feature`], or one already written: `Box<serde_json::value::RawValue>`)
/// with its counts and paging links.
#[derive(Serialize)]
pub struct Page<F: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<F>,
    links: Vec<Link>,
    #[serde(rename = "timeStamp")]
    time_stamp: String,
    #[serde(rename = "numberMatched")]
    matched: usize,
    #[serde(rename = "numberReturned")]
    returned: usize,
}

impl<F: Serialize> Page<F> {
    /// A page of `features` out of `matched`.
    pub fn new(features: Vec<F>, links: Vec<Link>, matched: usize) -> Self {
        Page {
            kind: "FeatureCollection",
            returned: features.len(),
            features,
            links,
            time_stamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_is_written_as_geojson_writes_it_with_exact_coordinates() {
        let outer = geo::LineString::from(vec![(0.1, 0.2), (1.0 / 3.0, 0.0), (1.0, 1e-9), (0.1, 0.2)]);
        let hole = geo::LineString::from(vec![(0.2, 0.1), (0.3, 0.1), (0.25, 0.12), (0.2, 0.1)]);
        let mp = geo::MultiPolygon(vec![geo::Polygon::new(outer, vec![hole])]);
        let ours: Json = serde_json::from_str(&serde_json::to_string(&Shape(mp.clone())).unwrap()).unwrap();
        let theirs = serde_json::to_value(geojson::Geometry::from(&geo::Geometry::MultiPolygon(mp))).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours["coordinates"][0][0][1][0].as_f64(), Some(1.0 / 3.0));
    }
}
