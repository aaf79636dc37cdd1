//! The cultivated-land ledgers of a screened period, by township (耕地占补平衡 and 耕地进出平衡), from the same
//! changed ground the screening classifies:
//!
//! - 占补平衡: cultivated land taken by construction (with what approvals in force cover of it) against
//!   补充耕地, land made cultivated from construction or unused land (by cause: 土地整理, 复垦, 开发 …);
//! - 进出平衡: cultivated land turned to other agricultural land (流出; the exempt causes — 生态退耕, 灾毁 … —
//!   counted apart) against other agricultural land turned back to cultivated (流入).
//!
//! A ledger is balanced when what came in is at least what went out (beyond the rules' tolerance).

use std::collections::BTreeMap;

use serde::Serialize;

use super::rules::MonitorRules;
use super::{Change, Patch, Status};
use crate::balance::ChangedGround;
use crate::quantity::SquareMetres;

/// One township's ledgers (or `合计`, the region's).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct LedgerRow {
    /// Township code, or `合计`.
    pub township: String,
    /// 建设占用耕地: cultivated land that became construction land, m².
    pub taken_by_construction_m2: SquareMetres,
    /// Of it covered by approvals in force, m².
    pub taken_approved_m2: SquareMetres,
    /// 补充耕地: land made cultivated from construction or unused land, m².
    pub supplemented_m2: SquareMetres,
    /// 补充耕地 by cause (BGYY of the later parcel; 未注明 without one), m².
    pub supplemented_by_cause: BTreeMap<String, SquareMetres>,
    /// 占补平衡: supplemented ≥ taken.
    pub occupation_balanced: bool,
    /// 流出: cultivated land that became other agricultural land, exempt causes left out, m².
    pub out_m2: SquareMetres,
    /// Cultivated land that left under an exempt cause, m².
    pub out_exempt_m2: SquareMetres,
    /// 流入: other agricultural land that became cultivated, m².
    pub in_m2: SquareMetres,
    /// 进出平衡: in ≥ out.
    pub in_out_balanced: bool,
}

impl LedgerRow {
    fn add(&mut self, o: &LedgerRow) {
        self.taken_by_construction_m2.0 += o.taken_by_construction_m2.0;
        self.taken_approved_m2.0 += o.taken_approved_m2.0;
        self.supplemented_m2.0 += o.supplemented_m2.0;
        for (c, a) in &o.supplemented_by_cause {
            self.supplemented_by_cause.entry(c.clone()).or_default().0 += a.0;
        }
        self.out_m2.0 += o.out_m2.0;
        self.out_exempt_m2.0 += o.out_exempt_m2.0;
        self.in_m2.0 += o.in_m2.0;
    }

    fn settle(&mut self, tol: f64) {
        self.occupation_balanced = self.supplemented_m2.0 + tol >= self.taken_by_construction_m2.0;
        self.in_out_balanced = self.in_m2.0 + tol >= self.out_m2.0;
    }
}

/// How a changed piece is named: its township (by the later parcel's fid), and a cause's code.
pub type Names<'a> = (&'a dyn Fn(i64) -> String, &'a dyn Fn(&str) -> String);

/// The ledgers by township, then the region's (`合计`). `township` gives a changed piece's township (by the
/// later parcel's fid), `cause` a cause's code (an alias as delivered normalised); `patches` are the
/// screening's, for what approvals cover and what is exempt.
pub fn ledgers(
    changed: &[ChangedGround],
    patches: &[Patch],
    (township, cause): Names,
    rules: &MonitorRules,
) -> Vec<LedgerRow> {
    let by_pair: std::collections::HashMap<(&str, &str), &Patch> =
        patches.iter().map(|p| ((p.before.key.as_str(), p.after.key.as_str()), p)).collect();
    let mut rows: BTreeMap<String, LedgerRow> = BTreeMap::new();
    for g in changed {
        let (from, to) = (g.from.class.as_str(), g.to.class.as_str());
        let was = rules.cultivated.contains(from);
        let is = rules.cultivated.contains(to);
        if was == is {
            continue;
        }
        let t = township(g.to.fid);
        let row = rows.entry(t.clone()).or_insert_with(|| LedgerRow { township: t, ..Default::default() });
        let patch = by_pair.get(&(g.from.key.as_str(), g.to.key.as_str()));
        match (was, rules.construction.contains(to)) {
            (true, true) => {
                row.taken_by_construction_m2.0 += g.area;
                row.taken_approved_m2.0 += patch.map_or(0.0, |p| p.covered_m2.0);
            }
            (true, false) => {
                match patch.is_some_and(|p| p.change == Change::Cultivated && p.status == Status::Exempt) {
                    true => row.out_exempt_m2.0 += g.area,
                    false => row.out_m2.0 += g.area,
                }
            }
            (false, _) if rules.ledger.is_agricultural(from) => row.in_m2.0 += g.area,
            (false, _) => {
                row.supplemented_m2.0 += g.area;
                let cause = g.to.cause.as_deref().map_or_else(|| "未注明".into(), cause);
                row.supplemented_by_cause.entry(cause).or_default().0 += g.area;
            }
        }
    }
    let mut total = LedgerRow { township: "合计".into(), ..Default::default() };
    let mut out: Vec<LedgerRow> = rows.into_values().collect();
    for r in &mut out {
        total.add(r);
        r.settle(rules.tolerance_m2);
    }
    total.settle(rules.tolerance_m2);
    out.push(total);
    out
}
