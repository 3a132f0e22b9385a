//! Trust admission: the one place that decides what evidence may vouch for which digests.
//!
//! Every way code becomes trusted goes through here: a command gathers [`Evidence`] (files it
//! hashed, an SBOM and its bundle, an attestation, an image verified from its registry, an
//! admin's approval), [`accept`] verifies it against the Sigstore trusted root and authorizes its
//! signer by the trust policy, and turns it into an [`Admission`] or a [`Refusal`];
//! [`commit`] stores an admission as one source, all or nothing. What a signed source was
//! admitted on is kept as [`StoredEvidence`], which `sources verify` checks again the same way.
//! Command modules parse arguments and print; the rules live here.
mod actor;
mod admission;
mod evidence;
mod image;
mod kind;
mod os_archive;
mod package;
mod policy;
mod sbom;
mod stored;

pub use actor::current_user;
pub use admission::{Circumstances, Refusal, accept, admit, commit};
pub use evidence::{ArtifactSubject, Contents, Evidence};
pub use image::{ImageOutcome, ImageRequest, image_of, verify_image};
pub use kind::SourceKind;
pub use os_archive::{Keyring, Vouched, read_index, verify_release};
pub use policy::Trust;
pub use sbom::{detect_file as sbom_format, problem_lines, read_sbom};
pub use stored::{StoredArtifact, StoredEvidence};
