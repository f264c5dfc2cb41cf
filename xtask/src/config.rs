//! The build's settings: `[[workspace.metadata.leptos]]` in the workspace's Cargo.toml (the table
//! cargo-leptos reads), through `cargo metadata`, so both tools build from one description.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

pub struct Project {
    /// The workspace's root directory.
    pub root: PathBuf,
    /// cargo's target directory (CARGO_TARGET_DIR when set).
    pub target_dir: PathBuf,
    /// The base name of the site's files (`switchyard.<hash>.js`, …).
    pub output_name: String,
    pub lib_package: String,
    pub lib_dir: String,
    pub lib_profile: String,
    pub lib_features: Features,
    pub bin_package: String,
    pub bin_target: String,
    pub bin_dir: String,
    pub bin_features: Features,
    /// The site's root (absolute) and its package directory's name in it.
    pub site_root: PathBuf,
    pub pkg_dir_name: String,
    pub site_addr: String,
    pub reload_port: u16,
    pub style_file: Option<PathBuf>,
    pub browserquery: String,
    pub hash_files: bool,
    pub hash_file_name: String,
    /// `--cfg erase_components` for both builds: server and browser must agree, or hydration fails.
    pub erase_components: bool,
}

pub struct Features {
    pub default: bool,
    pub list: Vec<String>,
}

impl Features {
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.default {
            args.push("--no-default-features".to_string());
        }
        if !self.list.is_empty() {
            args.push(format!("--features={}", self.list.join(",")));
        }
        args
    }
}

impl Project {
    pub fn load() -> Result<Project> {
        if std::env::var_os("CARGO_ENCODED_RUSTFLAGS").is_some_and(|v| !v.is_empty()) {
            bail!("CARGO_ENCODED_RUSTFLAGS is set: it would drop the cfg both builds need; use RUSTFLAGS");
        }
        let out = Command::new(crate::cargo())
            .args(["metadata", "--format-version=1", "--no-deps"])
            .output()
            .context("running cargo metadata")?;
        if !out.status.success() {
            bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let meta: Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata's output")?;
        Project::from_metadata(&meta)
    }

    pub(crate) fn from_metadata(meta: &Value) -> Result<Project> {
        let root = PathBuf::from(str_at(meta, "workspace_root")?);
        let target_dir = PathBuf::from(str_at(meta, "target_directory")?);
        let leptos = meta
            .pointer("/metadata/leptos/0")
            .ok_or_else(|| anyhow!("Cargo.toml has no [[workspace.metadata.leptos]] table"))?;
        let get = |key: &str| leptos.get(key);
        let text =
            |key: &str, default: &str| -> String { get(key).and_then(Value::as_str).unwrap_or(default).to_string() };
        let flag = |key: &str, default: bool| get(key).and_then(Value::as_bool).unwrap_or(default);
        let list = |key: &str| -> Vec<String> {
            get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
                .unwrap_or_default()
        };

        // Settings cargo-leptos knows and this tool does not do: refused, not ignored, so a site
        // never comes out other than its table says.
        let unsupported = [
            "bin-profile-release",
            "lib-cargo-args",
            "bin-cargo-args",
            "front-target-dir",
            "assets-dir",
            "server-fn-prefix",
            "disable-server-fn-hash",
            "server-fn-mod-path",
            "js-minify",
            "tailwind-input-file",
            "bin-target-triple",
            "bin-target-dir",
            "separate-front-target-dir",
            "wasm-opt-features",
        ];
        if let Some(key) = unsupported.iter().find(|k| get(k).is_some()) {
            bail!("[[workspace.metadata.leptos]] sets {key}, which `cargo xtask build` does not implement");
        }
        let lib_package = text("lib-package", "");
        let bin_package = text("bin-package", "");
        if lib_package.is_empty() || bin_package.is_empty() {
            bail!("[[workspace.metadata.leptos]] needs lib-package and bin-package");
        }
        let package_dir = |name: &str| -> Result<String> {
            let manifest = meta["packages"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name)
                .and_then(|p| p["manifest_path"].as_str())
                .ok_or_else(|| anyhow!("package {name} is not in the workspace"))?;
            let dir = PathBuf::from(manifest).parent().map(PathBuf::from).unwrap_or_default();
            Ok(crate::relative(&dir, &root))
        };
        let output_name = text("output-name", &text("name", &lib_package));
        Ok(Project {
            lib_dir: package_dir(&lib_package)?,
            bin_dir: package_dir(&bin_package)?,
            bin_target: text("bin-target", &bin_package),
            lib_profile: text("lib-profile-release", "release"),
            // cargo-leptos's defaults: without the packages' default features.
            lib_features: Features { default: flag("lib-default-features", false), list: list("lib-features") },
            bin_features: Features { default: flag("bin-default-features", false), list: list("bin-features") },
            site_root: root.join(text("site-root", "target/site")),
            pkg_dir_name: text("site-pkg-dir", "pkg"),
            site_addr: text("site-addr", "127.0.0.1:3000"),
            reload_port: get("reload-port").and_then(Value::as_u64).unwrap_or(3001) as u16,
            style_file: get("style-file").and_then(Value::as_str).map(|f| root.join(f)),
            browserquery: text("browserquery", "defaults"),
            hash_files: flag("hash-files", false),
            hash_file_name: text("hash-file-name", "hash.txt"),
            erase_components: flag("always-erase-components", false),
            output_name,
            lib_package,
            bin_package,
            root,
            target_dir,
        })
    }

    /// The site's package directory (`target/site/pkg`).
    pub fn pkg_dir(&self) -> PathBuf {
        self.site_root.join(&self.pkg_dir_name)
    }

    /// Where the front's cargo build puts its artifacts (cargo-leptos's choice, kept).
    pub fn front_target_dir(&self) -> PathBuf {
        self.target_dir.join("front")
    }

    /// The hash file, beside the server's binary, where the server looks for it.
    pub fn hash_file(&self) -> PathBuf {
        self.target_dir.join("release").join(&self.hash_file_name)
    }

    /// The environment of both cargo builds, as cargo-leptos sets it: Leptos reads some of these
    /// at compile time (LEPTOS_OUTPUT_NAME), the rest keep the two tools' builds identical so one
    /// does not rebuild what the other built.
    /// RUSTFLAGS from the environment is kept and added to; CARGO_ENCODED_RUSTFLAGS, which would
    /// override both, is refused by [`Project::load`].
    pub fn envs(&self, wasm: bool) -> Vec<(&'static str, String)> {
        let mut envs = vec![
            ("LEPTOS_OUTPUT_NAME", self.output_name.clone()),
            ("LEPTOS_SITE_ROOT", crate::relative(&self.site_root, &self.root)),
            ("LEPTOS_SITE_PKG_DIR", self.pkg_dir_name.clone()),
            ("LEPTOS_SITE_ADDR", self.site_addr.clone()),
            ("LEPTOS_RELOAD_PORT", self.reload_port.to_string()),
            ("LEPTOS_LIB_DIR", self.lib_dir.clone()),
            ("LEPTOS_BIN_DIR", self.bin_dir.clone()),
            ("LEPTOS_JS_MINIFY", "true".to_string()),
            ("LEPTOS_HASH_FILES", self.hash_files.to_string()),
        ];
        if self.hash_files {
            envs.push(("LEPTOS_HASH_FILE_NAME", self.hash_file_name.clone()));
        }
        let mut flags: Vec<String> = std::env::var("RUSTFLAGS").ok().into_iter().filter(|f| !f.is_empty()).collect();
        if wasm {
            // The splitter needs the linker's relocations.
            flags.push("-Clink-args=--emit-relocs".to_string());
        }
        if self.erase_components {
            flags.push("--cfg erase_components".to_string());
        }
        if !flags.is_empty() {
            envs.push(("RUSTFLAGS", flags.join(" ")));
        }
        envs
    }
}

fn str_at<'a>(meta: &'a Value, key: &str) -> Result<&'a str> {
    meta[key].as_str().ok_or_else(|| anyhow!("cargo metadata has no {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workspace_table_and_defaults_what_it_leaves_out() {
        let meta = serde_json::json!({
            "workspace_root": "/w",
            "target_directory": "/w/target",
            "packages": [
                { "name": "front", "manifest_path": "/w/frontend/Cargo.toml" },
                { "name": "srv", "manifest_path": "/w/server/Cargo.toml" }
            ],
            "metadata": { "leptos": [{
                "output-name": "site", "lib-package": "front", "bin-package": "srv",
                "lib-profile-release": "wasm-release", "hash-files": true, "style-file": "style/main.css",
                "always-erase-components": true, "lib-features": ["a", "b"], "lib-default-features": true
            }]}
        });
        let p = Project::from_metadata(&meta).unwrap();
        assert_eq!(p.output_name, "site");
        assert_eq!(p.lib_dir, "frontend");
        assert_eq!(p.bin_dir, "server");
        assert_eq!(p.bin_target, "srv");
        assert_eq!(p.pkg_dir(), PathBuf::from("/w/target/site/pkg"));
        assert_eq!(p.hash_file(), PathBuf::from("/w/target/release/hash.txt"));
        assert_eq!(p.style_file, Some(PathBuf::from("/w/style/main.css")));
        assert_eq!(p.lib_features.cargo_args(), ["--features=a,b"]);
        assert_eq!(p.bin_features.cargo_args(), ["--no-default-features"]);
        assert_eq!(p.hash_file_name, "hash.txt");
        let envs = p.envs(true);
        let flags = &envs.iter().find(|(k, _)| *k == "RUSTFLAGS").unwrap().1;
        assert!(flags.ends_with("-Clink-args=--emit-relocs --cfg erase_components"), "{flags}");
        assert!(envs.contains(&("LEPTOS_SITE_ROOT", "target/site".to_string())));
    }

    #[test]
    fn a_setting_the_tool_does_not_implement_is_refused_by_name() {
        let meta = serde_json::json!({
            "workspace_root": "/w", "target_directory": "/w/target",
            "metadata": { "leptos": [{ "lib-package": "a", "bin-package": "b", "assets-dir": "public" }]}
        });
        let err = Project::from_metadata(&meta).err().unwrap();
        assert!(err.to_string().contains("assets-dir"), "{err}");
    }

    #[test]
    fn a_workspace_without_the_table_is_refused_with_its_name() {
        let meta = serde_json::json!({ "workspace_root": "/w", "target_directory": "/w/target", "metadata": null });
        let err = Project::from_metadata(&meta).err().unwrap();
        assert!(err.to_string().contains("[[workspace.metadata.leptos]]"), "{err}");
    }
}
