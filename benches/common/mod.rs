//! What the scale benchmarks share: running the release binary under GNU time.

use std::path::Path;
use std::process::Command;

/// Run `bin args` under GNU time: (seconds, peak memory in MB, stdout). Panics when it fails, unless
/// `allowed` accepts its exit code.
pub fn timed_with(bin: &Path, args: &[&str], allowed: impl Fn(i32) -> bool) -> (f64, f64, String) {
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("NRLEDGER_TIME %e %M")
        .arg(bin)
        .args(args)
        .output()
        .expect("GNU time (apt-get install time)");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = err.lines().find(|l| l.starts_with("NRLEDGER_TIME")).unwrap_or_else(|| panic!("{args:?}: {err}"));
    let v: Vec<f64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || allowed(code), "{args:?} failed: {err}");
    (v[0], v[1] / 1024.0, String::from_utf8_lossy(&out.stdout).into_owned())
}
