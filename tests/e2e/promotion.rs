//! Promotion between stages end to end: production follows staging across namespaces. Staging's
//! verified revision reaches production only once it has been Ready for the set time; a
//! production rollout that fails rolls production back and leaves staging as it was; a
//! namespace staging does not invite follows nothing. The operator runs cluster-wide with a
//! label selector, as one install serves both stages.

use checklist_testapp::{Mode, RunningApp};
use checklist_testkit::{
    Operator, TestNamespace, apply, checklist, client, ensure_crd, kubectl_in, start_app,
    valid_secret,
};
use serde_json::{Value, json};

use crate::progressive::eventually;
use crate::web::kubectl_wait;

const WITHIN: u64 = 120;

/// `web` at `image` in a stage, labelled for this test's operator.
fn stage(image: &str, app: &RunningApp, selector: &str) -> Value {
    let mut checklist = checklist(image, app);
    checklist["metadata"]["labels"] = json!({"checklist.dev/e2e-stages": selector});
    checklist
}

fn status(namespace: &str) -> Value {
    let (ok, out) = kubectl_in(namespace, &["get", "dcl/web", "-o", "json"]);
    assert!(ok, "{out}");
    serde_json::from_str::<Value>(&out).unwrap()["status"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
async fn production_follows_staging_after_its_time_and_a_failure_there_leaves_staging_alone() {
    let client = client().await;
    ensure_crd(&client).await;
    let staging = TestNamespace::create(&client, "stage-staging").await;
    let production = TestNamespace::create(&client, "stage-production").await;
    let (staging_ns, production_ns) = (staging.name(), production.name());
    let selector = staging_ns.to_string();
    let _operator = Operator::start_cluster_wide(&format!("checklist.dev/e2e-stages={selector}"));
    let (staging_app, production_app) = (start_app().await, start_app().await);

    // Staging invites production; production runs 0.9.0 until the first promotion and follows
    // revisions Ready for 5 s.
    let mut first = stage("example.com/web:1.0.0", &staging_app, &selector);
    first["spec"]["followers"] = json!({"namespaces": [production_ns]});
    apply(staging_ns, &[&valid_secret(), &first]);
    let mut follower = stage("example.com/web:0.9.0", &production_app, &selector);
    follower["spec"]["promotion"] = json!({
        "from": {"namespace": staging_ns, "name": "web"},
        "readyForSeconds": 5,
    });
    apply(production_ns, &[&valid_secret(), &follower]);

    kubectl_wait(staging_ns, "condition=Ready", WITHIN);
    let staged = status(staging_ns)["revision"]["stable"].clone();
    eventually(WITHIN, "production promoted to staging's 1.0.0", || async {
        let now = status(production_ns);
        now["phase"] == "Ready" && now["revision"]["current"]["image"] == "example.com/web:1.0.0"
    })
    .await;
    let promotion = status(production_ns)["promotion"].clone();
    assert_eq!(
        promotion["from"],
        format!("{staging_ns}/web"),
        "{promotion}"
    );
    assert_eq!(
        promotion["promoted"]["revision"], staged["hash"],
        "{promotion}"
    );
    let since = staged["since"].as_str().unwrap().to_owned();
    let at = promotion["promoted"]["at"].as_str().unwrap().to_owned();
    assert!(
        at > since,
        "promoted at {at}, after staging became stable at {since}"
    );
    let (_, shown) = kubectl_in(production_ns, &["get", "dcl/web", "-o", "yaml"]);
    println!("{shown}");

    // Staging verifies 2.0.0; production's copy of it fails its own checks there and rolls
    // back, and staging is untouched.
    production_app.set_mode(Mode::Unhealthy);
    let second = json!({"spec": {"app": {"image": "example.com/web:2.0.0"}}});
    let (ok, out) = kubectl_in(
        staging_ns,
        &[
            "patch",
            "dcl/web",
            "--type=merge",
            "-p",
            &second.to_string(),
        ],
    );
    assert!(ok, "{out}");
    eventually(WITHIN, "staging Ready on 2.0.0", || async {
        let now = status(staging_ns);
        now["phase"] == "Ready" && now["revision"]["stable"]["image"] == "example.com/web:2.0.0"
    })
    .await;
    let staging_after = status(staging_ns);
    eventually(WITHIN, "production's 2.0.0 rolled back", || async {
        let now = status(production_ns);
        now["phase"] == "RolledBack"
            && now["revision"]["current"]["image"] == "example.com/web:2.0.0"
    })
    .await;
    let production_after = status(production_ns);
    assert_eq!(
        production_after["revision"]["stable"]["image"], "example.com/web:1.0.0",
        "production serves what it verified"
    );
    assert_eq!(
        production_after["promotion"]["promoted"]["revision"],
        staging_after["revision"]["stable"]["hash"]
    );
    let staging_now = status(staging_ns);
    assert_eq!(staging_now["phase"], "Ready");
    assert_eq!(
        staging_now["revision"], staging_after["revision"],
        "staging unchanged"
    );
    assert_eq!(
        staging_now["history"], staging_after["history"],
        "staging unchanged"
    );

    // Staging stops inviting production: nothing more is promoted, and production says why.
    let (ok, out) = kubectl_in(
        staging_ns,
        &[
            "patch",
            "dcl/web",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/spec/followers"}]"#,
        ],
    );
    assert!(ok, "{out}");
    eventually(60, "production names the missing invitation", || async {
        status(production_ns)["promotion"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not exist or does not list namespace"))
    })
    .await;

    production.finish(&client).await;
    staging.finish(&client).await;
}
