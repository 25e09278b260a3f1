//! The `users` table. Passwords arrive here already hashed (PHC strings).

use rusqlite::{Connection, OptionalExtension as _, Row};

/// A user row. `Debug` leaves the password hash out.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: String,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

const COLUMNS: &str = "id, username, password_hash, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

/// Every user, oldest first (the first is the owner).
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY created_at, rowid"
    ))?;
    st.query_map([], from_row)?.collect()
}

pub fn by_username(conn: &Connection, username: &str) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE username = ?1"),
        [username],
        from_row,
    )
    .optional()
}

pub fn by_id(conn: &Connection, id: &str) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// The owner: the earliest user.
pub fn owner(conn: &Connection) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM users ORDER BY created_at, rowid LIMIT 1"),
        [],
        from_row,
    )
    .optional()
}

/// Insert a user with a fresh random id.
pub fn create(
    conn: &Connection,
    username: &str,
    password_hash: &str,
    now: i64,
) -> rusqlite::Result<User> {
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.to_string(),
        password_hash: password_hash.to_string(),
        created_at: now,
        updated_at: now,
    };
    conn.execute(
        "INSERT INTO users (id, username, password_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        (&user.id, &user.username, &user.password_hash, now),
    )?;
    Ok(user)
}

pub fn set_password(
    conn: &Connection,
    id: &str,
    password_hash: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2, updated_at = ?3, password_changed = 1 WHERE id = ?1",
        (id, password_hash, now),
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    #[test]
    fn the_owner_is_the_first_user_and_debug_hides_the_hash() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let ada = create(&c, "ada", "$argon2id$secret", 10).expect("ada");
        create(&c, "bob", "$argon2id$other", 20).expect("bob");
        assert_eq!(owner(&c).expect("q").expect("owner").id, ada.id);
        assert_eq!(list(&c).expect("list").len(), 2);
        assert!(create(&c, "ada", "x", 30).is_err(), "usernames are unique");
        assert!(!format!("{ada:?}").contains("secret"));
        assert!(set_password(&c, &ada.id, "$argon2id$new", 40).expect("set"));
        let again = by_username(&c, "ada").expect("q").expect("found");
        assert_eq!(again.password_hash, "$argon2id$new");
        assert_eq!(again.updated_at, 40);
    }
}
