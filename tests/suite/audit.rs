//! `nrledger audit`: the demo county's tenure — indicators and verdicts against the seeds' targets, the score,
//! the findings that arose in the tenure (the injected 2020 defects), the report rendered by headless
//! Chromium with its charts and map, the workbook, reproducibility, and bad input.

use crate::common::*;

use std::path::{Path, PathBuf};

/// The demo county with every layer the audit reads (both vintages).
pub(crate) fn demo_registry(dir: &Path) -> PathBuf {
    demo_registry_with(
        dir,
        &[
            ("parcels", "sandiao-dltb"),
            ("redlines", "stbhhx"),
            ("farmland", "yjjbnt"),
            ("urban", "czkfbj"),
            ("units", "zrzy-djdy"),
            ("forest", "forest-xb"),
        ],
    )
}

fn audit_args<'a>(reg: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "audit",
        reg,
        "--official",
        "张三",
        "--post",
        "县长",
        "--region",
        "330523",
        "--from",
        "2019-12-31",
        "--to",
        "2020-12-31",
    ];
    v.extend_from_slice(extra);
    v.extend(["--out", out]);
    v
}

#[test]
fn demo_tenure_report() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let (t, fc, w) = (seed("targets.toml"), seed("forest-changes.csv"), seed("water.csv"));
    let html = d.path().join("report.html");
    let (xlsx, json) = (d.path().join("audit.xlsx"), d.path().join("audit.json"));
    let extra =
        ["--targets", s(&t), "--forest-changes", s(&fc), "--water", s(&w), "--xlsx", s(&xlsx), "--json", s(&json)];
    let (c, out, e) = run(&audit_args(s(&reg), s(&html), &extra));
    assert_eq!(c, 0, "{e}");
    assert!(out.contains("wrote the audit report"), "{out}");
    let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // the JSON follows its schema
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/audit.schema.json")).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&a).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let ind = |id: &str| a["indicators"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap().clone();
    // the red lines got two prohibited uses in 2020 (seeds/anji/defects.json): not met, with their area
    let defects: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seed("defects.json")).unwrap()).unwrap();
    let violations: f64 = defects["defects_2020"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "redline_violation")
        .map(|x| x["area_m2"].as_f64().unwrap())
        .sum();
    let r = ind("redline_prohibited_use");
    assert_eq!(r["verdict"], "NotMet");
    assert!((r["end"].as_f64().unwrap() * 1e4 - violations).abs() < 1.0, "{r}");
    assert!(r["start"].as_f64().unwrap().abs() < 1e-9);
    // the farmland target (seeds/anji/targets.toml) is above the 2020 area; water use is under its cap
    assert_eq!(ind("permanent_farmland")["verdict"], "NotMet");
    assert_eq!(ind("permanent_farmland")["target"], 1458.0);
    assert_eq!(ind("water_use")["verdict"], "Met");
    assert_eq!(ind("water_use")["end"], 17750.0);
    assert_eq!(ind("water_quality")["verdict"], "Met");
    // cultivated land is the 01xx rows of the balance sheet
    let land = &a["sheet"]["land"];
    let row01 = land["classes"].as_array().unwrap().iter().position(|c| c["code"] == "01").unwrap();
    let closing01: i64 = land["matrix"].as_array().unwrap().iter().map(|r| r[row01].as_i64().unwrap()).sum();
    assert!((ind("cultivated_land")["end"].as_f64().unwrap() - closing01 as f64 / 1e4).abs() < 1e-9);
    // the default system scores by verdict: the score is the points met over the points with data, block
    // by block, and the grade follows the bands
    let (mut met, mut scored) = (0.0, 0.0);
    for i in a["indicators"].as_array().unwrap() {
        if i["verdict"] != "NoData" {
            scored += i["max_points"].as_f64().unwrap();
        }
        if i["verdict"] == "Met" {
            met += i["max_points"].as_f64().unwrap();
        }
    }
    let score = a["score"].as_f64().unwrap();
    assert!((score - 100.0 * met / scored).abs() < 1e-9);
    let blocks: f64 = a["blocks"].as_array().unwrap().iter().map(|b| b["score"].as_f64().unwrap()).sum();
    assert!((blocks - met).abs() < 1e-9 && a["points_earned"] == blocks, "{}", a["blocks"]);
    assert_eq!(a["system"]["source"], "layers/rules/indicators.toml (embedded)");
    let grade = match score {
        x if x >= 90.0 => "好",
        x if x >= 80.0 => "较好",
        x if x >= 70.0 => "一般",
        x if x >= 60.0 => "较差",
        _ => "差",
    };
    assert_eq!(a["grade"], grade);
    // the findings that arose in the tenure are exactly the injected 2020 defects, and the construction land
    // under the farmland block drawn into the urban boundary (破坏永久基本农田, NR601)
    let nf = a["new_findings"].as_array().unwrap();
    let drawn_in =
        defects["defects_2020"].as_array().unwrap().iter().find(|d| d["kind"] == "farmland_urban_overlap").unwrap()
            ["BHKBH"]
            .clone();
    let (on_farmland, others): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
        nf.iter().partition(|f| f["rule"] == "NR601");
    assert!(!on_farmland.is_empty() && on_farmland.iter().all(|f| f["ids"][1] == drawn_in), "{on_farmland:#?}");
    assert_eq!(others.len(), defects["defects_2020"].as_array().unwrap().len(), "{nf:#?}");
    for f in nf {
        let (lon, lat) = (f["location"]["lon"].as_f64().unwrap(), f["location"]["lat"].as_f64().unwrap());
        assert!((119.2..120.0).contains(&lon) && (30.3..31.0).contains(&lat), "{f}");
    }
    let mine = nf
        .iter()
        .find(|f| f["rule"] == "NR501" && f["ids"].as_array().unwrap().iter().any(|i| i == "33052300000295"))
        .unwrap();
    // the generator recorded 建设占用 on the parcel: a human cause; the farmland block drawn into the urban
    // boundary involves no parcel, so its cause is not stated
    assert_eq!((mine["cause"].as_str(), mine["nature"].as_str()), (Some("建设占用"), Some("人为")), "{mine}");
    assert!(nf.iter().filter(|f| f["rule"] == "NR403").all(|f| f["nature"] == "未注明"));

    // the townships' carrying-capacity warning over the tenure, each with a level, as `nrledger warn` gives it
    let units = a["warning"]["units"].as_array().unwrap();
    assert_eq!(units.len(), 8, "{}", a["warning"]);
    let (c, out, e) = run(&[
        "warn",
        s(&reg),
        "--from",
        "2019-12-31",
        "--to",
        "2020-12-31",
        "--region",
        "330523",
        "--targets",
        s(&t),
        "--water",
        s(&w),
        "--format",
        "json",
    ]);
    assert_eq!(c, 0, "{e}");
    let alone: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(alone["units"], a["warning"]["units"]);
    assert!(units.iter().all(|u| u["level"].as_str().unwrap().ends_with("预警") || u["level"] == "绿色无警"));
    // the report: self-contained, with the summary, indicators, charts and the map with the findings
    let text = std::fs::read_to_string(&html).unwrap();
    for needle in [
        "id=\"causes\"",
        "人为",
        "id=\"summary\"",
        "id=\"warning-map\"",
        "id=\"indicators\"",
        "id=\"chart-classes\"",
        "id=\"chart-change\"",
        "id=\"chart-matrix\"",
        "id=\"chart-indicators\"",
        "id=\"map\"",
        "class=\"finding\"",
        "土地资源存量及变动表",
        "张三",
    ] {
        assert!(text.contains(needle), "{needle} not in the report");
    }
    assert!(
        !text.contains("<script")
            && !text.contains("src=\"http")
            && !text.contains("href=\"http")
            && !text.contains("url(http"),
        "no scripts, nothing from the network"
    );
    assert_eq!(text.matches("class=\"finding\"").count(), nf.len());
    assert!(text.contains(&sha256(&reg)), "the registry's hash is stated");
    assert!(text.contains(&sha256(&t)), "the targets' hash is stated");
    // and the check rules' (the embedded checks.toml followed by redline-landuse.csv)
    let rules = [
        std::fs::read(root().join("layers/rules/checks.toml")).unwrap(),
        std::fs::read(root().join("layers/rules/redline-landuse.csv")).unwrap(),
    ]
    .concat();
    let rules_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&rules))
    };
    assert!(text.contains(&rules_hash), "the rules' hash is stated");
    // headless Chromium loads it and lays out the charts and the map
    let profile = d.path().join("chromium-profile");
    let shot = d.path().join("report.png");
    let chrome = |extra: &[String]| {
        std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(format!("file://{}", html.display()))
            .output()
            .expect("chromium (installed by `make test`)")
    };
    let dom = chrome(&["--dump-dom".to_string()]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    for needle in [
        "<svg id=\"map\"",
        "<svg id=\"chart-matrix\"",
        "<svg id=\"chart-classes\"",
        "class=\"finding\"",
        "id=\"grade\"",
    ] {
        assert!(dom_text.contains(needle), "{needle} not in Chromium's DOM");
    }
    let err = String::from_utf8_lossy(&dom.stderr);
    assert!(!err.contains("Uncaught") && !err.contains("Failed to load resource"), "{err}");
    let st = chrome(&["--window-size=1200,2400".to_string(), format!("--screenshot={}", shot.display())]);
    assert!(
        shot.exists() && std::fs::metadata(&shot).unwrap().len() > 50_000,
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );

    // the workbook: the audit's tables, then the balance sheets
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let names = wb.sheet_names();
    for n in ["审计指标", "任期内新增问题", "土地资源存量及变动表", "土地利用转移矩阵"] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }
    let sheet = wb.worksheet_range("审计指标").unwrap();
    assert_eq!(sheet.get_value((4, 0)), Some(&Data::String("cultivated_land".into())));
    assert!(matches!(sheet.get_value((4, 3)), Some(Data::Float(_))));

    // reproducible: the same command writes the same report
    let html2 = d.path().join("report2.html");
    let (c, _, e) =
        run(&audit_args(s(&reg), s(&html2), &["--targets", s(&t), "--forest-changes", s(&fc), "--water", s(&w)]));
    assert_eq!(c, 0, "{e}");
    assert_eq!(std::fs::read(&html).unwrap(), std::fs::read(&html2).unwrap());
}

#[test]
fn bad_input_is_refused_and_no_report_is_left() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let html = d.path().join("report.html");
    let targets = std::fs::read_to_string(seed("targets.toml")).unwrap();
    let write = |name: &str, text: String| write_file(d.path(), name, text);
    let t = seed("targets.toml");
    let r = s(&reg);
    let old_scoring = write("t1.toml", targets.clone() + "\n[scoring]\nbands = []\n");
    let system = std::fs::read_to_string(root().join("tests/fixtures/audit/indicators.toml")).unwrap();
    let example = std::fs::read_to_string(root().join("tests/fixtures/audit/targets.toml")).unwrap();
    // an office's system inline in the targets file ([system]), broken in the ways the issue names
    let inline = |name: &str, (from, to): (&str, &str), (t_from, t_to): (&str, &str)| {
        assert!(system.contains(from) && example.contains(t_from), "{from} / {t_from}");
        let sys = system
            .replacen(from, to, 1)
            .replace("[[blocks]]", "[[system.blocks]]")
            .replace("[[indicators]]", "[[system.indicators]]");
        let (top, rest) = sys.split_at(sys.find("[[system.blocks]]").unwrap());
        write(name, format!("{}\n[system]\n{top}\n{rest}", example.replacen(t_from, t_to, 1)))
    };
    let (same, same_t) = (("total = 100", "total = 100"), ("[regions", "[regions"));
    let no_cell = inline("t3.toml", ("target[国土开发强度上限]", "target[国土开发强度上限] + land[99]"), same_t);
    let not_adding = inline("t4.toml", ("points = 25\n", "points = 26\n"), same_t);
    let no_cap = inline("t5.toml", (", cap = 13 }", " }"), same_t);
    let no_note = inline("t6.toml", same, ("note = \"制度基本健全；两项制度执行有缺项\"", ""));
    let bad_zone =
        inline("t7.toml", same, ("cultivated_land_ha", "function_zone = \"城市化地区\"\ncultivated_land_ha"));
    let too_many = inline("t8.toml", same, ("points = 10\nnote", "points = 14\nnote"));
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--targets", s(&old_scoring)], vec!["t1.toml", "[scoring] is no longer read", "forest_coverage_pct"]),
        (
            vec!["--targets", s(&no_cell)],
            vec![
                "t3.toml [system]",
                "indicator 'development_intensity'",
                "land[99]",
                "no land class has a code starting '99'",
            ],
        ),
        (
            vec!["--targets", s(&not_adding)],
            vec!["t4.toml [system]", "the blocks' points add up to 101, not the total 100"],
        ),
        (vec!["--targets", s(&no_cap)], vec!["indicator 'reforms': a deduction without a cap"]),
        (vec!["--targets", s(&no_note)], vec!["t6.toml", "judgements.institutions: a qualitative item without a note"]),
        (
            vec!["--targets", s(&bad_zone)],
            vec!["t7.toml", "function_zone '城市化地区' is not a 主体功能区 type", "重点生态功能区"],
        ),
        (vec!["--targets", s(&too_many)], vec!["judgements.institutions: 14 points, but the item has 12"]),
    ];
    for (extra, wants) in cases {
        let (c, _, e) = run(&audit_args(r, s(&html), &extra));
        assert_eq!(c, 2, "{extra:?}: {e}");
        for w in wants {
            assert!(e.contains(w), "'{w}' not in {e}");
        }
        assert!(!html.exists());
    }
    let out = s(&html);
    let base = |from: &'static str, to: &'static str, region: &'static str| -> Vec<&str> {
        vec![
            "audit",
            r,
            "--official",
            "张三",
            "--post",
            "县长",
            "--region",
            region,
            "--from",
            from,
            "--to",
            to,
            "--targets",
            s(&t),
            "--out",
            out,
        ]
    };
    for (args, want) in [
        (base("2020-12-31", "2019-12-31", "330523"), "is not after"),
        (base("2018-12-31", "2020-12-31", "330523"), "no parcels on that date"),
        (base("2019-12-31", "2020-12-31", "110101"), "region 110101"),
    ] {
        let (c, _, e) = run(&args);
        assert_eq!(c, 2, "{args:?}: {e}");
        assert!(e.contains(want), "'{want}' not in {e}");
        assert!(!html.exists());
        assert!(std::fs::read_dir(d.path()).unwrap().all(|f| !f
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("partial")));
    }
}

/// The worked example of the national evaluation system (domain brief: block 一 at −2 per reform not
/// carried out, block caps, the national bands), with an office's own items, figure by figure: through
/// `--rules DIR`, and inline in the targets file for a 重点生态功能区 county with its own points.
#[test]
fn an_offices_evaluation_system_scores_the_worked_example() {
    let d = tempfile::tempdir().unwrap();
    let reg = demo_registry(d.path());
    let fixtures = root().join("tests/fixtures/audit");
    let rules = d.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::copy(fixtures.join("indicators.toml"), rules.join("indicators.toml")).unwrap();
    let (html, json) = (d.path().join("r.html"), d.path().join("a.json"));
    let t = fixtures.join("targets.toml");
    let extra = ["--targets", s(&t), "--rules", s(&rules), "--json", s(&json)];
    let (c, out, e) = run(&audit_args(s(&reg), s(&html), &extra));
    assert_eq!(c, 0, "{e}");
    let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ind = |id: &str| a["indicators"].as_array().unwrap().iter().find(|i| i["id"] == id).unwrap().clone();
    let pts = |id: &str| ind(id)["points"].as_f64().unwrap();
    // block 一 (25): 13 − 3 × 2 = 7, and the auditor's 10 of 12 with the note and evidence
    assert_eq!((pts("reforms"), pts("institutions")), (7.0, 10.0));
    assert!(
        ind("reforms")["reason"].as_str().unwrap().contains("扣 3 × 2 分 = 6 分，得 13 − 6 = 7 分"),
        "{}",
        ind("reforms")
    );
    assert_eq!(ind("institutions")["note"], "制度基本健全；两项制度执行有缺项");
    assert_eq!(ind("institutions")["evidence"], "审计底稿 ZR-A-02");
    // block 二 (30): intensity met (10), cover 73.4 % in the ≥ 73 grade (20 × 0.9 = 18), bonus 2300 亩 → 4
    // steps of 500 → +4; 32 is capped at the block's 30
    assert_eq!((pts("development_intensity"), pts("grassland_cover"), pts("surplus_farmland")), (10.0, 18.0, 4.0));
    assert_eq!(ind("grassland_cover")["verdict"], "Met");
    // 湿地保护率 is observed without points: the demo's red lines hold no wetland (to a sliver along an edge)
    let wp = ind("wetland_protection");
    assert!(wp["end"].as_f64().unwrap().abs() < 1e-6, "{wp}");
    assert_eq!((wp["max_points"].as_f64(), wp["verdict"].as_str()), (Some(0.0), Some("Met")));
    // block 三 (45): 20 − 3 × 3 = 11, protected area not decreased 25
    assert_eq!((pts("unrectified"), pts("protected_area")), (11.0, 25.0));
    let blocks: Vec<(String, f64, f64)> = a["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["code"].as_str().unwrap().to_string(), b["points"].as_f64().unwrap(), b["score"].as_f64().unwrap()))
        .collect();
    let want = [("一", 25.0, 17.0), ("二", 30.0, 30.0), ("三", 45.0, 36.0)];
    assert_eq!(blocks, want.map(|(c, p, s)| (c.to_string(), p, s)).to_vec());
    assert!(
        a["blocks"][1]["reason"].as_str().unwrap().contains("28 + 加分 4 = 32，不超过版块总分 30"),
        "{}",
        a["blocks"][1]
    );
    assert_eq!((a["score"].as_f64(), a["grade"].as_str()), (Some(83.0), Some("较好")));
    assert!(out.contains("score 83.00 / 100, grade 较好"), "{out}");
    assert!(a["system"]["source"].as_str().unwrap().ends_with("rules/indicators.toml"));

    // 国土开发强度 is computed from the registry: construction land (8-class 5 and 6, and 1109) over the
    // region's area, from the sheet's second-level classes and the crosswalk file
    let crosswalk = std::fs::read_to_string(root().join("layers/classes/crosswalks.csv")).unwrap();
    let built: Vec<&str> = crosswalk
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0] == "8class" && (f[2] == "5" || f[2] == "6")).then_some(f[1])
        })
        .collect();
    let land = &a["sheet"]["land_level2"];
    let classes = land["classes"].as_array().unwrap();
    let mut m2 = 0i64;
    for (k, c) in classes.iter().enumerate() {
        let code = c["code"].as_str().unwrap();
        if built.iter().any(|p| code.starts_with(p)) || code.starts_with("1109") {
            m2 += land["matrix"].as_array().unwrap().iter().map(|r| r[k].as_i64().unwrap()).sum::<i64>();
        }
    }
    let area = a["sheet"]["provenance"]["region_area_m2"].as_f64().unwrap();
    let intensity = ind("development_intensity")["end"].as_f64().unwrap();
    assert!(m2 > 0 && (intensity - 100.0 * m2 as f64 / area).abs() < 1e-9, "{intensity}");

    // the report shows each block and each indicator's points and why
    let text = std::fs::read_to_string(&html).unwrap();
    for needle in [
        "id=\"block-二\"",
        "28 + 加分 4 = 32，不超过版块总分 30",
        "审计评定 10 分",
        "证据 审计底稿 ZR-A-02",
        "离任审计评价指标体系",
    ] {
        assert!(text.contains(needle), "{needle} not in the report");
    }

    // the same system inline in the targets file, for a 重点生态功能区 county whose development exceeds its
    // cap: block 二 has 20 points (5 + 15): 0 + 15 × 0.9 + 4 = 17.5; block 三 has 55 (25 + 30): 16 + 30
    let system = std::fs::read_to_string(fixtures.join("indicators.toml")).unwrap();
    let sys = system.replace("[[blocks]]", "[[system.blocks]]").replace("[[indicators]]", "[[system.indicators]]");
    let (top, rest) = sys.split_at(sys.find("[[system.blocks]]").unwrap());
    let targets = std::fs::read_to_string(&t)
        .unwrap()
        .replacen("cultivated_land_ha", "function_zone = \"重点生态功能区\"\ncultivated_land_ha", 1)
        .replacen("\"国土开发强度上限\" = 30", "\"国土开发强度上限\" = 0.1", 1);
    let zoned = write_file(d.path(), "zoned.toml", format!("{targets}\n[system]\n{top}\n{rest}"));
    let (html2, json2) = (d.path().join("r2.html"), d.path().join("a2.json"));
    let (c, _, e) = run(&audit_args(s(&reg), s(&html2), &["--targets", s(&zoned), "--json", s(&json2)]));
    assert_eq!(c, 0, "{e}");
    let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json2).unwrap()).unwrap();
    let scores: Vec<f64> = a["blocks"].as_array().unwrap().iter().map(|b| b["score"].as_f64().unwrap()).collect();
    assert_eq!(scores, vec![17.0, 17.5, 46.0]);
    assert_eq!((a["score"].as_f64(), a["grade"].as_str()), (Some(80.5), Some("较好")));
    assert_eq!(a["function_zone"], "重点生态功能区");
    assert!(a["system"]["source"].as_str().unwrap().ends_with("zoned.toml [system]"));
}

/// A tenure of four years: the audit draws each year (chained), shows every indicator at each year-end with
/// its trend, and flags the year without a survey; the values are the yearly series' own.
#[test]
fn a_long_tenure_is_shown_year_by_year() {
    let d = tempfile::tempdir().unwrap();
    let reg = crate::balance::yearly_registry(d.path(), "years.gpkg", None);
    let (html, json) = (d.path().join("r.html"), d.path().join("a.json"));
    let t = seed("targets.toml");
    let mut args = audit_args(s(&reg), s(&html), &["--targets", s(&t), "--json", s(&json)]);
    let to = args.iter().position(|a| *a == "2020-12-31").unwrap();
    args[to] = "2023-12-31";
    let (c, _, e) = run(&args);
    assert_eq!(c, 0, "{e}");
    let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let years: Vec<(i64, bool)> = a["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| (y["year"].as_i64().unwrap(), y["missing"].as_bool().unwrap()))
        .collect();
    assert_eq!(years, [(2020, false), (2021, false), (2022, false), (2023, true)]);
    // the yearly series of the same years gives the same stocks
    let (c, out, e) = run(&["balance", s(&reg), "--years", "2020..2023", "--format", "json"]);
    assert_eq!(c, 0, "{e}");
    let series: serde_json::Value = serde_json::from_str(&out).unwrap();
    let land = series["tables"].as_array().unwrap().iter().find(|t| t["id"] == "series_land").unwrap();
    let row01: Vec<f64> = land["rows"].as_array().unwrap().iter().find(|r| r["code"] == "01").unwrap()["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let cult = a["indicators"].as_array().unwrap().iter().find(|i| i["id"] == "cultivated_land").unwrap();
    let by_year: Vec<f64> = cult["by_year"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(by_year.len(), 5);
    for (x, y) in by_year.iter().zip(&row01) {
        assert!((x - y).abs() < 1e-9, "{by_year:?} vs {row01:?}");
    }
    // the alternating deliveries end where 2019's started (2020's delivery) … less cultivated land: worse
    assert!(by_year[4] < by_year[0]);
    assert_eq!(cult["trend"], "下降 (趋差)");
    // flows have no yearly values, and the tenure's own figures are the tenure sheet's
    let water = a["indicators"].as_array().unwrap().iter().find(|i| i["id"] == "water_use").unwrap();
    assert!(water["by_year"].as_array().unwrap().iter().all(|v| v.is_null()));
    assert!((cult["end"].as_f64().unwrap() - by_year[4]).abs() < 1e-9);
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("id=\"years\"") && text.contains("2023 年无土地调查数据"), "report");
}
