//! What the rules look at: each layer's records valid on the check date (optionally only those sharing
//! ground with a region, read through the registry's R-tree: a county window of a province), with an
//! R-tree over them, the rule configuration and the exceptions.

use std::collections::HashMap;
use std::sync::Mutex;

use geo::{BoundingRect, MultiPolygon};

use super::geom::LayerSet;
use super::{Exceptions, Needs, RuleConfig, Tolerance};
use crate::area::AreaCalculator;
use crate::catalog::Catalog;
use crate::crs::CrsInfo;
use crate::error::{Error, Result};
use crate::geometry::LayerIndex;
use crate::geometry::Outline;
use crate::model::{AsOf, LayerKind};
use crate::store::{Read, Registry, StoredRecord};

/// The depth of the quadtree covering each near record (a red line, say) for the R-tree read of the records
/// near it: four levels (at most 256 boxes a record). On the hard county (500 red lines over a quarter of
/// 1 000 000 parcels) six levels gave 412 868 boxes and 15 226 candidate parcels, four give 62 484 boxes
/// and 16 236 candidates: the same findings, NR501 0.32 → 0.24 s in the process (0.15 → 0.07 s at 100 000
/// parcels); covering and matching that many boxes cost more than the extra candidates do.
const NEAR_COVER_DEPTH: u32 = 4;

/// The records of a layer valid on `at` whose envelope meets `outline`'s box, read through the layer's
/// R-tree, split into those that share ground with the outline and the others.
fn window(
    reg: &Registry,
    kind: LayerKind,
    at: Option<AsOf>,
    outline: &Outline,
    needs: &Needs,
) -> Result<(Vec<StoredRecord>, Vec<StoredRecord>)> {
    use rayon::prelude::*;
    let Some(b) = outline.bounds() else { return Ok((vec![], vec![])) };
    let recs = needs.read(reg, kind, at, Some(&[b]))?;
    Ok(recs.into_par_iter().partition(|r| outline.overlaps(&r.record.geometry)))
}

fn union_box(a: geo::Rect<f64>, b: geo::Rect<f64>) -> geo::Rect<f64> {
    geo::Rect::new(
        (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
        (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
    )
}

fn contains_box(outer: geo::Rect<f64>, inner: geo::Rect<f64>) -> bool {
    outer.min().x <= inner.min().x
        && outer.min().y <= inner.min().y
        && outer.max().x >= inner.max().x
        && outer.max().y >= inner.max().y
}

/// Which records outside a window another window of the same run already holds whole: see [`ring`].
pub type Settled<'a> = &'a (dyn Fn(&MultiPolygon<f64>) -> bool + Sync);

/// A record of a window on its border, as the ring tests the records outside against it: a small one (a
/// parcel) as it is, a big one (a red-line or farmland union) tiled, so each test only sees its outline near
/// the record tested.
enum Border {
    Small(MultiPolygon<f64>),
    Big(Box<Outline>),
}

impl Border {
    fn new(g: &MultiPolygon<f64>) -> Border {
        if crate::geometry::vertex_count(g) > crate::geometry::PRETEST_VERTICES {
            Border::Big(Box::new(Outline::new(g.clone())))
        } else {
            Border::Small(g.clone())
        }
    }

    fn bounds(&self) -> Option<geo::Rect<f64>> {
        match self {
            Border::Small(g) => g.bounding_rect(),
            Border::Big(o) => o.bounds(),
        }
    }

    fn shares_ground(&self, g: &MultiPolygon<f64>) -> bool {
        match self {
            Border::Small(b) => crate::geometry::may_share_ground(b, g),
            Border::Big(o) => o.overlaps(g),
        }
    }
}

/// Add the ring to a window: the records outside it that meet a record of the window on its border (so an
/// overlap lying in a crack between two county outlines is still seen whole), and every record sharing
/// ground with a registration unit of the window (so a unit's sums and links see the whole unit).
/// `outside` holds the records already read whose box met the window's but which lie outside it.
/// `settled` says which records outside the window its border may leave out: those wholly inside another
/// window of the same streamed check, whose pieces with this window's records that window finds (a
/// neighbour's red line crossing the border by a sliver no longer brings the neighbour's parcels under it).
fn ring(
    reg: &Registry,
    at: Option<AsOf>,
    needs: &Needs,
    outline: &Outline,
    loaded: &mut HashMap<LayerKind, Vec<StoredRecord>>,
    mut outside: HashMap<LayerKind, Vec<StoredRecord>>,
    settled: Option<Settled>,
) -> Result<()> {
    use rayon::prelude::*;
    let Some(window_box) = outline.bounds() else { return Ok(()) };
    // the window's records on the border, indexed, and the box they reach out to
    let border: Vec<Border> = loaded
        .iter()
        .filter(|(k, _)| **k != LayerKind::Admin)
        .flat_map(|(_, recs)| recs.iter())
        .filter(|r| outline.position(&r.record.geometry) == crate::geometry::Position::Boundary)
        .map(|r| Border::new(&r.record.geometry))
        .collect();
    let reach = border.iter().filter_map(Border::bounds).fold(window_box, union_box);
    let index = LayerIndex::of_boxes(&border.iter().map(Border::bounds).collect::<Vec<_>>());
    // a finding needs shared ground, so a record that only touches the border records stays out
    let meets_border = |g: &MultiPolygon<f64>| {
        g.bounding_rect().is_some_and(|b| {
            index
                .in_box(b.min().x, b.min().y, b.max().x, b.max().y)
                .into_iter()
                .any(|i| border[i as usize].shares_ground(g))
        })
    };
    // the strips between the window's box and the reach of its border records
    let strips: Vec<geo::Rect<f64>> = {
        let (w, r) = (window_box, reach);
        [
            geo::Rect::new((r.min().x, r.min().y), (w.min().x, r.max().y)),
            geo::Rect::new((w.max().x, r.min().y), (r.max().x, r.max().y)),
            geo::Rect::new((r.min().x, r.min().y), (r.max().x, w.min().y)),
            geo::Rect::new((r.min().x, w.max().y), (r.max().x, r.max().y)),
        ]
        .into_iter()
        .filter(|s| s.width() > 0.0 && s.height() > 0.0)
        .collect()
    };
    // units first: the other layers' ring covers every unit of the window, its own ring units included
    let mut kinds: Vec<LayerKind> = loaded.keys().copied().filter(|k| *k != LayerKind::Admin).collect();
    kinds.sort_by_key(|k| (*k != LayerKind::Units, k.name()));
    let mut units: Vec<Outline> = Vec::new();
    for kind in kinds {
        let recs = loaded.get_mut(&kind).expect("loaded");
        let mut have: std::collections::HashSet<i64> = recs.iter().map(|r| r.fid).collect();
        let mut candidates = outside.remove(&kind).unwrap_or_default();
        // records beyond the window's box that a border record still reaches
        let mut seen: std::collections::HashSet<i64> =
            candidates.iter().map(|r| r.fid).chain(have.iter().copied()).collect();
        for strip in &strips {
            for r in needs.read(reg, kind, at, Some(&[*strip]))? {
                if seen.insert(r.fid) {
                    candidates.push(r);
                }
            }
        }
        let joined: Vec<StoredRecord> = candidates
            .into_par_iter()
            .filter(|r| {
                let g = &r.record.geometry;
                (!settled.is_some_and(|s| s(g)) && meets_border(g)) || units.iter().any(|u| u.overlaps(g))
            })
            .collect();
        for r in joined {
            if have.insert(r.fid) {
                recs.push(r);
            }
        }
        // what the window's units cover beyond the box read so far
        for u in &units {
            let Some(ub) = u.bounds() else { continue };
            if contains_box(reach, ub) {
                continue;
            }
            for r in needs.read(reg, kind, at, Some(&[ub]))? {
                if !have.contains(&r.fid) && u.overlaps(&r.record.geometry) {
                    have.insert(r.fid);
                    recs.push(r);
                }
            }
        }
        recs.sort_by_key(|r| r.fid);
        if kind == LayerKind::Units {
            units = recs.iter().map(|r| Outline::new(r.record.geometry.clone())).collect();
        }
    }
    Ok(())
}

/// Everything a rule needs.
pub struct Context {
    /// The registry file.
    pub registry: String,
    /// The registry CRS.
    pub crs: CrsInfo,
    /// The catalog (layer definitions, class tables).
    pub catalog: Catalog,
    /// The check date (None: now).
    pub at: Option<AsOf>,
    /// Rule configuration.
    pub config: RuleConfig,
    /// Exceptions.
    pub exceptions: Exceptions,
    /// The region the check is limited to (code, outline), if any.
    pub region: Option<(String, MultiPolygon<f64>)>,
    layers: HashMap<LayerKind, LayerSet>,
    /// Vintage (latest as-of ≤ check date) of each layer used, for the report.
    pub vintages: Vec<(LayerKind, Option<String>)>,
    notes: Mutex<Vec<String>>,
    parcel_overlaps: std::sync::OnceLock<(Tolerance, Vec<super::geom::Piece>)>,
}

impl Context {
    /// Load the registry's layers the rules to run read ([`super::layers_needed`]) valid on `at`, limited to
    /// `region` (a code prefix of the admin layer).
    pub fn load(
        reg: &Registry,
        at: Option<AsOf>,
        region: Option<&str>,
        config: RuleConfig,
        exceptions: Exceptions,
        needs: &Needs,
    ) -> Result<Context> {
        let region = match region {
            None => None,
            Some(code) => {
                let admin = reg.read(&Read::layer(LayerKind::Admin).on(at))?;
                let parts: Vec<geo::Polygon<f64>> =
                    crate::region::outermost(admin.iter().filter(|r| r.record.key.starts_with(code)))
                        .into_iter()
                        .flat_map(|r| r.record.geometry.0.iter().cloned())
                        .collect();
                if parts.is_empty() {
                    return Err(Error::Invalid(format!(
                        "region {code}: no admin outline with a code starting {code} in the registry{}",
                        at.map(|d| format!(" on {d}")).unwrap_or_default()
                    )));
                }
                Some((code.to_string(), geo::unary_union(parts.iter())))
            }
        };
        Context::load_window(reg, at, region, config, exceptions, needs, None)
    }

    /// Load the layers in `needs` valid on `at` inside a window: a region (code, outline) — only the records
    /// that share ground with it, read through each layer's R-tree — or, with None, the whole registry. A
    /// layer needed only near another ([`Needs::near`]) is read, over the whole registry, only in boxes
    /// covering the other layer's records; a window reads it whole in its box (its ring needs its border
    /// records).
    ///
    /// A window also holds the **ring** around it: the records outside it that meet one of its records on
    /// the border, so that a piece at fault between a record inside and one outside is seen whole even
    /// where it lies in a crack between two county outlines; and every record sharing ground with a
    /// registration unit of the window, so that a unit's sums (NR303, NR304) and links (NR502) see the whole
    /// unit. A ring record's own findings are also found by its own county's window. In a streamed check,
    /// `settled` tells the ring which outside records another window holds whole (see `ring`).
    pub fn load_window(
        reg: &Registry,
        at: Option<AsOf>,
        region: Option<(String, MultiPolygon<f64>)>,
        config: RuleConfig,
        exceptions: Exceptions,
        needs: &Needs,
        settled: Option<Settled>,
    ) -> Result<Context> {
        let t0 = std::time::Instant::now();
        let outline = region.as_ref().map(|(_, g)| Outline::new(g.clone()));
        let mut loaded: HashMap<LayerKind, Vec<StoredRecord>> = HashMap::new();
        let mut outside: HashMap<LayerKind, Vec<StoredRecord>> = HashMap::new();
        let mut vintages = Vec::new();
        for kind in reg.catalog().kinds() {
            let v = reg.vintages(kind)?;
            let used = v.iter().rfind(|d| at.is_none_or(|a| **d <= a)).map(|d| d.to_string());
            vintages.push((kind, used));
            if !needs.kinds.contains(&kind) || (outline.is_none() && needs.near.iter().any(|(a, _)| *a == kind)) {
                continue;
            }
            match &outline {
                Some(o) if kind != LayerKind::Admin => {
                    let (inside, out) = window(reg, kind, at, o, needs)?;
                    loaded.insert(kind, inside);
                    outside.insert(kind, out);
                }
                _ => {
                    loaded.insert(kind, needs.read(reg, kind, at, None)?);
                }
            }
            crate::progress::lap(t0, &format!("  check: {} loaded", kind.name()));
        }
        // the near layers' outlines, tiled to cover them, kept for the rules
        let mut tiled: HashMap<LayerKind, Vec<Outline>> = HashMap::new();
        if outline.is_none() {
            for &(kind, near) in &needs.near {
                // boxes covering each near record (Outline::cover): every point of it lies in one, so a record
                // sharing ground with it meets one of them
                use rayon::prelude::*;
                let outlines: Vec<Outline> = loaded
                    .get(&near)
                    .map(|recs| recs.par_iter().map(|r| Outline::new(r.record.geometry.clone())).collect())
                    .unwrap_or_default();
                let boxes: Vec<geo::Rect<f64>> =
                    outlines.par_iter().flat_map_iter(|o| o.cover(NEAR_COVER_DEPTH)).collect();
                tiled.insert(near, outlines);
                crate::progress::lap(t0, &format!("  check: {} boxes cover the {}", boxes.len(), near.name()));
                let recs = needs.read(reg, kind, at, Some(&boxes))?;
                crate::progress::lap(
                    t0,
                    &format!(
                        "  check: {} {} loaded where {} are ({} boxes)",
                        recs.len(),
                        kind.name(),
                        near.name(),
                        boxes.len()
                    ),
                );
                loaded.insert(kind, recs);
            }
        }
        if let Some(o) = &outline {
            ring(reg, at, needs, o, &mut loaded, outside, settled)?;
            crate::progress::lap(t0, "  check: ring around the window");
        }
        let layers = loaded
            .into_iter()
            .map(|(k, recs)| (k, LayerSet::with_outlines(recs, tiled.remove(&k).unwrap_or_default())))
            .collect();
        crate::progress::lap(t0, "  check: indexed");
        Ok(Context {
            registry: reg.path().display().to_string(),
            crs: reg.crs.clone(),
            catalog: reg.catalog().clone(),
            at,
            config,
            exceptions,
            region,
            layers,
            vintages,
            notes: Mutex::new(Vec::new()),
            parcel_overlaps: std::sync::OnceLock::new(),
        })
    }

    /// Number of records loaded, all layers.
    pub fn record_count(&self) -> usize {
        self.layers.values().map(|l| l.records.len()).sum()
    }

    /// A layer's records. Panics when the layer was not loaded: a rule that reads a layer must list it in
    /// [`super::Check::layers`].
    pub fn layer(&self, kind: LayerKind) -> &LayerSet {
        self.layers.get(&kind).unwrap_or_else(|| {
            panic!("the {} layer was not loaded: a rule reads it without listing it in Check::layers", kind.name())
        })
    }

    /// The date exceptions are compared with: the check date, or today.
    pub fn check_date(&self) -> AsOf {
        self.at.unwrap_or_else(|| chrono::Local::now().date_naive())
    }

    /// The calling thread's area calculator for the registry CRS ([`AreaCalculator::for_thread`]).
    pub fn area_calculator(&self) -> std::rc::Rc<AreaCalculator> {
        AreaCalculator::for_thread(&self.crs).expect("the registry CRS was usable when the registry was created")
    }

    /// Ellipsoidal area of a geometry in the registry CRS (densified like every finding piece).
    pub fn area_of(&self, mp: &MultiPolygon<f64>) -> f64 {
        crate::area::piece_area(&self.area_calculator(), mp)
    }

    /// Overlap pieces among the parcels measured with `tol`, computed once and shared by the rules that need
    /// them (parcel-overlap reports them; coverage-gap uses them to know where sums of areas can hide a gap;
    /// both ask through `rules::parcel_overlap::pieces`, with NR101's tolerances). A call with other
    /// tolerances than the first computes its own pieces.
    pub fn parcel_overlaps(&self, tol: &Tolerance) -> std::borrow::Cow<'_, [super::geom::Piece]> {
        let set = self.layer(LayerKind::Parcels);
        let (first, pieces) = self
            .parcel_overlaps
            .get_or_init(|| (tol.clone(), super::geom::overlaps(&|| self.area_calculator(), set, set, true, tol)));
        if first == tol {
            std::borrow::Cow::Borrowed(pieces)
        } else {
            std::borrow::Cow::Owned(super::geom::overlaps(&|| self.area_calculator(), set, set, true, tol))
        }
    }

    /// Record a note for the report (e.g. a rule that could not run).
    pub fn note(&self, s: String) {
        self.notes.lock().expect("not poisoned").push(s);
    }

    /// The notes recorded so far.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().expect("not poisoned").clone()
    }
}
