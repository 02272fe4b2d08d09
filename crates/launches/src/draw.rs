//! The fair opening: a verifiable random draw, and a randomised queue for everyone who arrived
//! before the opening, so neither bots nor the fastest connection gain anything by being first.
//!
//! Commit–reveal: when a drop is created, a random seed is generated and only its SHA-256 (the
//! commitment) is published.  At the close the seed itself is published.  Anyone can check that
//! SHA-256(seed) equals the commitment (so the seed was fixed before anyone reserved) and re-run
//! the draw:
//!
//! 1. sort the reserving account ids ascending, without duplicates;
//! 2. seed ChaCha20 with SHA-256(seed) (32 bytes);
//! 3. Fisher–Yates from the end: for i = n−1 down to 1, j = next_u64() mod (i + 1), swap i and j;
//! 4. the first `winners` accounts win; in queue mode the order is the queue.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use crate::engine::AccountId;

/// A new random seed, as 64 hex characters.
pub fn new_seed() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn commitment(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// The accounts in draw order (see the module documentation for the exact algorithm).
pub fn shuffled(seed: &str, accounts: &[AccountId]) -> Vec<AccountId> {
    let mut order: Vec<AccountId> = accounts.to_vec();
    order.sort_unstable();
    order.dedup();
    let key: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
    let mut rng = ChaCha20Rng::from_seed(key);
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Draw mode: the winners, in draw order, each admitted at the opening.
pub fn draw_winners(seed: &str, accounts: &[AccountId], winners: usize, opens_at: i64) -> Vec<(AccountId, i64)> {
    shuffled(seed, accounts)
        .into_iter()
        .take(winners)
        .map(|a| (a, opens_at))
        .collect()
}

/// Queue mode, in queue order: everyone who reserved before the opening in shuffled order, then
/// later arrivals in arrival order; admitted in waves from the opening.
pub fn queue_admission(
    seed: &str,
    before_opening: &[AccountId],
    later: &[AccountId],
    opens_at: i64,
    wave_size: u32,
    wave_ms: i64,
) -> Vec<(AccountId, i64)> {
    let mut order = shuffled(seed, before_opening);
    for a in later {
        if !order.contains(a) {
            order.push(*a);
        }
    }
    let wave = wave_size.max(1) as usize;
    order
        .into_iter()
        .enumerate()
        .map(|(i, a)| (a, opens_at + (i / wave) as i64 * wave_ms.max(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_is_reproducible_from_the_published_seed() {
        let seed = "4f1c0a7e9b8d6c5a4f1c0a7e9b8d6c5a4f1c0a7e9b8d6c5a4f1c0a7e9b8d6c5a";
        assert_eq!(commitment(seed).len(), 64);
        let accounts: Vec<i64> = (1..=1000).rev().collect();
        let a = shuffled(seed, &accounts);
        let mut reversed = accounts.clone();
        reversed.reverse();
        assert_eq!(a, shuffled(seed, &reversed), "input order does not matter");
        assert_ne!(a, shuffled(&new_seed(), &accounts));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=1000).collect::<Vec<_>>(), "a permutation");
        let winners = draw_winners(seed, &accounts, 10, 5);
        assert_eq!(winners.iter().map(|w| w.0).collect::<Vec<_>>(), a[..10].to_vec());
        assert!(winners.iter().all(|w| w.1 == 5));
    }

    #[test]
    fn queue_admits_early_arrivals_in_random_waves_then_late_ones_in_order() {
        let q = queue_admission("seed", &[1, 2, 3, 4], &[9, 8], 1_000, 2, 60_000);
        let mut early: Vec<i64> = q[..4].iter().map(|(a, _)| *a).collect();
        early.sort();
        assert_eq!(early, vec![1, 2, 3, 4], "early arrivals first, shuffled");
        assert_eq!(
            q[4..].to_vec(),
            vec![(9, 121_000), (8, 121_000)],
            "then late arrivals in arrival order"
        );
        assert_eq!(
            q.iter().map(|(_, at)| *at).collect::<Vec<_>>()[..4].to_vec(),
            vec![1_000, 1_000, 61_000, 61_000]
        );
    }
}
