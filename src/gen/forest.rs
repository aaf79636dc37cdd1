//! Forest stands (森林资源 小班, layer `XB`) of both vintages, derived from the forest parcels (03xx), and
//! the tabular inputs of the demo balance sheet: forest changes (growth and harvest by origin), water
//! statistics (illustrative bulletin-style figures, not the real ones of the county) and control targets.
//!
//! A 2019 stand's volume density comes from its class, origin and a per-cell draw; in 2020 every stand on
//! ground that stayed forest grows (人工林 4.5 %, 天然林 3 %), one 人工林 stand in 97 is harvested (80 % of
//! its volume), new forest (生态退耕) starts with none, and forest land converted to other uses loses its
//! stand. Split parcels keep their cell's density; a merged parcel takes the density of its first part —
//! the difference from the two parts' own volumes is what a balance sheet shows as 其他变化.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use geo::MultiPolygon;
use rand::Rng;

use super::{centre, round2, County, GenParcel, Zone};
use crate::error::{Error, Result};
use crate::model::{FieldType, Value};

/// One stand.
struct Stand {
    seq: u64,
    geometry: MultiPolygon<f64>,
    dlbm: &'static str,
    origin: &'static str,
    species: &'static str,
    age: i64,
    area: f64,
    volume: f64,
}

/// Both vintages' stands and the changes between them.
pub(super) struct Forest {
    v1: Vec<Stand>,
    v2: Vec<Stand>,
    /// (origin, item, volume m³, area ha) rows of 2020.
    changes: Vec<(&'static str, &'static str, f64, Option<f64>)>,
}

fn rate(origin: &str) -> f64 {
    if origin == "天然" {
        0.03
    } else {
        0.045
    }
}

/// (origin, species, density m³/ha, age) of a forest parcel in 2019.
fn describe(c: &County, p: &GenParcel) -> (&'static str, &'static str, f64, i64) {
    let mut r = c.fields.cell_rng(p.cell, 7);
    let h = c.fields.height(centre(p));
    let age = r.random_range(8..60);
    match p.dlbm {
        "0301" if h > 0.9 => ("天然", "阔叶混交林", 80.0 + 60.0 * r.random::<f64>(), age),
        "0301" => ("人工", if r.random_bool(0.6) { "杉木" } else { "马尾松" }, 50.0 + 50.0 * r.random::<f64>(), age),
        "0302" => ("人工", "毛竹", 0.0, age),
        "0305" => ("天然", "灌木", 0.0, age),
        _ => ("人工", "其他", 0.0, age.min(10)),
    }
}

/// The stands of both vintages (`v2` is the delivered 2020 parcel set, defects included).
pub(super) fn stands(c: &County, v2: &[GenParcel]) -> Result<Forest> {
    let forest = |p: &&GenParcel| p.dlbm.starts_with("03");
    let mut by_cell: HashMap<(i64, i64), (&'static str, &'static str, f64, i64)> = HashMap::new();
    let mut v1 = Vec::new();
    for p in c.vintages[0].iter().filter(forest) {
        let d = describe(c, p);
        by_cell.entry(p.cell).or_insert(d);
        v1.push(Stand {
            seq: p.seq,
            geometry: p.geometry.clone(),
            dlbm: p.dlbm,
            origin: d.0,
            species: d.1,
            age: d.3,
            area: p.area,
            volume: d.2 * p.area / 1e4,
        });
    }
    let mut growth: HashMap<&str, f64> = HashMap::new();
    let mut harvest: HashMap<&str, f64> = HashMap::new();
    let mut new_area = 0.0;
    let mut out = Vec::new();
    for p in v2.iter().filter(forest) {
        match by_cell.get(&p.cell) {
            Some(&(origin, species, density, age)) => {
                let opening = density * p.area / 1e4;
                let grown = opening * (1.0 + rate(origin));
                *growth.entry(origin).or_default() += grown - opening;
                let cut = origin == "人工" && density > 0.0 && p.seq % 97 == 0;
                let volume = if cut { grown * 0.2 } else { grown };
                if cut {
                    *harvest.entry(origin).or_default() += grown - volume;
                }
                out.push(Stand {
                    seq: p.seq,
                    geometry: p.geometry.clone(),
                    dlbm: p.dlbm,
                    origin,
                    species,
                    age: age + 1,
                    area: p.area,
                    volume,
                });
            }
            None => {
                // new forest land: a young planted stand with no volume yet
                new_area += p.area;
                out.push(Stand {
                    seq: p.seq,
                    geometry: p.geometry.clone(),
                    dlbm: p.dlbm,
                    origin: "人工",
                    species: "杉木",
                    age: 1,
                    area: p.area,
                    volume: 0.0,
                });
            }
        }
    }
    let mut changes = Vec::new();
    for o in ["天然", "人工"] {
        changes.push((o, "生长量", growth.get(o).copied().unwrap_or(0.0).round(), None));
        changes.push((o, "采伐", harvest.get(o).copied().unwrap_or(0.0).round(), None));
    }
    changes.push(("人工", "造林", 0.0, Some((new_area / 1e4 * 100.0).round() / 100.0)));
    Ok(Forest { v1, v2: out, changes })
}

/// The columns of the XB layer.
pub(super) fn columns() -> Vec<(&'static str, FieldType)> {
    vec![
        ("XBH", FieldType::Text),
        ("DLBM", FieldType::Text),
        ("QY", FieldType::Text),
        ("YSSZ", FieldType::Text),
        ("LZ", FieldType::Text),
        ("LL", FieldType::Integer),
        ("XBMJ", FieldType::Real),
        ("XJ", FieldType::Real),
        ("XZQDM", FieldType::Text),
    ]
}

impl Forest {
    /// Rows of the XB layer for a vintage year (2019 or 2020) of county `code`: stand ids start with the
    /// county code (unique across a province) and XZQDM names the county (a county delivery's scope).
    pub(super) fn layer(&self, year: i64, code: &str) -> Vec<(MultiPolygon<f64>, Vec<Value>)> {
        let stands = if year <= 2019 { &self.v1 } else { &self.v2 };
        stands
            .iter()
            .map(|s| {
                (
                    s.geometry.clone(),
                    vec![
                        Value::Text(format!("{code}XB{:08}", s.seq)),
                        Value::Text(s.dlbm.into()),
                        Value::Text(s.origin.into()),
                        Value::Text(s.species.into()),
                        Value::Text(if s.origin == "天然" { "防护林" } else { "用材林" }.into()),
                        Value::Int(s.age),
                        Value::Real(round2(s.area)),
                        Value::Real(round2(s.volume)),
                        Value::Text(code.to_string()),
                    ],
                )
            })
            .collect()
    }

    fn harvest(&self) -> f64 {
        self.changes.iter().filter(|c| c.1 == "采伐").map(|c| c.2).sum()
    }
}

/// Write `forest-changes.csv`, `water.csv` and `targets.toml` beside the seed deliveries.
pub(super) fn write_tables(c: &County, f: &Forest, farmland: &[Zone], dir: &Path) -> Result<Vec<PathBuf>> {
    let code = &c.code;
    let write = |name: &str, text: String| -> Result<PathBuf> {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
        Ok(p)
    };
    let mut fc = String::from("行政区代码,年份,起源,项目,蓄积量,面积\n");
    for (o, item, v, a) in &f.changes {
        fc.push_str(&format!("{code},2020,{o},{item},{v},{}\n", a.map(|x| x.to_string()).unwrap_or_default()));
    }
    // water: illustrative figures in the style of a county water-resources bulletin (万 m³)
    let mut w = String::from("行政区代码,年份,类别,项目,数值\n");
    let rows: [(&str, &str, f64); 29] = [
        ("地表水", "期初存量", 15000.0),
        ("地表水", "降水径流", 175000.0),
        ("地表水", "入境水量", 2000.0),
        ("地表水", "回归水", 1500.0),
        ("地表水", "农业取水", 9000.0),
        ("地表水", "工业取水", 4500.0),
        ("地表水", "生活取水", 3000.0),
        ("地表水", "生态取水", 800.0),
        ("地表水", "出境水量", 158000.0),
        ("地表水", "蒸发损失", 2200.0),
        ("地表水", "期末存量", 16000.0),
        ("地下水", "期初存量", 30000.0),
        ("地下水", "降水入渗补给", 35000.0),
        ("地下水", "侧向流入", 500.0),
        ("地下水", "回归补给", 300.0),
        ("地下水", "农业取水", 200.0),
        ("地下水", "工业取水", 100.0),
        ("地下水", "生活取水", 150.0),
        ("地下水", "生态取水", 0.0),
        ("地下水", "侧向流出", 400.0),
        ("地下水", "潜水蒸发", 1200.0),
        ("地下水", "河道排泄", 33500.0),
        ("地下水", "期末存量", 30250.0),
        ("水质", "Ⅰ类", 3.0),
        ("水质", "Ⅱ类", 14.0),
        ("水质", "Ⅲ类", 4.0),
        ("水质", "Ⅳ类", 1.0),
        ("水质", "Ⅴ类", 0.0),
        ("水质", "劣Ⅴ类", 0.0),
    ];
    for (a, i, v) in rows {
        w.push_str(&format!("{code},2020,{a},{i},{v}\n"));
    }
    let farm_ha: f64 = farmland.iter().map(|z| z.attrs[2].as_f64().unwrap_or(0.0)).sum::<f64>() / 1e4;
    let v1 = &c.vintages[0];
    let cultivated_ha: f64 = v1.iter().filter(|p| p.dlbm.starts_with("01")).map(|p| p.area).sum::<f64>() / 1e4;
    let built = |d: &str| ["05", "06", "07", "08", "09", "10"].iter().any(|p| d.starts_with(p));
    let construction_ha: f64 = v1.iter().filter(|p| built(p.dlbm)).map(|p| p.area).sum::<f64>() / 1e4;
    let targets = format!(
        "# Control targets (管控指标) of the demo county, for the balance sheet's liabilities and the audit.\n\
         # Illustrative: derived from the generated 2019 data, not the county's real targets.\n\n\
         [regions.\"{code}\"]\n\
         permanent_farmland_ha = {:.0}            # 永久基本农田保护目标\n\
         cultivated_land_ha = {:.0}               # 耕地保有量目标\n\
         construction_land_cap_ha = {:.0}         # 建设用地总规模上限\n\
         groundwater_cap_10k_m3_per_year = 400    # 地下水取水总量控制指标 (万 m³ per year)\n\
         water_use_cap_10k_m3_per_year = 18000    # 用水总量控制指标 (万 m³ per year)\n\
         harvest_quota_m3_per_year = {:.0}         # 森林采伐限额 (m³ per year)\n\
         forest_coverage_pct = 88.0               # 森林覆盖率目标 (%)\n\
         water_quality_good_pct = 90.0            # Ⅰ–Ⅲ类水质断面比例目标 (%)\n\n\
         # The audit (nrledger audit) scores the indicators of layers/rules/indicators.toml against these\n\
         # targets; an office's own evaluation system goes in a [system] table here or in --rules DIR.\n\
         # Values the registry cannot compute go in [regions.\"{code}\".inputs], the auditor's scores of\n\
         # judged items (with a note) in [regions.\"{code}\".judgements.CODE].\n",
        farm_ha.ceil() + 5.0,
        (cultivated_ha - 150.0).floor(),
        (construction_ha + 60.0).round(),
        (f.harvest() * 0.9 / 100.0).round() * 100.0,
    );
    Ok(vec![write("forest-changes.csv", fc)?, write("water.csv", w)?, write("targets.toml", targets)?])
}
