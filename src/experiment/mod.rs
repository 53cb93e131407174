//! The CNN experiment the page and the command line run: live studies on the scheduler's workers.

#![forbid(unsafe_code)]

pub mod live;
