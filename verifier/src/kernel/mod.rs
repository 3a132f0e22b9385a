//! Everything that talks to the kernel: BTF offsets, LSM support, loading and attaching the
//! programs, and the maps they share with user space.
pub mod btf;
pub mod offsets;
