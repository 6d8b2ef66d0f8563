//! haechi-core
