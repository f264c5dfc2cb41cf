//! The connection editor: the owner's processes as a graph (each a box, its interfaces as ports),
//! their connections as edges coloured by state and labelled with the negotiated versions.
//!
//! Drag from one port to another to connect them (or click a port, then another; or Enter on
//! the focused ports). While a port is held, every other port is marked `fits` or `unfit` at once:
//! the browser runs the server's own rule (`model::check_fit`), so the reason shown on an unfit
//! port is the one the server would give. The same data is below the graph as a table and a
//! form for keyboard and screen-reader users. States follow the server by polling every two
//! seconds; selection, drag and layout survive a refresh.
//!
//! - [`api`]: the server functions;
//! - [`geometry`]: layout and the fit rule, plain functions of the data;
//! - [`state`]: the editor's shared state;
//! - [`draft`]: changes staged on the graph, undo/redo, review as a plan and apply, the
//!   connection matrix;
//! - [`page`]: the page and the editor around the [`graph`], the [`panel`] of the selected
//!   connection and the [`table`];
//! - [`of_process`]: the Connections section of a process's page.

mod api;
mod draft;
mod geometry;
mod graph;
mod of_process;
mod page;
mod panel;
mod state;
mod table;

pub use api::*;
pub use draft::{DeployOption, DraftRequest};
pub use geometry::{messages_text, Flow};
pub use of_process::ProcessConnections;
pub use page::{load_connections, ConnectionsData, ConnectionsPage};

/// At most this many processes are in the editor (oldest first); only those in view are drawn.
#[cfg(feature = "ssr")]
const MAX_PROCESSES: u64 = 1000;
