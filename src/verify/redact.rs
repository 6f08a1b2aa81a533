//! Masking secret values in what an app sends back. A check may send a header taken from a
//! Secret, and an app may echo it ("invalid token: Bearer …"), re-encoded as often as not: in a
//! JSON string, a URL, an HTML page, upper-cased, or base64 again. Every message, quote and
//! dependency the operator writes is derived from a response, so the response is masked as it
//! arrives and the outcome once more before it leaves the engine.
//!
//! `forms` decides what is looked for within a budget, `views` undoes escapes in the haystack,
//! and `search` finds the forms there.

mod forms;
mod search;
mod views;

use std::{cmp::Reverse, ops::Range, sync::Arc};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};

use self::{forms::Plan, search::Matcher};
use super::{client::Response, outcome::CheckOutcome};

/// What a secret value is replaced with.
pub const MASK: &str = "[redacted]";

/// The shortest value [`SecretValues::mask`](super::secret_values::SecretValues::mask) keeps,
/// and the shortest the redactor also masks case-folded and base64-encoded: shorter ones would
/// turn up by chance in those forms.
pub const MASK_MIN_LEN: usize = 8;

/// The secret values to mask, in the forms an app may echo them.
#[derive(Clone, Default)]
pub struct Redactor {
    /// None when there is nothing to mask.
    inner: Option<Arc<Inner>>,
}

/// What is searched for, and the automata that search.
struct Inner {
    plan: Plan,
    /// None when an automaton could not be built: then everything is masked, since what
    /// cannot be searched cannot be shown.
    matchers: Option<Vec<Matcher>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(inner) = &self.inner else {
            return write!(f, "Redactor(0 needles)");
        };
        let needles: usize = inner.matchers.iter().flatten().map(Matcher::needles).sum();
        write!(f, "Redactor({needles} needles")?;
        if inner.plan.reduced > 0 {
            write!(f, ", {} secrets in fewer forms", inner.plan.reduced)?;
        }
        write!(f, ")")
    }
}

impl Redactor {
    /// A redactor of `values`; empty values are ignored (they would mask everything).
    pub fn new<'v>(values: impl IntoIterator<Item = &'v [u8]>) -> Self {
        let plan = forms::plan(values);
        if plan.secrets.is_empty() {
            return Self::default();
        }
        if plan.reduced > 0 {
            tracing::warn!(
                secrets = plan.reduced,
                "too many secret values to mask each in every encoding: the longest are masked as they are and in fewer encodings"
            );
        }
        let matchers = search::matchers(&plan)
            .inspect_err(|error| {
                tracing::error!(%error, "secret values cannot be searched for: every answer is masked whole");
            })
            .ok();
        Self {
            inner: Some(Arc::new(Inner { plan, matchers })),
        }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// `bytes` with every secret value masked.
    pub fn bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let spans = self.spans(bytes);
        if spans.is_empty() {
            return bytes.to_vec();
        }
        masked(bytes, &merged(spans))
    }

    /// `text` with every secret value masked.
    pub fn text(&self, text: &str) -> String {
        let spans = self.spans(text.as_bytes());
        if spans.is_empty() {
            return text.to_string();
        }
        // A match found in decoded bytes may start or end inside a character of the text:
        // masking the whole character keeps the text valid UTF-8.
        let whole_chars = spans.into_iter().map(|span| {
            let start = (0..=span.start)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let end = (span.end..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(text.len());
            start..end
        });
        let bytes = masked(text.as_bytes(), &merged(whole_chars.collect()));
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// The ranges of `haystack` that hold a secret, in any order and possibly overlapping:
    /// found as it is and in each of its decoded views.
    fn spans(&self, haystack: &[u8]) -> Vec<Range<usize>> {
        let Some(inner) = &self.inner else {
            return Vec::new();
        };
        let Some(matchers) = &inner.matchers else {
            let everything = 0..haystack.len();
            return vec![everything];
        };
        let mut found = Vec::new();
        for matcher in matchers {
            matcher.find(&inner.plan, haystack, &mut found);
        }
        for view in views::of(haystack) {
            let mut decoded = Vec::new();
            for matcher in matchers {
                matcher.find(&inner.plan, &view.bytes, &mut decoded);
            }
            found.extend(decoded.into_iter().map(|span| view.original(span)));
        }
        found
    }

    /// The response with its body and header values masked: what the checks judge and quote.
    pub fn response(&self, response: Response) -> Response {
        if self.is_empty() {
            return response;
        }
        let mut headers = HeaderMap::with_capacity(response.headers.len());
        for (name, value) in &response.headers {
            let masked = HeaderValue::from_bytes(&self.bytes(value.as_bytes()))
                .unwrap_or_else(|_| HeaderValue::from_static(MASK));
            headers.append(name.clone(), masked);
        }
        Response {
            body: Bytes::from(self.bytes(&response.body)),
            headers,
            ..response
        }
    }

    /// The outcome with its message and dependencies masked: the last filter before status.
    pub fn outcome(&self, mut outcome: CheckOutcome) -> CheckOutcome {
        if self.is_empty() {
            return outcome;
        }
        outcome.message = self.text(&outcome.message);
        for dependency in &mut outcome.dependencies {
            dependency.name = self.text(&dependency.name);
            dependency.state = self.text(&dependency.state);
        }
        outcome
    }
}

/// `spans` sorted, overlapping ones joined: ranges that only touch stay apart, so two values
/// side by side read as two masks.
fn merged(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.sort_unstable_by_key(|span| (span.start, Reverse(span.end)));
    let mut joined: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match joined.last_mut() {
            Some(last) if span.start < last.end => last.end = last.end.max(span.end),
            _ => joined.push(span),
        }
    }
    joined
}

/// `haystack` with each of the sorted, disjoint `spans` replaced by [`MASK`].
fn masked(haystack: &[u8], spans: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut at = 0;
    for span in spans {
        out.extend_from_slice(&haystack[at..span.start]);
        out.extend_from_slice(MASK.as_bytes());
        at = span.end;
    }
    out.extend_from_slice(&haystack[at..]);
    out
}

#[cfg(test)]
mod tests;
