//! Hashtag campaigns, the rules without storage: what a valid campaign, entry and winner list
//! are, when a campaign takes entries and votes, and how its actuals compare with its targets
//! over time.

use crate::error::{ListeningError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::trending;
use fanloop_vetting::text;

pub const DAY_MS: i64 = 86_400_000;
pub const MAX_ENTRY_IMAGES: usize = 4;
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
pub const MAX_ENTRY_CHARS: usize = 1000;
pub const MAX_WINNERS: usize = 20;
/// Longest campaign: a year of daily points is what the dashboard draws.
pub const MAX_DAYS: i64 = 366;

/// What a campaign is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Impressions: campaign page views plus the follower reach of imported social posts
    /// carrying the hashtag, plus recorded off-platform figures.
    Exposure,
    /// Views of the campaign page by anyone but staff.
    PageViews,
    /// Fan entries still shown (hidden ones do not count).
    Entries,
    /// Live (not expired) orders on the linked drops placed during the campaign.
    Orders,
    /// Paid orders' value on the linked drops, in cents.
    Revenue,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Exposure,
        Metric::PageViews,
        Metric::Entries,
        Metric::Orders,
        Metric::Revenue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Exposure => "exposure",
            Metric::PageViews => "page_views",
            Metric::Entries => "entries",
            Metric::Orders => "orders",
            Metric::Revenue => "revenue",
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Targets per metric; 0 means "no target" (the metric is still counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Targets {
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000000i64)]
    pub exposure: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000000i64)]
    pub page_views: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000000i64)]
    pub entries: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000000i64)]
    pub orders: i64,
    /// In cents of the campaign's currency.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000000i64)]
    pub revenue_cents: i64,
}

impl Targets {
    pub fn get(&self, m: Metric) -> i64 {
        match m {
            Metric::Exposure => self.exposure,
            Metric::PageViews => self.page_views,
            Metric::Entries => self.entries,
            Metric::Orders => self.orders,
            Metric::Revenue => self.revenue_cents,
        }
    }
}

/// A campaign hashtag as shown (`#小米拍照#`, `#ShotOnFan`) and as matched: the form
/// `trending::hashtags` gives (simplified, lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashtag {
    pub display: String,
    pub key: String,
}

/// Reads what staff typed: with or without the '#' marks.  Chinese topics take Weibo's
/// `#话题#` form; others the `#tag` form, which cannot hold spaces.
pub fn parse_hashtag(input: &str) -> Result<Hashtag, Problem> {
    let core = input.trim().trim_matches(|c| c == '#' || c == '＃').trim();
    if core.is_empty() {
        return Err(ListeningError::HashtagRequired.into());
    }
    if core.contains(['#', '＃', '\n', '\r']) {
        return Err(ListeningError::HashtagOne.into());
    }
    let display = if core.chars().any(text::is_han) {
        if core.chars().count() > 30 {
            return Err(ListeningError::HashtagChineseLong.into());
        }
        format!("#{core}#")
    } else {
        let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
        if !(2..=50).contains(&core.chars().count()) || !core.chars().all(word) || core.starts_with(['_', '-']) {
            return Err(ListeningError::HashtagLatin.into());
        }
        format!("#{core}")
    };
    let key = match trending::hashtags(&display).as_slice() {
        [only] => only.clone(),
        _ => return Err(Problem(ListeningError::HashtagUnread, vec![("hashtag", display)])),
    };
    Ok(Hashtag { display, key })
}

/// Whether a post carries the campaign's hashtag (by key).
pub fn carries(post: &str, key: &str) -> bool {
    trending::hashtags(post).iter().any(|t| t == key)
}

/// An entry's text as stored: the fan's words, with the hashtag in front when they left it out,
/// so that every entry is a post under the hashtag wherever it is read (trending included).
pub fn entry_text(text: &str, hashtag: &Hashtag) -> String {
    let text = text.trim();
    if carries(text, &hashtag.key) {
        text.to_string()
    } else {
        format!("{} {text}", hashtag.display)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Upcoming,
    Open,
    Ended,
}

impl Phase {
    pub fn at(starts_at: i64, ends_at: i64, now: i64) -> Phase {
        if now < starts_at {
            Phase::Upcoming
        } else if now < ends_at {
            Phase::Open
        } else {
            Phase::Ended
        }
    }
}

/// Latest time a campaign may name (2100-01-01, Unix ms): every date arithmetic stays far from
/// overflow.
pub const LATEST_TIME_MS: i64 = 4_102_444_800_000;

/// Checks a campaign's settings; returns the first problem, phrased for the person who typed it.
pub fn check_settings(
    title: &str,
    description: &str,
    starts_at: i64,
    ends_at: i64,
    targets: &Targets,
    max_entries_per_account: i64,
    max_votes_per_account: i64,
) -> Result<(), Problem> {
    let title_len = title.trim().chars().count();
    if title_len == 0 || title_len > 120 {
        return Err(ListeningError::Title.into());
    }
    if description.chars().count() > 5000 {
        return Err(ListeningError::Description.into());
    }
    if !(0..=LATEST_TIME_MS).contains(&starts_at) || !(0..=LATEST_TIME_MS).contains(&ends_at) {
        return Err(ListeningError::Times.into());
    }
    if starts_at >= ends_at {
        return Err(ListeningError::StartBeforeEnd.into());
    }
    if ends_at - starts_at > MAX_DAYS * DAY_MS {
        return Err(Problem(ListeningError::TooLong, vec![("days", MAX_DAYS.to_string())]));
    }
    for m in Metric::ALL {
        if !(0..=1_000_000_000_000_000).contains(&targets.get(m)) {
            return Err(Problem(
                ListeningError::Target,
                vec![("metric", m.as_str().to_string())],
            ));
        }
    }
    if Metric::ALL.iter().all(|m| targets.get(*m) == 0) {
        return Err(ListeningError::NoTarget.into());
    }
    if !(1..=50).contains(&max_entries_per_account) {
        return Err(ListeningError::EntriesPerAccount.into());
    }
    if !(1..=1000).contains(&max_votes_per_account) {
        return Err(ListeningError::VotesPerAccount.into());
    }
    Ok(())
}

/// Checks an entry before anything is stored.  `images` are each image's content type (already
/// sniffed from its bytes, `None` if it is not an image) and size.
pub fn check_entry(text: &str, images: &[(String, Option<&str>, usize)]) -> Result<(), Problem> {
    let chars = text.trim().chars().count();
    if chars == 0 {
        return Err(ListeningError::EntryText.into());
    }
    if chars > MAX_ENTRY_CHARS {
        return Err(Problem(
            ListeningError::EntryTextLong,
            vec![("max", MAX_ENTRY_CHARS.to_string())],
        ));
    }
    if images.is_empty() {
        return Err(ListeningError::NoImage.into());
    }
    if images.len() > MAX_ENTRY_IMAGES {
        return Err(Problem(
            ListeningError::TooManyImages,
            vec![("max", MAX_ENTRY_IMAGES.to_string())],
        ));
    }
    for (name, kind, size) in images {
        if kind.is_none() {
            return Err(Problem(ListeningError::ImageType, vec![("file", name.clone())]));
        }
        if *size > MAX_IMAGE_BYTES {
            return Err(Problem(ListeningError::ImageSize, vec![("file", name.clone())]));
        }
    }
    Ok(())
}

/// Erases the GPS position from a JPEG's EXIF block, in place: entries are public, and a phone
/// photo's coordinates can point at a fan's home.  The rest of the EXIF (orientation above all,
/// which viewers need to show portrait shots upright) is kept, and the file keeps its length.
/// Returns whether a position was found.  Anything malformed is left as it is.
pub fn erase_jpeg_gps(data: &mut [u8]) -> bool {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut erased = false;
    let mut i = 2;
    while i + 4 <= data.len() && data[i] == 0xFF {
        let marker = data[i + 1];
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) || marker == 0xFF {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break; // the image data: no metadata after this point
        }
        let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        let end = (i + 2 + len).min(data.len());
        if marker == 0xE1 && end >= i + 10 && data[i + 4..end].starts_with(b"Exif\0\0") {
            erased |= erase_tiff_gps(&mut data[i + 10..end]);
        }
        i += 2 + len.max(2);
    }
    erased
}

fn erase_tiff_gps(t: &mut [u8]) -> bool {
    let little = match t.get(..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return false,
    };
    let u16_at = |t: &[u8], at: usize| -> Option<usize> {
        let b: [u8; 2] = t.get(at..at + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        } as usize)
    };
    let u32_at = |t: &[u8], at: usize| -> Option<usize> {
        let b: [u8; 4] = t.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        } as usize)
    };
    let Some(ifd0) = u32_at(t, 4) else { return false };
    let Some(n) = u16_at(t, ifd0) else { return false };
    let gps = (0..n).find_map(|k| {
        let e = ifd0 + 2 + 12 * k;
        (u16_at(t, e)? == 0x8825).then(|| u32_at(t, e + 8)).flatten()
    });
    let Some(gps) = gps else { return false };
    let Some(count) = u16_at(t, gps) else { return false };
    for k in 0..count {
        let e = gps + 2 + 12 * k;
        let (Some(kind), Some(n)) = (u16_at(t, e + 2), u32_at(t, e + 4)) else {
            break;
        };
        let unit = match kind {
            3 => 2,
            4 | 9 => 4,
            5 | 10 | 12 => 8,
            _ => 1,
        };
        let size = n.saturating_mul(unit);
        if size > 4 {
            if let Some(at) = u32_at(t, e + 8) {
                if let Some(value) = t.get_mut(at..at.saturating_add(size)) {
                    value.fill(0);
                }
            }
        }
        if let Some(entry) = t.get_mut(e..e + 12) {
            entry.fill(0);
        }
    }
    if let Some(c) = t.get_mut(gps..gps + 2) {
        c.fill(0);
    }
    true
}

/// Removes what an entry image says about its author beyond the picture: the GPS position of a
/// JPEG (the rest of its EXIF is kept, orientation above all), and the EXIF, XMP, text and time
/// chunks of a PNG or a WebP.  Anything malformed is returned as it came.
pub fn strip_metadata(content_type: &str, mut data: Vec<u8>) -> Vec<u8> {
    match content_type {
        "image/jpeg" => {
            erase_jpeg_gps(&mut data);
            data
        }
        "image/png" => strip_png(&data).unwrap_or(data),
        "image/webp" => strip_webp(&data).unwrap_or(data),
        _ => data,
    }
}

fn strip_png(data: &[u8]) -> Option<Vec<u8>> {
    const DROPPED: [&[u8; 4]; 5] = [b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"];
    let mut out = data.get(..8)?.to_vec();
    let mut at = 8;
    while at < data.len() {
        let len = u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?) as usize;
        let end = at.checked_add(12)?.checked_add(len)?;
        let chunk = data.get(at..end)?;
        if !DROPPED.iter().any(|t| &chunk[4..8] == t.as_slice()) {
            out.extend_from_slice(chunk);
        }
        at = end;
    }
    Some(out)
}

fn strip_webp(data: &[u8]) -> Option<Vec<u8>> {
    if data.get(..4)? != b"RIFF" || data.get(8..12)? != b"WEBP" {
        return None;
    }
    let mut out = data[..12].to_vec();
    let mut at = 12;
    while at < data.len() {
        let size = u32::from_le_bytes(data.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        let end = at.checked_add(8)?.checked_add(size + size % 2)?.min(data.len());
        let chunk = data.get(at..end)?;
        match &chunk[..4] {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut c = chunk.to_vec();
                // Flags: the file no longer carries EXIF (0x08) or XMP (0x04).
                *c.get_mut(8)? &= !0x0C;
                out.extend_from_slice(&c);
            }
            _ => out.extend_from_slice(chunk),
        }
        at = end;
    }
    let riff_size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Some(out)
}

/// One pick of the winner list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WinnerPick {
    pub entry_id: i64,
    /// What they win ("一等奖 · Aurora X2"), shown on the campaign page.
    #[serde(default)]
    #[schema(max_length = 80)]
    pub prize: String,
}

/// Checks a winner list against the campaign: it has ended, every pick is one of its shown
/// entries, no entry twice.  `shown` are the ids of the campaign's entries that are not hidden.
pub fn check_winners(phase: Phase, picks: &[WinnerPick], shown: &[i64]) -> Result<(), Problem> {
    if phase != Phase::Ended {
        return Err(ListeningError::WinnersNotEnded.into());
    }
    if picks.len() > MAX_WINNERS {
        return Err(Problem(
            ListeningError::TooManyWinners,
            vec![("max", MAX_WINNERS.to_string())],
        ));
    }
    for (i, p) in picks.iter().enumerate() {
        if !shown.contains(&p.entry_id) {
            return Err(Problem(
                ListeningError::NotShownEntry,
                vec![("entry", p.entry_id.to_string())],
            ));
        }
        if picks[..i].iter().any(|q| q.entry_id == p.entry_id) {
            return Err(Problem(
                ListeningError::PickedTwice,
                vec![("entry", p.entry_id.to_string())],
            ));
        }
        if p.prize.trim().chars().count() > 80 {
            return Err(Problem(
                ListeningError::PrizeTooLong,
                vec![("entry", p.entry_id.to_string())],
            ));
        }
    }
    Ok(())
}

/// How a metric stands against the straight line from 0 at the start to the target at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    NoTarget,
    Reached,
    Ahead,
    Behind,
}

/// One metric on the dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetricProgress {
    pub metric: Metric,
    pub target: i64,
    pub actual: i64,
    /// actual / target × 100 (may pass 100); absent without a target.
    pub completion_pct: Option<f64>,
    /// Where a steady campaign would be by now, as a percentage of the target.
    pub expected_pct: Option<f64>,
    pub pace: Pace,
    /// Cumulative actual at the end of each day of the campaign so far (see `Progress::days`).
    pub cumulative: Vec<i64>,
    /// The same as a percentage of the target, day by day; absent without a target.
    pub completion_by_day: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Progress {
    /// Start (ms, UTC midnight) of each day shown, from the campaign's first day to today or its
    /// last day.
    pub days: Vec<i64>,
    pub metrics: Vec<MetricProgress>,
}

/// Largest recorded figure, up or down (revenue in cents: ten billion in the currency).
pub const MAX_ADJUSTMENT: u64 = 1_000_000_000_000;

/// A recorded figure: non-zero, at most [`MAX_ADJUSTMENT`] either way.
pub fn check_adjustment(amount: i64) -> Result<(), Problem> {
    if amount == 0 || amount.unsigned_abs() > MAX_ADJUSTMENT {
        return Err(Problem(
            ListeningError::Amount,
            vec![("max", MAX_ADJUSTMENT.to_string())],
        ));
    }
    Ok(())
}

/// A sum of counts or money that sticks at the ends of `i64` instead of wrapping around.
pub fn total(values: impl IntoIterator<Item = i64>) -> i64 {
    values.into_iter().fold(0i64, i64::saturating_add)
}

/// Adds up each metric's events (time, amount) inside the campaign and compares them with the
/// targets.  Events outside [starts_at, ends_at) or after `now` do not count.
pub fn progress(
    events: &[(Metric, Vec<(i64, i64)>)],
    targets: &Targets,
    starts_at: i64,
    ends_at: i64,
    now: i64,
) -> Progress {
    let first_day = starts_at.div_euclid(DAY_MS);
    let until = now.min(ends_at);
    let days: Vec<i64> = if until <= starts_at {
        Vec::new()
    } else {
        let last_day = (until - 1).div_euclid(DAY_MS);
        (first_day..=last_day).map(|d| d * DAY_MS).collect()
    };
    let elapsed = ((now - starts_at) as f64 / (ends_at - starts_at).max(1) as f64).clamp(0.0, 1.0);
    let metrics = Metric::ALL
        .iter()
        .map(|&metric| {
            let mut per_day = vec![0i64; days.len()];
            for (m, list) in events {
                if *m != metric {
                    continue;
                }
                for &(at, amount) in list {
                    if at >= starts_at && at < until {
                        if let Some(day) = per_day.get_mut((at.div_euclid(DAY_MS) - first_day) as usize) {
                            *day = day.saturating_add(amount);
                        }
                    }
                }
            }
            let cumulative: Vec<i64> = per_day
                .iter()
                .scan(0i64, |sum, n| {
                    *sum = sum.saturating_add(*n);
                    Some(*sum)
                })
                .collect();
            let actual = cumulative.last().copied().unwrap_or(0);
            let target = targets.get(metric);
            let (completion_pct, expected_pct, pace) = if target <= 0 {
                (None, None, Pace::NoTarget)
            } else {
                let done = actual as f64 / target as f64 * 100.0;
                let expected = elapsed * 100.0;
                let pace = if actual >= target {
                    Pace::Reached
                } else if done >= expected {
                    Pace::Ahead
                } else {
                    Pace::Behind
                };
                (Some(done), Some(expected), pace)
            };
            let completion_by_day =
                (target > 0).then(|| cumulative.iter().map(|v| *v as f64 / target as f64 * 100.0).collect());
            MetricProgress {
                metric,
                target,
                actual,
                completion_pct,
                expected_pct,
                pace,
                cumulative,
                completion_by_day,
            }
        })
        .collect();
    Progress { days, metrics }
}

#[doc(hidden)]
/// For tests: a JPEG whose EXIF has an orientation and a GPS block (latitude 31°14'N, longitude 121°29'E).
pub fn jpeg_with_gps() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes()); // IFD0 at 8
    tiff.extend(2u16.to_le_bytes());
    tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]); // Orientation = 6
    tiff.extend([0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]); // GPS IFD at 38
    tiff.extend(0u32.to_le_bytes());
    assert_eq!(tiff.len(), 38);
    tiff.extend(2u16.to_le_bytes());
    tiff.extend([1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]); // GPSLatitudeRef "N"
    tiff.extend([2, 0, 5, 0, 3, 0, 0, 0, 68, 0, 0, 0]); // GPSLatitude, 3 rationals at 68
    tiff.extend(0u32.to_le_bytes());
    assert_eq!(tiff.len(), 68);
    for (num, den) in [(31u32, 1u32), (14, 1), (1234, 100)] {
        tiff.extend(num.to_le_bytes());
        tiff.extend(den.to_le_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
    jpeg.extend(((app1.len() + 2) as u16).to_be_bytes());
    jpeg.extend(app1);
    jpeg.extend([0xFF, 0xDA, 0x00, 0x02, 0xAB, 0xCD, 0xFF, 0xD9]);
    jpeg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaign_dates_far_apart_are_refused_not_overflowed() {
        let t = Targets {
            exposure: 1,
            ..Targets::default()
        };
        assert!(check_settings("x", "", i64::MIN, i64::MAX, &t, 3, 3).is_err());
        assert!(check_settings("x", "", -1, DAY_MS, &t, 3, 3).is_err());
        assert!(check_settings("x", "", DAY_MS, 2 * DAY_MS, &t, 3, 3).is_ok());
    }

    #[test]
    fn recorded_figures_are_bounded_and_sums_never_wrap() {
        // Regression: i64::MIN passed `abs() > bound` (abs wraps) and the sums wrapped around.
        assert!(check_adjustment(i64::MIN).is_err());
        assert!(check_adjustment(i64::MAX).is_err());
        assert!(check_adjustment(0).is_err());
        assert!(check_adjustment(-(MAX_ADJUSTMENT as i64)).is_ok());
        assert!(check_adjustment(MAX_ADJUSTMENT as i64 + 1).is_err());
        assert_eq!(total([i64::MAX, 5]), i64::MAX);
        assert_eq!(total([i64::MIN, -5]), i64::MIN);
        let t = Targets::default();
        let p = progress(
            &[(
                Metric::Exposure,
                vec![(DAY_MS, i64::MAX), (DAY_MS + 1, i64::MAX), (DAY_MS + 2, 8)],
            )],
            &t,
            DAY_MS,
            3 * DAY_MS,
            2 * DAY_MS,
        );
        let exposure = p
            .metrics
            .iter()
            .find(|m| m.metric == Metric::Exposure)
            .map(|m| m.actual);
        assert_eq!(exposure, Some(i64::MAX));
    }

    #[test]
    fn hashtags_are_read_in_both_styles_and_matched_after_normalizing() {
        let zh = parse_hashtag("  #小米影像大赛# ").unwrap();
        assert_eq!(
            (zh.display.as_str(), zh.key.as_str()),
            ("#小米影像大赛#", "#小米影像大赛#")
        );
        assert_eq!(parse_hashtag("小米影像大賽").unwrap().key, "#小米影像大赛#");
        let en = parse_hashtag("ShotOnFan").unwrap();
        assert_eq!((en.display.as_str(), en.key.as_str()), ("#ShotOnFan", "#shotonfan"));
        assert!(carries("Sunset at the lake #shotonfan", &en.key));
        assert!(carries("参加了 #小米影像大賽# 哈哈", &zh.key), "traditional characters");
        assert!(!carries("#ShotOnFanatic", &en.key), "a longer tag is another tag");
        assert!(
            !carries("小米影像大赛", &zh.key),
            "the words without the tag do not count"
        );
        for bad in ["", "#", "shot on fan", "a", "#a#b", "-x"] {
            assert!(parse_hashtag(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_gps_position_is_erased_from_jpegs_and_the_orientation_kept() {
        let original = jpeg_with_gps();
        let mut photo = original.clone();
        assert!(erase_jpeg_gps(&mut photo));
        assert_eq!(photo.len(), original.len());
        let tiff = &photo[12..];
        assert_eq!(&tiff[10..20], &[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0], "orientation kept");
        assert_eq!(&tiff[38..40], &[0, 0], "no GPS entries left");
        assert!(
            tiff[40..64].iter().all(|b| *b == 0),
            "entries and the inline 'N' erased"
        );
        assert!(tiff[68..92].iter().all(|b| *b == 0), "the latitude itself erased");
        assert_eq!(
            &photo[photo.len() - 8..],
            &original[original.len() - 8..],
            "image data untouched"
        );
        let mut plain = vec![0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9];
        assert!(!erase_jpeg_gps(&mut plain));
        let mut truncated = original[..50].to_vec();
        let _ = erase_jpeg_gps(&mut truncated); // must not panic
        let mut not_jpeg = b"\x89PNG\r\n\x1a\n".to_vec();
        assert!(!erase_jpeg_gps(&mut not_jpeg));
        // Garbage after a JPEG start, and every corruption of a real header, never panics.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20_000 {
            let mut bytes = original.clone();
            for _ in 0..rng.gen_range(1..6) {
                let at = rng.gen_range(2..bytes.len());
                bytes[at] = rng.gen();
            }
            bytes.truncate(rng.gen_range(2..=bytes.len()));
            let _ = erase_jpeg_gps(&mut bytes);
        }
    }

    #[test]
    fn png_and_webp_lose_their_metadata_chunks_and_keep_their_pixels() {
        let chunk = |kind: &[u8; 4], body: &[u8]| {
            let mut c = (body.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(body);
            c.extend_from_slice(&[0, 0, 0, 0]); // CRC, copied as it is
            c
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let ihdr = chunk(b"IHDR", &[0; 13]);
        let idat = chunk(b"IDAT", b"pixels");
        for c in [
            &ihdr,
            &chunk(b"eXIf", b"GPS 31.2N"),
            &chunk(b"tEXt", b"Author\0me"),
            &idat,
            &chunk(b"IEND", b""),
        ] {
            png.extend_from_slice(c);
        }
        let clean = strip_metadata("image/png", png.clone());
        let mut expected = b"\x89PNG\r\n\x1a\n".to_vec();
        for c in [&ihdr, &idat, &chunk(b"IEND", b"")] {
            expected.extend_from_slice(c);
        }
        assert_eq!(clean, expected);
        let truncated = png[..png.len() - 3].to_vec();
        assert_eq!(
            strip_metadata("image/png", truncated.clone()),
            truncated,
            "malformed: as it came"
        );

        let riff = |chunks: &[Vec<u8>]| {
            let body: Vec<u8> = chunks.concat();
            let mut w = b"RIFF".to_vec();
            w.extend(((body.len() + 4) as u32).to_le_bytes());
            w.extend_from_slice(b"WEBP");
            w.extend(body);
            w
        };
        let wchunk = |kind: &[u8; 4], body: &[u8]| {
            let mut c = kind.to_vec();
            c.extend((body.len() as u32).to_le_bytes());
            c.extend_from_slice(body);
            if body.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let vp8x = |flags: u8| wchunk(b"VP8X", &[flags, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
        let webp = riff(&[
            vp8x(0x2C),
            wchunk(b"VP8L", b"pixels!"),
            wchunk(b"EXIF", b"GPS"),
            wchunk(b"XMP ", b"<x/>"),
        ]);
        let clean = strip_metadata("image/webp", webp);
        assert_eq!(
            clean,
            riff(&[vp8x(0x20), wchunk(b"VP8L", b"pixels!")]),
            "ICC flag kept, EXIF/XMP gone"
        );
        assert_eq!(fanloop_platform::web::image_content_type(&clean), Some("image/webp"));
        // Corrupted or cut files never panic.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let webp = riff(&[vp8x(0x2C), wchunk(b"VP8L", b"pixels!"), wchunk(b"EXIF", b"GPS")]);
        for (kind, original) in [("image/png", &png), ("image/webp", &webp)] {
            for _ in 0..10_000 {
                let mut bytes = original.clone();
                let at = rng.gen_range(8..bytes.len());
                bytes[at] = rng.gen();
                bytes.truncate(rng.gen_range(8..=bytes.len()));
                let _ = strip_metadata(kind, bytes);
            }
        }
    }

    #[test]
    fn entries_get_the_hashtag_when_they_leave_it_out() {
        let tag = parse_hashtag("ShotOnFan").unwrap();
        assert_eq!(entry_text(" Sunrise ", &tag), "#ShotOnFan Sunrise");
        assert_eq!(entry_text("Sunrise #shotonfan", &tag), "Sunrise #shotonfan");
    }

    #[test]
    fn settings_entries_and_winners_are_checked() {
        let t = Targets {
            entries: 100,
            ..Targets::default()
        };
        assert!(check_settings("Photo week", "", 0, DAY_MS, &t, 3, 3).is_ok());
        assert!(check_settings("Photo week", "", DAY_MS, DAY_MS, &t, 3, 3).is_err());
        assert!(check_settings(" ", "", 0, DAY_MS, &t, 3, 3).is_err());
        assert!(check_settings("x", "", 0, DAY_MS, &Targets::default(), 3, 3).is_err());
        assert!(check_settings("x", "", 0, 400 * DAY_MS, &t, 3, 3).is_err());
        assert!(check_settings("x", "", 0, DAY_MS, &t, 0, 3).is_err());
        let bad = Targets { orders: -1, ..t };
        assert!(check_settings("x", "", 0, DAY_MS, &bad, 3, 3).is_err());

        let png = ("a.png".to_string(), Some("image/png"), 10);
        assert!(check_entry("nice", std::slice::from_ref(&png)).is_ok());
        assert!(check_entry("nice", &[]).is_err());
        assert!(check_entry("  ", std::slice::from_ref(&png)).is_err());
        assert!(check_entry("nice", &vec![png.clone(); 5]).is_err());
        assert!(check_entry("nice", &[("x.txt".into(), None, 3)]).is_err());
        assert!(check_entry("nice", &[("big.png".into(), Some("image/png"), MAX_IMAGE_BYTES + 1)]).is_err());

        let pick = |id| WinnerPick {
            entry_id: id,
            prize: "X2".into(),
        };
        assert!(check_winners(Phase::Ended, &[pick(1), pick(2)], &[1, 2, 3]).is_ok());
        assert!(check_winners(Phase::Open, &[pick(1)], &[1]).is_err());
        assert!(check_winners(Phase::Ended, &[pick(1), pick(1)], &[1]).is_err());
        assert!(
            check_winners(Phase::Ended, &[pick(9)], &[1]).is_err(),
            "hidden or foreign"
        );
    }

    #[test]
    fn progress_adds_up_inside_the_campaign_and_compares_with_a_steady_pace() {
        let start = 10 * DAY_MS + 3_600_000; // a campaign starting at 01:00 on day 10, lasting 4 days
        let end = start + 4 * DAY_MS;
        let now = start + DAY_MS + 12 * 3_600_000; // a day and a half in: 37.5% of the way
        let targets = Targets {
            entries: 10,
            orders: 100,
            revenue_cents: 1_000,
            ..Targets::default()
        };
        let events = vec![
            (
                Metric::Entries,
                vec![
                    (start - 1, 1),
                    (start, 1),
                    (start + 2 * 3_600_000, 1),
                    (start + DAY_MS, 2),
                    (now + 1, 5),
                ],
            ),
            (Metric::Orders, vec![(start + 60_000, 10)]),
            (Metric::Revenue, vec![(start, 600), (start + DAY_MS, 600)]),
        ];
        let p = progress(&events, &targets, start, end, now);
        assert_eq!(p.days, vec![10 * DAY_MS, 11 * DAY_MS]);
        let get = |m| p.metrics.iter().find(|x| x.metric == m).unwrap();
        let entries = get(Metric::Entries);
        assert_eq!(entries.actual, 4, "before the start and after now do not count");
        assert_eq!(entries.cumulative, vec![2, 4]);
        assert_eq!(entries.completion_by_day, Some(vec![20.0, 40.0]));
        assert_eq!(entries.completion_pct, Some(40.0));
        assert_eq!(entries.pace, Pace::Ahead, "40% done at 37.5% of the time");
        assert_eq!(get(Metric::Orders).pace, Pace::Behind);
        assert_eq!(get(Metric::Revenue).pace, Pace::Reached);
        assert_eq!(get(Metric::Exposure).pace, Pace::NoTarget);
        assert_eq!(get(Metric::Exposure).completion_pct, None);
        let before = progress(&events, &targets, start, end, start - 1);
        assert!(before.days.is_empty() && before.metrics.iter().all(|m| m.actual == 0));
    }
}

/// Input nobody on the team wrote: hashtags, entry text and image bytes never panic.
#[cfg(test)]
mod fuzz {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        #[test]
        fn hashtags_and_entries_never_panic(text in "(\\PC|[#＃\\r\\n\\t\\u{0}\\u{200b}\\u{feff} ]){0,60}") {
            if let Ok(tag) = parse_hashtag(&text) {
                let entry = entry_text(&text, &tag);
                let _ = carries(&entry, &tag.key);
            }
            let _ = check_entry(&text, &[("a.png".into(), Some("image/png"), 10)]);
        }

        #[test]
        fn image_strippers_survive_any_bytes(
            kind in 0usize..3,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        ) {
            let (content_type, head): (&str, &[u8]) = match kind {
                0 => ("image/png", b"\x89PNG\r\n\x1a\n"),
                1 => ("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE1]),
                _ => ("image/webp", b"RIFF\x00\x00\x00\x00WEBP"),
            };
            let mut data = head.to_vec();
            data.extend(body);
            let _ = strip_metadata(content_type, data.clone());
            let _ = erase_jpeg_gps(&mut data);
        }
    }
}
