//! `provgate check-policy`: a policy file's error names the file and the line.
use libtest_mimic::{Failed, Trial};

fn unanchored_pattern_names_file_and_line() -> Result<(), Failed> {
    let pg = crate::provgate();
    let text = "version = 1\n[[signer]]\nname = \"ci\"\nissuer = \"https://token.actions.githubusercontent.com\"\n\
                identity = { regex = 'https://github\\.com/acme/.*' }\nartifact_signatures = true\n";
    let path = pg.write("policy.toml", text);
    let run = pg.run(&[std::ffi::OsStr::new("check-policy"), path.as_os_str()]);
    let expected = format!("provgate: {}:5: regular expression", path.display());
    if run.code == 1 && run.stderr.starts_with(&expected) && run.stderr.contains("is not anchored") {
        Ok(())
    } else {
        Err(format!("expected {expected:?}…, got {run}").into())
    }
}

fn example_policy_reads() -> Result<(), Failed> {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../attestations/examples/trust-policy.toml");
    let run = crate::provgate().run(&["check-policy", example]);
    if run.success() && run.stdout.lines().count() == 5 && run.stdout.contains("\"offline release key\": key sha256:") {
        Ok(())
    } else {
        Err(run.to_string().into())
    }
}

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("check_policy::unanchored_pattern_names_file_and_line", unanchored_pattern_names_file_and_line),
        Trial::test("check_policy::example_policy_reads", example_policy_reads),
    ]
}
