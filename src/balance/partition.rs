//! One vintage of the parcels as a partition of the region: every point of the region in exactly one piece.
//!
//! 1. The parcels valid on the date are clipped to the region ([`Outline::clip`]: only parcels on the
//!    boundary are cut).
//! 2. Overlaps between parcels (a defect NR101 reports) are resolved so no ground is counted twice: the
//!    parcel registered earlier (lower fid) keeps the overlap, the later one loses it. Each resolution is
//!    noted on the sheet; `--overlaps error` refuses instead.
//! 3. Ground no parcel covers (NR103's gaps, through [`crate::geometry::uncovered`]) becomes pieces of the pseudo-class
//!    [`GAP`] (未覆盖), so the pieces add up to the region's area.
//!
//! A piece keeps its parcel's fid, key, class, 田坎 share and quality grade. A parcel unchanged between two
//! vintages keeps its fid in the registry, which is what lets the overlay skip it (see [`super::overlay`]),
//! and what lets a tenure's closing partition carry the opening one's unchanged pieces over instead of
//! reading and clipping them again ([`build_next`]; a sheet clips the opening parcels as they are read,
//! [`Clipper`] and [`from_clipped`]).

use std::collections::HashMap;

use geo::{Area, BooleanOps, BoundingRect, MultiPolygon};
use rayon::prelude::*;

use crate::area::AreaCalculator;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::geometry::Clip;
use crate::geometry::LayerIndex;
use crate::model::{AsOf, LayerKind};
use crate::quantity::SquareMetres;
use crate::region::Region;
use crate::store::StoredRecord;

/// The pseudo-class of ground inside the region covered by no parcel.
pub const GAP: &str = "未覆盖";

/// Uncovered pieces smaller than this (m²) are slivers along shared edges (NR103's sliver size), not gaps:
/// they are left out and their total is reported.
pub const GAP_SLIVER_M2: f64 = 1.0;

/// Overlaps below this (m², planar) are boolean-operation noise, left as they are. It must stay below the
/// overlay's tolerance on a piece (0.05 m²): a real overlap of 0.1–1 m² left unresolved is counted twice and
/// the sheet refuses itself (seen at 2 000 000 parcels, where the injected overlap square caught two parcels
/// by 0.125 and 0.658 m²). Neighbours that only share edges never reach the boolean operation
/// ([`crate::geometry::interiors_meet`]), so no edge noise comes this far.
const OVERLAP_NOISE_M2: f64 = 0.01;

/// The parcel fields a partition reads (with the key), in the order [`build`] looks them up: the registry
/// reads only these for a sheet.
pub const FIELDS: [&str; 6] = ["DLBM", "TBMJ", "KCMJ", "KCXS", "ZLDJ", "BGYY"];

/// What to do with parcels that overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OverlapPolicy {
    /// The earlier-registered parcel keeps the overlap; noted on the sheet.
    #[default]
    Resolve,
    /// Refuse to produce a sheet.
    Error,
}

/// One piece of a partition.
#[derive(Debug, Clone)]
pub struct Piece {
    /// Registry fid of the parcel (negative for gap pieces).
    pub fid: i64,
    /// Parcel key (BSM); empty for gap pieces.
    pub key: String,
    /// Land class (DLBM as stored), or [`GAP`].
    pub class: String,
    /// Share of the piece that is 田坎 (KCMJ / TBMJ, else KCXS), 0–1.
    pub deduction: f64,
    /// 耕地质量等别, when the parcel has one.
    pub quality: Option<i64>,
    /// 变更原因 (BGYY), when the parcel has one.
    pub cause: Option<String>,
    /// Geometry, registry CRS.
    pub geometry: MultiPolygon<f64>,
    /// Ellipsoidal area, m².
    pub area: f64,
    /// True when the geometry is not the parcel's own (clipped to the region, or an overlap removed).
    pub altered: bool,
}

impl Piece {
    /// How far the sum of this piece's overlay pairs may be from its area: 1e-6 relative plus 0.05 m²
    /// (densification, and the boolean operation's rounding along shared edges); for 未覆盖 ground also twice
    /// [`GAP_SLIVER_M2`], since the other vintage may have left out as a sliver what matches it (the overlay
    /// adds what the other vintage really left out at the piece's place, [`Partition::gap_slivers`]).
    pub fn tolerance(&self) -> f64 {
        1e-6 * self.area.abs() + 0.05 + if self.class == GAP { 2.0 * GAP_SLIVER_M2 } else { 0.0 }
    }
}

/// An overlap that was resolved.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ResolvedOverlap {
    /// Key of the parcel that kept the ground.
    pub kept_by: String,
    /// Key of the parcel that lost it.
    pub removed_from: String,
    /// Area, m².
    pub area_m2: SquareMetres,
}

/// A vintage as a partition of the region.
pub struct Partition {
    /// The date.
    pub date: AsOf,
    /// The pieces (parcels first, in fid order, then gap pieces).
    pub pieces: Vec<Piece>,
    /// R-tree whose ids are positions in `pieces`.
    pub index: LayerIndex,
    /// Overlaps resolved.
    pub overlaps: Vec<ResolvedOverlap>,
    /// Position of each parcel piece by fid.
    pub by_fid: HashMap<i64, usize>,
    /// Uncovered slivers left out (below [`GAP_SLIVER_M2`] each), m².
    pub gap_slivers_m2: f64,
    /// Where they were: each left-out sliver's box and area (m²), so the overlay can allow a gap piece of
    /// the other vintage exactly what was left out at its place.
    pub gap_slivers: Vec<(geo::Rect<f64>, f64)>,
    /// Overlaps found between parcels (by fid pair, lower first), before they were resolved.
    pub raw_overlaps: HashMap<(i64, i64), MultiPolygon<f64>>,
    /// The pieces that lost an overlap, as they were before (by fid: geometry, area, altered), so the next
    /// vintage can carry the parcel over as clipped ([`Partition::carried`]).
    pub before_resolution: HashMap<i64, (MultiPolygon<f64>, f64, bool)>,
}

impl Partition {
    /// The parcel pieces for which `keep(fid)` holds, as they were clipped to the region and before any
    /// overlap was resolved: what a later vintage of the same region holds of them unchanged (a parcel
    /// still valid there is the same registry row, so the same geometry, attributes and clip).
    pub fn carried(&self, keep: impl Fn(i64) -> bool + Sync) -> Vec<Piece> {
        self.pieces
            .par_iter()
            .filter(|p| p.fid >= 0 && keep(p.fid))
            .map(|p| match self.before_resolution.get(&p.fid) {
                None => p.clone(),
                Some((geometry, area, altered)) => {
                    Piece { geometry: geometry.clone(), area: *area, altered: *altered, ..p.clone() }
                }
            })
            .collect()
    }

    /// Total area of the pieces of a class, m².
    pub fn gap_area(&self) -> f64 {
        self.pieces.iter().filter(|p| p.class == GAP).map(|p| p.area).sum()
    }
}

/// Build the partition of `records` (the parcels valid on `date`) over `region`, all three steps. A sheet
/// builds its opening partition with [`Clipper`] and [`from_clipped`] (clipping as it reads) and its
/// closing one with [`build_next`].
#[cfg(test)]
pub fn build(
    records: Vec<StoredRecord>,
    date: AsOf,
    region: &Region,
    catalog: &Catalog,
    calc_for: &(dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync),
    policy: OverlapPolicy,
) -> Result<Partition> {
    let t0 = std::time::Instant::now();
    let pieces = clip(records, region, catalog, calc_for)?;
    super::lap(t0, &format!("  partition {date}: clipped"));
    from_clipped(pieces, date, region, calc_for, policy, None)
}

/// Build the partition on `date` of a later vintage over the region of `previous`: the parcels of
/// `previous` for which `still(fid)` holds (still valid on `date`) are carried over as they were clipped
/// ([`Partition::carried`]), and only `added` (the parcels valid on `date` that `previous` does not hold)
/// are read and clipped. The same partition as [`build`] of every parcel valid on `date` with `previous`.
#[allow(clippy::too_many_arguments)]
pub fn build_next(
    previous: &Partition,
    still: impl Fn(i64) -> bool + Sync,
    added: Vec<StoredRecord>,
    date: AsOf,
    region: &Region,
    catalog: &Catalog,
    calc_for: &(dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync),
    policy: OverlapPolicy,
) -> Result<Partition> {
    let t0 = std::time::Instant::now();
    let n_added = added.len();
    let mut pieces = previous.carried(&still);
    let carried = pieces.len();
    pieces.extend(clip(added, region, catalog, calc_for)?);
    super::lap(t0, &format!("  partition {date}: clipped ({carried} pieces carried over, {n_added} parcels added)"));
    from_clipped(pieces, date, region, calc_for, policy, Some(previous))
}

/// The parcels clipped to the region, with the attributes a piece keeps.
fn clip(
    records: Vec<StoredRecord>,
    region: &Region,
    catalog: &Catalog,
    calc_for: &(dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync),
) -> Result<Vec<Piece>> {
    let clipper = Clipper::new(region, catalog)?;
    Ok(records.into_par_iter().filter_map(|r| clipper.piece(r, calc_for)).collect())
}

/// Step 1 for one parcel at a time: its piece of the region, with the attributes a piece keeps (the
/// fields' positions are found once). A sheet clips the opening parcels as they are read
/// ([`crate::store::Registry::read_then`]) and builds the partition with [`from_clipped`].
pub struct Clipper<'a> {
    region: &'a Region,
    class: usize,
    fields: [Option<usize>; 5],
}

impl<'a> Clipper<'a> {
    /// For `region`; fails when the parcels layer has no class field.
    pub fn new(region: &'a Region, catalog: &Catalog) -> Result<Clipper<'a>> {
        let def = catalog.layer(LayerKind::Parcels);
        let [ci, tbmj, kcmj, kcxs, zldj, bgyy] = FIELDS.map(|f| def.field_index(f));
        let Some(class) = ci else {
            return Err(Error::Config {
                file: "kinds/parcels.toml".into(),
                reason: "the parcels layer has no DLBM field; a balance sheet needs the land class".into(),
            });
        };
        Ok(Clipper { region, class, fields: [tbmj, kcmj, kcxs, zldj, bgyy] })
    }

    /// The parcel's piece, or None when it lies outside the region; `calc_for` gives the area calculator
    /// for a cut piece (one wholly inside keeps its stored area).
    pub fn piece(
        &self,
        mut r: StoredRecord,
        calc_for: &(dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync),
    ) -> Option<Piece> {
        let [tbmj, kcmj, kcxs, zldj, bgyy] = self.fields;
        let (geometry, clipped, area) = match self.region.outline.clip(&r.record.geometry) {
            Clip::Outside => return None,
            Clip::Inside => {
                (std::mem::replace(&mut r.record.geometry, geo::MultiPolygon(vec![])), false, r.areas.ellipsoidal)
            }
            Clip::Cut(g) => {
                let a = crate::area::piece_area(&calc_for(), &g);
                (g, true, a)
            }
        };
        let num = |i: Option<usize>| i.and_then(|i| r.record.value(i).as_f64());
        let deduction = match (num(kcmj), num(tbmj), num(kcxs)) {
            (Some(k), Some(t), _) if t > 0.0 => (k / t).clamp(0.0, 1.0),
            (_, _, Some(x)) => x.clamp(0.0, 1.0),
            _ => 0.0,
        };
        Some(Piece {
            fid: r.fid,
            key: std::mem::take(&mut r.record.key),
            class: r.record.value(self.class).to_string(),
            deduction,
            quality: zldj.and_then(|i| r.record.value(i).as_f64()).map(|q| q as i64),
            cause: bgyy.map(|i| r.record.value(i)).filter(|v| !v.is_blank()).map(|v| v.to_string()),
            geometry,
            area,
            altered: clipped,
        })
    }
}

/// The partition on `date` of parcels already clipped ([`Clipper::piece`], in any order): steps 2 and 3.
/// With `previous` (the other vintage's partition over the same region), a pair of parcels both present
/// there is not measured again: unchanged parcels keep their fids and geometry, so their overlap (or its
/// absence) is known. Its `NRLEDGER_TIMING` laps count from its start.
pub fn from_clipped(
    mut pieces: Vec<Piece>,
    date: AsOf,
    region: &Region,
    calc_for: &(dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync),
    policy: OverlapPolicy,
    previous: Option<&Partition>,
) -> Result<Partition> {
    let t0 = std::time::Instant::now();
    let lap = |what: &str| super::lap(t0, &format!("  partition {date}: {what}"));
    pieces.par_sort_unstable_by_key(|p| p.fid);
    // one R-tree over the pieces' boxes serves the overlap search, the gap search and the overlay: it is
    // bulk-loaded once and then patched where resolving overlaps shrinks a piece and where gap pieces are
    // added (loading it three times took about 0.3 s each per 1 000 000 parcels)
    let boxes: Vec<Option<geo::Rect<f64>>> = pieces.par_iter().map(|p| p.geometry.bounding_rect()).collect();
    let mut index = LayerIndex::of_boxes(&boxes);

    // 2. overlaps: pairs (i < j) whose boxes meet, measured in parallel as they are found. A parcel in the
    // previous partition is unchanged (same fid, same geometry, same region), so a pair of two such
    // parcels overlaps exactly as it did there: those pairs are taken from the previous partition's list,
    // and only a changed parcel looks for its candidates — in the closing vintage of a tenure, a few
    // percent of the parcels instead of all of them
    let changed: Vec<bool> =
        pieces.par_iter().map(|p| !previous.is_some_and(|prev| prev.by_fid.contains_key(&p.fid))).collect();
    let position = |fid: i64| pieces.binary_search_by_key(&fid, |p| p.fid).ok();
    let mut overlaps: Vec<(usize, usize, MultiPolygon<f64>)> = previous
        .map(|prev| {
            prev.raw_overlaps
                .par_iter()
                .filter_map(|(&(fa, fb), g)| Some((position(fa)?, position(fb)?, g)))
                .map(|(a, b, g)| (a.min(b), a.max(b), g.clone()))
                .collect()
        })
        .unwrap_or_default();
    // the positions to search from, gathered first: the changed parcels hold the newest fids and sit
    // together at the end, and a parallel loop over every position would leave them in one worker's last
    // chunk (rayon splits a range only so far unless a chunk is stolen), searched by one thread
    let searching: Vec<usize> = (0..pieces.len()).filter(|&i| changed[i]).collect();
    overlaps.par_extend(searching.into_par_iter().with_min_len(16).flat_map_iter(|i| {
        let cands = boxes[i].map(|b| index.in_box(b.min().x, b.min().y, b.max().x, b.max().y)).unwrap_or_default();
        let (pieces, changed) = (&pieces, &changed);
        // a pair of two changed parcels is measured once, from its lower position
        cands.into_iter().map(|j| j as usize).filter(move |&j| j != i && (j > i || !changed[j])).filter_map(move |j| {
            let (lo, hi) = (i.min(j), i.max(j));
            let g = crate::geometry::intersection(&pieces[lo].geometry, &pieces[hi].geometry);
            (g.unsigned_area() > OVERLAP_NOISE_M2).then_some((lo, hi, g))
        })
    }));
    // in the order of a search from every parcel: by the lower position, then the higher
    overlaps.par_sort_unstable_by_key(|(i, j, _)| (*i, *j));
    let raw_overlaps: HashMap<(i64, i64), MultiPolygon<f64>> = overlaps
        .iter()
        .map(|(i, j, g)| ((pieces[*i].fid.min(pieces[*j].fid), pieces[*i].fid.max(pieces[*j].fid)), g.clone()))
        .collect();
    lap("overlaps found");
    let mut resolved = Vec::new();
    let mut before_resolution = HashMap::new();
    if !overlaps.is_empty() {
        if policy == OverlapPolicy::Error {
            let (i, j, g) = &overlaps[0];
            return Err(Error::Invalid(format!(
                "parcels on {date} overlap ({} pairs; e.g. {} and {}, {:.2} m² planar): the stocks would count that ground twice. \
                 Fix the delivery (nrledger check reports them as NR101) or let the sheet resolve them (--overlaps resolve)",
                overlaps.len(),
                pieces[*i].key,
                pieces[*j].key,
                g.unsigned_area()
            )));
        }
        // the later parcel loses every overlap with an earlier one
        let mut losing: HashMap<usize, Vec<(usize, MultiPolygon<f64>)>> = HashMap::new();
        for (i, j, g) in overlaps {
            losing.entry(j).or_default().push((i, g));
        }
        let calc = calc_for();
        let mut keys: Vec<usize> = losing.keys().copied().collect();
        keys.sort_unstable();
        for j in keys {
            let lost = &losing[&j];
            let cut = lost
                .iter()
                .fold(MultiPolygon(vec![]), |acc, (_, g)| if acc.0.is_empty() { g.clone() } else { acc.union(g) });
            let before = pieces[j].area;
            let rest = pieces[j].geometry.difference(&cut);
            before_resolution.insert(pieces[j].fid, (pieces[j].geometry.clone(), pieces[j].area, pieces[j].altered));
            if let Some(b) = boxes[j] {
                index.remove(j as i64, b);
            }
            if let Some(b) = rest.bounding_rect() {
                index.insert(j as i64, b);
            }
            pieces[j].area = crate::area::piece_area(&calc, &rest);
            pieces[j].geometry = rest;
            pieces[j].altered = true;
            let total_lost = before - pieces[j].area;
            let sum_parts: f64 = lost.iter().map(|(_, g)| crate::area::piece_area(&calc, g)).sum();
            for (i, g) in lost {
                let a = crate::area::piece_area(&calc, g);
                // several earlier parcels may overlap each other too: share what was removed in proportion
                let share = if sum_parts > 0.0 { total_lost * a / sum_parts } else { 0.0 };
                resolved.push(ResolvedOverlap {
                    kept_by: pieces[*i].key.clone(),
                    removed_from: pieces[j].key.clone(),
                    area_m2: SquareMetres(share),
                });
            }
        }
    }

    lap("overlaps resolved");
    // 3. gaps
    let parcel_count = pieces.len();
    let gaps = crate::geometry::uncovered(
        &region.outline.geometry,
        parcel_count,
        |i| &pieces[i].geometry,
        |r| index.in_box(r.min().x, r.min().y, r.max().x, r.max().y).into_iter().map(|i| i as usize).collect(),
        &[],
        1e-3,
    );
    lap("gaps found");
    let calc = calc_for();
    let mut gap_slivers_m2 = 0.0;
    let mut gap_slivers = Vec::new();
    for (k, g) in gaps.into_iter().enumerate() {
        let geometry = MultiPolygon(vec![g]);
        let area = crate::area::piece_area(&calc, &geometry);
        if area < GAP_SLIVER_M2 {
            gap_slivers_m2 += area;
            if let Some(b) = geometry.bounding_rect() {
                gap_slivers.push((b, area));
            }
            continue;
        }
        if let Some(b) = geometry.bounding_rect() {
            index.insert(pieces.len() as i64, b);
        }
        pieces.push(Piece {
            fid: -(k as i64) - 1,
            key: String::new(),
            class: GAP.into(),
            deduction: 0.0,
            quality: None,
            cause: None,
            geometry,
            area,
            altered: true,
        });
    }
    let by_fid = pieces.iter().enumerate().filter(|(_, p)| p.fid >= 0).map(|(i, p)| (p.fid, i)).collect();
    Ok(Partition {
        date,
        pieces,
        index,
        overlaps: resolved,
        by_fid,
        gap_slivers_m2,
        gap_slivers,
        raw_overlaps,
        before_resolution,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::Areas;
    use crate::model::{Record, Value};

    /// A square parcel `fid` of side `s` m at (x, y) from a corner near 安吉县 (EPSG:4549, CGCS2000 / 3° Gauss-Krüger CM 120°E), class 0103.
    fn parcel(fid: i64, x: f64, y: f64, s: f64) -> StoredRecord {
        let (x, y) = (460_000.0 + x, 3_390_000.0 + y);
        let g = MultiPolygon(vec![geo::Rect::new((x, y), (x + s, y + s)).to_polygon()]);
        let mut values = vec![Value::Null; 3];
        values[0] = Value::Text(format!("P{fid}"));
        values[2] = Value::Text("0103".into());
        StoredRecord {
            fid,
            record: Record { key: format!("P{fid}"), values, geometry: g },
            valid_from: "2019-12-31".into(),
            valid_to: None,
            import_id: 1,
            areas: Areas { ellipsoidal: s * s, planar: s * s },
        }
    }

    #[allow(clippy::type_complexity)]
    fn summary(
        p: &Partition,
    ) -> (Vec<(i64, String, String)>, Vec<(String, String, String)>, Vec<((i64, i64), String)>, Vec<i64>) {
        let mut raw: Vec<_> = p.raw_overlaps.iter().map(|(k, g)| (*k, format!("{:.6}", g.unsigned_area()))).collect();
        raw.sort_by_key(|a| a.0);
        (
            p.pieces
                .iter()
                .map(|q| (q.fid, q.class.clone(), format!("{:.6} {:.9}", q.geometry.unsigned_area(), q.area)))
                .collect(),
            p.overlaps
                .iter()
                .map(|o| (o.kept_by.clone(), o.removed_from.clone(), format!("{:.6}", o.area_m2)))
                .collect(),
            raw,
            // every piece's box finds it in the index, and only the pieces' boxes are there
            p.pieces
                .iter()
                .enumerate()
                .filter_map(|(i, q)| q.geometry.bounding_rect().map(|b| (i, b)))
                .filter(|(i, b)| !p.index.in_box(b.min().x, b.min().y, b.max().x, b.max().y).contains(&(*i as i64)))
                .map(|(i, _)| i as i64)
                .collect(),
        )
    }

    /// The closing partition takes the overlaps of two unchanged parcels from the opening one and searches
    /// only from the changed parcels, and its index is patched, not rebuilt: every figure equals a
    /// partition built from scratch. The cases: an unchanged pair that overlaps; a changed parcel over an
    /// unchanged one of lower fid and one of higher fid; two changed parcels over each other; a gap.
    #[test]
    fn the_closing_partition_reuses_the_opening_one_and_equals_one_built_from_scratch() {
        let catalog = Catalog::embedded().unwrap();
        let crs = crate::crs::describe("EPSG:4549").unwrap();
        let calc_for = move || AreaCalculator::for_thread(&crs).unwrap();
        let outline =
            MultiPolygon(vec![geo::Rect::new((459_990.0, 3_389_990.0), (460_200.0, 3_390_200.0)).to_polygon()]);
        let region = Region {
            code: "t".into(),
            name: "t".into(),
            outline: crate::geometry::Outline::new(outline),
            area: SquareMetres::ZERO,
        };
        let (d1, d2) = (AsOf::from_ymd_opt(2019, 12, 31).unwrap(), AsOf::from_ymd_opt(2020, 12, 31).unwrap());
        let opening = || {
            vec![
                parcel(1, 0.0, 0.0, 50.0),
                parcel(2, 40.0, 0.0, 50.0),
                parcel(3, 100.0, 0.0, 50.0),
                parcel(5, 0.0, 100.0, 50.0),
                parcel(7, 100.0, 100.0, 50.0),
            ]
        };
        // 1 and 2 overlap in both vintages; 3 and 7 give way to the new parcels 4, 6, 8 and 10
        let closing = || {
            vec![
                parcel(1, 0.0, 0.0, 50.0),
                parcel(2, 40.0, 0.0, 50.0),
                parcel(4, 30.0, 90.0, 40.0), // changed, over 5 (lower fid, unchanged) and 8 (changed)
                parcel(5, 0.0, 100.0, 50.0),
                parcel(6, 85.0, 10.0, 30.0),  // changed, over 2 (lower fid, unchanged)
                parcel(8, 60.0, 100.0, 45.0), // changed, over 4 (changed)
                parcel(10, 120.0, 40.0, 20.0),
            ]
        };
        let p1 = build(opening(), d1, &region, &catalog, &calc_for, OverlapPolicy::Resolve).unwrap();
        assert_eq!(p1.raw_overlaps.len(), 1, "1 and 2 overlap");
        // clipped one parcel at a time (as a sheet does while it reads), in any order: the same partition
        let clipper = Clipper::new(&region, &catalog).unwrap();
        let one_by_one: Vec<Piece> = opening().into_iter().rev().filter_map(|r| clipper.piece(r, &calc_for)).collect();
        assert_eq!(
            summary(&from_clipped(one_by_one, d1, &region, &calc_for, OverlapPolicy::Resolve, None).unwrap()),
            summary(&p1)
        );
        // every closing parcel clipped and searched, with the opening partition to take known overlaps from
        let clip_all = || closing().into_iter().filter_map(|r| clipper.piece(r, &calc_for)).collect::<Vec<Piece>>();
        let reused = from_clipped(clip_all(), d2, &region, &calc_for, OverlapPolicy::Resolve, Some(&p1)).unwrap();
        let scratch = build(closing(), d2, &region, &catalog, &calc_for, OverlapPolicy::Resolve).unwrap();
        let (a, b) = (summary(&reused), summary(&scratch));
        assert_eq!(a, b);
        let pairs: Vec<(i64, i64)> = a.2.iter().map(|(k, _)| *k).collect();
        assert_eq!(pairs, vec![(1, 2), (2, 6), (4, 5), (4, 8)]);
        assert!(a.3.is_empty(), "pieces missing from the index: {:?}", a.3);
        assert!(
            reused.pieces.iter().any(|q| q.class == GAP),
            "the region is not covered: {:?}",
            reused.pieces.iter().map(|q| (q.fid, &q.class, q.area)).collect::<Vec<_>>()
        );
        assert_eq!(reused.index.len(), reused.pieces.iter().filter(|q| q.geometry.bounding_rect().is_some()).count());
        // the closing partition from the opening one, as a sheet builds it: 1, 2 and 5 carried over (2 as
        // it was before it lost its overlap with 1), 3 and 7 ended, 4, 6, 8 and 10 added — the same partition
        let still = [1, 2, 5];
        let added: Vec<StoredRecord> = closing().into_iter().filter(|r| !still.contains(&r.fid)).collect();
        let next = build_next(
            &p1,
            |fid| still.contains(&fid),
            added,
            d2,
            &region,
            &catalog,
            &calc_for,
            OverlapPolicy::Resolve,
        )
        .unwrap();
        assert_eq!(summary(&next), b);
        assert_eq!(next.index.len(), next.pieces.iter().filter(|q| q.geometry.bounding_rect().is_some()).count());
        let mut losers: Vec<i64> = next.before_resolution.keys().copied().collect();
        losers.sort_unstable();
        assert_eq!(losers, vec![2, 5, 6, 8], "each later parcel of an overlapping pair loses the overlap");
        let two = &p1.pieces[p1.by_fid[&2]];
        assert!(
            two.geometry.unsigned_area() < 2400.0 && next.pieces[next.by_fid[&2]].geometry.unsigned_area() < 2400.0
        );
        assert_eq!(
            p1.carried(|f| f == 2)[0].geometry.unsigned_area(),
            2500.0,
            "carried as clipped, before the overlap was removed"
        );
    }
}
