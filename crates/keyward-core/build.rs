//! Embeds the built-in rules (`patterns/*.yaml` at the workspace root) into the library.
//!
//! Two forms are generated: the YAML sources themselves (for `keyward rules check` and the
//! example tests) and a compact JSON form without the examples, which is what a scan loads:
//! JSON parses an order of magnitude faster than YAML, and start-up must stay cheap.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let patterns = manifest.join("../../patterns");
    println!("cargo:rerun-if-changed={}", patterns.display());

    let mut files: Vec<PathBuf> = fs::read_dir(&patterns)
        .unwrap_or_else(|e| panic!("{}: {e}", patterns.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();

    let mut sources = String::from("/// The built-in pattern files: (file name, YAML text).\n");
    sources.push_str("pub(crate) const BUILTIN_SOURCES: &[(&str, &str)] = &[\n");
    let mut compact = Vec::new();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = file_name(path);
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut value: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("patterns/{name}: {e}"));
        strip_examples(&mut value);
        let json = serde_json::to_value(&value).unwrap_or_else(|e| panic!("patterns/{name}: {e}"));
        compact.push(serde_json::json!({ "file": name, "content": json }));
        let canonical = path.canonicalize().expect("canonical path");
        writeln!(
            sources,
            "    ({name:?}, include_str!({:?})),",
            canonical.display().to_string()
        )
        .expect("write to string");
    }
    sources.push_str("];\n");

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("builtin_sources.rs"), sources).expect("write builtin_sources.rs");
    fs::write(
        out.join("builtin.json"),
        serde_json::to_string(&compact).expect("serialize builtin rules"),
    )
    .expect("write builtin.json");
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("UTF-8 file name")
        .to_string()
}

/// Examples are only needed by `rules check` and the tests, which read the YAML sources.
fn strip_examples(value: &mut serde_yaml::Value) {
    if let Some(rules) = value.get_mut("rules").and_then(|r| r.as_sequence_mut()) {
        for rule in rules {
            if let Some(map) = rule.as_mapping_mut() {
                map.remove("examples");
                map.remove("negative_examples");
            }
        }
    }
}
