//! Switchyard's core: the domain model shared with the browser, and (behind the `server`
//! feature) the store, the managers that hold the logic and the connectors that talk to the
//! outside world. Nothing here speaks HTTP: the `server` and `app` crates sit on top.
//!
//! Reading order: `model` (the nouns), `error` (what can go wrong, in domain terms), then
//! `store` (how records are kept), `auth` (passwords and tokens), `managers` (the verbs) and
//! `connectors` (Docker and friends).

pub mod error;
pub mod model;
pub mod validate;

#[cfg(feature = "server")]
pub mod audit;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod changes;
#[cfg(feature = "server")]
pub mod connectors;
#[cfg(feature = "server")]
pub mod documents;
#[cfg(feature = "server")]
pub mod events;
#[cfg(feature = "server")]
pub mod instance;
#[cfg(feature = "server")]
pub mod managers;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod store;

pub use error::{Error, Result};
