//! `/lookup?at=LON,LAT[&datetime=D]`: what is here — the clerk's lookup of `nrledger query --at` (every
//! layer's record under the point on the day, today without one), each record with its history: every
//! version of its key, oldest first, with its validity and summary fields.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

use super::params::{self, Query};
use super::problem::{clip, ApiError};
use super::Service;
use crate::model::Value;
use crate::query::{query, Probe};
use crate::store::{Condition, Fields, Read, Registry, When};

/// The handler.
pub async fn lookup(State(s): State<Arc<Service>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let at = q.take("at").ok_or_else(|| ApiError::bad("at", "give the point as at=LON,LAT (CRS84)"))?;
    let (lon, lat) = point(&at)?;
    let day = match params::datetime(q.take("datetime"))? {
        When::On(d) => Some(d),
        When::Current => None,
        _ => return Err(ApiError::bad("datetime", "a lookup is for one day, not an interval")),
    };
    q.done()?;
    let found = s.pool.read(move |reg| what_is_here(reg, lon, lat, day)).await?;
    Ok(axum::Json(found).into_response())
}

/// `LON,LAT` in degrees.
fn point(text: &str) -> Result<(f64, f64), ApiError> {
    let nums: Option<Vec<f64>> =
        text.split(',').map(|v| v.trim().parse::<f64>().ok().filter(|x| x.is_finite())).collect();
    match nums.as_deref() {
        Some(&[lon, lat]) if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => Ok((lon, lat)),
        _ => Err(ApiError::bad("at", format!("'{}' is not a longitude,latitude in degrees", clip(text)))),
    }
}

fn what_is_here(reg: &Registry, lon: f64, lat: f64, day: Option<crate::model::AsOf>) -> Result<Json, ApiError> {
    let hits = query(reg, Probe::At(lon, lat), day).map_err(|e| match e {
        crate::Error::Invalid(why) => ApiError::bad("at", why),
        e => ApiError::from(e),
    })?;
    let mut out = Vec::new();
    for hit in hits {
        let def = reg.catalog().layer(hit.layer);
        let summary: Vec<&str> = def.summary.iter().map(String::as_str).collect();
        let key = Condition::equal(&def.key, Value::Text(hit.key.clone()));
        let read = Read::layer(hit.layer).every_version().fields(Fields::Only(&summary)).satisfying(Some(&key));
        let versions = reg.read(&read)?;
        let history: Vec<Json> = versions
            .iter()
            .map(|v| {
                let fields = named_values(def, &v.record, &summary);
                json!({"fid": v.fid, "valid_from": v.valid_from, "valid_to": v.valid_to, "import_id": v.import_id, "fields": fields})
            })
            .collect();
        let mut hit = serde_json::to_value(&hit).map_err(ApiError::internal)?;
        hit["history"] = json!(history);
        out.push(hit);
    }
    Ok(json!({"at": [lon, lat], "datetime": day.map(|d| d.to_string()), "hits": out}))
}

/// The values of the fields `names` of a record, by name (a summary shown with a hit).
pub(super) fn named_values(
    def: &crate::catalog::LayerDef,
    record: &crate::model::Record,
    names: &[&str],
) -> serde_json::Map<String, Json> {
    names
        .iter()
        .filter_map(|f| {
            def.field_index(f).map(|i| (f.to_string(), crate::io::geojson_out::json_value(record.value(i))))
        })
        .collect()
}
