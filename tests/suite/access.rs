//! Who may do what on `nrledger serve`: every endpoint × every role (HTTP Basic and the login page's
//! session), anonymous callers of a closed registry and of its public collections, the login page's
//! cookies and form tokens (CSRF, session fixation), sessions ended by logout and by account changes,
//! failed logins held back, and GDAL reading a closed collection with credentials.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use nrledger::catalog::Catalog;
use nrledger::store::{Actor, Password, Role};
use nrledger::Registry;
use serde_json::Value as Json;

use crate::common::*;
use crate::serve::{county, Server};

/// The accounts of the tests: name, role, password.
pub(crate) const PEOPLE: &[(&str, Role, &str)] = &[
    ("wang.li", Role::Admin, "admin-secret-0001"),
    ("zhao", Role::Registrar, "registrar-secret-02"),
    ("sun", Role::Reviewer, "reviewer-secret-03"),
    ("chen", Role::Auditor, "auditor-secret-004"),
    ("liu", Role::Viewer, "viewer-secret-0005"),
];
/// A disabled viewer.
const FORMER: (&str, &str) = ("former", "left-in-2025-secret");

pub(crate) fn open(reg: &Path) -> Registry {
    Registry::open(reg, Catalog::embedded().unwrap()).unwrap()
}

pub(crate) fn add_people(reg: &Path) {
    let r = open(reg);
    let by = Actor { who: "tester".into(), origin: "localhost".into() };
    for (name, role, pw) in PEOPLE {
        r.add_account(name, "测试", *role, &Password::new(pw.to_string(), name).unwrap(), &by).unwrap();
    }
    let (name, pw) = FORMER;
    r.add_account(name, "离职", Role::Viewer, &Password::new(pw.into(), name).unwrap(), &by).unwrap();
    r.disable_account(name, &by).unwrap();
}

/// An answer: status, headers (lower-case names), body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn cookies(&self) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n == "set-cookie").map(|(_, v)| v.as_str()).collect()
    }

    /// The value a `Set-Cookie` gives cookie `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_string())
    }

    /// Whether the service's authorisation refused the request (as opposed to a handler answering it).
    fn refused(&self) -> bool {
        (self.status == 401 && self.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")))
            || (self.status == 403 && self.body.contains("may not do this"))
            || (self.status == 303 && self.header("location").is_some_and(|l| l.contains("/login?next=")))
    }
}

/// A plain HTTP client: no redirects followed, no cookies kept.
pub(crate) fn call(url: &str, method: &str, headers: &[(&str, String)], body: Option<&str>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let res = if method == "POST" {
        let mut rb = agent.post(url).header("Content-Type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            rb = rb.header(*k, v);
        }
        rb.send(body.unwrap_or(""))
    } else {
        let mut rb = agent.get(url);
        for (k, v) in headers {
            rb = rb.header(*k, v);
        }
        rb.call()
    };
    let mut res = res.unwrap();
    let headers =
        res.headers().iter().map(|(n, v)| (n.as_str().to_lowercase(), v.to_str().unwrap_or("").to_string())).collect();
    let body = res.body_mut().read_to_string().unwrap_or_default();
    Answer { status: res.status().as_u16(), headers, body }
}

pub(crate) fn basic(name: &str, pw: &str) -> (&'static str, String) {
    ("Authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{name}:{pw}"))))
}

/// A signed-in browser: its session cookie and the session's form token.
#[derive(Clone)]
pub(crate) struct Browser {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

impl Browser {
    pub(crate) fn header(&self) -> (&'static str, String) {
        ("Cookie", format!("nrledger_session={}", self.cookie))
    }
}

/// The login form's token and cookie.
pub(crate) fn login_form(srv: &Server) -> String {
    let page = call(&format!("{}/login", srv.url), "GET", &[], None);
    assert_eq!(page.status, 200);
    let token = page.cookie("nrledger_login").expect("the login form sets its cookie");
    assert!(page.body.contains(&format!("name=\"csrf\" value=\"{token}\"")), "{}", page.body);
    token
}

pub(crate) fn form_body(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

/// Sign in at the login page as a browser does.
pub(crate) fn sign_in(srv: &Server, name: &str, pw: &str) -> Browser {
    let token = login_form(srv);
    let res = call(
        &format!("{}/login", srv.url),
        "POST",
        &[("Cookie", format!("nrledger_login={token}"))],
        Some(&form_body(&[("csrf", &token), ("name", name), ("password", pw), ("next", "/")])),
    );
    assert_eq!(res.status, 303, "{name}: {}", res.body);
    let cookie = res.cookie("nrledger_session").expect("a session cookie");
    let b = Browser { cookie, csrf: String::new() };
    let me = me(srv, &[b.header()]);
    assert_eq!(me["name"], name);
    Browser { csrf: me["csrf"].as_str().unwrap().to_string(), ..b }
}

pub(crate) fn me(srv: &Server, headers: &[(&str, String)]) -> Json {
    let res = call(&format!("{}/me", srv.url), "GET", headers, None);
    assert_eq!(res.status, 200);
    serde_json::from_str(&res.body).unwrap()
}

/// An endpoint (method, path template) and the requests that try it, each with who may make it.
type Row = (&'static str, &'static str, Vec<(&'static str, &'static str)>);

/// Each endpoint, the requests that try it, and who may (`*`: anyone; `signed`: any account; else roles).
fn matrix() -> Vec<Row> {
    let any = "*";
    let signed = "signed";
    vec![
        ("GET", "/", vec![("/?f=json", any)]),
        ("GET", "/health", vec![("/health", any)]),
        ("GET", "/conformance", vec![("/conformance", any)]),
        ("GET", "/api", vec![("/api", any)]),
        ("GET", "/collections", vec![("/collections", any)]),
        ("GET", "/collections/{id}", vec![("/collections/redlines", any), ("/collections/parcels", signed)]),
        (
            "GET",
            "/collections/{id}/queryables",
            vec![("/collections/redlines/queryables", any), ("/collections/findings/queryables", signed)],
        ),
        (
            "GET",
            "/collections/{id}/items",
            vec![("/collections/redlines/items?limit=2", any), ("/collections/parcels/items?limit=2", signed)],
        ),
        (
            "GET",
            "/collections/{id}/items/{fid}",
            vec![("/collections/redlines/items/1", any), ("/collections/units/items/1", signed)],
        ),
        ("GET", "/lookup", vec![("/lookup?at=119.6,30.6", signed)]),
        ("GET", "/search", vec![("/search?q=330523", signed)]),
        ("GET", "/map/config.json", vec![("/map/config.json", signed)]),
        ("GET", "/assets/{file}", vec![("/assets/map.js", any)]),
        ("GET", "/units/{code}/book", vec![("/units/X/book?f=json", signed)]),
        ("GET", "/tiles/{file}", vec![("/tiles/redlines.json", any), ("/tiles/parcels.json", signed)]),
        (
            "GET",
            "/tiles/{layer}/{z}/{x}/{y}",
            vec![("/tiles/redlines/12/3409/1695.mvt", any), ("/tiles/parcels/12/3409/1695.mvt", signed)],
        ),
        ("GET", "/login", vec![("/login", any)]),
        ("POST", "/login", vec![("/login", any)]),
        ("POST", "/logout", vec![("/logout", signed)]),
        ("GET", "/me", vec![("/me", any)]),
        ("GET", "/admin/trail", vec![("/admin/trail?f=json", "admin,auditor")]),
        ("GET", "/admin/users", vec![("/admin/users?f=json", "admin")]),
        ("POST", "/admin/users", vec![("/admin/users", "admin")]),
        ("GET", "/registrations", vec![("/registrations?f=json", "registrar,reviewer,auditor,admin")]),
        ("GET", "/registrations/new", vec![("/registrations/new", "registrar")]),
        ("POST", "/registrations", vec![("/registrations", "registrar")]),
        ("GET", "/registrations/{id}", vec![("/registrations/1?f=json", "registrar,reviewer,auditor,admin")]),
        ("POST", "/registrations/{id}/approve", vec![("/registrations/1/approve", "reviewer")]),
        ("POST", "/registrations/{id}/return", vec![("/registrations/1/return", "reviewer")]),
        ("GET", "/findings", vec![("/findings?f=json", signed)]),
        ("POST", "/findings/{fid}/except", vec![("/findings/1/except", "reviewer")]),
        ("GET", "/patches", vec![("/patches?f=json", signed)]),
        ("GET", "/patches/{id}", vec![("/patches/JC0?f=json", signed)]),
        ("POST", "/patches/{id}/steps", vec![("/patches/JC0/steps", "reviewer")]),
        ("GET", "/patches/{id}/evidence/{sha}", vec![("/patches/JC0/evidence/00", signed)]),
        ("GET", "/jobs", vec![("/jobs?f=json", "auditor,reviewer,admin")]),
        (
            "GET",
            "/jobs/new",
            vec![("/jobs/new?kind=check", "auditor,reviewer"), ("/jobs/new?kind=warn", "auditor,reviewer")],
        ),
        ("POST", "/jobs", vec![("/jobs", "auditor,reviewer")]),
        ("GET", "/jobs/{id}", vec![("/jobs/1?f=json", "auditor,reviewer,admin")]),
        ("POST", "/jobs/{id}/cancel", vec![("/jobs/1/cancel", "auditor,reviewer,admin")]),
        ("GET", "/jobs/{id}/files/{name}", vec![("/jobs/1/files/audit.html", "auditor,reviewer,admin")]),
    ]
}

fn may(who: &str, role: Option<Role>) -> bool {
    match (who, role) {
        ("*", _) => true,
        ("signed", r) => r.is_some(),
        (roles, Some(r)) => roles.split(',').any(|n| n == r.name()),
        (_, None) => false,
    }
}

#[test]
fn every_role_reaches_exactly_the_endpoints_it_may() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    add_people(&reg);
    // an access token for each, made as `nrledger token add` makes it
    let by = Actor { who: "tester".into(), origin: "localhost".into() };
    let tokens: Vec<String> =
        PEOPLE.iter().map(|(n, _, _)| open(&reg).add_token(n, "matrix", 1, &by).unwrap().1).collect();
    let srv = Server::start_with(&reg, &["--readers", "2", "--public", "redlines"]);

    // the table covers every endpoint the service has, and no other
    let served: BTreeSet<(&str, &str)> = nrledger::serve::endpoints().iter().map(|e| (e.method, e.path)).collect();
    let tested: BTreeSet<(&str, &str)> = matrix().iter().map(|(m, p, _)| (*m, *p)).collect();
    assert_eq!(served, tested, "an endpoint without a row in the authorisation table, or a row without an endpoint");

    let browsers: Vec<(Role, Browser)> = PEOPLE.iter().map(|(n, r, pw)| (*r, sign_in(&srv, n, pw))).collect();
    let mut checked = 0;
    for (method, _, requests) in matrix() {
        for (path, who) in requests {
            let url = format!("{}{path}", srv.url);
            // anonymous
            let res = call(&url, method, &[], Some(""));
            assert_eq!(!res.refused(), may(who, None), "anonymous {method} {path}: {} {}", res.status, res.body);
            // each role, by Basic credentials (reading) and by its session (reading and posting forms)
            for (((name, role, pw), (_, b)), token) in PEOPLE.iter().zip(&browsers).zip(&tokens) {
                if method == "GET" {
                    let res = call(&url, method, &[basic(name, pw)], None);
                    assert_eq!(
                        !res.refused(),
                        may(who, Some(*role)),
                        "{name} (Basic) GET {path}: {} {}",
                        res.status,
                        res.body
                    );
                    let res = call(&url, method, &[("Authorization", format!("Bearer {token}"))], None);
                    assert_eq!(
                        !res.refused(),
                        may(who, Some(*role)),
                        "{name} (token) GET {path}: {} {}",
                        res.status,
                        res.body
                    );
                }
                if path == "/logout" {
                    continue; // ends the session: tried below
                }
                // the form changes the disabled account (a change of its own would end the caller's session)
                let body = form_body(&[("csrf", &b.csrf), ("name", FORMER.0), ("action", "role"), ("role", "viewer")]);
                let res = call(&url, method, &[b.header()], Some(&body));
                assert_eq!(
                    !res.refused(),
                    may(who, Some(*role)),
                    "{name} (session) {method} {path}: {} {}",
                    res.status,
                    res.body
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100);
    for ((name, _, _), (_, b)) in PEOPLE.iter().zip(&browsers) {
        assert_eq!(me(&srv, &[b.header()])["name"], *name, "the session of {name} ended during the table");
    }
    // a viewer cannot change an account, even with a valid form token; the account is as it was
    let (_, viewer) = &browsers[4];
    assert_eq!(me(&srv, &[viewer.header()])["name"], "liu", "the viewer's session ended");
    let body = form_body(&[("csrf", &viewer.csrf), ("name", "liu"), ("action", "role"), ("role", "admin")]);
    let res = call(&format!("{}/admin/users", srv.url), "POST", &[viewer.header()], Some(&body));
    assert_eq!(res.status, 403, "{}", res.body);
    assert_eq!(open(&reg).account("liu").unwrap().unwrap().role, Role::Viewer);

    // an anonymous list of collections shows the public one only; a browser is sent to the login page
    let list = call(&format!("{}/collections", srv.url), "GET", &[("Accept", "application/json".into())], None);
    let ids: Vec<String> = serde_json::from_str::<Json>(&list.body).unwrap()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["redlines"]);
    let page =
        call(&format!("{}/collections/parcels/items?limit=3", srv.url), "GET", &[("Accept", "text/html".into())], None);
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location").unwrap(),
        format!("{}/login?next=%2Fcollections%2Fparcels%2Fitems%3Flimit%3D3", srv.url)
    );
    let home = call(&format!("{}/", srv.url), "GET", &[("Accept", "text/html".into())], None);
    assert!(home.status == 303 && home.header("location").unwrap().ends_with("/login?next=%2F"));

    // a disabled account and a wrong password are refused alike, and Basic credentials cannot post a form
    for (name, pw) in [FORMER, ("liu", "not-the-password")] {
        let res = call(&format!("{}/collections/parcels", srv.url), "GET", &[basic(name, pw)], None);
        assert_eq!(res.status, 401, "{name}");
        assert!(!res.body.contains(pw));
    }
    let (admin, _, pw) = PEOPLE[0];
    let body = form_body(&[("name", "liu"), ("action", "disable")]);
    let res = call(&format!("{}/admin/users", srv.url), "POST", &[basic(admin, pw)], Some(&body));
    assert_eq!(res.status, 403, "{}", res.body);
    assert!(open(&reg).account("liu").unwrap().unwrap().disabled_at.is_none());
}

#[test]
fn the_login_page_guards_its_session_and_account_changes_end_it() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let srv = Server::start_with(&reg, &["--readers", "2"]);
    let url = |p: &str| format!("{}{p}", srv.url);

    // no account yet: open to anyone, and the login page says how to add the first admin
    assert_eq!(call(&url("/collections/parcels"), "GET", &[], None).status, 200);
    assert!(call(&url("/login"), "GET", &[], None).body.contains("nrledger user add"));
    // the first account closes it, at once
    add_people(&reg);
    let res = call(&url("/collections/parcels"), "GET", &[], None);
    assert!(res.refused() && res.status == 401, "{}", res.status);

    // the login form: its own token, in an HttpOnly cookie and in the form
    let token = login_form(&srv);
    let (admin, _, pw) = PEOPLE[0];
    let post_login = |cookie: Option<&str>, fields: &[(&str, &str)]| {
        let headers: Vec<(&str, String)> = cookie.map(|c| ("Cookie", c.to_string())).into_iter().collect();
        call(&url("/login"), "POST", &headers, Some(&form_body(fields)))
    };
    let good = [("csrf", token.as_str()), ("name", admin), ("password", pw), ("next", "/admin/users")];
    // without the form's cookie, or with another token: refused, no session
    for (cookie, csrf) in [(None, token.as_str()), (Some(format!("nrledger_login={token}")), "forged")] {
        let mut f = good;
        f[0].1 = csrf;
        let res = post_login(cookie.as_deref(), &f);
        assert_eq!(res.status, 403, "{}", res.body);
        assert!(res.cookie("nrledger_session").is_none());
    }
    // a wrong password: the form again, no session, nothing telling which part was wrong
    let cookie = format!("nrledger_login={token}");
    let mut wrong = good;
    wrong[2].1 = "wrong-password-x";
    let res = post_login(Some(&cookie), &wrong);
    assert_eq!(res.status, 401);
    assert!(res.cookie("nrledger_session").is_none() && res.body.contains("账户或密码错误"));

    // session fixation: a token planted before the login is not the session the login opens
    let planted = "0".repeat(64);
    let res = post_login(Some(&format!("{cookie}; nrledger_session={planted}")), &good);
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(res.header("location").unwrap(), url("/admin/users"));
    let session = res.cookie("nrledger_session").unwrap();
    assert_ne!(session, planted);
    let set = res.cookies().into_iter().find(|c| c.starts_with("nrledger_session=")).unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "Secure is for https: {set}");
    assert_eq!(me(&srv, &[("Cookie", format!("nrledger_session={planted}"))])["name"], Json::Null);
    let admin_b = Browser {
        cookie: session.clone(),
        csrf: me(&srv, &[Browser { cookie: session, csrf: String::new() }.header()])["csrf"].as_str().unwrap().into(),
    };

    // CSRF: an account change without the token, or with another, changes nothing
    for csrf in [None, Some("0123")] {
        let mut f = vec![("name", "liu"), ("action", "disable")];
        f.extend(csrf.map(|c| ("csrf", c)));
        let res = call(&url("/admin/users"), "POST", &[admin_b.header()], Some(&form_body(&f)));
        assert_eq!(res.status, 403, "{}", res.body);
        assert!(res.body.contains("csrf"));
    }
    assert!(open(&reg).account("liu").unwrap().unwrap().disabled_at.is_none());

    // the viewer signs in; the admin disables them from the page: their session and credentials end
    let (viewer, _, vpw) = PEOPLE[4];
    let viewer_b = sign_in(&srv, viewer, vpw);
    assert_eq!(call(&url("/collections/parcels"), "GET", &[basic(viewer, vpw)], None).status, 200);
    let body = form_body(&[("csrf", &admin_b.csrf), ("name", viewer), ("action", "disable")]);
    let res = call(&url("/admin/users"), "POST", &[admin_b.header()], Some(&body));
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(open(&reg).account(viewer).unwrap().unwrap().disabled_at.is_some());
    assert_eq!(me(&srv, &[viewer_b.header()])["name"], Json::Null, "the disabled account's session goes on");
    assert_eq!(call(&url("/collections/parcels"), "GET", &[basic(viewer, vpw)], None).status, 401);
    // the last admin cannot disable themself: the page says so and the account stays
    let body = form_body(&[("csrf", &admin_b.csrf), ("name", admin), ("action", "disable")]);
    let res = call(&url("/admin/users"), "POST", &[admin_b.header()], Some(&body));
    assert_eq!(res.status, 400);
    assert!(res.body.contains("last enabled admin"), "{}", res.body);
    // a role changed from the command line ends the session too
    let (auditor, _, apw) = PEOPLE[3];
    let auditor_b = sign_in(&srv, auditor, apw);
    assert_eq!(call(&url("/admin/trail?f=json"), "GET", &[auditor_b.header()], None).status, 200);
    let (c, _, err) = run(&["user", "role", s(&reg), auditor, "viewer"]);
    assert_eq!(c, 0, "{err}");
    assert_eq!(me(&srv, &[auditor_b.header()])["name"], Json::Null);

    // logout ends the session; its cookie is removed
    let res = call(&url("/logout"), "POST", &[admin_b.header()], Some(&form_body(&[("csrf", &admin_b.csrf)])));
    assert_eq!(res.status, 303);
    assert!(res.cookies().iter().any(|c| c.starts_with("nrledger_session=;") && c.contains("Max-Age=0")));
    assert_eq!(me(&srv, &[admin_b.header()])["name"], Json::Null);

    // the trail: the logins, the refused one, the page's change by the admin from the loopback address,
    // the logout; never a password or a session token
    let trail = open(&reg).trail().unwrap();
    let rows: Vec<(String, String, String)> =
        trail.iter().map(|t| (t.action.clone(), t.target.clone(), t.who.clone())).collect();
    let has = |a: &str, t: &str, w: &str| rows.contains(&(a.into(), t.into(), w.into()));
    assert!(has("session.refused", admin, admin) && has("session.login", admin, admin), "{rows:?}");
    assert!(has("user.disable", viewer, admin) && has("session.logout", admin, admin), "{rows:?}");
    assert!(trail.iter().filter(|t| t.who == admin).all(|t| t.origin == "127.0.0.1"));
    let text = format!("{trail:?}");
    for (_, _, pw) in PEOPLE {
        assert!(!text.contains(pw));
    }
    assert!(!text.contains(&admin_b.cookie) && !text.contains(&admin_b.csrf));
}

#[test]
fn failed_logins_hold_the_name_back_and_cookies_are_secure_behind_https() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    add_people(&reg);
    let srv = Server::start_with(&reg, &["--readers", "2", "--public-url", "https://gis.example.gov.cn/nrledger"]);
    let parcels = format!("{}/collections/parcels", srv.url);
    let (name, _, pw) = PEOPLE[1];
    for i in 0..6 {
        let res = call(&parcels, "GET", &[basic(name, &format!("guess-number-{i}"))], None);
        assert_eq!(res.status, 401, "attempt {i}");
    }
    // the right password is now refused too, for a while; another account from the same address is not
    let res = call(&parcels, "GET", &[basic(name, pw)], None);
    assert_eq!(res.status, 429, "{}", res.body);
    assert!(res.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    let (other, _, opw) = PEOPLE[2];
    assert_eq!(call(&parcels, "GET", &[basic(other, opw)], None).status, 200);
    // the login page holds the name back as well, and says so
    let token = login_form(&srv);
    let res = call(
        &format!("{}/login", srv.url),
        "POST",
        &[("Cookie", format!("nrledger_login={token}"))],
        Some(&form_body(&[("csrf", &token), ("name", name), ("password", pw)])),
    );
    assert_eq!(res.status, 429);
    assert!(res.body.contains("try again in"));

    // behind https, the cookies are Secure and on the public URL's path
    let page = call(&format!("{}/login", srv.url), "GET", &[], None);
    let set = page.cookies().into_iter().find(|c| c.starts_with("nrledger_login=")).unwrap().to_string();
    assert!(set.contains("Secure") && set.contains("Path=/nrledger/login") && set.contains("HttpOnly"), "{set}");
    assert!(page.body.contains("action=\"https://gis.example.gov.cn/nrledger/login\""));
}

#[test]
fn gdal_reads_a_closed_collection_with_credentials_and_nothing_without() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    add_people(&reg);
    let srv = Server::start_with(&reg, &["--readers", "2", "--public", "redlines"]);
    let ogrinfo = |collection: &str, userpwd: Option<&str>| {
        let mut cmd = Command::new("ogrinfo");
        cmd.args(["-ro", "-so", &format!("OAPIF:{}/collections/{collection}", srv.url), collection]);
        if let Some(up) = userpwd {
            cmd.env("GDAL_HTTP_AUTH", "BASIC").env("GDAL_HTTP_USERPWD", up);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (name, _, pw) = PEOPLE[4];
    let (ok, out) = ogrinfo("parcels", Some(&format!("{name}:{pw}")));
    assert!(ok, "{out}");
    let matched = srv.json_with("/collections/parcels/items?limit=1", &basic(name, pw));
    assert!(out.contains(&format!("Feature Count: {}", matched["numberMatched"])), "{out}");
    let (ok, out) = ogrinfo("parcels", None);
    assert!(!ok, "a closed collection read without credentials: {out}");
    let (ok, out) = ogrinfo("parcels", Some(&format!("{name}:wrong-password")));
    assert!(!ok, "{out}");
    // the public collection needs none
    let (ok, out) = ogrinfo("redlines", None);
    assert!(ok, "{out}");
}

#[test]
fn an_access_token_acts_for_its_account_until_revoked_expired_or_the_account_disabled() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    add_people(&reg);
    let token_for = |account: &str, label: &str| {
        let out =
            nrledger().args(["token", "add", s(&reg), account, "--label", label, "--days", "30"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let viewer = token_for("liu", "QGIS 地理信息科 PC 3");
    let auditor = token_for("chen", "nightly export");
    assert!(viewer.starts_with("nrl_") && viewer.len() == 68, "{viewer}");
    // the tokens are nowhere but with the person: not in the file, the listing or the trail
    let bytes = std::fs::read(&reg).unwrap();
    assert!(!bytes.windows(viewer.len()).any(|w| w == viewer.as_bytes()), "a token is in the registry's bytes");
    let (c, listed, _) = run(&["token", "list", s(&reg), "--format", "json"]);
    assert_eq!(c, 0);
    assert!(listed.contains("QGIS 地理信息科 PC 3") && !listed.contains(&viewer[4..20]), "{listed}");
    let (c, trail, _) = run(&["info", s(&reg), "--trail"]);
    assert!(c == 0 && trail.contains("token.add") && !trail.contains(&viewer[4..20]), "{trail}");
    // a token, like a password, is refused for an unknown or disabled account and for a bad lifetime
    for (account, days) in [("nobody", "30"), ("former", "30"), ("liu", "0"), ("liu", "400")] {
        let (c, _, e) = run(&["token", "add", s(&reg), account, "--label", "x", "--days", days]);
        assert_ne!(c, 0, "{account} {days}: {e}");
    }

    let srv = Server::start_with(&reg, &["--readers", "2"]);
    let with = |token: &str, path: &str, from: &str| {
        call(
            &format!("{}{path}", srv.url),
            "GET",
            &[("Authorization", format!("Bearer {token}")), ("X-Forwarded-For", from.to_string())],
            None,
        )
    };
    let items = "/collections/parcels/items?limit=1";
    assert_eq!(with(&viewer, items, "10.0.0.1").status, 200);
    assert_eq!(call(&format!("{}{items}", srv.url), "GET", &[], None).status, 401);
    // the role is the account's: a viewer's token does not read the trail, an auditor's does
    assert_eq!(with(&viewer, "/admin/trail?f=json", "10.0.0.1").status, 403);
    assert_eq!(with(&auditor, "/admin/trail?f=json", "10.0.0.1").status, 200);
    let wrong = with("nrl_0000", items, "10.0.0.1");
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer realm=\"nrledger\", error=\"invalid_token\""));
    // GDAL reads the closed collection with the token in a header
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", &format!("OAPIF:{}/collections/parcels", srv.url), "parcels"])
        .env("GDAL_HTTP_HEADERS", format!("Authorization: Bearer {viewer}"))
        .output()
        .unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Feature Count"), "{out:?}");

    // revoked (by the command line, while the server runs): refused at the next request
    let (c, _, e) = run(&["token", "revoke", s(&reg), "1"]);
    assert_eq!(c, 0, "{e}");
    assert_eq!(with(&viewer, items, "10.0.0.1").status, 401);
    let (c, _, _) = run(&["token", "revoke", s(&reg), "1"]);
    assert_ne!(c, 0, "a token is revoked once");
    // the account disabled: its token is refused too
    let out = nrledger().args(["user", "disable", s(&reg), "chen"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(with(&auditor, items, "10.0.0.1").status, 401);
    // an expired token (one made long ago) is refused
    let old = "nrl_expired-long-ago-0123456789";
    rusqlite::Connection::open(&reg)
        .unwrap()
        .execute(
            "INSERT INTO nr_tokens (account, label, token_sha256, created_at, created_by, expires) \
             VALUES ('sun', 'old', ?1, '2019-01-01T00:00:00Z', 'tester', '2019-03-31')",
            [nrledger::store::token_hash(old)],
        )
        .unwrap();
    assert_eq!(with(old, items, "10.0.0.1").status, 401);
    // an address guessing tokens is held back (with a valid one too); another address is not
    let fresh = token_for("sun", "reviewer's script");
    let statuses: Vec<u16> = (0..25).map(|i| with(&format!("nrl_guess{i}"), items, "10.6.6.6").status).collect();
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert_eq!(with(&fresh, items, "10.6.6.6").status, 429);
    assert_eq!(with(&fresh, items, "10.0.0.2").status, 200);
    // the trail has the revocation; the registry refuses to forget a token
    assert!(open(&reg).trail().unwrap().iter().any(|t| t.action == "token.revoke" && t.target == "liu"));
    let deleted = rusqlite::Connection::open(&reg).unwrap().execute("DELETE FROM nr_tokens WHERE id = 1", []);
    assert!(deleted.is_err());
}

/// The alert of a page (what it says went wrong), or its start.
fn alert(body: &str) -> String {
    match body.split_once("role=\"alert\">") {
        Some((_, rest)) => rest.split("</p>").next().unwrap_or("").to_string(),
        None => body.chars().take(300).collect(),
    }
}

/// A multipart form body of text fields and files (field, file name, bytes): its content type and bytes.
pub(crate) fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "nrledger-test-boundary-7d1";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    for (field, name, bytes) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Post a multipart form to `path` with `b`'s session.
pub(crate) fn post_multipart(
    srv: &Server,
    b: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Answer {
    let (ct, body) = multipart(fields, files);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut res = agent
        .post(&format!("{}{path}", srv.url))
        .header("Content-Type", &ct)
        .header("Cookie", &format!("nrledger_session={}", b.cookie))
        .send(&body[..])
        .unwrap();
    let headers =
        res.headers().iter().map(|(n, v)| (n.as_str().to_lowercase(), v.to_str().unwrap_or("").to_string())).collect();
    let body = res.body_mut().read_to_string().unwrap_or_default();
    Answer { status: res.status().as_u16(), headers, body }
}

/// The registration form posted, with its outline file if any.
fn post_form(srv: &Server, b: &Browser, fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Answer {
    let files: Vec<(&str, &str, &[u8])> = file.into_iter().map(|(n, bytes)| ("geometry", n, bytes)).collect();
    post_multipart(srv, b, "/registrations", fields, &files)
}

fn square_geojson(lon: f64, lat: f64, size: f64) -> String {
    let (a, b, c, d) = (lon, lat, lon + size, lat + size);
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},{d}],[{a},{d}],[{a},{b}]]]}}}}]}}"#
    )
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut buf);
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
    buf.into_inner()
}

#[test]
fn a_registrar_submits_in_the_browser_a_reviewer_records_it_and_bad_uploads_change_nothing() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    add_people(&reg);
    let srv = Server::start_with(&reg, &["--readers", "2"]);
    let (zhao, sun) = (sign_in(&srv, PEOPLE[1].0, PEOPLE[1].2), sign_in(&srv, PEOPLE[2].0, PEOPLE[2].2));
    let form = call(&format!("{}/registrations/new", srv.url), "GET", &[zhao.header()], None);
    assert!(form.status == 200 && form.body.contains(&zhao.csrf) && form.body.contains("DYMC"), "{}", form.body);

    let script = "<script>alert('单元')</script>";
    let sql = "'; DROP TABLE units; --";
    let first = |unit: &'static str, name: &'static str| {
        move |csrf: &str| -> Vec<(&'static str, String)> {
            vec![
                ("csrf", csrf.to_string()),
                ("op", "first".into()),
                ("unit", unit.into()),
                ("date", "2021-03-01".into()),
                ("reason", "首次登记".into()),
                ("f.DYMC", name.into()),
                ("f.DYLX", "荒地".into()),
                ("f.SYQZT", "全民".into()),
            ]
        }
    };
    let send = |b: &Browser, v: Vec<(&'static str, String)>, file: Option<(&str, &[u8])>| {
        let refs: Vec<(&str, &str)> = v.iter().map(|(k, x)| (*k, x.as_str())).collect();
        post_form(&srv, b, &refs, file)
    };
    let before = sha256(&reg);
    let unchanged = |why: &str| assert_eq!(count(&reg, "SELECT count(*) FROM nr_submissions"), 0, "{why}");

    // refusals on the form: no CSRF token, no outline for a first registration, a zip leaving its folder,
    // a Shapefile without .prj, a file of another kind; each says why and marks the field
    let mut no_token = first("330523HD0001", "x")(&zhao.csrf);
    no_token[0].1 = "forged".into();
    assert_eq!(send(&zhao, no_token, None).status, 403);
    let res = send(&zhao, first("330523HD0001", "x")(&zhao.csrf), None);
    assert!(res.status == 400 && res.body.contains("首次登记须上传单元界线文件"), "{}", res.body);
    let evil = zip_of(&[("../../evil.geojson", square_geojson(119.6, 30.6, 0.01).into_bytes())]);
    let res = send(&zhao, first("330523HD0001", "x")(&zhao.csrf), Some(("evil.zip", &evil)));
    assert!(
        res.status == 400
            && res.body.contains("outside its folder")
            && res.body.contains(
                "id=\"geometry\" name=\"geometry\" type=\"file\" accept=\".geojson,.json,.gpkg,.zip\" class=\"bad\""
            ),
        "{}",
        res.body
    );
    let shp_dir = d.path().join("shp");
    std::fs::create_dir(&shp_dir).unwrap();
    let gj = d.path().join("u.geojson");
    std::fs::write(&gj, square_geojson(119.6, 30.6, 0.01)).unwrap();
    let out =
        Command::new("ogr2ogr").args(["-f", "ESRI Shapefile", s(&shp_dir.join("u.shp")), s(&gj)]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let parts: Vec<(&str, Vec<u8>)> =
        ["u.shp", "u.shx", "u.dbf"].map(|p| (p, std::fs::read(shp_dir.join(p)).unwrap())).to_vec();
    let res = send(&zhao, first("330523HD0001", "x")(&zhao.csrf), Some(("u.zip", &zip_of(&parts))));
    assert!(res.status == 400 && res.body.contains("坐标系") && res.body.contains("u.zip/u.shp"), "{}", res.body);
    assert!(!res.body.contains("nrledger-upload-"), "the server's folder is shown: {}", res.body);
    let res = send(&zhao, first("330523HD0001", "x")(&zhao.csrf), Some(("u.exe", b"MZ")));
    assert!(res.status == 400 && res.body.contains("zipped Shapefile"), "{}", res.body);
    unchanged("a refused form submitted something");
    assert_eq!(sha256(&reg), before, "a refused form changed the registry");

    // the same Shapefile with its CRS given on the form is taken; the name holds a script and SQL. A
    // preview first: the book page it would give, nothing submitted, the file kept for the form
    let mut with_crs = first("330523HD0001", "x")(&zhao.csrf);
    with_crs.push(("src_crs", "EPSG:4326".into()));
    with_crs[5].1 = format!("{script}{sql}");
    let mut preview = with_crs.clone();
    preview.push(("step", "preview".into()));
    let res = send(&zhao, preview, Some(("u.zip", &zip_of(&parts))));
    assert!(res.status == 200 && res.body.contains("自然状况") && res.body.contains("<svg"), "{}", res.body);
    assert!(res.body.contains("&lt;script&gt;") && !res.body.contains(script), "the preview shows the name escaped");
    unchanged("a preview submitted something");
    let draft = res.body.split("name=\"draft\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    // the kept file is the registrar's own: a reviewer's form cannot use it (nor submit at all)
    let mut stolen = with_crs.clone();
    stolen[0].1 = sun.csrf.clone();
    stolen.push(("draft", draft.clone()));
    assert_eq!(send(&sun, stolen, None).status, 403);
    with_crs.extend([("draft", draft), ("draft_name", "u.zip".into()), ("step", "submit".into())]);
    let res = send(&zhao, with_crs, None);
    assert_eq!(res.status, 303, "{}", res.body);
    let page_of = res.header("location").unwrap().to_string();
    assert_eq!(page_of, format!("{}/registrations/1", srv.url));
    assert_eq!(
        count(&reg, "SELECT count(*) FROM units") + count(&reg, "SELECT count(*) FROM nr_events"),
        0,
        "submitted is not recorded"
    );
    let overlapping = send(
        &zhao,
        first("330523HD0002", "重叠单元")(&zhao.csrf),
        Some(("b.geojson", square_geojson(119.605, 30.605, 0.01).as_bytes())),
    );
    assert_eq!(overlapping.status, 303, "{}", overlapping.body);

    // the registrar sees it, escaped, and cannot approve it; the reviewer can
    let shown = call(&page_of, "GET", &[zhao.header(), ("Accept", "text/html".into())], None);
    assert!(
        shown.body.contains("&lt;script&gt;") && !shown.body.contains(script) && !shown.body.contains("登簿 Approve"),
        "{}",
        shown.body
    );
    let approve = |b: &Browser, id: u32| {
        call(
            &format!("{}/registrations/{id}/approve", srv.url),
            "POST",
            &[b.header()],
            Some(&form_body(&[("csrf", &b.csrf)])),
        )
    };
    assert_eq!(approve(&zhao, 1).status, 403);
    let shown = call(&page_of, "GET", &[sun.header(), ("Accept", "text/html".into())], None);
    assert!(shown.body.contains("登簿 Approve") && shown.body.contains("<svg"), "{}", shown.body);
    let res = approve(&sun, 1);
    assert_eq!(res.status, 303, "{}", res.body);
    let events = open(&reg).events(None).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].registrar.as_str(), events[0].reviewer.as_deref()), ("zhao", Some("sun")));
    let name: String = rusqlite::Connection::open(&reg)
        .unwrap()
        .query_row("SELECT DYMC FROM units WHERE DYH = '330523HD0001'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, format!("{script}{sql}"), "the name is stored as typed, and the table is there");
    // the overlapping one is refused at approval, shown in Chinese, and stays waiting until returned
    let res = approve(&sun, 2);
    assert!(res.status == 400 && res.body.contains("与已登记单元重叠"), "{}", res.body);
    let back = |reason: &str| {
        call(
            &format!("{}/registrations/2/return", srv.url),
            "POST",
            &[sun.header()],
            Some(&form_body(&[("csrf", &sun.csrf), ("reason", reason)])),
        )
    };
    assert_eq!(back("").status, 400);
    assert_eq!(back("与 330523HD0001 重叠，请修改界线").status, 303);
    let listed: Json =
        serde_json::from_str(&call(&format!("{}/registrations?f=json", srv.url), "GET", &[zhao.header()], None).body)
            .unwrap();
    let states: Vec<&str> = listed.as_array().unwrap().iter().map(|x| x["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["returned", "approved"]);
    // the book page escapes the name too
    let book = call(
        &format!("{}/units/330523HD0001/book", srv.url),
        "GET",
        &[zhao.header(), ("Accept", "text/html".into())],
        None,
    );
    assert!(
        book.status == 200 && book.body.contains("&lt;script&gt;") && !book.body.contains(script),
        "{}",
        book.status
    );
}

#[test]
fn an_upload_too_large_is_refused_by_its_declared_size() {
    use std::io::{Read, Write};
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    add_people(&reg);
    let srv = Server::start_with(&reg, &["--readers", "2"]);
    let zhao = sign_in(&srv, PEOPLE[1].0, PEOPLE[1].2);
    let addr = srv.url.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    // 2 GB announced, a few bytes sent: the answer comes before the rest
    write!(
        tcp,
        "POST /registrations HTTP/1.1\r\nHost: {addr}\r\nCookie: nrledger_session={}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 2147483648\r\n\r\n--x\r\n",
        zhao.cookie
    )
    .unwrap();
    let mut answer = [0u8; 64];
    let n = tcp.read(&mut answer).unwrap();
    let head = String::from_utf8_lossy(&answer[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // and the server goes on
    assert_eq!(call(&format!("{}/health", srv.url), "GET", &[], None).status, 200);
}

#[test]
fn twenty_clients_submit_approve_and_read_while_an_import_runs_and_the_registry_stays_whole() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("county.gpkg");
    let (c, _, err) = run(&["init", s(&reg), "--region", "330523"]);
    assert_eq!(c, 0, "{err}");
    add_people(&reg);
    let by = Actor { who: "tester".into(), origin: "localhost".into() };
    open(&reg)
        .add_account("qian", "钱审", Role::Reviewer, &Password::new("reviewer-two-secret".into(), "qian").unwrap(), &by)
        .unwrap();
    let srv = Server::start_with(&reg, &["--readers", "4"]);
    let (zhao, pw) = (PEOPLE[1].0, PEOPLE[1].2);
    let reviewers = [(PEOPLE[2].0, PEOPLE[2].2), ("qian", "reviewer-two-secret")];
    let submitters: usize = 8;
    let done_submitting = std::sync::atomic::AtomicUsize::new(0);
    let accepted = std::sync::atomic::AtomicUsize::new(0);

    std::thread::scope(|sc| {
        // the import of a survey, from the command line, meanwhile
        let import = sc.spawn(|| {
            let src = seed("2019-12-31.gpkg");
            run(&[
                "import",
                s(&reg),
                s(&src),
                "--layer",
                "parcels",
                "--profile",
                "sandiao-dltb",
                "--as-of",
                "2019-12-31",
            ])
        });
        // 8 registrars' sessions, 3 submissions each: some reuse the code of the one before, some overlap it
        for t in 0..submitters {
            let (srv, done, accepted) = (&srv, &done_submitting, &accepted);
            sc.spawn(move || {
                let b = sign_in(srv, zhao, pw);
                for k in 0..3 {
                    let (code, cell) = match k {
                        0 => (t * 10, t),                          // its own cell and code
                        1 => (t * 10 + 1, t.saturating_sub(1)),    // the cell of the thread before: overlaps
                        _ => ((t.saturating_sub(1)) * 10, 20 + t), // the code of the thread before: reused
                    };
                    let gj = square_geojson(119.60 + cell as f64 * 0.005, 30.60, 0.004);
                    let unit = format!("330523HD{code:04}");
                    let fields = [
                        ("csrf", b.csrf.as_str()),
                        ("op", "first"),
                        ("unit", &unit),
                        ("date", "2021-03-01"),
                        ("reason", "首次登记"),
                        ("f.DYMC", "并发测试单元"),
                        ("f.DYLX", "荒地"),
                        ("f.SYQZT", "全民"),
                    ];
                    let res = post_form(srv, &b, &fields, Some(("u.geojson", gj.as_bytes())));
                    // a conflict with a unit approved meanwhile is refused at once, on the form
                    let conflict = res.status == 400 && (res.body.contains("重叠") || res.body.contains("已登记"));
                    assert!(res.status == 303 || conflict, "{unit}: {} {}", res.status, alert(&res.body));
                    if res.status == 303 {
                        accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        // 3 sessions of each reviewer: approve what waits; a refused approval is returned with its reason
        for (name, rpw) in reviewers.iter().cycle().take(6) {
            let (srv, done) = (&srv, &done_submitting);
            sc.spawn(move || {
                let b = sign_in(srv, name, rpw);
                for _round in 0..200 {
                    let list =
                        call(&format!("{}/registrations?state=submitted&f=json", srv.url), "GET", &[b.header()], None);
                    let waiting: Json = serde_json::from_str(&list.body).unwrap();
                    let ids: Vec<i64> = waiting.as_array().unwrap().iter().map(|x| x["id"].as_i64().unwrap()).collect();
                    if ids.is_empty() && done.load(std::sync::atomic::Ordering::SeqCst) == submitters {
                        return;
                    }
                    for id in ids {
                        let url = format!("{}/registrations/{id}", srv.url);
                        let res = call(
                            &format!("{url}/approve"),
                            "POST",
                            &[b.header()],
                            Some(&form_body(&[("csrf", &b.csrf)])),
                        );
                        let decided =
                            res.body.contains(": already approved") || res.body.contains(": already returned");
                        if res.status == 400 && !decided {
                            let why = [("csrf", b.csrf.as_str()), ("reason", "冲突 conflicts")];
                            call(&format!("{url}/return"), "POST", &[b.header()], Some(&form_body(&why)));
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                panic!("{name}: submissions still waiting after 200 rounds");
            });
        }
        // 6 readers
        for r in 0..6 {
            let srv = &srv;
            sc.spawn(move || {
                let b = sign_in(srv, PEOPLE[4].0, PEOPLE[4].2);
                let layer = if r % 2 == 0 { "units" } else { "parcels" };
                for _ in 0..15 {
                    let res =
                        call(&format!("{}/collections/{layer}/items?limit=50", srv.url), "GET", &[b.header()], None);
                    assert_eq!(res.status, 200, "{}", res.body);
                }
            });
        }
        let (c, out, err) = import.join().unwrap();
        assert_eq!(c, 0, "{out}{err}");
    });

    // the registry is whole: every approved submission recorded exactly once, no code twice, no overlap
    let conn = rusqlite::Connection::open(&reg).unwrap();
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let n = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    let approved = n("SELECT count(*) FROM nr_submissions WHERE state = 'approved'");
    assert!(approved >= submitters as i64, "{approved} approved");
    assert_eq!(n("SELECT count(*) FROM nr_submissions WHERE state = 'submitted'"), 0);
    assert_eq!(n("SELECT count(*) FROM nr_submissions"), accepted.load(std::sync::atomic::Ordering::SeqCst) as i64);
    assert_eq!(n("SELECT count(*) FROM nr_events"), approved);
    assert_eq!(
        n("SELECT count(*) FROM nr_submissions s JOIN nr_events e ON e.event_id = s.event_id AND e.submission_id = s.fid \
           AND e.unit_code = s.unit_code WHERE s.state = 'approved'"),
        approved
    );
    assert_eq!(n("SELECT count(*) FROM (SELECT DYH FROM units GROUP BY DYH HAVING count(*) > 1)"), 0, "a code reused");
    assert_eq!(n("SELECT count(*) FROM units"), approved);
    let (c, out, err) = run(&["check", s(&reg), "--only", "NR102"]);
    assert_eq!(c, 0, "units overlap: {out}{err}");
    assert!(n("SELECT count(*) FROM parcels") > 1000, "the import landed");
}

#[test]
fn a_reviewer_excepts_a_finding_and_the_next_check_applies_and_exports_it() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    add_people(&reg);
    let out = nrledger().args(["check", s(&reg), "--store", "--format", "json"]).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Json = serde_json::from_slice(&out.stdout).unwrap();
    let listed = report["findings"].as_array().unwrap().len();
    let srv = Server::start_with(&reg, &["--readers", "2"]);
    let (sun, liu) = (sign_in(&srv, PEOPLE[2].0, PEOPLE[2].2), sign_in(&srv, PEOPLE[4].0, PEOPLE[4].2));
    let get = |b: &Browser, q: &str| call(&format!("{}/findings{q}", srv.url), "GET", &[b.header()], None);
    let page: Json = serde_json::from_str(&get(&liu, "?f=json").body).unwrap();
    let findings = page["findings"].as_array().unwrap();
    assert_eq!(findings.len(), listed, "every finding of the stored run is listed");
    // filters
    let target = findings.iter().find(|f| f["severity"] == "error" && !f["ids"].as_str().unwrap().is_empty()).unwrap();
    let rule = target["rule"].as_str().unwrap();
    let n = |q: &str| serde_json::from_str::<Json>(&get(&liu, q).body).unwrap()["findings"].as_array().unwrap().len();
    assert_eq!(n(&format!("?f=json&rule={rule}")), findings.iter().filter(|f| f["rule"] == rule).count());
    assert_eq!(n("?f=json&severity=error"), findings.iter().filter(|f| f["severity"] == "error").count());
    assert_eq!(n("?f=json&min_area=1e15"), 0);
    assert_eq!(get(&liu, "?severity=fatal").status, 400);
    // the viewer sees no exception form; the reviewer does
    let html = |b: &Browser| {
        call(&format!("{}/findings", srv.url), "GET", &[b.header(), ("Accept", "text/html".into())], None).body
    };
    assert!(!html(&liu).contains("批准例外") && html(&sun).contains("批准例外"));

    let fid = target["fid"].as_i64().unwrap();
    let except = |fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", sun.csrf.as_str())];
        all.extend_from_slice(fields);
        call(&format!("{}/findings/{fid}/except", srv.url), "POST", &[sun.header()], Some(&form_body(&all)))
    };
    let next_year = (chrono::Local::now().date_naive() + chrono::Duration::days(365)).to_string();
    // refused: no approval number, an expiry already past; nothing is written
    let res = except(&[("reason", "历史遗留"), ("approval", ""), ("expires", &next_year)]);
    assert!(res.status == 400 && res.body.contains("批准文号"), "{}", alert(&res.body));
    let res = except(&[("reason", "历史遗留"), ("approval", "安政复〔2021〕3号"), ("expires", "2020-01-01")]);
    assert!(res.status == 400 && res.body.contains("before today"), "{}", alert(&res.body));
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_exceptions"), 0);
    let res = except(&[("reason", "历史遗留，已批准保留"), ("approval", "安政复〔2021〕3号"), ("expires", &next_year)]);
    assert_eq!(res.status, 303, "{}", alert(&res.body));
    assert_eq!(
        count(&reg, "SELECT count(*) FROM nr_exceptions WHERE granted_by = 'sun' AND approval = '安政复〔2021〕3号'"),
        1
    );
    let page: Json = serde_json::from_str(&get(&liu, "?f=json").body).unwrap();
    let shown = page["findings"].as_array().unwrap().iter().find(|f| f["fid"] == fid).unwrap().clone();
    assert_eq!(shown["granted"], 1);

    // the next check applies it, as it would the file; `nrledger exceptions` writes that file
    let out = nrledger().args(["check", s(&reg), "--format", "json"]).output().unwrap();
    let again: Json = serde_json::from_slice(&out.stdout).unwrap();
    let same = again["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule"] == rule
                && f["ids"].to_string().contains(target["ids"].as_str().unwrap().split(';').next().unwrap())
        })
        .unwrap()
        .clone();
    assert_eq!(same["excepted_by"], "安政复〔2021〕3号", "{same}");
    let file = d.path().join("exceptions.toml");
    let (c, _, err) = run(&["exceptions", s(&reg), "--out", s(&file)]);
    assert_eq!(c, 0, "{err}");
    let toml_text = std::fs::read_to_string(&file).unwrap();
    assert!(toml_text.contains("[[exception]]") && toml_text.contains(&format!("rule = \"{rule}\"")), "{toml_text}");
    let (c, _, err) = run(&["check", s(&reg), "--exceptions", s(&file), "--format", "json"]);
    assert!(c == 0 || c == 1, "the exported file is read back: {err}");
    // granted exceptions are kept as granted; the trail names the reviewer
    let conn = rusqlite::Connection::open(&reg).unwrap();
    assert!(conn.execute("DELETE FROM nr_exceptions", []).unwrap_err().to_string().contains("nrledger:"));
    assert!(open(&reg).trail().unwrap().iter().any(|t| t.action == "finding.except" && t.who == "sun"));
}
