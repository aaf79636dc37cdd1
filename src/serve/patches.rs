//! Suspect patches (疑似违法图斑) in the service: the patches `screen --store` kept with their latest step,
//! one patch with its history and evidence, and the form a reviewer takes its next step with — 已核查 with
//! its result, 整改中, 已整改, 销号 — uploading the evidence with it, checked as `nrledger patch set` checks
//! it (a step out of order is refused on the page, nothing written).

use std::sync::Arc;

use axum::extract::{Extension, Multipart, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::admin::{form_token, format_of, html, page};
use super::auth::Caller;
use super::html::escape;
use super::params::{Format, Query};
use super::problem::{clip, ApiError};
use super::Service;
use crate::monitor::follow::{NewStep, Step};
use crate::store::Role;

/// `/patches[?f=json|html]`: every stored patch with its latest step.
pub async fn list(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let format = format_of(&mut q, &headers)?;
    q.done()?;
    let rows = s.pool.read(|reg| Ok(reg.patches()?)).await?;
    if format == Format::Json {
        return Ok(axum::Json(serde_json::json!({ "patches": rows })).into_response());
    }
    let b = escape(&s.base);
    let body: String = rows
        .iter()
        .map(|p| {
            format!(
                "<tr><td><a href=\"{b}/patches/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{} → {}</td><td>{:.2}</td><td>{}{}</td><td>{}</td></tr>",
                escape(&p.change),
                escape(&p.township),
                escape(&p.before),
                escape(&p.after),
                p.area_m2,
                p.step.label(),
                p.result.as_deref().map(|r| format!(" ({})", escape(r))).unwrap_or_default(),
                p.restored_in.as_deref().map(|d| format!("{} 复原待确认", escape(d))).unwrap_or_default(),
                id = escape(&p.patch_id),
            )
        })
        .collect();
    let table = format!(
        "<p>{} 个图斑 patches (<code>nrledger screen … --store</code> keeps them)</p><table><tr><th>监测编号 Patch</th>\
         <th>变化 Change</th><th>乡镇 Township</th><th>前 → 后 Before → after</th><th>面积 Area (m²)</th><th>状态 Step</th>\
         <th>复原 Restored</th></tr>{body}</table>",
        rows.len()
    );
    Ok(html(StatusCode::OK, page(&s, &caller, "疑似违法图斑 Suspect patches", &table)))
}

/// `/patches/{id}[?f=json|html]`: one patch, its steps and their evidence, and (for a reviewer) the form of
/// its next step.
pub async fn show(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let format = format_of(&mut q, &headers)?;
    q.done()?;
    detail(&s, &caller, id, format, None).await
}

async fn detail(
    s: &Arc<Service>,
    caller: &Caller,
    id: String,
    format: Format,
    refusal: Option<String>,
) -> Result<Response, ApiError> {
    let wanted = id.clone();
    let (row, steps) = s
        .pool
        .read(move |reg| {
            let row = reg.patches()?.into_iter().find(|p| p.patch_id == wanted);
            Ok((row, reg.patch_steps(&wanted)?))
        })
        .await?;
    let (Some(row), Some(steps)) = (row, steps) else {
        return Err(ApiError::not_found("id", format!("no patch '{}'", clip(&id))));
    };
    if format == Format::Json {
        return Ok(axum::Json(serde_json::json!({ "patch": row, "steps": steps })).into_response());
    }
    let b = escape(&s.base);
    let pid = escape(&row.patch_id);
    let history: String = steps
        .iter()
        .map(|st| {
            let files: String = st
                .evidence
                .iter()
                .map(|(name, sha, bytes)| {
                    format!(
                        "<a href=\"{b}/patches/{pid}/evidence/{sha}\">{}</a> ({bytes} B) ",
                        escape(name),
                        sha = escape(sha)
                    )
                })
                .collect();
            format!(
                "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{files}</td></tr>",
                escape(&st.date),
                st.step.label(),
                st.result.as_deref().map(|r| format!(" ({})", escape(r))).unwrap_or_default(),
                escape(&st.person),
                escape(&st.note)
            )
        })
        .collect();
    let last = steps.last().map(|st| st.step).unwrap_or(Step::Pending);
    let next = last.next(row.result.as_deref());
    let form = if caller.role() == Some(Role::Reviewer) && !next.is_empty() {
        let options: String = next.iter().map(|n| format!("<option>{}</option>", n.label())).collect();
        format!(
            "<h2>下一步 Next step</h2><form method=\"post\" action=\"{b}/patches/{pid}/steps\" enctype=\"multipart/form-data\" class=\"step\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>步骤 Step <select name=\"step\">{options}</select></label> \
             <label>核查结果 Result <select name=\"result\"><option value=\"\">—</option><option>合法</option><option>违法</option><option>其他</option></select></label> \
             <label>日期 Date <input type=\"date\" name=\"date\" required></label> <label>说明 Note <input name=\"note\" required></label> \
             <label>佐证材料 Evidence <input type=\"file\" name=\"evidence\" multiple></label> <button>记录 Record</button></form>",
            form_token(caller)
        )
    } else {
        String::new()
    };
    let message = refusal.map_or(String::new(), |m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&m)));
    let body = format!(
        "{message}<p>{} · {} · {} → {} · {:.2} m² · 筛查 screened {} · {} → {}{}</p><table><tr><th>日期 Date</th><th>步骤 Step</th>\
         <th>人员 Person</th><th>说明 Note</th><th>佐证 Evidence</th></tr>{history}</table>{form}",
        escape(&row.change),
        escape(&row.township),
        escape(&row.before),
        escape(&row.after),
        row.area_m2,
        escape(&row.screened),
        escape(&row.from_date),
        escape(&row.to_date),
        row.restored_in.as_deref().map(|d| format!(" · {} 复原待确认 restored, to confirm", escape(d))).unwrap_or_default()
    );
    let status = if message.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok(html(status, page(s, caller, &format!("图斑 {}", row.patch_id), &body)))
}

/// `POST /patches/{id}/steps` (multipart: csrf, step, result, date, note, evidence files): take the next
/// step as the signed-in reviewer, then back to the patch; a refusal is shown on it.
pub async fn step(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<Response, ApiError> {
    let super::upload::PostedForm { values, files } = super::upload::posted(&caller, form).await?;
    let evidence: Vec<(String, Vec<u8>)> =
        files.into_iter().filter(|f| f.0 == "evidence").map(|(_, name, bytes)| (name, bytes)).collect();
    let get = |k: &str| values.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let Some(step) = Step::parse(&get("step")) else {
        let why = format!("步骤未记录。step '{}': not one of 已核查, 整改中, 已整改, 销号", clip(&get("step")));
        return detail(&s, &caller, id, Format::Html, Some(why)).await;
    };
    let person = caller.account.as_ref().map_or(String::new(), |a| a.name.clone());
    let result = Some(get("result")).filter(|r| !r.is_empty());
    let new = NewStep { step, result, date: get("date"), person, note: get("note"), evidence };
    let (patch, actor) = (id.clone(), caller.actor());
    match s.write(move |reg| reg.add_patch_step(&patch, &new, &actor)).await {
        Ok(_) => Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/patches/{id}", s.base))]).into_response()),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            detail(&s, &caller, id, Format::Html, Some(format!("步骤未记录。{}", e.detail()))).await
        }
        Err(e) => Err(e),
    }
}

/// `/patches/{id}/evidence/{sha256}`: an evidence file as it was uploaded.
pub async fn evidence(
    State(s): State<Arc<Service>>,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (patch, hash) = (id.clone(), sha.clone());
    let found = s.pool.read(move |reg| Ok(reg.patch_evidence(&patch, &hash)?)).await?;
    let Some((name, content)) = found else {
        return Err(ApiError::not_found("sha256", format!("no evidence '{}' of patch '{}'", clip(&sha), clip(&id))));
    };
    let ascii: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let disposition = format!("attachment; filename=\"{ascii}\"");
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        content,
    )
        .into_response())
}
