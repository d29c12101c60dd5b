//! SVG charts drawn with plotters: a sweep's heatmap or line chart, a run's equity and drawdown.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::calendar::Calendar;
use crate::metrics::pbo::Pbo;
use crate::query::sweep::{Cell, ParamValue, Pivot};

const FONT: &str = "sans-serif";

/// An equity curve as the charts draw it.
pub type Curve = Vec<(DateTime<Utc>, f64)>;

/// A P×Q grid of one metric; `cells[row][column]` is at `y_ticks[row]`, `x_ticks[column]`.
#[derive(Debug, Clone)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub value_label: String,
    pub x_ticks: Vec<String>,
    pub y_ticks: Vec<String>,
    pub cells: Vec<Vec<Option<f64>>>,
    /// Where each cell links to (`links[row][column]`; empty for no links).
    pub links: Vec<Vec<Option<String>>>,
}

/// Where a chart's cell or point links to, given its x value and its y value (a grid's).
pub type Link<'a> = &'a dyn Fn(&ParamValue, Option<&ParamValue>) -> Option<String>;

/// The link of a point of a one-parameter chart, by the parameter's value.
type PointLink<'a> = &'a dyn Fn(&ParamValue) -> Option<String>;

/// One metric by the values of one parameter: the mean, with the min–max range as error bars.
#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_ticks: Vec<String>,
    pub mean: Vec<f64>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    /// Where each value's column links to (empty for no links).
    pub links: Vec<Option<String>>,
}

/// The two colours of the line charts: the series, and what marks loss.
const BLUE: RGBColor = RGBColor(31, 119, 180);
const RED: RGBColor = RGBColor(214, 39, 40);

/// A white SVG canvas of `size`, drawn into `svg`, with `title` across its top.
fn titled_canvas<'a>(
    svg: &'a mut String,
    size: (u32, u32),
    title: &str,
) -> Result<DrawingArea<SVGBackend<'a>, Shift>> {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE).map_err(failed)?;
    root.titled(title, (FONT, 20)).map_err(failed)
}

fn failed(e: impl std::fmt::Display) -> anyhow::Error {
    super::Internal(format!("drawing a chart: {e}")).into()
}

/// The SVG document `draw` draws, with every character that would reorder its text (a
/// strategy named with a right-to-left override) or that XML cannot hold written as its
/// escape, visibly: names come from the database and are anyone's.
fn render(draw: impl FnOnce(&mut String) -> Result<()>) -> Result<String> {
    let mut svg = String::new();
    draw(&mut svg)?;
    Ok(neutral(svg))
}

/// `text` with the characters `render` writes as escapes so written; the SVG's own line
/// breaks and tabs kept.
fn neutral(text: String) -> String {
    // Nearly every chart is printable ASCII throughout: a byte at a time, which the compiler
    // vectorises (a char at a time was 5 % of a strategy page's time).
    if text.bytes().all(plain_byte) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_neutral(&mut out, c);
    }
    out
}

/// Whether byte `b` is printable ASCII, a line break or a tab: a character `neutral` keeps.
fn plain_byte(b: u8) -> bool {
    (b' '..0x7f).contains(&b) || b == b'\n' || b == b'\t'
}

/// `c` onto `out`, as an escape where `render` would write one (line breaks and tabs kept).
fn push_neutral(out: &mut String, c: char) {
    match c {
        '\n' | '\t' => out.push(c),
        c => super::table::push_printable(out, c),
    }
}

/// Writes a chart to `path`.
pub fn save(path: &Path, svg: &str) -> Result<()> {
    std::fs::write(path, svg).with_context(|| format!("writing `{}`", path.display()))
}

/// Draws a sweep's pivot: a heatmap of means for a grid, a line chart with min–max bars for
/// one parameter; `link`, when given, makes each cell or point a link (to its runs). A grid
/// one of whose parameters takes a single value is drawn as a line over the other, its title
/// naming the value (a heatmap of one row or column has no height or width to show).
pub fn sweep(
    strategy: &str,
    metric: &str,
    pivot: &Pivot,
    link: Option<Link<'_>>,
) -> Result<String> {
    let ticks = |values: &[ParamValue]| values.iter().map(ToString::to_string).collect();
    let (nx, ny) = (pivot.x_values.len(), pivot.y_values.len());
    match &pivot.y {
        Some(y) if ny == 1 => {
            let row = pivot.x_values.iter().zip(pivot.cells[0].iter().copied());
            let link = link.map(|link| move |x: &ParamValue| link(x, Some(&pivot.y_values[0])));
            one_parameter(
                format!(
                    "{strategy}: {metric} by {} ({y} = {} in every run)",
                    pivot.x, pivot.y_values[0]
                ),
                &pivot.x,
                metric,
                row,
                link.as_ref()
                    .map(|l| l as &dyn Fn(&ParamValue) -> Option<String>),
            )
        }
        Some(y) if nx == 1 && ny > 1 => {
            let column = pivot.y_values.iter().zip(pivot.cells.iter().map(|r| r[0]));
            let link = link.map(|link| move |yv: &ParamValue| link(&pivot.x_values[0], Some(yv)));
            one_parameter(
                format!(
                    "{strategy}: {metric} by {y} ({} = {} in every run)",
                    pivot.x, pivot.x_values[0]
                ),
                y,
                metric,
                column,
                link.as_ref()
                    .map(|l| l as &dyn Fn(&ParamValue) -> Option<String>),
            )
        }
        Some(y) => heatmap(&Heatmap {
            title: format!("{strategy}: mean {metric} by {} and {y}", pivot.x),
            x_label: pivot.x.clone(),
            y_label: y.clone(),
            value_label: format!("mean {metric}"),
            x_ticks: ticks(&pivot.x_values),
            y_ticks: ticks(&pivot.y_values),
            cells: pivot
                .cells
                .iter()
                .map(|row| row.iter().map(|c| c.map(|c| c.mean)).collect())
                .collect(),
            links: match link {
                None => Vec::new(),
                Some(link) => pivot
                    .y_values
                    .iter()
                    .map(|yv| pivot.x_values.iter().map(|xv| link(xv, Some(yv))).collect())
                    .collect(),
            },
        }),
        None => {
            let row = pivot
                .x_values
                .iter()
                .zip(pivot.cells.first().into_iter().flatten().copied());
            let link = link.map(|link| move |x: &ParamValue| link(x, None));
            one_parameter(
                format!("{strategy}: {metric} by {}", pivot.x),
                &pivot.x,
                metric,
                row,
                link.as_ref()
                    .map(|l| l as &dyn Fn(&ParamValue) -> Option<String>),
            )
        }
    }
}

/// A metric's mean by one parameter's values, with min–max bars: the cells that have runs.
fn one_parameter<'a>(
    title: String,
    parameter: &str,
    metric: &str,
    cells: impl Iterator<Item = (&'a ParamValue, Option<Cell>)>,
    link: Option<PointLink<'_>>,
) -> Result<String> {
    let cells: Vec<(&ParamValue, Cell)> = cells.filter_map(|(v, c)| Some((v, c?))).collect();
    line_chart(&LineChart {
        title,
        x_label: parameter.to_owned(),
        y_label: metric.to_owned(),
        x_ticks: cells.iter().map(|c| c.0.to_string()).collect(),
        mean: cells.iter().map(|c| c.1.mean).collect(),
        min: cells.iter().map(|c| c.1.min).collect(),
        max: cells.iter().map(|c| c.1.max).collect(),
        links: match link {
            None => Vec::new(),
            Some(link) => cells.iter().map(|c| link(c.0)).collect(),
        },
    })
}

/// Writes the heatmap with a colour scale beside it.
pub fn heatmap(map: &Heatmap) -> Result<String> {
    let mut hover = String::new();
    let mut svg = render(|svg| {
        let (nx, ny) = (map.x_ticks.len(), map.y_ticks.len());
        let values: Vec<f64> = map.cells.iter().flatten().flatten().copied().collect();
        let (low, high) = bounds(&values);
        let width = (160 + 70 * nx as u32).clamp(640, 1600);
        let height = (140 + 40 * ny as u32).clamp(420, 1200);
        let root = SVGBackend::with_string(svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let (main, legend) = root.split_horizontally(width - 120);
        let mut chart = ChartBuilder::on(&main)
            .caption(&map.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(categories(nx), categories(ny))
            .map_err(failed)?;
        let tick = |ticks: &[String], v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => ticks.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&map.x_label)
            .y_desc(&map.y_label)
            .x_labels(nx.min(40))
            .y_labels(ny.min(40))
            .x_label_formatter(&|v| tick(&map.x_ticks, v))
            .y_label_formatter(&|v| tick(&map.y_ticks, v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(failed)?;
        let annotate = nx * ny <= 150;
        for (row, cells) in map.cells.iter().enumerate() {
            for (column, cell) in cells.iter().enumerate() {
                let Some(value) = cell else { continue };
                let corner = |c: usize, r: usize| (SegmentValue::Exact(c), SegmentValue::Exact(r));
                let (a, b) = (
                    chart.backend_coord(&corner(column, row)),
                    chart.backend_coord(&corner(column + 1, row + 1)),
                );
                let href = map
                    .links
                    .get(row)
                    .and_then(|r| r.get(column))
                    .cloned()
                    .flatten();
                hover_cell(
                    &mut hover,
                    (a, b),
                    &map.hover_text(row, column, *value),
                    href.as_deref(),
                );
                let colour = colour(scale(*value, low, high));
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [corner(column, row), corner(column + 1, row + 1)],
                        colour.filled(),
                    )))
                    .map_err(failed)?;
                if annotate {
                    let ink = if scale(*value, low, high) > 0.6 {
                        BLACK
                    } else {
                        WHITE
                    };
                    let style = TextStyle::from((FONT, 12)).color(&ink).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        ),
                    );
                    chart
                        .draw_series(std::iter::once(Text::new(
                            short(*value),
                            (SegmentValue::CenterOf(column), SegmentValue::CenterOf(row)),
                            style,
                        )))
                        .map_err(failed)?;
                }
            }
        }
        colour_scale(&legend, &map.value_label, low, high).map_err(failed)?;
        root.present().map_err(failed)
    })?;
    // Transparent cells over the drawn ones: a browser shows each one's value on hover.
    if let Some(end) = svg.rfind("</svg>") {
        svg.insert_str(end, &format!("<g fill-opacity=\"0\">\n{hover}</g>\n"));
    }
    Ok(svg)
}

impl Heatmap {
    /// What hovering over a cell says: where it is and its value.
    fn hover_text(&self, row: usize, column: usize, value: f64) -> String {
        let tick = |ticks: &[String], i: usize| ticks.get(i).cloned().unwrap_or_default();
        format!(
            "{} = {}, {} = {}: {} {}",
            self.x_label,
            tick(&self.x_ticks, column),
            self.y_label,
            tick(&self.y_ticks, row),
            self.value_label,
            super::number(value)
        )
    }
}

/// Text or an attribute's value as SVG holds it (and as `render` leaves it).
pub(super) fn escape(text: &str) -> String {
    if text
        .bytes()
        .all(|b| plain_byte(b) && !matches!(b, b'&' | b'<' | b'>' | b'"'))
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => push_neutral(&mut out, c),
        }
    }
    out
}

/// A transparent rectangle between two corners, titled with `text`, and a link to `href`
/// when given (both escaped).
fn hover_cell(
    out: &mut String,
    ((x0, y0), (x1, y1)): ((i32, i32), (i32, i32)),
    text: &str,
    href: Option<&str>,
) {
    use std::fmt::Write as _;
    let rect = format!(
        "<rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
        x0.min(x1),
        y0.min(y1),
        (x1 - x0).abs(),
        (y1 - y0).abs(),
        escape(text)
    );
    let _ = match href {
        Some(href) => writeln!(out, "<a href=\"{}\">{rect}</a>", escape(href)),
        None => writeln!(out, "{rect}"),
    };
}

/// A vertical bar of the colour scale with its values.
fn colour_scale(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    label: &str,
    low: f64,
    high: f64,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let mut bar = ChartBuilder::on(area)
        .margin_top(45)
        .margin_bottom(62)
        .margin_right(10)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, low..high)?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(label)
        // Ticks computed as low + k·step can miss zero by a rounding error: show it as 0.
        .y_label_formatter(&|v| {
            super::number(if v.abs() < (high - low) * 1e-9 {
                0.0
            } else {
                *v
            })
        })
        .label_style((FONT, 12))
        .draw()?;
    let steps = 100;
    bar.draw_series((0..steps).map(|i| {
        let (a, b) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
        let (y0, y1) = (low + (high - low) * a, low + (high - low) * b);
        Rectangle::new([(0.0, y0), (1.0, y1)], colour(a).filled())
    }))?;
    Ok(())
}

/// Writes the line chart.
pub fn line_chart(chart_data: &LineChart) -> Result<String> {
    let mut hover = String::new();
    let mut svg = render(|svg| {
        let n = chart_data.x_ticks.len();
        let all: Vec<f64> = chart_data
            .min
            .iter()
            .chain(&chart_data.max)
            .copied()
            .collect();
        let (low, high) = bounds(&all);
        let pad = (high - low) * 0.08;
        let root = SVGBackend::with_string(svg, ((140 + 60 * n as u32).clamp(640, 1600), 480))
            .into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&chart_data.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(categories(n), (low - pad)..(high + pad))
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc(&chart_data.x_label)
            .y_desc(&chart_data.y_label)
            .x_labels(n.min(40))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    chart_data.x_ticks.get(*i).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_label_formatter(&|v| super::number(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series((0..n).map(|i| {
                ErrorBar::new_vertical(
                    SegmentValue::CenterOf(i),
                    chart_data.min[i],
                    chart_data.mean[i],
                    chart_data.max[i],
                    BLUE.mix(0.5).stroke_width(2),
                    10,
                )
            }))
            .map_err(failed)?
            .label("min – max")
            .legend(move |(x, y)| PathElement::new([(x, y - 6), (x, y + 6)], BLUE.mix(0.5)));
        chart
            .draw_series(LineSeries::new(
                (0..n).map(|i| (SegmentValue::CenterOf(i), chart_data.mean[i])),
                BLUE.stroke_width(3),
            ))
            .map_err(failed)?
            .label("mean")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(3)));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        // A transparent column over each value: its figures on hover, its runs on a click.
        for i in 0..n {
            let (a, b) = (
                chart.backend_coord(&(SegmentValue::Exact(i), high + pad)),
                chart.backend_coord(&(SegmentValue::Exact(i + 1), low - pad)),
            );
            let text = format!(
                "{} = {}: mean {} {} (min {}, max {})",
                chart_data.x_label,
                chart_data.x_ticks[i],
                chart_data.y_label,
                super::number(chart_data.mean[i]),
                super::number(chart_data.min[i]),
                super::number(chart_data.max[i])
            );
            let href = chart_data.links.get(i).cloned().flatten();
            hover_cell(&mut hover, (a, b), &text, href.as_deref());
        }
        root.present().map_err(failed)
    })?;
    if let Some(end) = svg.rfind("</svg>") {
        svg.insert_str(end, &format!("<g fill-opacity=\"0\">\n{hover}</g>\n"));
    }
    Ok(svg)
}

/// A chart of values over time, as the equity and drawdown charts are.
type TimeChart<'a> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<Calendar, RangedCoordf64>>;

/// The grid and axes of an equity chart: dates along, values up.
fn equity_mesh<'a>(chart: &mut TimeChart<'a>, y_desc: &str) -> Result<()> {
    chart
        .configure_mesh()
        .y_desc(y_desc)
        .x_labels(8)
        // In the curve's own units, its thousands apart: 140,000 rather than 140000.
        .y_label_formatter(&|v| super::readable::significant(*v, 6))
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(failed)
}

/// The box naming a chart's series, at `position`.
fn legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(failed)
}

/// Decimals of a percent label on an axis spanning `span` (a fraction): enough that labels a
/// tenth of the span apart never print alike (a 0.2% drawdown gets -0.02%, -0.04%, …).
fn percent_digits(span: f64) -> usize {
    let step = span * 100.0 / 10.0;
    if !(step.is_finite() && step > 0.0) {
        return 1;
    }
    (-step.log10()).ceil().clamp(0.0, 6.0) as usize
}

/// A curve's drawdown: each value over the running peak, minus one.
fn drawdown_of(points: &[(DateTime<Utc>, f64)]) -> Curve {
    let mut peak = f64::MIN;
    points
        .iter()
        .map(|(t, e)| {
            peak = peak.max(*e);
            (*t, e / peak - 1.0)
        })
        .collect()
}

/// The drawdown panel under an equity chart: time along, percent below zero down to `floor`.
fn drawdown_panel<'a>(
    area: &DrawingArea<SVGBackend<'a>, Shift>,
    axis: Calendar,
    floor: f64,
    y_label_area: u32,
) -> Result<TimeChart<'a>> {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(axis, floor..0.0)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .y_desc("drawdown")
        .x_desc("time")
        .x_labels(8)
        // The top of the panel is 0%, not -0%.
        .y_label_formatter(&|v| {
            format!(
                "{}%",
                super::readable::fixed(v * 100.0, percent_digits(-floor))
            )
        })
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(failed)?;
    Ok(chart)
}

/// Writes a run's equity curve above its drawdown (equity over its running peak, minus one).
pub fn equity(title: &str, points: &[(DateTime<Utc>, f64)]) -> Result<String> {
    render(|svg| {
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return Err(anyhow!("the run has no equity curve to draw"));
        };
        let span = first.0..last.0.max(first.0 + chrono::Duration::seconds(1));
        let drawdown = drawdown_of(points);
        let (low, high) = bounds(&points.iter().map(|p| p.1).collect::<Vec<_>>());
        let deepest = drawdown.iter().map(|d| d.1).fold(0.0, f64::min);
        let root = titled_canvas(svg, (1000, 640), title)?;
        let (top, bottom) = root.split_vertically(400);
        let mut chart = ChartBuilder::on(&top)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(90)
            .build_cartesian_2d(Calendar::new(span.clone()), low..high)
            .map_err(failed)?;
        equity_mesh(&mut chart, "equity")?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                BLUE.stroke_width(2),
            ))
            .map_err(failed)?;
        let floor = if deepest < 0.0 { deepest * 1.05 } else { -0.01 };
        let mut chart = drawdown_panel(&bottom, Calendar::new(span), floor, 90)?;
        chart
            .draw_series(AreaSeries::new(drawdown, 0.0, RED.mix(0.35)).border_style(RED))
            .map_err(failed)?;
        root.present().map_err(failed)
    })
}

/// The colours of curves drawn together, each with its own dash pattern so that curves that
/// coincide, or a reader who cannot tell the colours apart, still tell them apart. The
/// Okabe–Ito colours without the yellow, which white does not show, a dark grey for their
/// black (black is the axes'), and a wine red.
const SERIES: [(RGBColor, &str); 8] = [
    (RGBColor(0, 114, 178), ""),
    (RGBColor(213, 94, 0), "9 4"),
    (RGBColor(0, 158, 115), "3 3"),
    (RGBColor(204, 121, 167), "12 3 3 3"),
    (RGBColor(86, 180, 233), "6 6"),
    (RGBColor(230, 159, 0), "2 5"),
    (RGBColor(68, 68, 68), "14 4 2 4 2 4"),
    (RGBColor(136, 34, 85), "4 2"),
];

/// Gives the lines of `colour` (curves and their legend marks) the dash `pattern`: plotters
/// draws lines solid only, or as one element per dash.
fn dashed(svg: &mut String, colour: RGBColor, pattern: &str) {
    if pattern.is_empty() {
        return;
    }
    let stroke = format!(
        "stroke=\"#{:02X}{:02X}{:02X}\" stroke-width=",
        colour.0, colour.1, colour.2
    );
    let with = stroke.replace(
        " stroke-width=",
        &format!(" stroke-dasharray=\"{pattern}\" stroke-width="),
    );
    *svg = svg.replace(&stroke, &with);
}

/// How curves of runs over different periods are laid along time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// On the calendar: each where its dates are.
    #[default]
    Dates,
    /// By the time since each curve's start: all from 0, as if started together.
    Elapsed,
}

/// Several runs' equity curves on one chart, each divided by its first value so that all
/// start at 1, and their drawdowns overlaid below; `series` holds a legend label and a curve
/// for each (at most 8: one colour and dash pattern each). The legend stands above the chart,
/// where it covers no curve.
pub fn overlaid(title: &str, series: &[(String, Curve)], align: Align) -> Result<String> {
    let rebased: Vec<(usize, &String, Curve)> = series
        .iter()
        .enumerate()
        .filter_map(|(i, (label, points))| {
            let (t0, start) = *points.first()?;
            (start != 0.0 && start.is_finite()).then(|| {
                let at = |t: DateTime<Utc>| match align {
                    Align::Dates => t,
                    Align::Elapsed => super::calendar::START + (t - t0),
                };
                (
                    i,
                    label,
                    points.iter().map(|(t, e)| (at(*t), e / start)).collect(),
                )
            })
        })
        .collect();
    let times = rebased.iter().flat_map(|(_, _, p)| p.iter().map(|p| p.0));
    let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
        return Err(anyhow!("none of the runs has an equity curve to draw"));
    };
    let drawdowns: Vec<Curve> = rebased.iter().map(|(_, _, p)| drawdown_of(p)).collect();
    let values: Vec<f64> = rebased
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|p| p.1))
        .collect();
    let (low, high) = bounds(&values);
    let deepest = drawdowns.iter().flatten().map(|d| d.1).fold(0.0, f64::min);
    let floor = if deepest < 0.0 { deepest * 1.05 } else { -0.01 };
    let span = first..last.max(first + chrono::Duration::seconds(1));
    let axis = || match align {
        Align::Dates => Calendar::new(span.clone()),
        Align::Elapsed => Calendar::elapsed(span.clone()),
    };
    let key_rows = rebased.len() as u32;
    let mut svg = render(|svg| {
        let root = titled_canvas(svg, (1000, 700 + 22 * key_rows), title)?;
        let (key, rest) = root.split_vertically(12 + 22 * key_rows);
        for (row, (i, label, _)) in rebased.iter().enumerate() {
            let (colour, _) = SERIES[i % SERIES.len()];
            let y = 10 + 22 * row as i32;
            key.draw(&PathElement::new(
                [(90, y), (118, y)],
                colour.stroke_width(2),
            ))
            .map_err(failed)?;
            key.draw(&Text::new(
                label.to_string(),
                (126, y - 7),
                (FONT, 13).into_font().color(&BLACK),
            ))
            .map_err(failed)?;
        }
        let (top, bottom) = rest.split_vertically(440);
        let mut chart = ChartBuilder::on(&top)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(80)
            .build_cartesian_2d(axis(), low..high)
            .map_err(failed)?;
        equity_mesh(&mut chart, "equity (first value = 1)")?;
        for (i, _, points) in &rebased {
            let (colour, _) = SERIES[i % SERIES.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(failed)?;
        }
        let mut chart = drawdown_panel(&bottom, axis(), floor, 80)?;
        for ((i, _, _), drawdown) in rebased.iter().zip(&drawdowns) {
            let (colour, _) = SERIES[i % SERIES.len()];
            chart
                .draw_series(LineSeries::new(
                    drawdown.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(failed)?;
        }
        root.present().map_err(failed)
    })?;
    for (colour, pattern) in SERIES {
        dashed(&mut svg, colour, pattern);
    }
    Ok(svg)
}

/// The cross-validation of a sweep: the histogram of its logits beside the in-sample best's
/// out-of-sample metric against its in-sample one, with the least-squares line.
pub fn overfitting(title: &str, metric: &str, pbo: &Pbo) -> Result<String> {
    render(|svg| {
        const BINS: usize = 30;
        let (low, high) = bounds(&pbo.logits);
        let width = (high - low) / BINS as f64;
        let mut counts = [0usize; BINS];
        for l in &pbo.logits {
            counts[(((l - low) / width) as usize).min(BINS - 1)] += 1;
        }
        let tallest = counts.iter().copied().max().unwrap_or(1).max(1);
        let root = titled_canvas(svg, (1100, 520), title)?;
        let (left, right) = root.split_horizontally(550);
        let mut chart = ChartBuilder::on(&left)
            .margin(12)
            .caption(
                format!("logits of {} splits (PBO: share ≤ 0)", pbo.combinations),
                (FONT, 14),
            )
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(low.min(0.0)..high.max(0.0), 0..tallest + tallest / 10 + 1)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc("λ")
            .y_desc("splits")
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &n)| {
                let x0 = low + i as f64 * width;
                let colour = if x0 + width / 2.0 <= 0.0 { RED } else { BLUE };
                Rectangle::new([(x0, 0), (x0 + width, n)], colour.mix(0.7).filled())
            }))
            .map_err(failed)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0), (0.0, tallest)],
                BLACK.stroke_width(1),
            ))
            .map_err(failed)?;

        let xs: Vec<f64> = pbo.best.iter().map(|b| b.0).collect();
        let ys: Vec<f64> = pbo.best.iter().map(|b| b.1).collect();
        let ((x0, x1), (y0, y1)) = (bounds(&xs), bounds(&ys));
        let mut chart = ChartBuilder::on(&right)
            .margin(12)
            .caption(
                format!(
                    "degradation: slope {}, R² {}",
                    super::number(pbo.degradation.slope),
                    super::number(pbo.degradation.r2)
                ),
                (FONT, 14),
            )
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc(format!("{metric} in sample (the best)"))
            .y_desc(format!("{metric} out of sample"))
            .x_label_formatter(&|v| super::number(*v))
            .y_label_formatter(&|v| super::number(*v))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(
                pbo.best
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 2, BLUE.mix(0.4).filled())),
            )
            .map_err(failed)?;
        let line = |x: f64| pbo.degradation.intercept + pbo.degradation.slope * x;
        chart
            .draw_series(LineSeries::new(
                [(x0, line(x0)), (x1, line(x1))],
                RED.stroke_width(2),
            ))
            .map_err(failed)?;
        root.present().map_err(failed)
    })
}

/// `n` categories, one segment each (a segmented `0..n` would draw an empty extra one).
fn categories(n: usize) -> SegmentedCoord<plotters::coord::types::RangedCoordusize> {
    (0..n.saturating_sub(1)).into_segmented()
}

/// A cell label: three significant digits.
fn short(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return value.to_string();
    }
    let decimals = (2 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{value:.decimals$}")
}

/// The range of `values`, widened when they are all equal so that a scale has some height.
fn bounds(values: &[f64]) -> (f64, f64) {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !low.is_finite() || !high.is_finite() {
        return (0.0, 1.0);
    }
    if low == high {
        let pad = if low == 0.0 { 1.0 } else { low.abs() * 0.05 };
        return (low - pad, high + pad);
    }
    (low, high)
}

fn scale(value: f64, low: f64, high: f64) -> f64 {
    ((value - low) / (high - low)).clamp(0.0, 1.0)
}

/// Viridis, interpolated between five of its colours: perceptually even and readable in grey.
pub(super) fn colour(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let position = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (position.floor() as usize).min(STOPS.len() - 2);
    let f = position - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of every `<text>` element of `svg`.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|e| {
                let body = &e[e.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_owned())
            })
            .collect()
    }

    #[test]
    fn markup_and_reordering_characters_are_escaped_line_breaks_kept() {
        assert_eq!(
            escape("a<b & \"c\" > \u{202e}é\n\t\u{7}"),
            "a&lt;b &amp; &quot;c&quot; &gt; \\u{202e}é\n\t\\u{7}"
        );
        assert_eq!(neutral("plain\ttext\n".into()), "plain\ttext\n");
        assert_eq!(neutral("<g>\u{2066}".into()), "<g>\\u{2066}");
    }

    #[test]
    fn the_equity_axis_reads_in_capital_units_and_the_drawdown_axis_starts_at_0() {
        let day = |d: i64| DateTime::from_timestamp(1_700_000_000 + d * 86_400, 0).expect("time");
        let points: Vec<(DateTime<Utc>, f64)> = (0..200)
            .map(|d| (day(d), 100_000.0 + 40_000.0 * ((d as f64) / 30.0).sin()))
            .collect();
        let labels = texts(&equity("run 1", &points).expect("a chart"));
        assert!(labels.iter().any(|l| l == "100,000"), "{labels:?}");
        assert!(labels.iter().any(|l| l == "0%"), "{labels:?}");
        assert!(
            !labels.iter().any(|l| l.starts_with("-0%") || l == "-0"),
            "{labels:?}"
        );
    }

    #[test]
    fn colour_scale_runs_from_purple_to_yellow() {
        assert_eq!(colour(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour(1.0), RGBColor(253, 231, 37));
        assert_eq!(colour(0.5), RGBColor(33, 145, 140));
    }

    #[test]
    fn drawdown_labels_a_tenth_of_the_axis_apart_differ() {
        for span in [0.0021, 0.01, 0.05, 0.3, 0.9] {
            let digits = percent_digits(span);
            let labels: Vec<String> = (0..=10)
                .map(|i| format!("{:.*}%", digits, -span * f64::from(i) / 10.0 * 100.0))
                .collect();
            let mut distinct = labels.clone();
            distinct.dedup();
            assert_eq!(distinct, labels, "span {span}");
        }
        assert_eq!(percent_digits(0.3), 0);
    }

    #[test]
    fn flat_values_still_get_a_range() {
        assert_eq!(bounds(&[2.0, 2.0]), (1.9, 2.1));
        assert_eq!(bounds(&[]), (0.0, 1.0));
    }
}
