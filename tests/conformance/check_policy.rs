//! `provgate check-policy`: a policy file's error names the file and the line.
use std::process::Command;

use libtest_mimic::{Failed, Trial};

fn unanchored_pattern_names_file_and_line() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("policy.toml");
    let text = "version = 1\n[[signer]]\nname = \"ci\"\nissuer = \"https://token.actions.githubusercontent.com\"\n\
                identity = { regex = 'https://github\\.com/acme/.*' }\nartifact_signatures = true\n";
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let output = Command::new(env!("CARGO_BIN_EXE_provgate"))
        .arg("check-policy")
        .arg(&path)
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("provgate: {}:5: regular expression", path.display());
    if output.status.code() == Some(1) && stderr.starts_with(&expected) && stderr.contains("is not anchored") {
        Ok(())
    } else {
        Err(format!("expected {expected:?}…, got status {:?}: {stderr}", output.status.code()).into())
    }
}

fn example_policy_reads() -> Result<(), Failed> {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../attestations/examples/trust-policy.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_provgate"))
        .arg("check-policy")
        .arg(example)
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && stdout.lines().count() == 4 && stdout.contains("\"offline release key\": key sha256:")
    {
        Ok(())
    } else {
        Err(format!("status {:?}: {stdout}{}", output.status.code(), String::from_utf8_lossy(&output.stderr)).into())
    }
}

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("check_policy::unanchored_pattern_names_file_and_line", unanchored_pattern_names_file_and_line),
        Trial::test("check_policy::example_policy_reads", example_policy_reads),
    ]
}
