//! Model terms: a predictor column raised to a power (`revisions`, `revisions^2`).
//!
//! Polynomial terms are built inside the solver from the exact f64 column values, in extended
//! precision: rounding `x^k` to f64 before the solve would cap an ill-conditioned fit such as
//! NIST's Filip at about 7.6 digits even with an exact solver.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Highest power accepted in a term (NIST's Filip needs 10).
pub const MAX_POWER: u32 = 10;

/// One predictor term: `column^power`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    /// The series column the term is built from.
    pub column: String,
    /// The exponent, 1 to [`MAX_POWER`].
    pub power: u32,
}

impl Term {
    /// A linear term.
    pub fn linear(column: &str) -> Self {
        Term { column: column.to_string(), power: 1 }
    }

    /// Parse `name` or `name^k`.
    pub fn parse(text: &str) -> Result<Term> {
        let text = text.trim();
        let (column, power) = match text.split_once('^') {
            None => (text, 1),
            Some((c, p)) => {
                let power: u32 = p.trim().parse().map_err(|_| {
                    Error::invalid(format!(
                        "term \"{text}\" has power \"{p}\", which is not a whole number from 1 to {MAX_POWER}"
                    ))
                })?;
                (c.trim(), power)
            }
        };
        if column.is_empty() {
            return Err(Error::invalid(format!("term \"{text}\" has no column name")));
        }
        if !(1..=MAX_POWER).contains(&power) {
            return Err(Error::invalid(format!("term \"{text}\" has power {power}; powers go from 1 to {MAX_POWER}")));
        }
        Ok(Term { column: column.to_string(), power })
    }

    /// Parse a comma-separated list, refusing repeats.
    pub fn parse_list(text: &str) -> Result<Vec<Term>> {
        let mut terms: Vec<Term> = Vec::new();
        for part in text.split(',') {
            let term = Term::parse(part)?;
            if terms.contains(&term) {
                return Err(Error::invalid(format!("term \"{term}\" is listed twice in \"{text}\"")));
            }
            terms.push(term);
        }
        Ok(terms)
    }

    /// Value of the term at a given column value.
    pub fn eval(&self, value: f64) -> f64 {
        value.powi(self.power as i32)
    }

    /// Derivative of the term with respect to its column value.
    pub fn derivative(&self, value: f64) -> f64 {
        match self.power {
            1 => 1.0,
            p => p as f64 * value.powi(p as i32 - 1),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.power {
            1 => write!(f, "{}", self.column),
            p => write!(f, "{}^{p}", self.column),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terms() {
        assert_eq!(Term::parse("revisions").unwrap(), Term::linear("revisions"));
        assert_eq!(Term::parse(" x ^ 10").unwrap(), Term { column: "x".into(), power: 10 });
        assert_eq!(Term::parse_list("x,x^2").unwrap().len(), 2);
        for bad in ["x^0", "x^11", "x^a", "^2", "", "x^-1"] {
            assert!(Term::parse(bad).is_err(), "{bad}");
        }
        assert!(Term::parse_list("x,x").is_err());
    }
}
