//! Processes: the list (with live states), the deploy form generated from a service version's
//! typed parameters, and a process's page with its configuration, placement, history, pending
//! changes and logs. States are kept fresh by polling the server every two seconds while a page
//! is open.
//!
//! - [`api`]: the server functions the pages call;
//! - [`fields`]: form checks and fields shared by the deploy form and the configuration editor;
//! - [`list`]: the process list and the state badge;
//! - [`deploy`]: the deploy form;
//! - [`page`]: one process's page, with [`config`] for its configuration editor.

mod api;
mod config;
mod deploy;
mod fields;
mod list;
mod page;

pub use api::*;
pub use deploy::{load_deploy_choices, DeployData, NewProcessPage};
pub use fields::{
    check_environment, check_limits, check_name, check_parameters, env_field, placement_of, shown_value, EnvRow,
    FieldErrors,
};
pub use list::{ProcessesPage, StateBadge};
pub use page::{load_process, ProcessData, ProcessPage};

/// How many log lines the process page shows.
const LOG_LINES: u32 = 200;
