//! The screening as a layer (`screen --out`, one feature per patch; documented in
//! `schemas/screen-patches.md`) and as report tables (the patches, and the summary by township).

use super::ledger::LedgerRow;
use super::{Patch, Screening};
use crate::io::export::{Column, Table as Layer};
use crate::model::{FieldType, Value};
use crate::table::{Col, Header, Row, Table};

/// The layer's columns, in order: name, type, and what they hold.
pub const COLUMNS: &[(&str, FieldType, &str)] = &[
    ("JCBH", FieldType::Text, "监测编号 patch id (stable: the later date and a hash of both parcels' keys and dates)"),
    ("BHLX", FieldType::Text, "变化类型 kind of change: 新增建设用地 / 耕地流出"),
    ("ZT", FieldType::Text, "状态 status: 已覆盖 / 部分覆盖 / 未覆盖（疑似违法） / 例外"),
    ("QSX", FieldType::Date, "前时相 the earlier survey's date"),
    ("HSX", FieldType::Date, "后时相 the later survey's date"),
    ("Q_BSM", FieldType::Text, "the parcel before (BSM)"),
    ("Q_DLBM", FieldType::Text, "its land class code"),
    ("Q_DLMC", FieldType::Text, "its land class name"),
    ("H_BSM", FieldType::Text, "the parcel after (BSM)"),
    ("H_DLBM", FieldType::Text, "its land class code"),
    ("H_DLMC", FieldType::Text, "its land class name"),
    ("BGYY", FieldType::Text, "变更原因 of the parcel after, when it has one"),
    ("XZDM", FieldType::Text, "乡镇代码 township (first 9 digits of the later parcel's ZLDWDM)"),
    ("MJ", FieldType::Real, "面积 ellipsoidal area, m²"),
    ("MJ_MU", FieldType::Real, "面积 in 亩"),
    ("FGMJ", FieldType::Real, "已覆盖面积 ground records in force cover, m²"),
    ("WFGMJ", FieldType::Real, "未覆盖面积 ground nothing in force covers, m² (0 for an exempt patch)"),
    (
        "BDJL",
        FieldType::Text,
        "比对记录 records compared: layer:key (covers / why not: reason) shared m², joined by '; '",
    ),
];

/// The patches as a layer `screen_patches`.
pub fn layer(s: &Screening) -> Layer<'static> {
    let columns = COLUMNS.iter().map(|(n, t, _)| Column { name: n.to_string(), field_type: *t }).collect();
    let rows = s.patches.iter().map(|p| (geo::Geometry::MultiPolygon(p.geometry.clone()), values(s, p))).collect();
    Layer { name: "screen_patches", columns, rows }
}

fn values(s: &Screening, p: &Patch) -> Vec<Value> {
    let text = |t: &str| Value::Text(t.to_string());
    let opt = |t: &Option<String>| t.as_deref().map_or(Value::Null, text);
    vec![
        text(&p.id),
        text(p.change.label()),
        text(p.status.label()),
        text(&s.from),
        text(&s.to),
        text(&p.before.key),
        text(&p.before.class),
        text(&p.before.name),
        text(&p.after.key),
        text(&p.after.class),
        text(&p.after.name),
        opt(&p.cause),
        text(&p.township),
        Value::Real(p.area_m2.0),
        Value::Real(p.area_mu),
        Value::Real(p.covered_m2.0),
        Value::Real(p.uncovered_m2.0),
        text(&compared(p)),
    ]
}

/// The records compared with a patch, one line.
pub fn compared(p: &Patch) -> String {
    p.compared
        .iter()
        .map(|c| match &c.reason {
            None => format!("{}:{} (覆盖 covers) {:.2} m²", c.layer, c.key, c.shared_m2.0),
            Some(r) => format!("{}:{} (不覆盖: {r}) {:.2} m²", c.layer, c.key, c.shared_m2.0),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The report tables: the patches, then the summary by township.
pub fn tables(s: &Screening) -> Vec<Table> {
    let area_cols = || {
        vec![
            Col::new("面积", "area", "m²", 2),
            Col::new("面积", "area", "亩", 2),
            Col::new("已覆盖", "covered", "m²", 2),
            Col::new("未覆盖", "uncovered", "m²", 2),
        ]
    };
    let patches = Table {
        id: "patches".into(),
        title: format!("监测图斑 {} → {}", s.from, s.to),
        title_en: format!("Changes screened, {} to {}, {}", s.from, s.to, s.region_name),
        code_header: Header::new("监测编号", "patch"),
        name_header: Header::new("变化 · 状态 · 乡镇", "change · status · township"),
        columns: area_cols(),
        rows: s
            .patches
            .iter()
            .map(|p| Row {
                code: p.id.clone(),
                name: format!(
                    "{} {} → {} {} · {} · {} · {}",
                    p.before.class,
                    p.before.name,
                    p.after.class,
                    p.after.name,
                    p.change.label(),
                    p.status.label(),
                    if p.township.is_empty() { "—" } else { &p.township }
                ),
                values: vec![Some(p.area_m2.0), Some(p.area_mu), Some(p.covered_m2.0), Some(p.uncovered_m2.0)],
            })
            .collect(),
        notes: s
            .patches
            .iter()
            .filter(|p| !p.compared.is_empty())
            .map(|p| format!("{}: {}", p.id, compared(p)))
            .collect(),
    };
    let note = format!(
        "规则 rules: {} (sha256 {}); 变化置于后时相 {}: a record covers it when in force on that date",
        s.rules,
        &s.rules_sha256[..12],
        s.to
    );
    let summary = summary_table("summary", ("乡镇", "township"), &s.summary, vec![note]);
    let by_cause = summary_table("summary_causes", ("变更原因", "cause"), &s.summary_by_cause, vec![]);
    let ledger = ledger_table(&s.ledger, &s.from, &s.to);
    vec![patches, summary, by_cause, ledger]
}

/// A summary of the patches by a group (township, cause), change and status.
fn summary_table(id: &str, (zh, en): (&str, &str), rows: &[super::SummaryRow], notes: Vec<String>) -> Table {
    Table {
        id: id.into(),
        title: format!("监测图斑汇总（按{zh}、变化类型、状态）"),
        title_en: format!("Patches by {en}, change and status"),
        code_header: Header::new(zh, en),
        name_header: Header::new("变化 · 状态", "change · status"),
        columns: vec![
            Col::new("图斑数", "patches", "个", 0),
            Col::new("面积", "area", "m²", 2),
            Col::new("面积", "area", "亩", 2),
            Col::new("未覆盖", "uncovered", "m²", 2),
        ],
        rows: rows
            .iter()
            .map(|r| Row {
                code: r.group.clone(),
                name: format!("{} · {}", r.change.label(), r.status.label()),
                values: vec![
                    Some(r.count as f64),
                    Some(r.area_m2.0),
                    Some(super::mu(r.area_m2.0)),
                    Some(r.uncovered_m2.0),
                ],
            })
            .collect(),
        notes,
    }
}

/// The cultivated-land ledgers (占补平衡, 进出平衡) of a period as a report table, by township then `合计`.
pub fn ledger_table(rows: &[LedgerRow], from: &str, to: &str) -> Table {
    Table {
        id: "ledger".into(),
        title: format!("耕地占补平衡、进出平衡（按乡镇） {from} → {to}"),
        title_en: format!("Cultivated-land ledgers, {from} to {to}, by township"),
        code_header: Header::new("乡镇", "township"),
        name_header: Header::new("占补 · 进出", "occupation · in-out"),
        columns: vec![
            Col::new("建设占用耕地", "taken by construction", "m²", 2),
            Col::new("其中已批", "of it approved", "m²", 2),
            Col::new("补充耕地", "supplemented", "m²", 2),
            Col::new("流出", "out", "m²", 2),
            Col::new("例外流出", "out, exempt", "m²", 2),
            Col::new("流入", "in", "m²", 2),
        ],
        rows: rows
            .iter()
            .map(|r| Row {
                code: r.township.clone(),
                name: format!(
                    "占补{} · 进出{}",
                    if r.occupation_balanced { "平衡" } else { "不平衡" },
                    if r.in_out_balanced { "平衡" } else { "不平衡" }
                ),
                values: vec![
                    Some(r.taken_by_construction_m2.0),
                    Some(r.taken_approved_m2.0),
                    Some(r.supplemented_m2.0),
                    Some(r.out_m2.0),
                    Some(r.out_exempt_m2.0),
                    Some(r.in_m2.0),
                ],
            })
            .collect(),
        notes: rows
            .iter()
            .filter(|r| !r.supplemented_by_cause.is_empty())
            .map(|r| {
                let by: Vec<String> =
                    r.supplemented_by_cause.iter().map(|(c, a)| format!("{c} {:.2} m²", a.0)).collect();
                format!("{} 补充耕地 by cause: {}", r.township, by.join(", "))
            })
            .collect(),
    }
}
