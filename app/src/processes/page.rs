//! One process's page: its state, placement, history, pending changes and logs, and moving it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use switchyard_core::model::ProcessState;
use switchyard_core::model::Topic;

use super::{
    api::{
        deploy_choices, get_process, process_logs, DeleteProcess, MoveProcess, ProcessDetail, ResumeProcess,
        SetMoveOnFailure, SuspendProcess,
    },
    config::ConfigSection,
    fields::MIB,
    list::StateBadge,
    LOG_LINES,
};
use crate::{
    components::{one_at_a_time, rv, rx, when, ErrorMessage, FormError, Loading},
    live::refresh_live,
    pending_changes::{change_state, CancelPendingChange, ChangeActionResult, ChangeActions, RetryPendingChange},
    AppError,
};

/// The process page's data, loading as soon as the route matches (while the page's own code may
/// still be downloading, see `LazyRoute::data` in `lib.rs`).
pub type ProcessData = Resource<Result<ProcessDetail, AppError>>;

/// Start loading the process the address names.
pub fn load_process() -> ProcessData {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    Resource::new(move || id.get(), get_process)
}

#[component]
pub fn ProcessPage(initial: ProcessData) -> impl IntoView {
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
    refresh_live(&[Topic::Process, Topic::PendingChange], refresh.clone());

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
        <crate::activity::ResourceActivity resource_id=id.clone()/>
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
