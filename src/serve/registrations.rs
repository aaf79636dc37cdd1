//! Registration in the browser (首次 / 变更 / 更正 / 注销), in two steps: a registrar fills the form (the
//! unit's fields, its outline as an uploaded GeoJSON, GeoPackage or zipped Shapefile), which is checked as
//! `nrledger register` checks it and then **submitted**; a reviewer other than the registrar **approves**
//! it (登簿: recorded, the event naming both) or **returns** it with a reason. Nothing changes the registry
//! before the approval, and the approval applies every rule again inside its transaction. A refusal is
//! shown on the form, in Chinese and English, with the field at fault marked.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Multipart, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::admin::{form_token, format_of, format_only, html, page};
use super::auth::Caller;
use super::html::escape;
use super::login::posted;
use super::params::{Format, Query};
use super::problem::{clip, ApiError};
use super::upload::{self, Scratch};
use super::Service;
use crate::io::source::SourceRequest;
use crate::model::{EventType, LayerKind};
use crate::quantity::SquareMetres;
use crate::register::{no_overlap, prepare, RegisterRequest};
use crate::store::{Registration, Role, Submission, SubmissionState};

/// The operations, as the form names them.
const OPS: [(&str, EventType); 4] = [
    ("first", EventType::First),
    ("change", EventType::Change),
    ("correct", EventType::Correct),
    ("cancel", EventType::Cancel),
];

/// Unit fields the form does not ask for: the code (its own field), the document number (its own field),
/// the area (computed from the outline).
const NOT_ASKED: [&str; 3] = ["DYH", "DJWH", "DYMJ"];

/// Refusals of the registry in Chinese: a fragment of the English reason, the Chinese, the form field.
const REFUSALS: &[(&str, &str, &str)] = &[
    ("already registered", "该单元已登记，不能再次首次登记", "unit"),
    ("was used before", "该单元号曾经使用且已注销，单元号不得重复使用", "unit"),
    ("was cancelled on", "该单元已注销", "unit"),
    ("no such unit is registered", "该单元未登记", "unit"),
    ("would overlap registered unit", "与已登记单元重叠", "geometry"),
    ("the date must be after", "登记日期须晚于该单元现行记录的生效日期", "date"),
    ("needs the unit's geometry", "首次登记须上传单元界线文件", "geometry"),
    ("is required", "缺少必填字段", "field"),
    ("pattern", "单元号或字段值不符合编码规则", "field"),
    ("CRS", "界线文件的坐标系缺失或不可用，请填写坐标系", "src_crs"),
    ("no polygon", "界线文件中没有面要素", "geometry"),
    ("changed after this registration was prepared", "该单元记录在提交后已变化，请退回后重新提交", "unit"),
];

/// The Chinese of a refusal, and the form field it names.
fn explain(reason: &str) -> (String, String) {
    let field = reason
        .split("field ")
        .nth(1)
        .and_then(|rest| rest.split([':', ' ']).next())
        .filter(|f| !f.is_empty())
        .map(|f| format!("f.{f}"));
    for (fragment, zh, at) in REFUSALS {
        if reason.contains(fragment) {
            let at = if *at == "field" { field.clone().unwrap_or_default() } else { at.to_string() };
            return (format!("{zh}。{reason}"), at);
        }
    }
    (format!("登记被拒绝。{reason}"), field.unwrap_or_default())
}

/// `/registrations[?state=submitted|approved|returned&f=json|html]`: the submissions, newest first.
pub async fn list(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let format = format_of(&mut q, &headers)?;
    let state = match q.take("state").as_deref() {
        None | Some("") => None,
        Some("submitted") => Some(SubmissionState::Submitted),
        Some("approved") => Some(SubmissionState::Approved),
        Some("returned") => Some(SubmissionState::Returned),
        Some(other) => {
            return Err(ApiError::bad("state", format!("'{}': give submitted, approved or returned", clip(other))))
        }
    };
    q.done()?;
    let list = s.pool.read(move |reg| Ok(reg.submissions(state)?)).await?;
    if format == Format::Json {
        return Ok(axum::Json(list).into_response());
    }
    let rows: String = list
        .iter()
        .map(|x| {
            format!(
                "<tr><td><a href=\"registrations/{id}\">#{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{} {}</td><td>{}</td></tr>",
                escape(&x.op),
                escape(&x.unit_code),
                escape(&x.date),
                escape(&x.submitted_by),
                escape(&x.submitted_at),
                x.state.title(),
                x.state.name(),
                escape(x.decided_by.as_deref().unwrap_or("")),
                id = x.id,
            )
        })
        .collect();
    let new = if caller.role() == Some(Role::Registrar) {
        "<p><a href=\"registrations/new\">新登记 New registration</a></p>"
    } else {
        ""
    };
    let body = format!(
        "{new}<p><a href=\"registrations?state=submitted\">待审核 waiting</a> · <a href=\"registrations\">全部 all</a></p>\
         <table><tr><th>#</th><th>登记类型 Type</th><th>单元号 Unit</th><th>登记日期 Date</th><th>登记员 Registrar</th>\
         <th>提交时间 Submitted</th><th>状态 State</th><th>审核员 Reviewer</th></tr>{rows}</table>"
    );
    Ok(html(StatusCode::OK, page(&s, &caller, "登记申请 Registrations", &body)))
}

/// `/registrations/new`: the form.
pub async fn new(State(s): State<Arc<Service>>, Extension(caller): Extension<Caller>) -> Response {
    html(StatusCode::OK, form_page(&s, &caller, &HashMap::new(), None, None))
}

/// The form, filled with `values`, with `refusal` (its message and field) shown.
fn form_page(
    s: &Service,
    caller: &Caller,
    values: &HashMap<String, String>,
    refusal: Option<(String, String)>,
    preview: Option<String>,
) -> String {
    let v = |k: &str| escape(values.get(k).map_or("", String::as_str));
    let kept = match (values.get("draft"), values.get("draft_name")) {
        (Some(t), Some(n)) if !t.is_empty() => format!(
            "<input type=\"hidden\" name=\"draft\" value=\"{}\"><input type=\"hidden\" name=\"draft_name\" value=\"{}\">\
             <p class=\"kept\">已上传 Uploaded: {} (保留; 另选文件可替换 kept; choose another file to replace it)</p>",
            escape(t),
            escape(n),
            escape(n)
        ),
        _ => String::new(),
    };
    let preview = preview
        .map_or(String::new(), |p| format!("<section class=\"preview-pane\"><h2>预览 Preview</h2>{p}</section>"));
    let (message, at) = refusal.unwrap_or_default();
    let mark = |k: &str| if k == at { " class=\"bad\" aria-invalid=\"true\"" } else { "" };
    let ops: String = OPS
        .iter()
        .map(|(name, op)| {
            let sel = if values.get("op").map(String::as_str) == Some(*name) { " selected" } else { "" };
            format!("<option value=\"{name}\"{sel}>{} {name}</option>", op.label())
        })
        .collect();
    let def = s.catalog.layer(LayerKind::Units);
    let fields: String = def
        .fields
        .iter()
        .filter(|f| !NOT_ASKED.contains(&f.name.as_str()))
        .map(|f| {
            let k = format!("f.{}", f.name);
            let req = if f.required { " *" } else { "" };
            format!(
                "<label for=\"{k}\">{} {} ({}){req}</label><input id=\"{k}\" name=\"{k}\" value=\"{}\"{}>",
                escape(&f.title),
                escape(&f.title_en),
                escape(&f.name),
                v(&k),
                mark(&k)
            )
        })
        .collect();
    let message = if message.is_empty() {
        String::new()
    } else {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&message))
    };
    let body = format!(
        "{message}<div class=\"with-preview\"><form method=\"post\" action=\"../registrations\" enctype=\"multipart/form-data\" class=\"reg\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"op\">登记类型 Type</label><select id=\"op\" name=\"op\">{ops}</select>\
         <label for=\"unit\">登记单元号 Unit code (DYH) *</label><input id=\"unit\" name=\"unit\" value=\"{unit}\"{mu} required>\
         <label for=\"date\">登记日期 Date *</label><input id=\"date\" name=\"date\" type=\"date\" value=\"{date}\"{md} required>\
         <label for=\"reason\">登记原因 Reason *</label><input id=\"reason\" name=\"reason\" value=\"{reason}\" required>\
         <label for=\"document\">登记文号 Document number</label><input id=\"document\" name=\"document\" value=\"{doc}\">\
         <label for=\"geometry\">单元界线 Outline (GeoJSON, GeoPackage, zipped Shapefile; 首次登记必填, 变更可选)</label>\
         <input id=\"geometry\" name=\"geometry\" type=\"file\" accept=\".geojson,.json,.gpkg,.zip\"{mg}>{kept}\
         <label for=\"src_crs\">界线坐标系 CRS of the outline, if the file declares none (e.g. EPSG:4490)</label>\
         <input id=\"src_crs\" name=\"src_crs\" value=\"{crs}\"{mc}>\
         <fieldset><legend>单元属性 Unit fields (blank: unchanged)</legend>{fields}</fieldset>\
         <p><button type=\"submit\" name=\"step\" value=\"preview\">预览 Preview</button> \
         <button type=\"submit\" name=\"step\" value=\"submit\">提交审核 Submit for review</button></p></form>{preview}</div>",
        csrf = form_token(caller),
        unit = v("unit"),
        date = v("date"),
        reason = v("reason"),
        doc = v("document"),
        crs = v("src_crs"),
        mu = mark("unit"),
        md = mark("date"),
        mg = mark("geometry"),
        mc = mark("src_crs"),
    );
    page(s, caller, "新登记 New registration", &body)
}

/// `POST /registrations` (multipart form): check the registration as the CLI does and submit it, or the
/// form again saying why not.
pub async fn submit(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    form: Multipart,
) -> Result<Response, ApiError> {
    let upload::PostedForm { mut values, files } = upload::posted(&caller, form).await?;
    let mut file = files.into_iter().find(|f| f.0 == "geometry").map(|(_, name, bytes)| (name, bytes));
    let owner = caller.account.as_ref().map_or(String::new(), |a| a.name.clone());
    // a file uploaded for a preview is kept: the form is submitted without choosing it again
    match &file {
        Some((name, bytes)) => {
            let token = s.drafts.keep(&owner, name, bytes.clone());
            values.insert("draft".into(), token);
            values.insert("draft_name".into(), name.clone());
        }
        None => {
            let kept = values.get("draft").and_then(|t| s.drafts.take(&owner, t));
            if kept.is_none() {
                values.remove("draft");
            }
            file = kept;
        }
    }
    let refused = |why: (String, String), values: &HashMap<String, String>| {
        html(StatusCode::BAD_REQUEST, form_page(&s, &caller, values, Some(why), None))
    };
    let request = match request_of(&values, &caller) {
        Ok(r) => r,
        Err(why) => return Ok(refused(why, &values)),
    };
    let upload = match &file {
        Some((name, bytes)) => match upload::unpack("geometry", name, bytes) {
            Ok(u) => Some((u, name.clone())),
            Err(e) => return Ok(refused((format!("界线文件无法使用。{}", e.detail()), "geometry".into()), &values)),
        },
        None => None,
    };
    let crs = values.get("src_crs").map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    let preview = values.get("step").map(String::as_str) == Some("preview");
    let prepared = s
        .pool
        .read(move |reg| {
            let prepared = check(reg, request, upload, crs);
            let page = match (&prepared, preview) {
                (Ok(p), true) => book_preview(reg, p),
                _ => None,
            };
            Ok((prepared, page))
        })
        .await?;
    let prepared = match prepared {
        (Ok(_), page) if preview => {
            let shown = super::preview::html(page.as_ref());
            return Ok(html(StatusCode::OK, form_page(&s, &caller, &values, None, Some(shown))));
        }
        (Ok(p), _) => p,
        (Err(why), _) => return Ok(refused(explain(&why), &values)),
    };
    let actor = caller.actor();
    let id = s.write(move |reg| reg.submit(&prepared, &actor)).await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/registrations/{id}", s.base))]).into_response())
}

/// The book page a registration would give (None: a cancellation, without an outline).
fn book_preview(reg: &crate::store::Registry, r: &Registration) -> Option<Result<crate::book::BookPage, String>> {
    r.geometry.as_ref().map(|_| crate::book::preview(reg, r).map_err(|e| e.to_string()))
}

/// The registration a form asks for, or why not (message, field).
fn request_of(values: &HashMap<String, String>, caller: &Caller) -> Result<RegisterRequest, (String, String)> {
    let get = |k: &str| values.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let op = OPS
        .iter()
        .find(|(n, _)| *n == get("op"))
        .map(|(_, op)| *op)
        .ok_or_else(|| ("请选择登记类型。Choose the registration type.".to_string(), "op".to_string()))?;
    let unit = get("unit");
    if unit.is_empty() {
        return Err(("请填写登记单元号。Give the unit code.".into(), "unit".into()));
    }
    let date =
        crate::model::parse_date(&get("date")).map_err(|e| (format!("登记日期无效。date: {e}"), "date".to_string()))?;
    crate::model::check_not_future(date, false, "date")
        .map_err(|e| (format!("登记日期不能晚于今天。{e}"), "date".into()))?;
    let reason = get("reason");
    if reason.is_empty() {
        return Err(("请填写登记原因。Give the reason.".into(), "reason".into()));
    }
    let set = values
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f.")?.to_string(), v.trim().to_string())))
        .filter(|(k, v)| !v.is_empty() && !NOT_ASKED.contains(&k.as_str()))
        .collect();
    let document = get("document");
    Ok(RegisterRequest {
        op,
        unit,
        set,
        geometry: None,
        date,
        registrar: caller.account.as_ref().map_or_else(String::new, |a| a.name.clone()),
        reason,
        document_no: (!document.is_empty()).then_some(document),
    })
}

/// Prepare and check a registration on a read connection: the registration, or the reason it is refused
/// (the uploaded file named as the person named it, never by the server's folder).
fn check(
    reg: &crate::store::Registry,
    mut request: RegisterRequest,
    upload: Option<((Scratch, std::path::PathBuf), String)>,
    src_crs: Option<String>,
) -> Result<Registration, String> {
    let Some(((scratch, path), name)) = upload else {
        return prepare_and_check(reg, &request);
    };
    let dir = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    request.geometry = Some((SourceRequest { path, ..Default::default() }, src_crs));
    let out = prepare_and_check(reg, &request);
    // the folder lives until the file is read
    drop(scratch);
    let shown = if name.to_lowercase().ends_with(".zip") { format!("{name}/") } else { String::new() };
    out.map_err(|e| e.replace(&format!("{dir}/"), &shown).replace(&dir, &name))
}

fn prepare_and_check(reg: &crate::store::Registry, request: &RegisterRequest) -> Result<Registration, String> {
    let prepared = prepare(reg, request).map_err(|e| e.to_string())?;
    no_overlap(reg, &prepared).map_err(|e| e.to_string())?;
    Ok(prepared)
}

/// The submission `id` names, or a 404.
fn number(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found("id", format!("no submission '{}'", clip(id))))
}

/// `/registrations/{id}[?f=json|html]`: what was submitted (fields, areas, the outline), where it stands,
/// and, for a reviewer who did not submit it, the forms to approve or return it.
pub async fn show(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = number(&id)?;
    let format = format_only(raw.as_deref(), &headers)?;
    detail(&s, &caller, id, format, None).await
}

async fn detail(
    s: &Arc<Service>,
    caller: &Caller,
    id: i64,
    format: Format,
    refusal: Option<String>,
) -> Result<Response, ApiError> {
    let found = s
        .pool
        .read(move |reg| {
            let found = reg.submission(id)?;
            let book =
                found.as_ref().and_then(|(_, r)| (r.op != EventType::Cancel).then(|| book_preview(reg, r)).flatten());
            Ok(found.map(|f| (f, book)))
        })
        .await?;
    let ((sub, r), book) = found.ok_or_else(|| ApiError::not_found("id", format!("no submission #{id}")))?;
    let def = s.catalog.layer(LayerKind::Units);
    let fields: Vec<(String, String, String)> =
        def.fields.iter().zip(&r.values).map(|(f, v)| (f.name.clone(), f.title.clone(), v.to_string())).collect();
    if format == Format::Json {
        let values: serde_json::Map<String, serde_json::Value> =
            def.fields.iter().zip(&r.values).map(|(f, v)| (f.name.clone(), serde_json::json!(v))).collect();
        let doc = serde_json::json!({"submission": sub, "values": values, "areas": r.areas});
        return Ok(axum::Json(doc).into_response());
    }
    let status = if refusal.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = detail_html(caller, &sub, &r, &fields, refusal, super::preview::html(book.as_ref()));
    Ok(html(status, page(s, caller, &format!("登记申请 Registration #{id}"), &body)))
}

fn detail_html(
    caller: &Caller,
    sub: &Submission,
    r: &Registration,
    fields: &[(String, String, String)],
    refusal: Option<String>,
    preview: String,
) -> String {
    let row = |k: &str, v: &str| format!("<tr><th>{k}</th><td>{}</td></tr>", escape(v));
    let area = SquareMetres(r.areas.ellipsoidal);
    let facts = [
        row("登记类型 Type", &sub.op),
        row("登记单元号 Unit", &sub.unit_code),
        row("登记日期 Date", &sub.date),
        row("登记原因 Reason", &sub.reason),
        row("登记文号 Document", sub.document_no.as_deref().unwrap_or("")),
        row("登记员 Registrar", &format!("{} ({})", sub.submitted_by, sub.submitted_at)),
        row("状态 State", &format!("{} {}", sub.state.title(), sub.state.name())),
        row(
            "审核员 Reviewer",
            &format!("{} {}", sub.decided_by.as_deref().unwrap_or(""), sub.decided_at.as_deref().unwrap_or("")),
        ),
        row("退回原因 Returned because", sub.decision_note.as_deref().unwrap_or("")),
        row("登记事件 Event", &sub.event_id.map(|e| format!("#{e}")).unwrap_or_default()),
        row(
            "面积 Area",
            &format!(
                "{:.2} m² (椭球 ellipsoidal) · {:.4} 公顷 · {:.2} 亩 · {:.2} m² (平面 planar)",
                area.0,
                area.hectares(),
                area.mu(),
                r.areas.planar
            ),
        ),
        row("内容哈希 Content hash", &sub.content_hash),
    ]
    .concat();
    let values: String = fields
        .iter()
        .map(|(name, title, v)| format!("<tr><th>{} ({})</th><td>{}</td></tr>", escape(title), escape(name), escape(v)))
        .collect();
    let message = refusal.map_or(String::new(), |m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&m)));
    let me = caller.account.as_ref().map(|a| a.name.as_str());
    let decide = match (caller.role(), sub.state) {
        (Some(Role::Reviewer), SubmissionState::Submitted) if me == Some(sub.submitted_by.as_str()) => {
            "<p>此申请由您提交，须由其他审核员审核。You submitted this; another reviewer decides it.</p>".to_string()
        }
        (Some(Role::Reviewer), SubmissionState::Submitted) => format!(
            "<form method=\"post\" action=\"{id}/approve\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\">登簿 Approve and record</button></form>\
             <form method=\"post\" action=\"{id}/return\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"note\">退回原因 Reason for returning</label><input id=\"note\" name=\"reason\" required>\
             <button type=\"submit\">退回 Return</button></form>",
            id = sub.id,
            csrf = form_token(caller)
        ),
        _ => String::new(),
    };
    format!(
        "{message}<table>{facts}</table><h2>单元属性 Unit fields</h2><table>{values}</table>\
         <h2>登记簿预览 The book page it gives</h2>{preview}{decide}"
    )
}

/// `POST /registrations/{id}/approve` (csrf): 登簿, then the submission's page; a refusal is shown on it.
pub async fn approve(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id = number(&id)?;
    posted(&caller, &body)?;
    let actor = caller.actor();
    let done = s.write(move |reg| reg.approve(id, &actor, &no_overlap)).await;
    decided(&s, &caller, id, done.map(|_| ())).await
}

/// `POST /registrations/{id}/return` (csrf, reason): back to the registrar, nothing recorded.
pub async fn give_back(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id = number(&id)?;
    let f = posted(&caller, &body)?;
    let reason = f.get("reason").cloned().unwrap_or_default();
    let actor = caller.actor();
    let done = s.write(move |reg| reg.return_submission(id, &reason, &actor)).await;
    decided(&s, &caller, id, done).await
}

/// After a decision: the submission's page (303), or the page with the refusal (400).
async fn decided(s: &Arc<Service>, caller: &Caller, id: i64, done: Result<(), ApiError>) -> Result<Response, ApiError> {
    match done {
        Ok(()) => {
            Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/registrations/{id}", s.base))]).into_response())
        }
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            let (zh, _) = explain(e.detail());
            detail(s, caller, id, Format::Html, Some(zh)).await
        }
        Err(e) => Err(e),
    }
}
