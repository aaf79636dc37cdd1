//! `nrledger patch`: following the suspect patches a stored screening found (`screen --store`) to their end.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use nrledger::catalog::Catalog;
use nrledger::monitor::follow::{NewStep, Step};
use nrledger::store::Actor;
use nrledger::Registry;

use super::Format;

/// Follow suspect patches (疑似违法图斑) to their end: list them with their latest step, show one with its
/// history, and take the next step — 已核查 (with its result 合法 / 违法 / 其他), 整改中, 已整改, 销号 — with its
/// date, the person, a note and evidence files (a field photo, a document), kept in the registry with
/// their SHA-256. A step out of order (销号 before 核查, 整改中 after 合法) is refused and nothing is written.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    op: Op,
}

#[derive(Debug, clap::Subcommand)]
enum Op {
    /// The stored patches with their latest step.
    List {
        /// Registry file.
        registry: PathBuf,
        /// Only the patches whose latest step is this (待核查, 已核查, 整改中, 已整改, 销号).
        #[arg(long)]
        step: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// One patch with every step taken on it and the files kept with them.
    Show {
        /// Registry file.
        registry: PathBuf,
        /// The patch (监测编号).
        patch: String,
        /// Write the evidence files into this folder (named by their SHA-256 and file name).
        #[arg(long)]
        evidence_dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Take the next step on a patch.
    Set {
        /// Registry file.
        registry: PathBuf,
        /// The patch (监测编号).
        patch: String,
        /// The step: 已核查, 整改中, 已整改 or 销号.
        #[arg(long)]
        step: String,
        /// The result of the field check (已核查 only): 合法, 违法 or 其他.
        #[arg(long)]
        result: Option<String>,
        /// The day it was taken (YYYY-MM-DD).
        #[arg(long)]
        date: String,
        /// Who took it (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// What was seen or done.
        #[arg(long)]
        note: String,
        /// A file kept with the step (repeatable).
        #[arg(long)]
        evidence: Vec<PathBuf>,
    },
}

pub fn run(a: Args, catalog: Catalog) -> anyhow::Result<ExitCode> {
    match a.op {
        Op::List { registry, step, format } => {
            let reg = Registry::open(&registry, catalog)?;
            let wanted = step
                .as_deref()
                .map(|s| {
                    Step::parse(s)
                        .ok_or_else(|| anyhow::anyhow!("--step {s}: not one of 待核查, 已核查, 整改中, 已整改, 销号"))
                })
                .transpose()?;
            let rows: Vec<_> = reg.patches()?.into_iter().filter(|p| wanted.is_none_or(|w| p.step == w)).collect();
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Text => {
                    for p in &rows {
                        let result = p.result.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                        let restored = p
                            .restored_in
                            .as_deref()
                            .map(|d| format!("  restored in survey {d} (to confirm)"))
                            .unwrap_or_default();
                        println!(
                            "{}  {}{result} {}  {}  {}  {} → {}  {:.2} m² ({:.2} 亩), uncovered {:.2} m²{restored}",
                            p.patch_id,
                            p.step.label(),
                            p.step_date,
                            p.change,
                            if p.township.is_empty() { "—" } else { &p.township },
                            p.before,
                            p.after,
                            p.area_m2,
                            nrledger::monitor::mu(p.area_m2),
                            p.uncovered_m2
                        );
                    }
                    eprintln!("{} patch(es)", rows.len());
                }
            }
        }
        Op::Show { registry, patch, evidence_dir, format } => {
            let reg = Registry::open(&registry, catalog)?;
            let Some(steps) = reg.patch_steps(&patch)? else {
                bail!("patch {patch}: no such patch in {}", registry.display())
            };
            let row = reg.patches()?.into_iter().find(|p| p.patch_id == patch).expect("the patch has steps");
            if let Some(dir) = &evidence_dir {
                std::fs::create_dir_all(dir)?;
                for (_, sha, _) in steps.iter().flat_map(|s| &s.evidence) {
                    let (name, content) = reg.patch_evidence(&patch, sha)?.expect("listed above");
                    let safe: String = name.chars().map(|c| if c == '/' || c == '\\' { '_' } else { c }).collect();
                    std::fs::write(dir.join(format!("{}-{safe}", &sha[..12])), content)?;
                }
            }
            match format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"patch": row, "steps": steps}))?)
                }
                Format::Text => {
                    println!(
                        "{}  {}  {}  {} → {}  {:.2} m², screened {}",
                        row.patch_id, row.change, row.township, row.before, row.after, row.area_m2, row.screened
                    );
                    for s in &steps {
                        let result = s.result.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                        println!("  {} {}{result}  {}  {}", s.date, s.step.label(), s.person, s.note);
                        for (name, sha, bytes) in &s.evidence {
                            println!("      {name}  {bytes} bytes  sha256 {sha}");
                        }
                    }
                }
            }
        }
        Op::Set { registry, patch, step, result, date, by, note, evidence } => {
            let step = Step::parse(&step)
                .ok_or_else(|| anyhow::anyhow!("--step {step}: not one of 已核查, 整改中, 已整改, 销号"))?;
            let mut files = Vec::new();
            for p in &evidence {
                let content = std::fs::read(p)
                    .map_err(|e| anyhow::anyhow!("--evidence {}: {e}; nothing was written", p.display()))?;
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                files.push((name, content));
            }
            let person = by.or_else(|| std::env::var("USER").ok()).unwrap_or_default();
            let reg = Registry::open(&registry, catalog)?;
            let new = NewStep { step, result, date, person, note, evidence: files };
            let id = reg.add_patch_step(&patch, &new, &Actor::command_line())?;
            eprintln!("patch {patch}: {} recorded (step #{id}, {} evidence file(s))", step.label(), new.evidence.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
