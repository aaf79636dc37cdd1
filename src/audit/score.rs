//! Scoring an evaluation system: each indicator's points and why, each block's score under its total, the
//! total score and the grade. Pure arithmetic over the indicators' values, so each construct can be checked
//! by hand.
//!
//! - 达标计分: all points when the verdict is met.
//! - 分档计分: the share of the first grade whose threshold holds.
//! - 扣分: points × steps off, at most the cap, never below zero; a block's `deduction_cap` limits the sum.
//! - 加分: points × steps, at most the cap, added to the block; the block never exceeds its total.
//! - 定性评分: the auditor's points, with a note.
//!
//! An indicator without data is not scored: its points leave the blocks' available points, and the score is
//! the points earned over the points available, on the system's scale (the report says so).

use serde::Serialize;

use super::Verdict;
use crate::balance::inputs::Judgement;
use crate::evaluation::system::{GradeOf, Method, Rule, Steps, System};

/// The numbers an indicator is scored from.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// At the start of the tenure.
    pub start: Option<f64>,
    /// At the end (or over the tenure).
    pub end: Option<f64>,
    /// Target, cap, or the band's lower end.
    pub target: Option<f64>,
    /// The band's upper end.
    pub upper: Option<f64>,
}

/// An indicator's points.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    /// Its verdict.
    pub verdict: Verdict,
    /// Its full points (a bonus item's: its cap).
    pub max: f64,
    /// Points earned (for a bonus item: points added).
    pub points: f64,
    /// Points deducted (before a block's cap).
    pub deducted: f64,
    /// Why, in words.
    pub reason: String,
}

fn fmt(x: f64) -> String {
    // + 0.0: an empty sum is −0.0, which prints as "-0"
    let s = format!("{:.4}", x + 0.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The verdict of a rule on measured numbers; None when the numbers are missing.
pub fn verdict(rule: Rule, m: &Measured) -> Option<bool> {
    let e = m.end?;
    // areas are compared to the square metre (1e-4 ha), rates to 1e-9
    let eps = |t: f64| 1e-6 * t.abs().max(1.0);
    Some(match rule {
        Rule::AtLeast => e >= m.target? - eps(m.target?),
        Rule::AtMost => e <= m.target? + eps(m.target?),
        Rule::NotDecreasing => e >= m.start? - eps(m.start?),
        Rule::NotIncreasing => e <= m.start? + eps(m.start?),
        Rule::Within => e >= m.target? - eps(m.target?) && e <= m.upper? + eps(m.upper?),
    })
}

/// Score one indicator worth `max` points. None: no data (or a judged item not judged).
pub fn indicator(method: &Method, rule: Option<Rule>, max: f64, m: &Measured, j: Option<&Judgement>) -> Option<Points> {
    let met = match rule {
        Some(r) => Some(verdict(r, m)?),
        None => None,
    };
    let by_points = |p: f64| if p >= max - 1e-9 { Verdict::Met } else { Verdict::NotMet };
    let from_rule =
        |p: f64| met.map(|b| if b { Verdict::Met } else { Verdict::NotMet }).unwrap_or_else(|| by_points(p));
    match method {
        Method::Verdict => {
            let ok = met.expect("a verdict-scored item has a rule");
            let points = if ok { max } else { 0.0 };
            let reason = if ok { format!("达标，得 {} 分", fmt(max)) } else { "未达标，不得分".into() };
            Some(Points { verdict: from_rule(points), max, points, deducted: 0.0, reason })
        }
        Method::Graded { of, grades } => {
            let e = m.end?;
            let (q, what) = match of {
                GradeOf::Value => (e, "期末值".to_string()),
                GradeOf::Attainment => {
                    let t = m.target.filter(|t| *t != 0.0)?;
                    (100.0 * e / t, "完成率 %".to_string())
                }
                GradeOf::Change => (e - m.start?, "变化量".to_string()),
            };
            let hit = grades.iter().find(|g| g.at_least.is_none_or(|a| q >= a) && g.at_most.is_none_or(|a| q <= a));
            let share = hit.map_or(0.0, |g| g.share);
            let points = max * share;
            let cond = hit.map(|g| match (g.at_least, g.at_most) {
                (Some(a), _) => format!("≥ {}", fmt(a)),
                (_, Some(a)) => format!("≤ {}", fmt(a)),
                _ => String::new(),
            });
            let reason = match cond {
                Some(c) => format!("{what} {} {c}，得 {} × {} = {} 分", fmt(q), fmt(max), fmt(share), fmt(points)),
                None => format!("{what} {} 不在任何分档，不得分", fmt(q)),
            };
            Some(Points { verdict: from_rule(points), max, points, deducted: 0.0, reason })
        }
        Method::Deduct(Steps { each, points: per, cap, rounding }) => {
            let cap = cap.expect("checked at load");
            let steps = rounding.steps(m.end?.max(0.0), *each);
            let raw = per * steps;
            let deducted = raw.min(cap).min(max);
            let points = max - deducted;
            let mut reason = format!("{} × {} 分 = {} 分", fmt(steps), fmt(*per), fmt(raw));
            if raw > cap {
                reason.push_str(&format!("，扣分上限 {}", fmt(cap)));
            }
            if raw.min(cap) > max {
                reason.push_str("，扣完为止");
            }
            reason = format!("扣 {reason}，得 {} − {} = {} 分", fmt(max), fmt(deducted), fmt(points));
            Some(Points { verdict: from_rule(points), max, points, deducted, reason })
        }
        Method::Bonus(Steps { each, points: per, cap, rounding }) => {
            let cap = cap.expect("checked at load");
            let steps = rounding.steps(m.end?.max(0.0), *each);
            let points = (per * steps).min(cap);
            let reason = format!(
                "加 {} × {} 分 = {} 分{}",
                fmt(steps),
                fmt(*per),
                fmt(per * steps),
                if per * steps > cap { format!("，以 {} 分为限", fmt(cap)) } else { String::new() }
            );
            Some(Points {
                verdict: met.map_or(Verdict::Scored, |_| from_rule(points)),
                max,
                points,
                deducted: 0.0,
                reason,
            })
        }
        Method::Judged => {
            let j = j?;
            let reason = format!("审计评定 {} 分：{}", fmt(j.points), j.note);
            Some(Points { verdict: Verdict::Scored, max, points: j.points, deducted: 0.0, reason })
        }
    }
}

/// A block's score.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BlockScore {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Its total (for the region's 主体功能区 type).
    pub points: f64,
    /// Its points that had data.
    pub available: f64,
    /// Points earned by its indicators (after the block's deduction cap).
    pub earned: f64,
    /// Bonus points added.
    pub bonus: f64,
    /// Its score: earned + bonus, at most its available points.
    pub score: f64,
    /// How the score was reached.
    pub reason: String,
}

/// The total of the blocks.
#[derive(Debug, Clone)]
pub struct Total {
    /// The blocks.
    pub blocks: Vec<BlockScore>,
    /// The score on the system's scale.
    pub score: f64,
    /// Points earned over all blocks.
    pub earned: f64,
    /// Points available (with data).
    pub available: f64,
    /// The grade.
    pub grade: String,
}

/// Add up the blocks. `scored[i]` is the system's indicator `i`, None without data.
pub fn total(sys: &System, zone: Option<&str>, scored: &[Option<Points>]) -> Total {
    let mut blocks = Vec::new();
    for b in &sys.file.blocks {
        let mine: Vec<(&crate::evaluation::system::Indicator, &Points)> = sys
            .indicators
            .iter()
            .zip(scored)
            .filter(|(i, _)| i.def.block == b.code)
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
            .collect();
        let is_bonus = |i: &crate::evaluation::system::Indicator| matches!(i.def.score, Method::Bonus(_));
        let points = sys.block_points(b, zone);
        let available: f64 = mine.iter().filter(|(i, _)| !is_bonus(i)).map(|(_, p)| p.max).sum::<f64>().min(points);
        let mut earned: f64 = mine.iter().filter(|(i, _)| !is_bonus(i)).map(|(_, p)| p.points).sum();
        let deducted: f64 = mine.iter().map(|(_, p)| p.deducted).sum();
        let mut notes = Vec::new();
        if let Some(cap) = b.deduction_cap.filter(|c| deducted > *c) {
            earned += deducted - cap;
            notes.push(format!("版块扣分 {} 以 {} 分为限", fmt(deducted), fmt(cap)));
        }
        let bonus: f64 = mine.iter().filter(|(i, _)| is_bonus(i)).map(|(_, p)| p.points).sum();
        let raw = earned + bonus;
        let score = raw.clamp(0.0, available);
        let has_bonus = mine.iter().any(|(i, _)| is_bonus(i));
        let mut reason = match has_bonus {
            true => format!("{} + 加分 {} = {}", fmt(earned), fmt(bonus), fmt(raw)),
            false => format!("各项合计 {}", fmt(raw)),
        };
        if raw > available {
            reason.push_str(&format!("，不超过版块总分 {}", fmt(available)));
        }
        notes.insert(0, reason);
        blocks.push(BlockScore {
            code: b.code.clone(),
            name: b.name.clone(),
            name_en: b.name_en.clone(),
            points,
            available,
            earned,
            bonus,
            score,
            reason: notes.join("；"),
        });
    }
    let earned: f64 = blocks.iter().map(|b| b.score).sum();
    let available: f64 = blocks.iter().map(|b| b.available).sum();
    let t = sys.file.total;
    let score = if (available - t).abs() < 1e-9 {
        earned
    } else if available > 0.0 {
        t * earned / available
    } else {
        0.0
    };
    let grade = sys.grade(score);
    Total { blocks, score, earned, available, grade }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::system::{Grade, Rounding};

    fn m(start: Option<f64>, end: f64, target: Option<f64>) -> Measured {
        Measured { start, end: Some(end), target, upper: None }
    }

    #[test]
    fn verdict_items_score_all_or_nothing() {
        let p = indicator(&Method::Verdict, Some(Rule::AtLeast), 15.0, &m(None, 2085.0, Some(2085.00005)), None);
        assert_eq!((p.as_ref().unwrap().verdict, p.unwrap().points), (Verdict::Met, 15.0));
        let p = indicator(&Method::Verdict, Some(Rule::AtMost), 10.0, &m(None, 4720.0, Some(4719.0)), None).unwrap();
        assert_eq!((p.verdict, p.points), (Verdict::NotMet, 0.0));
        let p = indicator(&Method::Verdict, Some(Rule::NotDecreasing), 5.0, &m(Some(3.0), 2.9, None), None).unwrap();
        assert_eq!(p.points, 0.0);
        let band = Measured { start: None, end: Some(12.0), target: Some(10.0), upper: Some(15.0) };
        assert_eq!(indicator(&Method::Verdict, Some(Rule::Within), 5.0, &band, None).unwrap().points, 5.0);
        let out = Measured { end: Some(15.1), ..band };
        assert_eq!(indicator(&Method::Verdict, Some(Rule::Within), 5.0, &out, None).unwrap().points, 0.0);
        // no target: no data
        assert!(indicator(&Method::Verdict, Some(Rule::AtLeast), 5.0, &m(None, 1.0, None), None).is_none());
    }

    #[test]
    fn graded_items_take_the_first_grade_that_holds() {
        let method = Method::Graded {
            of: GradeOf::Attainment,
            grades: vec![
                Grade { at_least: Some(100.0), at_most: None, share: 1.0 },
                Grade { at_least: Some(98.0), at_most: None, share: 0.6 },
                Grade { at_least: Some(95.0), at_most: None, share: 0.3 },
            ],
        };
        let at = |end: f64| indicator(&method, Some(Rule::AtLeast), 10.0, &m(None, end, Some(200.0)), None).unwrap();
        assert_eq!(at(200.0).points, 10.0);
        assert_eq!(at(199.0).points, 6.0); // 99.5 %
        assert_eq!((at(196.0).points, at(196.0).verdict), (6.0, Verdict::NotMet)); // 98 %
        assert_eq!(at(192.0).points, 3.0); // 96 %
        assert_eq!(at(189.0).points, 0.0); // 94.5 %
        assert!(at(199.0).reason.contains("完成率 % 99.5 ≥ 98"), "{}", at(199.0).reason);
    }

    #[test]
    fn deductions_are_capped_and_floored() {
        let per = |cap: f64, rounding| Method::Deduct(Steps { each: 1.0, points: 2.0, cap: Some(cap), rounding });
        // national 1.1: 13 points, −2 per mandated reform not carried out
        let p = indicator(&per(13.0, Rounding::Exact), None, 13.0, &m(None, 3.0, None), None).unwrap();
        assert_eq!((p.points, p.deducted, p.verdict), (7.0, 6.0, Verdict::NotMet));
        let p = indicator(&per(13.0, Rounding::Exact), None, 13.0, &m(None, 7.0, None), None).unwrap();
        assert_eq!(p.points, 0.0);
        assert!(p.reason.contains("扣分上限 13"), "{}", p.reason);
        let p = indicator(&per(20.0, Rounding::Exact), None, 13.0, &m(None, 7.0, None), None).unwrap();
        assert_eq!(p.points, 0.0);
        assert!(p.reason.contains("扣完为止"), "{}", p.reason);
        let p = indicator(&per(5.0, Rounding::Exact), None, 13.0, &m(None, 7.0, None), None).unwrap();
        assert_eq!(p.points, 8.0);
        let p = indicator(&per(13.0, Rounding::Exact), None, 13.0, &m(None, 0.0, None), None).unwrap();
        assert_eq!((p.points, p.verdict), (13.0, Verdict::Met));
        // −2 per 100 亩 of replacement farmland below grade: 350 亩 is 7, 8 or 6 by the rounding
        let area = |r| Method::Deduct(Steps { each: 100.0, points: 2.0, cap: Some(10.0), rounding: r });
        let d = |r| indicator(&area(r), None, 10.0, &m(None, 350.0, None), None).unwrap().deducted;
        assert_eq!((d(Rounding::Exact), d(Rounding::Up), d(Rounding::Down)), (7.0, 8.0, 6.0));
    }

    #[test]
    fn bonuses_are_capped() {
        // +0.1 per 1 000 亩 completed, at most 3
        let b = Method::Bonus(Steps { each: 1000.0, points: 0.1, cap: Some(3.0), rounding: Rounding::Down });
        let p = |v: f64| indicator(&b, None, 3.0, &m(None, v, None), None).unwrap().points;
        assert!((p(12_500.0) - 1.2).abs() < 1e-12);
        assert_eq!(p(45_000.0), 3.0);
        assert_eq!(p(999.0), 0.0);
    }

    #[test]
    fn judged_items_need_the_auditors_points() {
        assert!(indicator(&Method::Judged, None, 12.0, &Measured::default(), None).is_none());
        let j = Judgement {
            points: 10.0, note: "制度健全，执行有缺项".into(), evidence: Some("底稿 A-2".into())
        };
        let p = indicator(&Method::Judged, None, 12.0, &Measured::default(), Some(&j)).unwrap();
        assert_eq!((p.points, p.verdict), (10.0, Verdict::Scored));
        assert!(p.reason.contains("制度健全"));
    }

    #[test]
    fn grade_bands_at_their_edges() {
        let sys = crate::evaluation::system::System::load(None, None, &|_| Ok(())).unwrap();
        assert_eq!(sys.grade(90.0), "好");
        assert_eq!(sys.grade(89.99), "较好");
        assert_eq!(sys.grade(60.0), "较差");
        assert_eq!(sys.grade(59.99), "差");
        assert_eq!(sys.grade(0.0), "差");
    }
}

#[cfg(test)]
mod totals {
    use super::super::system::{System, SystemFile};
    use super::*;

    fn sys(text: &str) -> System {
        let f: SystemFile = toml::from_str(text).unwrap();
        System::load(Some((&f, std::path::Path::new("t.toml"))), None, &|_| Ok(())).unwrap()
    }

    fn p(max: f64, points: f64, deducted: f64) -> Option<Points> {
        Some(Points { verdict: Verdict::NotMet, max, points, deducted, reason: String::new() })
    }

    const TWO: &str = r#"
name = "t"
bands = [{ grade = "好", min = 90 }, { grade = "一般", min = 70 }, { grade = "差", min = 0 }]
[[blocks]]
code = "A"
name = "a"
points = 50
deduction_cap = 8
[[blocks]]
code = "B"
name = "b"
points = 50
[[indicators]]
code = "a1"
name = "a1"
block = "A"
value = "x"
points = 25
score = { method = "deduct", points = 5, cap = 25 }
[[indicators]]
code = "a2"
name = "a2"
block = "A"
value = "x"
points = 25
score = { method = "deduct", points = 5, cap = 25 }
[[indicators]]
code = "b1"
name = "b1"
block = "B"
value = "x"
rule = "at_least"
target = "1"
points = 30
[[indicators]]
code = "b2"
name = "b2"
block = "B"
value = "x"
rule = "at_least"
target = "1"
points = 20
[[indicators]]
code = "bonus"
name = "bonus"
block = "B"
value = "x"
score = { method = "bonus", points = 1, cap = 5 }
"#;

    #[test]
    fn a_blocks_deduction_cap_limits_its_deductions() {
        let s = sys(TWO);
        // a1 −10, a2 −5: 15 deducted, the block caps it at 8 → 42
        let t = total(
            &s,
            None,
            &[p(25.0, 15.0, 10.0), p(25.0, 20.0, 5.0), p(30.0, 30.0, 0.0), p(20.0, 20.0, 0.0), p(5.0, 0.0, 0.0)],
        );
        assert_eq!((t.blocks[0].earned, t.blocks[0].score), (42.0, 42.0));
        assert!(t.blocks[0].reason.contains("版块扣分 15 以 8 分为限"), "{}", t.blocks[0].reason);
        assert_eq!((t.score, t.grade.as_str()), (92.0, "好"));
    }

    #[test]
    fn indicators_without_data_leave_the_available_points() {
        let s = sys(TWO);
        // b2 has no data: B has 30 available; b1 met and a bonus of 3 → 33, capped at 30
        let t = total(&s, None, &[p(25.0, 25.0, 0.0), p(25.0, 25.0, 0.0), p(30.0, 30.0, 0.0), None, p(5.0, 3.0, 0.0)]);
        assert_eq!((t.blocks[1].available, t.blocks[1].score), (30.0, 30.0));
        assert_eq!((t.earned, t.available), (80.0, 80.0));
        assert_eq!(t.score, 100.0);
        // b1 not met: 0 + 3 bonus of 30 available; 53 of 80 → 66.25 on the 100 scale
        let t = total(&s, None, &[p(25.0, 25.0, 0.0), p(25.0, 25.0, 0.0), p(30.0, 0.0, 0.0), None, p(5.0, 3.0, 0.0)]);
        assert_eq!(t.blocks[1].score, 3.0);
        assert_eq!((t.score, t.grade.as_str()), (66.25, "差"));
    }

    #[test]
    fn an_empty_sum_prints_as_zero_not_minus_zero() {
        let empty: f64 = std::iter::empty::<f64>().sum();
        assert_eq!(fmt(empty), "0");
        assert_eq!((fmt(7.25), fmt(-1.5), fmt(30.0)), ("7.25".into(), "-1.5".into(), "30".into()));
    }
}
