#![no_main]

// The body is `idp::fuzzing::email`, which tests/it/fuzz_corpus.rs replays on the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| idp::fuzzing::email(data));
