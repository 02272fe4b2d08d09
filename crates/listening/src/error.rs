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
        CampaignStaffOnly => ("forbidden", FORBIDDEN, "campaigns are run by staff", "活动由工作人员管理。", "Les campagnes sont gérées par l’équipe."),
        HashtagRequired => ("validation_failed", UNPROCESSABLE_ENTITY, "hashtag: required, e.g. #小米影像大赛# or #ShotOnFan", "请填写话题标签，例如 #小米影像大赛# 或 #ShotOnFan。", "Hashtag : obligatoire, par ex. #小米影像大赛# ou #ShotOnFan."),
        HashtagOne => ("validation_failed", UNPROCESSABLE_ENTITY, "hashtag: one tag, without '#' inside it", "话题标签：只能填一个标签，中间不能有 #。", "Hashtag : un seul tag, sans « # » à l’intérieur."),
        HashtagChineseLong => ("validation_failed", UNPROCESSABLE_ENTITY, "hashtag: a Chinese topic has at most 30 characters", "话题标签：中文话题最多 30 个字。", "Hashtag : un sujet chinois a 30 caractères au plus."),
        HashtagLatin => ("validation_failed", UNPROCESSABLE_ENTITY, "hashtag: 2–50 letters, digits, '_' or '-', no spaces (#ShotOnFan)", "话题标签：2–50 个字母、数字、“_”或“-”，不能有空格（如 #ShotOnFan）。", "Hashtag : 2 à 50 lettres, chiffres, « _ » ou « - », sans espace (#ShotOnFan)."),
        HashtagUnread => ("validation_failed", UNPROCESSABLE_ENTITY, "hashtag: {hashtag} is not read as one hashtag", "话题标签：{hashtag} 无法识别为一个话题。", "Hashtag : {hashtag} n’est pas lu comme un seul hashtag."),
        Currency => ("validation_failed", UNPROCESSABLE_ENTITY, "currency: a three-letter code such as CNY or EUR", "货币：三个字母的代码，如 CNY 或 EUR。", "Devise : un code de trois lettres comme CNY ou EUR."),
        TooManyDrops => ("validation_failed", UNPROCESSABLE_ENTITY, "at most 20 linked drops", "最多关联 20 个首发。", "20 lancements liés au plus."),
        NoDrop => ("validation_failed", UNPROCESSABLE_ENTITY, "drops: no drop {drop}", "关联首发：没有 {drop} 这个首发。", "Lancements : aucun lancement {drop}."),
        DropCurrency => ("validation_failed", UNPROCESSABLE_ENTITY, "drops: {drop} sells in {sells}, the campaign counts revenue in {currency}", "关联首发：{drop} 以 {sells} 销售，而活动以 {currency} 统计销售额。", "Lancements : {drop} vend en {sells}, la campagne compte le chiffre d’affaires en {currency}."),
        Slug => ("validation_failed", UNPROCESSABLE_ENTITY, "slug: 2–40 lowercase letters, digits or dashes", "网址标识：2–40 个小写字母、数字或短横线。", "Adresse : 2 à 40 lettres minuscules, chiffres ou tirets."),
        SlugTaken => ("slug_taken", CONFLICT, "a campaign with slug {slug} exists", "网址标识 {slug} 已被其他活动使用。", "Une campagne utilise déjà l’adresse {slug}."),
        Page => ("validation_failed", UNPROCESSABLE_ENTITY, "page: from 1", "页码须从 1 开始。", "Page : à partir de 1."),
        NotStarted => ("not_open", CONFLICT, "the campaign has not started: {what} opens with it", "活动尚未开始：{what}将随活动开始开放。", "La campagne n’a pas commencé : {what} ouvrira avec elle."),
        Ended => ("ended", CONFLICT, "the campaign has ended: {what} is closed", "活动已结束：{what}已关闭。", "La campagne est terminée : {what} est clos."),
        EntryLimit => ("entry_limit", FORBIDDEN, "you have filed the {max} entries an account may file in this campaign", "你已提交本活动每人最多可投的 {max} 份作品。", "Vous avez déposé les {max} participations permises par compte dans cette campagne."),
        OwnEntry => ("own_entry", FORBIDDEN, "you cannot vote for your own entry", "不能给自己的作品投票。", "Vous ne pouvez pas voter pour votre propre participation."),
        VoteLimit => ("vote_limit", FORBIDDEN, "you have used your {max} votes in this campaign; take one back to vote for this entry", "你在本活动的 {max} 票已用完；撤回一票后才能投给这份作品。", "Vous avez utilisé vos {max} votes dans cette campagne ; retirez-en un pour voter pour cette participation."),
        ModeratorsOnly => ("forbidden", FORBIDDEN, "only moderators and staff hide entries", "只有版主和工作人员可以隐藏作品。", "Seuls les modérateurs et l’équipe peuvent masquer des participations."),
        HideReason => ("validation_failed", UNPROCESSABLE_ENTITY, "reason: 1–300 characters, shown to staff", "理由：1–300 个字符，工作人员可见。", "Raison : 1 à 300 caractères, visible par l’équipe."),
        HideWinner => ("winner", CONFLICT, "this entry is a winner: take it off the winner list first", "该作品已获奖：请先把它移出获奖名单。", "Cette participation est lauréate : retirez-la d’abord de la liste des gagnants."),
        WinnersNotEnded => ("not_ended", CONFLICT, "winners are picked once the campaign has ended", "活动结束后才能评选获奖作品。", "Les gagnants sont choisis une fois la campagne terminée."),
        TooManyWinners => ("validation_failed", UNPROCESSABLE_ENTITY, "at most {max} winners", "获奖作品最多 {max} 个。", "{max} gagnants au plus."),
        NotShownEntry => ("validation_failed", UNPROCESSABLE_ENTITY, "entry {entry} is not a shown entry of this campaign", "作品 {entry} 不是本活动中公开显示的作品。", "La participation {entry} n’est pas une participation visible de cette campagne."),
        PickedTwice => ("validation_failed", UNPROCESSABLE_ENTITY, "entry {entry} is picked twice", "作品 {entry} 被选了两次。", "La participation {entry} est choisie deux fois."),
        PrizeTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "prize of entry {entry}: at most 80 characters", "作品 {entry} 的奖项：最多 80 个字符。", "Prix de la participation {entry} : 80 caractères au plus."),
        AdjustmentAt => ("validation_failed", UNPROCESSABLE_ENTITY, "at: inside the campaign's dates", "日期须在活动期间内。", "Date : pendant la campagne."),
        AdjustmentFuture => ("validation_failed", UNPROCESSABLE_ENTITY, "at: a figure cannot be recorded for a time still to come", "不能为尚未到来的时间记录数据。", "Date : impossible d’enregistrer un chiffre pour un moment à venir."),
        Amount => ("validation_failed", UNPROCESSABLE_ENTITY, "amount: a non-zero whole number from -{max} to {max}", "数量：-{max} 到 {max} 之间的非零整数。", "Montant : un nombre entier non nul de -{max} à {max}."),
        AdjustmentNote => ("validation_failed", UNPROCESSABLE_ENTITY, "note: 1–300 characters saying where the figure comes from", "备注：1–300 个字符，说明数据来源。", "Note : 1 à 300 caractères indiquant d’où vient le chiffre."),
        InvalidForm => ("bad_request", BAD_REQUEST, "The form could not be read (was the upload interrupted?). Try again.", "无法读取表单（上传是否中断了？），请重试。", "Le formulaire est illisible (l’envoi a-t-il été interrompu ?). Réessayez."),
        FormNotUtf8 => ("bad_request", BAD_REQUEST, "Form fields must be UTF-8 text.", "表单字段须为 UTF-8 文本。", "Les champs du formulaire doivent être du texte UTF-8."),
        FormDate => ("validation_failed", UNPROCESSABLE_ENTITY, "{field}: a date as YYYY-MM-DD", "{field}：请按 YYYY-MM-DD 格式填写日期。", "{field} : une date au format AAAA-MM-JJ."),
        FormCount => ("validation_failed", UNPROCESSABLE_ENTITY, "{field}: a whole number (leave empty for no target)", "{field}：须为整数（不设目标请留空）。", "{field} : un nombre entier (laissez vide pour ne pas fixer d’objectif)."),
        FormMoney => ("validation_failed", UNPROCESSABLE_ENTITY, "{field}: an amount such as 50000 or 49.90", "{field}：请填写金额，例如 50000 或 49.90。", "{field} : un montant comme 50000 ou 49.90."),
        FormMetric => ("validation_failed", UNPROCESSABLE_ENTITY, "metric: pick one", "请选择一个指标。", "Indicateur : choisissez-en un."),
        FormRank => ("validation_failed", UNPROCESSABLE_ENTITY, "rank of entry {entry}: 1, 2, 3…", "作品 {entry} 的名次须为 1、2、3 等正整数。", "Rang de la participation {entry} : 1, 2, 3…"),
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
