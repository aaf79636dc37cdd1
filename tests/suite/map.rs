//! The map page of `nrledger serve` in a real browser: Debian's headless Chromium (installed by `make test`)
//! driven through the DevTools protocol on a loopback websocket, every other host name unresolvable. The
//! page draws the parcels in their class colours from the server's tiles, a click names the parcel under
//! it, the date control redraws the county as it was, a search finds a unit and links its register book;
//! and the page's own resources answer plain HTTP, with a clear 4xx for what does not exist.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use geo::{Contains, InteriorPoint};
use serde_json::{json, Value as Json};

use crate::common::*;
use crate::serve::{county, Server};

/// Headless Chromium and its page, driven through the DevTools protocol; killed when dropped.
struct Browser {
    child: Child,
    ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
    next_id: u64,
}

/// How long any one wait for the page lasts before the test fails (a bound, not a measurement).
const PATIENCE: Duration = Duration::from_secs(60);

impl Browser {
    fn start(profile: &Path) -> Browser {
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,800",
                "--hide-scrollbars",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "about:blank",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium (installed by `make test`)");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut lines = stderr.lines();
        let endpoint = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.split("DevTools listening on ").nth(1).map(str::to_string))
            .expect("chromium announces its DevTools endpoint");
        // keep draining its log so it never blocks on a full pipe
        std::thread::spawn(move || lines.for_each(drop));
        let port = endpoint.trim_start_matches("ws://127.0.0.1:").split('/').next().unwrap().to_string();
        let list: Json = serde_json::from_str(
            &ureq::get(&format!("http://127.0.0.1:{port}/json/list"))
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap(),
        )
        .unwrap();
        let page = list.as_array().unwrap().iter().find(|t| t["type"] == "page").expect("a page target");
        let (ws, _) = tungstenite::connect(page["webSocketDebuggerUrl"].as_str().unwrap()).unwrap();
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(PATIENCE)).unwrap();
        }
        Browser { child, ws, next_id: 0 }
    }

    /// A DevTools command's result (events in between are skipped).
    fn call(&mut self, method: &str, params: Json) -> Json {
        self.try_call(method, params).unwrap_or_else(|v| panic!("{method}: {v}"))
    }

    /// A DevTools command's result, or the error it answered with.
    fn try_call(&mut self, method: &str, params: Json) -> Result<Json, Json> {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(tungstenite::Message::text(msg)).unwrap();
        loop {
            let m = self.ws.read().expect("the browser answers");
            let Ok(text) = m.to_text() else { continue };
            let v: Json = serde_json::from_str(text).unwrap();
            if v["id"] == id {
                return match v.get("error") {
                    Some(_) => Err(v),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    /// The value of a JavaScript expression (promises awaited).
    fn eval(&mut self, expr: &str) -> Json {
        let r = self.call("Runtime.evaluate", json!({"expression": expr, "awaitPromise": true, "returnByValue": true}));
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// Poll `expr` until it gives something other than null or false; that value. An expression that
    /// throws (the page between two documents has no body yet), or whose page navigated away while it ran,
    /// is tried again.
    fn wait(&mut self, expr: &str, what: &str) -> Json {
        let start = Instant::now();
        loop {
            let params = json!({"expression": expr, "awaitPromise": true, "returnByValue": true});
            let r = match self.try_call("Runtime.evaluate", params) {
                Ok(r) => r,
                Err(e) if e["error"]["message"].as_str().is_some_and(|m| m.contains("navigated or closed")) => {
                    assert!(start.elapsed() < PATIENCE, "waited too long for {what} (last: {e})");
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                Err(e) => panic!("Runtime.evaluate: {e}"),
            };
            let v = match r.get("exceptionDetails") {
                Some(e) => json!({"exception": e["exception"]["description"]}),
                None => r["result"]["value"].clone(),
            };
            if r.get("exceptionDetails").is_some() {
                assert!(start.elapsed() < PATIENCE, "waited too long for {what} (last: {v})");
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            if !(v.is_null() || v == json!(false)) {
                return v;
            }
            assert!(start.elapsed() < PATIENCE, "waited too long for {what} (last: {v})");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn click(&mut self, x: f64, y: f64) {
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the map shows at a point: the parcels' class codes drawn there, the pixel's colour, the point on the
/// page and the number of distinct colours in the map (the tiles drawn, once idle).
const PROBE: &str = r#"(async (lon, lat) => {
  const m = nrledger.map;
  if (!m || !m.loaded() || !m.areTilesLoaded() || m.isMoving()) return null;
  await new Promise((r) => { m.once('render', r); m.triggerRepaint(); });
  const p = m.project([lon, lat]);
  const c = m.getCanvas(), k = document.createElement('canvas');
  k.width = c.width; k.height = c.height;
  const g = k.getContext('2d');
  g.drawImage(c, 0, 0);
  const data = g.getImageData(0, 0, c.width, c.height).data, seen = new Set();
  for (let i = 0; i < data.length; i += 4 * 31) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  const r = window.devicePixelRatio, px = g.getImageData(Math.round(p.x * r), Math.round(p.y * r), 1, 1).data;
  const box = c.getBoundingClientRect();
  const classes = m.queryRenderedFeatures(p, { layers: ['parcels-fill'] }).map((f) => f.properties.DLBM);
  return { classes, rgb: [px[0], px[1], px[2]], x: box.left + p.x, y: box.top + p.y, colours: seen.size };
})"#;

fn probe(b: &mut Browser, lon: f64, lat: f64, class: &str) -> Json {
    let expr = format!("{PROBE}({lon}, {lat}).then((v) => v && v.classes.includes('{class}') ? v : null)");
    b.wait(&expr, &format!("the parcel of class {class} drawn at {lon},{lat}"))
}

/// A colour `#rrggbb` drawn at `opacity` over the map's background.
fn blended(hex: &str, opacity: f64) -> [f64; 3] {
    let background = [0xf4, 0xf1, 0xea];
    let c = |i: usize| u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap() as f64;
    [0, 1, 2].map(|i| opacity * c(i) + (1.0 - opacity) * background[i] as f64)
}

fn assert_colour(drawn: &Json, expected: [f64; 3], what: &str) {
    let rgb: Vec<f64> = drawn["rgb"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!((0..3).all(|i| (rgb[i] - expected[i]).abs() <= 3.0), "{what}: drawn {rgb:?}, expected {expected:?}");
}

/// The fill of a land class as the map's configuration gives it: its longest listed prefix's.
fn fill_of<'a>(cfg: &'a Json, code: &str) -> &'a str {
    cfg["landuse"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| code.starts_with(c["code"].as_str().unwrap()))
        .max_by_key(|c| c["code"].as_str().unwrap().len())
        .map_or("#cccccc", |c| c["fill"].as_str().unwrap())
}

/// BSM → (DLBM, geometry) of the parcels on a day.
fn parcels_on(srv: &Server, day: &str) -> std::collections::BTreeMap<String, (String, geo::Geometry<f64>)> {
    let page = srv.json(&format!("/collections/parcels/items?datetime={day}&limit=10000"));
    assert_eq!(page["numberMatched"], page["numberReturned"]);
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let g: geo::Geometry<f64> =
                serde_json::from_value::<geojson::Geometry>(f["geometry"].clone()).unwrap().try_into().unwrap();
            (
                f["properties"]["BSM"].as_str().unwrap().to_string(),
                (f["properties"]["DLBM"].as_str().unwrap().to_string(), g),
            )
        })
        .collect()
}

/// A point inside a parcel whose class changed between the surveys to one of another colour, where no other
/// layer lies: (BSM, lon, lat, class in 2019, class in 2020).
fn changed_parcel(srv: &Server, cfg: &Json) -> (String, f64, f64, String, String) {
    let before = parcels_on(srv, "2019-12-31");
    let after = parcels_on(srv, "2020-12-31");
    for (bsm, (now, g)) in &after {
        let Some((then, old)) = before.get(bsm) else { continue };
        if then == now || fill_of(cfg, then) == fill_of(cfg, now) {
            continue;
        }
        let Some(p) = g.interior_point() else { continue };
        if !old.contains(&p) {
            continue;
        }
        let alone = ["2019-12-31", "2020-12-31"].iter().all(|d| {
            let hits = srv.json(&format!("/lookup?at={},{}&datetime={d}", p.x(), p.y()))["hits"].clone();
            hits.as_array().unwrap().len() == 1 && hits[0]["key"] == bsm.as_str()
        });
        if alone {
            return (bsm.clone(), p.x(), p.y(), then.clone(), now.clone());
        }
    }
    panic!("the demo county has no parcel whose class changed between its surveys");
}

#[test]
fn the_map_draws_the_classes_answers_a_click_follows_the_date_and_finds_a_unit() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let (code, _, err) = run(&[
        "register",
        s(&reg),
        "first",
        "--unit",
        "330523SN0005",
        "--name",
        "安吉县北部森林登记单元",
        "--type",
        "森林",
        "--owner",
        "集体",
        "--representative",
        "村民委员会",
        "--set",
        "BDCDYH=330523001001GB00001W00000000",
        "--geometry",
        s(&seed("unit-example.geojson")),
        "--date",
        "2021-03-01",
        "--reason",
        "首次登记",
        "--document",
        "安自然资登字〔2021〕第5号",
    ]);
    assert_eq!(code, 0, "{err}");
    let srv = Server::start(&reg);
    let cfg = srv.json("/map/config.json");
    assert_eq!(cfg["vintages"], json!(["2019-12-31", "2020-12-31"]));
    assert_eq!(cfg["class_field"], "DLBM");
    let (bsm, lon, lat, then, now) = changed_parcel(&srv, &cfg);

    let mut b = Browser::start(&d.path().join("chromium-profile"));
    b.call("Page.enable", json!({}));
    b.call("Page.navigate", json!({"url": format!("{}/#16/{lat}/{lon}", srv.url)}));
    b.wait("window.nrledger && nrledger.map ? true : null", "the map to start");

    // the parcels drawn in the colour of their class, from tiles the server answered
    let drawn = probe(&mut b, lon, lat, &now);
    assert!(drawn["colours"].as_u64().unwrap() >= 4, "the map is blank: {drawn}");
    assert_colour(&drawn, blended(fill_of(&cfg, &now), 0.9), &format!("parcel {bsm} ({now}) today"));
    let loaded = |b: &mut Browser, day: &str| {
        b.eval(&format!("nrledger.loaded.filter(([s, d]) => s === 'parcels' && d === '{day}').length"))
            .as_u64()
            .unwrap()
    };
    assert!(loaded(&mut b, "") > 0, "no parcel tile loaded");
    assert_eq!(b.eval("nrledger.errors"), json!([]));
    let shot = b.call("Page.captureScreenshot", json!({"format": "png"}));
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(root().join("target/map-screenshot.png"), &png).unwrap();

    // a click on the parcel names it, its class and its history
    b.click(drawn["x"].as_f64().unwrap(), drawn["y"].as_f64().unwrap());
    let info = b.wait(
        "(() => { const h = document.querySelector('#info .hit[data-layer=parcels]'); return h && h.textContent; })()",
        "the parcel's record after a click",
    );
    let info = info.as_str().unwrap();
    assert!(info.contains(&bsm) && info.contains(&now) && info.contains(&then), "{info}");
    assert!(info.contains("历史 History (2"), "{info}");

    // the date control: the county as surveyed at the end of 2019
    b.eval("(() => { const s = document.getElementById('vintage'); s.value = '2019-12-31'; s.dispatchEvent(new Event('change')); })()");
    let drawn = probe(&mut b, lon, lat, &then);
    assert_colour(&drawn, blended(fill_of(&cfg, &then), 0.9), &format!("parcel {bsm} ({then}) in 2019"));
    assert!(loaded(&mut b, "2019-12-31") > 0, "no tile of 2019 loaded");
    assert_eq!(b.eval("nrledger.errors"), json!([]));

    // search by key: the unit, on today's map, with its register book one click away
    b.eval("(() => { const s = document.getElementById('vintage'); s.value = ''; s.dispatchEvent(new Event('change')); document.getElementById('q').value = '330523SN0005'; document.getElementById('search').requestSubmit(); })()");
    let href = b.wait(
        "(() => { const a = document.querySelector('#info .hit[data-layer=units] a.book'); return a && a.href; })()",
        "the unit found with its register-book link",
    );
    let href = href.as_str().unwrap();
    let (status, ct, _, book) = srv.get_with(&href[srv.url.len()..], "text/html");
    assert_eq!(status, 200, "{href}: {book}");
    assert!(ct.starts_with("text/html") && book.contains("330523SN0005") && book.contains("登记簿"), "{ct}");
    let none = b.eval("(() => { document.getElementById('q').value = 'NO-SUCH-KEY'; document.getElementById('search').requestSubmit(); })()");
    assert!(none.is_null());
    b.wait(
        "(() => { const r = document.getElementById('results').textContent; return r.includes('未找到') ? r : null; })()",
        "a search that finds nothing to say so",
    );
}

#[test]
fn a_person_signs_in_to_a_closed_registry_sees_the_map_and_signs_out() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let (code, _, err) = nrledger()
        .args(["user", "add", s(&reg), "wang.li", "--role", "admin", "--full-name", "王丽"])
        .write_stdin("admin-secret-0001\n")
        .output()
        .map(|o| (o.status.code().unwrap_or(-1), (), String::from_utf8_lossy(&o.stderr).into_owned()))
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let srv = Server::start(&reg);
    let mut b = Browser::start(&d.path().join("chromium-profile"));
    b.call("Page.enable", json!({}));
    // the map's address leads to the login page, and back to the map, at the same place, after it
    b.call("Page.navigate", json!({"url": format!("{}/#16/30.63/119.68", srv.url)}));
    b.wait("document.querySelector('form input[name=password]') ? true : null", "the login page");
    b.eval(
        "(() => { document.getElementById('name').value = 'wang.li'; \
         document.getElementById('password').value = 'admin-secret-0001'; document.forms[0].submit(); })()",
    );
    let who = b.wait(
        "(() => { const w = document.getElementById('who'); return w && w.textContent.includes('王丽') ? w.textContent : null; })()",
        "the map with the signed-in person",
    );
    assert!(who.as_str().unwrap().contains("管理员") && who.as_str().unwrap().contains("操作留痕"), "{who}");
    // the tiles are read with the session: drawn where the link pointed (the login page kept the map's
    // #position), and no request refused
    b.wait("nrledger.loaded.some(([s]) => s === 'parcels') ? true : null", "a parcel tile drawn after signing in");
    assert_eq!(b.eval("nrledger.errors"), json!([]));
    let shot = b.call("Page.captureScreenshot", json!({"format": "png"}));
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    std::fs::write(root().join("target/map-signed-in.png"), &png).unwrap();
    // signing out ends the session: the login page, and the map's data refused to the page
    b.eval("document.querySelector('#who form').submit()");
    b.wait("document.querySelector('form input[name=password]') ? true : null", "the login page after signing out");
    // (a 401 without the Basic challenge: a browser shows no password dialog of its own)
    let status = b.eval("fetch('map/config.json').then((r) => [r.status, r.headers.has('www-authenticate')])");
    assert_eq!(status, json!([401, false]));
}

impl Browser {
    /// Go to a page of the closed service at `path` and wait for the login page leading back to it (not the
    /// login page shown before, which the navigation replaces a moment later).
    fn visit_signed_out(&mut self, base: &str, path: &str) {
        self.call("Page.navigate", json!({"url": format!("{base}{path}")}));
        let back: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        self.wait(
            &format!(
                "location.search.includes('next={back}') && document.readyState === 'complete' \
                 && document.getElementById('password') ? true : null"
            ),
            &format!("the login page leading to {path}"),
        );
    }

    /// Sign in on the login page shown now, and wait until `ready` holds on the page it leads to.
    fn sign_in(&mut self, name: &str, password: &str, ready: &str, what: &str) {
        self.wait("document.querySelector('form input[name=password]') ? true : null", "the login page");
        self.eval(&format!(
            "(() => {{ document.getElementById('name').value = '{name}'; \
             document.getElementById('password').value = '{password}'; document.forms[0].submit(); }})()"
        ));
        self.wait(ready, what);
    }

    /// A PNG of the page, written to `target/` (the README's pictures in `docs/` are copies of a run's).
    fn screenshot(&mut self, name: &str) {
        use base64::Engine;
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(root().join("target").join(name), &png).unwrap();
    }
}

#[test]
fn a_registrar_and_a_reviewer_do_a_registration_in_the_browser_and_an_auditor_reads_the_trail() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    for day in ["2019-12-31", "2020-12-31"] {
        let src = seed(&format!("{day}.gpkg"));
        let (c, _, e) = run(&["import", s(&reg), s(&src), "--layer", "admin", "--src-layer", "XZQ", "--as-of", day]);
        assert_eq!(c, 0, "{e}");
    }
    for (name, role, full, pw) in [
        ("zhao", "registrar", "赵强", "registrar-secret-02"),
        ("sun", "reviewer", "孙敏", "reviewer-secret-03"),
        ("chen", "auditor", "陈静", "auditor-secret-004"),
    ] {
        let out = nrledger()
            .args(["user", "add", s(&reg), name, "--role", role, "--full-name", full])
            .write_stdin(format!("{pw}\n"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let outline = d.path().join("新单元.geojson");
    std::fs::write(
        &outline,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[119.52,30.52],[119.53,30.52],[119.53,30.528],[119.52,30.528],[119.52,30.52]]]}}]}"#,
    )
    .unwrap();
    let srv = Server::start(&reg);
    let mut b = Browser::start(&d.path().join("chromium-profile"));
    b.call("Page.enable", json!({}));
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1100, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    );

    // the registrar: the form, after the login page; an outline chosen as a person chooses a file
    b.visit_signed_out(&srv.url, "/registrations/new");
    b.sign_in("zhao", "registrar-secret-02", "document.getElementById('unit') ? true : null", "the registration form");
    b.eval(
        "(() => { const v = (id, x) => { document.getElementById(id).value = x; }; \
         v('unit', '330523HD0101'); v('date', '2021-06-01'); v('reason', '首次登记：荒地确权'); \
         v('document', '安自然资登字〔2021〕第9号'); v('f.DYMC', '孝丰镇荒地登记单元'); v('f.DYLX', '荒地'); \
         v('f.SYQZT', '全民'); v('f.ZL', '孝丰镇'); })()",
    );
    let doc = b.call("DOM.getDocument", json!({}));
    let input = b.call("DOM.querySelector", json!({"nodeId": doc["root"]["nodeId"], "selector": "#geometry"}));
    b.call("DOM.setFileInputFiles", json!({"nodeId": input["nodeId"], "files": [s(&outline)]}));
    // a preview first: the book page's figures and map under the form, the file kept for it
    b.eval("document.querySelector('button[value=preview]').click()");
    let preview = b.wait(
        "document.querySelector('.preview svg') ? document.querySelector('.preview').textContent : null",
        "the registration's preview",
    );
    b.screenshot("registration-form.png");
    b.eval("document.querySelector('button[value=submit]').click()");
    let page = b.wait(
        "document.querySelector('h1') && document.querySelector('h1').textContent.includes('#1') ? document.body.textContent : null",
        "the submitted registration's page",
    );
    assert!(
        page.as_str().unwrap().contains("待审核") && page.as_str().unwrap().contains("孝丰镇荒地登记单元"),
        "{page}"
    );
    assert_eq!(count(&reg, "SELECT count(*) FROM units WHERE DYH = '330523HD0101'"), 0, "recorded before approval");
    b.eval("document.querySelector('form.logout').submit()");
    b.wait("document.querySelector('form input[name=password]') ? true : null", "the login page after signing out");

    // the reviewer: the waiting registration, its outline and areas, and 登簿
    b.visit_signed_out(&srv.url, "/registrations/1");
    b.sign_in("sun", "reviewer-secret-03", "document.querySelector('svg') ? true : null", "the registration to review");
    b.screenshot("registration-review.png");
    b.eval("document.querySelector('form[action$=approve]').submit()");
    b.wait("document.body.textContent.includes('已登簿') || null", "the registration recorded");
    assert_eq!(count(&reg, "SELECT count(*) FROM units WHERE DYH = '330523HD0101' AND valid_to IS NULL"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_events WHERE unit_code = '330523HD0101' AND registrar = 'zhao' AND reviewer = 'sun'"), 1);
    // the preview's figures are the recorded unit's book page's
    let book = b.eval("fetch('../units/330523HD0101/book?f=json').then((r) => r.json())");
    let shares = book["resource_types"].as_array().unwrap().iter().chain(book["ownership_areas"].as_array().unwrap());
    let mut shown = 0;
    for share in shares.filter(|x| x["area"]["m2"].as_f64().unwrap() > 0.0) {
        let figure = format!("{}{:.2}", share["label"].as_str().unwrap(), share["area"]["m2"].as_f64().unwrap());
        assert!(preview.as_str().unwrap().contains(&figure), "{figure} not in the preview: {preview}");
        shown += 1;
    }
    assert!(shown >= 2, "{book}");
    // … then runs the checks from the findings page and reviews what they found
    b.call("Page.navigate", json!({"url": format!("{}/findings", srv.url)}));
    b.wait("document.querySelector('a[href$=\"kind=check\"]') ? true : null", "the findings page's check link");
    b.eval("document.querySelector('a[href$=\"kind=check\"]').click()");
    b.wait("document.getElementById('as_of') ? true : null", "the check form");
    b.eval("document.querySelector('form.reg').submit()");
    b.wait(
        "(document.body && document.body.textContent.includes('findings.gpkg')) || null",
        "the check job done, its files listed",
    );
    b.eval("document.querySelector('a[href$=\"/findings\"]:not(nav a)').click()");
    let found = b.wait(
        "document.querySelector('h1') && document.querySelector('h1').textContent.includes('Findings') && document.body.textContent.includes('NR') \
         ? document.body.textContent : null",
        "the findings of the check run",
    );
    assert!(found.as_str().unwrap().contains("条发现 findings"), "{found}");
    // … and opens one on the map: its piece drawn over the layers, the map at it, what it is beside
    let fid = b.eval("new URLSearchParams(document.querySelector('a[href*=\"?finding=\"]').search).get('finding')");
    b.eval("document.querySelector('a[href*=\"?finding=\"]').click()");
    let drawn = b.wait(
        "window.nrledger && window.nrledger.finding && window.nrledger.map.loaded() \
         && window.nrledger.map.queryRenderedFeatures({ layers: ['finding-fill'] }).length > 0 \
         ? document.getElementById('info').textContent : null",
        "the finding's piece drawn on the map",
    );
    assert!(drawn.as_str().unwrap().contains(&format!("Finding #{}", fid.as_str().unwrap())), "{drawn}");
    let rule = b.eval("window.nrledger.finding.properties.rule");
    assert!(rule.as_str().unwrap().starts_with("NR"), "{rule}");
    b.screenshot("finding-map.png");
    b.call("Page.navigate", json!({"url": format!("{}/findings", srv.url)}));
    b.wait("document.querySelector('form.logout') ? true : null", "the findings page again");
    b.eval("document.querySelector('form.logout').submit()");
    b.wait("document.querySelector('form input[name=password]') ? true : null", "the login page after signing out");

    // the auditor: the trail of the day, who did what from where
    b.visit_signed_out(&srv.url, "/admin/trail");
    b.sign_in("chen", "auditor-secret-004", "document.querySelector('table') ? true : null", "the trail");
    let trail = b.eval("document.querySelector('table').textContent").as_str().unwrap().to_string();
    for action in ["registration.submit", "registration.approve", "session.login", "session.logout"] {
        assert!(trail.contains(action), "{action} not in the trail: {trail}");
    }
    b.screenshot("trail.png");

    // … and asks for the outgoing-audit report of the county head: the form, the job's stages live, the
    // report opened from the job's files
    b.call("Page.navigate", json!({"url": format!("{}/jobs/new?kind=audit", srv.url)}));
    b.wait("document.getElementById('official') ? true : null", "the audit job form");
    b.eval(
        "(() => { const v = (id, x) => { document.getElementById(id).value = x; }; \
         v('official', '张三'); v('post', '县长'); v('region', '330523'); })()",
    );
    let doc = b.call("DOM.getDocument", json!({}));
    let input = b.call("DOM.querySelector", json!({"nodeId": doc["root"]["nodeId"], "selector": "#targets"}));
    b.call("DOM.setFileInputFiles", json!({"nodeId": input["nodeId"], "files": [s(&seed("targets.toml"))]}));
    b.eval("document.querySelector('form.reg').submit()");
    b.wait(
        "(document.body && document.body.textContent.includes('audit.html')) || null",
        "the audit job done, its files listed",
    );
    assert!(b.eval("document.body.textContent").as_str().unwrap().contains("完成 done"));
    b.screenshot("report-job.png");
    b.eval("document.querySelector('a[href$=\"audit.html?view=1\"]').click()");
    let report = b.wait(
        "location.pathname.endsWith('audit.html') && document.body && document.body.textContent.includes('张三') \
         ? document.body.textContent : null",
        "the audit report",
    );
    assert!(report.as_str().unwrap().contains("县长"), "{report}");

    // … and the townships' carrying-capacity warning: its job, then its townships on the map in their
    // levels' colours, each level in the side panel
    b.call("Page.navigate", json!({"url": format!("{}/jobs/new?kind=warn", srv.url)}));
    b.wait("document.getElementById('region') ? true : null", "the warning job form");
    b.eval("document.getElementById('region').value = '330523'");
    b.eval("document.querySelector('form.reg').submit()");
    b.wait("document.querySelector('a.on-map') ? true : null", "the warning job done, its map link shown");
    let job = b.eval("new URLSearchParams(document.querySelector('a.on-map').search).get('warning')");
    let files = b.eval("document.body.textContent");
    assert!(files.as_str().unwrap().contains("warning.geojson"), "{files}");
    b.eval("document.querySelector('a.on-map').click()");
    let drawn = b.wait(
        "window.nrledger && window.nrledger.warning && window.nrledger.map.loaded() \
         && window.nrledger.map.queryRenderedFeatures({ layers: ['warning-fill'] }).length > 0 \
         ? document.getElementById('info').textContent : null",
        "the warning's townships drawn on the map",
    );
    let text = drawn.as_str().unwrap();
    assert!(text.contains("承载能力监测预警") && text.contains(&format!("Job #{}", job.as_str().unwrap())), "{text}");
    let units =
        b.eval("window.nrledger.warning.features.map((f) => [f.properties.DWDM, f.properties.YJDJ, f.properties.YS])");
    let units = units.as_array().unwrap();
    assert!(!units.is_empty(), "no township in the warning");
    for u in units {
        // every township's level is in the panel, and its fill is the level's colour
        assert!(text.contains(u[0].as_str().unwrap()) && text.contains(u[1].as_str().unwrap()), "{u} not in {text}");
        assert!(u[2].as_str().unwrap().starts_with('#'), "{u}");
    }
    let paint = b.eval("JSON.stringify(window.nrledger.map.getPaintProperty('warning-fill', 'fill-color'))");
    assert!(paint.as_str().unwrap().contains("YS"), "{paint}");
    b.screenshot("warning-map.png");

    // a unit renamed (on the command line) to markup is shown as text in the map's popup, never run
    let hostile = "<img src=x onerror=\"window.pwned=1\">";
    let (c, _, e) = run(&[
        "register",
        s(&reg),
        "change",
        "--unit",
        "330523HD0101",
        "--name",
        hostile,
        "--date",
        "2021-07-01",
        "--reason",
        "名称变更",
        "--registrar",
        "test",
    ]);
    assert_eq!(c, 0, "{e}");
    b.call("Page.navigate", json!({"url": format!("{}/#16/30.524/119.525", srv.url)}));
    b.wait("window.nrledger && window.nrledger.map && window.nrledger.map.loaded() ? true : null", "the map");
    let r = b.eval("(() => { const r = document.getElementById('map').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()");
    b.click(r[0].as_f64().unwrap(), r[1].as_f64().unwrap());
    let info = b.wait(
        "document.getElementById('info').textContent.includes('330523HD0101') ? document.getElementById('info').textContent : null",
        "the lookup at the unit",
    );
    assert!(info.as_str().unwrap().contains(hostile), "the name is not shown as text: {info}");
    assert_eq!(b.eval("document.querySelectorAll('#info img').length"), json!(0));
    assert_eq!(b.eval("window.pwned === undefined"), json!(true));
}

#[test]
fn the_page_its_assets_and_search_answer_http_and_refuse_what_does_not_exist() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let srv = Server::start(&reg);
    // a browser gets the map at `/`, a client the OGC landing page
    let (status, ct, _, page) = srv.get_with("/", "text/html,application/xhtml+xml,*/*;q=0.8");
    assert_eq!(status, 200);
    assert!(
        ct.starts_with("text/html") && page.contains("assets/maplibre-gl.js") && page.contains("地类图例"),
        "{page}"
    );
    assert!(srv.json("/")["links"].is_array());
    // the library is the one npm pinned, compiled in
    let (status, ct, _, js) = srv.get_with("/assets/maplibre-gl.js", "*/*");
    assert_eq!((status, ct.as_str()), (200, "text/javascript"));
    let npm = std::fs::read_to_string(root().join("web/node_modules/maplibre-gl/dist/maplibre-gl.js")).unwrap();
    assert!(js == npm, "the served MapLibre GL JS differs from web/node_modules");
    // the colours are map-colours.csv's
    let cfg = srv.json("/map/config.json");
    let paddy = cfg["landuse"].as_array().unwrap().iter().find(|c| c["code"] == "0101").unwrap();
    assert_eq!((paddy["name"].as_str(), paddy["fill"].as_str()), (Some("水田"), Some("#f8d072")));
    let red = cfg["layers"].as_array().unwrap().iter().find(|l| l["id"] == "redlines").unwrap();
    assert_eq!(red["line"], "#d7301f");
    // a red line found by its code, with its box in CRS84 inside the county's
    let hx = srv.json("/collections/redlines/items?limit=1")["features"][0]["properties"]["HXBH"]
        .as_str()
        .unwrap()
        .to_string();
    let found = srv.json(&format!("/search?q={hx}"));
    let hit = &found["hits"][0];
    assert_eq!((hit["layer"].as_str(), hit["key"].as_str()), (Some("redlines"), Some(hx.as_str())));
    let (bb, ext) = (hit["bbox"].as_array().unwrap(), cfg["extent"].as_array().unwrap());
    let f = |v: &Json| v.as_f64().unwrap();
    assert!(f(&bb[0]) >= f(&ext[0]) && f(&bb[2]) <= f(&ext[2]) && f(&bb[1]) >= f(&ext[1]) && f(&bb[3]) <= f(&ext[3]));
    assert_eq!(srv.json("/search?q=NO-SUCH-KEY")["hits"], json!([]));
    // what does not exist, or is malformed, is a 4xx naming its parameter
    for (path, status, parameter) in [
        ("/assets/nope.js", 404, "file"),
        ("/assets/..%2F..%2FCargo.toml", 404, "file"),
        ("/search", 400, "q"),
        ("/search?q=", 400, "q"),
        ("/search?q=X&datetime=2019-02-30", 400, "datetime"),
        ("/search?q=X&datetime=2019-01-01/2020-01-01", 400, "datetime"),
        ("/search?q=X&limit=5", 400, "limit"),
        ("/units/330523SN9999/book", 404, "code"),
        ("/units/330523SN9999/book?datetime=2019-13-01", 400, "datetime"),
        ("/map/config.json?x=1", 400, "x"),
    ] {
        let (got, ct, _, body) = srv.get_with(path, "application/json");
        assert_eq!(got, status, "{path}: {body}");
        assert!(ct.starts_with("application/problem+json"), "{path}: {ct}");
        let v: Json = serde_json::from_str(&body).unwrap();
        assert_eq!(v["parameter"], parameter, "{path}: {body}");
        assert!(!body.contains("/work/") && !body.contains(".rs"), "{path} leaks: {body}");
    }
    let long = format!("/search?q={}", "X".repeat(65));
    assert_eq!(srv.get_with(&long, "application/json").0, 400);
}

#[test]
fn a_registry_opened_in_qgis_is_styled_by_land_class_and_keeps_a_style_saved_over_it() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("r.gpkg");
    assert_eq!(run(&["init", s(&reg), "--region", "330523"]).0, 0);
    let c = rusqlite::Connection::open(&reg).unwrap();
    let kind: String =
        c.query_row("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'", [], |r| r.get(0)).unwrap();
    assert_eq!(kind, "attributes");
    // one default style for every layer table and its current view, on its geometry column
    let layers: Vec<String> = {
        let mut st = c.prepare("SELECT table_name FROM gpkg_geometry_columns ORDER BY table_name").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .filter(|t: &String| !["rejects", "nr_findings", "nr_submissions", "nr_patches"].contains(&t.as_str()))
            .collect()
    };
    // the 14 layer kinds of the embedded catalog (7 built in, 7 defined in layers/kinds/) and their views
    assert_eq!(layers.len(), 28, "{layers:?}");
    for t in &layers {
        let (n, geom): (i64, String) = c
            .query_row(
                "SELECT count(*), max(f_geometry_column) FROM layer_styles WHERE f_table_name = ?1 AND useAsDefault",
                [t],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((n, geom.as_str()), (1, "geom"), "{t}");
    }
    // the parcels' QML, read by Python's XML parser: a category per land class of map-colours.csv, in its colour
    let qml: String = c
        .query_row("SELECT styleQML FROM layer_styles WHERE f_table_name = 'parcels_current'", [], |r| r.get(0))
        .unwrap();
    let path = write_file(d.path(), "parcels.qml", &qml);
    let script = "import sys, xml.etree.ElementTree as E\nr = E.parse(sys.argv[1]).getroot().find('renderer-v2')\n\
        syms = {s.get('name'): s.find('layer/Option/Option[@name=\"color\"]').get('value') for s in r.find('symbols')}\n\
        print(r.get('type'))\nprint(r.get('attr'))\n\
        [print(c.get('value'), syms[c.get('symbol')]) for c in r.find('categories')]";
    let out = Command::new("python3").args(["-c", script, s(&path)]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("categorizedSymbol"));
    assert!(lines.next().unwrap().starts_with("CASE WHEN left(\"DLBM\", 4) IN ("), "{text}");
    let drawn: std::collections::BTreeMap<&str, &str> = lines.filter_map(|l| l.split_once(' ')).collect();
    let csv = std::fs::read_to_string(root().join("layers/classes/map-colours.csv")).unwrap();
    let mut listed = 0;
    for row in csv.lines().skip(1).filter(|l| l.starts_with("landuse,")) {
        let f: Vec<&str> = row.split(',').collect();
        let rgb = |h: &str| {
            (0..3)
                .map(|i| u8::from_str_radix(&h[1 + 2 * i..3 + 2 * i], 16).unwrap().to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(drawn.get(f[1]).copied(), Some(format!("{},255", rgb(f[2])).as_str()), "class {}", f[1]);
        listed += 1;
    }
    assert_eq!(drawn.len(), listed);
    drop(c);
    assert_eq!(gpkg_conformance(&reg), "");
    // a style a user saved over the default is kept when the registry is opened again
    let c = rusqlite::Connection::open(&reg).unwrap();
    c.execute("UPDATE layer_styles SET styleQML = 'mine' WHERE f_table_name = 'redlines'", []).unwrap();
    drop(c);
    assert_eq!(run(&["info", s(&reg)]).0, 0);
    assert_eq!(count(&reg, "SELECT count(*) FROM layer_styles WHERE styleQML = 'mine'"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM layer_styles"), 28);
}
