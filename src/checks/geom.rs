//! What the rules share on top of the geometry kernel ([`crate::geometry`]): pairwise overlap pieces found
//! through the R-tree and computed exactly in parallel, sliver classification by a rule's tolerances, and the
//! ellipsoidal area of a piece in the check's CRS.

use geo::{Area, BoundingRect, Euclidean, Length, MultiPolygon};
use rayon::prelude::*;

use super::{Class, Severity, Tolerance};
use crate::area::piece_area;
use crate::area::AreaCalculator;
use crate::geometry::intersection_in;
use crate::geometry::LayerIndex;
use crate::geometry::Outline;
use crate::store::StoredRecord;
use std::sync::OnceLock;

/// One layer's records on the check date, with an index over their positions.
pub struct LayerSet {
    /// The records.
    pub records: Vec<StoredRecord>,
    /// Each record's envelope (None for an empty geometry), computed once.
    pub envelopes: Vec<Option<geo::Rect<f64>>>,
    /// R-tree whose ids are positions in `records`.
    pub index: LayerIndex,
    /// Each record's tiled outline ([`Outline`]), built when first asked for ([`LayerSet::outline`]).
    outlines: Vec<OnceLock<Outline>>,
}

impl LayerSet {
    /// A set whose first records' outlines are already built (`outlines[i]` of `records[i]`): the check's
    /// loading tiles each red line to cover it with boxes, and the rules clip against the same tiles.
    pub(crate) fn with_outlines(records: Vec<StoredRecord>, outlines: Vec<Outline>) -> LayerSet {
        use rayon::prelude::*;
        let envelopes: Vec<Option<geo::Rect<f64>>> =
            records.par_iter().with_min_len(4096).map(|r| r.record.geometry.bounding_rect()).collect();
        let mut built: Vec<OnceLock<Outline>> = outlines.into_iter().map(OnceLock::from).collect();
        built.resize_with(records.len(), OnceLock::new);
        LayerSet { index: LayerIndex::of_boxes(&envelopes), envelopes, records, outlines: built }
    }

    /// Record `i`'s tiled outline, built on the first call.
    pub fn outline(&self, i: usize) -> &Outline {
        self.outlines[i].get_or_init(|| Outline::new(self.records[i].record.geometry.clone()))
    }

    /// Positions of records whose envelope intersects the box.
    pub fn candidates(&self, b: geo::Rect<f64>) -> Vec<usize> {
        self.index.in_box(b.min().x, b.min().y, b.max().x, b.max().y).into_iter().map(|i| i as usize).collect()
    }
}

/// An overlap piece between record `a` of one set and record `b` of another (or the same) set.
#[derive(Debug, Clone)]
pub struct Piece {
    /// Position in the first set.
    pub a: usize,
    /// Position in the second set.
    pub b: usize,
    /// The piece, registry CRS.
    pub geometry: MultiPolygon<f64>,
    /// Ellipsoidal area, m².
    pub area: f64,
    /// Planar area, m².
    pub planar: f64,
    /// Sliver or real, and the severity that follows.
    pub class: (Class, Severity),
}

/// Classify a piece by the rule's tolerances; None when it is below the ignore threshold (shared-edge noise).
pub fn classify(mp: &MultiPolygon<f64>, area_ell: f64, tol: &Tolerance) -> Option<(Class, Severity)> {
    if area_ell <= tol.ignore_area_m2.unwrap_or(0.0) {
        return None;
    }
    let planar = mp.unsigned_area();
    let perimeter: f64 =
        mp.0.iter()
            .map(|p| Euclidean.length(p.exterior()) + p.interiors().iter().map(|r| Euclidean.length(r)).sum::<f64>())
            .sum();
    let width = if perimeter > 0.0 { 2.0 * planar / perimeter } else { 0.0 };
    let sliver = tol.sliver_area_m2.is_some_and(|a| area_ell < a) || tol.sliver_width_m.is_some_and(|w| width < w);
    Some(if sliver {
        (Class::Sliver, tol.sliver_severity.unwrap_or(Severity::Info))
    } else {
        (Class::Real, tol.severity)
    })
}

/// Overlap pieces between every pair of records of `a` and `b` whose envelopes intersect. With
/// `same = true` (`a` is `b`) each unordered pair is visited once and a record is not paired with itself.
pub fn overlaps(
    calc_for: &(dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync),
    a: &LayerSet,
    b: &LayerSet,
    same: bool,
    tol: &Tolerance,
) -> Vec<Piece> {
    // each record with the candidates the other set's R-tree gives for its envelope, measured as they are
    // found (no list of every box-meeting pair), the envelopes computed once by the sets
    let mut pieces: Vec<Piece> = (0..a.records.len())
        .into_par_iter()
        .with_min_len(256)
        .map_init(calc_for, |calc, i| {
            let Some(ea) = a.envelopes[i] else { return vec![] };
            let ga = &a.records[i].record.geometry;
            let mut found = Vec::new();
            for j in b.candidates(ea) {
                if same && j <= i {
                    continue;
                }
                let Some(eb) = b.envelopes[j] else { continue };
                let inter = intersection_in(ga, ea, &b.records[j].record.geometry, eb);
                let planar = inter.unsigned_area();
                // shared edges of a clean tiling: no area at all, or far below the noise threshold
                if inter.0.is_empty() || planar <= 0.5 * tol.ignore_area_m2.unwrap_or(0.0) {
                    continue;
                }
                let area = piece_area(calc, &inter);
                if let Some(class) = classify(&inter, area, tol) {
                    found.push(Piece { a: i, b: j, geometry: inter, area, planar, class });
                }
            }
            found
        })
        .flatten_iter()
        .collect();
    pieces.sort_by_key(|p| (p.a, p.b));
    pieces
}
