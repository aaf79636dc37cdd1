//! Findings review (检查发现审核): the findings of the latest stored check run (`check --store`), filtered
//! by rule, severity and area, each with a link to the map at its piece and to the piece itself; a reviewer
//! grants an exception to one (reason, approval number, expiry), kept in the registry with who and when and
//! applied by later checks as the exceptions file is (`nrledger exceptions` writes them in that form).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use geo::BoundingRect;

use super::admin::{form_token, format_of, html, page};
use super::auth::Caller;
use super::features::lonlat_box;
use super::html::escape;
use super::login::posted;
use super::params::{Format, Query};
use super::problem::{clip, ApiError};
use super::Service;
use crate::store::{FindingRow, Granted, Role};

/// What the page is filtered by.
#[derive(Default)]
struct Filter {
    rule: Option<String>,
    severity: Option<String>,
    min_area: f64,
}

impl Filter {
    fn keeps(&self, f: &FindingRow) -> bool {
        self.rule.as_deref().is_none_or(|r| f.rule == r || f.name == r)
            && self.severity.as_deref().is_none_or(|s| f.severity == s)
            && f.area_m2 >= self.min_area
    }
}

/// The exception granted in the registry that covers `f` today, if any.
fn granted_for<'a>(f: &FindingRow, granted: &'a [Granted]) -> Option<&'a Granted> {
    let today = chrono::Local::now().date_naive().to_string();
    let ids: Vec<&str> = f.ids.split(';').collect();
    granted.iter().find(|g| {
        (g.rule == f.rule || g.rule == f.name) && g.ids.iter().all(|i| ids.contains(&i.as_str())) && g.expires >= today
    })
}

/// `/findings[?rule=&severity=&min_area=&f=json|html]`.
pub async fn list(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let format = format_of(&mut q, &headers)?;
    let filter = Filter {
        rule: q.take("rule").filter(|r| !r.is_empty()),
        severity: match q.take("severity").as_deref() {
            None | Some("") => None,
            Some(v @ ("error" | "warning" | "info")) => Some(v.to_string()),
            Some(v) => return Err(ApiError::bad("severity", format!("'{}': give error, warning or info", clip(v)))),
        },
        min_area: match q.take("min_area").filter(|v| !v.is_empty()) {
            None => 0.0,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|a| a.is_finite() && *a >= 0.0)
                .ok_or_else(|| ApiError::bad("min_area", format!("'{}' is not an area in m²", clip(&v))))?,
        },
    };
    q.done()?;
    show(&s, &caller, &filter, format, None).await
}

async fn show(
    s: &Arc<Service>,
    caller: &Caller,
    filter: &Filter,
    format: Format,
    refusal: Option<String>,
) -> Result<Response, ApiError> {
    let (latest, granted) = s.pool.read(|reg| Ok((reg.latest_findings()?, reg.granted_exceptions()?))).await?;
    let (run, all) = latest.map_or((None, Vec::new()), |(r, f)| (Some(r), f));
    let shown: Vec<&FindingRow> = all.iter().filter(|f| filter.keeps(f)).collect();
    if format == Format::Json {
        let findings: Vec<serde_json::Value> = shown
            .iter()
            .map(|f| {
                serde_json::json!({
                    "fid": f.fid, "rule": f.rule, "name": f.name, "severity": f.severity, "class": f.class,
                    "ids": f.ids, "area_m2": f.area_m2, "message": f.message, "excepted_by": f.excepted_by,
                    "granted": granted_for(f, &granted).map(|g| g.id),
                })
            })
            .collect();
        let run = run
            .map(|r| serde_json::json!({"run_id": r.run_id, "ran_at": r.ran_at, "as_of": r.as_of, "rules": r.rules}));
        return Ok(
            axum::Json(serde_json::json!({"run": run, "findings": findings, "exceptions": granted})).into_response()
        );
    }
    let heading = match &run {
        Some(r) => format!(
            "<p>检查于 checked {} · 日期 as of {} · 规则 rules {} · {} 条发现 findings ({} shown)</p>",
            escape(&r.ran_at),
            escape(r.as_of.as_deref().unwrap_or("现行 current")),
            escape(&r.rules),
            all.len(),
            shown.len()
        ),
        None => {
            "<p>尚无保存的检查 No check run is stored yet (run one from here, or <code>nrledger check REGISTRY --store</code>).</p>".into()
        }
    };
    let message = refusal.map_or(String::new(), |m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&m)));
    let run_check = if matches!(caller.role(), Some(Role::Reviewer | Role::Auditor)) {
        format!("<p><a href=\"{}/jobs/new?kind=check\">运行检查 Run a check</a></p>", escape(&s.base))
    } else {
        String::new()
    };
    let body = format!(
        "{message}{heading}{run_check}{}{}<h2>已批准的例外 Exceptions granted</h2>{}",
        filter_form(filter),
        findings_table(s, caller, &shown, &granted),
        granted_table(&granted)
    );
    let status = if message.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok(html(status, page(s, caller, "检查发现 Findings", &body)))
}

fn filter_form(f: &Filter) -> String {
    let sel = |v: &str| if f.severity.as_deref() == Some(v) { " selected" } else { "" };
    format!(
        "<form method=\"get\" class=\"filter\"><label>规则 Rule <input name=\"rule\" value=\"{}\" size=\"8\"></label> \
         <label>严重程度 Severity <select name=\"severity\"><option value=\"\">全部 all</option>\
         <option value=\"error\"{}>error</option><option value=\"warning\"{}>warning</option><option value=\"info\"{}>info</option>\
         </select></label> <label>最小面积 Min area (m²) <input name=\"min_area\" value=\"{}\" size=\"8\"></label> \
         <button>筛选 Filter</button></form>",
        escape(f.rule.as_deref().unwrap_or("")),
        sel("error"),
        sel("warning"),
        sel("info"),
        if f.min_area > 0.0 { f.min_area.to_string() } else { String::new() }
    )
}

fn findings_table(s: &Service, caller: &Caller, shown: &[&FindingRow], granted: &[Granted]) -> String {
    let csrf = form_token(caller);
    let reviewer = caller.role() == Some(Role::Reviewer);
    let b = escape(&s.base);
    let rows: String = shown
        .iter()
        .map(|f| {
            let at = f
                .geometry
                .as_ref()
                .and_then(|g| g.bounding_rect())
                .and_then(|r| lonlat_box(s, [r.min().x, r.max().x, r.min().y, r.max().y]))
                .map(|e| {
                    format!(
                        "<a href=\"{b}/?finding={}#18/{:.6}/{:.6}\">地图 map</a> · ",
                        f.fid,
                        (e[1] + e[3]) / 2.0,
                        (e[0] + e[2]) / 2.0
                    )
                })
                .unwrap_or_default();
            let state = match (granted_for(f, granted), &f.excepted_by) {
                (Some(g), _) => format!("例外 #{} ({})", g.id, escape(&g.approval)),
                (None, Some(a)) => format!("例外 excepted ({})", escape(a)),
                (None, None) if reviewer => format!(
                    "<form method=\"post\" action=\"{b}/findings/{fid}/except\" class=\"except\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <input name=\"reason\" placeholder=\"例外原因 reason\" required>\
                     <input name=\"approval\" placeholder=\"批准文号 approval no.\" required>\
                     <input name=\"expires\" type=\"date\" required><button>批准例外 Except</button></form>",
                    fid = f.fid
                ),
                (None, None) => String::new(),
            };
            format!(
                "<tr class=\"{sev}\"><td>{at}<a href=\"{b}/collections/findings/items/{fid}?f=html\">#{fid}</a></td>\
                 <td>{} {}</td><td>{sev}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{state}</td></tr>",
                escape(&f.rule),
                escape(&f.name),
                escape(&f.class),
                escape(&f.ids),
                f.area_m2,
                escape(&f.message),
                sev = escape(&f.severity),
                fid = f.fid,
            )
        })
        .collect();
    format!(
        "<table><tr><th>#</th><th>规则 Rule</th><th>严重程度 Severity</th><th>类别 Class</th><th>记录 Records</th>\
         <th>面积 Area (m²)</th><th>说明 Message</th><th>例外 Exception</th></tr>{rows}</table>"
    )
}

fn granted_table(granted: &[Granted]) -> String {
    let rows: String = granted
        .iter()
        .map(|g| {
            format!(
                "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
                g.id,
                escape(&g.rule),
                escape(&g.ids.join(";")),
                escape(&g.reason),
                escape(&g.approval),
                escape(&g.expires),
                escape(&g.granted_by),
                escape(&g.granted_at)
            )
        })
        .collect();
    format!(
        "<table><tr><th>#</th><th>规则 Rule</th><th>记录 Records</th><th>原因 Reason</th><th>批准文号 Approval</th>\
         <th>有效至 Expires</th><th>批准人 Granted by</th></tr>{rows}</table>"
    )
}

/// `POST /findings/{fid}/except` (csrf, reason, approval, expires): grant an exception to a finding of the
/// latest run, then back to the list; a refusal is shown on it.
pub async fn except(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path(fid): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fid: i64 = fid.parse().map_err(|_| ApiError::not_found("fid", format!("no finding '{}'", clip(&fid))))?;
    let f = posted(&caller, &body)?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let (reason, approval, expires) = (get("reason"), get("approval"), get("expires"));
    let actor = caller.actor();
    let done = s
        .write(move |reg| {
            let found = reg
                .latest_finding(fid)?
                .ok_or_else(|| crate::Error::Invalid(format!("finding #{fid}: not in the latest stored check run")))?;
            let ids: Vec<String> = found.ids.split(';').filter(|i| !i.is_empty()).map(String::from).collect();
            reg.grant_exception(&found.rule, &ids, &reason, &approval, &expires, Some(fid), &actor)
        })
        .await;
    match done {
        Ok(_) => Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/findings", s.base))]).into_response()),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            show(&s, &caller, &Filter::default(), Format::Html, Some(format!("例外未批准。{}", e.detail()))).await
        }
        Err(e) => Err(e),
    }
}
