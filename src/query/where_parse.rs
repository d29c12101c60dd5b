//! The `--where` language: comparisons of metrics and parameters joined by `and`, `or`, `not`
//! and parentheses, e.g. `sharpe > 1 and params.fast = 10 and n_trades >= 30`.
//!
//! ```text
//! expr       := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := field op value
//! field      := metric-name | params.key | params."any key"
//! op         := = | == | != | <> | < | <= | > | >=
//! value      := number | 'text' | "text" | true | false
//! ```
//!
//! The parser only builds a tree; `filter` turns it into Diesel expressions with bound values.
//! The tree's depth is bounded, since everything that walks it (this parser, `filter`, Diesel's
//! query builder) recurses: parentheses and `not` nest at most [`MAX_DEPTH`] deep, an
//! expression holds at most [`MAX_TERMS`] comparisons, and chains of `and`/`or` become balanced
//! trees, so a hundred terms add seven levels, not a hundred.

use std::fmt;

use thiserror::Error;

/// How deep parentheses and `not` may nest.
pub const MAX_DEPTH: usize = 32;

/// How many comparisons one expression may hold. Each becomes a subquery, and PostgreSQL's
/// time for `rank`'s plan grows faster than their number (2 s for 100 on a small database).
pub const MAX_TERMS: usize = 100;

/// A parsed `--where` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Comparison),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub field: Field,
    pub op: Op,
    pub value: Value,
}

/// What a comparison reads: a metric of the run, or one of its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Metric(String),
    Param(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A literal; numbers keep their text so that parameters compare exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(String),
    Text(String),
    Bool(bool),
}

/// A syntax error, with the 1-based column of the offending token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("--where at column {column}: {message}")]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// `params.` followed by a quoted key.
    QuotedParam(String),
    Number(String),
    Text(String),
    Op(Op),
    Open,
    Close,
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(s) | Token::Number(s) => write!(f, "`{s}`"),
            Token::QuotedParam(s) => write!(f, "`params.{s:?}`"),
            Token::Text(s) => write!(f, "`'{s}'`"),
            Token::Op(op) => write!(f, "`{op}`"),
            Token::Open => f.write_str("`(`"),
            Token::Close => f.write_str("`)`"),
            Token::End => f.write_str("the end"),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => f.write_str(n),
            Value::Text(t) => write!(f, "'{}'", t.replace('\'', "''")),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Parses a `--where` expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        terms: 0,
    };
    let expr = parser.or()?;
    match parser.peek() {
        Token::End => Ok(expr),
        token => Err(parser.error(format!("expected `and`, `or` or the end, found {token}"))),
    }
}

impl Expr {
    /// Every field the expression reads, in order of appearance.
    pub fn fields(&self) -> Vec<&Field> {
        self.comparisons().into_iter().map(|c| &c.field).collect()
    }

    /// Every comparison, in order of appearance.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        let mut out = Vec::new();
        self.visit(&mut |c| out.push(c));
        out
    }

    /// The metric names the expression reads, in order of appearance.
    pub fn metrics(&self) -> Vec<&str> {
        self.fields()
            .into_iter()
            .filter_map(|f| match f {
                Field::Metric(name) => Some(name.as_str()),
                Field::Param(_) => None,
            })
            .collect()
    }

    /// The parameter names the expression reads, in order of appearance.
    pub fn params(&self) -> Vec<&str> {
        self.fields()
            .into_iter()
            .filter_map(|f| match f {
                Field::Param(key) => Some(key.as_str()),
                Field::Metric(_) => None,
            })
            .collect()
    }

    fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Comparison)) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::Not(a) => a.visit(f),
            Expr::Compare(c) => f(c),
        }
    }
}

/// Tokens with the 1-based column each starts at.
fn lex(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let error = |column: usize, message: String| ParseError { column, message };
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = match c {
            '(' => {
                i += 1;
                Token::Open
            }
            ')' => {
                i += 1;
                Token::Close
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('=', Some('=')) => (Op::Eq, 2),
                    ('=', _) => (Op::Eq, 1),
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('<', Some('>')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('>', _) => (Op::Gt, 1),
                    _ => return Err(error(column, "`!` must be followed by `=`".into())),
                };
                i += len;
                Token::Op(op)
            }
            '\'' | '"' => {
                let (text, next) = quoted(&chars, i).ok_or_else(|| {
                    error(column, format!("string starting with {c} is not closed"))
                })?;
                i = next;
                Token::Text(text)
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || chars[i] == '.'
                        || ((chars[i] == '-' || chars[i] == '+')
                            && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let number: String = chars[start..i].iter().collect();
                if !is_number(&number) {
                    return Err(error(column, format!("`{number}` is not a number")));
                }
                Token::Number(number.trim_start_matches('+').to_owned())
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word == "params." && matches!(chars.get(i), Some('\'' | '"')) {
                    let (key, next) = quoted(&chars, i).ok_or_else(|| {
                        error(i + 1, "parameter name in quotes is not closed".into())
                    })?;
                    i = next;
                    Token::QuotedParam(key)
                } else {
                    Token::Ident(word)
                }
            }
            // What other languages join conditions with.
            '&' | '|' => {
                let (word, written) = if c == '&' {
                    ("and", "&&")
                } else {
                    ("or", "||")
                };
                let written = if chars.get(i + 1) == Some(&c) {
                    written
                } else {
                    &written[..1]
                };
                return Err(error(
                    column,
                    format!("`{written}` is not an operator here: use `{word}`"),
                ));
            }
            other => {
                return Err(error(
                    column,
                    format!("unexpected character {:?}", other.to_string()),
                ));
            }
        };
        tokens.push((token, column));
    }
    tokens.push((Token::End, chars.len() + 1));
    Ok(tokens)
}

/// A string in `'…'` or `"…"` starting at `start`, a doubled quote standing for one; the text
/// and the index after the closing quote.
fn quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                text.push(quote);
                i += 2;
                continue;
            }
            return Some((text, i + 1));
        }
        text.push(chars[i]);
        i += 1;
    }
    None
}

/// A number as JSON writes it, so that it binds as a JSON value unchanged.
fn is_number(text: &str) -> bool {
    serde_json::from_str::<serde_json::Number>(text.strip_prefix('+').unwrap_or(text)).is_ok()
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    /// Parentheses and `not` open around the current token.
    depth: usize,
    /// Comparisons read so far.
    terms: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos].0
    }

    fn next(&mut self) -> Token {
        let token = self.tokens[self.pos].0.clone();
        if token != Token::End {
            self.pos += 1;
        }
        token
    }

    fn error(&self, message: String) -> ParseError {
        ParseError {
            column: self.tokens[self.pos].1,
            message,
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Ident(w) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut operands = vec![self.and()?];
        while self.keyword("or") {
            self.next();
            operands.push(self.and()?);
        }
        Ok(balanced(operands, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut operands = vec![self.unary()?];
        while self.keyword("and") {
            self.next();
            operands.push(self.unary()?);
        }
        Ok(balanced(operands, Expr::And))
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let not = self.keyword("not");
        if !not && *self.peek() != Token::Open {
            return self.comparison();
        }
        if self.depth == MAX_DEPTH {
            return Err(self.error(format!(
                "parentheses and `not` nest more than {MAX_DEPTH} deep; simplify the condition"
            )));
        }
        self.depth += 1;
        self.next();
        let inner = if not {
            Expr::Not(Box::new(self.unary()?))
        } else {
            let inner = self.or()?;
            if *self.peek() != Token::Close {
                return Err(self.error(format!("expected `)`, found {}", self.peek())));
            }
            self.next();
            inner
        };
        self.depth -= 1;
        Ok(inner)
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        if self.terms == MAX_TERMS {
            return Err(self.error(format!(
                "more than {MAX_TERMS} comparisons; narrow the condition or split the command"
            )));
        }
        self.terms += 1;
        let field = match self.peek().clone() {
            Token::Ident(word) if is_keyword(&word) => {
                return Err(self.error(format!("expected a metric or params.NAME, found `{word}`")));
            }
            Token::Ident(word) => match word.strip_prefix("params.") {
                Some("") => return Err(self.error("`params.` needs a parameter name".into())),
                Some(key) => Field::Param(key.to_owned()),
                None => Field::Metric(word),
            },
            Token::QuotedParam(key) => Field::Param(key),
            token => {
                return Err(self.error(format!("expected a metric or params.NAME, found {token}")));
            }
        };
        self.next();
        let op = match self.peek() {
            Token::Op(op) => *op,
            token => {
                return Err(self.error(format!(
                    "expected one of = != < <= > >= after the field, found {token}"
                )));
            }
        };
        self.next();
        let value = match self.peek().clone() {
            Token::Number(n) => Value::Number(n),
            Token::Text(t) => Value::Text(t),
            Token::Ident(w) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Token::Ident(w) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            token => {
                return Err(self.error(format!(
                    "expected a number, a 'quoted' string, true or false, found {token}"
                )));
            }
        };
        if let Field::Metric(name) = &field
            && !matches!(value, Value::Number(_))
        {
            return Err(self.error(format!(
                "metric `{name}` compares with a number, not {value}"
            )));
        }
        if matches!(value, Value::Bool(_)) && !matches!(op, Op::Eq | Op::Ne) {
            return Err(self.error(format!("true and false compare with = or !=, not {op}")));
        }
        self.next();
        Ok(Expr::Compare(Comparison { field, op, value }))
    }
}

/// `a op b op c op d` as `(a op b) op (c op d)`: the same meaning (and, or are associative),
/// and a depth that grows with the logarithm of the chain's length.
fn balanced(mut operands: Vec<Expr>, op: fn(Box<Expr>, Box<Expr>) -> Expr) -> Expr {
    if operands.len() == 1 {
        return operands.pop().expect("one operand");
    }
    let right = operands.split_off(operands.len() / 2);
    op(
        Box::new(balanced(operands, op)),
        Box::new(balanced(right, op)),
    )
}

fn is_keyword(word: &str) -> bool {
    ["and", "or", "not", "true", "false"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: Field, op: Op, value: Value) -> Expr {
        Expr::Compare(Comparison { field, op, value })
    }

    fn metric(name: &str, op: Op, n: &str) -> Expr {
        cmp(Field::Metric(name.into()), op, Value::Number(n.into()))
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let parsed = parse("sharpe > 1 or n_trades >= 30 and params.fast = 10").unwrap();
        let expected = Expr::Or(
            Box::new(metric("sharpe", Op::Gt, "1")),
            Box::new(Expr::And(
                Box::new(metric("n_trades", Op::Ge, "30")),
                Box::new(cmp(
                    Field::Param("fast".into()),
                    Op::Eq,
                    Value::Number("10".into()),
                )),
            )),
        );
        assert_eq!(parsed, expected);
    }

    #[test]
    fn parentheses_not_and_literals() {
        let parsed =
            parse("NOT (params.kind == 'e''ma' OR params.\"odd key\" <> true) AND x.y <= -1.5e-3")
                .unwrap();
        let expected = Expr::And(
            Box::new(Expr::Not(Box::new(Expr::Or(
                Box::new(cmp(
                    Field::Param("kind".into()),
                    Op::Eq,
                    Value::Text("e'ma".into()),
                )),
                Box::new(cmp(
                    Field::Param("odd key".into()),
                    Op::Ne,
                    Value::Bool(true),
                )),
            )))),
            Box::new(metric("x.y", Op::Le, "-1.5e-3")),
        );
        assert_eq!(parsed, expected);
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let cases = [
            ("sharpe > and", 10, "expected a number"),
            ("sharpe 1", 8, "expected one of ="),
            (
                "sharpe > 1 n_trades > 2",
                12,
                "expected `and`, `or` or the end",
            ),
            ("(sharpe > 1", 12, "expected `)`, found the end"),
            ("sharpe > 'high'", 10, "compares with a number"),
            ("params.x > true", 12, "compare with = or !="),
            (
                "sharpe > 1 and",
                15,
                "expected a metric or params.NAME, found the end",
            ),
            ("sharpe > 1.2.3", 10, "`1.2.3` is not a number"),
            ("sharpe > .5", 10, "`.5` is not a number"),
            ("params.k = 'open", 12, "not closed"),
            ("sharpe ! 1", 8, "`!` must be followed by `=`"),
            (
                "sharpe > 1; drop table runs",
                11,
                "unexpected character \";\"",
            ),
            ("params. = 1", 1, "needs a parameter name"),
            ("", 1, "found the end"),
            (
                "sharpe > 1 && n_trades > 2",
                12,
                "`&&` is not an operator here: use `and`",
            ),
            (
                "sharpe > 1 || n_trades > 2",
                12,
                "`||` is not an operator here: use `or`",
            ),
            (
                "sharpe > 1 | n_trades > 2",
                12,
                "`|` is not an operator here: use `or`",
            ),
        ];
        for (text, column, fragment) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(err.column, column, "{text}: {err}");
            assert!(err.to_string().contains(fragment), "{text}: {err}");
        }
    }

    fn depth(expr: &Expr) -> usize {
        match expr {
            Expr::And(a, b) | Expr::Or(a, b) => 1 + depth(a).max(depth(b)),
            Expr::Not(a) => 1 + depth(a),
            Expr::Compare(_) => 1,
        }
    }

    #[test]
    fn nesting_is_bounded_and_reported_where_it_passes_the_bound() {
        let at_bound = format!(
            "{}sharpe > 1{}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(parse(&at_bound).is_ok());
        // 30,000 parentheses once overflowed the stack; now the 33rd is refused.
        let deep = format!("{}sharpe > 1{}", "(".repeat(30_000), ")".repeat(30_000));
        let err = parse(&deep).expect_err("too deep");
        assert_eq!(err.column, MAX_DEPTH + 1, "{err}");
        assert!(err.to_string().contains("nest more than 32 deep"), "{err}");
        let nots = format!("{}sharpe > 1", "not ".repeat(100_000));
        let err = parse(&nots).expect_err("too deep");
        assert_eq!(err.column, 4 * MAX_DEPTH + 1, "{err}");
        let mixed = format!("{}sharpe > 1", "not (".repeat(20));
        assert_eq!(parse(&mixed).expect_err("too deep").column, 5 * 16 + 1);
    }

    #[test]
    fn terms_are_bounded_and_long_chains_are_balanced() {
        let chain = |n: usize, op: &str| {
            (0..n)
                .map(|i| format!("m{i} > {i}"))
                .collect::<Vec<_>>()
                .join(op)
        };
        let parsed = parse(&chain(MAX_TERMS, " and ")).expect("at the bound");
        assert_eq!(parsed.fields().len(), MAX_TERMS);
        // ⌈log2 100⌉ = 7 levels of `and` above the comparisons.
        assert_eq!(depth(&parsed), 8);
        let names: Vec<String> = (0..MAX_TERMS).map(|i| format!("m{i}")).collect();
        assert_eq!(parsed.metrics(), names, "order of the terms kept");
        assert_eq!(depth(&parse(&chain(MAX_TERMS, " or ")).expect("or")), 8);
        let text = chain(MAX_TERMS + 1, " or ");
        let err = parse(&text).expect_err("one term too many");
        let last = text.rfind('m').expect("a last term") + 1;
        assert_eq!(err.column, last, "{err}");
        assert!(
            err.to_string().contains("more than 100 comparisons"),
            "{err}"
        );
    }

    #[test]
    fn fields_lists_metrics_and_params() {
        let parsed = parse("a > 1 and (params.b = 2 or not c < 3)").unwrap();
        assert_eq!(
            parsed.fields(),
            [
                &Field::Metric("a".into()),
                &Field::Param("b".into()),
                &Field::Metric("c".into())
            ]
        );
        assert_eq!(parsed.metrics(), ["a", "c"]);
        assert_eq!(parsed.params(), ["b"]);
    }
}
