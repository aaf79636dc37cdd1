//! The check steps of the peer benchmark, warm (issue 23): the registry is opened once in this process and
//! each step's rules run on it several times over, as a long-lived process (the service) runs them — the
//! shared libraries loaded, the registry open, its pages in the operating system's cache. Nothing computed
//! by one run is kept for the next: each loads its context (reading the records through the R-tree and the
//! class index) and runs the rules afresh. The time of a run is what `check` does between opening the
//! registry and writing its report; the context is dropped after the clock stops (the command never drops
//! it: it ends). The process is set up as the command's is: the same allocator, `nrledger::process::prepare`.
//! Run by `benches/peers/run.py`:
//!
//! ```text
//! check_warm REGISTRY DATE RUNS RULES [RULES …]   → one JSON line per RULES on stdout:
//!   {"rules": "NR501", "seconds": [s, …], "loading": [s, …], "findings": [{rule, ids, area_m2}, …]}
//! ```
//!
//! RULES is a comma-separated list, as `check --only` takes it; the first run of each is a warm-up, not
//! reported. `loading` is the part of each run's seconds spent loading the context (the records read).

use nrledger::catalog::Catalog;
use nrledger::checks::{self, Context, Exceptions, RuleConfig};
use nrledger::Registry;

/// The allocator of the `nrledger` binary, so the work timed here runs as it does there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    nrledger::process::prepare();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [registry, date, runs, steps @ ..] = args.as_slice() else {
        eprintln!("usage: check_warm REGISTRY DATE RUNS RULES [RULES …]");
        std::process::exit(2);
    };
    let at = Some(date.parse().expect("DATE is YYYY-MM-DD"));
    let runs: usize = runs.parse().expect("RUNS is a number");
    let reg = Registry::open(registry.as_ref(), Catalog::embedded().expect("the embedded catalog"))
        .expect("open the registry");
    let config = RuleConfig::load(None).expect("the embedded rules");
    let exceptions = Exceptions::default().with_granted(&reg).expect("the registry's exceptions");
    for step in steps {
        let only: Vec<String> = step.split(',').map(str::to_string).collect();
        let (mut seconds, mut loading) = (Vec::new(), Vec::new());
        let mut findings = Vec::new();
        for run in 0..=runs {
            let t = std::time::Instant::now();
            let needs = checks::layers_needed(&only, &config).expect("the rules");
            let ctx = Context::load(&reg, at, None, config.clone(), exceptions.clone(), &needs).expect("load");
            let load = t.elapsed().as_secs_f64();
            findings = checks::run_all(&ctx, &only).expect("run the rules");
            let secs = t.elapsed().as_secs_f64();
            drop(ctx);
            if run > 0 {
                seconds.push(secs);
                loading.push(load);
            }
        }
        let findings: Vec<serde_json::Value> =
            findings.iter().map(|f| serde_json::json!({"rule": f.rule, "ids": f.ids, "area_m2": f.area_m2})).collect();
        let line = serde_json::json!({"rules": step, "seconds": seconds, "loading": loading, "findings": findings});
        println!("{line}");
    }
}
