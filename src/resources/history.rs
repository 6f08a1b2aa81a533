//! The store of revisions a rollback restores: one ControllerRevision per revision, holding the
//! spec that produced it.
//!
//! ControllerRevision is where Kubernetes itself keeps workload history (StatefulSets and
//! DaemonSets roll back from it): it is owned by the checklist, so it is garbage-collected with
//! it; it survives operator restarts; it is not bound by an annotation's size; and it is visible
//! to `kubectl get controllerrevisions -l checklist.dev/checklist=NAME`. Storing the spec rather
//! than a pod template lets the current builders rebuild every object of the stable revision,
//! Deployment and down-migration Job alike.

use k8s_openapi::{api::apps::v1::ControllerRevision, apimachinery::pkg::runtime::RawExtension};
use kube::ResourceExt;

use super::{
    labels::{self, Component},
    meta,
};
use crate::api::{DeploymentChecklist, DeploymentChecklistSpec};

/// The ControllerRevision's name: `<checklist>-<revision>` (at most 51 characters).
pub fn revision_record_name(checklist_name: &str, revision: &str) -> String {
    format!("{checklist_name}-{revision}")
}

/// The ControllerRevision recording `spec` as revision `revision`, the `number`th rolled out.
pub fn revision_record(
    checklist: &DeploymentChecklist,
    spec: &DeploymentChecklistSpec,
    revision: &str,
    number: i64,
) -> Result<ControllerRevision, serde_json::Error> {
    let name = checklist.name_any();
    let mut record_labels = labels::base_labels(&name, Component::App);
    record_labels.insert(labels::REVISION.to_owned(), revision.to_owned());
    Ok(ControllerRevision {
        metadata: meta::owned(
            checklist,
            revision_record_name(&name, revision),
            record_labels,
            None,
        ),
        data: RawExtension(serde_json::to_value(spec)?),
        revision: Some(number),
    })
}

/// Why a revision's record cannot give back its spec.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// There is no record (deleted since it was read, or never written).
    #[error("its ControllerRevision {0} is gone")]
    Missing(String),
    /// The record holds nothing.
    #[error("ControllerRevision {0} holds no data")]
    Empty(String),
    /// The record holds something this version cannot read as a spec.
    #[error("ControllerRevision {record} does not hold a DeploymentChecklist spec")]
    NotASpec {
        /// The record's name.
        record: String,
        /// What failed to parse.
        #[source]
        source: serde_json::Error,
    },
}

/// The spec a ControllerRevision recorded, if it holds one this version can read.
pub fn recorded_spec(record: &ControllerRevision) -> Result<DeploymentChecklistSpec, RecordError> {
    if record.data.0.is_null() {
        return Err(RecordError::Empty(record.name_any()));
    }
    serde_json::from_value(record.data.0.clone()).map_err(|source| RecordError::NotASpec {
        record: record.name_any(),
        source,
    })
}

/// The records to delete so at most `limit` remain: the oldest (lowest revision number) first,
/// never one whose revision is in `keep` (the current, stable and just-saved revisions), even if
/// that leaves more than `limit`.
pub fn records_to_prune<'a>(
    records: &'a [ControllerRevision],
    keep: &[&str],
    limit: usize,
) -> Vec<&'a ControllerRevision> {
    let excess = records.len().saturating_sub(limit.max(1));
    let mut oldest_first: Vec<&ControllerRevision> = records.iter().collect();
    oldest_first.sort_by_key(|r| r.revision.unwrap_or_default());
    oldest_first
        .into_iter()
        .filter(|r| {
            let hash = r.labels().get(labels::REVISION).map(String::as_str);
            !hash.is_some_and(|hash| keep.contains(&hash))
        })
        .take(excess)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{fixtures, revision_hash};

    #[test]
    fn a_recorded_spec_reads_back_exactly() {
        let checklist = fixtures::dialectic();
        let spec = fixtures::dialectic_spec();
        let hash = revision_hash(&spec);
        let record = revision_record(&checklist, &spec, &hash, 3).unwrap();
        assert_eq!(record.name_any(), format!("dialectic-{hash}"));
        assert_eq!(record.revision, Some(3));
        assert_eq!(record.namespace().as_deref(), Some(fixtures::NAMESPACE));
        let owner = &record.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(owner.uid, fixtures::UID);
        assert_eq!(owner.controller, Some(true));
        assert_eq!(record.labels()[labels::REVISION], hash);
        assert_eq!(recorded_spec(&record).unwrap(), spec);
    }

    #[test]
    fn a_record_without_a_spec_says_so() {
        let mut record = revision_record(
            &fixtures::dialectic(),
            &fixtures::dialectic_spec(),
            "abc",
            1,
        )
        .unwrap();
        record.data = RawExtension(serde_json::json!({"app": 3}));
        let error = recorded_spec(&record).unwrap_err();
        assert_eq!(
            error.to_string(),
            "ControllerRevision dialectic-abc does not hold a DeploymentChecklist spec"
        );
        assert!(
            std::error::Error::source(&error).is_some(),
            "the parse error is kept"
        );
        record.data = RawExtension(serde_json::Value::Null);
        assert_eq!(
            recorded_spec(&record).unwrap_err().to_string(),
            "ControllerRevision dialectic-abc holds no data"
        );
    }

    #[test]
    fn pruning_keeps_the_newest_and_never_the_current_or_stable() {
        let checklist = fixtures::dialectic();
        let spec = fixtures::dialectic_spec();
        let records: Vec<ControllerRevision> = (1..=5)
            .rev()
            .map(|n| revision_record(&checklist, &spec, &format!("rev{n}"), n).unwrap())
            .collect();
        let pruned = |keep: &[&str], limit| -> Vec<String> {
            records_to_prune(&records, keep, limit)
                .into_iter()
                .map(|r| r.labels()[labels::REVISION].clone())
                .collect()
        };
        assert_eq!(pruned(&["rev5"], 3), ["rev1", "rev2"]);
        assert_eq!(pruned(&["rev5", "rev1"], 3), ["rev2", "rev3"]);
        assert!(pruned(&[], 5).is_empty());
        // A limit of one with the stable revision oldest: the new one is never the one to go.
        assert_eq!(pruned(&["rev1", "rev5"], 1), ["rev2", "rev3", "rev4"]);
        assert_eq!(pruned(&["rev5"], 0), ["rev1", "rev2", "rev3", "rev4"]);
    }

    #[test]
    fn the_name_fits_the_longest_checklist_name() {
        let name = revision_record_name(&"a".repeat(40), "0123456789");
        assert!(name.len() <= 63, "{}", name.len());
    }
}
