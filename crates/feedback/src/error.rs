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
