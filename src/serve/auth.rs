//! Who is asking, and may they: every request is first given its [`Caller`] (an account signed in by the
//! session cookie of the login page, by HTTP Basic credentials as QGIS and GDAL send them, or by an access
//! token, `Authorization: Bearer …`, made with `nrledger token`; or no one),
//! then each endpoint's [`Need`] is weighed against it ([`decide`]).
//!
//! A registry with no enabled account is served open, as before accounts existed (the server says so when
//! it starts); once it has one, everything but the login page, the page's scripts and `/health` is closed
//! to anonymous callers, except the collections `--public` names (read-only). Where each account stands
//! (role, generation, enabled) is read again whenever the registry changes, so a disabled account, a new
//! role or a new password ends its sessions and its verified credentials at the next request.
//!
//! Argon2 takes tens of milliseconds per check: credentials verified once are kept (by a keyed SHA-256 of
//! name and password, never the password) until the account changes or 15 minutes pass. Failed logins are
//! counted per account name and per client address; past a few, the next attempts are refused (429) for a
//! time (4 s) that doubles with each further failure, up to 15 minutes. Unknown tokens are counted per
//! address the same way. The tokens valid today are read (as hashes) with the accounts' standings.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::problem::ApiError;
use super::session::{self, SessionId, Sessions};
use super::Service;
use crate::store::{token_hash, ActiveToken, Actor, Password, Registry, Role, Standing};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone: the login page, the page's scripts, health.
    Open,
    /// The service's description (landing page, conformance, API, the list of collections): anyone signed
    /// in, or anyone when some collection is public (the list then shows only those).
    Catalogue,
    /// One collection or its tiles (the first path parameter names it): anyone signed in, or anyone when
    /// it is public.
    Layer,
    /// Anyone signed in, whatever the role.
    SignedIn,
    /// An account with one of these roles.
    Roles(&'static [Role]),
}

/// How a caller was recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The login page's session: its id and its form token.
    Session(SessionId, String),
    /// HTTP Basic credentials on the request.
    Basic,
    /// An access token (its number).
    Bearer(i64),
}

/// The account behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Account name.
    pub name: String,
    /// Its role now.
    pub role: Role,
    /// How it was recognised.
    pub via: Via,
}

/// Who sent a request, from where.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account, or None: anonymous.
    pub account: Option<Signed>,
    /// The client's address.
    pub addr: IpAddr,
    /// Whether the registry is closed to anonymous callers (it has an enabled account).
    pub closed: bool,
}

impl Caller {
    /// The trail's actor for this caller.
    pub fn actor(&self) -> Actor {
        let who = self.account.as_ref().map_or_else(|| "anonymous".to_string(), |a| a.name.clone());
        Actor { who, origin: self.addr.to_string() }
    }

    /// The role, if signed in.
    pub fn role(&self) -> Option<Role> {
        self.account.as_ref().map(|a| a.role)
    }
}

/// What [`decide`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on.
    Allow,
    /// Sign in first (401 for a client, the login page for a browser).
    SignIn,
    /// Signed in, but the role may not (403).
    Forbidden(String),
}

/// May `caller` call an endpoint needing `need`, on collection `layer` (its first path parameter)?
pub fn decide(need: Need, caller: &Caller, layer: Option<&str>, public: &HashSet<String>) -> Verdict {
    let known = caller.account.is_some() || !caller.closed;
    let allow = |ok: bool| if ok { Verdict::Allow } else { Verdict::SignIn };
    match need {
        Need::Open => Verdict::Allow,
        Need::Catalogue => allow(known || !public.is_empty()),
        Need::Layer => allow(known || layer.is_some_and(|l| public.contains(l))),
        Need::SignedIn => allow(known),
        Need::Roles(roles) => match caller.role() {
            None => Verdict::SignIn,
            Some(r) if roles.contains(&r) => Verdict::Allow,
            Some(r) => {
                let may: Vec<String> = roles.iter().map(|r| format!("{} {}", r.name(), r.title())).collect();
                Verdict::Forbidden(format!(
                    "the role {} {} may not do this (only {})",
                    r.name(),
                    r.title(),
                    may.join(", ")
                ))
            }
        },
    }
}

/// The service's gatekeeper: where accounts stand, verified credentials, failed logins, sessions, and the
/// collections open to anyone.
pub struct Gate {
    watch: Mutex<Watch>,
    verified: Mutex<HashMap<[u8; 32], Verified>>,
    throttle: Throttle,
    /// The sessions of the login page.
    pub sessions: Sessions,
    /// Collections anyone may read.
    pub public: HashSet<String>,
    /// This process's key for the verified-credential cache.
    key: [u8; 32],
}

/// Where the accounts stand, read again when the registry changes.
struct Watch {
    reg: Registry,
    version: i64,
    standings: HashMap<String, Standing>,
    /// The tokens valid today, by their SHA-256 (hex).
    tokens: HashMap<String, ActiveToken>,
    /// The day `tokens` was read for (a token expires at midnight even if nothing changed).
    day: chrono::NaiveDate,
}

/// A credential verified once.
struct Verified {
    name: String,
    generation: i64,
    at: Instant,
}

/// How long a verified credential is kept.
const VERIFIED_FOR: Duration = Duration::from_secs(15 * 60);
/// The most verified credentials kept.
const MAX_VERIFIED: usize = 4096;

impl Gate {
    /// A gate over the registry `reg` (a connection of its own), opening `public` collections to anyone,
    /// ending a session idle for `idle`.
    pub fn new(reg: Registry, public: HashSet<String>, idle: Duration) -> crate::error::Result<Gate> {
        let version = reg.data_version()?;
        let standings = reg.standings()?;
        let tokens = reg.active_tokens()?;
        let day = chrono::Local::now().date_naive();
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        Ok(Gate {
            watch: Mutex::new(Watch { reg, version, standings, tokens, day }),
            verified: Mutex::new(HashMap::new()),
            throttle: Throttle::default(),
            sessions: Sessions::new(idle),
            public,
            key,
        })
    }

    /// Whether the registry has an enabled account (then it is closed to anonymous callers), and the
    /// standing of account `name`, as of now.
    pub fn standing(&self, name: Option<&str>) -> Result<(bool, Option<Standing>), ApiError> {
        let w = self.watched()?;
        let closed = w.standings.values().any(|s| s.enabled);
        Ok((closed, name.and_then(|n| w.standings.get(n).copied())))
    }

    /// Where the accounts and tokens stand now (read again when the registry or the day has changed).
    fn watched(&self) -> Result<std::sync::MutexGuard<'_, Watch>, ApiError> {
        let mut w = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        let version = w.reg.data_version()?;
        let today = chrono::Local::now().date_naive();
        if version != w.version || today != w.day {
            w.standings = w.reg.standings()?;
            w.tokens = w.reg.active_tokens()?;
            w.version = version;
            w.day = today;
        }
        Ok(w)
    }

    /// The account an access token acts for and where it stands, if the token is valid today and its
    /// account enabled; held back (None, with the wait) while the address has sent too many unknown ones.
    fn bearer(&self, token: &str, addr: IpAddr) -> Result<TokenCheck, ApiError> {
        if let Some(wait) = self.throttle.wait_addr(addr) {
            return Ok(TokenCheck::HeldBack(wait));
        }
        let w = self.watched()?;
        let found = w
            .tokens
            .get(&token_hash(token))
            .and_then(|t| w.standings.get(&t.account).filter(|s| s.enabled).map(|s| (t.id, t.account.clone(), *s)));
        drop(w);
        match found {
            Some((id, name, now)) => Ok(TokenCheck::Valid(id, name, now)),
            None => {
                self.throttle.failed_addr(addr);
                Ok(TokenCheck::Unknown)
            }
        }
    }

    fn credential_key(&self, name: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(name.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// Whether `name` and `password` were verified at the account's current generation.
    fn known_credential(&self, key: &[u8; 32], name: &str, now: Standing) -> bool {
        let cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key).is_some_and(|v| {
            v.name == name && v.generation == now.generation && now.enabled && v.at.elapsed() < VERIFIED_FOR
        })
    }

    fn remember_credential(&self, key: [u8; 32], name: &str, generation: i64) {
        let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_VERIFIED {
            cache.retain(|_, v| v.at.elapsed() < VERIFIED_FOR);
            if cache.len() >= MAX_VERIFIED {
                cache.clear();
            }
        }
        cache.insert(key, Verified { name: name.to_string(), generation, at: Instant::now() });
    }

    /// Check a login (form or Basic) of `name` with `password` from `addr`: the account's standing, or why
    /// not. Refused at once while the name or the address is held back by earlier failures.
    pub async fn login(
        &self,
        s: &Service,
        name: &str,
        password: String,
        addr: IpAddr,
    ) -> Result<Standing, LoginRefused> {
        if let Some(wait) = self.throttle.wait(name, addr) {
            return Err(LoginRefused::Throttled(wait));
        }
        let key = self.credential_key(name, &password);
        let (_, now) = self.standing(Some(name)).map_err(LoginRefused::Failed)?;
        if let Some(now) = now.filter(|now| self.known_credential(&key, name, *now)) {
            return Ok(now);
        }
        let n = name.to_string();
        let account =
            s.pool.read(move |reg| reg.verify_login(&n, &Password::given(password)).map_err(ApiError::from)).await;
        match account.map_err(LoginRefused::Failed)? {
            Some(a) => {
                self.throttle.succeeded(name);
                self.remember_credential(key, name, a.generation);
                Ok(Standing { role: a.role, generation: a.generation, enabled: true })
            }
            None => {
                self.throttle.failed(name, addr);
                Err(LoginRefused::Wrong)
            }
        }
    }
}

/// What an access token is worth.
enum TokenCheck {
    /// Valid: its number, its account and where the account stands.
    Valid(i64, String, Standing),
    /// Unknown, expired, revoked, or its account disabled.
    Unknown,
    /// The address has sent too many unknown tokens: try again after this long.
    HeldBack(Duration),
}

/// Why a login was refused.
#[derive(Debug)]
pub enum LoginRefused {
    /// Wrong name or password, or a disabled account (not told apart).
    Wrong,
    /// Too many failures for the name or the address: try again after this long.
    Throttled(Duration),
    /// The registry could not be read.
    Failed(ApiError),
}

impl LoginRefused {
    /// The answer to a client that sent Basic credentials.
    fn into_response(self) -> Response {
        match self {
            LoginRefused::Wrong => challenge("the account name or password is wrong, or the account is disabled"),
            LoginRefused::Throttled(wait) => throttled(wait),
            LoginRefused::Failed(e) => e.into_response(),
        }
    }
}

/// A 429 saying when to try again.
pub fn throttled(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let mut res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "",
        format!("too many failed logins for this account or address; try again in {secs} s"),
    )
    .into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

/// A 401 asking for Basic credentials.
fn challenge(detail: &str) -> Response {
    let mut res = ApiError::new(StatusCode::UNAUTHORIZED, "Authorization", detail).into_response();
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"nrledger\", charset=\"UTF-8\""));
    res
}

/// A 401 for `req`: asking for Basic credentials, except from a browser's page (`Sec-Fetch-Mode`, which
/// browsers send and QGIS and GDAL do not), where the challenge would open the browser's own password
/// dialog instead of the login page.
fn unauthorised(req: &Request, detail: &str) -> Response {
    if req.headers().contains_key("sec-fetch-mode") {
        return ApiError::new(StatusCode::UNAUTHORIZED, "", format!("{detail}: sign in at /login")).into_response();
    }
    challenge(detail)
}

/// Failed logins, per account name and per client address.
#[derive(Default)]
struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Failures allowed before a name is held back; an address (an office behind one gateway) gets more.
const NAME_FREE: u32 = 5;
const ADDR_FREE: u32 = 20;
/// The first hold, doubled with each further failure, up to the longest; failures older than an hour are forgotten.
const FIRST_HOLD: Duration = Duration::from_secs(4);
const MAX_HOLD: Duration = Duration::from_secs(15 * 60);
const FORGET: Duration = Duration::from_secs(3600);

impl Throttle {
    fn keys(name: &str, addr: IpAddr) -> [(String, u32); 2] {
        [(format!("name:{name}"), NAME_FREE), (format!("addr:{addr}"), ADDR_FREE)]
    }

    /// How long `name` or `addr` is still held back, if it is.
    fn wait(&self, name: &str, addr: IpAddr) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        Throttle::keys(name, addr)
            .iter()
            .filter_map(|(k, free)| {
                let (count, last) = map.get(k)?;
                let over = count.checked_sub(*free + 1)?;
                let hold = (FIRST_HOLD * (1u32 << over.min(10))).min(MAX_HOLD);
                hold.checked_sub(last.elapsed()).filter(|d| !d.is_zero())
            })
            .max()
    }

    fn failed(&self, name: &str, addr: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, last)| last.elapsed() < FORGET);
        for (k, _) in Throttle::keys(name, addr) {
            let e = map.entry(k).or_insert((0, Instant::now()));
            *e = (e.0 + 1, Instant::now());
        }
    }

    /// How long `addr` is still held back for unknown tokens, if it is.
    fn wait_addr(&self, addr: IpAddr) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, last) = map.get(&format!("addr:{addr}"))?;
        let over = count.checked_sub(ADDR_FREE + 1)?;
        let hold = (FIRST_HOLD * (1u32 << over.min(10))).min(MAX_HOLD);
        hold.checked_sub(last.elapsed()).filter(|d| !d.is_zero())
    }

    /// Count an unknown token sent from `addr`.
    fn failed_addr(&self, addr: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, last)| last.elapsed() < FORGET);
        let e = map.entry(format!("addr:{addr}")).or_insert((0, Instant::now()));
        *e = (e.0 + 1, Instant::now());
    }

    fn succeeded(&self, name: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&format!("name:{name}"));
    }
}

/// The client's address: the peer's, or, when the peer is a reverse proxy on this host (loopback), the
/// last address of its `X-Forwarded-For`.
fn client_addr(req: &Request) -> IpAddr {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    if !peer.is_loopback() {
        return peer;
    }
    req.headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(peer)
}

/// The token of a Bearer `Authorization` header, if the request has one.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// A 401 for a token that is unknown, expired, revoked, or whose account is disabled (not told apart).
fn invalid_token() -> Response {
    let mut res = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Authorization",
        "the access token is unknown, expired or revoked, or its account is disabled",
    )
    .into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"nrledger\", error=\"invalid_token\""),
    );
    res
}

/// The name and password of a Basic `Authorization` header: None without one, Some(None) for another scheme
/// or a malformed one.
fn basic(headers: &HeaderMap) -> Option<Option<(String, String)>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let encoded = value.to_str().ok().and_then(|v| v.strip_prefix("Basic ").or(v.strip_prefix("basic ")));
    let text = encoded
        .and_then(|e| base64::engine::general_purpose::STANDARD.decode(e.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    Some(text.and_then(|t| t.split_once(':').map(|(n, p)| (n.to_string(), p.to_string()))))
}

/// The first layer of every request: who sent it (the session cookie first, then Basic credentials), put
/// into the request as its [`Caller`]. Wrong Basic credentials are a 401 whatever the endpoint.
pub async fn identify(State(s): State<Arc<Service>>, mut req: Request, next: Next) -> Response {
    let addr = client_addr(&req);
    let closed = match s.gate.standing(None) {
        Ok((closed, _)) => closed,
        Err(e) => return e.into_response(),
    };
    let mut account = None;
    if let Some((id, name, csrf)) = session::cookie(req.headers()).and_then(|t| s.gate.sessions.find(&t)) {
        match s.gate.standing(Some(&name)) {
            Ok((_, Some(now))) if now.enabled && s.gate.sessions.current(&id, now.generation) => {
                account = Some(Signed { name, role: now.role, via: Via::Session(id, csrf) });
            }
            Ok(_) => s.gate.sessions.close(&id),
            Err(e) => return e.into_response(),
        }
    }
    if account.is_none() {
        if let Some(token) = bearer(req.headers()) {
            match s.gate.bearer(&token, addr) {
                Ok(TokenCheck::Valid(id, name, now)) => {
                    account = Some(Signed { name, role: now.role, via: Via::Bearer(id) })
                }
                Ok(TokenCheck::HeldBack(wait)) => return throttled(wait),
                Ok(TokenCheck::Unknown) => return invalid_token(),
                Err(e) => return e.into_response(),
            }
            req.extensions_mut().insert(Caller { account, addr, closed });
            return next.run(req).await;
        }
        match basic(req.headers()) {
            None => {}
            Some(None) => return challenge("give HTTP Basic credentials (an account name and its password)"),
            Some(Some((name, password))) => match s.gate.login(&s, &name, password, addr).await {
                Ok(now) => account = Some(Signed { name, role: now.role, via: Via::Basic }),
                Err(refused) => return refused.into_response(),
            },
        }
    }
    req.extensions_mut().insert(Caller { account, addr, closed });
    next.run(req).await
}

/// Whether a request wants a page for a person (`f=html`, or no `f` and a browser's `Accept`).
fn wants_html(req: &Request) -> bool {
    let f = req
        .uri()
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "f").map(|(_, v)| v.into_owned()));
    match f {
        Some(f) => f == "html",
        None => {
            req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
        }
    }
}

/// The layer of each endpoint: the caller weighed against the endpoint's [`Need`]. Refused: a browser is
/// sent to the login page (and back after it), a client gets a 401 asking for credentials, or a 403.
pub async fn authorize(
    State((s, need)): State<(Arc<Service>, Need)>,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Response {
    let Some(caller) = req.extensions().get::<Caller>() else {
        return ApiError::internal("a request reached authorisation unidentified").into_response();
    };
    let layer = params.iter().next().map(|(_, v)| v.strip_suffix(".json").unwrap_or(v).to_string());
    match decide(need, caller, layer.as_deref(), &s.gate.public) {
        Verdict::Allow => next.run(req).await,
        Verdict::SignIn if wants_html(&req) => {
            let back = req.uri().path_and_query().map_or("/", |p| p.as_str());
            session::to_login(&s, back)
        }
        Verdict::SignIn => unauthorised(&req, "this registry is closed to anonymous callers"),
        Verdict::Forbidden(why) if wants_html(&req) => {
            let page = format!(
                "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>无权访问 Forbidden</title></head>\
                 <body><h1>无权访问 Forbidden</h1><p>{}</p><p><a href=\"{}/\">地图 Map</a></p></body></html>\n",
                super::html::escape(&why),
                super::html::escape(&s.base)
            );
            (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
        }
        Verdict::Forbidden(why) => ApiError::new(StatusCode::FORBIDDEN, "", why).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Option<Role>, closed: bool) -> Caller {
        let account = role.map(|role| Signed { name: "x".into(), role, via: Via::Basic });
        Caller { account, addr: IpAddr::from([127, 0, 0, 1]), closed }
    }

    #[test]
    fn an_open_registry_serves_anyone_but_roles_need_an_account() {
        let none = HashSet::new();
        let anyone = caller(None, false);
        for need in [Need::Open, Need::Catalogue, Need::Layer, Need::SignedIn] {
            assert_eq!(decide(need, &anyone, Some("parcels"), &none), Verdict::Allow);
        }
        assert_eq!(decide(Need::Roles(&[Role::Admin]), &anyone, None, &none), Verdict::SignIn);
    }

    #[test]
    fn a_closed_registry_opens_only_public_collections_to_anyone() {
        let public: HashSet<String> = ["redlines".to_string()].into();
        let anyone = caller(None, true);
        assert_eq!(decide(Need::Layer, &anyone, Some("redlines"), &public), Verdict::Allow);
        assert_eq!(decide(Need::Layer, &anyone, Some("parcels"), &public), Verdict::SignIn);
        assert_eq!(decide(Need::Catalogue, &anyone, None, &public), Verdict::Allow);
        assert_eq!(decide(Need::Catalogue, &anyone, None, &HashSet::new()), Verdict::SignIn);
        assert_eq!(decide(Need::SignedIn, &anyone, None, &public), Verdict::SignIn);
        let viewer = caller(Some(Role::Viewer), true);
        assert_eq!(decide(Need::Layer, &viewer, Some("parcels"), &public), Verdict::Allow);
        assert!(
            matches!(decide(Need::Roles(&[Role::Admin]), &viewer, None, &public), Verdict::Forbidden(w) if w.contains("viewer"))
        );
    }

    #[test]
    fn failures_hold_a_name_back_past_the_free_ones_and_a_success_clears_it() {
        let t = Throttle::default();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        for _ in 0..NAME_FREE {
            assert_eq!(t.wait("li", a), None);
            t.failed("li", a);
        }
        assert_eq!(t.wait("li", a), None, "the free failures hold nothing back");
        t.failed("li", a);
        assert!(t.wait("li", b).is_some(), "the name is held back from any address");
        assert_eq!(t.wait("wang", b), None, "another name from another address is not");
        t.succeeded("li");
        assert_eq!(t.wait("li", b), None);
        for i in 0..ADDR_FREE {
            t.failed(&format!("n{i}"), a);
        }
        assert!(t.wait("wang", a).is_some(), "the address is held back for any name");
    }
}
