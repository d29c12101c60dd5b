//! Notes an analyst writes on a run or a sweep: a short text kept beside the run, outside its
//! document, so that writing one changes no key and no hash.

use anyhow::{Result, bail};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::NotFound;
use crate::db::explain::load;
use crate::models::{RunId, Sweep};
use crate::schema::{runs, sweeps};

/// The longest note, in characters (the columns' check says the same).
pub const MAX_CHARS: usize = 10_000;

/// `text` as a note: trimmed, none when empty (a note cleared), refused when too long.
pub fn checked(text: &str) -> Result<Option<String>> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        bail!("a note holds at most {MAX_CHARS} characters, not {chars}");
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Writes (or, with `None`, clears) run `id`'s note.
pub async fn on_run(conn: &mut AsyncPgConnection, id: RunId, note: Option<&str>) -> Result<()> {
    let changed = diesel::update(runs::table.find(id))
        .set(runs::note.eq(note))
        .execute(conn)
        .await?;
    if changed == 0 {
        return Err(NotFound(format!("no run with id {id}")).into());
    }
    Ok(())
}

/// Writes (or clears) sweep `name`'s note.
pub async fn on_sweep(conn: &mut AsyncPgConnection, name: &str, note: Option<&str>) -> Result<()> {
    let changed = diesel::update(sweeps::table.filter(sweeps::name.eq(name)))
        .set(sweeps::note.eq(note))
        .execute(conn)
        .await?;
    if changed == 0 {
        let known: Vec<String> = load(conn, Sweep::names).await?;
        return Err(NotFound(format!(
            "no sweep named `{name}`{}",
            super::suggest::hint(name, &known)
        ))
        .into());
    }
    Ok(())
}

/// The note of sweep `name`, if it has one.
pub async fn of_sweep(conn: &mut AsyncPgConnection, name: &str) -> Result<Option<String>> {
    let found: Vec<Option<String>> = load(conn, || {
        sweeps::table
            .filter(sweeps::name.eq(name.to_owned()))
            .select(sweeps::note)
    })
    .await?;
    match found.into_iter().next() {
        Some(note) => Ok(note),
        None => Err(NotFound(format!("no sweep named `{name}`")).into()),
    }
}
