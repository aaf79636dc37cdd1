//! The audit's evaluation system (审计评价指标体系) as data: the indicators, how each is computed (a formula
//! over named cells, `audit::cells`), the rule of its verdict, its block and points, how its points are
//! scored (by verdict, graded, deducted per occurrence or per hectare with a cap, bonus with a cap, or judged
//! by the auditor), alternative point sets by 主体功能区 type, and the grade bands.
//!
//! The default system is `layers/rules/indicators.toml`; an office replaces it with `--rules DIR` (its
//! `indicators.toml`) or a `[system]` table in the targets file. Everything that can be wrong with a system
//! is found when it is loaded: a formula naming a cell that does not exist, blocks or indicators whose
//! points do not add up, a deduction or bonus without a cap, an unknown block or 主体功能区 type.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::formula::{Cell, Expr};
use crate::error::{Error, Result};

const DEFAULT: &str = include_str!("../../layers/rules/indicators.toml");

/// An evaluation system as written.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemFile {
    /// Its name (e.g. the office's document).
    pub name: String,
    /// The full score (百分制: 100).
    #[serde(default = "hundred")]
    pub total: f64,
    /// Grade bands, best first: a score at or above `min` gets `grade`.
    pub bands: Vec<Band>,
    /// The 主体功能区 types that have their own points (`points_by_zone` of blocks and indicators).
    #[serde(default)]
    pub function_zones: Vec<String>,
    /// The blocks (版块), in report order.
    pub blocks: Vec<BlockDef>,
    /// The indicators, in report order.
    pub indicators: Vec<IndicatorDef>,
}

fn hundred() -> f64 {
    100.0
}

/// A grade band.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// 好 / 较好 / 一般 / 较差 / 差.
    pub grade: String,
    /// Lowest score of the band.
    pub min: f64,
}

/// A block (版块) of indicators.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockDef {
    /// Code (一, 二 … or A, B …).
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    #[serde(default)]
    pub name_en: String,
    /// Its total: the block's score never exceeds it (各版块得分不得超过相应版块总分).
    pub points: f64,
    /// Its total for regions of a 主体功能区 type, where it differs.
    #[serde(default)]
    pub points_by_zone: BTreeMap<String, f64>,
    /// At most this many points are deducted in the block, over all its deduction items.
    #[serde(default)]
    pub deduction_cap: Option<f64>,
}

/// The rule of a verdict (达标 / 未达标).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// End value ≥ target.
    AtLeast,
    /// End value ≤ target (a cap).
    AtMost,
    /// End value ≥ start value.
    NotDecreasing,
    /// End value ≤ start value.
    NotIncreasing,
    /// band[0] ≤ end value ≤ band[1].
    Within,
}

impl Rule {
    /// How the rule reads in the report.
    pub fn label(self) -> &'static str {
        match self {
            Rule::AtLeast => "期末 ≥ 目标",
            Rule::AtMost => "期末 ≤ 上限",
            Rule::NotDecreasing => "不减少 (期末 ≥ 期初)",
            Rule::NotIncreasing => "不增加 (期末 ≤ 期初)",
            Rule::Within => "期末在区间内",
        }
    }
}

/// How a count or amount becomes a number of steps (per 100 亩 …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Fractions count (350 亩 at 2 per 100 亩 = 7).
    #[default]
    Exact,
    /// Part steps count whole (350 → 4 steps).
    Up,
    /// Part steps do not count (350 → 3 steps).
    Down,
}

impl Rounding {
    /// The number of steps of `each` in `amount`.
    pub fn steps(self, amount: f64, each: f64) -> f64 {
        let n = amount / each;
        // 3.0000000001 steps of a computed area are 3 steps
        let n = if (n - n.round()).abs() < 1e-9 { n.round() } else { n };
        match self {
            Rounding::Exact => n,
            Rounding::Up => n.ceil(),
            Rounding::Down => n.floor(),
        }
    }
}

/// What a graded score looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GradeOf {
    /// The end value.
    #[default]
    Value,
    /// The end value as a percentage of the target.
    Attainment,
    /// The end value minus the start value.
    Change,
}

/// One grade of a graded score: the first whose condition holds gives its share of the points.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    /// Holds when the quantity is at least this.
    #[serde(default)]
    pub at_least: Option<f64>,
    /// Holds when the quantity is at most this.
    #[serde(default)]
    pub at_most: Option<f64>,
    /// Share of the indicator's points (0–1).
    pub share: f64,
}

/// How an indicator's points are scored.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Method {
    /// All points when the verdict is met, none otherwise.
    #[default]
    Verdict,
    /// Part points by thresholds; no grade holding gives none.
    Graded {
        /// What the thresholds apply to.
        #[serde(default)]
        of: GradeOf,
        /// Grades, checked in order.
        grades: Vec<Grade>,
    },
    /// `points` off per `each` of the value (occurrences, hectares, 亩 …), at most `cap`, never below zero.
    Deduct(Steps),
    /// `points` added per `each` of the value, at most `cap`; the block's total still caps the block.
    Bonus(Steps),
    /// Scored by the auditor (制度建设, 整改落实 …) in the targets file, with a note and evidence.
    Judged,
}

fn one() -> f64 {
    1.0
}

/// Points per step of a value, capped: a deduction's or a bonus's.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    /// The step (1 per occurrence; 100 for per 100 亩).
    #[serde(default = "one")]
    pub each: f64,
    /// Points per step.
    pub points: f64,
    /// Most points (required).
    pub cap: Option<f64>,
    /// How part steps count.
    #[serde(default)]
    pub rounding: Rounding,
}

impl Method {
    /// How the method reads in the report.
    pub fn label(&self) -> &'static str {
        match self {
            Method::Verdict => "达标计分",
            Method::Graded { .. } => "分档计分",
            Method::Deduct(_) => "扣分",
            Method::Bonus(_) => "加分",
            Method::Judged => "定性评分",
        }
    }
}

/// An indicator as written.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorDef {
    /// Code (stable, used by targets' judgements).
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    #[serde(default)]
    pub name_en: String,
    /// Unit (公顷, %, 处 …).
    #[serde(default)]
    pub unit: String,
    /// The block's code.
    pub block: String,
    /// The formula of its value (not for judged items).
    #[serde(default)]
    pub value: Option<String>,
    /// The rule of its verdict.
    #[serde(default)]
    pub rule: Option<Rule>,
    /// The target's formula (`at_least`, `at_most`); may name `start`, the indicator's start value.
    #[serde(default)]
    pub target: Option<String>,
    /// The band's two formulas (`within`).
    #[serde(default)]
    pub band: Option<[String; 2]>,
    /// Its points (a bonus item's come from its cap).
    #[serde(default)]
    pub points: f64,
    /// Its points for regions of a 主体功能区 type, where they differ.
    #[serde(default)]
    pub points_by_zone: BTreeMap<String, f64>,
    /// How its points are scored.
    #[serde(default)]
    pub score: Method,
}

/// A loaded indicator: the definition with its formulas parsed.
#[derive(Debug, Clone)]
pub struct Indicator {
    /// As written.
    pub def: IndicatorDef,
    /// Its value.
    pub value: Option<Expr>,
    /// Its target.
    pub target: Option<Expr>,
    /// Its band.
    pub band: Option<(Expr, Expr)>,
}

/// A loaded system, checked, with where it came from.
#[derive(Debug, Clone)]
pub struct System {
    /// As written.
    pub file: SystemFile,
    /// The indicators, formulas parsed.
    pub indicators: Vec<Indicator>,
    /// The file it came from.
    pub source: String,
    /// SHA-256 of its text.
    pub sha256: String,
}

impl System {
    /// The system of the targets file's `[system]` table, else `dir/indicators.toml`, else the embedded
    /// default; `known` says whether a cell exists (the error names what does).
    pub fn load(
        inline: Option<(&SystemFile, &Path)>,
        dir: Option<&Path>,
        known: &dyn Fn(&Cell) -> std::result::Result<(), String>,
    ) -> Result<System> {
        let (file, source, sha256) = match (inline, dir.map(|d| d.join("indicators.toml")).filter(|p| p.exists())) {
            (Some((f, path)), _) => {
                let text = serde_json::to_string(f).expect("a system serialises");
                (f.clone(), format!("{} [system]", path.display()), crate::hashing::sha256_hex(text.as_bytes()))
            }
            (None, Some(p)) => {
                let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
                let f = toml::from_str(&text)
                    .map_err(|e| Error::Config { file: p.display().to_string(), reason: e.to_string() })?;
                (f, p.display().to_string(), crate::hashing::sha256_hex(text.as_bytes()))
            }
            (None, None) => {
                let f = toml::from_str(DEFAULT).map_err(|e| Error::Config {
                    file: "layers/rules/indicators.toml (embedded)".into(),
                    reason: e.to_string(),
                })?;
                (f, "layers/rules/indicators.toml (embedded)".into(), crate::hashing::sha256_hex(DEFAULT.as_bytes()))
            }
        };
        let bad = |reason: String| Error::Config { file: source.clone(), reason };
        let indicators = check(&file, known).map_err(bad)?;
        Ok(System { file, indicators, source, sha256 })
    }

    /// A block's total for a region of 主体功能区 type `zone`.
    pub fn block_points(&self, b: &BlockDef, zone: Option<&str>) -> f64 {
        zone.and_then(|z| b.points_by_zone.get(z)).copied().unwrap_or(b.points)
    }

    /// An indicator's points for a region of 主体功能区 type `zone` (a bonus item's: its cap).
    pub fn indicator_points(&self, i: &IndicatorDef, zone: Option<&str>) -> f64 {
        match &i.score {
            Method::Bonus(b) => b.cap.unwrap_or(0.0),
            _ => zone.and_then(|z| i.points_by_zone.get(z)).copied().unwrap_or(i.points),
        }
    }

    /// The grade of a score.
    pub fn grade(&self, score: f64) -> String {
        let b = &self.file.bands;
        b.iter().find(|b| score >= b.min).unwrap_or_else(|| b.last().expect("bands")).grade.clone()
    }
}

/// Check a system; its indicators with their formulas parsed, or the first thing wrong.
fn check(
    f: &SystemFile,
    known: &dyn Fn(&Cell) -> std::result::Result<(), String>,
) -> std::result::Result<Vec<Indicator>, String> {
    if f.bands.is_empty() || f.bands.windows(2).any(|w| w[0].min <= w[1].min) {
        return Err("bands must be listed best first with decreasing `min`".into());
    }
    unique(f.blocks.iter().map(|b| b.code.as_str()), "block")?;
    unique(f.indicators.iter().map(|i| i.code.as_str()), "indicator")?;
    let zones: BTreeSet<&str> = f.function_zones.iter().map(String::as_str).collect();
    let named = f
        .blocks
        .iter()
        .flat_map(|b| b.points_by_zone.keys())
        .chain(f.indicators.iter().flat_map(|i| i.points_by_zone.keys()));
    for z in named {
        if !zones.contains(z.as_str()) {
            return Err(format!(
                "主体功能区 '{z}' has points but is not in function_zones ({})",
                f.function_zones.join(", ")
            ));
        }
    }
    let mut out = Vec::new();
    for i in &f.indicators {
        out.push(indicator(i, f, known).map_err(|e| format!("indicator '{}': {e}", i.code))?);
    }
    let sys = System { file: f.clone(), indicators: vec![], source: String::new(), sha256: String::new() };
    for zone in std::iter::once(None).chain(f.function_zones.iter().map(|z| Some(z.as_str()))) {
        let within = zone.map(|z| format!(" for 主体功能区 {z}")).unwrap_or_default();
        let blocks: f64 = f.blocks.iter().map(|b| sys.block_points(b, zone)).sum();
        if (blocks - f.total).abs() > 1e-9 {
            return Err(format!("the blocks' points add up to {blocks}{within}, not the total {}", f.total));
        }
        for b in &f.blocks {
            let items = f.indicators.iter().filter(|i| i.block == b.code && !matches!(i.score, Method::Bonus(_)));
            let sum: f64 = items.map(|i| sys.indicator_points(i, zone)).sum();
            let want = sys.block_points(b, zone);
            if (sum - want).abs() > 1e-9 {
                return Err(format!(
                    "block '{}': its indicators' points add up to {sum}{within}, not the block's {want}",
                    b.code
                ));
            }
        }
    }
    Ok(out)
}

fn unique<'a>(codes: impl Iterator<Item = &'a str>, what: &str) -> std::result::Result<(), String> {
    let mut seen = BTreeSet::new();
    for c in codes {
        if !seen.insert(c) {
            return Err(format!("{what} code '{c}' is used twice"));
        }
    }
    Ok(())
}

fn formula(
    text: &str,
    field: &str,
    may_name_start: bool,
    known: &dyn Fn(&Cell) -> std::result::Result<(), String>,
) -> std::result::Result<Expr, String> {
    let e = Expr::parse(text).map_err(|e| format!("{field} '{text}': {e}"))?;
    for c in e.cells() {
        if c.path == ["start"] && c.keys.is_empty() {
            if may_name_start {
                continue;
            }
            return Err(format!("{field} '{text}': `start` may be named in a target or band only"));
        }
        known(c).map_err(|e| format!("{field} '{text}': {e}"))?;
    }
    Ok(e)
}

fn indicator(
    i: &IndicatorDef,
    f: &SystemFile,
    known: &dyn Fn(&Cell) -> std::result::Result<(), String>,
) -> std::result::Result<Indicator, String> {
    if !f.blocks.iter().any(|b| b.code == i.block) {
        let codes: Vec<&str> = f.blocks.iter().map(|b| b.code.as_str()).collect();
        return Err(format!("block '{}' is not a block of the system ({})", i.block, codes.join(", ")));
    }
    let judged = matches!(i.score, Method::Judged);
    let value = match (&i.value, judged) {
        (Some(_), true) => return Err("a judged item has no value formula (the auditor scores it)".into()),
        (None, false) => return Err("no value formula".into()),
        (v, _) => v.as_deref().map(|v| formula(v, "value", false, known)).transpose()?,
    };
    let target = i.target.as_deref().map(|t| formula(t, "target", true, known)).transpose()?;
    let band = match &i.band {
        Some([a, b]) => Some((formula(a, "band", true, known)?, formula(b, "band", true, known)?)),
        None => None,
    };
    match (i.rule, &target, &band) {
        (Some(Rule::AtLeast | Rule::AtMost), None, _) => return Err("rule at_least / at_most needs a target".into()),
        (Some(Rule::Within), _, None) => return Err("rule within needs a band".into()),
        (None, _, _) if matches!(i.score, Method::Verdict | Method::Graded { of: GradeOf::Attainment, .. }) => {
            return Err("scored by its verdict (or its attainment) but has no rule".into())
        }
        _ => {}
    }
    if i.points < 0.0 || i.points_by_zone.values().any(|p| *p < 0.0) {
        return Err("points are negative".into());
    }
    match &i.score {
        Method::Deduct(Steps { each, points, cap, .. }) | Method::Bonus(Steps { each, points, cap, .. }) => {
            let what = if matches!(i.score, Method::Deduct(_)) { "a deduction" } else { "a bonus" };
            let Some(cap) = cap else { return Err(format!("{what} without a cap (give `cap`, the most points)")) };
            if *each <= 0.0 || *points < 0.0 || *cap < 0.0 {
                return Err(format!("{what} needs each > 0, points ≥ 0 and cap ≥ 0"));
            }
            if matches!(i.score, Method::Bonus(_)) && (i.points != 0.0 || !i.points_by_zone.is_empty()) {
                return Err("a bonus item's points are its cap; give no `points`".into());
            }
        }
        Method::Graded { of, grades } => {
            if grades.is_empty() {
                return Err("a graded score without grades".into());
            }
            for g in grades {
                if g.at_least.is_some() == g.at_most.is_some() || !(0.0..=1.0).contains(&g.share) {
                    return Err("each grade needs one of at_least / at_most and a share from 0 to 1".into());
                }
            }
            if *of == GradeOf::Attainment && target.is_none() {
                return Err("graded by attainment needs a target".into());
            }
        }
        Method::Verdict | Method::Judged => {}
    }
    Ok(Indicator { def: i.clone(), value, target, band })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
name = "t"
bands = [{ grade = "好", min = 90 }, { grade = "差", min = 0 }]
[[blocks]]
code = "A"
name = "a"
points = 60
[[blocks]]
code = "B"
name = "b"
points = 40
[[indicators]]
code = "x"
name = "x"
block = "A"
value = "land[01]"
rule = "at_least"
target = "target[x]"
points = 60
[[indicators]]
code = "y"
name = "y"
block = "B"
value = "findings.count"
points = 40
score = { method = "deduct", points = 5, cap = 40 }
"#;

    fn load(text: &str) -> std::result::Result<System, String> {
        let f: SystemFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let known = |c: &Cell| if c.path == ["nope"] { Err("'nope' is not a cell".to_string()) } else { Ok(()) };
        System::load(Some((&f, Path::new("t.toml"))), None, &known).map_err(|e| e.to_string())
    }

    #[test]
    fn the_default_system_loads_and_adds_up() {
        let s = System::load(None, None, &|_| Ok(())).unwrap();
        assert_eq!(s.indicators.len(), 10);
        assert_eq!(s.file.blocks.iter().map(|b| b.points).sum::<f64>(), 100.0);
        assert!(load(SMALL).is_ok());
    }

    #[test]
    fn a_bad_system_is_refused_with_what_is_wrong() {
        for (from, to, want) in [
            ("points = 40\n[[indicators]]", "points = 45\n[[indicators]]", "blocks' points add up to 105"),
            (
                "points = 60\n[[indicators]]\ncode = \"y\"",
                "points = 50\n[[indicators]]\ncode = \"y\"",
                "block 'A': its indicators' points add up to 50",
            ),
            (", cap = 40 }", " }", "indicator 'y': a deduction without a cap"),
            ("value = \"land[01]\"", "value = \"nope * 2\"", "indicator 'x': value 'nope * 2': 'nope' is not a cell"),
            ("value = \"land[01]\"", "value = \"land[01\"", "not closed"),
            ("value = \"land[01]\"", "value = \"start\"", "`start` may be named in a target or band only"),
            ("target = \"target[x]\"\n", "", "rule at_least / at_most needs a target"),
            ("block = \"B\"", "block = \"C\"", "block 'C' is not a block of the system (A, B)"),
            ("code = \"y\"", "code = \"x\"", "indicator code 'x' is used twice"),
            (
                "points = 40\n[[indicators]]",
                "points = 40\npoints_by_zone = { \"城市化地区\" = 30 }\n[[indicators]]",
                "'城市化地区' has points but is not in function_zones",
            ),
            ("method = \"deduct\"", "method = \"judged\"", "a judged item has no value formula"),
            ("{ grade = \"差\", min = 0 }", "{ grade = \"差\", min = 95 }", "bands must be listed best first"),
        ] {
            assert!(SMALL.contains(from), "{from}");
            let e = load(&SMALL.replacen(from, to, 1)).unwrap_err();
            assert!(e.contains(want), "{want}\n  not in: {e}");
            assert!(e.contains("t.toml [system]"), "{e}");
        }
    }

    #[test]
    fn alternative_point_sets_must_add_up_too() {
        let zoned = SMALL.replacen("bands", "function_zones = [\"重点生态功能区\"]\nbands", 1).replacen(
            "points = 60\n[[blocks]]",
            "points = 60\npoints_by_zone = { \"重点生态功能区\" = 70 }\n[[blocks]]",
            1,
        );
        let e = load(&zoned).unwrap_err();
        assert!(e.contains("for 主体功能区 重点生态功能区"), "{e}");
        let fixed = zoned
            .replacen(
                "target = \"target[x]\"\npoints = 60",
                "target = \"target[x]\"\npoints = 60\npoints_by_zone = { \"重点生态功能区\" = 70 }",
                1,
            )
            .replacen(
                "code = \"B\"\nname = \"b\"\npoints = 40",
                "code = \"B\"\nname = \"b\"\npoints = 40\npoints_by_zone = { \"重点生态功能区\" = 30 }",
                1,
            )
            .replacen("points = 40\nscore", "points = 40\npoints_by_zone = { \"重点生态功能区\" = 30 }\nscore", 1);
        let s = load(&fixed).unwrap();
        assert_eq!(s.block_points(&s.file.blocks[0], Some("重点生态功能区")), 70.0);
        assert_eq!(s.block_points(&s.file.blocks[0], None), 60.0);
        assert_eq!(s.indicator_points(&s.file.indicators[1], Some("重点生态功能区")), 30.0);
    }
}
