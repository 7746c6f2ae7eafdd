#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hookarr::fuzzing::filter(data));
