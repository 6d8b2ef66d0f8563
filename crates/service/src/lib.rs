//! haechi-service
