//! Listening's templates and UI messages.

use fanloop_platform::i18n::MessageTable;
use fanloop_platform::web::UiBundle;

pub static BUNDLE: UiBundle = UiBundle {
    templates: &[
        ("trending.html", include_str!("../templates/trending.html")),
        ("cp_macros.html", include_str!("../templates/cp_macros.html")),
        ("campaigns.html", include_str!("../templates/campaigns.html")),
        ("campaign.html", include_str!("../templates/campaign.html")),
        (
            "campaign_dashboard.html",
            include_str!("../templates/campaign_dashboard.html"),
        ),
    ],
    messages: MESSAGES,
};

/// (key, English, 简体中文, Français)
pub static MESSAGES: MessageTable = &[
    ("nav.trending", "Trending", "热点", "Tendances"),
    ("nav.campaigns", "Campaigns", "活动", "Campagnes"),
    ("cp.campaigns", "Campaigns", "话题活动", "Campagnes"),
    ("cp.intro", "Hashtag challenges: post your photos under the hashtag, vote for the ones you love, and the best win.", "话题挑战：带上话题发布你的照片，为喜欢的作品投票，最佳作品获奖。", "Défis hashtag : publiez vos photos sous le hashtag, votez pour vos préférées, les meilleures gagnent."),
    ("cp.none", "No campaigns yet.", "暂无活动。", "Aucune campagne pour l'instant."),
    ("cp.entries_n", "entries", "件作品", "participations"),
    ("cp.new", "New campaign", "新建活动", "Nouvelle campagne"),
    ("cp.create", "Create campaign", "创建活动", "Créer la campagne"),
    ("cp.f.title", "Title", "标题", "Titre"),
    ("cp.f.slug", "Short name (in the URL)", "短名称（用于网址）", "Nom court (dans l'URL)"),
    ("cp.f.hashtag", "Hashtag", "话题标签", "Hashtag"),
    ("cp.f.description", "Rules and prizes", "规则与奖品", "Règles et prix"),
    ("cp.f.starts", "First day (UTC)", "开始日期（UTC）", "Premier jour (UTC)"),
    ("cp.f.ends", "Last day (UTC, included)", "结束日期（UTC，含当天）", "Dernier jour (UTC, inclus)"),
    ("cp.f.currency", "Currency", "币种", "Devise"),
    ("cp.f.drops", "Drops whose orders count (short names, comma-separated)", "计入订单的首发（短名称，逗号分隔）", "Ventes dont les commandes comptent (noms courts, séparés par des virgules)"),
    ("cp.f.max_entries", "Entries per account", "每个账号可投稿数", "Participations par compte"),
    ("cp.f.max_votes", "Votes per account", "每个账号可投票数", "Votes par compte"),
    ("cp.targets", "Targets", "目标", "Objectifs"),
    ("cp.targets_hint", "Leave empty for no target; at least one is needed. Revenue in currency units.", "留空表示不设目标，至少设置一项。收入以货币单位填写。", "Laisser vide pour aucun objectif ; il en faut au moins un. Chiffre d'affaires en unités de la devise."),
    ("cp.metric", "Metric", "指标", "Indicateur"),
    ("cp.metric.exposure", "Exposure", "曝光量", "Exposition"),
    ("cp.metric.page_views", "Page views", "页面浏览量", "Pages vues"),
    ("cp.metric.entries", "Entries", "作品数", "Participations"),
    ("cp.metric.orders", "Orders", "订单数", "Commandes"),
    ("cp.metric.revenue", "Revenue", "销售额", "Chiffre d'affaires"),
    ("cp.phase.upcoming", "Upcoming", "即将开始", "À venir"),
    ("cp.phase.open", "Open", "进行中", "En cours"),
    ("cp.phase.ended", "Ended", "已结束", "Terminée"),
    ("cp.dashboard", "Dashboard", "数据看板", "Tableau de bord"),
    ("cp.public_page", "Public page", "活动页面", "Page publique"),
    ("cp.winners", "Winners", "获奖作品", "Gagnants"),
    ("cp.votes", "votes", "票", "votes"),
    ("cp.enter", "Enter the challenge", "参加挑战", "Participer au défi"),
    ("cp.entry_text", "Your words", "作品描述", "Votre texte"),
    ("cp.entry_images", "Photos (1–4, PNG, JPEG or WebP, 2 MiB each)", "照片（1–4 张，PNG、JPEG 或 WebP，每张不超过 2 MiB）", "Photos (1 à 4, PNG, JPEG ou WebP, 2 Mio chacune)"),
    ("cp.entry_hint", "The hashtag is added if you leave it out", "如未带话题，会自动加上", "Le hashtag est ajouté si vous l'oubliez"),
    ("cp.entries_left", "entries left", "剩余投稿次数", "participations restantes"),
    ("cp.votes_left", "votes left", "剩余票数", "votes restants"),
    ("cp.no_entries_left", "You have filed all your entries.", "你的投稿次数已用完。", "Vous avez utilisé toutes vos participations."),
    ("cp.submit", "Post entry", "发布作品", "Publier"),
    ("cp.signin_to_enter", "to enter and vote.", "后即可投稿和投票。", "pour participer et voter."),
    ("cp.upcoming_note", "Entries and votes open on the first day.", "活动开始后开放投稿和投票。", "Participations et votes ouvrent le premier jour."),
    ("cp.ended_note", "This campaign has ended: entries and votes are closed.", "活动已结束，投稿和投票已关闭。", "Cette campagne est terminée : participations et votes sont clos."),
    ("cp.entries", "Entries", "参赛作品", "Participations"),
    ("cp.sort.top", "Most votes", "最多票", "Plus de votes"),
    ("cp.sort.new", "Newest", "最新", "Plus récentes"),
    ("cp.photo_by", "Photo by", "作者", "Photo de"),
    ("cp.vote", "Vote", "投票", "Voter"),
    ("cp.unvote", "Take back vote", "取消投票", "Retirer mon vote"),
    ("cp.hide", "Hide", "隐藏", "Masquer"),
    ("cp.unhide", "Show again", "恢复显示", "Réafficher"),
    ("cp.hidden", "Hidden", "已隐藏", "Masquée"),
    ("cp.hide_reason", "Rule broken", "违反的规则", "Règle enfreinte"),
    ("cp.no_entries", "No entries yet.", "还没有作品。", "Aucune participation pour l'instant."),
    ("cp.as_of", "as of", "截至", "au"),
    ("cp.saved", "Saved.", "已保存。", "Enregistré."),
    ("cp.complete", "of target", "完成率", "de l'objectif"),
    ("cp.expected_by_now", "steady pace by now:", "匀速进度应达：", "à rythme régulier :"),
    ("cp.no_target", "No target: counted only.", "未设目标，仅统计。", "Pas d'objectif : compté seulement."),
    ("cp.pace.no_target", "No target", "无目标", "Sans objectif"),
    ("cp.pace.reached", "Reached", "已达成", "Atteint"),
    ("cp.pace.ahead", "Ahead of pace", "超前", "En avance"),
    ("cp.pace.behind", "Behind pace", "落后", "En retard"),
    ("cp.how.exposure", "Campaign page views, plus the followers of each imported social post carrying the hashtag, plus one per post that placed an order on a linked drop's wall, plus recorded figures.", "活动页浏览量，加上带话题的导入社交帖子作者的粉丝数，加上关联首发活动墙上每条下单帖计 1，再加上手工记录的数据。", "Pages vues de la campagne, plus les abonnés de chaque publication importée portant le hashtag, plus une par publication ayant passé commande sur le mur d’un lancement lié, plus les chiffres saisis."),
    ("cp.how.page_views", "Views of the campaign page by fans and visitors (staff not counted).", "粉丝和访客对活动页的浏览（不含员工）。", "Vues de la page de campagne par les fans et visiteurs (équipe non comptée)."),
    ("cp.how.entries", "Entries still shown (hidden ones do not count).", "仍在展示的作品（被隐藏的不计入）。", "Participations affichées (les masquées ne comptent pas)."),
    ("cp.how.orders", "Orders on the linked drops placed during the campaign, expired ones excluded.", "活动期间关联首发的订单，不含已过期订单。", "Commandes des ventes liées passées pendant la campagne, hors expirées."),
    ("cp.how.revenue", "Paid orders on the linked drops placed during the campaign.", "活动期间关联首发中已付款订单的金额。", "Commandes payées des ventes liées passées pendant la campagne."),
    ("cp.chart_legend", "Orange: cumulative actual, day by day. Grey dashes: a steady pace to the target. Green dots: the target.", "橙线：逐日累计实际值。灰色虚线：匀速达成目标的进度。绿色点线：目标。", "Orange : réalisé cumulé jour par jour. Tirets gris : rythme régulier vers l'objectif. Pointillés verts : l'objectif."),
    ("cp.sources", "Where the numbers come from", "数据来源", "D'où viennent les chiffres"),
    ("cp.src.imported", "Imported social posts with the hashtag", "带话题的导入社交帖子", "Publications importées avec le hashtag"),
    ("cp.src.share_posts", "Posts on linked drops' walls, made to reserve or order (one per member; 1 exposure each)", "关联首发活动墙上的预约帖和下单帖（每人一帖；每帖计 1 次曝光）", "Publications sur les murs des lancements liés, pour réserver ou commander (une par membre ; 1 exposition chacune)"),
    ("cp.src.reach", "Their authors' followers (summed)", "其作者粉丝数（合计）", "Abonnés de leurs auteurs (somme)"),
    ("cp.src.orders", "Orders on linked drops", "关联首发订单", "Commandes des ventes liées"),
    ("cp.src.paid", "paid", "已付款", "payées"),
    ("cp.src.recorded", "Recorded", "手工记录", "Saisi"),
    ("cp.figures", "Recorded figures", "手工记录的数据", "Chiffres saisis"),
    ("cp.figures_hint", "Off-platform numbers (a Weibo topic's views, a partner's sales) with where they come from. Negative amounts correct a mistake.", "平台外的数据（微博话题阅读量、合作方销量等），注明来源。负数用于更正。", "Chiffres hors plateforme (vues d'un sujet Weibo, ventes d'un partenaire) avec leur source. Un montant négatif corrige une erreur."),
    ("cp.amount", "Amount", "数量", "Montant"),
    ("cp.date", "Day", "日期", "Jour"),
    ("cp.note", "Source", "来源", "Source"),
    ("cp.note_hint", "Weibo topic page, 3 May", "微博话题页，5 月 3 日", "Page du sujet Weibo, 3 mai"),
    ("cp.record", "Record", "记录", "Enregistrer"),
    ("cp.winners_hint", "Give winners a rank (1, 2, 3…) and a prize; they are notified. Leave the rank empty for the others.", "为获奖作品填写名次（1、2、3…）和奖品，作者会收到通知。其余作品名次留空。", "Donnez aux gagnants un rang (1, 2, 3…) et un prix ; ils sont prévenus. Laissez le rang vide pour les autres."),
    ("cp.winners_after_end", "Winners are picked once the campaign has ended.", "活动结束后才能评选获奖作品。", "Les gagnants sont choisis une fois la campagne terminée."),
    ("cp.rank", "Rank", "名次", "Rang"),
    ("cp.entry", "Entry", "作品", "Participation"),
    ("cp.prize", "Prize", "奖品", "Prix"),
    ("cp.announce", "Announce winners", "公布获奖名单", "Annoncer les gagnants"),
    ("cp.settings", "Settings", "活动设置", "Paramètres"),
    ("cp.save", "Save", "保存", "Enregistrer"),
    ("ls.trending", "Trending terms and hashtags", "热门词与话题", "Termes et hashtags tendance"),
    ("ls.intro", "What the forum and imported social posts talk about. A burst is a term far above its usual share of the conversation (Poisson test against the preceding window, scaled by volume).", "论坛和导入的社交帖子在聊什么。“爆发”指某个词的占比远高于平时（与前一时间窗做泊松检验，并按总量校正）。", "Ce dont parlent le forum et les publications importées. Un pic est un terme bien au-dessus de sa part habituelle (test de Poisson par rapport à la fenêtre précédente, corrigé du volume)."),
    ("ls.granularity", "Granularity", "粒度", "Granularité"),
    ("ls.per_hour", "Last 24 hours, per hour", "最近 24 小时（按小时）", "Dernières 24 h, par heure"),
    ("ls.per_day", "Last 7 days, per day", "最近 7 天（按天）", "7 derniers jours, par jour"),
    ("ls.source", "Source", "来源", "Source"),
    ("ls.source.all", "Forum and imported posts", "论坛和导入帖子", "Forum et publications importées"),
    ("ls.source.forum", "Forum and campaign entries", "论坛和活动作品", "Forum et participations aux campagnes"),
    ("ls.source.imported", "Imported posts only", "仅导入帖子", "Publications importées seulement"),
    ("ls.posts_until", "posts read, window ending", "条帖子，时间窗截至", "publications lues, fenêtre jusqu'au"),
    ("ls.stale", "hours still being counted", "部分小时仍在统计中", "heures encore en cours de comptage"),
    ("ls.truncated", "the window had more posts than were read", "时间窗内帖子过多，只读取了最新部分", "la fenêtre contenait plus de publications que lues"),
    ("ls.term", "Term", "词", "Terme"),
    ("ls.activity", "Activity", "走势", "Activité"),
    ("ls.recent", "Mentions", "提及", "Mentions"),
    ("ls.burst", "Burst", "爆发", "Pic"),
    ("ls.expected", "expected", "预期", "attendu"),
    ("ls.nothing", "Nothing in this window yet.", "该时间窗内暂无内容。", "Rien dans cette fenêtre pour l'instant."),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::domain::Metric;

    /// Every message a listening template names exists, in the three languages; so do the keys
    /// the templates build from values (metrics, phases, paces).
    #[test]
    fn every_message_the_templates_use_is_translated() {
        let has = |key: &str| {
            MESSAGES
                .iter()
                .any(|(k, en, zh, fr)| *k == key && ![en, zh, fr].iter().any(|s| s.is_empty()))
        };
        for (name, source) in BUNDLE.templates {
            for piece in source.split("t('").skip(1) {
                let key = &piece[..piece.find('\'').unwrap()];
                if key.ends_with('.') || !(key.starts_with("cp.") || key.starts_with("ls.") || key.starts_with("nav."))
                {
                    continue;
                }
                if key == "nav.signin" {
                    continue; // the platform's
                }
                assert!(has(key), "{name}: {key}");
            }
        }
        for m in Metric::ALL {
            assert!(has(&format!("cp.metric.{}", m.as_str())) && has(&format!("cp.how.{}", m.as_str())));
        }
        for k in ["upcoming", "open", "ended"] {
            assert!(has(&format!("cp.phase.{k}")));
        }
        for k in ["no_target", "reached", "ahead", "behind"] {
            assert!(has(&format!("cp.pace.{k}")));
        }
    }
}
