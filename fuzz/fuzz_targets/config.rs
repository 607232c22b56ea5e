//! The config loader (`.keyward.yaml`) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyward_cli::fuzzing::config(data));
