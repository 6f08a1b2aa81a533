//! spec.app.rollOnChange against the mocked API server: the listed Secret's version is read by
//! metadata only, before the other reads, and goes into the revision and its status.

use super::*;
use crate::{api::ReferenceVersion, resources::revision_of};

#[tokio::test]
async fn a_checklist_rolling_on_its_secret_reads_the_version_by_metadata_and_records_it() {
    let (mut checklist, _) = new_checklist();
    checklist["spec"]["app"]["rollOnChange"] = json!({"secrets": [SECRET]});
    let typed: DeploymentChecklist = serde_json::from_value(checklist.clone()).unwrap();
    let references = vec![ReferenceVersion {
        kind: "Secret".into(),
        name: SECRET.into(),
        resource_version: Some("4702".into()),
    }];
    let hash = revision_of(&typed.spec, &references);
    assert_ne!(
        hash,
        revision_hash(&typed.spec),
        "the version is in the hash"
    );
    let (secret, secret_values) = stored_secret();
    let path = format!("/api/v1/namespaces/prod/secrets/{SECRET}");

    let serve = {
        let (checklist, hash) = (checklist.clone(), hash.clone());
        move |mut api: ApiServer| async move {
            let get = api.expect(Method::GET, &path).await;
            get.assert_no_body();
            let accept = get.accept.clone().unwrap_or_default();
            assert!(
                accept.starts_with("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
                "metadata only, never the values: {accept}"
            );
            get.reply(
                StatusCode::OK,
                &json!({
                    "apiVersion": "meta.k8s.io/v1",
                    "kind": "PartialObjectMetadata",
                    "metadata": {"name": SECRET, "namespace": NAMESPACE, "resourceVersion": "4702"},
                }),
            );
            observe_new(&mut api, &hash, Some(&secret)).await;

            let post = api.expect(Method::POST, JOBS).await;
            post.assert_field("/metadata/labels/checklist.dev~1revision", json!(hash));
            let job = created(
                post.body.clone(),
                "a1b2c3d4-0000-4000-8000-000000000002",
                "4713",
            );
            post.reply(StatusCode::CREATED, &job);

            let status = status_apply(&mut api, &checklist).await;
            assert_eq!(status["phase"], json!("Migrating"), "status.phase");
            assert_eq!(
                status["revision"]["current"],
                json!({
                    "image": IMAGE,
                    "hash": hash,
                    "references": [{"kind": "Secret", "name": SECRET, "resourceVersion": "4702"}],
                }),
                "revision.current: the version the revision was rolled with"
            );
            assert_eq!(status["history"][0]["hash"], json!(hash), "history[0].hash");
            assert!(
                status["history"][0].get("rotated").is_none(),
                "a first revision rotated nothing"
            );
            migration_started_events(&mut api, IMAGE, &hash).await;
            api
        }
    };

    let (result, api) = run(guarded(&checklist), serve).await;
    api.assert_no_secret_values(&secret_values);
    result.unwrap_or_else(|e| panic!("reconcile failed: {e}"));
    assert_eq!(
        api.requests()[0],
        format!("GET /api/v1/namespaces/prod/secrets/{SECRET}"),
        "the version first: the revision's Jobs are named by it"
    );
}
