//! fanloop's load benchmarks and generators, kept out of the product binary (see BENCHMARKS.md).
//! Each one serves the real product in-process and drives it over HTTP, or measures a pillar's
//! engine, and prints ratios against a baseline measured in the same run.

mod read;
mod sale;

use clap::{Parser, Subcommand};

/// The product binary uses mimalloc; so does the server these benchmarks start in-process.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// fanloop benchmarks (see BENCHMARKS.md for the figures and how to read them).
#[derive(Parser)]
#[command(name = "fanloop-bench", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read path: thread pages and search over a generated community of N posts, over HTTP.
    Read(read::ReadBenchArgs),
    /// Duplicate detection: precision/recall on the labelled set, and clustering throughput.
    Dedupe(read::DedupeBenchArgs),
    /// The reference launch (1.3M accounts, 50,000 units) over HTTP, against three stock backends.
    Sale(sale::SaleBenchArgs),
    /// Burst detection on a generated stream with injected bursts: precision, recall, time to
    /// detect, against a naive hour-over-hour baseline.
    Trending {
        /// Hours of stream (at least 96: three days of history come before the first burst).
        #[arg(long, default_value_t = 504, value_parser = clap::value_parser!(u64).range(96..=100_000))]
        hours: u64,
        /// Average posts per hour (before the daily rhythm and surges).
        #[arg(long, default_value_t = 300)]
        posts_per_hour: u32,
        #[arg(long, default_value_t = 30)]
        bursts: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,tantivy=warn,sqlx=warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Read(args) => read::run_read(args).await,
        Command::Dedupe(args) => read::run_dedupe(args),
        Command::Sale(args) => sale::run(args).await,
        Command::Trending {
            hours,
            posts_per_hour,
            bursts,
            seed,
        } => {
            let started = std::time::Instant::now();
            let hours = hours as usize;
            let e = fanloop_listening::simulate::evaluate(&fanloop_listening::simulate::StreamSpec {
                hours,
                posts_per_hour,
                bursts,
                surges: 4,
                seed,
            });
            println!(
                "stream: {hours} hours, {} posts, {} distinct terms, {} injected bursts, 4 site-wide surges ({:.1} s)",
                e.posts,
                e.terms,
                e.bursts.len(),
                started.elapsed().as_secs_f64()
            );
            println!(
                "{:<24} {:>9} {:>7} {:>7} {:>16} {:>15}",
                "detector", "precision", "recall", "events", "mean h to detect", "max h to detect"
            );
            for (name, s) in [
                ("fanloop (Poisson, share)", &e.fanloop),
                ("naive (3x last hour)", &e.naive),
            ] {
                println!(
                    "{name:<24} {:>9.3} {:>7.3} {:>7} {:>16.2} {:>15}",
                    s.precision, s.recall, s.events, s.mean_hours_to_detect, s.max_hours_to_detect
                );
            }
            println!(
                "precision ratio fanloop/naive: {:.2}x",
                e.fanloop.precision / e.naive.precision.max(1e-9)
            );
            Ok(())
        }
    }
}
