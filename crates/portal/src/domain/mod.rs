//! Pure types of the portal: languages, how times are shown, roles and statuses as people read
//! them, and the demo absenteeism figures. No I/O here.

pub mod absenteeism;
pub mod language;
pub mod local_time;

pub use language::Language;
