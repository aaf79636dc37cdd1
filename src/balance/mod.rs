//! Natural resource asset balance sheets (自然资源资产负债表): physical accounts of land, forest and water for
//! a region between two dates, with liabilities, built from the registry.
//!
//! Data flows one way:
//!
//! ```text
//! registry ─▶ region (admin outline) ─▶ partition at D1, at D2 (clip, resolve overlaps, 未覆盖 gaps)
//!          ─▶ overlay (pairs of pieces) ─▶ transition matrix ─▶ land account (checked, rounded, exact)
//!          ─▶ of-which rows, quality, forest (stands + changes input), water (statistics input), liabilities
//!          ─▶ BalanceSheet ─▶ tables (text, JSON, CSV, XLSX, Parquet) and the trace layer
//! ```
//!
//! - [`region`]: the region's outline and fast clipping;
//! - [`partition`]: one vintage as a partition of the region;
//! - [`overlay`]: the two-vintage overlay and the matrix;
//! - [`land`], [`forest`], [`water`], [`liability`]: the accounts;
//! - [`inputs`]: tabular inputs, targets and the balance configuration in `layers/rules/`;
//! - [`tables`]: the sheet as report tables.

pub mod forest;
pub mod inputs;
pub mod land;
pub mod liability;
pub(crate) mod overlay;
pub(crate) mod partition;
pub mod tables;
pub mod trace;
pub mod water;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use crate::area::AreaCalculator;
use crate::checks::RuleConfig;
use crate::error::{Error, Result};
use crate::model::{AsOf, LayerKind};
use crate::quantity::{SquareMetres, WanCubicMetres};
use crate::store::{Fields, Read, Registry, StoredRecord};
pub use land::{ClassLabel, LandAccount, Level};
pub use partition::{OverlapPolicy, ResolvedOverlap, GAP};
pub use trace::{trace_table, TracePiece, TraceSide};

/// What sheet to produce.
#[derive(Debug, Clone)]
pub struct Request {
    /// Opening date (期初).
    pub from: AsOf,
    /// Closing date (期末).
    pub to: AsOf,
    /// Region code (None: every admin outline in the registry).
    pub region: Option<String>,
    /// Classification level of the land tables.
    pub level: Level,
    /// Liability model (None: the configured default).
    pub liability: Option<String>,
    /// Targets file (control targets for the liabilities).
    pub targets: Option<PathBuf>,
    /// Forest changes (growth, afforestation, harvest, disaster).
    pub forest_changes: Option<PathBuf>,
    /// Water statistics.
    pub water: Option<PathBuf>,
    /// Folder overriding `layers/rules/` files.
    pub rules: Option<PathBuf>,
    /// What to do with overlapping parcels.
    pub overlaps: OverlapPolicy,
    /// Keep the pieces of ground that changed class, with their geometry ([`BalanceSheet::trace`], which
    /// `--trace` writes). Without it the sheet holds no geometry, so a streamed sheet's memory does not grow
    /// with the counties it has measured.
    pub trace: bool,
}

/// Where the sheet's numbers came from.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Provenance {
    /// nrledger version.
    pub tool_version: String,
    /// Registry file.
    pub registry: String,
    /// SHA-256 of the registry file.
    pub registry_sha256: String,
    /// Registry CRS.
    pub crs: String,
    /// Region code.
    pub region: String,
    /// Region name(s).
    pub region_name: String,
    /// Region area (ellipsoidal, from its outline), m².
    pub region_area_m2: SquareMetres,
    /// Opening date.
    pub from: String,
    /// Closing date.
    pub to: String,
    /// Classification level.
    pub level: Level,
    /// Vintage of each layer used at the opening and closing dates (latest import on or before the date).
    pub vintages: Vec<LayerVintages>,
    /// Rules and configuration files with their hashes.
    pub rules: Vec<inputs::ConfigFile>,
    /// Tabular inputs and targets with their hashes.
    pub inputs: Vec<inputs::InputFile>,
    /// Overlaps between parcels resolved (earlier-registered parcel keeps the ground), per date.
    pub overlaps_resolved: Vec<DateOverlaps>,
    /// 未覆盖 ground (no parcel) at the opening and closing dates, m².
    pub uncovered_m2: OpeningClosing<f64>,
    /// Parcel pieces at the opening and closing dates, and overlay pairs.
    pub counts: PieceCounts,
}

/// One of-which set (inside red lines, inside permanent basic farmland): area by class at both dates, m².
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OfWhich {
    /// The zone (生态保护红线 / 永久基本农田).
    pub zone: String,
    /// Area by class, in the land account's class order.
    pub rows: Vec<OfWhichRow>,
}

/// One class of an of-which set.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OfWhichRow {
    /// The class.
    pub class: ClassLabel,
    /// Area at the opening date, m².
    pub opening_m2: SquareMetres,
    /// Area at the closing date, m².
    pub closing_m2: SquareMetres,
}

/// A quantity at the opening and at the closing date of a sheet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OpeningClosing<T> {
    /// At the opening date.
    pub opening: T,
    /// At the closing date.
    pub closing: T,
}

/// The vintage of a layer used at each date (the latest import on or before it; None: none).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LayerVintages {
    /// The layer.
    pub layer: String,
    /// At the opening date.
    pub opening: Option<String>,
    /// At the closing date.
    pub closing: Option<String>,
}

/// The overlaps between parcels resolved on one date.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DateOverlaps {
    /// The date.
    pub date: String,
    /// The overlaps.
    pub overlaps: Vec<ResolvedOverlap>,
}

/// How many pieces a sheet's overlay handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PieceCounts {
    /// Parcel pieces at the opening date.
    pub opening_pieces: usize,
    /// Parcel pieces at the closing date.
    pub closing_pieces: usize,
    /// Overlay pairs (an opening piece meeting a closing piece).
    pub overlay_pairs: usize,
}

/// The liabilities section.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Liabilities {
    /// Model name.
    pub model: String,
    /// The model.
    pub definition: inputs::LiabilityModel,
    /// Items.
    pub items: Vec<liability::Liability>,
    /// The figures they (and the audit's indicators) come from.
    pub figures: liability::Figures,
}

/// Changes attributed to one cause (the closing parcel's 变更原因, BGYY), m².
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CauseRow {
    /// The cause (未注明 when the parcel carries none).
    pub cause: String,
    /// 人为 human, 自然 natural, or 未注明 (`layers/classes/change-causes.csv`).
    pub nature: String,
    /// Cultivated land (01) gained.
    pub cultivated_increase_m2: SquareMetres,
    /// Cultivated land lost.
    pub cultivated_decrease_m2: SquareMetres,
    /// All ground whose second-level class changed.
    pub changed_m2: SquareMetres,
}

/// A balance sheet.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BalanceSheet {
    /// Where it came from.
    pub provenance: Provenance,
    /// Land account and transition matrix at the requested level (m²).
    pub land: LandAccount,
    /// Land account at the second level (forest and water rows come from it).
    pub land_level2: LandAccount,
    /// Of-which sets.
    pub of_which: Vec<OfWhich>,
    /// Cultivated land by quality grade, m²: grade → opening and closing; grade 0 = 未评定.
    pub quality: Option<BTreeMap<i64, OpeningClosing<f64>>>,
    /// Changes by cause (human / natural), from the closing parcels' 变更原因.
    pub causes: Vec<CauseRow>,
    /// Forest stock volume by origin.
    pub forest_volume: forest::ForestVolume,
    /// Water quantities and quality (None without water statistics).
    pub water: Option<water::WaterAccount>,
    /// Liabilities.
    pub liabilities: Liabilities,
    /// Notes (resolved overlaps, missing inputs, large balancing items …).
    pub notes: Vec<String>,
    /// Changed pieces, for `--trace` (not serialised; empty unless [`Request::trace`]).
    #[serde(skip)]
    #[schemars(skip)]
    pub trace: Vec<TracePiece>,
}

/// The JSON output of `nrledger balance`: the sheet and its tables.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BalanceJson {
    /// The sheet.
    #[serde(flatten)]
    pub sheet: BalanceSheet,
    /// Its tables, as printed and written to CSV, Parquet and XLSX.
    pub tables: Vec<crate::table::Table>,
}

pub(crate) use crate::progress::lap;

fn vintage_at(reg: &Registry, kind: LayerKind, d: AsOf) -> Result<Option<String>> {
    Ok(reg.vintages(kind)?.into_iter().rfind(|v| *v <= d).map(|v| v.to_string()))
}

/// What a sheet is computed from once its region is measured: the configuration, the liability model and
/// the registry's hash (read in the background while the sheet is measured).
struct Setup {
    cfg: inputs::BalanceConfig,
    rules: RuleConfig,
    model_name: String,
    model: inputs::LiabilityModel,
    hashing: std::thread::JoinHandle<Result<String>>,
}

fn setup(reg: &Registry, req: &Request) -> Result<Setup> {
    if req.to <= req.from {
        return Err(Error::Invalid(format!(
            "--to {} is not after --from {}: a balance sheet covers a period",
            req.to, req.from
        )));
    }
    let cfg = inputs::BalanceConfig::load(req.rules.as_deref())?;
    let rules = RuleConfig::load(req.rules.as_deref())?;
    let model_name = req.liability.clone().unwrap_or_else(|| cfg.liabilities.default.clone());
    let model = cfg.liabilities.models.get(&model_name).cloned().ok_or_else(|| {
        Error::Invalid(format!(
            "--liability {model_name}: no such model; models are {} (layers/rules/liabilities.toml)",
            cfg.liabilities.models.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let parcel_vintages = reg.vintages(LayerKind::Parcels)?;
    for (what, d) in [("--from", req.from), ("--to", req.to)] {
        if !parcel_vintages.iter().any(|v| *v <= d) {
            return Err(Error::Invalid(format!(
                "{what} {d}: the registry {} has no parcels on that date (parcel vintages: {})",
                reg.path().display(),
                if parcel_vintages.is_empty() {
                    "none".into()
                } else {
                    parcel_vintages.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
                }
            )));
        }
    }
    // the registry's hash (provenance) is read while the sheet is computed
    let reg_path = reg.path().to_path_buf();
    let hashing = std::thread::spawn(move || crate::hashing::sha256_file(&reg_path));
    Ok(Setup { cfg, rules, model_name, model, hashing })
}

/// One of-which zone measured: whether the registry has the zone at each date, and the area of each
/// second-level class inside it at each date, m².
#[derive(Debug, Clone, Default)]
struct ZoneMeasure {
    present: [bool; 2],
    by_code: [BTreeMap<String, f64>; 2],
}

/// Everything a sheet adds up over its ground, measured in one region. The measures of the counties of a
/// province add up ([`Measures::add`]) to the province's: every figure is a sum over pieces of ground, and
/// each county's pieces are clipped to its own outline. Nothing here is rounded: the sheet rounds once,
/// after adding.
#[derive(Default)]
struct Measures {
    region_area: f64,
    /// The second-level transition matrix, m² (田坎 deducted).
    m2: HashMap<(String, String), f64>,
    /// Per-class stocks and the gap slivers left out, at both dates ([`land::stocks`]).
    stocks: [BTreeMap<String, (f64, f64)>; 2],
    gap_slivers_m2: [f64; 2],
    /// How many slivers were left out, and the largest: (area m², x, y of its box's centre).
    gap_sliver_count: [usize; 2],
    largest_sliver: [Option<(f64, f64, f64)>; 2],
    uncovered_m2: [f64; 2],
    overlaps: [Vec<ResolvedOverlap>; 2],
    /// Pieces at both dates, overlay pairs.
    counts: PieceCounts,
    /// cause → (cultivated gained, cultivated lost, changed at the second level), m².
    by_cause: BTreeMap<String, (f64, f64, f64)>,
    /// 生态保护红线, 永久基本农田.
    of_which: [ZoneMeasure; 2],
    quality: [Option<BTreeMap<i64, f64>>; 2],
    stands: forest::StandMeasures,
    /// 生态保护红线, 永久基本农田, 城镇开发边界 area inside the region at both dates, m².
    zone_areas_m2: [(f64, f64); 3],
    redline_prohibited_m2: (f64, f64),
    trace: Vec<TracePiece>,
}

fn add_maps<K: Ord + Clone>(a: &mut BTreeMap<K, f64>, b: &BTreeMap<K, f64>) {
    for (k, v) in b {
        *a.entry(k.clone()).or_default() += v;
    }
}

impl Measures {
    /// Add another region's measures (the regions must not share ground).
    fn add(&mut self, o: Measures) {
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
            e.0 += v.0;
            e.1 += v.1;
            e.2 += v.2;
        }
        for (z, oz) in self.of_which.iter_mut().zip(&o.of_which) {
            for i in 0..2 {
                z.present[i] |= oz.present[i];
                add_maps(&mut z.by_code[i], &oz.by_code[i]);
            }
        }
        self.stands.add(&o.stands);
        for (a, b) in self.zone_areas_m2.iter_mut().zip(o.zone_areas_m2) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.redline_prohibited_m2.0 += o.redline_prohibited_m2.0;
        self.redline_prohibited_m2.1 += o.redline_prohibited_m2.1;
        self.trace.extend(o.trace);
    }
}

/// Measure one region: both partitions, their overlay and everything the sheet adds up over them.
fn measure(
    reg: &Registry,
    req: &Request,
    region: &crate::region::Region,
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
        (r.fid, ended, clipper.piece(r, &calc_for))
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
        let p1 = partition::from_clipped(pieces1, req.from, region, &calc_for, req.overlaps, None);
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
        &calc_for,
        req.overlaps,
    )?;
    lap("closing partition");
    let pairs = overlay::overlay(&p1, &p2, &calc_for)?;
    lap("overlay");
    let m2 = overlay::matrix(&p1, &p2, &pairs, land::TIANKAN);
    // changes by cause: each pair's share that left or joined 01, with the closing parcel's cause
    let mut by_cause: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    for p in &pairs {
        let (x, y) = (&p1.pieces[p.from], &p2.pieces[p.to]);
        let (mut inc, mut dec) = (0.0, 0.0);
        for (f, t, v) in overlay::cells(&x.class, x.deduction, &y.class, y.deduction, p.area, land::TIANKAN) {
            match (f.starts_with("01"), t.starts_with("01")) {
                (true, false) => dec += v,
                (false, true) => inc += v,
                _ => {}
            }
        }
        let changed = if x.class != y.class { p.area } else { 0.0 };
        if dec == 0.0 && inc == 0.0 && changed == 0.0 {
            continue;
        }
        let e = by_cause.entry(y.cause.clone().unwrap_or_else(|| "未注明".into())).or_default();
        e.0 += inc;
        e.1 += dec;
        e.2 += changed;
    }
    lap("land accounts");

    // of-which: inside red lines, inside permanent basic farmland
    let zone_outline = |kind: LayerKind, d: AsOf| -> Result<Option<crate::geometry::Outline>> {
        let recs = window(kind, d)?;
        if recs.is_empty() {
            return Ok(None);
        }
        let parts: Vec<geo::Polygon<f64>> = recs.iter().flat_map(|r| r.record.geometry.0.iter().cloned()).collect();
        Ok(Some(crate::geometry::Outline::new(geo::unary_union(parts.iter()))))
    };
    let mut of_which: [ZoneMeasure; 2] = Default::default();
    for (z, (kind, zone)) in
        of_which.iter_mut().zip([(LayerKind::Redlines, "生态保护红线"), (LayerKind::Farmland, "永久基本农田")])
    {
        for (k, (p, d)) in [(&p1, req.from), (&p2, req.to)].into_iter().enumerate() {
            if let Some(o) = zone_outline(kind, d)? {
                lap(&format!("{zone} union {d}"));
                z.present[k] = true;
                z.by_code[k] = land::inside(p, &o, &calc_for);
            }
        }
    }
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

    // liability figures
    let redlines_at = |d: AsOf| -> Result<Vec<(String, crate::geometry::Outline)>> {
        let zi = catalog.layer(LayerKind::Redlines).field_index("GKFQ");
        Ok(window(LayerKind::Redlines, d)?
            .into_iter()
            .map(|r| {
                (
                    zi.map(|i| r.record.value(i).to_string()).unwrap_or_default(),
                    crate::geometry::Outline::new(r.record.geometry),
                )
            })
            .collect())
    };
    let mut zone_areas_m2 = [(0.0, 0.0); 3];
    for (z, kind) in zone_areas_m2.iter_mut().zip([LayerKind::Redlines, LayerKind::Farmland, LayerKind::Urban]) {
        let a = |d: AsOf| -> Result<f64> { Ok(liability::zone_area(&window(kind, d)?, &region.outline, &calc)) };
        *z = (a(req.from)?, a(req.to)?);
    }
    let redline_prohibited_m2 = (
        liability::redline_encroachment(&p1, &redlines_at(req.from)?, &rules.redline, &calc_for),
        liability::redline_encroachment(&p2, &redlines_at(req.to)?, &rules.redline, &calc_for),
    );
    lap("liability figures");

    // trace: ground whose class changed at the sheet's level
    let cls = land::Classifier::new(req.level, catalog);
    let mut trace = Vec::new();
    for p in pairs.iter().filter(|_| req.trace) {
        let (x, y) = (&p1.pieces[p.from], &p2.pieces[p.to]);
        let (cx, cy) = (cls.classify(&x.class)?.code, cls.classify(&y.class)?.code);
        if cx == cy {
            continue;
        }
        if let Some(g) = &p.geometry {
            trace.push(TracePiece {
                from: TraceSide { fid: x.fid, key: x.key.clone(), class: cx, code: x.class.clone() },
                to: TraceSide { fid: y.fid, key: y.key.clone(), class: cy, code: y.class.clone() },
                area: p.area,
                geometry: g.clone(),
            });
        }
    }
    lap("trace");
    let (mut p1, mut p2) = (p1, p2);
    let measures = Measures {
        region_area: region.area,
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
        trace,
    };
    // the partitions and their overlay hold every piece's geometry: freeing them takes a quarter of a second
    // per 1 000 000 parcels, which the sheet need not wait for
    std::thread::spawn(move || drop((p1, p2, pairs)));
    lap("measured");
    Ok(measures)
}

/// Produce the sheet.
pub fn compute(reg: &Registry, req: &Request) -> Result<BalanceSheet> {
    let setup = setup(reg, req)?;
    let t0 = std::time::Instant::now();
    let calc = AreaCalculator::for_crs(&reg.crs)?;
    let region = crate::region::Region::load(reg, req.region.as_deref(), req.to, &calc)?;
    lap(t0, "region");
    let m = measure(reg, req, &region, &setup.rules, t0)?;
    assemble(reg, req, setup, &region.code, &region.name, m, t0)
}

/// One county of a streamed sheet ([`compute_by_county`]).
#[derive(Debug, Clone)]
pub struct CountySheet {
    /// County code (XZQDM).
    pub code: String,
    /// County name.
    pub name: String,
    /// Parcel pieces at the opening and closing dates.
    pub pieces: (usize, usize),
    /// The county's area, m².
    pub area_m2: f64,
}

/// Produce the sheet of a region (a province, a city) county by county: each county (the 6-digit admin
/// outlines under `req.region`, as `check --by-county` finds them) is measured on its own — its parcels,
/// partitions and overlay held in memory only while it is measured — and the measures are added up before
/// the sheet is rounded and its identities checked, so memory follows the largest county, not the region.
/// The sheet is the one `compute` gives for the same region up to floating-point summation order (and the
/// rounding to whole m² that follows): every figure is a sum over pieces of ground clipped to the region,
/// and the counties' outlines part the region. `progress` is called after each county.
pub fn compute_by_county(
    reg: &Registry,
    req: &Request,
    mut progress: impl FnMut(&CountySheet, f64),
) -> Result<BalanceSheet> {
    let setup = setup(reg, req)?;
    let t0 = std::time::Instant::now();
    let calc = AreaCalculator::for_crs(&reg.crs)?;
    let counties = crate::region::counties(reg, Some(req.to), req.region.as_deref())?;
    if counties.is_empty() {
        return Err(Error::Invalid(format!(
            "--by-county: no county (6-digit admin code{}) is valid on {} in {}",
            req.region.as_deref().map(|r| format!(" starting {r}")).unwrap_or_default(),
            req.to,
            reg.path().display()
        )));
    }
    let mut total = Measures::default();
    let mut names = Vec::new();
    for crate::region::County { code, name, .. } in &counties {
        let tc = std::time::Instant::now();
        let region = crate::region::Region::load(reg, Some(code), req.to, &calc)?;
        let m = measure(reg, req, &region, &setup.rules, t0)?;
        progress(
            &CountySheet {
                code: code.clone(),
                name: name.clone(),
                pieces: (m.counts.opening_pieces, m.counts.closing_pieces),
                area_m2: m.region_area,
            },
            tc.elapsed().as_secs_f64(),
        );
        total.add(m);
        names.push(name.clone());
    }
    let code =
        req.region.clone().unwrap_or_else(|| counties.iter().map(|c| c.code.clone()).collect::<Vec<_>>().join(";"));
    assemble(reg, req, setup, &code, &names.join("、"), total, t0)
}

/// The largest uncovered sliver a partition left out: its area and its box's centre.
fn largest_sliver(p: &partition::Partition) -> Option<(f64, f64, f64)> {
    p.gap_slivers.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(r, a)| (*a, r.center().x, r.center().y))
}

/// The sheet from a region's measures: notes, the land accounts (checked against the stocks, rounded), the
/// of-which rows, the inputs (forest changes, water statistics, targets), the liabilities and provenance.
fn assemble(
    reg: &Registry,
    req: &Request,
    setup: Setup,
    code: &str,
    name: &str,
    m: Measures,
    t0: std::time::Instant,
) -> Result<BalanceSheet> {
    let catalog = reg.catalog();
    let Setup { cfg, rules, model_name, model, hashing } = setup;
    let scope = inputs::Scope { codes: code.split(';').map(str::to_string).collect(), from: req.from, to: req.to };
    let mut notes = Vec::new();
    for (i, d) in [req.from, req.to].into_iter().enumerate() {
        let o = &m.overlaps[i];
        if !o.is_empty() {
            let a: f64 = o.iter().map(|o| o.area_m2).sum();
            notes.push(format!(
                "{d}: {} overlap(s) between parcels, {a:.2} m² in all, counted once (the earlier-registered parcel keeps the ground; e.g. {} over {}). nrledger check reports them as NR101",
                o.len(),
                o[0].kept_by,
                o[0].removed_from
            ));
        }
        let g = m.uncovered_m2[i];
        if g > 0.01 {
            notes.push(format!(
                "{d}: {g:.2} m² of the region is covered by no parcel and is shown as 未覆盖 (NR103 coverage-gap)"
            ));
        }
        if let Some((a, x, y)) = m.largest_sliver[i] {
            notes.push(format!(
                "{d}: {} sliver(s) of ground covered by no parcel, each under {} m², {:.2} m² in all, are left out of the account \
                 (the largest, {a:.2} m², at x {x:.1}, y {y:.1}); where a parcel of the other date covers one, that ground stays out \
                 of the transition matrix (slivers come from edges that do not quite meet, and from parcels repaired with --make-valid)",
                m.gap_sliver_count[i],
                partition::GAP_SLIVER_M2,
                m.gap_slivers_m2[i]
            ));
        }
    }
    let cls = land::Classifier::new(req.level, catalog);
    fn checks<'a>(m: &'a Measures, req: &Request) -> [land::StockCheck<'a>; 2] {
        [(req.from, 0), (req.to, 1)].map(|(date, i)| land::StockCheck {
            date,
            stocks: &m.stocks[i],
            gap_slivers_m2: m.gap_slivers_m2[i],
        })
    }
    let land = land::account(&m.m2, checks(&m, req), m.region_area, &cls, req.level)?;
    let cls2 = land::Classifier::new(Level::Two, catalog);
    let land_level2 = land::account(&m.m2, checks(&m, req), m.region_area, &cls2, Level::Two)?;
    let causes: Vec<CauseRow> = m
        .by_cause
        .iter()
        .map(|(cause, &(inc, dec, ch))| CauseRow {
            nature: catalog.classes.cause_nature(cause).unwrap_or("未注明").to_string(),
            cause: cause.clone(),
            cultivated_increase_m2: SquareMetres(inc),
            cultivated_decrease_m2: SquareMetres(dec),
            changed_m2: SquareMetres(ch),
        })
        .collect();
    let mut of_which = Vec::new();
    for (z, zone) in m.of_which.iter().zip(["生态保护红线", "永久基本农田"]) {
        let mut by_class: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for (k, d) in [req.from, req.to].into_iter().enumerate() {
            if !z.present[k] {
                notes.push(format!("{d}: the registry has no {zone} layer; its of-which rows are zero"));
            }
            for (code, a) in &z.by_code[k] {
                let c = cls.classify(code)?.code;
                let e = by_class.entry(c).or_default();
                if k == 0 {
                    e.0 += a
                } else {
                    e.1 += a
                }
            }
        }
        let rows = land
            .classes
            .iter()
            .map(|c| OfWhichRow {
                class: c.clone(),
                opening_m2: SquareMetres(by_class.get(&c.code).map_or(0.0, |v| v.0)),
                closing_m2: SquareMetres(by_class.get(&c.code).map_or(0.0, |v| v.1)),
            })
            .collect();
        of_which.push(OfWhich { zone: zone.into(), rows });
    }
    let quality = match &m.quality {
        [None, None] => None,
        [a, b] => {
            let (a, b) = (a.clone().unwrap_or_default(), b.clone().unwrap_or_default());
            let grades: std::collections::BTreeSet<i64> = a.keys().chain(b.keys()).copied().collect();
            Some(
                grades
                    .into_iter()
                    .map(|g| {
                        let at = |m: &BTreeMap<i64, f64>| m.get(&g).copied().unwrap_or(0.0);
                        (g, OpeningClosing { opening: at(&a), closing: at(&b) })
                    })
                    .collect(),
            )
        }
    };

    // inputs
    let mut input_files = Vec::new();
    let changes = match &req.forest_changes {
        Some(p) => {
            input_files.push(inputs::input_file("forest-changes", p)?);
            let c = inputs::forest_changes(p, &scope, catalog)?;
            if c.is_empty() {
                notes.push(format!(
                    "{}: no forest change rows for region {code} in the years {:?}",
                    p.display(),
                    scope.years()
                ));
            }
            Some(c)
        }
        None => {
            notes.push("no forest changes input (--forest-changes): growth, afforestation, harvest and disaster are not separated from 其他变化".into());
            None
        }
    };
    let forest_volume = forest::volume(m.stands, changes.as_deref().unwrap_or(&[]), &mut notes);
    let water = match &req.water {
        Some(p) => {
            input_files.push(inputs::input_file("water", p)?);
            let rows = inputs::water(p, &scope, &cfg)?;
            if rows.is_empty() {
                notes.push(format!(
                    "{}: no water rows for region {code} in the years {:?}",
                    p.display(),
                    scope.years()
                ));
                None
            } else {
                Some(water::account(&rows, &cfg, &scope.years(), p)?)
            }
        }
        None => {
            notes.push("no water statistics (--water): the water quantity table is omitted; water-surface area comes from the parcels".into());
            None
        }
    };
    let (targets, targets_src) = match &req.targets {
        Some(p) => {
            input_files.push(inputs::input_file("targets", p)?);
            let (t, _) = inputs::targets(p)?;
            (Some(t), format!(" {}", p.display()))
        }
        None => (None, " (none given: --targets)".to_string()),
    };

    // liabilities
    let zone_areas_m2: Vec<liability::ZoneArea> = ["生态保护红线", "永久基本农田", "城镇开发边界"]
        .iter()
        .zip(m.zone_areas_m2)
        .map(|(z, (a, b))| liability::ZoneArea {
            zone: z.to_string(),
            opening_m2: SquareMetres(a),
            closing_m2: SquareMetres(b),
        })
        .collect();
    let fig = liability::Figures {
        farmland_m2: OpeningClosing { opening: zone_areas_m2[1].opening_m2, closing: zone_areas_m2[1].closing_m2 },
        zone_areas_m2,
        redline_prohibited_m2: OpeningClosing {
            opening: SquareMetres(m.redline_prohibited_m2.0),
            closing: SquareMetres(m.redline_prohibited_m2.1),
        },
        groundwater_withdrawal: water.as_ref().map(|w| WanCubicMetres(w.withdrawal(1))),
        harvest_m3: changes
            .as_ref()
            .map(|c| c.iter().filter(|x| x.item == inputs::ForestItem::Harvest).map(|x| x.volume_m3).sum()),
        years: scope.years().len().max(1),
    };
    let items = liability::compute(&model, &fig, targets.as_ref().and_then(|t| t.regions.get(code)), &targets_src);
    let liabilities = Liabilities { model: model_name, definition: model, items, figures: fig };

    let mut vintages = Vec::new();
    for kind in [
        LayerKind::Admin,
        LayerKind::Parcels,
        LayerKind::Redlines,
        LayerKind::Farmland,
        LayerKind::Urban,
        LayerKind::Forest,
    ] {
        vintages.push(LayerVintages {
            layer: kind.name().to_string(),
            opening: vintage_at(reg, kind, req.from)?,
            closing: vintage_at(reg, kind, req.to)?,
        });
    }
    let mut rule_files = cfg.sources.clone();
    rule_files.push(inputs::ConfigFile { path: rules.source.clone(), sha256: rules.sha256.clone() });
    let [o1, o2] = m.overlaps;
    lap(t0, "tables assembled");
    let provenance = Provenance {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        registry: reg.path().display().to_string(),
        registry_sha256: hashing.join().map_err(|_| Error::Invalid("hashing the registry failed".into()))??,
        crs: reg.crs.definition.clone(),
        region: code.to_string(),
        region_name: name.to_string(),
        region_area_m2: SquareMetres(m.region_area),
        from: req.from.to_string(),
        to: req.to.to_string(),
        level: req.level,
        vintages,
        rules: rule_files,
        inputs: input_files,
        overlaps_resolved: vec![
            DateOverlaps { date: req.from.to_string(), overlaps: o1 },
            DateOverlaps { date: req.to.to_string(), overlaps: o2 },
        ],
        uncovered_m2: OpeningClosing { opening: m.uncovered_m2[0], closing: m.uncovered_m2[1] },
        counts: m.counts,
    };
    lap(t0, "provenance (registry hash)");
    Ok(BalanceSheet {
        provenance,
        land,
        land_level2,
        of_which,
        quality,
        causes,
        forest_volume,
        water,
        liabilities,
        notes,
        trace: m.trace,
    })
}
