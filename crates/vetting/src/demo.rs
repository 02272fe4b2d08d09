//! Demo vetting: the demo brand's profile and three candidate partners, so the first report a
//! new user opens shows what the pillar is for. One candidate has the pattern that makes a
//! partner dangerous (years of insults toward the brand's fans, a court-ordered apology to
//! another brand, a platform ban) mixed in with ordinary product talk; one is a friendly
//! reviewer; one criticises the products harshly but is no danger to the fans.
//!
//! The posts (`data/demo_posts.jsonl`) are written by us and are fiction.

use fanloop_platform::db::Db;

use crate::import::{self, Format};
use crate::store::{self, Aliases};

const POSTS: &str = include_str!("../data/demo_posts.jsonl");

/// Creates the `aurora` brand profile and imports the demo candidates' posts.
pub async fn load(db: &Db) -> anyhow::Result<()> {
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let aliases = Aliases {
        brand: strings(&["Aurora", "极光"]),
        products: strings(&["Aurora X2", "Aurora X3", "极光X2", "极光平板", "AuroraOS"]),
        executives: strings(&["Lin Yue", "林越"]),
        fans: strings(&["Aurora fans", "极光粉", "fans d'Aurora"]),
        fan_slurs: strings(&["光猴"]),
    };
    if store::create_brand(db, "aurora", "Aurora 极光", &aliases)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let parsed = import::parse(POSTS, Format::Jsonl);
    anyhow::ensure!(parsed.errors.is_empty(), "demo posts: {:?}", parsed.errors);
    store::import(db, "demo_posts.jsonl", None, &parsed).await?;
    Ok(())
}
