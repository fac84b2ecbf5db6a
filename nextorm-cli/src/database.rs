//! The database the commands work on: the engine's `DbCore` for the async facade, on a
//! current-thread tokio runtime the command owns.

use nextorm_core::{EntityMeta, Error, ErrorKind, Result};
use nextorm_engine::{DbCore, Facade, OpenOptions};

/// Opens `url` with `entities` mapped and runs `work` on it; the pool is closed, and every
/// connection dropped, inside the runtime before it goes.
pub(crate) fn with_database<T>(
    url: &str,
    entities: &[&'static EntityMeta],
    work: impl AsyncFnOnce(&DbCore) -> Result<T>,
) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorKind::ConnectFailed, format!("cannot start the runtime to connect on: {e}")))?;
    runtime.block_on(async {
        let options = OpenOptions::new().max_connections(1).entities(entities.iter().copied());
        let db = DbCore::new(url, options, Facade::Async)?;
        let result = work(&db).await;
        db.close().await;
        result
    })
}
