//! The service catalogue: what the registry offers, with versions, interfaces and parameters.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};
use serde::{Deserialize, Serialize};
use switchyard_core::model::{Page, Service};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{caller, sy};
use crate::{
    components::{when, EmptyState, ErrorMessage, Loading, Pager},
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
                                                    <td>{s.interfaces.iter().map(|i| i.name.clone()).collect::<Vec<_>>().join(", ")}</td>
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
    view! {
        <Title text="Service"/>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match versions.await {
                    Err(e) => view! { <ErrorMessage error=e/> }.into_any(),
                    Ok(versions) => {
                        let Some(latest) = versions.first().cloned() else {
                            return view! { <EmptyState title="No versions">"This service has no images."</EmptyState> }.into_any();
                        };
                        view! {
                            <div class="page-head">
                                <h1>{latest.name.clone()}</h1>
                                <A href="/services">"All services"</A>
                            </div>
                            {versions.into_iter().map(|v| view! { <ServiceVersion service=v/> }).collect_view()}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ServiceVersion(service: Service) -> impl IntoView {
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
                    <table class="list">
                        <thead><tr><th>"Interface"</th><th>"Versions (sends / receives)"</th><th>"Connections"</th></tr></thead>
                        <tbody>
                            {service.interfaces.iter().map(|i| view! {
                                <tr>
                                    <td>{i.name.clone()}<div class="muted small"><code>{i.id.clone()}</code></div></td>
                                    <td>{i.interface_versions.iter().map(|v| view! {
                                        <div><strong>{v.version_name.clone()}</strong> " "
                                            <code title=v.sends_hash.clone()>{short(&v.sends_hash)}</code> " / "
                                            <code title=v.receives_hash.clone()>{short(&v.receives_hash)}</code></div>
                                    }).collect_view()}</td>
                                    <td>
                                        {if i.allow_multiple { "many" } else { "one" }}
                                        {i.auto_connect.then(|| view! { <span class="badge">"auto-connect"</span> })}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <h3>"Parameters"</h3>
            {if service.parameters.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <table class="list">
                        <thead><tr><th>"Parameter"</th><th>"Type"</th><th>"Default"</th><th>"Required"</th></tr></thead>
                        <tbody>
                            {service.parameters.iter().map(|p| view! {
                                <tr>
                                    <td>{p.name.clone()}<div class="muted small"><code>{p.id.clone()}</code></div></td>
                                    <td>{format!("{:?}", p.kind).to_lowercase()}{p.is_array.then_some("[]")}</td>
                                    <td>{p.default.clone().unwrap_or_default()}</td>
                                    <td>{if p.is_optional { "no" } else { "yes" }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
