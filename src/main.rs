//! The `nrledger` command: parse arguments, run, print the error chain, exit 0 (done), 1 (done, but
//! records were rejected or findings remain), 2 (failure).

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the parallel geometry work allocates many small vectors from every thread, where glibc's
/// allocator serialises on its arena locks (seen in profiles of the balance sheet).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc backs its memory with transparent huge pages where the system allows them on request, as
/// Debian's does. The stages of a balance sheet free and allocate hundreds of MB in turn, and the kernel
/// spent a quarter of the sheet's CPU time zeroing the 2 MB pages it faulted in (perf: `clear_page_erms`
/// under `do_huge_pmd_anonymous_page`). Without them the 1 000 000-parcel sheet takes about 13 s instead
/// of 14-17 s, with the same peak memory. `MIMALLOC_ALLOW_THP` in the environment leaves the choice to it.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE takes no pointers; it only sets this process's huge-page policy
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = nrledger_cli::Cli::parse();
    match nrledger_cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
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
}

#[path = "cli/mod.rs"]
mod nrledger_cli;
