//! The feedback loop's errors a person reads: code, HTTP status and message in each language,
//! in one table (see `fanloop_platform::error_table!`).

use fanloop_platform::error::Arg;
use fanloop_platform::ApiError;

use crate::domain::{AttachmentProblem, ReportProblem, Status, TransitionError};

fanloop_platform::error_table! {
    pub enum FeedbackError {
        Kind => ("validation_failed", UNPROCESSABLE_ENTITY, "kind must be `bug` or `suggestion`", "类型须为“问题”或“建议”。", "Le type doit être « bug » ou « suggestion »."),
        Title => ("validation_failed", UNPROCESSABLE_ENTITY, "title: 4–120 characters", "标题：4–120 个字符。", "Titre : 4 à 120 caractères."),
        Description => ("validation_failed", UNPROCESSABLE_ENTITY, "description: 1–5,000 characters", "描述：1–5,000 个字符。", "Description : 1 à 5 000 caractères."),
        BugNeedsSteps => ("validation_failed", UNPROCESSABLE_ENTITY, "a bug report needs steps, expected and actual behaviour", "问题反馈需要填写复现步骤、预期结果和实际结果。", "Un bug demande les étapes, le résultat attendu et le résultat obtenu."),
        TooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "{field} is too long (at most 2,000 characters)", "{field} 太长（最多 2,000 个字符）。", "{field} est trop long (2 000 caractères au plus)."),
        MissingField => ("validation_failed", UNPROCESSABLE_ENTITY, "the field `{field}` is required for this product", "该产品要求填写“{field}”。", "Le champ « {field} » est obligatoire pour ce produit."),
        UnknownField => ("validation_failed", UNPROCESSABLE_ENTITY, "this product has no field `{field}`", "该产品没有“{field}”这一项。", "Ce produit n’a pas de champ « {field} »."),
        TooManyFiles => ("validation_failed", UNPROCESSABLE_ENTITY, "at most {max} attachments", "最多 {max} 个附件。", "{max} pièces jointes au plus."),
        FileTooLarge => ("validation_failed", UNPROCESSABLE_ENTITY, "{file} is larger than 2 MiB", "{file} 超过 2 MiB。", "{file} dépasse 2 Mio."),
        FileType => ("validation_failed", UNPROCESSABLE_ENTITY, "{file}: only PNG, JPEG or WebP images and plain-text logs are accepted", "{file}：只接受 PNG、JPEG、WebP 图片和纯文本日志。", "{file} : seules les images PNG, JPEG ou WebP et les journaux texte sont acceptés."),
        CannotMove => ("invalid_transition", CONFLICT, "cannot move a request from {from} to {to}", "不能把需求从“{from}”改为“{to}”。", "Impossible de passer une demande de « {from} » à « {to} »."),
        BuildRequired => ("invalid_transition", CONFLICT, "in build and shipped need the build", "“开发中”和“已发布”需要选择版本。", "« En cours » et « Livré » demandent la version."),
        ReasonRequired => ("invalid_transition", CONFLICT, "declining needs a reason fans can read", "拒绝时需要写明理由，让粉丝看到。", "Refuser demande une raison lisible par les fans."),
        VersionExists => ("taken", CONFLICT, "this version exists", "该版本号已存在。", "Cette version existe déjà."),
        BadVersion => ("validation_failed", UNPROCESSABLE_ENTITY, "version: 1–40 characters without spaces", "版本号：1–40 个字符，不含空格。", "Version : 1 à 40 caractères sans espace."),
        BadChannel => ("validation_failed", UNPROCESSABLE_ENTITY, "channel must be `beta` or `stable`", "渠道须为 beta 或 stable。", "Le canal doit être « beta » ou « stable »."),
        NotesTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "notes: at most 10,000 characters", "版本说明最多 10,000 个字符。", "Notes : 10 000 caractères au plus."),
        StaffOnly => ("forbidden", FORBIDDEN, "only staff can do this", "仅限工作人员操作。", "Réservé à l’équipe."),
        AdminOnly => ("forbidden", FORBIDDEN, "only administrators can do this", "仅限管理员操作。", "Réservé aux administrateurs."),
        BadProduct => ("validation_failed", UNPROCESSABLE_ENTITY, "slug: 2–40 lowercase letters, digits or dashes; name: 1–80 characters", "网址标识：2–40 个小写字母、数字或短横线；名称：1–80 个字符。", "Adresse : 2 à 40 lettres minuscules, chiffres ou tirets ; nom : 1 à 80 caractères."),
        BadCadence => ("validation_failed", UNPROCESSABLE_ENTITY, "cadence_days: 1–90; release_weekday: 1 (Monday) to 7 (Sunday)", "发布周期：1–90 天；发布日：1（周一）到 7（周日）。", "Cadence : 1 à 90 jours ; jour de sortie : 1 (lundi) à 7 (dimanche)."),
        ProductExists => ("taken", CONFLICT, "a product with this slug exists", "已有使用该网址标识的产品。", "Un produit utilise déjà cette adresse."),
        BadArea => ("validation_failed", UNPROCESSABLE_ENTITY, "slug: 2–40 lowercase letters, digits or dashes; name and team: 1–80 characters", "网址标识：2–40 个小写字母、数字或短横线；名称和团队：1–80 个字符。", "Adresse : 2 à 40 lettres minuscules, chiffres ou tirets ; nom et équipe : 1 à 80 caractères."),
        NameLanguage => ("validation_failed", UNPROCESSABLE_ENTITY, "names are keyed en, zh or fr, not {lang}", "名称的语言只能是 en、zh 或 fr，不能是 {lang}。", "Les noms sont indexés en, zh ou fr, pas {lang}."),
        AreaExists => ("taken", CONFLICT, "this product already has an area with this slug", "该产品已有使用该网址标识的模块。", "Ce produit a déjà un domaine avec cette adresse."),
        BadReleasedAt => ("validation_failed", UNPROCESSABLE_ENTITY, "released_at: a time between 1970 and 2100 (Unix ms)", "发布时间须在 1970 到 2100 年之间（Unix 毫秒）。", "Date de sortie : entre 1970 et 2100 (ms Unix)."),
        BadFormField => ("validation_failed", UNPROCESSABLE_ENTITY, "key: 1–40 lowercase letters, digits or _; label: 1–80 characters", "键名：1–40 个小写字母、数字或下划线；标签：1–80 个字符。", "Clé : 1 à 40 lettres minuscules, chiffres ou _ ; libellé : 1 à 80 caractères."),
        FieldExists => ("taken", CONFLICT, "this product already has this field", "该产品已有这个字段。", "Ce produit a déjà ce champ."),
        DuplicateText => ("validation_failed", UNPROCESSABLE_ENTITY, "text: at most 6,000 characters", "文本最多 6,000 个字符。", "Texte : 6 000 caractères au plus."),
        DuplicateQuery => ("validation_failed", UNPROCESSABLE_ENTITY, "title and description: at most 3,000 characters each", "标题和描述各最多 3,000 个字符。", "Titre et description : 3 000 caractères au plus chacun."),
        UnknownArea => ("validation_failed", UNPROCESSABLE_ENTITY, "unknown area for this product", "该产品没有这个模块。", "Domaine inconnu pour ce produit."),
        UnknownReportBuild => ("validation_failed", UNPROCESSABLE_ENTITY, "unknown build (beta builds are for beta testers)", "没有这个版本（测试版仅对内测用户开放）。", "Version inconnue (les versions bêta sont réservées aux bêta-testeurs)."),
        NoBuild => ("no_build", CONFLICT, "this product has no build yet", "该产品还没有发布任何版本。", "Ce produit n’a pas encore de version."),
        Merged => ("merged", CONFLICT, "merged into request {request}", "已合并到需求 {request}。", "Fusionnée dans la demande {request}."),
        UnknownBuild => ("validation_failed", UNPROCESSABLE_ENTITY, "unknown build", "没有这个版本。", "Version inconnue."),
        ReasonTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "reason: at most 1,000 characters", "理由最多 1,000 个字符。", "Raison : 1 000 caractères au plus."),
        StaleStatus => ("stale_status", CONFLICT, "the status changed meanwhile; reload and try again", "状态刚被其他人修改，请刷新后重试。", "Le statut a changé entre-temps ; rechargez et réessayez."),
        SameRequest => ("same_request", CONFLICT, "a request cannot be merged into itself", "需求不能合并到它自己。", "Une demande ne peut pas être fusionnée avec elle-même."),
        OtherProduct => ("other_product", CONFLICT, "requests of different products cannot be merged", "不同产品的需求不能合并。", "Les demandes de produits différents ne peuvent pas être fusionnées."),
        Comment => ("validation_failed", UNPROCESSABLE_ENTITY, "comment: 1–5,000 characters", "评论：1–5,000 个字符。", "Commentaire : 1 à 5 000 caractères."),
        UnknownTeam => ("validation_failed", UNPROCESSABLE_ENTITY, "unknown team", "没有这个团队。", "Équipe inconnue."),
        AlreadyVoted => ("already_voted", CONFLICT, "one award vote per fan per week", "每位粉丝每周只能投一票。", "Un seul vote par fan et par semaine."),
        BadStatusQuery => ("invalid_query", BAD_REQUEST, "status: new, acknowledged, planned, in_build, shipped or declined", "状态须为 new、acknowledged、planned、in_build、shipped 或 declined。", "Statut : new, acknowledged, planned, in_build, shipped ou declined."),
        BadSort => ("invalid_query", BAD_REQUEST, "sort: votes, reports or recent", "排序须为 votes、reports 或 recent。", "Tri : votes, reports ou recent."),
        StaffRecluster => ("forbidden", FORBIDDEN, "only staff regroup requests", "仅工作人员可以重新归并需求。", "Seule l’équipe peut regrouper les demandes."),
        StaffDashboard => ("forbidden", FORBIDDEN, "the build dashboard is for staff", "版本看板仅限工作人员查看。", "Le tableau de bord des versions est réservé à l’équipe."),
        StaffStatuses => ("forbidden", FORBIDDEN, "only staff change statuses", "仅工作人员可以修改状态。", "Seule l’équipe peut changer les statuts."),
        BadIds => ("validation_failed", UNPROCESSABLE_ENTITY, "ids: 1–200 requests", "一次选择 1–200 条需求。", "Identifiants : 1 à 200 demandes."),
        AdminHonorRules => ("forbidden", FORBIDDEN, "only administrators change honor rules", "仅管理员可以修改荣誉规则。", "Seuls les administrateurs peuvent modifier les règles d’honneur."),
        BadHonorRule => ("validation_failed", UNPROCESSABLE_ENTITY, "target_role must be beta_tester or honorary_developer; thresholds ≥ 0", "目标角色须为 beta_tester 或 honorary_developer；门槛须 ≥ 0。", "Le rôle visé doit être beta_tester ou honorary_developer ; seuils ≥ 0."),
        InvalidForm => ("bad_request", BAD_REQUEST, "The form could not be read (was the upload interrupted?). Try again.", "无法读取表单（上传是否中断了？），请重试。", "Le formulaire est illisible (l’envoi a-t-il été interrompu ?). Réessayez."),
        FormNotUtf8 => ("bad_request", BAD_REQUEST, "Form fields must be UTF-8 text.", "表单字段须为 UTF-8 文本。", "Les champs du formulaire doivent être du texte UTF-8."),
        UnknownStatus => ("bad_request", BAD_REQUEST, "Unknown status.", "未知状态。", "Statut inconnu."),
        NoneSelected => ("bad_request", BAD_REQUEST, "Select at least one request.", "请至少选择一条需求。", "Sélectionnez au moins une demande."),
    }
}

/// A status's name in each language, from the catalog's `fb.status.*`.
fn status_name(s: Status) -> Arg {
    let key = format!("fb.status.{}", s.as_str());
    match crate::ui::MESSAGES.iter().find(|(k, ..)| *k == key) {
        Some((_, en, zh, fr)) => Arg::Words([en, zh, fr]),
        None => Arg::Text(s.as_str().to_string()),
    }
}

impl From<ReportProblem> for ApiError {
    fn from(p: ReportProblem) -> Self {
        match p {
            ReportProblem::Kind => FeedbackError::Kind.into(),
            ReportProblem::Title => FeedbackError::Title.into(),
            ReportProblem::Description => FeedbackError::Description.into(),
            ReportProblem::BugNeedsSteps => FeedbackError::BugNeedsSteps.into(),
            ReportProblem::TooLong(field) => FeedbackError::TooLong.with(&[("field", field.to_string())]),
            ReportProblem::MissingField(k) => FeedbackError::MissingField.with(&[("field", k)]),
            ReportProblem::UnknownField(k) => FeedbackError::UnknownField.with(&[("field", k)]),
        }
    }
}

impl From<AttachmentProblem> for ApiError {
    fn from(p: AttachmentProblem) -> Self {
        match p {
            AttachmentProblem::TooMany => {
                FeedbackError::TooManyFiles.with(&[("max", crate::domain::MAX_ATTACHMENTS.to_string())])
            }
            AttachmentProblem::TooLarge(n) => FeedbackError::FileTooLarge.with(&[("file", n)]),
            AttachmentProblem::Type(n) => FeedbackError::FileType.with(&[("file", n)]),
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowed { from, to } => {
                FeedbackError::CannotMove.with_args(vec![("from", status_name(from)), ("to", status_name(to))])
            }
            TransitionError::BuildRequired => FeedbackError::BuildRequired.into(),
            TransitionError::ReasonRequired => FeedbackError::ReasonRequired.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_bug_report_reads_in_chinese_and_french() {
        let e: ApiError = ReportProblem::BugNeedsSteps.into();
        assert_eq!(e.code, "validation_failed");
        assert_eq!(e.message, "a bug report needs steps, expected and actual behaviour");
        assert!(e.text(fanloop_platform::i18n::Lang::Zh).contains("复现步骤"));
        let e: ApiError = TransitionError::NotAllowed {
            from: Status::Planned,
            to: Status::Shipped,
        }
        .into();
        assert_eq!(e.message, "cannot move a request from Planned to Shipped");
        assert_eq!(
            e.text(fanloop_platform::i18n::Lang::Zh),
            "不能把需求从“已排期”改为“已发布”。"
        );
    }
}
