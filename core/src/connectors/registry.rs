//! The registry connector: the Docker Registry HTTP API v2. It lists the repositories under the
//! service prefix (following the catalogue's pagination), their tags, and for each tag the
//! manifest (Docker schema 2, OCI manifest, or a manifest list / OCI index with one entry per
//! platform) and the image config blob whose labels describe the service, exactly as dEF-Pi's
//! images write them (`org.flexiblepower.serviceName`, `…interfaces`, `…parameters`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    error::{Error, Result},
    model::{Architecture, Interface, Parameter, ParameterType},
};

pub const LABEL_SERVICE_NAME: &str = "org.flexiblepower.serviceName";
pub const LABEL_INTERFACES: &str = "org.flexiblepower.interfaces";
pub const LABEL_PARAMETERS: &str = "org.flexiblepower.parameters";

const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// How to authenticate to the registry.
#[derive(Clone, Debug)]
pub enum RegistryAuth {
    None,
    Basic { username: String, password: String },
    Bearer(String),
}

#[derive(Clone)]
pub struct RegistryConnector {
    http: reqwest::Client,
    /// e.g. `http://127.0.0.1:5000`, without a trailing slash.
    base: String,
    /// Repository prefix of services, e.g. `services/`.
    prefix: String,
    auth: RegistryAuth,
}

/// One image of a tag: its architecture, its manifest digest (to pin a process to) and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageInfo {
    pub tag: String,
    pub architecture: Architecture,
    /// The digest to pull: the manifest list's for multi-platform tags, else the manifest's.
    pub digest: String,
    pub labels: BTreeMap<String, String>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Catalog {
    #[serde(default)]
    repositories: Vec<String>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    media_type: Option<String>,
    config: Option<Descriptor>,
    manifests: Option<Vec<PlatformDescriptor>>,
}

#[derive(Deserialize)]
struct Descriptor {
    digest: String,
}

#[derive(Deserialize)]
struct PlatformDescriptor {
    digest: String,
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Deserialize)]
struct ImageConfig {
    architecture: Option<String>,
    created: Option<DateTime<Utc>>,
    config: Option<ContainerConfig>,
}

#[derive(Deserialize)]
struct ContainerConfig {
    #[serde(rename = "Labels")]
    labels: Option<BTreeMap<String, String>>,
}

fn unreachable(base: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("the registry at {base} cannot be reached: {e}"))
}

impl RegistryConnector {
    pub fn new(base: &str, prefix: &str, auth: RegistryAuth) -> Result<Self> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::BadRequest(format!("registry URL '{base}' must start with http:// or https://")));
        }
        let mut prefix = prefix.trim_matches('/').to_string();
        if !prefix.is_empty() {
            prefix.push('/');
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
        Ok(Self { http, base, prefix, auth })
    }

    /// The registry's host and port, as Docker names images from it.
    pub fn image_host(&self) -> &str {
        self.base.split("://").nth(1).unwrap_or(&self.base)
    }

    pub fn repository(&self, service_id: &str) -> String {
        format!("{}{service_id}", self.prefix)
    }

    async fn get(&self, path_and_query: &str, accept: Option<&str>) -> Result<reqwest::Response> {
        let url = format!("{}{path_and_query}", self.base);
        let mut request = self.http.get(&url);
        if let Some(accept) = accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        request = match &self.auth {
            RegistryAuth::None => request,
            RegistryAuth::Basic { username, password } => request.basic_auth(username, Some(password)),
            RegistryAuth::Bearer(token) => request.bearer_auth(token),
        };
        let response = request.send().await.map_err(|e| unreachable(&self.base, e))?;
        match response.status().as_u16() {
            200..=299 => Ok(response),
            401 | 403 => Err(Error::Unavailable(format!(
                "the registry at {} refused the credentials for {path_and_query}",
                self.base
            ))),
            404 => Err(Error::NotFound(format!("the registry has nothing at {path_and_query}"))),
            status => Err(Error::Unavailable(format!("the registry answered {status} for {path_and_query}"))),
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        accept: Option<&str>,
    ) -> Result<(T, reqwest::header::HeaderMap)> {
        let response = self.get(path, accept).await?;
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| unreachable(&self.base, e))?;
        let value = serde_json::from_slice(&body)
            .map_err(|e| Error::Unavailable(format!("the registry's answer for {path} does not parse: {e}")))?;
        Ok((value, headers))
    }

    /// The service ids: repositories under the prefix, without it. Follows `Link: rel="next"`.
    pub async fn service_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut next = Some("/v2/_catalog?n=100".to_string());
        while let Some(path) = next.take() {
            let (catalog, headers) = self.json::<Catalog>(&path, None).await?;
            ids.extend(
                catalog.repositories.iter().filter_map(|r| r.strip_prefix(self.prefix.as_str())).map(str::to_string),
            );
            next = next_link(&headers);
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    pub async fn tags(&self, service_id: &str) -> Result<Vec<String>> {
        let mut tags = Vec::new();
        let mut next = Some(format!("/v2/{}/tags/list?n=100", self.repository(service_id)));
        while let Some(path) = next.take() {
            let (list, headers) = self.json::<TagList>(&path, None).await?;
            tags.extend(list.tags.unwrap_or_default());
            next = next_link(&headers);
        }
        Ok(tags)
    }

    /// The images behind a tag: one for a plain manifest, one per Linux platform for a list.
    pub async fn images(&self, service_id: &str, tag: &str) -> Result<Vec<ImageInfo>> {
        let repo = self.repository(service_id);
        let (manifest, headers) =
            self.json::<Manifest>(&format!("/v2/{repo}/manifests/{tag}"), Some(MANIFEST_TYPES)).await?;
        let digest =
            headers.get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_default();
        let media = manifest.media_type.clone().unwrap_or_default();
        if let Some(entries) = manifest.manifests.filter(|_| media.contains("list") || media.contains("index")) {
            let mut images = Vec::new();
            for entry in entries {
                let Some(platform) = entry.platform else { continue };
                // Attestations and other non-images carry os "unknown".
                if platform.os != "linux" {
                    continue;
                }
                let (child, _) = self
                    .json::<Manifest>(&format!("/v2/{repo}/manifests/{}", entry.digest), Some(MANIFEST_TYPES))
                    .await?;
                let Some(config) = child.config else { continue };
                let mut image = self.image(&repo, tag, &config.digest, &digest).await?;
                image.architecture = Architecture::from_docker(&platform.architecture);
                images.push(image);
            }
            return Ok(images);
        }
        let config = manifest.config.ok_or_else(|| {
            Error::Unavailable(format!("the manifest of {repo}:{tag} has no config (a schema 1 manifest?)"))
        })?;
        let mut image = self.image(&repo, tag, &config.digest, &digest).await?;
        // The original's convention: `-arm` tags are 32-bit ARM images.
        if tag.ends_with("-arm") && image.architecture == Architecture::Unknown {
            image.architecture = Architecture::Arm;
        }
        Ok(vec![image])
    }

    async fn image(&self, repo: &str, tag: &str, config_digest: &str, digest: &str) -> Result<ImageInfo> {
        let (config, _) = self.json::<ImageConfig>(&format!("/v2/{repo}/blobs/{config_digest}"), None).await?;
        Ok(ImageInfo {
            tag: tag.to_string(),
            architecture: config
                .architecture
                .as_deref()
                .map(Architecture::from_docker)
                .unwrap_or(Architecture::Unknown),
            digest: digest.to_string(),
            labels: config.config.and_then(|c| c.labels).unwrap_or_default(),
            created: config.created,
        })
    }

    pub async fn ping(&self) -> Result<()> {
        self.get("/v2/", None).await.map(|_| ())
    }

    /// Whether `image` (`host/repository:tag`, any repository) is in this registry. `None`: the
    /// image names another registry.
    pub async fn has_image(&self, image: &str) -> Option<Result<bool>> {
        let rest = image.strip_prefix(self.image_host())?.strip_prefix('/')?;
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, tag),
            _ => (rest, "latest"),
        };
        Some(match self.get(&format!("/v2/{repository}/manifests/{tag}"), Some(MANIFEST_TYPES)).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        })
    }
}

/// The path of `Link: </v2/_catalog?last=x&n=100>; rel="next"`.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    let (target, rel) = link.split_once(';')?;
    rel.contains("next").then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
}

/// The interfaces label: a JSON array as the dEF-Pi code generators write it.
pub fn parse_interfaces(label: Option<&str>) -> Result<Vec<Interface>, String> {
    match label.map(str::trim) {
        None | Some("") | Some("null") => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| format!("{LABEL_INTERFACES} does not parse: {e}")),
    }
}

/// The parameters label: `null` or a JSON array (Jackson may add `array`/`optional` keys, and
/// `default` may be a string or a number).
pub fn parse_parameters(label: Option<&str>) -> Result<Vec<Parameter>, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        id: String,
        name: String,
        #[serde(rename = "type")]
        kind: ParameterType,
        #[serde(default)]
        is_array: Option<bool>,
        #[serde(default)]
        array: Option<bool>,
        #[serde(default)]
        is_optional: Option<bool>,
        #[serde(default)]
        optional: Option<bool>,
        #[serde(default)]
        values: Option<Vec<Value>>,
        #[serde(default)]
        labels: Option<Vec<String>>,
        #[serde(default)]
        default: Option<Value>,
        #[serde(default)]
        description: Option<String>,
    }
    let text = |v: Value| match v {
        Value::String(s) => s,
        other => other.to_string(),
    };
    match label.map(str::trim) {
        None | Some("") | Some("null") => Ok(Vec::new()),
        Some(json) => {
            let raw: Vec<Raw> =
                serde_json::from_str(json).map_err(|e| format!("{LABEL_PARAMETERS} does not parse: {e}"))?;
            Ok(raw
                .into_iter()
                .map(|r| Parameter {
                    id: r.id,
                    name: r.name,
                    kind: r.kind,
                    is_array: r.is_array.or(r.array).unwrap_or(false),
                    is_optional: r.is_optional.or(r.optional).unwrap_or(false),
                    values: r.values.map(|v| v.into_iter().map(text).collect()),
                    labels: r.labels,
                    default: r.default.filter(|d| !d.is_null()).map(text),
                    description: r.description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_as_the_original_writes_them() {
        // As a Dockerfile line continuation leaves it: extra spaces inside the JSON.
        let interfaces = r#"[ { "id": "UniversalDimmer/inflexible-controller", "name": "Inflexible Controller",
            "serviceId": "UniversalDimmer",
            "interfaceVersions": [ { "versionName": "efi 2.0",
                "receivesHash": "2d8647b697819ff9dd7dfc4f005d580df7accfa20dc01fc39f7d1e3bc901b346",
                "sendsHash": "31fffa222831723a1b2ceaec406ed47140029d3230971c953b8857946a8fa89a" } ],
            "allowMultiple": true, "autoConnect": true } ]"#;
        let parsed = parse_interfaces(Some(interfaces)).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].id, "UniversalDimmer/inflexible-controller");
        assert!(parsed[0].allow_multiple && parsed[0].auto_connect);
        assert_eq!(parsed[0].interface_versions[0].version_name, "efi 2.0");
        assert!(parse_interfaces(Some("null")).unwrap().is_empty());
        assert!(parse_interfaces(Some("[{]")).is_err());

        let parameters = r#"[{"id":"minimumOnTime","name":"Minimum on time","type":"integer","default":10,
            "array":false,"optional":true},
            {"id":"mode","name":"Mode","type":"string","isArray":false,"values":["a","b"],"default":"a",
            "description":" How it runs "}]"#;
        let parsed = parse_parameters(Some(parameters)).unwrap();
        assert_eq!(parsed[0].kind, ParameterType::Integer);
        assert_eq!(parsed[0].default.as_deref(), Some("10"));
        assert!(parsed[0].is_optional);
        assert_eq!(parsed[1].values.as_deref(), Some(&["a".to_string(), "b".to_string()][..]));
        assert_eq!((parsed[0].description.as_deref(), parsed[1].description.as_deref()), (None, Some("How it runs")));
        assert!(parse_parameters(Some("null")).unwrap().is_empty());
    }

    #[test]
    fn catalogue_pagination_links() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::LINK, "</v2/_catalog?last=services%2Fb&n=100>; rel=\"next\"".parse().unwrap());
        assert_eq!(next_link(&headers).as_deref(), Some("/v2/_catalog?last=services%2Fb&n=100"));
        assert_eq!(next_link(&reqwest::header::HeaderMap::new()), None);
    }
}
