//! `checklist-flow`: the functional test the seed teams run by hand after a deploy (seed
//! 004:127-134: register, log in, create a graph, see that it persisted), as a script a job
//! check runs against CHECKLIST_URL (with CHECKLIST_HEADER when a router pins the new version).
//! Exit 0 when every step passed; 1 at the first that did not, naming it. FLOW_PASSWORD is the
//! password to register with (default a fixed test one); on a failed login the script prints it,
//! as careless scripts do, so the tests can show the operator masks it.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

fn main() -> ExitCode {
    // Another provider already installed is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(flow()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            println!("{failure}");
            ExitCode::FAILURE
        }
    }
}

struct App {
    client: Client,
    base: String,
    header: Option<(String, String)>,
}

impl App {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base.trim_end_matches('/')))
            .header("content-type", "application/json");
        if let Some((name, value)) = &self.header {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| format!("{path}: {e}"))?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }
}

async fn flow() -> Result<(), String> {
    let base =
        std::env::var("CHECKLIST_URL").map_err(|_| "CHECKLIST_URL is not set".to_string())?;
    let header = std::env::var("CHECKLIST_HEADER").ok().and_then(|h| {
        h.split_once(':')
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
    });
    let password = std::env::var("FLOW_PASSWORD").unwrap_or_else(|_| "flow-password-1".into());
    let client = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let app = App {
        client,
        base,
        header,
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let email = format!("flow-{}-{nanos}@example.com", std::process::id());
    let user = json!({"user": {"email": email, "password": password}});

    let (status, body) = app
        .call(Method::POST, "/users/register", None, Some(user.clone()))
        .await?;
    expect("register", StatusCode::CREATED, status, &body)?;
    println!("registered {email}");

    let (status, body) = app
        .call(Method::POST, "/users/log_in", None, Some(user))
        .await?;
    if status != StatusCode::OK {
        return Err(format!(
            "log in as {email} with password {password}: expected 200, got {}: {}",
            status.as_u16(),
            shown(&body)
        ));
    }
    let token = body["token"]
        .as_str()
        .ok_or_else(|| format!("log in: no token in {}", shown(&body)))?
        .to_string();
    println!("logged in");

    let graph = json!({"title": "Is the release verified?"});
    let (status, body) = app
        .call(Method::POST, "/api/graphs", Some(&token), Some(graph))
        .await?;
    expect("create a graph", StatusCode::CREATED, status, &body)?;
    let id = body["id"]
        .as_u64()
        .ok_or_else(|| format!("create a graph: no id in {}", shown(&body)))?;
    println!("created graph {id}");

    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/graphs/{id}"),
            Some(&token),
            None,
        )
        .await?;
    expect("read the graph back", StatusCode::OK, status, &body)?;
    if body["title"] != "Is the release verified?" {
        return Err(format!(
            "read the graph back: the title is {}",
            shown(&body["title"])
        ));
    }
    println!("graph {id} persisted");
    Ok(())
}

fn expect(step: &str, wanted: StatusCode, got: StatusCode, body: &Value) -> Result<(), String> {
    if got == wanted {
        return Ok(());
    }
    Err(format!(
        "{step}: expected {}, got {}: {}",
        wanted.as_u16(),
        got.as_u16(),
        shown(body)
    ))
}

/// At most 200 characters of a body.
fn shown(body: &Value) -> String {
    body.to_string().chars().take(200).collect()
}
