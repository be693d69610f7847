//! `timezone_offset("Area/City")`: the zone's UTC offset in seconds at each step, read
//! from the system's tz database (`/usr/share/zoneinfo`, TZif files) as Go's
//! `time.LoadLocation` does. Times past the file's last transition keep its last offset
//! (Debian's files list transitions up to 2037).

use crate::engine::error::{EvalError, EvalResult};
use crate::engine::eval::{Ev, Grid, Val};
use crate::engine::functions::string_arg;
use crate::parser::ast::Call;

/// Where the tz database lives on Debian and most Unix systems.
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// A zone: transition times (seconds) with the offset in force from each, and the
/// offset before the first transition.
#[derive(Debug, PartialEq)]
pub(crate) struct Zone {
    transitions: Vec<(i64, i32)>,
    initial: i32,
}

impl Zone {
    /// The UTC offset in seconds at `t` (seconds since the epoch).
    pub fn offset_at(&self, t: i64) -> i32 {
        let k = self.transitions.partition_point(|x| x.0 <= t);
        match k.checked_sub(1) {
            Some(i) => self.transitions[i].1,
            None => self.initial,
        }
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_i64(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parses a TZif file (version 1, or the 64-bit block of version 2 and later); `None`
/// for anything malformed.
pub(crate) fn parse_tzif(b: &[u8]) -> Option<Zone> {
    if b.get(..4)? != b"TZif" {
        return None;
    }
    let counts = |at: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            *slot = be_u32(b, at + 20 + 4 * i)? as usize;
        }
        Some(c)
    };
    let [isut, isstd, leap, time, typ, chars] = counts(0)?;
    let v1_len = time * 5 + typ * 6 + chars + leap * 8 + isstd + isut;
    let (base, [_, _, _, time, typ, _], tsize) = if *b.get(4)? >= b'2' {
        let at = 44 + v1_len;
        if b.get(at..at + 4)? != b"TZif" {
            return None;
        }
        (at + 44, counts(at)?, 8)
    } else {
        (44, [isut, isstd, leap, time, typ, chars], 4)
    };
    let idx_at = base + time * tsize;
    let types_at = idx_at + time;
    let [_, _, _, _, _, chars] = if tsize == 8 {
        counts(base - 44)?
    } else {
        counts(0)?
    };
    // The whole block up to the abbreviations must be there.
    b.get(types_at..types_at + typ * 6 + chars)?;
    let utoff = |ty: usize| -> Option<i32> {
        (ty < typ).then_some(())?;
        Some(be_u32(b, types_at + ty * 6)? as i32)
    };
    let mut transitions = Vec::with_capacity(time);
    for i in 0..time {
        let t = if tsize == 8 {
            be_i64(b, base + i * 8)?
        } else {
            i64::from(be_u32(b, base + i * 4)? as i32)
        };
        let ty = *b.get(idx_at + i)? as usize;
        transitions.push((t, utoff(ty)?));
    }
    // Before the first transition: the first standard-time type (Go and glibc use type 0).
    let initial = utoff(0)?;
    Some(Zone {
        transitions,
        initial,
    })
}

/// Loads a zone by its IANA name.
///
/// # Errors
/// [`EvalError::InvalidArgument`] for a name that is not a plain relative path, a zone
/// the system does not have, or a malformed file.
pub(crate) fn load(name: &str) -> EvalResult<Zone> {
    if matches!(name, "UTC" | "GMT" | "") {
        return Ok(Zone {
            transitions: Vec::new(),
            initial: 0,
        });
    }
    let bad =
        |why: &str| EvalError::InvalidArgument(format!("cannot load timezone {name:?}: {why}"));
    if name.starts_with('/')
        || name.split('/').any(|p| p == ".." || p.is_empty())
        || name.contains('\0')
    {
        return Err(bad("not a zone name"));
    }
    let path = std::path::Path::new(ZONEINFO).join(name);
    let bytes = std::fs::read(&path).map_err(|e| bad(&e.to_string()))?;
    parse_tzif(&bytes).ok_or_else(|| bad("malformed tz database file"))
}

/// `timezone_offset("tz")`.
pub(crate) fn timezone_offset(_: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let zone = load(string_arg(c, 0)?)?;
    Ok(Val::Scalar(
        (0..g.n)
            .map(|i| f64::from(zone.offset_at(g.t(i).div_euclid(1000))))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 file: one transition at t=100 to type 1 (+3600), type 0 is +0.
    fn v1() -> Vec<u8> {
        let mut b = b"TZif".to_vec();
        b.push(0);
        b.extend([0u8; 15]);
        for c in [0u32, 0, 0, 1, 2, 4] {
            b.extend(c.to_be_bytes());
        }
        b.extend(100u32.to_be_bytes());
        b.push(1);
        b.extend(0i32.to_be_bytes());
        b.extend([0, 0]);
        b.extend(3600i32.to_be_bytes());
        b.extend([1, 0]);
        b.extend(b"UTC\0");
        b
    }

    #[test]
    fn version_1_files() {
        let z = parse_tzif(&v1()).unwrap();
        assert_eq!(z.offset_at(0), 0);
        assert_eq!(z.offset_at(100), 3600);
        assert_eq!(z.offset_at(1 << 40), 3600);
    }

    #[test]
    fn malformed_files_and_names_are_errors() {
        let good = v1();
        for n in 0..good.len() {
            assert!(parse_tzif(&good[..n]).is_none(), "truncated at {n}");
        }
        assert!(parse_tzif(b"nope").is_none());
        for name in [
            "../etc/passwd",
            "/etc/passwd",
            "Europe//Berlin",
            "No/Such_Zone",
        ] {
            assert!(
                matches!(load(name), Err(EvalError::InvalidArgument(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn system_zones_have_daylight_saving() {
        let z = load("Europe/Berlin").expect("tzdata: /usr/share/zoneinfo/Europe/Berlin");
        // 2025-01-01 (CET) and 2025-07-01 (CEST).
        assert_eq!(z.offset_at(1_735_689_600), 3600);
        assert_eq!(z.offset_at(1_751_328_000), 7200);
        assert_eq!(load("UTC").unwrap().offset_at(0), 0);
    }
}
