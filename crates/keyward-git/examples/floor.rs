//! The floor of a history scan: rebuild every object of a repository base first, match
//! nothing, and print how long it took.
//!
//! ```text
//! cargo run --release -p keyward-git --example floor -- REPO [THREADS]
//! ```

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| ".".into());
    let threads: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(0);
    let repo = keyward_git::Repository::open(std::path::Path::new(&path))?;
    let started = Instant::now();
    let stats = keyward_git::rebuild_objects(&repo, threads, &keyward_git::Progress::new())?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{path}: {} objects in {} packs + {} loose, {} blobs, {:.1} MB of blob content, rebuilt in {secs:.2} s",
        stats.objects,
        stats.packs,
        stats.loose_objects,
        stats.blobs,
        stats.bytes_scanned as f64 / 1e6
    );
    for (phase, d) in &stats.timings {
        println!("  {phase}: {:.2} s", d.as_secs_f64());
    }
    for u in &stats.unreadable {
        println!("unreadable {}: {}", u.id, u.reason);
    }
    Ok(())
}
