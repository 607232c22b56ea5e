//! x
pub fn f() {}
