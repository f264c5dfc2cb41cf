//! The Network page: the user's network as a document (YAML), its plan as a diff of the graph
//! and a list of steps, the deployment that applies it (live, step by step), and the history of
//! revisions with diffs and rollback.

use leptos::prelude::*;
use leptos_meta::Title;
use switchyard_core::model::{
    Deployment, DeploymentState, DocumentChange, Page, Plan, PlanStep, Problem, StepAction, StepState, Topic,
};

use crate::{
    components::{when, ErrorMessage, Loading},
    live::live_tick,
    AppError,
};

/// A plan, or why the document could not be planned (each problem at its path).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanAnswer {
    pub plan: Option<Plan>,
    pub problems: Vec<Problem>,
}

#[cfg(feature = "ssr")]
pub(crate) fn answer(result: Result<Plan, switchyard_core::Error>) -> Result<PlanAnswer, AppError> {
    match result {
        Ok(plan) => Ok(PlanAnswer { plan: Some(plan), problems: vec![] }),
        Err(switchyard_core::Error::InvalidDocument(problems)) => Ok(PlanAnswer { plan: None, problems }),
        Err(e) => Err(e.into()),
    }
}

/// The caller's network as YAML: all of it, or only the processes named in `only` (names
/// separated by commas or spaces; a document of `scope: listed`).
#[server]
pub async fn network_yaml(only: String) -> Result<String, AppError> {
    use crate::auth::ssr::{caller, sy};
    let names: Vec<String> =
        only.split(|c: char| c == ',' || c.is_whitespace()).filter(|n| !n.is_empty()).map(str::to_string).collect();
    let doc = sy().networks.export(&caller().await?, None, Some(&names)).await?;
    Ok(switchyard_core::documents::to_yaml(&doc)?)
}

/// Plan a document (YAML or JSON text).
#[server]
pub async fn plan_document(text: String) -> Result<PlanAnswer, AppError> {
    use crate::auth::ssr::{caller, sy};
    use switchyard_core::documents;
    let yaml = !documents::looks_like_json(&text);
    let doc = match documents::parse(text.as_bytes(), yaml) {
        Ok(doc) => doc,
        Err(problem) => return Ok(PlanAnswer { plan: None, problems: vec![problem] }),
    };
    answer(sy().networks.plan(&caller().await?, doc).await)
}

#[server]
pub async fn apply_plan(plan_id: String) -> Result<Deployment, AppError> {
    use crate::auth::ssr::{caller, sy};
    Ok(sy().networks.apply(&caller().await?, &plan_id).await?)
}

#[server]
pub async fn list_deployments() -> Result<Page<Deployment>, AppError> {
    use crate::auth::ssr::{caller, sy};
    let params = switchyard_core::managers::ListParams { page: Some(1), per_page: Some(50), sort: None };
    Ok(sy().networks.deployments(&caller().await?, &params, None).await?)
}

#[server]
pub async fn get_deployment(id: String) -> Result<Deployment, AppError> {
    use crate::auth::ssr::{caller, sy};
    Ok(sy().networks.deployment(&caller().await?, &id).await?)
}

#[server]
pub async fn cancel_deployment(id: String) -> Result<Deployment, AppError> {
    use crate::auth::ssr::{caller, sy};
    Ok(sy().networks.cancel(&caller().await?, &id).await?)
}

#[server]
pub async fn retry_deployment(id: String) -> Result<Deployment, AppError> {
    use crate::auth::ssr::{caller, sy};
    Ok(sy().networks.retry(&caller().await?, &id).await?)
}

/// A plan that restores a revision (`before`: the network before it).
#[server]
pub async fn rollback_plan(id: String, before: bool) -> Result<PlanAnswer, AppError> {
    use crate::auth::ssr::{caller, sy};
    answer(sy().networks.rollback(&caller().await?, &id, before).await)
}

/// What deployment `to` changed compared with `from`.
#[server]
pub async fn diff_revisions(from: String, to: String) -> Result<Vec<DocumentChange>, AppError> {
    use crate::auth::ssr::{caller, sy};
    Ok(sy().networks.diff(&caller().await?, &from, &to).await?)
}

/// A revision's document as YAML (to open it in the editor).
#[server]
pub async fn revision_yaml(id: String) -> Result<String, AppError> {
    use crate::auth::ssr::{caller, sy};
    let d = sy().networks.deployment(&caller().await?, &id).await?;
    Ok(switchyard_core::documents::to_yaml(&d.document)?)
}

#[component]
pub fn NetworkPage() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let loaded = Resource::new(|| (), |_| network_yaml(String::new()));
    // Export only some processes (their names), or the whole network (empty).
    let only = RwSignal::new(String::new());
    // The editor starts with the network as it is (once).
    Effect::new(move |_| {
        if let Some(Ok(yaml)) = loaded.get() {
            if text.get_untracked().is_empty() {
                text.set(yaml);
            }
        }
    });
    let planning = Action::new(|text: &String| plan_document(text.clone()));
    let rolling = Action::new(|(id, before): &(String, bool)| rollback_plan(id.clone(), *before));
    let applying = Action::new(|id: &String| apply_plan(id.clone()));
    // The plan on show: the last one asked for, by either way.
    let plan = RwSignal::new(None::<Result<PlanAnswer, AppError>>);
    Effect::watch(
        move || planning.value().get(),
        move |v, _, _| {
            if v.is_some() {
                plan.set(v.clone())
            }
        },
        false,
    );
    Effect::watch(
        move || rolling.value().get(),
        move |v, _, _| {
            if v.is_some() {
                plan.set(v.clone())
            }
        },
        false,
    );
    let deployment = RwSignal::new(None::<String>);
    Effect::watch(
        move || applying.value().get(),
        move |v, _, _| {
            if let Some(Ok(d)) = v {
                deployment.set(Some(d.id.clone()));
                plan.set(None);
            }
        },
        false,
    );
    let export_error = RwSignal::new(None::<AppError>);
    let reload = move |_| {
        leptos::task::spawn_local(async move {
            match network_yaml(only.get_untracked()).await {
                Ok(yaml) => {
                    export_error.set(None);
                    text.set(yaml);
                }
                Err(e) => export_error.set(Some(e)),
            }
        });
    };
    let download = move || format!("data:application/yaml;charset=utf-8,{}", js_escape(&text.get()));
    view! {
        <Title text="Network"/>
        <div class="page-head"><h1>"Network"</h1></div>
        <p class="muted">
            "Your network as a document: edit it, review what Switchyard would do, apply it. "
            "Every applied plan is kept as a revision you can compare and roll back to. "
            "The same works from scripts: " <code>"switchyard plan -f net.yaml"</code> "."
        </p>
        <section class="card stack" aria-labelledby="document-heading">
            <h2 id="document-heading">"Document"</h2>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(_) => ().into_any(),
                    }
                })}
            </Transition>
            <label for="network-document" class="visually-hidden">"Network document (YAML or JSON)"</label>
            <textarea id="network-document" class="document" rows="18" spellcheck="false"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <div class="actions">
                <button type="button" class="primary" id="review-plan"
                    disabled=move || planning.pending().get()
                    on:click=move |_| { planning.dispatch(text.get_untracked()); }>
                    {move || if planning.pending().get() { "Planning…" } else { "Review plan" }}
                </button>
                <button type="button" on:click=reload>"Reload from the network"</button>
                <a class="button" download="network.yaml" href=download>"Download"</a>
                <label class="inline-label">"Only these processes"
                    <input type="text" id="export-only" placeholder="all (or names: kitchen, tally)"
                        prop:value=move || only.get() on:input=move |ev| only.set(event_target_value(&ev))/>
                </label>
            </div>
            {move || export_error.get().map(|e| view! { <ErrorMessage error=e/> })}
        </section>
        {move || plan.get().map(|answer| match answer {
            Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
            Ok(PlanAnswer { problems, .. }) if !problems.is_empty() => view! {
                <section class="card stack problems" aria-labelledby="problems-heading" role="alert">
                    <h2 id="problems-heading">{format!("The document has {} problem{}", problems.len(), if problems.len() == 1 { "" } else { "s" })}</h2>
                    <ul>{problems.into_iter().map(|p| view! { <li><code>{p.path}</code>": " {p.message}</li> }).collect_view()}</ul>
                </section>
            }.into_any(),
            Ok(PlanAnswer { plan: Some(p), .. }) => view! { <PlanView plan=p applying/> }.into_any(),
            Ok(_) => ().into_any(),
        })}
        {move || applying.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e/> })}
        {move || deployment.get().map(|id| view! { <DeploymentView id/> })}
        <History rolling deployment text/>
    }
}

/// Text for a `data:` URL.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn mark(effect: &str) -> &'static str {
    match effect {
        "added" => "+",
        "removed" => "−",
        "changed" => "~",
        _ => "·",
    }
}

#[component]
pub(crate) fn PlanView(plan: Plan, applying: Action<String, Result<Deployment, AppError>>) -> impl IntoView {
    let counts = plan.summary.in_words();
    let changes = plan.changes_anything();
    let applicable = plan.applicable && changes;
    let id = plan.id.clone();
    let refused = plan.steps.iter().filter(|s| s.refusal.is_some()).count();
    view! {
        <section class="card stack plan" aria-labelledby="plan-heading" data-plan=plan.id.clone()>
            <h2 id="plan-heading">{match &plan.restores { Some(_) => "Plan: roll back", None => "Plan" }}</h2>
            <p class="plan-summary">{if counts.is_empty() { "Nothing in the document.".to_string() } else { counts.join(" · ") }}</p>
            <GraphDiff plan=plan.clone()/>
            <ol class="steps">
                {plan.steps.iter().filter(|s| s.action.changes() || s.refusal.is_some()).map(|s| view! { <StepItem step=s.clone()/> }).collect_view()}
            </ol>
            {(!changes).then(|| view! { <p class="muted">"The network is as the document says: nothing to apply."</p> })}
            {(refused > 0).then(|| view! { <p class="error" role="alert">{format!("{refused} step{} would be refused; change the document and review again.", if refused == 1 { "" } else { "s" })}</p> })}
            <div class="actions">
                <button type="button" class="primary" id="apply-plan"
                    disabled=move || !applicable || applying.pending().get()
                    on:click=move |_| { applying.dispatch(id.clone()); }>
                    {move || if applying.pending().get() { "Applying…" } else { "Apply" }}
                </button>
            </div>
        </section>
    }
}

#[component]
fn StepItem(step: PlanStep) -> impl IntoView {
    let effect = step.action.effect();
    let fields: Vec<String> = if step.action == StepAction::CreateProcess {
        Vec::new()
    } else {
        step.changes.iter().map(|c| c.to_string()).collect()
    };
    view! {
        <li class=format!("step {effect}") data-action=step.action.as_str()>
            <span class="mark" aria-hidden="true">{mark(effect)}</span>
            " " {step.description.clone()}
            {(!fields.is_empty()).then(|| view! { <ul class="fields">{fields.into_iter().map(|f| view! { <li><code>{f}</code></li> }).collect_view()}</ul> })}
            {step.refusal.clone().map(|r| view! { <div class="refusal">"Refused: " {r}</div> })}
        </li>
    }
}

/// The network's graph with what the plan does to it: processes as boxes, connections as
/// lines, each coloured as added, changed, removed or kept.
#[component]
fn GraphDiff(plan: Plan) -> impl IntoView {
    let mut nodes: Vec<(String, &'static str)> = Vec::new();
    for s in plan.steps.iter().filter(|s| s.connection.is_none()) {
        nodes.push((s.subject.clone(), s.action.effect()));
    }
    if nodes.is_empty() {
        return ().into_any();
    }
    let cols = (nodes.len() as f64).sqrt().ceil().max(1.0) as usize;
    let rows = nodes.len().div_ceil(cols);
    let (cell_w, cell_h, box_w, box_h) = (190.0, 80.0, 150.0, 36.0);
    let at = |i: usize| (20.0 + (i % cols) as f64 * cell_w, 20.0 + (i / cols) as f64 * cell_h);
    let index = |name: &str| nodes.iter().position(|(n, _)| n == name);
    let edges: Vec<_> = plan
        .steps
        .iter()
        .filter_map(|s| {
            let c = s.connection.as_ref()?;
            let a = index(&c.endpoints.first()?.process)?;
            let b = index(&c.endpoints.get(1)?.process)?;
            let ((x1, y1), (x2, y2)) = (at(a), at(b));
            Some((
                x1 + box_w / 2.0,
                y1 + box_h / 2.0,
                x2 + box_w / 2.0,
                y2 + box_h / 2.0,
                s.action.effect(),
                s.subject.clone(),
            ))
        })
        .collect();
    let width = 40.0 + cols as f64 * cell_w;
    let height = 20.0 + rows as f64 * cell_h;
    view! {
        <figure class="graph-diff">
            <svg viewBox=format!("0 0 {width} {height}") width=width height=height role="img" aria-label="The network with the plan's changes">
                {edges.into_iter().map(|(x1, y1, x2, y2, effect, label)| view! {
                    <line x1=x1 y1=y1 x2=x2 y2=y2 class=format!("edge {effect}")><title>{format!("{label}: {effect}")}</title></line>
                }).collect_view()}
                {nodes.iter().enumerate().map(|(i, (name, effect))| {
                    let (x, y) = at(i);
                    let short: String = if name.chars().count() > 20 { name.chars().take(19).collect::<String>() + "…" } else { name.clone() };
                    view! {
                        <g class=format!("node {effect}") data-process=name.clone()>
                            <rect x=x y=y width=box_w height=box_h rx="6"/>
                            <text x=x + box_w / 2.0 y=y + box_h / 2.0 + 5.0 text-anchor="middle">{format!("{} {short}", mark(effect))}</text>
                            <title>{format!("{name}: {effect}")}</title>
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="legend small">
                <span class="added">"+ added"</span>" "<span class="changed">"~ changed"</span>" "
                <span class="removed">"− removed"</span>" "<span class="kept">"· unchanged"</span>
            </figcaption>
        </figure>
    }
    .into_any()
}

fn step_state(s: StepState) -> &'static str {
    match s {
        StepState::Waiting => "waiting",
        StepState::Running => "running",
        StepState::Done => "done",
        StepState::Failed => "failed",
        StepState::Skipped => "skipped",
        StepState::Cancelled => "cancelled",
    }
}

/// A deployment's progress, step by step, as it happens.
#[component]
pub(crate) fn DeploymentView(id: String) -> impl IntoView {
    let live = live_tick(&[Topic::Deployment]);
    let cancel = Action::new(|id: &String| cancel_deployment(id.clone()));
    let retry = Action::new(|id: &String| retry_deployment(id.clone()));
    let key = id.clone();
    let d = Resource::new(
        move || (key.clone(), live.get(), cancel.version().get(), retry.version().get()),
        |(id, _, _, _)| get_deployment(id),
    );
    view! {
        <section class="card stack deployment" aria-labelledby="deployment-heading" aria-live="polite">
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match d.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(d) => {
                            let state = d.state.as_str().to_lowercase();
                            let (id1, id2) = (d.id.clone(), d.id.clone());
                            let done = d.steps.iter().filter(|s| s.state == StepState::Done && s.step.action.changes()).count();
                            let total = d.steps.iter().filter(|s| s.step.action.changes()).count();
                            view! {
                                <h2 id="deployment-heading">{format!("Deployment #{}", d.number)}
                                    " " <span class=format!("state deployment-{state}") data-state=d.state.as_str()>{d.state.as_str()}</span></h2>
                                <p class="muted">{format!("{done} of {total} steps done · applied by {} · {}", d.applied_by, when(&d.created))}</p>
                                <progress max=total value=done aria-label="Steps done"></progress>
                                <ol class="steps">
                                    {d.steps.iter().filter(|s| s.step.action.changes()).map(|s| {
                                        let st = step_state(s.state);
                                        view! {
                                            <li class=format!("step {}", s.step.action.effect()) data-state=st>
                                                <span class=format!("state step-{st}")>{st.to_uppercase()}</span>
                                                " " {s.step.description.clone()}
                                                {s.message.clone().map(|m| view! { <div class="muted small">{m}</div> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ol>
                                <div class="actions">
                                    {(d.state == DeploymentState::Running).then(|| view! {
                                        <button type="button" class="danger" on:click=move |_| { cancel.dispatch(id1.clone()); }>"Cancel"</button>
                                    })}
                                    {matches!(d.state, DeploymentState::Failed | DeploymentState::Cancelled).then(|| view! {
                                        <button type="button" on:click=move |_| { retry.dispatch(id2.clone()); }>"Retry"</button>
                                    })}
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            {move || cancel.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e/> })}
            {move || retry.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorMessage error=e/> })}
        </section>
    }
}

/// The revisions: each deployment, with its diff against the one before, and rollback.
#[component]
fn History(
    rolling: Action<(String, bool), Result<PlanAnswer, AppError>>,
    deployment: RwSignal<Option<String>>,
    text: RwSignal<String>,
) -> impl IntoView {
    let live = live_tick(&[Topic::Deployment]);
    let list = Resource::new(move || live.get(), |_| list_deployments());
    let diff = RwSignal::new(None::<(String, Result<Vec<DocumentChange>, AppError>)>);
    // Any two revisions compared: their ids, chosen in the two lists.
    let (from, to) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    view! {
        <section class="card stack" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! { <p class="muted">"No revisions yet: apply a plan to make the first."</p> }.into_any(),
                        Ok(p) => {
                            let items = p.items;
                            let previous: Vec<Option<String>> = (0..items.len()).map(|i| items.get(i + 1).map(|d| d.id.clone())).collect();
                            let choices = items.iter().map(|d| (d.id.clone(), d.number)).collect::<Vec<_>>();
                            let numbers = choices.clone();
                            let options = move |chosen: RwSignal<String>| choices.iter().map(|(id, n)| {
                                let selected = chosen.with_untracked(|c| c == id);
                                view! { <option value=id.clone() selected=selected>{format!("#{n}")}</option> }
                            }).collect_view();
                            let compare = move |_| {
                                let (a, b) = (from.get_untracked(), to.get_untracked());
                                if a.is_empty() || b.is_empty() {
                                    return;
                                }
                                let name = |id: &str| numbers.iter().find(|(x, _)| x == id).map(|(_, n)| format!("#{n}")).unwrap_or_default();
                                let title = format!("From revision {} to {}", name(&a), name(&b));
                                leptos::task::spawn_local(async move {
                                    let r = diff_revisions(a, b).await;
                                    diff.set(Some((title, r)));
                                });
                            };
                            view! {
                                <div class="toolbar" role="group" aria-label="Compare two revisions">
                                    <label class="inline-label">"Compare"
                                        <select id="compare-from" on:change=move |ev| from.set(event_target_value(&ev))>
                                            <option value="">"—"</option>{options.clone()(from)}
                                        </select>
                                    </label>
                                    <label class="inline-label">"with"
                                        <select id="compare-to" on:change=move |ev| to.set(event_target_value(&ev))>
                                            <option value="">"—"</option>{options(to)}
                                        </select>
                                    </label>
                                    <button type="button" class="small" id="compare-revisions" on:click=compare>"Diff"</button>
                                </div>
                                <table class="list revisions">
                                    <thead><tr><th>"Revision"</th><th>"When"</th><th>"By"</th><th>"State"</th><th>"Changes"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                    <tbody>
                                        {items.into_iter().zip(previous).map(|(d, prev)| {
                                            let s = &d.summary;
                                            let what = format!("+{} ~{} −{} · {} connected, {} disconnected",
                                                s.create, s.update + s.move_ + s.upgrade, s.terminate, s.connect, s.disconnect);
                                            let (show, restore, before, open) = (d.id.clone(), d.id.clone(), d.id.clone(), d.id.clone());
                                            let number = d.number;
                                            let this = d.id.clone();
                                            let state = d.state.as_str().to_lowercase();
                                            view! {
                                                <tr data-revision=d.number>
                                                    <td>{format!("#{}", d.number)}{d.restores.as_ref().map(|_| view! { <span class="muted small">" (rollback)"</span> })}</td>
                                                    <td class="nowrap">{when(&d.created)}</td>
                                                    <td>{d.applied_by.clone()}</td>
                                                    <td><span class=format!("state deployment-{state}")>{d.state.as_str()}</span></td>
                                                    <td class="small">{what}</td>
                                                    <td><div class="row-actions">
                                                        <button type="button" class="small" on:click=move |_| deployment.set(Some(show.clone()))>"Progress"</button>
                                                        {prev.map(|prev| view! {
                                                            <button type="button" class="small" on:click=move |_| {
                                                                let (from, to) = (prev.clone(), this.clone());
                                                                leptos::task::spawn_local(async move {
                                                                    let r = diff_revisions(from, to).await;
                                                                    diff.set(Some((format!("What revision #{number} changed"), r)));
                                                                });
                                                            }>"Diff"</button>
                                                        })}
                                                        <button type="button" class="small" on:click=move |_| {
                                                            let id = open.clone();
                                                            leptos::task::spawn_local(async move {
                                                                if let Ok(yaml) = revision_yaml(id).await {
                                                                    text.set(yaml);
                                                                }
                                                            });
                                                        }>"Edit"</button>
                                                        <button type="button" class="small" on:click=move |_| { rolling.dispatch((restore.clone(), false)); }>"Restore"</button>
                                                        {(number == 1).then(|| view! {
                                                            <button type="button" class="small" on:click=move |_| { rolling.dispatch((before.clone(), true)); }>"Restore before"</button>
                                                        })}
                                                    </div></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            {move || diff.get().map(|(n, r)| match r {
                Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                Ok(changes) => view! {
                    <div class="diff" aria-live="polite">
                        <h3>{n}</h3>
                        {if changes.is_empty() {
                            view! { <p class="muted">"Nothing."</p> }.into_any()
                        } else {
                            view! { <ul>{changes.into_iter().map(|c| view! { <li class=c.effect.clone()>{mark(&c.effect)} " " {c.to_string()}</li> }).collect_view()}</ul> }.into_any()
                        }}
                    </div>
                }.into_any(),
            })}
        </section>
    }
}
