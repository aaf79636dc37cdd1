//! Geometry shared by the rules: pairwise overlap pieces found through the R-tree and computed exactly in
//! parallel, sliver classification, and the ellipsoidal area of a piece.

use geo::{Area, BooleanOps, BoundingRect, Euclidean, Length, MultiPolygon};
use rayon::prelude::*;

use super::context::LayerSet;
use super::{Class, Context, Severity, Tolerance};

/// An overlap piece between record `a` of one set and record `b` of another (or the same) set.
pub struct Piece {
    /// Position in the first set.
    pub a: usize,
    /// Position in the second set.
    pub b: usize,
    /// The piece, registry CRS.
    pub geometry: MultiPolygon<f64>,
    /// Ellipsoidal area, m².
    pub area: f64,
    /// Sliver or real, and the severity that follows.
    pub class: (Class, Severity),
}

/// Classify a piece by the rule's tolerances; None when it is below the ignore threshold (shared-edge noise).
pub fn classify(mp: &MultiPolygon<f64>, area_ell: f64, tol: &Tolerance) -> Option<(Class, Severity)> {
    if area_ell <= tol.ignore_area_m2.unwrap_or(0.0) {
        return None;
    }
    let planar = mp.unsigned_area();
    let perimeter: f64 = mp.0.iter().map(|p| Euclidean.length(p.exterior()) + p.interiors().iter().map(|r| Euclidean.length(r)).sum::<f64>()).sum();
    let width = if perimeter > 0.0 { 2.0 * planar / perimeter } else { 0.0 };
    let sliver = tol.sliver_area_m2.is_some_and(|a| area_ell < a) || tol.sliver_width_m.is_some_and(|w| width < w);
    Some(if sliver { (Class::Sliver, tol.sliver_severity.unwrap_or(Severity::Info)) } else { (Class::Real, tol.severity) })
}

/// Overlap pieces between every pair of records of `a` and `b` whose envelopes intersect. With
/// `same = true` (`a` is `b`) each unordered pair is visited once and a record is not paired with itself.
pub fn overlaps(ctx: &Context, a: &LayerSet, b: &LayerSet, same: bool, tol: &Tolerance) -> Vec<Piece> {
    let pairs: Vec<(usize, usize)> = (0..a.records.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let env = a.records[i].record.geometry.bounding_rect();
            let cands = env.map(|e| b.candidates(e)).unwrap_or_default();
            cands.into_iter().filter(move |&j| !same || j > i).map(move |j| (i, j))
        })
        .collect();
    let mut pieces: Vec<Piece> = pairs
        .into_par_iter()
        .with_min_len(64)
        .map_init(
            || ctx.area_calculator(),
            |calc, (i, j)| {
                let ga = &a.records[i].record.geometry;
                let gb = &b.records[j].record.geometry;
                let inter = ga.intersection(gb);
                if inter.0.is_empty() || inter.unsigned_area() <= 0.0 {
                    return None;
                }
                let area = calc.areas(&inter).map(|x| x.ellipsoidal).unwrap_or(0.0);
                classify(&inter, area, tol).map(|class| Piece { a: i, b: j, geometry: inter, area, class })
            },
        )
        .flatten()
        .collect();
    pieces.sort_by_key(|p| (p.a, p.b));
    pieces
}

/// Ellipsoidal area of a geometry in the registry CRS.
pub fn area_of(ctx: &Context, mp: &MultiPolygon<f64>) -> f64 {
    ctx.area_calculator().areas(mp).map(|a| a.ellipsoidal).unwrap_or(0.0)
}
