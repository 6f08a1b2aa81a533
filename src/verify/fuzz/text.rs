//! The tenant-text sanitizer: whatever the text and the bound, [`line`]'s output is clean
//! ([`is_clean`]), at most the bound in characters, unchanged by a second pass, and the text
//! itself when it was clean and short enough already.

use proptest::{prelude::*, test_runner::TestCaseError};

use super::{config, replay};
use crate::text::{Shown, is_clean, line};

/// Bounds tried on each seed: none, the smallest that still cut, and the ones status uses.
const SEED_BOUNDS: [usize; 8] = [0, 1, 2, 3, 8, 64, 256, 1024];

/// Every property of `line(text, max)`, or the first that does not hold.
fn check(text: &str, max: usize) -> Result<(), String> {
    let shown = line(text, max);
    let problem = if !is_clean(&shown) {
        "is not clean"
    } else if shown.chars().count() > max {
        "is longer than the bound"
    } else if line(&shown, max) != shown {
        "changes on a second pass"
    } else if is_clean(text) && text.chars().count() <= max && shown != text {
        "changed clean text within the bound"
    } else if Shown(text).to_string() != line(text, Shown::MAX) {
        "differs from what Shown displays"
    } else {
        return Ok(());
    };
    Err(format!("line({text:?}, {max}) = {shown:?} {problem}"))
}

fn check_seed(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    SEED_BOUNDS.iter().try_for_each(|&max| check(&text, max))
}

/// Text rich in what the sanitizer replaces: controls, bidi and invisible characters, line
/// breaks, and the ellipsis it cuts with, among any characters.
fn hostile_text() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just('\u{1b}'),
        Just('\u{7}'),
        Just('\u{0}'),
        Just('\u{7f}'),
        Just('\u{9b}'),
        Just('\n'),
        Just('\r'),
        Just('\t'),
        Just('\u{85}'),
        Just('\u{2028}'),
        Just('\u{202e}'),
        Just('\u{2066}'),
        Just('\u{200b}'),
        Just('\u{feff}'),
        Just('\u{e0041}'),
        Just('\u{ad}'),
        Just('…'),
        Just('\u{fffd}'),
        Just('\u{301}'),
    ];
    prop::collection::vec(prop_oneof![2 => any::<char>(), 1 => special], 0..300)
        .prop_map(|chars| chars.into_iter().collect())
}

#[test]
fn text_replays_its_corpus() {
    replay("text", check_seed);
}

proptest! {
    #![proptest_config(config(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz/regressions/text.txt")))]

    #[test]
    fn text_line_is_clean_bounded_and_idempotent(
        text in prop_oneof![any::<String>(), hostile_text()],
        max in prop_oneof![0usize..8, 0usize..400],
    ) {
        check(&text, max).map_err(TestCaseError::fail)?;
    }
}
