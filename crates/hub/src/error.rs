//! The hub's errors a person reads: code, HTTP status and message in each language, in one
//! table (see `fanloop_platform::error_table!`).

fanloop_platform::error_table! {
    pub enum HubError {
        StaffOnly => ("forbidden", FORBIDDEN, "segments, series and experts are managed by staff", "人群分类、专题系列和专家由工作人员管理。", "Les segments, séries et experts sont gérés par l’équipe."),
        WriterOnly => ("forbidden", FORBIDDEN, "articles are written by staff and the hub's experts", "文章由工作人员和知识中心的专家撰写。", "Les articles sont écrits par l’équipe et les experts du centre."),
        NotAuthor => ("forbidden", FORBIDDEN, "only the article's author or staff may change it", "只有作者或工作人员可以修改这篇文章。", "Seuls l’auteur de l’article ou l’équipe peuvent le modifier."),
        Key => ("validation_failed", UNPROCESSABLE_ENTITY, "key: 2–40 lowercase letters, digits, '-' or '_'", "标识：2–40 个小写字母、数字、“-”或“_”。", "Identifiant : 2 à 40 lettres minuscules, chiffres, « - » ou « _ »."),
        KeyTaken => ("key_taken", CONFLICT, "{key} is already used", "{key} 已被使用。", "{key} est déjà utilisé."),
        Names => ("validation_failed", UNPROCESSABLE_ENTITY, "name: 1–60 characters, in at least one language", "名称：1–60 个字符，至少填写一种语言。", "Nom : 1 à 60 caractères, dans au moins une langue."),
        Prompt => ("validation_failed", UNPROCESSABLE_ENTITY, "date question: 1–80 characters, in at least one language (e.g. “Due date”)", "日期问题：1–80 个字符，至少填写一种语言（如“预产期”）。", "Question de date : 1 à 80 caractères, dans au moins une langue (ex. « Date prévue »)."),
        Kind => ("validation_failed", UNPROCESSABLE_ENTITY, "kind: “choice” or “stage”", "类型：“choice”（选项）或“stage”（阶段）。", "Type : « choice » ou « stage »."),
        KindChange => ("kind_change", CONFLICT, "a segment keeps its kind: create a new one instead", "人群分类的类型不能更改，请新建一个。", "Un segment garde son type : créez-en un nouveau."),
        Choices => ("validation_failed", UNPROCESSABLE_ENTITY, "a choice segment has 1–50 choices, each with a key and a name", "选项类分类需要 1–50 个选项，每个都有标识和名称。", "Un segment à choix a 1 à 50 choix, chacun avec un identifiant et un nom."),
        ChoiceTwice => ("validation_failed", UNPROCESSABLE_ENTITY, "choice {choice} is listed twice", "选项 {choice} 重复。", "Le choix {choice} figure deux fois."),
        ChoiceDrops => ("validation_failed", UNPROCESSABLE_ENTITY, "choice {choice}: at most 20 drops, each a drop's short name", "选项 {choice}：最多 20 个首发，每个填首发的短名称。", "Choix {choice} : 20 lancements au plus, chacun par son nom court."),
        Unit => ("validation_failed", UNPROCESSABLE_ENTITY, "unit: “week” or “month”", "单位：“week”（周）或“month”（月）。", "Unité : « week » ou « month »."),
        StageRule => ("validation_failed", UNPROCESSABLE_ENTITY, "stages: offset, first and last stage between -1000 and 1000, the first not after the last", "阶段：偏移量、起始和结束阶段须在 -1000 到 1000 之间，且起始不晚于结束。", "Étapes : décalage, première et dernière étape entre -1000 et 1000, la première avant la dernière."),
        NoDimension => ("validation_failed", UNPROCESSABLE_ENTITY, "there is no segment {dimension}", "没有 {dimension} 这个人群分类。", "Il n’y a pas de segment {dimension}."),
        NoChoice => ("validation_failed", UNPROCESSABLE_ENTITY, "{dimension}: there is no choice {choice}", "{dimension}：没有 {choice} 这个选项。", "{dimension} : il n’y a pas de choix {choice}."),
        FactKind => ("validation_failed", UNPROCESSABLE_ENTITY, "{dimension}: give a choice for a choice segment and a date for a stage segment", "{dimension}：选项类请选择选项，阶段类请填写日期。", "{dimension} : un choix pour un segment à choix, une date pour un segment à étapes."),
        FactTwice => ("validation_failed", UNPROCESSABLE_ENTITY, "{dimension} is given twice", "{dimension} 重复填写。", "{dimension} est donné deux fois."),
        Date => ("validation_failed", UNPROCESSABLE_ENTITY, "{dimension}: a date as YYYY-MM-DD", "{dimension}：请按 YYYY-MM-DD 格式填写日期。", "{dimension} : une date au format AAAA-MM-JJ."),
        DateRange => ("validation_failed", UNPROCESSABLE_ENTITY, "{dimension}: a date from 1900-01-01 to {latest}", "{dimension}：日期须在 1900-01-01 到 {latest} 之间。", "{dimension} : une date du 1900-01-01 au {latest}."),
        Lang => ("validation_failed", UNPROCESSABLE_ENTITY, "language: zh, en or fr", "语言：zh、en 或 fr。", "Langue : zh, en ou fr."),
        Title => ("validation_failed", UNPROCESSABLE_ENTITY, "title: 1–120 characters", "标题：1–120 个字符。", "Titre : 1 à 120 caractères."),
        Summary => ("validation_failed", UNPROCESSABLE_ENTITY, "summary: at most 300 characters", "摘要最多 300 个字符。", "Résumé : 300 caractères au plus."),
        Body => ("validation_failed", UNPROCESSABLE_ENTITY, "text: 1–50,000 characters", "正文：1–50,000 个字符。", "Texte : 1 à 50 000 caractères."),
        PublishAt => ("validation_failed", UNPROCESSABLE_ENTITY, "publication time: between 1970 and 2100", "发布时间须在 1970 到 2100 年之间。", "Date de publication : entre 1970 et 2100."),
        Targets => ("validation_failed", UNPROCESSABLE_ENTITY, "at most 20 segments targeted", "最多面向 20 个人群分类。", "20 segments ciblés au plus."),
        TargetTwice => ("validation_failed", UNPROCESSABLE_ENTITY, "{dimension} is targeted twice", "{dimension} 重复设置。", "{dimension} est ciblé deux fois."),
        TargetChoices => ("validation_failed", UNPROCESSABLE_ENTITY, "{dimension}: pick at least one of its choices (and no stage range)", "{dimension}：请至少选择一个选项（不填阶段范围）。", "{dimension} : choisissez au moins un de ses choix (sans plage d’étapes)."),
        TargetStages => ("validation_failed", UNPROCESSABLE_ENTITY, "{dimension}: a stage range within {min}–{max}, “from” not after “to” (and no choices)", "{dimension}：阶段范围须在 {min}–{max} 之内，起始不晚于结束（不选选项）。", "{dimension} : une plage d’étapes entre {min} et {max}, « de » avant « à » (sans choix)."),
        NoSeries => ("validation_failed", UNPROCESSABLE_ENTITY, "there is no series {series}", "没有 {series} 这个系列。", "Il n’y a pas de série {series}."),
        SeriesDimension => ("validation_failed", UNPROCESSABLE_ENTITY, "a series unfolds along a stage segment: {dimension} is not one", "系列须按阶段类分类展开：{dimension} 不是阶段类。", "Une série se déroule selon un segment à étapes : {dimension} n’en est pas un."),
        SeriesStage => ("validation_failed", UNPROCESSABLE_ENTITY, "an article of series {series} targets a stage range of {dimension}", "系列 {series} 的文章须设置 {dimension} 的阶段范围。", "Un article de la série {series} cible une plage d’étapes de {dimension}."),
        SeriesLang => ("validation_failed", UNPROCESSABLE_ENTITY, "an article of series {series} is written in its language ({lang})", "系列 {series} 的文章须使用该系列的语言（{lang}）。", "Un article de la série {series} est écrit dans sa langue ({lang})."),
        SeriesInUse => ("series_in_use", CONFLICT, "series {series} has articles: its language and segment stay (its title and summary may change)", "系列 {series} 已有文章，不能更改语言和人群分类（标题和摘要可以修改）。", "La série {series} a des articles : sa langue et son segment restent (titre et résumé modifiables)."),
        SeriesChanged => ("series_changed", CONFLICT, "the article's series changed its language or segment meanwhile: check the article, then save again", "文章所属系列刚刚更改了语言或人群分类，请检查文章后重新保存。", "La série de l’article vient de changer de langue ou de segment : vérifiez l’article, puis enregistrez à nouveau."),
        ExpertField => ("validation_failed", UNPROCESSABLE_ENTITY, "field of expertise: 1–60 characters", "专业领域：1–60 个字符。", "Domaine d’expertise : 1 à 60 caractères."),
        ExpertBio => ("validation_failed", UNPROCESSABLE_ENTITY, "bio: at most 1000 characters", "简介最多 1000 个字符。", "Présentation : 1 000 caractères au plus."),
        NoMember => ("validation_failed", UNPROCESSABLE_ENTITY, "there is no member {username}", "没有 {username} 这位会员。", "Il n’y a pas de membre {username}."),
        Query => ("validation_failed", UNPROCESSABLE_ENTITY, "search: at most 200 characters", "搜索词最多 200 个字符。", "Recherche : 200 caractères au plus."),
        Page => ("validation_failed", UNPROCESSABLE_ENTITY, "page: from 1 to 1000", "页码须在 1 到 1000 之间。", "Page : de 1 à 1 000."),
        FilterValue => ("validation_failed", UNPROCESSABLE_ENTITY, "filter: {dimension} has no value {value}", "筛选：{dimension} 没有 {value} 这个值。", "Filtre : {dimension} n’a pas de valeur {value}."),
        ArticleNotFound => ("not_found", NOT_FOUND, "there is no such article", "没有这篇文章。", "Cet article n’existe pas."),
        SeriesNotFound => ("not_found", NOT_FOUND, "there is no such series", "没有这个系列。", "Cette série n’existe pas."),
        NotExpert => ("not_found", NOT_FOUND, "{username} is not a hub expert", "{username} 不是知识中心的专家。", "{username} n’est pas expert du centre."),
        NoField => ("validation_failed", UNPROCESSABLE_ENTITY, "no expert answers questions about {field}", "没有专家负责“{field}”方面的问题。", "Aucun expert ne répond aux questions sur {field}."),
        Subject => ("validation_failed", UNPROCESSABLE_ENTITY, "subject: 1–120 characters", "主题：1–120 个字符。", "Sujet : 1 à 120 caractères."),
        Message => ("validation_failed", UNPROCESSABLE_ENTITY, "message: 1–5000 characters", "消息：1–5000 个字符。", "Message : 1 à 5 000 caractères."),
        FaqText => ("validation_failed", UNPROCESSABLE_ENTITY, "FAQ entry: a question of 1–300 characters and an answer of 1–5000", "常见问题：问题 1–300 个字符，回答 1–5000 个字符。", "FAQ : une question de 1 à 300 caractères et une réponse de 1 à 5 000."),
        ConversationNotFound => ("not_found", NOT_FOUND, "there is no such conversation", "没有这个对话。", "Cette conversation n’existe pas."),
        ConversationClosed => ("closed", CONFLICT, "this conversation is closed: ask a new question", "该对话已结束，请提出新问题。", "Cette conversation est close : posez une nouvelle question."),
        TakenByAnother => ("taken", CONFLICT, "another expert answered this question first", "另一位专家已先回答了这个问题。", "Un autre expert a répondu le premier à cette question."),
        NoConsent => ("no_consent", CONFLICT, "the member has not agreed to make this answer public", "提问者未同意公开这个回答。", "Le membre n’a pas accepté que cette réponse soit publique."),
        NotAnswered => ("not_answered", CONFLICT, "this question has no answer yet", "这个问题还没有回答。", "Cette question n’a pas encore de réponse."),
        FaqExists => ("faq_exists", CONFLICT, "this conversation is already in the FAQ", "该对话已收录到常见问题。", "Cette conversation figure déjà dans la FAQ."),
        MemberOnly => ("forbidden", FORBIDDEN, "only the member who asked may do this", "只有提问者可以这样做。", "Seul le membre qui a posé la question peut le faire."),
        ExpertOfConversation => ("forbidden", FORBIDDEN, "only the expert answering this conversation may do this", "只有回答该对话的专家可以这样做。", "Seul l’expert qui répond à cette conversation peut le faire."),
        NoProduct => ("validation_failed", UNPROCESSABLE_ENTITY, "product card: there is no drop {drop}", "商品卡片：没有 {drop} 这个首发。", "Fiche produit : il n’y a pas de lancement {drop}."),
        DimensionNotFound => ("not_found", NOT_FOUND, "there is no such segment", "没有这个人群分类。", "Ce segment n’existe pas."),
    }
}

/// A refused value, and the values its message names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub HubError, pub Vec<(&'static str, String)>);

impl From<HubError> for Problem {
    fn from(e: HubError) -> Self {
        Problem(e, Vec::new())
    }
}

impl HubError {
    /// Whether `e` is this error (by its table row, not by its code string).
    pub fn is(self, e: &fanloop_platform::ApiError) -> bool {
        e.spec.as_ref().is_some_and(|(s, _)| std::ptr::eq(*s, self.spec()))
    }

    pub fn named(self, args: &[(&'static str, &str)]) -> Problem {
        Problem(self, args.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }
}

impl From<Problem> for fanloop_platform::ApiError {
    fn from(p: Problem) -> Self {
        p.0.with(&p.1)
    }
}
