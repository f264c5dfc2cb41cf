//! Operating the store: opening it at start-up (and telling a new store from a used one),
//! `switchyard backup` and `switchyard restore`.

use std::{
    io::{BufReader, Write},
    time::Duration,
};

use switchyard_core::{
    connectors::docker::{DockerConnector, LABEL_INSTANCE},
    instance::{self, StoreOrigin},
    store::{embedded::STORE_FILE, Store},
};

use crate::config::{BackupArgs, Config, RestoreArgs};

/// Print the outcome of a command and exit with its status.
pub fn exit_with(result: Result<String, String>) -> ! {
    match result {
        Ok(message) => {
            eprintln!("{message}");
            std::process::exit(0)
        }
        Err(message) => {
            eprintln!("switchyard: {message}");
            std::process::exit(1)
        }
    }
}

/// Open the store the configuration names, and say what it was before.
pub async fn open_store(config: &Config) -> Result<(Store, StoreOrigin), String> {
    let origin = if config.database_url.is_some() {
        StoreOrigin::Existing
    } else {
        match std::fs::metadata(config.data_dir.join(STORE_FILE)) {
            Err(_) => StoreOrigin::Missing,
            Ok(m) if m.len() == 0 => StoreOrigin::EmptyFile,
            Ok(_) => StoreOrigin::Existing,
        }
    };
    let store = Store::open(&config.store_location()).await.map_err(|e| {
        let text = e.to_string();
        if store_in_use(&e) {
            format!("the store at {} is in use by another Switchyard (stop it first): {text}", config.store_location())
        } else {
            format!("cannot open the store at {}: {text}", config.store_location())
        }
    })?;
    Ok((store, origin))
}

/// Whether opening the store failed because a running Switchyard holds it (the embedded
/// store's file lock).
pub fn store_in_use(e: &switchyard_core::Error) -> bool {
    let text = e.to_string();
    text.contains("already open") || text.contains("lock")
}

/// This installation's id; refuses a new store where Docker holds objects of that id.
pub async fn instance_id(
    config: &Config,
    store: &Store,
    origin: StoreOrigin,
    docker: &DockerConnector,
) -> Result<String, String> {
    let objects = if instance::is_new(store).await.map_err(|e| format!("cannot read the store: {e}"))? {
        match tokio::time::timeout(Duration::from_secs(10), docker.labelled_objects(LABEL_INSTANCE)).await {
            Ok(Ok(objects)) => Some(objects),
            Ok(Err(e)) => {
                tracing::warn!("cannot list Docker's objects to check the new store against: {e}");
                None
            }
            Err(_) => {
                tracing::warn!(
                    "Docker did not list its objects within 10 s; the new store is not checked against them"
                );
                None
            }
        }
    } else {
        None
    };
    instance::resolve(
        store,
        &config.store_location(),
        origin,
        config.instance_id.as_deref(),
        objects.as_deref(),
        config.new_store,
    )
    .await
}

pub async fn backup(config: &Config, args: &BackupArgs) -> Result<String, String> {
    let to_stdout = args.file.as_os_str() == "-";
    let mut out: Box<dyn Write + Send> = if to_stdout {
        Box::new(std::io::stdout())
    } else {
        // Write beside the target and rename, so a failed backup never leaves half a file.
        let tmp = args.file.with_extension("partial");
        Box::new(std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?)
    };
    let summary = if args.offline {
        let (store, origin) = open_store(config).await?;
        if origin == StoreOrigin::Missing {
            return Err(format!("there is no store at {}", config.store_location()));
        }
        let header = instance::backup(&store, &mut out).await.map_err(|e| e.to_string())?;
        counts(&header.counts)
    } else {
        let token = args.token.as_deref().ok_or(
            "an online backup needs an administrator's API token: set SWITCHYARD_TOKEN (or --token), or stop the server and use --offline",
        )?;
        let url = format!("{}/api/v1/backup", args.url.trim_end_matches('/'));
        let response = reqwest::Client::new()
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| format!("reading the backup from {url}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{url} answered {status}: {}", String::from_utf8_lossy(&body)));
        }
        out.write_all(&body).and_then(|_| out.flush()).map_err(|e| format!("writing the backup: {e}"))?;
        let header: instance::BackupHeader = body
            .split(|b| *b == b'\n')
            .next()
            .and_then(|l| serde_json::from_slice(l).ok())
            .ok_or_else(|| format!("{url} did not answer with a backup"))?;
        counts(&header.counts)
    };
    drop(out);
    if !to_stdout {
        std::fs::rename(args.file.with_extension("partial"), &args.file)
            .map_err(|e| format!("cannot write {}: {e}", args.file.display()))?;
        return Ok(format!("backup written to {} ({summary})", args.file.display()));
    }
    Ok(format!("backup written ({summary})"))
}

pub async fn restore(config: &Config, args: &RestoreArgs) -> Result<String, String> {
    let mut input: Box<dyn std::io::BufRead + Send> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
        Box::new(BufReader::new(f))
    };
    let (store, _) = open_store(config).await?;
    let header = instance::restore(&store, &mut input).await.map_err(|e| e.to_string())?;
    Ok(format!(
        "restored the backup of {} (installation {}) into {} ({}); start Switchyard on it",
        header.created.to_rfc3339(),
        header.instance_id.as_deref().unwrap_or("?"),
        config.store_location(),
        counts(&header.counts)
    ))
}

fn counts(counts: &std::collections::BTreeMap<String, usize>) -> String {
    counts.iter().filter(|(_, n)| **n > 0).map(|(c, n)| format!("{n} {c}")).collect::<Vec<_>>().join(", ")
}
