//! The one error type of keyward-git.

use std::path::PathBuf;

/// What can stop a history scan. Problems with single objects (a corrupt pack entry, an
/// unreadable loose object) do not stop it: they are counted in the report's stats, each
/// naming its object id.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path is not (inside) a git repository.
    #[error("{}: not a git repository ({message})", path.display())]
    NotARepository {
        /// The path that was given.
        path: PathBuf,
        /// What gix said.
        message: String,
    },
    /// The repository exists but a part of it that the scan needs cannot be read.
    #[error("{}: {message}", path.display())]
    Repository {
        /// The repository, or the file in it that failed (a pack, a reflog).
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A revision given by the user does not name a commit.
    #[error("{rev:?} does not name a commit: {message}")]
    Revision {
        /// The revision as given.
        rev: String,
        /// Why it does not resolve.
        message: String,
    },
    /// An object that the scan cannot do without (a commit or tree of the selected range)
    /// cannot be read.
    #[error("object {id}: {message}")]
    Object {
        /// The object id in hex.
        id: String,
        /// Why it cannot be read.
        message: String,
    },
}
