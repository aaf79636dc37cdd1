//! The shape of the crate (issue 20): no module depends, through others, on itself, and the geometry kernel
//! depends on nothing of the crate above it. A module's dependencies are read from its source as written
//! (`crate::a::b` and `super::x` paths, outside comments and test modules), so a change that brings a cycle
//! back fails here, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every source file of the library (not the binary's `cli/`), as (module path, text without comments and
/// test modules).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&root).unwrap().with_extension("");
            let parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            if parts[0] == "cli" || parts[0] == "main" || parts[0] == "lib" {
                return None;
            }
            let parts: Vec<&str> = parts.iter().map(String::as_str).filter(|c| *c != "mod").collect::<Vec<_>>();
            let text = std::fs::read_to_string(&p).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap();
            let code: String = text.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
            Some((parts.join("::"), code))
        })
        .collect()
}

/// The paths a text names after `prefix` (identifiers joined by `::`).
fn paths_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter(|(i, _)| !text[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':'))
        .map(|(i, _)| {
            let rest = &text[i + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit() || c == ':'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches(':')
        })
        .collect()
}

/// Module → the modules it names (the longest known module path of each reference).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let srcs = sources();
    let known: BTreeSet<String> = srcs.iter().map(|(m, _)| m.clone()).collect();
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len()).rev().map(|k| parts[..k].join("::")).find(|c| known.contains(c))
    };
    srcs.iter()
        .map(|(m, code)| {
            let parent: Vec<&str> = m.split("::").collect();
            let parent = &parent[..parent.len() - 1];
            let mut deps = BTreeSet::new();
            for p in paths_after(code, "crate::") {
                deps.extend(resolve(p));
            }
            for p in paths_after(code, "super::") {
                let full = parent.iter().copied().chain(p.split("::")).collect::<Vec<_>>().join("::");
                deps.extend(resolve(&full));
            }
            deps.remove(m);
            (m.clone(), deps)
        })
        .collect()
}

/// The modules on a cycle through `start`, if any (a path back to it).
fn cycle_through(g: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((m, path)) = stack.pop() {
        for d in g.get(&m).into_iter().flatten() {
            if d == start {
                return Some(path.iter().cloned().chain([d.clone()]).collect());
            }
            if seen.insert(d.clone()) {
                stack.push((d.clone(), path.iter().cloned().chain([d.clone()]).collect()));
            }
        }
    }
    None
}

#[test]
fn no_module_depends_on_itself_and_the_geometry_kernel_depends_on_nothing_above_it() {
    let g = graph();
    assert!(
        g.len() > 60 && g.contains_key("geometry::outline") && g.contains_key("balance::measure"),
        "{:?}",
        g.keys()
    );
    // the reader finds what is there: the store reads through the geometry's index, the sheet reads the store
    assert!(g["store::write"].contains("geometry::index") && g["balance::measure"].contains("store"), "{g:?}");
    let cycles: Vec<Vec<String>> = g.keys().filter_map(|m| cycle_through(&g, m)).collect();
    assert!(cycles.is_empty(), "module cycles: {cycles:?}");
    for (m, deps) in g.iter().filter(|(m, _)| m.starts_with("geometry")) {
        let above: Vec<&String> = deps.iter().filter(|d| !d.starts_with("geometry")).collect();
        assert!(above.is_empty(), "{m} depends on {above:?}");
    }
    // and the check would see a cycle: the index naming the store that reads through it is one
    let mut bent = g.clone();
    bent.get_mut("geometry::index").unwrap().insert("store::write".into());
    assert!(cycle_through(&bent, "geometry::index").is_some());
}
