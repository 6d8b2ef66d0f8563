//! Portal pages: applications (being built).

use super::PageRoute;

pub fn routes() -> Vec<PageRoute> {
    vec![]
}
