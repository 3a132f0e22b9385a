//! Everything that talks to the kernel: BTF offsets, LSM support, loading and attaching the
//! programs, the maps they share with user space, and the events they send.
pub mod btf;
pub mod events;
pub mod filesystems;
pub mod loader;
pub mod maps;
pub mod offsets;
pub mod support;
pub mod verdicts;
