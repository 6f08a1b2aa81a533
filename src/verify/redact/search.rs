//! Finding a plan's forms in a haystack: an Aho-Corasick automaton over each form's first bytes,
//! and each match followed as far as the haystack goes on repeating the form.

use std::{collections::HashMap, ops::Range};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, BuildError, Input, MatchKind};

use super::forms::{Encoding, Form, Plan};

/// How many bytes of a long form are written out at a time while following it.
const BLOCK: usize = 4096;

/// One automaton, exact or ASCII case-insensitive, and the forms behind its needles.
pub struct Matcher {
    automaton: AhoCorasick,
    /// By pattern: the forms that begin with that needle (a value and a longer value that
    /// starts with it can share one).
    forms: Vec<Vec<Form>>,
    case_insensitive: bool,
}

impl Matcher {
    /// How many needles it searches for.
    pub fn needles(&self) -> usize {
        self.automaton.patterns_len()
    }
}

/// The matchers of `plan`: an exact one for the short secrets' forms, and a case-insensitive
/// one for the distinctive secrets' forms (folding base64's case as well costs nothing and
/// finds nothing by chance at that length).
pub fn matchers(plan: &Plan) -> Result<Vec<Matcher>, BuildError> {
    let mut matchers = Vec::new();
    for case_insensitive in [false, true] {
        let mut slots: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut needles: Vec<Vec<u8>> = Vec::new();
        let mut forms: Vec<Vec<Form>> = Vec::new();
        let own = |form: &&Form| plan.secrets[form.secret].distinctive == case_insensitive;
        for form in plan.forms.iter().filter(own) {
            let value = &plan.secrets[form.secret].bytes;
            let len = form.encoding.stable_len(value).min(plan.needle_len);
            let mut needle = form.encoding.chars(value, 0, len).into_owned();
            if case_insensitive {
                needle.make_ascii_lowercase();
            }
            let slot = *slots.entry(needle).or_insert_with_key(|needle| {
                needles.push(needle.clone());
                forms.push(Vec::new());
                forms.len() - 1
            });
            forms[slot].push(*form);
        }
        if needles.is_empty() {
            continue;
        }
        // Leftmost-longest: a whole header value ("Bearer t0k3n") is masked as one, not
        // around a shorter value it contains.
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(case_insensitive)
            .build(&needles)?;
        matchers.push(Matcher {
            automaton,
            forms,
            case_insensitive,
        });
    }
    Ok(matchers)
}

impl Matcher {
    /// Appends the ranges of `haystack` that hold one of the forms; a search resumes where the
    /// last range ended, so the work stays linear in the haystack.
    pub fn find(&self, plan: &Plan, haystack: &[u8], found: &mut Vec<Range<usize>>) {
        let mut at = 0;
        while let Some(hit) = self.automaton.find(Input::new(haystack).range(at..)) {
            let rest = &haystack[hit.end()..];
            let end = self.forms[hit.pattern().as_usize()]
                .iter()
                .map(|form| {
                    let value = &plan.secrets[form.secret].bytes;
                    let more = follow(form.encoding, value, hit.len(), rest, self.case_insensitive);
                    hit.end() + more
                })
                .max()
                .unwrap_or(hit.end());
            found.push(hit.start()..end);
            at = end;
        }
    }
}

/// How many bytes of `rest` go on with `value` written as `encoding` from byte `from` on.
fn follow(encoding: Encoding, value: &[u8], from: usize, rest: &[u8], fold: bool) -> usize {
    let total = encoding.len(value);
    let (mut at, mut matched) = (from, 0);
    while at < total && matched < rest.len() {
        let to = total.min(at + BLOCK.min(rest.len() - matched));
        let chars = encoding.chars(value, at, to);
        let same = chars
            .iter()
            .zip(&rest[matched..])
            .take_while(|(a, b)| a == b || (fold && a.eq_ignore_ascii_case(b)))
            .count();
        matched += same;
        if same < chars.len() {
            break;
        }
        at = to;
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::redact::forms::plan;

    fn found(values: &[&[u8]], haystack: &[u8]) -> Vec<Range<usize>> {
        let plan = plan(values.iter().copied());
        let mut found = Vec::new();
        for matcher in matchers(&plan).unwrap() {
            matcher.find(&plan, haystack, &mut found);
        }
        found.sort_by_key(|r| r.start);
        found
    }

    #[test]
    fn a_long_value_is_found_by_its_first_bytes_and_followed_to_its_end() {
        let value: Vec<u8> = (0..5000).map(|i| b'a' + (i % 26) as u8).collect();
        let haystack = [b"<<".as_slice(), &value, b">>"].concat();
        assert_eq!(
            found(&[&value], &haystack),
            [Range {
                start: 2,
                end: 5002
            }]
        );
        // An echo cut short is masked as far as it goes.
        let cut = [b"<<".as_slice(), &value[..700], b">>"].concat();
        assert_eq!(found(&[&value], &cut), [Range { start: 2, end: 702 }]);
    }

    #[test]
    fn values_sharing_their_first_bytes_each_match_whole() {
        let long = "k".repeat(300);
        let (a, b) = (format!("{long}-one"), format!("{long}-two-longer"));
        let haystack = format!("{b} {a}");
        let spans = found(&[a.as_bytes(), b.as_bytes()], haystack.as_bytes());
        assert_eq!(spans, [0..b.len(), b.len() + 1..haystack.len()]);
    }

    #[test]
    fn short_values_match_exactly_and_long_ones_in_any_case() {
        let haystack = b"ON on S3CRET-TOKEN";
        assert_eq!(found(&[b"on", b"s3cret-token"], haystack), [3..5, 6..18]);
    }

    #[test]
    fn a_repeated_long_form_costs_one_pass() {
        let value = "ab".repeat(2000);
        let haystack = value.repeat(50);
        assert_eq!(found(&[value.as_bytes()], haystack.as_bytes()).len(), 50);
    }
}
