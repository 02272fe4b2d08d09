//! Demo launches: one sale open now, and one drawing among reservations later today.

use fanloop_platform::accounts;
use fanloop_platform::db::now_ms;

use crate::engine::SaleMode;
use crate::service::{self, LaunchState, NewDropRequest, NewVariant};

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
    })
    .await?;
    Ok(())
}
