//! Portal pages: registry (being built).

use super::PageRoute;

pub fn routes() -> Vec<PageRoute> {
    vec![]
}
