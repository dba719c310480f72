# Reference values from R's nlme and lme4 for meshcap's random slopes (issue 19 §1): a fleet
# whose proxies each have their own offset and slope on ports (correlated), level offsets
# nested in proxies, and (second fixture) AR(1) noise within a level, fitted by REML.
#
# Run once from the repository root (Debian: apt-get install r-base-core r-cran-nlme r-cran-lme4):
#
#     Rscript benches/ref/slopes_nlme.R
#
# It writes the seeded fixtures tests/fixtures/slopes-fleet.csv (no times: readings
# independent within a level) and tests/fixtures/slopes-fleet-ar1.csv (times, AR(1) rho 0.7
# within a level), and prints nlme's (and for the first, lme4's) estimates, variance
# components, -2 log REML and BLUPs (17 significant digits), which tests/slopes_nlme.rs holds
# with a comment naming this script. cargo test never runs R.
suppressPackageStartupMessages({ library(nlme); library(lme4) })
MI <- 1024^2
KI <- 1024

fleet <- function(seed, rho, timed) {
  set.seed(seed)
  proxies <- 10
  readings <- 12
  sd_u <- c(8 * MI, 9.6 * KI)          # offset sd, slope sd (10% of the slope)
  corr <- -0.3
  sigma <- matrix(c(sd_u[1]^2, corr * sd_u[1] * sd_u[2], corr * sd_u[1] * sd_u[2], sd_u[2]^2), 2)
  chol_s <- chol(sigma)
  rows <- list()
  for (g in 1:proxies) {
    u <- as.numeric(rnorm(2) %*% chol_s)
    ports <- 160 + 40 * g + c(0, 300, 600, 900, 1200)
    for (k in seq_along(ports)) {
      v <- rnorm(1, 0, 2 * MI)
      e <- if (rho > 0) as.numeric(arima.sim(list(ar = rho), n = readings, sd = 1.5 * MI * sqrt(1 - rho^2))) else rnorm(readings, 0, 1.5 * MI)
      mem <- round(60 * MI + 96 * KI * ports[k] + u[1] + u[2] * ports[k] + v + e)
      d <- data.frame(proxy = sprintf("shop/cart-%02d", g), ports = ports[k], memory = format(mem, scientific = FALSE, trim = TRUE))
      if (timed) d <- cbind(time = format(1.7e9 + 30 * ((k - 1) * readings + 0:(readings - 1)), scientific = FALSE, trim = TRUE), d)
      rows[[length(rows) + 1]] <- d
    }
  }
  do.call(rbind, rows)
}

ctl <- lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 100, opt = "optim", msTol = 1e-12, tolerance = 1e-10)

report <- function(name, d, path, comment, ar) {
  con <- file(path, "w")
  writeLines(paste0("# ", comment), con)
  write.csv(d, con, row.names = FALSE, quote = FALSE)
  close(con)
  d$memory <- as.numeric(d$memory)
  d$level <- factor(paste(d$proxy, d$ports))
  d$step <- ave(seq_along(d$ports), d$level, FUN = seq_along)
  m <- if (ar) {
    lme(memory ~ ports, random = list(proxy = pdSymm(~ ports), level = ~ 1), data = d, method = "REML",
        correlation = corAR1(form = ~ step | proxy/level), control = ctl)
  } else {
    lme(memory ~ ports, random = list(proxy = pdSymm(~ ports), level = ~ 1), data = d, method = "REML", control = ctl)
  }
  vc <- as.matrix(m$modelStruct$reStruct[["proxy"]]) * m$sigma^2
  vl <- as.numeric(as.matrix(m$modelStruct$reStruct[["level"]])) * m$sigma^2
  sds <- sqrt(diag(vc))
  cat(sprintf("%s: coefficients = [%.17g, %.17g]\n", name, fixef(m)[1], fixef(m)[2]))
  cat(sprintf("%s: sigma_group = %.17g, slope_sd = %.17g, correlation = %.17g\n", name, sds[1], sds[2], vc[1, 2] / (sds[1] * sds[2])))
  cat(sprintf("%s: sigma_between = %.17g, sigma_within = %.17g\n", name, sqrt(vl), m$sigma))
  if (ar) cat(sprintf("%s: rho = %.17g\n", name, as.numeric(coef(m$modelStruct$corStruct, unconstrained = FALSE))))
  cat(sprintf("%s: minus2_log_reml = %.17g\n", name, -2 * as.numeric(logLik(m, REML = TRUE))))
  re <- ranef(m, level = 1)
  cat(sprintf("%s: blup %s = [%.17g, %.17g]\n", name, rownames(re)[c(1, 10)], re[c(1, 10), 1], re[c(1, 10), 2]), sep = "")
  if (!ar) {
    l4 <- lmer(memory ~ ports + (ports | proxy) + (1 | proxy:ports), data = d, REML = TRUE,
               control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
    v4 <- as.data.frame(VarCorr(l4))
    cat(sprintf("%s lme4: coefficients = [%.17g, %.17g]\n", name, fixef(l4)[1], fixef(l4)[2]))
    print(v4, digits = 17)
    cat(sprintf("%s lme4: minus2_log_reml = %.17g\n", name, -2 * as.numeric(logLik(l4, REML = TRUE))))
  }
}

report("slopes", fleet(19101, 0, FALSE), "tests/fixtures/slopes-fleet.csv",
       "Synthetic (benches/ref/slopes_nlme.R, seed 19101): 10 proxies x 5 port levels x 12 readings; offsets sd 8Mi and slopes sd 9.6Ki/port (corr -0.3), level sd 2Mi, within sd 1.5Mi.", FALSE)
report("slopes ar1", fleet(19102, 0.7, TRUE), "tests/fixtures/slopes-fleet-ar1.csv",
       "Synthetic (benches/ref/slopes_nlme.R, seed 19102): as slopes-fleet.csv with times 30s apart and AR(1) rho 0.7 within a level.", TRUE)
