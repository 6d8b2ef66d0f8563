//! haechi-formats (work in progress).
