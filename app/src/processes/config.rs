//! A process's configuration: the section on its page that shows parameters and environment,
//! and the editor that changes them.

use std::collections::BTreeMap;

use leptos::prelude::*;
use switchyard_core::model::{Parameter, Process, ProcessUpdate};

use super::{
    api::{get_process, ProcessDetail, UpdateProcess},
    fields::{
        check_environment, check_name, check_parameters, described_by, field_of, focus_first_error, EnvRow,
        EnvironmentRows, FieldMessage, FormErrors, ParameterFields,
    },
};
use crate::{
    components::{hydrated, rv, rx, ErrorMessage, Loading},
    services::service_versions,
    AppError,
};

/// The Configuration section: parameters and environment, and their editor.
#[component]
pub(super) fn ConfigSection(process: Memo<Process>, detail: RwSignal<ProcessDetail>) -> impl IntoView {
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
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| match update.value().get() {
        Some(Ok(p)) => on_saved.run(p),
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
        let Some(Ok(d)) = declared.get_untracked() else { return };
        if !client.get_untracked().is_empty() {
            focus_first_error(form);
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
                    aria-describedby=described_by(errors, "name", None)
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
        <form class="stack config-editor" novalidate on:submit=submit node_ref=form>
            {name_part}
            {parameters_part}
            {environment_part}
            {rv(move || (errors.submitted.get() && !client.with(|c| c.is_empty()))
                .then(|| view! { <p class="error" role="alert">"Some fields need attention; see the messages next to them."</p> }))}
            {rv(move || stale().then(|| view! {
                <div class="error stale" role="alert" tabindex="-1" data-form-alert="">
                    <p>{errors.server.get().map(|e| e.message).unwrap_or_default()}</p>
                    <button type="button" class="small" on:click=move |_| on_reload.run(())>
                        "Load the current configuration (drops your edits)"
                    </button>
                </div>
            }))}
            {rv(move || general_error().map(|e| view! { <div tabindex="-1" data-form-alert=""><ErrorMessage error=e/></div> }))}
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
