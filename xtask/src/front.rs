//! The browser's half of the site: the wasm32 build of the browser crate, cut into lazily loaded
//! modules, its JS glue, wasm-opt, and the style sheet. The same steps, settings and file names as
//! cargo-leptos 0.3's front build (`compile/front.rs`, `compile/style.rs` there).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

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

/// What the site is made from: the compiled module, the style sheet, the settings that shape the
/// files, the versions of the npm tools and this tool's own binary. A site made from the same would
/// come out the same.
pub fn fingerprint(p: &Project, modules: &Modules) -> Result<String> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    parts.push(std::fs::read(&modules.compiled).with_context(|| format!("reading {}", modules.compiled.display()))?);
    if let Some(style) = &p.style_file {
        parts.push(std::fs::read(style).with_context(|| format!("reading {}", style.display()))?);
    }
    parts.push(
        format!("{} {} {} {} {}", p.output_name, p.pkg_dir_name, p.browserquery, p.hash_files, keep_names())
            .into_bytes(),
    );
    for tool in ["wasm-opt", "esbuild", "lightningcss"] {
        let version = Command::new(tool)
            .arg("--version")
            .output()
            .with_context(|| format!("starting {tool} (is it installed? scripts/lib.sh, sy_ensure_site_tools)"))?;
        parts.push(version.stdout);
    }
    parts.push(std::fs::read(std::env::current_exe()?)?);
    let mut all = Vec::new();
    for part in parts {
        all.extend_from_slice(&(part.len() as u64).to_le_bytes());
        all.extend_from_slice(&part);
    }
    Ok(crate::hash::hash_of(&all))
}

fn stamp_file(p: &Project) -> PathBuf {
    p.front_target_dir().join("site.fingerprint")
}

/// What a kept site must still be: made from the fingerprint, with this hash file (another tool's
/// build, cargo-leptos's say, writes another), and every file of the site at its size.
fn stamp(p: &Project, fingerprint: &str) -> Option<String> {
    let hash_text = std::fs::read_to_string(p.hash_file()).ok()?;
    let mut text = format!("{fingerprint}\n{hash_text}\n");
    for file in crate::files_under(&p.site_root).ok()? {
        let size = std::fs::metadata(&file).ok()?.len();
        text.push_str(&format!("{size} {}\n", crate::relative(&file, &p.site_root)));
    }
    Some(text)
}

/// The site on disk was made from `fingerprint` and is as that build left it: the same hash file,
/// the same files (each at its size), and among them the ones the hash file names.
pub fn site_is_current(p: &Project, fingerprint: &str) -> bool {
    let Ok(recorded) = std::fs::read_to_string(stamp_file(p)) else { return false };
    let Some(now) = stamp(p, fingerprint) else { return false };
    let hash_text = std::fs::read_to_string(p.hash_file()).unwrap_or_default();
    let named = crate::hash::named_files(&p.output_name, &hash_text);
    recorded == now && named.len() >= 3 && named.iter().all(|f| p.pkg_dir().join(f).is_file())
}

/// Forgets the site's fingerprint before its files change, so an interrupted build is redone.
pub fn forget_site(p: &Project) {
    let _ = std::fs::remove_file(stamp_file(p));
}

pub fn record_site(p: &Project, fingerprint: &str) -> Result<()> {
    let stamp = stamp(p, fingerprint).ok_or_else(|| anyhow!("the site just built cannot be read back"))?;
    std::fs::write(stamp_file(p), stamp).with_context(|| format!("writing {}", stamp_file(p).display()))
}

/// Empties the site's root (the previous build's files would otherwise be hashed again).
pub fn clean_site(p: &Project) -> Result<()> {
    // Never a directory that holds the sources: `site-root = "."` must not empty the workspace.
    if p.root.starts_with(&p.site_root) || p.site_root.parent().is_none() {
        bail!("site-root {} holds the workspace: it must be a directory of its own", p.site_root.display());
    }
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
    // wasm_split_cli_support reports through eyre, which anyhow cannot wrap as a source.
    let split = wasm_split_cli_support::transform(opts).map_err(|e| anyhow!("splitting the browser module: {e:#}"))?;
    let manifest = serde_json::to_string_pretty(&split.prefetch_map)?;
    std::fs::write(pkg.join("__wasm_split_manifest.json"), manifest)?;
    let loader = pkg.join(SPLIT_LOADER_PLACEHOLDER);
    let js = std::fs::read_to_string(&loader).with_context(|| format!("reading {}", loader.display()))?;
    std::fs::write(&loader, with_preload(&js)?)?;
    Ok(Modules {
        compiled: modules.compiled.clone(),
        main_input: modules.main_input.clone(),
        main: modules.main.clone(),
        split: split.split_modules,
    })
}

/// What [`with_preload`] puts before the loader's first export.
const LOADER_PRELUDE: &str = r#"// Added by Switchyard's build (xtask/src/front.rs, `with_preload`).
const __switchyardLoads = new Map();
function __switchyardKeep(name, load) {
    __switchyardLoads.set(name, load);
    return wrapAsyncCb(load);
}
globalThis.__switchyardPreload = (parts) => {
    const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 1));
    return (globalThis.__switchyardPreloaded = new Promise((resolve) => idle(() => {
        const loads = [...__switchyardLoads]
            .filter(([name]) => parts.some((part) => name.includes(part)))
            .map(([, load]) => load().then(() => 1, () => 0));
        Promise.all(loads).then((done) => resolve(done.reduce((a, b) => a + b, 0)));
    })));
};
"#;

/// What the loader gains: `globalThis.__switchyardPreload(parts)`, which fetches and instantiates
/// the split modules whose names contain one of `parts` when the browser is next idle, and
/// answers (a promise, also left in `globalThis.__switchyardPreloaded`) how many it loaded. It goes
/// around the app: the loader remembers a module it loaded, so when the app asks for one later
/// (its page is opened) it is there at once, and a load that failed (the page was left during
/// the download) is forgotten, to be tried again then. Leptos's own `LazyRoute::preload` cannot do
/// this: a failed load panics the whole app.
///
/// The loader is `wasm_split_cli_support`'s (pinned in Cargo.toml); each module's export is
/// `export const <name> = wrapAsyncCb(makeLoad(…))`. Each is named to a map on the way, so the
/// parentheses stay as they were.
fn with_preload(js: &str) -> Result<String> {
    const EXPORT: &str = "export const __wasm_split_load_";
    const WRAP: &str = " = wrapAsyncCb(makeLoad(";
    let Some(first) = js.find(EXPORT) else {
        bail!("the split loader has no `{EXPORT}…`: wasm_split_cli_support changed")
    };
    let mut out = String::with_capacity(js.len() + LOADER_PRELUDE.len() + 4096);
    out.push_str(&js[..first]);
    out.push_str(LOADER_PRELUDE);
    let mut rest = &js[first..];
    while let Some(at) = rest.find(EXPORT) {
        out.push_str(&rest[..at]);
        let decl = &rest[at + "export const ".len()..];
        let name_len = decl.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(decl.len());
        let name = &decl[..name_len];
        let Some(tail) = decl[name_len..].strip_prefix(WRAP) else {
            bail!("the split loader's `{name}` is not `{WRAP}…`: wasm_split_cli_support changed")
        };
        out.push_str(&format!("export const {name} = __switchyardKeep(\"{name}\", makeLoad("));
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
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
        .context("wasm-bindgen")?;
    let emitted = pkg.join(format!("{}_bg.wasm", p.output_name));
    std::fs::rename(&emitted, &modules.main).with_context(|| format!("renaming {}", emitted.display()))
}

/// Step 5: `wasm-opt -Oz` over every module, as many at a time as there are cores, the largest
/// first (it takes longest; the ~280 small ones fill in around it).
pub fn optimize(files: &[PathBuf]) -> Result<()> {
    let mut queue: Vec<(u64, PathBuf)> =
        files.iter().map(|f| (std::fs::metadata(f).map(|m| m.len()).unwrap_or(0), f.clone())).collect();
    queue.sort(); // taken from the end: largest first
    crate::parallel_each(queue, |(_, file)| wasm_opt(&file))
}

/// `XTASK_WASM_NAMES=1`: the modules keep their functions' names (about 0.9 MiB more to load), so a
/// browser's profiler names what it samples. For profiling only; the site is otherwise the same.
fn keep_names() -> bool {
    std::env::var("XTASK_WASM_NAMES").is_ok_and(|v| v == "1")
}

fn wasm_opt(file: &Path) -> Result<()> {
    let out = Command::new("wasm-opt")
        .args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int"])
        .args(keep_names().then_some("--debuginfo"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_names_each_module_it_can_preload_and_keeps_its_parentheses() {
        let js =
            "import { initSync } from \"./m.js\";\nfunction wrapAsyncCb(callee) {}\nfunction makeLoad(f, deps) {}\n\
                  const __chunk_1 = makeLoad(() => {}, []);\n\
                  export const __wasm_split_load___a_route_view_1 = wrapAsyncCb(makeLoad(() => x(), [__chunk_1]));\n\
                  export const __wasm_split_load___b_route_view_2 = wrapAsyncCb(makeLoad(() => y(), []));\n";
        let out = with_preload(js).unwrap();
        assert!(out.contains(
            "export const __wasm_split_load___a_route_view_1 = __switchyardKeep(\"__wasm_split_load___a_route_view_1\", makeLoad(() => x(), [__chunk_1]));"
        ));
        assert!(out.contains("__switchyardKeep(\"__wasm_split_load___b_route_view_2\", makeLoad(() => y(), []));"));
        // The map is made before the first export uses it, after the functions it calls.
        let (map, first) = (out.find("const __switchyardLoads").unwrap(), out.find("export const").unwrap());
        assert!(out.find("function makeLoad").unwrap() < map && map < first);
        let parens = |s: &str| (s.matches('(').count(), s.matches(')').count());
        let (prelude, before, after) = (parens(LOADER_PRELUDE), parens(js), parens(&out));
        assert_eq!((after.0 - prelude.0, after.1 - prelude.1), before);
        assert!(with_preload("export const __wasm_split_load___c = somethingElse(1);").is_err());
        assert!(with_preload("no exports").is_err());
    }

    #[test]
    fn a_site_is_kept_only_with_its_fingerprint_and_every_file_its_hash_file_names() {
        let root = std::env::temp_dir().join(format!("xtask-front-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let meta = serde_json::json!({
            "workspace_root": root, "target_directory": root.join("target"),
            "packages": [
                { "name": "front", "manifest_path": root.join("frontend/Cargo.toml") },
                { "name": "srv", "manifest_path": root.join("server/Cargo.toml") }
            ],
            "metadata": { "leptos": [{ "output-name": "site", "lib-package": "front", "bin-package": "srv", "hash-files": true }]}
        });
        let p = Project::from_metadata(&meta).unwrap();
        std::fs::create_dir_all(p.pkg_dir()).unwrap();
        std::fs::create_dir_all(p.front_target_dir()).unwrap();
        std::fs::create_dir_all(p.hash_file().parent().unwrap()).unwrap();
        std::fs::write(p.hash_file(), "js: J\nwasm: W\ncss: C\nmanifest: M\nsplit: S\n").unwrap();
        let names = ["site.J.js", "site.W.wasm", "site.C.css", "__wasm_split_manifest.M.json", "__wasm_split.S.js"];
        for name in names {
            for ext in ["", ".gz", ".br"] {
                std::fs::write(p.pkg_dir().join(format!("{name}{ext}")), "x").unwrap();
            }
        }
        assert!(!site_is_current(&p, "F"), "no fingerprint recorded yet");
        record_site(&p, "F").unwrap();
        assert!(site_is_current(&p, "F"));
        assert!(!site_is_current(&p, "G"), "made from something else");
        std::fs::write(p.hash_file(), "js: J\nwasm: W\ncss: C2\nmanifest: M\nsplit: S\n").unwrap();
        assert!(!site_is_current(&p, "F"), "another build's hash file");
        std::fs::write(p.hash_file(), "js: J\nwasm: W\ncss: C\nmanifest: M\nsplit: S\n").unwrap();
        assert!(site_is_current(&p, "F"));
        std::fs::write(p.pkg_dir().join("chunk_1.wasm"), "x").unwrap();
        assert!(!site_is_current(&p, "F"), "a file that build did not make");
        std::fs::remove_file(p.pkg_dir().join("chunk_1.wasm")).unwrap();
        std::fs::remove_file(p.pkg_dir().join("__wasm_split.S.js.br")).unwrap();
        assert!(!site_is_current(&p, "F"), "a file is missing");
        forget_site(&p);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_site_root_that_holds_the_workspace_is_never_emptied() {
        let root = std::env::temp_dir().join(format!("xtask-guard-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("Cargo.toml"), "kept").unwrap();
        let meta = serde_json::json!({
            "workspace_root": root, "target_directory": root.join("target"),
            "packages": [
                { "name": "front", "manifest_path": root.join("frontend/Cargo.toml") },
                { "name": "srv", "manifest_path": root.join("server/Cargo.toml") }
            ],
            "metadata": { "leptos": [{ "lib-package": "front", "bin-package": "srv", "site-root": "." }]}
        });
        let p = Project::from_metadata(&meta).unwrap();
        let err = clean_site(&p).err().unwrap();
        assert!(err.to_string().contains("holds the workspace"), "{err}");
        assert!(root.join("Cargo.toml").is_file());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
