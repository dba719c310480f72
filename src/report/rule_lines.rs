//! The alert rules of a model with a line per proxy kind and a per-worker slope (issue 19 §2):
//! each kind's upper bound as a polynomial in the cluster count and the Envoy workers, and the
//! PromQL that gives each proxy its kind from the pod labels Istio's scrape keeps.
//!
//! Such a model's design row is at most bilinear in the driver `u` and the workers `w` for a
//! fixed kind: `row(u, w) = e_1 + u e_u + w e_w + u w e_uw` (terms `ports`, `kind=K`,
//! `ports:kind=K`, `concurrency`, `ports:concurrency`). The basis vectors are read off
//! `FittedModel::design_row` at four points (and the form checked at a fifth), so the mean is
//! `sum_m (e_m . b) m` and the coefficients' variance `sum_mn (e_m' V e_n) m n` over the
//! monomials `m` in (1, u, w, uw): the same numbers `predict_row` computes, written for
//! Prometheus. A proxy's kind comes from the labels Istio's scrape maps onto Envoy's series, by
//! the import's rules (`crate::import::kinds`, first match wins); a proxy of a kind the model
//! has no line for (or of none) is held to the largest of the model's kind bounds. A proxy
//! without the workers gauge is held at the most workers the model measured.

use super::rule_parts::{alerts, num, record, Group, RuleSettings, CLUSTERS, LIMIT, PREDICTED, UPPER, UPPER_AHEAD};
use crate::error::{Error, Result};
use crate::model::covariates::{kinds_of, KINDS};
use crate::model::{FittedModel, ProxyClass};
use crate::series::CONCURRENCY;

/// Recorded: each proxy's Envoy workers (with its kind label).
pub const WORKERS: &str = "meshcap:istio_proxy_workers";
/// Recorded: each kind line's bound for proxies of another kind, before the largest is taken.
pub const UPPER_BY_LINE: &str = "meshcap:istio_proxy_memory_upper_bytes_by_line";
/// The same at the cluster count `alert_days` ahead.
pub const UPPER_AHEAD_BY_LINE: &str = "meshcap:istio_proxy_memory_upper_bytes_ahead_by_line";

/// PromQL selectors (on `envoy_cluster_manager_active_clusters`) of each kind's pods, in the
/// order the import's rules try them; a kind with two selectors matches either.
pub(super) const SELECTORS: [(&str, &[&str]); 4] = [
    ("waypoint", &[r#"gateway_istio_io_managed="istio.io-mesh-controller""#]),
    ("gateway", &[r#"istio=~".+gateway""#, r#"gateway_networking_k8s_io_gateway_name!="""#]),
    ("activator", &[r#"app="activator""#]),
    ("sidecar", &[r#"security_istio_io_tlsMode!="""#, r#"service_istio_io_canonical_name!="""#]),
];

/// The kind label of proxies no selector matches, or of a kind the model has no line for.
pub(super) const OTHER: &str = "other";

/// One kind's line: mean and coefficient variance as polynomials in (1, u, w, uw).
pub(super) struct KindLine {
    pub kind: &'static str,
    mean: [f64; 4],
    var: [[f64; 4]; 4],
    /// The quadratic alternative's mean and variance over (1, u, w, uw, u^2), when the model
    /// carries one.
    quadratic: Option<([f64; 5], [[f64; 5]; 5])>,
}

/// True when the model's terms name a kind or the workers (the rules then go per kind).
pub(super) fn has_covariates(model: &FittedModel) -> bool {
    model.terms.iter().any(|t| crate::model::covariates::is_covariate(&t.column))
}

/// True when the model has a workers term.
pub(super) fn has_workers(model: &FittedModel) -> bool {
    model.terms.iter().any(|t| t.column.split(':').any(|p| p == CONCURRENCY))
}

/// The kinds the model has a line for: the baseline (sidecars when present) and each kind term.
fn model_kinds(model: &FittedModel) -> Vec<&'static str> {
    let named: Vec<&str> = kinds_of(&model.terms);
    let baseline = model
        .errors
        .group_effects
        .iter()
        .filter_map(|g| g.class.as_ref()?.kind.as_deref())
        .find(|k| !named.contains(k))
        .or_else(|| KINDS.iter().copied().find(|k| !named.contains(k)));
    KINDS.iter().copied().filter(|k| named.contains(k) || Some(*k) == baseline).collect()
}

/// Each kind's line of `model` with the driver `u` in model units and the push allowance's
/// `factor` (the quadratic's square is `u^2 / factor`, as `Bounds::quadratic_peak` scales it).
pub(super) fn kind_lines(model: &FittedModel, driver: &str, factor: f64) -> Result<Vec<KindLine>> {
    let p = model.params();
    let s2 = model.residual_std_error.powi(2);
    let mut out = Vec::new();
    for kind in model_kinds(model) {
        let row = |u: f64, w: f64| {
            let class = ProxyClass { kind: Some(kind.to_string()), concurrency: Some(w) };
            model.design_row(|c| class.value(c, |c| if c == driver { u } else { f64::NAN }))
        };
        let at = [row(0.0, 0.0), row(1.0, 0.0), row(0.0, 1.0), row(1.0, 1.0)];
        let basis: Vec<Vec<f64>> = vec![
            at[0].clone(),
            (0..p).map(|i| at[1][i] - at[0][i]).collect(),
            (0..p).map(|i| at[2][i] - at[0][i]).collect(),
            (0..p).map(|i| at[3][i] - at[1][i] - at[2][i] + at[0][i]).collect(),
        ];
        // The form holds (no other term, no power): checked at a fifth point.
        let (u, w) = (3.0, 5.0);
        let rebuilt: Vec<f64> =
            (0..p).map(|i| basis[0][i] + u * basis[1][i] + w * basis[2][i] + u * w * basis[3][i]).collect();
        let direct = row(u, w);
        if rebuilt.iter().zip(&direct).any(|(a, b)| !(a - b).abs().le(&(1e-9 * b.abs().max(1.0)))) {
            return Err(Error::invalid(format!(
                "rules need a model linear in {driver} for each kind and workers; {} has {}",
                model.name(),
                model.terms.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        let beta: Vec<f64> = model.coefficients.iter().map(|c| c.estimate).collect();
        let (mean, var) = moments::<4>(&basis, &beta, |i, j| s2 * model.cov_unscaled[i][j]);
        let quadratic = model.errors.quadratic.as_ref().filter(|q| q.coefficients.len() == p + 1).map(|q| {
            // The quadratic's row: the design row and the square, u^2 / factor.
            let mut ext: Vec<Vec<f64>> = basis.iter().map(|e| e.iter().copied().chain([0.0]).collect()).collect();
            ext.push((0..=p).map(|i| if i == p { 1.0 / factor } else { 0.0 }).collect());
            moments::<5>(&ext, &q.coefficients, |i, j| q.cov[i][j])
        });
        out.push(KindLine { kind, mean, var, quadratic });
    }
    Ok(out)
}

/// `(e_m . b, e_m' C e_n)` over the basis vectors `e`: a polynomial's coefficients for the
/// mean and for the coefficients' variance.
fn moments<const N: usize>(
    e: &[Vec<f64>],
    beta: &[f64],
    cov: impl Fn(usize, usize) -> f64,
) -> ([f64; N], [[f64; N]; N]) {
    let mut mean = [0.0; N];
    let mut var = [[0.0; N]; N];
    for ((em, mm), row) in e.iter().zip(mean.iter_mut()).zip(var.iter_mut()) {
        *mm = em.iter().zip(beta).map(|(x, b)| x * b).sum();
        for (en, v) in e.iter().zip(row.iter_mut()) {
            let mut q = 0.0;
            for (i, a) in em.iter().enumerate() {
                for (j, b) in en.iter().enumerate() {
                    q += a * cov(i, j) * b;
                }
            }
            *v = q;
        }
    }
    (mean, var)
}

/// The monomials (1, u, w, uw, u^2) as PromQL; `w` is None for a model without workers terms
/// (their coefficients are then 0 and left out).
fn monomials(u: &str, w: Option<&str>) -> [Option<String>; 5] {
    [
        Some(String::new()),
        Some(u.to_string()),
        w.map(|w| format!("({w})")),
        w.map(|w| format!("{u} * ({w})")),
        Some(format!("{u} ^ 2")),
    ]
}

/// `sum c_m m` over the monomials with a nonzero coefficient.
fn linear(coefficients: &[f64], mono: &[Option<String>]) -> String {
    let mut parts = Vec::new();
    for (c, m) in coefficients.iter().zip(mono) {
        match m {
            Some(m) if *c != 0.0 && m.is_empty() => parts.push(num(*c)),
            Some(m) if *c != 0.0 => parts.push(format!("{} * {m}", num(*c))),
            _ => {}
        }
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(" + ")
    }
}

/// `sum_mn v_mn m n` (upper triangle doubled).
fn quadratic_form<const N: usize>(v: &[[f64; N]; N], mono: &[Option<String>]) -> String {
    let mut coefficients = Vec::new();
    let mut products = Vec::new();
    for i in 0..N {
        for j in i..N {
            let (Some(a), Some(b)) = (&mono[i], &mono[j]) else { continue };
            let c = if i == j { v[i][j] } else { v[i][j] + v[j][i] };
            coefficients.push(c);
            products.push(Some(match (a.is_empty(), b.is_empty()) {
                (true, true) => String::new(),
                (true, false) => b.clone(),
                (false, true) => a.clone(),
                (false, false) => format!("{a} * {b}"),
            }));
        }
    }
    linear(&coefficients, &products)
}

impl KindLine {
    /// The kind's mean at `u` (model units, push included) and workers `w`.
    pub(super) fn mean(&self, u: &str, w: Option<&str>) -> String {
        linear(&self.mean, &monomials(u, w))
    }

    /// The upper bound: `mean + t sqrt(coefficient variance + reading variance)`, and past
    /// `beyond` (a PromQL condition, 1 past the data) the larger of that and the quadratic's.
    pub(super) fn upper(&self, model: &FittedModel, level: f64, u: &str, w: Option<&str>, beyond: &str) -> String {
        let t = model.t_one_sided(level);
        let mono = monomials(u, w);
        let mean = self.mean(u, w);
        let var = quadratic_form(&self.var, &mono[..4]);
        let reading = super::rule_parts::reading_variance(model, &mean, u);
        let line = format!("{mean} + {} * sqrt(clamp_min({var}, 0) + {reading})", num(t));
        let Some((qm, qv)) = &self.quadratic else { return line };
        let q = model.errors.quadratic.as_ref().expect("a quadratic");
        let qmean = linear(qm, &mono);
        let qvar = quadratic_form(qv, &mono);
        let tq = crate::model::tdist::quantile(q.dof as f64, level);
        let spread = model.errors.spread.as_ref().map(|s| (s.power, s.reference_bytes));
        let upper_q = super::rule_parts::quadratic_upper(&qmean, &qvar, q.sigma_obs * q.sigma_obs, tq, spread);
        // The quadratic counts only where the line grows (`Bounds::quadratic_peak`).
        let grows = linear(&[self.mean[1], self.mean[3]], &[Some(String::new()), w.map(|w| format!("({w})"))]);
        format!("{line} + clamp_min({upper_q} - ({line}), 0) * ({beyond}) * (({grows}) > bool 0)")
    }
}

/// The rule groups of a model with kind or worker terms: clusters (and workers) recorded with
/// each proxy's kind, each kind's bound from its own line, the largest of them for a proxy of
/// another kind, and the same two alerts.
pub(super) fn groups(model: &FittedModel, s: &RuleSettings) -> Result<Vec<Group>> {
    let (driver, unit) = super::rule_parts::driver(model, false)?;
    let factor = s.push.factor();
    let lines = kind_lines(model, driver, factor)?;
    let k = factor / unit;
    let raw = "envoy_cluster_manager_active_clusters";
    let by_pod = |e: String| format!("max by (namespace, pod) ({e})");
    // Each kind's pods: its selectors, less those an earlier kind's rule took.
    let mut taken: Vec<String> = Vec::new();
    let mut rules = Vec::new();
    for (kind, selectors) in SELECTORS {
        let own = selectors.iter().map(|sel| format!("{raw}{{{sel}}}")).collect::<Vec<_>>().join(" or ");
        let mut expr = by_pod(own.clone());
        if !taken.is_empty() {
            expr = format!("{expr} unless on (namespace, pod) ({})", taken.join(" or "));
        }
        taken.push(own);
        let label = if lines.iter().any(|l| l.kind == kind) { kind } else { OTHER };
        rules.push(record(CLUSTERS, format!("label_replace({expr}, \"kind\", \"{label}\", \"\", \"\")")));
    }
    rules.push(record(
        CLUSTERS,
        format!(
            "label_replace({} unless on (namespace, pod) ({}), \"kind\", \"{OTHER}\", \"\", \"\")",
            by_pod(raw.into()),
            taken.join(" or ")
        ),
    ));
    rules.push(record(
        LIMIT,
        "max by (namespace, pod) (kube_pod_container_resource_limits{resource=\"memory\", container=\"istio-proxy\"})"
            .into(),
    ));
    let workers = has_workers(model).then(|| {
        // A proxy without the gauge is held at the most workers the model measured.
        let most = model.range(CONCURRENCY).map_or(1.0, |r| r.max);
        rules.push(record(
            WORKERS,
            format!(
                "max by (namespace, pod) (envoy_server_concurrency) * on (namespace, pod) group_left (kind) (0 * {CLUSTERS} + 1) or (0 * {CLUSTERS} + {})",
                num(most)
            ),
        ));
    });
    let ahead = format!(
        "{CLUSTERS} + on (namespace, pod) clamp_min(max by (namespace, pod) (deriv({raw}[7d])), 0) * {}",
        num(s.alert_days * 86400.0)
    );
    let max = model.errors.quadratic.as_ref().and_then(|q| model.range(&q.column)).map_or(f64::INFINITY, |r| r.max);
    let at = |kind: &str, x: &str, line: &KindLine| {
        let sel = format!("{{kind=\"{kind}\"}}");
        let x = x.replace(CLUSTERS, &format!("{CLUSTERS}{sel}"));
        let w = workers.map(|_| format!("{WORKERS}{sel}"));
        let u = format!("({} * ({x}))", num(k));
        let beyond = format!("{} * ({x}) > bool {}", num(1.0 / unit), num(max));
        (line.mean(&u, w.as_deref()), line.upper(model, s.level, &u, w.as_deref(), &beyond))
    };
    for line in &lines {
        let (mean, _) = at(line.kind, CLUSTERS, line);
        rules.push(record(PREDICTED, mean));
    }
    for line in &lines {
        rules.push(record(UPPER, at(line.kind, CLUSTERS, line).1));
        rules.push(record(
            UPPER_BY_LINE,
            format!("label_replace({}, \"line\", \"{}\", \"\", \"\")", at(OTHER, CLUSTERS, line).1, line.kind),
        ));
    }
    rules.push(record(UPPER, format!("max without (line) ({UPPER_BY_LINE})")));
    for line in &lines {
        rules.push(record(UPPER_AHEAD, at(line.kind, &ahead, line).1));
        rules.push(record(
            UPPER_AHEAD_BY_LINE,
            format!("label_replace({}, \"line\", \"{}\", \"\", \"\")", at(OTHER, &ahead, line).1, line.kind),
        ));
    }
    rules.push(record(UPPER_AHEAD, format!("max without (line) ({UPPER_AHEAD_BY_LINE})")));
    rules.extend(alerts(s));
    Ok(vec![Group { name: "meshcap-istio-proxy-memory".into(), rules }])
}
