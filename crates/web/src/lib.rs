//! haechi-web
