//! The one write to an object the operator does not own: the user's HTTPRoute, patched (JSON
//! Patch) in the two weights and the one rule a release sets.

use kube::{
    Api,
    api::{DynamicObject, Patch, PatchParams},
};

use crate::{ReconcileError, Result, traffic};

use super::{Actor, FIELD_MANAGER, observe};

impl Actor<'_> {
    /// Patches the HTTPRoute `name` with a JSON Patch. Its first operation tests the
    /// resourceVersion observe read: a route changed since fails the test and is read again by
    /// the next reconcile instead of being overwritten.
    pub(super) async fn patch_route(
        &self,
        name: &str,
        patch: Vec<serde_json::Value>,
    ) -> Result<()> {
        let what = || format!("patch HTTPRoute {name}");
        let patch: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(patch))
            .map_err(|source| ReconcileError::Serialize {
                what: what(),
                source,
            })?;
        let routes: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &observe::namespace(self.checklist)?,
            &traffic::http_route_resource(),
        );
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        routes
            .patch(name, &params, &Patch::Json::<()>(patch))
            .await
            .map_err(|e| ReconcileError::change(what(), stale_route(name, e)))?;
        tracing::info!(route = %name, "patched HTTPRoute weights");
        Ok(())
    }
}

/// A JSON Patch whose `test` of the resourceVersion failed is answered 422 with empty details
/// (`"details": {}`), unlike a patch the route's schema refuses (422 naming the object and its
/// fields): the route changed since it was read, a conflict to read again and retry soon, not a
/// request to wait for a change.
fn stale_route(name: &str, error: kube::Error) -> kube::Error {
    let unnamed = |status: &kube::core::Status| {
        status
            .details
            .as_ref()
            .is_none_or(|d| d.name.is_empty() && d.causes.is_empty())
    };
    match error {
        kube::Error::Api(status) if status.code == 422 && unnamed(&status) => kube::Error::Api(
            kube::core::Status {
                code: 409,
                reason: "Conflict".into(),
                message: format!("HTTPRoute {name} changed since it was read; it is read again"),
                ..kube::core::Status::default()
            }
            .boxed(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Category, Retry};

    fn answer(code: u16, details: Option<kube::core::response::StatusDetails>) -> kube::Error {
        kube::Error::Api(
            kube::core::Status {
                code,
                message: "the server rejected our request due to an error in our request".into(),
                details,
                ..kube::core::Status::default()
            }
            .boxed(),
        )
    }

    #[test]
    fn a_failed_resource_version_test_is_a_conflict_tried_again_soon() {
        // As the API server answers it (v1.37): `"details": {}`.
        let empty = serde_json::from_value(serde_json::json!({})).unwrap();
        for details in [None, Some(empty)] {
            let error = ReconcileError::change("patch", stale_route("web", answer(422, details)));
            assert_eq!(error.category(), Category::Conflict);
            assert_eq!(error.retry(), Retry::Backoff);
        }
    }

    #[test]
    fn a_patch_the_schema_refuses_stays_invalid() {
        // As the API server answers a value the CRD's schema refuses.
        let details: kube::core::response::StatusDetails = serde_json::from_value(
            serde_json::json!({"name": "web", "kind": "HTTPRoute", "causes": [{"field": "spec.rules"}]}),
        )
        .unwrap();
        let error = ReconcileError::change("patch", stale_route("web", answer(422, Some(details))));
        assert_eq!(error.category(), Category::Invalid);
    }
}
