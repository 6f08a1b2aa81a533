//! The time as the API server keeps it. A metav1.Time has whole seconds: one written with a
//! fraction comes back without it, so a status holding a finer `now` would differ from itself
//! read back, and be written again by the next reconcile for nothing.

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

/// Now, to the second.
pub(crate) fn now() -> Time {
    let now = Timestamp::now();
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_has_no_fraction_of_a_second() {
        assert_eq!(now().0.subsec_nanosecond(), 0);
    }
}
