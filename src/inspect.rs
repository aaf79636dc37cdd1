//! Checking a delivery before it is accepted (质检): every problem of one source file in one go — field
//! and code errors, invalid geometry, duplicate keys, a wrong CRS, and the rules that need no registry
//! (overlaps between its records, gaps against a given outline, declared areas, deduction arithmetic) —
//! without writing anything but the report.
//!
//! The source goes through the import pipeline and the check rules exactly as it would into a registry,
//! but into a throw-away registry in a temporary folder (removed afterwards, whatever happens): the same
//! code decides, so a delivery that inspects clean imports clean.

use std::path::{Path, PathBuf};

use crate::catalog::Catalog;
use crate::checks::{self, CheckReport, Class, Context, Exceptions, Finding, RuleConfig, Severity};
use crate::crs::{self, CrsInfo};
use crate::error::{Error, Result};
use crate::import::{self, ImportReport, ImportRequest};
use crate::io::source::SourceRequest;
use crate::model::LayerKind;
use crate::progress::Progress;
use crate::quantity::SquareMetres;
use crate::store::Registry;

/// What to inspect.
#[derive(Debug, Clone)]
pub struct InspectRequest {
    /// The delivery.
    pub source: SourceRequest,
    /// The layer kind it is for.
    pub layer: LayerKind,
    /// Mapping profile (None: the one claiming the source layer's name, else the layer's own names).
    pub profile: Option<String>,
    /// CRS of the source when it declares none (or declares a wrong one).
    pub src_crs: Option<String>,
    /// The projected CRS to measure in (None: the source's own when projected, else the CGCS2000 3°
    /// Gauss-Krüger zone of its centre).
    pub crs: Option<String>,
    /// An outline (admin boundary) to check gaps against: all its polygons, dissolved.
    pub outline: Option<SourceRequest>,
    /// The rules' tolerances.
    pub rules: RuleConfig,
}

/// What an inspection found.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct InspectReport {
    /// The source file.
    pub source: String,
    /// The layer kind it was inspected as.
    pub layer: LayerKind,
    /// The CRS areas were measured in.
    pub crs: String,
    /// The import's view: records read, every problem, encoding, profile.
    pub import: ImportReport,
    /// The rules' view of the records that passed the import (and the rejected records, as findings of
    /// the pseudo-rule `IMPORT`, with their geometry where it could be read).
    pub check: CheckReport,
}

impl InspectReport {
    /// Whether the delivery would be accepted as it is: no import problem and no finding at error severity.
    pub fn clean(&self) -> bool {
        self.import.problems.is_empty() && !self.check.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// A temporary folder removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Inspect a delivery.
pub fn run(req: &InspectRequest, catalog: Catalog) -> Result<InspectReport> {
    let crs = measuring_crs(req, &catalog)?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let scratch = Scratch(std::env::temp_dir().join(format!("nrledger-inspect-{}-{stamp}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).map_err(|e| Error::io(&scratch.0, e))?;
    let mut reg = Registry::create(&scratch.0.join("inspect.gpkg"), &crs, catalog)?;
    let today = chrono::Local::now().date_naive();
    if let Some(outline) = &req.outline {
        load_outline(&mut reg, outline, req.src_crs.as_deref(), &scratch.0)?;
    }
    let import = import::run(
        &mut reg,
        &ImportRequest {
            profile: req.profile.clone(),
            src_crs: req.src_crs.clone(),
            keep_going: true,
            max_rejected_percent: 100.0,
            ..ImportRequest::new(req.layer, req.source.clone(), today, Some("inspect".into()))
        },
        &Progress::hidden(),
    )?;
    let ctx = Context::load(
        &reg,
        None,
        None,
        req.rules.clone(),
        Exceptions::default(),
        &checks::layers_needed(&[], &req.rules)?,
    )?;
    let mut findings = rejected_as_findings(&reg, req.layer)?;
    findings.extend(checks::run_all(&ctx, &[])?);
    let mut ran: Vec<(String, String)> = vec![("IMPORT".into(), "rejected-record".into())];
    ran.extend(checks::selected(&[])?.iter().map(|c| (c.code().to_string(), c.name().to_string())));
    let check = CheckReport {
        registry: req.source.path.display().to_string(),
        as_of: None,
        region: None,
        vintages: Default::default(),
        rules_source: req.rules.source.clone(),
        tolerances: req.rules.all().iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        summary: checks::summarise(&findings, &ran),
        notes: ctx.notes(),
        findings,
        counties: vec![],
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    Ok(InspectReport {
        source: req.source.path.display().to_string(),
        layer: req.layer,
        crs: crs.definition.clone(),
        import,
        check,
    })
}

/// The CRS to measure in: the one asked for; else the source's when projected; else the CGCS2000 3°
/// Gauss-Krüger zone (without prefix) of the source's centre.
fn measuring_crs(req: &InspectRequest, catalog: &Catalog) -> Result<CrsInfo> {
    if let Some(c) = &req.crs {
        return crs::describe(&crs::normalise_arg(c));
    }
    // the source layer the import will read: the profiles of the layer kind name the ones to prefer
    let mut source = req.source.clone();
    source.preferred = catalog
        .profiles()
        .iter()
        .filter(|p| p.layer == req.layer && req.profile.as_ref().is_none_or(|n| *n == p.name))
        .flat_map(|p| p.source_layers.clone())
        .collect();
    let (declared, extent) = crate::io::source::crs_and_extent(&source)?;
    let declared = match &req.src_crs {
        Some(c) => Some(crs::describe(&crs::normalise_arg(c))?),
        None => declared,
    };
    match (declared, extent) {
        (Some(c), _) if c.projected => Ok(c),
        (Some(c), Some([x0, x1, y0, y1])) => {
            let to_lonlat = crs::Transformer::new(&c.definition, &c.geographic)?;
            let mut centre = [((x0 + x1) / 2.0, (y0 + y1) / 2.0)];
            to_lonlat.coords(&mut centre)?;
            let zone = crs::gk3_zone_for_lon(centre[0].0);
            let epsg = crs::gk3_epsg(zone, false).ok_or_else(|| {
                Error::Invalid(format!("the source's centre {:.3}°E lies outside the CGCS2000 3° zones 25–45; give --crs", centre[0].0))
            })?;
            crs::describe(&format!("EPSG:{epsg}"))
        }
        _ => Err(Error::Invalid(format!(
            "{}: the source declares no CRS and has no extent to choose a zone from; give --src-crs, or --crs to measure in",
            req.source.path.display()
        ))),
    }
}

/// Load an outline file as the throw-away registry's admin layer (its polygons dissolved into one record),
/// so that the gap rule has a region to cover.
fn load_outline(reg: &mut Registry, outline: &SourceRequest, src_crs: Option<&str>, dir: &Path) -> Result<()> {
    let (mp, areas) = import::read_geometry(reg, outline, src_crs)?;
    let table = crate::io::export::Table {
        name: "outline",
        columns: vec![
            crate::io::export::Column { name: "XZQDM".into(), field_type: crate::model::FieldType::Text },
            crate::io::export::Column { name: "XZQMC".into(), field_type: crate::model::FieldType::Text },
            crate::io::export::Column { name: "DCMJ".into(), field_type: crate::model::FieldType::Real },
        ],
        rows: vec![(
            geo::Geometry::MultiPolygon(mp),
            vec![
                crate::model::Value::Text("000000".into()),
                crate::model::Value::Text("检查范围 inspected outline".into()),
                crate::model::Value::Real(areas.ellipsoidal),
            ],
        )],
    };
    let file = dir.join("outline.gpkg");
    crate::io::export::write(&table, &file, &reg.crs.definition, &reg.crs.geographic)?;
    let report = import::run(
        reg,
        &ImportRequest {
            force: true,
            ..ImportRequest::new(
                LayerKind::Admin,
                SourceRequest { path: file, ..Default::default() },
                chrono::Local::now().date_naive(),
                Some("inspect".into()),
            )
        },
        &Progress::hidden(),
    )?;
    match report.problems.first() {
        Some(p) => Err(Error::Invalid(format!("{}: the outline cannot be used: {p}", outline.path.display()))),
        None => Ok(()),
    }
}

/// The records the import rejected, as findings of the pseudo-rule `IMPORT` (with their geometry in the
/// measuring CRS where it could be read), so the findings layer shows them on the map.
fn rejected_as_findings(reg: &Registry, layer: LayerKind) -> Result<Vec<Finding>> {
    Ok(reg
        .rejects()?
        .into_iter()
        .map(|r| Finding {
            rule: "IMPORT".into(),
            name: "rejected-record".into(),
            severity: Severity::Error,
            class: Class::Attribute,
            layers: vec![layer],
            ids: r.key.into_iter().collect(),
            fids: vec![],
            area_m2: SquareMetres::ZERO,
            area_planar_m2: SquareMetres::ZERO,
            message: format!("feature #{}: {}", r.feature_index, r.reason),
            excepted_by: None,
            geometry: r.geometry.and_then(|g| match g {
                geo::Geometry::MultiPolygon(mp) => Some(mp),
                geo::Geometry::Polygon(p) => Some(geo::MultiPolygon(vec![p])),
                _ => None,
            }),
        })
        .collect())
}
