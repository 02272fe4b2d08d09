//! Listening's and campaigns' errors a person reads: code, HTTP status and message in each
//! language, in one table (see `fanloop_platform::error_table!`).

fanloop_platform::error_table! {
    pub enum ListeningError {
        StaffOnly => ("forbidden", FORBIDDEN, "listening is for staff", "舆情监测仅限工作人员。", "L’écoute est réservée à l’équipe."),
        Title => ("validation_failed", UNPROCESSABLE_ENTITY, "title: 1–120 characters", "标题：1–120 个字符。", "Titre : 1 à 120 caractères."),
        Description => ("validation_failed", UNPROCESSABLE_ENTITY, "description: at most 5000 characters", "说明最多 5000 个字符。", "Description : 5 000 caractères au plus."),
        Times => ("validation_failed", UNPROCESSABLE_ENTITY, "start and end: times between 1970 and 2100", "开始和结束时间须在 1970 到 2100 年之间。", "Début et fin : entre 1970 et 2100."),
        StartBeforeEnd => ("validation_failed", UNPROCESSABLE_ENTITY, "the campaign must start before it ends", "活动开始时间须早于结束时间。", "La campagne doit commencer avant de finir."),
        TooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "a campaign lasts at most {days} days", "活动最长 {days} 天。", "Une campagne dure {days} jours au plus."),
        Target => ("validation_failed", UNPROCESSABLE_ENTITY, "target {metric}: a whole number from 0", "目标“{metric}”须为不小于 0 的整数。", "Objectif {metric} : un nombre entier positif ou nul."),
        NoTarget => ("validation_failed", UNPROCESSABLE_ENTITY, "set at least one target (exposure, page views, entries, orders or revenue)", "至少设置一个目标（曝光、浏览、投稿、订单或销售额）。", "Fixez au moins un objectif (exposition, vues, participations, commandes ou chiffre d’affaires)."),
        EntriesPerAccount => ("validation_failed", UNPROCESSABLE_ENTITY, "entries per account: 1–50", "每人投稿数：1–50。", "Participations par compte : 1 à 50."),
        VotesPerAccount => ("validation_failed", UNPROCESSABLE_ENTITY, "votes per account: 1–1000", "每人投票数：1–1000。", "Votes par compte : 1 à 1 000."),
        EntryText => ("validation_failed", UNPROCESSABLE_ENTITY, "text: say something about your photos", "请为你的照片写几句话。", "Texte : dites quelques mots sur vos photos."),
        EntryTextLong => ("validation_failed", UNPROCESSABLE_ENTITY, "text: at most {max} characters", "文字最多 {max} 个字符。", "Texte : {max} caractères au plus."),
        NoImage => ("validation_failed", UNPROCESSABLE_ENTITY, "an entry needs at least one image", "投稿至少需要一张图片。", "Une participation demande au moins une image."),
        TooManyImages => ("validation_failed", UNPROCESSABLE_ENTITY, "at most {max} images per entry", "每次投稿最多 {max} 张图片。", "{max} images au plus par participation."),
        ImageType => ("validation_failed", UNPROCESSABLE_ENTITY, "{file}: only PNG, JPEG or WebP images are accepted", "{file}：只接受 PNG、JPEG 或 WebP 图片。", "{file} : seules les images PNG, JPEG ou WebP sont acceptées."),
        ImageSize => ("validation_failed", UNPROCESSABLE_ENTITY, "{file}: larger than 2 MiB", "{file}：超过 2 MiB。", "{file} : dépasse 2 Mio."),
    }
}

/// A refused setting or entry: which error, and the values its message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub ListeningError, pub Vec<(&'static str, String)>);

impl From<ListeningError> for Problem {
    fn from(e: ListeningError) -> Self {
        Problem(e, Vec::new())
    }
}

impl From<Problem> for fanloop_platform::ApiError {
    fn from(p: Problem) -> Self {
        p.0.with(&p.1)
    }
}
