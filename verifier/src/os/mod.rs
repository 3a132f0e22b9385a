//! The operating system's own packages, as dpkg and apt keep them (`os trust`): what is
//! installed ([`dpkg`]), which signed indexes apt has ([`lists`]), where each `.deb` is or how to
//! fetch it ([`debs`]), how the files on disk compare with their package ([`compare`]), and the
//! apt hook ([`hook`]). Verifying the archive's signatures and hashes is admission's
//! (`trust::os_archive`); this module gathers and reports. Everything is read under a root
//! directory (like dpkg's `--root`), so that a test can build a system of its own.
pub mod compare;
pub mod deb822;
pub mod debs;
pub mod dpkg;
pub mod hook;
pub mod lists;
