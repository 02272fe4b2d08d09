//! `fanloop-bench read`: the read path (thread pages and search) over real HTTP on loopback,
//! against a generated community, with `/healthz` measured in the same run as the baseline.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fanloop_community::{demo, store};
use fanloop_platform::accounts;
use fanloop_platform::auth::{self, Role};
use rand::{Rng, SeedableRng};

#[derive(clap::Args, Debug, Clone)]
pub struct ReadBenchArgs {
    /// Posts in the generated community (about 20 per thread).
    #[arg(long, default_value_t = 1_000_000)]
    pub posts: usize,
    /// Requests per scenario.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Data folder; reused if it already holds a generated community of the same size.
    #[arg(long, default_value = "target/bench-read-data")]
    pub data: PathBuf,
}

const POSTS_PER_THREAD: usize = 20;

async fn prepare(args: &ReadBenchArgs) -> anyhow::Result<i64> {
    let config = fanloop::Config::sqlite(args.data.clone());
    let db = fanloop::open_db(&config).await?;
    let existing = store::live_post_count(&db).await?;
    if existing as usize >= args.posts {
        println!("reusing {existing} posts in {}", args.data.display());
    } else {
        anyhow::ensure!(
            existing == 0,
            "{} holds a different community; remove it first",
            args.data.display()
        );
        let started = Instant::now();
        let hash = auth::hash_password("bench-password")?;
        let mut authors = Vec::new();
        for i in 0..200 {
            let u = accounts::create_user(
                &db,
                &format!("bench_user_{i}"),
                &format!("u{i}@bench.invalid"),
                &hash,
                Role::Fan,
                None,
                None,
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            authors.push(u.id);
        }
        let mut boards = Vec::new();
        for (pos, (slug, name, description)) in demo::BOARDS.iter().enumerate() {
            boards.push(
                store::create_board(&db, slug, name, description, pos as i64)
                    .await?
                    .map(|b| b.id)
                    .unwrap_or_default(),
            );
        }
        let threads = args.posts / POSTS_PER_THREAD;
        let chunk = 500;
        let start_ms = fanloop_platform::db::now_ms() - 400 * 86_400_000;
        for (n, first) in (0..threads).step_by(chunk).enumerate() {
            let count = chunk.min(threads - first);
            let spec = demo::ThreadGen {
                seed: n as u64,
                count,
                board_ids: &boards,
                french_board: Some(boards[4]),
                author_ids: &authors,
                staff_ids: &[],
                // Uniform 0..=38 replies: 20 posts per thread on average.
                max_replies: 2 * POSTS_PER_THREAD - 2,
                start_ms: start_ms + (first as i64) * 600_000,
            };
            store::bulk_load(&db, &demo::generate_threads(&spec)).await?;
            if n % 20 == 0 {
                println!(
                    "  generated {} / {threads} threads ({:.0?})",
                    first + count,
                    started.elapsed()
                );
            }
        }
        println!(
            "generated {} posts in {:.1?}",
            store::live_post_count(&db).await?,
            started.elapsed()
        );
    }
    let index = fanloop_community::search::SearchIndex::open(&args.data.join("search-index"))?;
    let live = store::live_post_count(&db).await?;
    if index.num_docs() != live as u64 {
        let started = Instant::now();
        index.rebuild(&db).await?;
        println!("indexed {live} posts in {:.1?}", started.elapsed());
    }
    // Trending's hourly roll-ups, as the background job leaves them.
    let started = Instant::now();
    let (rolled, _) = fanloop_listening::rollup::roll_up_pending(&db, Duration::from_secs(86_400)).await?;
    if rolled > 0 {
        println!(
            "rolled up {rolled} hours of posts for trending in {:.1?}",
            started.elapsed()
        );
    }
    let max_thread: i64 = sqlx::query_scalar("SELECT MAX(id) FROM threads")
        .fetch_one(&db.pool)
        .await?;
    db.pool.close().await;
    Ok(max_thread)
}

#[derive(Default)]
struct Samples {
    client_us: Vec<u64>,
    server_us: Vec<u64>,
    errors: usize,
    wall: Duration,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

fn server_time_us(resp: &reqwest::Response) -> Option<u64> {
    let v = resp.headers().get("server-timing")?.to_str().ok()?;
    let ms: f64 = v.split("dur=").nth(1)?.parse().ok()?;
    Some((ms * 1000.0) as u64)
}

/// Makes the path of the next request of a scenario.
type PathMaker = Arc<dyn Fn(&mut rand::rngs::StdRng) -> String + Send + Sync>;

async fn run_scenario(base: &str, args: &ReadBenchArgs, make_path: PathMaker, token: Option<&str>) -> Samples {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap_or_default();
    let per_worker = args.requests / args.concurrency;
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..args.concurrency {
        let client = client.clone();
        let base = base.to_string();
        let make_path = make_path.clone();
        let token = token.map(str::to_string);
        workers.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(w as u64);
            let mut s = Samples::default();
            for _ in 0..per_worker {
                let url = format!("{base}{}", make_path(&mut rng));
                let t = Instant::now();
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                match request.send().await {
                    Ok(resp) if resp.status().is_success() => {
                        let server = server_time_us(&resp);
                        let _ = resp.bytes().await;
                        s.client_us.push(t.elapsed().as_micros() as u64);
                        if let Some(us) = server {
                            s.server_us.push(us);
                        }
                    }
                    _ => s.errors += 1,
                }
            }
            s
        }));
    }
    let mut all = Samples::default();
    for w in workers {
        if let Ok(s) = w.await {
            all.client_us.extend(s.client_us);
            all.server_us.extend(s.server_us);
            all.errors += s.errors;
        }
    }
    all.wall = started.elapsed();
    all.client_us.sort_unstable();
    all.server_us.sort_unstable();
    all
}

pub async fn run_read(args: ReadBenchArgs) -> anyhow::Result<()> {
    println!(
        "fanloop-bench read: {} posts, {} requests per scenario, {} connections",
        args.posts, args.requests, args.concurrency
    );
    let max_thread = prepare(&args).await?;
    let config = fanloop::Config::sqlite(args.data.clone());
    // The index written by `prepare` is released when its writer thread has finished merging,
    // which after a rebuild of millions of posts takes a while.
    let mut waited = 0;
    let app = loop {
        match fanloop::build(&config).await {
            Ok(app) => break app,
            Err(e) if waited < 300 && format!("{e:#}").contains("search index writer") => {
                waited += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(fanloop::serve(app.router, listener, async {
        let _ = stopped.await;
    }));
    let terms: Vec<&str> = [
        "电池续航",
        "相机夜景",
        "快充",
        "battery life",
        "fast charging",
        "night mode camera",
        "autonomie",
        "charge rapide",
        "Bluetooth",
        "3.3.0",
    ]
    .to_vec();
    // Staff read trending with an API token, as the dashboard's users do.
    let staff_db = fanloop::open_db(&config).await?;
    let staff = match accounts::find_by_username(&staff_db, "bench_staff").await? {
        Some(u) => u.id,
        None => {
            accounts::create_user(
                &staff_db,
                "bench_staff",
                "staff@bench.invalid",
                &auth::hash_password("bench-password")?,
                Role::Admin,
                None,
                None,
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .id
        }
    };
    let (_, token) = accounts::create_api_token(&staff_db, staff, "bench").await?;
    let trending_scans = scan_trending_windows(&staff_db).await?;
    staff_db.pool.close().await;
    let scenarios: Vec<(&str, PathMaker, Option<&str>)> = vec![
        ("baseline GET /healthz", Arc::new(|_| "/healthz".to_string()), None),
        (
            "thread page GET /t/{id}",
            Arc::new(move |rng| format!("/t/{}", rng.gen_range(1..=max_thread))),
            None,
        ),
        (
            "search page GET /search?q=",
            Arc::new(move |rng| {
                let t = terms[rng.gen_range(0..terms.len())];
                format!("/search?q={}", urlencode(t))
            }),
            None,
        ),
        (
            "trending GET 72 hours",
            Arc::new(|_| "/api/v1/trending?granularity=hour".to_string()),
            Some(token.as_str()),
        ),
        (
            "trending GET 21 days",
            Arc::new(|_| "/api/v1/trending?granularity=day".to_string()),
            Some(token.as_str()),
        ),
    ];
    // Warm caches (page cache, SQLite, tantivy) so every scenario is measured hot.
    let warm = ReadBenchArgs {
        requests: args.concurrency * 50,
        ..args.clone()
    };
    for (_, path, token) in &scenarios {
        run_scenario(&base, &warm, path.clone(), *token).await;
    }
    println!();
    println!(
        "{:<30} {:>9} {:>10} {:>10} {:>10} {:>10} {:>7} {:>9}",
        "scenario", "req/s", "p50 ms", "p99 ms", "srv p50", "srv p99", "errors", "p50/base"
    );
    let mut baseline_p50 = None;
    for (name, path, token) in &scenarios {
        let s = run_scenario(&base, &args, path.clone(), *token).await;
        let rps = s.client_us.len() as f64 / s.wall.as_secs_f64();
        let p50 = percentile(&s.client_us, 0.50);
        let base_p50 = *baseline_p50.get_or_insert(p50);
        println!(
            "{:<30} {:>9.0} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>7} {:>8.1}x",
            name,
            rps,
            p50,
            percentile(&s.client_us, 0.99),
            percentile(&s.server_us, 0.50),
            percentile(&s.server_us, 0.99),
            s.errors,
            p50 / base_p50.max(0.001)
        );
    }
    println!(
        "\nbefore the roll-ups, trending read and split every post of its window (one request, one core, no HTTP):"
    );
    for (hours, posts, took) in trending_scans {
        println!(
            "  {hours:>3} hours: {posts} posts, {:.1} ms",
            took.as_secs_f64() * 1000.0
        );
    }
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}

/// What a trending request cost before the roll-ups: read every post of the window (ending
/// with the latest post) and split it into terms.  Returns (hours, posts, time) for the 72-hour
/// and the 21-day window.
async fn scan_trending_windows(db: &fanloop_platform::Db) -> anyhow::Result<Vec<(i64, usize, Duration)>> {
    let sources = fanloop_listening::store::Sources {
        forum: true,
        imported: true,
    };
    let now = fanloop_platform::db::now_ms();
    let until = fanloop_listening::store::latest_post_at(db, sources, now)
        .await?
        .unwrap_or(now);
    // The dictionaries load on first use: not part of a request's cost.
    let _ = fanloop_listening::trending::terms("预热 warm-up");
    let mut out = Vec::new();
    for hours in [72, 21 * 24] {
        let started = Instant::now();
        let (posts, _) =
            fanloop_listening::store::posts_between(db, sources, until - hours * 3_600_000 + 1, until, i64::MAX)
                .await?;
        let mut counts = fanloop_listening::trending::Counts::default();
        for (at, text) in &posts {
            counts.add_post((until - at) / 3_600_000, text);
        }
        out.push((hours, posts.len(), started.elapsed()));
    }
    Ok(out)
}

fn urlencode(s: &str) -> String {
    fanloop_community::domain::percent_encode(s)
}

#[derive(clap::Args, Debug, Clone)]
pub struct DedupeBenchArgs {
    /// Reports to cluster for the throughput figure.
    #[arg(long, default_value_t = 100_000)]
    pub reports: usize,
    /// Reports for the LSH-versus-brute-force comparison (brute force is quadratic).
    #[arg(long, default_value_t = 10_000)]
    pub baseline_reports: usize,
    /// The embedding model (default: FANLOOP_EMBED_MODEL, then data/models/e5-small-q4.bin);
    /// without it only the lexical matcher is measured.
    #[arg(long)]
    pub model: Option<std::path::PathBuf>,
    /// Write every dev-split pair (scores, agreement, gold) to this TSV, for choosing thresholds.
    #[arg(long)]
    pub dump_dev_pairs: Option<std::path::PathBuf>,
    /// Write each language's mean embedding over the dev split to this file (the matcher's
    /// crates/feedback/data/e5_language_means.tsv), then stop.
    #[arg(long)]
    pub write_language_means: Option<std::path::PathBuf>,
}

/// Variations of a labelled report, as different fans would word it: words dropped, greetings
/// and sign-offs added in the fan's language, details changed.
fn perturb(text: &str, lang: &str, rng: &mut rand::rngs::StdRng) -> String {
    const ZH: &[&str] = &["请尽快修复", "求官方看看", "谢谢", "我的是 12+256 版本", "已经重启过了"];
    const EN: &[&str] = &[
        "Please fix asap.",
        "Hi team,",
        "Thanks!",
        "Mine is the 12+256 model.",
        "Already rebooted.",
    ];
    const FR: &[&str] = &[
        "Merci de corriger vite.",
        "Bonjour l'équipe,",
        "Merci !",
        "J'ai le modèle 12+256.",
        "Déjà redémarré.",
    ];
    let extras = match lang {
        "zh" => ZH,
        "fr" => FR,
        _ => EN,
    };
    let mut out = String::new();
    if rng.gen_bool(0.5) {
        out.push_str(extras[rng.gen_range(0..extras.len())]);
        out.push(' ');
    }
    if lang == "zh" {
        let chars: Vec<char> = text.chars().collect();
        let drop = rng.gen_range(0..chars.len().max(1));
        out.extend(
            chars
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop || chars.len() < 6)
                .map(|(_, c)| c),
        );
    } else {
        let words: Vec<&str> = text.split_whitespace().collect();
        let kept: Vec<&str> = words.iter().copied().filter(|_| rng.gen_bool(0.85)).collect();
        out.push_str(&if kept.len() >= 3 { kept } else { words }.join(" "));
    }
    if rng.gen_bool(0.5) {
        out.push(' ');
        out.push_str(extras[rng.gen_range(0..extras.len())]);
    }
    out
}

pub fn run_dedupe(args: DedupeBenchArgs) -> anyhow::Result<()> {
    use fanloop_feedback::dedupe::{
        cluster_brute_force, evaluate, fingerprints, parse_labelled, LshIndex, Match, Signature, DUPLICATE_THRESHOLD,
        LABELLED_SET, LABELLED_TEST,
    };
    let labelled = parse_labelled(LABELLED_SET);
    let test = parse_labelled(LABELLED_TEST);
    let model_path = args
        .model
        .clone()
        .or_else(|| fanloop_platform::embed::Embedder::locate(std::path::Path::new("data")));
    let model = match model_path {
        Some(p) => Some(fanloop_platform::embed::Embedder::load(&p)?),
        None => {
            println!("no embedding model: measuring the lexical matcher only (see README, Optional: the sentence-embedding model; scripts/get-model.sh)");
            None
        }
    };
    if let Some(path) = &args.write_language_means {
        let Some(m) = &model else {
            anyhow::bail!("--write-language-means needs the model");
        };
        let mut out = String::from(
            "# lang\tmean of the e5-small embeddings of the dev reports in that language (fanloop-bench dedupe --write-language-means)\n",
        );
        for lang in ["zh", "en", "fr"] {
            let mut sum = vec![0f64; m.dim()];
            let texts: Vec<&str> = labelled.iter().filter(|r| r.lang == lang).map(|r| r.text).collect();
            for t in &texts {
                for (s, x) in sum.iter_mut().zip(m.embed(t, fanloop_platform::embed::Kind::Passage)) {
                    *s += f64::from(x);
                }
            }
            let values: Vec<String> = sum
                .iter()
                .map(|s| format!("{:.6}", s / texts.len().max(1) as f64))
                .collect();
            out.push_str(&format!("{lang}\t{}\n", values.join(",")));
        }
        std::fs::write(path, out)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    let row = |name: &str, c: &fanloop_feedback::dedupe::PairCounts| {
        println!(
            "{:<10} {:>10.3} {:>10.3} {:>10.3} {:>8}",
            name,
            c.precision(),
            c.recall(),
            c.f1(),
            c.true_pos + c.false_neg
        );
    };
    for (split, reports) in [
        ("dev (tuned on)", &labelled),
        ("test (held out, never tuned on)", &test),
    ] {
        let started = Instant::now();
        let lexical = fingerprints(reports, None);
        let semantic = model.as_ref().map(|m| fingerprints(reports, Some(m)));
        let per_report = started.elapsed() / reports.len().max(1) as u32;
        for (mode, fps) in [("lexical", Some(&lexical)), ("semantic", semantic.as_ref())] {
            let Some(fps) = fps else { continue };
            let eval = evaluate(reports, fps);
            println!();
            println!(
                "{split}, {mode}: {} reports (zh {}, en {}, fr {}), {} problems",
                reports.len(),
                reports.iter().filter(|r| r.lang == "zh").count(),
                reports.iter().filter(|r| r.lang == "en").count(),
                reports.iter().filter(|r| r.lang == "fr").count(),
                reports
                    .iter()
                    .map(|r| r.cluster)
                    .collect::<std::collections::HashSet<_>>()
                    .len(),
            );
            println!(
                "{:<10} {:>10} {:>10} {:>10} {:>8}",
                "pairs", "precision", "recall", "F1", "gold"
            );
            row("all", &eval.all);
            for (pair, counts) in &eval.by_language_pair {
                row(pair, counts);
            }
            println!(
                "grouped automatically: {} reports, {} of them with another problem; the right request among the 3 offered: {}/{} ({:.0}%)",
                eval.groupings,
                eval.wrong_groupings,
                eval.offered,
                eval.findable,
                100.0 * eval.offered as f64 / eval.findable.max(1) as f64
            );
        }
        if model.is_some() {
            println!("fingerprint with embedding: {per_report:.2?} per report (one thread)");
        }
    }
    if let (Some(path), Some(m)) = (&args.dump_dev_pairs, &model) {
        use std::io::Write;
        let fps = fingerprints(&labelled, Some(m));
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(
            f,
            "i\tj\tgold\tcosine\tlexical\tconflict\tshared_c\tshared_s\tsame_lang"
        )?;
        for i in 0..fps.len() {
            for j in i + 1..fps.len() {
                let m = Match::between(&fps[i], &fps[j]);
                let a = m.agreement;
                writeln!(
                    f,
                    "{i}\t{j}\t{}\t{:.4}\t{:.4}\t{}\t{}\t{}\t{}",
                    u8::from(labelled[i].cluster == labelled[j].cluster),
                    m.cosine,
                    m.lexical,
                    u8::from(a.conflict),
                    u8::from(a.shared_components > 0),
                    u8::from(a.shared_symptoms > 0),
                    u8::from(fps[i].lang == fps[j].lang),
                )?;
            }
        }
    }

    // Half the stream rewords labelled reports (duplicates); half is one-off reports made of
    // random words from the same vocabulary, so most of them lead a request of their own, as in a
    // real backlog where most reports are unique.
    let words: Vec<&str> = labelled
        .iter()
        .filter(|r| r.lang != "zh")
        .flat_map(|r| r.text.split_whitespace())
        .collect();
    let han: Vec<char> = labelled
        .iter()
        .filter(|r| r.lang == "zh")
        .flat_map(|r| r.text.chars())
        .filter(|c| !c.is_ascii())
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let texts: Vec<String> = (0..args.reports)
        .map(|i| {
            if i % 2 == 0 {
                let r = &labelled[rng.gen_range(0..labelled.len())];
                perturb(r.text, r.lang, &mut rng)
            } else if rng.gen_bool(0.33) {
                (0..14).map(|_| han[rng.gen_range(0..han.len())]).collect()
            } else {
                (0..9)
                    .map(|_| words[rng.gen_range(0..words.len())])
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        })
        .collect();
    let started = Instant::now();
    let signatures: Vec<(i64, Signature)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (i as i64, Signature::of_text(t)))
        .collect();
    let sign_time = started.elapsed();
    let started = Instant::now();
    let mut index = LshIndex::default();
    for (id, sig) in &signatures {
        index.insert(*id, sig.clone());
    }
    let clusters = index.cluster(DUPLICATE_THRESHOLD);
    let cluster_time = started.elapsed();
    let groups = clusters.iter().filter(|(id, leader)| id == leader).count();
    println!();
    println!(
        "throughput: {} generated reports (half reworded labelled reports, half one-off), one thread",
        args.reports
    );
    println!(
        "  fingerprints   {:>8.2?}  ({:.0} reports/s)",
        sign_time,
        args.reports as f64 / sign_time.as_secs_f64()
    );
    println!(
        "  LSH clustering {:>8.2?}  ({:.0} reports/s) -> {groups} requests",
        cluster_time,
        args.reports as f64 / cluster_time.as_secs_f64()
    );
    println!("  total          {:>8.2?}", sign_time + cluster_time);

    let n = args.baseline_reports.min(signatures.len());
    let subset = &signatures[..n];
    let started = Instant::now();
    let mut small = LshIndex::default();
    for (id, sig) in subset {
        small.insert(*id, sig.clone());
    }
    let lsh = small.cluster(DUPLICATE_THRESHOLD);
    let lsh_time = started.elapsed();
    let started = Instant::now();
    let brute = cluster_brute_force(subset, DUPLICATE_THRESHOLD);
    let brute_time = started.elapsed();
    let agree = lsh.iter().zip(&brute).filter(|(a, b)| a.1 == b.1).count();
    println!();
    println!("baseline on {n} reports: brute-force leader clustering {brute_time:.2?}, LSH {lsh_time:.2?}: {:.1}x faster; same leader for {:.1}% of reports",
        brute_time.as_secs_f64() / lsh_time.as_secs_f64().max(1e-9),
        100.0 * agree as f64 / n.max(1) as f64);
    Ok(())
}
