//! A scraped series' final labels: target labels merged in (`honor_labels`), metric
//! relabeling, label limits.

use gnomon_relabel::Relabeler;
use gnomon_tsdb_core::model::{Labels, LabelsBuilder};

use super::error::ScrapeError;
use super::options::LoopOptions;

/// The labels stored for a scraped series, `None` when metric relabeling drops it.
///
/// # Errors
/// [`ScrapeError::LabelLimit`] when the result breaks a label limit.
pub(crate) fn final_labels(
    scraped: &Labels,
    target: &Labels,
    opts: &LoopOptions,
) -> Result<Option<Labels>, ScrapeError> {
    let mut lb = scraped.builder();
    merge_target_labels(&mut lb, target, opts.honor_labels);
    if !relabel(&mut lb, opts.metric_relabel.as_deref()) {
        return Ok(None);
    }
    let labels = lb.build();
    if labels.is_empty() {
        return Ok(None);
    }
    check_limits(&labels, opts)?;
    Ok(Some(labels))
}

fn relabel(lb: &mut LabelsBuilder, r: Option<&Relabeler>) -> bool {
    r.is_none_or(|r| r.apply(lb))
}

/// Prometheus' `mutateSampleLabels`: with `honor`, scraped labels win; without, the
/// target's win and clashing scraped labels move to `exported_<name>` (prefixed again
/// until the name is free).
fn merge_target_labels(lb: &mut LabelsBuilder, target: &Labels, honor: bool) {
    if honor {
        for l in target {
            if lb.get(&l.name).is_none() {
                lb.set(&l.name, &l.value);
            }
        }
        return;
    }
    let mut clashes: Vec<(String, String)> = Vec::new();
    for l in target {
        if let Some(v) = lb.get(&l.name) {
            clashes.push((l.name.clone(), v.to_owned()));
        }
        lb.set(&l.name, &l.value);
    }
    // Shorter names first, as Prometheus resolves them.
    clashes.sort_by_key(|(n, _)| n.len());
    for (name, value) in clashes {
        let mut new_name = format!("exported_{name}");
        while lb.get(&new_name).is_some() {
            new_name.insert_str(0, "exported_");
        }
        lb.set(&new_name, &value);
    }
}

fn check_limits(labels: &Labels, opts: &LoopOptions) -> Result<(), ScrapeError> {
    let err = |what, detail: String, limit| ScrapeError::LabelLimit {
        what,
        series: labels.to_string(),
        detail,
        limit,
    };
    if opts.label_limit > 0 && labels.len() > opts.label_limit {
        return Err(err(
            "label_limit",
            format!("number of labels: {}", labels.len()),
            opts.label_limit,
        ));
    }
    for l in labels {
        if opts.label_name_length_limit > 0 && l.name.len() > opts.label_name_length_limit {
            return Err(err(
                "label_name_length_limit",
                format!("label name: {}", l.name),
                opts.label_name_length_limit,
            ));
        }
        if opts.label_value_length_limit > 0 && l.value.len() > opts.label_value_length_limit {
            return Err(err(
                "label_value_length_limit",
                format!("label: {}, value: {}", l.name, l.value),
                opts.label_value_length_limit,
            ));
        }
    }
    Ok(())
}
