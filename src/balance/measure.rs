//! Measuring one region for a sheet: both partitions, their overlay, and every figure the sheet adds up over
//! them ([`Measures`]). The measures of the counties of a province add up to the province's
//! ([`Measures::add`]); the sheet is assembled from them once (`super::assemble`).

use std::collections::{BTreeMap, HashMap};

use super::trace::{TracePiece, TraceSide};
use super::Level;
use super::{forest, land, lap, liability, overlay, partition, PieceCounts, Request, ResolvedOverlap};
use crate::area::AreaCalculator;
use crate::catalog::Catalog;
use crate::checks::RuleConfig;
use crate::error::{Error, Result};
use crate::geometry::Outline;
use crate::model::{AsOf, LayerKind};
use crate::quantity::SquareMetres;
use crate::region::Region;
use crate::store::{Fields, Read, Registry, StoredRecord};

/// A control zone of the sheet: its layer, its name, and whether the sheet tells the land inside it (其中
/// rows) besides its area.
#[derive(Debug, Clone, Copy)]
pub(super) struct Zone {
    pub(super) kind: LayerKind,
    pub(super) name: &'static str,
    pub(super) of_which: bool,
}

/// 生态保护红线.
pub const REDLINES: &str = "生态保护红线";
/// 永久基本农田.
pub const FARMLAND: &str = "永久基本农田";
/// 城镇开发边界.
pub const URBAN: &str = "城镇开发边界";
/// 自然保护地.
pub const PROTECTED: &str = "自然保护地";

/// The control zones a sheet measures: the red lines and the permanent basic farmland (area and 其中 rows),
/// the urban development boundary (area), and the protected areas (area and 其中 rows) when the registry has
/// a protected-area layer.
pub(super) fn zones(reg: &Registry) -> Result<Vec<Zone>> {
    let mut out = vec![
        Zone { kind: LayerKind::Redlines, name: REDLINES, of_which: true },
        Zone { kind: LayerKind::Farmland, name: FARMLAND, of_which: true },
        Zone { kind: LayerKind::Urban, name: URBAN, of_which: false },
    ];
    if let Some(kind) = LayerKind::parse("protected").filter(|k| reg.catalog().find_layer(*k).is_some()) {
        if !reg.vintages(kind)?.is_empty() {
            out.push(Zone { kind, name: PROTECTED, of_which: true });
        }
    }
    Ok(out)
}

/// One of-which zone measured: whether the registry has the zone at each date, and the area of each
/// second-level class inside it at each date, m².
#[derive(Debug, Clone, Default)]
pub(super) struct ZoneMeasure {
    pub(super) zone: &'static str,
    pub(super) present: [bool; 2],
    pub(super) by_code: [BTreeMap<String, f64>; 2],
}

/// Everything a sheet adds up over its ground, measured in one region. The measures of the counties of a
/// province add up ([`Measures::add`]) to the province's: every figure is a sum over pieces of ground, and
/// each county's pieces are clipped to its own outline. Nothing here is rounded: the sheet rounds once,
/// after adding.
#[derive(Default)]
pub(super) struct Measures {
    pub(super) region_area: f64,
    /// The second-level transition matrix, m² (田坎 deducted).
    pub(super) m2: HashMap<(String, String), f64>,
    /// Per-class stocks and the gap slivers left out, at both dates ([`land::stocks`]).
    pub(super) stocks: [BTreeMap<String, (f64, f64)>; 2],
    pub(super) gap_slivers_m2: [f64; 2],
    /// How many slivers were left out, and the largest: (area m², x, y of its box's centre).
    pub(super) gap_sliver_count: [usize; 2],
    pub(super) largest_sliver: [Option<(f64, f64, f64)>; 2],
    pub(super) uncovered_m2: [f64; 2],
    pub(super) overlaps: [Vec<ResolvedOverlap>; 2],
    /// Pieces at both dates, overlay pairs.
    pub(super) counts: PieceCounts,
    /// cause → the resources gained and lost by it, and the ground that changed class, m².
    pub(super) by_cause: BTreeMap<String, CauseMeasure>,
    /// The zones with 其中 rows ([`zones`]).
    pub(super) of_which: Vec<ZoneMeasure>,
    pub(super) quality: [Option<BTreeMap<i64, f64>>; 2],
    pub(super) stands: forest::StandMeasures,
    /// Each zone's area inside the region at both dates, m² ([`zones`]).
    pub(super) zone_areas_m2: Vec<(&'static str, f64, f64)>,
    pub(super) redline_prohibited_m2: (f64, f64),
    /// The grassland layer (草原) inside the region at both dates: area by 草地类 and by 草原等级, m²; None
    /// when the catalog defines no grassland kind.
    pub(super) grassland: Option<[GrasslandMeasure; 2]>,
    pub(super) trace: Vec<TracePiece>,
}

/// The grassland layer's records inside the region on one date.
#[derive(Debug, Clone, Default)]
pub(super) struct GrasslandMeasure {
    pub(super) records: usize,
    pub(super) by_class: BTreeMap<String, f64>,
    pub(super) by_grade: BTreeMap<String, f64>,
}

/// The resources whose changes are told by cause: 耕地 (01), 湿地 (00) and 草地 (04) of the first level
/// (`level1` in crosswalks.csv).
pub(super) const RESOURCES: [&str; 3] = ["01", "00", "04"];

/// What one cause changed: each of [`RESOURCES`] gained and lost, and all ground that changed class, m².
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CauseMeasure {
    pub(super) gained: [f64; 3],
    pub(super) lost: [f64; 3],
    pub(super) changed: f64,
}

fn add_maps<K: Ord + Clone>(a: &mut BTreeMap<K, f64>, b: &BTreeMap<K, f64>) {
    for (k, v) in b {
        *a.entry(k.clone()).or_default() += v;
    }
}

impl Measures {
    /// Add another region's measures (the regions must not share ground).
    pub(super) fn add(&mut self, o: Measures) {
        self.region_area += o.region_area;
        for (k, v) in o.m2 {
            *self.m2.entry(k).or_default() += v;
        }
        for i in 0..2 {
            for (k, (a, t)) in &o.stocks[i] {
                let e = self.stocks[i].entry(k.clone()).or_default();
                e.0 += a;
                e.1 += t;
            }
            self.gap_slivers_m2[i] += o.gap_slivers_m2[i];
            self.gap_sliver_count[i] += o.gap_sliver_count[i];
            self.largest_sliver[i] = match (self.largest_sliver[i], o.largest_sliver[i]) {
                (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
                (a, b) => a.or(b),
            };
            self.uncovered_m2[i] += o.uncovered_m2[i];
            self.quality[i] = match (self.quality[i].take(), &o.quality[i]) {
                (None, None) => None,
                (a, b) => {
                    let mut a = a.unwrap_or_default();
                    if let Some(b) = b {
                        add_maps(&mut a, b);
                    }
                    Some(a)
                }
            };
        }
        // an overlap crossing a county border is resolved in each county: one entry per pair, areas added
        for (mine, theirs) in self.overlaps.iter_mut().zip(o.overlaps) {
            for x in theirs {
                match mine.iter_mut().find(|m| m.kept_by == x.kept_by && m.removed_from == x.removed_from) {
                    Some(m) => m.area_m2 += x.area_m2,
                    None => mine.push(x),
                }
            }
        }
        self.counts = PieceCounts {
            opening_pieces: self.counts.opening_pieces + o.counts.opening_pieces,
            closing_pieces: self.counts.closing_pieces + o.counts.closing_pieces,
            overlay_pairs: self.counts.overlay_pairs + o.counts.overlay_pairs,
        };
        for (k, v) in o.by_cause {
            let e = self.by_cause.entry(k).or_default();
            for i in 0..RESOURCES.len() {
                e.gained[i] += v.gained[i];
                e.lost[i] += v.lost[i];
            }
            e.changed += v.changed;
        }
        if self.of_which.len() < o.of_which.len() {
            self.of_which = o.of_which.iter().map(|z| ZoneMeasure { zone: z.zone, ..Default::default() }).collect();
            self.zone_areas_m2 = o.zone_areas_m2.iter().map(|z| (z.0, 0.0, 0.0)).collect();
        }
        for (z, oz) in self.of_which.iter_mut().zip(&o.of_which) {
            for i in 0..2 {
                z.present[i] |= oz.present[i];
                add_maps(&mut z.by_code[i], &oz.by_code[i]);
            }
        }
        self.stands.add(&o.stands);
        for (a, b) in self.zone_areas_m2.iter_mut().zip(o.zone_areas_m2) {
            a.1 += b.1;
            a.2 += b.2;
        }
        if let Some(og) = o.grassland {
            let g = self.grassland.get_or_insert_with(Default::default);
            for (a, b) in g.iter_mut().zip(og) {
                a.records += b.records;
                add_maps(&mut a.by_class, &b.by_class);
                add_maps(&mut a.by_grade, &b.by_grade);
            }
        }
        self.redline_prohibited_m2.0 += o.redline_prohibited_m2.0;
        self.redline_prohibited_m2.1 += o.redline_prohibited_m2.1;
        self.trace.extend(o.trace);
    }
}

/// Measure one region: both partitions, their overlay and everything the sheet adds up over them.
pub(super) fn measure(
    reg: &Registry,
    req: &Request,
    region: &Region,
    rules: &RuleConfig,
    t0: std::time::Instant,
) -> Result<Measures> {
    let catalog = reg.catalog();
    let lap = |what: &str| lap(t0, what);
    let crs = reg.crs.clone();
    let calc_for =
        move || AreaCalculator::for_thread(&crs).expect("the registry CRS was usable when the registry was created");
    let calc = calc_for();
    // every layer is read through the R-tree for the region's box only: a county's sheet in a province
    // registry reads the county, not the province (everything read is clipped to the region anyway)
    let region_box =
        region.outline.bounds().ok_or_else(|| Error::Invalid(format!("region {}: empty outline", region.code)))?;
    let window = |kind: LayerKind, d: AsOf| reg.read(&Read::layer(kind).on(Some(d)).in_boxes(&[region_box]));
    let (p1, p2) = partitions(reg, req, region, &calc_for, &lap)?;
    let pairs = overlay::overlay(&p1, &p2, &calc_for)?;
    lap("overlay");
    let m2 = overlay::matrix(&p1, &p2, &pairs, land::TIANKAN);
    lap("transition matrix");
    let by_cause = causes(&p1, &p2, &pairs, &resources_of(catalog, [&p1, &p2]));
    lap("land accounts");
    let zones = zones(reg)?;
    let of_which = of_which(&zones, &window, [(&p1, req.from), (&p2, req.to)], &calc_for, &lap)?;
    lap("of-which");
    let quality = [land::by_quality(&p1), land::by_quality(&p2)];
    let stands = forest::measure(
        &window(LayerKind::Forest, req.from)?,
        &window(LayerKind::Forest, req.to)?,
        region,
        &p1,
        &p2,
        &pairs,
        catalog,
        &calc,
    );
    lap("forest");
    let zone_areas_m2 = zone_areas(&zones, &window, region, req, &calc)?;
    let grassland = match LayerKind::parse("grassland").filter(|k| catalog.find_layer(*k).is_some()) {
        Some(kind) => Some([
            grassland_at(&window, kind, catalog, region, req.from, &calc)?,
            grassland_at(&window, kind, catalog, region, req.to, &calc)?,
        ]),
        None => None,
    };
    let redline_prohibited_m2 = (
        liability::redline_encroachment(&p1, &redlines_at(&window, catalog, req.from)?, &rules.redline, &calc_for),
        liability::redline_encroachment(&p2, &redlines_at(&window, catalog, req.to)?, &rules.redline, &calc_for),
    );
    lap("liability figures");
    let trace = if req.trace { trace(&p1, &p2, &pairs, req.level, catalog)? } else { Vec::new() };
    lap("trace");
    let (mut p1, mut p2) = (p1, p2);
    let measures = Measures {
        region_area: region.area.0,
        m2,
        stocks: [land::stocks(&p1), land::stocks(&p2)],
        gap_slivers_m2: [p1.gap_slivers_m2, p2.gap_slivers_m2],
        gap_sliver_count: [p1.gap_slivers.len(), p2.gap_slivers.len()],
        largest_sliver: [largest_sliver(&p1), largest_sliver(&p2)],
        uncovered_m2: [p1.gap_area(), p2.gap_area()],
        counts: PieceCounts {
            opening_pieces: p1.pieces.len(),
            closing_pieces: p2.pieces.len(),
            overlay_pairs: pairs.len(),
        },
        overlaps: [std::mem::take(&mut p1.overlaps), std::mem::take(&mut p2.overlaps)],
        by_cause,
        of_which,
        quality,
        stands,
        zone_areas_m2,
        redline_prohibited_m2,
        grassland,
        trace,
    };
    // the partitions and their overlay hold every piece's geometry: freeing them takes a quarter of a second
    // per 1 000 000 parcels, which the sheet need not wait for
    std::thread::spawn(move || drop((p1, p2, pairs)));
    lap("measured");
    Ok(measures)
}

/// A thread's area calculator.
type CalcFor<'a> = &'a (dyn Fn() -> std::rc::Rc<AreaCalculator> + Sync);

/// A window read: a layer's records on a date in the region's box.
type Window<'a> = &'a dyn Fn(LayerKind, AsOf) -> Result<Vec<StoredRecord>>;

/// The opening and closing partitions of the region. The opening parcels are read through boxes covering
/// the region and clipped as they are read; the closing partition carries over the opening parcels still
/// valid and reads only the parcels the closing vintage adds, while the opening partition is built.
pub(super) fn partitions(
    reg: &Registry,
    req: &Request,
    region: &Region,
    calc_for: CalcFor,
    lap: &dyn Fn(&str),
) -> Result<(partition::Partition, partition::Partition)> {
    let catalog = reg.catalog();
    // the parcels go only to the partitions, which read the fields partition::FIELDS names
    let parcels = Fields::Only(&partition::FIELDS);
    // the parcels are read through boxes covering the region (Outline::cover), which hug it closer than its
    // box does: a county of a province reads few of its neighbours' parcels
    let tiles = region.outline.cover(crate::geometry::COVER_DEPTH);
    // the opening parcels are clipped to the region as they are read (on the decoding threads, while SQLite
    // reads on); each also says whether it has ended by the closing date
    let clipper = partition::Clipper::new(region, catalog)?;
    let to_day = req.to.format("%Y-%m-%d").to_string();
    let opening = Read::layer(LayerKind::Parcels).on(Some(req.from)).fields(parcels).in_boxes(&tiles);
    let read = reg.read_then(&opening, &|r| {
        let ended = r.valid_to.as_deref().is_some_and(|v| v <= to_day.as_str());
        (r.fid, ended, clipper.piece(r, calc_for))
    })?;
    lap(&format!("read opening parcels, clipped as read ({} records)", read.len()));
    // the closing vintage holds most opening parcels unchanged (the same registry rows): those still valid
    // at the closing date are carried over from the opening partition, and only the parcels the closing
    // vintage adds are read — through a second connection, while the opening partition is built
    let mut known: Vec<i64> = read.iter().map(|(fid, _, _)| *fid).collect();
    known.sort_unstable(); // already in fid order: a check that costs one pass
    let ended: std::collections::HashSet<i64> =
        read.iter().filter(|(_, ended, _)| *ended).map(|(fid, _, _)| *fid).collect();
    let pieces1: Vec<partition::Piece> = read.into_iter().filter_map(|(_, _, p)| p).collect();
    let (p1, added) = std::thread::scope(|s| -> Result<_> {
        let (path, cat, to, known) = (reg.path().to_path_buf(), reg.catalog().clone(), req.to, &known);
        let tiles = &tiles;
        let reader = s.spawn(move || -> Result<Vec<StoredRecord>> {
            Registry::open(&path, cat)?
                .read(&Read::layer(LayerKind::Parcels).on(Some(to)).fields(parcels).in_boxes(tiles).beyond(known))
        });
        let p1 = partition::from_clipped(pieces1, req.from, region, calc_for, req.overlaps, None);
        let added = reader.join().expect("the closing parcels' reader panicked");
        Ok((p1?, added?))
    })?;
    lap(&format!("opening partition (the {} parcels the closing vintage adds read meanwhile)", added.len()));
    let p2 = partition::build_next(
        &p1,
        |fid| !ended.contains(&fid),
        added,
        req.to,
        region,
        catalog,
        calc_for,
        req.overlaps,
    )?;
    lap("closing partition");
    Ok((p1, p2))
}

/// Changes by cause: each pair's share that left or joined each of [`RESOURCES`] (`resource` says which a
/// class is), and its area when its class changed, by the closing parcel's cause (未注明 without one).
/// The position in [`RESOURCES`] of each class the partitions hold (and of 田坎), by the `level1` crosswalk:
/// looked up once a class, not once a piece (the crosswalk is a longest-prefix search; once a cell, it took
/// more than the overlay on a 1 000 000-parcel sheet).
fn resources_of(catalog: &Catalog, parts: [&partition::Partition; 2]) -> HashMap<String, Option<usize>> {
    let resource = |code: &str| {
        let l1 = catalog.classes.crosswalk("level1", code).map(|c| c.code.as_str())?;
        RESOURCES.iter().position(|r| *r == l1)
    };
    let mut out: HashMap<String, Option<usize>> = HashMap::new();
    for class in parts.iter().flat_map(|p| p.pieces.iter().map(|x| x.class.as_str())).chain([land::TIANKAN]) {
        if !out.contains_key(class) {
            out.insert(class.to_string(), resource(class));
        }
    }
    out
}

fn causes(
    p1: &partition::Partition,
    p2: &partition::Partition,
    pairs: &[overlay::Pair],
    resources: &HashMap<String, Option<usize>>,
) -> BTreeMap<String, CauseMeasure> {
    let resource = |code: &str| resources.get(code).copied().flatten();
    let mut by_cause: BTreeMap<String, CauseMeasure> = BTreeMap::new();
    for p in pairs {
        let (x, y) = (&p1.pieces[p.from], &p2.pieces[p.to]);
        let mut m = CauseMeasure { changed: if x.class != y.class { p.area } else { 0.0 }, ..Default::default() };
        for (f, t, v) in overlay::cells(&x.class, x.deduction, &y.class, y.deduction, p.area, land::TIANKAN) {
            let (a, b) = (resource(f), resource(t));
            if a != b {
                if let Some(a) = a {
                    m.lost[a] += v;
                }
                if let Some(b) = b {
                    m.gained[b] += v;
                }
            }
        }
        if m.changed == 0.0 && m.gained.iter().chain(&m.lost).all(|v| *v == 0.0) {
            continue;
        }
        let e = by_cause.entry(y.cause.clone().unwrap_or_else(|| "未注明".into())).or_default();
        for i in 0..RESOURCES.len() {
            e.gained[i] += m.gained[i];
            e.lost[i] += m.lost[i];
        }
        e.changed += m.changed;
    }
    by_cause
}

/// Of which: the area of each second-level class inside each zone with 其中 rows, at each date the registry
/// has it.
fn of_which(
    zones: &[Zone],
    window: Window,
    dated: [(&partition::Partition, AsOf); 2],
    calc_for: CalcFor,
    lap: &dyn Fn(&str),
) -> Result<Vec<ZoneMeasure>> {
    let zone_outline = |kind: LayerKind, d: AsOf| -> Result<Option<crate::geometry::Outline>> {
        let recs = window(kind, d)?;
        if recs.is_empty() {
            return Ok(None);
        }
        let parts: Vec<geo::Polygon<f64>> = recs.iter().flat_map(|r| r.record.geometry.0.iter().cloned()).collect();
        Ok(Some(crate::geometry::Outline::new(geo::unary_union(parts.iter()))))
    };
    let mut of_which = Vec::new();
    for zone in zones.iter().filter(|z| z.of_which) {
        let mut z = ZoneMeasure { zone: zone.name, ..Default::default() };
        for (k, (p, d)) in dated.into_iter().enumerate() {
            if let Some(o) = zone_outline(zone.kind, d)? {
                lap(&format!("{} union {d}", zone.name));
                z.present[k] = true;
                z.by_code[k] = land::inside(p, &o, calc_for);
            }
        }
        of_which.push(z);
    }
    Ok(of_which)
}

/// The area of each zone inside the region at both dates, m².
fn zone_areas(
    zones: &[Zone],
    window: Window,
    region: &Region,
    req: &Request,
    calc: &AreaCalculator,
) -> Result<Vec<(&'static str, f64, f64)>> {
    zones
        .iter()
        .map(|z| {
            let a = |d: AsOf| -> Result<f64> { Ok(liability::zone_area(&window(z.kind, d)?, &region.outline, calc)) };
            Ok((z.name, a(req.from)?, a(req.to)?))
        })
        .collect()
}

/// The grassland layer's area inside the region on a date, by 草地类 (CDL) and 草原等级 (CYDJ); an empty
/// value is 未注明.
fn grassland_at(
    window: Window,
    kind: LayerKind,
    catalog: &Catalog,
    region: &Region,
    d: AsOf,
    calc: &AreaCalculator,
) -> Result<GrasslandMeasure> {
    let def = catalog.layer(kind);
    let (ci, gi) = (def.field_index("CDL"), def.field_index("CYDJ"));
    let mut m = GrasslandMeasure::default();
    for r in window(kind, d)? {
        let a =
            region.outline.area_inside(&r.record.geometry, r.areas.ellipsoidal, |g| crate::area::piece_area(calc, g));
        if a <= 0.0 {
            continue;
        }
        m.records += 1;
        let value = |i: Option<usize>| {
            let v = i.map(|i| r.record.value(i).to_string()).unwrap_or_default();
            if v.trim().is_empty() {
                "未注明".to_string()
            } else {
                v
            }
        };
        *m.by_class.entry(value(ci)).or_default() += a;
        *m.by_grade.entry(value(gi)).or_default() += a;
    }
    Ok(m)
}

/// The red lines on a date with their 管控分区, indexed.
fn redlines_at(window: Window, catalog: &Catalog, d: AsOf) -> Result<Vec<(String, Outline)>> {
    let zi = catalog.layer(LayerKind::Redlines).field_index("GKFQ");
    Ok(window(LayerKind::Redlines, d)?
        .into_iter()
        .map(|r| (zi.map(|i| r.record.value(i).to_string()).unwrap_or_default(), Outline::new(r.record.geometry)))
        .collect())
}

/// The trace: ground whose class changed at the sheet's level, with the parcels at both dates.
fn trace(
    p1: &partition::Partition,
    p2: &partition::Partition,
    pairs: &[overlay::Pair],
    level: Level,
    catalog: &Catalog,
) -> Result<Vec<TracePiece>> {
    let cls = land::Classifier::new(level, catalog);
    let mut trace = Vec::new();
    for p in pairs {
        let (x, y) = (&p1.pieces[p.from], &p2.pieces[p.to]);
        let (cx, cy) = (cls.classify(&x.class)?.code, cls.classify(&y.class)?.code);
        if cx == cy {
            continue;
        }
        if let Some(g) = &p.geometry {
            trace.push(TracePiece {
                from: TraceSide { fid: x.fid, key: x.key.clone(), class: cx, code: x.class.clone() },
                to: TraceSide { fid: y.fid, key: y.key.clone(), class: cy, code: y.class.clone() },
                area: SquareMetres(p.area),
                geometry: g.clone(),
            });
        }
    }
    Ok(trace)
}

/// The largest uncovered sliver a partition left out: its area and its box's centre.
fn largest_sliver(p: &partition::Partition) -> Option<(f64, f64, f64)> {
    p.gap_slivers.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(r, a)| (*a, r.center().x, r.center().y))
}
