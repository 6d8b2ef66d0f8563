//! haechi-letter (work in progress).
