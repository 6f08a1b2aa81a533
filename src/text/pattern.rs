//! User-written regular expressions (a Secret key's pattern, a header's pattern), compiled
//! within a bound: the regex crate matches in linear time, and the size limits below bound what
//! one pattern may cost to compile and to run.

use regex::{Regex, RegexBuilder};

use super::line;

/// The most memory one pattern may compile to: 16 KiB. The pattern comes from whoever may
/// write a checklist, and every reconcile compiles and matches it again. Compiling costs time in
/// proportion to this size, and matching in the worst case grows with it: at 1 MiB a pattern
/// whose lazy DFA meets a new state at every byte (`[ab]*a[ab]{3000}\p{Lu}` on random `a`s and
/// `b`s) took 20 s on a 1 MiB value and 0.07 s on 4 KiB. Real patterns stay far below it
/// (`^sk-[A-Za-z0-9]{20,}$` is 2 KiB, `^[0-9a-f]{64}$` 5 KiB); a Unicode class is what does not
/// fit (`\w` alone is 50 KiB), and an ASCII one (`[A-Za-z0-9_]`) says the same for a secret.
pub const PATTERN_SIZE_LIMIT: usize = 16 << 10;

/// The lazy DFA's cache of one pattern. When a search fills it too often the engine falls back to
/// a slower automaton, so this bounds memory, not time: the value length does that.
const DFA_CACHE_LIMIT: usize = 256 << 10;

/// Compiles a user's pattern within [`PATTERN_SIZE_LIMIT`], or says in a few words why not.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(DFA_CACHE_LIMIT)
        .build()
        .map_err(|e| short_reason(&e))
}

/// The one line of a regex error a person needs. A syntax error's Display spans several lines
/// (the pattern again, a caret, then "error: ..."); a status message must stay on one line.
fn short_reason(err: &regex::Error) -> String {
    match err {
        regex::Error::CompiledTooBig(limit) => format!(
            "it compiles to more than the limit of {limit} bytes (Unicode classes such as \\w are large; ASCII ones such as [A-Za-z0-9_] are not)"
        ),
        other => {
            let text = other.to_string();
            let reason = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("error:"))
                .map(str::trim)
                .or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()))
                .unwrap_or("unknown error");
            line(reason, 256)
        }
    }
}
