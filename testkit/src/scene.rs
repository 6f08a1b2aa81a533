//! The scene most end-to-end tests start from: a namespace of their own with the CRD installed,
//! the test app on loopback, and the operator watching that namespace.

use checklist_testapp::RunningApp;
use kube::Client;

use crate::{Operator, TestNamespace, client, ensure_crd, start_app};

/// A namespace (`<prefix>-…`, deleted by [`TestNamespace::finish`]), the test app and the
/// operator; take it apart (`let Scene { client, ns, app, operator } = …`) to use the pieces.
pub struct Scene {
    /// A client of the local control plane.
    pub client: Client,
    /// The test's namespace.
    pub ns: TestNamespace,
    /// The test app, playing the checklist's app.
    pub app: RunningApp,
    /// The operator, watching only `ns`; it stops when dropped.
    pub operator: Operator,
}

impl Scene {
    /// Sets the scene for a test named by `prefix`.
    pub async fn start(prefix: &str) -> Self {
        let client = client().await;
        ensure_crd(&client).await;
        let ns = TestNamespace::create(&client, prefix).await;
        let app = start_app().await;
        let operator = Operator::start(ns.name());
        Self {
            client,
            ns,
            app,
            operator,
        }
    }
}
