//! Who is reconciled when something a checklist reads changes: the index of the Secrets,
//! ConfigMaps and followed checklist each one reads (recorded every reconcile, level-triggered),
//! and the followers woken when a followed checklist moves.

use crate::{
    api::{DeploymentChecklist, DeploymentChecklistStatus},
    resources::rotation::{CONFIG_MAP, SECRET},
};

use super::{Context, Key, observe};

/// Records which objects `checklist` reads, so a change of one of them reconciles it: its
/// Secrets (contract, headers, notifications, rollOnChange), its rollOnChange ConfigMaps and the
/// checklist it follows.
pub(super) fn record_reads(ctx: &Context, key: &Key, checklist: &DeploymentChecklist) {
    let rolled_on = crate::resources::rotation::roll_on_change(&checklist.spec);
    let in_namespace = |name: &String| (key.0.clone(), name.clone());
    let secrets = observe::secret_names(checklist)
        .iter()
        .chain(
            rolled_on
                .iter()
                .filter(|(k, _)| *k == SECRET)
                .map(|(_, n)| n),
        )
        .map(in_namespace)
        .collect();
    ctx.secret_readers.record(key, secrets);
    let config_maps = rolled_on
        .iter()
        .filter(|(k, _)| *k == CONFIG_MAP)
        .map(|(_, n)| in_namespace(n))
        .collect();
    ctx.config_map_readers.record(key, config_maps);
    ctx.followers
        .record(key, observe::followed_key(checklist).into_iter().collect());
}

/// Wakes the checklists following `checklist` when what they decide on moved: its phase, its
/// revisions, its score or its spec (the followers it invites).
pub(super) fn wake_followers(
    ctx: &Context,
    checklist: &DeploymentChecklist,
    previous: &DeploymentChecklistStatus,
    now: &DeploymentChecklistStatus,
) {
    // A new generation too: its spec.followers may have changed.
    let moved = previous.phase != now.phase
        || previous.revision != now.revision
        || previous.score != now.score
        || previous.observed_generation != now.observed_generation;
    if !moved {
        return;
    }
    let Ok(key) = observe::key(checklist) else {
        return;
    };
    for follower in ctx.followers.readers(&key) {
        ctx.verifier.wake(follower);
    }
}
