#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The top-level modules import downwards only: each one names the modules it may use, and a
//! `use crate::…` (or a `crate::…` path) that reaches a module on its own floor or above fails
//! here, naming the file. Run with `cargo test --test layers`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The floors, lowest first: a module may use any module on a lower floor.
const FLOORS: &[&[&str]] = &[
    &["text", "fair", "telemetry"],
    &["api"],
    &["resources", "secrets"],
    &["verify", "traffic"],
    &["error"],
    &["events"],
    &["notify"],
    &["controller"],
    &["operator", "plugin"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&module))
}

/// The `.rs` files under `path` (or `path` itself).
fn sources(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut found = Vec::new();
    for entry in fs::read_dir(path).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// The text of a source file without its comments (line comments, doc comments included, so a
/// doc link to a module above is not an import).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names after `crate::`, in paths and in `use crate::{…}`.
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The names at the group's top level: `{api::Reason, error::{A, B}, text}`.
            let mut depth = 0usize;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_start = true,
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    c if depth == 0 && at_start && !c.is_whitespace() => {
                        if !name.is_empty() {
                            used.insert(std::mem::take(&mut name));
                        }
                        at_start = false;
                    }
                    c if c.is_whitespace() && !name.is_empty() => {
                        used.insert(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                used.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            used.insert(name);
        }
    }
    used
}

#[test]
fn every_module_imports_only_from_the_floors_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        if ["main", "lib", "bin"].contains(&module.as_str()) {
            continue;
        }
        let floor = floor_of(&module)
            .unwrap_or_else(|| panic!("src/{module} is on no floor: add it to FLOORS"));
        for file in sources(&path) {
            let used = used_modules(&code(&fs::read_to_string(&file).unwrap()));
            for other in used.iter().filter(|m| **m != module) {
                // Names that are not modules (`crate::Result`, re-exports of lib.rs) are fine.
                let Some(other_floor) = floor_of(other) else {
                    continue;
                };
                if other_floor >= floor {
                    wrong
                        .entry(file.strip_prefix(&src).unwrap().display().to_string())
                        .or_default()
                        .push(other.clone());
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that do not go down (file: modules on its floor or above): {wrong:#?}"
    );
}

#[test]
fn the_reader_finds_names_in_paths_and_in_groups() {
    let used = used_modules(&code(
        "use crate::{api::Reason, error::{A, B}, text};\nlet x = crate::verify::f();\n// crate::operator",
    ));
    let expected: BTreeSet<String> = ["api", "error", "text", "verify"].map(String::from).into();
    assert_eq!(used, expected);
}
