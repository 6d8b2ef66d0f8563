//! haechi-cvss (work in progress).
