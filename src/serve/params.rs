//! Query strings read as the command line: each parameter is the CLI's long option of the same
//! name, parsed and checked by the same clap definitions, so a page, its JSON and the command
//! accept the same things and refuse them with the same words.

use clap::{CommandFactory, FromArgMatches, Parser};

/// The parameters of one request, in order; a page takes its own out before the rest become
/// a command's arguments.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

/// A parameter the command cannot take or a value it refuses: the message the CLI gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadParams(pub String);

/// A command's arguments with no program name, help or version flags: what a query holds.
#[derive(Debug, Parser)]
#[command(
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true
)]
struct Query<A: clap::Args> {
    #[command(flatten)]
    args: A,
}

impl Params {
    /// The pairs of a URL's query string (`+` and percent escapes decoded).
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Adds `name=value` at the end.
    pub fn push(&mut self, name: &str, value: &str) {
        self.0.push((name.to_owned(), value.to_owned()));
    }

    /// These parameters with each of `pairs` set, replacing its values.
    pub fn with_pairs(&self, pairs: &[(&str, &str)]) -> Self {
        let mut changed = self.clone();
        for (name, value) in pairs {
            changed.take(name);
            changed.push(name, value);
        }
        changed
    }

    /// Removes and returns every value of `name`.
    pub fn take(&mut self, name: &str) -> Vec<String> {
        let (taken, kept) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|(k, _)| k == name);
        self.0 = kept;
        taken.into_iter().map(|(_, v)| v).collect()
    }

    /// Removes `name` and returns its last non-empty value.
    pub fn take_one(&mut self, name: &str) -> Option<String> {
        self.take(name).into_iter().rfind(|v| !v.is_empty())
    }

    /// The first value of `name`, left in place.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` was given at all, even empty.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Sets `name` to `value` unless it has a non-empty value already.
    pub fn default(&mut self, name: &str, value: &str) {
        if self.get(name).is_none() {
            self.0.retain(|(k, _)| k != name);
            self.0.push((name.to_owned(), value.to_owned()));
        }
    }

    /// Fails on the first parameter left, naming the `known` ones.
    pub fn finish(&self, known: &[&str]) -> Result<(), BadParams> {
        match self.0.first() {
            Some((name, _)) => Err(BadParams(format!(
                "unknown parameter `{name}`; known: {}",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// The query string of these parameters (empty values left out).
    pub fn query(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.0.iter().filter(|(_, v)| !v.is_empty()) {
            out.append_pair(k, v);
        }
        out.finish()
    }

    /// The query string with `name` set to `value` (or removed, for `None`): the link to
    /// another page of the same view.
    pub fn with(&self, name: &str, value: Option<&str>) -> String {
        let mut changed = self.clone();
        changed.take(name);
        if let Some(value) = value {
            changed.0.push((name.to_owned(), value.to_owned()));
        }
        changed.query()
    }

    /// The command's arguments: `positional` first, then each parameter as `--name=value`
    /// (a flag as `--name` when its value is empty, `true`, `on`, `yes` or `1`; left out for
    /// `false`, `off`, `no` or `0`). An empty value is no value, as an empty form field is.
    /// `refused` names options that have no place in a request (those that write files).
    pub fn args<A: clap::Args + FromArgMatches>(
        &self,
        positional: &[String],
        refused: &[&str],
    ) -> Result<A, BadParams> {
        let command = Query::<A>::command();
        let mut argv: Vec<String> = positional.to_vec();
        for (name, value) in &self.0 {
            let arg = command
                .get_arguments()
                .find(|a| a.get_long() == Some(name.as_str()))
                .filter(|_| !refused.contains(&name.as_str()));
            let Some(arg) = arg else {
                let known: Vec<&str> = command
                    .get_arguments()
                    .filter_map(|a| a.get_long())
                    .filter(|l| !refused.contains(l))
                    .collect();
                return Err(BadParams(if refused.contains(&name.as_str()) {
                    format!("`{name}` writes a file on the server; it is the command line's only")
                } else {
                    format!("unknown parameter `{name}`; known: {}", known.join(", "))
                }));
            };
            if arg.get_action().takes_values() {
                if !value.is_empty() {
                    argv.push(format!("--{name}={value}"));
                }
            } else {
                match value.to_ascii_lowercase().as_str() {
                    "" | "true" | "on" | "yes" | "1" => argv.push(format!("--{name}")),
                    "false" | "off" | "no" | "0" => {}
                    _ => {
                        return Err(BadParams(format!(
                            "`{name}` is true or false, not `{value}`"
                        )));
                    }
                }
            }
        }
        Query::<A>::try_parse_from(argv)
            .map(|q| q.args)
            .map_err(|e| BadParams(first_line(&e.render().to_string())))
    }
}

/// clap's error without its usage lines and `error:` prefix, with `--name` spelled as the
/// parameter a query gives.
fn first_line(rendered: &str) -> String {
    let line = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("the parameters are not valid");
    line.trim_start_matches("error: ").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::rank;

    #[test]
    fn parameters_are_the_long_options() {
        let params = Params::parse(Some("metric=cagr&by=mean&tag=a&tag=b&top=5&where="));
        let args: rank::Args = params.args(&[], &[]).expect("valid");
        assert_eq!(args.metric, "cagr");
        assert_eq!(args.top, 5);
        assert!(!args.runs);
        assert_eq!(args.filter.tags, ["a", "b"]);
        assert_eq!(args.filter.condition, None);
    }

    #[test]
    fn flags_take_true_or_false() {
        let on: rank::Args = Params::parse(Some("runs=on")).args(&[], &[]).expect("on");
        assert!(on.runs);
        let bare: rank::Args = Params::parse(Some("runs")).args(&[], &[]).expect("bare");
        assert!(bare.runs);
        let off: rank::Args = Params::parse(Some("runs=false"))
            .args(&[], &[])
            .expect("off");
        assert!(!off.runs);
        let bad = Params::parse(Some("runs=maybe")).args::<rank::Args>(&[], &[]);
        assert_eq!(
            bad.expect_err("refused").0,
            "`runs` is true or false, not `maybe`"
        );
    }

    #[test]
    fn refusals_are_one_line_naming_the_parameter() {
        let unknown = Params::parse(Some("metrik=x")).args::<rank::Args>(&[], &[]);
        let message = unknown.expect_err("unknown").0;
        assert!(
            message.starts_with("unknown parameter `metrik`; known: metric, by"),
            "{message}"
        );
        let bad = Params::parse(Some("top=-3")).args::<rank::Args>(&[], &[]);
        let message = bad.expect_err("negative").0;
        assert!(
            message.contains("'--top <K>'") && !message.contains('\n'),
            "{message}"
        );
        let values = Params::parse(Some("metric=-sharpe")).args::<rank::Args>(&[], &[]);
        assert_eq!(values.expect("a value, not a flag").metric, "-sharpe");
    }
}
