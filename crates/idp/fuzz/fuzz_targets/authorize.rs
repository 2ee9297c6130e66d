#![no_main]

// The body is `idp::fuzzing::authorize`, which tests/it/fuzz_corpus.rs replays on the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| idp::fuzzing::authorize(data));
