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

mod compress;
mod config;
mod front;
mod hash;

use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::Project;

const USAGE: &str = "\
usage: cargo xtask build [--front-only]

Builds the site (target/site) and the server (target/release/switchyard) for release, as
`cargo leptos build --release --split --precompress` would.

  --front-only   build the site and its hash file only (scripts/container builds its own server)

Needs on PATH: wasm-opt (binaryen), esbuild and lightningcss (scripts/lib.sh, sy_ensure_site_tools).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let front_only = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["build"] => false,
        ["build", "--front-only"] => true,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match build(front_only) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask build failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn build(front_only: bool) -> Result<()> {
    let mut steps = Steps::new();
    let project = Project::load()?;

    let server = if front_only { None } else { Some(ServerBuild::start(&project)?) };

    front::clean_site(&project)?;
    let modules = front::compile(&project)?;
    steps.done("browser crate (cargo, wasm32)");
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

    if let Some(server) = server {
        server.wait()?;
        steps.done("server (waited for; built alongside)");
    }
    steps.print();
    Ok(())
}

/// The server's `cargo build`, run alongside the front's steps; its output goes to a log that is
/// shown when it fails.
struct ServerBuild {
    child: Child,
    log: std::path::PathBuf,
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
        Ok(ServerBuild { child, log })
    }

    fn wait(mut self) -> Result<()> {
        let status = self.child.wait()?;
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

/// `path` relative to `base`, for messages and for the names written into files.
pub fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}
