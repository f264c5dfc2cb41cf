//! `cargo xtask build`: the release build of Switchyard's site and server.
//!
//! It does for this workspace what `cargo leptos build --release --split --precompress` does,
//! read from the same `[[workspace.metadata.leptos]]` in Cargo.toml and with the same libraries
//! for the same steps, so the site comes out laid out and named the same way and the server finds
//! it the same way (`hash.txt` beside the binary). cargo-leptos is a large program: compiling it
//! took 11 of the 20 minutes a first start may take on two cores. This tool compiles in about one.
//! `cargo leptos watch` remains the development loop, and reads the same settings.
//!
//! The steps, in order:
//! 1. the server's release build starts in the background (it needs nothing from the front);
//! 2. the browser crate is compiled for wasm32 ([`front`]);
//! 3. the module is cut into the lazily loaded ones `lazy_pages!` marks;
//! 4. wasm-bindgen writes the JS glue;
//! 5. wasm-opt -Oz runs over every module, as many at once as there are cores;
//! 6. the glue is minified (esbuild), the style sheet processed (lightningcss);
//! 7. every file gets its content's hash in its name, and `hash.txt` lists them ([`hash`]);
//! 8. each file gets a gzip and a Brotli copy ([`compress`]);
//! 9. the server's build is waited for.
//!
//! Steps 3 to 8 are skipped when the site on disk was made from the same compiled module, style
//! sheet, tools and this tool's own binary (a fingerprint kept beside the front's target): they
//! would remake it byte for byte, and wasm-opt alone takes minutes.

mod compress;
mod config;
mod front;
mod hash;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::Project;

const USAGE: &str = "\
usage: cargo xtask build [--front-only]
       cargo xtask server-env

build       Builds the site (target/site) and the server (target/release/switchyard) for release,
            as `cargo leptos build --release --split --precompress` would.
            --front-only: the site and its hash file only (scripts/container builds its own server).
server-env  Prints the environment the server's build gets (NAME=value, one per line), for a
            build of the server elsewhere (scripts/container's static one): server and browser
            must be built with the same cfg, or hydration fails.

Needs on PATH: wasm-opt (binaryen), esbuild and lightningcss (scripts/lib.sh, sy_ensure_site_tools).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["build"] => build(false),
        ["build", "--front-only"] => build(true),
        ["server-env"] => server_env(),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn server_env() -> Result<()> {
    for (name, value) in Project::load()?.envs(false) {
        println!("{name}={value}");
    }
    Ok(())
}

fn build(front_only: bool) -> Result<()> {
    let mut steps = Steps::new();
    let project = Project::load()?;

    let server = if front_only { None } else { Some(ServerBuild::start(&project)?) };

    let modules = front::compile(&project)?;
    steps.done("browser crate (cargo, wasm32)");
    let fingerprint = front::fingerprint(&project, &modules)?;
    if front::site_is_current(&project, &fingerprint) {
        eprintln!("xtask: the site was built from this same module, style sheet and tools: kept");
        steps.done("site unchanged: kept");
    } else {
        front::forget_site(&project);
        front::clean_site(&project)?;
        let modules = front::split(&project, &modules)?;
        steps.done("split into lazily loaded modules");
        front::bindgen(&project, &modules)?;
        steps.done("wasm-bindgen");
        front::optimize(&modules.all())?;
        steps.done(&format!("wasm-opt -Oz ({} modules)", modules.all().len()));
        front::minify_js(&project)?;
        front::style(&project)?;
        steps.done("JS glue and style sheet");
        hash::add_hashes_to_site(&project)?;
        compress::compress_dir(&project.site_root)?;
        steps.done("file hashes, gzip and Brotli copies");
        front::record_site(&project, &fingerprint)?;
    }

    if let Some(server) = server {
        server.wait()?;
        steps.done("server (waited for; built alongside)");
    }
    steps.print();
    Ok(())
}

/// The server's `cargo build`, run alongside the front's steps; its output goes to a log that is
/// shown when it fails. Dropped without being waited for (the front failed), it is stopped: no
/// cargo goes on writing the binary after the tool has exited.
struct ServerBuild {
    child: Option<Child>,
    log: std::path::PathBuf,
}

impl Drop for ServerBuild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl ServerBuild {
    fn start(project: &Project) -> Result<ServerBuild> {
        let log = project.target_dir.join("server-build.log");
        std::fs::create_dir_all(&project.target_dir)?;
        let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(cargo());
        cmd.current_dir(&project.root)
            .args(["build", "--release", "--package", &project.bin_package, "--bin", &project.bin_target])
            .args(project.bin_features.cargo_args())
            .envs(project.envs(false))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        eprintln!("xtask: the server builds alongside (log: {})", log.display());
        let child = cmd.spawn().context("starting cargo for the server")?;
        Ok(ServerBuild { child: Some(child), log })
    }

    fn wait(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let status = child.wait()?;
        if !status.success() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
            bail!("the server's build failed ({status}; whole log: {})", self.log.display());
        }
        Ok(())
    }
}

/// The cargo that runs this tool (cargo sets CARGO for what it runs), or the one on PATH.
pub fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs a command to completion with its output shown; an error names the command.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {line}"))?;
    if !status.success() {
        bail!("{line} failed ({status})");
    }
    Ok(())
}

/// Where the time went, printed at the end.
struct Steps {
    started: Instant,
    mark: Instant,
    lines: Vec<(String, Duration)>,
}

impl Steps {
    fn new() -> Steps {
        let now = Instant::now();
        Steps { started: now, mark: now, lines: Vec::new() }
    }

    fn done(&mut self, what: &str) {
        let now = Instant::now();
        self.lines.push((what.to_string(), now - self.mark));
        self.mark = now;
    }

    fn print(&self) {
        eprintln!("xtask build: where the time went");
        for (what, took) in &self.lines {
            eprintln!("  {what:<45} {:7.1} s", took.as_secs_f64());
        }
        eprintln!("  {:<45} {:7.1} s", "total", self.started.elapsed().as_secs_f64());
    }
}

/// Runs `work` on every item, on as many threads as there are cores, the items taken from the end
/// of `items`. Stops taking new ones after the first error, which it returns.
pub fn parallel_each<T: Send>(items: Vec<T>, work: impl Fn(T) -> Result<()> + Sync) -> Result<()> {
    let queue = std::sync::Mutex::new(items);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    while !failed.load(std::sync::atomic::Ordering::Relaxed) {
                        let Some(item) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else { break };
                        if let Err(e) = work(item) {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?)
    })
}

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// `path` relative to `base`, for messages and for the names written into files.
pub fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_item_is_worked_on_and_the_first_error_stops_the_rest() {
        let done = AtomicUsize::new(0);
        parallel_each((0..50).collect(), |_| {
            done.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap();
        assert_eq!(done.load(Ordering::Relaxed), 50);

        let done = AtomicUsize::new(0);
        // Taken from the end: item 99 fails first.
        let err = parallel_each((0..100).collect(), |i: u32| {
            done.fetch_add(1, Ordering::Relaxed);
            if i >= 90 {
                Err(anyhow::anyhow!("item {i} failed"))
            } else {
                Ok(())
            }
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("failed"), "{err}");
        assert!(done.load(Ordering::Relaxed) < 100, "the rest were not all worked on");
    }
}
