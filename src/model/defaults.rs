//! Which terms a fit takes when the user names none, and what they need: the default
//! predictors (`revisions`, plus `ports`/`services` when they vary independently), the kind and
//! worker covariates on the driver ([`super::covariates`]) with their derived columns, and each
//! group's class for its own predictions.

use super::covariates;
use super::fitted::FittedModel;
use super::solve::{least_squares, DesignColumn, Solution};
use super::term::Term;
use crate::error::{Error, Result};
use crate::series::{Series, CONCURRENCY, PORTS, REVISIONS, SERVICES};

/// `revisions`, plus `ports` and `services` when present and not collinear with what is chosen.
///
/// One solve with every candidate; a column the solver flags as dependent on earlier ones is
/// dropped (with a note) and the rest solved again, so the common case costs a single fit.
pub(super) fn default_terms(
    series: &Series,
    rows: &[usize],
    (response, intercept): (&str, bool),
    notes: &mut Vec<String>,
) -> Result<(Vec<Term>, Option<Solution>)> {
    let y = series.numbers(response, rows)?;
    let mut chosen: Vec<(Term, std::borrow::Cow<[f64]>)> = Vec::new();
    for name in [REVISIONS, PORTS, SERVICES].iter().filter(|n| series.column(n).is_some()) {
        let base = series.numbers(name, rows)?;
        if intercept && rows.len() > 1 && base.iter().all(|v| *v == base[0]) {
            notes.push(format!("{name} left out of the default predictors: it is constant"));
            continue;
        }
        chosen.push((Term::linear(name), base));
    }
    let offset = usize::from(intercept);
    let mut solved = None;
    while chosen.len() > 1 && rows.len() > chosen.len() + offset {
        let mut design: Vec<DesignColumn> = Vec::new();
        if intercept {
            design.push(DesignColumn { base: &[], power: 0 });
        }
        design.extend(chosen.iter().map(|(_, b)| DesignColumn { base: b, power: 1 }));
        let d = match least_squares(&design, &y) {
            Ok(solution) => {
                solved = Some(solution);
                break;
            }
            Err(d) => d,
        };
        let Some(k) = d.column.checked_sub(offset) else { break };
        let dropped = chosen.remove(k).0;
        let others: Vec<String> =
            d.depends_on.iter().filter_map(|&j| j.checked_sub(offset)).map(|j| chosen[j].0.to_string()).collect();
        notes.push(format!(
            "{dropped} left out of the default predictors: it is collinear with {}",
            if others.is_empty() { "the intercept".to_string() } else { others.join(", ") }
        ));
    }
    if chosen.is_empty() {
        return Err(Error::data(
            format!(
                "no default predictor: the series needs a varying revisions, ports or services column, or choose columns with --x (numeric columns: {})",
                series.predictor_names().join(", ")
            ),
            &series.path,
        ));
    }
    Ok((chosen.into_iter().map(|(t, _)| t).collect(), solved))
}

pub(super) fn collinear_hint(column: &str) -> String {
    if column == PORTS || column == SERVICES {
        format!(
            "drop {column} from --x: when it is a fixed multiple of revisions, per-port memory is derived from --ports-per-revision"
        )
    } else {
        format!("drop {column} (or the columns it depends on) from --x, or measure with it varying independently")
    }
}

/// Add the kind and worker terms on the driver when `add` and the series has their columns
/// (and `terms` names none already); true when terms were added. Their values are evaluated
/// from the series' columns when the fit reads them ([`super::derived::values`]).
pub(super) fn with_covariates(
    series: &Series,
    rows: &[usize],
    add: bool,
    terms: &mut Vec<Term>,
    notes: &mut Vec<String>,
) -> Result<bool> {
    let driver =
        terms.iter().find(|t| t.power == 1 && (t.column == PORTS || t.column == REVISIONS)).map(|t| t.column.clone());
    let has_columns = series.column(covariates::KIND).is_some() || series.column(CONCURRENCY).is_some();
    let named = terms.iter().any(|t| covariates::is_covariate(&t.column));
    if let (true, Some(driver), true, false) = (add, driver, has_columns, named) {
        let choice = covariates::choose(series, rows, &driver)?;
        notes.extend(choice.notes);
        let added = !choice.terms.is_empty();
        terms.extend(choice.terms);
        return Ok(added);
    }
    Ok(false)
}

/// Each group of a `group`/`slopes` fit learns its kind and workers (at its last fitted row),
/// so its own predictions evaluate the model's kind and worker terms for it.
pub(super) fn attach_classes(model: &mut FittedModel, series: &Series, rows: &[usize]) -> Result<()> {
    let Some(column) = model.errors.column.clone() else { return Ok(()) };
    let Some(col) = series.column(&column) else { return Ok(()) };
    // Each group's last fitted row. A label column is walked by its ids (a fleet's proxy
    // column has 10^7 rows but 10^4 names); any other column by its cells.
    let mut last: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    if let Some((ids, names)) = col.label_ids() {
        let mut last_of_id: Vec<Option<usize>> = vec![None; names.len()];
        for &i in rows {
            if let Some(slot) = last_of_id.get_mut(ids[i] as usize) {
                *slot = Some(i);
            }
        }
        last.extend(last_of_id.iter().zip(names).filter_map(|(i, n)| i.map(|i| (n.clone(), i))));
    } else {
        for &i in rows {
            let name = match col.get(i) {
                crate::series::Cell::Text(t) => t,
                crate::series::Cell::Number(v) => crate::series::write::format_number(v),
                crate::series::Cell::Empty => continue,
            };
            last.insert(name, i);
        }
    }
    for g in &mut model.errors.group_effects {
        if let Some(&i) = last.get(&g.name) {
            g.class = Some(covariates::class_of(series, &[i])?);
        }
    }
    Ok(())
}
