# Reference values from R's nlme for meshcap's `levels` REML (issue 19 §6): random level
# offsets plus AR(1) errors within a level, fitted by REML.
#
# Run once from the repository root (Debian: apt-get install r-base-core r-cran-nlme):
#
#     Rscript benches/ref/reml_rho.R
#
# It writes the seeded fixtures tests/fixtures/reml-large-offsets.csv (level offsets ~10x the
# within-level noise, rho 0.6) and tests/fixtures/reml-small-rho.csv (rho 0.05), and prints
# nlme's estimates and -2 log REML (17 significant digits), which tests/reml_nlme.rs holds with
# a comment naming this script. cargo test never runs R.
suppressPackageStartupMessages(library(nlme))
MI <- 1024^2

campaign <- function(seed, rho, sd_level, sd_within, readings) {
  set.seed(seed)
  revs <- c(0, 200, 400, 600, 800, 1000, 1200)
  rows <- list()
  t0 <- 1.7e9
  for (i in seq_along(revs)) {
    u <- rnorm(1, 0, sd_level)
    e <- as.numeric(arima.sim(list(ar = rho), n = readings, sd = sd_within * sqrt(1 - rho^2)))
    if (rho == 0) e <- rnorm(readings, 0, sd_within)
    mem <- round(50 * MI + 0.75 * MI * revs[i] + u + e)
    time <- t0 + (i - 1) * 3600 + 30 * (0:(readings - 1))
    rows[[i]] <- data.frame(time = format(time, scientific = FALSE), revisions = revs[i], memory = format(mem, scientific = FALSE))
  }
  do.call(rbind, rows)
}

report <- function(name, d, path, comment) {
  con <- file(path, "w")
  writeLines(paste0("# ", comment), con)
  write.csv(d, con, row.names = FALSE, quote = FALSE)
  close(con)
  d$memory <- as.numeric(d$memory)
  d$level <- factor(d$revisions)
  d$step <- ave(seq_along(d$revisions), d$level, FUN = seq_along)  # reading order within a level
  m <- lme(memory ~ revisions, random = ~ 1 | level, data = d, method = "REML",
           correlation = corAR1(form = ~ step | level),
           control = lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, opt = "optim"))
  vc <- c(sqrt(as.numeric(getVarCov(m))), m$sigma)
  phi <- as.numeric(coef(m$modelStruct$corStruct, unconstrained = FALSE))
  cat(sprintf("%s: coefficients = [%.17g, %.17g]\n", name, fixef(m)[1], fixef(m)[2]))
  cat(sprintf("%s: sigma_between = %.17g, sigma_within = %.17g, rho = %.17g\n", name, vc[1], vc[2], phi))
  cat(sprintf("%s: minus2_log_reml = %.17g\n", name, -2 * as.numeric(logLik(m, REML = TRUE))))
}

report("large offsets", campaign(19061, 0.6, 30 * MI, 3 * MI, 40), "tests/fixtures/reml-large-offsets.csv",
       "Synthetic (benches/ref/reml_rho.R, seed 19061): 7 levels x 40 readings 30s apart; level offsets sd 30Mi, AR(1) rho 0.6 within (sd 3Mi).")
report("small rho", campaign(19062, 0.05, 3 * MI, 3 * MI, 40), "tests/fixtures/reml-small-rho.csv",
       "Synthetic (benches/ref/reml_rho.R, seed 19062): 7 levels x 40 readings 30s apart; level offsets sd 3Mi, AR(1) rho 0.05 within (sd 3Mi).")
