//! nextorm's async facade, [`AsyncDatabase`]: its transactions and sessions await the engine's
//! `async fn`s (`nextorm-engine`) on tokio. The blocking facade (`nextorm-sync`) drives the same
//! engine; neither facade depends on the other.

mod database;
mod navigate;

pub use database::{AsyncDatabase, AsyncSession, AsyncTransaction, CurrentAsync, current_async};
pub use navigate::NavigateAsync;
pub use nextorm_engine::BoxFuture;
// The engine's types that appear in this facade's signatures, so that it can be used alone.
pub use nextorm_engine::{Conn, CreateTables, OpenOptions, PoolStatus, SessionOptions, SessionStats};
