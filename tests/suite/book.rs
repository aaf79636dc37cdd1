//! The register-book page (登记簿): areas that add up, ownership from the parcels, links with overlap areas,
//! events, the map, a self-contained HTML page and JSON following its schema.

use crate::common::*;

/// A unit over a state forest parcel and a collective homestead parcel (100 m × 100 m each), half inside a
/// red line, with a hand-computable page.
#[test]
fn hand_computed_book_page() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let w = |name: &str, text: String| write_file(d.path(), name, text);
    let parcels = w(
        "p.geojson",
        collection(
            &[r#"{"BSM":"F","DLBM":"0301","QSXZ":"10"}"#, r#"{"BSM":"H","DLBM":"0702","QSXZ":"30"}"#],
            &[rect(0.0, 100.0, 0.0, 100.0), rect(100.0, 200.0, 0.0, 100.0)],
        ),
    );
    let red = w(
        "r.geojson",
        collection(&[r#"{"HXBH":"HX1","HXMC":"测试红线","GKFQ":"核心保护区"}"#], &[rect(-50.0, 100.0, -50.0, 150.0)]),
    );
    let unit = w("u.geojson", collection(&[r#"{"note":"boundary"}"#], &[rect(0.0, 200.0, 0.0, 100.0)]));
    for (layer, f) in [("parcels", &parcels), ("redlines", &red)] {
        assert_eq!(run(&["import", s(&reg), s(f), "--layer", layer, "--as-of", "2020-01-01"]).0, 0);
    }
    let (c, _, e) = run(&[
        "register",
        s(&reg),
        "first",
        "--unit",
        "330523ZR0001",
        "--name",
        "测试单元",
        "--type",
        "自然保护区",
        "--owner",
        "全民",
        "--representative",
        "自然资源部",
        "--set",
        "BDCDYH=330523001001GB00001W00000000",
        "--geometry",
        s(&unit),
        "--date",
        "2021-01-01",
        "--reason",
        "首次登记",
        "--document",
        "测字〔2021〕1号",
    ]);
    assert_eq!(c, 0, "{e}");
    let out = d.path().join("book.json");
    assert_eq!(run(&["book", s(&reg), "--unit", "330523ZR0001", "--format", "json", "--out", s(&out)]).0, 0);
    let b: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/book.schema.json")).unwrap()).unwrap();
    assert!(jsonschema::validator_for(&schema).unwrap().is_valid(&b));
    let share = |list: &str, label: &str| {
        b[list].as_array().unwrap().iter().find(|x| x["label"] == label).unwrap()["area"]["m2"].as_f64().unwrap()
    };
    let total = b["area"]["m2"].as_f64().unwrap();
    // ellipsoidal areas: 10 000 m² planar each, within the scale factor on the central meridian
    assert!((total / 20_000.0 - 1.0).abs() < 1e-3, "{total}");
    assert!((share("resource_types", "森林") - total / 2.0).abs() < 0.05);
    assert!((share("resource_types", "非自然资源") - total / 2.0).abs() < 0.05);
    assert!((share("ownership_areas", "国有") - total / 2.0).abs() < 0.05);
    assert!((share("ownership_areas", "集体") - total / 2.0).abs() < 0.05);
    let sum = |list: &str| b[list].as_array().unwrap().iter().map(|x| x["area"]["m2"].as_f64().unwrap()).sum::<f64>();
    assert!((sum("resource_types") - total).abs() < 0.05 && (sum("ownership_areas") - total).abs() < 0.05);
    let link = &b["links"][0];
    assert_eq!((link["key"].as_str(), link["layer"].as_str()), (Some("HX1"), Some("redlines")));
    assert!((link["overlap"]["m2"].as_f64().unwrap() - total / 2.0).abs() < 0.05, "{link}");
    assert_eq!(b["real_estate_units"], serde_json::json!(["330523001001GB00001W00000000"]));
    assert_eq!(b["ownership"]["所有权代表行使主体"], "自然资源部");
    assert_eq!(b["events"][0]["document_no"], "测字〔2021〕1号");
    // the HTML page: self-contained, A4, one map piece per parcel piece, the unit outline
    let html = d.path().join("book.html");
    assert_eq!(run(&["book", s(&reg), "--unit", "330523ZR0001", "--out", s(&html)]).0, 0);
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("@page { size: A4"));
    assert_eq!(h.matches("class=\"piece\"").count(), 2);
    assert_eq!(h.matches("class=\"zone\"").count(), 1);
    assert!(h.contains("class=\"unit\""));
    for needle in ["自然状况", "权属状况", "关联信息", "附图", "测试红线 核心保护区", "330523001001GB00001W00000000"]
    {
        assert!(h.contains(needle), "{needle} missing");
    }
    let urls: Vec<&str> = h.match_indices("http").map(|(i, _)| &h[i..(i + 30).min(h.len())]).collect();
    assert!(urls.iter().all(|u| u.starts_with("http://www.w3.org/2000/svg")), "external reference: {urls:?}");
    // refusals: an existing output, a date before the registration, an unknown unit
    assert_eq!(run(&["book", s(&reg), "--unit", "330523ZR0001", "--out", s(&html)]).0, 2);
    let (c, _, err) = run(&[
        "book",
        s(&reg),
        "--unit",
        "330523ZR0001",
        "--as-of",
        "2020-06-01",
        "--out",
        s(&d.path().join("x.html")),
    ]);
    assert_eq!(c, 2);
    assert!(err.contains("not registered on 2020-06-01"), "{err}");
    assert_eq!(run(&["book", s(&reg), "--unit", "330523XX0000", "--out", s(&d.path().join("y.html"))]).0, 2);
}

/// On the demo county's clean 2019 survey every unit's resource types and ownership areas add up to its
/// area; in 2020 the river unit holds the deliberate parcel overlap, which the page reports instead of
/// hiding it.
#[test]
fn demo_units_add_up() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("anji.gpkg");
    assert_eq!(run(&["init", s(&reg), "--region", "330523"]).0, 0);
    for day in ["2019-12-31", "2020-12-31"] {
        for (layer, profile) in [("parcels", "sandiao-dltb"), ("redlines", "stbhhx"), ("units", "zrzy-djdy")] {
            assert_eq!(
                run(&[
                    "import",
                    s(&reg),
                    s(&seed(&format!("{day}.gpkg"))),
                    "--layer",
                    layer,
                    "--profile",
                    profile,
                    "--as-of",
                    day
                ])
                .0,
                0
            );
        }
    }
    let units: Vec<String> = {
        let c = rusqlite::Connection::open(&reg).unwrap();
        let mut st = c.prepare("SELECT DYH FROM units_current").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(|x| x.unwrap()).collect()
    };
    assert!(!units.is_empty());
    let mut warnings_2020 = 0;
    for u in units {
        for day in ["2019-12-31", "2020-12-31"] {
            let out = d.path().join(format!("{u}-{day}.json"));
            assert_eq!(
                run(&["book", s(&reg), "--unit", &u, "--as-of", day, "--format", "json", "--out", s(&out)]).0,
                0
            );
            let b: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
            let total = b["area"]["m2"].as_f64().unwrap();
            let warned = !b["warnings"].as_array().unwrap().is_empty();
            assert!(!(warned && day == "2019-12-31"), "{u}: {}", b["warnings"]);
            for list in ["resource_types", "ownership_areas"] {
                let sum: f64 = b[list].as_array().unwrap().iter().map(|x| x["area"]["m2"].as_f64().unwrap()).sum();
                assert!(warned || (sum - total).abs() <= 1e-6 * total + 0.1, "{u} {day} {list}: {sum} vs {total}");
            }
            if warned {
                assert!(b["warnings"][0].as_str().unwrap().contains("counted twice"));
                warnings_2020 += 1;
            }
        }
    }
    assert_eq!(warnings_2020, 1, "the deliberate overlap lies in one unit");
}

/// The HTML page prints on A4 in headless Chromium (installed by the Makefile) within three pages, with its
/// Chinese text intact.
#[test]
fn book_page_prints_on_a4() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    assert_eq!(
        run(&[
            "import",
            s(&reg),
            s(&seed("2019-12-31.gpkg")),
            "--layer",
            "parcels",
            "--profile",
            "sandiao-dltb",
            "--as-of",
            "2019-12-31"
        ])
        .0,
        0
    );
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
    let html = d.path().join("book.html");
    assert_eq!(run(&["book", s(&reg), "--unit", "330523ZB0001", "--out", s(&html)]).0, 0);
    let pdf = d.path().join("book.pdf");
    let profile = d.path().join("chromium-profile");
    let st = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium (installed by `make test`)");
    assert!(pdf.exists(), "no PDF: {}", String::from_utf8_lossy(&st.stderr));
    let info = String::from_utf8(
        std::process::Command::new("pdfinfo").arg(&pdf).output().expect("pdfinfo (poppler-utils)").stdout,
    )
    .unwrap();
    assert!(info.contains("(A4)"), "{info}");
    let pages: u32 =
        info.lines().find(|l| l.starts_with("Pages:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!((1..=3).contains(&pages), "{pages} pages");
    let text = String::from_utf8(
        std::process::Command::new("pdftotext").arg(&pdf).arg("-").output().expect("pdftotext").stdout,
    )
    .unwrap();
    for needle in ["自然资源登记簿", "自然状况", "权属状况", "关联信息", "附图", "330523ZB0001"] {
        assert!(text.contains(needle), "{needle} not in the printed page");
    }
}

/// Regression (issue 19.15): a book page's resource-type areas summed 0.17 m² over the unit's area on a
/// large unit. The published parts add up exactly to the published total in m², ha and 亩: here three
/// parcels of a third of the unit each (森林, 水流, 草原; 国有 twice and 集体), whose areas rounded one by one
/// would not.
#[test]
fn published_parts_add_up_to_the_published_total() {
    let d = tempfile::tempdir().unwrap();
    let reg = registry(d.path());
    let w = |name: &str, text: String| write_file(d.path(), name, text);
    let t = 1000.0 / 3.0;
    let parcels = w(
        "p.geojson",
        collection(
            &[
                r#"{"BSM":"A","DLBM":"0301","QSXZ":"10"}"#,
                r#"{"BSM":"B","DLBM":"1101","QSXZ":"20"}"#,
                r#"{"BSM":"C","DLBM":"0401","QSXZ":"30"}"#,
            ],
            &[rect(0.0, t, 0.0, 1000.0), rect(t, 2.0 * t, 0.0, 1000.0), rect(2.0 * t, 1000.0, 0.0, 1000.0)],
        ),
    );
    let unit = w("u.geojson", collection(&[r#"{"note":"boundary"}"#], &[rect(0.0, 1000.0, 0.0, 1000.0)]));
    assert_eq!(run(&["import", s(&reg), s(&parcels), "--layer", "parcels", "--as-of", "2020-01-01"]).0, 0);
    let (c, _, e) = run(&[
        "register",
        s(&reg),
        "first",
        "--unit",
        "330523ZR0002",
        "--name",
        "三分单元",
        "--type",
        "自然保护区",
        "--owner",
        "全民",
        "--representative",
        "自然资源部",
        "--geometry",
        s(&unit),
        "--date",
        "2021-01-01",
        "--reason",
        "首次登记",
    ]);
    assert_eq!(c, 0, "{e}");
    let out = d.path().join("book.json");
    assert_eq!(run(&["book", s(&reg), "--unit", "330523ZR0002", "--format", "json", "--out", s(&out)]).0, 0);
    let b: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for (unit, scale) in [("m2", 100.0), ("ha", 1e4), ("mu", 100.0)] {
        let total = (b["area"][unit].as_f64().unwrap() * scale).round() as i64;
        for (list, nonzero) in [("resource_types", 3), ("ownership_areas", 2)] {
            let parts: Vec<i64> = b[list]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| (x["area"][unit].as_f64().unwrap() * scale).round() as i64)
                .collect();
            assert_eq!(parts.iter().sum::<i64>(), total, "{list} in {unit}: {parts:?}");
            assert_eq!(parts.iter().filter(|&&p| p > 0).count(), nonzero, "{list} in {unit}: {parts:?}");
        }
    }
}
