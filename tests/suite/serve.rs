//! `nrledger serve`: OGC API – Features over a registry of the demo county's two surveys, read by plain
//! HTTP, by GDAL's OAPIF driver and by OWSLib, compared with what `nrledger export` writes; every
//! malformed request; an import and a backup while the server answers.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value as Json};

use crate::common::*;

/// A server started on a free loopback port, stopped (SIGTERM) when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Server {
    pub fn start(reg: &Path) -> Server {
        Server::start_with(reg, &["--readers", "4"])
    }

    pub fn start_with(reg: &Path, options: &[&str]) -> Server {
        Server::start_env(reg, options, &[])
    }

    /// A server with these environment variables set (which the jobs it runs inherit).
    pub fn start_env(reg: &Path, options: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("nrledger"))
            .args(["serve", s(reg), "--listen", "127.0.0.1:0"])
            .args(options)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect(&first)
            .trim_end_matches('/')
            .to_string();
        Server { child, url, _stdout: stdout }
    }

    /// GET `path`: (status, headers' content-type and content-crs, body).
    pub fn get_with(&self, path: &str, accept: &str) -> (u16, String, String, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut res = agent.get(&format!("{}{path}", self.url)).header("Accept", accept).call().unwrap();
        let header = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let (ct, crs) = (header("content-type"), header("content-crs"));
        let body = res.body_mut().with_config().limit(200_000_000).read_to_string().unwrap();
        (res.status().as_u16(), ct, crs, body)
    }

    /// GET `path` with one more header, as JSON (200 expected).
    pub fn json_with(&self, path: &str, (name, value): &(&str, String)) -> Json {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut res = agent.get(&format!("{}{path}", self.url)).header(*name, value).call().unwrap();
        let body = res.body_mut().read_to_string().unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    pub fn json(&self, path: &str) -> Json {
        let (status, _, _, body) = self.get_with(path, "application/json");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Every feature of a page and the pages after it (following `next`, whatever public URL it names).
    fn all_pages(&self, path: &str) -> Vec<Json> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(url) = next {
            let page = self.json(&url[url.find("/collections/").unwrap()..]);
            let feats = page["features"].as_array().unwrap();
            assert_eq!(page["numberReturned"].as_u64().unwrap() as usize, feats.len());
            out.extend(feats.iter().cloned());
            next = page["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["rel"] == "next")
                .map(|l| l["href"].as_str().unwrap().to_string());
            pages += 1;
            assert!(pages < 1000, "paging does not end");
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the server's graceful stop
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// A registry of the demo county: parcels and red lines at the end of 2019 and of 2020.
pub fn county(dir: &Path) -> PathBuf {
    let reg = dir.join("anji.gpkg");
    let (code, _, err) = run(&["init", s(&reg), "--region", "330523"]);
    assert_eq!(code, 0, "{err}");
    for d in ["2019-12-31", "2020-12-31"] {
        for (layer, profile) in [("parcels", "sandiao-dltb"), ("redlines", "stbhhx")] {
            let (code, out, err) = run(&[
                "import",
                s(&reg),
                s(&seed(&format!("{d}.gpkg"))),
                "--layer",
                layer,
                "--profile",
                profile,
                "--as-of",
                d,
            ]);
            assert_eq!(code, 0, "{out}{err}");
        }
    }
    reg
}

/// The features of a GeoJSON file, keyed by (key field, valid_from).
fn by_key(features: &[Json], key: &str) -> BTreeMap<(String, String), Json> {
    features
        .iter()
        .map(|f| {
            (
                (
                    f["properties"][key].as_str().unwrap().to_string(),
                    f["properties"]["valid_from"].as_str().unwrap().to_string(),
                ),
                f.clone(),
            )
        })
        .collect()
}

fn export(reg: &Path, dir: &Path, args: &[&str], name: &str) -> Vec<Json> {
    let out = dir.join(name);
    let mut a = vec!["export", s(reg), "--layer", "parcels", "--out", s(&out)];
    a.extend_from_slice(args);
    let (code, _, err) = run(&a);
    assert_eq!(code, 0, "{err}");
    let v: Json = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    v["features"].as_array().unwrap().clone()
}

fn venv_python() -> PathBuf {
    let py = root().join("target/test-venv/bin/python");
    assert!(py.exists(), "{} is missing: make test-deps installs it", py.display());
    py
}

#[test]
fn the_service_gives_what_export_writes_at_any_date_in_any_crs() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let srv = Server::start(&reg);
    // the landing page, conformance, collections, the API document (validated by openapi-spec-validator)
    let landing = srv.json("/");
    let rels: Vec<&str> = landing["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&rel), "{rels:?}");
    }
    let conf = srv.json("/conformance").to_string();
    assert!(conf.contains("ogcapi-features-1/1.0/conf/core") && conf.contains("ogcapi-features-2/1.0/conf/crs"));
    let colls = srv.json("/collections");
    let ids: Vec<&str> = colls["collections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    // the built-in kinds, the kinds defined in layers/kinds/ (by name), then the registry's own layers
    let kinds = ["admin", "units", "parcels", "redlines", "farmland", "urban", "forest"];
    let defined = ["approvals", "facility", "grassland", "mining", "protected", "supply", "temporary"];
    assert_eq!(ids, [&kinds[..], &defined[..], &["rejects", "findings"]].concat());
    let parcels = srv.json("/collections/parcels");
    assert_eq!(parcels["storageCrs"], "http://www.opengis.net/def/crs/EPSG/0/4549");
    assert_eq!(parcels["extent"]["temporal"]["interval"][0][0], "2019-12-31T00:00:00Z");
    let q = srv.json("/collections/parcels/queryables");
    assert_eq!(q["properties"]["DLBM"]["type"], "string");
    assert_eq!(q["properties"]["TBDLMJ"]["type"], "number");
    assert!(q["properties"].get("SJNF").is_none(), "a bookkeeping field is not a queryable");
    let api = d.path().join("api.json");
    std::fs::write(&api, srv.get_with("/api", "application/json").3).unwrap();
    let check = Command::new(venv_python())
        .args(["-c", "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')", s(&api)])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    // a day: exactly the records export writes for it, every property and coordinate, page by page
    for day in ["2019-12-31", "2020-12-31"] {
        let served = srv.all_pages(&format!("/collections/parcels/items?datetime={day}&limit=700"));
        let written = export(&reg, d.path(), &["--as-of", day], &format!("parcels-{day}.geojson"));
        assert_eq!(served.len(), written.len(), "{day}");
        let (served, written) = (by_key(&served, "BSM"), by_key(&written, "BSM"));
        assert_eq!(served.keys().collect::<Vec<_>>(), written.keys().collect::<Vec<_>>());
        for (k, w) in &written {
            assert_eq!(served[k]["properties"], w["properties"], "{k:?}");
            assert_eq!(served[k]["geometry"], w["geometry"], "{k:?}: coordinates exact");
        }
    }
    // no date: the current versions; an interval: every version valid in it (export --history, by its dates)
    let now = srv.json("/collections/parcels/items?limit=1");
    assert_eq!(
        now["numberMatched"],
        srv.json("/collections/parcels/items?limit=1&datetime=2020-12-31")["numberMatched"]
    );
    let history = export(&reg, d.path(), &["--history"], "history.geojson");
    let in_2020 = |f: &&Json| {
        let p = &f["properties"];
        p["valid_from"].as_str().unwrap() <= "2020-06-30" && p["valid_to"].as_str().is_none_or(|t| t > "2020-01-01")
    };
    let expected = history.iter().filter(in_2020).count();
    let served = srv.all_pages("/collections/parcels/items?datetime=2020-01-01/2020-06-30&limit=10000");
    assert_eq!(served.len(), expected);
    let every = srv.json("/collections/parcels/items?datetime=../..&limit=1");
    assert_eq!(every["numberMatched"].as_u64().unwrap() as usize, history.len());
    assert!(history.len() > served.len(), "the interval leaves out the versions closed before it");

    // a property filter: the same records as the export's of that class
    let paddy = srv.all_pages("/collections/parcels/items?DLBM=0101&datetime=2019-12-31&limit=10000");
    let expected = export(&reg, d.path(), &["--as-of", "2019-12-31"], "p.geojson")
        .into_iter()
        .filter(|f| f["properties"]["DLBM"] == "0101")
        .count();
    assert!(expected > 0);
    assert_eq!(paddy.len(), expected);

    // CQL2 (text and JSON): the same records as the export's that meet the condition, with a box too
    let written = export(&reg, d.path(), &["--as-of", "2019-12-31"], "q.geojson");
    let props = |f: &Json| f["properties"].clone();
    let wanted = |p: &Json| {
        ["0101", "0103"].contains(&p["DLBM"].as_str().unwrap_or("")) && p["TBMJ"].as_f64().unwrap_or(0.0) > 1000.0
    };
    let expected = written.iter().map(props).filter(wanted).count();
    assert!(expected > 0 && expected < written.len());
    let text = "DLBM IN ('0101','0103') AND TBMJ > 1000";
    let served =
        srv.all_pages(&format!("/collections/parcels/items?filter={}&datetime=2019-12-31&limit=500", enc(text)));
    assert_eq!(served.len(), expected);
    assert!(served.iter().map(props).all(|p| wanted(&p)));
    let json = r#"{"op":"and","args":[{"op":"in","args":[{"property":"DLBM"},["0101","0103"]]},{"op":">","args":[{"property":"TBMJ"},1000]}]}"#;
    let page = srv.json(&format!(
        "/collections/parcels/items?filter={}&filter-lang=cql2-json&datetime=2019-12-31&limit=1",
        enc(json)
    ));
    assert_eq!(page["numberMatched"], expected);
    // a property filter and a CQL2 filter together: both hold
    let both = written.iter().map(props).filter(|p| wanted(p) && p["DLBM"] == "0103").count();
    assert!(both > 0 && both < expected);
    let page =
        srv.json(&format!("/collections/parcels/items?DLBM=0103&filter={}&datetime=2019-12-31&limit=1", enc(text)));
    assert_eq!(page["numberMatched"], both);
    let water = written.iter().map(props).filter(|p| p["DLMC"].as_str().unwrap_or("").starts_with('水')).count();
    let page =
        srv.json(&format!("/collections/parcels/items?filter={}&datetime=2019-12-31&limit=1", enc("DLMC LIKE '水%'")));
    assert_eq!(page["numberMatched"], water);
    let not_paddy = srv
        .json(&format!("/collections/parcels/items?filter={}&datetime=2019-12-31&limit=1", enc("NOT (DLBM = '0101')")));
    assert_eq!(not_paddy["numberMatched"].as_u64().unwrap() as usize, written.len() - paddy.len());
    let e = srv.json("/collections/parcels")["extent"]["spatial"]["bbox"][0].clone();
    let at = |i: usize, t: f64| e[i].as_f64().unwrap() * (1.0 - t) + e[i + 2].as_f64().unwrap() * t;
    let bbox = format!("{},{},{},{}", at(0, 0.1), at(1, 0.1), at(0, 0.6), at(1, 0.6));
    let boxed = |extra: &str| {
        srv.all_pages(&format!("/collections/parcels/items?bbox={bbox}&datetime=2019-12-31&limit=300{extra}"))
    };
    let in_box: Vec<Json> = boxed("").iter().map(props).filter(wanted).collect();
    assert!(
        !in_box.is_empty() && in_box.len() < expected,
        "{} in the box of {} ({bbox}), {expected}",
        in_box.len(),
        boxed("").len()
    );
    assert_eq!(boxed(&format!("&filter={}", enc(text))).len(), in_box.len());
    // a quoted value holding SQL is a value: it matches nothing, and the parcels are all still there
    let sql = "DLBM = '0101''; DROP TABLE parcels; --'";
    assert_eq!(srv.json(&format!("/collections/parcels/items?filter={}", enc(sql)))["numberMatched"], 0);
    assert!(srv.json("/collections/parcels/items?limit=1")["numberMatched"].as_u64().unwrap() > 3000);

    // one feature by id; the same in EPSG:4490 (latitude first) and in the registry's Gauss-Krüger CRS
    let first = &srv.json("/collections/parcels/items?limit=1")["features"][0];
    let id = first["id"].as_str().unwrap();
    let one = srv.json(&format!("/collections/parcels/items/{id}"));
    assert_eq!(one["properties"], first["properties"]);
    let (_, _, crs, body) = srv.get_with(
        &format!("/collections/parcels/items/{id}?crs=http://www.opengis.net/def/crs/EPSG/0/4490"),
        "application/geo+json",
    );
    assert_eq!(crs, "<http://www.opengis.net/def/crs/EPSG/0/4490>");
    let latlon: Json = serde_json::from_str(&body).unwrap();
    let (lon, lat) = (&first["geometry"]["coordinates"][0][0][0], &latlon["geometry"]["coordinates"][0][0][0]);
    assert_eq!((&lat[0], &lat[1]), (&lon[1], &lon[0]), "latitude first, the same numbers");
    let (_, _, crs, body) = srv.get_with(
        &format!("/collections/parcels/items/{id}?crs=http://www.opengis.net/def/crs/EPSG/0/4549"),
        "application/geo+json",
    );
    assert_eq!(crs, "<http://www.opengis.net/def/crs/EPSG/0/4549>");
    let gk: Json = serde_json::from_str(&body).unwrap();
    let p = &gk["geometry"]["coordinates"][0][0][0];
    let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
    assert!((300_000.0..700_000.0).contains(&x) && (3_000_000.0..4_000_000.0).contains(&y), "{x} {y}");
    // a box in the registry's CRS around that corner finds the feature; in CRS84 the same
    let near = |b: String, crs: &str| {
        srv.all_pages(&format!("/collections/parcels/items?bbox={b}&bbox-crs={crs}&limit=10000"))
    };
    let found =
        near(format!("{},{},{},{}", x - 1.0, y - 1.0, x + 1.0, y + 1.0), "http://www.opengis.net/def/crs/EPSG/0/4549");
    assert!(found.iter().any(|f| f["id"] == id), "the box around its corner finds it");
    assert!(found.len() < 20);
    let (lo, la) = (lon[0].as_f64().unwrap(), lon[1].as_f64().unwrap());
    let found = near(
        format!("{},{},{},{}", lo - 1e-5, la - 1e-5, lo + 1e-5, la + 1e-5),
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    );
    assert!(found.iter().any(|f| f["id"] == id));

    // HTML by content negotiation, and every registry text escaped
    let (status, ct, _, html) =
        srv.get_with("/collections/parcels/items?limit=5", "text/html,application/xhtml+xml,*/*;q=0.8");
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(html.contains("<table>") && html.contains("DLBM"), "{html}");
    let (_, ct, _, body) = srv.get_with("/collections/parcels/items?limit=5&f=json", "text/html");
    assert!(ct.starts_with("application/geo+json"), "{ct}");
    // every link of a page leads somewhere: its HTML alternate and its next page
    let page: Json = serde_json::from_str(&body).unwrap();
    for rel in ["alternate", "next", "self", "collection"] {
        let href = page["links"].as_array().unwrap().iter().find(|l| l["rel"] == rel).unwrap()["href"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, ct, _, _) = srv.get_with(href.strip_prefix(&srv.url).unwrap(), "application/json");
        assert_eq!(status, 200, "{rel}: {href}");
        assert_eq!(ct.starts_with("text/html"), rel == "alternate", "{rel}: {ct}");
    }
    // a feature of a page carries no links (its address is the collection's items/{id}); alone it has them,
    // and the HTML page's rows lead to it
    let first = &page["features"][0];
    assert!(first.get("links").is_none(), "{first}");
    let id = first["id"].as_str().unwrap();
    let alone = srv.json(&format!("/collections/parcels/items/{id}"));
    assert_eq!(alone["properties"], first["properties"]);
    let own = alone["links"].as_array().unwrap().iter().find(|l| l["rel"] == "self").unwrap()["href"].clone();
    assert_eq!(own, format!("{}/collections/parcels/items/{id}", srv.url));
    assert!(html.contains(&format!("href=\"{}/collections/parcels/items/{id}?f=html\"", srv.url)), "{html}");
    let (status, ct, _, _) = srv.get_with(&format!("/collections/parcels/items/{id}?f=html"), "text/html");
    assert!(status == 200 && ct.starts_with("text/html"), "{status} {ct}");
}

/// (request, status, the parameter the exception names).
const BAD: &[(&str, u16, &str)] = &[
    ("/collections/parcels/items?bbox=119,30,120", 400, "bbox"),
    ("/collections/parcels/items?bbox=120,31,119,30", 400, "bbox"),
    ("/collections/parcels/items?bbox=a,b,c,d", 400, "bbox"),
    ("/collections/parcels/items?limit=0", 400, "limit"),
    ("/collections/parcels/items?limit=1000000000", 400, "limit"),
    ("/collections/parcels/items?limit=abc", 400, "limit"),
    ("/collections/parcels/items?offset=-1", 400, "offset"),
    ("/collections/nope", 404, "collectionId"),
    ("/collections/nope/items", 404, "collectionId"),
    ("/collections/parcels/items/999999999", 404, "featureId"),
    ("/collections/parcels/items/abc", 404, "featureId"),
    ("/collections/parcels/items?datetime=2019-02-30", 400, "datetime"),
    ("/collections/parcels/items?datetime=2020-01-01/2019-01-01", 400, "datetime"),
    ("/collections/parcels/items?crs=http://www.opengis.net/def/crs/EPSG/0/9999", 400, "crs"),
    ("/collections/parcels/items?bbox=1,2,3,4&bbox-crs=EPSG:4326", 400, "bbox-crs"),
    ("/collections/parcels/items?NOPE=1", 400, "NOPE"),
    ("/collections/parcels/items?SJNF=2019", 400, "SJNF"),
    ("/collections/parcels/items?DLBM=9999", 400, "DLBM"),
    ("/collections/parcels/items?DLBM=0101%27%20OR%20%271%27=%271", 400, "DLBM"),
    ("/collections/parcels/items?DLBM=0101;DROP%20TABLE%20parcels", 400, "DLBM"),
    ("/collections/parcels/items?filter=DLBM%3D0101", 400, "filter"),
    ("/collections/parcels/items?filter=NOPE%3D%27a%27", 400, "filter"),
    ("/collections/parcels/items?filter=SJNF%3D2019", 400, "filter"),
    ("/collections/parcels/items?filter=DLBM%3D%27", 400, "filter"),
    ("/collections/parcels/items?filter=DLBM%3D%270101%27%20OR%201%3D1", 400, "filter"),
    ("/collections/parcels/items?filter=S_INTERSECTS(geom,POINT(119.6%2030.6))", 400, "filter"),
    ("/collections/parcels/items?filter=TBMJ%20%3E%20%27big%27", 400, "filter"),
    ("/collections/parcels/items?filter=DLBM%3D%270101%27&filter-lang=cql3", 400, "filter-lang"),
    ("/collections/parcels/items?filter-lang=cql2-text", 400, "filter-lang"),
    ("/collections/parcels/items?filter=DLBM%3D%270101%27&filter-crs=EPSG:4326", 400, "filter-crs"),
    ("/collections/rejects/items?filter=layer%3D%27parcels%27", 400, "filter"),
    ("/collections/parcels/items?limit=1&limit=2", 400, "limit"),
    ("/collections/parcels/items?f=xml", 400, "f"),
    ("/collections/..%2F..%2Fetc%2Fpasswd/items", 404, "collectionId"),
    ("/collections/parcels/items/..%2F..%2Fetc%2Fpasswd", 404, "featureId"),
    ("/collections/parcels/items/%00", 404, "featureId"),
    ("/static/..%2F..%2FCargo.toml", 404, "path"),
    ("/nothing/here", 404, "path"),
    ("/lookup", 400, "at"),
    ("/lookup?at=200,1", 400, "at"),
    ("/lookup?at=119.5,30.4,7", 400, "at"),
    ("/lookup?at=119.5,30.4&datetime=2019-01-01/..", 400, "datetime"),
];

#[test]
fn every_malformed_request_is_a_4xx_naming_its_parameter_and_the_server_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let srv = Server::start(&reg);
    for (path, status, parameter) in BAD {
        let (got, ct, _, body) = srv.get_with(path, "application/json");
        assert_eq!(got, *status, "{path}: {body}");
        assert!(ct.contains("json"), "{path}: {ct}");
        let ex: Json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        assert_eq!(ex["parameter"], *parameter, "{path}: {body}");
        assert_eq!(ex["status"], *status, "{path}");
        assert!(!ex["detail"].as_str().unwrap().is_empty());
        for secret in [s(d.path()), "/work", "panicked", "src/", "rusqlite", "SELECT"] {
            assert!(!body.contains(secret), "{path} leaks '{secret}': {body}");
        }
    }
    // the SQL of a filter value never reaches SQLite: the parcels are all still there
    assert!(srv.json("/collections/parcels/items?limit=1")["numberMatched"].as_u64().unwrap() > 3000);
    // a free-text field takes any text: SQL in it is a value that matches nothing
    let page = srv.json("/collections/parcels/items?ZLDWMC=x%27%20OR%20%271%27%3D%271");
    assert_eq!(page["numberMatched"], 0);
    // path traversal with raw dots (a client that does not normalise them) and a 10 MB query string
    let raw = |request: &[u8]| -> String {
        let addr = srv.url.trim_start_matches("http://");
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
        let _ = c.write_all(request);
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let res = raw(b"GET /collections/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(res.starts_with("HTTP/1.1 404"), "{res}");
    assert!(!res.contains("root:"), "{res}");
    let mut long = b"GET /collections/parcels/items?limit=1&q=".to_vec();
    long.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    long.extend(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let res = raw(&long);
    assert!(
        res.is_empty() || res.starts_with("HTTP/1.1 414") || res.starts_with("HTTP/1.1 431"),
        "{}",
        &res[..res.len().min(300)]
    );
    let mut long = b"GET /collections/parcels/items?limit=1&q=".to_vec();
    long.extend(std::iter::repeat_n(b'a', 20_000));
    long.extend(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let res = raw(&long);
    assert!(
        res.starts_with("HTTP/1.1 414") && res.contains("\"parameter\":\"query\""),
        "{}",
        &res[..res.len().min(300)]
    );
    // and the server still answers
    assert_eq!(srv.json("/health")["status"], "ok");
}

#[test]
fn gdal_and_owslib_read_the_collections_and_gdal_gets_what_export_writes() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let srv = Server::start(&reg);
    let ogr = |args: &[&str]| {
        let out = Command::new("ogrinfo").args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = ogr(&["-ro", "-q", &format!("OAPIF:{}/", srv.url)]);
    for id in ["parcels", "redlines", "units", "rejects"] {
        assert!(listed.contains(&format!(": {id} (")), "{listed}");
    }
    // ogr2ogr through the service with a date and a box, and the same box on export's file
    let (w, s_, e, n) = ("119.55", "30.44", "119.60", "30.48");
    let via = d.path().join("via-oapif.geojson");
    let out = Command::new("ogr2ogr")
        .args([
            "-f",
            "GeoJSON",
            s(&via),
            &format!("OAPIF:{}/collections/parcels?datetime=2019-12-31", srv.url),
            "parcels",
            "-oo",
            "PAGE_SIZE=1000",
            "-spat",
            w,
            s_,
            e,
            n,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported = d.path().join("exported.geojson");
    let (code, _, err) =
        run(&["export", s(&reg), "--layer", "parcels", "--as-of", "2019-12-31", "--out", s(&exported)]);
    assert_eq!(code, 0, "{err}");
    let clipped = d.path().join("exported-box.geojson");
    let out = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", s(&clipped), s(&exported), "-spat", w, s_, e, n])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read = |p: &Path| -> Vec<Json> {
        let v: Json = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["features"].as_array().unwrap().clone()
    };
    let (via, clipped) = (by_key(&read(&via), "BSM"), by_key(&read(&clipped), "BSM"));
    assert!(clipped.len() > 20, "the box holds parcels");
    assert_eq!(via.keys().collect::<Vec<_>>(), clipped.keys().collect::<Vec<_>>());
    for (k, want) in &clipped {
        for (field, value) in want["properties"].as_object().unwrap() {
            assert_eq!(&via[k]["properties"][field], value, "{k:?} {field}");
        }
    }
    // OWSLib, a second client: the collections, and a page of parcels at a date
    let script = "import sys\nfrom owslib.ogcapi.features import Features\nw = Features(sys.argv[1])\n\
                  ids = [c['id'] for c in w.collections()['collections']]\n\
                  page = w.collection_items('parcels', datetime='2019-12-31', limit=50)\n\
                  cql = w.collection_items('parcels', datetime='2019-12-31', limit=5, filter=\"DLBM LIKE '01%'\")\n\
                  print(','.join(ids), page['numberMatched'], len(page['features']), cql['numberMatched'])\n";
    let out = Command::new(venv_python()).args(["-c", script, &srv.url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    let matched = srv.json("/collections/parcels/items?datetime=2019-12-31&limit=1")["numberMatched"].to_string();
    let cultivated = export(&reg, d.path(), &["--as-of", "2019-12-31"], "owslib.geojson");
    let farmed = cultivated.iter().filter(|f| f["properties"]["DLBM"].as_str().unwrap_or("").starts_with("01")).count();
    assert!(farmed > 0);
    assert_eq!(
        said.trim(),
        format!("admin,units,parcels,redlines,farmland,urban,forest,approvals,facility,grassland,mining,protected,supply,temporary,rejects,findings {matched} 50 {farmed}")
    );
}

#[test]
#[cfg_attr(not(feature = "fault-injection"), ignore = "needs the fault-injection feature: make test")]
fn an_import_lands_while_the_server_answers_and_a_backup_taken_meanwhile_restores() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("r.gpkg");
    let (code, _, err) = run(&["init", s(&reg), "--region", "330523"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = import_dltb(&reg, &seed("2019-12-31.gpkg"), "2019-12-31", &[]);
    assert_eq!(code, 0, "{err}");
    let imports = count(&reg, "SELECT max(import_id) FROM nr_imports");
    let srv = Server::start(&reg);
    let current = || srv.json("/collections/parcels/items?limit=1")["numberMatched"].as_u64().unwrap();
    let before = current();
    let versions = || srv.json("/collections/parcels/items?limit=1&datetime=../..")["numberMatched"].as_u64().unwrap();
    let versions_before = versions();
    // the 2020 import pauses inside its transaction, its rows half written
    let mut import = paused_import(&reg, &seed("2020-12-31.gpkg"), "2020-12-31", 1, "6");
    assert_eq!(current(), before, "no request sees half an import");
    assert_eq!(versions(), versions_before);
    assert_eq!(srv.json("/health")["status"], "ok");
    let during = d.path().join("during.gpkg");
    let (code, out, err) = run(&["backup", s(&reg), s(&during)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("integrity check: ok") && out.contains("sha256sum -c"), "{out}");
    assert!(import.wait().unwrap().success());
    // committed: the server shows it without a restart
    let after = current();
    assert!(versions() > versions_before);
    assert_eq!(after as i64, count(&reg, "SELECT count(*) FROM parcels WHERE valid_to IS NULL"));
    // the backup taken during the import holds the registry as it was before it, whole
    assert_eq!(count(&during, "SELECT max(import_id) FROM nr_imports"), imports);
    assert_eq!(count(&during, "SELECT count(*) FROM parcels WHERE valid_to IS NULL") as u64, before);
    let journal: String =
        rusqlite::Connection::open(&during).unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(journal, "delete", "the copy is one file; the served registry is in WAL mode");
    let live: String =
        rusqlite::Connection::open(&reg).unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(live, "wal");
    let sums = std::fs::read_to_string(d.path().join("during.gpkg.sha256")).unwrap();
    assert_eq!(sums, format!("{}  during.gpkg\n", sha256(&during)));
    // a backup after it holds the import; restored in place of a lost registry, it opens and answers
    let later = d.path().join("later.gpkg");
    let (code, out, err) = run(&["backup", s(&reg), s(&later), "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(report["integrity"], "ok");
    assert_eq!(report["last_import"], imports + 1);
    assert_eq!(report["sha256"], sha256(&later));
    let (code, _, err) = run(&["backup", s(&reg), s(&later)]);
    assert_eq!(code, 2, "an existing copy is never overwritten");
    assert!(err.contains("already exists"), "{err}");
    drop(srv);
    let restored = d.path().join("restored.gpkg");
    std::fs::copy(&later, &restored).unwrap();
    let (code, out, err) = run(&["info", s(&restored)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2020-12-31"), "{out}");
    assert_eq!(count(&restored, "SELECT count(*) FROM parcels WHERE valid_to IS NULL") as u64, after);
}

/// The XYZ tile holding a longitude, latitude at zoom `z`, and the tile's bounds (west, south, east, north).
fn tile_at(lon: f64, lat: f64, z: u32) -> ((u32, u32), [f64; 4]) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor();
    let lat_of = |row: f64| (std::f64::consts::PI * (1.0 - 2.0 * row / n)).sinh().atan().to_degrees();
    ((x as u32, y as u32), [x / n * 360.0 - 180.0, lat_of(y + 1.0), (x + 1.0) / n * 360.0 - 180.0, lat_of(y)])
}

/// The features of a tile as GDAL's MVT driver reads it, in longitude/latitude: (key, class, geometry).
fn read_tile(
    bytes: &[u8],
    dir: &Path,
    z: u32,
    x: u32,
    y: u32,
    name: &str,
) -> Vec<(String, String, geo::Geometry<f64>)> {
    let mvt = dir.join(format!("{name}.mvt"));
    std::fs::write(&mvt, bytes).unwrap();
    let out = dir.join(format!("{name}.geojson"));
    let res = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", s(&out), s(&mvt), "parcels", "-t_srs", "EPSG:4326"])
        .args(["-oo", &format!("Z={z}"), "-oo", &format!("X={x}"), "-oo", &format!("Y={y}")])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let fc: geojson::FeatureCollection = std::fs::read_to_string(&out).unwrap().parse().unwrap();
    fc.features
        .into_iter()
        .map(|f| {
            let p = f.properties.clone().unwrap();
            let g: geo::Geometry<f64> = f.geometry.unwrap().try_into().unwrap();
            (p["BSM"].as_str().unwrap().to_string(), p["DLBM"].as_str().unwrap().to_string(), g)
        })
        .collect()
}

#[test]
fn tiles_draw_the_records_valid_on_the_day_asked_for() {
    use geo::Contains;
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let srv = Server::start(&reg);
    // a forest parcel that became a mine in 2020 (the demo's case), as the clerk's lookup finds it
    let (lon, lat) = (119.5630, 30.4536);
    let looked_up = |day: &str| -> (String, String) {
        let (code, out, err) = run(&["query", s(&reg), "--at", "119.5630,30.4536", "--as-of", day, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let hits: Json = serde_json::from_str(&out).unwrap();
        let p = hits.as_array().unwrap().iter().find(|h| h["layer"] == "parcels").unwrap().clone();
        (p["key"].as_str().unwrap().to_string(), p["attributes"]["DLBM"].as_str().unwrap().to_string())
    };
    let ((x, y), [w, so, e, n]) = tile_at(lon, lat, 14);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let fetch = |path: &str| -> (u16, String, Vec<u8>) {
        let mut res = agent.get(&format!("{}{path}", srv.url)).call().unwrap();
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (res.status().as_u16(), ct, res.body_mut().read_to_vec().unwrap())
    };
    let mut classes = Vec::new();
    for day in ["2019-12-31", "2020-12-31"] {
        let (key, class) = looked_up(day);
        let (status, ct, bytes) = fetch(&format!("/tiles/parcels/14/{x}/{y}.mvt?datetime={day}"));
        assert_eq!((status, ct.as_str()), (200, "application/vnd.mapbox-vector-tile"));
        let feats = read_tile(&bytes, d.path(), 14, x, y, day);
        // the parcel under the point, with its class of that day
        let here: Vec<_> = feats.iter().filter(|(_, _, g)| g.contains(&geo::Point::new(lon, lat))).collect();
        assert_eq!(here.len(), 1, "{day}: one parcel under the point");
        assert_eq!((&here[0].0, &here[0].1), (&key, &class), "{day}");
        classes.push(class);
        // the tile holds every parcel of the day meeting it, and none beyond its buffer
        let keys: std::collections::BTreeSet<String> = feats.iter().map(|f| f.0.clone()).collect();
        let items = |b: [f64; 4]| -> std::collections::BTreeSet<String> {
            srv.all_pages(&format!(
                "/collections/parcels/items?bbox={},{},{},{}&datetime={day}&limit=10000",
                b[0], b[1], b[2], b[3]
            ))
            .iter()
            .map(|f| f["properties"]["BSM"].as_str().unwrap().to_string())
            .collect()
        };
        let pad = |k: f64| [w - (e - w) * k, so - (n - so) * k, e + (e - w) * k, n + (n - so) * k];
        let (within, around) = (items(pad(-0.01)), items(pad(0.03)));
        assert!(within.len() > 5, "{day}: parcels in the tile");
        assert!(within.is_subset(&keys), "{day}: missing {:?}", within.difference(&keys).collect::<Vec<_>>());
        assert!(keys.is_subset(&around), "{day}: beyond the buffer {:?}", keys.difference(&around).collect::<Vec<_>>());
    }
    assert_ne!(classes[0], classes[1], "the date changes what is drawn");
    // what is here: the same hits as `query --at`, each with every version of its key
    for day in ["2019-12-31", "2020-12-31"] {
        let (_, cli, _) = run(&["query", s(&reg), "--at", "119.5630,30.4536", "--as-of", day, "--format", "json"]);
        let cli: Json = serde_json::from_str(&cli).unwrap();
        let mut served = srv.json(&format!("/lookup?at=119.5630,30.4536&datetime={day}"))["hits"].clone();
        let parcel = served.as_array().unwrap().iter().find(|h| h["layer"] == "parcels").unwrap().clone();
        let history: Vec<&str> =
            parcel["history"].as_array().unwrap().iter().map(|v| v["fields"]["DLBM"].as_str().unwrap()).collect();
        assert_eq!(history, classes.iter().map(String::as_str).collect::<Vec<_>>(), "both versions, oldest first");
        for h in served.as_array_mut().unwrap() {
            h.as_object_mut().unwrap().remove("history");
        }
        assert_eq!(served, cli, "{day}");
    }
    // far from the registry: an empty tile; the TileJSON names the tile URL and the zooms
    assert_eq!(fetch("/tiles/parcels/14/0/0.mvt").0, 204);
    let tj = srv.json("/tiles/parcels.json");
    assert_eq!(tj["minzoom"], 12);
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("/tiles/parcels/{z}/{x}/{y}.mvt"));
    // bad tile requests
    for (path, status, parameter) in [
        ("/tiles/parcels/25/0/0.mvt", 400, "z"),
        ("/tiles/parcels/3/0/0.mvt", 400, "z"),
        ("/tiles/parcels/14/99999/0.mvt", 400, "x"),
        ("/tiles/parcels/14/0/abc.mvt", 400, "y"),
        ("/tiles/nope/14/0/0.mvt", 404, "layer"),
        ("/tiles/..%2Fparcels/14/0/0.mvt", 404, "layer"),
        ("/tiles/parcels/14/0/0.mvt?datetime=2019-01-01/2020-01-01", 400, "datetime"),
        ("/tiles/parcels/14/0/0.mvt?datetime=2019-02-30", 400, "datetime"),
    ] {
        let (got, _, body) = fetch(path);
        let ex: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!((got, ex["parameter"].as_str().unwrap()), (status, parameter), "{path}");
    }
}

#[test]
#[cfg_attr(not(feature = "fault-injection"), ignore = "needs the fault-injection feature: make test")]
fn a_panic_or_a_slow_request_fails_alone_and_the_server_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let srv = Server::start_with(&reg, &["--timeout", "1", "--readers", "1"]);
    for (path, status) in [("/_fault/panic", 500), ("/_fault/panic-in-read", 500), ("/_fault/slow", 503)] {
        let (got, ct, _, body) = srv.get_with(path, "application/json");
        assert_eq!(got, status, "{path}: {body}");
        assert!(ct.contains("json"), "{path}: {ct}");
        assert!(!body.contains("fault injection") && !body.contains("panicked"), "{path} leaks: {body}");
    }
    // the one read connection was lost with the panicking read: a new one answers
    for _ in 0..3 {
        assert_eq!(srv.json("/health")["status"], "ok");
        assert_eq!(srv.json("/collections/parcels/items")["numberMatched"], 0);
    }
}

#[test]
fn the_rejects_are_a_collection_and_links_follow_the_public_url() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let (code, out, err) = import_dltb(
        &reg,
        &fixture("dltb/bad_records.geojson"),
        "2019-12-31",
        &["--keep-going", "--max-rejected", "100"],
    );
    assert_eq!(code, 1, "{out}{err}");
    let srv = Server::start_with(&reg, &["--public-url", "https://gis.example.gov.cn/nrledger/"]);
    let rejects = srv.all_pages("/collections/rejects/items?limit=3");
    assert_eq!(rejects.len() as i64, count(&reg, "SELECT count(*) FROM rejects"));
    let reasons: Vec<&str> = rejects.iter().map(|f| f["properties"]["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("unknown code '9999'")), "{reasons:?}");
    assert!(rejects.iter().any(|f| f["geometry"].is_object()) && rejects.iter().any(|f| f["geometry"].is_null()));
    let one = &rejects[0];
    let again = srv.json(&format!("/collections/rejects/items/{}", one["id"].as_str().unwrap()));
    assert_eq!(again["properties"], one["properties"]);
    // every link names the public URL (behind a reverse proxy), none the address it listens on
    for path in ["/", "/collections", "/collections/parcels/items?limit=2"] {
        let body = srv.get_with(path, "application/json").3;
        let v: Json = serde_json::from_str(&body).unwrap();
        let hrefs: Vec<&str> = v["links"].as_array().unwrap().iter().map(|l| l["href"].as_str().unwrap()).collect();
        assert!(hrefs.iter().all(|h| h.starts_with("https://gis.example.gov.cn/nrledger/")), "{path}: {hrefs:?}");
        assert!(!body.contains("127.0.0.1"), "{path}");
    }
}

#[test]
fn the_findings_collection_is_the_latest_stored_check_run() {
    let d = tempfile::tempdir().unwrap();
    let reg = county(d.path());
    let srv = Server::start(&reg);
    // before any stored run: an empty collection that says how to fill it
    assert!(srv.json("/collections/findings")["description"].as_str().unwrap().contains("--store"));
    assert_eq!(srv.json("/collections/findings/items")["numberMatched"], 0);
    // a stored run, while the server runs: the collection is its findings, as the report lists them
    let pieces = d.path().join("pieces.geojson");
    let out = nrledger().args(["check", s(&reg), "--store", "--format", "json", "--out", s(&pieces)]).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stored check run 1"));
    let report: Json = serde_json::from_slice(&out.stdout).unwrap();
    let listed = report["findings"].as_array().unwrap();
    assert!(listed.len() > 10, "the demo county has findings: {}", listed.len());
    let described = srv.json("/collections/findings")["description"].as_str().unwrap().to_string();
    assert!(
        described.contains("Check run 1 ") && described.contains(&format!(": {} finding(s)", listed.len())),
        "{described}"
    );
    let served = srv.all_pages("/collections/findings/items?limit=37");
    assert_eq!(served.len(), listed.len());
    for (f, r) in served.iter().zip(listed) {
        let p = &f["properties"];
        assert_eq!((&p["rule"], &p["message"], &p["run_id"]), (&r["rule"], &r["message"], &json!(1)));
        assert_eq!(p["severity"].as_str().unwrap(), r["severity"].as_str().unwrap().to_lowercase());
        let area = r["area_m2"].as_f64().unwrap();
        assert!((p["area_m2"].as_f64().unwrap() - area).abs() <= 0.005 + 1e-9, "{p} {r}");
    }
    // the pieces at fault are the --out layer's, in CRS84
    let written: Json = serde_json::from_str(&std::fs::read_to_string(&pieces).unwrap()).unwrap();
    let with_geometry = served.iter().filter(|f| !f["geometry"].is_null()).count();
    assert_eq!(with_geometry, written["features"].as_array().unwrap().len());
    // filters and single items
    let rule = listed[0]["rule"].as_str().unwrap();
    let by_rule = listed.iter().filter(|f| f["rule"] == rule).count();
    assert_eq!(srv.json(&format!("/collections/findings/items?rule={rule}&limit=10000"))["numberMatched"], by_rule);
    let errors = listed.iter().filter(|f| f["severity"] == "Error" || f["severity"] == "error").count();
    assert_eq!(srv.json("/collections/findings/items?severity=error&limit=10000")["numberMatched"], errors);
    let one = &served[0];
    let again = srv.json(&format!("/collections/findings/items/{}", one["id"].as_str().unwrap()));
    assert_eq!(again["properties"], one["properties"]);
    for (path, status, parameter) in [
        ("/collections/findings/items?severity=fatal", 400, "severity"),
        ("/collections/findings/items?DLBM=0101", 400, "DLBM"),
        ("/collections/rejects/items?rule=NR101", 400, "rule"),
        ("/collections/findings/items/999999", 404, "featureId"),
        ("/collections/findings/queryables", 404, "collectionId"),
    ] {
        let (got, _, _, body) = srv.get_with(path, "application/json");
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(serde_json::from_str::<Json>(&body).unwrap()["parameter"], parameter, "{path}");
    }
    // a later run with one rule: the collection follows it; both runs stay in the registry, append-only
    let out = nrledger().args(["check", s(&reg), "--store", "--only", "NR101"]).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let latest = srv.all_pages("/collections/findings/items?limit=1000");
    assert!(latest.iter().all(|f| f["properties"]["rule"] == "NR101" && f["properties"]["run_id"] == 2));
    assert_eq!(latest.len(), listed.iter().filter(|f| f["rule"] == "NR101").count());
    assert_eq!(count(&reg, "SELECT count(*) FROM nr_check_runs"), 2);
    let c = rusqlite::Connection::open(&reg).unwrap();
    let refused = c.execute("UPDATE nr_findings SET severity = 'info'", []).unwrap_err().to_string();
    assert!(refused.contains("append-only"), "{refused}");
}

/// A query-string value, percent-encoded.
fn enc(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
