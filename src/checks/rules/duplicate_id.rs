//! NR202 duplicate-id.
//!
//! **What it catches:** two records of one layer valid on the same day with the same key (BSM, DYH, HXBH …).
//! **Why it matters:** the key is how a record is cited in registration documents and traced across
//! vintages; two records under one key make every citation ambiguous. Imports refuse duplicates, so this
//! guards data written by other tools.

use std::collections::BTreeMap;

use super::{Check, Class, Context, Finding};
use crate::checks::RuleConfig;
use crate::model::{AsOf, LayerKind};
use crate::quantity::SquareMetres;
use crate::store::Registry;

/// NR202.
pub struct DuplicateId;

impl Check for DuplicateId {
    fn code(&self) -> &'static str {
        "NR202"
    }
    fn name(&self) -> &'static str {
        "duplicate-id"
    }
    fn layers(&self) -> &'static [LayerKind] {
        LayerKind::all()
    }
    fn run(&self, ctx: &Context) -> crate::Result<Vec<Finding>> {
        let tol = ctx.config.tolerance(self.code())?;
        let mut out = Vec::new();
        for kind in ctx.catalog.kinds() {
            let mut by_key: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for r in &ctx.layer(kind).records {
                by_key.entry(r.record.key.as_str()).or_default().push(r.fid);
            }
            for (k, fids) in by_key.into_iter().filter(|(_, f)| f.len() > 1) {
                out.push(finding(tol, kind, k, fids));
            }
        }
        Ok(out)
    }
    fn run_on_registry(
        &self,
        reg: &Registry,
        at: Option<AsOf>,
        config: &RuleConfig,
    ) -> Option<crate::Result<Vec<Finding>>> {
        Some((|| {
            let tol = config.tolerance(self.code())?;
            let mut out = Vec::new();
            for kind in reg.catalog().kinds() {
                for (k, fids) in reg.duplicate_keys(kind, at)? {
                    out.push(finding(tol, kind, &k, fids));
                }
            }
            Ok(out)
        })())
    }
}

/// The NR202 finding for `fids`, the records of `kind` that share the key `k`.
fn finding(tol: &crate::checks::Tolerance, kind: LayerKind, k: &str, fids: Vec<i64>) -> Finding {
    Finding {
        rule: DuplicateId.code().into(),
        name: DuplicateId.name().into(),
        severity: tol.severity,
        class: Class::Attribute,
        layers: vec![kind; fids.len()],
        ids: vec![k.to_string(); fids.len()],
        message: format!("{} records of {kind} share the key {k}", fids.len()),
        fids,
        area_m2: SquareMetres::ZERO,
        area_planar_m2: SquareMetres::ZERO,
        excepted_by: None,
        geometry: None,
    }
}
