# Reference values from R's nlme for meshcap's variance function (issue 19 §3): level offsets
# and reading noise whose sd grows with the fitted mean, `weights = varPower()` (sd ~ |fitted|^delta).
#
# Run once from the repository root (Debian: apt-get install r-base-core r-cran-nlme):
#
#     Rscript benches/ref/spread_varpower.R
#
# It writes the seeded fixture tests/fixtures/spread-varpower.csv (8 levels x 12 readings, no
# times: readings within a level are exchangeable) and prints nlme's estimates (17 significant
# digits), which tests/spread_nlme.rs holds with a comment naming this script. Without times a
# level offset plus independent noise is compound symmetry within the level, so meshcap's
# `--errors levels` model with a variance function is exactly
# `gls(memory ~ revisions, correlation = corCompSymm(form = ~ 1 | level), weights = varPower())`.
# cargo test never runs R.
suppressPackageStartupMessages(library(nlme))
MI <- 1024^2

set.seed(19031)
revs <- c(50, 200, 350, 500, 650, 800, 950, 1100)
rows <- list()
for (i in seq_along(revs)) {
  mu <- 50 * MI + 0.75 * MI * revs[i]
  k <- mu / (400 * MI)                # sd proportional to the mean: 4Mi + 3Mi at 400Mi
  u <- rnorm(1, 0, 4 * MI * k)
  e <- rnorm(12, 0, 3 * MI * k)
  rows[[i]] <- data.frame(revisions = revs[i], memory = format(round(mu + u + e), scientific = FALSE))
}
d <- do.call(rbind, rows)
con <- file("tests/fixtures/spread-varpower.csv", "w")
writeLines("# Synthetic (benches/ref/spread_varpower.R, seed 19031): 8 levels x 12 readings, level offset sd 4Mi and noise sd 3Mi at 400Mi, both proportional to the mean.", con)
write.csv(d, con, row.names = FALSE, quote = FALSE)
close(con)
d$memory <- as.numeric(d$memory)
d$level <- factor(d$revisions)
m <- gls(memory ~ revisions, data = d, method = "REML",
         correlation = corCompSymm(form = ~ 1 | level), weights = varPower(),
         control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-10))
rho <- as.numeric(coef(m$modelStruct$corStruct, unconstrained = FALSE))
delta <- as.numeric(coef(m$modelStruct$varStruct, unconstrained = FALSE))
cat(sprintf("coefficients = [%.17g, %.17g]\n", coef(m)[1], coef(m)[2]))
cat(sprintf("delta = %.17g, sigma = %.17g, rho = %.17g\n", delta, m$sigma, rho))
cat(sprintf("minus2_log_reml = %.17g\n", -2 * as.numeric(logLik(m, REML = TRUE))))
