//! The sheet as report tables, in the official layouts: 土地资源存量及变动表, 土地利用转移矩阵, 其中 (红线内,
//! 永久基本农田内), 耕地质量等别, 林地面积变动表, 林木资源存量及变动表, 水资源存量及变动表, 水域面积, 水质, 负债表.

use super::{land::LandAccount, BalanceSheet, OpeningClosing};
use crate::quantity::SquareMetres;
use crate::table::{Col, Row, Table};

/// Area unit of the land tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AreaUnit {
    /// 公顷 (hectares, 4 decimals: whole square metres).
    #[default]
    Ha,
    /// 亩 (4 decimals: whole square metres).
    Mu,
    /// Square metres.
    M2,
}

impl AreaUnit {
    pub(crate) fn label(self) -> &'static str {
        match self {
            AreaUnit::Ha => "公顷",
            AreaUnit::Mu => "亩",
            AreaUnit::M2 => "m²",
        }
    }
    /// Convert whole square metres (exactly representable to 4 decimals in every unit).
    pub(crate) fn of(self, m2: i64) -> f64 {
        match self {
            AreaUnit::Ha => m2 as f64 / 1e4,
            AreaUnit::Mu => (m2 * 15) as f64 / 1e4,
            AreaUnit::M2 => m2 as f64,
        }
    }
    fn of_f(self, a: SquareMetres) -> f64 {
        self.of(a.0.round() as i64)
    }
    pub(crate) fn decimals(self) -> usize {
        if self == AreaUnit::M2 {
            0
        } else {
            4
        }
    }
}

fn table(id: &str, title: &str, title_en: &str, columns: Vec<Col>, rows: Vec<Row>) -> Table {
    Table {
        id: id.into(),
        title: title.into(),
        title_en: title_en.into(),
        code_header: crate::table::Header::new("编码", "Code"),
        name_header: crate::table::Header::new("名称", "Name"),
        columns,
        rows,
        notes: vec![],
    }
}

fn land_table(
    acc: &LandAccount,
    u: AreaUnit,
    id: &str,
    title: &str,
    title_en: &str,
    filter: impl Fn(&str) -> bool,
) -> Table {
    let (l, d) = (u.label(), u.decimals());
    let cols = vec![
        Col::new("期初存量", "Opening stock", l, d),
        Col::new("本期增加", "Increases", l, d),
        Col::new("本期减少", "Decreases", l, d),
        Col::new("期末存量", "Closing stock", l, d),
        Col::new("净变化", "Net change", l, d),
    ];
    let mut rows = Vec::new();
    let mut tot = [0i64; 5];
    for (i, c) in acc.classes.iter().enumerate() {
        if !filter(&c.code) {
            continue;
        }
        let v = [acc.opening(i), acc.increase(i), acc.decrease(i), acc.closing(i), acc.closing(i) - acc.opening(i)];
        for k in 0..5 {
            tot[k] += v[k];
        }
        rows.push(Row {
            code: c.code.clone(),
            name: c.name.clone(),
            values: v.iter().map(|x| Some(u.of(*x))).collect(),
        });
    }
    rows.push(Row {
        code: String::new(),
        name: "合计 Total".into(),
        values: tot.iter().map(|x| Some(u.of(*x))).collect(),
    });
    table(id, title, title_en, cols, rows)
}

/// All tables of a sheet.
pub fn tables(s: &BalanceSheet, u: AreaUnit) -> Vec<Table> {
    let mut out = vec![land_overview(s, u), matrix_table(&s.land, u), of_which_table(s, u)];
    out.extend(quality_table(s, u));
    out.extend(causes_table(s, u));
    out.push(land_table(
        &s.land_level2,
        u,
        "forest_area",
        "林地面积变动表",
        "Forest land: area by class",
        |c| c.starts_with("03"),
    ));
    out.push(forest_volume_table(s));
    for (acc, id, title, en) in [
        (&s.wetland, "wetland", "湿地资源存量及变动表（三调地类）", "Wetland: stocks and changes by 三调 class"),
        (
            &s.wetland_types,
            "wetland_types",
            "湿地资源存量及变动表（GB/T 24708 类型）",
            "Wetland: stocks and changes by GB/T 24708 type",
        ),
        (&s.grassland, "grassland", "草地资源存量及变动表", "Grassland: stocks and changes by class"),
    ] {
        out.push(resource_table(acc, u, id, title, en));
    }
    if let Some(g) = &s.grassland_layer {
        out.push(group_table(
            &g.by_class,
            u,
            "grassland_classes",
            "草原类型面积表",
            "Grassland survey: area by 草地类",
            ("草地类", "Class"),
        ));
        out.push(group_table(
            &g.by_grade,
            u,
            "grassland_grades",
            "草原等级面积表",
            "Grassland survey: area by grade (quality)",
            ("草原等级", "Grade"),
        ));
    }
    out.extend(s.grazing.as_ref().map(|g| grazing_table(g, u)));
    out.push(resources_inside_table(s, u));
    out.extend(water_tables(s));
    out.push(water_area_table(s, u));
    out.push(liabilities_table(s));
    out
}

/// The sheet's 土地资源存量及变动表 (at its level), with its heading note.
pub fn land_table_of(s: &BalanceSheet, u: AreaUnit) -> Table {
    land_overview(s, u)
}

/// 土地资源存量及变动表 with its heading note.
fn land_overview(s: &BalanceSheet, u: AreaUnit) -> Table {
    let acc = &s.land;
    let mut t = land_table(acc, u, "land", "土地资源存量及变动表", "Land: stocks and changes", |_| true);
    t.notes.push(format!(
        "期初 {} · 期末 {} · 区域 {} {} · 分类 level {} · 面积为椭球面积, 田坎按扣除系数计入 1203",
        s.provenance.from,
        s.provenance.to,
        s.provenance.region,
        s.provenance.region_name,
        acc.level.label()
    ));
    t
}

/// 土地利用转移矩阵: rows from, columns to, with totals.
fn matrix_table(acc: &LandAccount, u: AreaUnit) -> Table {
    let (l, d) = (u.label(), u.decimals());
    let mut cols: Vec<Col> = acc
        .classes
        .iter()
        .map(|c| Col::new(&format!("{} {}", c.code, c.name), &format!("to {}", c.code), l, d))
        .collect();
    cols.push(Col::new("期初合计", "Opening total", l, d));
    let mut rows: Vec<Row> = acc
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| Row {
            code: c.code.clone(),
            name: c.name.clone(),
            values: acc.matrix[i].iter().map(|x| Some(u.of(*x))).chain([Some(u.of(acc.opening(i)))]).collect(),
        })
        .collect();
    rows.push(Row {
        code: String::new(),
        name: "期末合计 Closing total".into(),
        values: (0..acc.classes.len()).map(|j| Some(u.of(acc.closing(j)))).chain([Some(u.of(acc.total()))]).collect(),
    });
    let mut m = table(
        "matrix",
        "土地利用转移矩阵",
        "Land-use transition matrix (rows: opening class, columns: closing class)",
        cols,
        rows,
    );
    m.code_header = crate::table::Header::new("期初\\期末", "From \\ to");
    m
}

/// The English name of a control zone.
pub fn zone_en(zone: &str) -> &'static str {
    match zone {
        super::REDLINES => "ecological red lines",
        super::FARMLAND => "permanent basic farmland",
        super::URBAN => "the urban development boundary",
        _ => "protected areas",
    }
}

/// 其中: area by class inside the red lines and the permanent basic farmland (and the protected areas when
/// the registry has them).
fn of_which_table(s: &BalanceSheet, u: AreaUnit) -> Table {
    let (l, d) = (u.label(), u.decimals());
    let acc = &s.land;
    let mut cols = Vec::new();
    for o in &s.of_which {
        let en = zone_en(&o.zone);
        cols.push(Col::new(&format!("{}内期初", o.zone), &format!("Inside {en}, opening"), l, d));
        cols.push(Col::new(&format!("{}内期末", o.zone), &format!("Inside {en}, closing"), l, d));
        cols.push(Col::new(&format!("{}内净变化", o.zone), &format!("Inside {en}, net change"), l, d));
    }
    let mut rows: Vec<Row> = acc
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| Row {
            code: c.code.clone(),
            name: c.name.clone(),
            values: s
                .of_which
                .iter()
                .flat_map(|o| {
                    [
                        Some(u.of_f(o.rows[i].opening_m2)),
                        Some(u.of_f(o.rows[i].closing_m2)),
                        Some(u.of_f(o.rows[i].closing_m2) - u.of_f(o.rows[i].opening_m2)),
                    ]
                })
                .collect(),
        })
        .collect();
    let n = rows.first().map_or(0, |r| r.values.len());
    let tot: Vec<Option<f64>> = (0..n).map(|k| Some(rows.iter().map(|r| r.values[k].unwrap_or(0.0)).sum())).collect();
    rows.push(Row { code: String::new(), name: "合计 Total".into(), values: tot });
    let zones: Vec<&str> = s.of_which.iter().map(|o| o.zone.as_str()).collect();
    let en: Vec<&str> = zones.iter().map(|z| zone_en(z)).collect();
    table(
        "of_which",
        &format!("其中：{}内", zones.join("内、")),
        &format!("Of which: inside {}", en.join(", ")),
        cols,
        rows,
    )
}

/// 耕地质量等别面积表, when the sheet has quality grades.
fn quality_table(s: &BalanceSheet, u: AreaUnit) -> Option<Table> {
    let (l, d) = (u.label(), u.decimals());
    let q = s.quality.as_ref()?;
    let cols = vec![
        Col::new("期初", "Opening", l, d),
        Col::new("期末", "Closing", l, d),
        Col::new("净变化", "Net change", l, d),
    ];
    let rows = q
        .iter()
        .map(|(g, OpeningClosing { opening: a, closing: b })| Row {
            code: if *g == 0 { String::new() } else { g.to_string() },
            name: if *g == 0 { "未评定 (no grade)".into() } else { format!("{g}等") },
            values: vec![
                Some(u.of_f(SquareMetres(*a))),
                Some(u.of_f(SquareMetres(*b))),
                Some(u.of_f(SquareMetres(*b)) - u.of_f(SquareMetres(*a))),
            ],
        })
        .collect();
    Some(table("quality", "耕地质量等别面积表", "Cultivated land by quality grade (1 best … 15)", cols, rows))
}

/// 变化原因表, when the closing parcels give causes.
fn causes_table(s: &BalanceSheet, u: AreaUnit) -> Option<Table> {
    let (l, d) = (u.label(), u.decimals());
    if s.causes.is_empty() {
        return None;
    }
    let cols = vec![
        Col::new("耕地增加", "Cultivated land gained", l, d),
        Col::new("耕地减少", "Cultivated land lost", l, d),
        Col::new("湿地增加", "Wetland gained", l, d),
        Col::new("湿地减少", "Wetland lost", l, d),
        Col::new("草地增加", "Grassland gained", l, d),
        Col::new("草地减少", "Grassland lost", l, d),
        Col::new("地类变化合计", "All class changes", l, d),
    ];
    let mut rows: Vec<Row> = s
        .causes
        .iter()
        .map(|c| Row {
            code: c.nature.clone(),
            name: c.cause.clone(),
            values: vec![
                Some(u.of_f(c.cultivated_increase_m2)),
                Some(u.of_f(c.cultivated_decrease_m2)),
                Some(u.of_f(c.wetland_increase_m2)),
                Some(u.of_f(c.wetland_decrease_m2)),
                Some(u.of_f(c.grassland_increase_m2)),
                Some(u.of_f(c.grassland_decrease_m2)),
                Some(u.of_f(c.changed_m2)),
            ],
        })
        .collect();
    for nature in ["人为", "自然", "未注明"] {
        let sel: Vec<&super::CauseRow> = s.causes.iter().filter(|c| c.nature == nature).collect();
        if !sel.is_empty() {
            rows.push(Row {
                code: nature.into(),
                name: format!("{nature}小计 subtotal"),
                values: vec![
                    Some(u.of_f(sel.iter().map(|c| c.cultivated_increase_m2).sum())),
                    Some(u.of_f(sel.iter().map(|c| c.cultivated_decrease_m2).sum())),
                    Some(u.of_f(sel.iter().map(|c| c.wetland_increase_m2).sum())),
                    Some(u.of_f(sel.iter().map(|c| c.wetland_decrease_m2).sum())),
                    Some(u.of_f(sel.iter().map(|c| c.grassland_increase_m2).sum())),
                    Some(u.of_f(sel.iter().map(|c| c.grassland_decrease_m2).sum())),
                    Some(u.of_f(sel.iter().map(|c| c.changed_m2).sum())),
                ],
            });
        }
    }
    let mut t = table("causes", "变化原因表", "Changes by cause (human / natural)", cols, rows);
    t.code_header = crate::table::Header::new("性质", "Nature");
    t.name_header = crate::table::Header::new("变更原因", "Cause");
    t.notes.push("原因取期末图斑的变更原因 (BGYY); 耕地增减与土地资源存量及变动表一致; 湿地为三调 00 类, 草地为 04 类 (0402 沼泽草地属湿地)".into());
    Some(t)
}

/// A resource account's table: its classes (not the other land) and their total.
fn resource_table(r: &super::resources::ResourceAccount, u: AreaUnit, id: &str, title: &str, en: &str) -> Table {
    let mut t = land_table(&r.account, u, id, title, en, |c| c != super::resources::OTHER);
    t.notes.push(format!(
        "{}：本期增加含自其他地类转入，本期减少含转为其他地类 (increases include ground from other land, decreases ground \
         that left it); 分类 {}",
        r.resource, r.scheme
    ));
    t
}

/// Areas by group at both dates, with the change and a total.
fn group_table(
    rows: &[super::resources::GroupRow],
    u: AreaUnit,
    id: &str,
    title: &str,
    en: &str,
    header: (&str, &str),
) -> Table {
    let (l, d) = (u.label(), u.decimals());
    let cols =
        vec![Col::new("期初", "Opening", l, d), Col::new("期末", "Closing", l, d), Col::new("变化", "Change", l, d)];
    let mut out: Vec<Row> = rows
        .iter()
        .map(|r| {
            let (a, b) = (u.of_f(r.area_m2.opening), u.of_f(r.area_m2.closing));
            Row { code: r.code.clone(), name: r.name.clone(), values: vec![Some(a), Some(b), Some(b - a)] }
        })
        .collect();
    let tot: Vec<Option<f64>> = (0..3).map(|k| Some(out.iter().map(|r| r.values[k].unwrap_or(0.0)).sum())).collect();
    out.push(Row { code: String::new(), name: "合计 Total".into(), values: tot });
    let mut t = table(id, title, en, cols, out);
    t.code_header = crate::table::Header::new(header.0, header.1);
    t.notes.push("草原图斑在区域内的椭球面积 (the grassland layer's polygons inside the region, ellipsoidal)".into());
    t
}

/// 草畜平衡表: capacity by class, stocking by kind, the balance, at both dates.
fn grazing_table(g: &super::grazing::Grazing, u: AreaUnit) -> Table {
    let (l, d) = (u.label(), u.decimals());
    let cols = vec![
        Col::new("期初面积/存栏", "Opening area / head", "", d),
        Col::new("期末面积/存栏", "Closing area / head", "", d),
        Col::new("折算系数", "Factor", "羊单位/公顷 · 羊单位/头", 4),
        Col::new("期初羊单位", "Opening", "羊单位", 1),
        Col::new("期末羊单位", "Closing", "羊单位", 1),
    ];
    let mut rows: Vec<Row> = g
        .capacity
        .iter()
        .map(|c| {
            let per_ha = match c.area_m2.closing.0 > 0.0 {
                true => c.capacity_su.closing / c.area_m2.closing.hectares(),
                false => c.capacity_su.opening / c.area_m2.opening.hectares(),
            };
            Row {
                code: c.class.code.clone(),
                name: format!("{}（面积 {l} → 理论载畜量）", c.class.name),
                values: vec![
                    Some(u.of_f(c.area_m2.opening)),
                    Some(u.of_f(c.area_m2.closing)),
                    per_ha.is_finite().then_some(per_ha),
                    Some(c.capacity_su.opening),
                    Some(c.capacity_su.closing),
                ],
            }
        })
        .collect();
    let total = |name: &str, v: [Option<f64>; 2]| Row {
        code: String::new(),
        name: name.into(),
        values: vec![None, None, None, v[0], v[1]],
    };
    rows.push(total("合理载畜量 Capacity", [Some(g.capacity_su.opening), Some(g.capacity_su.closing)]));
    rows.extend(g.stocking.iter().map(|s| Row {
        code: s.kind.clone(),
        name: format!("{} 存栏（头/只）", s.kind),
        values: vec![
            Some(s.head.opening),
            Some(s.head.closing),
            Some(s.sheep_units),
            Some(s.su.opening),
            Some(s.su.closing),
        ],
    }));
    rows.push(total("实际载畜量 Stocking", [g.stocking_su.opening, g.stocking_su.closing]));
    rows.push(total("超载（羊单位）Over capacity", [g.overload_su.opening, g.overload_su.closing]));
    rows.push(total("超载率（%）Overload rate", [g.overload_rate_pct.opening, g.overload_rate_pct.closing]));
    let mut t = table("grazing", "草畜平衡表", "Forage–livestock balance (草畜平衡)", cols, rows);
    t.code_header = crate::table::Header::new("地类/畜种", "Class / kind");
    t.notes.push(g.basis.clone());
    t.notes.push(format!(
        "存栏: {} 年末 (opening), {} 年末 (closing); 超载率 = (实际 − 合理) / 合理 × 100",
        g.years.opening, g.years.closing
    ));
    t
}

/// 湿地、草地 inside the red lines, the permanent basic farmland and the protected areas, with their shares.
fn resources_inside_table(s: &BalanceSheet, u: AreaUnit) -> Table {
    let (l, d) = (u.label(), u.decimals());
    let mut cols = vec![Col::new("期初面积", "Opening", l, d), Col::new("期末面积", "Closing", l, d)];
    for z in &s.wetland.inside {
        let en = zone_en(&z.zone);
        cols.push(Col::new(&format!("{}内期初", z.zone), &format!("Inside {en}, opening"), l, d));
        cols.push(Col::new(&format!("{}内期末", z.zone), &format!("Inside {en}, closing"), l, d));
        cols.push(Col::new(&format!("{}内比例期初", z.zone), &format!("Share inside {en}, opening"), "%", 2));
        cols.push(Col::new(&format!("{}内比例期末", z.zone), &format!("Share inside {en}, closing"), "%", 2));
    }
    let rows = [(&s.wetland, "00"), (&s.grassland, "04")]
        .into_iter()
        .map(|(r, code)| {
            let (a, b) = (r.stock(false) as f64, r.stock(true) as f64);
            let share = |x: f64, of: f64| (of > 0.0).then(|| 100.0 * x / of);
            let mut values = vec![Some(u.of(r.stock(false))), Some(u.of(r.stock(true)))];
            for z in &r.inside {
                let (x, y) = (z.area_m2.opening.0, z.area_m2.closing.0);
                values.extend([Some(u.of_f(SquareMetres(x))), Some(u.of_f(SquareMetres(y))), share(x, a), share(y, b)]);
            }
            Row { code: code.into(), name: r.resource.clone(), values }
        })
        .collect();
    let mut t = table(
        "resources_inside",
        "湿地、草地保护情况",
        "Wetland and grassland inside the control zones (red lines, permanent basic farmland, protected areas)",
        cols,
        rows,
    );
    t.notes.push("控制线内面积为叠加计算的椭球面积 (ellipsoidal overlay areas); 比例 = 控制线内面积 / 资源面积".into());
    t
}

/// 林木资源存量及变动表 by origin.
fn forest_volume_table(s: &BalanceSheet) -> Table {
    let fv = &s.forest_volume;
    let cols = vec![
        Col::new("期初面积", "Opening stand area", "公顷", 4),
        Col::new("期初蓄积", "Opening volume", "m³", 0),
        Col::new("生长量", "Growth", "m³", 0),
        Col::new("造林", "Afforestation", "m³", 0),
        Col::new("采伐", "Harvest", "m³", 0),
        Col::new("转为非林地", "Converted to other uses", "m³", 0),
        Col::new("灾害", "Disaster losses", "m³", 0),
        Col::new("其他变化", "Other changes in volume", "m³", 0),
        Col::new("期末蓄积", "Closing volume", "m³", 0),
        Col::new("期末面积", "Closing stand area", "公顷", 4),
        Col::new("期初单位蓄积", "Opening volume per ha", "m³/公顷", 2),
        Col::new("期末单位蓄积", "Closing volume per ha", "m³/公顷", 2),
    ];
    let rows = fv
        .rows
        .iter()
        .map(|r| Row {
            code: r.origin.clone(),
            // the rows of the origins, then the total
            name: super::inputs::Origin::ALL
                .into_iter()
                .find(|o| o.label() == r.origin)
                .map_or("合计 Total", |o| o.row_name())
                .into(),
            values: vec![
                Some(r.opening_area_m2.hectares()),
                Some(r.opening_m3.0),
                Some(r.growth_m3.0),
                Some(r.afforestation_m3.0),
                Some(r.harvest_m3.0),
                Some(r.conversion_m3.0),
                Some(r.disaster_m3.0),
                Some(r.other_m3.0),
                Some(r.closing_m3.0),
                Some(r.closing_area_m2.hectares()),
                Some(r.opening_per_ha()),
                Some(r.closing_per_ha()),
            ],
        })
        .collect();
    let mut t =
        table("forest_volume", "林木资源存量及变动表", "Timber: stock volume and changes by origin", cols, rows);
    t.code_header = crate::table::Header::new("起源", "Origin");
    t.notes.push("期初蓄积 + 生长量 + 造林 − 采伐 − 转为非林地 − 灾害 + 其他变化 = 期末蓄积; 其他变化 is the balancing item (SEEA other changes in volume)".into());
    t
}

/// 水资源存量及变动表 and the water-quality shares, when the sheet has water statistics.
fn water_tables(s: &BalanceSheet) -> Vec<Table> {
    let Some(w) = &s.water else { return vec![] };
    let mut out = Vec::new();
    let cols = vec![
        Col::new("地表水", "Surface water", "万m³", 2),
        Col::new("地下水", "Groundwater", "万m³", 2),
        Col::new("合计", "Total", "万m³", 2),
    ];
    let rows = w
        .lines
        .iter()
        .map(|super::water::WaterLine { item, kind, item_en: en, surface, ground }| {
            let v = [surface.map(|q| q.0), ground.map(|q| q.0)];
            use super::inputs::WaterKind;
            let sign = match kind {
                WaterKind::Increase => "＋",
                WaterKind::Decrease => "－",
                WaterKind::Opening | WaterKind::Closing | WaterKind::Quality => "",
            };
            let total = v[0].unwrap_or(0.0) + v[1].unwrap_or(0.0);
            Row {
                code: format!("{kind:?}").to_lowercase(),
                name: format!("{sign}{item} {en}"),
                values: vec![v[0], v[1], Some(total)],
            }
        })
        .collect();
    let mut t = table("water", "水资源存量及变动表", "Water: stocks and flows", cols, rows);
    t.notes.push(format!("years {:?}; 期末存量 = 期初存量 + increases − decreases", w.years));
    out.push(t);
    if !w.quality.is_empty() {
        let total: f64 = w.quality.iter().map(|q| q.sections).sum();
        let cols = vec![Col::new("断面数", "Sections", "个", 0), Col::new("比例", "Share", "%", 1)];
        let rows = w
            .quality
            .iter()
            .map(|super::water::QualityCount { class: c, sections: n }| Row {
                code: c.clone(),
                name: format!("{c}水质"),
                values: vec![Some(*n), (total > 0.0).then(|| 100.0 * n / total)],
            })
            .collect();
        let mut t = table(
            "water_quality",
            "地表水水质断面比例",
            "Surface-water quality: share of assessed sections",
            cols,
            rows,
        );
        if let (Some(y), Some(g)) = (w.quality_year, w.good_share()) {
            t.notes.push(format!("{y} 年; Ⅰ–Ⅲ 类比例 {g:.1} %"));
        }
        out.push(t);
    }
    out
}

/// 水域面积变动表 (11xx classes).
fn water_area_table(s: &BalanceSheet, u: AreaUnit) -> Table {
    let mut t = land_table(
        &s.land_level2,
        u,
        "water_area",
        "水域面积变动表",
        "Water-surface area (11xx classes)",
        |c| c.starts_with("11"),
    );
    t.notes.push("面积来自地类图斑几何 (from parcel geometry)".into());
    t
}

/// 自然资源负债表: the liability model's items.
fn liabilities_table(s: &BalanceSheet) -> Table {
    let li = &s.liabilities;
    let cols = vec![
        Col::new("期初", "Opening", "", 4),
        Col::new("期末/实际", "Closing / actual", "", 4),
        Col::new("目标/上限", "Target / cap", "", 4),
        Col::new("负债", "Liability", "", 4),
    ];
    let rows = li
        .items
        .iter()
        .map(|x| Row {
            code: x.item.id().to_string(),
            name: format!("{}（{}）", x.name, x.unit),
            values: vec![x.opening, x.actual, x.target, x.liability],
        })
        .collect();
    let mut t = table("liabilities", "自然资源负债表", "Liabilities", cols, rows);
    t.code_header = crate::table::Header::new("项目", "Item");
    t.notes.push(format!(
        "模型 model: {} — {} ({}): {}",
        li.model, li.definition.title, li.definition.title_en, li.definition.description
    ));
    for x in &li.items {
        t.notes.push(format!("{}: {}", x.item, x.basis));
    }
    t
}

/// The sheet as text: a heading with its provenance, the tables, the notes.
pub fn render_text(sheet: &BalanceSheet, tables: &[Table]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "自然资源资产负债表 Natural resource asset balance sheet — {} {}, {} → {}\n",
        sheet.provenance.region, sheet.provenance.region_name, sheet.provenance.from, sheet.provenance.to
    ));
    s.push_str(&format!(
        "registry {} (sha256 {}…), nrledger {}, liability model {}\n\n",
        sheet.provenance.registry,
        &sheet.provenance.registry_sha256[..12],
        sheet.provenance.tool_version,
        sheet.liabilities.model
    ));
    for t in tables {
        s.push_str(&t.render());
        s.push('\n');
    }
    for n in &sheet.notes {
        s.push_str(&format!("注 note: {n}\n"));
    }
    s
}

/// The provenance as (key, value) lines (for the workbook's first sheet and the text header).
pub fn about(s: &BalanceSheet) -> Vec<(String, String)> {
    let p = &s.provenance;
    let mut v = vec![
        ("区域 Region".to_string(), format!("{} {}", p.region, p.region_name)),
        (
            "区域面积 Region area".into(),
            format!("{:.4} 公顷 ({:.2}, ellipsoidal)", p.region_area_m2.hectares(), p.region_area_m2),
        ),
        ("期初 Opening date".into(), p.from.clone()),
        ("期末 Closing date".into(), p.to.clone()),
        ("分类 Classification level".into(), p.level.label().into()),
        ("登记库 Registry".into(), p.registry.clone()),
        ("登记库 SHA-256".into(), p.registry_sha256.clone()),
        ("坐标系 CRS".into(), p.crs.clone()),
        ("工具 Tool".into(), format!("nrledger {}", p.tool_version)),
        ("负债模型 Liability model".into(), s.liabilities.model.clone()),
        (
            "图斑/配对 Pieces and pairs".into(),
            format!(
                "{} at opening, {} at closing, {} overlay pairs",
                p.counts.opening_pieces, p.counts.closing_pieces, p.counts.overlay_pairs
            ),
        ),
    ];
    for super::LayerVintages { layer, opening: a, closing: b } in &p.vintages {
        v.push((
            format!("数据版本 Vintage {layer}"),
            format!("{} → {}", a.as_deref().unwrap_or("—"), b.as_deref().unwrap_or("—")),
        ));
    }
    for super::inputs::ConfigFile { path: f, sha256: h } in &p.rules {
        v.push(("规则 Rules".into(), if h.is_empty() { f.clone() } else { format!("{f} (sha256 {h})") }));
    }
    for i in &p.inputs {
        v.push((format!("输入 Input {}", i.role), format!("{} (sha256 {})", i.path.display(), i.sha256)));
    }
    for n in &s.notes {
        v.push(("注 Note".into(), n.clone()));
    }
    v
}
