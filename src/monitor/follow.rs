//! Following a suspect patch to its end: the steps (待核查 → 已核查 (合法 / 违法 / 其他) → 整改中 → 已整改 →
//! 销号) and which may follow which. A patch found 合法 or 其他 is closed (销号) after its check; one found
//! 违法 is rectified first. Each step has a date no earlier than the one before, a person and a note.

use serde::{Deserialize, Serialize};

/// A new step with its evidence files (name, content).
pub struct NewStep {
    /// The step.
    pub step: Step,
    /// The 核查 result.
    pub result: Option<String>,
    /// The day it was taken (YYYY-MM-DD).
    pub date: String,
    /// Who took it.
    pub person: String,
    /// What was seen or done.
    pub note: String,
    /// Files kept with it.
    pub evidence: Vec<(String, Vec<u8>)>,
}

/// A step of a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Step {
    /// 待核查: found, waiting for the field check.
    #[serde(rename = "待核查")]
    Pending,
    /// 已核查: checked in the field, with a result (合法 / 违法 / 其他).
    #[serde(rename = "已核查")]
    Checked,
    /// 整改中: being rectified.
    #[serde(rename = "整改中")]
    Rectifying,
    /// 已整改: rectified (demolished, restored).
    #[serde(rename = "已整改")]
    Rectified,
    /// 销号: closed.
    #[serde(rename = "销号")]
    Closed,
}

/// The results a field check may give.
pub const RESULTS: [&str; 3] = ["合法", "违法", "其他"];

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 5] = [Step::Pending, Step::Checked, Step::Rectifying, Step::Rectified, Step::Closed];

    /// The official term.
    pub fn label(self) -> &'static str {
        match self {
            Step::Pending => "待核查",
            Step::Checked => "已核查",
            Step::Rectifying => "整改中",
            Step::Rectified => "已整改",
            Step::Closed => "销号",
        }
    }

    /// A step by its term.
    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|k| k.label() == s.trim())
    }

    /// The steps that may follow this one, given the check's result.
    pub fn next(self, result: Option<&str>) -> &'static [Step] {
        match (self, result) {
            (Step::Pending, _) => &[Step::Checked],
            (Step::Checked, Some("违法")) => &[Step::Rectifying],
            (Step::Checked, _) => &[Step::Closed],
            (Step::Rectifying, _) => &[Step::Rectified],
            (Step::Rectified, _) => &[Step::Closed],
            (Step::Closed, _) => &[],
        }
    }
}

/// Whether `new` may follow the patch's latest step `last` (its step, the result of its check if any, its
/// date); why not, naming the patch.
pub fn check(patch: &str, last: &(Step, Option<String>, String), new: &NewStep) -> Result<(), String> {
    let (step, result, date) = last;
    let allowed = step.next(result.as_deref());
    if !allowed.contains(&new.step) {
        let next: Vec<&str> = allowed.iter().map(|s| s.label()).collect();
        return Err(match next.is_empty() {
            true => format!("patch {patch} is closed (销号): no step follows"),
            false => format!(
                "patch {patch}: {} cannot follow {}{}; the next step is {}",
                new.step.label(),
                step.label(),
                result.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
                next.join(" or ")
            ),
        });
    }
    match (&new.result, new.step) {
        (None, Step::Checked) => {
            return Err(format!("patch {patch}: 已核查 needs its result (--result 合法, 违法 or 其他)"))
        }
        (Some(r), Step::Checked) if !RESULTS.contains(&r.as_str()) => {
            return Err(format!("patch {patch}: result '{r}' is not one of 合法, 违法, 其他"))
        }
        (Some(_), s) if s != Step::Checked => {
            return Err(format!("patch {patch}: only 已核查 takes a result, not {}", s.label()))
        }
        _ => {}
    }
    let day = crate::model::parse_date(new.date.trim()).map_err(|e| format!("patch {patch}: date: {e}"))?;
    if day.to_string() < *date {
        return Err(format!("patch {patch}: date {day} is before its latest step ({} on {date})", step.label()));
    }
    if new.person.trim().is_empty() {
        return Err(format!("patch {patch}: give the person who took the step"));
    }
    if new.note.trim().is_empty() {
        return Err(format!("patch {patch}: give a note (what was seen or done)"));
    }
    Ok(())
}
