//! Writing an output file safely, once for every command: a file that exists is never overwritten, and a
//! file is written beside its final name (`NAME.partial`) and renamed into place when complete, so a
//! reader never sees half a report and a failure leaves no file under the final name.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Refuse when any of `paths` exists (before any work is done).
pub fn refuse_existing<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> Result<()> {
    match paths.into_iter().find(|p| p.exists()) {
        Some(p) => Err(Error::Invalid(format!("{}: already exists; refusing to overwrite it", p.display()))),
        None => Ok(()),
    }
}

/// The temporary name a file is written under before it is renamed to `out`.
pub fn partial(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".partial");
    s.into()
}

/// Write `out` through `write`, which is given the temporary path; rename it into place when `write`
/// succeeds, remove it when it fails.
pub fn write_through<T>(out: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let tmp = partial(out);
    match write(&tmp) {
        Ok(v) => {
            std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
            Ok(v)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Write `bytes` to `out` ([`write_through`]).
pub fn write_file(out: &Path, bytes: &[u8]) -> Result<()> {
    write_through(out, |tmp| std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_nothing_and_an_existing_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("nrledger-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("report.html");
        let failed: Result<()> = write_through(&out, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(Error::Invalid("boom".into()))
        });
        assert!(failed.is_err());
        assert!(!out.exists() && !partial(&out).exists());
        write_file(&out, b"whole").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"whole");
        assert!(!partial(&out).exists());
        let err = refuse_existing([&out]).unwrap_err().to_string();
        assert!(err.contains("already exists; refusing to overwrite it"), "{err}");
        assert!(refuse_existing([&dir.join("other.html")]).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
