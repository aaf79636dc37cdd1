//! The process's set-up, before anything else runs: what the `nrledger` command (and the service it
//! serves) and the benchmarks that time its work in-process do first. The allocator itself (mimalloc) is
//! each binary's `#[global_allocator]`.

/// Everything below, in the order it must come: SQLite's memory statistics off before SQLite is first used,
/// the allocator's huge pages, PROJ's logging before anything uses PROJ or GDAL. Call it first thing in
/// `main`, before other threads exist.
pub fn prepare() {
    tune_sqlite();
    tune_allocator();
    quiet_proj();
}

/// mimalloc backs its memory with transparent huge pages where the system allows them on request, as
/// Debian's does. The stages of a balance sheet free and allocate hundreds of MB in turn, and the kernel
/// spent a quarter of the sheet's CPU time zeroing the 2 MB pages it faulted in (perf: `clear_page_erms`
/// under `do_huge_pmd_anonymous_page`). Without them the 1 000 000-parcel sheet takes about 13 s instead
/// of 14-17 s, with the same peak memory. `MIMALLOC_ALLOW_THP` in the environment leaves the choice to it.
pub fn tune_allocator() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE takes no pointers; it only sets this process's huge-page policy
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

/// SQLite keeps memory statistics by default, taking a process-wide mutex around every allocation and
/// free (perf: 4 % of a 1 000 000-parcel import's CPU time in `pthread_mutex_lock`/`unlock` under
/// `sqlite3Malloc` and `sqlite3_free`). nrledger reads none of them. Turning them off has to come before
/// SQLite is first used, so it is the first thing the program does; the result code says whether it took.
pub fn tune_sqlite() -> std::os::raw::c_int {
    // SAFETY: sqlite3_config with SQLITE_CONFIG_MEMSTATUS takes one int; called before SQLite is
    // initialised it sets the flag, after that it returns SQLITE_MISUSE and changes nothing
    unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::os::raw::c_int) }
}

/// PROJ writes its own diagnostics to stderr ("tmerc: Invalid latitude", one line per failing point: 352
/// of them for 50 features read in a wrong CRS), burying the message that matters. nrledger reports every
/// failing transformation itself, naming the feature, so PROJ's logging is off unless `PROJ_DEBUG` is set.
/// PROJ reads the variable when it creates a context, so this comes before anything uses PROJ or GDAL.
pub fn quiet_proj() {
    if std::env::var_os("PROJ_DEBUG").is_none() {
        // SAFETY: called first thing in main, before any other thread exists
        std::env::set_var("PROJ_DEBUG", "0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_huge_pages_are_off_for_the_process() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return; // the environment decides
        }
        tune_allocator();
        // SAFETY: PR_GET_THP_DISABLE takes no pointers
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) }, 1);
    }

    /// In a process of its own (this test binary run again for this test alone, before anything used
    /// SQLite, as `main` calls it): the setting takes, and SQLite then counts no memory.
    #[test]
    fn sqlite_keeps_no_memory_statistics() {
        const NAME: &str = "process::tests::sqlite_keeps_no_memory_statistics";
        if std::env::var_os("NRLEDGER_SQLITE_CHILD").is_none() {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", NAME, "--test-threads", "1"])
                .env("NRLEDGER_SQLITE_CHILD", "1")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        assert_eq!(tune_sqlite(), rusqlite::ffi::SQLITE_OK);
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE t (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
             INSERT INTO t SELECT randomblob(1000) FROM n;",
        )
        .unwrap();
        assert_eq!(c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap(), 1000);
        // SAFETY: sqlite3_memory_used takes no arguments
        assert_eq!(unsafe { rusqlite::ffi::sqlite3_memory_used() }, 0, "no memory statistics");
    }
}
