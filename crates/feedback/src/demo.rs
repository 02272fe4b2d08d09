//! Demo data for the feedback loop: the Aurora X2 with its areas, a weekly build train, and
//! reports taken from the labelled set (real wording in three languages, so duplicates group).

use std::collections::HashMap;

use fanloop_platform::accounts;
use fanloop_platform::auth::Role;
use fanloop_platform::db::now_ms;
use sqlx::Row;

use crate::dedupe::{parse_labelled, LABELLED_SET};
use crate::domain::{iso_week, ReportInput, Status};
use crate::service::{self, FeedbackState};
use crate::store;

const DAY: i64 = 86_400_000;

fn area_for(cluster: &str) -> &'static str {
    const CAMERA: &[&str] = &["camera", "night", "portrait", "video", "gallery", "hdr"];
    const BATTERY: &[&str] = &["battery", "charging", "drain", "overheat"];
    const DISPLAY: &[&str] = &["screen", "refresh", "brightness", "animation", "font", "dark"];
    if CAMERA.iter().any(|k| cluster.contains(k)) {
        "camera"
    } else if BATTERY.iter().any(|k| cluster.contains(k)) {
        "battery"
    } else if DISPLAY.iter().any(|k| cluster.contains(k)) {
        "display"
    } else {
        "system"
    }
}

/// A 1×1 PNG screenshot and a short log file.
fn demo_attachments() -> Vec<fanloop_platform::web::Upload> {
    use base64::Engine;
    const PIXEL: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let png = base64::engine::general_purpose::STANDARD
        .decode(PIXEL)
        .unwrap_or_default();
    vec![
        fanloop_platform::web::Upload {
            filename: "screenshot.png".into(),
            data: png,
        },
        fanloop_platform::web::Upload {
            filename: "logcat.txt".into(),
            data: b"12-01 21:04:11.201 E/Camera: preview stalled\n".to_vec(),
        },
    ]
}

pub async fn load(state: &FeedbackState) -> anyhow::Result<()> {
    let db = &state.platform.db;
    let rows = sqlx::query("SELECT id, role FROM users ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    let mut staff = Vec::new();
    let mut fans = Vec::new();
    for r in &rows {
        let id: i64 = r.get("id");
        let role = Role::parse(&r.get::<String, _>("role")).unwrap_or(Role::Fan);
        if let Some(user) = accounts::find_by_id(db, id).await? {
            if role.is_staff() {
                staff.push(user);
            } else {
                fans.push(user);
            }
        }
    }
    let (Some(admin), false) = (staff.first().cloned(), fans.is_empty()) else {
        return Ok(());
    };
    let product = service::create_product(
        state,
        &admin,
        "aurora-x2",
        "Aurora X2",
        "旗舰手机 · Flagship phone · Smartphone phare",
        Some(7),
        Some(5),
    )
    .await?;
    let names = |[zh, en, fr]: [&str; 3]| -> crate::store::Names {
        [("zh", zh), ("en", en), ("fr", fr)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    for (slug, name, team) in [
        (
            "camera",
            ["相机", "Camera", "Appareil photo"],
            ["相机团队", "Camera team", "Équipe photo"],
        ),
        (
            "battery",
            ["续航", "Battery", "Batterie"],
            ["续航团队", "Battery team", "Équipe batterie"],
        ),
        (
            "display",
            ["显示", "Display", "Écran"],
            ["显示团队", "Display team", "Équipe écran"],
        ),
        (
            "system",
            ["系统", "AuroraOS", "AuroraOS"],
            ["系统团队", "AuroraOS team", "Équipe AuroraOS"],
        ),
    ] {
        let input = service::AreaInput {
            slug: slug.into(),
            name: name[1].into(),
            team: team[1].into(),
            names: names(name),
            team_names: names(team),
        };
        service::add_area(state, &admin, &product.slug, &input).await?;
    }
    service::add_form_field(state, &admin, &product.slug, "region", "Region / 地区 / Région", false).await?;
    // A weekly train: stable builds every other Friday, betas in between.
    let friday = crate::domain::next_release(now_ms(), None, 7, 5) - 7 * DAY;
    let versions = [
        "3.2.0",
        "3.2.1-beta.1",
        "3.2.1",
        "3.3.0-beta.1",
        "3.3.0-beta.2",
        "3.3.0",
    ];
    for (i, version) in versions.iter().enumerate() {
        let when = friday - (versions.len() - 1 - i) as i64 * 7 * DAY + 10 * 3_600_000;
        let channel = if version.contains("beta") { "beta" } else { "stable" };
        let notes = format!(
            "{version}: weekly {channel} build. 每周{}版本。",
            if channel == "beta" { "内测" } else { "稳定" }
        );
        service::publish_build(state, &admin, &product.slug, version, channel, &notes, Some(when)).await?;
    }
    let reports = parse_labelled(LABELLED_SET);
    // Two reports of every multi-language cluster and a few singletons: enough to see grouping.
    let mut filed = 0;
    // Where each problem was first filed: a later fan who is offered it takes the offer ("+1
    // this instead"), as the form invites; what the matcher does not offer stays apart.
    let mut first_request: HashMap<&str, i64> = HashMap::new();
    for (i, r) in reports.iter().enumerate() {
        if r.cluster.starts_with("s_") && i % 4 != 0 {
            continue;
        }
        if !r.cluster.starts_with("s_") && i % 3 == 2 {
            continue;
        }
        let fan = &fans[i % fans.len()];
        let kind = if r.text.contains("Suggestion")
            || r.text.contains("建议")
            || r.text.contains("希望")
            || r.text.contains("Please")
            || r.text.contains("Merci d")
        {
            "suggestion"
        } else {
            "bug"
        };
        let title: String = r.text.chars().take(60).collect();
        let input = ReportInput {
            kind: kind.into(),
            area: area_for(r.cluster).into(),
            build: Some("3.2.1".into()),
            title: if title.chars().count() < 4 {
                format!("{title} ...")
            } else {
                title
            },
            description: r.text.to_string(),
            steps: "1. 使用 / Use / Utiliser\n2. 观察 / Observe / Observer".into(),
            expected: "正常 / Works / Fonctionne".into(),
            actual: r.text.to_string(),
            device: "Aurora X2 12+256".into(),
            extra: Default::default(),
        };
        // The first reports carry a screenshot and a log, as real ones do.
        let uploads = if filed < 2 { demo_attachments() } else { Vec::new() };
        let text = service::report_text(&input.title, &input.description);
        let offered = service::likely_duplicates(state, &product.slug, &text, Some(fan)).await?;
        let known = first_request.get(r.cluster).copied();
        let attach_to = known.filter(|id| offered.iter().take(3).any(|c| c.request.id == *id));
        let result = service::submit_report(state, fan, &product.slug, &input, attach_to, &uploads).await?;
        first_request.entry(r.cluster).or_insert(result.request_id);
        filed += 1;
    }
    // Fans vote, staff act: the most wanted requests move along the workflow.
    let filter = store::RequestFilter {
        product_id: product.id,
        area: None,
        status: None,
        build: None,
        sort: "reports",
        limit: 12,
        offset: 0,
    };
    let (top, _) = store::list_requests(db, &filter, None).await?;
    for (n, request) in top.iter().enumerate() {
        for fan in fans.iter().skip(n).step_by(3).take(6) {
            store::set_vote(db, request.id, fan.id, true).await?;
        }
        let owner = &staff[1 + n % (staff.len() - 1).max(1)].clone();
        let steps: &[(Status, Option<&str>)] = match n % 4 {
            0 => &[
                (Status::Acknowledged, None),
                (Status::Planned, None),
                (Status::InBuild, Some("3.3.0-beta.2")),
                (Status::Shipped, Some("3.3.0")),
            ],
            1 => &[(Status::Acknowledged, None), (Status::Planned, None)],
            2 => &[(Status::Acknowledged, None), (Status::InBuild, Some("3.3.0-beta.2"))],
            _ => &[(Status::Acknowledged, None)],
        };
        for (status, build) in steps {
            service::change_status(state, owner, request.id, *status, *build, None).await?;
        }
        if n % 2 == 0 {
            store::add_comment(
                db,
                request.id,
                &request.title,
                owner.id,
                "感谢反馈，我们已经复现。Thanks, we reproduced it. Merci, nous l'avons reproduit.",
            )
            .await?;
        }
    }
    let teams = store::teams(db).await?;
    let last_week = iso_week(now_ms() - 7 * DAY);
    for (i, fan) in fans.iter().enumerate() {
        store::award_vote(db, &last_week, fan.id, &teams[i % 3 % teams.len()]).await?;
    }
    tracing::info!("demo feedback: {filed} reports filed");
    Ok(())
}
