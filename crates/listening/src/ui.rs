//! Listening's templates and UI messages.

use fanloop_platform::i18n::MessageTable;
use fanloop_platform::web::UiBundle;

pub static BUNDLE: UiBundle = UiBundle {
    templates: &[("trending.html", include_str!("../templates/trending.html"))],
    messages: MESSAGES,
};

/// (key, English, 简体中文, Français)
pub static MESSAGES: MessageTable = &[
    ("nav.trending", "Trending", "热点", "Tendances"),
    ("ls.trending", "Trending terms and hashtags", "热门词与话题", "Termes et hashtags tendance"),
    ("ls.intro", "What the forum and imported social posts talk about. A burst is a term far above its usual share of the conversation (Poisson test against the preceding window, scaled by volume).", "论坛和导入的社交帖子在聊什么。“爆发”指某个词的占比远高于平时（与前一时间窗做泊松检验，并按总量校正）。", "Ce dont parlent le forum et les publications importées. Un pic est un terme bien au-dessus de sa part habituelle (test de Poisson par rapport à la fenêtre précédente, corrigé du volume)."),
    ("ls.granularity", "Granularity", "粒度", "Granularité"),
    ("ls.per_hour", "Last 24 hours, per hour", "最近 24 小时（按小时）", "Dernières 24 h, par heure"),
    ("ls.per_day", "Last 7 days, per day", "最近 7 天（按天）", "7 derniers jours, par jour"),
    ("ls.source", "Source", "来源", "Source"),
    ("ls.source.all", "Forum and imported posts", "论坛和导入帖子", "Forum et publications importées"),
    ("ls.source.forum", "Forum only", "仅论坛", "Forum seulement"),
    ("ls.source.imported", "Imported posts only", "仅导入帖子", "Publications importées seulement"),
    ("ls.posts_until", "posts read, window ending", "条帖子，时间窗截至", "publications lues, fenêtre jusqu'au"),
    ("ls.truncated", "the window had more posts than were read", "时间窗内帖子过多，只读取了最新部分", "la fenêtre contenait plus de publications que lues"),
    ("ls.term", "Term", "词", "Terme"),
    ("ls.activity", "Activity", "走势", "Activité"),
    ("ls.recent", "Mentions", "提及", "Mentions"),
    ("ls.burst", "Burst", "爆发", "Pic"),
    ("ls.expected", "expected", "预期", "attendu"),
    ("ls.nothing", "Nothing in this window yet.", "该时间窗内暂无内容。", "Rien dans cette fenêtre pour l'instant."),
];
