//! The compare basket: runs picked on any page, carried in the URL as `pick=ID` so that it
//! needs no cookie and no script. Every link and form of a page that picks carries it on; the
//! bar at the top lists the picked runs, each with a link that drops it, and opens them side
//! by side (`/side-by-side?id=…`).

use anyhow::Result;
use maud::{Markup, html};

use crate::models::RunId;
use crate::report::side_by_side::MAX_RUNS;
use crate::serve::answers;
use crate::serve::params::Params;

/// The parameter that carries the basket.
pub const PICK: &str = "pick";

/// The runs picked so far, in the order picked, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Basket(Vec<RunId>);

impl From<&[RunId]> for Basket {
    fn from(ids: &[RunId]) -> Self {
        Self(ids.to_vec())
    }
}

impl Basket {
    /// Takes the basket out of `params` (a bad id is the request's error).
    pub fn take(params: &mut Params) -> Result<Self> {
        Ok(Self::of(answers::ids(&params.take(PICK))?))
    }

    /// The runs `name` carries in `query`, ids that are no number passed over: what a page's
    /// frame carries on, before the page reads (and checks) its query.
    pub fn peek(query: Option<&str>, name: &str) -> Self {
        let ids = Params::parse(query)
            .take(name)
            .iter()
            .filter_map(|id| id.parse().ok().map(RunId))
            .collect();
        Self::of(ids)
    }

    /// `ids` in the order given, each once, as many as a comparison holds.
    fn of(mut ids: Vec<RunId>) -> Self {
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        ids.truncate(MAX_RUNS);
        Self(ids)
    }

    pub fn ids(&self) -> &[RunId] {
        &self.0
    }

    pub fn contains(&self, id: RunId) -> bool {
        self.0.contains(&id)
    }

    pub fn is_full(&self) -> bool {
        self.0.len() >= MAX_RUNS
    }

    /// The basket with `id` added at the end (unchanged when full or already in).
    pub fn with(&self, id: RunId) -> Self {
        let mut ids = self.0.clone();
        if !ids.contains(&id) && ids.len() < MAX_RUNS {
            ids.push(id);
        }
        Self(ids)
    }

    /// The basket without `id`.
    pub fn without(&self, id: RunId) -> Self {
        Self(self.0.iter().copied().filter(|i| *i != id).collect())
    }

    /// `params` with this basket in them: the query string of a link that keeps it.
    pub fn query(&self, params: &Params) -> String {
        let mut p = params.clone();
        p.take(PICK);
        for id in &self.0 {
            p.push(PICK, &id.to_string());
        }
        p.query()
    }

    /// The link to run `id`'s page, keeping the basket.
    pub fn run_href(&self, id: RunId) -> String {
        match self.0.is_empty() {
            true => format!("/runs/{id}"),
            false => format!("/runs/{id}?{}", self.query(&Params::parse(None))),
        }
    }

    /// The link to strategy `name`'s page, keeping the basket.
    pub fn strategy_href(&self, name: &str) -> String {
        let path = format!("/strategies/{}", super::segment(name));
        match self.0.is_empty() {
            true => path,
            false => format!("{path}?{}", self.query(&Params::parse(None))),
        }
    }

    /// The basket as hidden fields: a form submitted keeps it.
    pub fn fields(&self) -> Markup {
        html! { @for id in &self.0 { input type="hidden" name=(PICK) value=(id); } }
    }

    /// `/side-by-side` of these runs, or of these runs and `more`.
    pub fn side_by_side(ids: &[RunId]) -> String {
        let mut p = Params::parse(None);
        for id in ids {
            p.push("id", &id.to_string());
        }
        format!("/side-by-side?{}", p.query())
    }

    /// The link that picks `id` or, when picked, drops it: `path` with `params` and the
    /// basket changed.
    pub fn toggle(&self, id: RunId, path: &str, params: &Params) -> Markup {
        if self.contains(id) {
            let href = format!("{path}?{}", self.without(id).query(params));
            html! { a.pick.picked href=(href) title={ "drop run " (id) " from the comparison" } { "✓ picked" } }
        } else if self.is_full() {
            html! { span.note title={ "the comparison holds " (MAX_RUNS) " runs" } { "full" } }
        } else {
            let href = format!("{path}?{}", self.with(id).query(params));
            html! { a.pick href=(href) title={ "pick run " (id) " to compare" } { "+ compare" } }
        }
    }

    /// The bar of the picked runs, on `path` with `params`: nothing while the basket is empty.
    pub fn bar(&self, path: &str, params: &Params) -> Markup {
        html! {
            @if !self.0.is_empty() {
                nav.basket aria-label="runs picked to compare" {
                    "Picked: "
                    @for id in &self.0 {
                        span.picked {
                            a href=(self.run_href(*id)) { "run " (id) }
                            " "
                            a.drop href={ (path) "?" (self.without(*id).query(params)) } title={ "drop run " (id) } { "×" }
                        }
                        " "
                    }
                    @if self.0.len() >= 2 {
                        a.open href=(Self::side_by_side(&self.0)) { "open side by side →" }
                    } @else {
                        span.note { "pick one more to compare" }
                    }
                }
            }
        }
    }
}
