//! Writes a generated fictional school's SIMS export for the MIS import benchmark:
//! `cargo run -p testkit --example mis_export -- DIR [PUPILS CONTACTS STAFF]` writes
//! `DIR/pupils.csv` and `DIR/staff.csv` (default 2,000 pupils, 3,000 contacts, 150 staff).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: mis_export DIR [PUPILS CONTACTS STAFF]");
        return ExitCode::from(2);
    };
    let number = |i: usize, default: usize| args.get(i).map_or(Some(default), |s| s.parse().ok());
    let (Some(pupils), Some(contacts), Some(staff)) =
        (number(1, 2000), number(2, 3000), number(3, 150))
    else {
        eprintln!("PUPILS, CONTACTS and STAFF are numbers");
        return ExitCode::from(2);
    };
    let dir = std::path::Path::new(dir);
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| {
            std::fs::write(
                dir.join("pupils.csv"),
                testkit::mis::sims_pupils(pupils, contacts),
            )
        })
        .and_then(|()| std::fs::write(dir.join("staff.csv"), testkit::mis::sims_staff(staff)));
    match written {
        Ok(()) => {
            println!(
                "{}: {pupils} pupils with {contacts} contacts, {staff} staff",
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
