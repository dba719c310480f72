//! Prometheus HTTP API responses (`/api/v1/query_range`, `/api/v1/query`).
//!
//! The JSON is `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{...},
//! "values":[[t,"v"],...]}]},"warnings":[...]}`; errors are `{"status":"error","errorType":
//! "bad_data","error":"..."}`. Sample values are strings and may be `NaN`, `+Inf` or `-Inf`:
//! such points are dropped and counted, never fitted. Samples are decoded straight from the
//! borrowed text (no string allocation per sample) because a week of 30 s samples for a few
//! hundred pods is millions of them.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

pub use super::prom_samples::QueryResult;
use super::prom_samples::{parse_value, unique_labels, REPEATED_LABEL};
use super::TimeSeries;

/// Why a response could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseError {
    /// Not JSON, or not of the API's shape: the message names the byte offset.
    Malformed(String),
    /// `status: error`: Prometheus' errorType and error.
    Api {
        /// `bad_data`, `execution`, `timeout`, ...
        error_type: String,
        /// The server's message.
        error: String,
    },
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Malformed(m) => f.write_str(m),
            ResponseError::Api { error_type, error } => write!(f, "Prometheus answered {error_type}: {error}"),
        }
    }
}

/// Decode a response body: a matrix the fast way ([`super::prom_samples`]), anything else (and
/// any error) the full way.
pub fn parse(body: &[u8]) -> Result<QueryResult, ResponseError> {
    match super::prom_samples::parse(body) {
        Some(r) => Ok(r),
        None => parse_full(body),
    }
}

/// Decode a response body with serde's visitors throughout: every shape, every error named.
pub(super) fn parse_full(body: &[u8]) -> Result<QueryResult, ResponseError> {
    let raw: RawResponse = serde_json::from_slice(body).map_err(|e| {
        if e.to_string().starts_with(REPEATED_LABEL) {
            // One series names a label twice: say which, and where.
            let m = super::json_error_message(body, &e);
            let at = m.split_once(": ").map_or("", |(at, _)| at).trim_start_matches("malformed JSON ");
            let reason = e.to_string();
            let reason = reason.rsplit_once(" at line ").map_or(reason.as_str(), |(r, _)| r);
            ResponseError::Malformed(format!("{reason} ({at})"))
        } else if let Some(other) = e.is_data().then(|| other_result_type(body)).flatten() {
            // `scalar` and `string` results have another shape: name the type, not the byte.
            ResponseError::Malformed(format!(
                "resultType is \"{other}\"; meshcap reads \"matrix\" (query_range) or \"vector\" (query)"
            ))
        } else if e.is_data() {
            // A shape error: still name the byte.
            ResponseError::Malformed(format!(
                "not a Prometheus API response {}",
                super::json_error_message(body, &e).trim_start_matches("malformed JSON ")
            ))
        } else {
            ResponseError::Malformed(super::json_error_message(body, &e))
        }
    })?;
    match raw.status.as_deref() {
        Some("success") => {}
        Some("error") => {
            return Err(ResponseError::Api {
                error_type: raw.error_type.unwrap_or_else(|| "error".into()),
                error: raw.error.unwrap_or_default(),
            })
        }
        Some(other) => {
            return Err(ResponseError::Malformed(format!(
                "not a Prometheus API response: status is \"{other}\", not \"success\" or \"error\""
            )))
        }
        None => return Err(ResponseError::Malformed("not a Prometheus API response: no \"status\" key".into())),
    }
    let data = raw.data.ok_or_else(|| ResponseError::Malformed("status is success but there is no \"data\"".into()))?;
    let result_type = data.result_type.unwrap_or_default();
    if result_type != "matrix" && result_type != "vector" {
        return Err(ResponseError::Malformed(format!(
            "resultType is \"{result_type}\"; meshcap reads \"matrix\" (query_range) or \"vector\" (query)"
        )));
    }
    let mut out = QueryResult { result_type, ..QueryResult::default() };
    out.warnings = raw.warnings;
    out.warnings.extend(raw.infos);
    for s in data.result.unwrap_or_default() {
        let Samples { mut times, mut values, non_finite } = s.values;
        out.non_finite += non_finite;
        if let Some(Sample(t, v)) = s.value {
            if v.is_finite() {
                times.push(t);
                values.push(v);
            } else {
                out.non_finite += 1;
            }
        }
        out.series.push(TimeSeries { labels: s.metric, times, values });
    }
    Ok(out)
}

/// The resultType of a response whose result is neither a matrix nor a vector.
fn other_result_type(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Outer {
        data: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(rename = "resultType")]
        result_type: String,
    }
    let outer: Outer = serde_json::from_slice(body).ok()?;
    let t = outer.data.result_type;
    (t != "matrix" && t != "vector").then_some(t)
}

#[derive(Deserialize)]
struct RawResponse {
    status: Option<String>,
    data: Option<RawData>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Deserialize)]
struct RawData {
    #[serde(rename = "resultType")]
    result_type: Option<String>,
    result: Option<Vec<RawSeries>>,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default, deserialize_with = "unique_labels")]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Samples,
    value: Option<Sample>,
}

/// A matrix series' samples, decoded straight into times and values (a fleet's responses hold
/// 10^7 samples each: no intermediate list); non-finite values are dropped and counted.
#[derive(Default)]
struct Samples {
    times: Vec<f64>,
    values: Vec<f64>,
    non_finite: usize,
}

impl<'de> Deserialize<'de> for Samples {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(SamplesVisitor)
    }
}

struct SamplesVisitor;

impl<'de> Visitor<'de> for SamplesVisitor {
    type Value = Samples;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of samples [unix_seconds, \"value\"]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Samples, A::Error> {
        let mut out = Samples::default();
        let hint = seq.size_hint().unwrap_or(0);
        out.times.reserve(hint);
        out.values.reserve(hint);
        while let Some(Sample(t, v)) = seq.next_element()? {
            if v.is_finite() {
                out.times.push(t);
                out.values.push(v);
            } else {
                out.non_finite += 1;
            }
        }
        Ok(out)
    }
}

/// `[unix_seconds, "value"]`, the value parsed from the borrowed string.
struct Sample(f64, f64);

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(SampleVisitor)
    }
}

struct SampleVisitor;

impl<'de> Visitor<'de> for SampleVisitor {
    type Value = Sample;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sample [unix_seconds, \"value\"]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sample, A::Error> {
        let t: f64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let v = seq.next_element::<Value>()?.ok_or_else(|| de::Error::invalid_length(1, &self))?.0;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        if !t.is_finite() {
            return Err(de::Error::custom(format!("sample time {t} is not finite")));
        }
        Ok(Sample(t, v))
    }
}

/// A sample value: a string (`"812"`, `"NaN"`, `"+Inf"`) or, leniently, a number.
struct Value(f64);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sample value string such as \"812\", \"NaN\" or \"+Inf\"")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        parse_value(s).map(Value).ok_or_else(|| E::custom(format!("sample value \"{s}\" is not a number")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value(v as f64))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value(v as f64))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // A native histogram sample: not a gauge meshcap can use; treated as missing.
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Value(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path agrees with the full one, bit for bit, where it answers; and answers
    /// `None` (the full path then reads it) for every shape it does not take.
    #[test]
    fn agrees_with_the_full_path_or_declines() {
        let same = [
            r#"{"status":"success","warnings":["w"],"data":{"resultType":"matrix","result":[
                {"metric":{"pod":"a","namespace":"x"},"values":[[1.5,"10"],[2.5,"NaN"],[3.5,"+Inf"],[4,"1e3"],[5, "0.1"] ]},
                {"metric":{},"values":[]},{"values":[[1767225600,"123456789.123"]]}]}}"#,
            r#"{"data":{"result":[{"metric":{"pod":"b"},"values":[ [ 1 , "-2.5e-3" ] , [2,"-Inf"] ]}],"resultType":"matrix"},"status":"success"}"#,
        ];
        for body in same {
            let fast = super::super::prom_samples::parse(body.as_bytes()).expect("read fast");
            assert_eq!(Ok(fast), parse_full(body.as_bytes()), "{body}");
        }
        let declined = [
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,10]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"1\u0030"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"x"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"2",3]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[01,"2"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1e999,"2"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[7,"3"]}]}}"#,
            r#"{"status":"error","errorType":"bad_data","error":"x"}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1","a":"2"},"values":[]}]}}"#,
        ];
        for body in declined {
            assert!(super::super::prom_samples::parse(body.as_bytes()).is_none(), "{body}");
        }
    }

    #[test]
    fn values_and_non_finite_points() {
        let body = br#"{"status":"success","warnings":["w1"],"data":{"resultType":"matrix","result":[
            {"metric":{"pod":"a"},"values":[[1.5,"10"],[2.5,"NaN"],[3.5,"+Inf"],[4.5,"-Inf"],[5.5,"1e3"]]}]}}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.series.len(), 1);
        assert_eq!(r.series[0].times, vec![1.5, 5.5]);
        assert_eq!(r.series[0].values, vec![10.0, 1000.0]);
        assert_eq!(r.non_finite, 3);
        assert_eq!(r.warnings, vec!["w1".to_string()]);
    }

    /// prometheus/prometheus `model/labels` (`HasDuplicateLabelNames`): a series names each
    /// label once. A response repeating one is refused with the key, not read with the last.
    #[test]
    fn a_label_repeated_in_one_series_is_refused_by_name() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"pod":"a","namespace":"x","pod":"b"},"values":[[1,"10"]]}]}}"#;
        let Err(ResponseError::Malformed(m)) = parse(body) else { panic!("accepted a repeated label") };
        assert!(m.starts_with("repeated label \"pod\"") && m.contains("\"a\" and \"b\"") && m.contains("byte"), "{m}");
        assert!(!m.contains('\n'), "{m}");
        // The same keys once each are read.
        let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a","namespace":"x"},"values":[[1,"10"]]}]}}"#;
        assert_eq!(parse(ok).unwrap().series[0].labels.len(), 2);
    }

    #[test]
    fn api_error_and_malformed() {
        let e = parse(br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#).unwrap_err();
        assert_eq!(e.to_string(), "Prometheus answered bad_data: parse error at char 4");
        let e = parse(br#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"x"]]}]}}"#)
            .unwrap_err();
        assert!(
            e.to_string().contains("response at byte 76 (line 1, column 77): sample value \"x\" is not a number"),
            "{e}"
        );
        let e = parse(b"{\"status\":").unwrap_err();
        assert!(e.to_string().starts_with("malformed JSON at byte 10 (line 1, column 10): EOF"), "{e}");
        assert!(parse_value("inf").is_none() && parse_value("nan").is_none());
    }

    #[test]
    fn vector_results() {
        let r =
            parse(br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[7,"3"]}]}}"#)
                .unwrap();
        assert_eq!((r.series[0].times[0], r.series[0].values[0]), (7.0, 3.0));
    }
}
