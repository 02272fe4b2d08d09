//! Partner vetting's errors a person reads: code, HTTP status and message in each language, in
//! one table (see `fanloop_platform::error_table!`), the reasons an imported row is refused
//! included.

use fanloop_platform::error::Arg;
use fanloop_platform::ApiError;

use crate::import::RowError;

fanloop_platform::error_table! {
    pub enum VettingError {
        StaffOnly => ("forbidden", FORBIDDEN, "partner vetting is for staff", "合作方审查仅限工作人员使用。", "La vérification des partenaires est réservée à l’équipe."),
        Slug => ("validation_failed", UNPROCESSABLE_ENTITY, "slug: 2–40 lowercase letters, digits or dashes", "网址标识：2–40 个小写字母、数字或短横线。", "Adresse : 2 à 40 lettres minuscules, chiffres ou tirets."),
        AliasesOfKind => ("validation_failed", UNPROCESSABLE_ENTITY, "at most {max} aliases of each kind", "每类别名最多 {max} 个。", "{max} alias au plus par type."),
        AliasTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "alias longer than 100 characters: {alias}", "别名超过 100 个字符：{alias}。", "Alias de plus de 100 caractères : {alias}."),
        TooManyAliases => ("validation_failed", UNPROCESSABLE_ENTITY, "at most 500 aliases per brand", "每个品牌最多 500 个别名。", "500 alias au plus par marque."),
        Name => ("validation_failed", UNPROCESSABLE_ENTITY, "name: 1–100 characters", "名称：1–100 个字符。", "Nom : 1 à 100 caractères."),
        SlugTaken => ("slug_taken", CONFLICT, "a brand with slug {slug} exists", "网址标识 {slug} 已被其他品牌使用。", "Une marque utilise déjà l’adresse {slug}."),
        EmptyFile => ("validation_failed", UNPROCESSABLE_ENTITY, "the file is empty", "文件是空的。", "Le fichier est vide."),
        FileTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "files are limited to {mib} MiB", "文件不能超过 {mib} MiB。", "Les fichiers sont limités à {mib} Mio."),
        NotUtf8 => ("validation_failed", UNPROCESSABLE_ENTITY, "the file is not UTF-8 text (first bad byte at offset {offset})", "文件不是 UTF-8 文本（第一个无效字节位于偏移量 {offset}）。", "Le fichier n’est pas du texte UTF-8 (premier octet invalide à la position {offset})."),
        NoUsableRows => ("validation_failed", UNPROCESSABLE_ENTITY, "no usable rows. {rows}", "没有可导入的行。{rows}", "Aucune ligne utilisable. {rows}"),
        RowAt => ("validation_failed", UNPROCESSABLE_ENTITY, "line {line}: {problem}", "第 {line} 行：{problem}", "Ligne {line} : {problem}"),
        Decision => ("validation_failed", UNPROCESSABLE_ENTITY, "decision: clear, review or high_risk", "结论须为 clear、review 或 high_risk。", "Décision : clear, review ou high_risk."),
        NoteTooLong => ("validation_failed", UNPROCESSABLE_ENTITY, "note: at most 2,000 characters", "备注最多 2,000 个字符。", "Note : 2 000 caractères au plus."),
        NoteRequired => ("validation_failed", UNPROCESSABLE_ENTITY, "a note is required when the decision differs from the suggested verdict", "结论与建议的判定不同时，必须填写备注。", "Une note est obligatoire quand la décision diffère du verdict suggéré."),
        InvalidUpload => ("bad_request", BAD_REQUEST, "Invalid upload: {error}", "上传无效：{error}。", "Envoi invalide : {error}."),
        UploadFailed => ("bad_request", BAD_REQUEST, "Upload failed: {error}", "上传失败：{error}。", "Échec de l’envoi : {error}."),
        RowNotJson => ("validation_failed", UNPROCESSABLE_ENTITY, "not a JSON object with the expected fields: {error}", "不是包含所需字段的 JSON 对象：{error}。", "Pas un objet JSON avec les champs attendus : {error}."),
        RowLimit => ("validation_failed", UNPROCESSABLE_ENTITY, "more than {max} rows: the rest of the file was not read", "超过 {max} 行：文件其余部分没有读取。", "Plus de {max} lignes : la suite du fichier n’a pas été lue."),
        RowHeader => ("validation_failed", UNPROCESSABLE_ENTITY, "unreadable header row: {error}", "表头行无法读取：{error}。", "Ligne d’en-tête illisible : {error}."),
        RowMissingColumn => ("validation_failed", UNPROCESSABLE_ENTITY, "the header row has no `{column}` column (found: {found})", "表头没有“{column}”列（现有：{found}）。", "La ligne d’en-tête n’a pas de colonne « {column} » (trouvées : {found})."),
        RowCsv => ("validation_failed", UNPROCESSABLE_ENTITY, "unreadable CSV row: {error}", "CSV 行无法读取：{error}。", "Ligne CSV illisible : {error}."),
        RowFieldCount => ("validation_failed", UNPROCESSABLE_ENTITY, "{fields} fields where the header has {columns}", "该行有 {fields} 个字段，而表头有 {columns} 列。", "{fields} champs alors que l’en-tête en a {columns}."),
        RowUnreadable => ("validation_failed", UNPROCESSABLE_ENTITY, "{error}", "该行无法读取：{error}。", "Ligne illisible : {error}."),
        RowMissingHandle => ("validation_failed", UNPROCESSABLE_ENTITY, "missing author handle", "缺少作者账号。", "Identifiant de l’auteur manquant."),
        RowBadHandle => ("validation_failed", UNPROCESSABLE_ENTITY, "author handle is longer than 100 characters or contains control characters", "作者账号超过 100 个字符或含有控制字符。", "L’identifiant de l’auteur dépasse 100 caractères ou contient des caractères de contrôle."),
        RowMissingPlatform => ("validation_failed", UNPROCESSABLE_ENTITY, "missing platform (e.g. weibo, x, youtube)", "缺少平台（如 weibo、x、youtube）。", "Plateforme manquante (par ex. weibo, x, youtube)."),
        RowLongPlatform => ("validation_failed", UNPROCESSABLE_ENTITY, "platform name is longer than 40 characters", "平台名称超过 40 个字符。", "Le nom de la plateforme dépasse 40 caractères."),
        RowMissingText => ("validation_failed", UNPROCESSABLE_ENTITY, "missing text", "缺少正文。", "Texte manquant."),
        RowLongText => ("validation_failed", UNPROCESSABLE_ENTITY, "text is longer than {max} characters", "正文超过 {max} 个字符。", "Le texte dépasse {max} caractères."),
        RowMissingTime => ("validation_failed", UNPROCESSABLE_ENTITY, "missing time", "缺少发布时间。", "Date de publication manquante."),
        RowBadTime => ("validation_failed", UNPROCESSABLE_ENTITY, "unreadable time {value}, or before 2000 or in the future: use RFC 3339 (2024-05-01T12:00:00Z), YYYY-MM-DD [HH:MM[:SS]] or Unix seconds", "时间 {value} 无法识别、早于 2000 年或在未来：请使用 RFC 3339（2024-05-01T12:00:00Z）、YYYY-MM-DD [HH:MM[:SS]] 或 Unix 秒数。", "Date {value} illisible, antérieure à 2000 ou future : utilisez RFC 3339 (2024-05-01T12:00:00Z), AAAA-MM-JJ [HH:MM[:SS]] ou des secondes Unix."),
        RowBadCount => ("validation_failed", UNPROCESSABLE_ENTITY, "{field} must be a whole number ≥ 0, got {value}", "{field}须为 ≥ 0 的整数，实际为 {value}。", "{field} : un nombre entier ≥ 0 est attendu, reçu {value}."),
        RowBadUrl => ("validation_failed", UNPROCESSABLE_ENTITY, "url must be an http(s) address, got {url}", "url 须为 http(s) 地址，实际为 {url}。", "L’url doit être une adresse http(s), reçu {url}."),
    }
}

/// How many refused rows the "no usable rows" message quotes, and how it joins them in each
/// language (a Chinese sentence ends in 。, so it needs no separator).
const QUOTED_ROWS: usize = 5;
/// A file without one usable row, quoting why its first rows were refused:
/// `no usable rows. line 3: missing text; line 4: …` in English, the same in Chinese and French.
/// Each quoted row is written out in each language first, then put in as one value, so nothing a
/// file says is ever read as a placeholder.
pub fn no_usable_rows(errors: &[RowError]) -> ApiError {
    use fanloop_platform::i18n::Lang;
    let quoted = &errors[..errors.len().min(QUOTED_ROWS)];
    let list = |lang: Lang, separator: &str| -> String {
        quoted
            .iter()
            .map(|row| {
                VettingError::RowAt
                    .with_args(vec![
                        ("line", Arg::Text(row.line.to_string())),
                        ("problem", Arg::Text(row.text(lang))),
                    ])
                    .text(lang)
            })
            .collect::<Vec<_>>()
            .join(separator)
    };
    let rows = [list(Lang::En, "; "), list(Lang::Zh, ""), list(Lang::Fr, " ")];
    VettingError::NoUsableRows.with_args(vec![("rows", Arg::Texts(Box::new(rows)))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{parse, Format};
    use fanloop_platform::i18n::Lang;

    /// A value from the file that looks like a placeholder stays text: it is never expanded
    /// (which once let a five-line file grow the message without bound).
    #[test]
    fn a_files_values_are_never_read_as_placeholders() {
        let bomb = "{row1}".repeat(100);
        let line = |n: usize| {
            format!(
                "{{\"handle\":\"a\",\"platform\":\"x\",\"time\":1714564800,\"text\":\"hi\",\"url\":\"{bomb}{n}\"}}\n"
            )
        };
        let file: String = (0..5).map(line).collect();
        let parsed = parse(&file, Format::Jsonl);
        assert_eq!(parsed.errors.len(), 5, "{:?}", parsed.errors);
        let e = no_usable_rows(&parsed.errors);
        for lang in [Lang::En, Lang::Zh, Lang::Fr] {
            let text = e.text(lang);
            assert!(text.len() < 5 * 1_000 + 2_000, "{} bytes", text.len());
            assert!(text.contains("{row1}"), "the value is quoted as it was");
        }
    }

    #[test]
    fn a_file_without_usable_rows_says_why_in_every_language() {
        let parsed = parse(
            "{\"handle\":\"a\",\"platform\":\"x\",\"time\":\"yesterday\",\"text\":\"hi\"}\n\
             {\"handle\":\"a\",\"platform\":\"x\",\"time\":1714564800,\"text\":\"\"}\n",
            Format::Jsonl,
        );
        assert!(parsed.posts.is_empty());
        let e = no_usable_rows(&parsed.errors);
        assert_eq!(e.code, "validation_failed");
        assert!(
            e.message
                .starts_with("no usable rows. line 1: unreadable time \"yesterday\", or before 2000"),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("; line 2: missing text"), "{}", e.message);
        assert!(
            e.text(Lang::Zh)
                .starts_with("没有可导入的行。第 1 行：时间 \"yesterday\" 无法识别"),
            "{}",
            e.text(Lang::Zh)
        );
        assert!(
            e.text(Lang::Zh).ends_with("第 2 行：缺少正文。"),
            "{}",
            e.text(Lang::Zh)
        );
        assert!(
            e.text(Lang::Fr).ends_with("Ligne 2 : Texte manquant."),
            "{}",
            e.text(Lang::Fr)
        );
        assert!(!e.text(Lang::Fr).contains('{'), "{}", e.text(Lang::Fr));
        assert_eq!(no_usable_rows(&[]).message, "no usable rows. ");
    }

    #[test]
    fn a_refused_row_reads_in_chinese_and_french() {
        let parsed = parse(
            "{\"handle\":\"a\",\"platform\":\"x\",\"time\":1714564800,\"text\":\"ok\",\"likes\":-3}\n",
            Format::Jsonl,
        );
        let row = &parsed.errors[0];
        assert_eq!(row.message, "likes must be a whole number ≥ 0, got -3");
        assert_eq!(row.text(Lang::Zh), "点赞数须为 ≥ 0 的整数，实际为 -3。");
        assert_eq!(
            row.text(Lang::Fr),
            "Mentions j’aime : un nombre entier ≥ 0 est attendu, reçu -3."
        );
    }
}
