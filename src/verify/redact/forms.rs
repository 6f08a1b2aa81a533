//! Which secrets the redactor looks for, in which written forms, within a bounded budget.
//!
//! JSON escapes, percent-encoding and HTML entities are undone in the haystack instead (see
//! `views`), whichever way an encoder chose to write each character, so they cost no form here;
//! letter case is folded by the matcher. What is left to write out is what cannot be undone
//! in the haystack: the credentials inside an Authorization value, `+` for a space, and base64.

use std::{borrow::Cow, collections::HashSet};

use base64::{
    Engine as _,
    engine::{
        DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig,
        general_purpose::{STANDARD, URL_SAFE},
    },
};

use super::MASK_MIN_LEN;

/// The most forms searched for (each is one needle) beyond the plain values, which are always
/// searched for: 32 values and the credentials inside them take about 250 in every form.
pub const NEEDLES_MAX: usize = 1024;
/// The longest needle: a longer form is found by its first bytes and followed to its end, so
/// the matcher's size depends on the number of forms, not on how long the values are.
pub const NEEDLE_MAX_LEN: usize = 256;
/// The shortest needle a long form gets when there are more values than [`NEEDLES_MAX`] and
/// needles are shortened to keep their total within `NEEDLES_MAX * NEEDLE_MAX_LEN`.
const NEEDLE_MIN_LEN: usize = 32;

/// A value to mask.
#[derive(Debug, PartialEq, Eq)]
pub struct Secret {
    /// The bytes as sent or held.
    pub bytes: Vec<u8>,
    /// Long enough that a case-folded or encoded copy cannot be there by chance: shorter
    /// values are masked only as they are.
    pub distinctive: bool,
}

/// How a form is written from its secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The bytes as they are.
    Plain,
    /// With `+` for each space, as HTML forms and query strings write it.
    PlusForSpace,
    /// Base64 of the bytes placed `shift` bytes into a 3-byte group. Shift 0 is the whole
    /// encoding; shifts 1 and 2 are the characters that depend on the value alone, which is all
    /// that can be looked for when the value is embedded in a longer encoded string.
    Base64 {
        /// The `-_` alphabet of URLs and JWTs rather than `+/`.
        url_safe: bool,
        /// Bytes before the value in its 3-byte group.
        shift: usize,
    },
}

/// One form of one secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Form {
    /// Index into [`Plan::secrets`].
    pub secret: usize,
    /// How it is written.
    pub encoding: Encoding,
}

/// What a redactor searches for.
#[derive(Debug)]
pub struct Plan {
    /// The values and the credentials found inside them.
    pub secrets: Vec<Secret>,
    /// The forms searched for; every secret has its plain form.
    pub forms: Vec<Form>,
    /// How many bytes of each form its needle has (fewer when the form is shorter).
    pub needle_len: usize,
    /// Secrets masked in fewer forms than they would be without the budget.
    pub reduced: usize,
}

/// The secrets of `values` and the forms the budget affords: every secret as it is; then `+`
/// for spaces and whole base64 for every distinctive secret, shortest first; then base64 at the
/// other alignments, shortest first. Past the budget the longest secrets keep fewer forms, never
/// none: short secrets are the tokens and passwords an app is likely to echo encoded, long ones
/// are certificates and files it would echo, if at all, as they are.
pub fn plan<'v>(values: impl IntoIterator<Item = &'v [u8]>) -> Plan {
    let secrets = secrets(values);
    let mut forms: Vec<Form> = (0..secrets.len())
        .map(|secret| Form {
            secret,
            encoding: Encoding::Plain,
        })
        .collect();
    let mut by_length: Vec<usize> = (0..secrets.len()).collect();
    by_length.sort_by_key(|&i| secrets[i].bytes.len());
    let mut room = NEEDLES_MAX;
    let mut reduced = vec![false; secrets.len()];
    for tier in [
        whole_encodings as fn(&Secret) -> Vec<Encoding>,
        shifted_base64,
    ] {
        for &secret in &by_length {
            for encoding in tier(&secrets[secret]) {
                if room == 0 {
                    reduced[secret] = true;
                } else {
                    room -= 1;
                    forms.push(Form { secret, encoding });
                }
            }
        }
    }
    let needle_len =
        (NEEDLES_MAX * NEEDLE_MAX_LEN / forms.len().max(1)).clamp(NEEDLE_MIN_LEN, NEEDLE_MAX_LEN);
    Plan {
        secrets,
        forms,
        needle_len,
        reduced: reduced.into_iter().filter(|&r| r).count(),
    }
}

/// The first tier past the plain forms: what an app writes when it puts the value in a form
/// field, a query string or an encoded blob whole.
fn whole_encodings(secret: &Secret) -> Vec<Encoding> {
    let mut encodings = Vec::new();
    if secret.bytes.contains(&b' ') {
        encodings.push(Encoding::PlusForSpace);
    }
    if secret.distinctive {
        encodings.extend(base64_pair(&secret.bytes, 0));
    }
    encodings
}

/// The second tier: the value inside a longer base64 string (a whole config file or `user:pw`
/// encoded), found at either of the two other alignments.
fn shifted_base64(secret: &Secret) -> Vec<Encoding> {
    if !secret.distinctive {
        return Vec::new();
    }
    [1, 2]
        .into_iter()
        .flat_map(|shift| base64_pair(&secret.bytes, shift))
        .collect()
}

/// Standard and URL-safe base64 at `shift`; one only when the two are the same text.
fn base64_pair(bytes: &[u8], shift: usize) -> Vec<Encoding> {
    let standard = Encoding::Base64 {
        url_safe: false,
        shift,
    };
    let len = standard.len(bytes);
    let same = len <= NEEDLE_MAX_LEN
        && !standard
            .chars(bytes, 0, len)
            .iter()
            .any(|&c| c == b'+' || c == b'/');
    let url_safe = Encoding::Base64 {
        url_safe: true,
        shift,
    };
    if same {
        vec![standard]
    } else {
        vec![standard, url_safe]
    }
}

/// Each non-empty value, the credentials inside it, and the password a `user:password` value
/// may hold, without repeats.
fn secrets<'v>(values: impl IntoIterator<Item = &'v [u8]>) -> Vec<Secret> {
    let mut secrets: Vec<Secret> = Vec::new();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut add = |bytes: &[u8], distinctive: bool| {
        if !bytes.is_empty() && seen.insert(bytes.to_vec()) {
            secrets.push(Secret {
                bytes: bytes.to_vec(),
                distinctive,
            });
        }
    };
    for value in values {
        add(value, value.len() >= MASK_MIN_LEN);
        for credential in credentials(value) {
            // Sent by the check, so masked whatever its length, like the value around it.
            let distinctive = credential.len() >= MASK_MIN_LEN;
            add(&credential, distinctive);
        }
        if let Some(password) = guessed_password(value) {
            add(password, true);
        }
    }
    secrets
}

/// The credentials of an Authorization value (RFC 7235: a scheme, a space, a token): the token
/// alone, and for Basic (RFC 7617) its `user:password` and the password.
pub fn credentials(value: &[u8]) -> Vec<Vec<u8>> {
    let Some(space) = value.iter().position(|&b| b == b' ') else {
        return Vec::new();
    };
    let (scheme, token) = (&value[..space], value[space..].trim_ascii());
    let known = [b"basic".as_slice(), b"bearer", b"token"];
    if token.is_empty()
        || token.iter().any(u8::is_ascii_whitespace)
        || !known.iter().any(|k| scheme.eq_ignore_ascii_case(k))
    {
        return Vec::new();
    }
    let mut found = vec![token.to_vec()];
    if scheme.eq_ignore_ascii_case(b"basic") {
        const LENIENT: GeneralPurpose = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        if let Ok(pair) = LENIENT.decode(token) {
            if let Some(colon) = pair.iter().position(|&b| b == b':') {
                found.push(pair[colon + 1..].to_vec());
            }
            found.push(pair);
        }
    }
    found
}

/// The part after the first colon of a value shaped like `user:password` (what a Prometheus
/// check's basicAuthFrom holds), when it is long enough to mask on a guess.
fn guessed_password(value: &[u8]) -> Option<&[u8]> {
    if value.iter().any(u8::is_ascii_whitespace) {
        return None;
    }
    let colon = value.iter().position(|&b| b == b':')?;
    let password = &value[colon + 1..];
    (password.len() >= MASK_MIN_LEN).then_some(password)
}

impl Encoding {
    /// The length of `value` written this way.
    pub fn len(self, value: &[u8]) -> usize {
        match self {
            Self::Plain | Self::PlusForSpace => value.len(),
            Self::Base64 { shift: 0, .. } => value.len().div_ceil(3) * 4,
            Self::Base64 { shift, .. } => stable_end(shift, value.len()) - first_stable(shift),
        }
    }

    /// How much of it is the same wherever the value is: the needle is cut from this part.
    /// Base64's last character and padding change when more bytes follow the value.
    pub fn stable_len(self, value: &[u8]) -> usize {
        match self {
            Self::Base64 { shift: 0, .. } => stable_end(0, value.len()),
            _ => self.len(value),
        }
    }

    /// Bytes `from..to` of `value` written this way; only the bytes asked for are encoded, so
    /// following a long form through a haystack costs what the haystack repeats of it.
    pub fn chars(self, value: &[u8], from: usize, to: usize) -> Cow<'_, [u8]> {
        match self {
            Self::Plain => Cow::Borrowed(&value[from..to]),
            Self::PlusForSpace => Cow::Owned(
                value[from..to]
                    .iter()
                    .map(|&b| if b == b' ' { b'+' } else { b })
                    .collect(),
            ),
            Self::Base64 { url_safe, shift } => {
                let (from, to) = (first_stable(shift) + from, first_stable(shift) + to);
                let (first_group, end_group) = (from / 4, to.div_ceil(4));
                let end = (end_group * 3).min(shift + value.len());
                let input: Vec<u8> = (first_group * 3..end)
                    .map(|i| i.checked_sub(shift).map_or(0, |i| value[i]))
                    .collect();
                let engine = if url_safe { &URL_SAFE } else { &STANDARD };
                let encoded = engine.encode(input).into_bytes();
                let skip = first_group * 4;
                Cow::Owned(encoded[from - skip..to - skip].to_vec())
            }
        }
    }
}

/// The first base64 character that depends on no byte before the value.
fn first_stable(shift: usize) -> usize {
    (8 * shift).div_ceil(6)
}

/// One past the last base64 character that depends on no byte after the value.
fn stable_end(shift: usize, len: usize) -> usize {
    8 * (shift + len) / 6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(encoding: Encoding, value: &[u8]) -> String {
        let len = encoding.len(value);
        String::from_utf8(encoding.chars(value, 0, len).into_owned()).unwrap()
    }

    #[test]
    fn base64_at_shift_zero_is_the_whole_padded_encoding() {
        let standard = Encoding::Base64 {
            url_safe: false,
            shift: 0,
        };
        assert_eq!(chars(standard, b"s3cr3t?>"), STANDARD.encode(b"s3cr3t?>"));
        assert_eq!(standard.stable_len(b"s3cr3t?>"), 10);
        let url_safe = Encoding::Base64 {
            url_safe: true,
            shift: 0,
        };
        assert_eq!(chars(url_safe, b"s3cr3t?>"), URL_SAFE.encode(b"s3cr3t?>"));
    }

    #[test]
    fn shifted_base64_is_found_inside_the_encoding_of_a_longer_string() {
        let value = b"hunter2-password";
        for (prefix, shift) in [("u:", 2), ("ab:", 0), ("user:", 2), ("me:", 0), ("x", 1)] {
            let encoding = Encoding::Base64 {
                url_safe: false,
                shift,
            };
            let whole = STANDARD.encode([prefix.as_bytes(), value, b"@host"].concat());
            let stable = encoding.chars(value, 0, encoding.stable_len(value));
            let stable = String::from_utf8(stable.into_owned()).unwrap();
            assert!(whole.contains(&stable), "{prefix}: {stable} in {whole}");
            assert!(stable.len() >= value.len() * 4 / 3 - 2, "{stable}");
        }
    }

    #[test]
    fn a_part_of_a_form_is_the_same_bytes_as_the_whole_form_there() {
        let value: Vec<u8> = (0..=255).cycle().take(1000).collect();
        for shift in 0..3 {
            let encoding = Encoding::Base64 {
                url_safe: true,
                shift,
            };
            let whole = chars(encoding, &value);
            for (from, to) in [(0, 1), (5, 17), (333, 901), (900, whole.len())] {
                let part = encoding.chars(&value, from, to);
                assert_eq!(part.as_ref(), &whole.as_bytes()[from..to]);
            }
        }
    }

    #[test]
    fn authorization_values_give_their_credentials() {
        let basic = format!("Basic {}", STANDARD.encode("admin:s3cr3t-pw"));
        let found = credentials(basic.as_bytes());
        let token = STANDARD.encode("admin:s3cr3t-pw").into_bytes();
        assert_eq!(
            found,
            [token, b"s3cr3t-pw".to_vec(), b"admin:s3cr3t-pw".to_vec()]
        );
        assert_eq!(credentials(b"bearer abc.def"), [b"abc.def".to_vec()]);
        assert_eq!(credentials(b"Basic !!notbase64"), [b"!!notbase64".to_vec()]);
        assert!(credentials(b"staging prod").is_empty());
        assert!(credentials(b"Bearer").is_empty());
        assert!(credentials(b"Digest a=1, b=2").is_empty());
    }

    #[test]
    fn a_user_password_value_gives_its_password_when_long_enough() {
        assert_eq!(
            guessed_password(b"admin:hunter22x"),
            Some(&b"hunter22x"[..])
        );
        assert_eq!(guessed_password(b"admin:short"), None);
        assert_eq!(guessed_password(b"some text: not a pair at all"), None);
    }

    #[test]
    fn short_values_are_planned_plain_only() {
        let plan = plan([b"on".as_slice(), b"a b"]);
        assert_eq!(plan.forms.len(), 3);
        assert!(plan.secrets.iter().all(|s| !s.distinctive));
        assert_eq!(plan.forms[2].encoding, Encoding::PlusForSpace);
    }

    #[test]
    fn past_the_budget_the_longest_values_lose_forms_first_but_keep_their_plain_form() {
        let values: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("secret-{i:04}-{}", "x".repeat(i)).into_bytes())
            .collect();
        let plan = plan(values.iter().map(Vec::as_slice));
        assert_eq!(plan.forms.len(), 300 + NEEDLES_MAX);
        assert!(plan.reduced > 0);
        let forms_of = |secret: usize| plan.forms.iter().filter(|f| f.secret == secret).count();
        assert!(forms_of(0) > 1 && forms_of(299) >= 1);
        assert!(forms_of(0) >= forms_of(299));
        assert_eq!(
            plan.needle_len,
            NEEDLE_MAX_LEN * NEEDLES_MAX / (300 + NEEDLES_MAX)
        );
    }

    #[test]
    fn many_values_shorten_the_needles_but_not_below_the_floor() {
        let values: Vec<Vec<u8>> = (0..20_000)
            .map(|i| format!("{i:08}").into_bytes())
            .collect();
        let plan = plan(values.iter().map(Vec::as_slice));
        assert_eq!(plan.needle_len, NEEDLE_MIN_LEN);
        assert_eq!(plan.forms.len(), 20_000 + NEEDLES_MAX);
    }
}
