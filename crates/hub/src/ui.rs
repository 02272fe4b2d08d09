//! The hub's templates and UI messages.

use fanloop_platform::i18n::MessageTable;
use fanloop_platform::web::UiBundle;

pub static BUNDLE: UiBundle = UiBundle {
    templates: &[
        ("hub_macros.html", include_str!("../templates/hub_macros.html")),
        ("hub.html", include_str!("../templates/hub.html")),
        ("hub_article.html", include_str!("../templates/hub_article.html")),
        ("hub_series.html", include_str!("../templates/hub_series.html")),
        ("hub_me.html", include_str!("../templates/hub_me.html")),
        ("hub_write.html", include_str!("../templates/hub_write.html")),
        ("hub_manage.html", include_str!("../templates/hub_manage.html")),
        ("hub_ask.html", include_str!("../templates/hub_ask.html")),
        ("hub_question.html", include_str!("../templates/hub_question.html")),
        ("hub_faq.html", include_str!("../templates/hub_faq.html")),
    ],
    messages: MESSAGES,
};

/// (key, English, 简体中文, Français)
pub static MESSAGES: MessageTable = &[
    ("nav.hub", "Guides", "知识中心", "Guides"),
    ("hub.title", "Guides", "知识中心", "Guides"),
    ("hub.weekly.subject", "Your week: {stages}", "你的本周：{stages}", "Votre semaine : {stages}"),
    ("hub.weekly.stage", "This week you are at: {stages}.", "本周你处在：{stages}。", "Cette semaine, vous en êtes à : {stages}."),
    ("hub.weekly.for_you", "Picked for where you are now:", "按你现在的阶段为你挑选：", "Choisis pour là où vous en êtes :"),
    ("hub.weekly.nothing_new", "Nothing new fits this week yet; the guides are still there for you.", "本周暂时没有新的适合文章，知识中心里的内容随时可看。", "Rien de nouveau pour cette semaine ; les guides restent à votre disposition."),
    ("hub.weekly.open", "Open the guides", "打开知识中心", "Ouvrir les guides"),
    ("hub.intro", "Tips and articles from our team and experts, picked for where you are now.", "来自团队和专家的文章与小贴士，按你现在所处的阶段挑选。", "Conseils et articles de l'équipe et des experts, choisis selon où vous en êtes."),
    ("hub.write", "Write an article", "写文章", "Écrire un article"),
    ("hub.manage", "Segments, series and experts", "人群分类、系列与专家", "Segments, séries et experts"),
    ("hub.search", "Search the guides", "搜索文章", "Chercher dans les guides"),
    ("hub.search_hint", "e.g. 睡眠, sleep, sommeil", "例如：睡眠、辅食、洗衣机", "ex. sommeil, lave-linge"),
    ("hub.filter", "For", "适用人群", "Pour"),
    ("hub.filter_any", "Everyone", "不限", "Tout le monde"),
    ("hub.language", "Language", "语言", "Langue"),
    ("hub.lang_mine", "My language", "我的语言", "Ma langue"),
    ("hub.lang_all", "All languages", "所有语言", "Toutes les langues"),
    ("hub.lang.zh", "Chinese", "中文", "Chinois"),
    ("hub.lang.en", "English", "英文", "Anglais"),
    ("hub.lang.fr", "French", "法文", "Français"),
    ("hub.find", "Find", "查找", "Chercher"),
    ("hub.back_for_you", "Back to “for you”", "返回“为你推荐”", "Retour à « pour vous »"),
    ("hub.results", "Articles found", "找到的文章", "Articles trouvés"),
    ("hub.no_results", "No article has all these words for this audience. Try fewer words or another language.", "没有文章同时包含这些词并适用于所选人群。试试减少关键词或换一种语言。", "Aucun article ne contient tous ces mots pour ce public. Essayez moins de mots ou une autre langue."),
    ("hub.for_you", "For you", "为你推荐", "Pour vous"),
    ("hub.based_on", "Picked for", "根据", "Choisis pour"),
    ("hub.tell_us", "Tell the hub a little about you and this page fits your week.", "告诉我们你的情况，这里的内容就会贴合你的每一周。", "Dites-nous où vous en êtes et cette page suivra votre semaine."),
    ("hub.my_situation", "What the hub knows about me", "我的情况", "Ce que le centre sait de moi"),
    ("hub.signin_for_you", "to get articles for your stage and your devices.", "后可获取适合你所处阶段和设备的文章。", "pour recevoir les articles adaptés à votre étape et à vos appareils."),
    ("hub.nothing_yet", "Nothing here yet.", "暂无内容。", "Rien pour l'instant."),
    ("hub.series", "Series", "系列", "Séries"),
    ("hub.experts", "Our experts", "我们的专家", "Nos experts"),
    ("hub.expert", "Expert", "专家", "Expert"),
    ("hub.scheduled", "Scheduled", "定时发布", "Programmé"),
    ("hub.scheduled_for", "Not published yet: it appears on", "尚未发布，将于以下时间发布：", "Pas encore publié : il paraîtra le"),
    ("hub.for_whom", "For whom", "适用人群", "Pour qui"),
    ("hub.updated", "updated", "更新于", "mis à jour le"),
    ("hub.edit", "Edit the article", "编辑文章", "Modifier l'article"),
    ("hub.change", "Edit", "修改", "Modifier"),
    ("hub.series_edit_hint", "Title and summary can always change; the language and segment only while the series has no articles.", "标题和摘要随时可改；语言和人群分类只能在系列还没有文章时修改。", "Le titre et le résumé se modifient toujours ; la langue et le segment seulement tant que la série n’a pas d’article."),
    ("hub.previous", "Previous", "上一篇", "Précédent"),
    ("hub.next", "Next", "下一篇", "Suivant"),
    ("hub.you_are_at", "you are at", "你现在处于", "vous en êtes à"),
    ("hub.now", "now", "当前", "maintenant"),
    ("hub.me_intro", "The hub uses only what you give here to pick articles for you. Nobody else sees it. Leave a field empty to keep it to yourself; a stage moves on by itself as the days pass.", "知识中心只用你在这里填写的信息为你挑选文章，其他人看不到。不想说的可以留空；阶段会随日期自动前进。", "Le centre n'utilise que ce que vous indiquez ici pour choisir vos articles. Personne d'autre ne le voit. Laissez un champ vide pour le garder pour vous ; une étape avance seule avec les jours."),
    ("hub.saved", "Saved. “For you” now follows it.", "已保存，“为你推荐”将据此更新。", "Enregistré. « Pour vous » en tient compte."),
    ("hub.online", "online now", "在线", "en ligne"),
    ("hub.online_n", "{n} online now", "{n} 位在线", "{n} en ligne"),
    ("hub.delete", "Delete this article", "删除这篇文章", "Supprimer cet article"),
    ("hub.delete_hint", "It disappears from the hub, its series, search and the staff figures; its product cards' counts go with it. This cannot be undone.", "文章将从知识中心、系列、搜索和统计中消失，商品卡片的计数也一并删除。此操作无法撤销。", "Il disparaît de l’espace, de sa série, de la recherche et des chiffres ; les comptes de ses fiches produit aussi. C’est définitif."),
    ("hub.delete_confirm", "Delete for good", "确认删除", "Supprimer définitivement"),
    ("hub.deleted", "The article was deleted.", "文章已删除。", "L’article a été supprimé."),
    ("hub.today_you_are", "Today:", "今天：", "Aujourd'hui :"),
    ("hub.out_of_range", "This date gives no stage today: nothing is picked from it.", "按这个日期，今天不在任何阶段内，不会据此推荐。", "Cette date ne donne aucune étape aujourd'hui : rien n'est choisi d'après elle."),
    ("hub.not_said", "— I'd rather not say —", "—— 不填写 ——", "— Je préfère ne pas le dire —"),
    ("hub.no_segments", "No segments are defined yet.", "尚未定义人群分类。", "Aucun segment n'est encore défini."),
    ("hub.save", "Save", "保存", "Enregistrer"),
    ("hub.none_of_these", "None of these (don't use my orders)", "以上都不是（不根据我的订单判断）", "Aucun de ceux-ci (ne pas utiliser mes commandes)"),
    ("hub.from_orders", "From your orders:", "根据你的订单：", "D'après vos commandes :"),
    ("hub.forget_hint", "Erase everything you told the hub.", "删除你告诉知识中心的全部信息。", "Effacer tout ce que vous avez dit au centre."),
    ("hub.forget", "Forget all of it", "全部删除", "Tout oublier"),
    ("hub.publish", "Publish", "发布", "Publier"),
    ("hub.f.slug", "Short name (in the URL)", "短名称（用于网址）", "Nom court (dans l'URL)"),
    ("hub.f.title", "Title", "标题", "Titre"),
    ("hub.f.summary", "Summary (one line)", "摘要（一行）", "Résumé (une ligne)"),
    ("hub.f.body", "Text (Markdown)", "正文（Markdown）", "Texte (Markdown)"),
    ("hub.f.publish_at", "Publish at", "发布时间", "Publier le"),
    ("hub.f.publish_hint", "Empty: now. A time to come schedules it.", "留空即立即发布；填写未来时间则定时发布。", "Vide : maintenant. Une date à venir le programme."),
    ("hub.f.no_series", "— Not in a series —", "—— 不属于系列 ——", "— Hors série —"),
    ("hub.f.targets_hint", "Leave everything empty for an article for everyone. A stage range of one stage (from = to) is one week or month.", "全部留空表示面向所有人。起止相同的阶段范围即为某一周或某个月。", "Laissez tout vide pour un article destiné à tous. Une plage d'une seule étape (de = à) est une semaine ou un mois."),
    ("hub.f.from", "From", "从", "De"),
    ("hub.f.to", "To", "到", "À"),
    ("hub.segments", "Segments", "人群分类", "Segments"),
    ("hub.segments_hint", "What members may tell the hub: a choice (device owned, skill level) or a date a stage is counted from (a due date, a birth date, a purchase date).", "会员可以告诉知识中心的信息：一个选项（拥有的设备、熟练程度），或一个用来计算阶段的日期（预产期、出生日期、购买日期）。", "Ce que les membres peuvent indiquer : un choix (appareil, niveau) ou une date d'où se compte une étape (date prévue, naissance, achat)."),
    ("hub.unit.week", "week", "周", "semaine"),
    ("hub.unit.month", "month", "月", "mois"),
    ("hub.members", "members", "位会员", "membres"),
    ("hub.new_segment", "New segment", "新建人群分类", "Nouveau segment"),
    ("hub.f.key", "Key (letters, digits, - or _)", "标识（小写字母、数字、- 或 _）", "Identifiant (lettres, chiffres, - ou _)"),
    ("hub.f.name", "Name", "名称", "Nom"),
    ("hub.f.kind", "Kind", "类型", "Type"),
    ("hub.kind.choice", "A choice", "选项", "Un choix"),
    ("hub.kind.stage", "A stage from a date", "按日期计算的阶段", "Une étape depuis une date"),
    ("hub.f.choices", "Choices, one per line: key | English | 中文 | Français | drops whose orders give it (optional)", "选项，每行一个：标识 | English | 中文 | Français | 据其订单判定的首发（可选）", "Choix, un par ligne : identifiant | English | 中文 | Français | lancements dont les commandes le donnent (facultatif)"),
    ("hub.f.prompt", "Date asked for", "询问的日期", "Date demandée"),
    ("hub.f.unit", "Counted in", "计算单位", "Compté en"),
    ("hub.f.offset", "Stage on that date (40 for a due date in weeks)", "该日期对应的阶段（按周计算的预产期填 40）", "Étape à cette date (40 pour une date prévue en semaines)"),
    ("hub.f.min", "First stage", "起始阶段", "Première étape"),
    ("hub.f.max", "Last stage", "最后阶段", "Dernière étape"),
    ("hub.create", "Create", "创建", "Créer"),
    ("hub.new_series", "New series", "新建系列", "Nouvelle série"),
    ("hub.f.along", "Unfolds along", "按以下阶段展开", "Se déroule selon"),
    ("hub.dismiss", "No longer an expert", "取消专家身份", "Retirer le statut d'expert"),
    ("hub.f.username", "Member's username", "会员用户名", "Nom d'utilisateur du membre"),
    ("hub.f.field", "Field of expertise", "专业领域", "Domaine d'expertise"),
    ("hub.f.bio", "Bio", "简介", "Présentation"),
    ("hub.appoint", "Make an expert", "设为专家", "Nommer expert"),
    ("hub.ask", "Ask an expert", "问专家", "Demandez à un expert"),
    ("hub.ask_intro", "A private conversation with one of our experts: only you and the expert who answers see it.", "与专家一对一的私密对话：只有你和回答你的专家能看到。", "Une conversation privée avec l'un de nos experts : seuls vous et l'expert qui répond la voyez."),
    ("hub.queue", "Questions in my field", "我负责领域的问题", "Questions de mon domaine"),
    ("hub.queue_empty", "No question is waiting.", "没有待回答的问题。", "Aucune question en attente."),
    ("hub.status.waiting", "Waiting for an expert", "等待专家回答", "En attente d'un expert"),
    ("hub.status.open", "Answered", "已回答", "Répondue"),
    ("hub.status.closed", "Closed", "已结束", "Close"),
    ("hub.topic", "Topic", "问题领域", "Sujet d'expertise"),
    ("hub.subject", "In a few words", "一句话概括", "En quelques mots"),
    ("hub.question", "Your question", "你的问题", "Votre question"),
    ("hub.consent", "The expert may publish the answer in the public FAQ, without my name", "允许专家将回答（不含我的名字）收录到公开的常见问题", "L'expert peut publier la réponse dans la FAQ publique, sans mon nom"),
    ("hub.private_note", "You are told when the expert answers; the conversation stays in your questions.", "专家回答后会通知你；对话会一直保存在“我的提问”中。", "Vous êtes prévenu quand l'expert répond ; la conversation reste dans vos questions."),
    ("hub.send_question", "Send my question", "发送问题", "Envoyer ma question"),
    ("hub.no_experts", "No expert answers questions yet.", "目前还没有专家提供问答。", "Aucun expert ne répond encore aux questions."),
    ("hub.my_questions", "My questions", "我的提问", "Mes questions"),
    ("hub.none_asked", "You have not asked anything yet.", "你还没有提过问题。", "Vous n'avez encore rien demandé."),
    ("hub.wait_unknown", "no estimate yet", "暂无预计时间", "pas encore d'estimation"),
    ("hub.wait_minute", "answer within a minute", "约 1 分钟内回答", "réponse en moins d'une minute"),
    ("hub.wait_minutes", "about {n} min wait", "预计等待约 {n} 分钟", "environ {n} min d'attente"),
    ("hub.wait_hours", "about {n} h wait", "预计等待约 {n} 小时", "environ {n} h d'attente"),
    ("hub.answered_by", "answered by", "回答专家", "répondue par"),
    ("hub.position", "Your question is number {n} in line.", "你的问题排在第 {n} 位。", "Votre question est en position {n}."),
    ("hub.expected_wait", "expected wait about {n} min", "预计等待约 {n} 分钟", "attente prévue environ {n} min"),
    ("hub.answer_take", "Answer (you take this question)", "回答（你将接手这个问题）", "Répondre (vous prenez cette question)"),
    ("hub.reply", "Your message", "你的消息", "Votre message"),
    ("hub.send", "Send", "发送", "Envoyer"),
    ("hub.close", "Close the conversation", "结束对话", "Clore la conversation"),
    ("hub.closed_note", "This conversation is closed. Its transcript stays here.", "对话已结束，记录会保留在这里。", "Cette conversation est close. Sa transcription reste ici."),
    ("hub.consent_given", "You agreed that the answer may appear in the public FAQ without your name.", "你已同意回答（不含你的名字）收录到公开的常见问题。", "Vous avez accepté que la réponse paraisse dans la FAQ publique, sans votre nom."),
    ("hub.consent_not_given", "The answer stays private. You may let the expert publish it in the FAQ, without your name.", "回答仅你可见。你可以允许专家将其（不含你的名字）收录到常见问题。", "La réponse reste privée. Vous pouvez laisser l'expert la publier dans la FAQ, sans votre nom."),
    ("hub.consent_withdraw", "Keep it private (removes it from the FAQ)", "保持私密（从常见问题中移除）", "La garder privée (la retire de la FAQ)"),
    ("hub.consent_give", "Allow it in the FAQ", "允许收录到常见问题", "L'autoriser dans la FAQ"),
    ("hub.publish_faq", "Publish as a FAQ entry", "收录为常见问题", "Publier dans la FAQ"),
    ("hub.faq_hint", "The member agreed. Rewrite the question in general terms and leave out anything personal.", "提问者已同意。请用通用的表述改写问题，删除任何个人信息。", "Le membre a accepté. Reformulez la question en termes généraux, sans rien de personnel."),
    ("hub.answer", "Answer", "回答", "Réponse"),
    ("hub.faq", "Questions answered by our experts", "专家答疑", "Questions répondues par nos experts"),
    ("hub.faq_intro", "Answers members agreed to share.", "提问者同意公开的回答。", "Des réponses que les membres ont accepté de partager."),
    ("hub.response_times", "Time to a first answer", "首次回答用时", "Délai de première réponse"),
    ("hub.response_times_hint", "From the question to the expert's first message, for every answered question: the median and the 90th percentile.", "从提问到专家第一条回复的时间，统计所有已回答的问题：中位数和第 90 百分位。", "De la question au premier message de l'expert, pour chaque question répondue : médiane et 90e centile."),
    ("hub.answered", "Answered", "已回答", "Répondues"),
    ("hub.median", "Median", "中位数", "Médiane"),
    ("hub.p90", "90th percentile", "第 90 百分位", "90e centile"),
    ("hub.all_experts", "All experts", "全部专家", "Tous les experts"),
    ("hub.reach", "Reach and conversions", "阅读与转化", "Audience et conversions"),
    ("hub.reach_hint", "Views by readers (staff and authors not counted). Orders: orders of a drop shown as a product card, placed within 7 days after clicking its card in the article; expired orders do not count.", "阅读量只统计读者（不含员工和作者）。订单：读者在文章中点击商品卡片后 7 天内下的该首发订单，已过期订单不计入。", "Vues des lecteurs (équipe et auteurs non comptés). Commandes : commandes d'un lancement présenté en fiche produit, passées dans les 7 jours après un clic sur la fiche ; les commandes expirées ne comptent pas."),
    ("hub.views", "Views", "阅读", "Vues"),
    ("hub.clicks", "Card clicks", "卡片点击", "Clics sur fiche"),
    ("hub.orders", "Orders", "订单", "Commandes"),
    ("hub.segment_views", "Views by members' segments", "按人群分类的阅读量", "Vues par segment des membres"),
    ("hub.questions_answered", "Questions answered", "已回答的问题", "Questions répondues"),
    ("hub.faq_entries", "FAQ entries", "常见问题条目", "Entrées de FAQ"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message a hub template names exists, in the three languages, and so do the keys
    /// built from values (languages, units, kinds).
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
                if key.ends_with('.') {
                    // A key built from a value: the hub's own, whose values are checked below.
                    assert!(key.starts_with("hub."), "{name}: t('{key}' ~ …) is not a hub key");
                    continue;
                }
                if !key.starts_with("hub.") {
                    continue;
                }
                assert!(has(key), "{name}: {key}");
            }
        }
        for k in ["zh", "en", "fr"] {
            assert!(has(&format!("hub.lang.{k}")));
        }
        for k in ["week", "month"] {
            assert!(has(&format!("hub.unit.{k}")));
        }
        for k in ["choice", "stage"] {
            assert!(has(&format!("hub.kind.{k}")));
        }
        for k in ["waiting", "open", "closed"] {
            assert!(has(&format!("hub.status.{k}")));
        }
        let mut keys: Vec<&str> = MESSAGES.iter().map(|m| m.0).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len(), "a key is listed twice");
    }
}
