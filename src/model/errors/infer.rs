//! From an OLS solution and a series to the inference of the chosen error structure.

use super::assumptions::{self, Assumption, EQUAL_SPREAD};
use super::choose::{group_ids, level_ids, resolve};
use super::diagnostics::{curvature, lack_of_fit, ols_curvature, primary};
use super::input::store_gls;
pub(crate) use super::input::{FitInput, Inference};
use super::levels::{form, Levels, Scaling};
use super::refine::refine;
use super::reml::{effective_n, estimate, Free, Theta};
use super::sandwich::{cluster, hac, newey_west_lags};
use super::slopes_infer::random_slopes;
use super::spread;
use super::{ErrorKind, ErrorModel, ErrorSpec, GroupEffect};
use crate::error::{Error, Result};
use rayon::prelude::*;

/// Run the inference `spec` asks for.
pub(crate) fn infer(spec: &ErrorSpec, input: &FitInput) -> Result<Inference> {
    let s = input.series;
    let n = input.rows.len();
    let p = input.design.len();
    let times: Option<Vec<f64>> = input.rows.iter().map(|&i| s.rows.time(i)).collect();
    if times.is_none() && !matches!(spec, ErrorSpec::Iid) {
        // A time on some rows but not all: a time series with a hole, not independent rows.
        if let Some(k) = input.rows.iter().position(|&i| s.rows.time(i).is_none()) {
            if input.rows.iter().any(|&i| s.rows.time(i).is_some()) {
                return Err(Error::parse(
                    "time is empty here but set on other rows: a time series needs a time on every reading (or use --errors iid)",
                    s.location(input.rows[k], "time"),
                ));
            }
        }
    }
    let asked_auto = matches!(spec, ErrorSpec::Auto);
    let (spec, reason) = resolve(spec, input, times.is_some())?;
    let group_column = match &spec {
        ErrorSpec::Group(c) | ErrorSpec::Slopes(c) | ErrorSpec::Cluster(Some(c)) => Some(c.clone()),
        _ => None,
    };
    if let Some(c) = group_column.as_deref().filter(|c| input.terms.iter().any(|t| t.column == *c)) {
        return Err(Error::invalid(format!(
            "--errors {spec}: {c} is a predictor of the model; a group column identifies proxies (or clusters), it cannot also be a predictor"
        )));
    }
    let groups = group_column.as_deref().map(|c| group_ids(s, input.rows, c)).transpose()?;
    let scaling = scaling(input);
    let grouped = matches!(spec, ErrorSpec::Group(_) | ErrorSpec::Slopes(_));
    let nest = grouped.then(|| groups.as_ref().expect("group ids")).map(|g| (&g.0[..], g.1.len()));
    let mixed = matches!(spec, ErrorSpec::Levels) || grouped;
    let mut levels = form(input.y, input.design, times.as_deref(), nest, &scaling, mixed);
    let ols_rss = input.solution.rss;
    // As statsmodels: sigma^2 = RSS / (n - p), then sigma.
    let ols_sigma2 = if n > p { ols_rss / (n - p) as f64 } else { 0.0 };
    let ols_sigma = ols_sigma2.sqrt();
    let bread = &input.solution.cov_unscaled;
    let mut errors = ErrorModel::legacy_iid(ols_sigma, n);
    errors.reason = reason;
    errors.levels = levels.count();
    errors.rho = levels.lag1_autocorrelation();
    let iid_cov: Vec<f64> = bread.iter().map(|v| v * ols_sigma2).collect();
    let mut out = Inference {
        coefficients: input.solution.coefficients.clone(),
        cov: iid_cov,
        cov_unscaled: bread.clone(),
        sigma_obs: ols_sigma,
        dof: n - p,
        rss: ols_rss,
        errors,
        notes: Vec::new(),
    };
    let mut theta = Theta::ZERO;
    let mut free = Free::NONE;
    match &spec {
        ErrorSpec::Auto | ErrorSpec::Iid => {}
        ErrorSpec::Hac => {
            out.errors.kind = ErrorKind::Hac;
            let lags = newey_west_lags(n);
            // Time order; readings at one time ordered by their setting, then by value, so the
            // result does not depend on the file's row order.
            let mut order: Vec<usize> = (0..n).collect();
            if let Some(t) = &times {
                order.sort_by(|&a, &b| {
                    t[a].total_cmp(&t[b])
                        .then_with(|| {
                            input
                                .design
                                .iter()
                                .filter(|c| c.power != 0)
                                .map(|c| c.base[a].total_cmp(&c.base[b]))
                                .find(|o| o.is_ne())
                                .unwrap_or(std::cmp::Ordering::Equal)
                        })
                        .then(input.y[a].total_cmp(&input.y[b]))
                });
            }
            out.cov = hac(input.design, &input.solution.residuals, bread, &order, lags);
            out.errors.hac_lags = Some(lags);
        }
        ErrorSpec::Cluster(column) => {
            out.errors.kind = ErrorKind::Cluster;
            let (ids, count) = match &groups {
                Some((ids, names)) => (ids.clone(), names.len()),
                None => level_ids(input),
            };
            out.errors.column = column.clone();
            out.errors.groups = count;
            if count <= p {
                return Err(Error::data(
                    format!(
                        "--errors {spec}: {count} cluster{} for {p} parameters; a cluster-robust covariance needs more clusters than parameters",
                        if count == 1 { "" } else { "s" }
                    ),
                    &s.path,
                ));
            }
            out.cov = cluster(input.design, &input.solution.residuals, bread, &ids, count);
            // t with G - 1 dof (statsmodels' df_resid_inference), never more than OLS's n - p.
            out.dof = (count - 1).min(n - p);
        }
        ErrorSpec::Levels | ErrorSpec::Group(_) | ErrorSpec::Slopes(_) => {
            let names = grouped.then(|| &groups.as_ref().expect("group ids").1[..]);
            out.errors.kind = ErrorKind::Levels;
            if names.is_some() {
                out.errors.kind = ErrorKind::Group;
                out.errors.column = group_column.clone();
                out.errors.groups = levels.groups;
            }
            (theta, free) = variance_components(&mut levels, input, &scaling, names, &mut out)?;
            if grouped {
                let forced = matches!(spec, ErrorSpec::Slopes(_));
                if forced || asked_auto {
                    random_slopes(&levels, input, &scaling, theta, free, forced, &mut out)?;
                }
            }
        }
    }
    if out.errors.kind != ErrorKind::Iid && out.sigma_obs > 0.0 {
        let s2 = out.sigma_obs * out.sigma_obs;
        out.cov_unscaled = out.cov.iter().map(|v| v / s2).collect();
    }
    // Diagnostics.
    // An exact fit (R² = 1 to 20 digits: constructed data) has nothing to test.
    let exact = ols_rss <= 1e-20 * scaling.y_scale * scaling.y_scale * n as f64;
    if exact {
        out.notes.push("the fit is exact (residuals are rounding): lack-of-fit and curvature not tested".into());
    }
    if !exact && !grouped {
        out.errors.lack_of_fit = lack_of_fit(&levels, ols_rss, p, scaling.y_scale);
    }
    if let Some((j, term)) = primary(input).filter(|_| !exact) {
        let dof = out.dof;
        let (theta, free) = if matches!(out.errors.kind, ErrorKind::Levels | ErrorKind::Group) {
            (theta, free)
        } else {
            (Theta::ZERO, Free::NONE)
        };
        let intercept = input.design.iter().position(|c| c.power == 0);
        let found = if levels.all_distinct {
            ols_curvature(input, j, &term.column, dof)
        } else {
            curvature(&levels, (theta, free), (&scaling, intercept), j, &term.column, dof)
        };
        (out.errors.curvature, out.errors.quadratic) = found.unzip();
    }
    if out.errors.kind == ErrorKind::Iid {
        if let Some(l) = &out.errors.lack_of_fit {
            if l.p < 0.05 && levels.replicated() {
                out.notes.push(format!(
                    "readings repeat at {} settings and the lack-of-fit test rejects (F = {:.3}, p = {:.2e}): the level means scatter more than readings within a level, so OLS intervals are too narrow; use --errors levels, which counts levels, not readings",
                    out.errors.levels, l.f, l.p
                ));
            }
        }
    }
    if !matches!(out.errors.kind, ErrorKind::Levels | ErrorKind::Group) && !exact {
        let label = out.errors.label();
        let line = match spread::breusch_pagan(input.y, &input.solution.residuals) {
            Some((stat, p)) => Assumption::tested(
                EQUAL_SPREAD,
                format!("Breusch-Pagan (Koenker) of squared residuals on the fitted mean, chi2(1) = {stat:.2}"),
                p,
                if p < spread::REJECT_P {
                    format!("not modelled under --errors {label}: bounds at high memory may be too narrow (a time series fitted with --errors levels models it)")
                } else {
                    "equal spread kept".into()
                },
            ),
            None => Assumption::untested(EQUAL_SPREAD, "not tested (too few readings)", "assumed"),
        };
        out.errors.assumptions.push(line);
    }
    assumptions::complete(&mut out.errors);
    if let Some(c) = &out.errors.curvature {
        if c.p < 0.01 {
            out.notes.push(format!(
                "linearity rejected: the level means curve ({} t = {:.2} on {} dof, p = {:.2e}); add {} to --x or fit a narrower range",
                c.term, c.t, c.dof, c.p, c.term
            ));
        }
    }
    Ok(out)
}

fn scaling(input: &FitInput) -> Scaling {
    let n = input.y.len() as f64;
    let mean = input.y.iter().sum::<f64>() / n;
    let y_shift = if input.intercept { mean } else { 0.0 };
    let var = input.y.iter().map(|v| (v - y_shift).powi(2)).sum::<f64>() / n;
    let y_scale = if var > 0.0 && var.is_finite() { var.sqrt() } else { 1.0 };
    let x_scale = input
        .design
        .par_iter()
        .map(|c| {
            if c.power == 0 {
                return 1.0;
            }
            let m = c.base.iter().fold(0.0f64, |m, v| m.max(v.abs())).powi(c.power as i32);
            if m > 0.0 && m.is_finite() {
                m
            } else {
                1.0
            }
        })
        .collect();
    Scaling { y_shift, y_scale, x_scale }
}

/// REML variance components, the GLS coefficients and their covariance.
fn variance_components(
    levels: &mut Levels,
    input: &FitInput,
    sc: &Scaling,
    names: Option<&[String]>,
    out: &mut Inference,
) -> Result<(Theta, Free)> {
    let group = names.is_some();
    let mut single_level_groups = false;
    let p = input.design.len();
    let path = &input.series.path;
    let l = levels.levels.len();
    if group && levels.groups < 2 {
        return Err(Error::data(
            format!("--errors {}: the column holds one group; a group structure needs 2 or more (use --errors levels for one proxy)", out.errors.label()),
            path,
        ));
    }
    if l <= p {
        return Err(Error::data(
            format!(
                "{l} level{} for {p} parameter{}: readings at one level share its offset, so they cannot tell a slope from level-to-level scatter; measure at least {} levels (configurations). (--errors iid would take every reading as independent: on such data its 95% intervals miss the truth most of the time, so it is no honest substitute)",
                if l == 1 { "" } else { "s" },
                if p == 1 { "" } else { "s" },
                p + 1
            ),
            path,
        ));
    }
    out.dof = l - p;
    if group {
        // Between-within degrees of freedom (SAS DDFM=BETWITHIN): a slope that varies within
        // proxies is estimated against the level scatter left after each proxy's own offset,
        // levels - groups - (p - 1); with predictors constant within every proxy only the
        // proxies inform it, groups - p. The pooled-fleet study in tests/coverage.rs measured
        // slope coverage 93.5% with levels - p and 93.8% with this (95.2% when the AR noise
        // restarts at each level: the rest is noise carried across level changes).
        let mut varies = false;
        let mut first: Vec<Option<usize>> = vec![None; levels.groups];
        for (k, v) in levels.levels.iter().enumerate() {
            match first[v.group as usize] {
                None => first[v.group as usize] = Some(k),
                Some(f) => varies |= levels.row(f) != levels.row(k),
            }
        }
        let g = levels.groups;
        let mut readings = vec![0usize; g];
        let mut count = vec![0usize; g];
        for v in &levels.levels {
            readings[v.group as usize] += v.n;
            count[v.group as usize] += 1;
        }
        if readings.iter().all(|&r| r <= 1) {
            return Err(Error::data(
                format!(
                    "every group of --errors {} holds one reading: a group's offset cannot be told from reading noise",
                    out.errors.label()
                ),
                path,
            ));
        }
        if count.iter().all(|&c| c <= 1) {
            single_level_groups = true;
        }
        out.dof = if varies { l.saturating_sub(g + p - 1) } else { g.saturating_sub(p) };
        if out.dof == 0 {
            return Err(Error::data(
                format!("{l} levels in {g} groups for {p} parameters leave no degrees of freedom for a group fit; use --errors levels"),
                path,
            ));
        }
    }
    let pairs: usize = levels.levels.iter().map(|v| v.n.saturating_sub(1)).sum();
    // With one level per group, level and group offsets are one and the same component.
    let free = Free {
        between: levels.replicated() && !single_level_groups,
        group,
        rho: levels.ordered && pairs >= 3,
        spread: false,
    };
    if single_level_groups && levels.replicated() {
        out.notes.push(
            "each group is a single level: level and group offsets cannot be told apart, so sigma_group holds both"
                .into(),
        );
    }
    if !free.between && !free.group {
        out.errors.reason.push_str("; every level holds one reading, so this is the same as iid");
        return Ok((Theta::ZERO, free));
    }
    let start = super::start::moments(levels);
    let (theta, gls) = estimate(levels, free, start).ok_or_else(|| {
        Error::data(
            "the variance components could not be estimated (the level design is singular: the predictors do not vary enough across levels); measure more levels",
            path,
        )
    })?;
    let (free, theta, gls) = refine(levels, group, l, sc, (free, theta, gls), &mut out.errors);
    let sigma_w2 = store_gls(levels, input, sc, &gls.b, &gls.a_inv, gls.quad, out);
    let (sb2, sg2) = (theta.gamma_b * sigma_w2, theta.gamma_g * sigma_w2);
    out.sigma_obs = (sigma_w2 + sb2 + sg2).sqrt();
    let e = &mut out.errors;
    e.sigma_within = sigma_w2.sqrt();
    e.sigma_between = sb2.sqrt();
    e.sigma_group = sg2.sqrt();
    if free.rho {
        e.rho = Some(theta.rho);
        e.rho_fitted = true;
    }
    e.effective_n = levels.levels.iter().map(|v| effective_n(v.n, theta.rho)).sum();
    if let Some(names) = names {
        let mut readings = vec![0usize; levels.groups];
        for v in &levels.levels {
            readings[v.group as usize] += v.n;
        }
        let sums = &gls.groups;
        out.errors.group_effects = names
            .iter()
            .cloned()
            .zip(readings)
            .enumerate()
            .map(|(g, (name, readings))| {
                let (cg, r, cx) = (sums.weight[g], sums.residual[g], &sums.x[g * p..(g + 1) * p]);
                let k = theta.gamma_g / (1.0 + theta.gamma_g * cg);
                GroupEffect {
                    name,
                    effect_bytes: k * r * sc.y_scale,
                    effect_sd_bytes: (k * sigma_w2).sqrt(),
                    // Scaled rows are x / x_scale, so a raw row is the scaled one times x_scale
                    // (dividing, as before issue 19, made the driver's entry vanish: an existing
                    // proxy's bound then took the slope's variance at x, not at x's distance
                    // from the proxy's own data).
                    shrink_row: cx.iter().zip(&sc.x_scale).map(|(c, s)| k * c * s).collect(),
                    readings,
                    slope: None,
                    class: None,
                }
            })
            .collect();
    }
    Ok((theta, free))
}
