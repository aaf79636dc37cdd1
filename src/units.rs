//! What a registration unit is made of: the pieces of the parcels inside it, each with its ellipsoidal area,
//! resource type (水流 / 湿地 / 森林 / 草原 / 荒地 / 其他 / 非自然资源, through `layers/classes/resource-types.csv`)
//! and ownership (国有 / 集体 from the parcel's 权属性质; 争议 when it has none). The register book shows
//! these; the check NR304 compares their sum with the unit's declared area.

use std::collections::BTreeMap;

use geo::{BoundingRect, Intersects, MultiPolygon};

use crate::area::piece_area;
use crate::area::AreaCalculator;
use crate::catalog::Catalog;
use crate::error::Result;
use crate::geometry::intersection;
use crate::model::LayerKind;
use crate::store::StoredRecord;

/// The part of one parcel inside a unit.
#[derive(Debug, Clone)]
pub struct Piece {
    /// The piece, registry CRS.
    pub geometry: MultiPolygon<f64>,
    /// Its ellipsoidal area, m².
    pub area: f64,
    /// Resource type of the parcel's class.
    pub resource_type: String,
    /// 国有, 集体 or 争议.
    pub ownership: String,
}

/// The pieces of `parcels` inside `unit` (parcels whose box misses the unit are skipped).
pub fn composition<'a>(
    unit: &MultiPolygon<f64>,
    parcels: impl IntoIterator<Item = &'a StoredRecord>,
    catalog: &Catalog,
    calc: &AreaCalculator,
) -> Result<Vec<Piece>> {
    let def = catalog.layer(LayerKind::Parcels);
    let (ci, qi) = (def.field_index("DLBM"), def.field_index("QSXZ"));
    let Some(env) = unit.bounding_rect() else { return Ok(vec![]) };
    let mut out = Vec::new();
    for p in parcels {
        if !p.record.geometry.bounding_rect().is_some_and(|b| b.intersects(&env)) {
            continue;
        }
        let geometry = intersection(unit, &p.record.geometry);
        if geometry.0.is_empty() {
            continue;
        }
        let class = ci.map(|i| p.record.value(i).to_string()).unwrap_or_default();
        let ownership =
            qi.and_then(|i| catalog.classes.ownership_nature(&p.record.value(i).to_string())).unwrap_or("争议");
        out.push(Piece {
            area: piece_area(calc, &geometry),
            geometry,
            resource_type: catalog.classes.resource_type(&class).to_string(),
            ownership: ownership.to_string(),
        });
    }
    Ok(out)
}

/// Total area of the pieces by a label (resource type or ownership).
pub fn totals<'a>(pieces: &'a [Piece], label: impl Fn(&'a Piece) -> &'a str) -> BTreeMap<String, f64> {
    let mut t = BTreeMap::new();
    for p in pieces {
        *t.entry(label(p).to_string()).or_default() += p.area;
    }
    t
}
