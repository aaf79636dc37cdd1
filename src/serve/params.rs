//! A request's query string as typed parameters, checked before the registry is touched: each malformed
//! value is a 400 that names its parameter, and so is a parameter the resource does not know (a typo must
//! not silently return everything).

use chrono::NaiveDate;

use super::crs::Served;
use super::problem::{clip, ApiError};
use crate::crs::CrsInfo;
use crate::model::AsOf;
use crate::store::When;

/// Features per page when the request names no `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// The most features a page holds (a larger `limit` is a 400 that says so).
pub const MAX_LIMIT: usize = 10_000;

/// The query string's pairs, decoded, each name once.
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Decode a raw query string; a parameter given twice, or one holding a control character, is a 400.
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if k.is_empty() {
                continue;
            }
            if k.chars().chain(v.chars()).any(char::is_control) {
                return Err(ApiError::bad(clip(&k), "a parameter holds a control character"));
            }
            if pairs.iter().any(|(n, _)| *n == k) {
                return Err(ApiError::bad(clip(&k), format!("the parameter '{}' is given more than once", clip(&k))));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Query(pairs))
    }

    /// The pairs not yet taken.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The value of `name`, taken out.
    pub fn take(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(i).1)
    }

    /// Refuse whatever parameter is left (none of the resource's).
    pub fn done(self) -> Result<(), ApiError> {
        match self.0.first() {
            Some((k, _)) => Err(ApiError::bad(clip(k), format!("unknown parameter '{}'", clip(k)))),
            None => Ok(()),
        }
    }

    /// The rest, as (name, value) pairs.
    pub fn rest(self) -> Vec<(String, String)> {
        self.0
    }
}

/// The response format a request asks for (`f`, else its Accept header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (GeoJSON for features).
    Json,
    /// A web page.
    Html,
}

impl Format {
    /// From `f=json|html|geojson`, else the Accept header (HTML when it asks for it before any JSON).
    pub fn negotiate(f: Option<String>, accept: Option<&str>) -> Result<Format, ApiError> {
        match f.as_deref() {
            Some("json" | "geojson" | "application/json" | "application/geo+json") => return Ok(Format::Json),
            Some("html" | "text/html") => return Ok(Format::Html),
            Some(other) => {
                return Err(ApiError::bad("f", format!("unknown format '{}'; use json or html", clip(other))))
            }
            None => {}
        }
        let accept = accept.unwrap_or("");
        let pos = |m: &str| accept.find(m);
        let json = [pos("json"), pos("*/*")].into_iter().flatten().min();
        Ok(match (pos("text/html"), json) {
            (Some(h), Some(j)) if h < j => Format::Html,
            (Some(_), None) => Format::Html,
            _ => Format::Json,
        })
    }
}

/// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub fn limit(v: Option<String>) -> Result<usize, ApiError> {
    let Some(v) = v else { return Ok(DEFAULT_LIMIT) };
    match v.trim().parse::<u64>() {
        Ok(n) if n >= 1 && n <= MAX_LIMIT as u64 => Ok(n as usize),
        Ok(_) => Err(ApiError::bad("limit", format!("limit must be from 1 to {MAX_LIMIT}, not {}", clip(&v)))),
        Err(_) => Err(ApiError::bad(
            "limit",
            format!("limit must be a whole number from 1 to {MAX_LIMIT}, not '{}'", clip(&v)),
        )),
    }
}

/// `offset` (of the `next` links): a whole number, 0 when absent.
pub fn offset(v: Option<String>) -> Result<usize, ApiError> {
    let Some(v) = v else { return Ok(0) };
    v.trim()
        .parse::<usize>()
        .map_err(|_| ApiError::bad("offset", format!("offset must be a whole number, not '{}'", clip(&v))))
}

/// `bbox`: four numbers (or six, whose heights are ignored), lower corner first.
pub fn bbox(v: Option<String>) -> Result<Option<[f64; 4]>, ApiError> {
    let Some(v) = v else { return Ok(None) };
    let nums: Vec<f64> = v
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            ApiError::bad("bbox", format!("bbox must be 4 numbers separated by commas, not '{}'", clip(&v)))
        })?;
    let b = match nums.len() {
        4 => [nums[0], nums[1], nums[2], nums[3]],
        6 => [nums[0], nums[1], nums[3], nums[4]],
        n => return Err(ApiError::bad("bbox", format!("bbox must have 4 numbers (or 6 with heights), not {n}"))),
    };
    if b[0] > b[2] || b[1] > b[3] {
        return Err(ApiError::bad(
            "bbox",
            format!(
                "bbox's lower corner ({},{}) lies above or right of its upper corner ({},{})",
                b[0], b[1], b[2], b[3]
            ),
        ));
    }
    Ok(Some(b))
}

/// A CRS parameter (`crs`, `bbox-crs`): CRS84 when absent.
pub fn crs(v: Option<String>, reg: &CrsInfo, parameter: &str) -> Result<Served, ApiError> {
    v.map_or(Ok(Served::Crs84), |u| Served::parse(u.trim(), reg, parameter))
}

/// `datetime`: a day (`2019-12-31`, or an RFC 3339 date-time, whose calendar day counts) selects the
/// versions valid on it; an interval (`2019-01-01/2020-12-31`, either end `..` or empty for open) every
/// version valid on some day in it. Absent: the current versions.
pub fn datetime(v: Option<String>) -> Result<When, ApiError> {
    let Some(v) = v else { return Ok(When::Current) };
    let v = v.trim();
    let Some((a, b)) = v.split_once('/') else { return Ok(When::On(day(v)?)) };
    let end = |s: &str| if s.is_empty() || s == ".." { Ok(None) } else { day(s).map(Some) };
    let (from, to) = (end(a)?, end(b)?);
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::bad("datetime", format!("the interval '{}' ends before it starts", clip(v))));
        }
    }
    Ok(When::During(from, to))
}

/// One day of a `datetime`.
fn day(s: &str) -> Result<AsOf, ApiError> {
    let date_part = s.get(..10).unwrap_or(s);
    let bad = || {
        ApiError::bad(
            "datetime",
            format!("'{}' is not a date (YYYY-MM-DD) or an RFC 3339 date-time, or the day does not exist", clip(s)),
        )
    };
    if s.len() > 10 {
        chrono::DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
    }
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d").map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_values_name_their_parameter() {
        for (v, ok) in [
            ("1", true),
            ("10000", true),
            ("0", false),
            ("10001", false),
            ("1000000000", false),
            ("abc", false),
            ("-1", false),
        ] {
            assert_eq!(limit(Some(v.into())).is_ok(), ok, "limit={v}");
        }
        assert!(bbox(Some("1,2,3".into())).is_err());
        assert!(bbox(Some("3,2,1,4".into())).is_err());
        assert!(bbox(Some("1,2,3,nan".into())).is_err());
        assert_eq!(bbox(Some("1,2,0,3,4,9".into())).unwrap(), Some([1.0, 2.0, 3.0, 4.0]));
        assert!(datetime(Some("2019-02-30".into())).is_err());
        assert!(datetime(Some("2020-01-01/2019-01-01".into())).is_err());
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(datetime(Some("2019-12-31".into())).unwrap(), When::On(d("2019-12-31")));
        assert_eq!(datetime(Some("2019-12-31T23:00:00Z".into())).unwrap(), When::On(d("2019-12-31")));
        assert_eq!(datetime(Some("../2019-12-31".into())).unwrap(), When::During(None, Some(d("2019-12-31"))));
        assert_eq!(datetime(Some("2019-01-01/".into())).unwrap(), When::During(Some(d("2019-01-01")), None));
        let e = Query::parse(Some("a=1&a=2")).err().unwrap();
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(Format::negotiate(None, Some("text/html,application/xhtml+xml,*/*;q=0.8")).unwrap(), Format::Html);
        assert_eq!(Format::negotiate(None, Some("application/geo+json, application/json")).unwrap(), Format::Json);
        assert_eq!(Format::negotiate(Some("html".into()), None).unwrap(), Format::Html);
    }
}
