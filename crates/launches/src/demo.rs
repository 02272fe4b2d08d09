//! Demo launches: one sale open now, one drawing among reservations later today, and one that
//! takes orders by posting (a share-to-order drop with a few posts on its wall).

use fanloop_platform::accounts;
use fanloop_platform::db::now_ms;

use crate::engine::SaleMode;
use crate::service::{self, LaunchState, NewDropRequest, NewVariant, PurchaseRequest};
use crate::share::{ShareOn, ShareRule};

pub async fn load(state: &LaunchState) -> anyhow::Result<()> {
    let db = &state.platform.db;
    let Some(admin) = accounts::find_by_username(db, "admin").await? else {
        return Ok(());
    };
    let now = now_ms();
    let variants = |a: i64, b: i64| {
        vec![
            NewVariant {
                name: "12+256 曜石黑 Obsidian".into(),
                stock: a,
                fcode_stock: a / 10,
            },
            NewVariant {
                name: "16+512 极光白 Aurora white".into(),
                stock: b,
                fcode_stock: b / 10,
            },
        ]
    };
    service::create_drop(
        state,
        &admin,
        &NewDropRequest {
            slug: "aurora-x2-restock".into(),
            name: "Aurora X2 补货 · Restock · Réassort".into(),
            description:
                "每周五补货，每人限购 2 台。Weekly restock, 2 per account. Réassort hebdomadaire, 2 par compte.".into(),
            price_cents: 399_900,
            currency: "CNY".into(),
            per_account_limit: 2,
            reservations_open_at: now - 3_600_000,
            reservations_close_at: now - 60_000,
            fcode_opens_at: Some(now - 120_000),
            opens_at: now - 60_000,
            closes_at: now + 7 * 86_400_000,
            min_honor_rank: 1,
            min_account_age_days: 0,
            mode: SaleMode::Open,
            payment_seconds: 1_800,
            variants: variants(500, 200),
            share: None,
        },
    )
    .await?;
    service::create_drop(state, &admin, &NewDropRequest {
        slug: "aurora-x3-launch".into(),
        name: "Aurora X3 首发 · Launch · Lancement".into(),
        description: "预约抽签，种子已提前承诺。Draw among reservations, seed committed in advance. Tirage parmi les réservations.".into(),
        price_cents: 459_900,
        currency: "CNY".into(),
        per_account_limit: 1,
        reservations_open_at: now - 86_400_000,
        reservations_close_at: now + 3 * 3_600_000,
        fcode_opens_at: Some(now + 3 * 3_600_000),
        opens_at: now + 4 * 3_600_000,
        closes_at: now + 28 * 3_600_000,
        min_honor_rank: 1,
        min_account_age_days: 0,
        mode: SaleMode::Draw,
        payment_seconds: 1_800,
        variants: variants(1_000, 500),
        share: None,
    })
    .await?;
    let rule = ShareRule {
        on: ShareOn::Buy,
        hashtag: "AuroraBuds晒单首发".into(),
        template: "我在 fanloop 参加 Aurora Buds 晒单首发，降噪耳机一起冲！".into(),
        min_chars: 8,
        board: "aurora-x2".into(),
    };
    let buds = service::create_drop(
        state,
        &admin,
        &NewDropRequest {
            slug: "aurora-buds-share".into(),
            name: "Aurora Buds 晒单首发 · Share to order · Commander en publiant".into(),
            description: "发帖即下单：帖子带上话题，出现在活动墙和论坛。Order by posting: your post goes on the wall and in the forum. Commandez en publiant : votre publication va sur le mur et dans le forum."
                .into(),
            price_cents: 49_900,
            currency: "CNY".into(),
            per_account_limit: 1,
            reservations_open_at: now - 3_600_000,
            reservations_close_at: now - 60_000,
            fcode_opens_at: None,
            opens_at: now - 60_000,
            closes_at: now + 3 * 86_400_000,
            min_honor_rank: 1,
            min_account_age_days: 0,
            mode: SaleMode::Open,
            payment_seconds: 1_800,
            variants: vec![NewVariant {
                name: "曜石黑 Obsidian".into(),
                stock: 300,
                fcode_stock: 0,
            }],
            share: Some(rule.clone()),
        },
    )
    .await?;
    // A few fans already ordered by posting: in their own words, or with the suggested text.
    let posts: [(&str, String); 4] = [
        ("林小雨", "降噪很强，通勤地铁上终于听得清播客了，冲！".to_string()),
        (
            "jenny.w",
            "Pre-ordered! The X2 pairing is instant and the case fits in my coin pocket.".to_string(),
        ),
        (
            "camille",
            "Commandé ! Hâte de tester la réduction de bruit dans le métro.".to_string(),
        ),
        ("数码宝贝", rule.prefill()),
    ];
    for (i, (name, text)) in posts.into_iter().enumerate() {
        let Some(fan) = accounts::find_by_username(db, name).await? else {
            continue;
        };
        let req = PurchaseRequest {
            variant_id: buds.variants[0].id,
            quantity: 1,
            fcode: None,
            post: Some(text),
        };
        if let Err(e) = service::purchase(state, &fan, &buds.slug, &format!("demo-share-{i}"), &req).await {
            tracing::warn!("demo share order of {name}: {}", e.message);
        }
    }
    Ok(())
}
