//! The demo hub: four segments (pregnancy week from a due date, baby's age in months from a
//! birth date, device owned, skill level), one expert, a weekly pregnancy series in each
//! language, targeted and general articles in Chinese, English and French, one scheduled
//! article, a fan (小米粒) who told the hub her due date and her phone, her question to the
//! expert answered and in the FAQ, and another fan's question waiting in the expert's queue.

use fanloop_platform::accounts;
use fanloop_platform::i18n::Lang;

use crate::domain::{format_day, Choice, Names};
use crate::service::{
    self, ArticleRequest, DimensionRequest, ExpertRequest, FactRequest, FactsRequest, HubState, SeriesRequest,
    TargetRequest,
};

fn names(en: &str, zh: &str, fr: &str) -> Names {
    Names {
        en: en.into(),
        zh: zh.into(),
        fr: fr.into(),
    }
}

fn choice(key: &str, en: &str, zh: &str, fr: &str) -> Choice {
    Choice {
        key: key.into(),
        names: names(en, zh, fr),
        drops: Vec::new(),
    }
}

fn stage(dimension: &str, from: i64, to: i64) -> TargetRequest {
    TargetRequest {
        dimension: dimension.into(),
        choices: Vec::new(),
        from: Some(from),
        to: Some(to),
    }
}

fn choices(dimension: &str, values: &[&str]) -> TargetRequest {
    TargetRequest {
        dimension: dimension.into(),
        choices: values.iter().map(|v| v.to_string()).collect(),
        from: None,
        to: None,
    }
}

struct Demo<'a> {
    slug: &'a str,
    lang: &'a str,
    title: &'a str,
    summary: &'a str,
    body: &'a str,
    series: Option<&'a str>,
    targets: Vec<TargetRequest>,
    by_expert: bool,
    /// Days from now (negative: already published).
    days: i64,
}

fn article(d: Demo<'_>, now: i64) -> ArticleRequest {
    ArticleRequest {
        slug: d.slug.into(),
        lang: d.lang.into(),
        title: d.title.into(),
        summary: d.summary.into(),
        body: d.body.into(),
        publish_at: Some(now + d.days * 86_400_000),
        series: d.series.map(Into::into),
        targets: d.targets,
    }
}

fn weekly(lang: &str, week: i64) -> (String, String, String, String) {
    let (title, summary, body) = match (lang, week) {
        ("zh", 11) => ("孕 11 周：NT 检查前要知道的事", "第一次大排畸前的准备。", "## 本周宝宝\n\n宝宝约 4 厘米，手指已经分开。\n\n## 本周妈妈\n\n- 预约 NT 检查（11–13⁺⁶ 周）\n- 早孕反应开始减轻\n\n> 小贴士：检查前不必空腹，穿宽松衣物即可。"),
        ("zh", 12) => ("孕 12 周：孕早期的最后一周", "胎儿器官基本成形，可以建档了。", "## 本周宝宝\n\n宝宝约 5 厘米，开始会吞咽羊水。\n\n## 本周妈妈\n\n- 到医院**建档**，带好身份证和检查单\n- 适当补充叶酸和钙\n- 家里的空气净化器可以开启睡眠模式，夜里更安静\n\n有问题可以在“专家”栏目找到我们的育儿顾问。"),
        ("zh", 13) => ("孕 13 周：进入孕中期", "精力恢复，适合开始规律运动。", "## 本周宝宝\n\n宝宝约 7 厘米，指纹开始形成。\n\n## 本周妈妈\n\n- 每天散步 30 分钟\n- 开始记录胎动前的身体变化\n- 用手环记录睡眠，留意是否打鼾"),
        ("zh", 14) => ("孕 14 周：为宝宝准备衣物", "新衣服先洗再穿。", "## 清洗新衣物\n\n宝宝衣物第一次穿前要清洗：选择洗衣机的**除菌/婴儿**程序，使用婴儿专用洗涤剂，多漂洗一次。\n\n## 本周妈妈\n\n孕中期是准备待产包的好时机。"),
        ("en", 12) => ("Week 12: the last week of the first trimester", "Your baby's organs are formed; time for your booking appointment.", "## Your baby this week\n\nAbout 5 cm long, and starting to swallow.\n\n## You this week\n\n- Book your **dating scan** if you have not yet\n- Keep taking folic acid\n- Night-time nausea? Keep the bedroom air fresh: the purifier's sleep mode is quiet"),
        ("en", 13) => ("Week 13: welcome to the second trimester", "Energy comes back: a good week to start gentle exercise.", "## Your baby this week\n\nAbout 7 cm, and fingerprints are forming.\n\n## You this week\n\n- A 30-minute walk a day\n- Track your sleep with your band and watch for snoring"),
        ("fr", 12) => ("Semaine 12 : la fin du premier trimestre", "Les organes de bébé sont formés : place à l'échographie de datation.", "## Bébé cette semaine\n\nEnviron 5 cm, il commence à avaler.\n\n## Vous cette semaine\n\n- Prenez rendez-vous pour l'**échographie du premier trimestre**\n- Continuez l'acide folique"),
        ("fr", 13) => ("Semaine 13 : bienvenue au deuxième trimestre", "L'énergie revient : une bonne semaine pour bouger en douceur.", "## Bébé cette semaine\n\nEnviron 7 cm, les empreintes digitales se forment.\n\n## Vous cette semaine\n\n- 30 minutes de marche par jour\n- Suivez votre sommeil avec votre bracelet"),
        _ => ("", "", ""),
    };
    (
        format!("{lang}-pregnancy-week-{week}"),
        title.into(),
        summary.into(),
        body.into(),
    )
}

/// Loads the demo hub (the community demo's members must exist).
pub async fn load(state: &HubState) -> anyhow::Result<()> {
    let db = &state.platform.db;
    let staff = accounts::find_by_username(db, "pm_zhang")
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo staff pm_zhang missing"))?;
    let fail = |e: fanloop_platform::ApiError| anyhow::anyhow!("demo hub: {} {}", e.code, e.message);
    let lang = Lang::En;
    for r in [
        DimensionRequest {
            key: "pregnancy".into(),
            kind: "stage".into(),
            names: names("Pregnancy", "孕期", "Grossesse"),
            date_prompt: names("Due date", "预产期", "Date prévue d'accouchement"),
            unit: "week".into(),
            offset: 40,
            min: 1,
            max: 42,
            choices: Vec::new(),
        },
        DimensionRequest {
            key: "baby_age".into(),
            kind: "stage".into(),
            names: names("Baby's age", "宝宝月龄", "Âge de bébé"),
            date_prompt: names("Baby's birth date", "宝宝出生日期", "Date de naissance de bébé"),
            unit: "month".into(),
            offset: 0,
            min: 0,
            max: 36,
            choices: Vec::new(),
        },
        DimensionRequest {
            key: "device".into(),
            kind: "choice".into(),
            names: names("Device owned", "我的设备", "Appareil possédé"),
            choices: vec![
                Choice {
                    // A member who ordered a phone in a launch owns one.
                    drops: vec!["aurora-x2-restock".into(), "aurora-x3-launch".into()],
                    ..choice("phone", "Phone", "手机", "Téléphone")
                },
                choice("band", "Smart band", "智能手环", "Bracelet connecté"),
                choice("washer", "Washing machine", "洗衣机", "Lave-linge"),
                choice("purifier", "Air purifier", "空气净化器", "Purificateur d'air"),
            ],
            ..DimensionRequest::default()
        },
        DimensionRequest {
            key: "skill".into(),
            kind: "choice".into(),
            names: names("Skill level", "熟练程度", "Niveau"),
            choices: vec![
                choice("beginner", "Beginner", "新手", "Débutant"),
                choice("enthusiast", "Enthusiast", "发烧友", "Passionné"),
            ],
            ..DimensionRequest::default()
        },
    ] {
        service::create_dimension(state, &staff, &r, lang).await.map_err(fail)?;
    }
    let expert = service::appoint_expert(
        state,
        &staff,
        &ExpertRequest {
            username: "林小雨".into(),
            field: "育儿顾问 · Paediatric nurse".into(),
            bio: "十年儿科护理经验，擅长新生儿睡眠与喂养。Ten years as a paediatric nurse: newborn sleep and feeding."
                .into(),
        },
    )
    .await
    .map_err(fail)?;
    let expert = accounts::find_by_username(db, &expert.username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo expert missing"))?;
    for (slug, lang, title, summary) in [
        (
            "pregnancy-weekly-zh",
            "zh",
            "孕期每周指南",
            "每周一篇，跟着预产期自动更新。",
        ),
        (
            "pregnancy-weekly-en",
            "en",
            "Your pregnancy, week by week",
            "One article a week, following your due date.",
        ),
        (
            "pregnancy-weekly-fr",
            "fr",
            "Votre grossesse, semaine après semaine",
            "Un article par semaine, au rythme de votre date prévue.",
        ),
    ] {
        service::create_series(
            state,
            &staff,
            &SeriesRequest {
                slug: slug.into(),
                lang: lang.into(),
                title: title.into(),
                summary: summary.into(),
                dimension: "pregnancy".into(),
            },
        )
        .await
        .map_err(fail)?;
    }
    let now = state.clock.now_ms();
    for (lang, weeks) in [
        ("zh", &[11, 12, 13, 14][..]),
        ("en", &[12, 13][..]),
        ("fr", &[12, 13][..]),
    ] {
        for (i, week) in weeks.iter().enumerate() {
            let (slug, title, summary, body) = weekly(lang, *week);
            let r = article(
                Demo {
                    slug: &slug,
                    lang,
                    title: &title,
                    summary: &summary,
                    body: &body,
                    series: Some(&format!("pregnancy-weekly-{lang}")),
                    targets: vec![stage("pregnancy", *week, *week)],
                    by_expert: false,
                    days: -20 + i as i64,
                },
                now,
            );
            service::create_article(state, &staff, &r, Lang::Zh)
                .await
                .map_err(fail)?;
        }
    }
    let others = vec![
        Demo { slug: "welcome-zh", lang: "zh", title: "欢迎来到知识中心", summary: "告诉我们你的情况，这里就会为你挑选内容。", body: "这里有团队和专家写的文章。\n\n1. 在“我的情况”里填写预产期、宝宝生日或你的设备；\n2. “为你推荐”会随着每一周自动更新；\n3. 所有文章都可以搜索，也可以按人群筛选。", series: None, targets: vec![], by_expert: false, days: -30 },
        Demo { slug: "welcome-en", lang: "en", title: "Welcome to the guides", summary: "Tell us where you are and this page picks for you.", body: "Articles from the team and our experts.\n\n1. Give your due date, your baby's birth date or your devices under *What the hub knows about me*;\n2. *For you* follows you week by week;\n3. Every article can be searched and filtered by audience.", series: None, targets: vec![], by_expert: false, days: -30 },
        Demo { slug: "welcome-fr", lang: "fr", title: "Bienvenue dans les guides", summary: "Dites-nous où vous en êtes, cette page choisit pour vous.", body: "Des articles de l'équipe et de nos experts.\n\n1. Indiquez votre date prévue, la date de naissance de bébé ou vos appareils ;\n2. *Pour vous* vous suit semaine après semaine ;\n3. Tous les articles se cherchent et se filtrent par public.", series: None, targets: vec![], by_expert: false, days: -30 },
        Demo { slug: "newborn-sleep-zh", lang: "zh", title: "0–3 个月宝宝的睡眠小贴士", summary: "新生儿一天睡 14–17 小时，但是一段一段的。", body: "## 建立昼夜节律\n\n白天拉开窗帘，夜里保持安静和昏暗。\n\n## 安全睡眠\n\n- 仰睡\n- 床上不放枕头和毛绒玩具\n- 室温 20–22 ℃，空气净化器开睡眠模式\n\n有问题？在专家栏目找我。", series: None, targets: vec![stage("baby_age", 0, 3)], by_expert: true, days: -6 },
        Demo { slug: "newborn-sleep-en", lang: "en", title: "Sleep tips for months 0–3", summary: "Newborns sleep 14–17 hours a day, in short stretches.", body: "## Day and night\n\nOpen the curtains by day; keep nights quiet and dim.\n\n## Safe sleep\n\n- On the back\n- No pillows or soft toys in the cot\n- Room at 20–22 °C; purifier on sleep mode", series: None, targets: vec![stage("baby_age", 0, 3)], by_expert: true, days: -6 },
        Demo { slug: "newborn-sleep-fr", lang: "fr", title: "Sommeil : conseils pour les mois 0 à 3", summary: "Un nouveau-né dort 14 à 17 heures par jour, par petites périodes.", body: "## Le jour et la nuit\n\nRideaux ouverts le jour ; nuits calmes et sombres.\n\n## Sommeil en sécurité\n\n- Sur le dos\n- Ni oreiller ni peluche dans le lit\n- Chambre à 20–22 °C ; purificateur en mode nuit", series: None, targets: vec![stage("baby_age", 0, 3)], by_expert: true, days: -6 },
        Demo { slug: "baby-laundry-zh", lang: "zh", title: "宝宝衣物怎么洗：洗衣机除菌程序", summary: "婴儿程序、洗涤剂用量和漂洗次数。", body: "## 选择程序\n\n洗衣机的**婴儿/除菌**程序会用 60 ℃ 以上的水温并增加一次漂洗。\n\n## 洗涤剂\n\n用婴儿专用洗涤剂，用量按说明减半即可。", series: None, targets: vec![choices("device", &["washer"]), stage("baby_age", 0, 12)], by_expert: false, days: -3 },
        Demo { slug: "baby-laundry-en", lang: "en", title: "Washing baby clothes: the hygiene cycle", summary: "Which programme, how much detergent, how many rinses.", body: "## The programme\n\nThe washer's **baby/hygiene** cycle washes above 60 °C and adds a rinse.\n\n## Detergent\n\nA baby detergent, half the usual dose.", series: None, targets: vec![choices("device", &["washer"]), stage("baby_age", 0, 12)], by_expert: false, days: -3 },
        Demo { slug: "baby-laundry-fr", lang: "fr", title: "Laver les vêtements de bébé : le cycle hygiène", summary: "Quel programme, combien de lessive, combien de rinçages.", body: "## Le programme\n\nLe cycle **bébé/hygiène** du lave-linge lave au-dessus de 60 °C et ajoute un rinçage.\n\n## La lessive\n\nUne lessive pour bébé, à demi-dose.", series: None, targets: vec![choices("device", &["washer"]), stage("baby_age", 0, 12)], by_expert: false, days: -3 },
        Demo { slug: "purifier-pregnancy-zh", lang: "zh", title: "孕期怎么用空气净化器", summary: "装修味、花粉季和夜间噪音。", body: "## 什么时候开\n\n新家具进门、花粉季和雾霾天全天开启；夜里用睡眠模式，噪音低于 30 分贝。\n\n## 滤网\n\n滤网寿命低于 10% 时更换。", series: None, targets: vec![choices("device", &["purifier"]), stage("pregnancy", 1, 40)], by_expert: true, days: -2 },
        Demo { slug: "night-shots-zh", lang: "zh", title: "用手机拍娃：夜景模式也能拍清楚", summary: "三个设置，暗光下也不糊。", body: "## 三个设置\n\n1. 打开**夜景模式**，拍摄时保持 2 秒不动；\n2. 关闭闪光灯，别吓到宝宝；\n3. 用连拍抓住笑容。\n\n[[drop:aurora-x2-restock]]", series: None, targets: vec![choices("device", &["phone"])], by_expert: false, days: -1 },
        Demo { slug: "night-shots-en", lang: "en", title: "Photographing your baby at night with your phone", summary: "Three settings for sharp low-light shots.", body: "## Three settings\n\n1. Turn on **night mode** and hold still for 2 seconds;\n2. Flash off: it startles babies;\n3. Burst mode catches the smile.\n\n[[drop:aurora-x2-restock]]", series: None, targets: vec![choices("device", &["phone"])], by_expert: false, days: -1 },
        Demo { slug: "first-food-zh", lang: "zh", title: "6 个月：第一口辅食", summary: "从强化铁米粉开始。", body: "## 何时开始\n\n满 6 个月、能坐稳、对食物感兴趣时。\n\n## 第一口\n\n强化铁米粉，一次一种新食物，观察三天。", series: None, targets: vec![stage("baby_age", 6, 7)], by_expert: true, days: 3 },
    ];
    for d in others {
        let by = if d.by_expert { &expert } else { &staff };
        let r = article(d, now);
        service::create_article(state, by, &r, Lang::Zh).await.map_err(fail)?;
    }
    // A fan who told the hub her due date (week 12 today) and her phone.
    if let Some(fan) = accounts::find_by_username(db, "小米粒").await? {
        let due = state.clock.today() + time::Duration::days(28 * 7 - 3);
        service::set_facts(
            state,
            &fan,
            &FactsRequest {
                facts: vec![
                    FactRequest {
                        dimension: "pregnancy".into(),
                        choice: None,
                        date: Some(format_day(due)),
                    },
                    FactRequest {
                        dimension: "device".into(),
                        choice: Some("phone".into()),
                        date: None,
                    },
                ],
            },
            Lang::Zh,
        )
        .await
        .map_err(fail)?;
        // Her question to the expert, answered, and (with her consent) in the FAQ.
        let q = crate::ask::ask(
            state,
            &fan,
            &crate::ask::QuestionRequest {
                field: "育儿顾问 · Paediatric nurse".into(),
                subject: "孕早期可以用空气净化器吗？".into(),
                body: "家里刚装修完，孕 12 周，净化器整夜开着对宝宝有影响吗？".into(),
                faq_consent: true,
            },
            Lang::Zh,
        )
        .await
        .map_err(fail)?;
        let answer =
            "可以放心用。净化器不产生辐射，整夜开睡眠模式即可；装修后的甲醛以通风为主，净化器为辅，滤网记得按时更换。";
        crate::ask::reply(
            state,
            &expert,
            q.id,
            &crate::ask::MessageRequest { body: answer.into() },
        )
        .await
        .map_err(fail)?;
        crate::ask::publish_faq(
            state,
            &expert,
            q.id,
            &crate::ask::FaqRequest {
                question: "孕期可以整夜开空气净化器吗？".into(),
                answer: answer.into(),
            },
        )
        .await
        .map_err(fail)?;
        // Another fan's question, still waiting in the expert's queue.
        if let Some(other) = accounts::find_by_username(db, "jenny.w").await? {
            crate::ask::ask(
                state,
                &other,
                &crate::ask::QuestionRequest {
                    field: "育儿顾问 · Paediatric nurse".into(),
                    subject: "Night feeds at 3 months".into(),
                    body: "My baby still wakes twice a night to feed at 3 months. Should I stop the night feeds?"
                        .into(),
                    faq_consent: false,
                },
                Lang::En,
            )
            .await
            .map_err(fail)?;
        }
    }
    Ok(())
}
