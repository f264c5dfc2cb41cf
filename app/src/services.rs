//! The service catalogue: what the registry offers, with versions, interfaces and parameters.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};
use serde::{Deserialize, Serialize};
use switchyard_core::model::{Interface, Page, Service};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{when, EmptyState, ErrorMessage, Loading, Pager},
    connections::{messages_text, Flow},
    AppError,
};

/// A page of the catalogue and how fresh it is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CataloguePage {
    pub page: Page<Service>,
    pub stale: bool,
    pub error: Option<String>,
}

#[server]
pub async fn list_services(page: u64, q: String) -> Result<CataloguePage, AppError> {
    use switchyard_core::managers::ListParams;
    caller().await?;
    let params = ListParams { page: Some(page.max(1)), per_page: Some(25), sort: Some("name".into()) };
    let (page, status) = sy().services.list(&params, Some(&q)).await?;
    Ok(CataloguePage { page, stale: status.stale, error: status.error })
}

/// Read the registry again now instead of waiting for the next background refresh.
#[server]
pub async fn refresh_catalogue() -> Result<(), AppError> {
    caller().await?;
    sy().services.refresh().await;
    Ok(())
}

#[server]
pub async fn service_versions(id: String) -> Result<Vec<Service>, AppError> {
    caller().await?;
    Ok(sy().services.versions(&id).await?)
}

/// Something that fits an interface: a deployed process of the caller's or a catalogue service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// The process id, or the service id for a catalogue service.
    pub id: String,
    /// The process's name, or the service's.
    pub name: String,
    pub service_id: String,
    pub service_version: String,
    pub interface_id: String,
    pub interface_name: String,
    /// The version pair that would be used: this interface's, then the other's.
    pub versions: (String, String),
}

/// What fits one interface of one version of a service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InterfaceFits {
    pub service_version: String,
    pub interface_id: String,
    pub processes: Vec<Fit>,
    pub services: Vec<Fit>,
}

/// For every interface of every version of a service: which of the caller's processes and which
/// catalogue services (their latest versions) fit it, by the rule connections are made with
/// (`model::choose_versions`: some version pair whose hashes mirror).
#[server]
pub async fn service_fits(id: String) -> Result<Vec<InterfaceFits>, AppError> {
    use switchyard_core::{
        managers::{ListParams, ProcessFilter},
        model::{choose_versions, ProcessState},
    };
    let caller = caller().await?;
    let sy = sy();
    let versions = sy.services.versions(&id).await?;
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("name".into()) };
    let catalogue = sy.services.list(&params, None).await.map(|(page, _)| page.items).unwrap_or_default();
    let params = ListParams { page: Some(1), per_page: Some(1000), sort: Some("created".into()) };
    let filter = ProcessFilter { user_id: Some(caller.user.id.clone()), ..Default::default() };
    let processes: Vec<_> = sy
        .processes
        .list(&caller, &params, &filter)
        .await?
        .items
        .into_iter()
        .filter(|p| p.state != ProcessState::Terminated)
        .collect();
    let mut out = Vec::new();
    for v in &versions {
        for i in &v.interfaces {
            let mut fits = InterfaceFits {
                service_version: v.version.clone(),
                interface_id: i.id.clone(),
                processes: Vec::new(),
                services: Vec::new(),
            };
            for p in &processes {
                for pi in &p.interfaces {
                    if let Some((mine, theirs)) = choose_versions(i, pi) {
                        fits.processes.push(Fit {
                            id: p.id.clone(),
                            name: p.name.clone(),
                            service_id: p.service_id.clone(),
                            service_version: p.service_version.clone(),
                            interface_id: pi.id.clone(),
                            interface_name: pi.name.clone(),
                            versions: (mine.version_name.clone(), theirs.version_name.clone()),
                        });
                    }
                }
            }
            for s in &catalogue {
                for si in &s.interfaces {
                    if let Some((mine, theirs)) = choose_versions(i, si) {
                        fits.services.push(Fit {
                            id: s.id.clone(),
                            name: s.name.clone(),
                            service_id: s.id.clone(),
                            service_version: s.version.clone(),
                            interface_id: si.id.clone(),
                            interface_name: si.name.clone(),
                            versions: (mine.version_name.clone(), theirs.version_name.clone()),
                        });
                    }
                }
            }
            out.push(fits);
        }
    }
    Ok(out)
}

fn architectures(s: &Service) -> String {
    s.tags.keys().map(|a| format!("{a:?}").to_lowercase().replace("x86_64", "x86-64")).collect::<Vec<_>>().join(", ")
}

/// Percent-encode a query value.
fn query_value(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The deploy form with this service version chosen.
fn deploy_href(s: &Service) -> String {
    format!("/processes/new?service={}&version={}", query_value(&s.id), query_value(&s.version))
}

fn short(hash: &str) -> String {
    hash.chars().take(10).collect::<String>() + "…"
}

#[component]
pub fn ServicesPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse().ok()).unwrap_or(1u64));
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let refresh = ServerAction::<RefreshCatalogue>::new();
    let services =
        Resource::new(move || (page.get(), q.get(), refresh.version().get()), |(page, q, _)| list_services(page, q));
    view! {
        <Title text="Services"/>
        <div class="page-head">
            <h1>"Services"</h1>
            <ActionForm action=refresh attr:class="inline">
                <button type="submit" disabled=move || refresh.pending().get()>
                    {move || if refresh.pending().get() { "Reading the registry…" } else { "Refresh from registry" }}
                </button>
            </ActionForm>
        </div>
        <Form method="GET" action="" attr:class="toolbar" attr:role="search">
            <input type="search" name="q" placeholder="Search services" aria-label="Search services" prop:value=q/>
            <button type="submit">"Search"</button>
        </Form>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match services.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(c) => {
                        let stale = c.stale.then(|| view! {
                            <p class="error" role="alert">
                                "The registry cannot be read right now; this is the last known catalogue. "
                                {c.error.clone().unwrap_or_default()}
                            </p>
                        });
                        let body = if c.page.items.is_empty() {
                            view! {
                                <EmptyState title="No services">
                                    {if q.get_untracked().is_empty() { "The registry holds no service images yet." } else { "No service matches this search." }}
                                </EmptyState>
                            }.into_any()
                        } else {
                            let pages = c.page.pages();
                            let base = format!("/services?q={}", q.get_untracked());
                            view! {
                                <table class="list">
                                    <thead><tr><th>"Service"</th><th>"Latest version"</th><th>"Architectures"</th><th>"Interfaces"</th><th>"Parameters"</th></tr></thead>
                                    <tbody>
                                        {c.page.items.into_iter().map(|s| {
                                            let (href, id, label, name, archs) = (format!("/services/{}", s.id), s.id.clone(), s.id.clone(), s.name.clone(), architectures(&s));
                                            view! {
                                                <tr data-service=label>
                                                    <td><A href=href>{name}</A><div class="muted small">{id}</div></td>
                                                    <td>{s.version.clone()}</td>
                                                    <td>{archs}</td>
                                                    <td>{s.interfaces.iter().map(|i| match Flow::of(i) {
                                                        Flow::Unknown => i.name.clone(),
                                                        f => format!("{} ({})", i.name, f.word()),
                                                    }).collect::<Vec<_>>().join(", ")}</td>
                                                    <td>{s.parameters.len()}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager base page=c.page.page pages total=c.page.total/>
                            }.into_any()
                        };
                        view! { {stale} {body} }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn ServicePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let versions = Resource::new(move || id.get(), service_versions);
    let fits = Resource::new(move || id.get(), service_fits);
    view! {
        <Title text="Service"/>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let (versions, fits) = (versions.await, fits.await);
                match versions {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(versions) => {
                        let Some(latest) = versions.first().cloned() else {
                            return view! { <EmptyState title="No versions">"This service has no images."</EmptyState> }.into_any();
                        };
                        // What fits is a help, not the page: without it the interfaces still show.
                        let (fits, fits_error) = match fits {
                            Ok(f) => (f, None),
                            Err(e) => (Vec::new(), Some(e)),
                        };
                        view! {
                            <div class="page-head">
                                <h1>{latest.name.clone()}</h1>
                                <A href="/services">"All services"</A>
                            </div>
                            {fits_error.map(|e| view! { <ErrorMessage error=e/> })}
                            {versions.into_iter().map(|v| {
                                let mine: Vec<InterfaceFits> = fits.iter().filter(|f| f.service_version == v.version).cloned().collect();
                                view! { <ServiceVersion service=v fits=mine/> }
                            }).collect_view()}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// An interface's direction and message types, with its id and hashes folded away.
fn interface_cell(i: &Interface) -> impl IntoView {
    let flow = Flow::of(i);
    view! {
        <td>
            <strong>{i.name.clone()}</strong>
            <span class=format!("flow-badge flow-{}", flow.key()) data-flow=flow.key()>{flow.word()}</span>
            <div class="muted small">{messages_text(i)}</div>
            <details class="hashes small">
                <summary>"Id and hashes"</summary>
                <div><code>{i.id.clone()}</code></div>
                {i.interface_versions.iter().map(|v| view! {
                    <div>"version " <strong>{v.version_name.clone()}</strong>
                        ": sends " <code class="digest" title=v.sends_hash.clone()>{short(&v.sends_hash)}</code>
                        ", receives " <code class="digest" title=v.receives_hash.clone()>{short(&v.receives_hash)}</code></div>
                }).collect_view()}
            </details>
        </td>
    }
}

/// What fits an interface: the caller's processes, then the catalogue's services.
fn fits_cell(fits: Option<InterfaceFits>) -> impl IntoView {
    let Some(f) = fits else { return view! { <td class="muted small">"—"</td> }.into_any() };
    if f.processes.is_empty() && f.services.is_empty() {
        return view! { <td class="muted small" data-fits="none">"Nothing deployed or in the catalogue fits it."</td> }
            .into_any();
    }
    let processes = (!f.processes.is_empty()).then(|| view! {
        <div class="small">"Your processes:"</div>
        <ul class="fit-list">
            {f.processes.into_iter().map(|p| {
                let (name, label) = (p.name.clone(), p.name.clone());
                let about = format!(" · {} ({} {}) · versions {} ↔ {}", p.interface_name, p.service_id, p.service_version, p.versions.0, p.versions.1);
                view! {
                    <li data-fit-process=name>
                        <A href=format!("/processes/{}", p.id)>{label}</A>
                        <span class="muted small">{about}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    });
    let services = (!f.services.is_empty()).then(|| view! {
        <div class="small">"Services in the catalogue:"</div>
        <ul class="fit-list">
            {f.services.into_iter().map(|s| {
                let href = format!("/services/{}", query_value(&s.service_id));
                let about = format!(" {} · {} · versions {} ↔ {}", s.service_version, s.interface_name, s.versions.0, s.versions.1);
                view! {
                    <li data-fit-service=s.service_id>
                        <A href=href>{s.name}</A>
                        <span class="muted small">{about}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    });
    view! { <td data-fits="some">{processes}{services}</td> }.into_any()
}

#[component]
fn ServiceVersion(service: Service, fits: Vec<InterfaceFits>) -> impl IntoView {
    let archs = architectures(&service);
    view! {
        <section class="card stack" data-version=service.version.clone()>
            <div class="section-head">
                <h2>"Version " {service.version.clone()}</h2>
                <A href=deploy_href(&service) attr:class="button primary" attr:aria-label=format!("Deploy {} version {}", service.name, service.version)>"Deploy"</A>
            </div>
            <dl class="facts">
                <dt>"Service id"</dt><dd><code>{service.id.clone()}</code></dd>
                <dt>"Architectures"</dt><dd>{archs}</dd>
                <dt>"Built"</dt><dd>{service.created.as_ref().map(when).unwrap_or_else(|| "unknown".into())}</dd>
            </dl>
            {(!service.problems.is_empty()).then(|| view! {
                <div class="error" role="alert">{service.problems.iter().map(|p| view! { <div>{p.clone()}</div> }).collect_view()}</div>
            })}
            <h3>"Interfaces"</h3>
            {if service.interfaces.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll" role="region" aria-label=format!("Interfaces of version {}", service.version) tabindex="0">
                        <table class="list service-interfaces">
                            <thead><tr><th scope="col">"Interface"</th><th scope="col">"Versions"</th><th scope="col">"Connections"</th><th scope="col">"Fits"</th></tr></thead>
                            <tbody>
                                {service.interfaces.iter().map(|i| {
                                    let f = fits.iter().find(|f| f.interface_id == i.id).cloned();
                                    view! {
                                        <tr data-interface=i.id.clone()>
                                            {interface_cell(i)}
                                            <td>{i.interface_versions.iter().map(|v| v.version_name.clone()).collect::<Vec<_>>().join(", ")}</td>
                                            <td>
                                                {if i.allow_multiple { "many" } else { "one" }}
                                                {i.auto_connect.then(|| view! { <span class="badge">"auto-connect"</span> })}
                                            </td>
                                            {fits_cell(f)}
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <h3>"Parameters"</h3>
            {if service.parameters.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll" role="region" aria-label=format!("Parameters of version {}", service.version) tabindex="0">
                        <table class="list">
                            <thead><tr><th scope="col">"Parameter"</th><th scope="col">"Type"</th><th scope="col">"Default"</th><th scope="col">"Required"</th></tr></thead>
                            <tbody>
                                {service.parameters.iter().map(|p| view! {
                                    <tr>
                                        <td>{p.name.clone()}<div class="muted small"><code>{p.id.clone()}</code></div></td>
                                        <td>{format!("{:?}", p.kind).to_lowercase()}{p.is_array.then_some("[]")}</td>
                                        <td>{p.default.clone().unwrap_or_default()}</td>
                                        <td>{if p.is_required() { "yes" } else if p.is_optional { "no" } else { "no (has a default)" }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}
