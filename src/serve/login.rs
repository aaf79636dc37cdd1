//! The browser's way in: the login page, logout, `/me`, and the check every posted form passes (the
//! session's form token, CSRF). A login always opens a new session and closes the one the browser had, so
//! a token planted before the login (session fixation) is never the signed-in one. The login form is itself
//! protected by a token in a cookie of its own (login CSRF).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::auth::{throttled, Caller, LoginRefused, Via};
use super::html::escape;
use super::problem::ApiError;
use super::session::{cookie, cookie_value, random_token, see_other, set_cookie, LOGIN_COOKIE, SESSION_COOKIE};
use super::Service;
use crate::store::Change;

/// `next` if it is a path of this service, else `/` (never another site).
fn local(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.starts_with("/login") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The fields of a urlencoded form (the last of a repeated name wins).
pub fn fields(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The fields of a form posted by a signed-in page: refused (403) unless it carries the session's form
/// token in `csrf`.
pub fn posted(caller: &Caller, body: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    let f = fields(body);
    check_csrf(caller, f.get("csrf").map_or("", String::as_str))?;
    Ok(f)
}

/// Refuse (403) a form whose token `given` is not the caller's session's (or that no session posted).
pub fn check_csrf(caller: &Caller, given: &str) -> Result<(), ApiError> {
    let Some(Via::Session(_, csrf)) = caller.account.as_ref().map(|a| &a.via) else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "", "a form is posted from a page signed in at /login"));
    };
    if !bool::from(given.as_bytes().ct_eq(csrf.as_bytes())) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "the form's token is missing or is not this session's: reload the page and send it again",
        ));
    }
    Ok(())
}

/// `GET /login[?next=PATH]`: the login form.
pub async fn page(State(s): State<Arc<Service>>, RawQuery(raw): RawQuery) -> Response {
    let next = raw.as_deref().map(|q| fields(q.as_bytes())).and_then(|mut f| f.remove("next"));
    form(&s, StatusCode::OK, &local(next.as_deref()), "")
}

/// The login form with `message`, and a fresh login token in its cookie. The browser's `#fragment` (the
/// map's position, kept by the redirect to this page) is added to `next` by the page, so the map opens
/// where the link pointed.
fn form(s: &Service, status: StatusCode, next: &str, message: &str) -> Response {
    let token = random_token();
    let closed = s.gate.standing(None).map(|(closed, _)| closed).unwrap_or(true);
    let note = if closed {
        ""
    } else {
        "<p class=\"note\">此登记库尚无账户，任何人均可读取。Add the first admin with <code>nrledger user add REGISTRY NAME --role admin</code>.</p>"
    };
    let message = if message.is_empty() {
        String::new()
    } else {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message))
    };
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>登录 Sign in · nrledger</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:\"Noto Sans CJK SC\",sans-serif;max-width:24em;margin:4em auto}}\
         label{{display:block;margin:.8em 0 .2em}}input[type=text],input[type=password]{{width:100%;padding:.4em}}\
         button{{margin-top:1.2em;padding:.4em 1.5em}}.error{{color:#b00}}.note{{color:#555}}</style></head>\
         <body><h1>自然资源登记 · 登录</h1><p>nrledger — sign in</p>{message}{note}\
         <form method=\"post\" action=\"{base}/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label for=\"name\">账户 Account</label><input type=\"text\" id=\"name\" name=\"name\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">密码 Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">登录 Sign in</button></form>\
         <script>(function () {{ var n = document.querySelector('input[name=next]'); \
         if (location.hash && n) n.value += location.hash; }})();</script></body></html>\n",
        base = escape(&s.base),
        next = escape(next),
    );
    let mut res = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(s, LOGIN_COOKIE, &token, "/login"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `POST /login` (name, password, csrf, next): a new session and back to `next`, or the form again saying
/// why not. Every login and refused login is written to the trail (never the password).
pub async fn login(
    State(s): State<Arc<Service>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut f = fields(&body);
    let next = local(f.get("next").map(String::as_str));
    let expected = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    let given = f.remove("csrf").unwrap_or_default();
    if expected.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return form(&s, StatusCode::FORBIDDEN, &next, "登录表单已过期，请重新登录。The form expired: sign in again.");
    }
    let name = f.remove("name").unwrap_or_default().trim().to_string();
    let password = f.remove("password").unwrap_or_default();
    if name.is_empty() || password.is_empty() {
        return form(&s, StatusCode::BAD_REQUEST, &next, "请输入账户和密码。Give the account name and the password.");
    }
    let mut actor = caller.actor();
    actor.who = super::problem::clip(&name);
    match s.gate.login(&s, &name, password, caller.addr).await {
        Ok(now) => {
            if let Some(id) = cookie(&headers).and_then(|t| s.gate.sessions.find(&t)).map(|(id, _, _)| id) {
                s.gate.sessions.close(&id);
            }
            let token = s.gate.sessions.open(&name, now.generation);
            let change = Change {
                action: "session.login",
                target: &name,
                detail: format!("signed in as {}", now.role),
                before: None,
                after: None,
            };
            if let Err(e) = s.record(actor, change).await {
                return e.into_response();
            }
            let mut res = see_other(&s, &next);
            res.headers_mut().append(header::SET_COOKIE, set_cookie(&s, SESSION_COOKIE, &token, "/"));
            res.headers_mut().append(header::SET_COOKIE, set_cookie(&s, LOGIN_COOKIE, "", "/login"));
            res
        }
        Err(LoginRefused::Wrong) => {
            let change = Change {
                action: "session.refused",
                target: &name,
                detail: "wrong name or password, or disabled".into(),
                before: None,
                after: None,
            };
            if let Err(e) = s.record(actor, change).await {
                return e.into_response();
            }
            form(
                &s,
                StatusCode::UNAUTHORIZED,
                &next,
                "账户或密码错误，或账户已停用。Wrong account name or password, or the account is disabled.",
            )
        }
        Err(LoginRefused::Throttled(wait)) => {
            let mut res = form(
                &s,
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &format!(
                    "登录失败次数过多，请 {} 秒后再试。Too many failed logins: try again in {} s.",
                    wait.as_secs().max(1),
                    wait.as_secs().max(1)
                ),
            );
            res.headers_mut().insert(header::RETRY_AFTER, throttled(wait).headers()[header::RETRY_AFTER].clone());
            res
        }
        Err(LoginRefused::Failed(e)) => e.into_response(),
    }
}

/// `POST /logout` (csrf): the session ends, back to the login page.
pub async fn logout(State(s): State<Arc<Service>>, Extension(caller): Extension<Caller>, body: Bytes) -> Response {
    if let Err(e) = posted(&caller, &body) {
        return e.into_response();
    }
    if let Some(Via::Session(id, _)) = caller.account.as_ref().map(|a| &a.via) {
        s.gate.sessions.close(id);
    }
    let name = caller.account.as_ref().map_or("", |a| a.name.as_str()).to_string();
    let change =
        Change { action: "session.logout", target: &name, detail: "signed out".into(), before: None, after: None };
    if let Err(e) = s.record(caller.actor(), change).await {
        return e.into_response();
    }
    let mut res = see_other(&s, "/login");
    res.headers_mut().append(header::SET_COOKIE, set_cookie(&s, SESSION_COOKIE, "", "/"));
    res
}

/// `GET /me`: who the caller is (name, full name, role and its title, the form token of the session),
/// and whether the registry is closed to anonymous callers.
pub async fn me(State(s): State<Arc<Service>>, Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    let Some(a) = caller.account.clone() else {
        let doc = serde_json::json!({"name": null, "closed": caller.closed});
        return Ok(axum::Json(doc).into_response());
    };
    let name = a.name.clone();
    let full_name = s.pool.read(move |reg| Ok(reg.account(&name)?.map(|a| a.full_name))).await?;
    let csrf = match &a.via {
        Via::Session(_, csrf) => Some(csrf.clone()),
        Via::Basic | Via::Bearer(_) => None,
    };
    let doc = serde_json::json!({
        "name": a.name, "full_name": full_name, "role": a.role.name(), "role_title": a.role.title(),
        "csrf": csrf, "closed": caller.closed,
    });
    let mut res = axum::Json(doc).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_path_of_this_service() {
        assert_eq!(local(Some("/collections?f=html")), "/collections?f=html");
        for bad in ["//evil.example/x", "https://evil.example/", "/\\evil", "/login?next=/x", "evil"] {
            assert_eq!(local(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local(None), "/");
    }
}
