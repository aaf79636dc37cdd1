//! The wetland (湿地) and grassland (草地) accounts: the land account restricted to one resource's classes, so
//! their stocks and changes are the land account's own whole square metres and add up the same way.
//!
//! - 湿地 by the 三调 classes under first-level 00 (0303 红树林地 … 1108 沼泽地), and by GB/T 24708 types
//!   through the `gbt24708` crosswalk of `layers/classes/crosswalks.csv` (which also counts the water
//!   surfaces 1101–1104 as wetland, as GB/T 24708 does);
//! - 草地 by the 04 classes (0402 沼泽草地 being wetland under 三调);
//! - each with the ground of other classes as one row (非本类 other land), so a class's increases say what
//!   it came from and the account's total is the region's;
//! - the share of each resource inside the red lines and the permanent basic farmland, at both dates.

use std::collections::HashMap;

use serde::Serialize;

use super::land::{ClassLabel, LandAccount};
use super::{OfWhich, OpeningClosing};
use crate::catalog::Catalog;
use crate::quantity::SquareMetres;

/// The grassland layer (草原) inside the region: area by 草地类 and by 草原等级 at both dates.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GrasslandLayer {
    /// Records inside the region at the opening and closing dates.
    pub records: OpeningClosing<usize>,
    /// By 草地类 (code, name).
    pub by_class: Vec<GroupRow>,
    /// By 草原等级 as delivered (the quality account).
    pub by_grade: Vec<GroupRow>,
}

/// One group of a grassland table.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GroupRow {
    /// Code (or value as delivered).
    pub code: String,
    /// Name.
    pub name: String,
    /// Area, m².
    pub area_m2: OpeningClosing<SquareMetres>,
}

/// Rows from areas by group at both dates, in code order; `name` names a code.
pub fn group_rows(
    open: &std::collections::BTreeMap<String, f64>,
    close: &std::collections::BTreeMap<String, f64>,
    name: &dyn Fn(&str) -> String,
) -> Vec<GroupRow> {
    let codes: std::collections::BTreeSet<&String> = open.keys().chain(close.keys()).collect();
    let mut rows: Vec<GroupRow> = codes
        .into_iter()
        .map(|c| GroupRow {
            code: c.clone(),
            name: name(c),
            area_m2: OpeningClosing {
                opening: SquareMetres(open.get(c).copied().unwrap_or(0.0)),
                closing: SquareMetres(close.get(c).copied().unwrap_or(0.0)),
            },
        })
        .collect();
    // numeric codes in numeric order
    rows.sort_by_key(|r| (r.code.parse::<u32>().unwrap_or(u32::MAX), r.code.clone()));
    rows
}

/// The row of an account holding the ground of every other class.
pub const OTHER: &str = "其他";

/// One resource's account.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ResourceAccount {
    /// 湿地 / 草地.
    pub resource: String,
    /// The classification of its rows (三调, GB/T 24708).
    pub scheme: String,
    /// The account: the resource's classes, then [`OTHER`].
    pub account: LandAccount,
    /// The resource inside each control zone at both dates, m².
    pub inside: Vec<Inside>,
}

/// A resource inside a control zone.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Inside {
    /// 生态保护红线 / 永久基本农田.
    pub zone: String,
    /// Its area inside, m².
    pub area_m2: OpeningClosing<SquareMetres>,
}

impl ResourceAccount {
    /// The resource's stock (every row but [`OTHER`]) at the opening or closing date, m².
    pub fn stock(&self, closing: bool) -> i64 {
        let a = &self.account;
        (0..a.classes.len())
            .filter(|&i| a.classes[i].code != OTHER)
            .map(|i| if closing { a.closing(i) } else { a.opening(i) })
            .sum()
    }
}

/// The land account at the second level restricted to the classes `class_of` names (the rest gathered as
/// [`OTHER`]), in the order of `order`.
pub fn restrict(
    level2: &LandAccount,
    class_of: &dyn Fn(&str) -> Option<ClassLabel>,
    order: &[ClassLabel],
) -> LandAccount {
    let label =
        |c: &str| class_of(c).unwrap_or_else(|| ClassLabel { code: OTHER.into(), name: "非本类 other land".into() });
    let mut classes: Vec<ClassLabel> = order.to_vec();
    for c in &level2.classes {
        let l = label(&c.code);
        if !classes.iter().any(|x| x.code == l.code) {
            classes.push(l);
        }
    }
    if let Some(k) = classes.iter().position(|c| c.code == OTHER) {
        let o = classes.remove(k);
        classes.push(o);
    } else {
        classes.push(ClassLabel { code: OTHER.into(), name: "非本类 other land".into() });
    }
    let pos: HashMap<String, usize> = classes.iter().enumerate().map(|(i, c)| (c.code.clone(), i)).collect();
    let n = classes.len();
    let mut matrix = vec![vec![0i64; n]; n];
    let to: Vec<usize> = level2.classes.iter().map(|c| pos[&label(&c.code).code]).collect();
    for (i, row) in level2.matrix.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            matrix[to[i]][to[j]] += v;
        }
    }
    LandAccount { level: level2.level, classes, matrix }
}

/// The wetland accounts (三调 classes, GB/T 24708 types) and the grassland account of a sheet.
pub fn accounts(
    level2: &LandAccount,
    of_which: &[OfWhich],
    catalog: &Catalog,
) -> (ResourceAccount, ResourceAccount, ResourceAccount) {
    let level1 = |c: &str| catalog.classes.crosswalk("level1", c).map(|x| x.code.clone());
    let own = |group: &'static str| {
        move |c: &str| {
            (level1(c).as_deref() == Some(group)).then(|| ClassLabel {
                code: c.to_string(),
                name: catalog.classes.landuse_name(c).unwrap_or("").to_string(),
            })
        }
    };
    let inside = |group: &str| -> Vec<Inside> {
        of_which
            .iter()
            .map(|o| {
                let r = o.level1.iter().find(|r| r.class.code == group);
                Inside {
                    zone: o.zone.clone(),
                    area_m2: OpeningClosing {
                        opening: r.map_or(SquareMetres(0.0), |r| r.opening_m2),
                        closing: r.map_or(SquareMetres(0.0), |r| r.closing_m2),
                    },
                }
            })
            .collect()
    };
    let wetland = ResourceAccount {
        resource: "湿地".into(),
        scheme: "三调".into(),
        account: restrict(level2, &own("00"), &[]),
        inside: inside("00"),
    };
    let types: Vec<ClassLabel> = catalog
        .classes
        .crosswalk_classes("gbt24708")
        .into_iter()
        .map(|c| ClassLabel { code: c.code.clone(), name: c.name.clone() })
        .collect();
    let gbt = |c: &str| {
        catalog.classes.crosswalk("gbt24708", c).map(|x| ClassLabel { code: x.code.clone(), name: x.name.clone() })
    };
    let wetland_types = ResourceAccount {
        resource: "湿地".into(),
        scheme: "GB/T 24708".into(),
        account: restrict(level2, &gbt, &types),
        inside: vec![],
    };
    let grassland = ResourceAccount {
        resource: "草地".into(),
        scheme: "三调".into(),
        account: restrict(level2, &own("04"), &[]),
        inside: inside("04"),
    };
    (wetland, wetland_types, grassland)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::Level;

    #[test]
    fn a_restricted_account_keeps_the_identities_and_the_total() {
        let l = |c: &str| ClassLabel { code: c.into(), name: String::new() };
        let level2 = LandAccount {
            level: Level::Two,
            classes: vec![l("0101"), l("1106"), l("1108"), l("0301")],
            // 0101 → 1106 12 m²; 1108 → 0301 5 m²; 1106 → 1108 3 m²
            matrix: vec![vec![100, 12, 0, 0], vec![0, 40, 3, 0], vec![0, 0, 20, 5], vec![0, 0, 0, 70]],
        };
        let wet = |c: &str| matches!(c, "1106" | "1108").then(|| l(c));
        let acc = restrict(&level2, &wet, &[l("1106"), l("1108")]);
        acc.verify().unwrap();
        let codes: Vec<&str> = acc.classes.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["1106", "1108", OTHER]);
        // 1106: 43 opening, +12 from other land, −3 to 1108 → 52; 1108: 25, +3, −5 → 23
        assert_eq!((acc.opening(0), acc.increase(0), acc.decrease(0), acc.closing(0)), (43, 12, 3, 52));
        assert_eq!((acc.opening(1), acc.increase(1), acc.decrease(1), acc.closing(1)), (25, 3, 5, 23));
        assert_eq!(acc.total(), level2.total());
        let r = ResourceAccount { resource: "湿地".into(), scheme: "三调".into(), account: acc, inside: vec![] };
        assert_eq!((r.stock(false), r.stock(true)), (68, 75));
    }
}
