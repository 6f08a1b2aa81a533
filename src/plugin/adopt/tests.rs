use serde_json::json;

use super::*;

/// A Deployment as the API server returns it, defaults filled in.
fn legacy(extra_pod: Value) -> Deployment {
    let mut pod = json!({
        "containers": [{
            "name": "web",
            "image": "ghcr.io/acme/web:3.1.0",
            "ports": [{"containerPort": 4000, "protocol": "TCP"}],
            "env": [{"name": "PORT", "value": "4000"}, {"name": "MIX_ENV", "value": "prod"}],
            "envFrom": [{"secretRef": {"name": "web-env"}}],
            "readinessProbe": {"httpGet": {"path": "/health", "port": 4000, "scheme": "HTTP"}, "periodSeconds": 5},
            "livenessProbe": {"tcpSocket": {"port": 4000}},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }],
        "initContainers": [{
            "name": "proxy",
            "image": "ghcr.io/acme/proxy:1.0",
            "restartPolicy": "Always",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        "terminationGracePeriodSeconds": 45,
    });
    pod.as_object_mut()
        .unwrap()
        .extend(extra_pod.as_object().unwrap().clone());
    serde_json::from_value(json!({
        "metadata": {"name": "legacy", "namespace": "shop", "uid": "u", "resourceVersion": "9"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "legacy"}},
            "template": {
                "metadata": {"labels": {"app": "legacy", "tier": "web", "app.kubernetes.io/name": "legacy"}},
                "spec": pod,
            },
        },
    }))
    .unwrap()
}

#[test]
fn writes_a_checklist_that_runs_the_same_pods_and_adopts_the_deployment() {
    let written = checklist_from(&legacy(json!({})), "web", None, AfterReady::ScaleDown).unwrap();
    let spec = &written.checklist["spec"];
    let app = &spec["app"];
    assert_eq!(
        written.checklist["metadata"],
        json!({"name": "web", "namespace": "shop"})
    );
    assert_eq!(app["image"], "ghcr.io/acme/web:3.1.0");
    assert_eq!(app["replicas"], 3);
    assert_eq!(app["port"], 4000);
    assert_eq!(
        app["env"],
        json!([{"name": "MIX_ENV", "value": "prod"}]),
        "PORT comes from port"
    );
    assert_eq!(app["podLabels"], json!({"app": "legacy", "tier": "web"}));
    assert_eq!(
        app["adopt"],
        json!({"deployment": "legacy", "afterReady": "ScaleDown"})
    );
    assert_eq!(
        app["sidecars"],
        json!([{"name": "proxy", "image": "ghcr.io/acme/proxy:1.0"}])
    );
    assert_eq!(app["volumes"], json!([{"name": "tmp", "emptyDir": {}}]));
    assert_eq!(app["terminationGracePeriodSeconds"], 45);
    assert_eq!(
        spec["secrets"],
        json!([{"secretName": "web-env", "inject": true}])
    );
    assert_eq!(
        spec["probes"],
        json!({"readiness": {"path": "/health", "periodSeconds": 5}})
    );
    assert_eq!(
        spec["verification"]["checks"],
        json!([{"name": "ready", "http": {"path": "/health", "expectStatus": [200]}}])
    );
    let notes = written.notes.join("\n");
    for expected in [
        "label app.kubernetes.io/name=legacy is one the operator sets itself",
        "the liveness probe is not an HTTP GET",
        "ServiceAccount token",
        "restricted Pod Security",
        "spec.secrets[web-env]",
    ] {
        assert!(notes.contains(expected), "{expected}: {notes}");
    }
}

#[test]
fn what_a_checklist_cannot_say_is_refused_by_name() {
    let cases = [
        (
            json!({"volumes": [{"name": "host", "hostPath": {"path": "/var/run"}}]}),
            "volume host cannot be written as a checklist field: its field hostPath has no place there",
        ),
        (
            json!({"containers": [
                {"name": "app", "image": "a:1", "ports": [{"containerPort": 80}]},
                {"name": "metrics", "image": "b:1", "readinessProbe": {"tcpSocket": {"port": 9}}},
            ]}),
            "container metrics cannot be written as a checklist field: its field readinessProbe has no place there",
        ),
        (
            json!({"containers": [{"name": "web", "image": "a:1", "envFrom": [{"configMapRef": {"name": "flags"}}], "ports": [{"containerPort": 80}]}]}),
            "envFrom ConfigMap flags cannot be written",
        ),
        (
            json!({"containers": [{"name": "web", "image": "a:1"}]}),
            "declares no TCP port and no PORT",
        ),
        (
            json!({"containers": [{"name": "one", "image": "a:1"}, {"name": "two", "image": "b:1"}]}),
            "several containers (one, two); name the app's",
        ),
    ];
    for (pod, expected) in cases {
        let error = checklist_from(&legacy(pod), "web", None, AfterReady::ScaleDown).unwrap_err();
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let error = checklist_from(&legacy(json!({})), "legacy", None, AfterReady::Delete).unwrap_err();
    assert!(error.starts_with("--name: "), "{error}");
}
