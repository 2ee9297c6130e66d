//! The domain's enums as text columns, on both backends: written with their stable names,
//! read back strictly (an unknown value is an error, never a default).

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::domain::{Role, Stage, UserStatus};

macro_rules! text_enum {
    ($($ty:ty),* $(,)?) => {$(
        impl<DB: Backend> ToSql<Text, DB> for $ty
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $ty
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                <$ty>::parse(&text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($ty), " {:?}"), text).into()
                })
            }
        }
    )*};
}

text_enum!(Role, UserStatus, Stage);
