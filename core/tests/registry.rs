//! The registry connector and the service catalogue against the real registry given by
//! `SWITCHYARD_REGISTRY_URL` (scripts/test starts one). Images are pushed through the registry
//! API itself: single-architecture schema-2 manifests, the original's `-arm` tags, and a
//! multi-platform manifest list.

use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};
use switchyard_core::{
    connectors::registry::{RegistryAuth, RegistryConnector},
    managers::{ListParams, ServiceManager},
    model::{Architecture, ParameterType},
    Error,
};

fn registry_url() -> Option<String> {
    match std::env::var("SWITCHYARD_REGISTRY_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            eprintln!("SKIPPED: registry tests: SWITCHYARD_REGISTRY_URL is not set (scripts/test sets it)");
            None
        }
    }
}

struct Pusher {
    http: reqwest::Client,
    base: String,
}

impl Pusher {
    async fn blob(&self, repo: &str, bytes: &[u8]) -> (String, usize) {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        let r = self.http.post(format!("{}/v2/{repo}/blobs/uploads/", self.base)).send().await.unwrap();
        assert_eq!(r.status(), 202, "start upload");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let location = if location.starts_with("http") { location } else { format!("{}{location}", self.base) };
        let sep = if location.contains('?') { '&' } else { '?' };
        let r = self.http.put(format!("{location}{sep}digest={digest}")).body(bytes.to_vec()).send().await.unwrap();
        assert_eq!(r.status(), 201, "finish upload");
        (digest, bytes.len())
    }

    async fn manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: serde_json::Value,
    ) -> (String, usize) {
        let bytes = serde_json::to_vec(&body).unwrap();
        let r = self
            .http
            .put(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header("content-type", media_type)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "push manifest: {}", r.text().await.unwrap_or_default());
        (format!("sha256:{}", hex::encode(Sha256::digest(&bytes))), bytes.len())
    }

    /// An image with no layers: only a config with labels and an architecture.
    async fn image(&self, repo: &str, tag: Option<&str>, arch: &str, labels: serde_json::Value) -> (String, usize) {
        let config = json!({
            "architecture": arch, "os": "linux", "created": "2026-11-24T10:00:00Z",
            "config": { "Labels": labels }, "rootfs": { "type": "layers", "diff_ids": [] }
        });
        let (digest, size) = self.blob(repo, &serde_json::to_vec(&config).unwrap()).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "size": size, "digest": digest },
            "layers": []
        });
        let reference = tag.map(str::to_string);
        let (mdigest, msize) = self
            .manifest(
                repo,
                reference.as_deref().unwrap_or("untagged"),
                "application/vnd.docker.distribution.manifest.v2+json",
                manifest.clone(),
            )
            .await;
        (mdigest, msize)
    }
}

fn labels(name: &str) -> serde_json::Value {
    json!({
        "org.flexiblepower.serviceName": name,
        "org.flexiblepower.interfaces": r#"[ { "id": "echo/greeting", "name": "Greeting", "serviceId": "echo",
            "interfaceVersions": [ { "versionName": "1", "receivesHash": "aa", "sendsHash": "bb" } ],
            "allowMultiple": false, "autoConnect": true } ]"#,
        "org.flexiblepower.parameters": r#"[{"id":"greeting","name":"Greeting","type":"string","default":"hello"},
            {"id":"period","name":"Period (s)","type":"integer","default":5,"optional":true}]"#
    })
}

#[tokio::test]
async fn reads_services_from_a_real_registry() {
    let Some(url) = registry_url() else { return };
    let run = format!("t{}", std::process::id());
    let prefix = format!("sytest-{run}/");
    let pusher = Pusher { http: reqwest::Client::new(), base: url.clone() };

    // echo: version 1.0 for x86-64 and, by the original's convention, 1.0-arm.
    let echo = format!("{prefix}echo");
    pusher.image(&echo, Some("1.0"), "amd64", labels("Echo")).await;
    pusher.image(&echo, Some("1.0-arm"), "arm", labels("Echo")).await;
    pusher.image(&echo, Some("1.1"), "amd64", labels("Echo")).await;
    // multi: one tag, a manifest list of amd64 and arm64 images.
    let multi = format!("{prefix}multi");
    let amd = pusher.image(&multi, None, "amd64", labels("Multi")).await;
    let arm = pusher.image(&multi, None, "arm64", labels("Multi")).await;
    let list = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            { "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": amd.0, "size": amd.1,
              "platform": { "architecture": "amd64", "os": "linux" } },
            { "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": arm.0, "size": arm.1,
              "platform": { "architecture": "arm64", "os": "linux" } }
        ]
    });
    let (list_digest, _) =
        pusher.manifest(&multi, "2.0", "application/vnd.docker.distribution.manifest.list.v2+json", list).await;
    // broken: labels that do not parse are reported, not fatal.
    let broken = format!("{prefix}broken");
    pusher.image(&broken, Some("0.1"), "amd64", json!({ "org.flexiblepower.interfaces": "[{" })).await;

    let connector = RegistryConnector::new(&url, &prefix, RegistryAuth::None).unwrap();
    let ids = connector.service_ids().await.unwrap();
    assert_eq!(ids, vec!["broken", "echo", "multi"], "only repositories under the prefix, without it");

    let manager = ServiceManager::new(connector, Duration::from_secs(60));
    let (page, status) = manager.list(&ListParams::default(), None).await.unwrap();
    assert!(!status.stale && status.error.is_none() && status.updated.is_some());
    assert_eq!(page.total, 3);

    let versions = manager.versions("echo").await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(), ["1.1", "1.0"], "newest first");
    let v10 = &versions[1];
    assert_eq!(v10.tags.get(&Architecture::X86_64).map(String::as_str), Some("1.0"));
    assert_eq!(v10.tags.get(&Architecture::Arm).map(String::as_str), Some("1.0-arm"));
    assert_eq!(v10.name, "Echo");
    assert_eq!(v10.interfaces[0].id, "echo/greeting");
    assert!(v10.interfaces[0].auto_connect && !v10.interfaces[0].allow_multiple);
    assert_eq!(v10.parameters[1].kind, ParameterType::Integer);
    assert_eq!(v10.parameters[1].default.as_deref(), Some("5"));
    assert!(v10.digests[&Architecture::X86_64].starts_with("sha256:"));
    assert_eq!(
        manager.get("echo", None).await.unwrap().version,
        "1.1",
        "latest = newest when there is no `latest` tag"
    );

    let multi = manager.get("multi", Some("2.0")).await.unwrap();
    assert_eq!(multi.tags.keys().copied().collect::<Vec<_>>(), vec![Architecture::X86_64, Architecture::Arm64]);
    assert_eq!(multi.digests[&Architecture::Arm64], list_digest, "a multi-platform tag is pinned by its list digest");

    let broken = manager.get("broken", None).await.unwrap();
    assert!(broken.problems.iter().any(|p| p.contains("interfaces")), "{:?}", broken.problems);

    let (found, _) = manager.list(&ListParams::default(), Some("MUL")).await.unwrap();
    assert_eq!(found.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["multi"]);
    assert!(matches!(manager.get("nope", None).await, Err(Error::NotFound(_))));
    assert!(matches!(manager.get("echo", Some("9.9")).await, Err(Error::NotFound(_))));
}

#[tokio::test]
async fn an_unreachable_registry_is_reported_and_the_last_catalogue_kept() {
    let Some(url) = registry_url() else { return };
    let prefix = format!("sytest-stale-{}/", std::process::id());
    let pusher = Pusher { http: reqwest::Client::new(), base: url.clone() };
    pusher.image(&format!("{prefix}kept"), Some("1"), "amd64", labels("Kept")).await;

    // A proxy we can stop: the registry "goes away" when it stops answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = url.trim_start_matches("http://").to_string();
    let proxy = tokio::spawn(async move {
        // Aborting the proxy drops this set, which ends the open connections too.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let (mut inbound, _) = listener.accept().await.unwrap();
            let upstream = upstream.clone();
            connections.spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });

    let manager =
        ServiceManager::new(RegistryConnector::new(&proxy_url, &prefix, RegistryAuth::None).unwrap(), Duration::ZERO);
    let (page, status) = manager.list(&ListParams::default(), None).await.unwrap();
    assert_eq!((page.total, status.stale), (1, false));

    proxy.abort();
    let _ = proxy.await;
    manager.refresh().await;
    let (page, status) = manager.list(&ListParams::default(), None).await.unwrap();
    assert_eq!(page.total, 1, "the last known catalogue is still served");
    assert!(status.stale, "and marked stale");
    assert!(status.error.unwrap().contains("cannot be reached"));

    let never =
        ServiceManager::new(RegistryConnector::new(&proxy_url, &prefix, RegistryAuth::None).unwrap(), Duration::ZERO);
    assert!(
        matches!(never.list(&ListParams::default(), None).await, Err(Error::Unavailable(_))),
        "no catalogue at all: 503"
    );
}
