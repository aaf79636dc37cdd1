//! The clerk's lookup: what is at a point, or in a box, in every layer on a date — which unit, which parcel
//! and class, which red line.

use geo::{BoundingRect, Contains, Intersects, Point, Rect};
use serde::Serialize;

use crate::crs::Transformer;
use crate::error::Result;
use crate::model::{AsOf, LayerKind};
use crate::quantity::SquareMetres;
use crate::store::{Read, Registry};

/// Where to look.
#[derive(Debug, Clone, Copy)]
pub enum Probe {
    /// A point, longitude/latitude in the registry's geographic CRS.
    At(f64, f64),
    /// A box: min lon, min lat, max lon, max lat.
    BBox(f64, f64, f64, f64),
}

/// One record found (also the JSON form of `nrledger query --format json`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Hit {
    /// Layer kind.
    pub layer: LayerKind,
    /// Layer title.
    pub title: String,
    /// fid in the registry.
    pub fid: i64,
    /// Key value.
    pub key: String,
    /// Field name → value (non-empty fields, in layer order).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Ellipsoidal area, m² (2 decimals).
    pub area_m2: SquareMetres,
    /// Valid from.
    pub valid_from: String,
    /// Valid to (None = current).
    pub valid_to: Option<String>,
}

/// Whether a candidate record's geometry meets the probe.
type HitTest = Box<dyn Fn(&geo::MultiPolygon<f64>) -> bool>;

/// Look up every layer at a probe on a date (None: now). Each layer's candidates come from its R-tree (a
/// lookup costs what the probe meets, not the layer's size); their geometry decides.
pub fn query(reg: &Registry, probe: Probe, at: Option<AsOf>) -> Result<Vec<Hit>> {
    // built once per thread: PROJ's database lookup costs more than the rest of a lookup
    let to_reg = Transformer::for_thread(&reg.crs.geographic, &reg.crs.definition)?;
    let (window, test): (Rect<f64>, HitTest) = match probe {
        Probe::At(lon, lat) => {
            let mut p = [(lon, lat)];
            to_reg.coords(&mut p)?;
            let pt = Point::new(p[0].0, p[0].1);
            (Rect::new(pt.0, pt.0), Box::new(move |g| g.contains(&pt) || g.intersects(&pt)))
        }
        Probe::BBox(a, b, c, d) => {
            let inside = crate::crs::within_use(&reg.crs, [a, b, c, d]).ok_or_else(|| {
                let [uw, us, ue, un] = reg.crs.area_of_use.unwrap_or_default();
                crate::Error::Invalid(format!(
                    "the box {a},{b},{c},{d} lies outside the area of use of the registry's CRS {} ({uw},{us},{ue},{un})",
                    reg.crs.name
                ))
            })?;
            let r = crate::crs::box_outline(&reg.crs, inside)?.bounding_rect().expect("an outline has points");
            (r, Box::new(move |g| g.intersects(&r.to_polygon())))
        }
    };
    let boxes = [window];
    let mut hits = Vec::new();
    for def in reg.catalog().layers() {
        let cands: Vec<i64> =
            reg.matching(&Read::layer(def.kind).on(at).in_boxes(&boxes))?.into_iter().map(|(f, _)| f).collect();
        if cands.is_empty() {
            continue;
        }
        let recs = reg.read(&Read::layer(def.kind).on(at).fids(&cands))?;
        for rec in recs {
            if !test(&rec.record.geometry) {
                continue;
            }
            hits.push(Hit {
                layer: def.kind,
                title: def.title.clone(),
                fid: rec.fid,
                key: rec.record.key.clone(),
                attributes: def
                    .fields
                    .iter()
                    .zip(&rec.record.values)
                    .filter(|(_, v)| !v.is_blank())
                    .map(|(f, v)| (f.name.clone(), serde_json::to_value(v).unwrap_or_default()))
                    .collect(),
                area_m2: SquareMetres((rec.areas.ellipsoidal * 100.0).round() / 100.0),
                valid_from: rec.valid_from,
                valid_to: rec.valid_to,
            });
        }
    }
    Ok(hits)
}
