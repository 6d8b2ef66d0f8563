//! Demo data of patch prioritisation (C13): filled in below.
