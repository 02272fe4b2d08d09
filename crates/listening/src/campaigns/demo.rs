//! Demo campaigns: a photo challenge running now (entries, votes, page views over the past
//! days, a recorded off-platform figure) and one that ended last week with its winners.

use fanloop_platform::accounts::{self, User};
use fanloop_platform::auth::Role;
use fanloop_platform::db::now_ms;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::domain::{Metric, Targets, WinnerPick, DAY_MS};
use super::service::{self, CampaignRequest};
use super::store;
use crate::ListeningState;

const HOUR_MS: i64 = 3_600_000;

/// A 320×240 postcard: a sky gradient, a sun or moon, and a city skyline, from `seed`.
pub fn postcard(seed: u64) -> Vec<u8> {
    let (w, h) = (320u32, 240u32);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let palettes: [([u8; 3], [u8; 3], [u8; 3]); 5] = [
        ([255, 140, 60], [80, 40, 120], [30, 20, 40]),
        ([20, 30, 80], [120, 60, 160], [10, 10, 25]),
        ([250, 200, 120], [240, 110, 80], [60, 35, 30]),
        ([120, 190, 240], [240, 240, 255], [40, 60, 80]),
        ([255, 105, 0], [255, 200, 150], [50, 30, 20]),
    ];
    let (top, bottom, city) = palettes[rng.gen_range(0..palettes.len())];
    let sun = (
        rng.gen_range(40..280) as f32,
        rng.gen_range(30..110) as f32,
        rng.gen_range(14..30) as f32,
    );
    let mut skyline = vec![h; w as usize];
    let mut x = 0;
    while x < w {
        let width = rng.gen_range(12..40);
        let top_y = rng.gen_range(110..200);
        for c in x..(x + width).min(w) {
            skyline[c as usize] = top_y;
        }
        x += width;
    }
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        let t = y as f32 / h as f32;
        for x in 0..w {
            let mut p: [u8; 3] = std::array::from_fn(|i| (top[i] as f32 * (1.0 - t) + bottom[i] as f32 * t) as u8);
            let (dx, dy) = (x as f32 - sun.0, y as f32 - sun.1);
            if dx * dx + dy * dy < sun.2 * sun.2 {
                p = [255, 235, 180];
            }
            if y >= skyline[x as usize] {
                p = city;
                // Lit windows.
                if x % 6 < 2 && y % 8 < 3 && (x * 7 + y * 13 + seed as u32).is_multiple_of(5) {
                    p = [255, 220, 120];
                }
            }
            pixels.extend_from_slice(&p);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing a well-formed image into memory cannot fail; an empty card is still a valid answer.
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&pixels));
    if written.is_err() {
        return Vec::new();
    }
    out
}

async fn backdate(state: &ListeningState, entry_id: i64, at: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE campaign_entries SET created_at = $1 WHERE id = $2")
        .bind(at)
        .bind(entry_id)
        .execute(&state.platform.db.pool)
        .await?;
    Ok(())
}

pub async fn load(state: &ListeningState) -> anyhow::Result<()> {
    let db = &state.platform.db;
    let Some(admin) = accounts::find_by_username(db, "admin").await? else {
        return Ok(());
    };
    let fans: Vec<User> = accounts::list_users(db, 0, 200)
        .await?
        .into_iter()
        .filter(|u| matches!(u.role, Role::Fan | Role::BetaTester | Role::HonoraryDeveloper))
        .collect();
    if fans.len() < 6 {
        return Ok(());
    }
    let now = now_ms();
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    let drop = fanloop_launches::store::drop_by_slug(db, "aurora-x2-restock").await?;
    let running = CampaignRequest {
        slug: "autumn-snaps".into(),
        title: "秋日随手拍 · Autumn snaps · Clichés d'automne".into(),
        description: "用 Aurora X2 拍下你的城市秋夜，带上话题发布。票数最高的三位获得 Aurora X2 一台。\n\
            Shoot your city's autumn nights with the Aurora X2 and post under the hashtag: the three most voted win one.\n\
            Photographiez les nuits d'automne de votre ville : les trois photos les plus votées gagnent un Aurora X2."
            .into(),
        hashtag: "#秋日随手拍#".into(),
        starts_at: today - 4 * DAY_MS,
        ends_at: today + 10 * DAY_MS,
        currency: "CNY".into(),
        targets: Targets {
            exposure: 500_000,
            page_views: 2_000,
            entries: 40,
            orders: 20,
            revenue_cents: 20 * 399_900,
        },
        max_entries_per_account: 3,
        max_votes_per_account: 5,
        drops: drop.iter().map(|d| d.slug.clone()).collect(),
    };
    let c = service::create(state, &admin, &running).await?;
    let c = service::campaign(state, &c.slug).await?;
    let texts = [
        "外滩的夜，比白天更好看",
        "Rooftop after the rain, night mode handheld",
        "Les quais au crépuscule, sans trépied",
        "下班路上的晚霞，随手一拍",
        "Golden hour over the old town",
        "城市天际线，夜景模式 2 秒",
        "Premier froid, premières lumières",
        "江边散步，手机直出",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut ids = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let author = &fans[i % fans.len()];
        let images: Vec<Vec<u8>> = (0..1 + i % 2).map(|k| postcard((i * 10 + k) as u64)).collect();
        let refs: Vec<(&str, &[u8])> = images.iter().map(|d| ("image/png", d.as_slice())).collect();
        let body = format!("{} {text}", c.hashtag);
        if let Some(id) = store::add_entry(db, c.id, author.id, &body, &refs, c.max_entries_per_account).await? {
            // Spread over the days so far, so that the dashboard has a curve to show.
            let at = (c.starts_at + (i as i64 * 11 * HOUR_MS) + rng.gen_range(0..HOUR_MS)).min(now - 60_000);
            backdate(state, id, at).await?;
            ids.push((id, author.id));
        }
    }
    for (v, voter) in fans.iter().enumerate() {
        for (k, (entry, author)) in ids.iter().enumerate() {
            if *author != voter.id && (v + k) % 3 == 0 {
                store::vote(db, c.id, *entry, voter.id, c.max_votes_per_account).await?;
            }
        }
    }
    for hour in 0..(now - c.starts_at) / HOUR_MS {
        for _ in 0..rng.gen_range(0..6) {
            store::record_view(db, c.id, c.starts_at + hour * HOUR_MS).await?;
        }
    }
    store::add_adjustment(
        db,
        c.id,
        Metric::Exposure,
        86_000,
        c.starts_at + DAY_MS + 12 * HOUR_MS,
        "微博话题页阅读量 · Weibo topic page views",
        admin.id,
    )
    .await?;

    // Last week's challenge, with its winners.
    let ended = CampaignRequest {
        slug: "summer-nights".into(),
        title: "夏夜星空 · Summer nights · Nuits d'été".into(),
        description: "星空与夜景挑战。Night sky challenge. Défi ciel de nuit.".into(),
        hashtag: "#SummerNights".into(),
        starts_at: today - 21 * DAY_MS,
        ends_at: today - 7 * DAY_MS,
        currency: "CNY".into(),
        targets: Targets {
            entries: 5,
            page_views: 300,
            ..Targets::default()
        },
        max_entries_per_account: 3,
        max_votes_per_account: 5,
        drops: Vec::new(),
    };
    let e = service::create(state, &admin, &ended).await?;
    let e = service::campaign(state, &e.slug).await?;
    let mut past = Vec::new();
    for (i, text) in ["Milky Way from the lake", "银河就在头顶", "Orage d'été sur la ville"]
        .iter()
        .enumerate()
    {
        let author = &fans[(i + 3) % fans.len()];
        let image = postcard(100 + i as u64);
        let body = format!("{} {text}", e.hashtag);
        if let Some(id) = store::add_entry(db, e.id, author.id, &body, &[("image/png", &image)], 3).await? {
            backdate(state, id, e.starts_at + (i as i64 + 1) * DAY_MS).await?;
            past.push(id);
        }
    }
    let picks: Vec<WinnerPick> = past
        .iter()
        .take(2)
        .zip(["一等奖 · Aurora X2", "二等奖 · Aurora Buds"])
        .map(|(id, prize)| WinnerPick {
            entry_id: *id,
            prize: prize.into(),
        })
        .collect();
    store::set_winners(db, &e, &picks, admin.id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn postcards_are_real_pngs_that_differ_by_seed() {
        let a = super::postcard(1);
        let b = super::postcard(2);
        assert_eq!(fanloop_platform::web::image_content_type(&a), Some("image/png"));
        assert!(a.len() < super::super::domain::MAX_IMAGE_BYTES);
        assert_ne!(a, b);
        let decoder = png::Decoder::new(a.as_slice());
        let reader = decoder.read_info().expect("decodes");
        assert_eq!((reader.info().width, reader.info().height), (320, 240));
    }
}
