//! The decoders (base64, percent, escapes, entities) on arbitrary bytes, whole and windowed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyward_core::fuzzing::decoders(data));
