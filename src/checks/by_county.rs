//! A check streamed county by county (`nrledger check --by-county`): a province registry is checked one
//! county window at a time, so memory follows the largest county, not the province.
//!
//! The counties are the admin outlines with a 6-digit code (县级) under the requested prefix; a code that
//! only groups others (330500 when 3305xx are there) is not a county. Each county's window
//! ([`Context::load_window`]) holds the records sharing ground with the county outline, read through the
//! registry's R-tree, plus its ring ([`Context::load_window`]): the records outside that meet its border
//! records — except those wholly inside another county of the run, which that county pairs with their
//! neighbours — and the records around the window's registration units. What the windows
//! see together is what one whole check sees:
//! - a piece at fault (an overlap, a violating piece) lies in some county, and both of its records share
//!   ground with that county, so that county's window finds it; a record-level finding (invalid geometry,
//!   area arithmetic) is found in every window holding the record. A finding found again by a later
//!   county is reported once (the same rule and records);
//! - coverage gaps (NR103) are measured against each county's own outline, so a gap crossing a county
//!   border is reported as one piece per county (the same total area);
//! - duplicate keys (NR202) are not a window's business: SQLite groups the whole layer's keys
//!   ([`Registry::duplicate_keys`]) without loading it.
//!
//! A piece lying wholly outside every county outline (records outside the province) is seen by no window;
//! the report says so in a note.

use std::collections::HashSet;
use std::time::Instant;

use geo::{BoundingRect, MultiPolygon};

use super::context::Context;
use super::{Exceptions, Finding, RuleConfig};
use crate::error::Result;
use crate::geometry::LayerIndex;
use crate::geometry::{Outline, Position};
use crate::model::{AsOf, LayerKind};
use crate::region::County;
use crate::store::Registry;

/// One county of a streamed check.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CountyLine {
    /// County code (XZQDM, 6 digits).
    pub code: String,
    /// County name (XZQMC).
    pub name: String,
    /// Records in the county's window (all layers the rules read, ring included).
    pub records: usize,
    /// Findings first found in this county.
    pub findings: usize,
    /// Findings this county found that an earlier county had already reported.
    pub shared: usize,
}

/// What a streamed check found.
pub struct StreamedCheck {
    /// The findings, with exceptions applied, sorted like a whole check's.
    pub findings: Vec<Finding>,
    /// The counties, in the order they were checked.
    pub counties: Vec<CountyLine>,
    /// Notes of the rules (each once) and of the streaming.
    pub notes: Vec<String>,
    /// Vintage of each layer used.
    pub vintages: Vec<(LayerKind, Option<String>)>,
}

/// Run the rules in `only` (all when empty) county by county; `progress` hears of each county when it is
/// done, with the seconds it took.
pub fn run(
    reg: &Registry,
    at: Option<AsOf>,
    prefix: Option<&str>,
    config: &RuleConfig,
    exceptions: &Exceptions,
    only: &[String],
    mut progress: impl FnMut(&CountyLine, f64),
) -> Result<StreamedCheck> {
    // rules that answer for the whole registry run once; the others run in every county's window
    let mut findings: Vec<Finding> = Vec::new();
    let mut checks = Vec::new();
    for check in super::selected(only)? {
        match check.run_on_registry(reg, at, config) {
            Some(found) => findings.extend(found?),
            None => checks.push(check),
        }
    }
    let needs = super::layers_needed(only, config)?;
    let counties = crate::region::counties(reg, at, prefix)?;
    let mut seen: HashSet<(String, Vec<i64>)> = HashSet::new();
    let mut lines = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut vintages = Vec::new();
    // a record wholly inside a county is that county's window's to pair with its neighbours: the other
    // windows' rings leave it out (a piece it shares with any record lies in that county)
    let outlines: Vec<Outline> = counties.iter().map(|c| Outline::new(c.outline.clone())).collect();
    let county_index = LayerIndex::of_boxes(&outlines.iter().map(Outline::bounds).collect::<Vec<_>>());
    for (k, County { code, name, outline }) in counties.into_iter().enumerate() {
        let t0 = Instant::now();
        let settled = |g: &MultiPolygon<f64>| {
            g.bounding_rect().is_some_and(|b| {
                county_index
                    .in_box(b.min().x, b.min().y, b.max().x, b.max().y)
                    .into_iter()
                    .any(|i| i as usize != k && outlines[i as usize].position(g) == Position::Inside)
            })
        };
        let ctx = Context::load_window(
            reg,
            at,
            Some((code.clone(), outline)),
            config.clone(),
            Exceptions::default(),
            &needs,
            Some(&settled),
        )?;
        let mut line = CountyLine { code, name, records: ctx.record_count(), findings: 0, shared: 0 };
        for check in &checks {
            let found = check.run(&ctx)?;
            crate::progress::lap(t0, &format!("  check: {} run", check.code()));
            for f in found {
                // record findings are reported once; area findings without records (gaps) are the county's own
                if !f.fids.is_empty() && !seen.insert((f.rule.clone(), f.fids.clone())) {
                    line.shared += 1;
                    continue;
                }
                line.findings += 1;
                findings.push(f);
            }
        }
        for n in ctx.notes() {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        vintages = ctx.vintages.clone();
        progress(&line, t0.elapsed().as_secs_f64());
        lines.push(line);
    }
    notes.push(format!(
        "checked county by county ({} counties); NR103 gaps are cut at county borders; a piece lying wholly outside every county outline is not seen",
        lines.len()
    ));
    let check_date = at.unwrap_or_else(|| chrono::Local::now().date_naive());
    super::finish(&mut findings, exceptions, check_date);
    Ok(StreamedCheck { findings, counties: lines, notes, vintages })
}
