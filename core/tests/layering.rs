//! The layering, checked on the source: the managers hold Switchyard's logic and never speak
//! Docker. Docker's vocabulary (bollard, its task states, its label keys, its error texts) stays in
//! `connectors/docker.rs`.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn managers_never_speak_docker() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/managers"), &mut files);
    assert!(files.len() > 5, "the managers' sources were not found");
    // Words that only Docker's API uses: its crate, task states as strings, label keys, errors.
    let docker_words = [
        "bollard",
        "\"running\"",
        "\"failed\"",
        "\"rejected\"",
        "\"shutdown\"",
        "\"complete\"",
        "\"org.switchyard.",
        "\"user.id\"",
        "\"node.id\"",
        "\"service.name\"",
        "No such image",
        "manifest unknown",
    ];
    let mut found = Vec::new();
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            for word in docker_words {
                if line.contains(word) {
                    found.push(format!("{path}:{}: {word}", n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "Docker's vocabulary in the managers:\n{}", found.join("\n"));
}
