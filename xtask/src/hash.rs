//! Step 7: every file of the site gets its content's hash in its name (`switchyard.<hash>.wasm`),
//! so browsers may keep them for good and a new build never meets a stale copy; `hash.txt`, beside
//! the server's binary, tells the server the names. Hashes and names as cargo-leptos makes them
//! (MD5, base64url without padding, 22 characters; its `compile/hash.rs`), and so is the one
//! subtle part: the split modules import their loader by a placeholder name of a hash's length,
//! replaced inside the binaries once the loader's own hash is known.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use base64ct::{Base64UrlUnpadded, Encoding};
use md5::{Digest, Md5};

use crate::config::Project;
use crate::front::SPLIT_LOADER_PLACEHOLDER;

const HASH_PLACEHOLDER: &str = "______________________";

pub fn add_hashes_to_site(p: &Project) -> Result<()> {
    if !p.hash_files {
        return Ok(());
    }
    let pkg = p.pkg_dir();
    let js = pkg.join(format!("{}.js", p.output_name));
    let wasm = pkg.join(format!("{}.wasm", p.output_name));
    let css = pkg.join(format!("{}.css", p.output_name));

    let hashes = file_hashes(&pkg, &css)?;
    let renamed = rename_files(&hashes)?;
    let hashed_js = renamed.get(&js).ok_or_else(|| anyhow!("{} was not built", js.display()))?;
    replace_in_file(hashed_js, &renamed, &pkg)?;

    let loader = pkg.join(SPLIT_LOADER_PLACEHOLDER);
    let split_hash = match renamed.get(&loader) {
        None => None,
        Some(hashed_loader) => {
            replace_in_file(hashed_loader, &renamed, &pkg)?;
            let placeholder_name = SPLIT_LOADER_PLACEHOLDER;
            let hashed_name = file_name(hashed_loader);
            replace_loader_references(&pkg, placeholder_name, &hashed_name, &renamed)?;
            // Its content changed (the main module's hashed name is in it): hash it again, and
            // tell the modules, the manifest and the glue its final name.
            let hash = hash_of(&fs::read(hashed_loader)?);
            if hash != hashes[&loader] {
                let rehashed = hashed_loader.with_file_name(format!("__wasm_split.{hash}.js"));
                fs::rename(hashed_loader, &rehashed)
                    .with_context(|| format!("renaming {}", hashed_loader.display()))?;
                let map = HashMap::from([(hashed_loader.clone(), rehashed.clone())]);
                replace_loader_references(&pkg, &hashed_name, &file_name(&rehashed), &map)?;
                replace_in_file(hashed_js, &map, &pkg)?;
            }
            Some(hash)
        }
    };

    let manifest = hashes
        .iter()
        .find(|(f, _)| f.to_string_lossy().ends_with("__wasm_split_manifest.json"))
        .map(|(_, h)| format!("manifest: {h}\n"))
        .unwrap_or_default();
    let split = split_hash.map(|h| format!("split: {h}\n")).unwrap_or_default();
    let needed = |f: &PathBuf| hashes.get(f).ok_or_else(|| anyhow!("{} was not built", f.display()));
    let text = format!("js: {}\nwasm: {}\ncss: {}\n{manifest}{split}", needed(&js)?, needed(&wasm)?, needed(&css)?);
    let hash_file = p.hash_file();
    fs::create_dir_all(hash_file.parent().unwrap_or(Path::new(".")))?;
    fs::write(&hash_file, text).with_context(|| format!("writing {}", hash_file.display()))
}

/// A file's hash as it goes into its name: MD5, base64url without padding.
pub fn hash_of(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(&Md5::digest(bytes))
}

/// The files under the package directory that a hash file's text names (`js: <hash>` is
/// `<output>.<hash>.js`, and so on): the ones the server's pages ask for by name.
pub fn named_files(output: &str, hash_text: &str) -> Vec<String> {
    hash_text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter_map(|(kind, hash)| {
            let hash = hash.trim();
            match kind.trim() {
                "js" | "wasm" | "css" => Some(format!("{output}.{hash}.{}", kind.trim())),
                "manifest" => Some(format!("__wasm_split_manifest.{hash}.json")),
                "split" => Some(format!("__wasm_split.{hash}.js")),
                _ => None,
            }
        })
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The hash of every file under `dir` to be renamed: not the style sheets other than the site's
/// own, not wasm-bindgen's snippets (the module imports those by their plain names), not a file
/// already named by its hash.
fn file_hashes(dir: &Path, site_css: &Path) -> Result<HashMap<PathBuf, String>> {
    let mut hashes = HashMap::new();
    for path in crate::files_under(dir)? {
        if path.extension().is_some_and(|e| e == "css") && path != site_css {
            continue;
        }
        if path.to_string_lossy().contains("snippets") {
            continue;
        }
        let hash = hash_of(&fs::read(&path)?);
        if path.file_stem().is_some_and(|s| s.to_string_lossy() == hash) {
            continue;
        }
        hashes.insert(path, hash);
    }
    Ok(hashes)
}

/// `name.ext` becomes `name.<hash>.ext`; a name with the placeholder gets the hash in its place.
fn rename_files(hashes: &HashMap<PathBuf, String>) -> Result<HashMap<PathBuf, PathBuf>> {
    let mut renamed = HashMap::new();
    for (path, hash) in hashes {
        let name = file_name(path);
        let new_name = if name.contains(HASH_PLACEHOLDER) {
            if hash.len() != HASH_PLACEHOLDER.len() {
                bail!("a hash of {} characters cannot take the placeholder's place in {name}", hash.len());
            }
            name.replace(HASH_PLACEHOLDER, hash)
        } else {
            let stem = path.file_stem().ok_or_else(|| anyhow!("no file stem: {}", path.display()))?;
            let ext = path.extension().ok_or_else(|| anyhow!("no extension: {}", path.display()))?;
            format!("{}.{hash}.{}", stem.to_string_lossy(), ext.to_string_lossy())
        };
        let new_path = path.with_file_name(new_name);
        fs::rename(path, &new_path).with_context(|| format!("renaming {}", path.display()))?;
        renamed.insert(path.clone(), new_path);
    }
    Ok(renamed)
}

/// Every old name (relative to `root`) in the text file at `path` becomes its new name.
fn replace_in_file(path: &Path, renamed: &HashMap<PathBuf, PathBuf>, root: &Path) -> Result<()> {
    let mut contents = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    for (old, new) in renamed {
        let old = crate::relative(old, root);
        let new = crate::relative(new, root);
        contents = contents.replace(&old, &new);
    }
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// The loader's name changed from `old_name` to `new_name`: tell the modules (in place: the names
/// have the same length) and rewrite the manifest's module names to their hashed names.
fn replace_loader_references(
    pkg: &Path,
    old_name: &str,
    new_name: &str,
    renamed: &HashMap<PathBuf, PathBuf>,
) -> Result<()> {
    for entry in fs::read_dir(pkg)? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let name = file_name(&path);
        if name.ends_with(".wasm") {
            replace_in_binary_file(&path, old_name, new_name)?;
        } else if name.starts_with("__wasm_split_manifest") {
            rewrite_manifest(&path, renamed, pkg)?;
        }
    }
    Ok(())
}

fn replace_in_binary_file(path: &Path, old: &str, new: &str) -> Result<()> {
    let (old, new) = (old.as_bytes(), new.as_bytes());
    if old.len() != new.len() {
        bail!("cannot replace {old:?} by a name of another length inside {}", path.display());
    }
    let mut contents = fs::read(path)?;
    let mut i = 0;
    let mut changed = false;
    while i + old.len() <= contents.len() {
        if &contents[i..i + old.len()] == old {
            contents[i..i + old.len()].copy_from_slice(new);
            changed = true;
            i += old.len();
        } else {
            i += 1;
        }
    }
    if changed {
        fs::write(path, contents)?;
    }
    Ok(())
}

/// The manifest names modules by stem (`chunk_1`); each becomes its hashed stem. Whole names only:
/// `chunk_1` must not touch `chunk_10`.
fn rewrite_manifest(path: &Path, renamed: &HashMap<PathBuf, PathBuf>, pkg: &Path) -> Result<()> {
    let text = fs::read_to_string(path)?;
    let mut manifest: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("reading the manifest {}", path.display()))?;
    let stems: HashMap<String, String> = renamed
        .iter()
        .filter_map(|(old, new)| {
            let old = crate::relative(old, pkg);
            let new = crate::relative(new, pkg);
            Some((old.strip_suffix(".wasm")?.to_string(), new.strip_suffix(".wasm")?.to_string()))
        })
        .collect();
    fn walk(value: &mut serde_json::Value, stems: &HashMap<String, String>) {
        match value {
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, stems)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| walk(v, stems)),
            serde_json::Value::String(s) => {
                if let Some(new) = stems.get(s.as_str()) {
                    *s = new.clone();
                }
            }
            _ => {}
        }
    }
    walk(&mut manifest, &stems);
    fs::write(path, serde_json::to_string(&manifest)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-hash-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_hash_is_md5_in_unpadded_base64url_of_the_placeholders_length() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(hash_of(b""), "1B2M2Y8AsgTpgAmY7PhCfg");
        assert_eq!(hash_of(b"anything").len(), HASH_PLACEHOLDER.len());
    }

    #[test]
    fn a_hash_file_names_the_files_the_pages_ask_for() {
        let names = named_files("site", "js: J\nwasm: W\ncss: C\nmanifest: M\nsplit: S\nodd\n");
        assert_eq!(
            names,
            ["site.J.js", "site.W.wasm", "site.C.css", "__wasm_split_manifest.M.json", "__wasm_split.S.js"]
        );
    }

    #[test]
    fn files_get_their_hash_in_their_names_and_the_placeholder_is_replaced() {
        let dir = scratch("rename");
        fs::write(dir.join("site.js"), "js").unwrap();
        fs::write(dir.join(SPLIT_LOADER_PLACEHOLDER), "loader").unwrap();
        let hashes = file_hashes(&dir, &dir.join("site.css")).unwrap();
        let renamed = rename_files(&hashes).unwrap();
        assert_eq!(file_name(&renamed[&dir.join("site.js")]), format!("site.{}.js", hash_of(b"js")));
        assert_eq!(
            file_name(&renamed[&dir.join(SPLIT_LOADER_PLACEHOLDER)]),
            format!("__wasm_split.{}.js", hash_of(b"loader"))
        );
        // A second pass leaves files already named by their hash alone.
        fs::write(dir.join(format!("{}.wasm", hash_of(b"x"))), "x").unwrap();
        assert!(file_hashes(&dir, &dir.join("site.css"))
            .unwrap()
            .keys()
            .all(|f| !file_name(f).starts_with(&hash_of(b"x"))));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_loaders_new_name_reaches_inside_the_modules_in_place() {
        let dir = scratch("binary");
        let module = dir.join("chunk_1.wasm");
        let mut bytes = vec![0u8, 97, 115, 109];
        bytes.extend_from_slice(SPLIT_LOADER_PLACEHOLDER.as_bytes());
        bytes.push(0);
        fs::write(&module, &bytes).unwrap();
        let new_name = "__wasm_split.ABCDEFGHIJKLMNOPQRSTUV.js";
        replace_loader_references(&dir, SPLIT_LOADER_PLACEHOLDER, new_name, &HashMap::new()).unwrap();
        let after = fs::read(&module).unwrap();
        assert_eq!(after.len(), bytes.len());
        assert_eq!(&after[4..4 + new_name.len()], new_name.as_bytes());
        assert!(replace_in_binary_file(&module, new_name, "short").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_manifest_renames_whole_module_names_only() {
        let dir = scratch("manifest");
        let manifest = dir.join("__wasm_split_manifest.json");
        fs::write(&manifest, r#"{"a": ["chunk_1", "chunk_10", "chunk_100"], "b": ["chunk_10"]}"#).unwrap();
        let renamed = HashMap::from([
            (dir.join("chunk_1.wasm"), dir.join("chunk_1.AAAAAAAAAAAAAAAAAAAAAA.wasm")),
            (dir.join("chunk_10.wasm"), dir.join("chunk_10.BBBBBBBBBBBBBBBBBBBBBB.wasm")),
            (dir.join("chunk_100.wasm"), dir.join("chunk_100.CCCCCCCCCCCCCCCCCCCCCC.wasm")),
        ]);
        replace_loader_references(&dir, SPLIT_LOADER_PLACEHOLDER, SPLIT_LOADER_PLACEHOLDER, &renamed).unwrap();
        let after: HashMap<String, Vec<String>> =
            serde_json::from_str(&fs::read_to_string(&manifest).unwrap()).unwrap();
        assert_eq!(
            after["a"],
            ["chunk_1.AAAAAAAAAAAAAAAAAAAAAA", "chunk_10.BBBBBBBBBBBBBBBBBBBBBB", "chunk_100.CCCCCCCCCCCCCCCCCCCCCC"]
        );
        assert_eq!(after["b"], ["chunk_10.BBBBBBBBBBBBBBBBBBBBBB"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_in_a_text_file_become_the_hashed_names() {
        let dir = scratch("text");
        let js = dir.join("site.AAAAAAAAAAAAAAAAAAAAAA.js");
        fs::write(&js, r#"import("./chunk_1.wasm"); fetch("site.wasm")"#).unwrap();
        let renamed = HashMap::from([
            (dir.join("chunk_1.wasm"), dir.join("chunk_1.BBBBBBBBBBBBBBBBBBBBBB.wasm")),
            (dir.join("site.wasm"), dir.join("site.CCCCCCCCCCCCCCCCCCCCCC.wasm")),
        ]);
        replace_in_file(&js, &renamed, &dir).unwrap();
        assert_eq!(
            fs::read_to_string(&js).unwrap(),
            r#"import("./chunk_1.BBBBBBBBBBBBBBBBBBBBBB.wasm"); fetch("site.CCCCCCCCCCCCCCCCCCCCCC.wasm")"#
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
