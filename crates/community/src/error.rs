//! The community's errors a person reads: code, HTTP status and message in each language, in
//! one table (see `fanloop_platform::error_table!`).

use crate::domain::Problem;

fanloop_platform::error_table! {
    pub enum CommunityError {
        TitleEmpty => ("validation_failed", UNPROCESSABLE_ENTITY, "The title cannot be empty.", "标题不能为空。", "Le titre ne peut pas être vide."),
        TitleTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "The title is at most 120 characters.", "标题最多 120 个字符。", "Le titre fait au plus 120 caractères."),
        BodyEmpty => ("validation_failed", UNPROCESSABLE_ENTITY, "The message cannot be empty.", "正文不能为空。", "Le message ne peut pas être vide."),
        BodyTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "The message is at most 20,000 characters.", "正文最多 20,000 个字符。", "Le message fait au plus 20 000 caractères."),
        ReasonEmpty => ("validation_failed", UNPROCESSABLE_ENTITY, "Please say why you report this post.", "请填写举报原因。", "Indiquez pourquoi vous signalez ce message."),
        ReasonTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "The reason is at most 500 characters.", "举报原因最多 500 个字符。", "Le motif fait au plus 500 caractères."),
        Locked => ("thread_locked", FORBIDDEN, "This thread is locked.", "该主题已锁定。", "Ce sujet est verrouillé."),
        NotYours => ("forbidden", FORBIDDEN, "You can only change your own posts.", "你只能修改自己的内容。", "Vous ne pouvez modifier que vos propres messages."),
        NotOpeningPost => ("not_opening_post", CONFLICT, "only the opening post carries the thread title", "只有主楼可以修改主题标题。", "Seul le premier message porte le titre du sujet."),
        ModeratorsPin => ("forbidden", FORBIDDEN, "only moderators pin and lock threads", "只有版主可以置顶和锁定主题。", "Seuls les modérateurs épinglent et verrouillent les sujets."),
        ModeratorsFlags => ("forbidden", FORBIDDEN, "only moderators resolve flags", "只有版主可以处理举报。", "Seuls les modérateurs traitent les signalements."),
        ModeratorsQueue => ("forbidden", FORBIDDEN, "only moderators see the moderation queue", "只有版主可以查看审核队列。", "Seuls les modérateurs voient la file de modération."),
        FlagAction => ("validation_failed", UNPROCESSABLE_ENTITY, "action must be `dismiss` or `delete`", "处理方式须为“保留”或“删除”。", "L’action doit être « conserver » ou « supprimer »."),
        AlreadyFlagged => ("already_flagged", CONFLICT, "you already have an open flag on this post", "你已经举报过这条内容，正在等待处理。", "Vous avez déjà un signalement en cours sur ce message."),
        AdminsBoards => ("forbidden", FORBIDDEN, "only administrators create boards", "只有管理员可以创建版块。", "Seuls les administrateurs créent des forums."),
        BoardSlug => ("validation_failed", UNPROCESSABLE_ENTITY, "address: 2–40 lowercase letters, digits or dashes", "网址名：2–40 个小写字母、数字或连字符。", "Adresse : 2 à 40 lettres minuscules, chiffres ou tirets."),
        BoardName => ("validation_failed", UNPROCESSABLE_ENTITY, "name: 1–60 characters; description: at most 500", "名称：1–60 个字符；简介最多 500 个字符。", "Nom : 1 à 60 caractères ; description : 500 au plus."),
        BoardTaken => ("taken", CONFLICT, "a board with this address exists", "已有使用该网址名的版块。", "Un forum utilise déjà cette adresse."),
        SearchTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "search text is at most 200 characters", "搜索内容最多 200 个字符。", "La recherche fait au plus 200 caractères."),
        SearchEmpty => ("validation_failed", UNPROCESSABLE_ENTITY, "q: 1–200 characters", "请输入 1–200 个字符的搜索内容。", "Recherche : 1 à 200 caractères."),
        DailyLimit => ("rate_limited", TOO_MANY_REQUESTS, "New accounts can post {limit} times a day: please come back tomorrow.", "新账号每天最多发布 {limit} 条内容，请明天再来。", "Les nouveaux comptes publient au plus {limit} fois par jour : revenez demain."),
        TooManyLinks => ("validation_failed", UNPROCESSABLE_ENTITY, "Your account can put at most {limit} links in a post for now.", "你的账号目前每条内容最多包含 {limit} 个链接。", "Votre compte peut mettre au plus {limit} liens par message pour l’instant."),
        TooManyImages => ("validation_failed", UNPROCESSABLE_ENTITY, "Your account can put at most {limit} images in a post for now.", "你的账号目前每条内容最多包含 {limit} 张图片。", "Votre compte peut mettre au plus {limit} images par message pour l’instant."),
        NoNewLinksInEdits => ("validation_failed", UNPROCESSABLE_ENTITY, "New accounts cannot add links by editing: post them in a new message, which a moderator reviews.", "新账号不能通过编辑添加链接，请在新帖中发布（将由版主审核）。", "Les nouveaux comptes ne peuvent pas ajouter de liens en modifiant : publiez-les dans un nouveau message, examiné par un modérateur."),
        HeldNotFound => ("not_found", NOT_FOUND, "This post was already reviewed.", "该内容已审核。", "Ce message a déjà été examiné."),
    }
}

impl From<Problem> for CommunityError {
    fn from(p: Problem) -> Self {
        match p {
            Problem::TitleEmpty => CommunityError::TitleEmpty,
            Problem::TitleTooLong => CommunityError::TitleTooLong,
            Problem::BodyEmpty => CommunityError::BodyEmpty,
            Problem::BodyTooLong => CommunityError::BodyTooLong,
            Problem::ReasonEmpty => CommunityError::ReasonEmpty,
            Problem::ReasonTooLong => CommunityError::ReasonTooLong,
        }
    }
}

impl From<Problem> for fanloop_platform::ApiError {
    fn from(p: Problem) -> Self {
        CommunityError::from(p).into()
    }
}
