//! Times, money and counts as a reader expects them: in their own time zone, with relative
//! times for recent events ("3 小时前", "il y a 3 h"), and numbers grouped the way their language
//! writes them ("850,000", "850 000").

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::i18n::Lang;

/// The time zone a reader sees when neither their profile nor their browser says.
pub fn default_zone(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "Asia/Shanghai",
        Lang::Fr => "Europe/Paris",
        Lang::En => "UTC",
    }
}

/// `name` if it is a time zone this server knows (an IANA name such as `Asia/Shanghai`).
pub fn known_zone(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    TimeZone::get(name).ok().map(|_| name.to_string())
}

/// Zones offered in the settings page (a reader's current one is added if missing).
pub const COMMON_ZONES: &[&str] = &[
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/Paris",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Africa/Casablanca",
    "America/Montreal",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
];

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

fn zoned(ms: i64, tz: &str) -> Option<jiff::Zoned> {
    Timestamp::from_millisecond(ms).ok().map(|t| t.to_zoned(zone(tz)))
}

/// `2026-12-02 09:44` in the reader's zone.
pub fn datetime(ms: i64, tz: &str) -> String {
    zoned(ms, tz)
        .map(|z| z.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The value of an `<input type="datetime-local">` for that moment in the reader's zone:
/// `2026-12-02T09:44`.
pub fn input_value(ms: i64, tz: &str) -> String {
    zoned(ms, tz)
        .map(|z| z.strftime("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// The moment a `datetime-local` value (`2026-12-02T09:44`, seconds optional) names in the
/// reader's zone, in milliseconds; `None` if it is not such a value or is outside 1970–2100.
/// A wall time skipped by a daylight-saving change is read as the moment after the gap.
pub fn parse_input(value: &str, tz: &str) -> Option<i64> {
    let value = value.trim();
    if value.is_empty() || value.len() > 32 {
        return None;
    }
    let value = value.replace(' ', "T");
    // A wall time only: an offset or a zone in the text would be silently dropped by the parse.
    if value
        .split_once('T')
        .is_some_and(|(_, time)| time.contains(['+', '-', 'Z', 'z', '[']))
    {
        return None;
    }
    let civil: jiff::civil::DateTime = value.parse().ok()?;
    if !(1970..=2100).contains(&civil.year()) {
        return None;
    }
    let zoned = civil.to_zoned(zone(tz)).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// The zone's offset from UTC at that moment, in milliseconds (0 for an unknown zone).
pub fn offset_ms(ms: i64, tz: &str) -> i64 {
    zoned(ms, tz).map_or(0, |z| i64::from(z.offset().seconds()) * 1_000)
}

/// The zone's offset at that moment: `UTC+8`, `UTC+5:30`, `UTC−5`, `UTC`.
pub fn offset_label(ms: i64, tz: &str) -> String {
    let Some(z) = zoned(ms, tz) else {
        return String::new();
    };
    let secs = z.offset().seconds();
    if secs == 0 {
        return "UTC".into();
    }
    let sign = if secs < 0 { '−' } else { '+' };
    let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
    if m == 0 {
        format!("UTC{sign}{h}")
    } else {
        format!("UTC{sign}{h}:{m:02}")
    }
}

/// `2026-12-02 09:44 UTC+8`: for times a reader must act on (a launch opening).
pub fn datetime_with_zone(ms: i64, tz: &str) -> String {
    let text = datetime(ms, tz);
    if text.is_empty() {
        return text;
    }
    format!("{text} {}", offset_label(ms, tz))
}

/// "3 小时前" / "il y a 3 h" / "3 h ago" for the last week; the date and time before that and
/// for anything in the future.
pub fn relative(ms: i64, now: i64, lang: Lang, tz: &str) -> String {
    let ago = now - ms;
    if !(0..7 * 86_400_000).contains(&ago) {
        return datetime(ms, tz);
    }
    let (n, unit) = match ago {
        a if a < 60_000 => (0, ""),
        a if a < 3_600_000 => (a / 60_000, "min"),
        a if a < 86_400_000 => (a / 3_600_000, "h"),
        a => (a / 86_400_000, "d"),
    };
    match (lang, unit) {
        (Lang::Zh, "") => "刚刚".into(),
        (Lang::Zh, "min") => format!("{n} 分钟前"),
        (Lang::Zh, "h") => format!("{n} 小时前"),
        (Lang::Zh, _) => format!("{n} 天前"),
        (Lang::Fr, "") => "à l’instant".into(),
        (Lang::Fr, "min") => format!("il y a {n} min"),
        (Lang::Fr, "h") => format!("il y a {n} h"),
        (Lang::Fr, _) => format!("il y a {n} j"),
        (Lang::En, "") => "just now".into(),
        (Lang::En, "min") => format!("{n} min ago"),
        (Lang::En, "h") => format!("{n} h ago"),
        (Lang::En, _) => format!("{n} d ago"),
    }
}

/// An integer with the language's digit grouping: `850,000` (zh, en), `850 000` (fr, with a
/// narrow no-break space).
pub fn count(n: i64, lang: Lang) -> String {
    let digits = n.unsigned_abs().to_string();
    let sep = match lang {
        Lang::Fr => "\u{202f}",
        _ => ",",
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A price in minor units: `¥3,999.00` (zh), `CN¥3,999.00` (en), `3 999,00 CN¥` (fr); other
/// currencies by their code.
pub fn money(cents: i64, currency: &str, lang: Lang) -> String {
    let whole = count(cents / 100, lang);
    let frac = (cents % 100).abs();
    let sign = if cents < 0 && cents / 100 == 0 { "-" } else { "" };
    let symbol = match (currency, lang) {
        ("CNY", Lang::Zh) => "¥",
        ("CNY", _) => "CN¥",
        ("EUR", _) => "€",
        ("USD", Lang::En) => "$",
        ("USD", _) => "US$",
        (other, _) => other,
    };
    match lang {
        Lang::Fr => format!("{sign}{whole},{frac:02}\u{a0}{symbol}"),
        _ if symbol.len() == 3 && symbol.is_ascii() => format!("{symbol}\u{a0}{sign}{whole}.{frac:02}"),
        _ => format!("{sign}{symbol}{whole}.{frac:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_inputs_are_read_in_the_readers_zone() {
        let ms = parse_input("2026-12-02T20:00", "Asia/Shanghai").unwrap();
        assert_eq!(datetime(ms, "UTC"), "2026-12-02 12:00");
        assert_eq!(input_value(ms, "Asia/Shanghai"), "2026-12-02T20:00");
        assert_eq!(input_value(ms, "Europe/Paris"), "2026-12-02T13:00");
        assert_eq!(
            parse_input("2026-12-02T20:00:30", "UTC").map(|m| m % 60_000),
            Some(30_000)
        );
        for bad in [
            "",
            "tomorrow",
            "2026-13-01T10:00",
            "9999-01-01T00:00",
            "２０２６",
            "2026-12-02T20:00\0",
            &"9".repeat(5000),
            "2026-12-02T20:00+05:00",
            "2026-12-02T20:00Z",
            "2026-12-02T20:00-03:00",
            "2026-12-02T20:00[Europe/Paris]",
        ] {
            assert_eq!(parse_input(bad, "Asia/Shanghai"), None, "{bad:?}");
        }
        // 02:30 does not exist in Paris on 2026-03-29: it is read after the gap, not refused.
        assert!(parse_input("2026-03-29T02:30", "Europe/Paris").is_some());
    }

    // 2026-12-01 13:17 UTC
    const T: i64 = 1_796_131_020_000;

    #[test]
    fn times_are_shown_in_the_readers_zone_with_its_offset() {
        assert_eq!(datetime(T, "UTC"), "2026-12-01 13:17");
        assert_eq!(datetime(T, "Asia/Shanghai"), "2026-12-01 21:17");
        assert_eq!(datetime_with_zone(T, "Asia/Shanghai"), "2026-12-01 21:17 UTC+8");
        assert_eq!(datetime_with_zone(T, "Europe/Paris"), "2026-12-01 14:17 UTC+1");
        assert_eq!(datetime_with_zone(T, "America/New_York"), "2026-12-01 08:17 UTC−5");
        assert_eq!(offset_label(T, "Asia/Kolkata"), "UTC+5:30");
        // Summer time in Paris.
        assert_eq!(offset_label(T - 150 * 86_400_000, "Europe/Paris"), "UTC+2");
        // An unknown zone falls back to UTC rather than failing the page.
        assert_eq!(datetime(T, "Mars/Olympus"), "2026-12-01 13:17");
        assert_eq!(known_zone("Mars/Olympus"), None);
        assert_eq!(known_zone(" Asia/Shanghai "), Some("Asia/Shanghai".into()));
        assert_eq!(known_zone(""), None);
        // A cookie or form is anyone's text: nothing outside the zone names gets through.
        for hostile in [
            "../../../etc/passwd",
            "/etc/localtime",
            "Asia/../Asia/Shanghai",
            "\u{0}",
            "🕐",
            "亚洲/上海",
            &"A/".repeat(40),
        ] {
            assert_eq!(known_zone(hostile), None, "{hostile:?}");
            assert_eq!(datetime(T, hostile), "2026-12-01 13:17");
        }
        assert_eq!(datetime(i64::MAX, "UTC"), "");
    }

    #[test]
    fn recent_times_are_relative_in_each_language() {
        let h3 = T - 3 * 3_600_000 - 5_000;
        assert_eq!(relative(h3, T, Lang::Zh, "UTC"), "3 小时前");
        assert_eq!(relative(h3, T, Lang::Fr, "UTC"), "il y a 3 h");
        assert_eq!(relative(h3, T, Lang::En, "UTC"), "3 h ago");
        assert_eq!(relative(T - 20_000, T, Lang::Zh, "UTC"), "刚刚");
        assert_eq!(relative(T - 5 * 60_000, T, Lang::Fr, "UTC"), "il y a 5 min");
        assert_eq!(relative(T - 2 * 86_400_000, T, Lang::Zh, "UTC"), "2 天前");
        // Older than a week, or in the future: the date.
        assert_eq!(
            relative(T - 8 * 86_400_000, T, Lang::Zh, "Asia/Shanghai"),
            "2026-11-23 21:17"
        );
        assert_eq!(relative(T + 60_000, T, Lang::En, "UTC"), "2026-12-01 13:18");
    }

    #[test]
    fn counts_and_money_follow_the_language() {
        assert_eq!(count(850_000, Lang::Zh), "850,000");
        assert_eq!(count(850_000, Lang::Fr), "850\u{202f}000");
        assert_eq!(count(999, Lang::En), "999");
        assert_eq!(count(-1_234_567, Lang::En), "-1,234,567");
        assert_eq!(count(0, Lang::Fr), "0");
        assert_eq!(money(399_900, "CNY", Lang::Zh), "¥3,999.00");
        assert_eq!(money(399_900, "CNY", Lang::En), "CN¥3,999.00");
        assert_eq!(money(399_900, "CNY", Lang::Fr), "3\u{202f}999,00\u{a0}CN¥");
        assert_eq!(money(1_999, "EUR", Lang::Fr), "19,99\u{a0}€");
        assert_eq!(money(5, "GBP", Lang::En), "GBP\u{a0}0.05");
        assert_eq!(money(i64::MAX, "CNY", Lang::Zh), "¥92,233,720,368,547,758.07");
        assert_eq!(money(-5, "CNY", Lang::Zh), "-¥0.05");
    }
}
