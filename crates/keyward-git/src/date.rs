//! ISO 8601 dates from git's `seconds offset` pairs, without a date crate.

/// Formats `seconds` since the Unix epoch in the time zone `offset_seconds` east of UTC as
/// `2024-05-01T13:45:00+02:00`.
pub(crate) fn iso8601(seconds: i64, offset_seconds: i32) -> String {
    let local = seconds + i64::from(offset_seconds);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let off = offset_seconds.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        off / 3600,
        off / 60 % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's
/// well-known algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn dates() {
        let table = [
            (0, 0, "1970-01-01T00:00:00+00:00"),
            (1_700_000_000, 0, "2023-11-14T22:13:20+00:00"),
            (1_700_000_000, 3600, "2023-11-14T23:13:20+01:00"),
            (
                1_700_000_000,
                -(5 * 3600 + 30 * 60),
                "2023-11-14T16:43:20-05:30",
            ),
            (951_782_400, 0, "2000-02-29T00:00:00+00:00"),
            (-1, 0, "1969-12-31T23:59:59+00:00"),
        ];
        for (secs, off, want) in table {
            assert_eq!(iso8601(secs, off), want, "{secs} {off}");
        }
    }
}
