//! Rule configuration: tolerances per rule (`layers/rules/checks.toml`), the red-line land-use table
//! (`layers/rules/redline-landuse.csv`) and the exceptions allow-list (`--exceptions FILE`).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::{Finding, Severity};
use crate::catalog::RedlineRules;
use crate::error::{Error, Result};
use crate::model::AsOf;

const CHECKS: &str = include_str!("../../layers/rules/checks.toml");
const REDLINE: &str = include_str!("../../layers/rules/redline-landuse.csv");

/// Tolerances and severities of one rule.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Severity of a real hit.
    pub severity: Severity,
    /// Severity of a sliver.
    #[serde(default)]
    pub sliver_severity: Option<Severity>,
    /// Pieces smaller than this are slivers, m².
    #[serde(default)]
    pub sliver_area_m2: Option<f64>,
    /// Pieces thinner than this (mean width 2·A/P) are slivers, m.
    #[serde(default)]
    pub sliver_width_m: Option<f64>,
    /// Pieces smaller than this are not reported at all, m².
    #[serde(default)]
    pub ignore_area_m2: Option<f64>,
    /// Relative tolerance (declared vs computed area).
    #[serde(default)]
    pub relative_tolerance: Option<f64>,
    /// Absolute tolerance, m².
    #[serde(default)]
    pub absolute_tolerance_m2: Option<f64>,
    /// Land classes (code prefixes) the rule looks at; the longest matching prefix among these and
    /// `exclude_classes` decides.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
    /// Land classes carved out of `classes`.
    #[serde(default)]
    pub exclude_classes: Option<Vec<String>>,
    /// Codes of a field the rule looks at (种植属性 ZZSXDM …).
    #[serde(default)]
    pub values: Option<Vec<String>>,
    /// The largest share (0–1) allowed before a finding.
    #[serde(default)]
    pub max_share: Option<f64>,
}

impl Tolerance {
    /// Whether land class `code` is one of [`Tolerance::classes`] (none listed: none is).
    pub fn has_class(&self, code: &str) -> bool {
        let longest = |list: &Option<Vec<String>>| {
            list.iter().flatten().filter(|p| code.starts_with(p.as_str())).map(String::len).max()
        };
        match (longest(&self.classes), longest(&self.exclude_classes)) {
            (Some(i), Some(e)) => i > e,
            (i, _) => i.is_some(),
        }
    }
}

/// All rules' tolerances, and the red-line table.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    tolerances: HashMap<String, Tolerance>,
    /// The red-line land-use table.
    pub redline: RedlineRules,
    /// Where the configuration came from (for the report).
    pub source: String,
    /// SHA-256 of `checks.toml` followed by `redline-landuse.csv` as used (for reproducibility).
    pub sha256: String,
}

impl RuleConfig {
    /// The embedded defaults, or the files of `dir` (`checks.toml`, `redline-landuse.csv`) where present.
    pub fn load(dir: Option<&Path>) -> Result<RuleConfig> {
        let read = |name: &str, default: &str| -> Result<(String, String)> {
            if let Some(d) = dir {
                let p = d.join(name);
                if p.exists() {
                    return Ok((std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?, p.display().to_string()));
                }
            }
            Ok((default.to_string(), format!("layers/rules/{name} (embedded)")))
        };
        let (checks, checks_src) = read("checks.toml", CHECKS)?;
        let (redline, redline_src) = read("redline-landuse.csv", REDLINE)?;
        let tolerances: HashMap<String, Tolerance> =
            toml::from_str(&checks).map_err(|e| Error::Config { file: checks_src.clone(), reason: e.to_string() })?;
        let sha256 = crate::hashing::sha256_hex(format!("{checks}{redline}").as_bytes());
        Ok(RuleConfig {
            tolerances,
            redline: RedlineRules::parse(&redline, &redline_src)?,
            source: format!("{checks_src}; {redline_src}"),
            sha256,
        })
    }

    /// A rule's tolerances (a missing rule is a configuration error).
    pub fn tolerance(&self, code: &str) -> Result<&Tolerance> {
        self.tolerances
            .get(code)
            .ok_or_else(|| Error::Config { file: "checks.toml".into(), reason: format!("no section [{code}]") })
    }

    /// All tolerances by rule (for the report).
    pub fn all(&self) -> &HashMap<String, Tolerance> {
        &self.tolerances
    }
}

/// One allow-listed exception.
#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// Rule code or name it applies to.
    pub rule: String,
    /// Keys of the records; the exception covers a finding whose ids include all of these.
    pub ids: Vec<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// Approval document number (批准文号).
    pub approval: String,
    /// Last day the exception is valid (YYYY-MM-DD); after it the finding is reported again.
    pub expires: String,
}

/// The allow-list file: `[[exception]]` tables.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exceptions {
    /// The exceptions.
    #[serde(default, rename = "exception")]
    pub exceptions: Vec<Exception>,
}

impl Exceptions {
    /// Read an allow-list file (TOML).
    pub fn load(path: &Path) -> Result<Exceptions> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let ex: Exceptions = toml::from_str(&text)
            .map_err(|e| Error::Config { file: path.display().to_string(), reason: e.to_string() })?;
        for (i, e) in ex.exceptions.iter().enumerate() {
            crate::model::parse_date(&e.expires).map_err(|m| Error::Config {
                file: path.display().to_string(),
                reason: format!("exception #{} (rule {}): expires: {m}", i + 1, e.rule),
            })?;
        }
        Ok(ex)
    }

    /// These and the exceptions granted in the registry (by reviewers, in the service).
    pub fn with_granted(mut self, reg: &crate::store::Registry) -> Result<Exceptions> {
        for g in reg.granted_exceptions()? {
            let (rule, ids, reason, approval, expires) = (g.rule, g.ids, g.reason, g.approval, g.expires);
            self.exceptions.push(Exception { rule, ids, reason, approval, expires });
        }
        Ok(self)
    }

    /// The exceptions in the allow-list file's form (TOML, `[[exception]]` tables).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::Invalid(format!("exceptions as TOML: {e}")))
    }

    /// The unexpired exception covering a finding on `date`, if any.
    pub fn covering(&self, f: &Finding, date: AsOf) -> Option<&Exception> {
        self.exceptions.iter().find(|e| {
            (e.rule == f.rule || e.rule == f.name)
                && e.ids.iter().all(|id| f.ids.contains(id))
                && crate::model::parse_date(&e.expires).map(|d| d >= date).unwrap_or(false)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Verdict;

    #[test]
    fn longest_prefix_wins_and_unlisted_is_allowed() {
        let c = RuleConfig::load(None).unwrap();
        assert!(matches!(c.redline.verdict("一般控制区", "0701"), Verdict::Prohibited(_)));
        assert_eq!(c.redline.verdict("一般控制区", "0702"), Verdict::Allowed);
        assert!(matches!(c.redline.verdict("核心保护区", "0702"), Verdict::Prohibited(_)));
        assert!(matches!(c.redline.verdict("核心保护区", "0101"), Verdict::Prohibited(_)));
        assert_eq!(c.redline.verdict("一般控制区", "0101"), Verdict::Allowed);
        assert_eq!(c.redline.verdict("核心保护区", "0301"), Verdict::Allowed);
        assert!(matches!(c.redline.verdict("一般控制区", "1302"), Verdict::Prohibited(_)));
        assert!(c.tolerance("NR101").is_ok());
        assert!(c.tolerance("NR999").is_err());
    }
}
