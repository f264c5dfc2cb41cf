//! The browser's half of the site: the wasm32 build of the browser crate, cut into lazily loaded
//! modules, its JS glue, wasm-opt, and the style sheet. The same steps, settings and file names as
//! cargo-leptos 0.3's front build (`compile/front.rs`, `compile/style.rs` there).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{anyhow, Context, Result};

use crate::config::Project;
use crate::run;

/// The name the split modules use for their loader until the hashes are known: the placeholder
/// is as long as a hash, so it can be replaced inside the binaries in place (see [`crate::hash`]).
pub const SPLIT_LOADER_PLACEHOLDER: &str = "__wasm_split.______________________.js";

pub struct Modules {
    /// The browser crate's module as the compiler left it.
    pub compiled: PathBuf,
    /// What remains of it after the lazily loaded parts are cut out: wasm-bindgen's input.
    pub main_input: PathBuf,
    /// The main module in the site, after wasm-bindgen.
    pub main: PathBuf,
    /// The lazily loaded modules, in the site.
    pub split: Vec<PathBuf>,
}

impl Modules {
    pub fn all(&self) -> Vec<PathBuf> {
        std::iter::once(self.main.clone()).chain(self.split.iter().cloned()).collect()
    }
}

/// Empties the site's root (the previous build's files would otherwise be hashed again).
pub fn clean_site(p: &Project) -> Result<()> {
    if p.site_root.exists() {
        for entry in std::fs::read_dir(&p.site_root)? {
            let path = entry?.path();
            if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) }
                .with_context(|| format!("removing {}", path.display()))?;
        }
    }
    std::fs::create_dir_all(p.pkg_dir()).with_context(|| format!("creating {}", p.pkg_dir().display()))
}

/// Step 2: `cargo build` of the browser crate for wasm32.
pub fn compile(p: &Project) -> Result<Modules> {
    let target_dir = p.front_target_dir();
    run(Command::new(crate::cargo())
        .current_dir(&p.root)
        .arg("build")
        .arg(format!("--package={}", p.lib_package))
        .arg("--lib")
        .arg(format!("--target-dir={}", target_dir.display()))
        .arg("--target=wasm32-unknown-unknown")
        .args(p.lib_features.cargo_args())
        .arg(format!("--profile={}", p.lib_profile))
        .envs(p.envs(true)))?;
    let crate_name = p.lib_package.replace('-', "_");
    let dir = target_dir.join("wasm32-unknown-unknown").join(&p.lib_profile);
    Ok(Modules {
        compiled: dir.join(format!("{crate_name}.wasm")),
        main_input: dir.join(format!("{crate_name}_split.wasm")),
        main: p.pkg_dir().join(format!("{}.wasm", p.output_name)),
        split: Vec::new(),
    })
}

/// Step 3: cut out the lazily loaded modules (into the site) and write their manifest, which the
/// page uses to fetch a module's dependencies ahead.
pub fn split(p: &Project, modules: &Modules) -> Result<Modules> {
    let input = std::fs::read(&modules.compiled).with_context(|| format!("reading {}", modules.compiled.display()))?;
    let pkg = p.pkg_dir();
    let main_module = format!("./{}.js", p.output_name);
    let link_name = format!("./{SPLIT_LOADER_PLACEHOLDER}");
    let mut opts = wasm_split_cli_support::Options::new(&input);
    opts.output_dir = &pkg;
    opts.main_out_path = &modules.main_input;
    opts.main_module = &main_module;
    opts.link_name = &link_name;
    let split = wasm_split_cli_support::transform(opts).map_err(|e| anyhow!("splitting the browser module: {e:?}"))?;
    let manifest = serde_json::to_string_pretty(&split.prefetch_map)?;
    std::fs::write(pkg.join("__wasm_split_manifest.json"), manifest)?;
    Ok(Modules {
        compiled: modules.compiled.clone(),
        main_input: modules.main_input.clone(),
        main: modules.main.clone(),
        split: split.split_modules,
    })
}

/// Step 4: the JS glue, for a browser loading ES modules (`--target web`). Its module is
/// renamed from `<name>_bg.wasm` to `<name>.wasm`, the name Leptos's hydration script asks for.
pub fn bindgen(p: &Project, modules: &Modules) -> Result<()> {
    let pkg = p.pkg_dir();
    wasm_bindgen_cli_support::Bindgen::new()
        .web(true)?
        .input_path(&modules.main_input)
        .out_name(&p.output_name)
        // The split modules call the main module's functions by their linker names.
        .keep_lld_exports(true)
        .demangle(false)
        // Type declarations are for bundlers and editors; the site has no use for them.
        .typescript(false)
        .generate(&pkg)
        .map_err(|e| anyhow!("wasm-bindgen: {e:?}"))?;
    let emitted = pkg.join(format!("{}_bg.wasm", p.output_name));
    std::fs::rename(&emitted, &modules.main).with_context(|| format!("renaming {}", emitted.display()))
}

/// Step 5: `wasm-opt -Oz` over every module, as many at a time as there are cores, the largest
/// first (it takes longest; the ~280 small ones fill in around it).
pub fn optimize(files: &[PathBuf]) -> Result<()> {
    let mut queue: Vec<(u64, PathBuf)> =
        files.iter().map(|f| (std::fs::metadata(f).map(|m| m.len()).unwrap_or(0), f.clone())).collect();
    queue.sort(); // popped from the end: largest first
    let queue = Mutex::new(queue);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let Some((_, file)) = queue.lock().unwrap().pop() else { return Ok(()) };
                        wasm_opt(&file)?;
                    }
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| anyhow!("a wasm-opt worker panicked"))?)
    })
}

fn wasm_opt(file: &Path) -> Result<()> {
    let out = Command::new("wasm-opt")
        .args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int"])
        .arg(file)
        .arg("-o")
        .arg(file)
        .output()
        .context("starting wasm-opt (is binaryen installed? scripts/lib.sh, sy_ensure_site_tools)")?;
    if !out.status.success() {
        return Err(anyhow!(
            "wasm-opt on {} failed ({}): {}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Step 6a: the JS glue, minified in place.
pub fn minify_js(p: &Project) -> Result<()> {
    let js = p.pkg_dir().join(format!("{}.js", p.output_name));
    run(Command::new("esbuild")
        .arg(&js)
        // wasm-bindgen's glue repeats a key for the split modules' loader (each import of one
        // module, so harmless); esbuild would warn about each.
        .args(["--minify", "--format=esm", "--log-level=error", "--allow-overwrite"])
        .arg(format!("--outfile={}", js.display())))
}

/// Step 6b: the style sheet, minified and with what the browsers of the `browserquery` need
/// (lightningcss, as cargo-leptos does it).
pub fn style(p: &Project) -> Result<()> {
    let Some(source) = &p.style_file else { return Ok(()) };
    let dest = p.pkg_dir().join(format!("{}.css", p.output_name));
    run(Command::new("lightningcss").args(["--minify", "--targets", &p.browserquery]).arg(source).arg("-o").arg(&dest))
}
