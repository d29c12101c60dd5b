//! A sweep's charts, drawn as SVG by hand (each mark a link to its run, every name escaped):
//! parallel coordinates, parameter importance, a slice per parameter, the optimisation
//! history, the metric's empirical distribution and the Pareto front of two metrics.

use std::fmt::Write as _;

use super::plot::{colour, escape};
use super::readable::significant;
use crate::metrics::sweep::{importance, pareto_front};
use crate::query::sweep::ParamValue;
use crate::query::sweep_view::{Point, SweepView};

/// Lines parallel coordinates draw at most; past it, every k-th run (the caption says so).
pub const MOST_LINES: usize = 1_000;
/// Dots a slice or a scatter draws at most, the same way.
pub const MOST_DOTS: usize = 2_000;

const WIDTH: f64 = 1000.0;

/// The runs drawn out of `points`: all, or every k-th past `most`, and how many were left.
pub fn sampled(points: &[Point], most: usize) -> (Vec<&Point>, usize) {
    let step = points.len().div_ceil(most.max(1)).max(1);
    let kept: Vec<&Point> = points.iter().step_by(step).collect();
    let left = points.len() - kept.len();
    (kept, left)
}

/// A canvas of `height` with `title` at its top.
fn canvas(height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"18\">{}</text>",
        WIDTH / 2.0,
        escape(title)
    )
}

fn hex(t: f64) -> String {
    let c = colour(t);
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// How one axis places a parameter's values: numbers on a line, anything else evenly.
enum Axis {
    Numbers(f64, f64),
    Categories(Vec<ParamValue>),
}

impl Axis {
    fn of(values: impl Iterator<Item = ParamValue>) -> Self {
        let mut all: Vec<ParamValue> = values.collect();
        all.sort();
        all.dedup_by(|a, b| a == b);
        let numbers: Option<Vec<f64>> = all
            .iter()
            .map(|v| match v {
                ParamValue::Number(_, f) => Some(*f),
                _ => None,
            })
            .collect();
        match numbers {
            Some(n) if !n.is_empty() => Axis::Numbers(n[0], n[n.len() - 1]),
            _ => Axis::Categories(all),
        }
    }

    /// Where `value` lies, from 0 (bottom) to 1 (top).
    fn place(&self, value: &ParamValue) -> Option<f64> {
        match (self, value) {
            (Axis::Numbers(low, high), ParamValue::Number(_, f)) => Some(if high > low {
                (f - low) / (high - low)
            } else {
                0.5
            }),
            (Axis::Categories(all), v) => {
                let i = all.iter().position(|c| c == v)?;
                Some(if all.len() > 1 {
                    i as f64 / (all.len() - 1) as f64
                } else {
                    0.5
                })
            }
            _ => None,
        }
    }

    fn ends(&self) -> (String, String) {
        match self {
            Axis::Numbers(low, high) => (significant(*low, 4), significant(*high, 4)),
            Axis::Categories(all) => (
                all.first().map(ToString::to_string).unwrap_or_default(),
                all.last().map(ToString::to_string).unwrap_or_default(),
            ),
        }
    }
}

/// A run's value of parameter `name`.
fn param(point: &Point, name: &str) -> Option<ParamValue> {
    ParamValue::from_json(point.params.get(name)?)
}

/// Where a metric's value lies between the sweep's worst (0) and best (1).
fn goodness(view: &SweepView) -> impl Fn(f64) -> f64 {
    let (low, high) = bounds(view.points.iter().map(|p| p.value));
    let lower = view.lower_is_better;
    move |v| {
        let t = if high > low {
            (v - low) / (high - low)
        } else {
            0.5
        };
        if lower { 1.0 - t } else { t }
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    })
}

/// Parallel coordinates: an axis per parameter and one for the metric, a line per run
/// coloured by the metric (best yellow), each a link to its run.
pub fn parallel(view: &SweepView, metric: &str) -> String {
    let height = 460.0;
    let (top, bottom, left, right) = (70.0, 40.0, 70.0, 90.0);
    let axes: Vec<Axis> = view
        .parameters
        .iter()
        .map(|name| Axis::of(view.points.iter().filter_map(|p| param(p, name))))
        .collect();
    let n = axes.len() + 1;
    let x = |i: usize| left + (WIDTH - left - right) * i as f64 / (n - 1).max(1) as f64;
    let y = |t: f64| top + (height - top - bottom) * (1.0 - t);
    let (low, high) = bounds(view.points.iter().map(|p| p.value));
    let good = goodness(view);
    let (drawn, left_out) = sampled(&view.points, MOST_LINES);
    let mut svg = canvas(
        height,
        &format!("{}: every parameter and {metric}", view.name),
    );
    for (point, t) in drawn.iter().map(|p| (p, good(p.value))) {
        let mut line = String::new();
        for (i, (name, axis)) in view.parameters.iter().zip(&axes).enumerate() {
            let Some(at) = param(point, name).and_then(|v| axis.place(&v)) else {
                continue;
            };
            let _ = write!(line, "{:.1},{:.1} ", x(i), y(at));
        }
        let m = if high > low {
            (point.value - low) / (high - low)
        } else {
            0.5
        };
        let _ = write!(line, "{:.1},{:.1}", x(n - 1), y(m));
        let _ = write!(
            svg,
            "<a href=\"/runs/{id}\"><polyline class=\"run\" points=\"{line}\" fill=\"none\" \
             stroke=\"{}\" stroke-width=\"1.5\" stroke-opacity=\"0.7\"><title>run {id}: {} = {}\
             </title></polyline></a>",
            hex(t),
            escape(metric),
            significant(point.value, 6),
            id = point.run,
        );
    }
    let names = view.parameters.iter().map(String::as_str).chain([metric]);
    let ends = axes
        .iter()
        .map(Axis::ends)
        .chain([(significant(low, 4), significant(high, 4))]);
    for (i, (name, (low, high))) in names.zip(ends).enumerate() {
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{b}\" stroke=\"#333\"/>\
             <text x=\"{x:.1}\" y=\"{t}\" text-anchor=\"middle\" font-size=\"13\" \
             font-weight=\"bold\">{}</text>\
             <text x=\"{x:.1}\" y=\"{hy}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\
             <text x=\"{x:.1}\" y=\"{ly}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
            escape(name),
            escape(&high),
            escape(&low),
            x = x(i),
            b = height - bottom,
            t = top - 28.0,
            hy = top - 10.0,
            ly = height - bottom + 16.0,
        );
    }
    closed(svg, height, &caption(drawn.len(), left_out, "line"))
}

/// `svg` ended, with `caption` at its foot.
fn closed(mut svg: String, height: f64, caption: &str) -> String {
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\">{}</text></svg>",
        WIDTH / 2.0,
        height - 6.0,
        escape(caption)
    );
    svg
}

/// What a chart drew of the sweep: all its runs, or a sample.
pub fn caption(drawn: usize, left_out: usize, mark: &str) -> String {
    match left_out {
        0 => format!("one {mark} a run, {drawn} runs"),
        _ => format!(
            "one {mark} for every {}th run: {drawn} of {} runs drawn",
            (drawn + left_out).div_ceil(drawn.max(1)),
            drawn + left_out
        ),
    }
}

/// Each parameter's share of the metric's variance explained (η², scaled to sum to 1), as
/// bars, largest first.
pub fn importance_bars(view: &SweepView, metric: &str) -> (String, Vec<(String, f64)>) {
    let values: Vec<f64> = view.points.iter().map(|p| p.value).collect();
    let groups: Vec<Vec<String>> = view
        .parameters
        .iter()
        .map(|name| {
            view.points
                .iter()
                .map(|p| {
                    p.params
                        .get(name)
                        .map(ToString::to_string)
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let mut shares: Vec<(String, f64)> = view
        .parameters
        .iter()
        .cloned()
        .zip(importance(&values, &groups))
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    let row = 26.0;
    let height = 60.0 + row * shares.len() as f64;
    let mut svg = canvas(height, &format!("importance for {metric}"));
    let (label, bar) = (220.0, WIDTH - 320.0);
    for (i, (name, share)) in shares.iter().enumerate() {
        let y = 44.0 + row * i as f64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"13\">{}</text>\
             <rect class=\"share\" x=\"{label}\" y=\"{:.1}\" width=\"{:.1}\" height=\"18\" fill=\"#3b528b\">\
             <title>{} explains {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            label - 8.0,
            y + 13.0,
            escape(name),
            y,
            bar * share,
            escape(name),
            super::readable::percent(*share),
            label + bar * share + 6.0,
            y + 13.0,
            super::readable::percent(*share),
        );
    }
    svg.push_str("</svg>");
    (svg, shares)
}

/// A plotting box at (`ox`, `oy`) of `w` × `h`, its axes spanning `x` and `y`.
struct Panel {
    ox: f64,
    oy: f64,
    w: f64,
    h: f64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Panel {
    fn new((ox, oy, w, h): (f64, f64, f64, f64), x: (f64, f64), y: (f64, f64)) -> Self {
        Self { ox, oy, w, h, x, y }
    }

    fn sx(&self, v: f64) -> f64 {
        let (low, high) = self.x;
        self.ox
            + if high > low {
                (v - low) / (high - low)
            } else {
                0.5
            } * self.w
    }

    fn sy(&self, v: f64) -> f64 {
        let (low, high) = self.y;
        self.oy + self.h
            - if high > low {
                (v - low) / (high - low)
            } else {
                0.5
            } * self.h
    }

    /// The box, the x axis's name and ends under it, and the y axis's ends (`y_ends`, low
    /// then high) beside it.
    fn frame(&self, svg: &mut String, x_label: &str, (y_low, y_high): (&str, &str)) {
        let (ox, oy, w, h) = (self.ox, self.oy, self.w, self.h);
        let _ = write!(
            svg,
            "<rect x=\"{ox}\" y=\"{oy}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#999\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">{}</text>\
             <text x=\"{ox:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            ox + w / 2.0,
            oy + h + 28.0,
            escape(x_label),
            oy + h + 13.0,
            escape(&significant(self.x.0, 4)),
            ox + w,
            oy + h + 13.0,
            escape(&significant(self.x.1, 4)),
            ox - 4.0,
            oy + h,
            escape(y_low),
            ox - 4.0,
            oy + 9.0,
            escape(y_high),
        );
    }
}

/// A scatter of `points` (x, y, run) in a panel at `area`, each dot a link; the panel.
fn scatter(
    svg: &mut String,
    area: (f64, f64, f64, f64),
    points: &[(f64, f64, &Point)],
    (x_label, y_label): (&str, &str),
    colour_of: &dyn Fn(&Point) -> String,
    highlight: &dyn Fn(&Point) -> bool,
) -> Panel {
    let panel = Panel::new(
        area,
        bounds(points.iter().map(|p| p.0)),
        bounds(points.iter().map(|p| p.1)),
    );
    let (yl, yh) = panel.y;
    panel.frame(svg, x_label, (&significant(yl, 4), &significant(yh, 4)));
    for (x, y, point) in points {
        let (fill, r) = if highlight(point) {
            ("#d62728".to_owned(), 4.5)
        } else {
            (colour_of(point), 3.0)
        };
        let _ = write!(
            svg,
            "<a href=\"/runs/{id}\"><circle class=\"run\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" \
             fill=\"{fill}\" fill-opacity=\"0.75\"><title>run {id}: {} = {}, {} = {}</title>\
             </circle></a>",
            panel.sx(*x),
            panel.sy(*y),
            escape(x_label),
            significant(*x, 6),
            escape(y_label),
            significant(*y, 6),
            id = point.run,
        );
    }
    panel
}

/// The metric against each numeric parameter, a panel each (a slice plot), three a row.
pub fn slices(view: &SweepView, metric: &str) -> Option<String> {
    let numeric: Vec<&String> = view
        .parameters
        .iter()
        .filter(|name| {
            view.points
                .iter()
                .filter_map(|p| param(p, name))
                .all(|v| matches!(v, ParamValue::Number(..)))
        })
        .collect();
    if numeric.is_empty() {
        return None;
    }
    let (drawn, left_out) = sampled(&view.points, MOST_DOTS);
    let good = goodness(view);
    let rows = numeric.len().div_ceil(3);
    let (w, h) = (WIDTH / 3.0 - 80.0, 180.0);
    let height = 50.0 + rows as f64 * (h + 60.0) + 20.0;
    let mut svg = canvas(height, &format!("{metric} by each parameter"));
    for (i, name) in numeric.iter().enumerate() {
        let (ox, oy) = (
            60.0 + (i % 3) as f64 * (w + 80.0),
            50.0 + (i / 3) as f64 * (h + 60.0),
        );
        let points: Vec<(f64, f64, &Point)> = drawn
            .iter()
            .filter_map(|p| match param(p, name)? {
                ParamValue::Number(_, f) => Some((f, p.value, *p)),
                _ => None,
            })
            .collect();
        scatter(
            &mut svg,
            (ox, oy, w, h),
            &points,
            (name, metric),
            &|p| hex(good(p.value)),
            &|_| false,
        );
    }
    Some(closed(svg, height, &caption(drawn.len(), left_out, "dot")))
}

/// The metric by trial (or by finishing time), with the best so far: how the search went.
/// None for a sweep that no optimizer ordered.
pub fn history(view: &SweepView, metric: &str) -> Option<String> {
    let mut ordered: Vec<&Point> = view
        .points
        .iter()
        .filter(|p| p.trial.is_some() || p.finished_at.is_some())
        .collect();
    if ordered.len() < 2 {
        return None;
    }
    ordered.sort_by_key(|p| (p.trial, p.finished_at, p.run));
    let by_trial = ordered.iter().all(|p| p.trial.is_some());
    let xs: Vec<f64> = ordered
        .iter()
        .enumerate()
        .map(|(i, p)| match (by_trial, p.trial) {
            (true, Some(t)) => t as f64,
            _ => i as f64,
        })
        .collect();
    let better = |a: f64, b: f64| if view.lower_is_better { a < b } else { a > b };
    let mut best = Vec::with_capacity(ordered.len());
    for p in &ordered {
        let so_far = match best.last() {
            Some(&b) if !better(p.value, b) => b,
            _ => p.value,
        };
        best.push(so_far);
    }
    let height = 360.0;
    let (ox, oy, w, h) = (80.0, 50.0, WIDTH - 140.0, height - 110.0);
    let mut svg = canvas(
        height,
        &format!(
            "{metric} by {}",
            if by_trial { "trial" } else { "order finished" }
        ),
    );
    let points: Vec<(f64, f64, &Point)> = xs
        .iter()
        .zip(&ordered)
        .map(|(x, p)| (*x, p.value, *p))
        .collect();
    let good = goodness(view);
    let panel = scatter(
        &mut svg,
        (ox, oy, w, h),
        &points,
        (if by_trial { "trial" } else { "finished" }, metric),
        &|p| hex(good(p.value)),
        &|_| false,
    );
    let mut line = String::new();
    for (x, b) in xs.iter().zip(&best) {
        let _ = write!(line, "{:.1},{:.1} ", panel.sx(*x), panel.sy(*b));
    }
    let _ = write!(
        svg,
        "<polyline class=\"best\" points=\"{line}\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#d62728\">best so far</text></svg>",
        ox + 8.0,
        oy + 14.0
    );
    Some(svg)
}

/// The empirical distribution function of the metric: the share of runs at or below each
/// value.
pub fn distribution(view: &SweepView, metric: &str) -> String {
    let mut values: Vec<f64> = view.points.iter().map(|p| p.value).collect();
    values.sort_by(f64::total_cmp);
    let height = 320.0;
    let area = (80.0, 50.0, WIDTH - 140.0, height - 100.0);
    let panel = Panel::new(area, bounds(values.iter().copied()), (0.0, 1.0));
    let n = values.len() as f64;
    let mut svg = canvas(height, &format!("share of runs with {metric} at or below"));
    panel.frame(&mut svg, metric, ("0%", "100%"));
    let mut line = format!("{:.1},{:.1} ", panel.sx(panel.x.0), panel.sy(0.0));
    for (i, v) in values.iter().enumerate() {
        let (before, after) = (i as f64 / n, (i + 1) as f64 / n);
        let _ = write!(
            line,
            "{:.1},{:.1} {:.1},{:.1} ",
            panel.sx(*v),
            panel.sy(before),
            panel.sx(*v),
            panel.sy(after)
        );
    }
    let _ = write!(
        svg,
        "<polyline class=\"edf\" points=\"{line}\" fill=\"none\" stroke=\"#3b528b\" stroke-width=\"2\"/></svg>"
    );
    svg
}

/// Two metrics of every run against each other, the runs no other beats on both (the Pareto
/// front) in red and joined; the runs of the front, best first by the first metric.
pub fn pareto(view: &SweepView, metric: &str, second: &str) -> Option<(String, Vec<usize>)> {
    let both: Vec<(usize, f64, f64)> = view
        .points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p.value, p.second?)))
        .collect();
    if both.is_empty() {
        return None;
    }
    let pairs: Vec<(f64, f64)> = both.iter().map(|b| (b.1, b.2)).collect();
    let front: Vec<usize> =
        pareto_front(&pairs, (view.lower_is_better, view.second_lower_is_better))
            .into_iter()
            .map(|i| both[i].0)
            .collect();
    let height = 460.0;
    let (ox, oy, w, h) = (80.0, 50.0, WIDTH - 140.0, height - 110.0);
    let mut svg = canvas(
        height,
        &format!("{metric} against {second}: the Pareto front"),
    );
    let on_front: std::collections::HashSet<usize> = front.iter().copied().collect();
    let index_of: std::collections::HashMap<crate::models::RunId, usize> = view
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| (p.run, i))
        .collect();
    let points: Vec<(f64, f64, &Point)> = both
        .iter()
        .map(|(i, a, b)| (*a, *b, &view.points[*i]))
        .collect();
    scatter(
        &mut svg,
        (ox, oy, w, h),
        &points,
        (metric, second),
        &|_| "#9aa3b5".to_owned(),
        &|p| index_of.get(&p.run).is_some_and(|i| on_front.contains(i)),
    );
    svg.push_str("</svg>");
    Some((svg, front))
}
