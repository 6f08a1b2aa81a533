//! What a redactor costs to build and to run, printed rather than asserted (timings depend on
//! the machine and the profile). Run:
//! `cargo test --release --lib verify::redact::tests::cost -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use super::*;

/// The mean time of `runs` calls of `work`.
fn timed<T>(runs: u32, mut work: impl FnMut() -> T) -> (Duration, T) {
    let started = Instant::now();
    let mut last = work();
    for _ in 1..runs {
        last = work();
    }
    (started.elapsed() / runs, last)
}

/// Printable bytes, a space, `/` and `+` among them, so every form differs from the value.
fn value(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.u8(b' '..=b'~')).collect()
}

/// 32 values as a checklist may hold them: 16 tokens, 8 Basic auth headers, 8 PEM-sized keys.
fn thirty_two(rng: &mut fastrand::Rng) -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = (0..16).map(|_| value(rng, 40)).collect();
    for _ in 0..8 {
        let pair = [b"user:".as_slice(), &value(rng, 20)].concat();
        values.push(format!("Basic {}", STANDARD.encode(pair)).into_bytes());
    }
    values.extend((0..8).map(|_| value(rng, 2048)));
    values
}

/// About 1 MiB of JSON with every escape syntax in it, and each value echoed every few KiB in
/// one of its forms; and how many echoes it holds.
fn body(rng: &mut fastrand::Rng, values: &[Vec<u8>]) -> (Vec<u8>, usize) {
    let mut body = b"{\"log\":[".to_vec();
    let mut i = 0;
    while body.len() < 1 << 20 {
        let filler: String = (0..2000).map(|_| rng.alphanumeric()).collect();
        body.extend_from_slice(format!("\"{filler} \\/ \\u00e9 %2F &amp; ").as_bytes());
        let value = &values[i % values.len()];
        let echoed = match i % 4 {
            0 => value.clone(),
            1 => value.to_ascii_uppercase(),
            2 => STANDARD.encode(value).into_bytes(),
            _ => value
                .iter()
                .flat_map(|b| format!("%{b:02X}").into_bytes())
                .collect(),
        };
        let quoted = serde_json::to_string(&String::from_utf8_lossy(&echoed)).unwrap();
        body.extend_from_slice(&quoted.as_bytes()[1..quoted.len() - 1]);
        body.extend_from_slice(b"\",");
        i += 1;
    }
    body.extend_from_slice(b"\"\"]}");
    (body, i)
}

#[test]
#[ignore = "prints figures; run with --release --ignored --nocapture"]
fn cost_of_building_and_masking() {
    let mut rng = fastrand::Rng::with_seed(7);
    let values = thirty_two(&mut rng);
    let slices = || values.iter().map(Vec::as_slice);
    let (build, redactor) = timed(20, || Redactor::new(slices()));
    let plan = forms::plan(slices());
    assert_eq!(plan.reduced, 0, "32 values fit the budget in every form");
    println!(
        "32 values, {} secrets, {} forms: build {build:?} ({redactor:?})",
        plan.secrets.len(),
        plan.forms.len()
    );

    let plain: Vec<u8> = (0..1 << 20).map(|_| rng.alphanumeric() as u8).collect();
    let (took, masked) = timed(5, || redactor.bytes(&plain));
    assert_eq!(masked, plain);
    println!("1 MiB without escapes or secrets: {took:?}");

    let (body, echoes) = body(&mut rng, &values);
    let (took, masked) = timed(5, || redactor.bytes(&body));
    let masks = masked.windows(MASK.len()).filter(|w| *w == MASK.as_bytes());
    assert_eq!(masks.count(), echoes);
    println!(
        "{} KiB JSON, every escape syntax, {echoes} echoes masked: {took:?}",
        body.len() >> 10,
    );

    let huge: Vec<Vec<u8>> = (0..32).map(|_| value(&mut rng, 1 << 20)).collect();
    let (build, redactor) = timed(3, || Redactor::new(huge.iter().map(Vec::as_slice)));
    println!("32 values of 1 MiB: build {build:?} ({redactor:?})");
    let echo = [b"x".as_slice(), &huge[5], b"y"].concat();
    let (took, masked) = timed(3, || redactor.bytes(&echo));
    assert_eq!(masked, b"x[redacted]y");
    println!("1 MiB echo of one of them: {took:?}");

    let many: Vec<Vec<u8>> = (0..5000).map(|_| value(&mut rng, 40)).collect();
    let (build, redactor) = timed(3, || Redactor::new(many.iter().map(Vec::as_slice)));
    let (took, _) = timed(3, || redactor.bytes(&body));
    println!("5000 values of 40 bytes: build {build:?} ({redactor:?}); the JSON body: {took:?}");
}
