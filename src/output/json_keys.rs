//! JSON inputs read strictly: a key given twice in one object is refused (serde and
//! `serde_json::Value` would silently keep the last one, so a hand-edited model file with two
//! `level` keys would answer at a level nobody meant). Files other tools write (Envoy config
//! dumps repeat `@type` with the same value) are held to the weaker rule that a repeated key
//! must repeat its value: then nothing is silently chosen.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Location, Result};

/// Refuse `text` (JSON read from `path`) when an object repeats a key; the error names the key
/// and its line. Malformed JSON is left to the caller's own parse, which says more.
pub fn check_unique_keys(path: &Path, text: &str) -> Result<()> {
    check(path, text, false)
}

/// Refuse `text` when an object repeats a key with another value (an exact repeat is
/// harmless): for files written by other tools.
pub fn check_consistent_keys(path: &Path, text: &str) -> Result<()> {
    check(path, text, true)
}

fn check(path: &Path, text: &str, same_value_allowed: bool) -> Result<()> {
    let mut de = serde_json::Deserializer::from_str(text);
    match (Walk { same_value_allowed }).deserialize(&mut de) {
        Err(e) if e.to_string().contains(TWICE) => Err(Error::parse(
            e.to_string().split(" at line").next().unwrap_or(TWICE).to_string(),
            Location::new(path, e.line()),
        )),
        _ => Ok(()),
    }
}

const TWICE: &str = "is given twice in one object";

/// Walks any JSON value, checking each object's keys; yields a structural hash of the value
/// (so repeated keys can be compared without keeping their values).
#[derive(Clone, Copy)]
struct Walk {
    same_value_allowed: bool,
}

fn hashed(tag: u8, value: impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tag.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<u64, E> {
        Ok(hashed(0, v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<u64, E> {
        Ok(hashed(1, v))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<u64, E> {
        Ok(hashed(2, v))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<u64, E> {
        Ok(hashed(3, v.to_bits()))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<u64, E> {
        Ok(hashed(4, v))
    }

    fn visit_unit<E>(self) -> std::result::Result<u64, E> {
        Ok(hashed(5, ()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<u64, A::Error> {
        let mut items = Vec::new();
        while let Some(h) = seq.next_element_seed(self)? {
            items.push(h);
        }
        Ok(hashed(6, items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<u64, A::Error> {
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            match seen.get(&key) {
                Some(&first) if !(self.same_value_allowed && first == value) => {
                    return Err(A::Error::custom(format!("key \"{key}\" {TWICE}")));
                }
                Some(_) => {}
                None => {
                    entries.push((key.clone(), value));
                    seen.insert(key, value);
                }
            }
        }
        Ok(hashed(7, entries))
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
    fn a_key_repeated_with_its_value_passes_only_the_weaker_check() {
        let text = "{\"@type\": \"x\", \"a\": [1, {\"b\": 2}],\n \"@type\": \"x\", \"a\": [1, {\"b\": 2}]}";
        check_consistent_keys(Path::new("d.json"), text).unwrap();
        assert!(check_unique_keys(Path::new("d.json"), text).is_err());
        let other = text.replacen("\"b\": 2}]}", "\"b\": 3}]}", 1);
        let e = check_consistent_keys(Path::new("d.json"), &other).unwrap_err().to_string();
        assert_eq!(e, "key \"a\" is given twice in one object (d.json:2)");
    }

    #[test]
    fn the_same_key_in_two_objects_is_fine() {
        check_unique_keys(Path::new("m.json"), "[{\"a\": 1}, {\"a\": 2, \"b\": [{\"a\": 3}]}]").unwrap();
    }
}
