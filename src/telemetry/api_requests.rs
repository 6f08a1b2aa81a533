//! Which Kubernetes API request a client request is, by verb and resource: how the operator's
//! own load on the API server is counted (`checklist_api_requests_total`), the way the API
//! server's `apiserver_request_total` names it.

use http::{Method, Uri};

/// One API request's verb (get, list, watch, create, patch, update, delete, deletecollection)
/// and resource (`deployments`, `deploymentchecklists/status`; `other` outside the resource
/// paths, such as /version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// The Kubernetes verb.
    pub verb: &'static str,
    /// The resource, with its subresource after a slash.
    pub resource: String,
}

/// Names the API request `method` on `uri` makes, as the API server's request metrics do.
pub fn classify(method: &Method, uri: &Uri) -> ApiRequest {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    // /api/v1/... or /apis/GROUP/VERSION/...
    let rest = match segments.as_slice() {
        ["api", _version, rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => {
            return ApiRequest {
                verb: verb_of(method, false, false),
                resource: "other".to_owned(),
            };
        }
    };
    // namespaces/NS/RESOURCE/... is a namespaced resource; a bare `namespaces[/NAME]` is the
    // Namespace resource itself.
    let rest = match rest {
        ["namespaces", _namespace, resource, rest @ ..] => {
            let mut path = vec![*resource];
            path.extend_from_slice(rest);
            path
        }
        other => other.to_vec(),
    };
    let (resource, named) = match rest.as_slice() {
        [] => ("other".to_owned(), false),
        [resource] => ((*resource).to_owned(), false),
        [resource, _name] => ((*resource).to_owned(), true),
        [resource, _name, subresource, ..] => (format!("{resource}/{subresource}"), true),
    };
    let watch = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .any(|pair| pair == "watch=true" || pair == "watch=1");
    ApiRequest {
        verb: verb_of(method, named, watch),
        resource,
    }
}

fn verb_of(method: &Method, named: bool, watch: bool) -> &'static str {
    match *method {
        Method::GET if watch => "watch",
        Method::GET if named => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PATCH => "patch",
        Method::PUT => "update",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(method: Method, uri: &str) -> (&'static str, String) {
        let request = classify(&method, &uri.parse().unwrap());
        (request.verb, request.resource)
    }

    #[test]
    fn each_verb_and_resource_is_named_as_the_api_server_names_it() {
        let cases = [
            (
                Method::GET,
                "/apis/apps/v1/namespaces/a/deployments/web",
                "get",
                "deployments",
            ),
            (
                Method::GET,
                "/apis/apps/v1/namespaces/a/deployments?labelSelector=x",
                "list",
                "deployments",
            ),
            (
                Method::GET,
                "/apis/apps/v1/deployments?watch=true&resourceVersion=5",
                "watch",
                "deployments",
            ),
            (
                Method::GET,
                "/api/v1/namespaces/a/pods?labelSelector=a%3Db&watch=1",
                "watch",
                "pods",
            ),
            (Method::GET, "/api/v1/secrets", "list", "secrets"),
            (
                Method::PATCH,
                "/apis/checklist.dev/v1alpha1/namespaces/a/deploymentchecklists/web/status?fieldManager=m",
                "patch",
                "deploymentchecklists/status",
            ),
            (
                Method::POST,
                "/apis/batch/v1/namespaces/a/jobs",
                "create",
                "jobs",
            ),
            (
                Method::PUT,
                "/apis/coordination.k8s.io/v1/namespaces/a/leases/l",
                "update",
                "leases",
            ),
            (
                Method::DELETE,
                "/apis/batch/v1/namespaces/a/jobs/web-migrate-1",
                "delete",
                "jobs",
            ),
            (
                Method::DELETE,
                "/apis/batch/v1/namespaces/a/jobs",
                "deletecollection",
                "jobs",
            ),
            (
                Method::POST,
                "/apis/events.k8s.io/v1/namespaces/a/events",
                "create",
                "events",
            ),
            (Method::GET, "/api/v1/namespaces/a", "get", "namespaces"),
            (Method::GET, "/api/v1/namespaces", "list", "namespaces"),
            (Method::GET, "/version", "list", "other"),
            (Method::GET, "/apis", "list", "other"),
        ];
        for (method, uri, verb, resource) in cases {
            assert_eq!(named(method, uri), (verb, resource.to_owned()), "{uri}");
        }
    }
}
