//! The site files (JS, WASM, CSS, the split modules) of this binary's own build.
//!
//! The release build (`cargo xtask build`) writes the site under `target/site` and the hashes of its files in
//! `hash.txt` next to the binary; Leptos reads that file on every page it renders. A rebuild under
//! a running server replaces both while the server still runs the old code: its pages then name
//! files that are gone (no CSS, no WASM, editors stuck on "Loading…") or files of another build
//! (the split modules keep their names across builds and only work with their own main module).
//! So at start the server checks that the files its build names are there and serves a copy of
//! them from its data directory, made once per build; a later rebuild cannot touch it.

use std::path::{Path, PathBuf};

/// Where the site is served from, and what is wrong with it (readiness reports it).
#[derive(Clone, Debug)]
pub struct Site {
    /// The directory served (holds `pkg/`).
    pub root: PathBuf,
    /// The hash file Leptos reads, when the build is hashed (an absolute path).
    pub hash_file: Option<PathBuf>,
    /// The files this build's pages name, relative to `root`.
    pub named: Vec<String>,
    /// Why the pages cannot work, if they cannot.
    pub problem: Option<String>,
}

impl Site {
    /// Whether the files this build names are (still) there.
    pub fn check(&self) -> Result<String, String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        let missing: Vec<&str> =
            self.named.iter().filter(|f| !self.root.join(f).is_file()).map(String::as_str).collect();
        if missing.is_empty() {
            Ok(format!("{} files of this build in {}", self.named.len(), self.root.display()))
        } else {
            Err(format!(
                "{} of this build's site files are gone from {}: {}",
                missing.len(),
                self.root.display(),
                missing.join(", ")
            ))
        }
    }
}

/// What to do when the site files are wrong.
pub const SITE_FIX: &str = "build the site with the binary (`cargo xtask build`, which scripts/start runs) and \
     restart Switchyard, or point LEPTOS_SITE_ROOT at the site of this binary's build";

/// The hashes of a hashed build (`hash.txt`: `js: …`, `wasm: …`, `css: …`, `manifest: …`,
/// `split: …`), by kind.
fn parse_hashes(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect()
}

/// The files under `pkg/` that the pages of a build name.
fn named_files(output: &str, hashes: Option<&[(String, String)]>) -> Vec<String> {
    let Some(hashes) = hashes else {
        return ["js", "wasm", "css"].iter().map(|ext| format!("pkg/{output}.{ext}")).collect();
    };
    let mut files = Vec::new();
    for (kind, hash) in hashes {
        match kind.as_str() {
            "js" | "wasm" | "css" => files.push(format!("pkg/{output}.{hash}.{kind}")),
            "manifest" => files.push(format!("pkg/__wasm_split_manifest.{hash}.json")),
            "split" => files.push(format!("pkg/__wasm_split.{hash}.js")),
            _ => {}
        }
    }
    files
}

/// The hash file of this binary's build (next to it), and its text.
fn own_hashes() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    std::fs::read_to_string(exe.parent()?.join("hash.txt")).ok()
}

/// The site at `site_root` checked against this binary's build, in place.
pub fn inspect(site_root: &Path, output: &str) -> Site {
    let hashes = own_hashes().map(|text| parse_hashes(&text));
    let named = named_files(output, hashes.as_deref());
    let plain = Site { root: site_root.to_path_buf(), hash_file: None, named: named.clone(), problem: None };
    let missing: Vec<&str> = named.iter().filter(|f| !site_root.join(f).is_file()).map(String::as_str).collect();
    if missing.is_empty() {
        return plain;
    }
    let problem = format!(
        "the site files of this build are not in {} ({}; a rebuild under way, or a binary built without its site?)",
        site_root.display(),
        missing.join(", ")
    );
    Site { problem: Some(problem), ..plain }
}

/// [`inspect`], and for a hashed build serve a copy of the site kept under
/// `<data_dir>/site/<build>` (made once per build; older builds' copies are removed). A build is
/// told by its whole hash file, not by one file's hash: two builds may share the main module and
/// differ in the style sheet or the JS glue.
pub fn prepare(site_root: &Path, data_dir: &Path, output: &str) -> Site {
    let plain = inspect(site_root, output);
    if plain.problem.is_some() {
        return plain;
    }
    let Some(text) = own_hashes() else {
        return plain; // an unhashed (development) build serves its files in place
    };
    let named = plain.named.clone();
    // Absolute: Leptos joins the hash file's path to the binary's directory.
    let base = std::path::absolute(data_dir.join("site")).unwrap_or_else(|_| data_dir.join("site"));
    let copy = base.join(build_name(&text));
    let done = copy.join("hash.txt");
    if !done.is_file() {
        if let Err(e) = make_copy(site_root, &base, &copy, &text) {
            tracing::warn!(
                "cannot keep a copy of the site in {} ({e}); serving {} itself, which a rebuild would change",
                copy.display(),
                site_root.display()
            );
            return plain;
        }
    }
    // Copies of other builds are not needed any more.
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            if entry.path() != copy {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let site = Site { root: copy, hash_file: Some(done), named, problem: None };
    if let Err(problem) = site.check() {
        // Copied while a rebuild replaced the files: say so, and serve the originals.
        return Site { problem: Some(problem), ..plain };
    }
    site
}

/// The name of a build's copy: the start of the SHA-256 of its hash file.
fn build_name(hash_text: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(hash_text.as_bytes())[..12])
}

/// Copy `from` to `to` through a temporary directory, the hash file written last (it marks a
/// complete copy).
fn make_copy(from: &Path, base: &Path, to: &Path, hash_text: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(base)?;
    let tmp = base.join(format!(".tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_tree(from, &tmp)?;
    std::fs::write(tmp.join("hash.txt"), hash_text)?;
    let _ = std::fs::remove_dir_all(to);
    std::fs::rename(&tmp, to)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_build_names_its_hashed_files_and_a_plain_one_its_plain_files() {
        let hashes = parse_hashes("js: J1\nwasm: W2\ncss: C3\nmanifest: M4\nsplit: S5\n\nodd line\n");
        assert_eq!(
            named_files("switchyard", Some(&hashes)),
            vec![
                "pkg/switchyard.J1.js",
                "pkg/switchyard.W2.wasm",
                "pkg/switchyard.C3.css",
                "pkg/__wasm_split_manifest.M4.json",
                "pkg/__wasm_split.S5.js"
            ]
        );
        assert_eq!(named_files("sy", None), vec!["pkg/sy.js", "pkg/sy.wasm", "pkg/sy.css"]);
    }

    #[test]
    fn builds_that_share_their_main_module_get_copies_of_their_own() {
        let a = build_name("js: J1\nwasm: W\ncss: C1\n");
        let b = build_name("js: J1\nwasm: W\ncss: C2\n");
        assert_ne!(a, b, "a style sheet of its own is a build of its own");
        assert_eq!(a, build_name("js: J1\nwasm: W\ncss: C1\n"));
        assert_eq!(a.len(), 24);
    }

    #[test]
    fn missing_files_are_named_in_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/x.js"), "js").unwrap();
        let site = Site {
            root: dir.path().to_path_buf(),
            hash_file: None,
            named: vec!["pkg/x.js".into(), "pkg/x.wasm".into()],
            problem: None,
        };
        let e = site.check().unwrap_err();
        assert!(e.contains("1 of this build's site files are gone") && e.contains("pkg/x.wasm"), "{e}");
        std::fs::write(dir.path().join("pkg/x.wasm"), "wasm").unwrap();
        assert!(site.check().is_ok());
    }
}
