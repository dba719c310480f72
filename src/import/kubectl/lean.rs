//! Kubernetes JSON read without what no rule reads: `metadata.managedFields` (server-side apply
//! bookkeeping, often half of an object's bytes) and the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation (a second copy of the object as a string) are skipped while parsing, so they
//! never become `serde_json::Value` trees. The rest is the `Value` `serde_json::from_slice`
//! gives, with the same errors, positions and nesting limit.
//!
//! Memory: a `Value` tree of Kubernetes objects takes about 20-30x the compact JSON it came
//! from (every small string and map entry is its own allocation); skipping these keys and
//! moving objects out of their List (no copy, [`super::items`]) keeps an import at a fraction
//! of that, checked by `tests/scale.rs`.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Keys skipped wherever they appear: no reader of the import uses them.
const SKIPPED: [&str; 2] = ["managedFields", "kubectl.kubernetes.io/last-applied-configuration"];

/// Parse one file's bytes as JSON, skipping [`SKIPPED`] keys.
pub(super) fn parse(bytes: &[u8]) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Lean.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

#[derive(Clone, Copy)]
struct Lean;

impl<'de> DeserializeSeed<'de> for Lean {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Lean {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(x) = seq.next_element_seed(self)? {
            out.push(x);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if SKIPPED.contains(&k.as_str()) {
                map.next_value::<IgnoredAny>()?;
            } else {
                let v = map.next_value_seed(self)?;
                out.insert(k, v);
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_value_without_the_skipped_keys_and_the_same_errors() {
        let text = br#"{"kind":"Service","metadata":{"name":"a","managedFields":[{"manager":"x","fieldsV1":{"f:spec":{}}}],"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}","keep":"1"}},"spec":{"ports":[{"port":80,"x":1.5,"n":null,"b":true,"neg":-3}]}}"#;
        let mut want: Value = serde_json::from_slice(text).unwrap();
        want["metadata"].as_object_mut().unwrap().remove("managedFields");
        want["metadata"]["annotations"]
            .as_object_mut()
            .unwrap()
            .remove("kubectl.kubernetes.io/last-applied-configuration");
        assert_eq!(parse(text).unwrap(), want);
        for bad in [&b"{\"a\":"[..], b"[1,]", b"{} x", b"{\"a\":1,}"] {
            let (a, b) = (parse(bad).unwrap_err(), serde_json::from_slice::<Value>(bad).unwrap_err());
            assert_eq!((a.to_string(), a.line(), a.column()), (b.to_string(), b.line(), b.column()));
        }
    }
}
