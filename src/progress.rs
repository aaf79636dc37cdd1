//! Progress bars on stderr for long operations, hidden when stderr is not a terminal (so logs and CI
//! output stay clean).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that draws only on a terminal (the flag marks bars that must never draw).
#[derive(Clone)]
pub struct Progress(ProgressBar, bool);

impl Progress {
    /// A bar for `len` steps labelled `what`.
    pub fn new(len: u64, what: &str) -> Progress {
        // a bar whose length is not known yet stays hidden until `set_len`
        let target = if len == 0 { ProgressDrawTarget::hidden() } else { Progress::target() };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        bar.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        Progress(bar, false)
    }

    /// A bar that never draws (library use, tests).
    pub fn hidden() -> Progress {
        Progress(ProgressBar::hidden(), true)
    }

    fn target() -> ProgressDrawTarget {
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// Advance by `n` steps.
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Set the total.
    pub fn set_len(&self, len: u64) {
        self.0.set_length(len);
        if len > 0 && self.0.is_hidden() && !self.1 {
            self.0.set_draw_target(Progress::target());
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// With `NRLEDGER_TIMING` set, print the time since `t0` of a stage on stderr (how the README's figures
/// were broken down; the peer benchmark splits the balance sheet at these stages). `=rss` adds the memory,
/// `=cpu` the CPU time the process has used so far (user + system, every thread): a stage whose CPU time
/// grows no faster than its wall time ran on one core.
///
/// With `NRLEDGER_PROGRESS` set (the service's report jobs set it), each stage is also one line
/// `nrledger-progress<TAB>what` on stderr, which the job shows as its progress.
pub fn lap(t0: std::time::Instant, what: &str) {
    stage(what);
    if let Some(v) = std::env::var_os("NRLEDGER_TIMING") {
        if v == "rss" {
            eprintln!("{:>8.2} s  {what}  ({})", t0.elapsed().as_secs_f64(), memory());
        } else if v == "cpu" {
            eprintln!("{:>8.2} s  {what}  (CPU {:.2} s)", t0.elapsed().as_secs_f64(), cpu_seconds());
        } else {
            eprintln!("{:>8.2} s  {what}", t0.elapsed().as_secs_f64());
        }
    }
}

/// CPU seconds the process has used, user and system, all threads (getrusage).
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value of it
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// The process's resident memory now and at its peak (Linux /proc), for `NRLEDGER_TIMING=rss`.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |field: &str| {
        status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
    };
    match (kb("VmRSS:"), kb("RssAnon:"), kb("VmHWM:")) {
        (Some(now), Some(anon), Some(peak)) => {
            format!("RSS {} MB of which anonymous {} MB, peak {} MB", now / 1024, anon / 1024, peak / 1024)
        }
        _ => "RSS unknown".into(),
    }
}

/// Report a stage reached to a job runner watching stderr (see [`lap`]); nothing without `NRLEDGER_PROGRESS`.
pub fn stage(what: &str) {
    if std::env::var_os("NRLEDGER_PROGRESS").is_some() {
        eprintln!("{PROGRESS_PREFIX}\t{}", what.trim().replace(['\n', '\t'], " "));
        pause_at_stage();
    }
}

/// The fault-injection seam of the report-job tests (only with the `fault-injection` feature): with
/// `NRLEDGER_FAULT_STAGE_SECS=S` each stage a job reports waits S seconds, so that a job is still running
/// (or waiting its turn) when the test cancels it.
fn pause_at_stage() {
    #[cfg(feature = "fault-injection")]
    if let Some(secs) = std::env::var("NRLEDGER_FAULT_STAGE_SECS").ok().and_then(|v| v.parse::<f64>().ok()) {
        std::thread::sleep(std::time::Duration::from_secs_f64(secs.clamp(0.0, 60.0)));
    }
}

/// How a progress line starts.
pub const PROGRESS_PREFIX: &str = "nrledger-progress";
