//! A time axis whose ticks fall on the calendar: the first of a year, a quarter, a month, a
//! Monday, a midnight, a round hour or a round minute, whichever gives a handful of them over the span, each
//! labelled only as finely as its step needs (`2021`, `2021-07`, `2021-07-05`). Or, for
//! curves aligned by their start, time elapsed since it (`6 mo`, `2 y`), the curves moved
//! to start at [`START`].

use std::ops::Range;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::RangedDateTime;

/// The most ticks an axis shows.
const MOST: usize = 8;

/// How far apart the ticks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Minutes(u32),
    Hours(u32),
    Days(u32),
    /// Mondays.
    Weeks(u32),
    Months(u32),
    Years(i32),
}

impl Step {
    const ALL: [Step; 21] = [
        Step::Minutes(1),
        Step::Minutes(5),
        Step::Minutes(15),
        Step::Minutes(30),
        Step::Hours(1),
        Step::Hours(3),
        Step::Hours(6),
        Step::Hours(12),
        Step::Days(1),
        Step::Days(2),
        Step::Weeks(1),
        Step::Weeks(2),
        Step::Months(1),
        Step::Months(2),
        Step::Months(3),
        Step::Months(6),
        Step::Years(1),
        Step::Years(2),
        Step::Years(5),
        Step::Years(10),
        Step::Years(50),
    ];

    /// The finest step that puts at most `most` ticks on `span`; elapsed time counts weeks
    /// as seven days, not from Mondays.
    pub fn over(span: &Range<DateTime<Utc>>, most: usize, elapsed: bool) -> Step {
        Step::ALL
            .into_iter()
            .filter(|step| !(elapsed && matches!(step, Step::Weeks(_))))
            .chain(
                [Step::Days(7), Step::Days(14)]
                    .into_iter()
                    .filter(|_| elapsed),
            )
            .filter(|step| step.ticks(span).len() <= most.max(2))
            .min_by_key(|step| step.seconds())
            .unwrap_or(Step::Years(100))
    }

    /// The step's length, about: what orders steps from fine to coarse.
    fn seconds(self) -> i64 {
        match self {
            Step::Minutes(n) => 60 * i64::from(n),
            Step::Hours(n) => 3_600 * i64::from(n),
            Step::Days(n) => 86_400 * i64::from(n),
            Step::Weeks(n) => 7 * 86_400 * i64::from(n),
            Step::Months(n) => 30 * 86_400 * i64::from(n),
            Step::Years(n) => 365 * 86_400 * i64::from(n),
        }
    }

    /// The ticks in `span`, from the first boundary at or after its start.
    pub fn ticks(self, span: &Range<DateTime<Utc>>) -> Vec<DateTime<Utc>> {
        let mut ticks = Vec::new();
        let mut t = self.first(span.start);
        while t <= span.end && ticks.len() <= 4 * MOST {
            ticks.push(t);
            t = self.next(t);
        }
        ticks
    }

    fn first(self, from: DateTime<Utc>) -> DateTime<Utc> {
        let day = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"));
        let date = from.date_naive();
        let candidate = match self {
            Step::Minutes(n) => {
                let minute = from.minute() - from.minute() % n;
                day(date)
                    + Duration::hours(i64::from(from.hour()))
                    + Duration::minutes(i64::from(minute))
            }
            Step::Hours(n) => {
                let hour = from.hour() - from.hour() % n;
                day(date) + Duration::hours(i64::from(hour))
            }
            Step::Days(n) => {
                // Counted from START, so that elapsed days tick at 0, n, 2n.
                let since = (day(date) - START).num_days();
                day(date) - Duration::days(since.rem_euclid(i64::from(n)))
            }
            Step::Weeks(_) => {
                day(date) - Duration::days(i64::from(date.weekday().num_days_from_monday()))
            }
            Step::Months(n) => {
                let month0 = date.month0() - date.month0() % n;
                day(NaiveDate::from_ymd_opt(date.year(), month0 + 1, 1).expect("a month"))
            }
            Step::Years(n) => {
                let year = date.year() - date.year().rem_euclid(n);
                day(NaiveDate::from_ymd_opt(year, 1, 1).expect("a year"))
            }
        };
        if candidate < from {
            self.next(candidate)
        } else {
            candidate
        }
    }

    fn next(self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Step::Minutes(n) => t + Duration::minutes(i64::from(n)),
            Step::Hours(n) => t + Duration::hours(i64::from(n)),
            Step::Days(n) => t + Duration::days(i64::from(n)),
            Step::Weeks(n) => t + Duration::weeks(i64::from(n)),
            Step::Months(n) => t
                .checked_add_months(chrono::Months::new(n))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            Step::Years(n) => t
                .checked_add_months(chrono::Months::new(12 * n as u32))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// A tick's label as the time elapsed since [`START`], in the step's unit.
    pub fn elapsed(self, t: &DateTime<Utc>) -> String {
        let since = *t - START;
        match self {
            Step::Minutes(_) => format!("{} min", since.num_minutes()),
            Step::Hours(_) => format!("{} h", since.num_hours()),
            Step::Days(_) | Step::Weeks(_) => format!("{} d", since.num_days()),
            Step::Months(_) => {
                let months = (t.year() - START.year()) * 12 + t.month0() as i32;
                format!("{months} mo")
            }
            Step::Years(_) => format!("{} y", t.year() - START.year()),
        }
    }

    /// A tick's label, as fine as the step.
    pub fn label(self, t: &DateTime<Utc>) -> String {
        let format = match self {
            Step::Minutes(_) | Step::Hours(_) => "%Y-%m-%d %H:%M",
            Step::Days(_) | Step::Weeks(_) => "%Y-%m-%d",
            Step::Months(_) => "%Y-%m",
            Step::Years(_) => "%Y",
        };
        t.format(format).to_string()
    }
}

/// Where curves aligned by their start begin: the elapsed axis's zero.
pub const START: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// A time axis over a span, ticked on the calendar, or by the time elapsed since [`START`].
#[derive(Clone)]
pub struct Calendar {
    inner: RangedDateTime<DateTime<Utc>>,
    span: Range<DateTime<Utc>>,
    step: Step,
    elapsed: bool,
}

impl Calendar {
    pub fn new(span: Range<DateTime<Utc>>) -> Self {
        Self::with(span, false)
    }

    /// The axis of curves moved to start at [`START`]: labelled by the time since.
    pub fn elapsed(span: Range<DateTime<Utc>>) -> Self {
        Self::with(span, true)
    }

    fn with(span: Range<DateTime<Utc>>, elapsed: bool) -> Self {
        Self {
            inner: RangedDateTime::from(span.clone()),
            step: Step::over(&span, MOST, elapsed),
            span,
            elapsed,
        }
    }
}

impl std::fmt::Debug for Calendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calendar")
            .field("span", &self.span)
            .field("step", &self.step)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

impl Ranged for Calendar {
    type FormatOption = NoDefaultFormatting;
    type ValueType = DateTime<Utc>;

    fn map(&self, value: &DateTime<Utc>, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<DateTime<Utc>> {
        if hint.max_num_points() == 0 {
            return Vec::new();
        }
        self.step.ticks(&self.span)
    }

    fn range(&self) -> Range<DateTime<Utc>> {
        self.span.clone()
    }
}

impl ValueFormatter<DateTime<Utc>> for Calendar {
    fn format_ext(&self, value: &DateTime<Utc>) -> String {
        match self.elapsed {
            true => self.step.elapsed(value),
            false => self.step.label(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn ticks_fall_on_the_calendar_a_handful_at_a_time() {
        // Four years of daily bars: every first of January (or July), never 2021-04-21.
        let years = at("2020-10-21T00:00:00Z")..at("2024-08-29T00:00:00Z");
        let step = Step::over(&years, MOST, false);
        let labels: Vec<String> = step.ticks(&years).iter().map(|t| step.label(t)).collect();
        assert_eq!(step, Step::Months(6));
        assert_eq!(labels.first().map(String::as_str), Some("2021-01"));
        assert!(labels.len() <= MOST && labels.len() >= 4, "{labels:?}");
        // Two months of hourly bars: Mondays.
        let weeks = at("2023-01-05T01:00:00Z")..at("2023-03-01T00:00:00Z");
        let step = Step::over(&weeks, MOST, false);
        let ticks = step.ticks(&weeks);
        assert!(
            ticks
                .iter()
                .all(|t| t.weekday() == chrono::Weekday::Mon && t.hour() == 0)
        );
        assert_eq!(step.label(&ticks[0]), "2023-01-09");
        // A session: round hours, from the first after the open.
        let day = at("2024-01-02T09:30:00Z")..at("2024-01-02T17:00:00Z");
        let step = Step::over(&day, MOST, false);
        assert_eq!(step, Step::Hours(1));
        assert_eq!(step.label(&step.ticks(&day)[0]), "2024-01-02 10:00");
        // An hour of minute bars: quarter hours.
        let hour = at("2024-01-02T09:30:00Z")..at("2024-01-02T10:30:00Z");
        let step = Step::over(&hour, MOST, false);
        assert_eq!(step, Step::Minutes(15));
        assert_eq!(step.label(&step.ticks(&hour)[1]), "2024-01-02 09:45");
        // Fifty years: decades.
        let long = at("1970-03-01T00:00:00Z")..at("2020-01-01T00:00:00Z");
        assert_eq!(Step::over(&long, MOST, false), Step::Years(10));
    }

    #[test]
    fn elapsed_time_counts_from_the_start() {
        let two_years = START..START + Duration::days(730);
        let step = Step::over(&two_years, MOST, true);
        let labels: Vec<String> = step
            .ticks(&two_years)
            .iter()
            .map(|t| step.elapsed(t))
            .collect();
        assert_eq!(labels, ["0 mo", "6 mo", "12 mo", "18 mo", "24 mo"]);
        let weeks = START..START + Duration::days(40);
        let step = Step::over(&weeks, MOST, true);
        assert_eq!(step, Step::Days(7));
        assert_eq!(step.elapsed(&step.ticks(&weeks)[1]), "7 d");
    }
}
