//! What the operator last applied to an object, as a digest in an annotation.
//!
//! Drift is a person's change, not the operator's: an object whose stamp is the digest of what
//! this operator would apply now was applied as it is built now, so every difference on the
//! fields it sets was made since, by someone else. An object without the stamp, or with another
//! one, was applied from another spec or by another operator version (whose builders may differ:
//! new security defaults, say); it is left as it is until the next release applies it, so an
//! operator upgrade restarts no pod.

use kube::Resource;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// `checklist.dev/applied`: the digest of the object as the operator applied it.
pub const APPLIED_ANNOTATION: &str = "checklist.dev/applied";

/// Hex digits of the digest: enough to tell two builds apart, short enough to read.
const DIGEST_LENGTH: usize = 16;

/// `object` with its stamp: the digest of `object` as built, in the applied annotation.
pub fn stamped<K: Resource + Serialize>(mut object: K) -> K {
    let digest = digest(&object);
    object
        .meta_mut()
        .annotations
        .get_or_insert_with(Default::default)
        .insert(APPLIED_ANNOTATION.to_owned(), digest);
    object
}

/// Whether `live` carries the stamp of `desired`: it was applied exactly as `desired` is built.
pub fn applied_as<K: Resource + Serialize>(desired: &K, live: &K) -> bool {
    live.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(APPLIED_ANNOTATION))
        .is_some_and(|stamp| *stamp == digest(desired))
}

/// The digest of an object's JSON (maps are sorted, so the same object gives the same digest).
fn digest<K: Serialize>(object: &K) -> String {
    // A k8s object always serializes; should it not, an empty digest matches no stamp, so
    // nothing is judged drifted.
    let json = serde_json::to_string(object).unwrap_or_default();
    Sha256::digest(json.as_bytes())
        .iter()
        .take(DIGEST_LENGTH / 2)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{deployment, fixtures::dialectic, revision_hash};

    #[test]
    fn an_object_applied_as_built_carries_its_stamp_and_another_build_does_not() {
        let checklist = dialectic();
        let revision = revision_hash(&checklist.spec);
        let desired = deployment(&checklist, &checklist.spec, &revision);
        let live = stamped(desired.clone());
        assert!(applied_as(&desired, &live));
        let mut rebuilt = desired.clone();
        rebuilt.spec.replicas = Some(7);
        assert!(!applied_as(&rebuilt, &live), "another build, another stamp");
        assert!(!applied_as(&desired, &desired), "no stamp, not judged");
    }
}
