//! Full-text search over threads and posts with tantivy.
//!
//! One analyzer serves Chinese, English and French: jieba segments runs of Chinese characters
//! (search mode, so both 北京大学 and 大学 match), other text is cut into words; then tokens are
//! lower-cased and accents folded, so "Batterie" finds "batterie" and "écran" finds "ecran".
//!
//! All writes go through one writer thread which applies queued changes in batches and commits
//! once per batch (group commit); each caller is answered after the commit that contains its
//! change, so a fan who posts and then searches finds their post.

use std::collections::{HashSet, VecDeque};
use std::path::Path;

use anyhow::Context;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tokio::sync::{mpsc, oneshot};

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
                .set_index_option(IndexRecordOption::WithFreqs),
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

/// Splits text into runs of Han characters, which jieba segments, and everything else, which is cut
/// into words at non-alphanumeric characters.  Jieba alone would break "écran" apart at the
/// accented letter (its word pattern is ASCII), so Latin text never reaches it.
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

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2A6DF}')
}

impl Tokenizer for MixedScriptTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream(&mut self, text: &str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut position = 0;
        let mut chars = text.char_indices().peekable();
        while let Some(&(start, c)) = chars.peek() {
            if is_han(c) {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if !is_han(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                let run = &text[start..end];
                let mut jieba = tantivy_jieba::JiebaTokenizer;
                let mut stream = jieba.token_stream(run);
                while let Some(t) = stream.next() {
                    tokens.push(Token {
                        offset_from: start + t.offset_from,
                        offset_to: start + t.offset_to,
                        position: position + t.position,
                        text: t.text.clone(),
                        position_length: t.position_length,
                    });
                }
                position += run.chars().count();
            } else if c.is_alphanumeric() {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if !c.is_alphanumeric() || is_han(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                tokens.push(Token {
                    offset_from: start,
                    offset_to: end,
                    position,
                    text: text[start..end].to_string(),
                    position_length: 1,
                });
                position += 1;
            } else {
                chars.next();
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

pub enum Change {
    Upsert(IndexDoc),
    Delete(i64),
}

enum Op {
    Apply(Vec<Change>, oneshot::Sender<()>),
    /// Replace everything with the documents arriving on the channel, committed once at the end.
    Rebuild(mpsc::Receiver<Vec<IndexDoc>>, oneshot::Sender<anyhow::Result<u64>>),
}

#[derive(Clone)]
pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    ops: std::sync::mpsc::Sender<Op>,
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
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if needed, and starts the writer thread.
    pub fn open(dir: &Path) -> anyhow::Result<SearchIndex> {
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
        let writer: IndexWriter = index
            .writer(64_000_000)
            .context("opening the search index writer (is another fanloop using this data folder?)")?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let (tx, rx) = std::sync::mpsc::channel();
        let worker_reader: IndexReader = reader.clone();
        std::thread::Builder::new()
            .name("search-writer".into())
            .spawn(move || writer_loop(writer, worker_reader, fields, rx))?;
        Ok(SearchIndex {
            reader,
            fields,
            ops: tx,
        })
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Applies changes; returns once they are committed and visible to searches.
    pub async fn apply(&self, changes: Vec<Change>) -> anyhow::Result<()> {
        let (ack, done) = oneshot::channel();
        self.ops
            .send(Op::Apply(changes, ack))
            .map_err(|_| anyhow::anyhow!("search writer stopped"))?;
        done.await.map_err(|_| anyhow::anyhow!("search writer stopped"))
    }

    /// Replaces the whole index with the store's live posts.
    pub async fn rebuild(&self, db: &fanloop_platform::Db) -> anyhow::Result<u64> {
        let (batches, receiver) = mpsc::channel(4);
        let (ack, done) = oneshot::channel();
        self.ops
            .send(Op::Rebuild(receiver, ack))
            .map_err(|_| anyhow::anyhow!("search writer stopped"))?;
        let mut after = 0;
        loop {
            let docs = crate::store::index_docs_after(db, after, 5_000).await?;
            let Some(last) = docs.last() else { break };
            after = last.post_id;
            if batches.send(docs).await.is_err() {
                break;
            }
        }
        drop(batches);
        done.await.map_err(|_| anyhow::anyhow!("search writer stopped"))?
    }

    /// Terms a query text is made of, as the index tokenizes them (punctuation dropped).
    fn query_terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut seen = HashSet::new();
        let mut terms = Vec::new();
        while let Some(token) = stream.next() {
            if token.text.chars().any(char::is_alphanumeric) && seen.insert(token.text.clone()) {
                terms.push(token.text.clone());
            }
            if terms.len() == 32 {
                break;
            }
        }
        terms
    }

    fn build_query(&self, q: &SearchQuery, terms: &[String], occur: Occur) -> Box<dyn Query> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let in_title: Box<dyn Query> = Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.title, t),
                        IndexRecordOption::WithFreqs,
                    )),
                    2.0,
                ));
                let in_body: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(f.body, t),
                    IndexRecordOption::WithFreqs,
                ));
                let either: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
                    (Occur::Should, in_title),
                    (Occur::Should, in_body),
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

    /// Every term must match (in the title or the body); if nothing does, any term may.
    pub fn search(&self, q: &SearchQuery) -> anyhow::Result<SearchResults> {
        let terms = self.query_terms(&q.text);
        if terms.is_empty() || q.limit == 0 {
            return Ok(SearchResults::default());
        }
        let searcher = self.reader.searcher();
        let mut query = self.build_query(q, &terms, Occur::Must);
        let collector = (TopDocs::with_limit(q.limit).and_offset(q.offset), Count);
        let (mut top, mut total) = searcher.search(&*query, &collector)?;
        if total == 0 && terms.len() > 1 {
            query = self.build_query(q, &terms, Occur::Should);
            (top, total) = searcher.search(&*query, &collector)?;
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
        Ok(SearchResults { total, hits })
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

fn writer_loop(mut writer: IndexWriter, reader: IndexReader, f: Fields, ops: std::sync::mpsc::Receiver<Op>) {
    let commit = |writer: &mut IndexWriter| -> anyhow::Result<()> {
        writer.commit()?;
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
            Op::Rebuild(mut batches, ack) => {
                let result = (|| -> anyhow::Result<u64> {
                    writer.delete_all_documents()?;
                    let mut n = 0;
                    while let Some(batch) = batches.blocking_recv() {
                        for d in &batch {
                            writer.add_document(to_document(&f, d))?;
                        }
                        n += batch.len() as u64;
                    }
                    commit(&mut writer)?;
                    Ok(n)
                })();
                if result.is_err() {
                    let _ = writer.rollback();
                }
                let _ = ack.send(result);
            }
            Op::Apply(changes, ack) => {
                // Group commit: whatever else is already queued goes into the same commit.
                let mut acks = vec![ack];
                let mut pending = vec![changes];
                while acks.len() < 256 {
                    match ops.try_recv() {
                        Ok(Op::Apply(more, ack)) => {
                            pending.push(more);
                            acks.push(ack);
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
                                tracing::error!("indexing post {}: {e}", d.post_id);
                            }
                        }
                        Change::Delete(id) => {
                            writer.delete_term(Term::from_field_u64(f.post_id, id as u64));
                        }
                    }
                }
                if let Err(e) = commit(&mut writer) {
                    tracing::error!("search index commit failed: {e:#}");
                }
                for ack in acks {
                    let _ = ack.send(());
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
        assert_eq!(
            ids(&index, "大学", None),
            vec![1],
            "search-mode segmentation finds sub-words"
        );
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
}
