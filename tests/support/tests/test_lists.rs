//! Completeness guards: every list of tests kept by hand is compared with what it lists, so a
//! test cannot drop out silently. Each guard reads the files and says what is missing and where
//! to add it. None needs the binary, root or the VM.
//!
//! - the `[[test]]` targets of verifier/Cargo.toml (`autotests = false`) and the test roots under
//!   tests/;
//! - the VM tests of tests/vm/main.rs and the results tests/vm/scenarios.sh and attacks.sh report;
//! - the kernels of tests/vm/main.rs and `provgate_vm::KERNELS`;
//! - the trials of the libtest-mimic runners (tests/conformance, tests/oci) and their functions.
//!
//! (The C programs of tests/vm/progs and the harness's PROGRAMS are compared by a unit test of
//! tests/vm-harness, which sees the list itself.)
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use provgate_test_support::workspace_root;

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root()).unwrap_or(path).display().to_string()
}

fn is_ident(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// ------------------------------------------------------------------------------------------------
// verifier/Cargo.toml: the end-to-end tests are targets of the provgate package, listed by hand.

/// Every `.rs` file under `dir`, leaving out folders that are packages of their own (their tests
/// are found by cargo).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("Cargo.toml").is_file() {
        return;
    }
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files `file` declares as modules (`mod name;`, `#[path = ".."] mod name;`). Both places a
/// module may be are taken: beside the file (crate roots, mod.rs) and in its own folder.
fn declared_modules(file: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(file).unwrap();
    let dir = file.parent().unwrap();
    let own = dir.join(file.file_stem().unwrap());
    let mut out = Vec::new();
    let mut path_attribute = None;
    for line in text.lines().map(str::trim) {
        if let Some(path) = line.strip_prefix("#[path = \"").and_then(|l| l.strip_suffix("\"]")) {
            path_attribute = Some(path.to_owned());
            continue;
        }
        let declaration = line.trim_start_matches("pub(crate) ").trim_start_matches("pub ");
        if let Some(name) = declaration.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            match path_attribute.take() {
                Some(path) => out.push(dir.join(path)),
                None => {
                    for base in [dir, own.as_path()] {
                        out.push(base.join(format!("{name}.rs")));
                        out.push(base.join(name).join("mod.rs"));
                    }
                }
            }
        } else if !line.starts_with("#[") {
            path_attribute = None;
        }
    }
    out
}

#[test]
fn every_test_root_under_tests_is_a_test_target_of_provgate() {
    let root = workspace_root();
    let manifest: toml::Table = read("verifier/Cargo.toml").parse().expect("verifier/Cargo.toml is TOML");
    let targets = manifest.get("test").and_then(|t| t.as_array()).cloned().unwrap_or_default();
    let mut listed = BTreeSet::new();
    let mut problems = Vec::new();
    for target in &targets {
        let name = target.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        let Some(path) = target.get("path").and_then(|p| p.as_str()) else {
            problems.push(format!("[[test]] {name} in verifier/Cargo.toml has no path"));
            continue;
        };
        match root.join("verifier").join(path).canonicalize() {
            Ok(file) => {
                listed.insert(file);
            }
            Err(e) => problems.push(format!("[[test]] {name} in verifier/Cargo.toml: {path}: {e}")),
        }
    }

    let mut files = Vec::new();
    rust_files(&root.join("tests"), &mut files);
    let modules: BTreeSet<PathBuf> =
        files.iter().flat_map(|f| declared_modules(f)).filter_map(|m| m.canonicalize().ok()).collect();
    for file in files {
        let file = file.canonicalize().unwrap();
        if !modules.contains(&file) && !listed.contains(&file) {
            let path = relative(&file);
            let name = path.trim_start_matches("tests/").trim_end_matches(".rs").replace(['/', '-'], "_");
            problems.push(format!(
                "{path} is a test root (no file declares it as a module) that no [[test]] of verifier/Cargo.toml \
                 runs (autotests = false there): add\n\n[[test]]\nname = \"{name}\"\npath = \"../{path}\"\n\n\
                 to verifier/Cargo.toml, or declare it with `mod` in the test that uses it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(listed.len() >= 5, "the [[test]] targets were not read: {listed:?}");
}

// ------------------------------------------------------------------------------------------------
// tests/vm/main.rs lists, per kernel, every result the VM scripts report.

const VM_MAIN: &str = "tests/vm/main.rs";
/// The scripts the VM tests boot (`harness::boot(.., "scenarios,attacks", ..)`), and the helpers
/// they source.
const VM_SCRIPTS: [&str; 2] = ["tests/vm/scenarios.sh", "tests/vm/attacks.sh"];
const VM_HELPERS: &str = "tests/vm/lib.sh";

/// The test names in the `scenarios!(...)` list of tests/vm/main.rs.
fn listed_vm_tests() -> Vec<String> {
    let text = read(VM_MAIN);
    let start = text.find("scenarios!($suite:").expect("the scenarios! list in tests/vm/main.rs");
    let list = &text[start + "scenarios!($suite:".len()..];
    let list = &list[..list.find(");").expect("the end of the scenarios! list")];
    list.lines()
        .map(|l| l.split("//").next().unwrap())
        .flat_map(|l| l.split([',', ' ']))
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            assert!(is_ident(w), "{VM_MAIN}: {w:?} in the scenarios! list is not a test name");
            w.to_owned()
        })
        .collect()
}

/// Shell lines with backslash continuations joined.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// A line of a script with what surrounds it: the function it is in, and the `for` loop.
struct ShellLine {
    text: String,
    function: Option<String>,
    /// `for VAR in WORDS; do`: the variable and its words.
    each: Option<(String, Vec<String>)>,
}

fn shell_lines(text: &str) -> Vec<ShellLine> {
    let mut out = Vec::new();
    let mut function: Option<String> = None;
    let mut each: Option<(String, Vec<String>)> = None;
    for line in logical_lines(text) {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        // NAME() { ...
        if let Some((name, rest)) = trimmed.split_once("() {").filter(|(n, _)| is_ident(n)) {
            let one_line = rest.trim_end().ends_with('}');
            out.push(ShellLine { text: rest.to_owned(), function: Some(name.to_owned()), each: each.clone() });
            if !one_line {
                function = Some(name.to_owned());
            }
            continue;
        }
        if line.starts_with('}') {
            function = None;
            continue;
        }
        // for VAR in WORDS; do [BODY; done]
        if let Some(rest) = trimmed.strip_prefix("for ")
            && let Some((head, body)) = rest.split_once("; do")
            && let Some((var, words)) = head.split_once(" in ")
        {
            let words: Vec<String> = words.split_whitespace().map(str::to_owned).collect();
            let body = body.trim();
            match body.strip_suffix("done").map(|b| b.trim_end().trim_end_matches(';')) {
                Some(body) => out.push(ShellLine {
                    text: body.to_owned(),
                    function: function.clone(),
                    each: Some((var.trim().to_owned(), words)),
                }),
                None => each = Some((var.trim().to_owned(), words)),
            }
            continue;
        }
        if trimmed == "done" || trimmed.starts_with("done ") || trimmed.starts_with("done;") {
            each = None;
            continue;
        }
        out.push(ShellLine { text: line.clone(), function: function.clone(), each: each.clone() });
    }
    out
}

/// The commands of a line: split at `;`, `&&`, `||`, with `if`, `then`, `else`, `do`, `!` and
/// `elif` taken off their fronts.
fn commands(line: &str) -> Vec<Vec<&str>> {
    line.split(';')
        .flat_map(|c| c.split("&&"))
        .flat_map(|c| c.split("||"))
        .map(|c| {
            let words: Vec<&str> = c.split_whitespace().collect();
            let skip = words.iter().take_while(|w| matches!(**w, "if" | "then" | "else" | "elif" | "do" | "!")).count();
            words[skip..].to_vec()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// A `result NAME VERDICT` call: the name as written (bare, or the quoted text) and the verdict.
fn result_calls(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("result ") {
        let before = rest[..at].chars().last();
        let after = &rest[at + "result ".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let after = after.trim_start();
        let (name, tail) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((name, tail)) => (format!("\"{name}\""), tail),
                None => continue,
            },
            None => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (after[..end].to_owned(), &after[end..])
            }
        };
        let verdict: String = tail.trim_start().chars().take_while(|c| c.is_ascii_uppercase()).collect();
        out.push((name, verdict));
    }
    out
}

/// The results the VM scripts can report, each with the verdicts it is reported with.
fn reported_vm_results() -> Result<BTreeMap<String, BTreeSet<String>>, Vec<String>> {
    let mut problems = Vec::new();
    // Helpers whose calls report `<first argument><suffix>`: name -> (suffix, verdict).
    let mut helpers: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut results: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let scripts: Vec<(&str, Vec<ShellLine>)> =
        VM_SCRIPTS.iter().chain([&VM_HELPERS]).map(|s| (*s, shell_lines(&read(s)))).collect();
    for (script, lines) in &scripts {
        for line in lines {
            for (name, verdict) in result_calls(&line.text) {
                if !matches!(verdict.as_str(), "PASS" | "FAIL") {
                    problems.push(format!("{script}: `result {name} {verdict}`: the verdict must be PASS or FAIL"));
                } else if is_ident(&name) {
                    results.entry(name).or_default().insert(verdict);
                } else if let (Some(function), Some(suffix)) = (&line.function, template_suffix(&name)) {
                    helpers.entry(function.clone()).or_default().push((suffix, verdict));
                } else {
                    problems.push(format!(
                        "{script}: cannot tell which name `result {name} {verdict}` reports: write it as a \
                         literal, or as \"$1_suffix\" in a helper function called with the rest of the name"
                    ));
                }
            }
        }
    }
    for (script, lines) in &scripts {
        for line in lines {
            for words in commands(&line.text) {
                let Some(reports) = helpers.get(words[0]) else { continue };
                if line.function.as_deref() == Some(words[0]) {
                    continue;
                }
                let Some(argument) = words.get(1) else {
                    problems.push(format!("{script}: `{}` without the name it reports", words.join(" ")));
                    continue;
                };
                let names: Vec<String> = match argument.strip_prefix('$') {
                    None => vec![(*argument).to_owned()],
                    Some(var) => match &line.each {
                        Some((each, words)) if each == var.trim_matches(['{', '}']) => words.clone(),
                        _ => {
                            problems.push(format!(
                                "{script}: `{}`: ${var} is not the variable of a `for` loop around it",
                                words.join(" ")
                            ));
                            continue;
                        }
                    },
                };
                for name in names {
                    for (suffix, verdict) in reports {
                        results.entry(format!("{name}{suffix}")).or_default().insert(verdict.clone());
                    }
                }
            }
        }
    }
    if problems.is_empty() { Ok(results) } else { Err(problems) }
}

/// `"$1_blocked"` / `"${name}_works"`: the suffix after the helper's argument.
fn template_suffix(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?.strip_prefix('$')?;
    let rest = match inner.strip_prefix('{') {
        Some(braced) => braced.split_once('}')?.1,
        None => inner.trim_start_matches(|c: char| c.is_ascii_alphanumeric()),
    };
    (rest.starts_with('_') && is_ident(rest)).then(|| rest.to_owned())
}

#[test]
fn every_result_the_vm_scripts_report_has_a_vm_test() {
    let reported = reported_vm_results().unwrap_or_else(|problems| panic!("{}", problems.join("\n")));
    let listed = listed_vm_tests();
    let listed_set: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    // Results reported only as FAIL (a setup step that failed) need no test: the VM run's
    // completeness test fails on them.
    let passing: BTreeSet<&str> =
        reported.iter().filter(|(_, verdicts)| verdicts.contains("PASS")).map(|(n, _)| n.as_str()).collect();
    let mut problems = Vec::new();
    for name in passing.difference(&listed_set) {
        problems.push(format!(
            "the VM scripts report `{name}`, but {VM_MAIN} has no test of it: add `{name},` to the scenarios! \
             list in the kernel! macro there"
        ));
    }
    for name in listed_set.difference(&passing) {
        let how = match reported.get(*name) {
            Some(_) => "only ever report it as FAIL",
            None => "never report it",
        };
        problems.push(format!(
            "{VM_MAIN} tests `{name}`, but {} {how}: report it with `result {name} PASS` where it passes, or \
             remove it from the list",
            VM_SCRIPTS.join(" and ")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(listed.len() >= 100, "the scenarios! list was not read: {listed:?}");
}

#[test]
fn every_kernel_of_the_harness_has_its_vm_tests() {
    let text = read(VM_MAIN);
    let tested: BTreeSet<&str> =
        text.lines().filter_map(|l| l.trim().strip_prefix("kernel!(")).filter_map(|l| l.split('"').nth(1)).collect();
    let kernels: BTreeSet<&str> = provgate_vm::KERNELS.iter().map(|(_, suite)| *suite).collect();
    let untested: Vec<_> = kernels.difference(&tested).collect();
    let unknown: Vec<_> = tested.difference(&kernels).collect();
    assert!(
        untested.is_empty(),
        "provgate_vm::KERNELS boots {untested:?}, which {VM_MAIN} does not test: add \
         `kernel!(kernel_NAME, \"SUITE\");` at its end"
    );
    assert!(unknown.is_empty(), "{VM_MAIN} tests kernels {unknown:?} that provgate_vm::KERNELS does not have");
}

// ------------------------------------------------------------------------------------------------
// libtest-mimic runners: each module lists its trials by hand in `pub fn trials()`.

/// The runners with `harness = false` whose modules list their trials.
const RUNNERS: [&str; 2] = ["tests/conformance", "tests/oci"];

/// `fn NAME() -> Result<(), Failed>`: the trial functions of a module.
fn trial_functions(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("fn "))
        .filter_map(|l| l.strip_suffix("() -> Result<(), Failed> {"))
        .filter(|name| is_ident(name))
        .map(str::to_owned)
        .collect()
}

/// The (name, function) pairs of `pub fn trials()`: `Trial::test("NAME", FUNCTION)` or
/// `trial("NAME", FUNCTION)`.
fn listed_trials(text: &str) -> Option<Vec<(String, String)>> {
    let start = text.find("pub fn trials() -> Vec<Trial> {")?;
    let body = &text[start..];
    let body = &body[..body.find("\n}\n").unwrap_or(body.len())];
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(");
    let mut out = Vec::new();
    let mut rest = flat.as_str();
    while let Some(open) = rest.find("(\"") {
        let after = &rest[open + 2..];
        let Some((name, tail)) = after.split_once('"') else { break };
        let tail = tail.trim_start().trim_start_matches(',').trim_start();
        let function: String = tail.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        out.push((name.to_owned(), function));
        rest = tail;
    }
    Some(out)
}

#[test]
fn every_trial_function_is_listed_under_its_name() {
    let mut problems = Vec::new();
    let mut count = 0;
    for runner in RUNNERS {
        let main = read(&format!("{runner}/main.rs"));
        for line in main.lines() {
            let Some(module) = line.trim().strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) else {
                continue;
            };
            let file = format!("{runner}/{module}.rs");
            let text = read(&file);
            let Some(listed) = listed_trials(&text) else {
                let functions = trial_functions(&text);
                if !functions.is_empty() {
                    problems.push(format!("{file} has trial functions {functions:?} but no `pub fn trials()`"));
                }
                continue;
            };
            if !main.contains(&format!("{module}::trials()")) {
                problems.push(format!(
                    "{runner}/main.rs never runs the trials of {file}: add `trials.extend({module}::trials());`"
                ));
            }
            let functions = trial_functions(&text);
            let listed_functions: BTreeSet<&str> = listed.iter().map(|(_, f)| f.as_str()).collect();
            for function in &functions {
                if !listed_functions.contains(function.as_str()) {
                    problems.push(format!(
                        "{file}: `{function}` is not in `trials()`: add `Trial::test(\"{module}::{function}\", \
                         {function})` (or `trial(..)`) there"
                    ));
                }
            }
            let mut seen = BTreeSet::new();
            for (name, function) in &listed {
                count += 1;
                if *name != format!("{module}::{function}") {
                    problems
                        .push(format!("{file}: trial {name:?} runs `{function}`: name it \"{module}::{function}\""));
                }
                if !functions.contains(function) {
                    problems.push(format!("{file}: trial {name:?} runs `{function}`, which is not a trial function"));
                }
                if !seen.insert(name) {
                    problems.push(format!("{file}: trial {name:?} is listed twice"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(count >= 20, "the trials lists were not read ({count} trials)");
}

// ------------------------------------------------------------------------------------------------
// The guards' readers, on small inputs.

#[test]
fn the_shell_reader_follows_helpers_and_loops() {
    let script = "f() { # NAME\n  if x; then result \"$1_ok\" PASS\n  else result \"$1_ok\" FAIL; fi\n}\n\
                  for a in one \\\n    two; do\n  f $a\ndone\nf three --flag\nresult lit PASS \"x\"\n\
                  for g in p q; do cp $T/x $T/$g; done\n";
    let lines = shell_lines(script);
    let calls: Vec<_> = lines.iter().flat_map(|l| result_calls(&l.text)).collect();
    assert_eq!(
        calls,
        [("\"$1_ok\"", "PASS"), ("\"$1_ok\"", "FAIL"), ("lit", "PASS")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(lines.iter().filter(|l| l.function.as_deref() == Some("f")).count(), 3);
    let looped = lines.iter().find(|l| l.text.trim() == "f $a").unwrap();
    assert_eq!(looped.each, Some(("a".to_owned(), vec!["one".to_owned(), "two".to_owned()])));
    let one_line = lines.iter().find(|l| l.text.contains("cp")).unwrap();
    assert_eq!(one_line.each.as_ref().unwrap().1, ["p", "q"]);
    assert_eq!(template_suffix("\"${name}_works_without_hardening\"").as_deref(), Some("_works_without_hardening"));
    assert_eq!(template_suffix("\"$1_blocked\"").as_deref(), Some("_blocked"));
    assert_eq!(template_suffix("\"$1\""), None);
    assert_eq!(commands("if start x; then blocked a b; stop")[1], ["blocked", "a", "b"]);
}

#[test]
fn the_trials_reader_pairs_names_and_functions() {
    let text = "fn a() -> Result<(), Failed> {\n}\nfn helper(x: u8) -> Result<(), Failed> {\n}\n\
                pub fn trials() -> Vec<Trial> {\n    vec![\n        Trial::test(\"m::a\", a),\n        trial(\n            \
                \"m::b\",\n            b,\n        ),\n    ]\n}\n";
    assert_eq!(trial_functions(text), ["a"]);
    assert_eq!(listed_trials(text).unwrap(), [("m::a", "a"), ("m::b", "b")].map(|(n, f)| (n.to_owned(), f.to_owned())));
}
