//! Evaluation systems (审计评价指标体系) as data: the file an audit office writes — indicators as formulas
//! over named cells, verdict rules, blocks, points and how they are scored, grade bands — read and checked
//! ([`system`]), and the formulas themselves ([`formula`]). The audit evaluates them against its sheet
//! (`audit::cells`, `audit::score`); the targets file may carry one, so this module depends on neither.

pub mod formula;
pub mod system;
