//! spec.promotion against the mocked API server: the followed checklist is read first (one GET,
//! in its own namespace), and its verified image is what the follower's revision, migration Job
//! and status carry.

use super::*;
use crate::resources::promoted_spec;

const STAGING: &str = "/apis/checklist.dev/v1alpha1/namespaces/staging/deploymentchecklists";
const STAGED: &str = "ghcr.io/acme/dialectic:1.5.0";

/// The dialectic checklist following staging/dialectic, promoting what was Ready there at once.
fn follower() -> Value {
    let (mut checklist, _) = new_checklist();
    checklist["spec"]["promotion"] = json!({
        "from": {"namespace": "staging", "name": NAME},
        "readyForSeconds": 0,
        "minScorePercent": 0,
    });
    checklist
}

/// staging/dialectic, Ready on 1.5.0 and inviting prod.
fn staged() -> Value {
    json!({
        "apiVersion": "checklist.dev/v1alpha1",
        "kind": "DeploymentChecklist",
        "metadata": {"name": NAME, "namespace": "staging", "uid": "1d2c3b4a-0000-4000-8000-000000000001"},
        "spec": {"app": {"image": STAGED}, "followers": {"namespaces": [NAMESPACE]}},
        "status": {
            "phase": "Ready",
            "revision": {
                "current": {"image": STAGED, "hash": "5a5a5a5a5a"},
                "stable": {"image": STAGED, "hash": "5a5a5a5a5a", "since": "2026-01-06T10:00:00Z"},
            },
        },
    })
}

#[tokio::test]
async fn a_follower_reads_the_stage_it_follows_and_releases_its_verified_image() {
    let checklist = follower();
    let typed: DeploymentChecklist = serde_json::from_value(checklist.clone()).unwrap();
    let promoted = crate::api::PromotedRevision {
        revision: "5a5a5a5a5a".into(),
        image: STAGED.into(),
        migration_image: None,
        at: None,
    };
    let hash = revision_hash(&promoted_spec(&typed.spec, &promoted));
    assert_ne!(
        hash,
        revision_hash(&typed.spec),
        "the promoted image is in the hash"
    );
    let (secret, _) = stored_secret();

    let serve = {
        let (checklist, hash) = (checklist.clone(), hash.clone());
        move |mut api: ApiServer| async move {
            let get = api.expect(Method::GET, &format!("{STAGING}/{NAME}")).await;
            get.assert_no_body();
            get.reply(StatusCode::OK, &staged());
            observe_new(&mut api, &hash, Some(&secret)).await;
            let post = api.expect(Method::POST, JOBS).await;
            post.assert_field("/spec/template/spec/containers/0/image", json!(STAGED));
            let job = created(
                post.body.clone(),
                "a1b2c3d4-0000-4000-8000-000000000003",
                "4714",
            );
            post.reply(StatusCode::CREATED, &job);
            let status = status_apply(&mut api, &checklist).await;
            assert_eq!(status["revision"]["current"]["image"], json!(STAGED));
            assert_eq!(status["revision"]["current"]["hash"], json!(hash));
            assert_eq!(
                status["promotion"]["from"],
                json!(format!("staging/{NAME}"))
            );
            assert_eq!(
                status["promotion"]["promoted"]["revision"],
                json!("5a5a5a5a5a")
            );
            assert_eq!(status["promotion"]["promoted"]["image"], json!(STAGED));
            migration_started_events(&mut api, STAGED, &hash).await;
            api
        }
    };
    let (result, api) = run(guarded(&checklist), serve).await;
    result.unwrap_or_else(|e| panic!("reconcile failed: {e}"));
    assert_eq!(api.requests()[0], format!("GET {STAGING}/{NAME}"));
}

#[tokio::test]
async fn a_follower_of_a_missing_stage_runs_its_own_image_and_says_why() {
    let checklist = follower();
    let typed: DeploymentChecklist = serde_json::from_value(checklist.clone()).unwrap();
    let hash = revision_hash(&typed.spec);
    let (secret, _) = stored_secret();

    let serve = {
        let (checklist, hash) = (checklist.clone(), hash.clone());
        move |mut api: ApiServer| async move {
            let get = api.expect(Method::GET, &format!("{STAGING}/{NAME}")).await;
            get.reply(
                StatusCode::NOT_FOUND,
                &not_found("checklist.dev", "deploymentchecklists", NAME),
            );
            observe_new(&mut api, &hash, Some(&secret)).await;
            let post = api.expect(Method::POST, JOBS).await;
            post.assert_field("/spec/template/spec/containers/0/image", json!(IMAGE));
            let job = created(
                post.body.clone(),
                "a1b2c3d4-0000-4000-8000-000000000004",
                "4715",
            );
            post.reply(StatusCode::CREATED, &job);
            let status = status_apply(&mut api, &checklist).await;
            assert_eq!(
                status["promotion"],
                json!({
                    "from": format!("staging/{NAME}"),
                    "message": format!(
                        "DeploymentChecklist staging/{NAME} does not exist or does not list \
                         namespace {NAMESPACE} in spec.followers.namespaces: nothing is promoted \
                         from it"
                    ),
                })
            );
            migration_started_events(&mut api, IMAGE, &hash).await;
            api
        }
    };
    let (result, _) = run(guarded(&checklist), serve).await;
    result.unwrap_or_else(|e| panic!("reconcile failed: {e}"));
}
