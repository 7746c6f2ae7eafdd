//! `destinations[].filter` conditions (CONTRACT §2/§5): a plain value means "equals"; an object holds one or
//! more operators (`in`, `not`, `matches`, `>`, `>=`, `<`, `<=`, `exists`), all of which must hold.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One operator of a filter condition.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterOp {
    Equals(Value),
    In(Vec<Value>),
    Not(Value),
    Matches(String),
    Gt(f64),
    Ge(f64),
    Lt(f64),
    Le(f64),
    Exists(bool),
}

/// The condition on one dotted path: every op must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(pub Vec<FilterOp>);

const OPERATORS: &str = "in, not, matches, >, >=, <, <=, exists";

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_condition(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

fn parse_condition(v: Value) -> Result<Condition, String> {
    let map = match v {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err(
                "a list is not a value to compare with; write `{in: [a, b]}` to match any of them"
                    .into(),
            );
        }
        plain => return Ok(Condition(vec![FilterOp::Equals(plain)])),
    };
    if map.is_empty() {
        return Err(format!(
            "an empty condition; use one of the operators {OPERATORS}"
        ));
    }
    map.into_iter()
        .map(|(op, arg)| {
            let number = |arg: &Value| {
                arg.as_f64()
                    .ok_or_else(|| format!("`{op}` compares numbers, and `{arg}` is not a number"))
            };
            Ok(match op.as_str() {
                "in" => match arg {
                    Value::Array(items) => FilterOp::In(items),
                    other => return Err(format!("`in` takes a list, not `{other}`")),
                },
                "not" => FilterOp::Not(arg),
                "matches" => match arg {
                    Value::String(re) => {
                        regex::Regex::new(&re)
                            .map_err(|e| format!("`matches`: invalid regular expression: {e}"))?;
                        FilterOp::Matches(re)
                    }
                    other => {
                        return Err(format!(
                            "`matches` takes a regular expression string, not `{other}`"
                        ));
                    }
                },
                ">" => FilterOp::Gt(number(&arg)?),
                ">=" => FilterOp::Ge(number(&arg)?),
                "<" => FilterOp::Lt(number(&arg)?),
                "<=" => FilterOp::Le(number(&arg)?),
                "exists" => match arg {
                    Value::Bool(b) => FilterOp::Exists(b),
                    other => return Err(format!("`exists` takes true or false, not `{other}`")),
                },
                other => {
                    return Err(format!(
                        "unknown operator `{other}`; use one of {OPERATORS}"
                    ));
                }
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Condition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_operator() {
        let c = parse_condition(json!({"in": ["a"], "not": "b", "matches": "^R", ">": 1, ">=": 2, "<": 3, "<=": 4, "exists": true}))
            .unwrap();
        assert_eq!(c.0.len(), 8);
        assert_eq!(
            parse_condition(json!("kids")).unwrap(),
            Condition(vec![FilterOp::Equals(json!("kids"))])
        );
    }

    #[test]
    fn rejects_bad_conditions_with_the_fix() {
        assert!(
            parse_condition(json!({"like": "x"}))
                .unwrap_err()
                .contains("unknown operator `like`")
        );
        assert!(
            parse_condition(json!({"matches": "("}))
                .unwrap_err()
                .contains("invalid regular expression")
        );
        assert!(
            parse_condition(json!({">=": "2000"}))
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            parse_condition(json!([1, 2]))
                .unwrap_err()
                .contains("{in: [a, b]}")
        );
    }
}
