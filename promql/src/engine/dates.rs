//! Calendar functions: `year`, `month`, `day_of_month`, `day_of_week`, `day_of_year`,
//! `days_in_month`, `hour`, `minute` (UTC, proleptic Gregorian).

use super::error::EvalResult;
use super::eval::{Ev, Grid, Val};
use crate::parser::ast::Call;
use gnomon_tsdb_core::model::civil::civil_from_days;

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A calendar field of a Unix time in seconds (UTC).
fn date_part(v: f64, part: &str) -> f64 {
    let secs = v.floor() as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    match part {
        "year" => y as f64,
        "month" => m as f64,
        "day_of_month" => d as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_year" => {
            let before: u32 = (1..m).map(|k| days_in(y, k)).sum();
            (before + d) as f64
        }
        "days_in_month" => days_in(y, m) as f64,
        "hour" => (sod / 3600) as f64,
        "minute" => (sod % 3600 / 60) as f64,
        _ => f64::NAN,
    }
}

pub(crate) fn date_fn(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let part = c.func.name;
    ev.map_values(c, g, |v, _| {
        Some(if v.is_finite() {
            date_part(v, part)
        } else {
            f64::NAN
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_part(1_136_239_445.0, "hour"), 22.0);
        assert_eq!(date_part(0.0, "day_of_week"), 4.0);
        assert_eq!(date_part(951_782_400.0, "day_of_year"), 60.0);
    }
}
