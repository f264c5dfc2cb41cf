//! The service catalogue: every service in the registry with all its versions, their
//! architectures, interfaces and typed parameters. The registry is read in the background and
//! cached; when it cannot be reached, the last known catalogue is served, marked stale, with
//! the error.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use super::ListParams;
use crate::{
    connectors::registry::{self, RegistryConnector},
    error::{Error, Result},
    model::{Architecture, Page, Service},
};

/// The catalogue as it stands, with how fresh it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogueStatus {
    /// When the registry was last read completely.
    pub updated: Option<DateTime<Utc>>,
    /// True when the last attempt to read the registry failed and older data is shown.
    pub stale: bool,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

#[derive(Default)]
struct Cache {
    /// Service id → its versions, newest first.
    services: BTreeMap<String, Vec<Service>>,
    status: CatalogueStatus,
    read_at: Option<Instant>,
}

#[derive(Clone)]
pub struct ServiceManager {
    registry: RegistryConnector,
    cache: Arc<RwLock<Cache>>,
    refreshing: Arc<Mutex<()>>,
    max_age: Duration,
    events: Option<crate::events::Events>,
}

impl ServiceManager {
    pub fn new(registry: RegistryConnector, max_age: Duration) -> Self {
        Self { registry, cache: Arc::default(), refreshing: Arc::default(), max_age, events: None }
    }

    /// Publish a `catalogue` event whenever a read of the registry finds the catalogue changed.
    pub fn publishing(mut self, events: crate::events::Events) -> Self {
        self.events = Some(events);
        self
    }

    pub fn registry(&self) -> &RegistryConnector {
        &self.registry
    }

    /// Make sure the cache is usable: read the registry now if it never was, and in the
    /// background if what we have is older than `max_age`.
    async fn ensure_fresh(&self) {
        let (never, old) = {
            let cache = self.cache.read().await;
            // After a failed read, try again soon rather than after the full max age.
            let max_age = if cache.status.stale { self.max_age.min(Duration::from_secs(2)) } else { self.max_age };
            (cache.read_at.is_none(), cache.read_at.is_some_and(|t| t.elapsed() > max_age))
        };
        if never {
            self.refresh().await;
        } else if old {
            let this = self.clone();
            tokio::spawn(async move { this.refresh().await });
        }
    }

    /// Read the whole registry once (one refresh at a time; a caller that finds one under way
    /// waits for it instead of starting another).
    pub async fn refresh(&self) {
        let started = Instant::now();
        let Ok(_guard) = self.refreshing.try_lock() else {
            let _wait = self.refreshing.lock().await;
            return;
        };
        // Someone else may have refreshed while we waited for the lock.
        if self.cache.read().await.read_at.is_some_and(|t| t > started) {
            return;
        }
        let result = self.read_registry().await;
        let mut cache = self.cache.write().await;
        cache.read_at = Some(Instant::now());
        match result {
            Ok(services) => {
                if let Some(events) = self.events.as_ref().filter(|_| cache.services != services) {
                    use crate::{events::Audience, model::Topic};
                    events.publish(Topic::Catalogue, "changed", "", None, Audience::Everyone);
                }
                cache.services = services;
                cache.status = CatalogueStatus { updated: Some(Utc::now()), stale: false, error: None };
            }
            Err(e) => {
                #[cfg(feature = "server")]
                tracing::warn!("reading the service catalogue: {e}");
                cache.status.stale = true;
                cache.status.error = Some(e.to_string());
            }
        }
    }

    async fn read_registry(&self) -> Result<BTreeMap<String, Vec<Service>>> {
        let ids = self.registry.service_ids().await?;
        let reads = ids.iter().map(|id| self.read_service(id));
        let mut services = BTreeMap::new();
        let previous = self.cache.read().await.services.clone();
        for (id, result) in ids.iter().zip(futures::future::join_all(reads).await) {
            match result {
                Ok(versions) if !versions.is_empty() => {
                    services.insert(id.clone(), versions);
                }
                Ok(_) => {}
                // One broken repository does not hide the others; keep what we knew of it.
                Err(e) => {
                    #[cfg(feature = "server")]
                    tracing::warn!(service = %id, "reading a service from the registry: {e}");
                    if let Some(old) = previous.get(id) {
                        services.insert(id.clone(), old.clone());
                    }
                }
            }
        }
        Ok(services)
    }

    async fn read_service(&self, id: &str) -> Result<Vec<Service>> {
        let tags = self.registry.tags(id).await?;
        let mut by_version: BTreeMap<String, Vec<registry::ImageInfo>> = BTreeMap::new();
        for tag in tags {
            let images = self.registry.images(id, &tag).await?;
            let version = tag.strip_suffix("-arm").unwrap_or(&tag).to_string();
            by_version.entry(version).or_default().extend(images);
        }
        let mut versions: Vec<Service> =
            by_version.into_iter().map(|(version, images)| service_version(id, version, images)).collect();
        versions.sort_by(newest_first);
        Ok(versions)
    }

    /// The latest version of every service, filtered by `search` (name or id) and paged.
    pub async fn list(&self, params: &ListParams, search: Option<&str>) -> Result<(Page<Service>, CatalogueStatus)> {
        self.ensure_fresh().await;
        let cache = self.cache.read().await;
        if cache.services.is_empty() && cache.status.error.is_some() && cache.status.updated.is_none() {
            return Err(Error::Unavailable(cache.status.error.clone().unwrap_or_default()));
        }
        let needle = search.unwrap_or("").to_lowercase();
        let mut latest: Vec<Service> = cache
            .services
            .values()
            .filter_map(|versions| latest(versions).cloned())
            .filter(|s| {
                needle.is_empty() || s.name.to_lowercase().contains(&needle) || s.id.to_lowercase().contains(&needle)
            })
            .collect();
        let (query, page, per_page) = params.to_query(&["name", "id", "created"], "name")?;
        match query.sort.as_ref().map(|(f, d)| (f.as_str(), *d)) {
            Some(("created", desc)) => {
                latest.sort_by(|a, b| if desc { b.created.cmp(&a.created) } else { a.created.cmp(&b.created) })
            }
            Some(("id", desc)) => latest.sort_by(|a, b| if desc { b.id.cmp(&a.id) } else { a.id.cmp(&b.id) }),
            Some((_, desc)) => latest.sort_by(|a, b| {
                let o = a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id));
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }),
            None => {}
        }
        let total = latest.len() as u64;
        let items = latest.into_iter().skip(query.offset as usize).take(per_page as usize).collect();
        Ok((Page { items, total, page, per_page }, cache.status.clone()))
    }

    /// All versions of one service, newest first.
    pub async fn versions(&self, id: &str) -> Result<Vec<Service>> {
        self.ensure_fresh().await;
        let cache = self.cache.read().await;
        match cache.services.get(id) {
            Some(versions) => Ok(versions.clone()),
            None if cache.status.stale => Err(Error::Unavailable(format!(
                "service '{id}' is not in the last known catalogue, and the registry cannot be read: {}",
                cache.status.error.clone().unwrap_or_default()
            ))),
            None => Err(Error::NotFound(format!("no service '{id}' in the registry"))),
        }
    }

    /// One version of a service; `None` means its latest.
    pub async fn get(&self, id: &str, version: Option<&str>) -> Result<Service> {
        let versions = self.versions(id).await?;
        match version {
            None => {
                latest(&versions).cloned().ok_or_else(|| Error::NotFound(format!("service '{id}' has no versions")))
            }
            Some(v) => versions
                .into_iter()
                .find(|s| s.version == v)
                .ok_or_else(|| Error::NotFound(format!("service '{id}' has no version '{v}'"))),
        }
    }

    pub async fn status(&self) -> CatalogueStatus {
        self.cache.read().await.status.clone()
    }
}

/// The version tagged `latest` if there is one, else the newest.
fn latest(versions: &[Service]) -> Option<&Service> {
    versions.iter().find(|s| s.version == "latest").or_else(|| versions.first())
}

fn newest_first(a: &Service, b: &Service) -> std::cmp::Ordering {
    b.created.cmp(&a.created).then_with(|| compare_versions(&b.version, &a.version))
}

/// Version strings compared piece by piece, numbers as numbers (`1.10` after `1.9`).
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let pieces = |s: &str| -> Vec<(u64, String)> {
        s.split(['.', '-', '_'])
            .map(|p| p.parse::<u64>().map(|n| (n, String::new())).unwrap_or((0, p.to_string())))
            .collect()
    };
    pieces(a).cmp(&pieces(b))
}

fn service_version(id: &str, version: String, mut images: Vec<registry::ImageInfo>) -> Service {
    // Labels from the x86-64 image when there is one (they are the same in every image of a
    // version built by the dEF-Pi tools).
    images.sort_by_key(|i| (i.architecture != Architecture::X86_64, i.architecture));
    let labels = images.first().map(|i| i.labels.clone()).unwrap_or_default();
    let mut problems = Vec::new();
    let interfaces = registry::parse_interfaces(labels.get(registry::LABEL_INTERFACES).map(String::as_str))
        .unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        });
    let parameters = registry::parse_parameters(labels.get(registry::LABEL_PARAMETERS).map(String::as_str))
        .unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        });
    if !labels.contains_key(registry::LABEL_SERVICE_NAME) {
        problems.push(format!("the image has no {} label", registry::LABEL_SERVICE_NAME));
    }
    let mut tags = BTreeMap::new();
    let mut digests = BTreeMap::new();
    for image in &images {
        if image.architecture != Architecture::Unknown {
            tags.entry(image.architecture).or_insert_with(|| image.tag.clone());
            digests.entry(image.architecture).or_insert_with(|| image.digest.clone());
        }
    }
    Service {
        id: id.to_string(),
        name: labels.get(registry::LABEL_SERVICE_NAME).cloned().unwrap_or_else(|| id.to_string()),
        version,
        created: images.iter().filter_map(|i| i.created).max(),
        interfaces,
        parameters,
        tags,
        digests,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::compare_versions;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_compare_as_people_expect() {
        assert_eq!(compare_versions("1.10", "1.9"), Greater);
        assert_eq!(compare_versions("2017", "2017"), Equal);
        assert_eq!(compare_versions("0.1", "0.2"), Less);
    }
}
