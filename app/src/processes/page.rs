//! One process's page: its state, placement, history, pending changes and logs, and moving it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};
use switchyard_core::model::Topic;
use switchyard_core::model::{LogLine, ProcessState};

use super::{
    api::{
        deploy_choices, get_process, process_logs, DeleteProcess, MoveProcess, ProcessDetail, ResumeProcess,
        SetMoveOnFailure, SuspendProcess, UpgradeProcess,
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
                        <dt>"Saved state"</dt><dd data-fact="saved-state">{saved_state_words(p)}</dd>
                    </dl>
                }
            })}
            <MovePanel id=id.clone() detail relocate on_failure/>
        </section>
    }
    .into_any();
    let history_part = view! {
        <section class="card stack" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            <p class="muted small">"State changes, reconfigurations, moves and upgrades, newest first."</p>
            {rv(move || {
                let h = history_rows(&history.get());
                if h.is_empty() {
                    view! { <p class="muted">"No state changes yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-scroll">
                            <table class="list history" aria-label="History" tabindex="0">
                                <thead><tr><th>"When"</th><th>"What"</th><th>"Details"</th></tr></thead>
                                <tbody>
                                    {h.into_iter().map(|(c, kind)| view! {
                                        <tr data-history=kind>
                                            <td class="muted nowrap">{c.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                                            <td>{match kind {
                                                "state" => view! { <StateBadge state=c.state/> }.into_any(),
                                                other => view! { <span class="history-event">{history_word(other)}</span> }.into_any(),
                                            }}</td>
                                            <td>{c.reason.clone().unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
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
                        <table class="list changes" aria-label="Pending changes" tabindex="0">
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

/// What the page says about the process's saved state: kept since a suspension, or given back
/// on a resume (the state itself is let go of then, so `has_saved_state` alone says "none").
fn saved_state_words(p: &switchyard_core::model::Process) -> String {
    let at = |t: &switchyard_core::model::Timestamp| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    match (p.has_saved_state, &p.state_saved_at, &p.state_restored_at) {
        (true, Some(saved), _) => format!("kept from its suspension at {}", at(saved)),
        (true, None, _) => "kept from its suspension".to_string(),
        (false, Some(saved), Some(restored)) if restored >= saved => {
            format!("last saved at {}, given back to it on resume at {}", at(saved), at(restored))
        }
        (false, None, Some(restored)) => format!("given back to it on resume at {}", at(restored)),
        (false, Some(saved), _) => format!("none kept (last saved at {})", at(saved)),
        (false, None, None) => "none".to_string(),
    }
}

/// The history newest first, each entry with what it is: a state change (`state`), or an event
/// that left the state as it was (`reconfigured`, `move`, `upgrade`, `event`).
fn history_rows(h: &[switchyard_core::model::StateChange]) -> Vec<(switchyard_core::model::StateChange, &'static str)> {
    let mut out = Vec::with_capacity(h.len());
    let mut previous = None;
    for c in h {
        let reason = c.reason.as_deref().unwrap_or_default();
        let kind = if previous != Some(c.state) {
            "state"
        } else if reason.starts_with("reconfigured") {
            "reconfigured"
        } else if reason.starts_with("upgrad") {
            "upgrade"
        } else if reason.starts_with("mov") {
            "move"
        } else {
            "event"
        };
        previous = Some(c.state);
        out.push((c.clone(), kind));
    }
    out.reverse();
    out
}

fn history_word(kind: &str) -> &'static str {
    match kind {
        "reconfigured" => "Reconfigured",
        "upgrade" => "Upgrade",
        "move" => "Move",
        _ => "Event",
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
            <UpgradePanel detail/>
        </div>
    }
}

/// Upgrading the process to another version of its service, with its state.
#[component]
fn UpgradePanel(detail: RwSignal<ProcessDetail>) -> impl IntoView {
    let upgrade = ServerAction::<UpgradeProcess>::new();
    let result: Signal<_> = upgrade.value().into();
    let (id, service, current) = detail
        .with_untracked(|d| (d.process.id.clone(), d.process.service_id.clone(), d.process.service_version.clone()));
    let versions = Resource::new(move || service.clone(), crate::services::service_versions);
    let live =
        Memo::new(move |_| detail.with(|d| d.process.state != ProcessState::Terminated && d.moving_to.is_none()));
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (id, current) = (id.clone(), current.clone());
                Suspend::new(async move {
                    let Ok(all) = versions.await else { return ().into_any() };
                    let others: Vec<String> = all.into_iter().map(|s| s.version).filter(|v| *v != current).collect();
                    if others.is_empty() {
                        return ().into_any();
                    }
                    view! {
                        <ActionForm action=upgrade attr:class="toolbar" attr:aria-label="Upgrade the process">
                            <input type="hidden" name="id" value=id/>
                            <label for="upgrade-to">"Upgrade to version"</label>
                            <select id="upgrade-to" name="version" required>
                                <option value="">"Choose a version…"</option>
                                {others.into_iter().map(|v| view! { <option value=v.clone()>{v.clone()}</option> }).collect_view()}
                            </select>
                            <label class="check small"><input type="checkbox" name="drop_connections"/>" drop connections it cannot keep"</label>
                            <button type="submit" disabled=rx(move || upgrade.pending().get() || !live.get())>"Upgrade"</button>
                        </ActionForm>
                    }
                    .into_any()
                })
            }}
        </Suspense>
        {move || match result.get() {
            Some(Ok(p)) => Some(view! {
                <p class="notice" role="status">{format!("Upgrading '{}': it is suspended with its state, started as the new version and resumed; its connections follow.", p.name)}</p>
            }.into_any()),
            Some(Err(e)) => Some(view! { <ErrorMessage error=e/> }.into_any()),
            None => None,
        }}
    }
}

/// The last log lines, read again on request.
#[component]
fn Logs(id: String, state: Signal<ProcessState>) -> impl IntoView {
    let tail = RwSignal::new(LOG_LINES);
    let since = RwSignal::new(None::<u64>);
    let search = RwSignal::new(String::new());
    let follow = RwSignal::new(true);
    // Lines that arrived by following, after the last load.
    let followed = RwSignal::new(Vec::<LogLine>::new());
    let local_time = crate::components::hydrated();
    let id2 = id.clone();
    // Read again when the choices change and whenever the state does (a new container, a stopped one).
    let logs = Resource::new(
        move || (id2.clone(), tail.get(), since.get(), state.get()),
        |(id, tail, since, _)| process_logs(id, tail, since),
    );
    Effect::new(move |_| {
        logs.track();
        followed.set(Vec::new());
    });
    follow_logs(id.clone(), follow, logs, followed);
    let download = {
        let id = id.clone();
        move || {
            let since = since.get().map(|s| format!("&since_secs={s}")).unwrap_or_default();
            format!("/api/v1/processes/{id}/logs/download?tail={}{since}", tail.get())
        }
    };
    view! {
        <section class="card stack" aria-labelledby="logs-heading">
            <div class="section-head">
                <h2 id="logs-heading">"Logs"</h2>
                <a href=download download="">"Download"</a>
            </div>
            <div class="toolbar log-controls">
                <label>"Lines "
                    <select on:change=move |ev| tail.set(event_target_value(&ev).parse().unwrap_or(LOG_LINES))>
                        {[100u32, 200, 1000, 5000].into_iter().map(|n| view! { <option value=n.to_string() selected=n == LOG_LINES>{n.to_string()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Since "
                    <select on:change=move |ev| since.set(event_target_value(&ev).parse().ok())>
                        <option value="">"the start"</option>
                        <option value="900">"15 minutes ago"</option>
                        <option value="3600">"an hour ago"</option>
                        <option value="86400">"a day ago"</option>
                    </select>
                </label>
                <label>"Search "
                    <input type="search" placeholder="text in the lines" prop:value=move || search.get()
                        on:input=move |ev| search.set(event_target_value(&ev))/>
                </label>
                <label class="check"><input type="checkbox" prop:checked=move || follow.get()
                    on:change=move |ev| follow.set(event_target_checked(&ev))/>" Follow"</label>
            </div>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match logs.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(lines) => {
                            let pre = NodeRef::<leptos::html::Div>::new();
                            let all = move || {
                                let mut all = lines.clone();
                                all.extend(followed.get());
                                all
                            };
                            // Newest lines last: keep the end in view as lines arrive.
                            Effect::new(move |_| {
                                followed.track();
                                if let Some(el) = pre.get() {
                                    el.set_scroll_top(el.scroll_height());
                                }
                            });
                            view! {
                                <div class="logs" tabindex="0" role="log" aria-label="Log lines" node_ref=pre>
                                    {move || {
                                        let needle = search.get().to_lowercase();
                                        let shown: Vec<LogLine> = all().into_iter().filter(|l| needle.is_empty() || l.text.to_lowercase().contains(&needle)).collect();
                                        if shown.is_empty() {
                                            let word = if needle.is_empty() { "No log lines yet." } else { "No line matches." };
                                            return view! { <p class="muted">{word}</p> }.into_any();
                                        }
                                        let local = local_time.get();
                                        shown.into_iter().map(|l| {
                                            let at = l.at.map(|t| log_time(&t, local)).unwrap_or_default();
                                            let iso = l.at.map(|t| t.to_rfc3339()).unwrap_or_default();
                                            view! {
                                                <div class=if l.previous { "log-line previous" } else { "log-line" }>
                                                    <time datetime=iso>{at}</time>
                                                    {l.previous.then(|| view! { <span class="badge" title="written by the process's previous container">"previous"</span> })}
                                                    " "{highlight(&l.text, &needle)}
                                                </div>
                                            }
                                        }).collect_view().into_any()
                                    }}
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// A line's time for people: in the viewer's time zone once the page runs in the browser, in
/// UTC before (the server does not know the viewer's zone).
fn log_time(t: &switchyard_core::model::Timestamp, local: bool) -> String {
    #[cfg(feature = "hydrate")]
    if local {
        use leptos::web_sys::js_sys::Date;
        let d = Date::new(&(t.timestamp_millis() as f64).into());
        let ms = t.timestamp_subsec_millis();
        return format!(
            "{} {:02}:{:02}:{:02}.{ms:03}",
            d.to_locale_date_string("default", &Default::default()),
            d.get_hours(),
            d.get_minutes(),
            d.get_seconds()
        );
    }
    let _ = local;
    t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

/// The text with each case-insensitive match of `needle` marked.
fn highlight(text: &str, needle: &str) -> AnyView {
    if needle.is_empty() {
        return text.to_string().into_any();
    }
    let lower = text.to_lowercase();
    let mut parts = Vec::new();
    let mut at = 0;
    // Lower-casing may change lengths outside ASCII: fall back to no marks then.
    if lower.len() != text.len() {
        return text.to_string().into_any();
    }
    while let Some(found) = lower[at..].find(needle) {
        let start = at + found;
        let end = start + needle.len();
        parts.push(view! { {text[at..start].to_string()}<mark>{text[start..end].to_string()}</mark> }.into_any());
        at = end;
    }
    parts.push(text[at..].to_string().into_any());
    parts.collect_view().into_any()
}

/// While `follow` is on (in the browser), append the lines the process writes, as they come
/// (`/api/v1/processes/{id}/logs/follow`, after the newest line loaded).
fn follow_logs(
    id: String,
    follow: RwSignal<bool>,
    logs: Resource<Result<Vec<LogLine>, AppError>>,
    followed: RwSignal<Vec<LogLine>>,
) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos::{
            wasm_bindgen::{closure::Closure, JsCast},
            web_sys::{EventSource, MessageEvent},
        };
        if !follow.get() {
            return;
        }
        let Some(Ok(lines)) = logs.get() else { return };
        let newest = lines.iter().filter_map(|l| l.at).max();
        let since = newest.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)).unwrap_or_default();
        let url = format!("/api/v1/processes/{id}/logs/follow?since={}", since.replace('+', "%2B"));
        let Ok(source) = EventSource::new(&url) else { return };
        let on_line = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else { return };
            if let Ok(line) = serde_json::from_str::<LogLine>(&text) {
                followed.update(|f| {
                    f.push(line);
                    let excess = f.len().saturating_sub(5000);
                    f.drain(..excess);
                });
            }
        });
        let _ = source.add_event_listener_with_callback("line", on_line.as_ref().unchecked_ref());
        // Both live in the browser's one thread; the wrapper lets the cleanup hold them.
        let held = send_wrapper::SendWrapper::new((source, on_line));
        on_cleanup(move || {
            let (source, on_line) = held.take();
            source.close();
            drop(on_line);
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, follow, logs, followed);
}
