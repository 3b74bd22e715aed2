//! Components of the playground page.

mod footer;
mod header;

pub use footer::Footer;
pub use header::Header;
