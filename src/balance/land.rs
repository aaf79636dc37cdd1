//! The land account (土地资源存量及变动表): opening and closing stocks by class, the transition matrix, and
//! the increases and decreases read off it.
//!
//! Areas are ellipsoidal. A parcel's class gets `(1 − k)` of its area and 1203 田坎 gets `k`, where `k` is
//! the parcel's deduction share (KCMJ / TBMJ): the TBDLMJ-style class area of 三调. Classes are taken to the
//! requested level through `layers/classes/crosswalks.csv`.
//!
//! The matrix is published in whole square metres (a hectare with 4 decimals is a whole m², and so is a 亩
//! with 4 decimals: 1 m² = 0.0015 亩), and every published stock is a sum of published cells, so the
//! identities hold exactly: row sums are opening stocks, column sums are closing stocks, opening + increases
//! − decreases = closing. Before rounding, the row and column sums are checked against stocks computed from
//! the pieces directly, and the grand total against the region's area; a failed check is an error.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::partition::{Partition, GAP};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::model::AsOf;

/// 田坎, the class deductions go to.
pub const TIANKAN: &str = "1203";

/// Classification level of a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, clap::ValueEnum)]
pub enum Level {
    /// First level (三调 work classification: 00 湿地, 01 耕地 … 12 其他土地).
    #[value(name = "1")]
    #[serde(rename = "1")]
    One,
    /// Second level (the 4-character codes as delivered).
    #[value(name = "2")]
    #[serde(rename = "2")]
    Two,
    /// The 8-class scheme (耕地, 园地, 林地, 草地, 城镇村及工矿用地, 交通运输用地, 水域及水利设施用地, 其他土地).
    #[value(name = "8class")]
    #[serde(rename = "8class")]
    Eight,
}

impl Level {
    /// The crosswalk scheme in `crosswalks.csv` (None: second level, no crosswalk).
    pub fn scheme(self) -> Option<&'static str> {
        match self {
            Level::One => Some("level1"),
            Level::Two => None,
            Level::Eight => Some("8class"),
        }
    }

    /// As written on the command line.
    pub fn label(self) -> &'static str {
        match self {
            Level::One => "1",
            Level::Two => "2",
            Level::Eight => "8class",
        }
    }
}

/// A row/column class of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ClassLabel {
    /// Code at the sheet's level (未覆盖 for ground no parcel covers).
    pub code: String,
    /// Chinese name.
    pub name: String,
}

/// Maps second-level codes to the sheet's classes.
pub struct Classifier<'a> {
    level: Level,
    catalog: &'a Catalog,
}

impl<'a> Classifier<'a> {
    /// A classifier for a level.
    pub fn new(level: Level, catalog: &'a Catalog) -> Classifier<'a> {
        Classifier { level, catalog }
    }

    /// The class of a delivered code at the level.
    pub fn classify(&self, code: &str) -> Result<ClassLabel> {
        if code == GAP {
            return Ok(ClassLabel { code: GAP.into(), name: "未覆盖 (no parcel)".into() });
        }
        match self.level.scheme() {
            None => Ok(ClassLabel {
                code: code.to_string(),
                name: self.catalog.classes.landuse_name(code).unwrap_or("(未知地类)").to_string(),
            }),
            Some(s) => self
                .catalog
                .classes
                .crosswalk(s, code)
                .map(|c| ClassLabel { code: c.code.clone(), name: c.name.clone() })
                .ok_or_else(|| Error::Config {
                    file: "classes/crosswalks.csv".into(),
                    reason: format!("scheme {s} has no class for land class '{code}'"),
                }),
        }
    }

    /// Every class of the level in the scheme's order, for the codes that occur (`codes`): the whole scheme
    /// for levels 1 and 8class, the codes present (in the classification's order) for level 2; 未覆盖 last
    /// when it occurs.
    pub fn ordered(&self, codes: &[String]) -> Result<Vec<ClassLabel>> {
        let mut out: Vec<ClassLabel> = match self.level.scheme() {
            Some(s) => self
                .catalog
                .classes
                .crosswalk_classes(s)
                .into_iter()
                .map(|c| ClassLabel { code: c.code.clone(), name: c.name.clone() })
                .collect(),
            None => {
                let table_order: HashMap<&str, usize> = self
                    .catalog
                    .classes
                    .table("landuse")
                    .map(|t| t.codes().iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect())
                    .unwrap_or_default();
                let mut present: Vec<&String> = codes.iter().filter(|c| c.as_str() != GAP).collect();
                present.sort_by_key(|c| (table_order.get(c.as_str()).copied().unwrap_or(usize::MAX), c.to_string()));
                present.dedup();
                present.into_iter().map(|c| self.classify(c)).collect::<Result<_>>()?
            }
        };
        for c in codes {
            let l = self.classify(c)?;
            if !out.contains(&l) {
                out.push(l);
            }
        }
        // 未覆盖 last
        out.sort_by_key(|c| c.code == GAP);
        Ok(out)
    }
}

/// The land account of a period.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LandAccount {
    /// Classification level.
    pub level: Level,
    /// Classes, in row (and column) order.
    pub classes: Vec<ClassLabel>,
    /// Transition matrix, m² (whole): `matrix[from][to]`.
    pub matrix: Vec<Vec<i64>>,
}

impl LandAccount {
    /// Opening stock of class `i` (row sum), m².
    pub fn opening(&self, i: usize) -> i64 {
        self.matrix[i].iter().sum()
    }
    /// Closing stock of class `i` (column sum), m².
    pub fn closing(&self, i: usize) -> i64 {
        self.matrix.iter().map(|r| r[i]).sum()
    }
    /// Increases of class `i` (ground that became it), m².
    pub fn increase(&self, i: usize) -> i64 {
        self.closing(i) - self.matrix[i][i]
    }
    /// Decreases of class `i` (ground that left it), m².
    pub fn decrease(&self, i: usize) -> i64 {
        self.opening(i) - self.matrix[i][i]
    }
    /// Grand total, m².
    pub fn total(&self) -> i64 {
        self.matrix.iter().flatten().sum()
    }

    /// Verify the published identities (exact, integer arithmetic).
    pub fn verify(&self) -> Result<()> {
        let n = self.classes.len();
        for i in 0..n {
            if self.opening(i) + self.increase(i) - self.decrease(i) != self.closing(i) {
                return Err(Error::Invalid(format!(
                    "land account: opening + increases − decreases ≠ closing for {}",
                    self.classes[i].code
                )));
            }
        }
        let (o, c): (i64, i64) = ((0..n).map(|i| self.opening(i)).sum(), (0..n).map(|i| self.closing(i)).sum());
        if o != self.total() || c != self.total() {
            return Err(Error::Invalid(format!(
                "land account: opening total {o}, closing total {c} and matrix total {} differ",
                self.total()
            )));
        }
        Ok(())
    }
}

/// Per-class stocks computed from a partition's pieces directly (second-level codes, m²), with the
/// tolerance each may differ from the matrix by (the sum of its pieces' tolerances).
pub fn stocks(p: &Partition) -> BTreeMap<String, (f64, f64)> {
    let mut s: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for x in &p.pieces {
        let tol = x.tolerance();
        let e = s.entry(x.class.clone()).or_default();
        e.0 += x.area * (1.0 - x.deduction);
        e.1 += tol;
        if x.deduction > 0.0 {
            let t = s.entry(TIANKAN.into()).or_default();
            t.0 += x.area * x.deduction;
            t.1 += tol;
        }
    }
    s
}

/// What the land account checks its matrix against at one date: the per-class [`stocks`] of the partition
/// (or the sum of several counties' partitions) and the area of the sub-m² gap slivers it left out.
pub struct StockCheck<'a> {
    /// The date.
    pub date: AsOf,
    /// Per-class stocks with their tolerances.
    pub stocks: &'a BTreeMap<String, (f64, f64)>,
    /// the partition's `gap_slivers_m2`.
    pub gap_slivers_m2: f64,
}

/// Check the second-level matrix against the stocks at both dates and the region, then aggregate it to the
/// level and round it to whole m².
pub fn account(
    m2: &HashMap<(String, String), f64>,
    checks: [StockCheck<'_>; 2],
    region_area: f64,
    cls: &Classifier<'_>,
    level: Level,
) -> Result<LandAccount> {
    // rows and columns against the stocks from the pieces
    for (k, (part, by_row)) in checks.iter().zip([true, false]).enumerate() {
        // the ground the other date left out as uncovered slivers may lie in this date's pieces, outside the
        // matrix (the sheet's notes say how much)
        let other_slivers = checks[1 - k].gap_slivers_m2;
        let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
        for ((f, t), v) in m2 {
            *sums.entry(if by_row { f.as_str() } else { t.as_str() }).or_default() += v;
        }
        let st = part.stocks;
        for (code, (want, tol)) in st {
            let got = sums.get(code.as_str()).copied().unwrap_or(0.0);
            if (got - want).abs() > *tol + other_slivers {
                return Err(Error::Invalid(format!(
                    "land account on {}: class {code} has {want:.3} m² in its parcels but {got:.3} m² in the transition matrix's {}",
                    part.date,
                    if by_row { "row" } else { "column" }
                )));
            }
        }
        let total: f64 = st.values().map(|v| v.0).sum();
        if (total - region_area).abs() > 1e-6 * region_area + 1.0 + part.gap_slivers_m2 {
            return Err(Error::Invalid(format!(
                "land account on {}: the pieces (parcels and 未覆盖 ground) add up to {total:.3} m², the region's outline to {region_area:.3} m² (more than 1e-6 apart)",
                part.date
            )));
        }
    }
    // round at the second level, then add whole square metres up to the level: every table of the sheet
    // (whatever its level) then shows the same totals
    let fine: BTreeMap<(String, String), i64> = m2.iter().map(|(k, v)| (k.clone(), v.round() as i64)).collect();
    from_cells(&fine, cls, level)
}

/// The account of whole square metres by (from, to) class code pairs, gathered to the classifier's level.
pub fn from_cells(fine: &BTreeMap<(String, String), i64>, cls: &Classifier<'_>, level: Level) -> Result<LandAccount> {
    let mut codes: Vec<String> = fine.keys().flat_map(|(f, t)| [f.clone(), t.clone()]).collect();
    codes.sort();
    codes.dedup();
    let classes = cls.ordered(&codes)?;
    let pos: HashMap<String, usize> = classes.iter().enumerate().map(|(i, c)| (c.code.clone(), i)).collect();
    let mut matrix = vec![vec![0i64; classes.len()]; classes.len()];
    for ((f, t), v) in fine {
        let (i, j) = (pos[&cls.classify(f)?.code], pos[&cls.classify(t)?.code]);
        matrix[i][j] += v;
    }
    let acc = LandAccount { level, classes, matrix };
    acc.verify()?;
    Ok(acc)
}

impl LandAccount {
    /// Its cells by (from, to) class code, zero cells left out.
    pub fn cells(&self) -> BTreeMap<(String, String), i64> {
        let mut out = BTreeMap::new();
        for (i, row) in self.matrix.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                if *v != 0 {
                    out.insert((self.classes[i].code.clone(), self.classes[j].code.clone()), *v);
                }
            }
        }
        out
    }
}

/// Area of each (second-level) class inside a zone (red lines, farmland) on a date, m².
pub fn inside(
    p: &Partition,
    zone: &crate::geometry::Outline,
    calc_for: &(dyn Fn() -> std::rc::Rc<crate::area::AreaCalculator> + Sync),
) -> BTreeMap<String, f64> {
    use rayon::prelude::*;
    // the pieces whose box meets a box covering the zone (Outline::cover): any other lies outside it
    let mut near: Vec<i64> = zone
        .cover(crate::geometry::COVER_DEPTH)
        .par_iter()
        .flat_map_iter(|b| p.index.in_box(b.min().x, b.min().y, b.max().x, b.max().y))
        .collect();
    near.par_sort_unstable();
    near.dedup();
    let parts: Vec<(String, f64, f64)> = near
        .par_iter()
        .map(|&k| &p.pieces[k as usize])
        .filter(|x| x.class != GAP)
        .map_init(calc_for, |calc, x| {
            let a = zone.area_inside(&x.geometry, x.area, |g| crate::area::piece_area(calc, g));
            (a > 0.0).then(|| (x.class.clone(), a, x.deduction))
        })
        .flatten()
        .collect();
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for (c, a, k) in parts {
        *out.entry(c).or_default() += a * (1.0 - k);
        if k > 0.0 {
            *out.entry(TIANKAN.into()).or_default() += a * k;
        }
    }
    out
}

/// Cultivated land (01xx, net of 田坎) by quality grade (耕地质量等别), m²; None when no cultivated piece has a grade.
pub fn by_quality(p: &Partition) -> Option<BTreeMap<i64, f64>> {
    let mut out: BTreeMap<i64, f64> = BTreeMap::new();
    let mut graded = false;
    for x in p.pieces.iter().filter(|x| x.class.starts_with("01")) {
        graded |= x.quality.is_some();
        *out.entry(x.quality.unwrap_or(0)).or_default() += x.area * (1.0 - x.deduction);
    }
    graded.then_some(out)
}
