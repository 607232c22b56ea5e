//! JWT decoding on arbitrary text, at several clocks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| keyward_core::fuzzing::jwt(data));
