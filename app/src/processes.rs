//! Processes: the list (with live states), the deploy form generated from a service version's
//! typed parameters, and a process's page with its configuration, placement, history, pending
//! changes and logs. States are kept fresh by polling the server every two seconds while a page
//! is open.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_navigate, use_params_map, use_query_map},
    NavigateOptions,
};
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;
use switchyard_core::{
    model::{
        NewProcess, Node, Parameter, ParameterType, PendingChange, Placement, Process, ProcessState, ProcessUpdate,
        ResourceLimits, Service,
    },
    validate,
};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{
        hydrated, one_at_a_time, poll_while_mounted, rv, rx, when, EmptyState, ErrorMessage, FormError, Loading, Rx,
    },
    pending_changes::{change_state, CancelPendingChange, ChangeActionResult, ChangeActions, RetryPendingChange},
    services::service_versions,
    AppError,
};

/// How often open pages ask for fresh states.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How many log lines the process page shows.
const LOG_LINES: u32 = 200;

// ------------------------------------------------------------------------------------------------
// Server functions
// ------------------------------------------------------------------------------------------------

/// The process list with what it needs to be shown: node names and, for administrators, the
/// users they may filter by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessList {
    pub items: Vec<Process>,
    pub total: u64,
    /// Node id → name, of the nodes the caller may see.
    pub node_names: BTreeMap<String, String>,
    /// (id, username) of every user; administrators only, empty for others.
    pub owners: Vec<(String, String)>,
}

/// The caller's processes, newest first; administrators see everyone's, or one owner's; all,
/// or those on one node.
#[server]
pub async fn list_processes(owner: String, node: String) -> Result<ProcessList, AppError> {
    use switchyard_core::managers::{ListParams, ProcessFilter};
    let caller = caller().await?;
    let sy = sy();
    let params = ListParams { page: Some(1), per_page: Some(200), sort: Some("-created".into()) };
    let filter = ProcessFilter {
        user_id: Some(owner).filter(|o| !o.is_empty() && caller.is_admin()),
        node_id: Some(node).filter(|n| !n.is_empty()),
        ..Default::default()
    };
    let page = sy.processes.list(&caller, &params, &filter).await?;
    let node_names = sy.nodes.list_nodes(&caller, None).await?.into_iter().map(|n| (n.id, n.name)).collect();
    let owners = if caller.is_admin() {
        let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("username".into()) };
        sy.users.list(&caller, &params, None, None).await?.items.into_iter().map(|u| (u.id, u.username)).collect()
    } else {
        Vec::new()
    };
    Ok(ProcessList { items: page.items, total: page.total, node_names, owners })
}

/// One process with its pending changes and the names its ids stand for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessDetail {
    pub process: Process,
    /// Newest first.
    pub changes: Vec<PendingChange>,
    pub node_name: Option<String>,
    /// The placement in words, e.g. "node pool lab".
    pub placement: String,
    pub owner: String,
    /// The node it is being moved to, while it is.
    #[serde(default)]
    pub moving_to: Option<String>,
}

#[server]
pub async fn get_process(id: String) -> Result<ProcessDetail, AppError> {
    let caller = caller().await?;
    let sy = sy();
    let process = sy.processes.get(&caller, &id).await?;
    let changes = sy.processes.changes(&caller, &id).await?;
    let node_name = |node_id: &str| {
        let (sy, caller, node_id) = (sy.clone(), caller.clone(), node_id.to_string());
        async move { sy.nodes.get_node(&caller, &node_id).await.map(|n| n.name).unwrap_or(node_id) }
    };
    let placement = match &process.placement {
        Placement::Automatic => "automatic".to_string(),
        Placement::PrivateNode { node_id } => format!("private node {}", node_name(node_id).await),
        Placement::NodePool { pool_id } => format!(
            "node pool {}",
            sy.nodes.get_pool(&caller, pool_id).await.map(|p| p.name).unwrap_or_else(|_| pool_id.clone())
        ),
    };
    let moving_to = match &process.moving_to_node_id {
        Some(n) => Some(node_name(n).await),
        None => None,
    };
    let node_name = match &process.running_node_id {
        Some(n) => Some(node_name(n).await),
        None => None,
    };
    let owner = if process.user_id == caller.user.id {
        caller.user.username.clone()
    } else {
        sy.users.get(&caller, &process.user_id).await.map(|u| u.username).unwrap_or_else(|_| process.user_id.clone())
    };
    Ok(ProcessDetail { process, changes, node_name, placement, owner, moving_to })
}

/// The last lines of a process's container logs.
#[server]
pub async fn process_logs(id: String) -> Result<Vec<String>, AppError> {
    Ok(sy().processes.logs(&caller().await?, &id, LOG_LINES).await?.lines)
}

/// A service the deploy form offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceChoice {
    pub id: String,
    pub name: String,
}

/// A node pool the deploy form offers, with how many public nodes it has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolChoice {
    pub id: String,
    pub name: String,
    pub nodes: usize,
}

/// What the deploy form offers: the catalogue, the caller's private nodes and the node pools.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeployOptions {
    pub services: Vec<ServiceChoice>,
    /// Set when the registry cannot be read (the list is the last known one, or empty).
    pub catalogue_error: Option<String>,
    pub private_nodes: Vec<Node>,
    pub pools: Vec<PoolChoice>,
    pub username: String,
}

#[server]
pub async fn deploy_choices() -> Result<DeployOptions, AppError> {
    use switchyard_core::{managers::ListParams, model::NodeKind};
    let caller = caller().await?;
    let sy = sy();
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("name".into()) };
    let (services, catalogue_error) = match sy.services.list(&params, None).await {
        Ok((page, status)) => (
            page.items.into_iter().map(|s| ServiceChoice { id: s.id, name: s.name }).collect(),
            status.stale.then(|| status.error.unwrap_or_else(|| "the registry cannot be read".into())),
        ),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let nodes = sy.nodes.list_nodes(&caller, None).await?;
    let private_nodes = nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Private && n.user_id.as_deref() == Some(caller.user.id.as_str()))
        .cloned()
        .collect();
    let pools = sy
        .nodes
        .list_pools(&caller, &params, None)
        .await?
        .items
        .into_iter()
        .map(|p| PoolChoice {
            nodes: nodes
                .iter()
                .filter(|n| n.kind == NodeKind::Public && n.node_pool_id.as_deref() == Some(p.id.as_str()))
                .count(),
            id: p.id,
            name: p.name,
        })
        .collect();
    Ok(DeployOptions { services, catalogue_error, private_nodes, pools, username: caller.user.username })
}

#[server(input = Json)]
pub async fn create_process(new: NewProcess) -> Result<Process, AppError> {
    Ok(sy().processes.create(&caller().await?, new).await?)
}

#[server(input = Json)]
pub async fn update_process(id: String, change: ProcessUpdate) -> Result<Process, AppError> {
    Ok(sy().processes.update(&caller().await?, &id, change).await?)
}

/// Move a process to `placement` (`node:<id>` or `pool:<id>`, as the deploy form's choice).
#[server]
pub async fn move_process(id: String, placement: String) -> Result<Process, AppError> {
    use switchyard_core::model::ProcessMove;
    if placement.is_empty() {
        return Err(AppError {
            code: "validation_failed".into(),
            message: "choose where to move it".into(),
            field: Some("placement".into()),
        });
    }
    let request = ProcessMove { placement: placement_of(&placement), revision: None };
    Ok(sy().processes.move_process(&caller().await?, &id, request).await?)
}

/// Whether the process moves to another node when its node fails.
#[server]
pub async fn set_move_on_failure(id: String, enabled: bool) -> Result<Process, AppError> {
    let change = ProcessUpdate { move_on_failure: Some(enabled), ..Default::default() };
    Ok(sy().processes.update(&caller().await?, &id, change).await?)
}

#[server]
pub async fn suspend_process(id: String) -> Result<Process, AppError> {
    Ok(sy().processes.suspend(&caller().await?, &id).await?)
}

#[server]
pub async fn resume_process(id: String) -> Result<Process, AppError> {
    Ok(sy().processes.resume(&caller().await?, &id).await?)
}

/// Delete a process (it is TERMINATED until its swarm service is gone) and go back to the list.
#[server]
pub async fn delete_process(id: String) -> Result<(), AppError> {
    sy().processes.delete(&caller().await?, &id, None).await?;
    leptos_axum::redirect("/processes?deleted=1");
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Form checks, shared by the deploy form and the configuration editor. They use the same rules
// as the server (switchyard_core::validate), so the form says what is wrong before it is sent.
// ------------------------------------------------------------------------------------------------

/// Messages by field name, as the server names fields (`parameters.interval_ms`,
/// `environment.FOO`, `limits.memory_bytes`, …).
pub type FieldErrors = BTreeMap<String, String>;

/// One row of the environment variable editor; `row` keeps it apart from its neighbours.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvRow {
    pub row: u64,
    pub key: String,
    pub value: String,
}

fn field_of(p: &Parameter) -> String {
    format!("parameters.{}", p.id)
}

/// What a number input holds while its text is not a number (it reports "" then).
pub const NOT_A_NUMBER: &str = "\u{1}not a number";

/// Whether the number input of an input event holds something that is not a number yet.
fn bad_number(ev: &leptos::ev::Event) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use leptos::web_sys::js_sys::Reflect;
        ev.target()
            .and_then(|t| Reflect::get(&t, &"validity".into()).ok())
            .and_then(|v| Reflect::get(&v, &"badInput".into()).ok())
            .and_then(|b| b.as_bool())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// What a parameter's input shows: the value entered, else its default.
pub fn shown_value(p: &Parameter, values: &BTreeMap<String, String>) -> String {
    values.get(&p.id).cloned().or_else(|| p.default.clone()).unwrap_or_default()
}

/// The parameter values to send (empty ones left out, so the server fills in defaults) and
/// what is wrong with them.
pub fn check_parameters(
    declared: &[Parameter],
    values: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, FieldErrors) {
    let mut send = BTreeMap::new();
    let mut errors = FieldErrors::new();
    for p in declared {
        let mut value = shown_value(p, values);
        if p.kind == ParameterType::Boolean && !p.is_array && value.is_empty() && !p.is_optional {
            value = "false".into();
        }
        if value == NOT_A_NUMBER {
            let what = if matches!(p.kind, ParameterType::Float | ParameterType::Double) {
                "a number"
            } else {
                "a whole number"
            };
            errors.insert(field_of(p), format!("{} must be {what}", p.name));
            continue;
        }
        if value.trim().is_empty() {
            if p.default.is_none() && !p.is_optional {
                errors.insert(field_of(p), format!("{} is required", p.name));
            }
            continue;
        }
        match validate::parameter_value(p, &value) {
            Ok(()) => {
                send.insert(p.id.clone(), value);
            }
            Err(e) => {
                errors.insert(e.field().map(str::to_string).unwrap_or_else(|| field_of(p)), e.to_string());
            }
        }
    }
    if errors.is_empty() {
        // Anything the per-field checks missed, exactly as the server will see it.
        if let Err(e) = validate::parameters(declared, &send) {
            errors.insert(e.field().unwrap_or("parameters").to_string(), e.to_string());
        }
    }
    (send, errors)
}

/// The field of a row's own messages (the server's are about `environment.<NAME>`).
pub fn env_field(row: &EnvRow) -> String {
    format!("environment.#{}", row.row)
}

/// The environment to send (blank rows left out) and what is wrong with it.
pub fn check_environment(rows: &[EnvRow]) -> (BTreeMap<String, String>, FieldErrors) {
    let mut send = BTreeMap::new();
    let mut errors = FieldErrors::new();
    for row in rows {
        let key = row.key.trim();
        if key.is_empty() {
            if !row.value.is_empty() {
                errors.insert(env_field(row), "give the variable a name".into());
            }
            continue;
        }
        if send.contains_key(key) {
            errors.insert(env_field(row), format!("{key} is set twice"));
            continue;
        }
        let one = BTreeMap::from([(key.to_string(), row.value.clone())]);
        match validate::environment(&one) {
            Ok(_) => {
                send.insert(key.to_string(), row.value.clone());
            }
            Err(e) => {
                errors.insert(env_field(row), e.to_string());
            }
        }
    }
    (send, errors)
}

const MIB: u64 = 1024 * 1024;

/// Limits from the form's memory (MiB) and CPUs; empty means no limit of its own.
pub fn check_limits(memory_mib: &str, cpus: &str) -> (ResourceLimits, FieldErrors) {
    let mut limits = ResourceLimits::default();
    let mut errors = FieldErrors::new();
    let memory_mib = memory_mib.trim();
    if !memory_mib.is_empty() {
        match memory_mib.parse::<u64>() {
            Ok(0) => {}
            Ok(m) if m < 4 => {
                errors.insert("limits.memory_bytes".into(), "a memory limit must be at least 4 MiB".into());
            }
            Ok(m) if m.checked_mul(MIB).is_none() => {
                errors.insert("limits.memory_bytes".into(), "that is more memory than any machine has".into());
            }
            Ok(m) => limits.memory_bytes = m * MIB,
            Err(_) => {
                errors.insert("limits.memory_bytes".into(), "memory must be a whole number of MiB".into());
            }
        }
    }
    let cpus = cpus.trim();
    if !cpus.is_empty() {
        match cpus.parse::<f64>() {
            Ok(c) if c.is_finite() && (0.0..=1_000_000.0).contains(&c) => {
                limits.nano_cpus = (c * 1e9).round() as u64;
                if c > 0.0 && limits.nano_cpus < 1_000_000 {
                    errors.insert("limits.nano_cpus".into(), "give at least 0.001 CPUs".into());
                }
            }
            _ => {
                errors.insert("limits.nano_cpus".into(), "CPUs must be a number such as 0.5 or 2".into());
            }
        }
    }
    (limits, errors)
}

/// The message for a process name, if it is not acceptable (an empty name takes the default).
pub fn check_name(name: &str, may_be_empty: bool) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if !(may_be_empty && name.trim().is_empty()) {
        if let Err(e) = validate::process_name(name) {
            errors.insert("name".into(), e.to_string());
        }
    }
    errors
}

/// Placement from the form's choice: `automatic`, `node:<id>` or `pool:<id>`.
pub fn placement_of(choice: &str) -> Placement {
    if let Some(id) = choice.strip_prefix("node:") {
        Placement::PrivateNode { node_id: id.to_string() }
    } else if let Some(id) = choice.strip_prefix("pool:") {
        Placement::NodePool { pool_id: id.to_string() }
    } else {
        Placement::Automatic
    }
}

/// The errors a form shows: the server's about one field until that field changes, and the
/// client's once a field has been changed or the form submitted.
#[derive(Clone, Copy)]
struct FormErrors {
    client: Memo<FieldErrors>,
    server: RwSignal<Option<AppError>>,
    touched: RwSignal<BTreeSet<String>>,
    submitted: RwSignal<bool>,
}

impl FormErrors {
    fn new(client: Memo<FieldErrors>) -> Self {
        Self {
            client,
            server: RwSignal::new(None),
            touched: RwSignal::new(BTreeSet::new()),
            submitted: RwSignal::new(false),
        }
    }

    fn get(&self, field: &str) -> Option<String> {
        if let Some(m) = self.server.with(|e| e.as_ref().and_then(|e| e.for_field(field))) {
            return Some(m);
        }
        if self.submitted.get() || self.touched.with(|t| t.contains(field)) {
            self.client.with(|c| c.get(field).cloned())
        } else {
            None
        }
    }

    /// The first message about any field starting with `prefix`.
    fn get_prefixed(&self, prefix: &str) -> Option<String> {
        if let Some(m) = self.server.with(|e| {
            e.as_ref().filter(|e| e.field.as_deref().is_some_and(|f| f.starts_with(prefix))).map(|e| e.message.clone())
        }) {
            return Some(m);
        }
        None
    }

    /// `aria-invalid` of a field's input.
    fn invalid(&self, field: &str) -> Rx<Option<&'static str>> {
        let (errors, field) = (*self, field.to_string());
        rx(move || errors.get(&field).is_some().then_some("true"))
    }

    fn touch(&self, field: &str) {
        if !self.touched.with_untracked(|t| t.contains(field)) {
            self.touched.update(|t| {
                t.insert(field.to_string());
            });
        }
        if self.server.with_untracked(|e| e.as_ref().is_some_and(|e| e.field.as_deref() == Some(field))) {
            self.server.set(None);
        }
    }
}

fn dom_id(field: &str) -> String {
    field.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect()
}

/// A field's message under it, announced when it appears.
#[component]
fn FieldMessage(errors: FormErrors, field: String) -> impl IntoView {
    let id = format!("{}-error", dom_id(&field));
    let f = field.clone();
    rv(move || {
        errors
            .get(&f)
            .map(|m| view! { <span class="field-error" id=id.clone() role="alert" data-field=field.clone()>{m}</span> })
    })
}

fn type_hint(p: &Parameter) -> String {
    use ParameterType as T;
    let (one, many) = match p.kind {
        T::Boolean => ("true or false", "true/false values"),
        T::Byte | T::Short | T::Integer | T::Long => ("a whole number", "whole numbers"),
        T::Float | T::Double => ("a number", "numbers"),
        T::Character => ("one character", "single characters"),
        T::String => ("text", "texts"),
    };
    let mut hint = if p.is_array {
        format!(
            "Comma-separated list of {many}, e.g. {}",
            match p.kind {
                T::Boolean => "true, false",
                T::Byte | T::Short | T::Integer | T::Long => "1, 2, 3",
                T::Float | T::Double => "0.5, 1.5",
                T::Character => "a, b",
                T::String => "one, two",
            }
        )
    } else if p.values.as_ref().is_some_and(|v| !v.is_empty()) {
        String::new()
    } else {
        let mut h = one.to_string();
        h[..1].make_ascii_uppercase();
        h
    };
    if let Some(values) = p.values.as_ref().filter(|v| !v.is_empty() && p.is_array) {
        hint.push_str(&format!("; allowed: {}", values.join(", ")));
    }
    if let Some(d) = &p.default {
        if !hint.is_empty() {
            hint.push_str(". ");
        }
        hint.push_str(&format!("Default: {}", if d.is_empty() { "(empty)" } else { d }));
    }
    hint
}

fn number_limits(kind: ParameterType) -> Option<(&'static str, Option<&'static str>, Option<&'static str>)> {
    use ParameterType as T;
    match kind {
        T::Byte => Some(("1", Some("-128"), Some("127"))),
        T::Short => Some(("1", Some("-32768"), Some("32767"))),
        T::Integer => Some(("1", Some("-2147483648"), Some("2147483647"))),
        T::Long => Some(("1", None, None)),
        T::Float | T::Double => Some(("any", None, None)),
        _ => None,
    }
}

/// The input for one declared parameter, chosen by its type.
#[component]
fn ParameterField(p: Parameter, values: RwSignal<BTreeMap<String, String>>, errors: FormErrors) -> impl IntoView {
    let field = field_of(&p);
    let input_id = format!("param-{}", dom_id(&p.id));
    let hint_id = format!("{input_id}-hint");
    let error_id = format!("{}-error", dom_id(&field));
    let described = format!("{hint_id} {error_id}");
    let required = p.default.is_none() && !p.is_optional;
    let hint = type_hint(&p);
    // The inputs belong to the browser once shown (a number input reports "" while its text
    // is not a number yet, which must not be written back); they start from these values.
    let shown = values.with_untracked(|v| shown_value(&p, v));
    let set = {
        let (id, field) = (p.id.clone(), field.clone());
        move |value: String| {
            values.update(|v| {
                v.insert(id.clone(), value);
            });
            errors.touch(&field);
        }
    };
    let invalid = errors.invalid(&field);
    let label = view! {
        <span>{p.name.clone()}{required.then(|| view! { <span class="required" title="required">" *"</span> })}</span>
    };
    let id_line = view! { <code class="muted small param-id">{p.id.clone()}</code> };
    let input = if p.kind == ParameterType::Boolean && !p.is_array {
        let set = set.clone();
        view! {
            <label class="check" for=input_id.clone()>
                <input type="checkbox" id=input_id.clone() name=field.clone()
                    prop:checked=shown == "true"
                    aria-describedby=described.clone() aria-invalid=invalid
                    on:change=move |ev| set(if event_target_checked(&ev) { "true".into() } else { "false".into() })/>
                {label}
                {id_line}
            </label>
        }
        .into_any()
    } else if let Some(options) = p.values.clone().filter(|v| !v.is_empty() && !p.is_array) {
        let labels = p.labels.clone().unwrap_or_default();
        let set = set.clone();
        let placeholder = if required { "Choose…" } else { "(not set)" };
        view! {
            <label for=input_id.clone()>{label} {id_line}</label>
            <select id=input_id.clone() name=field.clone() aria-required=required.then_some("true")
                aria-describedby=described.clone() aria-invalid=invalid
                on:change=move |ev| set(event_target_value(&ev))>
                <option value="" selected=shown.is_empty()>{placeholder}</option>
                {options.into_iter().enumerate().map(|(i, v)| {
                    // The label, with the value only when it says something else.
                    let text = match labels.get(i).filter(|l| !l.is_empty()) {
                        Some(l) if l.eq_ignore_ascii_case(&v) => l.clone(),
                        Some(l) => format!("{l} ({v})"),
                        None => v.clone(),
                    };
                    let is = shown == v;
                    view! { <option value=v selected=is>{text}</option> }
                }).collect_view()}
            </select>
        }
        .into_any()
    } else {
        let number = if p.is_array { None } else { number_limits(p.kind) };
        let (kind, step, min, max) = match number {
            Some((step, min, max)) => ("number", Some(step), min, max),
            None => ("text", None, None, None),
        };
        let maxlength = (p.kind == ParameterType::Character && !p.is_array).then_some("1");
        let placeholder = p.default.clone();
        let set = set.clone();
        view! {
            <label for=input_id.clone()>{label} {id_line}</label>
            <input type=kind id=input_id.clone() name=field.clone() step=step min=min max=max maxlength=maxlength
                placeholder=placeholder aria-required=required.then_some("true")
                aria-describedby=described.clone() aria-invalid=invalid
                prop:value=shown.clone()
                on:input=move |ev| set(if bad_number(&ev) { NOT_A_NUMBER.to_string() } else { event_target_value(&ev) })/>
        }
        .into_any()
    };
    view! {
        <div class="field" data-parameter=p.id.clone()>
            {input}
            {(!hint.is_empty()).then(|| view! { <span class="hint" id=hint_id>{hint}</span> })}
            <FieldMessage errors field=field.clone()/>
        </div>
    }
    .into_any()
}

/// The generated inputs of a service version's parameters.
#[component]
fn ParameterFields(
    declared: Vec<Parameter>,
    values: RwSignal<BTreeMap<String, String>>,
    errors: FormErrors,
) -> impl IntoView {
    if declared.is_empty() {
        return view! { <p class="muted">"This service version has no parameters."</p> }.into_any();
    }
    declared.into_iter().map(|p| view! { <ParameterField p values errors/> }).collect_view().into_any()
}

/// Free environment variables as name/value rows.
#[component]
fn EnvironmentRows(rows: RwSignal<Vec<EnvRow>>, next_row: StoredValue<u64>, errors: FormErrors) -> impl IntoView {
    let add = move |_| {
        let row = next_row.get_value();
        next_row.set_value(row + 1);
        rows.update(|r| r.push(EnvRow { row, ..Default::default() }));
    };
    let key_of =
        move |row: u64| rows.with(|r| r.iter().find(|x| x.row == row).map(|x| x.key.clone()).unwrap_or_default());
    let value_of =
        move |row: u64| rows.with(|r| r.iter().find(|x| x.row == row).map(|x| x.value.clone()).unwrap_or_default());
    let server_field = move |row: u64| format!("environment.{}", key_of(row).trim());
    let row_field = move |row: u64| format!("environment.#{row}");
    // The server's message about the row's name, else the form's own about the row.
    let message = move |row: u64| {
        errors
            .server
            .with(|e| e.as_ref().and_then(|e| e.for_field(&server_field(row))))
            .or_else(|| errors.get(&row_field(row)))
    };
    view! {
        <div class="stack-tight">
            <For each=move || rows.get() key=|r| r.row let:r>
                {
                    let row = r.row;
                    let n = move || rows.with(|all| all.iter().position(|x| x.row == row).map(|i| i + 1).unwrap_or(0));
                    view! {
                        <div class="env-row" data-env-row=row>
                            <label>
                                <span class="visually-hidden">{rx(move || format!("Name of variable {}", n()))}</span>
                                <input class="mono" placeholder="NAME" autocomplete="off" spellcheck="false"
                                    prop:value=rx(move || key_of(row))
                                    aria-invalid=rx(move || message(row).is_some().then_some("true"))
                                    on:input=move |ev| {
                                        errors.touch(&server_field(row));
                                        rows.update(|all| if let Some(x) = all.iter_mut().find(|x| x.row == row) { x.key = event_target_value(&ev) });
                                        errors.touch(&row_field(row));
                                    }/>
                            </label>
                            <label>
                                <span class="visually-hidden">{rx(move || format!("Value of variable {}", n()))}</span>
                                <input placeholder="value" autocomplete="off"
                                    prop:value=rx(move || value_of(row))
                                    on:input=move |ev| {
                                        rows.update(|all| if let Some(x) = all.iter_mut().find(|x| x.row == row) { x.value = event_target_value(&ev) });
                                        errors.touch(&server_field(row));
                                        errors.touch(&row_field(row));
                                    }/>
                            </label>
                            <button type="button" class="small"
                                aria-label=rx(move || format!("Remove variable {}", { let k = key_of(row); if k.is_empty() { n().to_string() } else { k } }))
                                on:click=move |_| rows.update(|all| all.retain(|x| x.row != row))>"Remove"</button>
                            {rv(move || message(row).map(|m| view! { <span class="field-error env-error" role="alert" data-field=server_field(row)>{m}</span> }))}
                        </div>
                    }
                    .into_any()
                }
            </For>
            {rv(move || rows.with(|r| r.is_empty()).then(|| view! { <p class="muted small">"No variables."</p> }))}
            <div><button type="button" class="small" on:click=add>"Add variable"</button></div>
        </div>
    }
    .into_any()
}

// ------------------------------------------------------------------------------------------------
// Small views
// ------------------------------------------------------------------------------------------------

/// A process state as a coloured badge; its reason shows on hover.
#[component]
pub fn StateBadge(state: ProcessState, #[prop(optional_no_strip)] reason: Option<String>) -> impl IntoView {
    view! {
        <span class=format!("state-badge state-{}", state.as_str().to_lowercase()) title=reason data-state=state.as_str()>
            {state.as_str()}
        </span>
    }
}

fn placement_words(p: &Placement, pools: &[PoolChoice], nodes: &[Node]) -> String {
    match p {
        Placement::Automatic => "automatic".into(),
        Placement::PrivateNode { node_id } => {
            format!(
                "private node {}",
                nodes.iter().find(|n| &n.id == node_id).map(|n| n.name.as_str()).unwrap_or(node_id)
            )
        }
        Placement::NodePool { pool_id } => {
            format!("node pool {}", pools.iter().find(|n| &n.id == pool_id).map(|n| n.name.as_str()).unwrap_or(pool_id))
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The list
// ------------------------------------------------------------------------------------------------

#[component]
pub fn ProcessesPage() -> impl IntoView {
    let query = use_query_map();
    let owner = Memo::new(move |_| query.read().get("owner").unwrap_or_default());
    let node = Memo::new(move |_| query.read().get("node").unwrap_or_default());
    let deleted = move || query.read().get("deleted").is_some();
    let list = Resource::new(move || (owner.get(), node.get()), |(owner, node)| list_processes(owner, node));
    let navigate = use_navigate();
    view! {
        <Title text="Processes"/>
        <div class="page-head">
            <h1>"Processes"</h1>
            <A href="/processes/new" attr:class="button primary">"New process"</A>
        </div>
        {rv(move || deleted().then(|| view! {
            <p class="notice" role="status">"The process is being deleted; it disappears from the list when its container is gone."</p>
        }))}
        <Transition fallback=Loading>
            {rv(move || {
                let navigate = navigate.clone();
                Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(l) => {
                            let filter = (!l.owners.is_empty()).then(|| {
                                let owners = l.owners.clone();
                                let navigate = navigate.clone();
                                let current = owner.get_untracked();
                                view! {
                                    <Form method="GET" action="" attr:class="toolbar" attr:role="search">
                                        <label class="inline-label">
                                            "Owner"
                                            <select name="owner" on:change=move |ev| {
                                                let v = event_target_value(&ev);
                                                let to = if v.is_empty() { "/processes".to_string() } else { format!("/processes?owner={v}") };
                                                navigate(&to, NavigateOptions::default());
                                            }>
                                                <option value="" selected=current.is_empty()>"Everyone"</option>
                                                {owners.into_iter().map(|(id, name)| {
                                                    let selected = id == current;
                                                    view! { <option value=id selected=selected>{name}</option> }
                                                }).collect_view()}
                                            </select>
                                        </label>
                                        <noscript><button type="submit">"Filter"</button></noscript>
                                    </Form>
                                }
                            });
                            let on_node = node.get_untracked();
                            let node_notice = (!on_node.is_empty()).then(|| {
                                let name = l.node_names.get(&on_node).cloned().unwrap_or_else(|| on_node.clone());
                                view! {
                                    <p class="notice" role="status" data-node-filter=on_node.clone()>
                                        {format!("Only the processes on node {name}. ")}
                                        <A href="/processes">"Show all"</A>
                                    </p>
                                }
                            });
                            view! { {filter} {node_notice} <ProcessTable initial=l owner=owner.get_untracked() node=on_node/> }.into_any()
                        }
                    }
                })
            })}
        </Transition>
    }
}

/// The process table, refreshed every two seconds while it is shown.
#[component]
fn ProcessTable(initial: ProcessList, owner: String, node: String) -> impl IntoView {
    let show_owner = !initial.owners.is_empty();
    let list = RwSignal::new(initial);
    let announce = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let refresh = one_at_a_time(
        move || list_processes(owner.clone(), node.clone()),
        move |fresh| match fresh {
            Ok(fresh) => {
                let _ = error.try_set(None);
                let changed = list.try_with_untracked(|old| {
                    if old == &fresh {
                        return None;
                    }
                    let news: Vec<String> = fresh
                        .items
                        .iter()
                        .filter_map(|p| match old.items.iter().find(|o| o.id == p.id) {
                            Some(o) if o.state == p.state => None,
                            _ => Some(format!("{} is {}", p.name, p.state)),
                        })
                        .chain(
                            old.items
                                .iter()
                                .filter(|o| !fresh.items.iter().any(|p| p.id == o.id))
                                .map(|o| format!("{} is gone", o.name)),
                        )
                        .collect();
                    Some(news)
                });
                if let Some(Some(news)) = changed {
                    if !news.is_empty() {
                        let _ = announce.try_set(news.join("; "));
                    }
                    let _ = list.try_set(fresh);
                }
            }
            Err(e) => {
                let _ = error.try_set(Some(e));
            }
        },
    );
    poll_while_mounted(POLL_EVERY, refresh);
    view! {
        <p class="visually-hidden" aria-live="polite">{rx(move || announce.get())}</p>
        {rv(move || error.get().map(|e| view! { <ErrorMessage error=e/> }))}
        {rv(move || if list.with(|l| l.items.is_empty()) {
            view! {
                <EmptyState title="No processes yet">
                    "Choose a service in the " <A href="/services">"catalogue"</A> " and deploy it, or use " <A href="/processes/new">"New process"</A> "."
                </EmptyState>
            }.into_any()
        } else {
            view! {
                <table class="list processes">
                    <thead>
                        <tr>
                            <th>"Name"</th><th>"Service"</th><th>"State"</th><th>"Node"</th>
                            {show_owner.then(|| view! { <th>"Owner"</th> })}
                            <th>"Created"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || list.with(|l| l.items.clone()) key=|p| (p.id.clone(), p.revision) let:p>
                            {
                                let node = p.running_node_id.clone().map(|n| list.with_untracked(|l| l.node_names.get(&n).cloned().unwrap_or(n)));
                                let owner = show_owner.then(|| {
                                    let name = list.with_untracked(|l| l.owners.iter().find(|(id, _)| id == &p.user_id).map(|(_, n)| n.clone()).unwrap_or_else(|| p.user_id.clone()));
                                    view! { <td>{name}</td> }
                                });
                                let (label, row_id, href, name) = (p.name.clone(), p.id.clone(), format!("/processes/{}", p.id), p.name.clone());
                                view! {
                                    <tr data-process=label data-id=row_id>
                                        <td><A href=href>{name}</A></td>
                                        <td><A href=format!("/services/{}", p.service_id)>{p.service_id.clone()}</A>" "<span class="muted">{p.service_version.clone()}</span></td>
                                        <td>
                                            <StateBadge state=p.state reason=p.state_reason.clone()/>
                                            {p.state_reason.clone().map(|r| view! { <div class="muted small reason">{r}</div> })}
                                        </td>
                                        <td>{node.unwrap_or_else(|| "—".into())}</td>
                                        {owner}
                                        <td class="muted">{when(&p.created)}</td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
                {rv(move || list.with(|l| (l.total > l.items.len() as u64).then(|| format!("Showing the newest {} of {} processes.", l.items.len(), l.total)))
                    .map(|t| view! { <p class="muted small">{t}</p> }))}
            }.into_any()
        })}
    }
}

// ------------------------------------------------------------------------------------------------
// Deploying
// ------------------------------------------------------------------------------------------------

#[component]
pub fn NewProcessPage() -> impl IntoView {
    let query = use_query_map();
    let choices = Resource::new(|| (), |_| deploy_choices());
    view! {
        <Title text="New process"/>
        <div class="page-head">
            <h1>"Deploy a process"</h1>
            <A href="/processes">"All processes"</A>
        </div>
        <Transition fallback=Loading>
            {move || {
                // A new address (back to another service's Deploy link) starts the form afresh.
                let (service, version) = query.with(|q| (q.get("service").unwrap_or_default(), q.get("version").unwrap_or_default()));
                Suspend::new(async move {
                    match choices.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(c) => view! { <DeployForm choices=c service version/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn DeployForm(choices: DeployOptions, service: String, version: String) -> impl IntoView {
    let DeployOptions { services, catalogue_error, private_nodes, pools, username } = choices;
    let known_service = services.iter().any(|s| s.id == service);
    let service = RwSignal::new(service);
    let version = RwSignal::new(version);
    let name = RwSignal::new(String::new());
    let placement = RwSignal::new("automatic".to_string());
    let move_on_failure = RwSignal::new(false);
    let values = RwSignal::new(BTreeMap::<String, String>::new());
    let rows = RwSignal::new(Vec::<EnvRow>::new());
    let next_row = StoredValue::new(0u64);
    let memory = RwSignal::new(String::new());
    let cpus = RwSignal::new(String::new());

    // Every version of the chosen service, newest first (in the browser only).
    let versions = LocalResource::new(move || {
        let id = service.get();
        async move {
            if id.is_empty() {
                Ok(Vec::new())
            } else {
                service_versions(id).await
            }
        }
    });
    let selected = Memo::new(move |_| -> Option<Service> {
        let v = version.get();
        versions
            .get()
            .and_then(|r| r.ok())
            .and_then(|list| list.iter().find(|s| s.version == v).or_else(|| list.first()).cloned())
    });
    let service_name = {
        let services = services.clone();
        move || {
            let id = service.get();
            services.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or(id)
        }
    };

    let client = Memo::new(move |_| {
        let mut errors = check_name(&name.get(), true);
        if service.with(|s| s.is_empty()) {
            errors.insert("service_id".into(), "choose a service".into());
        }
        if let Some(s) = selected.get() {
            errors.extend(values.with(|v| check_parameters(&s.parameters, v)).1);
        }
        errors.extend(rows.with(|r| check_environment(r)).1);
        errors.extend(check_limits(&memory.get(), &cpus.get()).1);
        errors
    });
    let errors = FormErrors::new(client);
    let create = ServerAction::<CreateProcess>::new();
    let ready = hydrated();
    let navigate = use_navigate();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(p)) => navigate(&format!("/processes/{}?created=1", p.id), NavigateOptions::default()),
        Some(Err(e)) => errors.server.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.submitted.set(true);
        errors.server.set(None);
        if !client.get_untracked().is_empty() {
            return;
        }
        let Some(s) = selected.get_untracked() else { return };
        let parameters = values.with_untracked(|v| check_parameters(&s.parameters, v).0);
        let environment = rows.with_untracked(|r| check_environment(r).0);
        let limits = check_limits(&memory.get_untracked(), &cpus.get_untracked()).0;
        let new = NewProcess {
            name: Some(name.get_untracked().trim().to_string()).filter(|n| !n.is_empty()),
            service_id: s.id.clone(),
            service_version: Some(s.version.clone()),
            placement: Some(placement_of(&placement.get_untracked())),
            parameters,
            environment,
            limits,
            move_on_failure: move_on_failure.get_untracked(),
            ..Default::default()
        };
        create.dispatch(CreateProcess { new });
    };
    // Server messages about fields this form does not show go above the buttons.
    let general_error = move || {
        errors.server.get().filter(|e| match e.field.as_deref() {
            None => true,
            Some(f) => {
                !(f == "name"
                    || f == "service_id"
                    || f == "service_version"
                    || f.starts_with("placement")
                    || f.starts_with("limits.")
                    || f.starts_with("environment.")
                    || (f.starts_with("parameters.")
                        && selected
                            .with(|s| s.as_ref().is_some_and(|s| s.parameters.iter().any(|p| field_of(p) == f)))))
            }
        })
    };
    let private_empty = private_nodes.is_empty();
    let pools_empty = pools.is_empty();
    let nowhere = private_empty && pools.iter().all(|p| p.nodes == 0);
    let placement_words_now = {
        let (pools, nodes) = (pools.clone(), private_nodes.clone());
        move || placement_words(&placement_of(&placement.get()), &pools, &nodes)
    };
    let service_part = view! {
            <fieldset>
                <legend>"Service"</legend>
                <div class="grid-2">
                    <div class="field">
                        <label for="service">"Service" <span class="required" title="required">" *"</span></label>
                        <select id="service" name="service" aria-required="true"
                            aria-invalid=errors.invalid("service_id")
                            on:change=move |ev| {
                                service.set(event_target_value(&ev));
                                version.set(String::new());
                                values.set(BTreeMap::new());
                                errors.touch("service_id");
                            }>
                            <option value="" selected=!known_service>"Choose a service…"</option>
                            {services.iter().map(|s| {
                                let id = s.id.clone();
                                let selected = move || service.get() == id;
                                view! { <option value=s.id.clone() selected=selected>{format!("{} ({})", s.name, s.id)}</option> }
                            }).collect_view()}
                        </select>
                        <FieldMessage errors field="service_id".to_string()/>
                    </div>
                    <div class="field">
                        <label for="version">"Version"</label>
                        <select id="version" name="version"
                            aria-invalid=errors.invalid("service_version")
                            on:change=move |ev| { version.set(event_target_value(&ev)); errors.touch("service_version"); }>
                            {rv(move || match versions.get() {
                                None => view! { <option value="">"Loading…"</option> }.into_any(),
                                Some(Err(e)) => view! { <option value="">{e.message}</option> }.into_any(),
                                Some(Ok(list)) if list.is_empty() => view! { <option value="">"—"</option> }.into_any(),
                                Some(Ok(list)) => {
                                    let chosen = selected.get().map(|s| s.version).unwrap_or_default();
                                    list.into_iter().enumerate().map(|(i, s)| {
                                        let text = if i == 0 { format!("{} (newest)", s.version) } else { s.version.clone() };
                                        let is = s.version == chosen;
                                        view! { <option value=s.version.clone() selected=is>{text}</option> }
                                    }).collect_view().into_any()
                                }
                            })}
                        </select>
                        <FieldMessage errors field="service_version".to_string()/>
                    </div>
                </div>
                {rv(move || match versions.get() {
                    Some(Err(e)) => Some(view! { <ErrorMessage error=e/> }.into_any()),
                    _ => selected.get().filter(|s| !s.problems.is_empty()).map(|s| view! {
                        <div class="notice" role="note">{s.problems.into_iter().map(|p| view! { <div>{p}</div> }).collect_view()}</div>
                    }.into_any()),
                })}
                <div class="field">
                    <label for="name">"Name"</label>
                    <input id="name" name="name" autocomplete="off"
                        placeholder=rx(move || format!("{} @{}", service_name(), username))
                        aria-describedby="name-hint name-error"
                        aria-invalid=errors.invalid("name")
                        prop:value=rx(move || name.get())
                        on:input=move |ev| { name.set(event_target_value(&ev)); errors.touch("name"); }/>
                    <span class="hint" id="name-hint">"Leave empty for the name shown."</span>
                    <FieldMessage errors field="name".to_string()/>
                </div>
            </fieldset>
    }
    .into_any();
    let placement_part = view! {
            <fieldset>
                <legend>"Placement"</legend>
                {nowhere.then(|| view! {
                    <p class="notice" role="note">
                        "There is no node you may deploy to yet: an administrator must make a node public (in a node pool) or yours."
                    </p>
                })}
                <div class="field">
                    <label for="placement">"Where it runs"</label>
                    <select id="placement" name="placement" aria-describedby="placement-hint placement-error"
                        aria-invalid=rx(move || errors.get_prefixed("placement").is_some().then_some("true"))
                        on:change=move |ev| {
                            placement.set(event_target_value(&ev));
                            if errors.server.with_untracked(|e| e.as_ref().is_some_and(|e| e.field.as_deref().is_some_and(|f| f.starts_with("placement")))) {
                                errors.server.set(None);
                            }
                        }>
                        <option value="automatic" selected=true>"Automatic: the least busy node I may use"</option>
                        <optgroup label="My private nodes">
                            {private_empty.then(|| view! { <option value="" disabled=true>"You have no private nodes"</option> })}
                            {private_nodes.iter().map(|n| view! {
                                <option value=format!("node:{}", n.id)>{format!("{} ({})", n.name, format!("{:?}", n.architecture).to_lowercase().replace("x86_64", "x86-64"))}</option>
                            }).collect_view()}
                        </optgroup>
                        <optgroup label="Public node pools">
                            {pools_empty.then(|| view! { <option value="" disabled=true>"There are no node pools"</option> })}
                            {pools.iter().map(|p| view! {
                                <option value=format!("pool:{}", p.id) disabled=p.nodes == 0>
                                    {format!("{} ({})", p.name, match p.nodes { 0 => "no nodes".to_string(), 1 => "1 node".to_string(), n => format!("{n} nodes") })}
                                </option>
                            }).collect_view()}
                        </optgroup>
                    </select>
                    <span class="hint" id="placement-hint">{rx(move || format!("Placement: {}.", placement_words_now()))}</span>
                    {rv(move || errors.get_prefixed("placement").map(|m| view! { <span class="field-error" id="placement-error" role="alert" data-field="placement">{m}</span> }))}
                </div>
                <label class="check">
                    <input type="checkbox" name="move_on_failure"
                        prop:checked=move_on_failure
                        on:change=move |ev| move_on_failure.set(event_target_checked(&ev))/>
                    " Move it to another node I may use when its node fails"
                </label>
            </fieldset>
    }
    .into_any();
    let config_part = view! {
            <fieldset class="parameters">
                <legend>"Configuration"</legend>
                {rv(move || match (versions.get(), selected.get()) {
                    (None, _) if !service.with(|s| s.is_empty()) => view! { <Loading/> }.into_any(),
                    (_, None) => view! { <p class="muted">"Choose a service to see its parameters."</p> }.into_any(),
                    (_, Some(s)) => view! { <ParameterFields declared=s.parameters values errors/> }.into_any(),
                })}
            </fieldset>
    }
    .into_any();
    let env_part = view! {
            <fieldset>
                <legend>"Environment variables"</legend>
                <p class="hint">"Set in the process's container, beside the parameters the service declares."</p>
                <EnvironmentRows rows next_row errors/>
            </fieldset>
    }
    .into_any();
    let limits_part = view! {
            <details class="advanced">
                <summary>"Advanced: resource limits"</summary>
                <fieldset>
                    <legend class="visually-hidden">"Resource limits"</legend>
                    <div class="grid-2">
                        <div class="field">
                            <label for="memory">"Memory (MiB)"</label>
                            <input id="memory" type="number" min="4" step="1" inputmode="numeric" placeholder="no limit"
                                aria-describedby="memory-hint limits-memory_bytes-error"
                                aria-invalid=errors.invalid("limits.memory_bytes")
                                prop:value=memory.get_untracked()
                                on:input=move |ev| {
                                    memory.set(if bad_number(&ev) { NOT_A_NUMBER.to_string() } else { event_target_value(&ev) });
                                    errors.touch("limits.memory_bytes");
                                }/>
                            <span class="hint" id="memory-hint">"At least 4 MiB; empty for no limit of its own."</span>
                            <FieldMessage errors field="limits.memory_bytes".to_string()/>
                        </div>
                        <div class="field">
                            <label for="cpus">"CPUs"</label>
                            <input id="cpus" type="number" min="0" step="0.1" inputmode="decimal" placeholder="no limit"
                                aria-describedby="cpus-hint limits-nano_cpus-error"
                                aria-invalid=errors.invalid("limits.nano_cpus")
                                prop:value=cpus.get_untracked()
                                on:input=move |ev| {
                                    cpus.set(if bad_number(&ev) { NOT_A_NUMBER.to_string() } else { event_target_value(&ev) });
                                    errors.touch("limits.nano_cpus");
                                }/>
                            <span class="hint" id="cpus-hint">"e.g. 0.5 for half a core; empty for no limit of its own."</span>
                            <FieldMessage errors field="limits.nano_cpus".to_string()/>
                        </div>
                    </div>
                </fieldset>
            </details>
    }
    .into_any();
    view! {
        <form class="card stack deploy-form" novalidate on:submit=submit aria-describedby="deploy-intro">
            <p class="muted" id="deploy-intro">"Fields marked " <span class="required">"*"</span> " are required."</p>
            {catalogue_error.map(|e| view! { <p class="error" role="alert">"The registry cannot be read right now: " {e}</p> })}
            {service_part}
            {placement_part}
            {config_part}
            {env_part}
            {limits_part}

            {rv(move || (errors.submitted.get() && !client.with(|c| c.is_empty()))
                .then(|| view! { <p class="error" role="alert">"Some fields need attention; see the messages next to them."</p> }))}
            {rv(move || general_error().map(|e| view! { <ErrorMessage error=e/> }))}
            <div class="actions">
                <button type="submit" class="primary" disabled=rx(move || !ready.get() || create.pending().get() || selected.with(|s| s.is_none()))>
                    {rv(move || if create.pending().get() { "Deploying…" } else { "Deploy" })}
                </button>
                <A href="/processes">"Cancel"</A>
            </div>
        </form>
    }
}

// ------------------------------------------------------------------------------------------------
// One process
// ------------------------------------------------------------------------------------------------

#[component]
pub fn ProcessPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let initial = Resource::new(move || id.get(), get_process);
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match initial.await {
                    Err(e) => view! {
                        <Title text="Process"/>
                        <div class="page-head"><h1>"Process"</h1><A href="/processes">"All processes"</A></div>
                        <ErrorMessage error=e/>
                    }.into_any(),
                    Ok(d) => view! { <ProcessView initial=d/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProcessView(initial: ProcessDetail) -> impl IntoView {
    let id = initial.process.id.clone();
    let detail = RwSignal::new(initial);
    let gone = RwSignal::new(None::<AppError>);
    let query = use_query_map();
    let created = query.read_untracked().get("created").is_some();

    let refresh = one_at_a_time(
        {
            let id = id.clone();
            move || get_process(id.clone())
        },
        move |fresh| match fresh {
            Ok(d) => {
                let _ = gone.try_set(None);
                if detail.try_with_untracked(|old| old != &d) == Some(true) {
                    let _ = detail.try_set(d);
                }
            }
            Err(e) => {
                let _ = gone.try_set(Some(e));
            }
        },
    );
    poll_while_mounted(POLL_EVERY, refresh.clone());

    let suspend = ServerAction::<SuspendProcess>::new();
    let resume = ServerAction::<ResumeProcess>::new();
    let delete = ServerAction::<DeleteProcess>::new();
    let retry = ServerAction::<RetryPendingChange>::new();
    let cancel = ServerAction::<CancelPendingChange>::new();
    let relocate = ServerAction::<MoveProcess>::new();
    let on_failure = ServerAction::<SetMoveOnFailure>::new();
    {
        let refresh = refresh.clone();
        Effect::watch(
            move || {
                (
                    (suspend.version().get(), resume.version().get(), retry.version().get()),
                    (cancel.version().get(), relocate.version().get(), on_failure.version().get()),
                )
            },
            move |_, _, _| refresh(),
            false,
        );
    }
    let suspend_result: Signal<_> = suspend.value().into();
    let resume_result: Signal<_> = resume.value().into();
    let delete_result: Signal<_> = delete.value().into();
    let (confirm_delete, set_confirm_delete) = signal(false);
    // From an accepted Suspend until the process has left RUNNING.
    let suspending = RwSignal::new(false);

    let process = Memo::new(move |_| detail.with(|d| d.process.clone()));
    let state = Memo::new(move |_| detail.with(|d| (d.process.state, d.process.state_reason.clone())));
    let name = Memo::new(move |_| detail.with(|d| d.process.name.clone()));
    Effect::watch(
        move || suspend.version().get(),
        move |_, _, _| {
            if matches!(suspend.value().get_untracked(), Some(Ok(_))) {
                suspending.set(true);
            }
        },
        false,
    );
    Effect::watch(
        move || state.get().0,
        move |s, _, _| {
            if *s != ProcessState::Running {
                suspending.set(false);
            }
        },
        false,
    );
    let history = Memo::new(move |_| detail.with(|d| d.process.history.clone()));
    let changes = Memo::new(move |_| detail.with(|d| d.changes.clone()));
    let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
    let head_part = view! {
        <section class="card stack process-head" aria-label="State">
            <div class="state-line" aria-live="polite" aria-atomic="true">
                <span class="muted">"State "</span>
                {rv(move || { let (s, r) = state.get(); view! { <StateBadge state=s reason=r.clone()/> } })}
                {rv(move || state.get().1.map(|r| view! { <span class="reason">{r}</span> }))}
            </div>
            {rv(move || gone.get().map(|e| if e.code == "not_found" {
                view! { <p class="notice" role="status">"This process no longer exists."</p> }.into_any()
            } else {
                view! { <ErrorMessage error=e/> }.into_any()
            }))}
            <div class="actions">
                {rv(move || (state.get().0 == ProcessState::Running).then(|| { let id = id1.clone(); view! {
                    <ActionForm action=suspend attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" disabled=rx(move || suspend.pending().get())>"Suspend"</button>
                    </ActionForm>
                }}))}
                {rv(move || (state.get().0 == ProcessState::Suspended).then(|| { let id = id2.clone(); view! {
                    <ActionForm action=resume attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="primary" disabled=rx(move || resume.pending().get())>"Resume"</button>
                    </ActionForm>
                }}))}
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="id" value=id3.clone()/>
                    {rv(move || if confirm_delete.get() {
                        view! {
                            <span class="confirm" role="group" aria-label="Confirm deletion">
                                <button type="submit" class="danger" disabled=rx(move || delete.pending().get())>
                                    {rv(move || format!("Really delete {}", name.get()))}
                                </button>
                                <button type="button" on:click=move |_| set_confirm_delete.set(false)>"Keep it"</button>
                            </span>
                        }.into_any()
                    } else {
                        view! { <button type="button" class="danger" on:click=move |_| set_confirm_delete.set(true)>"Delete…"</button> }.into_any()
                    })}
                </ActionForm>
            </div>
            <FormError result=suspend_result/>
            <FormError result=resume_result/>
            <FormError result=delete_result/>
            {rv(move || suspending.get().then(|| view! { <p class="notice" role="status">"Suspending: the process hands over its state, then stops."</p> }))}
        </section>
    }
    .into_any();
    let placement_part = view! {
        <section class="card stack" aria-labelledby="placement-heading">
            <h2 id="placement-heading">"Placement"</h2>
            {rv(move || {
                let d = detail.get();
                let p = &d.process;
                let service_id = p.service_id.clone();
                let image = p.image.clone().unwrap_or_default();
                let digest = image.split_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
                let limits = format!(
                    "{} memory, {} CPUs",
                    if p.limits.memory_bytes == 0 { "no limit on".to_string() } else { format!("{} MiB", p.limits.memory_bytes / MIB) },
                    if p.limits.nano_cpus == 0 { "no limit on".to_string() } else { format!("{}", p.limits.nano_cpus as f64 / 1e9) },
                );
                view! {
                    <dl class="facts">
                        <dt>"Service"</dt>
                        <dd><A href=format!("/services/{}", p.service_id)>{service_id}</A> " version " {p.service_version.clone()}</dd>
                        <dt>"Placement"</dt><dd>{d.placement.clone()}</dd>
                        <dt>"Node"</dt><dd data-fact="node">{d.node_name.clone().unwrap_or_else(|| "not placed".into())}</dd>
                        <dt>"Why there"</dt><dd>{p.placement_reason.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Image"</dt>
                        <dd>{if digest.is_empty() { view! { <span class="muted">"not chosen yet"</span> }.into_any() } else {
                            view! { <code title=image.clone() class="digest">{digest}</code> }.into_any()
                        }}</dd>
                        <dt>"Limits"</dt><dd>{limits}</dd>
                        <dt>"Owner"</dt><dd>{d.owner.clone()}</dd>
                        <dt>"Created"</dt><dd>{when(&p.created)}</dd>
                        <dt>"Saved state"</dt><dd>{if p.has_saved_state { "kept from its suspension" } else { "none" }}</dd>
                    </dl>
                }
            })}
            <MovePanel id=id.clone() detail relocate on_failure/>
        </section>
    }
    .into_any();
    let history_part = view! {
        <section class="card stack" aria-labelledby="history-heading">
            <h2 id="history-heading">"State history"</h2>
            {rv(move || {
                let mut h = history.get();
                h.reverse();
                if h.is_empty() {
                    view! { <p class="muted">"No state changes yet."</p> }.into_any()
                } else {
                    view! {
                        <table class="list history">
                            <thead><tr><th>"When"</th><th>"State"</th><th>"Why"</th></tr></thead>
                            <tbody>
                                {h.into_iter().map(|c| view! {
                                    <tr>
                                        <td class="muted nowrap">{c.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                                        <td><StateBadge state=c.state/></td>
                                        <td>{c.reason.clone().unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }
            })}
        </section>
    }
    .into_any();
    let changes_part = view! {
        <section class="card stack" aria-labelledby="changes-heading">
            <h2 id="changes-heading">"Pending changes"</h2>
            <ChangeActionResult retry cancel/>
            {rv(move || {
                let list = changes.get();
                if list.is_empty() {
                    view! { <p class="muted">"None."</p> }.into_any()
                } else {
                    view! {
                        <table class="list changes">
                            <thead><tr><th>"Change"</th><th>"State"</th><th>"Attempts"</th><th>"Last error"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|c| {
                                    let state = change_state(c.state);
                                    let (id, kind) = (c.id.clone(), c.kind.as_str());
                                    view! {
                                        <tr data-change=id data-kind=kind>
                                            <td>{c.description.clone()}<div class="muted small"><code>{c.kind.as_str()}</code> " · " {when(&c.created)}</div></td>
                                            <td><span class=format!("state change-{state}")>{state.to_uppercase()}</span></td>
                                            <td>{format!("{} of {}", c.attempts, c.max_attempts)}</td>
                                            <td class="muted">{c.last_error.clone().unwrap_or_default()}</td>
                                            <td><ChangeActions change=c retry cancel/></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }
            })}
        </section>
    }
    .into_any();
    view! {
        <Title text=move || name.get()/>
        <div class="page-head">
            <h1>{rx(move || name.get())}</h1>
            <A href="/processes">"All processes"</A>
        </div>
        {created.then(|| view! { <p class="notice" role="status">"The process was created. Switchyard is starting it; its state updates here."</p> })}
        {head_part}
        <ConfigSection process detail/>
        <crate::connections::ProcessConnections process_id=id.clone() owner_id=detail.with_untracked(|d| d.process.user_id.clone())/>
        {placement_part}
        {history_part}
        {changes_part}
        <Logs id=id.clone() state=Signal::derive(move || state.get().0)/>
    }
}

/// Moving the process, and whether it moves by itself when its node fails.
#[component]
fn MovePanel(
    id: String,
    detail: RwSignal<ProcessDetail>,
    relocate: ServerAction<MoveProcess>,
    on_failure: ServerAction<SetMoveOnFailure>,
) -> impl IntoView {
    let choices = Resource::new(|| (), |_| deploy_choices());
    let moving = Memo::new(move |_| detail.with(|d| d.moving_to.clone()));
    let movable = Memo::new(move |_| detail.with(|d| d.process.state != ProcessState::Terminated));
    let auto = Memo::new(move |_| detail.with(|d| d.process.move_on_failure));
    let (move_result, failure_result): (Signal<_>, Signal<_>) = (relocate.value().into(), on_failure.value().into());
    let id2 = id.clone();
    view! {
        <div class="stack move-panel">
            {rv(move || moving.get().map(|to| view! {
                <p class="notice" role="status" data-moving-to=to.clone()>
                    {format!("Moving to {to}: it is suspended with its state, then resumed there. Its steps are under Pending changes.")}
                </p>
            }))}
            {rv(move || movable.get().then(|| {
                let id = id.clone();
                view! {
                    <Suspense fallback=Loading>
                        {move || {
                            let id = id.clone();
                            Suspend::new(async move {
                                let Ok(c) = choices.await else { return ().into_any() };
                                view! {
                                    <ActionForm action=relocate attr:class="toolbar" attr:aria-label="Move the process">
                                        <input type="hidden" name="id" value=id/>
                                        <label for="move-to">"Move to"</label>
                                        <select id="move-to" name="placement" required>
                                            <option value="">"Choose a node or pool…"</option>
                                            <optgroup label="My private nodes">
                                                {c.private_nodes.into_iter().map(|n| view! { <option value=format!("node:{}", n.id)>{n.name}</option> }).collect_view()}
                                            </optgroup>
                                            <optgroup label="Public node pools">
                                                {c.pools.into_iter().map(|p| view! {
                                                    <option value=format!("pool:{}", p.id) disabled=p.nodes == 0>{p.name}</option>
                                                }).collect_view()}
                                            </optgroup>
                                        </select>
                                        <button type="submit" disabled=rx(move || relocate.pending().get() || moving.get().is_some())>"Move"</button>
                                    </ActionForm>
                                }
                                .into_any()
                            })
                        }}
                    </Suspense>
                }
            }))}
            <FormError result=move_result/>
            <ActionForm action=on_failure attr:class="toolbar">
                <input type="hidden" name="id" value=id2/>
                <input type="hidden" name="enabled" value=rx(move || (!auto.get()).to_string())/>
                <span data-fact="move-on-failure">
                    {rx(move || if auto.get() {
                        "When its node fails, it moves to another node it may use."
                    } else {
                        "When its node fails, it waits for the node to return."
                    })}
                </span>
                <button type="submit" class="small" disabled=rx(move || on_failure.pending().get())>
                    {rx(move || if auto.get() { "Let it wait instead" } else { "Move it when its node fails" })}
                </button>
            </ActionForm>
            <FormError result=failure_result/>
        </div>
    }
}

/// The Configuration section: parameters and environment, and their editor.
#[component]
fn ConfigSection(process: Memo<Process>, detail: RwSignal<ProcessDetail>) -> impl IntoView {
    let editing = RwSignal::new(false);
    // Bumped to open the editor afresh (after a stale save, from the newest configuration).
    let generation = RwSignal::new(0u32);
    let saved = RwSignal::new(false);
    let config = Memo::new(move |_| process.with(|p| (p.parameters.clone(), p.environment.clone())));
    let open = move |_| {
        saved.set(false);
        generation.update(|g| *g += 1);
        editing.set(true);
    };
    // After a refused (stale) save: read the process again and open the editor on it.
    let reload = Callback::new(move |_: ()| {
        let id = process.with_untracked(|p| p.id.clone());
        leptos::task::spawn_local(async move {
            if let Ok(fresh) = get_process(id).await {
                let _ = detail.try_set(fresh);
            }
            let _ = generation.try_update(|g| *g += 1);
        });
    });
    view! {
        <section class="card stack" aria-labelledby="config-heading">
            <div class="section-head">
                <h2 id="config-heading">"Configuration"</h2>
                {rv(move || (!editing.get()).then(|| view! { <button type="button" on:click=open>"Edit"</button> }))}
            </div>
            {rv(move || saved.get().then(|| view! {
                <p class="notice" role="status">"Saved. New parameters are sent to the running process; a new environment restarts its container."</p>
            }))}
            {rv(move || if editing.get() {
                generation.track();
                let start = process.get_untracked();
                view! {
                    <ConfigEditor start on_reload=reload
                        on_saved=Callback::new(move |p: Process| {
                            detail.update(|d| d.process = p);
                            editing.set(false);
                            saved.set(true);
                        })
                        on_cancel=Callback::new(move |_| editing.set(false))/>
                }.into_any()
            } else {
                let (parameters, environment) = config.get();
                view! {
                    <h3>"Parameters"</h3>
                    {if parameters.is_empty() {
                        view! { <p class="muted">"None."</p> }.into_any()
                    } else {
                        view! {
                            <dl class="facts config" data-config="parameters">
                                {parameters.into_iter().map(|e| view! {
                                    <dt><code>{e.key.clone()}</code></dt><dd data-key=e.key.clone()>{e.value.clone()}</dd>
                                }).collect_view()}
                            </dl>
                        }.into_any()
                    }}
                    <h3>"Environment variables"</h3>
                    {if environment.is_empty() {
                        view! { <p class="muted">"None."</p> }.into_any()
                    } else {
                        view! {
                            <dl class="facts config" data-config="environment">
                                {environment.into_iter().map(|e| view! {
                                    <dt><code>{e.key.clone()}</code></dt><dd data-key=e.key.clone()><code>{e.value.clone()}</code></dd>
                                }).collect_view()}
                            </dl>
                        }.into_any()
                    }}
                }.into_any()
            })}
        </section>
    }
}

/// The configuration editor: the deploy form's generated fields, filled with the process's
/// values, saved with the revision it was opened at.
#[component]
fn ConfigEditor(
    start: Process,
    on_reload: Callback<()>,
    on_saved: Callback<Process>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let id = start.id.clone();
    let revision = start.revision;
    let name = RwSignal::new(start.name.clone());
    let values =
        RwSignal::new(start.parameters.iter().map(|e| (e.key.clone(), e.value.clone())).collect::<BTreeMap<_, _>>());
    let next_row = StoredValue::new(start.environment.len() as u64);
    let rows = RwSignal::new(
        start
            .environment
            .iter()
            .enumerate()
            .map(|(i, e)| EnvRow { row: i as u64, key: e.key.clone(), value: e.value.clone() })
            .collect::<Vec<_>>(),
    );
    let (service_id, version) = (start.service_id.clone(), start.service_version.clone());
    let versions = LocalResource::new(move || service_versions(service_id.clone()));
    // The declared parameters of the process's version, once known.
    let declared = Memo::new(move |_| -> Option<Result<Vec<Parameter>, AppError>> {
        versions.get().map(|r| {
            r.and_then(|list| {
                list.into_iter().find(|s| s.version == version).map(|s| s.parameters).ok_or_else(|| AppError {
                    code: "not_found".into(),
                    message: "this process's service version is no longer in the catalogue, so its parameters cannot be checked or changed".into(),
                    field: None,
                })
            })
        })
    });
    let client = Memo::new(move |_| {
        let mut errors = check_name(&name.get(), false);
        if let Some(Ok(d)) = declared.get() {
            errors.extend(values.with(|v| check_parameters(&d, v)).1);
        }
        errors.extend(rows.with(|r| check_environment(r)).1);
        errors
    });
    let errors = FormErrors::new(client);
    let update = ServerAction::<UpdateProcess>::new();
    Effect::new(move |_| match update.value().get() {
        Some(Ok(p)) => on_saved.run(p),
        Some(Err(e)) => errors.server.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.submitted.set(true);
        errors.server.set(None);
        let Some(Ok(d)) = declared.get_untracked() else { return };
        if !client.get_untracked().is_empty() {
            return;
        }
        let change = ProcessUpdate {
            name: Some(name.get_untracked().trim().to_string()),
            parameters: Some(values.with_untracked(|v| check_parameters(&d, v).0)),
            environment: Some(rows.with_untracked(|r| check_environment(r).0)),
            move_on_failure: None,
            revision: Some(revision),
        };
        update.dispatch(UpdateProcess { id: id.clone(), change });
    };
    let stale = move || errors.server.with(|e| e.as_ref().is_some_and(|e| e.code == "stale_revision"));
    let general_error = move || {
        errors.server.get().filter(|e| match e.field.as_deref() {
            None => e.code != "stale_revision",
            Some(f) => {
                !(f == "name"
                    || f.starts_with("environment.")
                    || (f.starts_with("parameters.")
                        && matches!(declared.get(), Some(Ok(d)) if d.iter().any(|p| field_of(p) == f))))
            }
        })
    };
    let ready = hydrated();
    let name_part = view! {
            <div class="field">
                <label for="edit-name">"Name" <span class="required" title="required">" *"</span></label>
                <input id="edit-name" name="name" autocomplete="off" aria-required="true"
                    aria-describedby="name-error"
                    aria-invalid=errors.invalid("name")
                    prop:value=rx(move || name.get())
                    on:input=move |ev| { name.set(event_target_value(&ev)); errors.touch("name"); }/>
                <FieldMessage errors field="name".to_string()/>
            </div>
    }
    .into_any();
    let parameters_part = view! {
            <fieldset class="parameters">
                <legend>"Parameters"</legend>
                <p class="hint">"Sent to the running process without restarting it."</p>
                {rv(move || match declared.get() {
                    None => view! { <Loading/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorMessage error=e/> }.into_any(),
                    Some(Ok(d)) => view! { <ParameterFields declared=d values errors/> }.into_any(),
                })}
            </fieldset>
    }
    .into_any();
    let environment_part = view! {
            <fieldset>
                <legend>"Environment variables"</legend>
                <p class="hint">"Changing these restarts the process's container."</p>
                <EnvironmentRows rows next_row errors/>
            </fieldset>
    }
    .into_any();
    view! {
        <form class="stack config-editor" novalidate on:submit=submit>
            {name_part}
            {parameters_part}
            {environment_part}
            {rv(move || (errors.submitted.get() && !client.with(|c| c.is_empty()))
                .then(|| view! { <p class="error" role="alert">"Some fields need attention; see the messages next to them."</p> }))}
            {rv(move || stale().then(|| view! {
                <div class="error stale" role="alert">
                    <p>{errors.server.get().map(|e| e.message).unwrap_or_default()}</p>
                    <button type="button" class="small" on:click=move |_| on_reload.run(())>
                        "Load the current configuration (drops your edits)"
                    </button>
                </div>
            }))}
            {rv(move || general_error().map(|e| view! { <ErrorMessage error=e/> }))}
            <div class="actions">
                <button type="submit" class="primary"
                    disabled=rx(move || !ready.get() || update.pending().get() || !matches!(declared.get(), Some(Ok(_))))>
                    {rv(move || if update.pending().get() { "Saving…" } else { "Save configuration" })}
                </button>
                <button type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

/// The last log lines, read again on request.
#[component]
fn Logs(id: String, state: Signal<ProcessState>) -> impl IntoView {
    let again = RwSignal::new(0u32);
    // Read again on request and whenever the state changes (a new container, a stopped one).
    let logs = Resource::new(move || (id.clone(), again.get(), state.get()), |(id, _, _)| process_logs(id));
    view! {
        <section class="card stack" aria-labelledby="logs-heading">
            <div class="section-head">
                <h2 id="logs-heading">"Logs"</h2>
                <button type="button" on:click=move |_| again.update(|n| *n += 1)>"Refresh"</button>
            </div>
            <p class="hint">{format!("The last {LOG_LINES} lines of the process's container output.")}</p>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match logs.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(lines) if lines.is_empty() => view! { <p class="muted">"No log lines yet."</p> }.into_any(),
                        Ok(lines) => {
                            // Newest lines last: show the end.
                            let pre = NodeRef::<leptos::html::Pre>::new();
                            Effect::new(move |_| {
                                if let Some(el) = pre.get() {
                                    el.set_scroll_top(el.scroll_height());
                                }
                            });
                            view! {
                                <pre class="logs" tabindex="0" aria-label="Log lines" node_ref=pre>{lines.join("\n")}</pre>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(id: &str, kind: ParameterType, optional: bool, default: Option<&str>) -> Parameter {
        Parameter {
            id: id.into(),
            name: id.into(),
            kind,
            is_array: false,
            is_optional: optional,
            values: None,
            labels: None,
            default: default.map(String::from),
        }
    }

    #[test]
    fn parameters_are_checked_per_field() {
        let declared = vec![
            param("interval_ms", ParameterType::Integer, false, Some("1000")),
            param("unit", ParameterType::String, false, None),
            param("verbose", ParameterType::Boolean, false, None),
        ];
        let mut values = BTreeMap::new();
        let (send, errors) = check_parameters(&declared, &values);
        assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["parameters.unit"]);
        assert_eq!(send.get("interval_ms").map(String::as_str), Some("1000"));
        values.insert("interval_ms".to_string(), "fast".to_string());
        values.insert("unit".to_string(), "C".to_string());
        let (_, errors) = check_parameters(&declared, &values);
        assert!(errors["parameters.interval_ms"].contains("whole number"), "{errors:?}");
        values.insert("interval_ms".to_string(), "250".to_string());
        let (send, errors) = check_parameters(&declared, &values);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(send.get("verbose").map(String::as_str), Some("false"));
        assert!(validate::parameters(&declared, &send).is_ok());
        values.insert("interval_ms".to_string(), NOT_A_NUMBER.to_string());
        let (_, errors) = check_parameters(&declared, &values);
        assert_eq!(errors["parameters.interval_ms"], "interval_ms must be a whole number");
    }

    #[test]
    fn environment_rows_are_checked() {
        let row = |row, key: &str, value: &str| EnvRow { row, key: key.into(), value: value.into() };
        let (send, errors) = check_environment(&[row(0, " FOO ", "1"), row(1, "", "")]);
        assert!(errors.is_empty());
        assert_eq!(send.get("FOO").map(String::as_str), Some("1"));
        let (_, errors) =
            check_environment(&[row(0, "FOO", "1"), row(1, "FOO", "2"), row(2, "", "x"), row(3, "1X", "")]);
        assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["environment.#1", "environment.#2", "environment.#3"]);
        assert_eq!(errors["environment.#1"], "FOO is set twice");
        let (_, errors) = check_environment(&[row(0, "PROCESS_ID", "x")]);
        assert!(errors["environment.#0"].contains("set by Switchyard"));
    }

    #[test]
    fn limits_are_converted() {
        let (l, e) = check_limits("64", "0.5");
        assert!(e.is_empty());
        assert_eq!(l.memory_bytes, 64 * MIB);
        assert_eq!(l.nano_cpus, 500_000_000);
        assert!(check_limits("2", "").1.contains_key("limits.memory_bytes"));
        assert!(check_limits("", "lots").1.contains_key("limits.nano_cpus"));
        assert!(check_limits(NOT_A_NUMBER, "").1.contains_key("limits.memory_bytes"));
        assert_eq!(check_limits("", "").0, ResourceLimits::default());
    }

    #[test]
    fn placements_are_read() {
        assert_eq!(placement_of("automatic"), Placement::Automatic);
        assert_eq!(placement_of("pool:abc"), Placement::NodePool { pool_id: "abc".into() });
        assert_eq!(placement_of("node:def"), Placement::PrivateNode { node_id: "def".into() });
    }
}
