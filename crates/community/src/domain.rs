//! Community rules with no HTTP and no SQL: input limits, markdown rendering and sanitising,
//! mentions, permissions and who gets notified.

use std::collections::BTreeSet;

use fanloop_platform::auth::Role;
use fanloop_platform::notifications::NotificationKind;
use once_cell::sync::Lazy;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use regex::Regex;

pub const TITLE_MAX_CHARS: usize = 120;
pub const BODY_MAX_CHARS: usize = 20_000;
pub const FLAG_REASON_MAX_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    TitleEmpty,
    TitleTooLong,
    BodyEmpty,
    BodyTooLong,
    ReasonEmpty,
    ReasonTooLong,
}

/// An edit shown as one text with what was removed in `<del>` and what was added in `<ins>`
/// (HTML-escaped), compared word by word (each CJK character is a word), so a one-character
/// fix in a Chinese paragraph is marked as that character. Very long texts are compared line by
/// line to keep the page fast.
pub fn diff_html(before: &str, after: &str) -> String {
    use similar::{ChangeTag, TextDiff};
    let mut config = TextDiff::configure();
    config.timeout(std::time::Duration::from_millis(50));
    let diff = if before.len() + after.len() > 40_000 {
        config.diff_lines(before, after)
    } else {
        config.diff_unicode_words(before, after)
    };
    let mut out = String::with_capacity(before.len() + after.len() + 64);
    let mut open: Option<ChangeTag> = None;
    for change in diff.iter_all_changes() {
        let tag = change.tag();
        if open != Some(tag) {
            match open {
                Some(ChangeTag::Delete) => out.push_str("</del>"),
                Some(ChangeTag::Insert) => out.push_str("</ins>"),
                _ => {}
            }
            match tag {
                ChangeTag::Delete => out.push_str("<del>"),
                ChangeTag::Insert => out.push_str("<ins>"),
                ChangeTag::Equal => {}
            }
            open = Some(tag);
        }
        out.push_str(&fanloop_platform::error::escape_html(change.value()));
    }
    match open {
        Some(ChangeTag::Delete) => out.push_str("</del>"),
        Some(ChangeTag::Insert) => out.push_str("</ins>"),
        _ => {}
    }
    out
}

fn bounded(text: &str, max: usize, empty: Problem, long: Problem) -> Result<String, Problem> {
    // Control characters other than line breaks and tabs have no business in a post; a lone
    // `\r` is a line break, not nothing.
    let cleaned = fanloop_platform::text::multiline(text);
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return Err(empty);
    }
    if trimmed.chars().count() > max {
        return Err(long);
    }
    Ok(trimmed.to_string())
}

pub fn validate_title(title: &str) -> Result<String, Problem> {
    bounded(
        &fanloop_platform::text::single_line(title),
        TITLE_MAX_CHARS,
        Problem::TitleEmpty,
        Problem::TitleTooLong,
    )
}

pub fn validate_body(body: &str) -> Result<String, Problem> {
    bounded(body, BODY_MAX_CHARS, Problem::BodyEmpty, Problem::BodyTooLong)
}

pub fn validate_flag_reason(reason: &str) -> Result<String, Problem> {
    bounded(
        reason,
        FLAG_REASON_MAX_CHARS,
        Problem::ReasonEmpty,
        Problem::ReasonTooLong,
    )
}

/// `@name` where name follows the sign-up rules; the `@` must not follow a word character, so
/// e-mail addresses are not mentions.
#[allow(clippy::expect_used)] // a constant pattern, checked by the mention tests
static MENTION: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?:^|[^\w@])@([\p{L}\p{N}_.\-]{2,32})").expect("mention regex"));

/// Distinct mentioned usernames in order of appearance (at most 10, to stop notification spam).
pub fn extract_mentions(body: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for cap in MENTION.captures_iter(&strip_code(body)) {
        let name = cap[1].trim_end_matches(['.', '-']).to_string();
        if name.chars().count() >= 2 && seen.insert(name.to_lowercase()) {
            out.push(name);
            if out.len() == 10 {
                break;
            }
        }
    }
    out
}

/// The text of a post outside code spans and blocks (mentions inside code are not mentions).
fn strip_code(markdown: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(t) if !in_code => out.push_str(&t),
            // Every block ends a line: a list item, a heading or a quote glued to the next
            // text ("3.3.0" + "@camera_lead_li") would hide the mention behind a word character.
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph | TagEnd::Item | TagEnd::Heading(_) | TagEnd::BlockQuote(_) | TagEnd::TableCell,
            ) => out.push('\n'),
            Event::Code(_) => out.push(' '),
            _ => {}
        }
    }
    out
}

/// Plain text of a post for search and excerpts: markdown syntax removed, code kept.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock) => out.push('\n'),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// First `max` characters of the plain text, cut on a character boundary.
pub fn excerpt(markdown: &str, max: usize) -> String {
    let text = plain_text(markdown).replace('\n', " ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

static SANITIZER: Lazy<ammonia::Builder<'static>> = Lazy::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("nofollow noopener ugc"));
    b
});

/// Markdown to safe HTML: no script, no event handler, no `javascript:` URL survives, because
/// everything the renderer produced goes through an allow-list sanitiser afterwards.
pub fn render_markdown(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS);
    let mut in_code = false;
    let mut events = Vec::new();
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => {
                in_code = true;
                events.push(event);
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                events.push(event);
            }
            Event::Text(text) if !in_code && text.contains('@') => link_mentions(&text, &mut events),
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    SANITIZER.clean(&html).to_string()
}

fn link_mentions(text: &str, events: &mut Vec<Event<'_>>) {
    let mut last = 0;
    for cap in MENTION.captures_iter(text) {
        let Some(m) = cap.get(1) else { continue };
        let name = m.as_str().trim_end_matches(['.', '-']);
        let at = m.start() - 1;
        events.push(Event::Text(CowStr::from(text[last..at].to_string())));
        let escaped = fanloop_platform::error::escape_html(name);
        let href = percent_encode(name);
        events.push(Event::InlineHtml(CowStr::from(format!(
            "<a href=\"/u/{href}\">@{escaped}</a>"
        ))));
        last = m.start() + name.len();
    }
    events.push(Event::Text(CowStr::from(text[last..].to_string())));
}

/// Percent-encodes everything but unreserved ASCII, for usernames in URL paths.
pub fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a member may do to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostContext {
    pub author_id: i64,
    pub thread_locked: bool,
    pub deleted: bool,
}

pub fn can_edit(actor_id: i64, role: Role, post: PostContext) -> bool {
    !post.deleted && (role.can_moderate() || (actor_id == post.author_id && !post.thread_locked))
}

pub fn can_delete(actor_id: i64, role: Role, post: PostContext) -> bool {
    !post.deleted && (role.can_moderate() || actor_id == post.author_id)
}

/// A post quoted in a reply: each line behind `> `, then who wrote it.
pub fn quote(author: &str, body: &str) -> String {
    let mut out: String = body
        .trim()
        .lines()
        .map(|line| {
            if line.is_empty() {
                ">".to_string()
            } else {
                format!("> {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.push_str(&format!("\n> — @{author}\n\n"));
    out
}

/// What an account may post, in the spirit of Discourse's trust levels: a new fan's posts per
/// day, links and images per post are limited and their first posts with links wait for a
/// moderator; the limits loosen once the account has some history, and lift for beta testers,
/// honorary developers and staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostingLimits {
    pub posts_per_day: i64,
    pub links_per_post: usize,
    pub images_per_post: usize,
    /// A post with a link is held for review.
    pub hold_links: bool,
}

/// Posts an account needs, and hours since sign-up, before it stops being new.
pub const NEW_ACCOUNT_POSTS: i64 = 3;
pub const NEW_ACCOUNT_HOURS: i64 = 24;

pub fn posting_limits(role: Role, account_age_ms: i64, published_posts: i64) -> Option<PostingLimits> {
    if role.honor_rank() != 1 {
        return None; // beta testers, honorary developers, staff (rank 0)
    }
    let new = published_posts < NEW_ACCOUNT_POSTS || account_age_ms < NEW_ACCOUNT_HOURS * 3_600_000;
    Some(if new {
        PostingLimits {
            posts_per_day: 10,
            links_per_post: 2,
            images_per_post: 1,
            hold_links: true,
        }
    } else {
        PostingLimits {
            posts_per_day: 50,
            links_per_post: 10,
            images_per_post: 10,
            hold_links: false,
        }
    })
}

/// Links and images in a post: links to other sites counted on its rendered (sanitised) HTML
/// (an `@mention` links to a profile here and does not count) and as bare addresses in its
/// text (`https://…`, `www.…`), whichever is more; images on the HTML.
pub fn links_and_images(markdown: &str, html: &str) -> (usize, usize) {
    #[allow(clippy::expect_used)] // a constant pattern, checked by the limits tests
    static BARE: Lazy<Regex> = Lazy::new(|| Regex::new(r"(?i)https?://|www\.").expect("link regex"));
    let anchors = ["href=\"http:", "href=\"https:", "href=\"mailto:", "href=\"//"]
        .iter()
        .map(|h| html.matches(h).count())
        .sum::<usize>();
    let bare = BARE.find_iter(markdown).count();
    (anchors.max(bare), html.matches("<img ").count())
}

/// Locked threads accept replies from staff only (an official closing answer is common).
pub fn can_reply(role: Role, thread_locked: bool) -> bool {
    !thread_locked || role.is_staff()
}

/// Who hears about a new reply.  Each person is told once, by the most specific reason:
/// a mention beats a reply notice; a staff reply to your thread is a "staff answer".
pub fn plan_reply_notifications(
    thread_author_id: i64,
    replier_id: i64,
    replier_role: Role,
    mentioned_ids: &[i64],
) -> Vec<(i64, NotificationKind)> {
    let mut out: Vec<(i64, NotificationKind)> = Vec::new();
    for &id in mentioned_ids {
        if id != replier_id && !out.iter().any(|(u, _)| *u == id) {
            out.push((id, NotificationKind::Mention));
        }
    }
    if thread_author_id != replier_id && !out.iter().any(|(u, _)| *u == thread_author_id) {
        let kind = if replier_role.is_staff() {
            NotificationKind::StaffAnswer
        } else {
            NotificationKind::Reply
        };
        out.push((thread_author_id, kind));
    }
    out
}

/// Board slugs appear in URLs: lowercase ASCII letters, digits and dashes.
pub fn validate_slug(slug: &str) -> bool {
    (2..=40).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_images_are_counted_however_written() {
        let count = |md: &str| links_and_images(md, &render_markdown(md));
        assert_eq!(count("@admin please look, @小米粒"), (0, 0), "mentions are not links");
        assert_eq!(
            count("[a](https://a.example) and https://b.example and www.c.example"),
            (3, 0)
        );
        assert_eq!(count("![x](https://a.example/1.png)"), (1, 1));
        assert_eq!(count("[bad](javascript:alert(1))"), (0, 0));
        assert_eq!(count("<a href=\"https://a.example\">raw</a>"), (1, 0));
        assert_eq!(count("no links. 3.3 build"), (0, 0));
        assert_eq!(count(""), (0, 0));
    }

    #[test]
    fn limits_lift_with_trust() {
        let day = 86_400_000;
        let new = posting_limits(Role::Fan, 3_600_000, 0).unwrap();
        assert!(new.hold_links && new.posts_per_day == 10 && new.links_per_post == 2);
        let settled = posting_limits(Role::Fan, 3 * day, 10).unwrap();
        assert!(!settled.hold_links && settled.posts_per_day > new.posts_per_day);
        assert_eq!(posting_limits(Role::Fan, 3 * day, 1), Some(new), "too few posts yet");
        assert_eq!(posting_limits(Role::BetaTester, 0, 0), None);
        assert_eq!(posting_limits(Role::Staff, 0, 0), None);
    }

    #[test]
    fn an_edit_is_marked_word_by_word_and_escaped() {
        assert_eq!(diff_html("夜景有噪点", "夜景没有噪点"), "夜景<ins>没</ins>有噪点");
        assert_eq!(
            diff_html("the night shot is noisy", "the night shot is clean"),
            "the night shot is <del>noisy</del><ins>clean</ins>"
        );
        assert_eq!(diff_html("<b>", "<i>"), "&lt;<del>b</del><ins>i</ins>&gt;");
        assert_eq!(diff_html("same", "same"), "same");
        assert_eq!(diff_html("", "new"), "<ins>new</ins>");
        // Nothing panics on odd text, and a huge one still comes back.
        for (a, b) in [("\u{0}\u{1f}", "🙂\r\n"), ("臺灣繁體", "台湾简体"), ("\n\n\n", "")] {
            diff_html(a, b);
        }
        let big = "很长的一段文字。\n".repeat(4000);
        assert!(diff_html(&big, &format!("{big}尾巴")).ends_with("<ins>尾巴</ins>"));
    }

    #[test]
    fn sanitiser_strips_every_script_vector() {
        let hostile = [
            "<script>alert(1)</script>hello",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg onload=alert(1)>",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "[x](JaVaScRiPt:alert(1))",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
            "![x](javascript:alert(1))",
        ];
        for input in hostile {
            let html = render_markdown(input).to_lowercase();
            assert!(!html.contains("<script"), "{input} -> {html}");
            assert!(
                !html.contains("onerror") && !html.contains("onload"),
                "{input} -> {html}"
            );
            assert!(!html.contains("javascript:"), "{input} -> {html}");
            assert!(
                !html.contains("<iframe") && !html.contains("style="),
                "{input} -> {html}"
            );
        }
    }

    #[test]
    fn markdown_renders_common_formatting() {
        let html = render_markdown("**电池** _续航_\n\n- a\n- b\n\n`code`\n\n[link](https://example.com)");
        assert!(html.contains("<strong>电池</strong>"));
        assert!(html.contains("<em>续航</em>"));
        assert!(html.contains("<li>a</li>"));
        assert!(html.contains("<code>code</code>"));
        assert!(html.contains("href=\"https://example.com\""));
        assert!(html.contains("rel=\"nofollow noopener ugc\""));
    }

    #[test]
    fn mentions_are_found_and_linked_but_not_in_code_or_emails() {
        let body = "Thanks @alice and @小米粉丝! cc @alice. mail me at bob@example.com\n\n```\n@notme\n```";
        assert_eq!(
            extract_mentions(body),
            vec!["alice".to_string(), "小米粉丝".to_string()]
        );
        let html = render_markdown(body);
        assert!(html.contains("<a href=\"/u/alice\""), "{html}");
        assert!(html.contains("@小米粉丝</a>"), "{html}");
        assert!(!html.contains("/u/notme"), "{html}");
        assert!(!html.contains("/u/example.com"), "{html}");
    }

    #[test]
    fn a_mention_right_after_a_list_or_heading_is_found() {
        let body = "Steps:\n\n- open the camera\n- update to 3.3.0\n\n@camera_lead_li please look";
        assert_eq!(extract_mentions(body), vec!["camera_lead_li".to_string()]);
        assert_eq!(
            extract_mentions("- 3.3.0\n- @battery_emma"),
            vec!["battery_emma".to_string()]
        );
        let body = "# 3.3.0\n@pm_zhang 看一下\n\n> quoted 2.0\n\n@os_lucas";
        assert_eq!(
            extract_mentions(body),
            vec!["pm_zhang".to_string(), "os_lucas".to_string()]
        );
    }

    #[test]
    fn validation_limits() {
        assert_eq!(validate_title("   "), Err(Problem::TitleEmpty));
        assert_eq!(validate_title(&"长".repeat(121)), Err(Problem::TitleTooLong));
        assert_eq!(validate_title(&"长".repeat(120)).map(|t| t.chars().count()), Ok(120));
        assert_eq!(validate_title(" a\nb "), Ok("a b".to_string()));
        assert_eq!(validate_body("\u{0}\u{7}"), Err(Problem::BodyEmpty));
        assert_eq!(
            validate_body(&"x".repeat(BODY_MAX_CHARS + 1)),
            Err(Problem::BodyTooLong)
        );
        assert_eq!(validate_body("line1\r\nline2"), Ok("line1\nline2".to_string()));
        // Regression: a lone \r was deleted and joined two words.
        assert_eq!(validate_body("word\rnext"), Ok("word\nnext".to_string()));
        assert_eq!(validate_title("word\rnext"), Ok("word next".to_string()));
    }

    #[test]
    fn permissions() {
        let post = PostContext {
            author_id: 7,
            thread_locked: false,
            deleted: false,
        };
        assert!(can_edit(7, Role::Fan, post));
        assert!(!can_edit(8, Role::Fan, post));
        assert!(!can_edit(8, Role::Staff, post), "staff answer; moderators moderate");
        assert!(can_edit(8, Role::Moderator, post));
        let locked = PostContext {
            thread_locked: true,
            ..post
        };
        assert!(!can_edit(7, Role::Fan, locked));
        assert!(can_delete(7, Role::Fan, locked));
        assert!(!can_delete(7, Role::Fan, PostContext { deleted: true, ..post }));
        assert!(can_reply(Role::Fan, false) && !can_reply(Role::Fan, true) && can_reply(Role::Staff, true));
    }

    #[test]
    fn reply_notifications_tell_each_person_once() {
        use NotificationKind::*;
        assert_eq!(plan_reply_notifications(1, 2, Role::Fan, &[]), vec![(1, Reply)]);
        assert_eq!(plan_reply_notifications(1, 2, Role::Staff, &[]), vec![(1, StaffAnswer)]);
        assert_eq!(plan_reply_notifications(1, 1, Role::Fan, &[]), vec![]);
        assert_eq!(
            plan_reply_notifications(1, 2, Role::Fan, &[1, 3, 3, 2]),
            vec![(1, Mention), (3, Mention)]
        );
    }

    #[test]
    fn plain_text_and_excerpts() {
        assert_eq!(plain_text("# 标题\n\n**粗体** and `x`"), "标题\n粗体 and x");
        assert_eq!(excerpt("一二三四五六", 3), "一二三…");
        assert!(validate_slug("aurora-x2") && !validate_slug("Bad Slug") && !validate_slug("-x"));
    }
}

/// Text nobody on the team wrote: nothing a fan types may panic the markdown and mention code.
#[cfg(test)]
mod fuzz {
    use super::*;

    const TYPED: &str = "(\\PC|[\\r\\n\\t\\u{0}\\u{7f}\\u{85}\\u{200b}\\u{feff}!?.。！？…#＃@*_`>\\[\\]()<|~-]|[A-Za-z]+|\\n\\n|    ){0,80}";

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        #[test]
        fn markdown_and_mentions_never_panic(text in TYPED) {
            let html = render_markdown(&text);
            proptest::prop_assert!(!html.contains("<script"));
            let _ = plain_text(&text);
            let _ = excerpt(&text, 40);
            proptest::prop_assert!(extract_mentions(&text).len() <= 10);
            let _ = validate_title(&text);
            let _ = validate_body(&text);
            let _ = validate_flag_reason(&text);
            let _ = percent_encode(&text);
        }
    }
}
