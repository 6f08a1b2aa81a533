//! A real Traefik on loopback, the Gateway API implementation canary traffic is proven through:
//! the binary `dev/traefik` builds from its published Go module (TRAEFIK_VERSION in
//! dev/versions.env), watching one test namespace of the local cluster, with a GatewayClass of
//! its own and a Gateway `front` whose one HTTP listener is Traefik's entry point. It sends a
//! route's requests to the Services' ClusterIPs (nativeLB), which the local cluster keeps on
//! loopback, so a test app bound to a Service's ClusterIP plays that Service's pods. Killed, its
//! GatewayClass deleted, when dropped.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use checklist_testapp::{Config, RunningApp};
use k8s_openapi::api::core::v1::Service;
use kube::{Api, Client};
use serde_json::json;

use crate::kubectl::{apply, kubectl};
use crate::toolchain::cache_dir;

/// A Traefik process serving the Gateway `front` of one namespace.
pub struct Traefik {
    child: Child,
    port: u16,
    class: String,
}

/// The Traefik version dev/versions.env pins.
fn traefik_version() -> String {
    let versions = crate::fixtures::repository().join("dev/versions.env");
    let text = std::fs::read_to_string(&versions).expect("read dev/versions.env");
    text.lines()
        .find_map(|line| line.strip_prefix("TRAEFIK_VERSION="))
        .map(|version| version.trim().to_owned())
        .expect("TRAEFIK_VERSION in dev/versions.env")
}

/// The Traefik binary `dev/traefik --path` builds; a panic saying how to build it if missing.
pub fn traefik_binary() -> PathBuf {
    let version = traefik_version();
    let dir = cache_dir().join(format!("bin/traefik-{version}"));
    let binary = dir.join("traefik");
    assert!(
        dir.join(".complete").is_file() && binary.is_file(),
        "Traefik {version} is not built (no {}): run `dev/traefik --path` once (or `dev/cluster \
         build`), which builds it from dev/toolchain/traefik in about 9 minutes",
        binary.display()
    );
    binary
}

impl Traefik {
    /// Starts Traefik for `namespace` and waits until its Gateway `front` is accepted.
    pub async fn start(namespace: &str) -> Self {
        // A free port for the entry point; the Gateway's listener must name the same port.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let class = format!("traefik-{namespace}");
        apply(
            namespace,
            &[
                &json!({
                    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
                    "metadata": {"name": class},
                    "spec": {"controllerName": "traefik.io/gateway-controller"},
                }),
                &json!({
                    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                    "metadata": {"name": "front"},
                    "spec": {"gatewayClassName": class, "listeners": [
                        {"name": "web", "port": port, "protocol": "HTTP"},
                    ]},
                }),
            ],
        );
        let child = Command::new(traefik_binary())
            .args([
                &format!("--entryPoints.web.address=127.0.0.1:{port}"),
                "--providers.kubernetesgateway=true",
                "--providers.kubernetesgateway.nativeLBByDefault=true",
                &format!("--providers.kubernetesgateway.namespaces={namespace}"),
                "--log.level=ERROR",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start traefik");
        let traefik = Traefik { child, port, class };
        traefik.wait_for_gateway(namespace).await;
        traefik
    }

    /// The users' front door: `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_for_gateway(&self, namespace: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = kubectl()
                .args(["-n", namespace, "get", "gateway", "front", "-o"])
                .arg("jsonpath={.status.conditions[?(@.type==\"Accepted\")].status}")
                .output()
                .expect("kubectl");
            if String::from_utf8_lossy(&out.stdout).trim() == "True" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Traefik did not accept Gateway {namespace}/front within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A test app reporting `version` on the ClusterIP of Service `service` at `port`, once the
/// operator made the Service: it plays the pods that Service selects.
pub async fn app_behind(
    client: &Client,
    namespace: &str,
    service: &str,
    port: u16,
    version: &str,
) -> RunningApp {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let deadline = Instant::now() + Duration::from_secs(60);
    let ip = loop {
        let ip = services
            .get_opt(service)
            .await
            .expect("read a Service")
            .and_then(|s| s.spec)
            .and_then(|s| s.cluster_ip);
        if let Some(ip) = ip.filter(|ip| ip.starts_with("127.")) {
            break ip;
        }
        assert!(
            Instant::now() < deadline,
            "Service {namespace}/{service} has no loopback ClusterIP within 60 s (dev/cluster \
             up keeps them on 127.100.0.0/16)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    checklist_testapp::spawn(Config {
        listen: std::net::SocketAddr::new(ip.parse().expect("an IP"), port),
        app_version: version.into(),
        ..Config::default()
    })
    .await
    .unwrap_or_else(|e| panic!("bind a test app to {service}'s ClusterIP {ip}: {e}"))
}

impl Drop for Traefik {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = kubectl()
            .args([
                "delete",
                "gatewayclass",
                &self.class,
                "--ignore-not-found",
                "--wait=false",
            ])
            .output();
    }
}
