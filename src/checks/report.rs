//! The check report: per-rule summary (count and area in m² and 亩, by severity), the data versions and
//! tolerances used, and the findings. Rendered as text by the CLI, as JSON following
//! `schemas/check-report.schema.json`, and as a GeoJSON/GeoPackage layer of finding pieces.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Finding, Severity, Tolerance};
use crate::quantity::SquareMetres;

/// One rule's totals.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RuleSummary {
    /// Rule code.
    pub rule: String,
    /// Rule name.
    pub name: String,
    /// Findings at error severity.
    pub errors: usize,
    /// Findings at warning severity.
    pub warnings: usize,
    /// Findings at info severity (slivers, excepted findings).
    pub info: usize,
    /// Total area of error and warning findings, m².
    pub area_m2: SquareMetres,
    /// The same in 亩.
    pub area_mu: f64,
}

/// Everything `nrledger check` reports.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CheckReport {
    /// Registry file.
    pub registry: String,
    /// Check date (None: current records).
    pub as_of: Option<String>,
    /// Region code, if limited.
    pub region: Option<String>,
    /// Vintage of each layer used (latest as-of on or before the check date).
    pub vintages: BTreeMap<String, Option<String>>,
    /// Where the rules came from.
    pub rules_source: String,
    /// Tolerances of each rule.
    pub tolerances: BTreeMap<String, Tolerance>,
    /// Per-rule totals.
    pub summary: Vec<RuleSummary>,
    /// Rules that could not run, and why.
    pub notes: Vec<String>,
    /// The findings.
    pub findings: Vec<Finding>,
    /// The counties of a check streamed county by county (`--by-county`), in the order checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counties: Vec<super::by_county::CountyLine>,
    /// nrledger version.
    pub tool_version: String,
}

/// Per-rule totals of a list of findings, in rule order (every rule that ran appears, even with none).
pub fn summarise(findings: &[Finding], rules: &[(String, String)]) -> Vec<RuleSummary> {
    rules
        .iter()
        .map(|(code, name)| {
            let mine: Vec<&Finding> = findings.iter().filter(|f| &f.rule == code).collect();
            let count = |s: Severity| mine.iter().filter(|f| f.severity == s).count();
            // + 0.0: an empty f64 sum is -0.0
            let area: SquareMetres = mine.iter().filter(|f| f.severity > Severity::Info).map(|f| f.area_m2).sum();
            let area = SquareMetres(area.0 + 0.0);
            RuleSummary {
                rule: code.clone(),
                name: name.clone(),
                errors: count(Severity::Error),
                warnings: count(Severity::Warning),
                info: count(Severity::Info),
                area_m2: SquareMetres((area.0 * 100.0).round() / 100.0),
                area_mu: (area.mu() * 100.0).round() / 100.0,
            }
        })
        .collect()
}
