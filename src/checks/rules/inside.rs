//! The pieces of records lying inside zones (parcels inside red lines, inside permanent farmland): the
//! (record, zone) pairs a rule picks by their attributes, each zone with a pick tiled once ([`crate::geometry::Outline`], kept by its layer set: a
//! zone is a union of many parcels, and clipping every candidate against all of it was the cost), and every
//! pick clipped to its zone in parallel — a record wholly inside is not clipped at all.

use geo::{Area, BoundingRect, MultiPolygon};
use rayon::prelude::*;

use super::Context;
use crate::checks::geom::{LayerSet, Piece};
use crate::checks::Tolerance;
use crate::geometry::Clip;

/// A record's piece inside a zone.
pub(super) struct Inside<T> {
    /// Position of the record in its layer set.
    pub record: usize,
    /// Position of the zone in its layer set.
    pub zone: usize,
    /// What the rule's pick said of the pair.
    pub what: T,
    /// The piece, registry CRS.
    pub piece: MultiPolygon<f64>,
    /// Its ellipsoidal area, m².
    pub area: f64,
    /// Its planar area, m².
    pub planar: f64,
}

impl<T> Inside<T> {
    /// The piece classified by the rule's tolerances (sliver or real; None below its ignore threshold), and
    /// what the pick said.
    pub fn classified(self, tol: &Tolerance) -> Option<(Piece, T)> {
        let class = crate::checks::geom::classify(&self.piece, self.area, tol)?;
        let piece =
            Piece { a: self.record, b: self.zone, geometry: self.piece, area: self.area, planar: self.planar, class };
        Some((piece, self.what))
    }
}

/// The pieces of `records` inside `zones` for the pairs `pick` keeps (it sees positions in the two sets);
/// pieces whose planar area is at most half `ignore_m2` are left out.
pub(super) fn pieces<T: Send>(
    ctx: &Context,
    records: &LayerSet,
    zones: &LayerSet,
    ignore_m2: f64,
    pick: impl Fn(usize, usize) -> Option<T> + Sync,
) -> Vec<Inside<T>> {
    let mut cands = Vec::new();
    for (j, z) in zones.records.iter().enumerate() {
        let Some(env) = z.record.geometry.bounding_rect() else { continue };
        for i in records.candidates(env) {
            if let Some(what) = pick(i, j) {
                cands.push((i, j, what));
            }
        }
    }
    let mut with_cands: Vec<usize> = cands.iter().map(|c| c.1).collect();
    with_cands.sort_unstable();
    with_cands.dedup();
    with_cands.into_par_iter().for_each(|j| {
        zones.outline(j);
    });
    cands
        .into_par_iter()
        .with_min_len(16)
        .map_init(
            || ctx.area_calculator(),
            |calc, (i, j, what)| {
                let piece = match zones.outline(j).clip(&records.records[i].record.geometry) {
                    Clip::Inside => records.records[i].record.geometry.clone(),
                    Clip::Outside => return None,
                    Clip::Cut(g) => g,
                };
                let planar = piece.unsigned_area();
                if piece.0.is_empty() || planar <= 0.5 * ignore_m2 {
                    return None;
                }
                let area = crate::area::piece_area(calc, &piece);
                Some(Inside { record: i, zone: j, what, piece, area, planar })
            },
        )
        .flatten()
        .collect()
}
