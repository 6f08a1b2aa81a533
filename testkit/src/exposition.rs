//! The Prometheus text format as the benchmarks read it: the operator's /metrics, the API
//! server's and another controller's, summed over the labels a figure does not split by.

use std::collections::BTreeMap;

/// One scrape: every sample, by metric name, with its labels.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// Parses the text format (comments skipped, label values without escaped quotes).
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let value: f64 = value.parse().ok()?;
                let (name, labels) = match series.split_once('{') {
                    Some((name, rest)) => (name, labels_of(rest.trim_end_matches('}'))),
                    None => (series, BTreeMap::new()),
                };
                Some((name.to_owned(), labels, value))
            })
            .collect();
        Self { samples }
    }

    /// The sum of `name`'s samples whose labels include every pair of `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.matching(name, filter).map(|(_, v)| v).sum()
    }

    /// `name`'s samples matching `filter`, summed by the value of `label`.
    pub fn by(&self, name: &str, label: &str, filter: &[(&str, &str)]) -> BTreeMap<String, f64> {
        let mut sums = BTreeMap::new();
        for (labels, value) in self.matching(name, filter) {
            let key = labels.get(label).cloned().unwrap_or_default();
            *sums.entry(key).or_default() += value;
        }
        sums
    }

    /// `name`'s samples summed by the values of `labels`, joined by a space.
    pub fn by_labels(&self, name: &str, labels: &[&str]) -> BTreeMap<String, f64> {
        let mut sums = BTreeMap::new();
        for (found, value) in self.matching(name, &[]) {
            let key: Vec<&str> = labels
                .iter()
                .map(|l| found.get(*l).map_or("", String::as_str))
                .collect();
            *sums.entry(key.join(" ")).or_default() += value;
        }
        sums
    }

    fn matching<'a>(
        &'a self,
        name: &'a str,
        filter: &'a [(&str, &str)],
    ) -> impl Iterator<Item = (&'a BTreeMap<String, String>, f64)> + 'a {
        self.samples
            .iter()
            .filter(move |(n, labels, _)| {
                n == name
                    && filter
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, labels, value)| (labels, *value))
    }
}

/// `a="1",b="2"` as a map.
fn labels_of(text: &str) -> BTreeMap<String, String> {
    text.split("\",")
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((
                key.trim().trim_start_matches(',').to_owned(),
                value.trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

/// `after - before` for each key of `after`.
pub fn delta(
    after: &BTreeMap<String, f64>,
    before: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v != 0.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_sum_by_label_and_filter() {
        let scrape = Scrape::parse(
            "# HELP x\n\
             apiserver_request_total{code=\"200\",resource=\"pods\",verb=\"LIST\"} 3\n\
             apiserver_request_total{code=\"201\",resource=\"jobs\",verb=\"POST\"} 2\n\
             apiserver_request_total{code=\"200\",resource=\"jobs\",verb=\"LIST\"} 4\n\
             checklist_reconciles_total 7\n",
        );
        assert_eq!(scrape.sum("checklist_reconciles_total", &[]), 7.0);
        assert_eq!(
            scrape.sum("apiserver_request_total", &[("resource", "jobs")]),
            6.0
        );
        let by_verb = scrape.by("apiserver_request_total", "verb", &[]);
        assert_eq!(by_verb["LIST"], 7.0);
        assert_eq!(by_verb["POST"], 2.0);
        let by_both = scrape.by_labels("apiserver_request_total", &["verb", "resource"]);
        assert_eq!(by_both["LIST jobs"], 4.0);
        assert_eq!(by_both.len(), 3);
    }
}
