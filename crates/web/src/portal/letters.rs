//! Portal pages: letters (being built).

use super::PageRoute;

pub fn routes() -> Vec<PageRoute> {
    vec![]
}
