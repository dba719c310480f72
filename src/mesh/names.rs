//! Kubernetes names: what may stand where a namespace or an object name goes.
//!
//! A name written into emitted YAML must be one Kubernetes accepts, and nothing else: a name
//! holding `#`, a space or a newline would otherwise read back as something else (`shop #x`
//! as `shop`, a newline as an extra key). The rules are Kubernetes' own
//! (kubernetes/kubernetes `staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`,
//! `IsDNS1123Label` and `IsDNS1123Subdomain`): a namespace is a DNS-1123 label, an object name
//! (and a Service host) a DNS-1123 subdomain.

use crate::error::{Error, Result};

/// Longest DNS-1123 label (`DNS1123LabelMaxLength`).
pub const LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain (`DNS1123SubdomainMaxLength`).
pub const SUBDOMAIN_MAX: usize = 253;

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_label(s: &str) -> bool {
    s.len() <= LABEL_MAX && label_shape(s)
}

/// Labels joined by `.`, at most 253 characters (each part has the label's shape, without the
/// label's own 63 cap).
pub fn is_subdomain(s: &str) -> bool {
    s.len() <= SUBDOMAIN_MAX && s.split('.').all(label_shape)
}

/// Alphanumeric (lower case) at both ends, alphanumeric or `-` between; not empty.
fn label_shape(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    b.first().is_some_and(alnum) && b.last().is_some_and(alnum) && b.iter().all(|c| alnum(c) || *c == b'-')
}

/// Refuse `name` unless it is a namespace name (a DNS-1123 label), in one line naming it.
pub fn namespace(name: &str) -> Result<&str> {
    if is_label(name) {
        return Ok(name);
    }
    Err(Error::invalid(format!(
        "namespace {name:?} is not a Kubernetes name (DNS-1123 label: at most 63 of a-z, 0-9 and '-', starting and ending alphanumeric)"
    )))
}

/// Refuse `name` unless it is an object name (a DNS-1123 subdomain), in one line naming it.
pub fn object(name: &str) -> Result<&str> {
    if is_subdomain(name) {
        return Ok(name);
    }
    Err(Error::invalid(format!(
        "name {name:?} is not a Kubernetes name (DNS-1123 subdomain: at most 253 of a-z, 0-9, '-' and '.', each part starting and ending alphanumeric)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cases from kubernetes/kubernetes `validation_test.go` (`TestIsDNS1123Label`,
    /// `TestIsDNS1123Subdomain`): good and bad names as Kubernetes lists them.
    #[test]
    fn names_as_kubernetes_validates_them() {
        for good in ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "0-1", &"a".repeat(63)] {
            assert!(is_label(good), "{good}");
            assert!(is_subdomain(good), "{good}");
        }
        for bad in [
            "",
            "A",
            "ABC",
            "aBc",
            "A1",
            "A-1",
            "1-A",
            "-",
            "a-",
            "-a",
            "1-",
            "-1",
            "_",
            "a_",
            "_a",
            "a_b",
            "1_",
            "_1",
            "1_2",
            ".",
            "a.",
            ".a",
            "a.b",
            "1.",
            ".1",
            "1.2",
            " ",
            "a ",
            " a",
            "a b",
            "1 ",
            " 1",
            "1 2",
            &"a".repeat(64),
        ] {
            assert!(!is_label(bad), "{bad:?}");
        }
        for good in
            ["a.a", "ab.a", "a-1.a", "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55", &"a".repeat(253)]
        {
            assert!(is_subdomain(good), "{good}");
        }
        for bad in [
            "A.a",
            "aB.a",
            "ab.A",
            "A1.a",
            "a1.A",
            "a.",
            ".a",
            "a..b",
            "a-.b",
            "a.-b",
            "a_.b",
            "a.b_",
            "a b.c",
            "shop #x",
            "shop\nkind: x",
            &"a".repeat(254),
        ] {
            assert!(!is_subdomain(bad), "{bad:?}");
        }
        let e = namespace("shop #x").unwrap_err().to_string();
        assert!(e.contains("\"shop #x\"") && !e.contains('\n'), "{e}");
        assert!(object("bad\nname").unwrap_err().to_string().contains("\"bad\\nname\""));
    }
}
