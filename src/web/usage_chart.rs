//! A template page's "memes per day" chart, drawn on the server as an SVG with its own labels
//! (the highest count, and the first, middle and last day), so it reads without JavaScript, and
//! with the same numbers as rows of a table for screen readers (`templates/templates/_chart.html`).

use time::Date;
use time::macros::format_description;

/// The drawing's coordinate space (`viewBox`); the page scales it to the column's width.
const WIDTH: u32 = 300;
const HEIGHT: u32 = 120;
/// Room on the left for the count labels, and below the bars for the day labels.
const PLOT_LEFT: u32 = 24;
const PLOT_TOP: u32 = 10;
const PLOT_HEIGHT: u32 = 82;
const BASELINE: u32 = PLOT_TOP + PLOT_HEIGHT;
const PLOT_WIDTH: f64 = 272.0;
/// A day with memes gets a bar at least this tall, so one meme among hundreds still shows.
const MIN_BAR: f64 = 2.0;

/// One day's bar.
pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// "Thu 12 Jun: 3 memes", its tooltip.
    pub title: String,
}

/// A label under the bars.
pub struct DayLabel {
    pub x: String,
    /// `start`, `middle` or `end`: the first label starts at the left edge, the last ends at the
    /// right one, so neither is cut off.
    pub anchor: &'static str,
    pub text: String,
}

/// One row of the table under the chart.
pub struct DayRow {
    pub iso: String,
    pub label: String,
    pub count: u64,
}

/// Where the drawing puts things, in its own coordinates (for the template).
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub plot_left: u32,
    pub plot_top: u32,
    pub baseline: u32,
}

pub struct UsageChart {
    pub frame: Frame,
    pub days: u16,
    pub total: u64,
    /// The highest count of a day: the top of the scale.
    pub peak: u64,
    pub bars: Vec<Bar>,
    pub day_labels: Vec<DayLabel>,
    pub rows: Vec<DayRow>,
    /// What the chart shows, in one sentence (its `<desc>` and caption).
    pub summary: String,
}

impl UsageChart {
    /// The chart of `daily` (oldest first, one entry per day).
    pub fn new(daily: &[(Date, u64)]) -> Self {
        let days = u16::try_from(daily.len()).unwrap_or(u16::MAX);
        let total: u64 = daily.iter().map(|(_, n)| n).sum();
        let peak = daily.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let slot = PLOT_WIDTH / daily.len().max(1) as f64;
        let bar_width = (slot * 0.75).max(1.0);
        let bars = daily
            .iter()
            .enumerate()
            .filter(|(_, (_, count))| *count > 0)
            .map(|(i, (day, count))| {
                let height = (*count as f64 / peak as f64 * f64::from(PLOT_HEIGHT)).max(MIN_BAR);
                Bar {
                    x: coordinate(f64::from(PLOT_LEFT) + i as f64 * slot + (slot - bar_width) / 2.0),
                    y: coordinate(f64::from(BASELINE) - height),
                    width: coordinate(bar_width),
                    height: coordinate(height),
                    title: format!("{}: {}", long_day(*day), meme_count(*count)),
                }
            })
            .collect();
        let last = daily.len().saturating_sub(1);
        let mut labelled = vec![0, last / 2, last];
        labelled.dedup();
        let day_labels = daily
            .iter()
            .enumerate()
            .filter(|(i, _)| labelled.contains(i))
            .map(|(i, (day, _))| {
                let left = f64::from(PLOT_LEFT) + i as f64 * slot;
                let (x, anchor) = match i {
                    0 => (left, "start"),
                    i if i == last => (left + slot, "end"),
                    _ => (left + slot / 2.0, "middle"),
                };
                DayLabel { x: coordinate(x), anchor, text: short_day(*day) }
            })
            .collect();
        let rows = daily
            .iter()
            .map(|(day, count)| DayRow { iso: day.to_string(), label: long_day(*day), count: *count })
            .collect();
        let busiest = daily.iter().find(|(_, n)| *n == peak && peak > 0);
        let summary = match busiest {
            None => format!("No memes in the last {days} days."),
            Some((day, _)) if total == peak => {
                format!("{} in the last {days} days, on {}.", meme_count(total), long_day(*day))
            }
            Some((day, _)) => {
                format!(
                    "{} in the last {days} days; the busiest day was {} with {peak}.",
                    meme_count(total),
                    long_day(*day)
                )
            }
        };
        let frame =
            Frame { width: WIDTH, height: HEIGHT, plot_left: PLOT_LEFT, plot_top: PLOT_TOP, baseline: BASELINE };
        Self { frame, days, total, peak, bars, day_labels, rows, summary }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// "1 meme", "12 memes".
pub fn meme_count(count: u64) -> String {
    if count == 1 { "1 meme".to_owned() } else { format!("{count} memes") }
}

/// SVG coordinates to a tenth: enough for a 300-wide drawing, and short in the page.
fn coordinate(value: f64) -> String {
    let tenths = (value * 10.0).round() / 10.0;
    format!("{tenths}")
}

fn short_day(day: Date) -> String {
    day.format(format_description!("[day padding:none] [month repr:short]")).unwrap_or_default()
}

fn long_day(day: Date) -> String {
    day.format(format_description!("[weekday repr:short] [day padding:none] [month repr:short]")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn month(counts: &[(usize, u64)]) -> Vec<(Date, u64)> {
        let first = date!(2025 - 05 - 13);
        (0..30)
            .map(|i| (first + time::Duration::days(i as i64), counts.iter().find(|(d, _)| *d == i).map_or(0, |c| c.1)))
            .collect()
    }

    #[test]
    fn an_empty_month_draws_no_bars_and_says_so() {
        let chart = UsageChart::new(&month(&[]));
        assert!(chart.is_empty() && chart.bars.is_empty());
        assert_eq!(chart.summary, "No memes in the last 30 days.");
        assert_eq!(chart.day_labels.len(), 3, "the days are still labelled");
    }

    #[test]
    fn one_meme_is_one_full_height_bar_on_its_day() {
        let chart = UsageChart::new(&month(&[(29, 1)]));
        assert_eq!(chart.bars.len(), 1);
        assert_eq!((chart.bars[0].height.as_str(), chart.peak), ("82", 1));
        assert_eq!(chart.summary, "1 meme in the last 30 days, on Wed 11 Jun.");
        assert_eq!(chart.bars[0].title, "Wed 11 Jun: 1 meme");
    }

    #[test]
    fn the_first_middle_and_last_days_are_labelled_inside_the_drawing() {
        let chart = UsageChart::new(&month(&[(3, 4), (20, 1)]));
        let labels: Vec<_> = chart.day_labels.iter().map(|l| (l.text.as_str(), l.anchor)).collect();
        assert_eq!(labels, [("13 May", "start"), ("27 May", "middle"), ("11 Jun", "end")]);
        assert_eq!(chart.day_labels[2].x, "296", "the last label ends at the plot's right edge");
        assert_eq!(chart.summary, "5 memes in the last 30 days; the busiest day was Fri 16 May with 4.");
        assert_eq!(chart.rows.len(), 30);
    }

    #[test]
    fn a_quiet_day_beside_a_busy_one_still_shows() {
        let chart = UsageChart::new(&month(&[(0, 500), (1, 1)]));
        assert_eq!(chart.bars[1].height, "2");
    }
}
