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
//! - the region is a [`crate::region::Region`]; `partition`: one vintage as a partition of the region;
//!   `overlay`: the two-vintage overlay and the matrix; `measure`: everything a sheet adds up over them
//!   (crate-private);
//! - [`land`], [`forest`], [`water`], [`liability`]: the accounts;
//! - [`inputs`]: tabular inputs, targets and the balance configuration in `layers/rules/`;
//! - [`tables`]: the sheet as report tables and text; [`trace`]: the changed pieces as a layer.

pub mod forest;
pub mod grazing;
pub mod inputs;
pub mod land;
pub mod liability;
mod measure;
pub(crate) mod overlay;
pub(crate) mod partition;
pub mod resources;
pub mod series;
pub mod tables;
pub mod trace;
pub mod water;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::area::AreaCalculator;
use crate::catalog::Catalog;
use crate::checks::RuleConfig;
use crate::error::{Error, Result};
use crate::model::{AsOf, LayerKind};
use crate::quantity::{SquareMetres, WanCubicMetres};
use crate::store::Registry;
pub use land::{ClassLabel, LandAccount, Level};
use measure::{measure, Measures};
pub use measure::{FARMLAND, PROTECTED, REDLINES, URBAN};
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
    /// Livestock (年末存栏 by kind), for the 草畜平衡.
    pub livestock: Option<PathBuf>,
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
    /// Slivers of uncovered ground left out of the account at the opening and closing dates, m².
    pub gap_slivers_m2: OpeningClosing<f64>,
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
    /// Area by first-level class (`level1`: 00 湿地, 01 耕地 …), whatever the sheet's level.
    pub level1: Vec<OfWhichRow>,
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
    /// Wetland (三调 00) gained.
    pub wetland_increase_m2: SquareMetres,
    /// Wetland lost.
    pub wetland_decrease_m2: SquareMetres,
    /// Grassland (04, 0402 沼泽草地 being wetland) gained.
    pub grassland_increase_m2: SquareMetres,
    /// Grassland lost.
    pub grassland_decrease_m2: SquareMetres,
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
    /// The wetland account (湿地) by the 三调 classes.
    pub wetland: resources::ResourceAccount,
    /// The wetland account by GB/T 24708 types.
    pub wetland_types: resources::ResourceAccount,
    /// The grassland account (草地).
    pub grassland: resources::ResourceAccount,
    /// The grassland layer (草原) by 草地类 and 草原等级, when the registry has one.
    pub grassland_layer: Option<resources::GrasslandLayer>,
    /// 草畜平衡: the grassland's carrying capacity against the livestock (None without a livestock input).
    pub grazing: Option<grazing::Grazing>,
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
    /// The 草畜平衡 rules and their file, when the request names livestock.
    grazing: Option<(grazing::GrazingRules, inputs::ConfigFile)>,
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
    let grazing = match &req.livestock {
        Some(_) => Some(grazing_rules(req.rules.as_deref(), reg.catalog())?),
        None => None,
    };
    // the registry's hash (provenance) is read while the sheet is computed
    let reg_path = reg.path().to_path_buf();
    let hashing = std::thread::spawn(move || crate::hashing::sha256_file(&reg_path));
    Ok(Setup { cfg, grazing, rules, model_name, model, hashing })
}

/// The 草畜平衡 rules: `dir/grazing.toml`, or the embedded `layers/rules/grazing.toml`.
fn grazing_rules(
    dir: Option<&std::path::Path>,
    catalog: &Catalog,
) -> Result<(grazing::GrazingRules, inputs::ConfigFile)> {
    let (path, text) = match dir.map(|d| d.join("grazing.toml")).filter(|p| p.exists()) {
        Some(p) => (p.display().to_string(), std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?),
        None => ("(embedded) layers/rules/grazing.toml".to_string(), grazing::DEFAULT.to_string()),
    };
    let rules = grazing::GrazingRules::parse(&text, &path, catalog)?;
    Ok((rules, inputs::ConfigFile { path, sha256: crate::hashing::sha256_hex(text.as_bytes()) }))
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

/// One side of a piece of changed ground: the parcel at one date.
#[derive(Debug, Clone)]
pub struct ChangedSide {
    /// The parcel's registry fid.
    pub fid: i64,
    /// Its key (BSM).
    pub key: String,
    /// Its land class as stored (DLBM).
    pub class: String,
    /// Its 变更原因 (BGYY), when it has one.
    pub cause: Option<String>,
}

/// A piece of ground whose land class differs between two vintages (parcel codes as stored).
#[derive(Debug, Clone)]
pub struct ChangedGround {
    /// The parcel at the opening date.
    pub from: ChangedSide,
    /// The parcel at the closing date.
    pub to: ChangedSide,
    /// Ellipsoidal area, m².
    pub area: f64,
    /// The ground, registry CRS.
    pub geometry: geo::MultiPolygon<f64>,
}

/// Every piece of ground in `region` (None: every admin outline) whose parcel class on `to` differs from
/// the class on `from`, from the overlay the balance sheet builds (overlaps resolved as it does); ground no
/// parcel covers at either date (未覆盖) is left out: it is a coverage gap (NR103), not a change.
pub fn changed_ground(
    reg: &Registry,
    from: AsOf,
    to: AsOf,
    region: Option<&str>,
) -> Result<(Vec<ChangedGround>, crate::region::Region)> {
    let t0 = std::time::Instant::now();
    let req = Request {
        from,
        to,
        region: region.map(str::to_string),
        level: Level::Two,
        liability: None,
        targets: None,
        forest_changes: None,
        water: None,
        livestock: None,
        rules: None,
        overlaps: OverlapPolicy::Resolve,
        trace: true,
    };
    let calc = AreaCalculator::for_crs(&reg.crs)?;
    let region = crate::region::Region::load(reg, region, to, &calc)?;
    let crs = reg.crs.clone();
    let calc_for =
        move || AreaCalculator::for_thread(&crs).expect("the registry CRS was usable when the registry was created");
    let (p1, p2) = measure::partitions(reg, &req, &region, &calc_for, &|what| lap(t0, what))?;
    let pairs = overlay::overlay(&p1, &p2, &calc_for)?;
    let side = |p: &partition::Piece| ChangedSide {
        fid: p.fid,
        key: p.key.clone(),
        class: p.class.clone(),
        cause: p.cause.clone(),
    };
    let changed = pairs
        .into_iter()
        .filter_map(|pair| {
            let (a, b) = (&p1.pieces[pair.from], &p2.pieces[pair.to]);
            let geometry = pair.geometry?;
            (a.class != b.class && a.class != GAP && b.class != GAP).then(|| ChangedGround {
                from: side(a),
                to: side(b),
                area: pair.area,
                geometry,
            })
        })
        .collect();
    Ok((changed, region))
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
    pub area_m2: SquareMetres,
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
                area_m2: SquareMetres(m.region_area),
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
    let Setup { cfg, grazing, rules, model_name, model, hashing } = setup;
    let scope = inputs::Scope { codes: code.split(';').map(str::to_string).collect(), from: req.from, to: req.to };
    let mut notes = measure_notes(&m, req);
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
    let causes = cause_rows(&m, catalog);
    let of_which = of_which_rows(&m, req, &cls, &land, catalog, &mut notes)?;
    let quality = quality_rows(&m);
    let (wetland, wetland_types, grassland) = resources::accounts(&land_level2, &of_which, catalog);
    let grassland_layer = m.grassland.as_ref().filter(|g| g[0].records + g[1].records > 0).map(|[a, b]| {
        let classes = catalog.classes.table("grassland-classes");
        resources::GrasslandLayer {
            records: OpeningClosing { opening: a.records, closing: b.records },
            by_class: resources::group_rows(&a.by_class, &b.by_class, &|c| {
                classes.and_then(|t| t.name(c)).unwrap_or(c).to_string()
            }),
            by_grade: resources::group_rows(&a.by_grade, &b.by_grade, &|c| c.to_string()),
        }
    });
    let given = Given::read(req, &scope, catalog, &cfg, grazing.as_ref().map(|g| &g.0), code, &mut notes)?;
    let forest_volume = forest::volume(m.stands, given.changes.as_deref().unwrap_or(&[]), &mut notes);
    let grazing_balance = grazing
        .as_ref()
        .zip(given.livestock.as_ref())
        .map(|((r, file), rows)| grazing::balance(&land_level2, rows, (req.from, req.to), r, &file.path));
    let mut fig = figures(&m.zone_areas_m2, m.redline_prohibited_m2, &given, &scope);
    fig.grazing_su = grazing_balance.as_ref().map(|g| liability::GrazingFigures {
        capacity: g.capacity_su,
        stocking: g.stocking_su,
        years: g.years,
    });
    let region_targets = given.targets.as_ref().and_then(|t| t.regions.get(code));
    let items = liability::compute(&model, &fig, region_targets, &given.targets_src);
    let liabilities = Liabilities { model: model_name, definition: model, items, figures: fig };
    let mut rule_files = cfg.sources.clone();
    rule_files.extend(grazing.map(|g| g.1));
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
        vintages: vintages(reg, req)?,
        rules: rule_files,
        inputs: given.files,
        overlaps_resolved: vec![
            DateOverlaps { date: req.from.to_string(), overlaps: o1 },
            DateOverlaps { date: req.to.to_string(), overlaps: o2 },
        ],
        uncovered_m2: OpeningClosing { opening: m.uncovered_m2[0], closing: m.uncovered_m2[1] },
        gap_slivers_m2: OpeningClosing { opening: m.gap_slivers_m2[0], closing: m.gap_slivers_m2[1] },
        counts: m.counts,
    };
    lap(t0, "provenance (registry hash)");
    Ok(BalanceSheet {
        provenance,
        land,
        land_level2,
        wetland,
        wetland_types,
        grassland,
        grassland_layer,
        grazing: grazing_balance,
        of_which,
        quality,
        causes,
        forest_volume,
        water: given.water,
        liabilities,
        notes,
        trace: m.trace,
    })
}

/// The notes on what the measures resolved or left out: overlaps counted once, 未覆盖 ground, slivers.
fn measure_notes(m: &Measures, req: &Request) -> Vec<String> {
    let mut notes = Vec::new();
    for (i, d) in [req.from, req.to].into_iter().enumerate() {
        let o = &m.overlaps[i];
        if !o.is_empty() {
            let a: f64 = o.iter().map(|o| o.area_m2.0).sum();
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
    notes
}

/// The changes by cause, each with its nature (人为 / 自然 / 未注明).
fn cause_rows(m: &Measures, catalog: &Catalog) -> Vec<CauseRow> {
    m.by_cause
        .iter()
        .map(|(cause, c)| CauseRow {
            nature: catalog.classes.cause_nature(cause).unwrap_or("未注明").to_string(),
            cause: cause.clone(),
            cultivated_increase_m2: SquareMetres(c.gained[0]),
            cultivated_decrease_m2: SquareMetres(c.lost[0]),
            wetland_increase_m2: SquareMetres(c.gained[1]),
            wetland_decrease_m2: SquareMetres(c.lost[1]),
            grassland_increase_m2: SquareMetres(c.gained[2]),
            grassland_decrease_m2: SquareMetres(c.lost[2]),
            changed_m2: SquareMetres(c.changed),
        })
        .collect()
}

/// The of-which rows at the sheet's level; a zone layer missing on a date is noted.
fn of_which_rows(
    m: &Measures,
    req: &Request,
    cls: &land::Classifier,
    land: &LandAccount,
    catalog: &Catalog,
    notes: &mut Vec<String>,
) -> Result<Vec<OfWhich>> {
    let mut of_which = Vec::new();
    let level1 = land::Classifier::new(Level::One, catalog);
    let first: Vec<ClassLabel> = catalog
        .classes
        .crosswalk_classes("level1")
        .into_iter()
        .map(|c| ClassLabel { code: c.code.clone(), name: c.name.clone() })
        .collect();
    for z in &m.of_which {
        let zone = z.zone;
        for (k, d) in [req.from, req.to].into_iter().enumerate() {
            if !z.present[k] {
                notes.push(format!("{d}: the registry has no {zone} layer; its of-which rows are zero"));
            }
        }
        let rows = zone_rows(z, cls, &land.classes)?;
        let level1 = zone_rows(z, &level1, &first)?;
        of_which.push(OfWhich { zone: zone.into(), rows, level1 });
    }
    Ok(of_which)
}

/// The area of each of `classes` inside a zone at both dates, its codes classified by `cls`.
fn zone_rows(z: &measure::ZoneMeasure, cls: &land::Classifier, classes: &[ClassLabel]) -> Result<Vec<OfWhichRow>> {
    let mut by_class: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for k in 0..2 {
        for (code, a) in &z.by_code[k] {
            let e = by_class.entry(cls.classify(code)?.code).or_default();
            if k == 0 {
                e.0 += a
            } else {
                e.1 += a
            }
        }
    }
    Ok(classes
        .iter()
        .map(|c| OfWhichRow {
            class: c.clone(),
            opening_m2: SquareMetres(by_class.get(&c.code).map_or(0.0, |v| v.0)),
            closing_m2: SquareMetres(by_class.get(&c.code).map_or(0.0, |v| v.1)),
        })
        .collect())
}

/// Cultivated land by quality grade at both dates (None when neither date has grades).
fn quality_rows(m: &Measures) -> Option<BTreeMap<i64, OpeningClosing<f64>>> {
    match &m.quality {
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
    }
}

/// The inputs a request names, read for the sheet's scope, with their hashes.
struct Given {
    files: Vec<inputs::InputFile>,
    changes: Option<Vec<inputs::ForestChange>>,
    water: Option<water::WaterAccount>,
    livestock: Option<Vec<grazing::LivestockRow>>,
    targets: Option<inputs::Targets>,
    /// How the targets file is named in the liabilities' basis.
    targets_src: String,
}

impl Given {
    fn read(
        req: &Request,
        scope: &inputs::Scope,
        catalog: &Catalog,
        cfg: &inputs::BalanceConfig,
        grazing: Option<&grazing::GrazingRules>,
        code: &str,
        notes: &mut Vec<String>,
    ) -> Result<Given> {
        let mut files = Vec::new();
        let changes = match &req.forest_changes {
            Some(p) => {
                files.push(inputs::input_file("forest-changes", p)?);
                let c = inputs::forest_changes(p, scope, catalog)?;
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
        let water = match &req.water {
            Some(p) => {
                files.push(inputs::input_file("water", p)?);
                let rows = inputs::water(p, scope, cfg)?;
                if rows.is_empty() {
                    notes.push(format!(
                        "{}: no water rows for region {code} in the years {:?}",
                        p.display(),
                        scope.years()
                    ));
                    None
                } else {
                    Some(water::account(&rows, cfg, &scope.years(), p)?)
                }
            }
            None => {
                notes.push("no water statistics (--water): the water quantity table is omitted; water-surface area comes from the parcels".into());
                None
            }
        };
        let livestock = match (&req.livestock, grazing) {
            (Some(p), Some(rules)) => {
                files.push(inputs::input_file("livestock", p)?);
                let rows = grazing::livestock(p, &scope.codes, rules)?;
                let years = [grazing::count_year(req.from), grazing::count_year(req.to)];
                if !rows.iter().any(|r| years.contains(&r.year)) {
                    notes.push(format!(
                        "{}: no livestock rows for region {code} in the years {years:?} (年末存栏 at the opening and closing dates)",
                        p.display()
                    ));
                }
                Some(rows)
            }
            _ => None,
        };
        let (targets, targets_src) = match &req.targets {
            Some(p) => {
                files.push(inputs::input_file("targets", p)?);
                let (t, _) = inputs::targets(p)?;
                (Some(t), format!(" {}", p.display()))
            }
            None => (None, " (none given: --targets)".to_string()),
        };
        Ok(Given { files, changes, water, livestock, targets, targets_src })
    }
}

/// The figures the liabilities are computed from.
fn figures(
    zone_areas: &[(&'static str, f64, f64)],
    redline_prohibited: (f64, f64),
    given: &Given,
    scope: &inputs::Scope,
) -> liability::Figures {
    let zone_areas_m2: Vec<liability::ZoneArea> = zone_areas
        .iter()
        .map(|&(z, a, b)| liability::ZoneArea {
            zone: z.to_string(),
            opening_m2: SquareMetres(a),
            closing_m2: SquareMetres(b),
        })
        .collect();
    let farmland = zone_areas_m2.iter().find(|z| z.zone == measure::FARMLAND);
    liability::Figures {
        farmland_m2: OpeningClosing {
            opening: farmland.map_or(SquareMetres(0.0), |z| z.opening_m2),
            closing: farmland.map_or(SquareMetres(0.0), |z| z.closing_m2),
        },
        zone_areas_m2,
        redline_prohibited_m2: OpeningClosing {
            opening: SquareMetres(redline_prohibited.0),
            closing: SquareMetres(redline_prohibited.1),
        },
        groundwater_withdrawal: given.water.as_ref().map(|w| WanCubicMetres(w.withdrawal(1))),
        harvest_m3: given
            .changes
            .as_ref()
            .map(|c| c.iter().filter(|x| x.item == inputs::ForestItem::Harvest).map(|x| x.volume_m3).sum()),
        years: scope.years().len().max(1),
        grazing_su: None,
    }
}

/// The vintage of each layer the sheet used at both dates (the grassland and protected-area layers when the
/// registry has them).
fn vintages(reg: &Registry, req: &Request) -> Result<Vec<LayerVintages>> {
    let mut vintages = Vec::new();
    let mut kinds = vec![
        LayerKind::Admin,
        LayerKind::Parcels,
        LayerKind::Redlines,
        LayerKind::Farmland,
        LayerKind::Urban,
        LayerKind::Forest,
    ];
    for name in ["grassland", "protected"] {
        if let Some(k) = LayerKind::parse(name).filter(|k| reg.catalog().find_layer(*k).is_some()) {
            if !reg.vintages(k)?.is_empty() {
                kinds.push(k);
            }
        }
    }
    for kind in kinds {
        vintages.push(LayerVintages {
            layer: kind.name().to_string(),
            opening: vintage_at(reg, kind, req.from)?,
            closing: vintage_at(reg, kind, req.to)?,
        });
    }
    Ok(vintages)
}
