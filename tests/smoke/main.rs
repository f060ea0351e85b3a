//! Smoke tests: each part of the local stack is real and intake's adapters
//! work against it. Run with the stack up (`make test` starts it).

mod broker;
mod clamav;
mod kafka;
mod postgres;
mod s3;
mod smtp;
