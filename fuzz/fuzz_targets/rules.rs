//! The rule loader (strict and lenient) on arbitrary YAML.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyward_core::fuzzing::rules(data));
