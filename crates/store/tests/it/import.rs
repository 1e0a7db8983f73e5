//! Importing people from the MIS (issue 20): each shipped sample twice is once; a second
//! export's change, new parent and missing pupil exactly; a bad date writes nothing; the permit
//! decides; imported people cannot sign in until they get an account.

use crate::{operator, person};
use policy::import::{Export, Plan, parse_file};
use policy::{Action, Actor, Object, PersonKind, Role, RoleSet};
use store::testing::TestDb;
use store::{ImportRequest, ImportedFile, Leavers, Store, StoreError, both_backends};
use testkit::mis::{sample_text, sims_pupils};

/// An import of files (name, text): the export and what its audit row says of them.
fn export_of(files: &[(&str, String)]) -> Result<(Export, Vec<ImportedFile>), policy::PolicyError> {
    let mut parsed = Vec::new();
    for (name, text) in files {
        parsed.push(parse_file(text.as_bytes(), name, None, None)?);
    }
    let export = Export::from_files(parsed)?;
    let imported = export
        .files
        .iter()
        .zip(files)
        .map(|(summary, (_, text))| ImportedFile::of(summary, text.as_bytes()))
        .collect();
    Ok((export, imported))
}

fn samples(names: &[&str]) -> Vec<(&'static str, String)> {
    names
        .iter()
        .map(|n| {
            let name: &'static str = Box::leak(n.to_string().into_boxed_str());
            (name, sample_text(n))
        })
        .collect()
}

/// The operator's permit to import anything (as `palisade import people` has).
fn importing() -> policy::Permit {
    policy::Permit::for_operator(Action::ImportPeople)
}

/// Plans and applies `files` as the operator; the plan applied.
async fn import(store: &Store, files: &[(&str, String)], leavers: Leavers) -> Plan {
    let (export, imported) = export_of(files).unwrap();
    let plan = store.plan_import(&export).await.unwrap();
    let request = ImportRequest {
        export: &export,
        previewed: &plan,
        leavers,
        files: &imported,
    };
    store
        .import_people(&importing(), RoleSet::EMPTY, &request, &|_, _| {})
        .await
        .unwrap();
    plan
}

/// Every person and parent link, as text, in a stable order: what "the same database" means.
async fn dump(db: &TestDb) -> Vec<String> {
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let people: Vec<(String, String, String, String, Option<String>)> =
        sqlx::query_as(
            "SELECT username, kind, roles,
               COALESCE(mis_id, '') || '|' || display_name || '|' || COALESCE(legal_name, '') || '|' ||
               COALESCE(upn, '') || '|' || COALESCE(date_of_birth, '') || '|' || COALESCE(year_group, '') || '|' ||
               COALESCE(class_name, '') || '|' || COALESCE(admitted_on, '') || '|' || COALESCE(leaves_on, '') || '|' ||
               COALESCE(email, '') || '|' || COALESCE(phone, '') || '|' || CAST(active AS TEXT),
               (SELECT 'account' FROM accounts a WHERE a.person_id = p.id)
             FROM people p ORDER BY username",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
    let links: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT pa.username, ch.username, l.relationship, l.parental_responsibility
         FROM parent_links l JOIN people pa ON pa.id = l.parent_id JOIN people ch ON ch.id = l.child_id
         ORDER BY pa.username, ch.username",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    people
        .into_iter()
        .map(|p| format!("{} {} {} {} {:?}", p.0, p.1, p.2, p.3, p.4))
        .chain(
            links
                .into_iter()
                .map(|l| format!("link {} -> {} {:?} {}", l.0, l.1, l.2, l.3)),
        )
        .collect()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// The `people.imported` audit rows' details, oldest first.
async fn import_audits(store: &Store) -> Vec<serde_json::Value> {
    let mut rows: Vec<_> = store
        .audit_page(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "people.imported")
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect();
    rows.reverse();
    rows
}

const SAMPLES: [&[&str]; 3] = [
    &["sims-pupils.csv", "sims-staff.csv"],
    &[
        "arbor-students.csv",
        "arbor-contacts.csv",
        "arbor-staff.csv",
    ],
    &["pupil-asset-pupils.csv", "pupil-asset-staff.csv"],
];

both_backends!(
    importing_each_sample_export_twice_gives_the_database_importing_it_once_does,
    |store, db| {
        let mut audits = 0;
        for names in SAMPLES {
            // Each school on a database of its own: one school's export leaves out the others'.
            let db = &TestDb::new(store.backend()).await;
            let store = db.store().await;
            let files = samples(names);
            let first = import(&store, &files, Leavers::Mark).await;
            let c = first.counts();
            assert!(c.added > 20 && c.links_added >= 20, "{names:?}: {c:?}");
            assert_eq!(c.changed + c.leaving, 0, "{names:?}: {c:?}");
            let once = dump(db).await;
            let second = import(&store, &files, Leavers::Mark).await;
            assert!(second.is_empty(), "{names:?}: {:?}", second.counts());
            assert_eq!(second.unchanged, first.added.len(), "{names:?}");
            assert_eq!(dump(db).await, once, "{names:?}");
            // Every import is audited with its counts and files, and nobody imported can sign in.
            let rows = import_audits(&store).await;
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0]["files"][0]["name"], names[0]);
            assert_eq!(rows[0]["files"].as_array().unwrap().len(), names.len());
            assert_eq!(rows[0]["files"][0]["sha256"].as_str().unwrap().len(), 64);
            assert_eq!(rows[0]["added"].as_u64(), Some(c.added as u64));
            assert_eq!(rows[1]["added"], 0);
            assert_eq!(rows[1]["unchanged"].as_u64(), Some(c.added as u64));
            audits += rows.len();
            // The roles it gave are on the Chair's page of role changes.
            assert!(rows[0]["roles_given"].as_str().unwrap().contains("pupil"));
            let changes = store.audit_role_changes(None, 10).await.unwrap();
            assert!(changes.iter().any(|e| e.action == "people.imported"));
            assert_eq!(count(db, "accounts").await, 0);
            let someone = store.people(Some(PersonKind::Pupil)).await.unwrap()[0].clone();
            assert!(someone.mis_id.is_some());
            let signed_in = store
                .check_credentials(&someone.username, "anything at all", 5, 15)
                .await
                .unwrap();
            assert!(signed_in.is_err());
            assert!(matches!(
                store.verify_audit().await.unwrap(),
                store::AuditVerdict::Intact { .. }
            ));
            store.close().await;
        }
        assert_eq!(audits, 6);
        let _ = (store, db);
    }
);

both_backends!(
    a_second_export_shows_its_class_change_new_parent_and_missing_pupil_and_applies_them,
    |store, db| {
        let first = sample_text("sims-pupils.csv");
        import(&store, &[("sims-pupils.csv", first.clone())], Leavers::Mark).await;
        let second = second_export(&first);
        let (export, files) = export_of(&[("second.csv", second.clone())]).unwrap();
        let plan = store.plan_import(&export).await.unwrap();
        let c = plan.counts();
        assert_eq!(
            (
                c.added,
                c.changed,
                c.leaving,
                c.links_added,
                c.links_removed
            ),
            (1, 1, 1, 1, 0),
            "{plan:#?}"
        );
        assert_eq!(plan.changed[0].display_name, "Lumen Rookwood");
        assert_eq!(plan.changed[0].fields.len(), 1);
        let class = &plan.changed[0].fields[0];
        assert_eq!(
            (class.field, class.before.as_deref(), class.after.as_deref()),
            ("class", Some("2K"), Some("2Z"))
        );
        assert_eq!(plan.added[0].values.display_name, "Juniper Kettleby");
        assert_eq!(plan.added[0].kind, PersonKind::Parent);
        assert_eq!(plan.links_added[0].child_name, "Verity Kettleby");
        // Gwendolyn leaves; Greta, her mother, stays: she is Marigold's too.
        assert_eq!(plan.leaving[0].display_name, "Gwendolyn Juniperson");
        // The dry run wrote nothing.
        let before = dump(db).await;
        assert!(!before.iter().any(|l| l.contains("Juniper Kettleby")));
        let request = ImportRequest {
            export: &export,
            previewed: &plan,
            leavers: Leavers::Mark,
            files: &files,
        };
        let seen = std::sync::Mutex::new(Vec::new());
        let report = store
            .import_people(&importing(), RoleSet::EMPTY, &request, &|done, total| {
                seen.lock().unwrap().push((done, total));
            })
            .await
            .unwrap();
        assert_eq!(report.leavers_marked.len(), 1);
        assert_eq!(seen.lock().unwrap().last(), Some(&(4, 4)));
        let pupils = store.people(Some(PersonKind::Pupil)).await.unwrap();
        let pupil = |name: &str| pupils.iter().find(|p| p.display_name == name).unwrap();
        assert_eq!(pupil("Lumen Rookwood").class_name.as_deref(), Some("2Z"));
        assert_eq!(
            pupil("Gwendolyn Juniperson").leaves_on.as_deref(),
            Some("2026-11-03")
        );
        assert_eq!(pupil("Marigold Juniperson").leaves_on, None);
        let parents = store.parents_of(pupil("Verity Kettleby").id).await.unwrap();
        let names: Vec<_> = parents.iter().map(|p| p.display_name.as_str()).collect();
        assert_eq!(names, ["Desmond Kettleby", "Juniper Kettleby"]);
        // Only those changed: everyone else is as the first import left them.
        let after = dump(db).await;
        let differ = before.iter().filter(|l| !after.contains(l)).count();
        assert_eq!(differ, 2, "Lumen's row and Gwendolyn's");
        assert_eq!(after.len(), before.len() + 2, "Juniper and her link");
        // And the same second export again changes nothing.
        let (export, _) = export_of(&[("second.csv", second)]).unwrap();
        assert!(store.plan_import(&export).await.unwrap().is_empty());
        let audits = import_audits(&store).await;
        let last = audits.last().unwrap();
        assert_eq!(last["leavers_marked"].as_array().unwrap().len(), 1);
        assert_eq!(
            (last["added"].as_u64(), last["changed"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(last["links_added"], 1);
    }
);

/// The SIMS sample exported again: Lumen Rookwood (row 4) moves to class 2Z, Verity Kettleby
/// (row 6) has a new carer, and Gwendolyn Juniperson (row 3) is gone.
fn second_export(first: &str) -> String {
    let mut lines: Vec<String> = first.lines().map(str::to_string).collect();
    let edit = |line: &str, at: usize, cells: &[&str]| {
        let mut row: Vec<String> = line.split(',').map(str::to_string).collect();
        for (i, c) in cells.iter().enumerate() {
            row[at + i] = c.to_string();
        }
        row.join(",")
    };
    assert!(lines[3].starts_with("1102,") && lines[5].starts_with("1104,"));
    lines[3] = edit(&lines[3], 9, &["2Z"]);
    lines[5] = edit(
        &lines[5],
        18,
        &[
            "Kettleby",
            "Juniper",
            "Carer",
            "Yes",
            "juniper.k@example.org",
            "",
        ],
    );
    assert!(lines[2].starts_with("1101,"));
    lines.remove(2);
    lines.join("\n")
}

both_backends!(
    a_bad_date_on_row_17_is_refused_naming_it_and_writes_nothing,
    |store, db| {
        person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let text = sample_text("sims-pupils.csv");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut row17: Vec<String> = lines[16].split(',').map(str::to_string).collect();
        row17[7] = "31/02/2015".into();
        lines[16] = row17.join(",");
        let bad = lines.join("\n");
        let before = (
            count(db, "people").await,
            count(db, "parent_links").await,
            count(db, "audit_log").await,
        );
        let err = export_of(&[("sims-pupils.csv", bad)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 17, column \"DOB\": \"31/02/2015\" is not a date"),
            "{err}"
        );
        let after = (
            count(db, "people").await,
            count(db, "parent_links").await,
            count(db, "audit_log").await,
        );
        assert_eq!(before, after);
    }
);

both_backends!(
    a_plan_that_no_longer_holds_is_refused_and_writes_nothing,
    |store, db| {
        let files = samples(&["sims-pupils.csv"]);
        let (export, imported) = export_of(&files).unwrap();
        let plan = store.plan_import(&export).await.unwrap();
        // Someone takes the first new username between the preview and the apply.
        person(
            &store,
            &plan.added[0].username,
            PersonKind::Staff,
            Role::Teacher,
        )
        .await;
        let before = (
            count(db, "people").await,
            count(db, "parent_links").await,
            count(db, "audit_log").await,
        );
        let request = ImportRequest {
            export: &export,
            previewed: &plan,
            leavers: Leavers::Mark,
            files: &imported,
        };
        let err = store
            .import_people(&importing(), RoleSet::EMPTY, &request, &|_, _| {})
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(ref m) if m.contains("preview it again")),
            "{err}"
        );
        let after = (
            count(db, "people").await,
            count(db, "parent_links").await,
            count(db, "audit_log").await,
        );
        assert_eq!(before, after);
    }
);

both_backends!(
    leavers_are_marked_only_when_asked_and_leaving_dates_come_from_the_export,
    |store, _db| {
        let text = sample_text("sims-pupils.csv");
        import(&store, &[("p.csv", text.clone())], Leavers::Ignore).await;
        let pupils = store.people(Some(PersonKind::Pupil)).await.unwrap();
        assert!(
            pupils
                .iter()
                .any(|p| p.leaves_on.as_deref() == Some("2027-07-22"))
        );
        let without_first: String = text
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let first_id = text
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string();
        let plan = import(&store, &[("p.csv", without_first.clone())], Leavers::Ignore).await;
        assert!(!plan.leaving.is_empty());
        let left = store
            .people(Some(PersonKind::Pupil))
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.mis_id.as_deref() == Some(first_id.as_str()))
            .unwrap();
        assert_eq!(left.leaves_on, None, "ignored");
        import(&store, &[("p.csv", without_first.clone())], Leavers::Mark).await;
        let left = store.person(left.id).await.unwrap().unwrap();
        assert_eq!(left.leaves_on.as_deref(), Some("2026-11-03"));
        // Marked once, not proposed again.
        let (export, _) = export_of(&[("p.csv", without_first)]).unwrap();
        assert!(store.plan_import(&export).await.unwrap().leaving.is_empty());
    }
);

both_backends!(
    an_import_needs_a_permit_for_the_roles_it_gives,
    |store, _db| {
        let head = person(&store, "head", PersonKind::Staff, Role::Headteacher).await;
        let teacher = person(&store, "teacher1", PersonKind::Staff, Role::Teacher).await;
        let data = person(&store, "data", PersonKind::Staff, Role::DataManager).await;
        let audiences = testkit::cast::profile("holt").concerns.audiences();
        let files = samples(&["sims-pupils.csv", "sims-staff.csv"]);
        let (export, imported) = export_of(&files).unwrap();
        let plan = store.plan_import(&export).await.unwrap();
        let roles = plan.roles_given();
        assert!(roles.contains(Role::Teacher) && roles.contains(Role::Pupil));
        let ask = |id: i64, role: Role, roles: RoleSet| {
            policy::permit(
                &Actor {
                    person_id: id,
                    roles: RoleSet::of(role),
                },
                Action::ImportPeople,
                Object::Roles {
                    holder: None,
                    roles,
                    audiences,
                },
            )
        };
        // A teacher is refused by the policy.
        assert!(ask(teacher, Role::Teacher, roles).is_err());
        let request = ImportRequest {
            export: &export,
            previewed: &plan,
            leavers: Leavers::Mark,
            files: &imported,
        };
        let nothing = |_: usize, _: usize| {};
        // A permit for fewer roles than the import gives, or for another action, does nothing.
        let pupils_only = ask(data, Role::DataManager, RoleSet::of(Role::Pupil)).unwrap();
        let err = store
            .import_people(&pupils_only, RoleSet::EMPTY, &request, &nothing)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        let err = store
            .import_people(&operator(), RoleSet::EMPTY, &request, &nothing)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(store.people(None).await.unwrap().len(), 3);
        // The data manager's permit for the roles it gives imports, in the data manager's name.
        let permit = ask(data, Role::DataManager, roles).unwrap();
        store
            .import_people(&permit, RoleSet::EMPTY, &request, &nothing)
            .await
            .unwrap();
        let row = store
            .audit_page(None, 5)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.action == "people.imported")
            .unwrap();
        assert_eq!(row.actor_id, Some(data));
        let _ = head;
    }
);

both_backends!(
    a_school_of_two_thousand_pupils_imports_in_one_transaction,
    |store, db| {
        let text = sims_pupils(2000, 3000);
        let (export, files) = export_of(&[("big.csv", text)]).unwrap();
        let plan = store.plan_import(&export).await.unwrap();
        assert_eq!(
            plan.added
                .iter()
                .filter(|a| a.kind == PersonKind::Pupil)
                .count(),
            2000
        );
        let request = ImportRequest {
            export: &export,
            previewed: &plan,
            leavers: Leavers::Mark,
            files: &files,
        };
        store
            .import_people(&importing(), RoleSet::EMPTY, &request, &|_, _| {})
            .await
            .unwrap();
        assert_eq!(count(db, "parent_links").await, 3000);
        assert!(store.plan_import(&export).await.unwrap().is_empty());
    }
);
