//! Yearly series of balance sheets (`balance --years 2019..2023`, and the audit's tenure year by year): one
//! sheet per period between consecutive dates, each year's opening equal to the last year's closing.
//!
//! The equality is checked, not assumed. Both stocks come from the same vintage on the same date, so they
//! differ only by the rounding of each sheet's matrix to whole square metres (at most half a square metre a
//! cell) and by the uncovered slivers each sheet leaves out; a larger difference — the region's outline
//! redrawn between the years, data changed under the series — is a break, and the series is refused with the
//! year, the class and both figures. A difference within the rounding is carried into the later year's
//! matrix (on the class's unchanged ground), so the published chain is exact and every sheet still adds up.
//!
//! A year without a survey of its own (no parcel vintage dated inside it) is drawn from the data before it,
//! and flagged.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::land::{self, Classifier, LandAccount, Level};
use super::{BalanceSheet, Request};
use crate::error::{Error, Result};
use crate::model::{AsOf, LayerKind};
use crate::store::Registry;
use crate::table::{Col, Row, Table};

/// One period of a series.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct YearSheet {
    /// The year (of its closing date).
    pub year: i32,
    /// Opening date.
    pub from: String,
    /// Closing date.
    pub to: String,
    /// Parcel vintages dated inside the period.
    pub surveys: Vec<String>,
    /// No survey of its own: drawn from the data before it.
    pub missing: bool,
    /// Differences within the rounding carried from the year before into this year's opening, m² by class.
    pub carried_m2: BTreeMap<String, i64>,
    /// The sheet.
    pub sheet: BalanceSheet,
}

/// A series of sheets.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Series {
    /// The dates, first to last.
    pub dates: Vec<String>,
    /// The periods between them.
    pub years: Vec<YearSheet>,
}

/// `balance --years --format json`: the series and its tables.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SeriesJson {
    /// The series.
    pub series: Series,
    /// Its tables (series_land, series_other, land_YYYY).
    pub tables: Vec<Table>,
}

/// The year-ends of `--years A..B`: 31 December of A − 1, A, …, B.
pub fn year_ends(first: i32, last: i32) -> Result<Vec<AsOf>> {
    if last < first {
        return Err(Error::Invalid(format!("--years {first}..{last}: the last year is before the first")));
    }
    (first - 1..=last).map(|y| crate::model::parse_date(&format!("{y:04}-12-31")).map_err(Error::Invalid)).collect()
}

/// The dates of a tenure year by year: its start, each 31 December strictly inside it, its end.
pub fn tenure_dates(from: AsOf, to: AsOf) -> Vec<AsOf> {
    let mut out = vec![from];
    let year = |d: AsOf| d.to_string()[..4].parse::<i32>().unwrap_or(0);
    for y in year(from)..=year(to) {
        if let Ok(d) = crate::model::parse_date(&format!("{y:04}-12-31")) {
            if d > from && d < to {
                out.push(d);
            }
        }
    }
    out.push(to);
    out
}

/// Draw the sheets between consecutive `dates` with `base`'s region, inputs and options, and chain them.
pub fn compute(reg: &Registry, base: &Request, dates: &[AsOf]) -> Result<Series> {
    if dates.len() < 2 {
        return Err(Error::Invalid("a series needs at least two dates".into()));
    }
    let vintages = reg.vintages(LayerKind::Parcels)?;
    let cls2 = Classifier::new(Level::Two, reg.catalog());
    let cls = Classifier::new(base.level, reg.catalog());
    let mut years: Vec<YearSheet> = Vec::new();
    for w in dates.windows(2) {
        let (from, to) = (w[0], w[1]);
        crate::progress::stage(&format!("{from} → {to}"));
        let req = Request { from, to, ..base.clone() };
        let mut sheet = super::compute(reg, &req).map_err(|e| in_year(e, from, to))?;
        let surveys: Vec<String> = vintages.iter().filter(|v| **v > from && **v <= to).map(|v| v.to_string()).collect();
        let mut carried = BTreeMap::new();
        if let Some(prev) = years.last() {
            carried = chain(&prev.sheet, &mut sheet, &cls2, &cls)?;
            if !carried.is_empty() {
                (sheet.wetland, sheet.wetland_types, sheet.grassland) =
                    super::resources::accounts(&sheet.land_level2, &sheet.of_which, reg.catalog());
            }
        }
        let year = to.to_string()[..4].parse().unwrap_or(0);
        if surveys.is_empty() {
            sheet.notes.push(format!(
                "{year} 年无土地调查数据 (no parcel vintage dated {from} … {to}): the year is drawn from the data before it"
            ));
        }
        let missing = surveys.is_empty();
        years.push(YearSheet {
            year,
            from: from.to_string(),
            to: to.to_string(),
            surveys,
            missing,
            carried_m2: carried,
            sheet,
        });
    }
    Ok(Series { dates: dates.iter().map(|d| d.to_string()).collect(), years })
}

/// A series of one period: an existing sheet, with its surveys.
pub fn single(reg: &Registry, sheet: BalanceSheet) -> Result<Series> {
    let (from, to) = (sheet.provenance.from.clone(), sheet.provenance.to.clone());
    let surveys: Vec<String> =
        reg.vintages(LayerKind::Parcels)?.iter().map(|v| v.to_string()).filter(|v| *v > from && *v <= to).collect();
    let year = to[..4].parse().unwrap_or(0);
    let missing = surveys.is_empty();
    Ok(Series {
        dates: vec![from.clone(), to.clone()],
        years: vec![YearSheet { year, from, to, surveys, missing, carried_m2: BTreeMap::new(), sheet }],
    })
}

fn in_year(e: Error, from: AsOf, to: AsOf) -> Error {
    match e {
        Error::Invalid(m) => Error::Invalid(format!("the series' period {from} → {to}: {m}")),
        e => e,
    }
}

/// Check that `cur` opens where `prev` closed, and carry a difference within the rounding into `cur`.
fn chain(
    prev: &BalanceSheet,
    cur: &mut BalanceSheet,
    cls2: &Classifier<'_>,
    cls: &Classifier<'_>,
) -> Result<BTreeMap<String, i64>> {
    let date = &cur.provenance.from;
    let (a, b) = (prev.provenance.region_area_m2.0, cur.provenance.region_area_m2.0);
    if (a - b).abs() > 1e-6 * a.max(b) + 1.0 {
        return Err(Error::Invalid(format!(
            "the series breaks on {date}: the region {} measures {a:.2} m² in the period ending then and {b:.2} m² \
             in the period starting then (its outline was redrawn); draw the periods apart",
            cur.provenance.region
        )));
    }
    let slivers = prev.provenance.gap_slivers_m2.opening + cur.provenance.gap_slivers_m2.closing;
    let carried = differences(&prev.land_level2, &cur.land_level2, slivers, date)?;
    let mut cells = cur.land_level2.cells();
    for (code, diff) in &carried {
        carry(&mut cells, code, *diff);
    }
    if !carried.is_empty() {
        let level = cur.land.level;
        cur.land_level2 = land::from_cells(&cells, cls2, Level::Two)?;
        cur.land = land::from_cells(&cells, cls, level)?;
        cur.notes.push(format!(
            "期初与上年期末一致 the opening carries the previous year's closing: {} m² of rounding moved on {date} ({})",
            carried.values().map(|v| v.abs()).sum::<i64>(),
            carried.iter().map(|(c, v)| format!("{c} {v:+}")).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(carried)
}

/// The difference of each class between `prev`'s closing and `cur`'s opening (second-level accounts), m²:
/// each within its rounding (half a square metre a rounded cell on either side, and the `slivers` either
/// sheet left out), else the series breaks on `date`.
fn differences(prev: &LandAccount, cur: &LandAccount, slivers: f64, date: &str) -> Result<BTreeMap<String, i64>> {
    let closing = stocks(prev, false);
    let opening = stocks(cur, true);
    let mut out = BTreeMap::new();
    let codes: BTreeSet<&String> = closing.keys().chain(opening.keys()).collect();
    for code in codes {
        let (c, n) = (closing.get(code).copied().unwrap_or((0, 0)), opening.get(code).copied().unwrap_or((0, 0)));
        let diff = c.0 - n.0;
        if diff == 0 {
            continue;
        }
        let bound = 0.5 * (c.1 + n.1) as f64 + slivers + 1e-9;
        if diff.abs() as f64 > bound {
            return Err(Error::Invalid(format!(
                "the series breaks on {date}: class {code} closes the period before with {} m² and opens the next \
                 with {} m² ({diff:+} m², more than its rounding allows, {bound:.1} m²); the data on {date} \
                 differ between the two sheets",
                c.0, n.0
            )));
        }
        out.insert(code.clone(), diff);
    }
    Ok(out)
}

/// Stock of each class (opening: row sums; closing: column sums) with its count of non-zero cells.
fn stocks(acc: &LandAccount, opening: bool) -> BTreeMap<String, (i64, usize)> {
    let n = acc.classes.len();
    (0..n)
        .map(|i| {
            let cells: Vec<i64> = (0..n).map(|j| if opening { acc.matrix[i][j] } else { acc.matrix[j][i] }).collect();
            (acc.classes[i].code.clone(), (cells.iter().sum(), cells.iter().filter(|v| **v != 0).count()))
        })
        .filter(|(_, (v, k))| *v != 0 || *k != 0)
        .collect()
}

/// Add `diff` m² to the opening of class `code`: on its unchanged ground, else its largest change.
fn carry(cells: &mut BTreeMap<(String, String), i64>, code: &str, diff: i64) {
    let key = (code.to_string(), code.to_string());
    if cells.get(&key).is_some_and(|v| v + diff >= 0) {
        *cells.get_mut(&key).expect("present") += diff;
        return;
    }
    let largest = cells.iter().filter(|((f, _), v)| f == code && **v + diff >= 0).max_by_key(|(_, v)| **v);
    match largest.map(|(k, _)| k.clone()) {
        Some(k) => *cells.get_mut(&k).expect("present") += diff,
        // the class has no ground in this period's opening: it opens with the carried ground unchanged
        None => {
            cells.insert(key, diff.max(0));
        }
    }
}

/// The series tables: land stocks by class at every date, the other stocks at every date, and each year's
/// land account.
pub fn tables(s: &Series, u: super::tables::AreaUnit) -> Vec<Table> {
    let flag = |k: usize| match k {
        0 => String::new(),
        k if s.years[k - 1].missing => "（无当年数据）".into(),
        _ => String::new(),
    };
    let (l, d) = (u.label(), u.decimals());
    let cols: Vec<Col> =
        s.dates.iter().enumerate().map(|(k, date)| Col::new(&format!("{date}{}", flag(k)), date, l, d)).collect();
    // classes in the order of the first sheet, then any that appear later
    let mut classes: Vec<(String, String)> = Vec::new();
    for y in &s.years {
        for c in &y.sheet.land.classes {
            if !classes.iter().any(|(x, _)| x == &c.code) {
                classes.push((c.code.clone(), c.name.clone()));
            }
        }
    }
    let stock = |acc: &LandAccount, code: &str, opening: bool| {
        acc.classes
            .iter()
            .position(|c| c.code == code)
            .map_or(0, |i| if opening { acc.opening(i) } else { acc.closing(i) })
    };
    let at = |code: &str| -> Vec<i64> {
        std::iter::once(stock(&s.years[0].sheet.land, code, true))
            .chain(s.years.iter().map(|y| stock(&y.sheet.land, code, false)))
            .collect()
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut total = vec![0i64; s.dates.len()];
    for (code, name) in &classes {
        let v = at(code);
        for (t, x) in total.iter_mut().zip(&v) {
            *t += x;
        }
        rows.push(Row { code: code.clone(), name: name.clone(), values: v.iter().map(|x| Some(u.of(*x))).collect() });
    }
    rows.push(Row {
        code: String::new(),
        name: "合计 Total".into(),
        values: total.iter().map(|x| Some(u.of(*x))).collect(),
    });
    let mut notes: Vec<String> = s
        .years
        .iter()
        .filter(|y| y.missing)
        .map(|y| {
            format!(
                "{} 年无土地调查数据 (no survey dated in {} … {}): drawn from the data before it",
                y.year, y.from, y.to
            )
        })
        .collect();
    notes.push("每年期初等于上年期末 (checked): each year's opening is the year before's closing".into());
    let land = Table {
        id: "series_land".into(),
        title: "土地资源存量序列表".into(),
        title_en: "Land stocks by year".into(),
        code_header: crate::table::Header::new("编码", "Code"),
        name_header: crate::table::Header::new("名称", "Name"),
        columns: cols.clone(),
        rows,
        notes,
    };
    let mut out = vec![land, other_stocks(s)];
    for y in &s.years {
        let mut t = super::tables::land_table_of(&y.sheet, u);
        t.id = format!("land_{}", y.year);
        t.title = format!("{} {} 年", t.title, y.year);
        t.title_en = format!("{} {}", t.title_en, y.year);
        out.push(t);
    }
    out
}

/// The series as text: a heading, the tables, every year's notes.
pub fn render_text(s: &Series, tables: &[Table]) -> String {
    let p = &s.years[0].sheet.provenance;
    let mut out = format!(
        "自然资源资产负债表 年度序列 Natural resource asset balance sheets by year — {} {}, {} → {}\nregistry {} (sha256 {}…), nrledger {}\n\n",
        p.region,
        p.region_name,
        s.dates[0],
        s.dates[s.dates.len() - 1],
        p.registry,
        &p.registry_sha256[..12.min(p.registry_sha256.len())],
        p.tool_version
    );
    for t in tables {
        out.push_str(&t.render());
        out.push('\n');
    }
    for y in &s.years {
        for n in &y.sheet.notes {
            out.push_str(&format!("注 note {}: {n}\n", y.year));
        }
    }
    out
}

/// Control lines, prohibited use and forest stock volume at every date.
/// A stock of a sheet at its opening (true) or closing date.
type Stock = fn(&BalanceSheet, bool) -> Option<f64>;

fn other_stocks(s: &Series) -> Table {
    let cols: Vec<Col> = s.dates.iter().map(|d| Col::new(d, d, "", 4)).collect();
    let at = |f: &dyn Fn(&BalanceSheet, bool) -> Option<f64>| -> Vec<Option<f64>> {
        std::iter::once(f(&s.years[0].sheet, true)).chain(s.years.iter().map(|y| f(&y.sheet, false))).collect()
    };
    let mut rows = Vec::new();
    let zones: Vec<String> =
        s.years[0].sheet.liabilities.figures.zone_areas_m2.iter().map(|z| z.zone.clone()).collect();
    for zone in &zones {
        let values = at(&|sh: &BalanceSheet, open| {
            let z = sh.liabilities.figures.zone_areas_m2.iter().find(|z| &z.zone == zone)?;
            Some(if open { z.opening_m2 } else { z.closing_m2 }.hectares())
        });
        rows.push(Row { code: "zone".into(), name: format!("{zone} (公顷)"), values });
    }
    let values = at(&|sh: &BalanceSheet, open| {
        let p = sh.liabilities.figures.redline_prohibited_m2;
        Some(if open { p.opening } else { p.closing }.hectares())
    });
    rows.push(Row { code: "prohibited".into(), name: "红线内禁止用途 (公顷)".into(), values });
    let origins: Vec<String> = s.years[0].sheet.forest_volume.rows.iter().map(|r| r.origin.clone()).collect();
    for origin in origins {
        let values = at(&|sh: &BalanceSheet, open| {
            let fv = &sh.forest_volume;
            let has = if open { fv.stands.opening } else { fv.stands.closing } > 0;
            let r = fv.rows.iter().find(|r| r.origin == origin).filter(|_| has)?;
            Some(if open { r.opening_m3.0 } else { r.closing_m3.0 })
        });
        rows.push(Row { code: "forest_volume".into(), name: format!("森林蓄积量 {origin} (m³)"), values });
    }
    // the resources' stocks, and the 草畜平衡 when the livestock was given
    for (code, name, get) in [
        (
            "wetland",
            "湿地 (公顷)",
            (|sh: &BalanceSheet, open: bool| Some(sh.wetland.stock(!open) as f64 / 1e4)) as Stock,
        ),
        ("grassland", "草地 (公顷)", |sh, open| Some(sh.grassland.stock(!open) as f64 / 1e4)),
        ("grazing_capacity", "合理载畜量 (羊单位)", |sh, open| {
            sh.grazing.as_ref().map(|g| if open { g.capacity_su.opening } else { g.capacity_su.closing })
        }),
        ("grazing_stocking", "实际载畜量 (羊单位)", |sh, open| {
            sh.grazing.as_ref().and_then(|g| if open { g.stocking_su.opening } else { g.stocking_su.closing })
        }),
    ] {
        let values = at(&get);
        if code.starts_with("grazing") && values.iter().all(Option::is_none) {
            continue;
        }
        rows.push(Row { code: code.into(), name: name.into(), values });
    }
    Table {
        id: "series_other".into(),
        title: "其他资源存量序列表".into(),
        title_en: "Other stocks by year".into(),
        code_header: crate::table::Header::new("项目", "Item"),
        name_header: crate::table::Header::new("名称", "Name"),
        columns: cols,
        rows,
        notes: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenure_dates_step_through_year_ends() {
        let d = |s: &str| crate::model::parse_date(s).unwrap();
        let v: Vec<String> = tenure_dates(d("2019-06-30"), d("2022-03-31")).iter().map(|x| x.to_string()).collect();
        assert_eq!(v, ["2019-06-30", "2019-12-31", "2020-12-31", "2021-12-31", "2022-03-31"]);
        assert_eq!(tenure_dates(d("2019-12-31"), d("2020-12-31")).len(), 2);
        let y: Vec<String> = year_ends(2020, 2022).unwrap().iter().map(|x| x.to_string()).collect();
        assert_eq!(y, ["2019-12-31", "2020-12-31", "2021-12-31", "2022-12-31"]);
        assert!(year_ends(2022, 2020).is_err());
    }

    #[test]
    fn a_difference_is_carried_on_unchanged_ground_first() {
        let mut cells: BTreeMap<(String, String), i64> = [
            (("0101".into(), "0101".into()), 100),
            (("0101".into(), "0301".into()), 7),
            (("0301".into(), "0101".into()), 5),
        ]
        .into();
        carry(&mut cells, "0101", -1);
        assert_eq!(cells[&("0101".to_string(), "0101".to_string())], 99);
        // 0301 has no unchanged ground: its largest change takes it
        carry(&mut cells, "0301", 2);
        assert_eq!(cells[&("0301".to_string(), "0101".to_string())], 7);
    }

    fn account(classes: &[&str], matrix: Vec<Vec<i64>>) -> LandAccount {
        let classes = classes.iter().map(|c| super::super::ClassLabel { code: c.to_string(), name: String::new() });
        LandAccount { level: Level::Two, classes: classes.collect(), matrix }
    }

    /// A class that closes one year with more than its rounding apart from where it opens the next is a
    /// break; a difference within the rounding (half a m² a cell on either side, plus slivers) is carried.
    #[test]
    fn a_class_differing_beyond_its_rounding_breaks_the_series() {
        // the year before closes 0101 with 600 + 400 = 1 000 m² (two cells), 0301 with 500
        let prev = account(&["0101", "0301"], vec![vec![600, 0], vec![400, 500]]);
        // within the rounding: 0101 opens with 999 (bound 0.5 × (2 + 1) = 1.5), 0301 with 501
        let ok = account(&["0101", "0301"], vec![vec![999, 0], vec![0, 501]]);
        let carried = differences(&prev, &ok, 0.0, "2020-12-31").unwrap();
        assert_eq!(carried, BTreeMap::from([("0101".to_string(), 1), ("0301".to_string(), -1)]));
        // 0101 opens with 990: 10 m² is beyond 1.5 m²
        let broken = account(&["0101", "0301"], vec![vec![990, 0], vec![0, 510]]);
        let e = differences(&prev, &broken, 0.0, "2020-12-31").unwrap_err().to_string();
        assert!(e.contains("the series breaks on 2020-12-31: class 0101 closes the period before with 1000 m²"), "{e}");
        assert!(e.contains("opens the next with 990 m² (+10 m²"), "{e}");
        // the same difference inside the slivers the sheets left out is rounding, not a break
        assert_eq!(differences(&prev, &broken, 12.0, "2020-12-31").unwrap().len(), 2);
        // ground that moved to a class the year before did not have is a break too
        let moved = account(&["0101", "0301", "0701"], vec![vec![1000, 0, 0], vec![0, 480, 0], vec![0, 0, 20]]);
        let e = differences(&prev, &moved, 0.0, "2020-12-31").unwrap_err().to_string();
        assert!(e.contains("class 0301") && e.contains("(+20 m²"), "{e}");
    }
}
