//! `meshcap fleet --memory-file ...`: a fleet straight from saved query_range responses, in one
//! process.
//!
//! The two-step way (`import prometheus --by namespace,pod -o fleet.csv`, then `fleet
//! fleet.csv`) writes a fleet's long form and reads it back: for 10^4 proxies x a week at 5 m
//! that is 1.6 GB of CSV each way. Here the responses go through the same import code
//! ([`meshcap::import::prometheus::import`], same splicing, same errors) into the series the
//! fleet forecast reads, and nothing is written in between.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use meshcap::import::prometheus::{self, Answer};
use meshcap::series::Series;

use super::shown;

/// Saved responses to import in the same process instead of a SERIES file.
#[derive(Debug, Args)]
pub struct Responses {
    /// A saved query_range response for memory (e.g. the raw
    /// container_memory_working_set_bytes{container="istio-proxy"} per container), instead of
    /// SERIES.
    #[arg(long, value_name = "FILE", conflicts_with = "series")]
    memory_file: Option<PathBuf>,
    /// A saved response for ports (with --memory-file).
    #[arg(long, value_name = "FILE", requires = "memory_file")]
    ports_file: Option<PathBuf>,
    /// A saved response for revisions (with --memory-file).
    #[arg(long, value_name = "FILE", requires = "memory_file")]
    revisions_file: Option<PathBuf>,
    /// A saved response for the limit (with --memory-file).
    #[arg(long, value_name = "FILE", requires = "memory_file")]
    limit_file: Option<PathBuf>,
    /// A saved response for the restart count (with --memory-file).
    #[arg(long, value_name = "FILE", requires = "memory_file")]
    restarts_file: Option<PathBuf>,
    /// A saved response for Envoy workers, e.g. envoy_server_concurrency (with --memory-file):
    /// a slope per worker where they vary, and each proxy's kind from its pod labels.
    #[arg(long, value_name = "FILE", requires = "memory_file")]
    concurrency_file: Option<PathBuf>,
    /// With --memory-file: the labels naming a proxy (`import prometheus --by`).
    #[arg(long, value_name = "LABELS", value_delimiter = ',', default_value = "namespace,pod")]
    labels: Vec<String>,
}

impl Responses {
    /// The files given, as inputs no output may replace.
    pub(crate) fn files(&self) -> Vec<&PathBuf> {
        [
            &self.memory_file,
            &self.ports_file,
            &self.revisions_file,
            &self.limit_file,
            &self.restarts_file,
            &self.concurrency_file,
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The first response flag given, by name: beside a SERIES it would do nothing, so it is
    /// refused rather than ignored (issue 21 §4).
    pub(crate) fn first_flag(&self) -> Option<&'static str> {
        [
            ("--memory-file", &self.memory_file),
            ("--ports-file", &self.ports_file),
            ("--revisions-file", &self.revisions_file),
            ("--limit-file", &self.limit_file),
            ("--restarts-file", &self.restarts_file),
            ("--concurrency-file", &self.concurrency_file),
        ]
        .into_iter()
        .find_map(|(flag, f)| f.as_ref().map(|_| flag))
    }

    /// True when the fleet comes from responses, not a SERIES file.
    pub(crate) fn given(&self) -> bool {
        self.memory_file.is_some()
    }

    /// The long-form series of the responses, what to call it, and the import's warnings.
    pub(crate) fn import(&self) -> Result<(Series, String, Vec<String>)> {
        let columns = [
            ("memory", &self.memory_file),
            ("ports", &self.ports_file),
            ("revisions", &self.revisions_file),
            ("limit", &self.limit_file),
            ("restarts", &self.restarts_file),
            ("concurrency", &self.concurrency_file),
        ];
        let answers: Vec<Answer> = columns
            .iter()
            .filter_map(|(column, file)| file.as_ref().map(|f| (*column, f)))
            .map(|(column, f)| Answer::saved(column, shown(f), f))
            .collect();
        let labels: Vec<String> = self.labels.iter().map(|l| l.trim().to_string()).collect();
        let settings = prometheus::Settings { by: Some(labels), ..prometheus::Settings::default() };
        let names: Vec<String> = self.files().iter().map(|f| shown(f)).collect();
        let provenance = format!("imported by meshcap fleet from saved query_range responses {}", names.join(", "));
        let (mut series, _, report) = prometheus::import(answers, &settings, &provenance)?;
        // Errors about the imported series (too few rows to fit) name the responses.
        series.path = PathBuf::from(names.join(", "));
        // The decoded responses are gone: their pages go back before the fit takes its own.
        meshcap::memory::release_freed();
        meshcap::model::check_readings(&series, &names.join(", "))?;
        Ok((series, format!("saved responses {}", names.join(", ")), report.warnings))
    }
}

/// Where a fleet's series comes from.
pub(crate) enum FleetInput<'a> {
    /// A long-form series file.
    Series(&'a Path),
    /// Saved responses imported in this process.
    Responses(&'a Responses),
}
