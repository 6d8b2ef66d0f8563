//! haechi-policy (work in progress).
