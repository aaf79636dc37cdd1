//! Browser sessions: a random 256-bit token in an HttpOnly cookie (SameSite=Lax, Secure when the public
//! URL is https); the server keeps only its SHA-256, the account and the token of its forms (CSRF). A
//! session ends when logged out, after the idle time or 12 hours, and when its account changes (a new role
//! or password, disabled). The pages that open and close sessions are in [`super::login`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};

use super::Service;

/// The session cookie.
pub const SESSION_COOKIE: &str = "nrledger_session";
/// The login form's cookie.
pub const LOGIN_COOKIE: &str = "nrledger_login";
/// The longest a session lasts, however busy.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// The most sessions kept at once (the oldest idle ones go first).
const MAX_SESSIONS: usize = 10_000;

/// A session, by the SHA-256 of its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 32]);

impl SessionId {
    fn of(token: &str) -> SessionId {
        SessionId(Sha256::digest(token.as_bytes()).into())
    }
}

struct Session {
    name: String,
    generation: i64,
    csrf: String,
    started: Instant,
    seen: Instant,
}

/// The open sessions.
pub struct Sessions {
    map: Mutex<HashMap<SessionId, Session>>,
    idle: Duration,
}

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    hex::encode(b)
}

impl Sessions {
    /// No sessions; each ends after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions { map: Mutex::new(HashMap::new()), idle }
    }

    fn alive(&self, s: &Session) -> bool {
        s.seen.elapsed() < self.idle && s.started.elapsed() < LIFETIME
    }

    /// Open a session for account `name` at `generation`: its token.
    pub fn open(&self, name: &str, generation: i64) -> String {
        let token = random_token();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.seen.elapsed() < self.idle && s.started.elapsed() < LIFETIME);
            if map.len() >= MAX_SESSIONS {
                let oldest = map.iter().min_by_key(|(_, s)| s.seen).map(|(id, _)| *id);
                oldest.map(|id| map.remove(&id));
            }
        }
        let now = Instant::now();
        let session = Session { name: name.into(), generation, csrf: random_token(), started: now, seen: now };
        map.insert(SessionId::of(&token), session);
        token
    }

    /// The live session of `token`: its id, account name and form token (it is touched: its idle time
    /// starts again). An expired one is closed.
    pub fn find(&self, token: &str) -> Option<(SessionId, String, String)> {
        let id = SessionId::of(token);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.get_mut(&id)?;
        if !(s.seen.elapsed() < self.idle && s.started.elapsed() < LIFETIME) {
            map.remove(&id);
            return None;
        }
        s.seen = Instant::now();
        Some((id, s.name.clone(), s.csrf.clone()))
    }

    /// Whether session `id` was opened at the account's `generation` (else it has ended).
    pub fn current(&self, id: &SessionId, generation: i64) -> bool {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).is_some_and(|s| s.generation == generation && self.alive(s))
    }

    /// End session `id`.
    pub fn close(&self, id: &SessionId) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

/// The value of cookie `name` on a request.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_string()).filter_map(Result::ok).collect::<Vec<_>>())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// The session token a request carries.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

/// A `Set-Cookie` of the service (HttpOnly, SameSite=Lax, on the public URL's path; Secure over https;
/// an empty value removes it).
pub fn set_cookie(s: &Service, name: &str, value: &str, path: &str) -> HeaderValue {
    let mut c = Cookie::build((name, value))
        .path(format!("{}{path}", s.base_path()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(s.base.starts_with("https://"));
    if value.is_empty() {
        c = c.max_age(cookie::time::Duration::ZERO);
    }
    HeaderValue::from_str(&c.build().to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// A redirect to `{base}{to}` (303: the browser follows with a GET).
pub fn see_other(s: &Service, to: &str) -> Response {
    let location = HeaderValue::from_str(&format!("{}{to}", s.base)).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Send a browser to the login page, to come back to `back` (a path of this service) after it.
pub fn to_login(s: &Service, back: &str) -> Response {
    let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
    see_other(s, &format!("/login?next={next}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_when_idle_when_its_account_changes_and_when_closed() {
        let sessions = Sessions::new(Duration::from_secs(3600));
        let token = sessions.open("li", 3);
        let (id, name, csrf) = sessions.find(&token).unwrap();
        assert_eq!(name, "li");
        assert_eq!(csrf.len(), 64);
        assert!(sessions.current(&id, 3));
        assert!(!sessions.current(&id, 4), "a session of an older generation has ended");
        assert!(sessions.find(&random_token()).is_none(), "an unknown token is no session");
        sessions.close(&id);
        assert!(sessions.find(&token).is_none());
        let brief = Sessions::new(Duration::ZERO);
        let token = brief.open("li", 0);
        assert!(brief.find(&token).is_none(), "an idle session has ended");
    }
}
