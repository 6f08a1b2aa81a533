//! What the engine lends a prometheus check: its query as sent (placeholders, the namespace
//! confinement) and the instant query's request with its credentials. The judgement is in
//! `checks::prometheus`.

use reqwest::header::HeaderValue;
use url::Url;

use crate::api::PrometheusCheck;

use super::{
    super::{
        checks::{
            kind::Problem,
            prometheus as promql,
            prometheus_scope::{NamespaceLabel, Scope},
        },
        client::{Header, Request},
    },
    Engine,
};

impl Engine {
    /// The same engine, confining every prometheus query to the placeholders' namespace through
    /// `label` (the operator's --prometheus-namespace-label); None sends queries as written.
    pub fn with_prometheus_namespace_label(self, label: Option<NamespaceLabel>) -> Self {
        Self {
            prometheus_scope: label.map(Scope::new),
            ..self
        }
    }

    /// A prometheus check's query, its placeholders filled in and confined to the placeholders'
    /// namespace when the operator was given a namespace label.
    pub(super) async fn prometheus_query(
        &self,
        check: &PrometheusCheck,
    ) -> Result<String, Problem> {
        let query = promql::query(check, &self.placeholders);
        match &self.prometheus_scope {
            Some(scope) => scope
                .confine(&query, &self.placeholders.namespace)
                .await
                .map_err(Problem::Spec),
            None => Ok(query),
        }
    }

    /// The instant query of a prometheus check: GET <address>/api/v1/query?query=<query>, with
    /// its credentials.
    pub(super) fn prometheus_request(
        &self,
        check: &crate::api::PrometheusCheck,
        query: &str,
    ) -> Result<Request, Problem> {
        let mut url = match &check.address {
            Some(address) => Url::parse(address)
                .map_err(|e| Problem::Spec(format!("prometheus.address: {e}")))?,
            None => self.prometheus.clone().ok_or_else(|| {
                Problem::Spec(
                    "no Prometheus to ask: set prometheus.address, or start the operator with --prometheus-url"
                        .into(),
                )
            })?,
        };
        url.set_query(None);
        url.set_fragment(None);
        let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut().append_pair("query", query);
        let mut headers = Vec::new();
        if let Some(source) = &check.bearer_token_from {
            let token = self.secret_text(source, "prometheus.bearerTokenFrom")?;
            headers.push(authorization(&format!("Bearer {token}"))?);
        }
        if let Some(source) = &check.basic_auth_from {
            use base64::Engine as _;
            let pair = self.secret_text(source, "prometheus.basicAuthFrom")?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair.as_bytes());
            headers.push(authorization(&format!("Basic {encoded}"))?);
        }
        Ok(Request {
            method: reqwest::Method::GET,
            url,
            headers,
            body: None,
        })
    }

    /// The text of a Secret value a check needs; a missing one skips the check.
    fn secret_text(
        &self,
        source: &crate::api::HeaderSource,
        field: &str,
    ) -> Result<String, Problem> {
        let secret = &source.secret_key_ref.name;
        let key = &source.secret_key_ref.key;
        let value = self.secrets.get(secret, key).ok_or_else(|| {
            Problem::Secret(format!(
                "{field} needs key {key} of Secret {secret}, which is not available"
            ))
        })?;
        value.to_str().map(str::to_string).map_err(|_| {
            Problem::Spec(format!("{field}: key {key} of Secret {secret} is not text"))
        })
    }
}

/// An Authorization header carrying a secret, marked sensitive so no debug output shows it.
fn authorization(value: &str) -> Result<Header, Problem> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| Problem::Spec("the credentials are not a valid header value".into()))?;
    value.set_sensitive(true);
    Ok(Header {
        name: reqwest::header::AUTHORIZATION,
        value,
    })
}

#[cfg(test)]
mod tests {
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        sync::mpsc,
    };

    use super::*;
    use crate::{
        api::{CheckSpec, VerificationSpec},
        verify::{engine::SecretValues, guard::EgressPolicy},
    };

    /// A Prometheus on loopback that answers every query with no series and hands back the
    /// queries it was asked.
    async fn prometheus() -> (Url, mpsc::UnboundedReceiver<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let (asked, queries) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let read = socket.read(&mut buffer).await.unwrap();
                    request.extend_from_slice(&buffer[..read]);
                }
                let text = String::from_utf8(request).unwrap();
                let target = text.split(' ').nth(1).unwrap();
                let url = Url::parse(&format!("http://prometheus{target}")).unwrap();
                let query = url.query_pairs().find(|(k, _)| k == "query").unwrap().1;
                asked.send(query.into_owned()).unwrap();
                let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        (Url::parse(&address).unwrap(), queries)
    }

    fn gate(query: &str) -> CheckSpec {
        serde_json::from_value(serde_json::json!({
            "name": "gate",
            "prometheus": {"query": query, "below": "1", "emptyResult": "Pass"},
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_confined_query_is_the_one_sent_and_one_that_does_not_parse_is_never_sent() {
        let (address, mut asked) = prometheus().await;
        let spec = VerificationSpec::default();
        let engine = Engine::new(
            &spec,
            "http://127.0.0.1:1",
            EgressPolicy::cli(),
            SecretValues::default(),
        )
        .unwrap()
        .with_prometheus(Some(address))
        .with_placeholders(promql::Placeholders {
            revision: "5f3c2a".into(),
            namespace: "team-a".into(),
            name: "web".into(),
        })
        .with_prometheus_namespace_label(Some("namespace".parse().unwrap()));

        let sent = engine
            .run_check(&gate(
                r#"sum(rate(x{namespace=~".*",revision="{{revision}}"}[5m]))"#,
            ))
            .await;
        assert!(sent.passed(), "{}", sent.message);
        assert_eq!(
            asked.recv().await.unwrap(),
            r#"sum(rate(x{namespace="team-a",revision="5f3c2a"}[5m]))"#
        );

        let refused = engine.run_check(&gate("sum(rate(x[5m])")).await;
        assert!(!refused.passed());
        assert_eq!(refused.attempts, 0);
        assert!(
            refused.message.contains("unclosed left parenthesis"),
            "{}",
            refused.message
        );
        assert!(
            asked.try_recv().is_err(),
            "a query that does not parse was sent"
        );
    }
}
