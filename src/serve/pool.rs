//! The server's read connections: at most `size` requests read the registry at once, each on a
//! connection of its own (a [`Registry`] opened on the file) inside one read snapshot, on tokio's blocking
//! threads so that SQLite's work never stalls the threads answering other clients. Connections are opened
//! when first needed and kept; one whose request panicked is dropped (it may be mid-transaction) and a new
//! one opened in its place.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::problem::ApiError;
use crate::catalog::Catalog;
use crate::store::Registry;

/// The pool.
pub struct Pool {
    path: PathBuf,
    catalog: Catalog,
    idle: Arc<Mutex<Vec<Registry>>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    /// A pool of up to `size` connections to `path`, starting with `first`.
    pub fn new(path: &Path, catalog: Catalog, size: usize, first: Registry) -> Pool {
        Pool {
            path: path.into(),
            catalog,
            idle: Arc::new(Mutex::new(vec![first])),
            permits: Arc::new(Semaphore::new(size)),
        }
    }

    /// Run `read` on a connection inside one read snapshot, once a connection is free.
    pub async fn read<T, F>(&self, read: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Registry) -> Result<T, ApiError> + Send + 'static,
    {
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|_| ApiError::internal("the pool is closed"))?;
        let idle = self.idle.clone();
        let (path, catalog) = (self.path.clone(), self.catalog.clone());
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let reg = match taken {
                Some(r) => r,
                None => Registry::open(&path, catalog).map_err(ApiError::from)?,
            };
            let out = {
                let _snapshot = reg.snapshot().map_err(ApiError::from)?;
                read(&reg)
            };
            // a connection whose request panicked never comes back here (it unwound with the request)
            idle.lock().unwrap_or_else(|p| p.into_inner()).push(reg);
            out
        })
        .await;
        match done {
            Ok(out) => out,
            Err(e) if e.is_panic() => Err(ApiError::internal("a request panicked while reading the registry")),
            Err(_) => Err(ApiError::internal("a request was cancelled")),
        }
    }
}
