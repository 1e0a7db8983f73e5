//! Palisade's publish-check scan: finds pupils' names in the images and videos of a folder
//! a school is about to publish, in their file names, their embedded metadata (EXIF, XMP,
//! IPTC-IIM) and their captions (sidecar files, HTML pages that show them).
//!
//! The scan only reports who is named where; whether that is allowed (consent) is decided
//! elsewhere. It never panics on file contents and never fails because of one bad file:
//! such a file gets a [`FileReport`] with [`FileReport::damaged`] set.
//! No network, no database.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod captions;
mod metadata;
mod names;
mod scan;

#[cfg(feature = "fixtures")]
pub mod fixtures;

pub use names::MIN_SQUASHED_LEN;
pub use scan::{MAX_DEPTH, MAX_METADATA_BYTES, scan};

/// A pupil whose name the scan looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pupil {
    /// The pupil's id in the school's records.
    pub id: i64,
    /// Display name, e.g. "Amelia Jones", "Zoë O'Brien-Smith", "Jean Luc Picard".
    pub name: String,
}

/// Where a pupil's name was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// In the media file's own name.
    NameInFilename,
    /// In metadata embedded in the media file (EXIF, XMP, IPTC, PNG text).
    NameInMetadata,
    /// In a caption: a sidecar file or an HTML page that shows the file.
    NameInCaption,
}

/// One pupil named in one place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// What kind of place.
    pub kind: FindingKind,
    /// The pupil's id.
    pub pupil: i64,
    /// The exact place, e.g. "file name", "EXIF ImageDescription", "HTML page.html alt".
    pub field: String,
}

/// What the scan found for one image or video file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// Path relative to the scanned folder.
    pub file: PathBuf,
    /// Every place a pupil was named, sorted, without duplicates.
    pub findings: Vec<Finding>,
    /// Every pupil named or tagged anywhere for this file.
    pub named: BTreeSet<i64>,
    /// What was wrong reading the file (or its captions), if anything; findings may be partial.
    pub damaged: Option<String>,
}

/// Why the scan as a whole could not run.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The folder to scan could not be read.
    #[error("cannot read folder {}: {source}", dir.display())]
    ReadDir {
        /// The folder.
        dir: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The path to scan is not a folder.
    #[error("{} is not a folder", dir.display())]
    NotADirectory {
        /// The path.
        dir: PathBuf,
    },
}
