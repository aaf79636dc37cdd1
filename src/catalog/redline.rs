//! The red-line land-use table: which land-use classes a zone of an ecological red line (生态保护红线) prohibits,
//! with the basis. Catalog data (`layers/rules/redline-landuse.csv`, overridable with `--rules DIR`), read
//! by the NR501 check and by the balance sheet's liabilities alike.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// What the red-line table says of a class in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Prohibited, with the basis.
    Prohibited(String),
    /// Allowed (positive list or not listed).
    Allowed,
}

/// One row of the table: in a zone, classes whose code starts with `prefix` are prohibited or allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    prefix: String,
    prohibited: bool,
    /// The rule's basis (文件依据), quoted in findings.
    basis: String,
}

/// The red-line land-use table (`layers/rules/redline-landuse.csv`): by zone (管控分区), its rows.
#[derive(Debug, Clone, Default)]
pub struct RedlineRules {
    rows: HashMap<String, Vec<Row>>,
}

impl RedlineRules {
    /// Read the table from CSV (zone, code prefix, prohibited|allowed, basis); `src` names it in errors.
    pub fn parse(text: &str, src: &str) -> Result<RedlineRules> {
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let mut rows: HashMap<String, Vec<Row>> = HashMap::new();
        for r in rdr.records() {
            let r = r.map_err(|e| Error::Config { file: src.into(), reason: e.to_string() })?;
            let prohibited = match r.get(2).unwrap_or("") {
                "prohibited" => true,
                "allowed" => false,
                v => {
                    return Err(Error::Config {
                        file: src.into(),
                        reason: format!("verdict must be prohibited or allowed, found '{v}'"),
                    })
                }
            };
            rows.entry(r[0].to_string()).or_default().push(Row {
                prefix: r[1].to_string(),
                prohibited,
                basis: r.get(3).unwrap_or("").to_string(),
            });
        }
        Ok(RedlineRules { rows })
    }

    /// Every class-code prefix the table prohibits in some zone, sorted, each once: a class outside all of
    /// them is allowed in every zone (a prohibited verdict needs a prohibited prefix of the code).
    pub fn prohibited_prefixes(&self) -> Vec<String> {
        let mut out: Vec<String> =
            self.rows.values().flatten().filter(|r| r.prohibited).map(|r| r.prefix.clone()).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The verdict for a class code in a zone: the longest listed prefix wins; unlisted is allowed.
    pub fn verdict(&self, zone: &str, code: &str) -> Verdict {
        let Some(rows) = self.rows.get(zone) else { return Verdict::Allowed };
        match rows.iter().filter(|r| code.starts_with(r.prefix.as_str())).max_by_key(|r| r.prefix.len()) {
            Some(Row { prohibited: true, basis, .. }) => Verdict::Prohibited(basis.clone()),
            _ => Verdict::Allowed,
        }
    }
}
