//! The objects of kubectl JSON files: Lists flattened, typed lists' items given their kind,
//! each file's tree parsed lean ([`super::lean`]). Shared by the topology import
//! ([`super::inventory`]) and by `--pods-file`, which needs the proxies' settings alone
//! ([`settings_of`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::settings::{self, Settings};
use crate::error::{Error, Result};

/// Objects of one file, flattened out of List wrappers. Items of a typed list without their
/// own `kind` (what `kubectl get --raw /api/v1/services` returns) take it from the list:
/// `ServiceList` items are `Service`s of the list's apiVersion.
fn items(path: &Path, v: Value, inherited: Option<(&str, &str)>, out: &mut Vec<Value>) -> Result<()> {
    match v {
        Value::Array(a) => {
            for x in a {
                items(path, x, inherited, out)?;
            }
        }
        Value::Object(mut m) => {
            let list_kind = m.get("kind").and_then(Value::as_str).map(str::to_string);
            let is_list = matches!(m.get("items"), Some(Value::Array(_)))
                && list_kind.as_deref().is_none_or(|k| k.ends_with("List"));
            if is_list {
                let kind = list_kind.as_deref().and_then(|k| k.strip_suffix("List")).filter(|k| !k.is_empty());
                let api = m.get("apiVersion").and_then(Value::as_str).unwrap_or("v1").to_string();
                // Moved out of the list, not copied: an import holds each object once.
                let Some(Value::Array(a)) = m.remove("items") else { unreachable!("checked above") };
                for x in a {
                    items(path, x, kind.map(|k| (k, api.as_str())), out)?;
                }
            } else if m.contains_key("kind") {
                out.push(Value::Object(m));
            } else {
                match inherited {
                    Some((kind, api)) if m.contains_key("metadata") => {
                        m.insert("kind".into(), Value::String(kind.into()));
                        m.entry("apiVersion").or_insert_with(|| Value::String(api.into()));
                        out.push(Value::Object(m));
                    }
                    _ => {
                        return Err(Error::data(
                            "expected Kubernetes objects: a List with \"items\" or objects with \"kind\"",
                            path,
                        ))
                    }
                }
            }
        }
        _ => return Err(Error::data("expected a JSON object (a List or a Kubernetes object)", path)),
    }
    Ok(())
}

/// The objects of several files, each tree parsed lean ([`lean`]) and its objects moved out.
pub(super) fn objects_of(files: &[(PathBuf, Vec<u8>)]) -> Result<Vec<(&PathBuf, Value)>> {
    let mut owned = Vec::new();
    for (path, bytes) in files {
        let v =
            super::lean::parse(bytes).map_err(|e| Error::data(crate::import::json_error_message(bytes, &e), path))?;
        crate::output::check_consistent_keys(path, &String::from_utf8_lossy(bytes))?;
        let mut out = Vec::new();
        items(path, v, None, &mut out)?;
        owned.extend(out.into_iter().map(|o| (path, o)));
    }
    Ok(owned)
}

/// How the proxies of a pods file run (Pods, Nodes, the mesh config), with no topology to
/// join: what `--pods-file` reads.
pub fn settings_of(files: &[(PathBuf, Vec<u8>)]) -> Result<Settings> {
    let owned = objects_of(files)?;
    let objects: Vec<(&PathBuf, &Value)> = owned.iter().map(|(p, o)| (*p, o)).collect();
    settings::read(&objects, &mut Vec::new())
}
