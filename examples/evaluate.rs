//! Evaluates a model for defensive refusal bias and writes a report.
//!
//! Needs the default `http` feature for `--base-url`. Examples:
//!
//! ```text
//! # a live OpenAI-compatible endpoint (llama.cpp, vLLM, Ollama, OpenAI, ...)
//! cargo run --example evaluate -- --base-url http://127.0.0.1:8080 --model smollm2-135m
//! # recorded responses, here XSTest's GPT-4 completions on XSTest's prompts
//! cargo run --example evaluate -- \
//!     --prompts ../shared/data/xstest/xstest_prompts.csv \
//!     --replay ../shared/data/xstest/model_completions/xstest_v2_completions_gpt4.csv
//! ```
//!
//! `--out DIR` names the output directory (default: a fresh one under
//! `target/refusal-bias/`). Naming the directory of an interrupted run resumes it:
//! requests already in its journal are not sent again.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    ExitCode::SUCCESS
}
