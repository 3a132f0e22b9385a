#![no_main]
include!("reader_target.rs");
reader_target!(SyftJson);
