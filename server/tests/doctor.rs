//! `switchyard doctor` and `/readyz` against the real stack: every check passes, then each fails
//! once, named with its fix; and a running server keeps the site files of its own build when
//! they are rebuilt under it.

mod common;
mod stack;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{Server, ADMIN_PASSWORD};
use serde_json::Value;
use stack::*;

const CHECKS: [&str; 9] = ["docker", "swarm", "networks", "registry", "anchor", "site", "store", "clock", "disk"];

fn registry() -> String {
    std::env::var("SWITCHYARD_REGISTRY_URL").unwrap_or_else(|_| "http://10.213.0.1:5000".into())
}

/// A site directory with the files this binary's pages name (its build is not hashed: the test
/// binary has no hash.txt beside it).
fn good_site(dir: &Path) -> PathBuf {
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    for ext in ["js", "wasm", "css"] {
        std::fs::write(site.join(format!("pkg/switchyard.{ext}")), ext).unwrap();
    }
    site
}

/// Run `switchyard doctor` (behind `wrapper`, if any) with the stack's settings and `env` over
/// them: its exit code and what it printed.
fn doctor(wrapper: &[&str], base: &[(String, String)], env: &[(&str, &str)]) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_switchyard");
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.arg("doctor").env_remove("SWITCHYARD_DATABASE_URL").env("RUST_LOG", "error");
    for (k, v) in base {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run switchyard doctor");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The printed line of check `name`, and the line after it (its fix, for a failure).
fn line<'a>(out: &'a str, name: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no line for check {name} in:\n{out}"));
    (lines[i], lines.get(i + 1).copied().unwrap_or(""))
}

/// A check, how to make it fail (a wrapper command, settings), what it then says, and the
/// checks that fail with it (they depend on it).
type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str, &'a [&'a str]);

#[tokio::test]
async fn the_doctor_passes_on_the_real_stack_and_names_each_failure_with_its_fix() {
    if !stack_here("doctor") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let site = good_site(dir.path());
    let base: Vec<(String, String)> = vec![
        ("SWITCHYARD_DATA_DIR".into(), dir.path().join("data").display().to_string()),
        ("LEPTOS_SITE_ROOT".into(), site.display().to_string()),
        ("SWITCHYARD_REGISTRY_URL".into(), registry()),
        ("SWITCHYARD_DOCKER_HOST".into(), "unix:///var/run/docker.sock".into()),
    ];
    let (code, out) = doctor(&[], &base, &[]);
    assert_eq!(code, 0, "{out}");
    for name in CHECKS {
        assert!(line(&out, name).0.starts_with("ok "), "{name}:\n{out}");
    }
    assert!(out.contains("all checks passed"), "{out}");

    // Each check failing once: exit code 1, its line FAIL with what was found, then its fix.
    let host = registry().split("://").nth(1).unwrap().to_string();
    let anchor = format!("{host}/switchyard/anchor:latest");
    let missing_anchor = format!("{host}/switchyard/no-such-anchor:latest");
    // A data directory whose store file is damaged.
    let store_dir = dir.path().join("damaged-store");
    std::fs::create_dir_all(&store_dir).unwrap();
    std::fs::write(store_dir.join("switchyard.redb"), "not a store").unwrap();
    let empty_site = dir.path().join("empty-site");
    std::fs::create_dir_all(&empty_site).unwrap();
    // A pool every subnet of which a network of this daemon already has.
    let taken =
        docker(&["network", "inspect", "docker_gwbridge", "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}"]);
    let taken_prefix = taken.rsplit('/').next().unwrap_or("16").to_string();
    let worker = Path::new("/run/switchyard-cluster/w1.sock");
    let worker_host = format!("unix://{}", worker.display());
    let store_dir = store_dir.display().to_string();
    let empty_site = empty_site.display().to_string();
    let have_faketime = Command::new("faketime").arg("--version").output().is_ok_and(|o| o.status.success());
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("docker", vec![], vec![("SWITCHYARD_DOCKER_HOST", "unix:///nonexistent/docker.sock")], "Docker at unix:///nonexistent",
         &["swarm", "networks", "anchor", "clock"]),
        ("swarm", vec![], vec![("SWITCHYARD_DOCKER_HOST", &worker_host)], "not a swarm manager", &["networks"]),
        ("networks", vec![], vec![("SWITCHYARD_NETWORK_POOL", &taken), ("SWITCHYARD_NETWORK_PREFIX", &taken_prefix)],
         "in the network pool", &[]),
        ("registry", vec![], vec![("SWITCHYARD_REGISTRY_URL", "http://127.0.0.1:9"), ("SWITCHYARD_ANCHOR_IMAGE", &anchor)],
         "cannot be reached", &[]),
        ("anchor", vec![], vec![("SWITCHYARD_ANCHOR_IMAGE", &missing_anchor)], "neither on this manager nor in the registry", &[]),
        // Run as a swarm service whose own container Docker does not know.
        ("anchor", vec![], vec![("SWITCHYARD_CONTAINER", "no-such-switchyard-container")],
         "own container (SWITCHYARD_CONTAINER=no-such-switchyard-container)", &[]),
        ("site", vec![], vec![("LEPTOS_SITE_ROOT", &empty_site)], "pkg/switchyard.wasm", &[]),
        ("store", vec![], vec![("SWITCHYARD_DATA_DIR", &store_dir)], "cannot open the store", &[]),
        ("clock", vec!["faketime", "-f", "-10m"], vec![], "s apart", &[]),
        ("disk", vec![], vec![("SWITCHYARD_MIN_FREE_DISK_MIB", "1000000000")], "MiB free (less than 1000000000 MiB)", &[]),
    ];
    let mut failed_once = Vec::new();
    for (name, wrapper, env, found, also) in cases {
        if name == "swarm" && !worker.exists() {
            println!(
                "SKIPPED: doctor's swarm check failing: no worker dockerd at {} (scripts/cluster up)",
                worker.display()
            );
            continue;
        }
        if name == "clock" && !have_faketime {
            println!("SKIPPED: doctor's clock check failing: faketime is not installed (scripts/test installs it)");
            continue;
        }
        let (code, out) = doctor(&wrapper, &base, &env);
        assert_eq!(code, 1, "{name} failing must fail the doctor:\n{out}");
        let (l, fix) = line(&out, name);
        assert!(l.starts_with("FAIL") && l.contains(found), "{name} should fail with '{found}':\n{out}");
        assert!(fix.trim_start().starts_with("fix: "), "{name} has its fix on the next line:\n{out}");
        // Nothing else fails but what depends on it.
        for other in CHECKS.iter().filter(|c| **c != name && !also.contains(c)) {
            assert!(
                line(&out, other).0.starts_with("ok "),
                "only {name} (and {also:?}) should fail, not {other}:\n{out}"
            );
        }
        failed_once.push(name);
    }
    println!("checks seen failing: {failed_once:?}");
}

#[tokio::test]
async fn readyz_reports_every_check_and_a_server_keeps_its_own_builds_site() {
    // A copy of the binary with a hashed "build" of its own: hash.txt beside it, the site files
    // it names.
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("release");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let bin = bin_dir.join("switchyard");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_switchyard"), &bin).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_switchyard"), &bin).unwrap();
    }
    let site = dir.path().join("site");
    let build = |n: u32| {
        let _ = std::fs::remove_dir_all(site.join("pkg"));
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        std::fs::write(bin_dir.join("hash.txt"), format!("js: J{n}\nwasm: W{n}\ncss: C{n}\n")).unwrap();
        for (kind, ext) in [("J", "js"), ("W", "wasm"), ("C", "css")] {
            std::fs::write(site.join(format!("pkg/switchyard.{kind}{n}.{ext}")), format!("/* build {n} */")).unwrap();
        }
    };
    build(1);
    let data = dir.path().join("data");
    let site_root = site.display().to_string();
    let env = [("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD), ("LEPTOS_SITE_ROOT", site_root.as_str())];
    let server = Server::start_binary(&bin, &data, &env).await;
    let c = server.client();
    let page = c.get("/login").await.text().await.unwrap();
    assert!(page.contains("/pkg/switchyard.J1.js"), "the page names its build's files:\n{page}");

    // Rebuilt under the running server: other files, another hash file beside the binary.
    build(2);
    let page = c.get("/login").await.text().await.unwrap();
    assert!(page.contains("/pkg/switchyard.J1.js") && !page.contains("J2"), "still its own build's:\n{page}");
    let r = c.get("/pkg/switchyard.J1.js").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "/* build 1 */");
    let ready: Value = c.get("/readyz").await.json().await.unwrap();
    let checks = ready["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, CHECKS, "{ready:#}");
    let site_check = checks.iter().find(|c| c["name"] == "site").unwrap();
    assert_eq!(site_check["ok"], true, "{ready:#}");
    assert!(checks.iter().all(|c| c["ok"] == true || c["fix"].is_string()), "a failed check has its fix: {ready:#}");
    assert_eq!(ready["ready"], checks.iter().all(|c| c["ok"] == true), "{ready:#}");
    drop(server);

    // A server whose site files are missing says so: not ready, the files named, the fix given.
    let empty = dir.path().join("no-site");
    std::fs::create_dir_all(&empty).unwrap();
    let empty = empty.display().to_string();
    let data2 = dir.path().join("data2");
    let server =
        Server::start(&data2, &[("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD), ("LEPTOS_SITE_ROOT", &empty)]).await;
    let r = server.client().get("/readyz").await;
    assert_eq!(r.status(), 503);
    let ready: Value = r.json().await.unwrap();
    let site_check = ready["checks"].as_array().unwrap().iter().find(|c| c["name"] == "site").unwrap().clone();
    assert_eq!(site_check["ok"], false, "{ready:#}");
    assert!(site_check["detail"].as_str().unwrap().contains("pkg/switchyard.wasm"), "{site_check}");
    assert!(site_check["fix"].as_str().unwrap().contains("cargo xtask build"), "{site_check}");
}
