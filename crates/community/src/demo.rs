//! A demo community in Chinese, English and French, generated from phrase tables with a fixed
//! seed so every fresh instance looks the same.  The benchmark uses the same generator at scale.

use fanloop_platform::accounts::{self, CreateUserError};
use fanloop_platform::auth::{self, Role};
use fanloop_platform::db::now_ms;
use fanloop_platform::Db;
use fanloop_platform::{images, uploads};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::store::{self, SeedPost, SeedThread};

pub const BOARDS: &[(&str, &str, &str)] = &[
    (
        "announcements",
        "公告 · Announcements",
        "Official news, weekly build notes and launch dates. 官方公告、每周版本说明与发售信息。",
    ),
    (
        "aurora-x2",
        "Aurora X2",
        "Everything about the Aurora X2 phone: camera, battery, display. 关于 Aurora X2 手机的一切。",
    ),
    (
        "aurora-os-beta",
        "AuroraOS 内测 · Beta",
        "Weekly beta builds: report bugs, suggest features. 每周内测版本：提交 bug、提出建议。",
    ),
    (
        "photography",
        "摄影 · Photography",
        "Share shots and camera tips. 分享作品与拍照技巧。",
    ),
    (
        "francophone",
        "Communauté francophone",
        "L'espace des fans francophones : questions, astuces, retours.",
    ),
    (
        "off-topic",
        "灌水区 · Off-topic",
        "Anything else, kindly. 闲聊，友善发言。",
    ),
];

const ZH_FEATURES: &[&str] = &[
    "相机夜景",
    "电池续航",
    "快充",
    "屏幕刷新率",
    "指纹解锁",
    "蓝牙连接",
    "Wi-Fi 信号",
    "通知推送",
    "桌面动画",
    "游戏帧率",
    "发热控制",
    "人像模式",
    "录像防抖",
    "存储清理",
    "NFC 门禁卡",
    "息屏显示",
];
const EN_FEATURES: &[&str] = &[
    "night mode camera",
    "battery life",
    "fast charging",
    "display refresh rate",
    "fingerprint unlock",
    "Bluetooth pairing",
    "Wi-Fi signal",
    "push notifications",
    "launcher animations",
    "gaming frame rate",
    "thermal throttling",
    "portrait mode",
    "video stabilization",
    "storage cleanup",
    "NFC payments",
    "always-on display",
];
const FR_FEATURES: &[&str] = &[
    "mode nuit de l'appareil photo",
    "autonomie de la batterie",
    "charge rapide",
    "taux de rafraîchissement",
    "déverrouillage par empreinte",
    "appairage Bluetooth",
    "signal Wi-Fi",
    "notifications",
    "animations du lanceur",
    "fluidité en jeu",
    "chauffe",
    "mode portrait",
    "stabilisation vidéo",
    "nettoyage du stockage",
    "paiement NFC",
    "écran toujours allumé",
];

const ZH_TITLES: &[&str] = &[
    "{f}在 {b} 版本之后变差了",
    "{b} 内测版 {f} 体验反馈",
    "求助：{f}有问题怎么办？",
    "建议：希望优化{f}",
    "{f}实测分享，大家来看看",
    "{b} 更新后{f}明显提升，点赞！",
];
const ZH_BODIES: &[&str] = &[
    "升级到 {b} 之后，{f}的表现不太稳定。我用的是 Aurora X2，**每天都能复现**。\n\n步骤：\n1. 打开设置\n2. 使用{f}十分钟\n3. 观察变化\n\n希望工程师看看，谢谢！",
    "分享一下这周 {b} 的体验：{f}比上个版本好很多，尤其是在地铁里。给开发团队点个赞 👍",
    "请问大家{f}有没有遇到类似情况？我试过重启和清除缓存，都没有用。",
    "建议在下个版本里增加{f}的开关，很多粉丝都在问这个功能。",
    "测试了三天，{f}基本正常，偶尔会卡一下。附上我的使用习惯供参考。",
];
const ZH_REPLIES: &[&str] = &[
    "同样的问题，+1",
    "我这边也能复现，{b} 版本。",
    "感谢反馈，已经转给相关团队跟进。",
    "试试关闭省电模式，我这样解决了。",
    "这个建议很好，支持！",
    "更新之后好多了，谢谢官方。",
];

const EN_TITLES: &[&str] = &[
    "{f} got worse after build {b}",
    "Beta {b}: feedback on {f}",
    "Help: {f} not working as expected",
    "Suggestion: improve {f}",
    "My {f} test results after a week",
    "{b} fixed {f} for me, great job!",
];
const EN_BODIES: &[&str] = &[
    "Since updating to {b}, {f} has been unreliable on my Aurora X2. **I can reproduce it every day.**\n\nSteps:\n1. Open settings\n2. Use {f} for ten minutes\n3. Watch what happens\n\nWould love an engineer to take a look.",
    "Quick report on {b}: {f} is much better than last week, especially on the train. Kudos to the team!",
    "Has anyone else seen problems with {f}? I tried a restart and clearing the cache, no luck.",
    "Please add a toggle for {f} in the next build. Lots of people in the community have asked for it.",
    "Tested for three days: {f} mostly fine, with the occasional stutter. Details of my usage below.",
];
const EN_REPLIES: &[&str] = &[
    "Same here, +1",
    "Can reproduce on {b} as well.",
    "Thanks for the report, forwarded to the team.",
    "Try turning off battery saver, that fixed it for me.",
    "Great suggestion, I'd use this daily.",
    "Much better after the update, thanks!",
];

const FR_TITLES: &[&str] = &[
    "{f} s'est dégradé depuis la version {b}",
    "Bêta {b} : retours sur {f}",
    "Aide : problème avec {f}",
    "Suggestion : améliorer {f}",
    "Mon test de {f} après une semaine",
    "La {b} a corrigé {f}, bravo !",
];
const FR_BODIES: &[&str] = &[
    "Depuis la mise à jour {b}, {f} n'est plus fiable sur mon Aurora X2. **Je le reproduis tous les jours.**\n\nÉtapes :\n1. Ouvrir les paramètres\n2. Utiliser {f} dix minutes\n3. Observer\n\nUn ingénieur pourrait-il regarder ?",
    "Petit retour sur la {b} : {f} est bien meilleur que la semaine dernière, surtout dans le métro. Bravo à l'équipe !",
    "Quelqu'un d'autre a-t-il des soucis avec {f} ? J'ai redémarré et vidé le cache, sans succès.",
    "Merci d'ajouter une option pour {f} dans la prochaine version, beaucoup de fans la demandent.",
    "Testé pendant trois jours : {f} fonctionne globalement, avec quelques saccades. Détails ci-dessous.",
];
const FR_REPLIES: &[&str] = &[
    "Pareil chez moi, +1",
    "Je reproduis aussi sur la {b}.",
    "Merci pour le retour, transmis à l'équipe.",
    "Essayez de désactiver l'économiseur de batterie, ça a marché pour moi.",
    "Excellente idée, je soutiens !",
    "Beaucoup mieux après la mise à jour, merci !",
];

const BUILDS: &[&str] = &[
    "3.2.1",
    "3.2.2",
    "3.3.0-beta.1",
    "3.3.0-beta.2",
    "3.3.0-beta.3",
    "3.3.0",
];

pub const FAN_NAMES: &[&str] = &[
    "小米粒",
    "橙色星期五",
    "夜景控",
    "续航焦虑症",
    "阿杰",
    "林小雨",
    "王大锤",
    "摄影师老周",
    "数码宝贝",
    "极客阿伟",
    "alex_chen",
    "techsavvy_sam",
    "night_owl",
    "battery_hawk",
    "jenny.w",
    "pixelpeeper",
    "mike_r",
    "lena_tests",
    "camille",
    "julien_b",
    "sophie.l",
    "marc_dupont",
    "elodie",
    "theo_geek",
];

#[derive(Clone, Copy)]
enum Lang3 {
    Zh,
    En,
    Fr,
}

fn fill(template: &str, feature: &str, build: &str) -> String {
    template.replace("{f}", feature).replace("{b}", build)
}

/// What to generate: `count` threads over the given boards and authors, deterministic for a seed.
#[derive(Clone, Copy)]
pub struct ThreadGen<'a> {
    pub seed: u64,
    pub count: usize,
    pub board_ids: &'a [i64],
    /// French threads go here more often than not.
    pub french_board: Option<i64>,
    pub author_ids: &'a [i64],
    /// Staff occasionally answer.
    pub staff_ids: &'a [i64],
    /// Replies per thread are uniform in `0..=max_replies`.
    pub max_replies: usize,
    pub start_ms: i64,
}

pub fn generate_threads(spec: &ThreadGen<'_>) -> Vec<SeedThread> {
    let ThreadGen {
        seed,
        count,
        board_ids,
        french_board,
        author_ids,
        staff_ids,
        max_replies,
        start_ms,
    } = *spec;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut threads = Vec::with_capacity(count);
    for i in 0..count {
        let lang = match rng.gen_range(0..10) {
            0..=4 => Lang3::Zh,
            5..=7 => Lang3::En,
            _ => Lang3::Fr,
        };
        let (features, titles, bodies, replies) = match lang {
            Lang3::Zh => (ZH_FEATURES, ZH_TITLES, ZH_BODIES, ZH_REPLIES),
            Lang3::En => (EN_FEATURES, EN_TITLES, EN_BODIES, EN_REPLIES),
            Lang3::Fr => (FR_FEATURES, FR_TITLES, FR_BODIES, FR_REPLIES),
        };
        let feature = features.choose(&mut rng).copied().unwrap_or_default();
        let build = BUILDS.choose(&mut rng).copied().unwrap_or_default();
        let board_id = match lang {
            Lang3::Fr if french_board.is_some() && rng.gen_bool(0.6) => french_board.unwrap_or_default(),
            _ => board_ids[rng.gen_range(0..board_ids.len())],
        };
        let author_id = author_ids[rng.gen_range(0..author_ids.len())];
        let created_at = start_ms + (i as i64) * 1_800_000 + rng.gen_range(0..1_000_000);
        let mut posts = vec![SeedPost {
            author_id,
            body: fill(bodies.choose(&mut rng).copied().unwrap_or_default(), feature, build),
            created_at,
            like_count: rng.gen_range(0..40),
        }];
        let n_replies = if max_replies == 0 {
            0
        } else {
            rng.gen_range(0..=max_replies)
        };
        for r in 0..n_replies {
            let staff_answer = !staff_ids.is_empty() && rng.gen_bool(0.12);
            let replier = if staff_answer {
                staff_ids[rng.gen_range(0..staff_ids.len())]
            } else {
                author_ids[rng.gen_range(0..author_ids.len())]
            };
            posts.push(SeedPost {
                author_id: replier,
                body: fill(replies.choose(&mut rng).copied().unwrap_or_default(), feature, build),
                created_at: created_at + (r as i64 + 1) * rng.gen_range(60_000..3_600_000),
                like_count: rng.gen_range(0..12),
            });
        }
        threads.push(SeedThread {
            board_id,
            author_id,
            title: fill(titles.choose(&mut rng).copied().unwrap_or_default(), feature, build),
            created_at,
            pinned: false,
            posts,
        });
    }
    threads
}

/// Credentials printed once when the demo is loaded.
pub struct DemoCredentials {
    pub admin_username: String,
    pub admin_password: String,
    pub member_password: String,
}

fn random_password() -> String {
    let token = auth::new_token();
    token[..16].to_string()
}

/// Loads the demo community into an empty store.
/// The last two hours before the demo starts: fans in three languages report their phone running
/// hot since a build, under one hashtag — the kind of sudden topic listening is there to catch.
fn overheating_burst(fans: &[i64], boards: &[i64], french_board: i64) -> Vec<SeedThread> {
    const POSTS: &[(&str, &str)] = &[
        (
            "3.3.0 更新后充电发烫",
            "#X2发烫# 更新 3.3.0 之后一边充电一边刷视频，背面烫手，有人一样吗？",
        ),
        ("玩游戏十分钟就发烫", "#X2发烫# 原神十分钟机身就很烫，降频明显。"),
        (
            "Phone gets hot since 3.3.0",
            "Since 3.3.0 my X2 gets really hot while charging #X2发烫#",
        ),
        (
            "Chauffe depuis la 3.3.0",
            "Mon X2 chauffe beaucoup en charge depuis la 3.3.0 #X2发烫#",
        ),
        ("待机也发烫", "#X2发烫# 放口袋里待机都是热的，耗电也快了。"),
        (
            "Overheating in the car mount",
            "GPS plus charging in the car and it overheats, screen dims #X2发烫#",
        ),
        ("后台一直发烫", "#X2发烫# 看了下后台，好像是相册在一直扫描。"),
        (
            "Surchauffe pendant un appel vidéo",
            "Appel vidéo de 20 minutes et le téléphone surchauffe #X2发烫#",
        ),
        ("同样发烫 +1", "#X2发烫# +1，3.3.0 以后明显变热。"),
        (
            "Hot after the update, anyone else?",
            "Mine too, warm all evening after the update #X2发烫#",
        ),
        ("发烫问题求官方回复", "#X2发烫# 希望工程师看一下，充电时温度太高了。"),
        (
            "Ça chauffe aussi chez moi",
            "Pareil, chaud en permanence depuis la mise à jour #X2发烫#",
        ),
    ];
    let end = now_ms() - 5 * 60_000;
    POSTS
        .iter()
        .enumerate()
        .map(|(i, (title, body))| {
            let created_at = end - (POSTS.len() - i) as i64 * 8 * 60_000;
            let author_id = fans[(i * 7 + 3) % fans.len()];
            let board_id = if body.contains("chauffe") {
                french_board
            } else {
                boards[i % boards.len()]
            };
            SeedThread {
                board_id,
                author_id,
                title: title.to_string(),
                created_at,
                pinned: false,
                posts: vec![SeedPost {
                    author_id,
                    body: body.to_string(),
                    created_at,
                    like_count: (i as i64 * 3) % 17,
                }],
            }
        })
        .collect()
}

pub async fn load(db: &Db) -> anyhow::Result<DemoCredentials> {
    let admin_password = random_password();
    let member_password = random_password();
    let admin_hash = auth::hash_password(&admin_password)?;
    // Demo members share one hash: hashing dozens of passwords would slow the first start down.
    let member_hash = auth::hash_password(&member_password)?;
    let create = |name: &'static str, role: Role, team: Option<&'static str>, hash: String| async move {
        match accounts::create_user(
            db,
            name,
            &format!(
                "{}@demo.fanloop.invalid",
                crate::domain::percent_encode(name).replace('%', "")
            ),
            &hash,
            role,
            team,
            None,
            None,
        )
        .await
        {
            // Demo addresses (`.invalid`) are never mailed; marked proven so the demo works
            // where an installation requires proven addresses.
            Ok(u) => {
                accounts::mark_email_verified(db, u.id).await?;
                // Members of a community with months of history: not new accounts.
                accounts::set_joined(db, u.id, u.created_at - 120 * 86_400_000).await?;
                Ok(u.id)
            }
            Err(CreateUserError::Taken) => anyhow::bail!("demo user {name} already exists"),
            Err(CreateUserError::Other(e)) => Err(e),
        }
    };
    let admin = create("admin", Role::Admin, Some("Community team"), admin_hash).await?;
    let mut staff = Vec::new();
    for (name, team) in [
        ("camera_lead_li", "Camera team / 相机团队"),
        ("battery_emma", "Battery team / 续航团队"),
        ("os_lucas", "AuroraOS team / 系统团队"),
        ("pm_zhang", "Product team / 产品团队"),
    ] {
        staff.push(create(name, Role::Staff, Some(team), member_hash.clone()).await?);
    }
    staff.push(
        create(
            "mod_xiaoyu",
            Role::Moderator,
            Some("Community team / 社区团队"),
            member_hash.clone(),
        )
        .await?,
    );
    // Staff show a display name and an avatar, as a real team would.
    let faces = [admin].into_iter().chain(staff.iter().copied());
    let names = [
        "社区运营 Community",
        "李伟 Li Wei",
        "Emma Wang",
        "Lucas Martin",
        "张敏 Zhang Min",
        "小雨 Xiaoyu",
    ];
    for (i, (id, name)) in faces.zip(names).enumerate() {
        accounts::set_profile(db, id, "", Some(name)).await?;
        let picture = images::process(&images::demo_avatar_png(i as u32), images::Shape::Avatar)
            .map_err(|p| anyhow::anyhow!("demo avatar: {p:?}"))?;
        uploads::set_avatar(db, id, 0, &picture, None).await?;
    }
    let mut fans = Vec::new();
    for (i, name) in FAN_NAMES.iter().enumerate() {
        let role = match i % 8 {
            0 => Role::HonoraryDeveloper,
            1 | 2 => Role::BetaTester,
            _ => Role::Fan,
        };
        fans.push(create(name, role, None, member_hash.clone()).await?);
    }
    let mut board_ids = Vec::new();
    for (pos, (slug, name, description)) in BOARDS.iter().enumerate() {
        let board = store::create_board(db, slug, name, description, pos as i64)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo board {slug} exists"))?;
        board_ids.push(board.id);
    }
    // Leave room for the replies (up to 8 hours after each thread) so nothing is dated in the future.
    let start = now_ms() - 320 * 1_800_000 - 12 * 3_600_000;
    // Fans post everywhere but in announcements; the francophone board is board 4.
    let fan_boards = [board_ids[1], board_ids[2], board_ids[3], board_ids[5]];
    let mut threads = generate_threads(&ThreadGen {
        seed: 20261124,
        count: 320,
        board_ids: &fan_boards,
        french_board: Some(board_ids[4]),
        author_ids: &fans,
        staff_ids: &staff,
        max_replies: 8,
        start_ms: start,
    });
    threads.push(SeedThread {
        board_id: board_ids[0],
        author_id: staff[3],
        title: "欢迎来到极光社区 · Welcome · Bienvenue".into(),
        created_at: start - 60_000,
        pinned: true,
        posts: vec![SeedPost {
            author_id: staff[3],
            body: "每周五发布新的内测版本，欢迎大家在 **AuroraOS 内测** 版块提交反馈，工程师会直接回复。\n\nEvery Friday we ship a new beta build. File feedback in the **AuroraOS Beta** board: engineers answer you directly.\n\nChaque vendredi, une nouvelle version bêta : vos retours dans le forum **AuroraOS Bêta**, les ingénieurs vous répondent directement.".into(),
            created_at: start - 60_000,
            like_count: 128,
        }],
    });
    threads.extend(overheating_burst(&fans, &fan_boards, board_ids[4]));
    for chunk in threads.chunks(100) {
        store::bulk_load(db, chunk).await?;
    }
    Ok(DemoCredentials {
        admin_username: "admin".into(),
        admin_password,
        member_password,
    })
}
