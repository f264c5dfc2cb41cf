//! The domain model: plain serde types that compile for both the server and the browser.
//!
//! Every persisted entity carries an opaque string `id` and a `revision` that the store bumps on
//! every write; an update must name the revision it read, so a concurrent change is refused
//! instead of silently overwritten. Secrets (password hashes, token hashes, process tokens) live
//! only in server-side record types in `store`, never in these.

mod alert;
mod audit;
mod connection;
mod event;
mod network;
mod node;
mod overview;
mod paging;
mod pending_change;
mod process;
mod service;
mod user;

pub use alert::*;
pub use audit::*;
pub use connection::*;
pub use event::*;
pub use network::*;
pub use node::*;
pub use overview::*;
pub use paging::*;
pub use pending_change::*;
pub use process::*;
pub use service::*;
pub use user::*;

/// Timestamps are UTC and travel as RFC 3339 strings.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
