//! A time axis whose ticks fall on the calendar: the first of a year, a quarter, a month, a
//! Monday, a midnight or a round hour, whichever gives a handful of them over the span, each
//! labelled only as finely as its step needs (`2021`, `2021-07`, `2021-07-05`).

use std::ops::Range;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::RangedDateTime;

/// The most ticks an axis shows.
const MOST: usize = 8;

/// How far apart the ticks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Hours(u32),
    Days(u32),
    /// Mondays.
    Weeks(u32),
    Months(u32),
    Years(i32),
}

impl Step {
    const ALL: [Step; 17] = [
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

    /// The finest step that puts at most `most` ticks on `span`.
    pub fn over(span: &Range<DateTime<Utc>>, most: usize) -> Step {
        Step::ALL
            .into_iter()
            .find(|step| step.ticks(span).len() <= most.max(2))
            .unwrap_or(Step::Years(100))
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
            Step::Hours(n) => {
                let hour = from.hour() - from.hour() % n;
                day(date) + Duration::hours(i64::from(hour))
            }
            Step::Days(n) => {
                let since = date.num_days_from_ce();
                day(date) - Duration::days(i64::from(since.rem_euclid(n as i32)))
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

    /// A tick's label, as fine as the step.
    pub fn label(self, t: &DateTime<Utc>) -> String {
        let format = match self {
            Step::Hours(_) => "%Y-%m-%d %H:%M",
            Step::Days(_) | Step::Weeks(_) => "%Y-%m-%d",
            Step::Months(_) => "%Y-%m",
            Step::Years(_) => "%Y",
        };
        t.format(format).to_string()
    }
}

/// A time axis over a span, ticked on the calendar.
#[derive(Clone)]
pub struct Calendar {
    inner: RangedDateTime<DateTime<Utc>>,
    span: Range<DateTime<Utc>>,
    step: Step,
}

impl Calendar {
    pub fn new(span: Range<DateTime<Utc>>) -> Self {
        Self {
            inner: RangedDateTime::from(span.clone()),
            step: Step::over(&span, MOST),
            span,
        }
    }
}

impl std::fmt::Debug for Calendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calendar")
            .field("span", &self.span)
            .field("step", &self.step)
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
        self.step.label(value)
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
        let step = Step::over(&years, MOST);
        let labels: Vec<String> = step.ticks(&years).iter().map(|t| step.label(t)).collect();
        assert_eq!(step, Step::Months(6));
        assert_eq!(labels.first().map(String::as_str), Some("2021-01"));
        assert!(labels.len() <= MOST && labels.len() >= 4, "{labels:?}");
        // Two months of hourly bars: Mondays.
        let weeks = at("2023-01-05T01:00:00Z")..at("2023-03-01T00:00:00Z");
        let step = Step::over(&weeks, MOST);
        let ticks = step.ticks(&weeks);
        assert!(
            ticks
                .iter()
                .all(|t| t.weekday() == chrono::Weekday::Mon && t.hour() == 0)
        );
        assert_eq!(step.label(&ticks[0]), "2023-01-09");
        // A session: round hours, from the first after the open.
        let day = at("2024-01-02T09:30:00Z")..at("2024-01-02T17:00:00Z");
        let step = Step::over(&day, MOST);
        assert_eq!(step, Step::Hours(1));
        assert_eq!(step.label(&step.ticks(&day)[0]), "2024-01-02 10:00");
        // Fifty years: decades.
        let long = at("1970-03-01T00:00:00Z")..at("2020-01-01T00:00:00Z");
        assert_eq!(Step::over(&long, MOST), Step::Years(10));
    }
}
