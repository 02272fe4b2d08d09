//! Finding near-duplicate reports, in Chinese, English and French, with MinHash and LSH.
//!
//! Why this method: it needs no model download (nothing may be fetched at run time), is exact
//! to reason about, and clusters 100,000 reports in seconds on two cores.  Each report becomes a
//! set of features:
//! - Chinese: character bigrams (no segmentation needed, robust to wording changes);
//! - English/French: words of 3+ letters, lower-cased, accents folded, a trailing plural `s`
//!   dropped, stop words removed;
//! - product concepts: a hand-written trilingual glossary maps 电池 / battery / batterie to the
//!   same `#battery` feature, so a Chinese and a French report of the same problem share features
//!   even though they share no characters.
//!
//! The Jaccard similarity of two feature sets is estimated by 128 MinHash values; LSH with 64
//! bands of 2 rows makes a pair at similarity 0.3 collide in at least one band with probability
//! 0.998 (1 − (1 − 0.3²)⁶⁴), so only colliding pairs are compared.  Clustering compares each
//! member of a bucket with at most the 64 members before it, which keeps huge buckets (generic
//! words every report shares) from turning the batch job quadratic.

use std::collections::{HashMap, HashSet};

const HASHES: usize = 128;
const BANDS: usize = 64;
const ROWS: usize = HASHES / BANDS;

/// Reports at or above this estimated similarity are treated as the same problem.
pub const DUPLICATE_THRESHOLD: f64 = 0.25;

/// Quality recorded in BENCHMARKS.md; the test below fails if a change drops below it.
#[cfg(test)]
const PRECISION_FLOOR: f64 = 0.72;
#[cfg(test)]
const RECALL_FLOOR: f64 = 0.40;

/// (concept, terms in any of the three languages).  Terms are matched after normalisation.
const GLOSSARY: &[(&str, &[&str])] = &[
    (
        "battery",
        &["电池", "电量", "续航", "耗电", "battery", "batterie", "autonomie"],
    ),
    (
        "drain",
        &[
            "耗电",
            "掉电",
            "掉得快",
            "drain",
            "drains",
            "draining",
            "vide",
            "decharge",
            "se vide",
        ],
    ),
    ("charge", &["充电", "快充", "charging", "charge", "charger", "recharge"]),
    (
        "camera",
        &["相机", "摄像头", "拍照", "camera", "appareil photo", "photo"],
    ),
    (
        "night",
        &["夜景", "夜间", "晚上", "night", "overnight", "nuit", "nocturne"],
    ),
    ("focus", &["对焦", "focus", "autofocus", "mise au point"]),
    ("blurry", &["模糊", "发糊", "blurry", "blur", "flou", "floue"]),
    (
        "crash",
        &[
            "闪退", "崩溃", "crash", "crashes", "crashing", "plante", "plantage", "crashe",
        ],
    ),
    (
        "freeze",
        &[
            "卡顿", "卡死", "死机", "freeze", "freezes", "lag", "laggy", "stutter", "fige", "saccade", "ralenti",
        ],
    ),
    ("wifi", &["wifi", "wi-fi", "无线网", "无线网络"]),
    ("bluetooth", &["蓝牙", "bluetooth"]),
    (
        "disconnect",
        &[
            "断开",
            "断连",
            "掉线",
            "disconnect",
            "disconnects",
            "drops",
            "deconnecte",
            "deconnexion",
            "coupe",
        ],
    ),
    ("fingerprint", &["指纹", "fingerprint", "empreinte"]),
    ("unlock", &["解锁", "unlock", "deverrouillage", "deverrouiller"]),
    ("screen", &["屏幕", "显示", "screen", "display", "ecran", "affichage"]),
    (
        "flicker",
        &[
            "闪烁",
            "闪屏",
            "flicker",
            "flickers",
            "flickering",
            "scintille",
            "clignote",
        ],
    ),
    ("brightness", &["亮度", "brightness", "luminosite"]),
    (
        "notification",
        &["通知", "推送", "notification", "notifications", "push"],
    ),
    (
        "delay",
        &[
            "延迟",
            "延时",
            "收不到",
            "delay",
            "delayed",
            "late",
            "retard",
            "en retard",
        ],
    ),
    ("keyboard", &["键盘", "输入法", "keyboard", "clavier"]),
    (
        "heat",
        &[
            "发热",
            "发烫",
            "过热",
            "hot",
            "overheat",
            "overheating",
            "heat",
            "chauffe",
            "surchauffe",
        ],
    ),
    ("gps", &["定位", "导航", "gps", "location", "localisation"]),
    (
        "audio",
        &[
            "声音",
            "音量",
            "扬声器",
            "sound",
            "audio",
            "speaker",
            "volume",
            "son",
            "haut-parleur",
        ],
    ),
    ("call", &["通话", "电话", "call", "calls", "appel", "appels"]),
    ("video", &["视频", "录像", "video", "recording", "enregistrement"]),
    ("dark", &["深色", "暗黑", "夜间模式", "dark", "sombre"]),
    ("widget", &["小部件", "插件", "widget", "widgets"]),
    ("nfc", &["nfc", "门禁卡", "公交卡"]),
    ("payment", &["支付", "付款", "payment", "pay", "paiement"]),
    ("storage", &["存储", "内存", "空间", "storage", "memory", "stockage"]),
    (
        "restart",
        &[
            "重启",
            "reboot",
            "reboots",
            "restart",
            "restarts",
            "redemarre",
            "redemarrage",
        ],
    ),
    ("photo_gallery", &["相册", "图库", "gallery", "galerie"]),
    ("portrait", &["人像", "portrait"]),
    ("stabilization", &["防抖", "stabilization", "stabilisation"]),
    (
        "refresh",
        &["刷新率", "120hz", "90hz", "refresh rate", "taux de rafraichissement"],
    ),
    ("animation", &["动画", "animation", "animations"]),
    ("volte", &["volte", "4g", "5g", "信号", "signal", "reseau", "network"]),
    ("alarm", &["闹钟", "alarm", "alarme", "reveil"]),
    ("sleep", &["待机", "息屏", "standby", "idle", "veille"]),
    ("translation", &["翻译", "translation", "traduction", "translate"]),
    ("font", &["字体", "font", "police"]),
    ("sms", &["短信", "sms", "text message", "message"]),
];

const STOP_WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "after",
    "when",
    "this",
    "that",
    "have",
    "has",
    "was",
    "are",
    "but",
    "not",
    "from",
    "since",
    "every",
    "time",
    "very",
    "really",
    "just",
    "also",
    "too",
    "please",
    "phone",
    "still",
    "can",
    "get",
    "gets",
    "got",
    "its",
    "les",
    "des",
    "une",
    "est",
    "pas",
    "pour",
    "avec",
    "dans",
    "depuis",
    "que",
    "qui",
    "sur",
    "mon",
    "mes",
    "tres",
    "plus",
    "quand",
    "apres",
    "fois",
    "aussi",
    "cette",
    "ces",
    "mais",
    "telephone",
    "toujours",
    "elle",
    "ils",
    "nous",
    "vous",
    "sont",
];

/// Lower-cases and removes French/Latin diacritics.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            'œ' => 'o',
            '’' => '\'',
            c => c,
        })
        .collect()
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// How many times a concept counts against one word or bigram (chosen on the labelled set).
const CONCEPT_WEIGHT: usize = 4;

/// The feature set of a report's text.
pub fn features(text: &str) -> HashSet<String> {
    let folded = fold(text);
    let mut out = HashSet::new();
    // Latin words: split on anything that is not a letter or digit.
    let padded = format!(
        " {} ",
        folded.replace(|c: char| !c.is_alphanumeric() && !is_han(c), " ")
    );
    for (concept, terms) in GLOSSARY {
        for term in *terms {
            let hit = if term.chars().any(is_han) {
                folded.contains(term)
            } else {
                padded.contains(&format!(" {term} "))
            };
            if hit {
                // Concepts are what reports in different languages share; repeating them weights
                // them in the Jaccard similarity that MinHash estimates.
                for copy in 0..CONCEPT_WEIGHT {
                    out.insert(format!("#{concept}~{copy}"));
                }
                break;
            }
        }
    }
    let mut han_run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut HashSet<String>| {
        for pair in run.windows(2) {
            out.insert(pair.iter().collect());
        }
        if run.len() == 1 {
            out.insert(run[0].to_string());
        }
        run.clear();
    };
    let mut word = String::new();
    for c in folded.chars().chain(std::iter::once(' ')) {
        if is_han(c) {
            han_run.push(c);
        } else {
            flush(&mut han_run, &mut out);
        }
        if c.is_alphanumeric() && !is_han(c) {
            word.push(c);
        } else if !word.is_empty() {
            let w = std::mem::take(&mut word);
            if w.chars().count() >= 3 && !STOP_WORDS.contains(&w.as_str()) {
                let stem = w.strip_suffix('s').filter(|s| s.len() >= 3).unwrap_or(&w);
                out.insert(stem.to_string());
            }
        }
    }
    out
}

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: a fast, well-distributed 64-bit mix.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn feature_hash(feature: &str) -> u64 {
    // FNV-1a, stable across runs and platforms (signatures are stored).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in feature.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// The fingerprint of a report: a MinHash signature of its feature set, and its concepts.
///
/// Two channels make the similarity: the estimated Jaccard similarity of the full feature sets
/// (strong within a language), and — for reports in different languages, which share no words —
/// the Jaccard similarity of their concept sets, counted only when they share at least two
/// concepts and reach [`CONCEPT_CHANNEL_MIN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub minhash: Vec<u32>,
    /// Sorted concept names, e.g. ["battery", "drain"].
    pub concepts: Vec<String>,
}

/// Concept-set similarity below this does not count (small sets collide easily).
pub const CONCEPT_CHANNEL_MIN: f64 = 0.6;

/// The concepts a text mentions, sorted.
pub fn concepts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = features(text)
        .into_iter()
        .filter_map(|f| {
            f.strip_prefix('#')
                .and_then(|c| c.strip_suffix("~0"))
                .map(str::to_string)
        })
        .collect();
    out.sort();
    out
}

impl Signature {
    pub fn of_features(features: &HashSet<String>) -> Signature {
        let mut mins = vec![u32::MAX; HASHES];
        for f in features {
            let base = feature_hash(f);
            for (i, m) in mins.iter_mut().enumerate() {
                let h = (mix(base ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407)) >> 32) as u32;
                if h < *m {
                    *m = h;
                }
            }
        }
        let mut concepts: Vec<String> = features
            .iter()
            .filter_map(|f| {
                f.strip_prefix('#')
                    .and_then(|c| c.strip_suffix("~0"))
                    .map(str::to_string)
            })
            .collect();
        concepts.sort();
        Signature {
            minhash: mins,
            concepts,
        }
    }

    pub fn of_text(text: &str) -> Signature {
        Self::of_features(&features(text))
    }

    /// Estimated Jaccard similarity of the feature sets.
    pub fn minhash_similarity(&self, other: &Signature) -> f64 {
        let same = self
            .minhash
            .iter()
            .zip(&other.minhash)
            .filter(|(a, b)| a == b && **a != u32::MAX)
            .count();
        same as f64 / HASHES as f64
    }

    /// Jaccard similarity of the concept sets when they share two or more concepts and reach
    /// [`CONCEPT_CHANNEL_MIN`]; otherwise 0.
    pub fn concept_similarity(&self, other: &Signature) -> f64 {
        let shared = self.concepts.iter().filter(|c| other.concepts.contains(c)).count();
        if shared < 2 {
            return 0.0;
        }
        let jaccard = shared as f64 / (self.concepts.len() + other.concepts.len() - shared) as f64;
        if jaccard >= CONCEPT_CHANNEL_MIN {
            jaccard
        } else {
            0.0
        }
    }

    pub fn similarity(&self, other: &Signature) -> f64 {
        self.minhash_similarity(other).max(self.concept_similarity(other))
    }

    /// LSH keys: one per MinHash band, plus one per pair of concepts (two reports can only
    /// reach the concept channel if they share a pair).
    fn band_keys(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        let bands = (0..BANDS).filter_map(move |b| {
            let rows = &self.minhash[b * ROWS..(b + 1) * ROWS];
            if rows.iter().all(|v| *v == u32::MAX) {
                return None; // empty text: never collide
            }
            let mut h = b as u64;
            for v in rows {
                h = mix(h ^ u64::from(*v));
            }
            Some((b, h))
        });
        let pairs = self.concepts.iter().enumerate().flat_map(move |(i, a)| {
            self.concepts[i + 1..]
                .iter()
                .map(move |b| (BANDS, mix(feature_hash(a) ^ feature_hash(b).rotate_left(17))))
        });
        bands.chain(pairs)
    }

    /// Storage form: 1,024 hex digits, then `;` and the comma-separated concepts.
    pub fn to_hex(&self) -> String {
        let mut out: String = self.minhash.iter().map(|v| format!("{v:08x}")).collect();
        out.push(';');
        out.push_str(&self.concepts.join(","));
        out
    }

    pub fn from_hex(stored: &str) -> Option<Signature> {
        let (hex, concepts) = stored.split_once(';').unwrap_or((stored, ""));
        if hex.len() != HASHES * 8 {
            return None;
        }
        let minhash = (0..HASHES)
            .map(|i| u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok())
            .collect::<Option<Vec<_>>>()?;
        let concepts = concepts
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        Some(Signature { minhash, concepts })
    }
}

/// An LSH index of signatures, for "likely duplicates" lookups and batch clustering.
#[derive(Default)]
pub struct LshIndex {
    buckets: HashMap<(usize, u64), Vec<usize>>,
    signatures: Vec<(i64, Signature)>,
}

impl LshIndex {
    pub fn insert(&mut self, id: i64, signature: Signature) {
        let slot = self.signatures.len();
        for key in signature.band_keys() {
            self.buckets.entry(key).or_default().push(slot);
        }
        self.signatures.push((id, signature));
    }

    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// Ids whose estimated similarity is at least `threshold`, most similar first.
    pub fn query(&self, signature: &Signature, threshold: f64) -> Vec<(i64, f64)> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for key in signature.band_keys() {
            for &slot in self.buckets.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(slot) {
                    let (id, other) = &self.signatures[slot];
                    let s = signature.similarity(other);
                    if s >= threshold {
                        out.push((*id, s));
                    }
                }
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Groups every inserted id with its near duplicates, in insertion order: a report joins the
    /// most similar earlier *cluster leader* at or above `threshold`, or leads a new cluster.
    /// Comparing with leaders only (not with every member) is what the submit form does too, and
    /// it stops chains of slightly similar reports from merging unrelated problems.
    /// Returns (id, leader id) for each id in insertion order.
    pub fn cluster(&self, threshold: f64) -> Vec<(i64, i64)> {
        let mut leaders = LshIndex::default();
        let mut out = Vec::with_capacity(self.signatures.len());
        for (id, signature) in &self.signatures {
            match leaders.query(signature, threshold).first() {
                Some(&(leader, _)) => out.push((*id, leader)),
                None => {
                    leaders.insert(*id, signature.clone());
                    out.push((*id, *id));
                }
            }
        }
        out
    }
}

/// Leader clustering without LSH: every report is compared with every leader.  The baseline the
/// benchmark measures LSH against (same answers up to LSH misses, quadratic time).
pub fn cluster_brute_force(items: &[(i64, Signature)], threshold: f64) -> Vec<(i64, i64)> {
    let mut leaders: Vec<&(i64, Signature)> = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let best = leaders
            .iter()
            .map(|(id, sig)| (*id, item.1.similarity(sig)))
            .filter(|(_, s)| *s >= threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        match best {
            Some((leader, _)) => out.push((item.0, leader)),
            None => {
                leaders.push(item);
                out.push((item.0, item.0));
            }
        }
    }
    out
}

/// The labelled set shipped with the crate: `cluster<TAB>lang<TAB>text` (306 reports).
pub const LABELLED_SET: &str = include_str!("../data/labelled_reports.tsv");

pub struct LabelledReport<'a> {
    pub cluster: &'a str,
    pub lang: &'a str,
    pub text: &'a str,
}

pub fn parse_labelled(tsv: &str) -> Vec<LabelledReport<'_>> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            Some(LabelledReport {
                cluster: parts.next()?,
                lang: parts.next()?,
                text: parts.next()?,
            })
        })
        .collect()
}

/// Pairwise precision and recall of a clustering against the labels.
#[derive(Debug, Clone, Copy, Default)]
pub struct PairCounts {
    pub true_pos: u64,
    pub false_pos: u64,
    pub false_neg: u64,
}

impl PairCounts {
    pub fn precision(&self) -> f64 {
        self.true_pos as f64 / (self.true_pos + self.false_pos).max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.true_pos as f64 / (self.true_pos + self.false_neg).max(1) as f64
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

pub struct Evaluation {
    pub all: PairCounts,
    /// Keyed by the sorted language pair, e.g. "en-zh", "zh-zh".
    pub by_language_pair: std::collections::BTreeMap<String, PairCounts>,
}

/// Clusters the labelled reports with the production code path and counts pairs.
pub fn evaluate(reports: &[LabelledReport<'_>], threshold: f64) -> Evaluation {
    let mut index = LshIndex::default();
    for (i, r) in reports.iter().enumerate() {
        index.insert(i as i64, Signature::of_text(r.text));
    }
    let predicted: Vec<i64> = index.cluster(threshold).into_iter().map(|(_, root)| root).collect();
    let mut all = PairCounts::default();
    let mut by_language_pair = std::collections::BTreeMap::new();
    for i in 0..reports.len() {
        for j in i + 1..reports.len() {
            let gold = reports[i].cluster == reports[j].cluster;
            let pred = predicted[i] == predicted[j];
            let mut langs = [reports[i].lang, reports[j].lang];
            langs.sort();
            let entry: &mut PairCounts = by_language_pair.entry(langs.join("-")).or_default();
            for counts in [&mut all, entry] {
                match (gold, pred) {
                    (true, true) => counts.true_pos += 1,
                    (false, true) => counts.false_pos += 1,
                    (true, false) => counts.false_neg += 1,
                    (false, false) => {}
                }
            }
        }
    }
    Evaluation { all, by_language_pair }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_cover_three_languages_and_share_concepts() {
        let zh = features("更新后电池耗电很快");
        let en = features("Battery drains fast after the update");
        let fr = features("La batterie se vide vite depuis la mise à jour");
        for f in ["#battery~0", "#drain~0"] {
            assert!(
                zh.contains(f) && en.contains(f) && fr.contains(f),
                "{f}: {zh:?} {en:?} {fr:?}"
            );
        }
        assert!(zh.contains("电池"), "Chinese bigrams");
        assert!(en.contains("battery") && !en.contains("the"), "stop words dropped");
        assert!(fr.contains("batterie"), "accents folded: {fr:?}");
    }

    #[test]
    fn similar_reports_score_high_and_unrelated_low() {
        let a = Signature::of_text("Camera app crashes when switching to night mode");
        let b = Signature::of_text("The camera app crashes every time I switch to night mode");
        let c = Signature::of_text("Bluetooth headphones disconnect during calls");
        assert!(a.similarity(&b) > 0.4, "{}", a.similarity(&b));
        assert!(a.similarity(&c) < 0.15, "{}", a.similarity(&c));
        assert_eq!(Signature::from_hex(&a.to_hex()), Some(a.clone()));
    }

    #[test]
    fn lsh_finds_and_clusters_duplicates() {
        let mut index = LshIndex::default();
        index.insert(1, Signature::of_text("夜景模式拍照发糊，对焦很慢"));
        index.insert(2, Signature::of_text("夜景模式下拍照模糊，对焦慢"));
        index.insert(3, Signature::of_text("蓝牙耳机通话时断开连接"));
        index.insert(4, Signature::of_text("Night mode photos are blurry and focus is slow"));
        let hits = index.query(&Signature::of_text("夜景拍照发糊"), 0.2);
        assert_eq!(hits.first().map(|h| h.0), Some(1), "{hits:?}");
        let clusters = index.cluster(DUPLICATE_THRESHOLD);
        assert_eq!(clusters[0].1, clusters[1].1, "{clusters:?}");
        assert_ne!(clusters[0].1, clusters[2].1);
        assert_eq!(
            Signature::of_text("").similarity(&Signature::of_text("")),
            0.0,
            "empty texts are not duplicates"
        );
    }

    /// Guards the recorded quality (BENCHMARKS.md): a change that loses precision or recall on
    /// the labelled set fails here.
    #[test]
    fn labelled_set_quality_stays_at_the_recorded_baseline() {
        let reports = parse_labelled(LABELLED_SET);
        assert!(reports.len() >= 300);
        for lang in ["zh", "en", "fr"] {
            assert!(reports.iter().filter(|r| r.lang == lang).count() >= 100, "{lang}");
        }
        let eval = evaluate(&reports, DUPLICATE_THRESHOLD);
        let (p, r) = (eval.all.precision(), eval.all.recall());
        eprintln!("precision {p:.3} recall {r:.3} f1 {:.3}", eval.all.f1());
        for (pair, c) in &eval.by_language_pair {
            eprintln!("  {pair}: precision {:.3} recall {:.3}", c.precision(), c.recall());
        }
        assert!(p >= PRECISION_FLOOR, "precision {p:.3} fell below {PRECISION_FLOOR}");
        assert!(r >= RECALL_FLOOR, "recall {r:.3} fell below {RECALL_FLOOR}");
    }
}
