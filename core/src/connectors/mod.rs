//! Connectors talk to the outside world; managers use them and nothing else does.

pub mod docker;
pub mod process;
pub mod registry;
pub mod swarm;
