//! The details each audit action stores, as a JSON object: hashed into the chain with the
//! action and its object (see the parent module), so a key or its order never changes.

use super::AuditAction;
use policy::Severity;
use serde_json::{Value, json};

impl AuditAction<'_> {
    /// The details as stored (a JSON object).
    pub fn details(&self) -> Value {
        use AuditAction::*;
        match self {
            LoginSucceeded { .. }
            | AccountCreated { .. }
            | PasswordSet { .. }
            | ConcernClosed { .. }
            | ConcernReopened { .. } => json!({}),
            LoginFailed {
                failed_in_a_row, ..
            }
            | AccountLocked {
                failed_in_a_row, ..
            } => json!({"failed_in_a_row": failed_in_a_row}),
            AccountUnlocked {
                was_locked_until, ..
            } => json!({"was_locked_until": was_locked_until}),
            PasswordSetThroughLink { .. } => json!({"by": "holder, through the one-time link"}),
            LoginSucceededThrough { method, .. } => json!({"method": method}),
            WelcomeIssued { expires_at, .. } => json!({"expires_at": expires_at}),
            AccountCompromised { own, .. } => {
                json!({"reported_by": if *own { "holder" } else { "other" }})
            }
            TotpEnrolled { recovery_codes, .. } | RecoveryCodesRenewed { recovery_codes, .. } => {
                json!({"recovery_codes": recovery_codes})
            }
            TotpRemoved { .. } => json!({}),
            RecoveryCodeUsed { left, .. } => json!({"left": left}),
            AccountDisabled { roles, .. }
            | TotpReset { roles, .. }
            | AccountEnabled { roles, .. }
            | PersonDeactivated { roles, .. }
            | PersonReactivated { roles, .. }
            | RolesGranted { roles, .. }
            | RolesRemoved { roles, .. } => json!({"roles": roles.to_csv()}),
            PersonCreated {
                username,
                kind,
                roles,
                ..
            } => json!({"username": username, "kind": kind.as_str(), "roles": roles.to_csv()}),
            ParentLinked { parent, .. } => json!({"parent_id": parent}),
            TrainingRecorded { course, people, .. } => json!({"course": course, "people": people}),
            FilterCheckRecorded { group, passed, .. } => json!({"group": group, "passed": passed}),
            FilteringReviewRecorded {
                participants,
                actions,
                ..
            } => json!({"participants": participants, "actions": actions}),
            FilteringActionDone { id, done_on, .. } => json!({"action": id, "done_on": done_on}),
            FilteringTriggerRecorded { kind, .. } => json!({"kind": kind}),
            DocumentAdded { kind, version, .. } => json!({"kind": kind, "version": version}),
            Acknowledged {
                document,
                version,
                method,
                ..
            } => json!({"document": document, "version": version, "method": method}),
            ConsentRecorded {
                id, purpose, given, ..
            } => json!({"consent": id, "purpose": purpose, "given": given}),
            AlertAcknowledged { .. } => json!({"reason": Value::Null}),
            AlertDismissed { reason, .. } => json!({"reason": reason}),
            AlertEscalated { concern, .. } => json!({"reason": format!("concern {concern}")}),
            DeviceAdded {
                name,
                ip,
                mac,
                holder,
                group,
                ..
            } => json!({"name": name, "ip": ip, "mac": mac,
                    "holder": holder, "group": group}),
            DeviceRetired { why, .. } => json!({"why": why}),
            DeviceManaged {
                mdm,
                passcode_set,
                school_account,
                ..
            } => json!({"mdm": mdm, "passcode_set": passcode_set,
                    "school_account": school_account}),
            DeviceLent {
                loan,
                person,
                due_on,
                condition,
                ..
            } => json!({"loan": loan, "person": person, "due_on": due_on,
                    "condition": condition}),
            DeviceReturned {
                loan, condition, ..
            } => json!({"loan": loan, "condition": condition}),
            DeviceReported { kind, note, .. } => json!({"kind": kind, "note": note}),
            LeavingDateSet { leaves_on, .. } => json!({"leaves_on": leaves_on}),
            LeaverItemTicked { item, .. } => json!({"item": item}),
            PersonLeftOnDate {
                leaves_on, roles, ..
            } => json!({"leaves_on": leaves_on, "roles": roles.to_csv()}),
            GuestCreated {
                purpose,
                expires_at,
                ..
            } => json!({"purpose": purpose, "expires_at": expires_at}),
            GuestExpired { .. } => json!({}),
            ProcessorAdded {
                name, whose_data, ..
            } => json!({"name": name, "whose_data": whose_data}),
            ConcernReported {
                category,
                route,
                audience,
                fallback,
                subjects,
                assignee,
                ..
            } => json!({
                "category": category,
                "route": route.as_str(),
                "audience": audience.to_csv(),
                "fallback": fallback,
                "subjects": subjects,
                "assignee_id": assignee,
            }),
            ConcernViewed { access, .. } => json!({"access": access}),
            ConcernActionAdded {
                action_id,
                kind,
                agency,
                ..
            } => {
                let mut details = json!({"action_id": action_id, "kind": kind.as_str()});
                if let Some(agency) = agency {
                    details["agency"] = json!(agency.as_str());
                }
                details
            }
            ConcernAttachmentAdded {
                attachment_id,
                sha256,
                size,
                ..
            } => json!({"attachment_id": attachment_id, "sha256": sha256, "size": size}),
            ConcernTriaged {
                status,
                severity,
                assignee,
                ..
            } => json!({
                "status": status.as_str(),
                "severity": severity.map(Severity::as_str),
                "assignee_id": assignee,
            }),
            ReviewRequested {
                host,
                group,
                category,
                ..
            } => json!({"host": host, "group": group, "category": category}),
            ReviewApproved {
                host,
                group,
                why,
                allow_entry,
                ..
            } => json!({"host": host, "group": group, "why": why, "allow_entry": allow_entry}),
            ReviewDeclined { host, why, .. } => json!({"host": host, "why": why}),
            FilterEntryAdded {
                host, group, why, ..
            }
            | FilterEntryRemoved {
                host, group, why, ..
            } => json!({"host": host, "group": group, "why": why}),
            FilteringRecorded {
                sha256,
                via,
                why,
                changes,
            } => json!({
                "via": via,
                "why": why,
                "changes": changes,
                "sha256": sha256,
            }),
            AccessLogViewed { query } => query.clone(),
            ConcernsListedForTrust { ids } | AlertsListedForTrust { ids } => {
                json!({"ids": ids, "from": "trust"})
            }
            SchoolNamed { slug, name, .. } | SchoolAdded { slug, name, .. } => {
                json!({"slug": slug, "name": name})
            }
            PeopleImported {
                files,
                counts,
                roles,
                leavers,
                leavers_marked,
            } => json!({
                "roles_given": roles.to_csv(),
                "files": files,
                "added": counts.added,
                "changed": counts.changed,
                "leaving": counts.leaving,
                "unchanged": counts.unchanged,
                "links_added": counts.links_added,
                "links_changed": counts.links_changed,
                "links_removed": counts.links_removed,
                "by_kind": counts.by_kind,
                "leavers": leavers,
                "leavers_marked": leavers_marked,
            }),
            SubjectAccessExported { format, .. } => json!({"format": format}),
            PersonErased { counts, .. } => Value::Object(
                counts
                    .iter()
                    .map(|(what, n)| ((*what).to_string(), json!(n)))
                    .collect(),
            ),
            BackupMade {
                file,
                concerns,
                audit_head,
                ..
            } => json!({"file": file, "concerns": concerns, "audit_head": audit_head}),
            BackupFailed { error, .. } => json!({"error": error}),
        }
    }
}
