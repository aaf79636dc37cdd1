//! Report jobs on `nrledger serve`: an auditor's balance sheet and audit report run in the background and
//! give the very bytes the CLI writes for the same inputs; a reviewer's check run stores its findings; a
//! job waiting or running is cancelled (and leaves no file); bad forms and bad inputs are refused or fail
//! with the reason; each person sees only the jobs they may; the trail has every start and cancel; the
//! jobs are listed again after a restart.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::access::{add_people, call, post_multipart, sign_in, Answer, Browser};
use crate::common::*;
use crate::serve::Server;

/// Post the job form as `b`.
fn start(srv: &Server, b: &Browser, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Answer {
    let mut all = vec![("csrf", b.csrf.as_str())];
    all.extend_from_slice(fields);
    post_multipart(srv, b, "/jobs", &all, files)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

/// The job a started form redirected to.
fn job_id(res: &Answer) -> u64 {
    assert_eq!(res.status, 303, "{}", res.body);
    res.header("location").unwrap().rsplit('/').next().unwrap().parse().unwrap()
}

fn job(srv: &Server, b: &Browser, id: u64) -> Json {
    let res = call(&format!("{}/jobs/{id}?f=json", srv.url), "GET", &[b.header()], None);
    assert_eq!(res.status, 200, "{}", res.body);
    serde_json::from_str(&res.body).unwrap()
}

/// Wait (at most five minutes) until the job is `state` (or, for "ended", in any final state).
fn until(srv: &Server, b: &Browser, id: u64, state: &str) -> Json {
    let t0 = Instant::now();
    loop {
        let j = job(srv, b, id);
        if j["state"] == state || (state == "ended" && j["final"] == true) {
            return j;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "job {id} never became {state}: {j}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A job's file, as downloaded: status, content disposition, bytes.
fn download(srv: &Server, b: &Browser, id: u64, name: &str) -> (u16, String, Vec<u8>) {
    let mut res = agent()
        .get(&format!("{}/jobs/{id}/files/{name}", srv.url))
        .header("Cookie", &format!("nrledger_session={}", b.cookie))
        .call()
        .unwrap();
    let disposition =
        res.headers().get("content-disposition").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = res.body_mut().with_config().limit(1 << 30).read_to_vec().unwrap_or_default();
    (res.status().as_u16(), disposition, bytes)
}

fn names(j: &Json, list: &str) -> Vec<String> {
    j[list].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect()
}

fn cancel(srv: &Server, b: &Browser, id: u64) -> Answer {
    let body = format!("csrf={}", b.csrf);
    call(&format!("{}/jobs/{id}/cancel", srv.url), "POST", &[b.header()], Some(&body))
}

fn demo(dir: &Path) -> std::path::PathBuf {
    let reg = crate::audit::demo_registry(dir);
    add_people(&reg);
    reg
}

#[test]
fn an_auditors_jobs_give_the_bytes_the_cli_writes_and_each_person_sees_what_they_may() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo(d.path());
    let srv = Server::start_with(&reg, &["--readers", "2", "--job-workers", "2"]);
    let chen = sign_in(&srv, "chen", "auditor-secret-004");
    let (targets, forest, water) = (
        std::fs::read(seed("targets.toml")).unwrap(),
        std::fs::read(seed("forest-changes.csv")).unwrap(),
        std::fs::read(seed("water.csv")).unwrap(),
    );
    let livestock =
        "行政区代码,年份,畜种,存栏数\n330523,2019,绵羊,1200\n330523,2020,绵羊,1500\n330523,2020,牛,80\n".as_bytes();
    let tables: [(&str, &str, &[u8]); 4] = [
        ("targets", "指标 targets.toml", &targets),
        ("forest_changes", "forest-changes.csv", &forest),
        ("water", "water.csv", &water),
        ("livestock", "存栏.csv", livestock),
    ];
    let period = [("region", "330523"), ("from", "2019-12-31"), ("to", "2020-12-31")];
    let mut fields = vec![("kind", "audit"), ("official", "张三 <script>alert(1)</script>"), ("post", "县长")];
    fields.extend(period);
    let audit = job_id(&start(&srv, &chen, &fields, &tables));
    let mut fields = vec![("kind", "balance"), ("level", "2"), ("unit", "mu")];
    fields.extend(period);
    let balance = job_id(&start(&srv, &chen, &fields, &tables));

    let a = until(&srv, &chen, audit, "done");
    assert_eq!(names(&a, "outputs"), ["audit.html", "audit.json", "audit.xlsx"], "{a}");
    assert_eq!(names(&a, "inputs"), ["targets.toml", "forest-changes.csv", "water.csv", "livestock.csv"]);
    assert!(a["stages"].as_u64().unwrap() > 10, "the job reported its stages: {a}");
    assert!(a["message"].as_str().unwrap().contains("score"), "{a}");
    let b = until(&srv, &chen, balance, "done");
    assert_eq!(names(&b, "outputs"), ["balance-trace.gpkg", "balance.json", "balance.txt", "balance.xlsx"], "{b}");

    // the CLI, given the job's inputs, writes the very same bytes (the server still runs: same registry)
    let jobs = reg.with_extension("jobs");
    let input = |id: u64, n: &str| jobs.join(id.to_string()).join("inputs").join(n);
    let cli = d.path().join("cli");
    std::fs::create_dir(&cli).unwrap();
    let tables_args = |id: u64| {
        vec![
            "--targets".to_string(),
            s(&input(id, "targets.toml")).to_string(),
            "--forest-changes".into(),
            s(&input(id, "forest-changes.csv")).into(),
            "--water".into(),
            s(&input(id, "water.csv")).into(),
            "--livestock".into(),
            s(&input(id, "livestock.csv")).into(),
        ]
    };
    let mut args: Vec<String> =
        ["audit", s(&reg), "--official", "张三 <script>alert(1)</script>", "--post", "县长"].map(String::from).to_vec();
    args.extend(["--region", "330523", "--from", "2019-12-31", "--to", "2020-12-31"].map(String::from));
    args.extend(tables_args(audit));
    for (flag, name) in [("--out", "audit.html"), ("--xlsx", "audit.xlsx"), ("--json", "audit.json")] {
        args.extend([flag.to_string(), s(&cli.join(name)).to_string()]);
    }
    let (c, _, e) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(c, 0, "{e}");
    let mut args: Vec<String> = ["balance", s(&reg), "--level", "2", "--unit", "mu"].map(String::from).to_vec();
    args.extend(["--region", "330523", "--from", "2019-12-31", "--to", "2020-12-31"].map(String::from));
    args.extend(tables_args(balance));
    for (flag, name) in [
        ("--out", "balance.txt"),
        ("--json", "balance.json"),
        ("--xlsx", "balance.xlsx"),
        ("--trace", "balance-trace.gpkg"),
    ] {
        args.extend([flag.to_string(), s(&cli.join(name)).to_string()]);
    }
    let (c, _, e) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(c, 0, "{e}");
    for (id, j) in [(audit, &a), (balance, &b)] {
        for f in j["outputs"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            let (status, disposition, bytes) = download(&srv, &chen, id, name);
            assert_eq!(status, 200, "{name}");
            assert_eq!(disposition, format!("attachment; filename=\"job{id}-{name}\""));
            assert_eq!(bytes, std::fs::read(cli.join(name)).unwrap(), "job {id}: {name} differs from the CLI's");
            assert_eq!(sha256_bytes(&bytes), f["sha256"].as_str().unwrap(), "{name}");
        }
    }
    // the livestock uploaded is the sheet's 草畜平衡: 1 500 sheep and 80 cattle (× 5) at the end of 2020
    let sheet: Json = serde_json::from_slice(&download(&srv, &chen, balance, "balance.json").2).unwrap();
    assert_eq!(sheet["grazing"]["stocking_su"]["closing"].as_f64(), Some(1900.0), "{}", sheet["grazing"]);
    // the same bytes hold at any hour: the workbooks and the trace carry the closing date, not the time
    for x in ["audit.xlsx", "balance.xlsx"] {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(cli.join(x)).unwrap()).unwrap();
        let mut core = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("docProps/core.xml").unwrap(), &mut core).unwrap();
        assert!(core.contains(">2020-12-31T00:00:00Z</dcterms:created>"), "{x}: {core}");
    }
    let stamp: String = rusqlite::Connection::open(cli.join("balance-trace.gpkg"))
        .unwrap()
        .query_row("SELECT last_change FROM gpkg_contents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stamp, "2020-12-31T00:00:00.000Z");
    // the inputs are kept as uploaded; the report names the official escaped, on the job's page too
    assert_eq!(download(&srv, &chen, audit, "targets.toml").2, targets);
    let page = call(&format!("{}/jobs/{audit}?f=html", srv.url), "GET", &[chen.header()], None);
    assert!(page.body.contains("张三 &lt;script&gt;") && !page.body.contains("<script>alert"), "{}", page.body);
    let report = download(&srv, &chen, audit, "audit.html").2;
    assert!(!String::from_utf8(report).unwrap().contains("<script>alert(1)"));
    // a report viewed in the browser is sandboxed (its scripts cannot act as the service's pages)
    let view = call(&format!("{}/jobs/{audit}/files/audit.html?view=1", srv.url), "GET", &[chen.header()], None);
    assert_eq!(view.status, 200);
    assert_eq!(view.header("content-security-policy"), Some("sandbox allow-scripts"));
    assert_eq!(view.header("content-disposition"), Some("inline"));
    // no file of another name, nor a path out of the job's folder
    for name in ["job.json", "..%2Fjob.json", "registry.gpkg", "%2E%2E%2F%2E%2E%2Fanji.gpkg"] {
        assert_eq!(download(&srv, &chen, audit, name).0, 404, "{name}");
    }

    // who sees the jobs: another auditor and an admin do; a reviewer sees no report job, a viewer or
    // registrar no job page at all
    let sun = sign_in(&srv, "sun", "reviewer-secret-03");
    let wang = sign_in(&srv, "wang.li", "admin-secret-0001");
    assert_eq!(call(&format!("{}/jobs/{audit}?f=json", srv.url), "GET", &[wang.header()], None).status, 200);
    assert_eq!(call(&format!("{}/jobs/{audit}?f=json", srv.url), "GET", &[sun.header()], None).status, 404);
    assert_eq!(download(&srv, &sun, audit, "audit.html").0, 404);
    let listed = call(&format!("{}/jobs?f=json", srv.url), "GET", &[sun.header()], None);
    assert_eq!(serde_json::from_str::<Json>(&listed.body).unwrap().as_array().unwrap().len(), 0, "{}", listed.body);
    for (name, pw) in [("liu", "viewer-secret-0005"), ("zhao", "registrar-secret-02")] {
        let b = sign_in(&srv, name, pw);
        assert_eq!(call(&format!("{}/jobs/{audit}?f=json", srv.url), "GET", &[b.header()], None).status, 403);
        assert_eq!(download(&srv, &b, audit, "audit.html").0, 403);
    }
    // a reviewer may not start a report job, only a check run
    let res = start(&srv, &sun, &[("kind", "audit"), ("official", "x"), ("post", "y")], &tables);
    assert_eq!(res.status, 403, "{}", res.body);

    // the reviewer's check run stores its findings (exit 1: findings at error severity is success)
    let check = job_id(&start(&srv, &sun, &[("kind", "check"), ("region", "330523")], &[]));
    let c = until(&srv, &sun, check, "done");
    assert_eq!(names(&c, "outputs"), ["findings.gpkg", "findings.json"], "{c}");
    let report: Json = serde_json::from_slice(&download(&srv, &sun, check, "findings.json").2).unwrap();
    let stored = count(&reg, "SELECT count(*) FROM nr_findings WHERE run_id = (SELECT max(run_id) FROM nr_check_runs)");
    assert!(stored > 0 && report.to_string().contains("NR"), "{stored}");
    let findings = call(&format!("{}/findings?f=json", srv.url), "GET", &[sun.header()], None);
    assert_eq!(findings.status, 200);

    // the reviewer's carrying-capacity warning: the townships by level as `nrledger warn` writes them, with a
    // link to the map; a table a warning does not read is refused, with the form again
    let mut fields = vec![("kind", "warn")];
    fields.extend(period);
    let res = start(&srv, &sun, &fields, &[("forest_changes", "forest-changes.csv", &forest)]);
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("takes no file") && res.body.contains("forest_changes"), "{}", res.body);
    let warn = job_id(&start(&srv, &sun, &fields, &[("water", "water.csv", &water)]));
    let w = until(&srv, &sun, warn, "done");
    assert_eq!(names(&w, "outputs"), ["warning.geojson", "warning.json"], "{w}");
    let mut args: Vec<String> = ["warn", s(&reg)].map(String::from).to_vec();
    args.extend(["--region", "330523", "--from", "2019-12-31", "--to", "2020-12-31"].map(String::from));
    args.extend(["--water".into(), s(&input(warn, "water.csv")).to_string(), "--format".into(), "json".into()]);
    args.extend(["--out".into(), s(&cli.join("warning.json")).to_string()]);
    args.extend(["--layer".into(), s(&cli.join("warning.geojson")).to_string()]);
    let (c, _, e) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(c, 0, "{e}");
    for name in ["warning.json", "warning.geojson"] {
        let (status, _, bytes) = download(&srv, &sun, warn, name);
        assert_eq!(status, 200, "{name}");
        assert_eq!(bytes, std::fs::read(cli.join(name)).unwrap(), "{name} differs from the CLI's");
    }
    let layer: Json = serde_json::from_slice(&download(&srv, &sun, warn, "warning.geojson").2).unwrap();
    let units = layer["features"].as_array().unwrap();
    assert_eq!(units.len(), 8, "{layer}");
    assert!(units.iter().all(|u| u["properties"]["YJDJ"].is_string() && u["properties"]["YS"].is_string()));
    let page = call(&format!("{}/jobs/{warn}?f=html", srv.url), "GET", &[sun.header()], None);
    assert!(page.body.contains(&format!("/?warning={warn}\"")), "{}", page.body);
    // an admin reads it too; a reviewer still sees no audit
    assert_eq!(call(&format!("{}/jobs/{warn}?f=json", srv.url), "GET", &[wang.header()], None).status, 200);

    // the trail has each start, by whom, with the SHA-256 of the inputs
    let trail = open_trail(&reg);
    let starts: Vec<&(String, String, String)> = trail.iter().filter(|(_, a, _)| a == "job.start").collect();
    assert_eq!(starts.len(), 4, "{trail:?}");
    assert_eq!(starts[0].0, "chen");
    assert!(starts[0].2.contains(&format!("targets.toml sha256:{}", sha256_bytes(&targets))), "{}", starts[0].2);
    assert_eq!((starts[2].0.as_str(), starts[3].0.as_str()), ("sun", "sun"));
    assert!(starts[3].2.starts_with("warn "), "{}", starts[3].2);
}

/// (who, action, detail) of every trail row.
fn open_trail(reg: &Path) -> Vec<(String, String, String)> {
    let c = rusqlite::Connection::open(reg).unwrap();
    let mut st = c.prepare("SELECT who, action, detail FROM nr_trail ORDER BY id").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

fn sha256_bytes(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

#[test]
fn jobs_wait_their_turn_are_cancelled_fail_with_the_reason_and_outlive_a_restart() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo(d.path());
    // every stage of a job waits a second (the fault seam), so that jobs are still running when cancelled
    let srv = Server::start_env(&reg, &["--job-workers", "1"], &[("NRLEDGER_FAULT_STAGE_SECS", "1")]);
    let chen = sign_in(&srv, "chen", "auditor-secret-004");
    let period = [("kind", "balance"), ("region", "330523"), ("from", "2019-12-31"), ("to", "2020-12-31")];
    let first = job_id(&start(&srv, &chen, &period, &[]));
    let second = job_id(&start(&srv, &chen, &period, &[]));
    until(&srv, &chen, first, "running");
    // one worker: the second waits its turn; cancelled while waiting, it never runs
    assert_eq!(job(&srv, &chen, second)["state"], "queued");
    // only who started a job (or an admin) cancels it: a reviewer does not even see a balance job
    let wang = sign_in(&srv, "wang.li", "admin-secret-0001");
    let sun = sign_in(&srv, "sun", "reviewer-secret-03");
    assert_eq!(cancel(&srv, &sun, second).status, 404);
    assert_eq!(cancel(&srv, &chen, second).status, 303);
    let j = until(&srv, &chen, second, "cancelled");
    assert!(j["started"].is_null(), "{j}");
    // the first is cancelled while it runs, by an admin: its process ends, no file is left
    assert_eq!(cancel(&srv, &wang, first).status, 303);
    let j = until(&srv, &chen, first, "cancelled");
    assert_eq!(j["cancelled_by"], "wang.li");
    assert!(names(&j, "outputs").is_empty());
    let outputs = reg.with_extension("jobs").join(first.to_string()).join("outputs");
    assert_eq!(std::fs::read_dir(&outputs).unwrap().count(), 0, "files left by a cancelled job");
    // a form without its token is refused; bad fields are named; a bad file fails with the CLI's reason
    let mut no_token = chen.clone();
    no_token.csrf = "x".into();
    assert_eq!(start(&srv, &no_token, &period, &[]).status, 403);
    let res = start(
        &srv,
        &chen,
        &[
            ("kind", "audit"),
            ("official", "张三"),
            ("post", "县长"),
            ("region", "33"),
            ("from", "2019-12-31"),
            ("to", "2020-12-31"),
        ],
        &[],
    );
    assert_eq!(res.status, 400);
    assert!(res.body.contains("targets") && res.body.contains("aria-invalid"), "{}", res.body);
    let res = start(
        &srv,
        &chen,
        &[("kind", "balance"), ("region", "33'; DROP TABLE nr_trail;--"), ("from", "2019-12-31"), ("to", "2020-12-31")],
        &[],
    );
    assert_eq!(res.status, 400);
    assert!(res.body.contains("id=\"region\"") && res.body.contains("DROP TABLE"), "the form keeps what was typed");
    let res = start(
        &srv,
        &chen,
        &[("kind", "balance"), ("region", "330523"), ("from", "2020-12-31"), ("to", "2019-12-31")],
        &[],
    );
    assert_eq!(res.status, 400, "{}", res.body);
    let res = start(&srv, &chen, &period, &[("targets", "targets.exe", b"MZ")]);
    assert_eq!(res.status, 400);
    let bad = job_id(&start(&srv, &chen, &period, &[("targets", "targets.toml", b"[[indicator]\nnot toml")]));
    let j = until(&srv, &chen, bad, "ended");
    assert_eq!(j["state"], "failed", "{j}");
    let why = j["message"].as_str().unwrap();
    assert!(why.contains("inputs/targets.toml") && !why.contains(s(d.path())), "{why}");

    // the trail has the cancels, by whom
    let trail = open_trail(&reg);
    let cancels: Vec<String> = trail.iter().filter(|(_, a, _)| a == "job.cancel").map(|(w, _, _)| w.clone()).collect();
    assert_eq!(cancels, ["chen", "wang.li"]);

    // a job running when the server stops is interrupted; after a restart every job is listed again
    let last = job_id(&start(&srv, &chen, &period, &[]));
    until(&srv, &chen, last, "running");
    drop(srv);
    let srv = Server::start_with(&reg, &[]);
    let chen = sign_in(&srv, "chen", "auditor-secret-004");
    let listed = call(&format!("{}/jobs?f=json", srv.url), "GET", &[chen.header()], None);
    let listed: Json = serde_json::from_str(&listed.body).unwrap();
    let states: Vec<(u64, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["id"].as_u64().unwrap(), j["state"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        states,
        [
            (last, "interrupted".to_string()),
            (bad, "failed".into()),
            (second, "cancelled".into()),
            (first, "cancelled".into())
        ]
    );
}
