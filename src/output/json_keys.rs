//! JSON inputs read strictly: a key given twice in one object is refused (serde and
//! `serde_json::Value` would silently keep the last one, so a hand-edited model file with two
//! `level` keys would answer at a level nobody meant).

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Location, Result};

/// Refuse `text` (JSON read from `path`) when an object repeats a key; the error names the key
/// and its line. Malformed JSON is left to the caller's own parse, which says more.
pub fn check_unique_keys(path: &Path, text: &str) -> Result<()> {
    let mut de = serde_json::Deserializer::from_str(text);
    match Walk.deserialize(&mut de) {
        Err(e) if e.to_string().contains(TWICE) => Err(Error::parse(
            e.to_string().split(" at line").next().unwrap_or(TWICE).to_string(),
            Location::new(path, e.line()),
        )),
        _ => Ok(()),
    }
}

const TWICE: &str = "is given twice in one object";

/// Walks any JSON value, checking each object's keys.
struct Walk;

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq.next_element_seed(Walk)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(A::Error::custom(format!("key \"{key}\" {TWICE}")));
            }
            map.next_value_seed(Walk)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_named_with_its_line() {
        let e = check_unique_keys(Path::new("m.json"), "{\"a\": 1,\n \"b\": {\"level\": 0.95,\n \"level\": 0.5}}")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "key \"level\" is given twice in one object (m.json:3)");
    }

    #[test]
    fn the_same_key_in_two_objects_is_fine() {
        check_unique_keys(Path::new("m.json"), "[{\"a\": 1}, {\"a\": 2, \"b\": [{\"a\": 3}]}]").unwrap();
    }
}
