//! Parsers for the value syntaxes a run file and the command line share:
//! durations (`1m30s`), rates (`200/s`, `12/1m`), stages (`30s:100`),
//! sizes (`64MiB`, `10MB`).
//! Each returns a message that quotes the bad text; the caller names the key.

use std::str::FromStr;
use std::time::Duration;

use super::{ConfigError, Source};

/// The longest duration any option takes: a year, far past any test, and
/// short enough that adding it to a clock reading cannot overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses durations like `30s`, `1m30s`, `250ms`, `2h`, at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|err| format!("invalid duration {text:?} ({err}); use e.g. 30s, 1m30s, 250ms"))?;
    if duration > MAX_DURATION {
        return Err(format!("duration {text:?} is longer than a year, the longest allowed"));
    }
    Ok(duration)
}

/// Parses Locust's spawn rate: users started per second, a positive number.
pub fn parse_spawn_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("invalid spawn rate {text:?}: use a positive number of users per second, e.g. 10 or 0.5")),
    }
}

/// Parses a rate like `200/s`, `12/m`, `5/2s` into iterations per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let invalid = || {
        format!("invalid rate {text:?}: use iterations per time unit, e.g. 200/s, 12/m, 5/2s (at most {MAX_RATE}/s)")
    };
    let (count, unit) = text.split_once('/').ok_or_else(invalid)?;
    let count: f64 = count.trim().parse().map_err(|_| invalid())?;
    let unit = unit.trim();
    let unit = match unit {
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => humantime::parse_duration(other).map_err(|_| invalid())?,
    };
    per_second(count, unit).ok_or_else(invalid)
}

/// The highest arrival rate, in iterations per second: far above what one
/// process can start, low enough that a year of it fits in a count.
pub const MAX_RATE: f64 = 1e9;

/// `count` iterations per `unit` as iterations per second, if both are
/// valid and the rate is at most [`MAX_RATE`].
pub fn per_second(count: f64, unit: Duration) -> Option<f64> {
    let valid = count.is_finite() && count >= 0.0 && !unit.is_zero();
    valid.then(|| count / unit.as_secs_f64()).filter(|rate| *rate <= MAX_RATE)
}

/// Parses a `--stage` value `DURATION:TARGET`, e.g. `30s:100`.
pub fn parse_stage(text: &str) -> Result<(Duration, u32), String> {
    let invalid = || format!("invalid stage {text:?}: use DURATION:TARGET, e.g. 30s:100");
    let (duration, target) = text.rsplit_once(':').ok_or_else(invalid)?;
    Ok((parse_duration(duration).map_err(|_| invalid())?, target.trim().parse().map_err(|_| invalid())?))
}

/// Parses a size in bytes: `65536`, `512KiB`, `64MiB`, `1GiB`, or decimal
/// `10kB`, `10MB`, `1GB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = || format!("invalid size {text:?}: use e.g. 64MiB, 512KiB, 10MB or a number of bytes");
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let unit: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(invalid()),
    };
    number.checked_mul(unit).ok_or_else(invalid)
}

/// A duration option's check: greater than 0.
pub(super) fn check_positive(duration: &Duration) -> Result<(), String> {
    match duration.is_zero() {
        true => Err("must be greater than 0".to_string()),
        false => Ok(()),
    }
}

/// What `max-response-body` may be: greater than 0.
pub(super) fn check_response_body(bytes: &u64) -> Result<(), String> {
    match bytes {
        0 => Err("must be greater than 0 (a request that wants no body uses discard_body)".to_string()),
        _ => Ok(()),
    }
}

/// What `vu-memory-limit` may be: a 32-bit linear memory, at least 1MiB.
pub(super) fn check_vu_memory(bytes: &u64) -> Result<(), String> {
    match *bytes {
        b if b < 1 << 20 => Err("must be at least 1MiB".to_string()),
        b if b > 4 << 30 => Err("must be at most 4GiB (a 32-bit linear memory)".to_string()),
        _ => Ok(()),
    }
}

/// Parses `KEY=VALUE`.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// A run-wide option set by a flag, by the run file, or by default; its
/// errors name the flag, or the file's line and key.
pub(super) struct Layered<'a> {
    pub key: &'static str,
    pub source: Option<&'a Source>,
}

impl Layered<'_> {
    /// A duration greater than 0: the flag's, else the file's text, else `default`.
    pub fn duration(
        &self,
        flag: Option<Duration>,
        file: Option<&str>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.layered(flag, file, default, parse_duration, check_positive)
    }

    /// A size in bytes, judged by `check`.
    pub fn size(
        &self,
        flag: Option<u64>,
        file: Option<&str>,
        default: u64,
        check: impl Fn(&u64) -> Result<(), String>,
    ) -> Result<u64, ConfigError> {
        self.layered(flag, file, default, parse_size, check)
    }

    /// A value parsed from its text (`dns = "select=first"`).
    pub fn parsed<T: FromStr<Err = String>>(
        &self,
        flag: Option<T>,
        file: Option<&str>,
        default: T,
    ) -> Result<T, ConfigError> {
        self.layered(flag, file, default, str::parse, |_| Ok(()))
    }

    /// A whole number of at least `min` (the file's is a TOML integer).
    pub fn count(&self, flag: Option<u32>, file: Option<i64>, default: u32, min: u32) -> Result<u32, ConfigError> {
        let check = |n: i64| match u32::try_from(n) {
            Ok(n) if n >= min => Ok(n),
            Ok(_) | Err(_) if n < i64::from(min) => Err(format!("must be at least {min}, got {n}")),
            _ => Err(format!("must be at most {}, got {n}", u32::MAX)),
        };
        match (flag, file, self.source) {
            (Some(n), _, _) => check(n.into()).map_err(|message| ConfigError::Flag { flag: self.key, message }),
            (None, Some(n), Some(source)) => check(n).map_err(|message| source.error(&[self.key], message)),
            _ => Ok(default),
        }
    }

    fn layered<T>(
        &self,
        flag: Option<T>,
        file: Option<&str>,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, ConfigError> {
        let flag_error = |message| ConfigError::Flag { flag: self.key, message };
        match (flag, file, self.source) {
            (Some(value), _, _) => check(&value).map(|()| value).map_err(flag_error),
            (None, Some(text), Some(source)) => {
                let value = parse(text).map_err(|message| source.error(&[self.key], message))?;
                check(&value).map(|()| value).map_err(|message| source.error(&[self.key], message))
            }
            _ => Ok(default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_k6_spellings() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("ten seconds").unwrap_err().contains("ten seconds"));
        assert!(parse_duration("-5s").is_err());
        assert_eq!(parse_duration("366d"), Ok(MAX_DURATION));
        assert!(parse_duration("367d").unwrap_err().contains("longer than a year"));
        assert!(parse_duration("300000000000y").unwrap_err().contains("300000000000y"));
    }

    #[test]
    fn rates_are_per_second() {
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert_eq!(parse_rate("12/m"), Ok(0.2));
        assert_eq!(parse_rate("5/2s"), Ok(2.5));
        assert_eq!(parse_rate(" 30 / 1m "), Ok(0.5));
        for bad in ["200", "x/s", "5/0s", "5/parsec", "-1/s", "2000000000/s", "1e300/s"] {
            assert!(parse_rate(bad).unwrap_err().contains(bad), "{bad}");
        }
    }

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        for bad in ["", "MiB", "1.5MiB", "-1", "64mb", "99999999999999999999GiB", "18446744073709551615GiB"] {
            assert!(parse_size(bad).unwrap_err().contains(bad), "{bad}");
        }
    }

    #[test]
    fn stages_and_key_values() {
        assert_eq!(parse_stage("30s:100"), Ok((Duration::from_secs(30), 100)));
        assert_eq!(parse_stage("1m30s:0"), Ok((Duration::from_secs(90), 0)));
        assert!(parse_stage("30s").is_err() && parse_stage("30s:-1").is_err());
        assert_eq!(parse_key_value("URL=http://x/?a=b"), Ok(("URL".into(), "http://x/?a=b".into())));
        assert_eq!(parse_key_value("EMPTY="), Ok(("EMPTY".into(), String::new())));
        assert!(parse_key_value("novalue").is_err() && parse_key_value("=v").is_err());
    }
}
