//! keyward-core: rules and matcher. YAML rules in, findings out; no git, no file walking.
//!
//! ```
//! use keyward_core::{Matcher, RuleSet, Scratch};
//!
//! let matcher = Matcher::new(RuleSet::builtin()).unwrap();
//! let mut scratch = Scratch::new();
//! let token = "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";
//! let findings = matcher.scan(format!("token = '{token}'").as_bytes(), &mut scratch);
//! assert_eq!(matcher.rules()[findings[0].rule].spec.id, "github-pat-classic");
//! assert_eq!(findings[0].secret.expose(), token);
//! assert_eq!(findings[0].secret.to_string(), "ghp_…"); // Display redacts
//! ```
//!
//! A [`Matcher`] is built once and shared by all threads; each thread passes its own
//! [`Scratch`]. Path-dependent filtering (lock files, exposure) is done by the caller with
//! [`Filters`], so the same matcher serves files on disk and git blobs.
#![deny(missing_docs)]

mod check;
mod checksum;
mod decode;
mod error;
mod exposure;
mod filter;
mod finding;
#[doc(hidden)]
pub mod fuzzing;
mod glob;
mod jwt;
mod kwdfa;
mod matcher;
mod prefilter;
mod remediation;
mod revocation;
mod rule;
#[cfg(test)]
mod test_util;

pub use check::{CheckSummary, Problem, check};
pub use checksum::Checksum;
pub use decode::{DecoderTrigger, DecodersSpec, Encoding, Extents};
pub use error::Error;
pub use exposure::{
    EnvPrefix, Exposure, ExposureKind, ExposureModel, ExposureSpec, Marker, NoProject, PathClass,
    ProjectClass, ProjectView,
};
pub use filter::{Filters, FiltersSpec, WordLike, entropy};
pub use finding::{Finding, Fingerprint, Secret};
pub use glob::{Glob, GlobList};
pub use jwt::{JwtInfo, JwtKind, decode_jwt};
pub use kwdfa::{KeywordSearch, LaneHits};
pub use matcher::{KeywordHit, Matcher, Regions, Scratch, merge_ranges};
pub use remediation::RemediationSpec;
pub use revocation::{ClientAuth, RevocationEndpoint};
pub use rule::{
    Category, Confidence, Origin, REGEX_SIZE_LIMIT, Rule, RuleId, RuleSet, RuleSpec, Severity,
    Source, Window,
};
