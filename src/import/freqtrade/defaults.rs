//! The default values of a strategy's hyperoptable parameters, read from its Python source
//! (the copy Freqtrade puts beside a result): `fast = IntParameter(5, 30, default=10,
//! space="buy")` gives `fast` = 10. A backtest run without a parameter file used these values,
//! and the result does not record them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Freqtrade's parameter classes.
const KINDS: [&str; 5] = [
    "IntParameter",
    "DecimalParameter",
    "RealParameter",
    "CategoricalParameter",
    "BooleanParameter",
];

/// The spaces whose parameters are the run's (ROI, stoploss and trailing are settings the
/// result records itself).
const SPACES: [&str; 3] = ["buy", "sell", "protection"];

/// Each parameter of `source` in a kept space with a literal default: name → value. A
/// categorical parameter without a default takes its first choice, as Freqtrade does.
pub fn defaults(source: &str) -> BTreeMap<String, Value> {
    let mut found = BTreeMap::new();
    for line_start in line_starts(source) {
        let line = &source[line_start..];
        let Some((name, rest)) = assignment(line) else {
            continue;
        };
        let Some(kind) = KINDS.iter().find(|k| rest.starts_with(&format!("{k}("))) else {
            continue;
        };
        let Some(arguments) = call_arguments(&rest[kind.len()..]) else {
            continue;
        };
        let keyword = |key: &str| {
            arguments.iter().find_map(|a| {
                let (k, v) = a.split_once('=')?;
                (k.trim() == key).then(|| v.trim())
            })
        };
        let space = keyword("space").and_then(literal);
        let in_space = space
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|s| SPACES.contains(&s));
        if !in_space {
            continue;
        }
        let value = match keyword("default") {
            Some(text) => literal(text),
            None if *kind == "CategoricalParameter" => arguments
                .first()
                .filter(|a| !a.contains('='))
                .and_then(|choices| first_choice(choices)),
            None => None,
        };
        if let Some(value) = value.filter(|v| !v.is_null()) {
            found.insert(name.to_owned(), value);
        }
    }
    found
}

/// Where each line of `source` starts.
fn line_starts(source: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1))
}

/// `name = rest` at the start of an indented line: the name and what follows the `=`.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let trimmed = line.trim_start_matches([' ', '\t']);
    if trimmed.len() == line.len() {
        // Class attributes are indented; module-level names are not the strategy's.
        return None;
    }
    let end = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let (name, rest) = trimmed.split_at(end);
    let rest = rest.trim_start().strip_prefix('=')?;
    if name.is_empty() || rest.starts_with('=') {
        return None;
    }
    Some((name, rest.trim_start()))
}

/// The top-level arguments of the call whose `(` starts `text`, each as written without its
/// comments; `None` when the parentheses do not close.
fn call_arguments(text: &str) -> Option<Vec<String>> {
    let body = text.strip_prefix('(')?;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut start = 0;
    let mut arguments = Vec::new();
    let argument = |from: usize, to: usize, arguments: &mut Vec<String>| {
        // A comment inside the call ends at its line: what is left of the argument counts.
        let text: String = body[from..to]
            .lines()
            .map(|l| l.split_once('#').map_or(l, |(code, _)| code))
            .collect::<Vec<_>>()
            .join(" ");
        arguments.push(text.trim().to_owned());
    };
    for (i, c) in body.char_indices() {
        if comment {
            comment = c != '\n';
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '#' => comment = true,
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' if depth == 0 => {
                argument(start, i, &mut arguments);
                arguments.retain(|a| !a.is_empty());
                return Some(arguments);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                argument(start, i, &mut arguments);
                start = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// A Python literal as JSON: an int, float, string, bool or None (as null); `None` for
/// anything else (an expression, a name).
fn literal(text: &str) -> Option<Value> {
    let text = text.trim();
    match text {
        "True" => return Some(json!(true)),
        "False" => return Some(json!(false)),
        "None" => return Some(Value::Null),
        _ => {}
    }
    for q in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q))
            && !inner.contains(q)
            && !inner.contains('\\')
        {
            return Some(json!(inner));
        }
    }
    let digits = text.replace('_', "");
    if let Ok(i) = digits.parse::<i64>() {
        return Some(json!(i));
    }
    digits
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| json!(f))
}

/// The first element of a list literal of choices.
fn first_choice(choices: &str) -> Option<Value> {
    let inner = choices
        .trim()
        .strip_prefix(['[', '('])?
        .strip_suffix([']', ')'])?;
    let first = call_arguments(&format!("({inner})"))?.into_iter().next()?;
    literal(&first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_parameter_gives_its_default() {
        let source = r#"
from freqtrade.strategy import IStrategy, IntParameter

LIMIT = IntParameter(1, 2, default=1, space="buy")

class Strategy(IStrategy):
    stoploss = -0.1
    fast = IntParameter(5, 30, default=10, space="buy")
    ratio = DecimalParameter(0.95, 1.05, decimals=3, default=1.0, space='sell')
    band = RealParameter(0.1, 0.9, default=0.5, space="protection", optimize=True)
    mode = CategoricalParameter(["cross", "below"], space="sell")
    side = CategoricalParameter(("long", "short"), default="short", space="buy")
    use_volume = BooleanParameter(default=False, space="buy")
    slow = IntParameter(
        30, 120,
        default=60,  # a comment, (with parentheses)
        space="buy",
    )
    roi_step = IntParameter(1, 5, default=2, space="roi")
    computed = IntParameter(1, 5, default=LIMIT.value, space="buy")
"#;
        let found = defaults(source);
        let want = [
            ("band", json!(0.5)),
            ("fast", json!(10)),
            ("mode", json!("cross")),
            ("ratio", json!(1.0)),
            ("side", json!("short")),
            ("slow", json!(60)),
            ("use_volume", json!(false)),
        ];
        let want: BTreeMap<String, Value> =
            want.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(found, want);
    }
}
