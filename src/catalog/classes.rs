//! Classification and code tables (`layers/classes/*.csv`): GB/T 21010-2017 with the 三调 extensions,
//! 权属性质, 管控分区, forest origin.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// One code table: code → name, plus accepted aliases that normalise to the code.
#[derive(Debug, Clone, Default)]
pub struct ClassTable {
    names: HashMap<String, String>,
    aliases: HashMap<String, String>,
    order: Vec<String>,
}

impl ClassTable {
    /// The canonical code for a value (a code, a name or an alias), if the table knows it.
    pub fn normalise(&self, value: &str) -> Option<&str> {
        let v = value.trim();
        if let Some((k, _)) = self.names.get_key_value(v) {
            return Some(k.as_str());
        }
        self.aliases.get(v).map(String::as_str)
    }

    /// The name of a code.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }

    /// Codes in file order.
    pub fn codes(&self) -> &[String] {
        &self.order
    }

    fn insert(&mut self, code: &str, name: &str, aliases: &str) {
        if !self.names.contains_key(code) {
            self.order.push(code.to_string());
        }
        self.names.insert(code.to_string(), name.to_string());
        // the name itself is accepted too, where it differs from the code
        if name != code {
            self.aliases.entry(name.to_string()).or_insert_with(|| code.to_string());
        }
        for a in aliases.split(';').map(str::trim).filter(|a| !a.is_empty()) {
            self.aliases.insert(a.to_string(), code.to_string());
        }
    }
}

/// The code tables whose file names are fixed.
fn is_known(path: &str) -> bool {
    ["gbt21010-2017.csv", "sandiao-extensions.csv", "qsxz.csv", "gkfq.csv", "forest-origin.csv", "change-causes.csv"]
        .iter()
        .any(|f| path.ends_with(f))
}

/// All code tables by name. `landuse` is GB/T 21010-2017 ∪ 三调 extensions.
#[derive(Debug, Clone, Default)]
pub struct ClassTables {
    tables: HashMap<String, ClassTable>,
    /// Land-class code prefix → resource type (`resource-types.csv`).
    resource_types: Vec<(String, String)>,
    /// 权属性质 code → 国有 / 集体 (the `nature` column of `qsxz.csv`).
    natures: HashMap<String, String>,
    /// Class crosswalks (`crosswalks.csv`): scheme → (code prefix → target class).
    crosswalks: HashMap<String, Vec<(String, CrossClass)>>,
}

/// A class of a coarser scheme that land-class codes map to through `crosswalks.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossClass {
    /// Code in the target scheme.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
}

impl ClassTables {
    pub(super) fn parse(files: &[(String, String)]) -> Result<ClassTables> {
        let mut tables: HashMap<String, ClassTable> = HashMap::new();
        // landuse first from the standard, then the 三调 extensions may add or rename
        let mut ordered: Vec<&(String, String)> = files.iter().collect();
        ordered.sort_by_key(|(p, _)| (!p.contains("gbt21010"), p.clone()));
        let mut resource_types = Vec::new();
        let mut natures = HashMap::new();
        let mut crosswalks: HashMap<String, Vec<(String, CrossClass)>> = HashMap::new();
        for (path, text) in ordered {
            if path.ends_with("crosswalks.csv") {
                let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
                for row in rdr.records() {
                    let row = row.map_err(|e| cfg(path, e))?;
                    let get = |i: usize| row.get(i).unwrap_or("").trim().to_string();
                    if get(0).is_empty() || get(1).is_empty() || get(2).is_empty() {
                        return Err(Error::Config {
                            file: path.clone(),
                            reason: format!(
                                "line {}: needs scheme, prefix and code",
                                row.position().map_or(0, |p| p.line())
                            ),
                        });
                    }
                    crosswalks
                        .entry(get(0))
                        .or_default()
                        .push((get(1), CrossClass { code: get(2), name: get(3), name_en: get(4) }));
                }
                continue;
            }
            if path.ends_with("resource-types.csv") {
                let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
                for row in rdr.records() {
                    let row = row.map_err(|e| cfg(path, e))?;
                    resource_types.push((
                        row.get(0).unwrap_or("").trim().to_string(),
                        row.get(1).unwrap_or("").trim().to_string(),
                    ));
                }
                continue;
            }
            let table_name = match path.as_str() {
                p if p.ends_with("gbt21010-2017.csv") || p.ends_with("sandiao-extensions.csv") => "landuse",
                p if p.ends_with("qsxz.csv") => "qsxz",
                p if p.ends_with("gkfq.csv") => "gkfq",
                p if p.ends_with("forest-origin.csv") => "forest-origin",
                p if p.ends_with("change-causes.csv") => "change-cause",
                // any other code table (code,name[,aliases]) is named after its file: a layer kind defined in
                // kinds/ refers to it by that name (`codes = "approval-types"`)
                p => p.rsplit('/').next().and_then(|n| n.strip_suffix(".csv")).unwrap_or(p),
            };
            let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
            let headers = rdr.headers().map_err(|e| cfg(path, e))?.clone();
            let col = |name: &str| headers.iter().position(|h| h == name);
            let code_table = path.ends_with(".csv") && col("code").is_some() && col("name").is_some();
            if !(code_table || is_known(path)) {
                continue;
            }
            let (Some(ci), Some(ni)) = (col("code"), col("name")) else {
                return Err(Error::Config { file: path.clone(), reason: "needs columns code,name".into() });
            };
            let ai = col("aliases");
            let nature_col = col("nature");
            let table = tables.entry(table_name.to_string()).or_default();
            for row in rdr.records() {
                let row = row.map_err(|e| cfg(path, e))?;
                let code = row.get(ci).unwrap_or("").trim();
                if code.is_empty() {
                    return Err(Error::Config { file: path.clone(), reason: format!("empty code in {row:?}") });
                }
                table.insert(code, row.get(ni).unwrap_or("").trim(), ai.and_then(|i| row.get(i)).unwrap_or(""));
                if let Some(n) = nature_col.and_then(|i| row.get(i)).map(str::trim).filter(|n| !n.is_empty()) {
                    natures.insert(code.to_string(), n.to_string());
                }
            }
        }
        Ok(ClassTables { tables, resource_types, natures, crosswalks })
    }

    /// The class of `scheme` (e.g. `level1`, `8class`) a land-class code falls in: the longest listed code
    /// prefix wins; None when the scheme is unknown or lists no prefix of the code.
    pub fn crosswalk(&self, scheme: &str, code: &str) -> Option<&CrossClass> {
        self.crosswalks
            .get(scheme)?
            .iter()
            .filter(|(p, _)| code.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, c)| c)
    }

    /// The classes of a crosswalk scheme in file order, without repeats.
    pub fn crosswalk_classes(&self, scheme: &str) -> Vec<&CrossClass> {
        let mut out: Vec<&CrossClass> = Vec::new();
        for (_, c) in self.crosswalks.get(scheme).into_iter().flatten() {
            if !out.iter().any(|o| o.code == c.code) {
                out.push(c);
            }
        }
        out
    }

    /// 国有 or 集体 for a 权属性质 code (or alias), from `qsxz.csv`.
    pub fn ownership_nature(&self, qsxz: &str) -> Option<&str> {
        let code = self.tables.get("qsxz")?.normalise(qsxz)?;
        self.natures.get(code).map(String::as_str)
    }

    /// 人为 (human) or 自然 (natural) for a change cause (code or alias), from `change-causes.csv`.
    pub fn cause_nature(&self, cause: &str) -> Option<&str> {
        let code = self.tables.get("change-cause")?.normalise(cause)?;
        self.natures.get(code).map(String::as_str)
    }

    /// The resource type (水流 / 湿地 / 森林 / 草原 / 荒地 / 其他 / 非自然资源) of a land class: the longest
    /// listed code prefix wins; unlisted classes are 其他.
    pub fn resource_type(&self, code: &str) -> &str {
        self.resource_types
            .iter()
            .filter(|(p, _)| code.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, t)| t.as_str())
            .unwrap_or("其他")
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&ClassTable> {
        self.tables.get(name)
    }

    /// The name of a land-use code (GB/T 21010 or 三调).
    pub fn landuse_name(&self, code: &str) -> Option<&str> {
        self.tables.get("landuse").and_then(|t| t.name(code))
    }
}

fn cfg(path: &str, e: csv::Error) -> Error {
    Error::Config { file: path.to_string(), reason: e.to_string() }
}
