//! Registration operations (首次 / 变更 / 更正 / 注销) and history, through the binary: what is recorded, and
//! every refusal leaving the registry file unchanged.

use crate::common::*;

use std::path::Path;

fn square(dir: &Path, name: &str, lon: f64, lat: f64, size: f64) -> std::path::PathBuf {
    let p = dir.join(name);
    let (a, b, c, d) = (lon, lat, lon + size, lat + size);
    std::fs::write(
        &p,
        format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},{d}],[{a},{d}],[{a},{b}]]]}}}}]}}"#),
    )
    .unwrap();
    p
}

fn refused(reg: &Path, args: &[&str], reason: &str) {
    let before = sha256(reg);
    let mut a = vec!["register", s(reg)];
    a.extend_from_slice(args);
    let (code, _, err) = run(&a);
    assert_eq!(code, 2, "{args:?} was not refused");
    assert!(err.contains(reason) && err.contains("nothing was written"), "{args:?}: {err}");
    assert_eq!(sha256(reg), before, "{args:?} changed the registry");
}

#[test]
fn registration_lifecycle_and_refusals() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let u1 = square(d.path(), "u1.geojson", 119.60, 30.60, 0.01);
    let u2 = square(d.path(), "u2.geojson", 119.605, 30.605, 0.01); // overlaps u1
    let u3 = square(d.path(), "u3.geojson", 119.62, 30.60, 0.01); // apart
    let (c, out, err) = run(&[
        "register",
        s(&reg),
        "first",
        "--unit",
        "330523HD0001",
        "--name",
        "测试荒地登记单元",
        "--type",
        "荒地",
        "--owner",
        "全民",
        "--geometry",
        s(&u1),
        "--date",
        "2021-03-01",
        "--reason",
        "首次登记",
        "--document",
        "安自然资登字〔2021〕第1号",
        "--registrar",
        "张三",
    ]);
    assert_eq!(c, 0, "{out}{err}");
    assert!(out.contains("首次登记 of unit 330523HD0001 on 2021-03-01 recorded"), "{out}");
    // the unit's declared area is its ellipsoidal area; the document number is stored with it
    assert_eq!(count(&reg, "SELECT count(*) FROM units WHERE DYH = '330523HD0001' AND abs(DYMJ - area_ell) < 0.01 AND DJWH = '安自然资登字〔2021〕第1号'"), 1);
    refused(
        &reg,
        &[
            "first",
            "--unit",
            "330523HD0001",
            "--name",
            "x",
            "--type",
            "荒地",
            "--geometry",
            s(&u3),
            "--date",
            "2021-04-01",
            "--reason",
            "r",
        ],
        "already registered",
    );
    refused(
        &reg,
        &[
            "first",
            "--unit",
            "330523HD0002",
            "--name",
            "x",
            "--type",
            "荒地",
            "--geometry",
            s(&u2),
            "--date",
            "2021-04-01",
            "--reason",
            "r",
        ],
        "would overlap registered unit 330523HD0001",
    );
    refused(
        &reg,
        &[
            "first",
            "--unit",
            "BAD",
            "--name",
            "x",
            "--type",
            "荒地",
            "--geometry",
            s(&u3),
            "--date",
            "2021-04-01",
            "--reason",
            "r",
        ],
        "does not match the pattern",
    );
    refused(
        &reg,
        &[
            "first",
            "--unit",
            "330523HD0002",
            "--type",
            "荒地",
            "--geometry",
            s(&u3),
            "--date",
            "2021-04-01",
            "--reason",
            "r",
        ],
        "field DYMC",
    );
    refused(
        &reg,
        &["first", "--unit", "330523HD0002", "--name", "x", "--type", "荒地", "--date", "2021-04-01", "--reason", "r"],
        "needs the unit's geometry",
    );
    refused(
        &reg,
        &["change", "--unit", "330523HD0009", "--name", "x", "--date", "2021-04-01", "--reason", "r"],
        "no such unit is registered",
    );
    refused(
        &reg,
        &["change", "--unit", "330523HD0001", "--name", "x", "--date", "2021-03-01", "--reason", "r"],
        "the date must be after",
    );
    // a second unit beside it is fine
    assert_eq!(
        run(&[
            "register",
            s(&reg),
            "first",
            "--unit",
            "330523HD0002",
            "--name",
            "旁边的单元",
            "--type",
            "荒地",
            "--geometry",
            s(&u3),
            "--date",
            "2021-04-01",
            "--reason",
            "r"
        ])
        .0,
        0
    );
    // change of name, correction of the boundary (moving onto the neighbour is refused), cancellation
    assert_eq!(
        run(&[
            "register",
            s(&reg),
            "change",
            "--unit",
            "330523HD0001",
            "--name",
            "更名后的单元",
            "--date",
            "2021-05-01",
            "--reason",
            "名称变更"
        ])
        .0,
        0
    );
    refused(
        &reg,
        &["correct", "--unit", "330523HD0001", "--geometry", s(&u3), "--date", "2021-05-15", "--reason", "r"],
        "would overlap registered unit 330523HD0002",
    );
    assert_eq!(
        run(&[
            "register",
            s(&reg),
            "correct",
            "--unit",
            "330523HD0001",
            "--geometry",
            s(&u2),
            "--date",
            "2021-05-15",
            "--reason",
            "边界更正"
        ])
        .0,
        0
    );
    assert_eq!(
        run(&["register", s(&reg), "cancel", "--unit", "330523HD0001", "--date", "2021-06-01", "--reason", "注销"]).0,
        0
    );
    refused(
        &reg,
        &["change", "--unit", "330523HD0001", "--name", "x", "--date", "2021-07-01", "--reason", "r"],
        "was cancelled on 2021-06-01",
    );
    refused(
        &reg,
        &[
            "first",
            "--unit",
            "330523HD0001",
            "--name",
            "x",
            "--type",
            "荒地",
            "--geometry",
            s(&u1),
            "--date",
            "2021-07-01",
            "--reason",
            "r",
        ],
        "never reused",
    );
    // history: four events in order, three versions, each closed by the next
    let (c, out, _) = run(&["history", s(&reg), "--unit", "330523HD0001", "--format", "json"]);
    assert_eq!(c, 0);
    let h: serde_json::Value = serde_json::from_str(&out).unwrap();
    let types: Vec<&str> = h["events"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["首次登记", "变更登记", "更正登记", "注销登记"]);
    assert_eq!(h["events"][0]["registrar"], "张三");
    let v = h["versions"].as_array().unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(
        (v[0]["valid_to"].as_str(), v[1]["valid_to"].as_str(), v[2]["valid_to"].as_str()),
        (Some("2021-05-01"), Some("2021-05-15"), Some("2021-06-01"))
    );
    assert_eq!(v[1]["attributes"]["DYMC"], "更名后的单元");
    // the unit as of dates, from the layer
    assert_eq!(count(&reg, "SELECT count(*) FROM units WHERE DYH = '330523HD0001' AND valid_from <= '2021-05-20' AND (valid_to IS NULL OR valid_to > '2021-05-20')"), 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM units_current WHERE DYH = '330523HD0001'"), 0);
    let (c, _, err) = run(&["history", s(&reg), "--unit", "330523XX9999"]);
    assert_eq!(c, 2);
    assert!(err.contains("not in the registry"), "{err}");
}

/// A units snapshot dated before a registration cannot close the registered record: refused clearly.
#[test]
fn an_import_cannot_go_back_before_a_registration() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(
        run(&[
            "import",
            s(&reg),
            s(&seed("2019-12-31.gpkg")),
            "--layer",
            "units",
            "--profile",
            "zrzy-djdy",
            "--as-of",
            "2019-12-31"
        ])
        .0,
        0
    );
    let u = square(d.path(), "u.geojson", 119.85, 30.85, 0.005);
    let (c, _, e) = run(&[
        "register",
        s(&reg),
        "first",
        "--unit",
        "330523HD0001",
        "--name",
        "新单元",
        "--type",
        "荒地",
        "--geometry",
        s(&u),
        "--date",
        "2021-03-01",
        "--reason",
        "r",
    ]);
    assert_eq!(c, 0, "{e}");
    let before = sha256(&reg);
    let (c, _, err) = run(&[
        "import",
        s(&reg),
        s(&seed("2020-12-31.gpkg")),
        "--layer",
        "units",
        "--profile",
        "zrzy-djdy",
        "--as-of",
        "2020-12-31",
    ]);
    assert_eq!(c, 2);
    assert!(err.contains("valid from 2021-03-01") && err.contains("--as-of must be after 2021-03-01"), "{err}");
    assert_eq!(sha256(&reg), before);
}

/// A registry created with an older units definition (no BDCDYH field) is given the new column when it is
/// opened with the current one, keeps its records, and still refuses overwrites.
#[test]
fn older_registry_gets_new_optional_fields() {
    let d = tempfile::tempdir().unwrap();
    let old = d.path().join("old/kinds");
    std::fs::create_dir_all(&old).unwrap();
    let units = std::fs::read_to_string(root().join("layers/kinds/units.toml")).unwrap();
    let start = units.find("[[fields]]\nname = \"BDCDYH\"").unwrap();
    let end = start + units[start..].find("\n\n").unwrap() + 2;
    std::fs::write(old.join("units.toml"), format!("{}{}", &units[..start], &units[end..])).unwrap();
    let reg = d.path().join("r.gpkg");
    let layers = d.path().join("old");
    assert_eq!(run(&["--layers", s(&layers), "init", s(&reg), "--crs", "EPSG:4549"]).0, 0);
    assert_eq!(
        run(&[
            "--layers",
            s(&layers),
            "import",
            s(&reg),
            s(&seed("2019-12-31.gpkg")),
            "--layer",
            "units",
            "--profile",
            "zrzy-djdy",
            "--as-of",
            "2019-12-31"
        ])
        .0,
        0
    );
    let cols = |r: &Path| {
        let c = rusqlite::Connection::open(r).unwrap();
        let mut st = c.prepare("PRAGMA table_info(units)").unwrap();
        st.query_map([], |r| r.get::<_, String>(1)).unwrap().map(|x| x.unwrap()).collect::<Vec<_>>()
    };
    assert!(!cols(&reg).contains(&"BDCDYH".to_string()));
    let n = count(&reg, "SELECT count(*) FROM units");
    let u = square(d.path(), "u.geojson", 119.85, 30.85, 0.005);
    let (c, _, e) = run(&[
        "register",
        s(&reg),
        "first",
        "--unit",
        "330523HD0001",
        "--name",
        "新单元",
        "--type",
        "荒地",
        "--set",
        "BDCDYH=330523001001GB00001W00000000",
        "--geometry",
        s(&u),
        "--date",
        "2021-03-01",
        "--reason",
        "r",
    ]);
    assert_eq!(c, 0, "{e}");
    assert!(cols(&reg).contains(&"BDCDYH".to_string()));
    assert_eq!(count(&reg, "SELECT count(*) FROM units"), n + 1);
    assert_eq!(count(&reg, "SELECT count(*) FROM units WHERE BDCDYH = '330523001001GB00001W00000000'"), 1);
    let c = rusqlite::Connection::open(&reg).unwrap();
    let ds = gdal::Dataset::open_ex(
        &reg,
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_VECTOR | gdal::GdalOpenFlags::GDAL_OF_UPDATE,
            ..Default::default()
        },
    )
    .unwrap();
    let _ = ds.execute_sql(
        "UPDATE units SET BDCDYH = 'x' WHERE DYH = '330523HD0001'",
        None,
        gdal::vector::sql::Dialect::DEFAULT,
    );
    drop(ds);
    assert_eq!(
        c.query_row("SELECT count(*) FROM units WHERE BDCDYH = 'x'", [], |r| r.get::<_, i64>(0)).unwrap(),
        0,
        "the regenerated guard must cover the new column"
    );
}

/// A first registration of `unit` with the outline in `file`, prepared by registrar zhao.
fn first_request(unit: &str, file: &Path) -> nrledger::register::RegisterRequest {
    nrledger::register::RegisterRequest {
        op: nrledger::model::EventType::First,
        unit: unit.into(),
        set: [("DYMC", "测试荒地登记单元"), ("DYLX", "荒地"), ("SYQZT", "全民")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .to_vec(),
        geometry: Some((nrledger::io::source::SourceRequest { path: file.into(), ..Default::default() }, None)),
        date: nrledger::model::parse_date("2021-03-01").unwrap(),
        registrar: "zhao".into(),
        reason: "首次登记".into(),
        document_no: None,
    }
}

#[test]
fn a_submission_is_recorded_only_when_another_person_approves_it_and_of_two_in_conflict_one_wins() {
    use nrledger::store::{Actor, SubmissionState};
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let open = || nrledger::Registry::open(&reg, nrledger::catalog::Catalog::embedded().unwrap()).unwrap();
    let actor = |who: &str| Actor { who: who.into(), origin: "10.0.0.5".into() };
    let check = nrledger::register::no_overlap;
    let r = open();
    let submit = |unit: &str, file: &Path| {
        r.submit(&nrledger::register::prepare(&r, &first_request(unit, file)).unwrap(), &actor("zhao")).unwrap()
    };
    // two submissions of one code, and two overlapping units under two codes
    let a = submit("330523HD0001", &square(d.path(), "a.geojson", 119.60, 30.60, 0.01));
    let a2 = submit("330523HD0001", &square(d.path(), "a2.geojson", 119.62, 30.60, 0.01));
    let b = submit("330523HD0002", &square(d.path(), "b.geojson", 119.70, 30.60, 0.01));
    let b2 = submit("330523HD0003", &square(d.path(), "b2.geojson", 119.705, 30.605, 0.01));
    assert_eq!(count(&reg, "SELECT count(*) FROM units") + count(&reg, "SELECT count(*) FROM nr_events"), 0);
    assert_eq!(r.submissions(Some(SubmissionState::Submitted)).unwrap().len(), 4);
    // the registrar cannot approve their own submission
    let e = r.approve(a, &actor("zhao"), &check).unwrap_err().to_string();
    assert!(e.contains("another reviewer"), "{e}");

    // two reviewers approve each conflicting pair at the same moment, each on a connection of its own
    for (x, y, why) in [(a, a2, "already registered"), (b, b2, "overlap")] {
        let gate = std::sync::Barrier::new(2);
        let outcomes: Vec<Result<i64, String>> = std::thread::scope(|sc| {
            let runs: Vec<_> = [(x, "sun"), (y, "qian")]
                .map(|(id, who)| {
                    let gate = &gate;
                    sc.spawn(move || {
                        let mine = open();
                        gate.wait();
                        mine.approve(id, &actor(who), &check).map_err(|e| e.to_string())
                    })
                })
                .into_iter()
                .collect();
            runs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(won, 1, "{outcomes:?}");
        let lost = outcomes.iter().find_map(|o| o.clone().err()).unwrap();
        assert!(lost.contains(why) && lost.contains("nothing was written"), "{lost}");
    }
    // two events, each naming registrar and reviewer; no code twice, no two units over the same ground
    let events = r.events(None).unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.registrar == "zhao" && matches!(e.reviewer.as_deref(), Some("sun" | "qian"))));
    assert_eq!(count(&reg, "SELECT count(DISTINCT DYH) FROM units"), 2);
    let (c, out, err) = run(&["check", s(&reg), "--only", "NR102"]);
    assert_eq!(c, 0, "{out}{err}");
    // the refused ones are still waiting: they are returned, with a reason, and then cannot be approved
    let waiting = r.submissions(Some(SubmissionState::Submitted)).unwrap();
    assert_eq!(waiting.len(), 2);
    for w in &waiting {
        assert!(r.return_submission(w.id, "  ", &actor("sun")).is_err(), "returned without a reason");
        r.return_submission(w.id, "与已登簿单元冲突 conflicts with a recorded unit", &actor("sun")).unwrap();
        let e = r.approve(w.id, &actor("qian"), &check).unwrap_err().to_string();
        assert!(e.contains("already returned"), "{e}");
    }
    // a decided submission is never edited or deleted behind the registry's back
    let conn = rusqlite::Connection::open(&reg).unwrap();
    for sql in [
        "UPDATE nr_submissions SET state = 'submitted'",
        "DELETE FROM nr_submissions",
        "UPDATE nr_submissions SET unit_code = 'X'",
    ] {
        let e = conn.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("nrledger:"), "{sql}: {e}");
    }
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let actions: Vec<String> = r.trail().unwrap().into_iter().map(|t| t.action).collect();
    let n = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!((n("registration.submit"), n("registration.approve"), n("registration.return")), (4, 2, 2));
}
