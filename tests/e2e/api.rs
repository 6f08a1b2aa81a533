//! The DeploymentChecklist API as the real API server serves it: the CRD installs, every example
//! is accepted, `kubectl explain` prints our descriptions, and bad manifests are refused with a
//! message that names the field.

use std::{
    path::{Path, PathBuf},
    process::Output,
};

use checklist_testkit::{TestNamespace, client, ensure_crd, kubectl};

fn repo_path(relative: &str) -> PathBuf {
    checklist_testkit::fixtures::repository().join(relative)
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_path(dir))
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn dry_run_apply(namespace: &str, file: &Path) -> Output {
    kubectl()
        .args([
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=e2e",
            "-n",
            namespace,
            "-f",
        ])
        .arg(file)
        .output()
        .unwrap()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn crd_installs_with_a_structural_schema_and_compiled_cel() {
    let client = client().await;
    let crd = ensure_crd(&client).await;
    let conditions = crd.status.unwrap().conditions.unwrap();
    for kind in ["Established", "NamesAccepted"] {
        assert!(
            conditions
                .iter()
                .any(|c| c.type_ == kind && c.status == "True"),
            "{kind} is not True: {conditions:?}"
        );
    }
    // A non-structural schema or a CEL rule that fails to compile shows up here.
    assert!(
        !conditions
            .iter()
            .any(|c| c.type_ == "NonStructuralSchema" && c.status == "True"),
        "schema is not structural: {conditions:?}"
    );
    let names = kubectl()
        .args(["api-resources", "--api-group=checklist.dev", "-o", "wide"])
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&names.stdout);
    assert!(names.contains("deploymentchecklists"), "{names}");
    assert!(
        names.contains("checklist,dcl") || names.contains("dcl,checklist"),
        "{names}"
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn every_example_passes_a_server_side_dry_run_apply() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "api-examples").await;
    let examples = yaml_files("examples");
    assert!(
        examples.len() >= 4,
        "expected an example per seed app, found {examples:?}"
    );
    for file in examples {
        let out = dry_run_apply(ns.name(), &file);
        assert!(
            out.status.success(),
            "{} was refused:\n{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn kubectl_explain_prints_the_field_descriptions() {
    let client = client().await;
    let crd = ensure_crd(&client).await;
    // The description kubectl should print is the one our doc comments put into the schema.
    let version = &crd.spec.versions[0];
    let schema = version
        .schema
        .as_ref()
        .unwrap()
        .open_api_v3_schema
        .as_ref()
        .unwrap();
    let checks = &schema.properties.as_ref().unwrap()["spec"]
        .properties
        .as_ref()
        .unwrap()["verification"]
        .properties
        .as_ref()
        .unwrap()["checks"];
    let description = checks
        .description
        .clone()
        .expect("checks has a description");
    let first_words: String = description
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");

    // The API server publishes a CRD's OpenAPI a moment after it is established.
    let mut last = String::new();
    for _ in 0..40 {
        let out = kubectl()
            .args(["explain", "deploymentchecklist.spec.verification.checks"])
            .output()
            .unwrap();
        last = String::from_utf8_lossy(&out.stdout).into_owned();
        let flat = last.split_whitespace().collect::<Vec<_>>().join(" ");
        if out.status.success() && flat.contains(&first_words) {
            assert!(flat.contains("KIND: DeploymentChecklist"), "{last}");
            assert!(flat.contains("FIELD: checks"), "{last}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("kubectl explain did not print {first_words:?}; last output:\n{last}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn invalid_manifests_are_refused_with_a_message_naming_the_field() {
    let client = client().await;
    ensure_crd(&client).await;
    let ns = TestNamespace::create(&client, "api-invalid").await;
    let corpus = yaml_files("tests/invalid");
    assert!(
        corpus.len() >= 20,
        "the invalid corpus has only {} files",
        corpus.len()
    );
    let mut failures = Vec::new();
    for file in &corpus {
        let text = std::fs::read_to_string(file).unwrap();
        // `# expect-server:` lines, where a file has them, say what the API server answers when
        // it refuses the object before its schema sees it (a C1 control character kubectl
        // writes into the YAML it sends); `verify` still reads `# expect:`.
        let lines = |prefix: &str| -> Vec<&str> {
            text.lines()
                .filter_map(|l| l.strip_prefix(prefix))
                .map(str::trim)
                .collect()
        };
        let server = lines("# expect-server:");
        let expected = if server.is_empty() {
            lines("# expect:")
        } else {
            server
        };
        assert!(
            !expected.is_empty(),
            "{} has no '# expect:' line",
            file.display()
        );
        let out = dry_run_apply(ns.name(), file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            failures.push(format!(
                "{}: accepted, but should be refused",
                file.display()
            ));
        } else if let Some(missing) = expected.iter().find(|e| !stderr.contains(*e)) {
            failures.push(format!(
                "{}: error lacks {missing:?}:\n{stderr}",
                file.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
