//! Full-text search over threads and posts with tantivy.
//!
//! One analyzer serves Chinese, English and French:
//! - Chinese is folded to simplified characters (so 電池 finds 电池 and the reverse) and indexed as
//!   single characters and overlapping pairs at consecutive positions: a query of one character
//!   finds it, a longer one is a phrase of pairs, so 夜景模式 finds the posts containing it whatever
//!   jieba would have cut, and 电池 finds 電池續航;
//! - other text is cut into words, each also indexed under its English and French stems (battery
//!   and batteries, écran and écrans), lower-cased and with accents folded ("Batterie" finds
//!   "batterie", "écran" finds "ecran").
//!
//! A query matches the posts that have every word first. When none has them all, the posts with
//! some are returned, and the answer says they are partial matches.
//!
//! All writes go through one writer thread which applies queued changes in batches and commits
//! once per batch (group commit); each caller is answered after the commit that contains its
//! change, so a fan who posts and then searches finds their post.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tokio::sync::{mpsc, oneshot};

use fanloop_platform::text::is_han;

use crate::store::IndexDoc;

const ANALYZER: &str = "fanloop_cjk";

#[derive(Clone, Copy)]
struct Fields {
    post_id: Field,
    thread_id: Field,
    board_id: Field,
    author_id: Field,
    title: Field,
    body: Field,
    created_at: Field,
}

fn schema() -> (Schema, Fields) {
    let mut sb = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        post_id: sb.add_u64_field("post_id", INDEXED | STORED | FAST),
        thread_id: sb.add_u64_field("thread_id", STORED),
        board_id: sb.add_u64_field("board_id", INDEXED),
        author_id: sb.add_u64_field("author_id", INDEXED),
        title: sb.add_text_field("title", text.clone()),
        body: sb.add_text_field("body", text),
        created_at: sb.add_i64_field("created_at", STORED),
    };
    (sb.build(), fields)
}

/// Bumped whenever the schema or the analyzer changes: each version keeps its index in its own
/// folder (`search-index/v2`), built from the store at start-up when it is new.
const INDEX_VERSION: &str = "2";

/// Splits text into runs of Han characters, indexed as characters and pairs of characters (after
/// folding traditional to simplified), and everything else, cut into words at non-alphanumeric
/// characters and indexed with their stems.
#[derive(Clone)]
struct MixedScriptTokenizer;

pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// The text's characters with their byte offsets, Chinese folded to simplified character for
/// character (the offsets stay those of the original, for highlighting).
fn folded_chars(text: &str) -> Vec<(usize, char)> {
    let simplified = fast2s::convert(text);
    if simplified.chars().count() == text.chars().count() {
        text.char_indices()
            .zip(simplified.chars())
            .map(|((at, original), s)| (at, if is_han(original) && is_han(s) { s } else { original }))
            .collect()
    } else {
        text.char_indices().collect()
    }
}

/// A word's forms as indexed: the word, then its English and French stems where they differ
/// (before case and accent folding, which the analyzer applies to all of them).
fn word_forms(word: &str) -> Vec<String> {
    use rust_stemmers::{Algorithm, Stemmer};
    static EN: once_cell::sync::Lazy<Stemmer> = once_cell::sync::Lazy::new(|| Stemmer::create(Algorithm::English));
    static FR: once_cell::sync::Lazy<Stemmer> = once_cell::sync::Lazy::new(|| Stemmer::create(Algorithm::French));
    let lower = word.to_lowercase();
    let mut forms = vec![lower.clone()];
    if lower.chars().count() >= 4 && lower.chars().all(char::is_alphabetic) {
        for stem in [EN.stem(&lower), FR.stem(&lower)] {
            if stem.chars().count() >= 3 && !forms.iter().any(|f| *f == stem) {
                forms.push(stem.into_owned());
            }
        }
    }
    forms
}

/// One piece of text as the index sees it.
enum Piece {
    /// A run of Han characters (simplified) with each one's byte range in the original.
    Han(Vec<(char, usize, usize)>),
    /// A word with its byte range.
    Word(String, usize, usize),
}

fn pieces(text: &str) -> Vec<Piece> {
    let chars = folded_chars(text);
    let end_of = |i: usize| chars.get(i + 1).map(|c| c.0).unwrap_or(text.len());
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if is_han(c) {
            let mut run = Vec::new();
            while i < chars.len() && is_han(chars[i].1) {
                run.push((chars[i].1, chars[i].0, end_of(i)));
                i += 1;
            }
            out.push(Piece::Han(run));
        } else if c.is_alphanumeric() {
            let mut end = start;
            while i < chars.len() && chars[i].1.is_alphanumeric() && !is_han(chars[i].1) {
                end = end_of(i);
                i += 1;
            }
            out.push(Piece::Word(text[start..end].to_string(), start, end));
        } else {
            i += 1;
        }
    }
    out
}

impl Tokenizer for MixedScriptTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream(&mut self, text: &str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut position = 0;
        let mut push = |text: String, from: usize, to: usize, position: usize| {
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position,
                text,
                position_length: 1,
            })
        };
        for piece in pieces(text) {
            match piece {
                Piece::Han(run) => {
                    for (i, (c, from, to)) in run.iter().enumerate() {
                        push(c.to_string(), *from, *to, position + i);
                        if let Some((next, _, next_to)) = run.get(i + 1) {
                            push(format!("{c}{next}"), *from, *next_to, position + i);
                        }
                    }
                    // A gap: a phrase never runs from one run of characters into the next.
                    position += run.len() + 1;
                }
                Piece::Word(word, from, to) => {
                    for form in word_forms(&word) {
                        push(form, from, to, position);
                    }
                    position += 1;
                }
            }
        }
        VecTokenStream { tokens, next: 0 }
    }
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MixedScriptTokenizer)
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// A term as the index holds it (case and accents folded).
fn folded(term: &str) -> String {
    let mut a = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    let mut stream = a.token_stream(term);
    let mut out = String::new();
    while let Some(t) = stream.next() {
        out.push_str(&t.text);
    }
    out
}

/// What a query asks for, one part per word or run of Chinese: every part must match.
#[derive(Debug, Clone, PartialEq)]
enum QueryPart {
    /// A word: any of its forms.
    Word(Vec<String>),
    /// Chinese characters: the exact run, or else every word jieba cuts it into.
    Han { run: Vec<char>, words: Vec<Vec<char>> },
}

fn query_parts(text: &str) -> Vec<QueryPart> {
    static JIEBA: once_cell::sync::Lazy<jieba_rs::Jieba> = once_cell::sync::Lazy::new(jieba_rs::Jieba::new);
    let mut parts = Vec::new();
    for piece in pieces(text) {
        let part = match piece {
            Piece::Word(word, ..) => {
                let mut forms: Vec<String> = word_forms(&word).iter().map(|f| folded(f)).collect();
                forms.dedup();
                QueryPart::Word(forms)
            }
            Piece::Han(run) => {
                let run: Vec<char> = run.iter().map(|(c, ..)| *c).collect();
                let joined: String = run.iter().collect();
                let words: Vec<Vec<char>> = JIEBA
                    .cut(&joined, false)
                    .into_iter()
                    .map(|w| w.chars().collect())
                    .collect();
                QueryPart::Han { run, words }
            }
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
        if parts.len() == 16 {
            break;
        }
    }
    parts
}

/// The terms a text is indexed under, without positions and without repeats: what this
/// module's analyzer gives (Chinese as single characters and overlapping pairs, folded to
/// simplified; other words with their English and French stems; case and accents folded).
/// For stores that keep their own small inverted index in the database, such as the knowledge
/// hub's articles, so every node of a cluster searches the same rows.
pub fn index_terms(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        if seen.insert(t.text.clone()) {
            out.push(t.text.clone());
        }
    }
    out
}

/// A query as groups of [`index_terms`]: a text matches when it holds at least one term of
/// every group. A word is one group (any of its forms); a run of Chinese characters is one
/// group per overlapping pair (so 夜景模式 needs 夜景, 景模 and 模式, wherever jieba would cut
/// it), or the character itself when the run is one character long.
pub fn query_term_groups(text: &str) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut push = |g: Vec<String>| {
        if !g.is_empty() && !groups.contains(&g) {
            groups.push(g);
        }
    };
    for part in query_parts(text) {
        match part {
            QueryPart::Word(forms) => push(forms.into_iter().filter(|f| f.chars().count() <= 60).collect()),
            QueryPart::Han { run, .. } => {
                if run.len() == 1 {
                    push(vec![run[0].to_string()]);
                }
                for pair in run.windows(2) {
                    push(vec![pair.iter().collect()]);
                }
            }
        }
    }
    groups.truncate(32);
    groups
}

pub enum Change {
    Upsert(IndexDoc),
    Delete(i64),
}

/// A place in the store's change log: an entry's number and the time it was written (which
/// tells this log from another one that reuses the numbers, such as a restored database's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    pub seq: i64,
    pub at: i64,
}

impl LogPosition {
    fn payload(self) -> String {
        format!("{}:{}", self.seq, self.at)
    }

    fn parse(payload: &str) -> Option<LogPosition> {
        let (seq, at) = payload.trim().split_once(':')?;
        Some(LogPosition {
            seq: seq.parse().ok()?,
            at: at.parse().ok()?,
        })
    }
}

/// A piece of a rebuild: documents, or the end (without it the rebuild was cut short).
enum Batch {
    Docs(Vec<IndexDoc>),
    End,
}

/// What the writer answers: the commit's error, as text (one error goes to many waiters).
type Ack = oneshot::Sender<Result<(), String>>;

enum Op {
    /// Changes, and the change-log position they bring the index to (if they come from the log).
    Apply(Vec<Change>, Option<LogPosition>, Ack),
    /// Replace everything with the documents arriving on the channel, committed once at the end
    /// with the given change-log position.
    Rebuild(mpsc::Receiver<Batch>, LogPosition, oneshot::Sender<anyhow::Result<u64>>),
}

#[derive(Clone)]
pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    ops: std::sync::mpsc::Sender<Op>,
    /// How far into the store's change log (`search_changes`) the committed index is; `None`
    /// while the index has never followed the log.  Saved in each commit's payload, so it
    /// always describes what is on disk.
    cursor: Arc<Mutex<Option<LogPosition>>>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub board_id: Option<i64>,
    pub author_id: Option<i64>,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub post_id: i64,
    pub thread_id: i64,
    pub score: f32,
    /// HTML-escaped fragment with matches wrapped in `<b>`.
    pub snippet_html: String,
    /// Highlighted title, for opening posts whose title matched.
    pub title_html: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// No post has every word: these have some of them.
    pub partial: bool,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if needed, and starts the writer thread.
    pub fn open(dir: &Path) -> anyhow::Result<SearchIndex> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // Each version of the analyzer has its own folder: a new version starts empty and the
        // start-up check rebuilds it from the store; nothing of another version is touched (an
        // older server may still be using it during an upgrade).
        let versioned = dir.join(format!("v{INDEX_VERSION}"));
        if dir.join("meta.json").is_file() {
            tracing::info!(
                "{} holds a search index of an earlier version; it is no longer used and may be deleted (keep {})",
                dir.display(),
                versioned.display()
            );
        }
        let dir = versioned.as_path();
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)?;
        let index = Index::open_or_create(directory, schema)?;
        Self::start(index, fields)
    }

    /// An index held in memory, for tests.
    pub fn in_memory() -> anyhow::Result<SearchIndex> {
        let (schema, fields) = schema();
        Self::start(Index::create_in_ram(schema), fields)
    }

    fn start(index: Index, fields: Fields) -> anyhow::Result<SearchIndex> {
        index.tokenizers().register(ANALYZER, analyzer());
        let saved = index.load_metas()?.payload;
        let cursor = Arc::new(Mutex::new(saved.as_deref().and_then(LogPosition::parse)));
        let writer: IndexWriter = index
            .writer(64_000_000)
            .context("opening the search index writer (is another fanloop using this data folder?)")?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let (tx, rx) = std::sync::mpsc::channel();
        let worker_reader: IndexReader = reader.clone();
        let worker_cursor = cursor.clone();
        std::thread::Builder::new()
            .name("search-writer".into())
            .spawn(move || writer_loop(writer, worker_reader, fields, worker_cursor, rx))?;
        Ok(SearchIndex {
            reader,
            fields,
            ops: tx,
            cursor,
        })
    }

    /// The change-log position of the committed index, `None` if it never followed the log.
    pub fn cursor(&self) -> Option<LogPosition> {
        *self.cursor.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Applies changes; returns once they are committed and visible to searches.
    pub async fn apply(&self, changes: Vec<Change>) -> anyhow::Result<()> {
        self.apply_at(changes, None).await
    }

    /// Applies changes read from the change log and records `cursor` as the index's position in
    /// it, in the same commit.  An error means nothing of it was committed.
    pub async fn apply_at(&self, changes: Vec<Change>, cursor: Option<LogPosition>) -> anyhow::Result<()> {
        let (ack, done) = oneshot::channel();
        self.ops
            .send(Op::Apply(changes, cursor, ack))
            .map_err(|_| anyhow::anyhow!("search writer stopped"))?;
        done.await
            .map_err(|_| anyhow::anyhow!("search writer stopped"))?
            .map_err(|e| anyhow::anyhow!("search index commit failed: {e}"))
    }

    /// Replaces the whole index with the store's live posts, and sets its change-log position
    /// to where the log stood a safe while before the rebuild began (see
    /// [`crate::store::search_log_floor`]), so the follower re-applies whatever the rebuild
    /// may have missed.
    pub async fn rebuild(&self, db: &fanloop_platform::Db) -> anyhow::Result<u64> {
        let floor = crate::store::search_log_floor(db, crate::search_sync::IN_FLIGHT_MS).await?;
        let (batches, receiver) = mpsc::channel(4);
        let (ack, done) = oneshot::channel();
        self.ops
            .send(Op::Rebuild(receiver, floor, ack))
            .map_err(|_| anyhow::anyhow!("search writer stopped"))?;
        let mut after = 0;
        loop {
            let docs = crate::store::index_docs_after(db, after, 5_000).await?;
            let Some(last) = docs.last() else { break };
            after = last.post_id;
            if batches.send(Batch::Docs(docs)).await.is_err() {
                break;
            }
        }
        // Only a rebuild that read everything ends with this; one cut short (an error above,
        // or this future dropped) is rolled back by the writer.
        let _ = batches.send(Batch::End).await;
        drop(batches);
        done.await.map_err(|_| anyhow::anyhow!("search writer stopped"))?
    }

    /// The query for one part in one field: a word's forms; Chinese as its characters in a row
    /// (one character, or a phrase of overlapping pairs).
    fn part_in_field(&self, part: &QueryPart, field: Field) -> Box<dyn Query> {
        let term = |t: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, t),
                IndexRecordOption::WithFreqsAndPositions,
            ))
        };
        let chars_in_a_row = |chars: &[char]| -> Box<dyn Query> {
            match chars {
                [c] => term(&c.to_string()),
                [a, b] => term(&format!("{a}{b}")),
                _ => Box::new(PhraseQuery::new(
                    chars
                        .windows(2)
                        .map(|w| Term::from_field_text(field, &format!("{}{}", w[0], w[1])))
                        .collect(),
                )),
            }
        };
        match part {
            QueryPart::Word(forms) => Box::new(BooleanQuery::new(
                forms.iter().map(|f| (Occur::Should, term(f))).collect(),
            )),
            QueryPart::Han { run, words } => {
                let whole = chars_in_a_row(run);
                if words.len() < 2 {
                    return whole;
                }
                // The words jieba sees, each somewhere in the post ("小米的手机" for 小米手机).
                let each: Box<dyn Query> = Box::new(BooleanQuery::new(
                    words.iter().map(|w| (Occur::Must, chars_in_a_row(w))).collect(),
                ));
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, Box::new(BoostQuery::new(whole, 1.5)) as Box<dyn Query>),
                    (Occur::Should, each),
                ]))
            }
        }
    }

    fn build_query(&self, q: &SearchQuery, parts: &[QueryPart], occur: Occur) -> Box<dyn Query> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = parts
            .iter()
            .map(|part| {
                let in_title: Box<dyn Query> = Box::new(BoostQuery::new(self.part_in_field(part, f.title), 2.0));
                let either: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
                    (Occur::Should, in_title),
                    (Occur::Should, self.part_in_field(part, f.body)),
                ]));
                (occur, either)
            })
            .collect();
        if occur == Occur::Should {
            // The filters below are Must clauses, so the OR of terms must be one clause of its own.
            clauses = vec![(Occur::Must, Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)];
        }
        if let Some(board) = q.board_id {
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.board_id, board as u64),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if let Some(author) = q.author_id {
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.author_id, author as u64),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Every part must match (in the title or the body). If no post has them all, posts with
    /// some of them are returned and marked `partial`.
    pub fn search(&self, q: &SearchQuery) -> anyhow::Result<SearchResults> {
        let parts = query_parts(&q.text);
        if parts.is_empty() || q.limit == 0 {
            return Ok(SearchResults::default());
        }
        let searcher = self.reader.searcher();
        let mut query = self.build_query(q, &parts, Occur::Must);
        let collector = (TopDocs::with_limit(q.limit).and_offset(q.offset), Count);
        let (mut top, mut total) = searcher.search(&*query, &collector)?;
        let mut partial = false;
        if total == 0 && parts.len() > 1 {
            query = self.build_query(q, &parts, Occur::Should);
            (top, total) = searcher.search(&*query, &collector)?;
            partial = total > 0;
        }
        let mut body_snippets = SnippetGenerator::create(&searcher, &*query, self.fields.body)?;
        body_snippets.set_max_num_chars(180);
        let title_snippets = SnippetGenerator::create(&searcher, &*query, self.fields.title)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let get_u64 = |field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0) as i64;
            let mut snippet_html = body_snippets.snippet_from_doc(&doc).to_html();
            if snippet_html.is_empty() {
                let body = doc.get_first(self.fields.body).and_then(|v| v.as_str()).unwrap_or("");
                snippet_html = fanloop_platform::error::escape_html(&crate::domain::excerpt(body, 180));
            }
            let title = title_snippets.snippet_from_doc(&doc);
            let title_html = (!title.highlighted().is_empty()).then(|| title.to_html());
            hits.push(Hit {
                post_id: get_u64(self.fields.post_id),
                thread_id: get_u64(self.fields.thread_id),
                score,
                snippet_html,
                title_html,
            });
        }
        Ok(SearchResults { total, hits, partial })
    }
}

fn to_document(f: &Fields, d: &IndexDoc) -> TantivyDocument {
    let mut document = doc!(
        f.post_id => d.post_id as u64,
        f.thread_id => d.thread_id as u64,
        f.board_id => d.board_id as u64,
        f.author_id => d.author_id as u64,
        f.body => d.body.clone(),
        f.created_at => d.created_at,
    );
    if let Some(title) = &d.title {
        document.add_text(f.title, title);
    }
    document
}

fn writer_loop(
    mut writer: IndexWriter,
    reader: IndexReader,
    f: Fields,
    cursor: Arc<Mutex<Option<LogPosition>>>,
    ops: std::sync::mpsc::Receiver<Op>,
) {
    // Every commit carries the change-log position (a commit without a payload would forget it).
    let commit = |writer: &mut IndexWriter, at: Option<LogPosition>| -> anyhow::Result<()> {
        let position = at.or(*cursor.lock().unwrap_or_else(|e| e.into_inner()));
        let mut prepared = writer.prepare_commit()?;
        if let Some(p) = position {
            prepared.set_payload(&p.payload());
        }
        prepared.commit()?;
        *cursor.lock().unwrap_or_else(|e| e.into_inner()) = position;
        reader.reload()?;
        Ok(())
    };
    let mut backlog: VecDeque<Op> = VecDeque::new();
    loop {
        let op = match backlog.pop_front() {
            Some(op) => op,
            None => match ops.recv() {
                Ok(op) => op,
                Err(_) => break,
            },
        };
        match op {
            Op::Rebuild(mut batches, position, ack) => {
                let result = (|| -> anyhow::Result<u64> {
                    writer.delete_all_documents()?;
                    let mut n = 0;
                    loop {
                        match batches.blocking_recv() {
                            Some(Batch::Docs(batch)) => {
                                for d in &batch {
                                    writer.add_document(to_document(&f, d))?;
                                }
                                n += batch.len() as u64;
                            }
                            Some(Batch::End) => break,
                            None => anyhow::bail!("the rebuild was cut short"),
                        }
                    }
                    commit(&mut writer, Some(position))?;
                    Ok(n)
                })();
                if result.is_err() {
                    let _ = writer.rollback();
                }
                let _ = ack.send(result);
            }
            Op::Apply(changes, position, ack) => {
                // Group commit: whatever else is already queued goes into the same commit.
                let mut acks = vec![ack];
                let mut pending = vec![changes];
                let mut position = position;
                let mut failed: Option<String> = None;
                while acks.len() < 256 {
                    match ops.try_recv() {
                        Ok(Op::Apply(more, at, ack)) => {
                            pending.push(more);
                            acks.push(ack);
                            position = at.or(position);
                        }
                        Ok(other) => {
                            backlog.push_back(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                for change in pending.into_iter().flatten() {
                    match change {
                        Change::Upsert(d) => {
                            writer.delete_term(Term::from_field_u64(f.post_id, d.post_id as u64));
                            if let Err(e) = writer.add_document(to_document(&f, &d)) {
                                failed.get_or_insert_with(|| format!("indexing post {}: {e}", d.post_id));
                            }
                        }
                        Change::Delete(id) => {
                            writer.delete_term(Term::from_field_u64(f.post_id, id as u64));
                        }
                    }
                }
                // Nothing is half-applied: on any error the batch is rolled back and every
                // waiter is told, so the follower keeps its position and tries again.
                let result = match failed {
                    Some(e) => Err(e),
                    None => commit(&mut writer, position).map_err(|e| format!("{e:#}")),
                };
                if let Err(e) = &result {
                    tracing::error!("search index: {e}");
                    if let Err(e) = writer.rollback() {
                        tracing::error!("search index rollback: {e}");
                    }
                }
                for ack in acks {
                    let _ = ack.send(result.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(post_id: i64, board_id: i64, title: Option<&str>, body: &str) -> IndexDoc {
        IndexDoc {
            post_id,
            thread_id: post_id,
            board_id,
            author_id: 1,
            title: title.map(str::to_string),
            body: body.into(),
            created_at: 0,
        }
    }

    fn ids(index: &SearchIndex, text: &str, board_id: Option<i64>) -> Vec<i64> {
        let q = SearchQuery {
            text: text.into(),
            board_id,
            limit: 10,
            ..Default::default()
        };
        let mut v: Vec<i64> = index.search(&q).unwrap().hits.iter().map(|h| h.post_id).collect();
        v.sort();
        v
    }

    /// A rebuild whose documents stop coming without the end marker (its reader failed) leaves
    /// the index and its position as they were.
    #[tokio::test]
    async fn a_rebuild_cut_short_changes_nothing() {
        let index = SearchIndex::in_memory().unwrap();
        index
            .apply(vec![Change::Upsert(doc(1, 1, Some("camera"), "camera notes"))])
            .await
            .unwrap();
        let (tx, rx) = mpsc::channel(4);
        let (ack, done) = oneshot::channel();
        index
            .ops
            .send(Op::Rebuild(rx, LogPosition { seq: 9, at: 9 }, ack))
            .unwrap();
        tx.send(Batch::Docs(vec![doc(2, 1, None, "lens only")])).await.unwrap();
        drop(tx);
        assert!(done.await.unwrap().is_err());
        assert_eq!(ids(&index, "camera", None), vec![1]);
        assert!(ids(&index, "lens", None).is_empty());
        assert_eq!(index.cursor(), None);
        // The next commit carries nothing of the rebuild: neither its emptying of the index
        // nor its documents.  (The checks above cannot tell: the reader reloads on commit.)
        index
            .apply_at(
                vec![Change::Upsert(doc(3, 1, None, "tripod"))],
                Some(LogPosition { seq: 3, at: 7 }),
            )
            .await
            .unwrap();
        assert_eq!(ids(&index, "camera", None), vec![1]);
        assert!(ids(&index, "lens", None).is_empty());
        assert_eq!(ids(&index, "tripod", None), vec![3]);
        assert_eq!(index.cursor(), Some(LogPosition { seq: 3, at: 7 }));
    }

    #[tokio::test]
    async fn finds_chinese_english_and_french_and_follows_changes() {
        let index = SearchIndex::in_memory().unwrap();
        index
            .apply(vec![
                Change::Upsert(doc(
                    1,
                    1,
                    Some("北京大学的相机测评"),
                    "夜景模式对焦很快，电池续航一般。",
                )),
                Change::Upsert(doc(2, 1, None, "Battery life dropped after the update.")),
                Change::Upsert(doc(3, 2, None, "L'écran chauffe après la mise à jour.")),
            ])
            .await
            .unwrap();
        assert_eq!(ids(&index, "大学", None), vec![1], "a word inside a longer one");
        assert_eq!(ids(&index, "电池续航", None), vec![1]);
        assert_eq!(ids(&index, "BATTERY", None), vec![2], "case-insensitive");
        assert_eq!(ids(&index, "ecran", None), vec![3], "accent-insensitive");
        assert_eq!(ids(&index, "mise à jour", Some(1)), Vec::<i64>::new(), "board filter");
        assert_eq!(
            ids(&index, "，。！", None),
            Vec::<i64>::new(),
            "punctuation alone matches nothing"
        );
        let hits = index
            .search(&SearchQuery {
                text: "夜景".into(),
                limit: 5,
                ..Default::default()
            })
            .unwrap();
        assert!(
            hits.hits[0].snippet_html.contains("<b>夜景</b>"),
            "{}",
            hits.hits[0].snippet_html
        );

        index
            .apply(vec![
                Change::Upsert(doc(2, 1, None, "Charging is slow now.")),
                Change::Delete(3),
            ])
            .await
            .unwrap();
        assert_eq!(
            ids(&index, "battery", None),
            Vec::<i64>::new(),
            "edits replace the old text"
        );
        assert_eq!(ids(&index, "charging", None), vec![2]);
        assert_eq!(ids(&index, "ecran", None), Vec::<i64>::new(), "deletes are gone");
        assert_eq!(index.num_docs(), 2);
    }

    fn search(index: &SearchIndex, text: &str) -> SearchResults {
        index
            .search(&SearchQuery {
                text: text.into(),
                limit: 20,
                ..Default::default()
            })
            .unwrap()
    }

    /// The misses found on text nobody here wrote: traditional and simplified, word forms,
    /// compounds and their parts, single characters, and a partial match passed off as a hit.
    #[tokio::test]
    async fn traditional_forms_compounds_single_characters_and_partial_matches() {
        let index = SearchIndex::in_memory().unwrap();
        index
            .apply(vec![
                Change::Upsert(doc(
                    1,
                    1,
                    Some("電池續航變差"),
                    "更新後電池續航明顯變差，夜景模式也變慢了。",
                )),
                Change::Upsert(doc(2, 1, None, "升级以后夜景拍照很清楚，夜景模式对焦很快。")),
                Change::Upsert(doc(3, 1, None, "The batteries drain fast and the app keeps crashing.")),
                Change::Upsert(doc(4, 1, None, "Les écrans sont trop sombres en extérieur.")),
                Change::Upsert(doc(5, 1, None, "小米粥的做法：小米洗净，加水慢熬。")),
                Change::Upsert(doc(6, 1, None, "我的小米手机今天到了，手感很好。")),
                Change::Upsert(doc(7, 1, None, "这台小米的手机拍照不错。")),
                Change::Upsert(doc(8, 1, None, "Apple pie recipe with fresh apples.")),
            ])
            .await
            .unwrap();
        // Traditional and simplified find each other, inside longer compounds too.
        assert_eq!(ids(&index, "电池", None), vec![1]);
        assert_eq!(ids(&index, "电池续航", None), vec![1]);
        assert_eq!(ids(&index, "續航", None), vec![1]);
        assert_eq!(
            ids(&index, "夜景模式", None),
            vec![1, 2],
            "a compound finds every post containing it"
        );
        assert_eq!(ids(&index, "夜景", None), vec![1, 2]);
        assert_eq!(ids(&index, "粥", None), vec![5], "one character");
        // English and French word forms.
        assert_eq!(ids(&index, "battery", None), vec![3]);
        assert_eq!(ids(&index, "crash", None), vec![3]);
        assert_eq!(ids(&index, "écran", None), vec![4]);
        assert_eq!(ids(&index, "ecrans sombre", None), vec![4]);
        // Every word first: 小米手机 is the phone, not the porridge.
        let r = search(&index, "小米手机");
        let mut found: Vec<i64> = r.hits.iter().map(|h| h.post_id).collect();
        found.sort();
        assert_eq!((found, r.partial), (vec![6, 7], false));
        // No post has every word: the partial matches say so.
        let r = search(&index, "Apple iPhone price");
        assert!(r.partial, "partial matches are labelled");
        assert_eq!(r.hits.iter().map(|h| h.post_id).collect::<Vec<_>>(), vec![8]);
        assert!(!search(&index, "battery").partial);
        // Highlighting keeps the original (traditional) characters.
        let r = search(&index, "电池续航");
        let html = r.hits[0].title_html.clone().unwrap_or_default() + &r.hits[0].snippet_html;
        assert!(html.contains("<b>電池續航</b>"), "{html}");
        // Nothing odd panics or matches everything.
        for q in [
            "",
            "　",
            "\u{0}",
            "🙂🙂",
            "###",
            "的",
            &"長".repeat(500),
            "a",
            "e\u{301}cran",
            "\u{202e}abc",
        ] {
            let _ = search(&index, q);
        }
    }
}
