//! A small logger behind the `log` facade, writing VictoriaMetrics' line format to
//! stderr: `2024-01-01T00:00:00.000Z\tinfo\tmodule\tmessage`.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes records at or above its level to stderr, one line each.
pub struct Logger {
    level: log::LevelFilter,
}

/// The level a `-loggerLevel` value names (VictoriaMetrics' `INFO`, `WARN`, `ERROR`;
/// `FATAL` and `PANIC` log errors only), any case.
pub fn parse_level(flag: &str) -> Option<log::LevelFilter> {
    match flag.to_ascii_uppercase().as_str() {
        "INFO" => Some(log::LevelFilter::Info),
        "WARN" => Some(log::LevelFilter::Warn),
        "ERROR" | "FATAL" | "PANIC" => Some(log::LevelFilter::Error),
        _ => None,
    }
}

/// Installs the logger for the whole process. A second call does nothing.
pub fn init(level: log::LevelFilter) {
    // Leaked once: the logger lives as long as the process.
    if log::set_logger(Box::leak(Box::new(Logger { level }))).is_ok() {
        log::set_max_level(level);
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format_line(now_ms(), record.level(), record.target(), record.args());
        // A closed stderr must not take the server down: the error is dropped.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// One log line, with its `\n`.
pub fn format_line(
    unix_ms: i64,
    level: log::Level,
    module: &str,
    message: &std::fmt::Arguments<'_>,
) -> String {
    let level = match level {
        log::Level::Error => "error",
        log::Level::Warn => "warn",
        log::Level::Info => "info",
        log::Level::Debug => "debug",
        log::Level::Trace => "trace",
    };
    format!("{}\t{level}\t{module}\t{message}\n", rfc3339_ms(unix_ms))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `YYYY-MM-DDThh:mm:ss.mmmZ` of a Unix time in milliseconds.
pub fn rfc3339_ms(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let ms_of_day = unix_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (s, ms) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_vm_layout() {
        let line = format_line(
            1_704_067_200_123,
            log::Level::Info,
            "gnomon::serve",
            &format_args!("listening on http://{}", "127.0.0.1:1"),
        );
        assert_eq!(
            line,
            "2024-01-01T00:00:00.123Z\tinfo\tgnomon::serve\tlistening on http://127.0.0.1:1\n"
        );
    }

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_ms(4_102_444_799_000), "2099-12-31T23:59:59.000Z");
    }
}
