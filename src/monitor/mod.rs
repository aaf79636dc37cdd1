//! Land-use monitoring (国土空间监测, 卫片执法): screening the change between two surveys against what
//! permits it.
//!
//! - [`rules`]: which changes are of concern, what covers and what exempts them (`layers/rules/monitoring.toml`);
//! - [`screen`]: every changed piece of ground of concern, classified 已覆盖 covered / 部分覆盖 partly covered
//!   / 未覆盖 not covered (a suspect patch, 疑似违法图斑) / 例外 exempt, with the records compared;
//! - [`table`]: the screening as a layer, a text table and its summary by township;
//! - [`ledger`]: the cultivated-land ledgers of the period (占补平衡, 进出平衡) by township;
//! - [`follow`]: the steps a stored suspect patch goes through to its end (`nrledger patch`).

pub mod follow;
pub mod ledger;
pub mod rules;
mod screen;
pub mod table;

use serde::{Deserialize, Serialize};

use crate::quantity::SquareMetres;
pub use rules::MonitorRules;
pub use screen::{restored, screen, Request};

/// What kind of change a piece of ground went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// 新增建设用地: non-construction land became construction land.
    Construction,
    /// 耕地流出: cultivated land became other land that is not construction land.
    Cultivated,
}

impl Change {
    /// The official term.
    pub fn label(self) -> &'static str {
        match self {
            Change::Construction => "新增建设用地",
            Change::Cultivated => "耕地流出",
        }
    }
}

/// How a changed piece stands against what covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// 未覆盖: nothing in force covers it — a suspect patch (疑似违法图斑).
    NotCovered,
    /// 部分覆盖: records in force cover part of it; the rest is suspect.
    Partly,
    /// 已覆盖: records in force cover all of it.
    Covered,
    /// 例外: its cause exempts it (生态退耕, 灾毁 … as the rules say).
    Exempt,
}

impl Status {
    /// Whether a patch of this status is a suspect one, followed to its end (not or partly covered).
    pub fn is_suspect(self) -> bool {
        matches!(self, Status::NotCovered | Status::Partly)
    }

    /// The official term.
    pub fn label(self) -> &'static str {
        match self {
            Status::NotCovered => "未覆盖（疑似违法）",
            Status::Partly => "部分覆盖",
            Status::Covered => "已覆盖",
            Status::Exempt => "例外",
        }
    }
}

/// A record compared with a changed piece (an approval, a permit) that shares ground with it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Compared {
    /// Its layer.
    pub layer: crate::model::LayerKind,
    /// Its key (批准文号, 许可证号 …).
    pub key: String,
    /// Whether it covers the change (in force on the later survey's date, for this kind of change).
    pub covers: bool,
    /// Why it does not, when it does not.
    pub reason: Option<String>,
    /// The ground it shares with the piece (ellipsoidal, m²).
    pub shared_m2: SquareMetres,
}

/// One side of a patch: the parcel at one survey.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Side {
    /// Parcel key (BSM).
    pub key: String,
    /// Land class code (DLBM).
    pub class: String,
    /// Its name.
    pub name: String,
}

/// A changed piece of ground of concern (a 监测图斑), classified.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Patch {
    /// Stable id (监测编号): the later survey's date and a hash of the two parcels' keys and both dates.
    pub id: String,
    /// What changed.
    pub change: Change,
    /// How it stands.
    pub status: Status,
    /// The parcel before.
    pub before: Side,
    /// The parcel after.
    pub after: Side,
    /// 变更原因 of the later parcel, when it has one.
    pub cause: Option<String>,
    /// Township code (the first 9 digits of the later parcel's 坐落单位代码), empty when unknown.
    pub township: String,
    /// Ellipsoidal area, m².
    pub area_m2: SquareMetres,
    /// The same in 亩.
    pub area_mu: f64,
    /// What records in force cover of it, m².
    pub covered_m2: SquareMetres,
    /// What they leave uncovered, m² (0 for an exempt piece).
    pub uncovered_m2: SquareMetres,
    /// Every record compared (sharing ground with it), covering or not.
    pub compared: Vec<Compared>,
    /// The ground, registry CRS.
    #[serde(skip)]
    #[schemars(skip)]
    pub geometry: geo::MultiPolygon<f64>,
}

/// One summary row: the patches of one group (a township, or a cause) of one kind and status.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SummaryRow {
    /// Township code ([`Screening::summary`]) or cause, 变更原因 of the later parcel or 未注明
    /// ([`Screening::summary_by_cause`]); `合计` for the region's total.
    pub group: String,
    /// What changed.
    pub change: Change,
    /// How it stands.
    pub status: Status,
    /// Number of patches.
    pub count: usize,
    /// Their area, m².
    pub area_m2: SquareMetres,
    /// Of it uncovered, m².
    pub uncovered_m2: SquareMetres,
}

/// A layer read for cover, with the vintage read.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CoverLayer {
    /// The layer.
    pub layer: crate::model::LayerKind,
    /// Its latest vintage (the records valid now are read), None when it was never imported.
    pub vintage: Option<String>,
    /// Records read in the region's box.
    pub records: usize,
}

/// The result of `nrledger screen`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Screening {
    /// Earlier survey date (前时相).
    pub from: String,
    /// Later survey date (后时相); changes are placed on it.
    pub to: String,
    /// Region code(s).
    pub region: String,
    /// Region name.
    pub region_name: String,
    /// The rules file and its SHA-256.
    pub rules: String,
    /// The rules file's SHA-256.
    pub rules_sha256: String,
    /// The layers read for cover.
    pub cover_layers: Vec<CoverLayer>,
    /// The patches, by township then id.
    pub patches: Vec<Patch>,
    /// Totals by township, change and status, then by change and status over the region (`合计`).
    pub summary: Vec<SummaryRow>,
    /// Totals by cause, change and status, then over the region (`合计`).
    pub summary_by_cause: Vec<SummaryRow>,
    /// The cultivated-land ledgers (占补平衡, 进出平衡) by township, then the region's (`合计`).
    pub ledger: Vec<ledger::LedgerRow>,
}

/// 1 亩 = 10000/15 m².
pub fn mu(m2: f64) -> f64 {
    m2 * 15.0 / 10_000.0
}
