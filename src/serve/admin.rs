//! The administration pages: the audit trail (操作留痕, for admins and auditors) and the accounts (for
//! admins: change a role, disable, enable; accounts are added and passwords set with `nrledger user`, so
//! no password ever crosses a form). Every change is made by the signed-in admin, from their address, and
//! written to the trail with it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::{Caller, Via};
use super::html::escape;
use super::login::posted;
use super::params::{Format, Query};
use super::problem::ApiError;
use super::Service;
use crate::store::{Account, Role, TrailEntry};

/// The most trail rows a page shows.
const MAX_ROWS: usize = 5000;

/// A page of the administration, with its navigation and the signed-in account's logout form.
pub(super) fn page(s: &Service, caller: &Caller, title: &str, body: &str) -> String {
    let logout = match caller.account.as_ref().map(|a| (&a.name, &a.via)) {
        Some((name, Via::Session(_, csrf))) => format!(
            "<form method=\"post\" action=\"{}/logout\" class=\"logout\"><span>{}</span> \
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>退出 Sign out</button></form>",
            escape(&s.base),
            escape(name),
            escape(csrf)
        ),
        _ => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t} · nrledger</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:\"Noto Sans CJK SC\",sans-serif;margin:1.5em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}}th{{background:#f2f2f2}}\
         nav a{{margin-right:1em}}.logout{{float:right}}.hash{{font-family:monospace;font-size:.8em}}\
         td form{{display:inline}}.error{{color:#b00}}.bad{{outline:2px solid #b00}}\
         form.reg label{{display:block;margin-top:.6em}}form.reg input,form.reg select{{min-width:24em}}\
         .with-preview{{display:flex;gap:2em;align-items:flex-start}}.preview-pane{{flex:1 1 55%;position:sticky;top:0}}\
         .preview svg{{width:100%;max-width:680px;height:auto}}.preview figure{{margin:0}}</style></head><body>{logout}\
         <nav><a href=\"{b}/\">地图 Map</a><a href=\"{b}/registrations\">登记 Registrations</a>\
         <a href=\"{b}/findings\">检查发现 Findings</a><a href=\"{b}/patches\">监测图斑 Patches</a><a href=\"{b}/jobs\">报表任务 Jobs</a>\
         <a href=\"{b}/admin/trail\">操作留痕 Trail</a><a href=\"{b}/admin/users\">账户 Accounts</a></nav>\
         <h1>{t}</h1>{body}</body></html>\n",
        t = escape(title),
        b = escape(&s.base)
    )
}

/// An HTML page of the service (never cached: it may hold a form token).
pub(super) fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

/// The caller's session form token (CSRF), escaped for a hidden field; empty without a session.
pub(super) fn form_token(caller: &Caller) -> String {
    match caller.account.as_ref().map(|a| &a.via) {
        Some(Via::Session(_, csrf)) => escape(csrf),
        _ => String::new(),
    }
}

/// The format a page is asked for (`f`, else the `Accept` header).
pub(super) fn format_of(q: &mut Query, headers: &HeaderMap) -> Result<Format, ApiError> {
    Format::negotiate(q.take("f"), headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

/// The format of a page that takes no other parameter (any other is a 400 naming it).
pub(super) fn format_only(raw: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    let mut q = Query::parse(raw)?;
    let format = format_of(&mut q, headers)?;
    q.done()?;
    Ok(format)
}

/// `/admin/trail[?limit=N&f=json|html]`: the latest rows of the trail, newest first.
pub async fn trail(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = Query::parse(raw.as_deref())?;
    let format = format_of(&mut q, &headers)?;
    let limit = match q.take("limit") {
        None => 500,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_ROWS).contains(n))
            .ok_or_else(|| ApiError::bad("limit", format!("give a number of rows from 1 to {MAX_ROWS}")))?,
    };
    q.done()?;
    let rows = s.pool.read(move |reg| Ok(reg.trail_latest(limit)?)).await?;
    Ok(match format {
        Format::Json => axum::Json(rows).into_response(),
        Format::Html => html(StatusCode::OK, page(&s, &caller, "操作留痕 Audit trail", &trail_table(&rows))),
    })
}

fn trail_table(rows: &[TrailEntry]) -> String {
    let short = |h: &Option<String>| h.as_deref().map_or(String::new(), |h| escape(&h[..h.len().min(12)]));
    let body: String = rows
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"hash\">{}</td><td class=\"hash\">{}</td></tr>",
                r.id,
                escape(&r.at),
                escape(&r.who),
                escape(&r.origin),
                escape(&r.action),
                escape(&r.target),
                escape(&r.detail),
                short(&r.before),
                short(&r.after)
            )
        })
        .collect();
    format!(
        "<table><tr><th>#</th><th>时间 When</th><th>操作人 Who</th><th>来源 From</th><th>操作 Action</th>\
         <th>对象 Target</th><th>内容 Detail</th><th>之前 Before</th><th>之后 After</th></tr>{body}</table>"
    )
}

/// `/admin/users[?f=json|html]`: every account, with forms to change its role, disable or enable it.
pub async fn users(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let format = format_only(raw.as_deref(), &headers)?;
    let list = s.pool.read(|reg| Ok(reg.accounts()?)).await?;
    Ok(match format {
        Format::Json => axum::Json(list).into_response(),
        Format::Html => html(StatusCode::OK, page(&s, &caller, "账户 Accounts", &users_table(&caller, &list, ""))),
    })
}

fn users_table(caller: &Caller, list: &[Account], message: &str) -> String {
    let csrf = form_token(caller);
    let form = |name: &str, inner: String| {
        format!(
            "<form method=\"post\" action=\"users\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"name\" value=\"{}\">{inner}</form>",
            escape(name)
        )
    };
    let rows: String = list
        .iter()
        .map(|a| {
            let options: String = Role::ALL
                .iter()
                .map(|r| {
                    let sel = if *r == a.role { " selected" } else { "" };
                    format!("<option value=\"{}\"{sel}>{} {}</option>", r.name(), r.title(), r.name())
                })
                .collect();
            let role = form(
                &a.name,
                format!(
                    "<select name=\"role\">{options}</select><button name=\"action\" value=\"role\">改 Set</button>"
                ),
            );
            let (state, toggle) = match &a.disabled_at {
                None => ("启用 enabled".to_string(), "<button name=\"action\" value=\"disable\">停用 Disable</button>"),
                Some(at) => (
                    format!("停用 disabled {}", escape(at)),
                    "<button name=\"action\" value=\"enable\">启用 Enable</button>",
                ),
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{state}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.name),
                escape(&a.full_name),
                role,
                escape(&a.created_at),
                form(&a.name, toggle.to_string())
            )
        })
        .collect();
    let message = if message.is_empty() {
        String::new()
    } else {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message))
    };
    format!(
        "{message}<p>添加账户和设置密码用命令行 Accounts are added and passwords set on the command line: \
         <code>nrledger user add|passwd</code>.</p><table><tr><th>账户 Account</th><th>姓名 Name</th>\
         <th>角色 Role</th><th>状态 State</th><th>创建 Created</th><th></th></tr>{rows}</table>"
    )
}

/// `POST /admin/users` (csrf, name, action = role | disable | enable, role): change an account, then back
/// to the list; a refusal (the last admin, an unknown account) is shown on it.
pub async fn change_user(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let f = posted(&caller, &body)?;
    let name = f.get("name").cloned().unwrap_or_default();
    let action = f.get("action").cloned().unwrap_or_default();
    let role = match action.as_str() {
        "role" => Some(
            f.get("role")
                .map_or(Err(crate::Error::Invalid("give a role".into())), |r| r.parse::<Role>())
                .map_err(|e| ApiError::bad("role", e.to_string()))?,
        ),
        "disable" | "enable" => None,
        other => {
            return Err(ApiError::bad(
                "action",
                format!("'{}': give role, disable or enable", super::problem::clip(other)),
            ))
        }
    };
    let actor = caller.actor();
    let done = s
        .write(move |reg| match (action.as_str(), role) {
            ("role", Some(r)) => reg.set_role(&name, r, &actor),
            ("disable", _) => reg.disable_account(&name, &actor),
            _ => reg.enable_account(&name, &actor),
        })
        .await;
    match done {
        Ok(_) => Ok((StatusCode::SEE_OTHER, [(header::LOCATION, format!("{}/admin/users", s.base))]).into_response()),
        Err(e) if e.status() != StatusCode::BAD_REQUEST => Err(e),
        Err(refused) => {
            let list = s.pool.read(|reg| Ok(reg.accounts()?)).await?;
            let table = users_table(&caller, &list, refused.detail());
            Ok(html(StatusCode::BAD_REQUEST, page(&s, &caller, "账户 Accounts", &table)))
        }
    }
}
