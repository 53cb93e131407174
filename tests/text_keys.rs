//! The interface's two catalogues (`src/text/`): both languages fill the same placeholders for
//! every key, the Spanish is not the English left untranslated, and the page uses every key (a
//! key no view shows is a string nobody checks).

use std::collections::BTreeSet;
use std::path::Path;
use tunelab::text::{placeholders, Key, Lang};

/// Strings that are the same in both languages.
const SAME_IN_BOTH: [&str; 0] = [];

#[test]
fn both_languages_fill_the_same_placeholders() {
    for &key in Key::ALL {
        let (en, es) = (Lang::En.text(key), Lang::Es.text(key));
        let set = |t| placeholders(t).into_iter().collect::<BTreeSet<_>>();
        assert_eq!(set(en), set(es), "{}: {en:?} / {es:?}", key.name());
        assert!(!en.trim().is_empty() && !es.trim().is_empty(), "{}", key.name());
        if !SAME_IN_BOTH.contains(&key.name()) {
            assert_ne!(en, es, "{} is not translated", key.name());
        }
    }
}

fn shell_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            shell_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn the_page_uses_every_key() {
    let mut source = String::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    shell_sources(&root.join("src/app"), &mut source);
    // The core's refusals, which the page shows, are worded there.
    source.push_str(&std::fs::read_to_string(root.join("src/text/problems.rs")).unwrap());
    let used: BTreeSet<&str> = source
        .match_indices("Key::")
        .map(|(i, _)| {
            let rest = &source[i + 5..];
            &rest[..rest.find(|c: char| !c.is_alphanumeric() && c != '_').unwrap_or(rest.len())]
        })
        .collect();
    let unused: Vec<&str> = Key::ALL.iter().map(|k| k.name()).filter(|k| !used.contains(k)).collect();
    assert!(unused.is_empty(), "keys no view uses: {unused:?}");
}
