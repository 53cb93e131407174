//! The pure core — the library, `src/lib.rs` and every module under it (data, nn, tuning,
//! experiment, protocol, chart data, rng) — must not import the browser: no leptos, web-sys,
//! js-sys, gloo or wasm-bindgen. The shell (`src/main.rs`, `src/app/`, `src/bin/`) may. This
//! keeps the core testable natively and fast. And the tuning engine is generic: it knows nothing
//! of the CNN, its data or the experiment that tunes it (the experiment uses the engine, never
//! the other way round).

use std::path::{Path, PathBuf};

const FORBIDDEN: [&str; 7] = ["leptos", "web_sys", "js_sys", "gloo", "wasm_bindgen", "web-sys", "js-sys"];

fn core_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "app" && name != "bin" {
                core_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "main.rs" {
            out.push(path);
        }
    }
}

#[test]
fn the_core_imports_nothing_from_the_browser() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    core_files(&src, &mut files);
    assert!(files.iter().any(|f| f.ends_with("lib.rs")) && files.len() > 10, "found the core's files: {files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    offences.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(offences.is_empty(), "the pure core must not use browser crates:\n{}", offences.join("\n"));
}

#[test]
fn browser_crates_are_only_dependencies_of_the_wasm_shell() {
    // In Cargo.toml, browser crates appear only in the wasm32-only dependency tables, and only
    // behind the `web` feature that the page and worker binaries require, so the library cannot
    // even compile (natively, or in wasm without `web`) if it uses them.
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let mut table = String::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            table = line.to_string();
            continue;
        }
        let name = line.split(['=', ' ']).next().unwrap_or("");
        if ["leptos", "web-sys", "js-sys", "gloo", "wasm-bindgen", "wasm-bindgen-futures", "serde-wasm-bindgen"].contains(&name) {
            assert!(table.contains("cfg(target_arch = \"wasm32\")"), "{name} is declared in {table}, outside the wasm-only tables");
            assert!(table.ends_with("dev-dependencies]") || line.contains("optional = true"), "{name} must be optional (behind the `web` feature)");
        }
    }
}

#[test]
fn the_tuning_engine_knows_nothing_of_the_cnn() {
    let tuning = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tuning");
    let mut files = Vec::new();
    core_files(&tuning, &mut files);
    assert!(files.iter().any(|f| f.ends_with("study.rs")), "found the tuning engine's files: {files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for module in ["experiment", "nn", "data"] {
                if code.contains(&format!("crate::{module}")) || code.contains(&format!("tunelab::{module}")) {
                    offences.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(offences.is_empty(), "the tuning engine must not depend on the CNN experiment, the CNN engine or MNIST:\n{}", offences.join("\n"));
}
