//! The approvals and mining rights of the second delivery (layers PZYD and KYQ of `2020-12-31.gpkg`): cover
//! for some of the survey's changes and not for others, so `nrledger screen` has each answer to show.
//!
//! The changes to construction land are taken in BSM order: a change to 采矿用地 gets a mining right that
//! expired before the survey (not covered); the others in turn an approval drawn on the whole parcel
//! (covered), one on its western half (partly covered) and one issued after the survey (not covered).

use std::collections::HashMap;

use geo::BoundingRect;

use super::{round2, County, GenParcel, Zone};
use crate::error::Result;
use crate::model::{FieldType, Value};

/// The columns of PZYD.
pub(super) const APPROVAL_COLUMNS: [(&str, FieldType); 8] = [
    ("PZWH", FieldType::Text),
    ("PZLX", FieldType::Text),
    ("PZRQ", FieldType::Date),
    ("PZJG", FieldType::Text),
    ("XMMC", FieldType::Text),
    ("YT", FieldType::Text),
    ("PZMJ", FieldType::Real),
    ("XZQDM", FieldType::Text),
];

/// The columns of KYQ.
pub(super) const MINING_COLUMNS: [(&str, FieldType); 8] = [
    ("XKZH", FieldType::Text),
    ("QLLX", FieldType::Text),
    ("KSMC", FieldType::Text),
    ("KZ", FieldType::Text),
    ("YXQQ", FieldType::Date),
    ("YXQZ", FieldType::Date),
    ("MJ", FieldType::Real),
    ("XZQDM", FieldType::Text),
];

/// The approvals (PZYD, [`APPROVAL_COLUMNS`]) and mining rights (KYQ, [`MINING_COLUMNS`]) of the second
/// delivery, from the parcels `before` and `after`.
pub(super) fn permits(c: &County, before: &[GenParcel], after: &[GenParcel]) -> Result<(Vec<Zone>, Vec<Zone>)> {
    let was: HashMap<u64, &GenParcel> = before.iter().map(|p| (p.seq, p)).collect();
    let mut built: Vec<&GenParcel> = after
        .iter()
        .filter(|p| ["06", "07"].iter().any(|k| p.dlbm.starts_with(k)))
        .filter(|p| was.get(&p.seq).is_some_and(|q| q.dlbm != p.dlbm))
        .collect();
    built.sort_by_key(|p| p.seq);
    let (mines, others): (Vec<&GenParcel>, Vec<&GenParcel>) = built.into_iter().partition(|p| p.dlbm == "0602");
    let code = &c.code;
    let mut approvals = Vec::new();
    for (k, p) in others.iter().enumerate() {
        let (geometry, date) = match k % 3 {
            0 => (p.geometry.clone(), "2020-06-30"),
            1 => (west_half(&p.geometry), "2020-03-15"),
            _ => (p.geometry.clone(), "2021-02-01"),
        };
        let number = format!("浙土字A〔{}〕{}号", &date[..4], k + 1);
        let area = round2(c.areas.areas(&geometry)?.ellipsoidal);
        approvals.push(Zone {
            key: number.clone(),
            attrs: vec![
                Value::Text(number),
                Value::Text("农用地转用和土地征收".into()),
                Value::Text(date.into()),
                Value::Text("浙江省人民政府".into()),
                Value::Text(format!("{}县{}年度第{}批次建设用地", c.name.trim_end_matches('县'), &date[..4], k + 1)),
                Value::Text("城镇住宅用地".into()),
                Value::Real(area),
                Value::Text(code.clone()),
            ],
            geometry,
        });
    }
    let rights: Vec<Zone> = mines
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let number = format!("C{code}2012{:07}", k + 1);
            Zone {
                key: number.clone(),
                attrs: vec![
                    Value::Text(number),
                    Value::Text("采矿权".into()),
                    Value::Text(format!("{}石料矿", c.name)),
                    Value::Text("建筑用石料".into()),
                    Value::Text("2012-07-01".into()),
                    Value::Text("2019-06-30".into()),
                    Value::Real(round2(p.area)),
                    Value::Text(code.clone()),
                ],
                geometry: p.geometry.clone(),
            }
        })
        .collect();
    Ok((approvals, rights))
}

/// The part of `mp` west of its box's middle.
fn west_half(mp: &geo::MultiPolygon<f64>) -> geo::MultiPolygon<f64> {
    let Some(b) = mp.bounding_rect() else { return mp.clone() };
    let r = geo::Rect::new(b.min(), geo::Coord { x: b.center().x, y: b.max().y });
    crate::geometry::clip_to_rect(mp, r)
}
