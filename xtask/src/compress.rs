//! Step 8: a gzip and a Brotli copy of every file of the site (`x.wasm.gz`, `x.wasm.br`), which
//! the server sends to browsers that accept them, so it never compresses a site file per request.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub fn compress_dir(root: &Path) -> Result<()> {
    let files: Vec<PathBuf> = crate::files_under(root)?
        .into_iter()
        .filter(|f| !f.extension().is_some_and(|e| e == "gz" || e == "br"))
        .collect();
    crate::parallel_each(files, |file| compress(&file))
}

fn compress(file: &Path) -> Result<()> {
    let data = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let with_ext = |ext: &str| {
        let mut name = file.as_os_str().to_owned();
        name.push(ext);
        PathBuf::from(name)
    };

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&data)?;
    fs::write(with_ext(".gz"), gz.finish()?)?;

    // Quality 11 and a 4 MiB window: Brotli's defaults, as cargo-leptos used them.
    let mut br = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    br.write_all(&data)?;
    fs::write(with_ext(".br"), br.into_inner())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn each_file_gets_copies_that_decompress_to_it_and_copies_get_none() {
        let dir = std::env::temp_dir().join(format!("xtask-compress-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("pkg")).unwrap();
        let text = "switchyard ".repeat(1000);
        fs::write(dir.join("pkg/a.js"), &text).unwrap();
        compress_dir(&dir).unwrap();
        compress_dir(&dir).unwrap(); // again: no .gz.gz

        let mut names: Vec<String> =
            fs::read_dir(dir.join("pkg")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["a.js", "a.js.br", "a.js.gz"]);

        let mut out = String::new();
        flate2::read::GzDecoder::new(&fs::read(dir.join("pkg/a.js.gz")).unwrap()[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
        let mut out = String::new();
        brotli::Decompressor::new(&fs::read(dir.join("pkg/a.js.br")).unwrap()[..], 4096)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
        fs::remove_dir_all(&dir).unwrap();
    }
}
