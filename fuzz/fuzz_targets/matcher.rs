//! The matcher with every built-in rule on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyward_core::fuzzing::matcher(data));
