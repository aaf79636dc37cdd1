//! The overlay of two partitions: every (opening piece, closing piece) pair that shares ground, with the
//! ellipsoidal area of their intersection. Parcel ids do not survive splits and merges, so the transition
//! matrix has to come from geometry.
//!
//! A parcel unchanged between the vintages keeps its registry fid; when neither partition altered it (no
//! clipping, no overlap removed) it is its own pair and no boolean operation is needed. Every other piece is
//! intersected with the candidates the other partition's R-tree returns — in parallel, each pair once.
//!
//! Each piece's pairs must add up to the piece: that is checked here for every piece on both sides, so the
//! matrix's row and column sums cannot drift from the stocks without an error.

use std::collections::HashMap;

use geo::{Area, BoundingRect, MultiPolygon};
use rayon::prelude::*;

use super::partition::Partition;
use crate::area::AreaCalculator;
use crate::error::{Error, Result};

/// Intersections below this (m², planar) are shared-edge noise.
const NOISE_M2: f64 = 1e-4;

/// One pair of pieces that share ground.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Position in the opening partition.
    pub from: usize,
    /// Position in the closing partition.
    pub to: usize,
    /// Ellipsoidal area of the shared ground, m².
    pub area: f64,
    /// The shared ground, kept when the two pieces' classes differ (for `--trace` and the forest account);
    /// None for an unchanged parcel (it is the opening piece's geometry).
    pub geometry: Option<MultiPolygon<f64>>,
}

/// The overlay of `a` (opening) and `b` (closing).
pub fn overlay(
    a: &Partition,
    b: &Partition,
    calc_for: &(dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync),
) -> Result<Vec<Pair>> {
    // unchanged, unaltered parcels: their own pair
    let twin_of_a: Vec<Option<usize>> = a
        .pieces
        .iter()
        .map(|p| {
            if p.fid < 0 || p.altered {
                None
            } else {
                b.by_fid.get(&p.fid).copied().filter(|&j| !b.pieces[j].altered)
            }
        })
        .collect();
    let mut is_twin_b = vec![false; b.pieces.len()];
    for j in twin_of_a.iter().flatten() {
        is_twin_b[*j] = true;
    }
    let mut pairs: Vec<Pair> = twin_of_a
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.map(|j| Pair { from: i, to: j, area: a.pieces[i].area, geometry: None }))
        .collect();

    // everything else: (changed opening piece × any closing piece) ∪ (unchanged opening piece × changed closing piece)
    let cands = |p: &MultiPolygon<f64>, part: &Partition| -> Vec<usize> {
        p.bounding_rect()
            .map(|r| {
                part.index.in_box(r.min().x, r.min().y, r.max().x, r.max().y).into_iter().map(|k| k as usize).collect()
            })
            .unwrap_or_default()
    };
    let todo: Vec<(usize, usize)> = (0..a.pieces.len())
        .into_par_iter()
        .filter(|&i| twin_of_a[i].is_none())
        .flat_map_iter(|i| cands(&a.pieces[i].geometry, b).into_iter().map(move |j| (i, j)))
        .chain((0..b.pieces.len()).into_par_iter().filter(|&j| !is_twin_b[j]).flat_map_iter(|j| {
            cands(&b.pieces[j].geometry, a).into_iter().filter(|&i| twin_of_a[i].is_some()).map(move |i| (i, j))
        }))
        .collect();
    let computed: Vec<Pair> = todo
        .into_par_iter()
        .with_min_len(32)
        .map_init(calc_for, |calc, (i, j)| {
            let (p, q) = (&a.pieces[i], &b.pieces[j]);
            let g = crate::geometry::intersection(&p.geometry, &q.geometry);
            if g.0.is_empty() || g.unsigned_area() <= NOISE_M2 {
                return None;
            }
            let area = crate::area::piece_area(calc, &g);
            Some(Pair { from: i, to: j, area, geometry: Some(g) })
        })
        .flatten()
        .collect();
    pairs.extend(computed);
    pairs.sort_by_key(|p| (p.from, p.to));

    // every piece is the sum of its pairs
    let mut sum_a = vec![0.0; a.pieces.len()];
    let mut sum_b = vec![0.0; b.pieces.len()];
    for p in &pairs {
        sum_a[p.from] += p.area;
        sum_b[p.to] += p.area;
    }
    let bad = |pieces: &[super::partition::Piece], sums: &[f64], date, opening: bool| -> Option<String> {
        let off: Vec<String> = pieces
            .iter()
            .zip(sums)
            .enumerate()
            .filter(|(_, (p, s))| (p.area - **s).abs() > p.tolerance() + slivers_near(p, if opening { b } else { a }))
            .take(5)
            .map(|(k, (p, s))| {
                let other = if opening { &b.pieces } else { &a.pieces };
                let with: Vec<String> = pairs
                    .iter()
                    .filter(|x| if opening { x.from == k } else { x.to == k })
                    .map(|x| {
                        let o = &other[if opening { x.to } else { x.from }];
                        format!("{} {:.3}", if o.key.is_empty() { "gap" } else { &o.key }, x.area)
                    })
                    .collect();
                format!(
                    "{} ({}, {:.3} m², overlay gives {:.3} m² from: {})",
                    if p.key.is_empty() { "gap piece" } else { &p.key },
                    p.class,
                    p.area,
                    s,
                    with.join(", ")
                )
            })
            .collect();
        (!off.is_empty()).then(|| format!("on {date}: {}", off.join("; ")))
    };
    if let Some(msg) = bad(&a.pieces, &sum_a, a.date, true).or_else(|| bad(&b.pieces, &sum_b, b.date, false)) {
        return Err(Error::Invalid(format!(
            "transition matrix: pieces do not add up to the parcels they come from {msg}. The geometry is probably invalid there; run nrledger check"
        )));
    }
    Ok(pairs)
}

/// The uncovered slivers the other vintage left out (below [`super::partition::GAP_SLIVER_M2`] each) where
/// the piece lies: the ground a piece may hold that no piece of the other vintage holds. The same thin gap can
/// come out whole in one vintage and as several slivers in the other, whose search tiles differ; and a parcel
/// whose invalid rings were repaired (`import --make-valid`) can leave a sliver of a fraction of a square
/// metre that its clean successor covers. The sheet's notes state what the slivers left out.
fn slivers_near(p: &super::partition::Piece, other: &Partition) -> f64 {
    let Some(b) = geo::BoundingRect::bounding_rect(&p.geometry) else { return 0.0 };
    other.gap_slivers.iter().filter(|(r, _)| geo::Intersects::intersects(r, &b)).map(|(_, a)| a).sum()
}

/// How a pair's area splits into matrix cells when either piece carries a 田坎 share (`kx`, `ky`). The
/// deduction is taken to lie where it lay: the smaller share stays 田坎 → 田坎, a grown share comes from the
/// opening class, a shrunk one goes to the closing class, and the rest moves class to class. An unchanged
/// parcel therefore shows no flow at all (an independent split would invent 0103 → 1203 → 0103 flows).
pub fn cells<'a>(
    from: &'a str,
    kx: f64,
    to: &'a str,
    ky: f64,
    area: f64,
    tiankan: &'a str,
) -> [(&'a str, &'a str, f64); 4] {
    [
        (from, to, area * (1.0 - kx.max(ky))),
        (tiankan, tiankan, area * kx.min(ky)),
        (from, tiankan, area * (ky - kx).max(0.0)),
        (tiankan, to, area * (kx - ky).max(0.0)),
    ]
}

/// Total area per (opening class, closing class) of the pairs, second level, with 田坎 shares split by [`cells`].
pub fn matrix(a: &Partition, b: &Partition, pairs: &[Pair], tiankan: &str) -> HashMap<(String, String), f64> {
    let mut m: HashMap<(String, String), f64> = HashMap::new();
    for p in pairs {
        let (x, y) = (&a.pieces[p.from], &b.pieces[p.to]);
        for (f, t, v) in cells(&x.class, x.deduction, &y.class, y.deduction, p.area, tiankan) {
            if v != 0.0 {
                *m.entry((f.to_string(), t.to_string())).or_default() += v;
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::{cells, overlay};
    use crate::area::AreaCalculator;
    use crate::balance::partition::{Partition, Piece, GAP};
    use crate::geometry::LayerIndex;
    use geo::{BoundingRect, MultiPolygon, Rect};

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        // a county in EPSG:4549 (CGCS2000 / 3-degree GK CM 120E), around 30°N
        let (ox, oy) = (500_000.0, 3_400_000.0);
        MultiPolygon(vec![Rect::new((ox + x0, oy + y0), (ox + x1, oy + y1)).to_polygon()])
    }

    fn partition(
        date: &str,
        pieces: Vec<(i64, &str, MultiPolygon<f64>)>,
        gap_slivers: Vec<(Rect<f64>, f64)>,
        calc: &AreaCalculator,
    ) -> Partition {
        let pieces: Vec<Piece> = pieces
            .into_iter()
            .map(|(fid, class, geometry)| Piece {
                fid,
                key: if fid < 0 { String::new() } else { format!("P{fid}") },
                class: class.into(),
                deduction: 0.0,
                quality: None,
                cause: None,
                area: calc.areas(&geometry).unwrap().ellipsoidal,
                geometry,
                altered: fid < 0,
            })
            .collect();
        let boxes: Vec<_> = pieces.iter().map(|p| p.geometry.bounding_rect()).collect();
        Partition {
            date: date.parse().unwrap(),
            by_fid: pieces.iter().enumerate().filter(|(_, p)| p.fid >= 0).map(|(i, p)| (p.fid, i)).collect(),
            index: LayerIndex::of_boxes(&boxes),
            pieces,
            overlaps: vec![],
            gap_slivers_m2: gap_slivers.iter().map(|s| s.1).sum(),
            gap_slivers,
            raw_overlaps: Default::default(),
            before_resolution: Default::default(),
        }
    }

    /// A thin gap (a 0.04 × 100 m strip between two parcels, 4 m²) found whole in the opening vintage and, by
    /// the closing vintage's gap search, as five slivers below 1 m² that are left out: the opening 未覆盖
    /// piece has no pair, and the overlay allows it exactly what the closing vintage left out at its place.
    #[test]
    fn a_gap_left_out_as_slivers_in_the_other_vintage_is_allowed_only_where_they_lie() {
        let crs = crate::crs::describe("EPSG:4549").unwrap();
        let calc = AreaCalculator::for_crs(&crs).unwrap();
        let calc_for = || AreaCalculator::for_thread(&crs).unwrap();
        let (p1, p2, strip) =
            (rect(0.0, 0.0, 100.0, 100.0), rect(100.04, 0.0, 200.0, 100.0), rect(100.0, 0.0, 100.04, 100.0));
        let opening = partition(
            "2019-12-31",
            vec![(1, "0101", p1.clone()), (2, "0301", p2.clone()), (-1, GAP, strip)],
            vec![],
            &calc,
        );
        let strip_area = opening.pieces[2].area;
        assert!((strip_area - 4.0).abs() < 0.01, "{strip_area}");
        let slivers = |dx: f64| -> Vec<(Rect<f64>, f64)> {
            (0..5)
                .map(|k| {
                    (
                        rect(100.0 + dx, 20.0 * k as f64, 100.04 + dx, 20.0 * (k + 1) as f64).bounding_rect().unwrap(),
                        strip_area / 5.0,
                    )
                })
                .collect()
        };
        let closing = |s| partition("2020-12-31", vec![(1, "0101", p1.clone()), (2, "0301", p2.clone())], s, &calc);
        // the slivers where the strip is: the sheet goes on, the strip's ground in no pair
        let pairs = overlay(&opening, &closing(slivers(0.0)), &calc_for).unwrap();
        assert_eq!(pairs.iter().map(|p| (p.from, p.to)).collect::<Vec<_>>(), vec![(0, 0), (1, 1)]);
        // no slivers, or slivers elsewhere: 4 m² of 未覆盖 is unaccounted for, beyond a gap piece's 2.05 m²
        for s in [vec![], slivers(500.0)] {
            let e = overlay(&opening, &closing(s), &calc_for).unwrap_err().to_string();
            assert!(e.contains("gap piece (未覆盖, 4.000 m², overlay gives 0.000 m²"), "{e}");
        }
    }

    #[test]
    fn tiankan_stays_where_it_was() {
        let sum = |c: &[(&str, &str, f64)], f: &str, t: &str| {
            c.iter().filter(|x| x.0 == f && x.1 == t).map(|x| x.2).sum::<f64>()
        };
        // unchanged 旱地 with 20 % 田坎: no flow between classes
        let c = cells("0103", 0.2, "0103", 0.2, 100.0, "1203");
        assert_eq!(sum(&c, "0103", "0103"), 80.0);
        assert_eq!(sum(&c, "1203", "1203"), 20.0);
        assert_eq!(sum(&c, "0103", "1203") + sum(&c, "1203", "0103"), 0.0);
        // the deduction shrinks from 20 % to 5 %: 15 of 田坎 became 旱地; rows and columns still add up
        let c = cells("0103", 0.2, "0103", 0.05, 100.0, "1203");
        assert!((sum(&c, "1203", "0103") - 15.0).abs() < 1e-9);
        assert!((c.iter().filter(|x| x.0 == "1203").map(|x| x.2).sum::<f64>() - 20.0).abs() < 1e-9);
        assert!((c.iter().filter(|x| x.1 == "1203").map(|x| x.2).sum::<f64>() - 5.0).abs() < 1e-9);
        // built over: 旱地 and its 田坎 both become 住宅用地
        let c = cells("0103", 0.1, "0701", 0.0, 100.0, "1203");
        assert_eq!((sum(&c, "0103", "0701"), sum(&c, "1203", "0701")), (90.0, 10.0));
    }
}
