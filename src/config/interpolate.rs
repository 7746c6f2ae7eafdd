//! `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$` in the config text, as vector's `config/vars.rs`
//! does it: interpolation happens before YAML parsing, and every problem is collected, not just the first.

/// Replaces variables in `input` using `lookup`. Returns the text, or every problem found.
/// Whole-line YAML comments are left alone, so documentation may mention `${VAR}`.
pub fn interpolate(
    input: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(input.len());
    let mut errors = Vec::new();
    for line in input.split_inclusive('\n') {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
        } else {
            interpolate_line(line, &lookup, &mut out, &mut errors);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn interpolate_line(
    line: &str,
    lookup: &impl Fn(&str) -> Option<String>,
    out: &mut String,
    errors: &mut Vec<String>,
) {
    let mut rest = line;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body.find('}') else {
            errors.push(format!(
                "unclosed `${{` near `${}`",
                body.chars().take(20).collect::<String>()
            ));
            out.push('$');
            rest = after;
            continue;
        };
        let expr = &body[..end];
        rest = &body[end + 1..];
        match expand(expr, lookup) {
            Ok(value) if value.contains('\n') => errors.push(format!(
                "`${{{expr}}}` expands to a value with a newline, which is not allowed"
            )),
            Ok(value) => out.push_str(&value),
            Err(e) => errors.push(e),
        }
    }
    out.push_str(rest);
}

fn expand(expr: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let (name, op) = match expr.find([':', '-', '?']) {
        Some(i) => (&expr[..i], &expr[i..]),
        None => (expr, ""),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`${{{expr}}}` is not a valid variable reference; names are letters, digits and _"
        ));
    }
    let value = lookup(name);
    // `:-`/`:?` treat an empty value as unset; `-`/`?` only an unset one (POSIX shell rules).
    let (strict, op) = match op.strip_prefix(':') {
        Some(op) => (true, op),
        None => (false, op),
    };
    let value = if strict {
        value.filter(|v| !v.is_empty())
    } else {
        value
    };
    if op.is_empty() && !strict {
        return value.ok_or_else(|| {
            format!(
                "environment variable `{name}` is not set; set it, or write `${{{name}:-default}}`"
            )
        });
    }
    if let Some(default) = op.strip_prefix('-') {
        return Ok(value.unwrap_or_else(|| default.to_owned()));
    }
    if let Some(message) = op.strip_prefix('?') {
        return value
            .ok_or_else(|| format!("environment variable `{name}` is required: {message}"));
    }
    Err(format!(
        "`${{{expr}}}`: unknown operator; use `${{VAR}}`, `${{VAR:-default}}` or `${{VAR:?message}}`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            "MULTI" => Some("a\nb".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_every_form() {
        assert_eq!(interpolate("a ${SET} b", env).unwrap(), "a value b");
        assert_eq!(interpolate("${UNSET:-dflt}", env).unwrap(), "dflt");
        assert_eq!(interpolate("${EMPTY:-dflt}", env).unwrap(), "dflt");
        assert_eq!(interpolate("${EMPTY-dflt}", env).unwrap(), "");
        assert_eq!(interpolate("${UNSET:-}", env).unwrap(), "");
        assert_eq!(
            interpolate("cost $$5 and $HOME", env).unwrap(),
            "cost $5 and $HOME"
        );
    }

    #[test]
    fn leaves_comment_lines_alone() {
        assert_eq!(
            interpolate("# ${UNSET} docs\nkey: ${SET}\n", env).unwrap(),
            "# ${UNSET} docs\nkey: value\n"
        );
    }

    #[test]
    fn collects_every_error() {
        let errors = interpolate(
            "${UNSET} ${NEEDED:?set the token} ${MULTI} ${bad name} ${open",
            env,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].contains("`UNSET` is not set"));
        assert!(errors[1].contains("set the token"));
        assert!(errors[2].contains("newline"));
        assert!(errors[3].contains("not a valid variable"));
        assert!(errors[4].contains("unclosed"));
    }
}
