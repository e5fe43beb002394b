//! LLM judge (in progress).
