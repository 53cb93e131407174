//! The library's modules depend on each other without cycles, so each can be read (and tested)
//! after the ones it uses. This reads the library's source (`src/lib.rs` and everything under
//! `src/` except the browser shell: `src/main.rs`, `src/app/`, `src/bin/`), and, for each folder
//! checked, builds the graph of its entries — the files and sub-folders side by side in it — where
//! an entry depends on a sibling that one of its files names by a path: `super::x`,
//! `super::super::x`, `crate::dir::x`, or inside a list, `crate::dir::{x::Y, z}`. Test code
//! (anything under `#[cfg(test)]`, such as the `mod tests` at the end of a file) is left out:
//! tests may use whatever they check against.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Folders whose graph must have no cycle, as module paths ("" is the crate's top level).
const CHECKED: [&str; 6] = ["", "nn", "nn::fast", "tuning", "data", "experiment"];
/// Folders whose cycles are only printed (to check one, move it to `CHECKED`).
const REPORTED: [&str; 0] = [];

/// A source file of the library and the module it is.
struct SourceFile {
    path: PathBuf,
    module: Vec<String>,
}

fn library_files(dir: &Path, module: &[String], out: &mut Vec<SourceFile>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if module.is_empty() && (name == "app" || name == "bin") {
                continue;
            }
            let mut sub = module.to_vec();
            sub.push(name);
            library_files(&path, &sub, out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if module.is_empty() && stem == "main" {
                continue;
            }
            let mut m = module.to_vec();
            if stem != "mod" && stem != "lib" {
                m.push(stem.to_string());
            }
            out.push(SourceFile { path, module: m });
        }
    }
}

/// The code of `text` without comments, string and char literals (their contents become spaces).
fn strip_comments_and_strings(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r'
            && (c.get(i + 1) == Some(&'"') || (c.get(i + 1) == Some(&'#') && !c[..i].last().is_some_and(|p| p.is_alphanumeric() || *p == '_')))
        {
            // A raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            while j < c.len() && !(c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#'))) {
                j += 1;
            }
            i = j + 1 + hashes;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && (c.get(i + 2) == Some(&'\'') || c.get(i + 1) == Some(&'\\')) {
            // A char literal ('x' or '\n'); lifetimes ('a) are left alone.
            i += 1;
            while i < c.len() && c[i] != '\'' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// `code` without the items under `#[cfg(test)]` (a `mod tests { … }`, a test-only function or
/// `use`), and the names of test-only modules declared here (`#[cfg(test)] mod name;`).
fn without_test_code(code: &str) -> (String, Vec<String>) {
    let marker = "#[cfg(test)]";
    let mut out = String::new();
    let mut test_modules = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at]);
        let item = &rest[at + marker.len()..];
        // The item ends at its first `;` outside braces, or at the brace closing its first `{`.
        let (mut depth, mut end) = (0usize, item.len());
        for (i, ch) in item.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        let words: Vec<&str> = item[..end].split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ';')).filter(|w| !w.is_empty()).collect();
        if let Some(pos) = words.iter().position(|w| *w == "mod") {
            if let Some(name) = words.get(pos + 1).filter(|w| w.ends_with(';')) {
                test_modules.push(name.trim_end_matches(';').to_string());
            }
        }
        out.push(' ');
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_modules)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Parse a path starting at `c[i]` — `a::b::{c::D, e}` — into every full path it names,
/// appended to `out` after `prefix`. Returns the index after it.
fn parse_path(c: &[char], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    loop {
        while c.get(i).is_some_and(|ch| ch.is_whitespace()) {
            i += 1;
        }
        if c.get(i) == Some(&'{') {
            i += 1;
            loop {
                while c.get(i).is_some_and(|ch| ch.is_whitespace() || *ch == ',') {
                    i += 1;
                }
                match c.get(i) {
                    None => return i,
                    Some('}') => return i + 1,
                    _ => {
                        let before = i;
                        i = parse_path(c, i, path.clone(), out);
                        // ` as Name` after an entry, or anything unparsable: skip to the next entry.
                        while c.get(i).is_some_and(|ch| *ch != ',' && *ch != '}') {
                            i += 1;
                        }
                        if i == before {
                            i += 1;
                        }
                    }
                }
            }
        }
        let start = i;
        while c.get(i).is_some_and(|ch| is_ident(*ch) || *ch == '*') {
            i += 1;
        }
        if i > start {
            path.push(c[start..i].iter().collect());
        }
        let mut j = i;
        while c.get(j).is_some_and(|ch| ch.is_whitespace()) {
            j += 1;
        }
        if c.get(j) == Some(&':') && c.get(j + 1) == Some(&':') {
            i = j + 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// Every module path named in `code` (a file of module `module`), resolved from the crate
/// root: `crate::a::b` and `super::…` (counted from the inline module it is written in).
fn named_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let c: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    // Inline modules open here: (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let word_at = |i: usize, w: &str| -> bool {
        let wc: Vec<char> = w.chars().collect();
        c.len() >= i + wc.len()
            && c[i..i + wc.len()] == wc[..]
            && (i == 0 || !is_ident(c[i - 1]) && c[i - 1] != ':')
            && !c.get(i + wc.len()).is_some_and(|ch| is_ident(*ch))
    };
    while i < c.len() {
        match c[i] {
            '{' => {
                depth += 1;
                i += 1;
                continue;
            }
            '}' => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            _ => {}
        }
        if word_at(i, "mod") {
            let mut j = i + 3;
            while c.get(j).is_some_and(|ch| ch.is_whitespace()) {
                j += 1;
            }
            let start = j;
            while c.get(j).is_some_and(|ch| is_ident(*ch)) {
                j += 1;
            }
            let name: String = c[start..j].iter().collect();
            while c.get(j).is_some_and(|ch| ch.is_whitespace()) {
                j += 1;
            }
            if c.get(j) == Some(&'{') && !name.is_empty() {
                inline.push((name, depth + 1));
            }
            i = j;
            continue;
        }
        let from_super = word_at(i, "super") && c.get(i + 5) == Some(&':');
        let from_crate = word_at(i, "crate") && c.get(i + 5) == Some(&':');
        if !(from_super || from_crate) {
            i += 1;
            continue;
        }
        let mut paths = Vec::new();
        let end = parse_path(&c, i, Vec::new(), &mut paths);
        let here: Vec<String> = module.iter().cloned().chain(inline.iter().map(|(n, _)| n.clone())).collect();
        for path in paths {
            let mut resolved = if path[0] == "crate" { Vec::new() } else { here.clone() };
            for segment in &path {
                match segment.as_str() {
                    "crate" => {}
                    "super" => {
                        resolved.pop();
                    }
                    "self" => {}
                    _ => resolved.push(segment.clone()),
                }
            }
            found.push(resolved);
        }
        i = end.max(i + 1);
    }
    found
}

/// For the folder of module path `folder`: each entry and the siblings it depends on.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn library_graphs() -> BTreeMap<String, Graph> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    library_files(&src, &[], &mut files);
    assert!(files.iter().any(|f| f.path.ends_with("lib.rs")) && files.len() > 10, "found the library's files");
    // Test-only modules (`#[cfg(test)] mod gradient_check;`) are test code too.
    let mut sources = Vec::new();
    let mut test_only: Vec<Vec<String>> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(&file.path).unwrap();
        let (code, tests) = without_test_code(&strip_comments_and_strings(&text));
        for name in tests {
            test_only.push(file.module.iter().cloned().chain([name]).collect());
        }
        sources.push((file, code));
    }
    let mut graphs = BTreeMap::new();
    for folder in CHECKED.iter().chain(&REPORTED) {
        let prefix: Vec<String> = folder.split("::").filter(|s| !s.is_empty()).map(String::from).collect();
        // The folder's entries: modules one level below it, that have files.
        let entries: BTreeSet<String> =
            files.iter().filter(|f| f.module.len() > prefix.len() && f.module.starts_with(&prefix)).map(|f| f.module[prefix.len()].clone()).collect();
        let mut graph: Graph = entries.iter().map(|e| (e.clone(), BTreeSet::new())).collect();
        for (file, code) in &sources {
            if file.module.len() <= prefix.len() || !file.module.starts_with(&prefix) || test_only.iter().any(|t| file.module.starts_with(t)) {
                continue;
            }
            let from = &file.module[prefix.len()];
            for path in named_paths(code, &file.module) {
                if path.len() > prefix.len() && path.starts_with(&prefix) {
                    let to = &path[prefix.len()];
                    if to != from && entries.contains(to) {
                        graph.get_mut(from).unwrap().insert(to.clone());
                    }
                }
            }
        }
        graphs.insert(folder.to_string(), graph);
    }
    graphs
}

/// One cycle of `graph` for each group of entries that reach each other, e.g. "a → b → a".
fn cycles(graph: &Graph) -> Vec<String> {
    let reaches = |from: &str, to: &str| -> Option<Vec<String>> {
        // Breadth-first: the shortest path from → … → to.
        let mut previous: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([from.to_string()]);
        while let Some(node) = queue.pop_front() {
            for next in &graph[&node] {
                if next == to {
                    let mut path = vec![to.to_string(), node.clone()];
                    let mut at = node.clone();
                    while let Some(p) = previous.get(&at) {
                        path.push(p.clone());
                        at = p.clone();
                    }
                    path.reverse();
                    return Some(path);
                }
                if next != from && !previous.contains_key(next) {
                    previous.insert(next.clone(), node.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        None
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    for node in graph.keys() {
        if seen.contains(node) {
            continue;
        }
        if let Some(path) = reaches(node, node) {
            seen.extend(path.iter().cloned());
            found.push(path.join(" → "));
        }
    }
    found
}

fn folder_name(folder: &str) -> String {
    if folder.is_empty() {
        "src/".to_string()
    } else {
        format!("src/{}/", folder.replace("::", "/"))
    }
}

#[test]
fn the_library_modules_have_no_cycles() {
    let graphs = library_graphs();
    for folder in REPORTED {
        for cycle in cycles(&graphs[folder]) {
            eprintln!("(not checked) cycle in {}: {cycle}", folder_name(folder));
        }
    }
    let mut problems = Vec::new();
    for folder in CHECKED {
        let graph = &graphs[folder];
        assert!(graph.len() > 2, "{} has entries: {graph:?}", folder_name(folder));
        for cycle in cycles(graph) {
            problems.push(format!("{}: {cycle}", folder_name(folder)));
        }
    }
    assert!(problems.is_empty(), "module dependency cycles:\n{}\n(the graphs: {graphs:#?})", problems.join("\n"));
}

/// The graph the test walks for `src/nn/` has the engine's dependencies in it (so an empty or
/// misread graph cannot pass for an acyclic one).
#[test]
fn the_nn_graph_sees_known_dependencies() {
    let graphs = library_graphs();
    let nn = &graphs["nn"];
    for (from, to) in [("train", "model"), ("train", "config"), ("config", "arch"), ("model", "arch"), ("conv", "fast")] {
        assert!(nn[from].contains(to), "src/nn: {from} depends on {to}: {nn:?}");
    }
    for (from, to) in [("experiment", "tuning"), ("experiment", "nn"), ("experiment", "scheduler"), ("scheduler", "protocol")] {
        assert!(graphs[""][from].contains(to), "{from} depends on {to}: {:?}", graphs[""]);
    }
}

#[test]
fn paths_are_read_in_every_form() {
    let module: Vec<String> = ["nn", "conv"].map(String::from).to_vec();
    let code = strip_comments_and_strings(
        r#"
        use super::{arch, layer::{Layer, Pass}};
        use crate::nn::{fast::kernels::Strided, model as m, config};
        // use super::commented_out;
        /* use super::block_commented; */
        const S: &str = "super::in_a_string";
        fn f() { let x = super::super::rng::rng_for(1, 2); }
        mod inner {
            use super::super::dense::Dense;
        }
        use super::flatten::*;
        "#,
    );
    let mut named: Vec<String> = named_paths(&code, &module).into_iter().map(|p| p.join("::")).collect();
    named.sort();
    let want = [
        "nn::arch",
        "nn::dense::Dense",
        "nn::fast::kernels::Strided",
        "nn::flatten::*",
        "nn::layer::Layer",
        "nn::layer::Pass",
        "nn::model",
        "nn::config",
        "rng::rng_for",
    ];
    let mut want: Vec<String> = want.map(String::from).to_vec();
    want.sort();
    assert_eq!(named, want);
}

#[test]
fn test_code_is_left_out() {
    let code = "use super::a;\n#[cfg(test)]\nmod tests {\n use super::b;\n fn f() { { } }\n}\n#[cfg(test)]\nmod gradient_check;\n#[cfg(test)]\npub(crate) fn direct() { super::c::x(); }\nuse super::d;\n";
    let (kept, test_modules) = without_test_code(code);
    let named: Vec<String> = named_paths(&kept, &["nn".to_string(), "x".to_string()]).into_iter().map(|p| p.join("::")).collect();
    assert_eq!(named, ["nn::a", "nn::d"]);
    assert_eq!(test_modules, ["gradient_check"]);
}

#[test]
fn a_cycle_is_found_and_printed() {
    let graph: Graph = [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec!["a"])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
    assert_eq!(cycles(&graph), ["a → b → c → a"]);
    let acyclic: Graph = [("a", vec!["b"]), ("b", vec![])].into_iter().map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect())).collect();
    assert!(cycles(&acyclic).is_empty());
}
