//! Records that keep some fields for life ([`LayerDef::fixed`]): an approval's number names one approval,
//! issued on one date for one piece of ground. A later delivery may repeat it unchanged or leave it out,
//! but one that gives a known number other ground or another date describes a different approval under a
//! reused number, and is refused record by record, naming the field.

use geo::{Area, MultiPolygon};
use rustc_hash::FxHashMap;

use crate::catalog::LayerDef;
use crate::error::Result;
use crate::model::Value;
use crate::store::{Read, Registry};

/// The ground may move by this share of its area (reprojection and rounding in the delivering system)
/// before it is other ground.
const GROUND_SHARE: f64 = 1e-4;
/// … or by this much, m² (planar, registry CRS), whichever is larger.
const GROUND_M2: f64 = 1.0;

/// The open records of a layer by key: their values and ground.
pub(super) struct Known {
    records: FxHashMap<String, (Vec<Value>, MultiPolygon<f64>)>,
}

impl Known {
    /// The layer's open records (the layers with fixed fields are small: approvals, permits).
    pub(super) fn read(reg: &Registry, def: &LayerDef) -> Result<Known> {
        let records = reg
            .read(&Read::layer(def.kind))?
            .into_iter()
            .map(|r| (r.record.key, (r.record.values, r.record.geometry)))
            .collect();
        Ok(Known { records })
    }

    /// The first fixed field a delivered record changes, with the reason; None for a new key or one
    /// delivered as it was.
    pub(super) fn changed(
        &self,
        def: &LayerDef,
        key: &str,
        values: &[Value],
        geometry: &MultiPolygon<f64>,
    ) -> Option<(String, String)> {
        let (was, ground) = self.records.get(key)?;
        for name in &def.fixed {
            if name == "geometry" {
                let moved = other_ground(ground, geometry);
                if moved > (GROUND_SHARE * ground.unsigned_area()).max(GROUND_M2) {
                    return Some((
                        "geometry".into(),
                        format!(
                            "{} {key} is already registered on other ground ({moved:.1} m² differ): a number is not reused for other ground; give the new one its own number",
                            def.key
                        ),
                    ));
                }
                continue;
            }
            let i = def.field_index(name).expect("checked at load");
            if values[i] != was[i] {
                return Some((
                    name.clone(),
                    format!(
                        "{} {key} is already registered with {} {} = '{}', not '{}': a registered {} keeps it",
                        def.key, def.fields[i].title, name, was[i], values[i], def.title
                    ),
                ));
            }
        }
        None
    }
}

/// The area of the ground one of `a`, `b` covers and the other does not (planar, m²).
fn other_ground(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> f64 {
    if a == b {
        return 0.0;
    }
    let common = crate::geometry::intersection(a, b).unsigned_area();
    (a.unsigned_area() - common) + (b.unsigned_area() - common)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![(x: x, y: 0.0), (x: x + side, y: 0.0), (x: x + side, y: side), (x: x, y: side)]])
    }

    #[test]
    fn other_ground_is_the_symmetric_difference() {
        assert_eq!(other_ground(&square(0.0, 100.0), &square(0.0, 100.0)), 0.0);
        // shifted by 10 m: 1 000 m² on each side
        assert!((other_ground(&square(0.0, 100.0), &square(10.0, 100.0)) - 2000.0).abs() < 1e-6);
        assert!((other_ground(&square(0.0, 100.0), &square(500.0, 100.0)) - 20000.0).abs() < 1e-6);
    }
}
