//! Deploying: the form generated from a service version's typed parameters, its placement choice
//! and its limits.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use switchyard_core::model::{NewProcess, Service};

use super::{
    api::{deploy_choices, CreateProcess, DeployOptions},
    fields::{
        bad_number, check_environment, check_limits, check_name, check_parameters, described_by, field_of,
        focus_first_error, placement_of, EnvRow, EnvironmentRows, FieldMessage, FormErrors, ParameterFields,
        NOT_A_NUMBER,
    },
    list::placement_words,
};
use crate::{
    components::{hydrated, rv, rx, ErrorMessage, Loading},
    services::service_versions,
};

/// The deploy form's choices (services, nodes, pools), loading as soon as the route matches.
pub type DeployData = Resource<Result<DeployOptions, crate::AppError>>;

pub fn load_deploy_choices() -> DeployData {
    Resource::new(|| (), |_| deploy_choices())
}

#[component]
pub fn NewProcessPage(choices: DeployData) -> impl IntoView {
    let query = use_query_map();
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
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(p)) => navigate(&format!("/processes/{}?created=1", p.id), NavigateOptions::default()),
        Some(Err(e)) => {
            errors.server.set(Some(e));
            focus_first_error(form);
        }
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        errors.submitted.set(true);
        errors.server.set(None);
        if !client.get_untracked().is_empty() {
            focus_first_error(form);
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
                            aria-describedby=described_by(errors, "service_id", None)
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
                            aria-describedby=described_by(errors, "service_version", None)
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
                        aria-describedby=described_by(errors, "name", Some("name-hint"))
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
                    <select id="placement" name="placement"
                        aria-describedby=rx(move || if errors.get_prefixed("placement").is_some() { "placement-hint placement-error" } else { "placement-hint" })
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
                                aria-describedby=described_by(errors, "limits.memory_bytes", Some("memory-hint"))
                                aria-invalid=errors.invalid("limits.memory_bytes")
                                prop:value=memory.get_untracked()
                                on:input=move |ev| {
                                    memory.set(if bad_number(&ev) { NOT_A_NUMBER.to_string() } else { event_target_value(&ev) });
                                    errors.touch("limits.memory_bytes");
                                }/>
                            <span class="hint" id="memory-hint">"A whole number of MiB, at least 4; empty for no limit of its own."</span>
                            <FieldMessage errors field="limits.memory_bytes".to_string()/>
                        </div>
                        <div class="field">
                            <label for="cpus">"CPUs"</label>
                            <input id="cpus" type="number" min="0" step="0.1" inputmode="decimal" placeholder="no limit"
                                aria-describedby=described_by(errors, "limits.nano_cpus", Some("cpus-hint"))
                                aria-invalid=errors.invalid("limits.nano_cpus")
                                prop:value=cpus.get_untracked()
                                on:input=move |ev| {
                                    cpus.set(if bad_number(&ev) { NOT_A_NUMBER.to_string() } else { event_target_value(&ev) });
                                    errors.touch("limits.nano_cpus");
                                }/>
                            <span class="hint" id="cpus-hint">"At least 0.01, e.g. 0.5 for half a core; empty for no limit of its own."</span>
                            <FieldMessage errors field="limits.nano_cpus".to_string()/>
                        </div>
                    </div>
                </fieldset>
            </details>
    }
    .into_any();
    view! {
        <form class="card stack deploy-form" novalidate on:submit=submit aria-describedby="deploy-intro" node_ref=form>
            <p class="muted" id="deploy-intro">"Fields marked " <span class="required">"*"</span> " are required."</p>
            {catalogue_error.map(|e| view! { <p class="error" role="alert">"The registry cannot be read right now: " {e}</p> })}
            {service_part}
            {placement_part}
            {config_part}
            {env_part}
            {limits_part}

            {rv(move || (errors.submitted.get() && !client.with(|c| c.is_empty()))
                .then(|| view! { <p class="error" role="alert">"Some fields need attention; see the messages next to them."</p> }))}
            {rv(move || general_error().map(|e| view! { <div tabindex="-1" data-form-alert=""><ErrorMessage error=e/></div> }))}
            <div class="actions">
                <button type="submit" class="primary" disabled=rx(move || !ready.get() || create.pending().get() || selected.with(|s| s.is_none()))>
                    {rv(move || if create.pending().get() { "Deploying…" } else { "Deploy" })}
                </button>
                <A href="/processes">"Cancel"</A>
            </div>
        </form>
    }
}
